//! The consumer's callbacks: its lag per partition, and how many partitions it is fetching,
//! from librdkafka's statistics.
//!
//! (Partitions are assigned by the driver itself — all of them, or this instance's share from
//! [`crate::roster`] — so there are no group rebalance callbacks to follow.)

use crate::metrics::Metrics;
use rdkafka::consumer::ConsumerContext;
use rdkafka::{ClientContext, Statistics};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A topic partition, owned.
pub type PartitionId = (String, i32);

pub struct DriverContext {
    stage: String,
    metrics: Metrics,
    fetching: Arc<AtomicUsize>,
}

impl DriverContext {
    pub fn new(stage: &str, metrics: Metrics) -> Self {
        Self {
            stage: stage.to_owned(),
            metrics,
            fetching: Arc::default(),
        }
    }

    /// How many assigned partitions librdkafka's latest statistics show fetching
    /// (`fetch_state` "active": their start offset is known). A partition still looking its
    /// offset up must not be paused: librdkafka drops an offset answer that arrives after a
    /// pause, and the partition is never fetched again (confluentinc/librdkafka#5591).
    pub fn fetching(&self) -> Arc<AtomicUsize> {
        self.fetching.clone()
    }
}

impl ClientContext for DriverContext {
    /// Consumer lag per partition ([`lag`], every `statistics.interval.ms`), as a gauge.
    fn stats(&self, statistics: Statistics) {
        let fetching = statistics
            .topics
            .values()
            .flat_map(|t| t.partitions.values())
            .filter(|p| p.partition >= 0 && p.desired && p.fetch_state == "active")
            .count();
        self.fetching.store(fetching, Ordering::Relaxed);
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                let partition = partition.to_string();
                let labels = [self.stage.as_str(), topic.as_str(), partition.as_str()];
                // -1 is librdkafka's internal partition; a partition no longer fetched (handed
                // over) is dropped from the metric; a negative lag means "not known yet".
                if partition.starts_with('-') || !p.desired {
                    let _ = self.metrics.consumer_lag.remove_label_values(&labels);
                } else if let Some(lag) = lag(p) {
                    self.metrics
                        .consumer_lag
                        .with_label_values(&labels)
                        .set(lag);
                }
            }
        }
    }
}

/// Records on the partition past the consumer's position: its end less the next offset the
/// stage is to be handed (before the first record since the assignment, the next it fetches).
/// librdkafka's own `consumer_lag` counts from the committed offset, which trails the stage by
/// the auto-commit interval (and before a stage's first commit is not known at all).
fn lag(p: &rdkafka::statistics::Partition) -> Option<i64> {
    let position = if p.app_offset >= 0 {
        p.app_offset
    } else {
        p.next_offset
    };
    (p.hi_offset >= 0 && position >= 0).then(|| (p.hi_offset - position).max(0))
}

impl ConsumerContext for DriverContext {}

//! The consumer's callbacks: its lag per partition, from librdkafka's statistics.
//!
//! (Partitions are assigned by the driver itself — all of them, or this instance's share from
//! [`crate::roster`] — so there are no group rebalance callbacks to follow.)

use crate::metrics::Metrics;
use rdkafka::consumer::ConsumerContext;
use rdkafka::{ClientContext, Statistics};

/// A topic partition, owned.
pub type PartitionId = (String, i32);

pub struct DriverContext {
    stage: String,
    metrics: Metrics,
}

impl DriverContext {
    pub fn new(stage: &str, metrics: Metrics) -> Self {
        Self {
            stage: stage.to_owned(),
            metrics,
        }
    }
}

impl ClientContext for DriverContext {
    /// Consumer lag per partition (`statistics.interval.ms`), as a gauge.
    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                let partition = partition.to_string();
                let labels = [self.stage.as_str(), topic.as_str(), partition.as_str()];
                // -1 is librdkafka's internal partition; a partition no longer fetched (handed
                // over) is dropped from the metric; a negative lag means "not known yet".
                if partition.starts_with('-') || !p.desired {
                    let _ = self.metrics.consumer_lag.remove_label_values(&labels);
                } else if p.consumer_lag >= 0 {
                    self.metrics
                        .consumer_lag
                        .with_label_values(&labels)
                        .set(p.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for DriverContext {}

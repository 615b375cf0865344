//! The consumer's callbacks: which partitions the group gave this member, and its lag.
//!
//! librdkafka calls these from its own threads; the driver reads what they recorded between
//! batches. Revocations matter to stages that buffer per partition (the lake writer): after a
//! partition moves to another member, this one must forget what it buffered for it, or it would
//! later write over the new owner's work.

use crate::metrics::Metrics;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, Statistics};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// A topic partition, owned.
pub type PartitionId = (String, i32);

pub struct DriverContext {
    stage: String,
    metrics: Metrics,
    changes: Mutex<Changes>,
}

#[derive(Default)]
struct Changes {
    assigned: BTreeSet<PartitionId>,
    revoked_since_read: Vec<PartitionId>,
}

impl DriverContext {
    pub fn new(stage: &str, metrics: Metrics) -> Self {
        Self {
            stage: stage.to_owned(),
            metrics,
            changes: Mutex::new(Changes::default()),
        }
    }

    /// Partitions revoked since the last call, and whether `partition` is still this member's.
    pub fn take_revoked(&self) -> (Vec<PartitionId>, BTreeSet<PartitionId>) {
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let revoked = std::mem::take(&mut changes.revoked_since_read);
        (revoked, changes.assigned.clone())
    }
}

impl ClientContext for DriverContext {
    /// Consumer lag per partition (`statistics.interval.ms`), as a gauge.
    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                // -1 is librdkafka's "unknown" (not assigned, or no position yet).
                if *partition < 0 || p.consumer_lag < 0 {
                    continue;
                }
                self.metrics
                    .consumer_lag
                    .with_label_values(&[&self.stage, topic, &partition.to_string()])
                    .set(p.consumer_lag);
            }
        }
    }
}

impl ConsumerContext for DriverContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        match rebalance {
            Rebalance::Assign(list) => {
                for element in list.elements() {
                    changes
                        .assigned
                        .insert((element.topic().to_owned(), element.partition()));
                }
                tracing::info!(stage = %self.stage, partitions = ?changes.assigned, "partitions assigned");
            }
            Rebalance::Revoke(list) => {
                for element in list.elements() {
                    let id = (element.topic().to_owned(), element.partition());
                    changes.assigned.remove(&id);
                    self.metrics
                        .consumer_lag
                        .remove_label_values(&[&self.stage, &id.0, &id.1.to_string()])
                        .ok();
                    changes.revoked_since_read.push(id);
                }
                tracing::info!(stage = %self.stage, revoked = list.count(), "partitions revoked");
            }
            Rebalance::Error(error) => {
                tracing::warn!(stage = %self.stage, %error, "rebalance error")
            }
        }
    }
}

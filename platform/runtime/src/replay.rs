//! Reading a topic back to where it ends now: what a component does before it serves, to learn
//! what earlier runs (or a crash between a write and its bookkeeping) left on the topic — the
//! ingest ledger's catch-up, the traceback stage's published cases, the credit feed's tail.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::metadata::MetadataPartition;
use rdkafka::{Message, Offset, TopicPartitionList};
use std::time::Duration;

/// One record read back, with where its partition's reading ends.
pub struct Replayed<'a> {
    pub partition: i32,
    pub message: BorrowedMessage<'a>,
    /// The partition's high watermark when its reading began: the record at `high - 1` is the
    /// last one handed over.
    pub high: i64,
}

impl Replayed<'_> {
    /// The offset after this record.
    pub fn next(&self) -> i64 {
        self.message.offset() + 1
    }

    /// Whether this is the partition's last record to read.
    pub fn is_last(&self) -> bool {
        self.next() >= self.high
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("reading {topic} back: {source}")]
    Kafka {
        topic: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("{topic}/{partition} stopped at offset {at} before {high}")]
    Stopped {
        topic: String,
        partition: i32,
        at: i64,
        high: i64,
    },
}

/// Reads every partition of `topic` from `start(partition)` (absent: the partition's first
/// record) to its high watermark as it stood when that partition's reading began, handing each
/// record to `visit` in offset order. An unassigned `consumer` of its own is needed (it is
/// assigned partition by partition). Blocking: call it off the async threads. The caller's
/// error type takes Kafka's failures ([`ReplayError`]) beside its own.
pub fn replay<E: From<ReplayError>>(
    consumer: &BaseConsumer,
    topic: &str,
    timeout: Duration,
    mut start: impl FnMut(i32) -> Result<Option<i64>, E>,
    mut visit: impl FnMut(Replayed<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let kafka = |source| ReplayError::Kafka {
        topic: topic.to_owned(),
        source,
    };
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(kafka)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(MetadataPartition::id))
        .collect();
    for partition in partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, timeout)
            .map_err(kafka)?;
        let from = start(partition)?.unwrap_or(low).max(low);
        if from >= high {
            continue;
        }
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(topic, partition, Offset::Offset(from))
            .map_err(kafka)?;
        consumer.assign(&assignment).map_err(kafka)?;
        let mut next = from;
        while next < high {
            let message = consumer
                .poll(timeout)
                .ok_or_else(|| ReplayError::Stopped {
                    topic: topic.to_owned(),
                    partition,
                    at: next,
                    high,
                })?
                .map_err(kafka)?;
            next = message.offset() + 1;
            visit(Replayed {
                partition,
                message,
                high,
            })?;
        }
    }
    Ok(())
}

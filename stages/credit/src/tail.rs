//! After a restart, the disclosures the feed has not marked as acknowledged may still have
//! reached the topic (a crash between the broker's acknowledgement and the mark). Before sending
//! them again, the stage reads the topic from where the acknowledged offsets end and leaves out
//! what is already there (by `ce_id` = `disclosure_id:action`), so each disclosure is on the topic
//! once. One credit stage writes the topic, so nothing else can appear there meanwhile.

use crate::store::StoreError;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};
use spotcheck_runtime::KafkaSettings;
use spotcheck_schemas::topics;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// The `ce_id`s on the credit topic at or after `from` (partition → offset; absent = start).
pub fn ids_on_topic(
    kafka: &KafkaSettings,
    from: &BTreeMap<i32, i64>,
) -> Result<HashSet<String>, StoreError> {
    let consumer: BaseConsumer = kafka
        .client_config()
        .set("group.id", "spotcheck-credit-tail")
        .set("enable.auto.commit", "false")
        .create()?;
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(Some(topics::CREDIT), timeout)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| {
            t.partitions()
                .iter()
                .map(rdkafka::metadata::MetadataPartition::id)
        })
        .collect();
    let mut ids = HashSet::new();
    for partition in partitions {
        let (low, high) = consumer.fetch_watermarks(topics::CREDIT, partition, timeout)?;
        let start = from.get(&partition).copied().unwrap_or(low).max(low);
        if start >= high {
            continue;
        }
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(topics::CREDIT, partition, Offset::Offset(start))?;
        consumer.assign(&assignment)?;
        let mut next = start;
        while next < high {
            let message = consumer
                .poll(timeout)
                .ok_or_else(|| format!("{} stopped at {next} before {high}", topics::CREDIT))??;
            next = message.offset() + 1;
            let ce_id = message.headers().and_then(|headers| {
                headers
                    .iter()
                    .find(|h| h.key == "ce_id")
                    .and_then(|h| h.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            });
            if let Some(ce_id) = ce_id {
                ids.insert(ce_id);
            }
        }
    }
    Ok(ids)
}

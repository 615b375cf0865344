//! Publishing a stage's outbox exactly once, for the brokers here have no Kafka transactions:
//! a stage writes what it will publish into its own store in the same transaction as its state
//! (its outbox), then [`send`] hands the pending records to the producer together and tells,
//! for each, whether the broker acknowledged it; the stage then removes or marks those in its
//! store. A crash between the broker's acknowledgement and that mark leaves records pending that
//! are already on the topic: [`already_on_topic`] reads the topic on from the offsets the stage
//! last marked, so it can leave those out (the credit feed), or the stage re-sends them byte for
//! byte and its readers keep the newest revision (the traceback stage's cases).

use crate::cloudevents::{CloudEvent, header_text};
use crate::kafka::KafkaSettings;
use crate::publisher::{Position, PublishError, Publisher};
use crate::replay::{ReplayError, replay};
use rdkafka::Message;
use rdkafka::consumer::BaseConsumer;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// One record waiting in an outbox.
pub struct Outgoing {
    pub key: String,
    pub payload: Vec<u8>,
    pub event: CloudEvent,
}

/// Sends every record to `topic` together (the producer pipelines them and keeps their order per
/// partition); the fate of each, in the order given.
pub async fn send(
    publisher: &Publisher,
    topic: &str,
    pending: &[Outgoing],
) -> Vec<Result<Position, PublishError>> {
    let sends = pending
        .iter()
        .map(|record| publisher.publish(topic, &record.key, &record.payload, &record.event));
    futures::future::join_all(sends).await
}

/// The `ce_id`s on `topic` at or after `from` (partition → offset; absent: from the start), read
/// to the topic's end now. Blocking: call it off the async threads.
pub fn already_on_topic(
    kafka: &KafkaSettings,
    topic: &str,
    from: &BTreeMap<i32, i64>,
) -> Result<HashSet<String>, ReplayError> {
    let consumer: BaseConsumer = kafka
        .client_config()
        .set("group.id", format!("spotcheck-outbox-{topic}"))
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|source| ReplayError::Kafka {
            topic: topic.to_owned(),
            source,
        })?;
    let mut ids = HashSet::new();
    replay(
        &consumer,
        topic,
        Duration::from_secs(10),
        |partition| Ok(from.get(&partition).copied()),
        |record| {
            if let Some(headers) = record.message.headers()
                && let Some(ce_id) = header_text(headers, "ce_id")
            {
                ids.insert(ce_id);
            }
            Ok(())
        },
    )?;
    Ok(ids)
}

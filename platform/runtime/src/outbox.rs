//! Publishing a stage's outbox exactly once, for the brokers here have no Kafka transactions:
//! a stage writes what it will publish into its own store in the same transaction as its state
//! (its outbox), then [`send`] hands the pending records to the producer together and tells,
//! for each, whether the broker acknowledged it; the stage then removes or marks those in its
//! store, with the offsets the broker gave them. A crash between the broker's acknowledgement and
//! that mark leaves records pending that are already on the topic: before its first send after a
//! start, and again after a failed send, a stage's [`TailCheck`] reads the topic on from the
//! offsets last marked and leaves out what is already there, so nothing is sent twice.

use crate::cloudevents::{CloudEvent, header_text};
use crate::kafka::KafkaSettings;
use crate::publisher::{Position, PublishError, Publisher};
use crate::replay::{ReplayError, replay};
use crate::stage::StageError;
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

/// Whether an outbox's pending records must be checked against its topic before they are sent:
/// once after a start, and again after a failed send (the broker may have taken records whose
/// acknowledgement was lost).
pub struct TailCheck {
    kafka: KafkaSettings,
    topic: &'static str,
    due: bool,
}

impl TailCheck {
    pub fn new(publisher: &Publisher, topic: &'static str) -> Self {
        TailCheck {
            kafka: publisher.settings().clone(),
            topic,
            due: true,
        }
    }

    /// Takes out of `pending` the records already on the topic at or after `marked` (partition
    /// → next offset the stage marked as acknowledged), when a check is due, and returns them,
    /// for the stage to mark as sent. `id` is a record's `ce_id`.
    pub async fn leave_out_sent<T>(
        &mut self,
        pending: &mut Vec<T>,
        id: impl Fn(&T) -> String,
        marked: impl FnOnce() -> Result<BTreeMap<i32, i64>, StageError>,
    ) -> Result<Vec<T>, StageError> {
        if !self.due || pending.is_empty() {
            self.nothing_pending();
            return Ok(Vec::new());
        }
        let (kafka, topic, from) = (self.kafka.clone(), self.topic, marked()?);
        let present = tokio::task::spawn_blocking(move || already_on_topic(&kafka, topic, &from))
            .await
            .map_err(|e| StageError::Transient(e.to_string()))?
            .map_err(|e| StageError::Transient(format!("cannot read {topic} back: {e}")))?;
        let (sent, unsent) = std::mem::take(pending)
            .into_iter()
            .partition(|record| present.contains(&id(record)));
        *pending = unsent;
        if !sent.is_empty() {
            tracing::info!(
                topic,
                already = sent.len(),
                "records sent before a crash are not sent again"
            );
        }
        self.due = false;
        Ok(sent)
    }

    /// The outbox is empty: nothing it sends later can be on the topic already.
    pub fn nothing_pending(&mut self) {
        self.due = false;
    }

    /// After a failed send: the next send checks the topic first.
    pub fn send_failed(&mut self) {
        self.due = true;
    }
}

/// The next offset after the acknowledged records, per partition (for the stage to mark).
pub fn acknowledged(outcomes: &[Result<Position, PublishError>]) -> BTreeMap<i32, i64> {
    let mut acked: BTreeMap<i32, i64> = BTreeMap::new();
    for position in outcomes.iter().flatten() {
        let next = acked.entry(position.partition).or_default();
        *next = (*next).max(position.offset + 1);
    }
    acked
}

/// The `ce_id`s on `topic` at or after `from` (partition → offset; absent: from the start), read
/// to the topic's end now. Blocking: call it off the async threads.
fn already_on_topic(
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

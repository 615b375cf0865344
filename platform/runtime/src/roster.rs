//! Who shares a stage's partitions: instances announce themselves on `spotcheck.members.v1`,
//! and every instance derives the same assignment from the same list of live instances.
//!
//! Why not the broker's consumer-group coordinator: Tansu 0.6 — the broker spotcheck embeds and
//! tests on — keeps a SIGKILLed member in the group, so the survivors do not get its partitions
//! (seen with 12 partitions, librdkafka 2.12 and 2.16, range, round-robin and cooperative-sticky
//! assignors; see docs/operations.md, "Scaling out"). This works the same on Apache Kafka: it needs only
//! produce, consume and a compacted topic.
//!
//! Protocol: each instance publishes a heartbeat (key `stage/instance`) every
//! [`HEARTBEAT_EVERY`] and a farewell when it stops. An instance is live while its last heartbeat
//! is younger than [`EXPIRES_AFTER`]. Live instances are sorted by id; partition `p` of every
//! topic belongs to the instance at index `p mod n` — the same `p` of two topics goes to the
//! same instance, which keeps co-partitioned topics together. While views differ (a heartbeat in
//! flight), two instances may briefly both read a partition; stages are idempotent by record id
//! and offset, so that costs a repeat, never a loss.

use crate::kafka::KafkaSettings;
use crate::publisher::Publisher;
use crate::{CloudEvent, context::PartitionId};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use spotcheck_schemas::topics;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
pub const EXPIRES_AFTER: Duration = Duration::from_secs(10);

/// What one instance last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Heard {
    at_ms: i64,
    leaving: bool,
}

/// The live instances of one stage, as read from the members topic.
pub struct Roster {
    stage: String,
    me: String,
    consumer: BaseConsumer,
    heard: BTreeMap<String, Heard>,
}

impl Roster {
    /// Reads what the members topic holds so far (blocking: call off the async threads).
    pub fn join(
        kafka: &KafkaSettings,
        stage: &str,
        me: &str,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let consumer: BaseConsumer = kafka
            .client_config()
            .set("group.id", format!("spotcheck-roster-{me}"))
            .set("enable.auto.commit", "false")
            .create()?;
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(topics::MEMBERS, 0, Offset::Beginning)?;
        consumer.assign(&assignment)?;
        let mut roster = Self {
            stage: stage.to_owned(),
            me: me.to_owned(),
            consumer,
            heard: BTreeMap::new(),
        };
        let (_, high) =
            roster
                .consumer
                .fetch_watermarks(topics::MEMBERS, 0, Duration::from_secs(10))?;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while roster.position() < high && std::time::Instant::now() < deadline {
            roster.read(Duration::from_millis(100));
        }
        Ok(roster)
    }

    fn position(&self) -> i64 {
        let Ok(list) = self.consumer.position() else {
            return 0;
        };
        list.find_partition(topics::MEMBERS, 0)
            .and_then(|element| element.offset().to_raw())
            .unwrap_or(0)
    }

    /// Takes in heartbeats that arrived, waiting at most `wait` for the first.
    pub fn read(&mut self, wait: Duration) {
        let mut wait = wait;
        while let Some(received) = self.consumer.poll(wait) {
            wait = Duration::ZERO;
            let Ok(message) = received else { continue };
            let Some(key) = message.key().and_then(|k| std::str::from_utf8(k).ok()) else {
                continue;
            };
            let Some((stage, instance)) = key.split_once('/') else {
                continue;
            };
            if stage != self.stage {
                continue;
            }
            let heard = message.payload().and_then(parse);
            match heard {
                Some(heard) => self.heard.insert(instance.to_owned(), heard),
                None => self.heard.remove(instance),
            };
        }
    }

    /// The live instances, sorted; this one always counts as live.
    pub fn live(&self, now_ms: i64) -> Vec<String> {
        let expiry = EXPIRES_AFTER.as_millis() as i64;
        let mut live: BTreeSet<String> = self
            .heard
            .iter()
            .filter(|(_, heard)| !heard.leaving && now_ms - heard.at_ms < expiry)
            .map(|(instance, _)| instance.clone())
            .collect();
        live.insert(self.me.clone());
        live.into_iter().collect()
    }

    /// The partitions of `all` that are this instance's among `live`.
    pub fn mine(&self, all: &[PartitionId], live: &[String]) -> BTreeSet<PartitionId> {
        owned_by(all, live, &self.me)
    }
}

/// Partition `p` goes to the live instance at index `p mod n`.
pub fn owned_by(all: &[PartitionId], live: &[String], instance: &str) -> BTreeSet<PartitionId> {
    let Some(index) = live.iter().position(|i| i == instance) else {
        return BTreeSet::new();
    };
    all.iter()
        .filter(|(_, partition)| (*partition as usize) % live.len() == index)
        .cloned()
        .collect()
}

fn parse(payload: &[u8]) -> Option<Heard> {
    let text = std::str::from_utf8(payload).ok()?;
    let (at, leaving) = text.split_once(' ')?;
    Some(Heard {
        at_ms: at.parse().ok()?,
        leaving: leaving == "leaving",
    })
}

/// Announces `instance` every [`HEARTBEAT_EVERY`] until `shutdown`, then says goodbye.
pub async fn heartbeat(
    publisher: Publisher,
    stage: String,
    instance: String,
    shutdown: CancellationToken,
) {
    let key = format!("{stage}/{instance}");
    let send = |state: &'static str| {
        let (publisher, key) = (publisher.clone(), key.clone());
        async move {
            let payload = format!("{} {state}", chrono::Utc::now().timestamp_millis());
            let event = CloudEvent::new(
                format!("{key}/{payload}"),
                "cn.spotcheck.member.v1",
                format!("/spotcheck/{}", key.replace('/', "-")),
            );
            if let Err(error) = publisher
                .publish(topics::MEMBERS, &key, payload.as_bytes(), &event)
                .await
            {
                tracing::warn!(%error, "heartbeat not sent");
            }
        }
    };
    loop {
        send("live").await;
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(HEARTBEAT_EVERY) => {}
        }
    }
    send("leaving").await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partitions() -> Vec<PartitionId> {
        let mut all = Vec::new();
        for topic in ["results", "shipments"] {
            for p in 0..12 {
                all.push((topic.to_owned(), p));
            }
        }
        all
    }

    #[test]
    fn live_instances_split_every_partition_once_and_keep_co_partitioned_topics_together() {
        let live: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        let shares: Vec<BTreeSet<PartitionId>> = live
            .iter()
            .map(|i| owned_by(&partitions(), &live, i))
            .collect();
        let mut seen = BTreeSet::new();
        for share in &shares {
            assert_eq!(share.len(), 8);
            for id in share {
                assert!(seen.insert(id.clone()), "{id:?} twice");
                let twin = if id.0 == "results" {
                    "shipments"
                } else {
                    "results"
                };
                assert!(share.contains(&(twin.to_owned(), id.1)));
            }
        }
        assert_eq!(seen.len(), 24);
    }

    #[test]
    fn an_instance_not_in_the_live_list_owns_nothing_and_one_alone_owns_all() {
        let live = vec!["a".to_owned()];
        assert!(owned_by(&partitions(), &live, "z").is_empty());
        assert_eq!(owned_by(&partitions(), &live, "a").len(), 24);
    }

    #[test]
    fn heartbeats_parse_and_garbage_does_not() {
        assert_eq!(
            parse(b"1700000000000 live"),
            Some(Heard {
                at_ms: 1_700_000_000_000,
                leaving: false
            })
        );
        assert!(parse(b"1700000000000 leaving").unwrap().leaving);
        assert_eq!(parse(b"soon live"), None);
        assert_eq!(parse(b""), None);
    }
}

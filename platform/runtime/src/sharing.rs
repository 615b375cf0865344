//! A stage instance's share of the partitions, kept in step with the [`Roster`]: between
//! batches the driver asks who is live, and hands partitions over — the stage forgets what it
//! buffered for the ones that left, stored offsets are committed so the new owner starts there,
//! and the ones that arrived resume where the stage says ([`Stage::resume_at`]).
//!
//! Partitions leave at once but arrive only after the live list has been stable for
//! [`HANDOVER_DELAY`]: by then their previous owner (who sees the same heartbeats) has let
//! them go, so two instances do not work on one partition at the same time. Global topics
//! ([`DriverSettings::global_topics`]) are read whole by every instance.

use crate::context::{DriverContext, PartitionId};
use crate::kafka::KafkaSettings;
use crate::publisher::Publisher;
use crate::roster::{Roster, heartbeat};
use crate::stage::{DriverError, DriverSettings, Stage, assign_resumed, stage_error};
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long the live list must stay the same before partitions are taken over: longer than a
/// heartbeat interval plus one batch, so the instance giving them up has seen the change.
pub const HANDOVER_DELAY: Duration = Duration::from_secs(5);

pub struct Sharing {
    roster: Roster,
    /// The partitions shared out among the live instances.
    shared: Vec<PartitionId>,
    owned: BTreeSet<PartitionId>,
    /// A share computed but not yet taken, and since when it has been the answer.
    pending: Option<(BTreeSet<PartitionId>, Instant)>,
}

impl Sharing {
    /// Starts announcing this instance of `group` and reads who else is live.
    pub async fn start(
        kafka: &KafkaSettings,
        settings: &DriverSettings,
        partitions: &TopicPartitionList,
        publisher: &Publisher,
        stop: &CancellationToken,
    ) -> Result<Self, DriverError> {
        let group = settings.group_id.as_str();
        let instance = instance_id();
        tracing::info!(group, %instance, "sharing partitions with the group's live instances");
        tokio::spawn(heartbeat(
            publisher.clone(),
            group.to_owned(),
            instance.clone(),
            stop.clone(),
        ));
        let (kafka, group_owned) = (kafka.clone(), group.to_owned());
        let roster =
            tokio::task::spawn_blocking(move || Roster::join(&kafka, &group_owned, &instance))
                .await
                .map_err(|e| DriverError::Stage {
                    stage: "roster",
                    message: e.to_string(),
                })??;
        let (global, shared): (Vec<PartitionId>, Vec<PartitionId>) = partitions
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .partition(|(topic, _)| settings.global_topics.contains(topic));
        Ok(Self {
            roster,
            shared,
            owned: global.into_iter().collect(),
            pending: None,
        })
    }

    /// Assigns the global partitions (once, at start).
    pub async fn assign_global<S: Stage>(
        &self,
        consumer: &StreamConsumer<DriverContext>,
        stage: &mut S,
    ) -> Result<(), DriverError> {
        if self.owned.is_empty() {
            return Ok(());
        }
        let global: Vec<PartitionId> = self.owned.iter().cloned().collect();
        stage
            .partitions_assigned(&global)
            .await
            .map_err(|e| stage_error(stage, e))?;
        assign_resumed(consumer, stage, &list(&global))?;
        Ok(())
    }

    pub fn owns(&self, topic: &str, partition: i32) -> bool {
        self.owned.contains(&(topic.to_owned(), partition))
    }

    /// Re-reads the roster and moves partitions if the live instances changed.
    pub async fn rebalance<S: Stage>(
        &mut self,
        consumer: &StreamConsumer<DriverContext>,
        stage: &mut S,
    ) -> Result<(), DriverError> {
        self.roster.read(Duration::ZERO);
        let live = self.roster.live(chrono::Utc::now().timestamp_millis());
        let share = self.roster.mine(&self.shared, &live);
        let global = self.owned.iter().filter(|p| !self.shared.contains(p));
        let mut mine: BTreeSet<PartitionId> = global.cloned().collect();
        mine.extend(share);
        if mine == self.owned {
            self.pending = None;
            return Ok(());
        }
        let left: Vec<PartitionId> = self.owned.difference(&mine).cloned().collect();
        let mut arrived: Vec<PartitionId> = mine.difference(&self.owned).cloned().collect();
        if !arrived.is_empty() {
            let stable_since = match &self.pending {
                Some((pending, since)) if *pending == mine => *since,
                _ => {
                    self.pending = Some((mine.clone(), Instant::now()));
                    Instant::now()
                }
            };
            if stable_since.elapsed() < HANDOVER_DELAY {
                arrived.clear(); // not yet: give the previous owner time to let go
            }
        }
        if left.is_empty() && arrived.is_empty() {
            return Ok(());
        }
        if !left.is_empty() {
            stage.partitions_revoked(&left);
            if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(%error, "nothing to commit before handing partitions over");
            }
            consumer.incremental_unassign(&list(&left))?;
        }
        if !arrived.is_empty() {
            stage
                .partitions_assigned(&arrived)
                .await
                .map_err(|e| stage_error(stage, e))?;
            assign_resumed(consumer, stage, &list(&arrived))?;
        }
        for id in &left {
            self.owned.remove(id);
        }
        self.owned.extend(arrived.iter().cloned());
        if self.owned == mine {
            self.pending = None;
        }
        tracing::info!(
            stage = stage.name(),
            live = live.len(),
            owned = self.owned.len(),
            handed_over = left.len(),
            taken = arrived.len(),
            "partitions rebalanced"
        );
        Ok(())
    }
}

fn list(partitions: &[PartitionId]) -> TopicPartitionList {
    let mut list = TopicPartitionList::new();
    for (topic, partition) in partitions {
        list.add_partition(topic, *partition);
    }
    list
}

/// Unique per process start: host, process id and start time.
fn instance_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map_or_else(|_| "host".into(), |h| h.trim().to_owned());
    format!(
        "{host}-{}-{:x}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    )
}

//! A stage instance's share of the partitions, kept in step with the [`Roster`]: between
//! batches the driver asks who is live, and hands partitions over — the stage forgets what it
//! buffered for the ones that left, stored offsets are committed so the new owner starts there,
//! and the ones that arrived resume where the stage says ([`Stage::resume_at`]).

use crate::context::{DriverContext, PartitionId};
use crate::driver::{DriverError, Stage, with_resume_offsets};
use crate::kafka::KafkaSettings;
use crate::publisher::Publisher;
use crate::roster::{Roster, heartbeat};
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Sharing {
    roster: Roster,
    all: Vec<PartitionId>,
    owned: BTreeSet<PartitionId>,
}

impl Sharing {
    /// Starts announcing this instance of `group` and reads who else is live.
    pub async fn start(
        kafka: &KafkaSettings,
        group: &str,
        partitions: &TopicPartitionList,
        publisher: &Publisher,
        stop: &CancellationToken,
    ) -> Result<Self, DriverError> {
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
        let all = partitions
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        Ok(Self {
            roster,
            all,
            owned: BTreeSet::new(),
        })
    }

    pub fn owns(&self, topic: &str, partition: i32) -> bool {
        self.owned.contains(&(topic.to_owned(), partition))
    }

    /// Re-reads the roster and moves partitions if the live instances changed.
    pub fn rebalance<S: Stage>(
        &mut self,
        consumer: &StreamConsumer<DriverContext>,
        stage: &mut S,
    ) -> Result<(), DriverError> {
        self.roster.read(Duration::ZERO);
        let live = self.roster.live(chrono::Utc::now().timestamp_millis());
        let mine = self.roster.mine(&self.all, &live);
        if mine == self.owned {
            return Ok(());
        }
        let left: Vec<PartitionId> = self.owned.difference(&mine).cloned().collect();
        let arrived: Vec<PartitionId> = mine.difference(&self.owned).cloned().collect();
        if !left.is_empty() {
            stage.partitions_revoked(&left);
            if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(%error, "nothing to commit before handing partitions over");
            }
            consumer.incremental_unassign(&list(&left))?;
        }
        if !arrived.is_empty() {
            consumer.incremental_assign(&with_resume_offsets(stage, &list(&arrived))?)?;
        }
        tracing::info!(
            stage = stage.name(),
            live = live.len(),
            owned = mine.len(),
            handed_over = left.len(),
            taken = arrived.len(),
            "partitions rebalanced"
        );
        self.owned = mine;
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
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    format!(
        "{host}-{}-{:x}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    )
}

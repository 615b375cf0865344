//! What a stage is to the driver: the records it is handed ([`Delivered`]), what it answers
//! ([`Applied`], [`StageError`]), the [`Stage`] trait, and the settings and errors of a stage's
//! consumer. The driver ([`crate::driver`]), partition sharing ([`crate::sharing`]) and dead
//! letters ([`crate::dead_letter`]) all speak this vocabulary; none of them needs another.

use crate::context::{DriverContext, PartitionId};
use async_trait::async_trait;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

/// A consumed record, owned so a stage can keep it across awaits.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Delivered {
    pub(crate) fn from_message(message: &BorrowedMessage<'_>) -> Self {
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            headers,
        }
    }

    /// The value of header `name` as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.as_ref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// What a stage did with a batch.
#[derive(Debug, Default)]
pub struct Applied {
    /// Records the stage could not process, by index in the batch, with the reason.
    pub dead_letters: Vec<(usize, String)>,
    /// Which offsets may now be committed.
    pub commit: Commit,
}

/// Which offsets a stage's call made safe to commit.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Commit {
    /// Everything in the batch (the stage's effect is durable when `apply` returns).
    #[default]
    Batch,
    /// Only up to these positions: (topic, partition, next offset). For stages that buffer,
    /// like the lake writer, which makes records durable when it flushes a file.
    Positions(Vec<(String, i32, i64)>),
}

impl Applied {
    /// Nothing new is durable.
    pub fn nothing() -> Self {
        Self {
            dead_letters: Vec::new(),
            commit: Commit::Positions(Vec::new()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// Retry the same batch later (a dependency is down).
    #[error("transient: {0}")]
    Transient(String),
    /// Stop: retrying cannot help and skipping would lose data.
    #[error("fatal: {0}")]
    Fatal(String),
}

/// One step of a pipeline: a batch of records in, durable side effects out.
#[async_trait]
pub trait Stage: Send {
    /// Names the stage in metrics, logs and dead letters.
    fn name(&self) -> &'static str;

    /// Applies a batch (possibly of several partitions, each in offset order). Returns once the
    /// side effects are durable, or says in [`Applied::commit`] how far they are.
    async fn apply(&mut self, batch: &[Delivered]) -> Result<Applied, StageError>;

    /// Called when no record came for [`DriverSettings::idle`]: a buffering stage flushes here.
    async fn idle(&mut self) -> Result<Applied, StageError> {
        Ok(Applied::nothing())
    }

    /// Called once at shutdown, before the final commit: flush what is buffered.
    async fn finish(&mut self) -> Result<Applied, StageError> {
        Ok(Applied::nothing())
    }

    /// Records the driver took out of a batch before [`Stage::apply`] (they are not CloudEvents)
    /// and has sent to the dead-letter topic; called after `apply` with the rest of the batch. A
    /// stage that keeps its own positions ([`Stage::resume_at`]) moves them past these records,
    /// as past a record it dead-letters itself, so that a restart does not read them again and
    /// send them a second time. Their offsets are then committed as `apply`'s answer says.
    async fn passed(&mut self, _records: &[Delivered]) -> Result<(), StageError> {
        Ok(())
    }

    /// These partitions moved to another instance: forget anything buffered for them (it was
    /// not committed, so their new owner reads it again).
    fn partitions_revoked(&mut self, _partitions: &[PartitionId]) {}

    /// These partitions became this instance's (called before their records are read and
    /// before [`Stage::resume_at`] is asked about them, after the previous owner stopped: see
    /// [`crate::sharing`]; in [`Membership::AllPartitions`] once, with every partition). An
    /// error stops the stage.
    async fn partitions_assigned(&mut self, _partitions: &[PartitionId]) -> Result<(), StageError> {
        Ok(())
    }

    /// Where to resume `topic`/`partition` when the stage keeps its own offsets with its state
    /// (in the same transaction): the next offset it has not applied, `Some(0)` for a partition
    /// it has never seen — so an empty or restored state is rebuilt from the topic, whatever the
    /// group committed. `None` (the default) resumes at the group's committed offset.
    /// Honoured whenever a partition is assigned (at start, and when it moves to this instance).
    fn resume_at(&self, _topic: &str, _partition: i32) -> Option<i64> {
        None
    }
}

/// Which group and topics a stage consumes, and how it batches.
#[derive(Debug, Clone)]
pub struct DriverSettings {
    pub group_id: String,
    pub topics: Vec<String>,
    pub max_batch: usize,
    /// How long to wait for more records once a batch has its first one.
    pub linger: Duration,
    /// How long without records before [`Stage::idle`] is called.
    pub idle: Duration,
    /// How partitions are shared out.
    pub membership: Membership,
    /// Topics every instance reads whole even when the others are shared (reference data that
    /// any partition's work may need, such as the unit registry).
    pub global_topics: Vec<String>,
    /// Stop fetching while idle ([`Rest`]); `None`: fetch all the time, as Kafka consumers do.
    pub rest: Option<Rest>,
    /// Hold batches back while the process takes a lab's burst in ([`crate::burst`]); `None`:
    /// never (a stage in a process of its own).
    pub make_way: Option<crate::burst::MakeWay>,
}

/// Resting while idle, for a process whose records are written by its own publisher
/// (`spotcheck up`). A consumer keeps fetching as long as records come; after `after` without
/// one it pauses every partition, so it sends the broker nothing, and resumes the moment the
/// process's publisher has a record acknowledged (`wake`), or after `at_most` (records written
/// by other processes), fetching once and resting again if nothing came. [`Stage::idle`] is still
/// called every `idle`, so the stages' timers run.
///
/// A consumer rests only once librdkafka's statistics show every assigned partition fetching
/// (see `DriverContext::fetching`): at the start that is after its first statistics, 5 s.
///
/// Why: the embedded broker (Tansu 0.6) answers a fetch by querying SQLite every few hundred
/// milliseconds until its wait ends, for every partition; with ~60 partitions and three
/// consumers an idle `up` spent a quarter of a core on fetches that found nothing.
#[derive(Debug, Clone)]
pub struct Rest {
    pub after: Duration,
    pub at_most: Duration,
    pub wake: tokio::sync::watch::Receiver<u64>,
}

/// How a stage's consumer gets its partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// Share the partitions with the stage's other instances (scale-out): who is live is read
    /// from the members topic ([`crate::roster`]), not from the broker's group coordinator.
    Group,
    /// Take every partition. For a single process that owns all the work (`spotcheck up`).
    AllPartitions,
}

impl DriverSettings {
    pub fn new(group_id: impl Into<String>, topics: &[&str]) -> Self {
        Self {
            group_id: group_id.into(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            max_batch: 1000,
            linger: Duration::from_millis(50),
            idle: Duration::from_secs(1),
            membership: Membership::Group,
            global_topics: Vec::new(),
            rest: None,
            make_way: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot create the consumer: {0}")]
    Consumer(#[from] rdkafka::error::KafkaError),
    #[error("stage {stage} stopped: {message}")]
    Stage {
        stage: &'static str,
        message: String,
    },
}

/// A stage's refusal of its partitions, as the driver reports it.
pub(crate) fn stage_error<S: Stage>(stage: &S, error: StageError) -> DriverError {
    DriverError::Stage {
        stage: stage.name(),
        message: format!("cannot take its partitions: {error}"),
    }
}

/// Assigns `partitions`, each to resume where the stage says ([`Stage::resume_at`]), else at
/// the group's committed offset. A position the stage keeps is also stored, so the group's
/// committed offsets say where the stage stands even on a partition where nothing new comes
/// after a restart (lag tools and the tests' "consumed" waits read them).
pub(crate) fn assign_resumed<S: Stage>(
    consumer: &StreamConsumer<DriverContext>,
    stage: &S,
    partitions: &TopicPartitionList,
) -> Result<(), DriverError> {
    let (mut list, mut kept) = (TopicPartitionList::new(), TopicPartitionList::new());
    for element in partitions.elements() {
        let (topic, partition) = (element.topic(), element.partition());
        match stage.resume_at(topic, partition) {
            Some(next) => {
                list.add_partition_offset(topic, partition, Offset::Offset(next))?;
                kept.add_partition_offset(topic, partition, Offset::Offset(next))?;
            }
            None => list.add_partition_offset(topic, partition, Offset::Stored)?,
        }
    }
    consumer.incremental_assign(&list)?;
    if kept.count() > 0
        && let Err(error) = consumer.store_offsets(&kept)
    {
        tracing::debug!(%error, "the stage's own positions not stored");
    }
    Ok(())
}

//! Tansu's SlateDB storage with its write transactions run again when they conflict, and the
//! earliest offset of a partition answered right.
//!
//! Tansu 0.6 runs each write to SlateDB (a produce request's batch, a consumer's offset commit)
//! in a serializable transaction, and every idempotent produce reads and rewrites one key shared
//! by all producers (their sequence numbers). Two produce requests from different clients that
//! overlap therefore conflict, and Tansu answers the one that loses with `UNKNOWN_SERVER_ERROR`:
//! librdkafka cannot tell whether that batch was stored, so the request is refused (ingest
//! answers 503) and the producer bumps its epoch. A transaction that conflicted wrote nothing,
//! so running it again is safe; [`RetryConflicts`] does that for every write, a few times, before
//! Tansu's error reaches the client. Reads pass through unchanged.
//!
//! Tansu 0.6's SlateDB engine also answers a partition's *earliest* offset from a map of batch
//! timestamps, taking the offset of the batch with the smallest timestamp; batches written in the
//! same millisecond overwrite each other's entry, and producers' clocks interleave, so it answered
//! offsets such as 888 on a partition holding records from 0 (measured, `tests/slatedb.rs`). A
//! consumer starting "from the beginning" would skip every record below. The engine never removes
//! records except through `DeleteRecords`, which this wrapper refuses (spotcheck never deletes
//! records; a topic's history is the record of what labs reported), so the earliest offset of
//! every partition is 0, and that is the answer.
//!
//! And it answers a fetch from offset *n* with the batches whose first offset is *n* or more,
//! where Kafka answers with the batch that holds *n*. A consumer resuming inside a batch (a stage
//! restarted from its own position) got the batches after it, losing the rest of that batch, or,
//! inside a partition's last batch, nothing at all, for ever (measured: the credit feed stopped
//! at 18,864 of 20,000 disclosures after three SIGKILLs of `up`, `tests/credit_crash.rs`). Such a
//! fetch looks back for the batch holding *n*; the client skips the records before *n*, as it
//! does on Kafka.
//!
//! And it serves a record before it is on disk; fetches, the partition's end and offset lookups
//! here go no further than [`crate::visible::DurableEnds`] knows to be written out.

use crate::group_commit::Writes;
use crate::visible::{self, DurableEnds};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tansu_sans_io::describe_cluster_response::DescribeClusterBroker;
use tansu_sans_io::describe_configs_response::DescribeConfigsResult;
use tansu_sans_io::describe_topic_partitions_response::DescribeTopicPartitionsResponseTopic;
use tansu_sans_io::incremental_alter_configs_request::AlterConfigsResource;
use tansu_sans_io::incremental_alter_configs_response::AlterConfigsResourceResponse;
use tansu_sans_io::list_groups_response::ListedGroup;
use tansu_sans_io::record::deflated;
use tansu_sans_io::txn_offset_commit_response::TxnOffsetCommitResponseTopic;
use tansu_sans_io::{
    ConfigResource, ErrorCode, IsolationLevel, ListOffset, ScramMechanism,
    create_topics_request::CreatableTopic, delete_groups_response::DeletableGroupResult,
    delete_records_request::DeleteRecordsTopic, delete_records_response::DeleteRecordsTopicResult,
};
use tansu_storage::{
    BrokerRegistrationRequest, Error, GroupDetail, ListOffsetResponse, MetadataResponse,
    NamedGroupDetail, OffsetCommitRequest, OffsetStage, ProducerIdResponse, Result,
    ScramCredential, Storage, TopicId, Topition, TxnAddPartitionsRequest, TxnAddPartitionsResponse,
    TxnOffsetCommitRequest, UpdateError, Version,
};
use url::Url;

/// Attempts of one write before its conflict is reported to the client.
const ATTEMPTS: u32 = 8;
/// Fetches one fetch may make looking for the batch that holds its offset.
const LOOK_BACK_FETCHES: usize = 256;

/// A Tansu storage whose writes are retried on a SlateDB transaction conflict, and counted in
/// flight for the log's group commit ([`crate::group_commit`]) while they run; whose reads serve
/// only what is on disk ([`crate::visible`]).
#[derive(Clone, Debug)]
pub struct RetryConflicts<S> {
    inner: S,
    /// Counts the writes run again after a conflict.
    retries: Option<prometheus::IntCounter>,
    writes: Writes,
    ends: Arc<DurableEnds>,
}

impl<S> RetryConflicts<S> {
    pub fn new(inner: S, writes: Writes, retries: Option<prometheus::IntCounter>) -> Self {
        Self {
            inner,
            retries,
            writes,
            ends: Arc::default(),
        }
    }
}

impl<S: Storage> RetryConflicts<S> {
    /// The end of `topition` known to be on disk ([`DurableEnds::on_disk`]).
    async fn on_disk(&self, topition: &Topition) -> Result<i64> {
        self.ends
            .on_disk(topition, || async {
                Ok(self.inner.offset_stage(topition).await?.high_watermark())
            })
            .await
    }

    /// Tansu's fetch, from the batch that holds `offset` (see the module's documentation).
    async fn fetch_holding(
        &self,
        topition: &'_ Topition,
        offset: i64,
        min_bytes: u32,
        max_bytes: u32,
        isolation: IsolationLevel,
    ) -> Result<Vec<deflated::Batch>> {
        let batches = self
            .inner
            .fetch(topition, offset, min_bytes, max_bytes, isolation)
            .await?;
        let holds_offset = batches.first().is_some_and(|b| b.base_offset <= offset);
        if offset <= 0 || holds_offset {
            return Ok(batches);
        }
        if batches.is_empty() && offset >= self.inner.offset_stage(topition).await?.high_watermark()
        {
            // At the end of the partition: nothing to look back for.
            return Ok(batches);
        }
        // `offset` is inside a batch that begins before it: find that batch.
        let mut from = offset - 1;
        let mut step = 1;
        // Offsets have no gaps (nothing is deleted), so this ends well before the bound; the
        // bound only keeps a log that breaks that from turning a fetch into a loop.
        for _ in 0..LOOK_BACK_FETCHES {
            let found = self
                .inner
                .fetch(topition, from, min_bytes, max_bytes, isolation)
                .await?;
            match found.iter().position(|b| last_offset(b) >= offset) {
                Some(first) if found[first].base_offset <= offset => {
                    return Ok(found[first..].to_vec());
                }
                // Every batch returned ends before `offset`: go on after the last one.
                None if !found.is_empty() => from = found.last().map_or(from, last_offset) + 1,
                // No batch begins in `from..=offset`, or the one after `from` already begins
                // past `offset`: look further back.
                _ if from > 0 => {
                    step *= 8;
                    from = (offset - step).max(0);
                }
                // No batch holds `offset` (a gap): answer as Tansu did.
                _ => return Ok(batches),
            }
        }
        tracing::warn!(%offset, partition = topition.partition(), "no batch holds the offset");
        Ok(batches)
    }
}

/// The offset of a batch's last record.
fn last_offset(batch: &deflated::Batch) -> i64 {
    batch.base_offset + i64::from(batch.last_offset_delta)
}

/// True when `error` is SlateDB refusing a transaction that overlapped another's writes.
pub fn is_conflict(error: &Error) -> bool {
    matches!(error, Error::Slate(inner) if is_slate_conflict(inner))
}

/// Whether SlateDB refused a transaction's commit because another one wrote what it read.
pub(crate) fn is_slate_conflict(error: &slatedb::Error) -> bool {
    error.kind() == slatedb::ErrorKind::Transaction
}

/// Runs `write` until it does not conflict (`is_conflict`), at most [`ATTEMPTS`] times, with a
/// short pause (growing, jittered by the attempt number) so the winner's commit can finish;
/// `retrying` is told of each write run again. Every write of the log goes through it: the
/// storage's (below) and the watermark upkeep's (`crate::watermarks`).
pub(crate) async fn on_conflict<T, E, Fut>(
    mut write: impl FnMut() -> Fut,
    is_conflict: impl Fn(&E) -> bool,
    mut retrying: impl FnMut(),
) -> std::result::Result<T, E>
where
    Fut: Future<Output = std::result::Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match write().await {
            Err(error) if attempt < ATTEMPTS && is_conflict(&error) => {
                retrying();
                tokio::time::sleep(Duration::from_micros(200 * u64::from(attempt))).await;
                attempt += 1;
            }
            outcome => break outcome,
        }
    }
}

/// A write of the storage, counted in flight for the group commit and run again on a conflict
/// ([`on_conflict`]), each run again counted in the retries metric.
macro_rules! retried {
    ($self:ident, $write:expr) => {{
        let _in_flight = $self.writes.begin();
        on_conflict(
            || $write,
            is_conflict,
            || {
                if let Some(retries) = &$self.retries {
                    retries.inc();
                }
            },
        )
        .await
    }};
}

#[async_trait]
impl<S: Storage> Storage for RetryConflicts<S> {
    async fn register_broker(&self, registration: BrokerRegistrationRequest) -> Result<()> {
        retried!(self, self.inner.register_broker(registration.clone()))
    }

    async fn create_topic(&self, topic: CreatableTopic, validate_only: bool) -> Result<uuid::Uuid> {
        retried!(self, self.inner.create_topic(topic.clone(), validate_only))
    }

    async fn incremental_alter_resource(
        &self,
        resource: AlterConfigsResource,
    ) -> Result<AlterConfigsResourceResponse> {
        retried!(
            self,
            self.inner.incremental_alter_resource(resource.clone())
        )
    }

    /// Refused: see the module's documentation.
    async fn delete_records(
        &self,
        _topics: &[DeleteRecordsTopic],
    ) -> Result<Vec<DeleteRecordsTopicResult>> {
        Err(Error::Api(ErrorCode::PolicyViolation))
    }

    async fn delete_topic(&self, topic: &TopicId) -> Result<ErrorCode> {
        retried!(self, self.inner.delete_topic(topic))
    }

    async fn brokers(&self) -> Result<Vec<DescribeClusterBroker>> {
        self.inner.brokers().await
    }

    async fn produce(
        &self,
        transaction_id: Option<&str>,
        topition: &Topition,
        batch: deflated::Batch,
    ) -> Result<i64> {
        // Looked at before the first write of this run, so the stored end it reads is on disk.
        self.on_disk(topition).await?;
        let records = i64::from(batch.last_offset_delta) + 1;
        let base = retried!(
            self,
            self.inner.produce(transaction_id, topition, batch.clone())
        )?;
        // Returned: the batch is on disk (Tansu's commit waits for the write-out).
        self.ends.written_out(topition, base + records);
        Ok(base)
    }

    async fn fetch(
        &self,
        topition: &'_ Topition,
        offset: i64,
        min_bytes: u32,
        max_bytes: u32,
        isolation: IsolationLevel,
    ) -> Result<Vec<deflated::Batch>> {
        let batches = self
            .fetch_holding(topition, offset, min_bytes, max_bytes, isolation)
            .await?;
        let on_disk = self.on_disk(topition).await?;
        Ok(visible::below(batches, on_disk, |b| b.base_offset))
    }

    async fn offset_stage(&self, topition: &Topition) -> Result<OffsetStage> {
        let stage = self.inner.offset_stage(topition).await?;
        let on_disk = self
            .ends
            .on_disk(topition, || async {
                Ok::<_, Error>(stage.high_watermark())
            })
            .await?;
        Ok(visible::clamped(stage, on_disk).unwrap_or_else(|| {
            tracing::debug!("Tansu's offset stage has another shape: answered as it is");
            stage
        }))
    }

    async fn list_offsets(
        &self,
        isolation_level: IsolationLevel,
        offsets: &[(Topition, ListOffset)],
    ) -> Result<Vec<(Topition, ListOffsetResponse)>> {
        let mut answers = self.inner.list_offsets(isolation_level, offsets).await?;
        for ((topition, asked), (_, answer)) in offsets.iter().zip(answers.iter_mut()) {
            if answer.error_code != ErrorCode::None {
                continue;
            }
            if matches!(asked, ListOffset::Earliest) {
                answer.offset = Some(0);
                answer.timestamp = None;
            } else if let Some(offset) = answer.offset {
                answer.offset = Some(offset.min(self.on_disk(topition).await?));
            }
        }
        Ok(answers)
    }

    async fn offset_commit(
        &self,
        group_id: &str,
        retention_time_ms: Option<Duration>,
        offsets: &[(Topition, OffsetCommitRequest)],
    ) -> Result<Vec<(Topition, ErrorCode)>> {
        retried!(
            self,
            self.inner
                .offset_commit(group_id, retention_time_ms, offsets)
        )
    }

    async fn offset_fetch(
        &self,
        group_id: Option<&str>,
        topics: &[Topition],
        require_stable: Option<bool>,
    ) -> Result<BTreeMap<Topition, i64>> {
        self.inner
            .offset_fetch(group_id, topics, require_stable)
            .await
    }

    async fn committed_offset_topitions(&self, group_id: &str) -> Result<BTreeMap<Topition, i64>> {
        self.inner.committed_offset_topitions(group_id).await
    }

    async fn metadata(&self, topics: Option<&[TopicId]>) -> Result<MetadataResponse> {
        self.inner.metadata(topics).await
    }

    async fn upsert_user_scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
        credential: ScramCredential,
    ) -> Result<()> {
        retried!(
            self,
            self.inner
                .upsert_user_scram_credential(user, mechanism, credential.clone())
        )
    }

    async fn delete_user_scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
    ) -> Result<()> {
        retried!(
            self,
            self.inner.delete_user_scram_credential(user, mechanism)
        )
    }

    async fn user_scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
    ) -> Result<Option<ScramCredential>> {
        self.inner.user_scram_credential(user, mechanism).await
    }

    async fn describe_config(
        &self,
        name: &str,
        resource: ConfigResource,
        keys: Option<&[String]>,
    ) -> Result<DescribeConfigsResult> {
        self.inner.describe_config(name, resource, keys).await
    }

    async fn list_groups(&self, states_filter: Option<&[String]>) -> Result<Vec<ListedGroup>> {
        self.inner.list_groups(states_filter).await
    }

    async fn delete_groups(
        &self,
        group_ids: Option<&[String]>,
    ) -> Result<Vec<DeletableGroupResult>> {
        retried!(self, self.inner.delete_groups(group_ids))
    }

    async fn describe_groups(
        &self,
        group_ids: Option<&[String]>,
        include_authorized_operations: bool,
    ) -> Result<Vec<NamedGroupDetail>> {
        self.inner
            .describe_groups(group_ids, include_authorized_operations)
            .await
    }

    async fn describe_topic_partitions(
        &self,
        topics: Option<&[TopicId]>,
        partition_limit: i32,
        cursor: Option<Topition>,
    ) -> Result<Vec<DescribeTopicPartitionsResponseTopic>> {
        self.inner
            .describe_topic_partitions(topics, partition_limit, cursor)
            .await
    }

    /// Versioned by Tansu itself: a conflict there is an answer for the group coordinator.
    async fn update_group(
        &self,
        group_id: &str,
        detail: GroupDetail,
        version: Option<Version>,
    ) -> Result<Version, UpdateError<GroupDetail>> {
        let _in_flight = self.writes.begin();
        self.inner.update_group(group_id, detail, version).await
    }

    async fn init_producer(
        &self,
        transaction_id: Option<&str>,
        transaction_timeout_ms: i32,
        producer_id: Option<i64>,
        producer_epoch: Option<i16>,
    ) -> Result<ProducerIdResponse> {
        retried!(
            self,
            self.inner.init_producer(
                transaction_id,
                transaction_timeout_ms,
                producer_id,
                producer_epoch
            )
        )
    }

    async fn txn_add_offsets(
        &self,
        transaction_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        group_id: &str,
    ) -> Result<ErrorCode> {
        retried!(
            self,
            self.inner
                .txn_add_offsets(transaction_id, producer_id, producer_epoch, group_id)
        )
    }

    async fn txn_add_partitions(
        &self,
        partitions: TxnAddPartitionsRequest,
    ) -> Result<TxnAddPartitionsResponse> {
        retried!(self, self.inner.txn_add_partitions(partitions.clone()))
    }

    async fn txn_offset_commit(
        &self,
        offsets: TxnOffsetCommitRequest,
    ) -> Result<Vec<TxnOffsetCommitResponseTopic>> {
        retried!(self, self.inner.txn_offset_commit(offsets.clone()))
    }

    async fn txn_end(
        &self,
        transaction_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        committed: bool,
    ) -> Result<ErrorCode> {
        retried!(
            self,
            self.inner
                .txn_end(transaction_id, producer_id, producer_epoch, committed)
        )
    }

    async fn maintain(&self, now: SystemTime) -> Result<()> {
        self.inner.maintain(now).await
    }

    async fn cluster_id(&self) -> Result<String> {
        self.inner.cluster_id().await
    }

    async fn node(&self) -> Result<i32> {
        self.inner.node().await
    }

    async fn advertised_listener(&self) -> Result<Url> {
        self.inner.advertised_listener().await
    }

    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[derive(Debug, PartialEq)]
    enum Outcome {
        Conflict,
        Other,
    }

    /// Runs a write that fails with `failures` in turn, then succeeds; returns what `on_conflict`
    /// answered, how often the write ran and how often `retrying` was told.
    async fn run(failures: &[Outcome]) -> (Result<(), Outcome>, usize, usize) {
        let (runs, retries) = (Cell::new(0), Cell::new(0));
        let outcome = on_conflict(
            || {
                let run = runs.get();
                runs.set(run + 1);
                let answer = match failures.get(run) {
                    Some(Outcome::Conflict) => Err(Outcome::Conflict),
                    Some(Outcome::Other) => Err(Outcome::Other),
                    None => Ok(()),
                };
                async move { answer }
            },
            |error: &Outcome| *error == Outcome::Conflict,
            || retries.set(retries.get() + 1),
        )
        .await;
        (outcome, runs.get(), retries.get())
    }

    #[tokio::test]
    async fn a_write_that_conflicts_runs_again_until_it_commits() {
        let (outcome, runs, retries) = run(&[Outcome::Conflict, Outcome::Conflict]).await;
        assert_eq!((outcome, runs, retries), (Ok(()), 3, 2));
    }

    #[tokio::test]
    async fn a_write_that_keeps_conflicting_gives_up_with_the_conflict() {
        let attempts = usize::try_from(ATTEMPTS).expect("a small number");
        // One conflict more than it may try: it never sees the write succeed.
        let always: Vec<Outcome> = (0..=attempts).map(|_| Outcome::Conflict).collect();
        let (outcome, runs, retries) = run(&always).await;
        assert_eq!(
            (outcome, runs, retries),
            (Err(Outcome::Conflict), attempts, attempts - 1)
        );
    }

    #[tokio::test]
    async fn another_error_is_not_run_again() {
        let (outcome, runs, retries) = run(&[Outcome::Conflict, Outcome::Other]).await;
        assert_eq!((outcome, runs, retries), (Err(Outcome::Other), 2, 1));
    }
}

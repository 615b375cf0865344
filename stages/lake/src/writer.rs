//! The lake writer stage: records from Kafka into Delta tables, each record exactly once.
//!
//! Guarantee: every record of `spotcheck.results.v1` appears once in `results` (and its items
//! once in `result_items`), and every record of the other topics once in its entity table
//! ([`crate::entities`]), however often Kafka delivers it and wherever the writer is killed.
//! How: results are decoded and turned into Arrow rows as they arrive (on every core), and held
//! until a flush appends each table's rows in one Delta commit that also records, per source
//! partition this writer owns, the next offset to write (a `txn` action, see [`crate::delta`]).
//! Only then may the Kafka offset be committed. A redelivered record below a table's recorded
//! offset is not written to it again; files a crash left outside any commit are never read, and
//! vacuum removes them. Rows of a partition moved to another writer before a flush are taken
//! out of the held rows, so this writer's commit never carries them.
//! Flushes happen at `max_rows` buffered rows, when the oldest buffered row is `max_age` old, and
//! when the input goes idle; all partitions flush together, so a flush is one commit (and about
//! one file) per table.
//! Several writers (one consumer group, one lake) split the partitions. A writer that lost a
//! partition to another cannot commit it: the other's commits name it, so this one's next commit
//! conflicts and the writer stops (fatal); on restart it resumes from the tables' log.
//! Limit: two Kafka records with the same record id (an ingest re-publication) give two rows.

use crate::delta::{self, LakeError, LakeLocation};
use crate::entities::{self, EntityRow};
use crate::tables::{self, RESULT_ITEMS, RESULTS, Row, Source};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use deltalake::DeltaTable;
use spotcheck_runtime::{Applied, Commit, Delivered, PartitionId, Stage, StageError};
use spotcheck_schemas::SamplingResult;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Where and how often the writer flushes.
#[derive(Debug, Clone)]
pub struct LakeSettings {
    /// The lake root: a directory (`DATA_DIR/lake`) or an object-store URL (`s3://…`).
    pub location: String,
    /// Rows buffered (all partitions together) before a flush.
    pub max_rows: usize,
    /// Longest a row waits in the buffer, so analysts see fresh data.
    pub max_age: Duration,
}

impl LakeSettings {
    pub fn new(root: impl AsRef<std::path::Path>) -> Self {
        Self::at(&root.as_ref().to_string_lossy())
    }

    /// A lake at a path or URL.
    pub fn at(location: &str) -> Self {
        Self {
            location: location.to_owned(),
            max_rows: 200_000,
            max_age: Duration::from_secs(2),
        }
    }
}

/// What the writer holds for one source partition.
struct PartitionState {
    /// Per table the partition feeds: the next offset the table does not hold yet.
    next: BTreeMap<&'static str, i64>,
    /// Results of this partition in the pending batches.
    results: usize,
    /// Rows of the entity tables (records other than results).
    entities: Vec<EntityRow>,
    /// The offset range buffered (including records sent to the dead-letter topic).
    first: Option<i64>,
    last: i64,
    since: Instant,
}

impl PartitionState {
    /// Below this offset every table has the partition's records.
    fn written_below(&self) -> i64 {
        self.next.values().copied().min().unwrap_or(0)
    }

    /// Counts `offset` in the buffered range (offsets come in order, a retried one again).
    fn buffer(&mut self, offset: i64) {
        if self.first.is_none() {
            self.first = Some(offset);
            self.since = Instant::now();
        }
        self.last = self.last.max(offset);
    }

    fn buffered(&self) -> usize {
        self.results + self.entities.len()
    }
}

/// Files and bytes the writer committed, per table.
#[derive(Clone)]
pub struct LakeMetrics {
    files: prometheus::IntCounterVec,
    bytes: prometheus::IntCounterVec,
}

impl LakeMetrics {
    pub fn new(registry: &prometheus::Registry) -> prometheus::Result<Self> {
        use spotcheck_runtime::metrics::{counter, names};
        Ok(Self {
            files: counter(
                registry,
                names::LAKE_FILES,
                "Parquet files committed to the lake's Delta tables",
                &["table"],
            )?,
            bytes: counter(
                registry,
                names::LAKE_BYTES,
                "Bytes of Parquet committed to the lake's Delta tables",
                &["table"],
            )?,
        })
    }
}

/// Tells readers in the same process that the writer committed (a count of its flushes that
/// made a commit, of rows or of offsets only), so that a SQL session reads the log's new
/// commits when they are made rather than when the next query asks for the table, and the
/// maintenance merges the newest files every few commits.
#[derive(Debug, Clone)]
pub struct CommitSignal(std::sync::Arc<tokio::sync::watch::Sender<u64>>);

impl Default for CommitSignal {
    fn default() -> Self {
        Self(std::sync::Arc::new(tokio::sync::watch::channel(0).0))
    }
}

impl CommitSignal {
    /// Counts one more commit and wakes the subscribers.
    pub fn committed(&self) {
        self.0.send_modify(|commits| *commits += 1);
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.subscribe()
    }
}

pub struct LakeWriter {
    settings: LakeSettings,
    metrics: Option<LakeMetrics>,
    commits: Option<CommitSignal>,
    /// The tables, opened at the first assignment or record.
    tables: Option<BTreeMap<&'static str, DeltaTable>>,
    /// topic → partition → state; keyed by topic first so a record's lookup borrows its topic.
    partitions: HashMap<String, HashMap<i32, PartitionState>>,
    /// The rows of `results` and `result_items` not committed yet, as built when they arrived
    /// (every partition's together; each row names its source partition).
    pending: BTreeMap<&'static str, Vec<RecordBatch>>,
    /// Set when a revoked partition's rows could not be taken out of `pending`: committing
    /// them would write another writer's records, so the writer stops instead.
    poisoned: Option<String>,
}

impl LakeWriter {
    /// The rows of every table to commit for `flushed`: the pending result rows, and the entity
    /// rows a table does not hold yet (a crash between two tables' commits).
    fn batches(
        &self,
        flushed: &[PartitionId],
    ) -> Result<BTreeMap<&'static str, Vec<RecordBatch>>, arrow::error::ArrowError> {
        let mut others: BTreeMap<&'static str, Vec<&EntityRow>> = BTreeMap::new();
        for (topic, partition) in flushed {
            let Some(state) = self.state_of(topic, *partition) else {
                continue;
            };
            let below = |table: &str| state.next.get(table).copied().unwrap_or(0);
            for row in &state.entities {
                if row.offset >= below(row.table()) {
                    others.entry(row.table()).or_default().push(row);
                }
            }
        }
        let mut out: BTreeMap<&'static str, Vec<RecordBatch>> = self.pending.clone();
        for (table, rows) in &others {
            out.entry(table)
                .or_default()
                .push(entities::batch(table, rows)?);
        }
        Ok(out)
    }

    pub fn new(settings: LakeSettings) -> Self {
        Self {
            settings,
            metrics: None,
            commits: None,
            tables: None,
            partitions: HashMap::new(),
            pending: BTreeMap::new(),
            poisoned: None,
        }
    }

    /// Counts the files and bytes it writes in `metrics`.
    pub fn with_metrics(mut self, metrics: LakeMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Signals `commits` after every flush that made a commit.
    pub fn with_commit_signal(mut self, commits: CommitSignal) -> Self {
        self.commits = Some(commits);
        self
    }

    /// Opens (or creates) every table; a local lake of spotcheck's old layout is moved aside
    /// first, so it is rebuilt from the topics.
    async fn tables(&mut self) -> Result<&mut BTreeMap<&'static str, DeltaTable>, StageError> {
        if self.tables.is_none() {
            let location = LakeLocation::parse(&self.settings.location).map_err(fatal)?;
            if let Some(dir) = location.local_dir() {
                crate::layout::retire_old_layout(&dir).map_err(transient)?;
            }
            let mut opened = BTreeMap::new();
            for name in delta::table_names() {
                let table = delta::open_or_create(&location, name)
                    .await
                    .map_err(transient)?;
                opened.insert(name, table);
            }
            self.tables = Some(opened);
        }
        Ok(self.tables.as_mut().expect("opened above"))
    }

    /// Loads what the tables hold of each partition (their `txn` versions), each table read
    /// once at its newest version.
    async fn take(&mut self, partitions: &[PartitionId]) -> Result<(), StageError> {
        let tables = self.tables().await?;
        let mut next: HashMap<PartitionId, BTreeMap<&'static str, i64>> = HashMap::new();
        for (name, table) in tables.iter_mut() {
            let fed: Vec<&PartitionId> = partitions
                .iter()
                .filter(|(topic, _)| delta::sources_of(name).contains(&topic.as_str()))
                .collect();
            if fed.is_empty() {
                continue;
            }
            table.update_state().await.map_err(transient)?;
            for (topic, partition) in fed {
                let app_id = delta::app_id(name, topic, *partition);
                let offset = delta::committed_offset(table, &app_id)
                    .await
                    .map_err(transient)?;
                next.entry((topic.clone(), *partition))
                    .or_default()
                    .insert(*name, offset.unwrap_or(0));
            }
        }
        for id in partitions {
            self.partitions.entry(id.0.clone()).or_default().insert(
                id.1,
                PartitionState {
                    next: next.remove(id).unwrap_or_default(),
                    results: 0,
                    entities: Vec::new(),
                    first: None,
                    last: 0,
                    since: Instant::now(),
                },
            );
        }
        Ok(())
    }

    /// [`LakeWriter::take`]s the partitions of `records` not read yet.
    async fn take_unknown(&mut self, records: &[Delivered]) -> Result<(), StageError> {
        let mut unknown: Vec<PartitionId> = Vec::new();
        for record in records {
            let (topic, partition) = (&record.topic, record.partition);
            if self.state_of(topic, partition).is_none()
                && !unknown.iter().any(|(t, p)| t == topic && *p == partition)
            {
                unknown.push((topic.clone(), partition));
            }
        }
        if unknown.is_empty() {
            return Ok(());
        }
        self.take(&unknown).await
    }

    /// The state of a partition [`LakeWriter::take`] has read.
    fn state_mut(
        &mut self,
        topic: &str,
        partition: i32,
    ) -> Result<&mut PartitionState, StageError> {
        self.partitions
            .get_mut(topic)
            .and_then(|p| p.get_mut(&partition))
            .ok_or_else(|| fatal(format!("lake: {topic}[{partition}] was never read")))
    }

    fn state_of(&self, topic: &str, partition: i32) -> Option<&PartitionState> {
        self.partitions.get(topic).and_then(|p| p.get(&partition))
    }

    /// Every partition's state, with its topic and number.
    fn states(&self) -> impl Iterator<Item = (&str, i32, &PartitionState)> {
        self.partitions
            .iter()
            .flat_map(|(topic, p)| p.iter().map(move |(n, s)| (topic.as_str(), *n, s)))
    }

    /// True when the buffer must go out: too many rows, or the oldest too old.
    fn due(&self) -> bool {
        let rows: usize = self.states().map(|(_, _, s)| s.buffered()).sum();
        rows >= self.settings.max_rows
            || self
                .states()
                .any(|(_, _, s)| s.first.is_some() && s.since.elapsed() >= self.settings.max_age)
    }

    /// Appends everything buffered, one commit per table; returns the committable positions.
    async fn flush(&mut self) -> Result<Vec<(String, i32, i64)>, StageError> {
        let flushed: Vec<PartitionId> = self
            .states()
            .filter(|(_, _, s)| s.first.is_some())
            .map(|(topic, partition, _)| (topic.to_owned(), partition))
            .collect();
        if let Some(why) = &self.poisoned {
            return Err(StageError::Fatal(why.clone()));
        }
        if flushed.is_empty() {
            return Ok(Vec::new());
        }
        let mut batches = self.batches(&flushed).map_err(fatal)?;
        // Each table, with the next offsets of every partition this writer owns that feeds it.
        let mut plans: Vec<(&'static str, Vec<RecordBatch>, HashMap<String, i64>)> = Vec::new();
        for name in delta::table_names() {
            let mut owned = HashMap::new();
            for (topic, partition, state) in self.states() {
                let Some(next) = state.next.get(name) else {
                    continue;
                };
                let next = match state.first {
                    Some(_) => state.last + 1,
                    None => *next,
                };
                owned.insert(delta::app_id(name, topic, partition), next);
            }
            let rows: Vec<RecordBatch> = batches.remove(name).unwrap_or_default();
            let touched = flushed
                .iter()
                .any(|(topic, _)| delta::sources_of(name).contains(&topic.as_str()));
            if touched {
                plans.push((name, rows, owned));
            }
        }
        self.tables().await?;
        let tables = self.tables.as_mut().expect("opened above");
        // Every table at once, each on its own task: encoding Parquet is most of a flush.
        let mut appends = Vec::new();
        for (name, rows, owned) in plans {
            let Some(mut table) = tables.remove(name) else {
                continue;
            };
            appends.push(tokio::spawn(async move {
                let appended = delta::append(&mut table, name, rows, &owned).await;
                (name, table, appended)
            }));
        }
        let mut failure = None;
        let mut committed = false;
        for append in appends {
            let (name, mut table, appended) = match append.await {
                Ok(done) => done,
                Err(error) => {
                    // A task that panicked took its table along: open them all again.
                    self.tables = None;
                    return Err(fatal(error));
                }
            };
            match appended {
                Ok(appended) => {
                    committed |= appended.is_some();
                    self.pending.remove(name);
                    if let (Some(metrics), Some(appended)) = (&self.metrics, appended) {
                        metrics
                            .files
                            .with_label_values(&[name])
                            .inc_by(appended.files);
                        metrics
                            .bytes
                            .with_label_values(&[name])
                            .inc_by(appended.bytes);
                    }
                    for (topic, partition) in &flushed {
                        if delta::sources_of(name).contains(&topic.as_str())
                            && let Some(state) = self
                                .partitions
                                .get_mut(topic)
                                .and_then(|p| p.get_mut(partition))
                        {
                            state.next.insert(name, state.last + 1);
                        }
                    }
                }
                Err(LakeError::Lost(message)) => failure = Some(StageError::Fatal(message)),
                Err(error) => {
                    // The rows stay buffered; the table is read again before the retry.
                    let _ = table.update_state().await;
                    failure.get_or_insert(transient(error));
                }
            }
            if let Some(tables) = self.tables.as_mut() {
                tables.insert(name, table);
            }
        }
        if let (true, Some(commits)) = (committed, &self.commits) {
            commits.committed();
        }
        if let Some(failure) = failure {
            return Err(failure);
        }
        let mut positions = Vec::new();
        for (topic, partition) in flushed {
            if let Some(state) = self
                .partitions
                .get_mut(&topic)
                .and_then(|p| p.get_mut(&partition))
            {
                state.results = 0;
                state.entities.clear();
                state.first = None;
                positions.push((topic, partition, state.last + 1));
            }
        }
        Ok(positions)
    }
}

fn source_of(record: &Delivered) -> Source {
    Source {
        topic: record.topic.clone(),
        partition: record.partition,
        offset: record.offset,
    }
}

/// A result of a batch to decode: its index in the batch, and whether `results` and
/// `result_items` still lack it.
#[derive(Clone, Copy)]
struct Wanted {
    index: usize,
    results: bool,
    items: bool,
}

/// What one part of a batch became: its rows for each result table, and the records that are
/// not sampling results (by index, with the reason).
#[derive(Default)]
struct Decoded {
    results: Option<RecordBatch>,
    items: Option<RecordBatch>,
    dead_letters: Vec<(usize, String)>,
}

/// Decodes `wanted` of `batch` and builds their rows, on every core when there are enough to
/// share: each core decodes its share, builds its rows and drops the decoded results, so
/// nothing waits for one core.
fn decode_results(
    batch: &[Delivered],
    wanted: &[Wanted],
) -> Result<Vec<Decoded>, arrow::error::ArrowError> {
    const SHARED_FROM: usize = 256;
    // Asked once: std reads the cgroup's CPU quota from files at every call.
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let threads = *THREADS
        .get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    if threads < 2 || wanted.len() < SHARED_FROM {
        return Ok(vec![decode_part(batch, wanted)?]);
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = wanted
            .chunks(wanted.len().div_ceil(threads))
            .map(|part| scope.spawn(move || decode_part(batch, part)))
            .collect();
        parts
            .into_iter()
            .map(|part| {
                part.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

fn decode_part(
    batch: &[Delivered],
    wanted: &[Wanted],
) -> Result<Decoded, arrow::error::ArrowError> {
    let mut decoded = Decoded::default();
    let mut rows = Vec::with_capacity(wanted.len());
    for want in wanted {
        let record = &batch[want.index];
        // The text checked once, with SIMD, instead of string by string as serde_json does
        // from bytes (a tenth of the writer's time on Chinese text).
        let result = simdutf8::basic::from_utf8(&record.payload)
            .map_err(|_| "the record is not UTF-8 text".to_owned())
            .and_then(|text| {
                serde_json::from_str::<SamplingResult>(text).map_err(|error| error.to_string())
            });
        match result {
            Ok(result) => rows.push((
                *want,
                Row {
                    result,
                    source: source_of(record),
                    record_id: record.header("ce_id").unwrap_or_default(),
                },
            )),
            Err(reason) => decoded
                .dead_letters
                .push((want.index, format!("not a sampling result: {reason}"))),
        }
    }
    let of = |table: fn(&Wanted) -> bool| -> Vec<&Row> {
        rows.iter()
            .filter(|(want, _)| table(want))
            .map(|(_, row)| row)
            .collect()
    };
    let results = of(|want| want.results);
    if !results.is_empty() {
        decoded.results = Some(tables::results_batch(&results)?);
    }
    let items = of(|want| want.items);
    if !items.is_empty() {
        decoded.items = Some(tables::result_items_batch(&items)?).filter(|b| b.num_rows() > 0);
    }
    Ok(decoded)
}

/// `batch` without the rows whose source partition is one of `gone`.
fn without_partitions(batch: &RecordBatch, gone: &[PartitionId]) -> Result<RecordBatch, String> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int32Type;
    let (Some(topics), Some(partitions)) = (
        batch.column_by_name("source_topic"),
        batch.column_by_name("source_partition"),
    ) else {
        return Err("a pending batch has no source columns".into());
    };
    let (Some(topics), Some(partitions)) = (
        topics.as_string_opt::<i32>(),
        partitions.as_primitive_opt::<Int32Type>(),
    ) else {
        return Err("a pending batch's source columns have other types".into());
    };
    let keep: arrow::array::BooleanArray = (0..batch.num_rows())
        .map(|row| {
            let gone = !topics.is_null(row)
                && gone
                    .iter()
                    .any(|(t, p)| topics.value(row) == t && partitions.value(row) == *p);
            Some(!gone)
        })
        .collect();
    arrow::compute::filter_record_batch(batch, &keep).map_err(|error| error.to_string())
}

fn transient(error: impl std::fmt::Display) -> StageError {
    StageError::Transient(format!("lake: {error}"))
}

fn fatal(error: impl std::fmt::Display) -> StageError {
    StageError::Fatal(format!("lake: {error}"))
}

#[async_trait]
impl Stage for LakeWriter {
    fn name(&self) -> &'static str {
        "lake"
    }

    async fn partitions_assigned(&mut self, partitions: &[PartitionId]) -> Result<(), StageError> {
        self.take(partitions).await
    }

    /// Forgets partitions moved to another writer (their buffers were not committed); its
    /// commits no longer name them.
    fn partitions_revoked(&mut self, partitions: &[PartitionId]) {
        let held: Vec<PartitionId> = partitions
            .iter()
            .filter(|(topic, partition)| {
                self.state_of(topic, *partition)
                    .is_some_and(|state| state.results > 0)
            })
            .cloned()
            .collect();
        if !held.is_empty() {
            for batches in self.pending.values_mut() {
                for batch in batches.iter_mut() {
                    match without_partitions(batch, &held) {
                        Ok(kept) => *batch = kept,
                        Err(why) => {
                            self.poisoned.get_or_insert(format!(
                                "lake: the rows of a partition moved to another writer could \
                                 not be set aside ({why}); stopping so that a restart resumes \
                                 from the tables' log"
                            ));
                        }
                    }
                }
                batches.retain(|batch| batch.num_rows() > 0);
            }
        }
        for (topic, partition) in partitions {
            if let Some(states) = self.partitions.get_mut(topic) {
                states.remove(partition);
            }
        }
    }

    async fn apply(&mut self, batch: &[Delivered]) -> Result<Applied, StageError> {
        if let Some(why) = &self.poisoned {
            return Err(StageError::Fatal(why.clone()));
        }
        // Every partition's state first: reading a table can fail, and a retried batch must
        // find no partition marked as buffered whose rows were not taken.
        self.take_unknown(batch).await?;
        let mut applied = Applied::nothing();
        let mut positions = Vec::new();
        // The results to decode (most of the work), by their index in `batch`.
        let mut results = Vec::new();
        for (index, record) in batch.iter().enumerate() {
            let state = self.state_mut(&record.topic, record.partition)?;
            if state.first.is_some() && record.offset <= state.last {
                // Buffered already: the driver is retrying a batch after a transient error.
                continue;
            }
            let written_below = state.written_below();
            if record.offset < written_below {
                // In every table already (redelivered after a crash): let Kafka catch up.
                positions.push((record.topic.clone(), record.partition, written_below));
                continue;
            }
            if record.topic != spotcheck_schemas::topics::RESULTS {
                let source = source_of(record);
                let record_id = record.header("ce_id").unwrap_or_default();
                match entities::rows_of(&record.topic, &record.payload, &source, &record_id) {
                    Ok(rows) => state.entities.extend(rows),
                    Err(reason) => applied.dead_letters.push((index, reason)),
                }
            } else {
                let lacks =
                    |table: &str| record.offset >= state.next.get(table).copied().unwrap_or(0);
                results.push(Wanted {
                    index,
                    results: lacks(RESULTS),
                    items: lacks(RESULT_ITEMS),
                });
            }
            state.buffer(record.offset);
        }
        let parts = decode_results(batch, &results).map_err(fatal)?;
        let mut failed = Vec::new();
        for part in parts {
            failed.extend(part.dead_letters.iter().map(|(index, _)| *index));
            applied.dead_letters.extend(part.dead_letters);
            for (table, rows) in [(RESULTS, part.results), (RESULT_ITEMS, part.items)] {
                if let Some(rows) = rows {
                    self.pending.entry(table).or_default().push(rows);
                }
            }
        }
        failed.sort_unstable();
        for want in &results {
            if failed.binary_search(&want.index).is_err() {
                let record = &batch[want.index];
                if let Some(state) = self
                    .partitions
                    .get_mut(&record.topic)
                    .and_then(|p| p.get_mut(&record.partition))
                {
                    state.results += 1;
                }
            }
        }
        applied.dead_letters.sort_by_key(|(index, _)| *index);
        if self.due() {
            positions.extend(self.flush().await?);
        }
        applied.commit = Commit::Positions(positions);
        Ok(applied)
    }

    /// Records that are not CloudEvents count as buffered, like a record that is not a sampling
    /// result: the next flush records the tables' offsets past them.
    async fn passed(&mut self, records: &[Delivered]) -> Result<(), StageError> {
        self.take_unknown(records).await?;
        for record in records {
            let state = self.state_mut(&record.topic, record.partition)?;
            if record.offset >= state.written_below() {
                state.buffer(record.offset);
            }
        }
        Ok(())
    }

    async fn idle(&mut self) -> Result<Applied, StageError> {
        let positions = self.flush().await?;
        Ok(Applied {
            dead_letters: Vec::new(),
            commit: Commit::Positions(positions),
        })
    }

    async fn finish(&mut self) -> Result<Applied, StageError> {
        self.idle().await
    }

    /// The tables' own offsets (the lowest over the tables a topic feeds): a lake removed,
    /// restored from a backup or new is written again from the topics, from where it ends.
    fn resume_at(&self, topic: &str, partition: i32) -> Option<i64> {
        self.state_of(topic, partition)
            .map(PartitionState::written_below)
    }
}

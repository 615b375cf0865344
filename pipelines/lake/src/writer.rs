//! The lake writer stage: records from Kafka into Delta tables, each record exactly once.
//!
//! Guarantee: every record of `spotcheck.results.v1` appears once in `results` (and its items
//! once in `result_items`), and every record of the other topics once in its entity table
//! ([`crate::entities`]), however often Kafka delivers it and wherever the writer is killed.
//! How: rows are buffered per source partition; a flush appends each table's rows in one Delta
//! commit that also records, per source partition this writer owns, the next offset to write
//! (a `txn` action, see [`crate::delta`]). Only then may the Kafka offset be committed. A
//! redelivered record below a table's recorded offset is not written to it again; files a crash
//! left outside any commit are never read, and vacuum removes them.
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
    rows: Vec<Row>,
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

    fn buffered(&self) -> usize {
        self.rows.len() + self.entities.len()
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

pub struct LakeWriter {
    settings: LakeSettings,
    metrics: Option<LakeMetrics>,
    /// The tables, opened at the first assignment or record.
    tables: Option<BTreeMap<&'static str, DeltaTable>>,
    /// topic → partition → state; keyed by topic first so a record's lookup borrows its topic.
    partitions: HashMap<String, HashMap<i32, PartitionState>>,
}

impl LakeWriter {
    pub fn new(settings: LakeSettings) -> Self {
        Self {
            settings,
            metrics: None,
            tables: None,
            partitions: HashMap::new(),
        }
    }

    /// Counts the files and bytes it writes in `metrics`.
    pub fn with_metrics(mut self, metrics: LakeMetrics) -> Self {
        self.metrics = Some(metrics);
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
                    rows: Vec::new(),
                    entities: Vec::new(),
                    first: None,
                    last: 0,
                    since: Instant::now(),
                },
            );
        }
        Ok(())
    }

    async fn state(
        &mut self,
        topic: &str,
        partition: i32,
    ) -> Result<&mut PartitionState, StageError> {
        if self.state_of(topic, partition).is_none() {
            self.take(&[(topic.to_owned(), partition)]).await?;
        }
        Ok(self
            .partitions
            .get_mut(topic)
            .and_then(|p| p.get_mut(&partition))
            .expect("taken above"))
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
        if flushed.is_empty() {
            return Ok(Vec::new());
        }
        let mut batches: BTreeMap<&'static str, Vec<RecordBatch>> = BTreeMap::new();
        for (topic, partition) in &flushed {
            let Some(state) = self.state_of(topic, *partition) else {
                continue;
            };
            for (table, batch) in table_batches(state).map_err(fatal)? {
                batches.entry(table).or_default().push(batch);
            }
        }
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
            let rows = batches.remove(name).unwrap_or_default();
            let touched = flushed
                .iter()
                .any(|(topic, _)| delta::sources_of(name).contains(&topic.as_str()));
            if touched {
                plans.push((name, rows, owned));
            }
        }
        self.tables().await?;
        let tables = self.tables.as_mut().expect("opened above");
        for (name, rows, owned) in plans {
            let Some(table) = tables.get_mut(name) else {
                continue;
            };
            let appended = match delta::append(table, name, rows, &owned).await {
                Ok(appended) => appended,
                Err(LakeError::Lost(message)) => return Err(StageError::Fatal(message)),
                Err(error) => {
                    // The rows stay buffered; the table is read again before the retry.
                    let _ = table.update_state().await;
                    return Err(transient(error));
                }
            };
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
        let mut positions = Vec::new();
        for (topic, partition) in flushed {
            if let Some(state) = self
                .partitions
                .get_mut(&topic)
                .and_then(|p| p.get_mut(&partition))
            {
                state.rows.clear();
                state.entities.clear();
                state.first = None;
                positions.push((topic, partition, state.last + 1));
            }
        }
        Ok(positions)
    }
}

/// The rows of one partition's buffer, per table, leaving out those a table holds already (a
/// crash between two tables' commits).
fn table_batches(
    state: &PartitionState,
) -> Result<Vec<(&'static str, RecordBatch)>, arrow::error::ArrowError> {
    let mut out = Vec::new();
    let below = |table: &str| state.next.get(table).copied().unwrap_or(0);
    for table in [RESULTS, RESULT_ITEMS] {
        let rows: Vec<&Row> = state
            .rows
            .iter()
            .filter(|r| r.source.offset >= below(table))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let batch = match table {
            RESULTS => tables::results_batch(&rows)?,
            _ => tables::result_items_batch(&rows)?,
        };
        if batch.num_rows() > 0 {
            out.push((table, batch));
        }
    }
    let mut by_table: BTreeMap<&'static str, Vec<&EntityRow>> = BTreeMap::new();
    for row in &state.entities {
        if row.offset >= below(row.table) {
            by_table.entry(row.table).or_default().push(row);
        }
    }
    for (table, rows) in by_table {
        out.push((table, entities::batch(table, &rows)?));
    }
    Ok(out)
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
        for (topic, partition) in partitions {
            if let Some(states) = self.partitions.get_mut(topic) {
                states.remove(partition);
            }
        }
    }

    async fn apply(&mut self, batch: &[Delivered]) -> Result<Applied, StageError> {
        let mut applied = Applied::nothing();
        let mut positions = Vec::new();
        for (index, record) in batch.iter().enumerate() {
            let state = self.state(&record.topic, record.partition).await?;
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
            if state.first.is_none() {
                state.first = Some(record.offset);
                state.since = Instant::now();
            }
            state.last = record.offset;
            let source = Source {
                topic: record.topic.clone(),
                partition: record.partition,
                offset: record.offset,
            };
            let record_id = record.header("ce_id").unwrap_or_default();
            if record.topic != spotcheck_schemas::topics::RESULTS {
                match entities::rows_of(&record.topic, &record.payload, &source, &record_id) {
                    Ok(rows) => state.entities.extend(rows),
                    Err(reason) => applied.dead_letters.push((index, reason)),
                }
                continue;
            }
            match serde_json::from_slice::<SamplingResult>(&record.payload) {
                Ok(result) => state.rows.push(Row {
                    result,
                    source,
                    record_id,
                }),
                Err(error) => applied
                    .dead_letters
                    .push((index, format!("not a sampling result: {error}"))),
            }
        }
        if self.due() {
            positions.extend(self.flush().await?);
        }
        applied.commit = Commit::Positions(positions);
        Ok(applied)
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

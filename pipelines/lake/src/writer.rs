//! The lake writer stage: records from Kafka into Parquet, each record exactly once.
//!
//! Guarantee: every record of `spotcheck.results.v1` appears once in `results` (and its items
//! once in `result_items`), and every record of the other topics once in its entity table
//! ([`crate::entities`]), however often Kafka delivers it and wherever the writer is killed.
//! How: rows are buffered per source partition and flushed as files named
//! `<topic>+<partition>+<first>-<last>.parquet` (written aside, then renamed); the partition's
//! manifest then records the files and the next offset, and only then may the Kafka offset be
//! committed. A redelivered record below the manifest's next offset is skipped; a file no
//! manifest names (a crash between the two renames) is deleted before the partition is written
//! again. No Kafka transactions are needed.
//! Flushes happen at `max_rows` per partition, when the oldest buffered row is `max_age` old, and
//! when the input goes idle — never on wall-clock alone.
//! Several writers (one consumer group, one shared lake directory) split the partitions: a
//! writer forgets what it buffered for a partition the group moves away, and before recording a
//! file it checks that the partition's manifest is still the one it loaded — if another writer
//! advanced it meanwhile, this one stops (fatal) rather than write over it, and on restart
//! resumes from the committed offsets.
//! Limit: two Kafka records with the same record id (an ingest re-publication) give two rows.

use crate::compact::{CompactionSettings, compact_once, purge_retired};
use crate::entities::{self, EntityRow};
use crate::manifest::{self, Manifest};
use crate::parquet_file::{publish, write_parquet};
use crate::tables::{self, RESULT_ITEMS, RESULTS, Row, Source};
use async_trait::async_trait;
use spotcheck_runtime::{Applied, Commit, Delivered, Stage, StageError};
use spotcheck_schemas::SamplingResult;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where and how often the writer flushes.
#[derive(Debug, Clone)]
pub struct LakeSettings {
    /// The lake root, `DATA_DIR/lake`.
    pub root: PathBuf,
    /// Rows buffered per source partition before a flush.
    pub max_rows: usize,
    /// Longest a row waits in the buffer, so analysts see fresh data.
    pub max_age: Duration,
    /// Merging the small files of a directory after a flush ([`crate::compact`]); `None` never.
    pub compaction: Option<CompactionSettings>,
}

impl LakeSettings {
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            max_rows: 200_000,
            max_age: Duration::from_secs(5),
            compaction: Some(CompactionSettings::default()),
        }
    }
}

/// What the writer holds for one source partition.
struct PartitionState {
    manifest: Manifest,
    rows: Vec<Row>,
    /// Rows of the entity tables (records other than results).
    entities: Vec<EntityRow>,
    /// The offset range buffered (including records sent to the dead-letter topic).
    first: Option<i64>,
    last: i64,
    since: Instant,
}

/// Files and bytes the writer made visible, per table.
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
                "Parquet files made visible in the lake",
                &["table"],
            )?,
            bytes: counter(
                registry,
                names::LAKE_BYTES,
                "Bytes of Parquet made visible in the lake",
                &["table"],
            )?,
        })
    }

    fn record(&self, root: &std::path::Path, relative: &str) {
        let table = relative.split('/').next().unwrap_or_default();
        let size = std::fs::metadata(root.join(relative)).map_or(0, |m| m.len());
        self.files.with_label_values(&[table]).inc();
        self.bytes.with_label_values(&[table]).inc_by(size);
    }
}

pub struct LakeWriter {
    settings: LakeSettings,
    metrics: Option<LakeMetrics>,
    /// topic → partition → state; keyed by topic first so a lookup borrows the record's topic.
    partitions: HashMap<String, HashMap<i32, PartitionState>>,
}

impl LakeWriter {
    pub fn new(settings: LakeSettings) -> Self {
        Self {
            settings,
            metrics: None,
            partitions: HashMap::new(),
        }
    }

    /// Counts the files and bytes it writes in `metrics`.
    pub fn with_metrics(mut self, metrics: LakeMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Forgets partitions the group moved to another writer (their buffers were not committed).
    fn forget(&mut self, partitions: &[(String, i32)]) {
        for (topic, partition) in partitions {
            if let Some(states) = self.partitions.get_mut(topic) {
                states.remove(partition);
            }
        }
    }

    /// Loads the partition's manifest the first time it is seen, removing orphans.
    fn state(&mut self, topic: &str, partition: i32) -> Result<&mut PartitionState, StageError> {
        let known = self
            .partitions
            .get(topic)
            .is_some_and(|p| p.contains_key(&partition));
        if !known {
            let root = &self.settings.root;
            let manifest = manifest::load(root, topic, partition).map_err(transient)?;
            // Files recorded just before a crash may still be hidden: show them.
            for relative in &manifest.files {
                publish(&root.join(relative)).map_err(transient)?;
            }
            let mut tables = vec![RESULTS, RESULT_ITEMS];
            tables.extend(entities::TABLES.iter().map(|(table, _)| *table));
            let removed = manifest::remove_orphans(root, &tables, topic, partition, &manifest)
                .map_err(transient)?;
            if removed > 0 {
                tracing::info!(
                    topic,
                    partition,
                    removed,
                    "removed files a crash left unrecorded"
                );
            }
            let state = PartitionState {
                manifest,
                rows: Vec::new(),
                entities: Vec::new(),
                first: None,
                last: 0,
                since: Instant::now(),
            };
            self.partitions
                .entry(topic.to_owned())
                .or_default()
                .insert(partition, state);
        }
        let state = self
            .partitions
            .get_mut(topic)
            .and_then(|p| p.get_mut(&partition));
        Ok(state.expect("inserted above"))
    }

    /// Writes the partition's buffer and saves its manifest; returns the committable position.
    async fn flush(
        &mut self,
        topic: &str,
        partition: i32,
    ) -> Result<Option<(String, i32, i64)>, StageError> {
        let root = self.settings.root.clone();
        let Some(state) = self
            .partitions
            .get_mut(topic)
            .and_then(|p| p.get_mut(&partition))
        else {
            return Ok(None);
        };
        let Some(first) = state.first else {
            return Ok(None);
        };
        let last = state.last;
        let buffered = Buffered {
            rows: std::mem::take(&mut state.rows),
            entities: std::mem::take(&mut state.entities),
        };
        let name = format!(
            "{}{first}-{last}.parquet",
            manifest::file_prefix(topic, partition)
        );
        let (buffered, written) = tokio::task::spawn_blocking(move || {
            let written = write_files(&root, &name, &buffered);
            (buffered, written)
        })
        .await
        .map_err(|e| StageError::Fatal(format!("lake flush panicked: {e}")))?;
        let written = match written {
            Ok(written) => written,
            Err(error) => {
                // Keep the rows: the records they came from will not be delivered again.
                state.rows = buffered.rows;
                state.entities = buffered.entities;
                return Err(transient(error));
            }
        };
        let on_disk = manifest::load(&self.settings.root, topic, partition).map_err(transient)?;
        if on_disk.next_offset != state.manifest.next_offset {
            return Err(StageError::Fatal(format!(
                "another lake writer advanced {topic}/{partition} to offset {} while this one \
                 expected {}; stopping so that a restart resumes from the committed offsets",
                on_disk.next_offset, state.manifest.next_offset
            )));
        }
        let mut manifest = state.manifest.clone();
        manifest.files.extend(written.iter().cloned());
        manifest.next_offset = last + 1;
        manifest::save(&self.settings.root, topic, partition, &manifest).map_err(transient)?;
        state.manifest = manifest;
        // Recorded first, shown second: a reader never sees a file that could be taken back.
        for relative in &written {
            publish(&self.settings.root.join(relative)).map_err(transient)?;
            if let Some(metrics) = &self.metrics {
                metrics.record(&self.settings.root, relative);
            }
        }
        state.first = None;
        self.compact(topic, partition).await?;
        Ok(Some((topic.to_owned(), partition, last + 1)))
    }

    /// Merges the partition's small files in every directory where enough piled up (a flush
    /// adds at most one file per directory, so this is proportional to the flush). A failure
    /// is logged and the manifest read back from disk (compaction is an optimisation; the lake
    /// is correct without it), fatal only if the manifest cannot be read.
    async fn compact(&mut self, topic: &str, partition: i32) -> Result<(), StageError> {
        let Some(settings) = self.settings.compaction else {
            return Ok(());
        };
        let root = self.settings.root.clone();
        let Some(state) = self
            .partitions
            .get_mut(topic)
            .and_then(|p| p.get_mut(&partition))
        else {
            return Ok(());
        };
        let (manifest, topic_owned, root_owned) =
            (state.manifest.clone(), topic.to_owned(), root.clone());
        let outcome = tokio::task::spawn_blocking(move || {
            let mut manifest = manifest;
            if let Some(next) =
                purge_retired(&root_owned, &topic_owned, partition, &manifest, settings)?
            {
                manifest = next;
            }
            let mut done = Vec::new();
            while let Some((next, merged)) =
                compact_once(&root_owned, &topic_owned, partition, &manifest, settings)?
            {
                manifest = next;
                done.push(merged);
            }
            Ok::<_, std::io::Error>((manifest, done))
        })
        .await;
        let reason = match outcome {
            Ok(Ok((next, done))) => {
                if !done.is_empty() {
                    tracing::debug!(topic, partition, ?done, "compacted");
                }
                state.manifest = next;
                return Ok(());
            }
            Ok(Err(error)) => error.to_string(),
            Err(error) => error.to_string(),
        };
        tracing::warn!(topic, partition, %reason, "compaction failed; continuing");
        state.manifest = manifest::load(&root, topic, partition)
            .map_err(|e| StageError::Fatal(format!("cannot read the manifest back: {e}")))?;
        Ok(())
    }

    /// Flushes partitions whose oldest row is older than `max_age` (all of them if `everything`).
    async fn flush_due(&mut self, everything: bool) -> Result<Vec<(String, i32, i64)>, StageError> {
        let max_age = self.settings.max_age;
        let due: Vec<(String, i32)> = self
            .partitions
            .iter()
            .flat_map(|(topic, partitions)| {
                partitions
                    .iter()
                    .filter(move |(_, s)| {
                        s.first.is_some() && (everything || s.since.elapsed() >= max_age)
                    })
                    .map(move |(partition, _)| (topic.clone(), *partition))
            })
            .collect();
        let mut positions = Vec::new();
        for (topic, partition) in due {
            positions.extend(self.flush(&topic, partition).await?);
        }
        Ok(positions)
    }
}

/// What one flush writes.
struct Buffered {
    rows: Vec<Row>,
    entities: Vec<EntityRow>,
}

/// Writes one file per table and Hive partition; returns their paths relative to the root.
fn write_files(
    root: &std::path::Path,
    name: &str,
    buffered: &Buffered,
) -> std::io::Result<Vec<String>> {
    let mut written = write_entity_files(root, name, &buffered.entities)?;
    let mut by_partition: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for row in &buffered.rows {
        by_partition
            .entry(tables::result_partition(&row.result))
            .or_default()
            .push(row);
    }
    for (hive, rows) in by_partition {
        let results = tables::results_batch(&rows).map_err(std::io::Error::other)?;
        let items = tables::result_items_batch(&rows).map_err(std::io::Error::other)?;
        for (table, batch) in [(RESULTS, results), (RESULT_ITEMS, items)] {
            let relative = format!("{table}/{hive}/{name}");
            write_parquet(&root.join(&relative), &batch)?;
            written.push(relative);
        }
    }
    Ok(written)
}

fn write_entity_files(
    root: &std::path::Path,
    name: &str,
    rows: &[EntityRow],
) -> std::io::Result<Vec<String>> {
    let mut by_file: BTreeMap<(&str, &str), Vec<&EntityRow>> = BTreeMap::new();
    for row in rows {
        by_file.entry((row.table, &row.hive)).or_default().push(row);
    }
    let mut written = Vec::new();
    for ((table, hive), rows) in by_file {
        let batch = entities::batch(table, &rows).map_err(std::io::Error::other)?;
        let relative = if hive.is_empty() {
            format!("{table}/{name}")
        } else {
            format!("{table}/{hive}/{name}")
        };
        write_parquet(&root.join(&relative), &batch)?;
        written.push(relative);
    }
    Ok(written)
}

fn transient(error: impl std::fmt::Display) -> StageError {
    StageError::Transient(format!("lake: {error}"))
}

#[async_trait]
impl Stage for LakeWriter {
    fn name(&self) -> &'static str {
        "lake"
    }

    fn partitions_revoked(&mut self, partitions: &[(String, i32)]) {
        self.forget(partitions);
    }

    async fn apply(&mut self, batch: &[Delivered]) -> Result<Applied, StageError> {
        let mut applied = Applied::nothing();
        let mut positions = Vec::new();
        let mut full = Vec::new();
        for (index, record) in batch.iter().enumerate() {
            let max_rows = self.settings.max_rows;
            let state = self.state(&record.topic, record.partition)?;
            if state.first.is_some() && record.offset <= state.last {
                // Buffered already: the driver is retrying a batch after a transient error.
                continue;
            }
            if record.offset < state.manifest.next_offset {
                // Already in the lake (redelivered after a crash): let Kafka catch up.
                positions.push((
                    record.topic.clone(),
                    record.partition,
                    state.manifest.next_offset,
                ));
                continue;
            }
            if state.first.is_none() {
                state.first = Some(record.offset);
                state.since = Instant::now();
            }
            state.last = record.offset;
            if record.topic != spotcheck_schemas::topics::RESULTS {
                let source = Source {
                    topic: record.topic.clone(),
                    partition: record.partition,
                    offset: record.offset,
                };
                let record_id = record.header("ce_id").unwrap_or_default();
                match entities::rows_of(&record.topic, &record.payload, &source, &record_id) {
                    Ok(rows) => state.entities.extend(rows),
                    Err(reason) => applied.dead_letters.push((index, reason)),
                }
                if state.entities.len() >= max_rows {
                    full.push((record.topic.clone(), record.partition));
                }
                continue;
            }
            match serde_json::from_slice::<SamplingResult>(&record.payload) {
                Ok(result) => {
                    let record_id = record.header("ce_id").unwrap_or_default();
                    let source = Source {
                        topic: record.topic.clone(),
                        partition: record.partition,
                        offset: record.offset,
                    };
                    state.rows.push(Row {
                        result,
                        source,
                        record_id,
                    });
                }
                Err(error) => applied
                    .dead_letters
                    .push((index, format!("not a sampling result: {error}"))),
            }
            if state.rows.len() >= max_rows {
                full.push((record.topic.clone(), record.partition));
            }
        }
        for (topic, partition) in full {
            positions.extend(self.flush(&topic, partition).await?);
        }
        positions.extend(self.flush_due(false).await?);
        applied.commit = Commit::Positions(positions);
        Ok(applied)
    }

    async fn idle(&mut self) -> Result<Applied, StageError> {
        let positions = self.flush_due(true).await?;
        Ok(Applied {
            dead_letters: Vec::new(),
            commit: Commit::Positions(positions),
        })
    }

    async fn finish(&mut self) -> Result<Applied, StageError> {
        self.idle().await
    }

    /// The manifests' offsets: a lake removed or restored from a backup is written again from
    /// the topics, from where its manifests end.
    fn resume_at(&self, topic: &str, partition: i32) -> Option<i64> {
        manifest::load(&self.settings.root, topic, partition)
            .ok()
            .map(|m| m.next_offset)
    }
}

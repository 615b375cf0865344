//! Background compaction: the small files a source partition left in one Hive directory (one per
//! flush) are merged into one, without a query ever counting a row twice or missing one.
//!
//! Readers that go through spotcheck's SQL read the manifests first, then list the files, and
//! keep only the files the manifests name (`services/analytics/src/visible.rs`), so the switch
//! is the manifest save, which is atomic:
//! 1. the merged file is written hidden and renamed into view — no manifest names it yet, so
//!    spotcheck's readers do not see it;
//! 2. the manifest is saved naming the merged file instead of the small ones, which it lists as
//!    retired — readers switch from the small files to the merged one in one step;
//! 3. the small files stay on disk for a grace period ([`CompactionSettings::retire_after`],
//!    longer than a query may run), so a reader that read the previous manifest still finds
//!    every file it names; a later compaction of the partition deletes them.
//!
//! A crash after 1 leaves the merged file unnamed: the next owner deletes it as an orphan.
//! Readers of the files themselves (DuckDB, pandas) see both the merged file and the retired
//! ones during the grace period; for exact answers while the writer runs they should keep to the
//! files the manifests name (`_manifests/*.json`, field `files`).
//! The merged file is named by the offset range it covers, like the files it replaces, so the
//! names stay unique per source partition and directory.

use crate::manifest::{self, Manifest};
use crate::parquet_file::{publish, write_parquet};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// When a directory is worth merging, and how long replaced files stay.
#[derive(Debug, Clone, Copy)]
pub struct CompactionSettings {
    /// Files of one source partition in one directory before they are merged.
    pub min_files: usize,
    /// How long a replaced file stays on disk: longer than the longest query.
    pub retire_after: std::time::Duration,
}

impl Default for CompactionSettings {
    fn default() -> Self {
        Self {
            min_files: 8,
            retire_after: std::time::Duration::from_secs(180),
        }
    }
}

/// What one compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compacted {
    pub directory: String,
    pub merged: usize,
    pub file: String,
}

/// Merges the files of `topic`/`partition` in the directory that holds the most of them (at least
/// `min_files`). Returns the manifest to continue with and what was done, or `None` when nothing
/// is worth merging (call again until then).
pub fn compact_once(
    root: &Path,
    topic: &str,
    partition: i32,
    manifest: &Manifest,
    settings: CompactionSettings,
) -> io::Result<Option<(Manifest, Compacted)>> {
    let mut by_directory: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for file in &manifest.files {
        let directory = file.rsplit_once('/').map_or("", |(dir, _)| dir);
        by_directory.entry(directory).or_default().push(file);
    }
    let Some((directory, files)) = by_directory
        .into_iter()
        .filter(|(_, files)| files.len() >= settings.min_files.max(2))
        .max_by_key(|(_, files)| files.len())
    else {
        return Ok(None);
    };
    let prefix = manifest::file_prefix(topic, partition);
    let (first, last) = offset_range(&prefix, &files)?;
    let merged_name = format!("{directory}/{prefix}{first}-{last}.parquet");
    let batch = read_all(root, &files)?;
    write_parquet(&root.join(&merged_name), &batch)?;
    publish(&root.join(&merged_name))?;
    let mut next = manifest.clone();
    next.files.retain(|f| !files.contains(&f));
    next.files.push(merged_name.clone());
    let now = chrono::Utc::now().timestamp_millis();
    next.retired.extend(files.iter().map(|f| manifest::Retired {
        file: (*f).clone(),
        at_ms: now,
    }));
    manifest::save(root, topic, partition, &next)?;
    let done = Compacted {
        directory: directory.to_owned(),
        merged: files.len(),
        file: merged_name,
    };
    Ok(Some((next, done)))
}

/// Deletes the retired files older than the grace period; returns the manifest without them, or
/// `None` when none was due.
pub fn purge_retired(
    root: &Path,
    topic: &str,
    partition: i32,
    manifest: &Manifest,
    settings: CompactionSettings,
) -> io::Result<Option<Manifest>> {
    let cutoff = chrono::Utc::now().timestamp_millis() - settings.retire_after.as_millis() as i64;
    let (due, kept): (Vec<_>, Vec<_>) = manifest
        .retired
        .iter()
        .cloned()
        .partition(|r| r.at_ms <= cutoff);
    if due.is_empty() {
        return Ok(None);
    }
    let mut next = manifest.clone();
    next.retired = kept;
    // Recorded first: a crash after this save leaves unnamed files, deleted as orphans.
    manifest::save(root, topic, partition, &next)?;
    for retired in due {
        match std::fs::remove_file(root.join(&retired.file)) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
    }
    Ok(Some(next))
}

/// The lowest first offset and the highest last offset in names `<prefix><first>-<last>.parquet`.
fn offset_range(prefix: &str, files: &[&String]) -> io::Result<(i64, i64)> {
    let mut range: Option<(i64, i64)> = None;
    for file in files {
        let name = file.rsplit('/').next().unwrap_or(file);
        let offsets = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(".parquet"))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.parse::<i64>().ok()?)))
            .ok_or_else(|| io::Error::other(format!("not a lake file name: {file}")))?;
        range = Some(match range {
            None => offsets,
            Some((first, last)) => (first.min(offsets.0), last.max(offsets.1)),
        });
    }
    range.ok_or_else(|| io::Error::other("no files to merge"))
}

/// Every row of `files`, in the order given, as one batch.
fn read_all(root: &Path, files: &[&String]) -> io::Result<RecordBatch> {
    let mut batches = Vec::new();
    for file in files {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(root.join(file))?)
                .map_err(io::Error::other)?
                .with_batch_size(64 * 1024)
                .build()
                .map_err(io::Error::other)?;
        for batch in reader {
            batches.push(batch.map_err(io::Error::other)?);
        }
    }
    let schema = batches
        .first()
        .map(|b| b.schema())
        .ok_or_else(|| io::Error::other("the files to merge hold no rows"))?;
    arrow::compute::concat_batches(&schema, &batches).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_merged_name_covers_the_offset_range_of_the_files() {
        let files = [
            "results/a/t+3+10-19.parquet".to_owned(),
            "results/a/t+3+0-4.parquet".to_owned(),
            "results/a/t+3+30-31.parquet".to_owned(),
        ];
        let refs: Vec<&String> = files.iter().collect();
        assert_eq!(offset_range("t+3+", &refs).unwrap(), (0, 31));
        let odd = ["results/a/other.parquet".to_owned()];
        assert!(offset_range("t+3+", &odd.iter().collect::<Vec<_>>()).is_err());
    }
}

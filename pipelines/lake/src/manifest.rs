//! The lake's own record of what it holds, per source partition: the files written from it and
//! the next offset to write. It lives in the lake (`_manifests/<topic>+<partition>.json`), so it
//! travels with the files to whichever writer owns the partition next.
//!
//! A file is written hidden, recorded in the manifest (saved atomically), and only then renamed
//! into view: readers never see a file that could be taken back. A crash before the manifest
//! leaves a hidden orphan, deleted by the next owner before it writes the same rows again; a crash
//! after it leaves a recorded hidden file, which the next owner renames into view.

use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

pub const MANIFEST_DIR: &str = "_manifests";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The first offset not yet in the lake.
    pub next_offset: i64,
    /// Paths of the files written from this partition, relative to the lake root.
    pub files: Vec<String>,
    /// Files a compaction replaced, kept on disk for a grace period so that a query which read
    /// the previous manifest still finds them ([`crate::compact`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<Retired>,
}

/// A replaced file and when it was replaced (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retired {
    pub file: String,
    pub at_ms: i64,
}

impl Manifest {
    /// Whether the manifest accounts for `relative` (named, or retired and not yet deleted).
    pub fn knows(&self, relative: &str) -> bool {
        self.files.iter().any(|f| f == relative) || self.retired.iter().any(|r| r.file == relative)
    }
}

/// The name every file written from `topic`/`partition` starts with.
pub fn file_prefix(topic: &str, partition: i32) -> String {
    format!("{topic}+{partition}+")
}

fn manifest_path(root: &Path, topic: &str, partition: i32) -> PathBuf {
    root.join(MANIFEST_DIR)
        .join(format!("{topic}+{partition}.json"))
}

pub fn load(root: &Path, topic: &str, partition: i32) -> io::Result<Manifest> {
    match std::fs::read(manifest_path(root, topic, partition)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(io::Error::other),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Manifest::default()),
        Err(error) => Err(error),
    }
}

/// Every partition's manifest in the lake (none yet: empty).
pub fn load_all(root: &Path) -> io::Result<Vec<Manifest>> {
    let entries = match std::fs::read_dir(root.join(MANIFEST_DIR)) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut manifests = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let is_manifest = path.extension().is_some_and(|e| e == "json")
            && !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if is_manifest {
            let bytes = std::fs::read(&path)?;
            manifests.push(serde_json::from_slice(&bytes).map_err(io::Error::other)?);
        }
    }
    Ok(manifests)
}

/// Saves atomically: a reader sees the old manifest or the new one, never a torn one.
pub fn save(root: &Path, topic: &str, partition: i32, manifest: &Manifest) -> io::Result<()> {
    let path = manifest_path(root, topic, partition);
    std::fs::create_dir_all(path.parent().unwrap_or(root))?;
    write_atomically(
        &path,
        &serde_json::to_vec(manifest).map_err(io::Error::other)?,
    )
}

/// Writes `bytes` beside `path`, syncs, and renames over it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let temporary = temporary_path(path);
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

/// A hidden `.tmp` name in the same directory (ignored by readers of `*.parquet`).
pub fn temporary_path(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    path.with_file_name(format!(".{name}.tmp"))
}

/// Deletes files of `topic`/`partition` that no manifest names (a crash left them) and
/// temporary files, under the table directories of `root`. Returns how many were removed.
pub fn remove_orphans(
    root: &Path,
    tables: &[&str],
    topic: &str,
    partition: i32,
    manifest: &Manifest,
) -> io::Result<usize> {
    let prefix = file_prefix(topic, partition);
    let mut removed = 0;
    for table in tables {
        let mut stack = vec![root.join(table)];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let relative = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                let orphan = name.starts_with(&prefix) && !manifest.knows(&relative);
                let leftover = name.starts_with(&format!(".{prefix}")) && name.ends_with(".tmp");
                if orphan || leftover {
                    std::fs::remove_file(&path)?;
                    removed += 1;
                }
            }
        }
    }
    Ok(removed)
}

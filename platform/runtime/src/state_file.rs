//! The redb files that hold a component's state (ingest's ledger, the traceback and credit
//! state), opened so that a commit's pages reach the disk a little at a time; and the table in
//! which a stage keeps its source positions there ([`POSITIONS`]).
//!
//! redb writes a commit's pages into the page cache and then syncs the file, so the disk gets
//! them in one burst of megabytes at the sync; every sync of the embedded broker's log in the
//! meantime (each acknowledgement waits for one) waits behind that burst (BENCHMARKS.md,
//! "What the single POST's tail is made of"). Here every `PACE_BYTES` written are sent to the
//! disk, and waited for, before the commit writes more.

use crate::stage::Delivered;
use redb::backends::FileBackend;
use redb::{
    BackendError, Builder, Database, DatabaseError, ReadableDatabase, ReadableTable,
    StorageBackend, TableDefinition,
};
use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How much a commit writes before it sends what it wrote to the disk and waits for it. Measured
/// (BENCHMARKS.md, "What the single POST's tail is made of"): 128 KiB took a single POST's p99
/// from 23.1 to 16.6 ms and the log's write-outs' from 21.5 ms to under 10 (9.0 ms read with
/// finer buckets since); 512 KiB about half that.
const PACE_BYTES: usize = 128 << 10;

/// Opens (or creates) the redb file at `path`, with a page cache of `cache_bytes` when given.
///
/// # Errors
/// When the file cannot be opened or is not a redb file.
pub fn open(path: &Path, cache_bytes: Option<usize>) -> Result<Database, DatabaseError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let mut builder = Builder::new();
    if let Some(bytes) = cache_bytes {
        builder.set_cache_size(bytes);
    }
    let pace = file.try_clone()?;
    builder.create_with_backend(Paced {
        inner: FileBackend::new(file)?,
        file: pace,
        unsent: AtomicUsize::new(0),
    })
}

/// Where a stage whose state is in a redb file stands in each source partition: `topic \0
/// partition` ([`position_key`]) → the next offset it has not applied. The stage writes it in
/// the transaction that applies the records, so state and positions always agree after a crash;
/// [`crate::Stage::resume_at`] reads it ([`position`]).
pub const POSITIONS: TableDefinition<&str, i64> = TableDefinition::new("offsets");

/// The key of `topic`/`partition` in [`POSITIONS`].
pub fn position_key(topic: &str, partition: i32) -> String {
    format!("{topic}\0{partition}")
}

/// The next offset of `topic`/`partition` not applied (0 when never seen).
///
/// # Errors
/// When the file cannot be read.
pub fn position(db: &Database, topic: &str, partition: i32) -> Result<i64, redb::Error> {
    let txn = db.begin_read()?;
    let positions = match txn.open_table(POSITIONS) {
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        opened => opened?,
    };
    Ok(positions
        .get(position_key(topic, partition).as_str())?
        .map_or(0, |v| v.value()))
}

/// Moves the positions past `records`, which the stage passes without applying them
/// ([`crate::Stage::passed`]), in one transaction; a position never moves back.
///
/// # Errors
/// When the file cannot be written.
pub fn pass(db: &Database, records: &[Delivered]) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    {
        let mut positions = txn.open_table(POSITIONS)?;
        for record in records {
            let key = position_key(&record.topic, record.partition);
            let next = positions.get(key.as_str())?.map_or(0, |v| v.value());
            if record.offset >= next {
                positions.insert(key.as_str(), record.offset + 1)?;
            }
        }
    }
    txn.commit()?;
    Ok(())
}

/// A file backend that sends its writes to the disk every `PACE_BYTES`.
#[derive(Debug)]
struct Paced {
    inner: FileBackend,
    /// The same open file, for `sync_file_range`.
    file: File,
    /// Bytes written since the last send.
    unsent: AtomicUsize,
}

impl Paced {
    /// Starts write-back of every dirty page of the file and waits until it is done (no cache
    /// flush: durability is still `sync_data`'s).
    #[allow(unsafe_code)] // sync_file_range has no wrapper in the standard library
    fn send(&self) -> Result<(), io::Error> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
                | libc::SYNC_FILE_RANGE_WRITE
                | libc::SYNC_FILE_RANGE_WAIT_AFTER;
            // SAFETY: the descriptor is open for as long as `self`; no memory is passed.
            if unsafe { libc::sync_file_range(self.file.as_raw_fd(), 0, 0, flags) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

impl StorageBackend for Paced {
    fn len(&self) -> Result<u64, io::Error> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        self.unsent.store(0, Ordering::Relaxed);
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.inner.write(offset, data)?;
        let unsent = self.unsent.fetch_add(data.len(), Ordering::Relaxed) + data.len();
        if unsent >= PACE_BYTES {
            self.unsent.store(0, Ordering::Relaxed);
            self.send()?;
        }
        Ok(())
    }

    fn close(&self) -> Result<(), io::Error> {
        self.inner.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::ReadableTableMetadata;

    const TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("t");

    #[test]
    fn commits_larger_than_a_pace_are_read_back_after_reopening()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("state.redb");
        let value = |key: u64| vec![u8::try_from(key % 251).unwrap_or(0); 3000];
        {
            let db = open(&path, Some(1 << 20))?;
            // Each commit writes several paces' worth of pages.
            for commit in 0..4u64 {
                let txn = db.begin_write()?;
                {
                    let mut table = txn.open_table(TABLE)?;
                    for key in commit * 1000..(commit + 1) * 1000 {
                        table.insert(key, value(key).as_slice())?;
                    }
                }
                txn.commit()?;
            }
        }
        let db = open(&path, None)?;
        let txn = db.begin_read()?;
        let table = txn.open_table(TABLE)?;
        assert_eq!(table.len()?, 4000);
        for key in [0, 999, 1_000, 2_345, 3_999] {
            let got = table.get(key)?.map(|v| v.value().to_vec());
            assert_eq!(got, Some(value(key)), "key {key}");
        }
        Ok(())
    }

    #[test]
    fn a_state_file_open_elsewhere_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("state.redb");
        let _first = open(&path, None)?;
        match open(&path, None) {
            Err(DatabaseError::DatabaseAlreadyOpen) => Ok(()),
            Err(other) => Err(format!("refused, but for another reason: {other}").into()),
            Ok(_) => Err("a second writer opened the same state file".into()),
        }
    }

    #[test]
    fn passed_records_move_a_position_forward_never_back() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let db = open(&dir.path().join("state.redb"), None)?;
        assert_eq!(position(&db, "t", 0)?, 0, "never seen");
        let at = |partition, offset| Delivered {
            topic: "t".into(),
            partition,
            offset,
            key: None,
            payload: Vec::new(),
            headers: Vec::new(),
        };
        pass(&db, &[at(0, 4), at(1, 2)])?;
        pass(&db, &[at(0, 1)])?;
        assert_eq!(position(&db, "t", 0)?, 5);
        assert_eq!(position(&db, "t", 1)?, 3);
        assert_eq!(position(&db, "u", 0)?, 0);
        Ok(())
    }
}

//! Writing one Parquet file so that it is never seen half-written.

use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::path::Path;

/// Writes `batch` to the hidden temporary file of `path` and syncs it. The file becomes visible
/// when [`publish`] renames it, after the manifest that names it is saved.
pub fn write_parquet(path: &Path, batch: &RecordBatch) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = crate::manifest::temporary_path(path);
    let file = std::fs::File::create(&temporary)?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties))
        .map_err(std::io::Error::other)?;
    writer.write(batch).map_err(std::io::Error::other)?;
    let file = writer.into_inner().map_err(std::io::Error::other)?;
    file.sync_all()
}

/// Makes a written file visible to readers (idempotent: done already is fine).
pub fn publish(path: &Path) -> std::io::Result<()> {
    let temporary = crate::manifest::temporary_path(path);
    match std::fs::rename(&temporary, path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && path.exists() => Ok(()),
        other => other,
    }
}

//! Keeping the tables in a few large files: delta-rs's optimize (bin-packing; Z-order of the
//! result tables on the columns the views filter and group by), vacuum (files no version within
//! the retention needs, and files a killed writer left outside any commit), and checkpoints of
//! the log (delta-rs writes one every `delta.checkpointInterval` commits).
//!
//! It runs beside the writer, never inside a commit of it: optimize only rewrites files (its
//! commit changes no data), so appends and optimize commit concurrently and delta-rs rebases
//! whichever comes second. Several writers may each run it; a losing optimize is logged and
//! tried again next round.

use crate::delta::{self, LakeLocation};
use crate::tables::{RESULT_ITEMS, RESULTS};
use deltalake::DeltaTable;
use deltalake::operations::optimize::OptimizeType;
use deltalake::operations::vacuum::VacuumMode;
use std::num::NonZeroU64;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How often and how the tables are maintained (`[lake]` in the configuration).
#[derive(Debug, Clone, Copy)]
pub struct MaintainSettings {
    /// Between two rounds of bin-packing and vacuum.
    pub every: Duration,
    /// Between two Z-orders of the result tables (they rewrite the whole table).
    pub zorder_every: Duration,
    /// Files optimize aims at.
    pub target_file_bytes: u64,
    /// The frequent rounds merge only files up to this size (the writer's flushes and their
    /// merges); larger files wait for the hourly round, which merges up to `target_file_bytes`.
    /// Otherwise each round rewrites the whole table while it is under the target, and vacuum
    /// keeps every copy for the retention (BENCHMARKS.md, steady ingest).
    pub small_file_bytes: u64,
    /// Files no longer in the table are kept this long, so queries that started on an older
    /// version (and `as_of` queries within it) still find them.
    pub retention: Duration,
}

impl Default for MaintainSettings {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(60),
            zorder_every: Duration::from_secs(3600),
            target_file_bytes: 128 * 1024 * 1024,
            small_file_bytes: 8 * 1024 * 1024,
            retention: Duration::from_secs(24 * 3600),
        }
    }
}

/// What one round did to one table.
#[derive(Debug, Clone, Default)]
pub struct Maintained {
    pub table: &'static str,
    pub files_removed: u64,
    pub files_added: u64,
    pub files_vacuumed: usize,
}

/// The columns the result tables are Z-ordered by: the views filter by category and group by
/// quarter (of the sampling date).
fn zorder_columns(table: &str) -> Option<Vec<String>> {
    match table {
        RESULTS | RESULT_ITEMS => Some(vec!["category".into(), "sampling_date".into()]),
        _ => None,
    }
}

/// One round over every table, then vacuum: a frequent round bin-packs the files up to
/// `small_file_bytes`; the hourly one (`zorder`) Z-orders the result tables and bin-packs the
/// others up to `target_file_bytes`.
pub async fn maintain_once(
    location: &LakeLocation,
    settings: MaintainSettings,
    zorder: bool,
) -> Result<Vec<Maintained>, delta::LakeError> {
    let mut done = Vec::new();
    for name in delta::table_names() {
        let table = delta::open_or_create(location, name).await?;
        done.push(maintain_table(table, name, settings, zorder).await?);
    }
    Ok(done)
}

async fn maintain_table(
    table: DeltaTable,
    name: &'static str,
    settings: MaintainSettings,
    zorder: bool,
) -> Result<Maintained, delta::LakeError> {
    let error = |e| delta::LakeError::Delta {
        table: name.to_owned(),
        source: e,
    };
    let mut maintained = Maintained {
        table: name,
        ..Maintained::default()
    };
    let (kind, target) = match (zorder, zorder_columns(name)) {
        (true, Some(columns)) => (OptimizeType::ZOrder(columns), settings.target_file_bytes),
        (true, None) => (OptimizeType::Compact, settings.target_file_bytes),
        (false, _) => (
            OptimizeType::Compact,
            settings.small_file_bytes.min(settings.target_file_bytes),
        ),
    };
    let target = NonZeroU64::new(target.max(1)).unwrap_or(NonZeroU64::MIN);
    let (table, metrics) = table
        .optimize()
        .with_type(kind)
        .with_target_size(target)
        .with_writer_properties(delta::writer_properties())
        .await
        .map_err(error)?;
    maintained.files_removed = metrics.num_files_removed;
    maintained.files_added = metrics.num_files_added;
    let retention = chrono::Duration::from_std(settings.retention).unwrap_or(chrono::Duration::MAX);
    let (_, vacuumed) = table
        .vacuum()
        .with_retention_period(retention)
        // Shorter than Delta's 7-day default is the operator's choice (see `[lake]`).
        .with_enforce_retention_duration(false)
        .with_mode(VacuumMode::Full)
        .await
        .map_err(error)?;
    maintained.files_vacuumed = vacuumed.files_deleted.len();
    Ok(maintained)
}

/// Maintains the lake every `settings.every` until `shutdown`; failures are logged (the lake is
/// correct without maintenance, only slower) and tried again next round.
pub async fn run_maintenance(
    location: LakeLocation,
    settings: MaintainSettings,
    shutdown: CancellationToken,
) {
    let mut last_zorder: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(settings.every) => {}
        }
        let zorder = last_zorder.is_none_or(|at| at.elapsed() >= settings.zorder_every);
        match maintain_once(&location, settings, zorder).await {
            Ok(done) => {
                if zorder {
                    last_zorder = Some(Instant::now());
                }
                for table in done
                    .iter()
                    .filter(|t| t.files_removed + t.files_vacuumed as u64 > 0)
                {
                    tracing::info!(
                        table = table.table,
                        merged = table.files_removed,
                        into = table.files_added,
                        vacuumed = table.files_vacuumed,
                        zorder,
                        "lake table maintained"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "lake maintenance failed; trying again later"),
        }
    }
}

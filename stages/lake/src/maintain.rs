//! Keeping the tables in a few large files: delta-rs's optimize (bin-packing; Z-order of the
//! result tables on the columns the views filter and group by), vacuum (files no version within
//! the retention needs, and files a killed writer left outside any commit), and checkpoints of
//! the log (delta-rs writes one every `delta.checkpointInterval` commits).
//!
//! Three kinds of round ([`Round`]): a quick one after every few commits of the writer merges its
//! newest small files (so a query between two minute rounds reads a few files, not one per
//! flush); the minute's round merges the small files and their merges and vacuums; the hourly
//! one Z-orders the result tables and merges the rest up to the target size.
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
use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
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
    /// A quick round after this many commits of the writer (0: none): at 200 results/s the
    /// writer commits every 2–3 s, and a query read one file per commit until the minute's round.
    pub quick_after_commits: u64,
    /// The quick rounds merge only files up to this size (a few minutes of a busy writer's
    /// flushes), so each rewrites little; the minute's rounds take it from there.
    pub quick_file_bytes: u64,
}

impl Default for MaintainSettings {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(60),
            zorder_every: Duration::from_secs(3600),
            target_file_bytes: 128 * 1024 * 1024,
            small_file_bytes: 8 * 1024 * 1024,
            retention: Duration::from_secs(24 * 3600),
            quick_after_commits: 8,
            quick_file_bytes: 1024 * 1024,
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

/// What a round does to every table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// Bin-packs the files up to `quick_file_bytes`; no vacuum.
    Quick,
    /// Bin-packs the files up to `small_file_bytes`, then vacuums.
    Frequent,
    /// Z-orders the result tables, bin-packs the others up to `target_file_bytes`, then vacuums.
    Hourly,
}

/// One round over every table: a frequent round bin-packs the files up to `small_file_bytes`;
/// the hourly one (`zorder`) Z-orders the result tables and bin-packs the others up to
/// `target_file_bytes`. Both vacuum.
pub async fn maintain_once(
    location: &LakeLocation,
    settings: MaintainSettings,
    zorder: bool,
) -> Result<Vec<Maintained>, delta::LakeError> {
    let round = if zorder {
        Round::Hourly
    } else {
        Round::Frequent
    };
    Maintainer::new(location.clone(), settings)
        .round(round)
        .await
}

/// The tables kept open between rounds (each round reads only the log's new commits).
pub struct Maintainer {
    location: LakeLocation,
    settings: MaintainSettings,
    tables: BTreeMap<&'static str, DeltaTable>,
}

impl Maintainer {
    pub fn new(location: LakeLocation, settings: MaintainSettings) -> Self {
        Self {
            location,
            settings,
            tables: BTreeMap::new(),
        }
    }

    /// One round over every table. A table whose round failed is opened afresh next time.
    pub async fn round(&mut self, round: Round) -> Result<Vec<Maintained>, delta::LakeError> {
        let mut done = Vec::new();
        for name in delta::table_names() {
            let table = match self.tables.remove(name) {
                Some(mut table) => {
                    table
                        .update_incremental(None)
                        .await
                        .map_err(|e| delta::LakeError::delta(name, e))?;
                    table
                }
                None => delta::open_or_create(&self.location, name).await?,
            };
            let (table, maintained) = maintain_table(table, name, self.settings, round).await?;
            self.tables.insert(name, table);
            done.push(maintained);
        }
        Ok(done)
    }
}

async fn maintain_table(
    table: DeltaTable,
    name: &'static str,
    settings: MaintainSettings,
    round: Round,
) -> Result<(DeltaTable, Maintained), delta::LakeError> {
    let error = |e| delta::LakeError::Delta {
        table: name.to_owned(),
        source: e,
    };
    let mut maintained = Maintained {
        table: name,
        ..Maintained::default()
    };
    let small = settings.small_file_bytes.min(settings.target_file_bytes);
    let (kind, target) = match (round, zorder_columns(name)) {
        (Round::Hourly, Some(columns)) => {
            (OptimizeType::ZOrder(columns), settings.target_file_bytes)
        }
        (Round::Hourly, None) => (OptimizeType::Compact, settings.target_file_bytes),
        (Round::Frequent, _) => (OptimizeType::Compact, small),
        (Round::Quick, _) => (OptimizeType::Compact, settings.quick_file_bytes.min(small)),
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
    if round == Round::Quick {
        return Ok((table, maintained));
    }
    let retention = chrono::Duration::from_std(settings.retention).unwrap_or(chrono::Duration::MAX);
    let (table, vacuumed) = table
        .vacuum()
        .with_retention_period(retention)
        // Shorter than Delta's 7-day default is the operator's choice (see `[lake]`).
        .with_enforce_retention_duration(false)
        .with_mode(VacuumMode::Full)
        .await
        .map_err(error)?;
    maintained.files_vacuumed = vacuumed.files_deleted.len();
    Ok((table, maintained))
}

/// Resolves when the writer's commit count reaches `target`; never without a count to watch.
async fn commits_reach(commits: &mut Option<watch::Receiver<u64>>, target: u64) -> u64 {
    if let Some(receiver) = commits
        && let Ok(count) = receiver.wait_for(|n| *n >= target).await
    {
        return *count;
    }
    // No writer to watch (or it stopped): only the timed rounds are left.
    std::future::pending().await
}

/// Maintains the lake every `settings.every` until `shutdown`, and after every
/// `settings.quick_after_commits` commits of the writer `commits` counts (a quick round);
/// failures are logged (the lake is correct without maintenance, only slower) and tried again
/// next round.
pub async fn run_maintenance(
    location: LakeLocation,
    settings: MaintainSettings,
    mut commits: Option<watch::Receiver<u64>>,
    shutdown: CancellationToken,
) {
    if settings.quick_after_commits == 0 {
        commits = None;
    }
    let mut maintainer = Maintainer::new(location, settings);
    let mut last_zorder: Option<Instant> = None;
    let mut next_round = Instant::now() + settings.every;
    let mut counted = commits.as_ref().map_or(0, |c| *c.borrow());
    loop {
        let round = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(next_round) => {
                if last_zorder.is_none_or(|at| at.elapsed() >= settings.zorder_every) {
                    Round::Hourly
                } else {
                    Round::Frequent
                }
            }
            count = commits_reach(&mut commits, counted + settings.quick_after_commits) => {
                counted = count;
                Round::Quick
            }
        };
        if round != Round::Quick {
            next_round = Instant::now() + settings.every;
            counted = commits.as_ref().map_or(counted, |c| *c.borrow());
        }
        match maintainer.round(round).await {
            Ok(done) => {
                if round == Round::Hourly {
                    last_zorder = Some(Instant::now());
                }
                for table in done
                    .iter()
                    .filter(|t| t.files_removed + t.files_vacuumed as u64 > 0)
                {
                    if round == Round::Quick {
                        tracing::debug!(
                            table = table.table,
                            merged = table.files_removed,
                            into = table.files_added,
                            "lake table's newest files merged"
                        );
                    } else {
                        tracing::info!(
                            table = table.table,
                            merged = table.files_removed,
                            into = table.files_added,
                            vacuumed = table.files_vacuumed,
                            zorder = round == Round::Hourly,
                            "lake table maintained"
                        );
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "lake maintenance failed; trying again later"),
        }
    }
}

//! The lake's tables as Delta Lake tables (delta-rs), one per table under the lake root: a
//! local directory (`DATA_DIR/lake/<table>/`) or an object store (`s3://bucket/prefix/<table>/`).
//!
//! Every append commits its files together with one `txn` action per source partition the
//! writer owns (app id `<table>+<topic>+<partition>`, version = the next offset to write), so
//! the Delta commit is the exactly-once point: a record below its partition's version is in the
//! table already. Because every commit of a writer names all the partitions it owns, a commit of
//! another writer on one of them in between (it took the partition over) is a conflict in
//! delta-rs's commit check, and this writer's commit fails instead of duplicating rows.

use crate::entities;
use crate::tables::{self, RESULT_ITEMS, RESULTS};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::{
    CommitBuilder, CommitConflictError, CommitProperties, TransactionError,
};
use deltalake::kernel::{Action, StructField, StructType, Transaction};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use std::collections::HashMap;
use std::path::Path;
use url::Url;

/// Every table of the lake, in the order SQL lists them.
pub fn table_names() -> Vec<&'static str> {
    let mut names = vec![RESULTS, RESULT_ITEMS];
    names.extend(entities::TABLES.iter().copied());
    names
}

/// The Arrow schema of a lake table.
pub fn schema_of(table: &str) -> Option<SchemaRef> {
    match table {
        RESULTS => Some(tables::results_schema()),
        RESULT_ITEMS => Some(tables::result_items_schema()),
        other => entities::schema(other),
    }
}

/// The topics whose records land in `table`.
pub fn sources_of(table: &str) -> &'static [&'static str] {
    use spotcheck_schemas::topics;
    match table {
        RESULTS | RESULT_ITEMS => &[topics::RESULTS],
        entities::SHIPMENTS => &[topics::SHIPMENTS],
        entities::UNIT_VERSIONS => &[topics::UNITS],
        entities::DISPOSITIONS => &[topics::DISPOSITIONS],
        entities::CASE_REVISIONS
        | entities::CASE_UNIT_REVISIONS
        | entities::CASE_SUBJECT_REVISIONS => &[topics::CASES],
        entities::DISCLOSURES => &[topics::CREDIT],
        entities::INSPECTIONS => &[topics::INSPECTIONS],
        _ => &[],
    }
}

/// The app id of a table's `txn` action for one source partition.
pub fn app_id(table: &str, topic: &str, partition: i32) -> String {
    format!("{table}+{topic}+{partition}")
}

/// Where the lake is: a local directory or an object-store URL (`s3://bucket/prefix`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeLocation {
    /// The root, ending in `/`.
    root: Url,
}

impl LakeLocation {
    /// A local directory (created if missing) or a URL with a scheme (`s3://…`, `file://…`).
    pub fn parse(text: &str) -> Result<Self, LakeError> {
        let root = match Url::parse(text) {
            Ok(url) if url.scheme().len() > 1 => url,
            // Not a URL, or a Windows drive letter: a path.
            _ => return Self::local(Path::new(text)),
        };
        if root.scheme() == "file" {
            let path = root
                .to_file_path()
                .map_err(|()| LakeError::Location(format!("{text} is not a local path")))?;
            return Self::local(&path);
        }
        Ok(Self::from_url(root))
    }

    /// A local directory, created if missing.
    pub fn local(dir: &Path) -> Result<Self, LakeError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| LakeError::Location(format!("cannot create {}: {e}", dir.display())))?;
        let absolute = std::fs::canonicalize(dir)
            .map_err(|e| LakeError::Location(format!("{}: {e}", dir.display())))?;
        let root = Url::from_directory_path(&absolute).map_err(|()| {
            LakeError::Location(format!("{} is not an absolute path", absolute.display()))
        })?;
        Ok(Self { root })
    }

    fn from_url(mut root: Url) -> Self {
        if !root.path().ends_with('/') {
            let path = format!("{}/", root.path());
            root.set_path(&path);
        }
        Self { root }
    }

    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The local directory, if the lake is on this machine.
    pub fn local_dir(&self) -> Option<std::path::PathBuf> {
        (self.root.scheme() == "file")
            .then(|| self.root.to_file_path().ok())
            .flatten()
    }

    /// The URL of one table (a directory, ending in `/`).
    pub fn table_url(&self, table: &str) -> Result<Url, LakeError> {
        self.root
            .join(&format!("{table}/"))
            .map_err(|e| LakeError::Location(format!("{table}: {e}")))
    }
}

impl std::fmt::Display for LakeLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.local_dir() {
            Some(dir) => write!(f, "{}", dir.display()),
            None => write!(f, "{}", self.root),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("lake location: {0}")]
    Location(String),
    #[error("lake table {table}: {source}")]
    Delta {
        table: String,
        #[source]
        source: DeltaTableError,
    },
    /// Another writer committed a partition this one believed it owned.
    #[error("{0}")]
    Lost(String),
}

impl LakeError {
    pub(crate) fn delta(table: &str, source: DeltaTableError) -> Self {
        Self::Delta {
            table: table.to_owned(),
            source,
        }
    }
}

/// Registers the object stores delta-rs does not know by default (S3), once per process.
pub fn register_object_stores() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| deltalake::aws::register_handlers(None));
}

/// Opens a table, creating it with its schema if there is none yet.
pub async fn open_or_create(location: &LakeLocation, table: &str) -> Result<DeltaTable, LakeError> {
    register_object_stores();
    let url = location.table_url(table)?;
    let unloaded = DeltaTableBuilder::from_url(url.clone())
        .map_err(|e| LakeError::delta(table, e))?
        .build()
        .map_err(|e| LakeError::delta(table, e))?;
    if unloaded
        .verify_deltatable_existence()
        .await
        .map_err(|e| LakeError::delta(table, e))?
    {
        let loaded = load(url.clone(), table).await?;
        return evolve(loaded, url, table).await;
    }
    let schema = schema_of(table)
        .ok_or_else(|| LakeError::Location(format!("no lake table named {table}")))?;
    let structure: StructType = schema
        .as_ref()
        .try_into_kernel()
        .map_err(|e| LakeError::delta(table, DeltaTableError::from(e)))?;
    let created = deltalake::operations::create::CreateBuilder::new()
        .with_location(url.as_str())
        .with_table_name(table)
        .with_columns(structure.fields().cloned())
        .with_save_mode(SaveMode::Ignore)
        .with_configuration_property(deltalake::TableProperty::CheckpointInterval, Some("20"))
        // Another writer (a task of this process, or another process) may create it at the same
        // moment. Without retries the loser's commit fails, and it opens the winner's table;
        // with them, delta-rs would commit the loser's CREATE TABLE again as version 1.
        .with_commit_properties(CommitProperties::default().with_max_retries(0))
        .await;
    match created {
        Ok(table) => Ok(table),
        Err(
            DeltaTableError::VersionAlreadyExists(_)
            | DeltaTableError::Transaction {
                source: TransactionError::MaxCommitAttempts(_),
            },
        ) => load(url, table).await,
        Err(error) => Err(LakeError::delta(table, error)),
    }
}

/// Adds the columns the code's schema has and the table does not yet (a table made by an
/// earlier release): nullable, at the end, as Delta adds columns; files written before read them
/// as null. The tasks of one process (the writer, the maintainer, the SQL session open every
/// table at start) add them one at a time: the next finds them there, rather than losing a
/// commit race delta-rs logs as an error. Two processes may still race: the loser finds the
/// columns there.
async fn evolve(loaded: DeltaTable, url: Url, table: &str) -> Result<DeltaTable, LakeError> {
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let Some(wanted) = schema_of(table) else {
        return Ok(loaded);
    };
    let missing = |current: &DeltaTable| -> Result<Vec<StructField>, LakeError> {
        let snapshot = current.snapshot().map_err(|e| LakeError::delta(table, e))?;
        let have = snapshot.schema();
        let wanted: StructType = wanted
            .as_ref()
            .try_into_kernel()
            .map_err(|e| LakeError::delta(table, DeltaTableError::from(e)))?;
        Ok(wanted
            .fields()
            .filter(|field| have.field(field.name()).is_none())
            .cloned()
            .collect())
    };
    if missing(&loaded)?.is_empty() {
        return Ok(loaded);
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    // Another task may have added them while this one waited.
    let loaded = load(url.clone(), table).await?;
    let fields = missing(&loaded)?;
    if fields.is_empty() {
        return Ok(loaded);
    }
    let names: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
    match loaded.add_columns().with_fields(fields).await {
        Ok(evolved) => {
            tracing::info!(table, columns = ?names, "lake table gained columns");
            Ok(evolved)
        }
        Err(error) => {
            let again = load(url, table).await?;
            if missing(&again)?.is_empty() {
                Ok(again)
            } else {
                Err(LakeError::delta(table, error))
            }
        }
    }
}

async fn load(url: Url, table: &str) -> Result<DeltaTable, LakeError> {
    DeltaTableBuilder::from_url(url)
        .map_err(|e| LakeError::delta(table, e))?
        .load()
        .await
        .map_err(|e| LakeError::delta(table, e))
}

/// How the lake's Parquet files are written: zstd level 3 (its compression is ~2% of the
/// writer's CPU in a profile), row groups of 128 Ki rows (a file of 1M results as one row group
/// was read by one thread; DataFusion splits a scan by row groups), no dictionary for the columns
/// unique per row (building one and throwing it away cost time for nothing).
pub fn writer_properties() -> WriterProperties {
    let mut properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_max_row_group_row_count(Some(128 * 1024));
    for unique in ["report_no", "record_id", "source_offset"] {
        properties = properties.set_column_dictionary_enabled(ColumnPath::from(unique), false);
    }
    properties.build()
}

/// One commit of [`append`].
#[derive(Debug, Clone, Copy)]
pub struct Appended {
    pub version: i64,
    pub files: u64,
    pub bytes: u64,
}

/// Appends `batches` to `table` in one commit, with a `txn` action per entry of `owned` (app id
/// → the next offset). `Ok(None)` if there was nothing to commit. A conflict with another
/// writer's commit on one of these app ids is [`LakeError::Lost`].
pub async fn append(
    table: &mut DeltaTable,
    name: &str,
    batches: Vec<RecordBatch>,
    owned: &HashMap<String, i64>,
) -> Result<Option<Appended>, LakeError> {
    let mut actions = Vec::new();
    let (mut files, mut bytes) = (0u64, 0u64);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows > 0 {
        let mut writer = RecordBatchWriter::for_table(table)
            .map_err(|e| LakeError::delta(name, e))?
            .with_writer_properties(writer_properties());
        for batch in batches {
            writer
                .write(batch)
                .await
                .map_err(|e| LakeError::delta(name, e))?;
        }
        let adds = writer
            .flush()
            .await
            .map_err(|e| LakeError::delta(name, e))?;
        files = adds.len() as u64;
        bytes = adds.iter().map(|a| a.size.max(0) as u64).sum();
        actions.extend(adds.into_iter().map(Action::Add));
    }
    if actions.is_empty() && owned.is_empty() {
        return Ok(None);
    }
    let transactions: Vec<Transaction> = owned
        .iter()
        .map(|(app_id, next)| Transaction::new(app_id, *next))
        .collect();
    let snapshot = table.snapshot().map_err(|e| LakeError::delta(name, e))?;
    let operation = DeltaOperation::Write {
        mode: SaveMode::Append,
        partition_by: None,
        predicate: None,
    };
    let committed = CommitBuilder::from(
        CommitProperties::default().with_application_transactions(transactions),
    )
    .with_actions(actions)
    .build(Some(snapshot), table.log_store(), operation)
    .await;
    match committed {
        Ok(finalized) => {
            let version = finalized.version();
            table.state = Some(finalized.snapshot());
            Ok(Some(Appended {
                version: version as i64,
                files,
                bytes,
            }))
        }
        Err(DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(CommitConflictError::ConcurrentTransaction),
        }) => Err(LakeError::Lost(format!(
            "another lake writer committed to {name} a source partition this writer owns; \
             stopping so that a restart resumes from the table's log"
        ))),
        Err(error) => Err(LakeError::delta(name, error)),
    }
}

/// The next offset `table` holds for `app_id` (its `txn` version), if any.
pub async fn committed_offset(table: &DeltaTable, app_id: &str) -> Result<Option<i64>, LakeError> {
    let snapshot = table.snapshot().map_err(|e| LakeError::delta(app_id, e))?;
    snapshot
        .transaction_version(table.log_store().as_ref(), app_id)
        .await
        .map_err(|e| LakeError::delta(app_id, e))
}

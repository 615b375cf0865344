//! The lake's Delta tables as SQL sees them.
//!
//! A long-running session answers every query from the newest committed version of each table:
//! [`LakeTable`] reads the log's new commits (if any) when a query is planned and hands the
//! scan to delta-rs's DataFusion provider for that version. A commit is the moment rows appear
//! for SQL, so a query never sees half a flush, and an optimize (which swaps many small files for
//! a large one in one commit) never makes a row count twice or go missing.
//!
//! `as_of` answers from the versions the tables had at a past moment ([`AsOf`]), and
//! `lake_history` lists every table's commits.

use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::{MemTable, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::object_store::ObjectStoreExt;
use datafusion::physical_plan::ExecutionPlan;
use deltalake::{DeltaTable, DeltaTableBuilder};
use futures::TryStreamExt;
use spotcheck_lake::LakeLocation;
use spotcheck_schemas::days;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Which versions of the tables a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsOf {
    /// One version number, of every table (useful for a lake with one table of interest).
    Version(u64),
    /// The versions committed at or before this moment (RFC 3339 or a date).
    Time(chrono::DateTime<chrono::Utc>),
}

impl AsOf {
    /// `"42"` (a version), `"2026-11-30"` (the end of that day in China, as every day of the
    /// law: `spotcheck_schemas::days`) or an RFC 3339 time.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let text = text.trim();
        if let Ok(version) = text.parse::<u64>() {
            return Ok(Self::Version(version));
        }
        if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
            return Ok(Self::Time(time.with_timezone(&chrono::Utc)));
        }
        if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            let end = day
                .and_hms_milli_opt(23, 59, 59, 999)
                .and_then(|end| end.and_local_timezone(days::CHINA).single())
                .ok_or_else(|| format!("{text} is not a day"))?;
            return Ok(Self::Time(end.with_timezone(&chrono::Utc)));
        }
        Err(format!(
            "as_of must be a table version (42), a date (2026-11-30) or an RFC 3339 time \
             (2026-11-30T08:00:00+08:00), not {text:?}"
        ))
    }
}

/// Opens one table of the lake as it stood `as_of` (the newest version if `None`).
pub async fn open_table(
    location: &LakeLocation,
    name: &str,
    as_of: Option<&AsOf>,
) -> std::result::Result<DeltaTable, String> {
    spotcheck_lake::delta::register_object_stores();
    let url = location.table_url(name).map_err(|e| e.to_string())?;
    let mut builder = DeltaTableBuilder::from_url(url).map_err(|e| e.to_string())?;
    match as_of {
        None => {}
        Some(AsOf::Version(version)) => builder = builder.with_version(*version),
        Some(AsOf::Time(time)) => builder = builder.with_timestamp(*time),
    }
    builder.load().await.map_err(|error| match as_of {
        Some(as_of) => format!("table {name} has no version as of {as_of:?}: {error}"),
        None => format!("table {name}: {error}"),
    })
}

/// A lake table as one query reads it: at its newest committed version (checked at every
/// query), or as it stood at a past moment or version ([`AsOf`]), resolved only when a query
/// reads the table, so a version number only has to exist in the tables the query names. Before
/// a table's first commit (a time before it existed) it is empty.
#[derive(Debug)]
pub struct LakeTable {
    /// The table's columns (they do not change between versions).
    schema: SchemaRef,
    read: Read,
}

#[derive(Debug)]
enum Read {
    Latest(Mutex<Current>),
    AsOf {
        location: LakeLocation,
        name: String,
        as_of: AsOf,
    },
}

#[derive(Debug)]
struct Current {
    table: DeltaTable,
    version: Option<u64>,
    provider: Arc<dyn TableProvider>,
}

impl LakeTable {
    /// The table at its newest version, at every query.
    pub async fn latest(table: DeltaTable) -> Result<Self> {
        let provider = table.table_provider().await?;
        Ok(Self {
            schema: provider.schema(),
            read: Read::Latest(Mutex::new(Current {
                version: table.version(),
                table,
                provider,
            })),
        })
    }

    /// The table `name` as it stood `as_of`; `schema` as its newest version has it.
    pub fn as_of(location: LakeLocation, name: &str, as_of: AsOf, schema: SchemaRef) -> Self {
        Self {
            schema,
            read: Read::AsOf {
                location,
                name: name.to_owned(),
                as_of,
            },
        }
    }

    /// Reads the log's new commits now (if any), so that the next query does not have to.
    /// Nothing to do for a table read as of a past moment.
    pub async fn catch_up(&self) -> Result<()> {
        if let Read::Latest(state) = &self.read {
            newest(state).await?;
        }
        Ok(())
    }

    /// The version the next query reads, if it reads the newest and no commit came since.
    pub async fn version(&self) -> Option<u64> {
        match &self.read {
            Read::Latest(state) => state.lock().await.version,
            Read::AsOf { .. } => None,
        }
    }

    /// delta-rs's provider of the version this query reads.
    async fn provider(&self) -> Result<Arc<dyn TableProvider>> {
        match &self.read {
            Read::Latest(state) => newest(state).await,
            Read::AsOf {
                location,
                name,
                as_of,
            } => match open_table(location, name, Some(as_of)).await {
                Ok(table) => table.table_provider().await,
                Err(_) if matches!(as_of, AsOf::Time(_)) => Ok(Arc::new(MemTable::try_new(
                    self.schema.clone(),
                    vec![vec![]],
                )?)),
                Err(message) => Err(DataFusionError::Plan(format!("as_of: {message}"))),
            },
        }
    }
}

/// The provider of the newest version (the log is read again only if it moved).
async fn newest(state: &Mutex<Current>) -> Result<Arc<dyn TableProvider>> {
    let mut current = state.lock().await;
    // One look for the next commit's file (a stat, or a HEAD on S3) instead of listing the log
    // directory, which grows by a file per commit.
    let next = current.version.map_or(0, |v| v + 1);
    let path = deltalake::Path::from(format!("_delta_log/{next:020}.json"));
    let store = current.table.log_store().object_store(None);
    if let Err(deltalake::ObjectStoreError::NotFound { .. }) = store.head(&path).await {
        return Ok(current.provider.clone());
    }
    current
        .table
        .update_incremental(None)
        .await
        .map_err(delta)?;
    if current.table.version() != current.version {
        current.provider = current.table.table_provider().await?;
        current.version = current.table.version();
    }
    Ok(current.provider.clone())
}

fn delta(error: deltalake::DeltaTableError) -> DataFusionError {
    DataFusionError::External(Box::new(error))
}

#[async_trait::async_trait]
impl TableProvider for LakeTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Used to skip files by their statistics; DataFusion still applies every filter.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.provider()
            .await?
            .scan(state, projection, filters, limit)
            .await
    }
}

/// The columns of `lake_history`.
pub fn history_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("table_name", DataType::Utf8, false),
        Field::new("version", DataType::Int64, false),
        Field::new(
            "committed_at",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        Field::new("operation", DataType::Utf8, true),
        Field::new("parameters_json", DataType::Utf8, true),
        Field::new("metrics_json", DataType::Utf8, true),
    ]))
}

/// `lake_history`: every commit of every table, newest first per table, read at each query.
#[derive(Debug)]
pub struct HistoryTable {
    location: LakeLocation,
}

impl HistoryTable {
    pub fn new(location: LakeLocation) -> Self {
        Self { location }
    }

    async fn rows(&self) -> Result<RecordBatch> {
        let (mut names, mut versions, mut times, mut operations, mut parameters, mut metrics) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for name in spotcheck_lake::delta::table_names() {
            let table = open_table(&self.location, name, None)
                .await
                .map_err(DataFusionError::Execution)?;
            let Some(newest) = table.version() else {
                continue;
            };
            let commits: Vec<_> = table.history(None).try_collect().await.map_err(delta)?;
            for (index, commit) in commits.into_iter().enumerate() {
                names.push(name.to_owned());
                versions.push(newest.saturating_sub(index as u64) as i64);
                times.push(commit.timestamp);
                operations.push(commit.operation);
                parameters.push(
                    commit
                        .operation_parameters
                        .map(|p| serde_json::to_string(&p).unwrap_or_default()),
                );
                metrics.push(commit.info.get("operationMetrics").map(ToString::to_string));
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(names)),
            Arc::new(Int64Array::from(versions)),
            Arc::new(TimestampMillisecondArray::from(times).with_timezone("UTC")),
            Arc::new(StringArray::from(operations)),
            Arc::new(StringArray::from(parameters)),
            Arc::new(StringArray::from(metrics)),
        ];
        Ok(RecordBatch::try_new(history_schema(), columns)?)
    }
}

#[async_trait::async_trait]
impl TableProvider for HistoryTable {
    fn schema(&self) -> SchemaRef {
        history_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batch = self.rows().await?;
        let table = MemTable::try_new(history_schema(), vec![vec![batch]])?;
        table.scan(state, projection, filters, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::AsOf;

    #[test]
    fn a_date_is_read_as_the_end_of_that_day_in_china() {
        let end = "2026-11-30T15:59:59.999Z".parse().map(AsOf::Time);
        assert_eq!(AsOf::parse("2026-11-30").ok(), end.ok());
    }
}

//! The DataFusion session over one lake: tables, trend views, limits.

use crate::answer::Answer;
use crate::error::QueryError;
use crate::guard::{self, QUERY_THREAD_STACK, StatementLimits};
use crate::visible::ManifestFiltered;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use spotcheck_lake::{entities, tables};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The trend views shipped with the product: (name, query), each from `views/<name>.sql`, in
/// dependency order.
pub const VIEWS: &[(&str, &str)] = &[
    (
        "results_by_quarter",
        include_str!("../views/results_by_quarter.sql"),
    ),
    (
        "failure_rate_by_category_quarter",
        include_str!("../views/failure_rate_by_category_quarter.sql"),
    ),
    (
        "failure_rate_by_district_quarter",
        include_str!("../views/failure_rate_by_district_quarter.sql"),
    ),
    (
        "failing_items_by_category",
        include_str!("../views/failing_items_by_category.sql"),
    ),
    (
        "producer_history",
        include_str!("../views/producer_history.sql"),
    ),
    (
        "sampled_unit_history",
        include_str!("../views/sampled_unit_history.sql"),
    ),
    ("lab_volume", include_str!("../views/lab_volume.sql")),
    ("units", include_str!("../views/units.sql")),
    ("cases", include_str!("../views/cases.sql")),
    ("case_units", include_str!("../views/case_units.sql")),
    ("case_subjects", include_str!("../views/case_subjects.sql")),
    (
        "identifications",
        include_str!("../views/identifications.sql"),
    ),
    (
        "listing_candidates",
        include_str!("../views/listing_candidates.sql"),
    ),
];

/// When a unit becomes a serious-dishonesty listing candidate (the `listing_candidates` view):
/// `failures` final failures within `months` months. Fills the view's `{failures}`, `{months}`.
#[derive(Debug, Clone, Copy)]
pub struct ListingRule {
    pub failures: u32,
    pub months: u32,
}

impl Default for ListingRule {
    fn default() -> Self {
        Self {
            failures: 2,
            months: 24,
        }
    }
}

/// What one query may use. The memory pool is shared by all queries of the session, so the
/// limit also bounds what concurrent analysts can take from the process together.
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    pub timeout: Duration,
    pub memory_bytes: usize,
    /// Most rows one answer may carry; past it the answer ends with [`QueryError::TooManyRows`].
    pub max_rows: u64,
    /// Size and nesting of the statement's text, checked before it is planned.
    pub statement: StatementLimits,
    /// Most bytes one call of a value-building function (`repeat`, `lpad`, `range`…) may build.
    pub max_built_bytes: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            memory_bytes: 2 * 1024 * 1024 * 1024,
            max_rows: 10_000_000,
            statement: StatementLimits::default(),
            max_built_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Memory for parsed Parquet footers, shared by every query of the session.
const FOOTER_CACHE_BYTES: usize = 512 * 1024 * 1024;
/// Memory for the per-file statistics the planner reads (row counts, min/max per column).
const STATISTICS_CACHE_BYTES: usize = 128 * 1024 * 1024;

/// A query's answer: the schema is kept even when there are no rows, so clients still learn the
/// columns.
pub struct Rows {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

/// A session over one lake.
pub struct Analytics {
    context: SessionContext,
    limits: QueryLimits,
    /// Queries run here, not on the caller's runtime: a CPU-bound plan that rarely yields would
    /// otherwise starve the caller's timers (so the time limit could not fire) and its I/O.
    /// Always `Some` until dropped.
    executor: Option<tokio::runtime::Runtime>,
}

impl Drop for Analytics {
    fn drop(&mut self) {
        // Queries still running are abandoned, not waited for (the process is going away, or
        // the session is); a blocking wait here would also panic inside async code.
        if let Some(executor) = self.executor.take() {
            executor.shutdown_background();
        }
    }
}

impl Analytics {
    /// Registers every table of the lake rooted at `root` (created if missing).
    pub async fn open(root: &Path, limits: QueryLimits) -> Result<Self, QueryError> {
        Self::open_with(root, limits, ListingRule::default()).await
    }

    /// As [`Analytics::open`], with the listing-candidate rule of the configuration.
    pub async fn open_with(
        root: &Path,
        limits: QueryLimits,
        listing: ListingRule,
    ) -> Result<Self, QueryError> {
        // DataFusion caches directory listings forever by default; the lake grows every few
        // seconds, so a long-running session must list again on every query.
        // Parsed footers and per-file statistics are kept between queries (DataFusion checks
        // each entry against its file's size and mtime). The lake has thousands of small files:
        // DataFusion's defaults (50 MiB, 20 MiB) hold fewer, so each query evicted what the next
        // one needed and every query parsed every footer again.
        let caches = CacheManagerConfig::default()
            .with_list_files_cache_limit(0)
            .with_metadata_cache_limit(FOOTER_CACHE_BYTES)
            .with_file_statistics_cache_limit(STATISTICS_CACHE_BYTES);
        let runtime = RuntimeEnvBuilder::new()
            .with_cache_manager(caches)
            .with_memory_limit(limits.memory_bytes, 1.0)
            .build_arc()
            .map_err(|e| lake_error(root, e))?;
        let config = SessionConfig::new().with_information_schema(true);
        let context = SessionContext::new_with_config_rt(config, runtime);
        // Under the lake, SQL sees only what the manifests name (see `visible`).
        let absolute = match root.is_absolute() {
            true => root.to_path_buf(),
            false => std::env::current_dir()
                .map_err(|e| lake_error(root, e))?
                .join(root),
        };
        let local = url::Url::parse("file://").map_err(|e| lake_error(root, e))?;
        context.register_object_store(&local, Arc::new(ManifestFiltered::new(absolute)));
        register_tables(&context, root).await?;
        // psql's \d, Grafana and DBeaver look the tables up in pg_catalog.
        setup_pg_catalog(&context, "datafusion", EmptyContextProvider)
            .map_err(|e| lake_error(root, e))?;
        for (name, sql) in VIEWS {
            let sql = sql
                .replace("{failures}", &listing.failures.to_string())
                .replace("{months}", &listing.months.to_string());
            let statement = format!("CREATE VIEW {name} AS {sql}");
            let frame = context
                .sql(&statement)
                .await
                .map_err(|e| lake_error(root, format!("view {name}: {e}")))?;
            frame
                .collect()
                .await
                .map_err(|e| lake_error(root, format!("view {name}: {e}")))?;
        }
        crate::bounded::register(&context, limits.max_built_bytes);
        let executor = tokio::runtime::Builder::new_multi_thread()
            .thread_name("sql")
            .thread_stack_size(QUERY_THREAD_STACK)
            .enable_all()
            .build()
            .map_err(|e| lake_error(root, format!("cannot start the query threads: {e}")))?;
        Ok(Self {
            context,
            limits,
            executor: Some(executor),
        })
    }

    /// Runs one read-only statement under the limits and collects its rows (at most
    /// `max_rows` of them: more is [`QueryError::TooManyRows`]).
    pub async fn query(&self, sql: &str) -> Result<Rows, QueryError> {
        self.stream(sql).await?.collect().await
    }

    /// Starts one read-only statement under the limits: its text is checked and it is planned
    /// on the query threads, and the answer comes as it is computed. Errors found before the
    /// first rows (invalid SQL, a refused statement, no memory) are returned here; later ones
    /// (the time limit, the row limit) end the answer's stream.
    pub async fn stream(&self, sql: &str) -> Result<Answer, QueryError> {
        // The size first, on the caller's thread: nothing has parsed the text yet.
        guard::check_size(sql, self.limits.statement)?;
        let limits = self.limits;
        let context = self.context.clone();
        let sql = sql.to_owned();
        let plan = async move {
            guard::check(&sql, limits.statement)?;
            let options = SQLOptions::new()
                .with_allow_ddl(false)
                .with_allow_dml(false)
                .with_allow_statements(false);
            let frame = context
                .sql_with_options(&sql, options)
                .await
                .map_err(|e| QueryError::from_datafusion(e, limits.memory_bytes))?;
            Ok(frame)
        };
        Answer::start(self.executor(), &self.context, plan, self.limits).await
    }

    /// The query threads: front ends that parse SQL themselves (the Postgres protocol) run
    /// their connections here, on stacks sized for the statement limits and away from the
    /// threads that take records.
    pub fn executor(&self) -> &tokio::runtime::Handle {
        self.executor
            .as_ref()
            .expect("the executor lives as long as self")
            .handle()
    }

    pub fn limits(&self) -> QueryLimits {
        self.limits
    }

    pub(crate) fn context(&self) -> &SessionContext {
        &self.context
    }
}

async fn register_tables(context: &SessionContext, root: &Path) -> Result<(), QueryError> {
    let partitions: Vec<(String, DataType)> = tables::RESULT_PARTITIONS
        .iter()
        .map(|c| ((*c).to_owned(), DataType::Utf8))
        .collect();
    for (name, schema) in [
        (tables::RESULTS, tables::results_schema()),
        (tables::RESULT_ITEMS, tables::result_items_schema()),
    ] {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| lake_error(root, e))?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(partitions.clone());
        let url = format!("{}/", dir.display());
        context
            .register_listing_table(name, &url, options, Some(schema), None)
            .await
            .map_err(|e| lake_error(root, e))?;
    }
    for (name, hive) in entities::TABLES {
        let schema = entities::schema(name).ok_or_else(|| lake_error(root, name))?;
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| lake_error(root, e))?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(
                hive.iter()
                    .map(|c| ((*c).to_owned(), DataType::Utf8))
                    .collect(),
            );
        let url = format!("{}/", dir.display());
        context
            .register_listing_table(*name, &url, options, Some(schema), None)
            .await
            .map_err(|e| lake_error(root, e))?;
    }
    Ok(())
}

fn lake_error(root: &Path, error: impl std::fmt::Display) -> QueryError {
    QueryError::Lake {
        path: root.display().to_string(),
        message: error.to_string(),
    }
}

//! The DataFusion session over one lake: tables, trend views, limits.

use crate::answer::Answer;
use crate::error::QueryError;
use crate::guard::{self, QUERY_THREAD_STACK, StatementLimits};
use crate::lake::{AsOf, HistoryTable, LakeTable};
use crate::lookups::LabNames;
use crate::plan::PlanRules;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::scalar::ScalarValue;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use spotcheck_lake::LakeLocation;
use spotcheck_lake::delta;
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
    ("organisers", include_str!("../views/organisers.sql")),
    (
        "standing_dispositions",
        include_str!("../views/standing_dispositions.sql"),
    ),
    ("cases", include_str!("../views/cases.sql")),
    ("case_units", include_str!("../views/case_units.sql")),
    ("case_subjects", include_str!("../views/case_subjects.sql")),
    ("denied_labels", include_str!("../views/denied_labels.sql")),
    (
        "identified_parties",
        include_str!("../views/identified_parties.sql"),
    ),
    (
        "standing_results",
        include_str!("../views/standing_results.sql"),
    ),
    (
        "standing_items",
        include_str!("../views/standing_items.sql"),
    ),
    (
        "identifications",
        include_str!("../views/identifications.sql"),
    ),
    (
        "listing_candidates",
        include_str!("../views/listing_candidates.sql"),
    ),
    ("warnings", include_str!("../views/warnings.sql")),
    ("archive", include_str!("../views/archive.sql")),
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
    location: LakeLocation,
    /// The tables as the newest version reads them (what [`Analytics::follow`] keeps current).
    latest: Vec<(&'static str, Arc<LakeTable>)>,
    listing: ListingRule,
    plan: PlanRules,
    labs: LabNames,
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
        let location = LakeLocation::local(root).map_err(|e| lake_error(&root.display(), e))?;
        Self::open_with(
            &location,
            limits,
            ListingRule::default(),
            PlanRules::default(),
            LabNames::default(),
        )
        .await
    }

    /// Every table of the lake at `location` (created if missing), with the listing-candidate
    /// rule, the licence requirements and the labs' names of the configuration.
    pub async fn open_with(
        location: &LakeLocation,
        limits: QueryLimits,
        listing: ListingRule,
        plan: PlanRules,
        labs: LabNames,
    ) -> Result<Self, QueryError> {
        // Parsed footers and per-file statistics are kept between queries (DataFusion checks
        // each entry against its file's size and mtime); which files a query reads comes from
        // the Delta log, not from listing directories.
        let caches = CacheManagerConfig::default()
            .with_list_files_cache_limit(0)
            .with_metadata_cache_limit(FOOTER_CACHE_BYTES)
            .with_file_statistics_cache_limit(STATISTICS_CACHE_BYTES);
        let runtime = RuntimeEnvBuilder::new()
            .with_cache_manager(caches)
            .with_memory_limit(limits.memory_bytes, 1.0)
            .build_arc()
            .map_err(|e| lake_error(location, e))?;
        let context = new_context(runtime);
        let mut tables = Vec::new();
        for name in delta::table_names() {
            let table = delta::open_or_create(location, name)
                .await
                .map_err(|e| lake_error(location, e))?;
            table
                .update_datafusion_session(&context.state())
                .map_err(|e| lake_error(location, e))?;
            let latest = Arc::new(
                LakeTable::latest(table)
                    .await
                    .map_err(|e| lake_error(location, format!("{name}: {e}")))?,
            );
            context
                .register_table(name, latest.clone())
                .map_err(|e| lake_error(location, e))?;
            tables.push((name, latest));
        }
        context
            .register_table(
                "lake_history",
                Arc::new(HistoryTable::new(location.clone())),
            )
            .map_err(|e| lake_error(location, e))?;
        // psql's \d, Grafana and DBeaver look the tables up in pg_catalog.
        setup_pg_catalog(&context, "datafusion", EmptyContextProvider)
            .map_err(|e| lake_error(location, e))?;
        register_views(&context, listing, &plan, &labs, limits)
            .await
            .map_err(|e| lake_error(location, e))?;
        let executor = tokio::runtime::Builder::new_multi_thread()
            .thread_name("sql")
            .thread_stack_size(QUERY_THREAD_STACK)
            .enable_all()
            .build()
            .map_err(|e| lake_error(location, format!("cannot start the query threads: {e}")))?;
        Ok(Self {
            context,
            location: location.clone(),
            latest: tables,
            listing,
            plan,
            labs,
            limits,
            executor: Some(executor),
        })
    }

    /// Reads the tables' new commits whenever `commits` changes (a lake writer in the same
    /// process signals each of its commits), so that a query does not wait for the log to be
    /// read: at 200 results/s the writer commits every few seconds, and the first query after a
    /// commit took 14–24 ms instead of 4–9 (BENCHMARKS.md, steady ingest). Queries still check
    /// for newer commits themselves, so a commit made elsewhere is never missed. The answer
    /// counts the signals caught up with.
    pub fn follow(
        &self,
        mut commits: tokio::sync::watch::Receiver<u64>,
    ) -> tokio::sync::watch::Receiver<u64> {
        let (caught_up, answer) = tokio::sync::watch::channel(0);
        let tables = self.latest.clone();
        self.executor().spawn(async move {
            while commits.changed().await.is_ok() {
                let signalled = *commits.borrow_and_update();
                for (name, table) in &tables {
                    if let Err(error) = table.catch_up().await {
                        tracing::debug!(table = name, %error, "cannot read the table's new commits yet");
                    }
                }
                caught_up.send_replace(signalled);
            }
        });
        answer
    }

    /// The version of `table` the next query reads (`None` before its first commit, or for a
    /// name that is not a lake table).
    pub async fn table_version(&self, table: &str) -> Option<u64> {
        let (_, latest) = self.latest.iter().find(|(name, _)| *name == table)?;
        latest.version().await
    }

    /// A session over the tables as they stood `as_of`: the same views and limits, sharing
    /// this session's memory pool. Each table is read at that moment only if a query reads it.
    async fn as_of(&self, as_of: &AsOf) -> Result<SessionContext, QueryError> {
        let context = new_context(self.context.runtime_env());
        for name in delta::table_names() {
            let schema = self
                .context
                .table_provider(name)
                .await
                .map_err(|e| QueryError::AsOf(e.to_string()))?
                .schema();
            let table = LakeTable::as_of(self.location.clone(), name, as_of.clone(), schema);
            context
                .register_table(name, Arc::new(table))
                .map_err(|e| QueryError::AsOf(e.to_string()))?;
        }
        register_views(&context, self.listing, &self.plan, &self.labs, self.limits)
            .await
            .map_err(|e| QueryError::AsOf(e.clone()))?;
        Ok(context)
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
        self.stream_as_of(sql, None).await
    }

    /// As [`Analytics::query`], with named parameters: each `$name` in `sql` is bound to the
    /// value `params` gives it. The product's own queries (pages, notices, archives) bind the
    /// values they look up this way; none is spliced into a statement's text.
    pub async fn query_with(&self, sql: &str, params: &[(&str, &str)]) -> Result<Rows, QueryError> {
        self.start(sql, None, params).await?.collect().await
    }

    /// As [`Analytics::stream`], over the tables as they stood `as_of` (newest if `None`).
    pub async fn stream_as_of(
        &self,
        sql: &str,
        as_of: Option<&AsOf>,
    ) -> Result<Answer, QueryError> {
        self.start(sql, as_of, &[]).await
    }

    async fn start(
        &self,
        sql: &str,
        as_of: Option<&AsOf>,
        params: &[(&str, &str)],
    ) -> Result<Answer, QueryError> {
        // The size first, on the caller's thread: nothing has parsed the text yet.
        guard::check_size(sql, self.limits.statement)?;
        let limits = self.limits;
        let context = match as_of {
            None => self.context.clone(),
            Some(as_of) => self.as_of(as_of).await?,
        };
        let sql = sql.to_owned();
        let params: Vec<(String, ScalarValue)> = params
            .iter()
            .map(|(name, value)| ((*name).to_owned(), ScalarValue::from(*value)))
            .collect();
        let plan = async move {
            guard::check(&sql, limits.statement)?;
            let options = SQLOptions::new()
                .with_allow_ddl(false)
                .with_allow_dml(false)
                .with_allow_statements(false);
            let mut frame = context
                .sql_with_options(&sql, options)
                .await
                .map_err(|e| QueryError::from_datafusion(e, limits.memory_bytes))?;
            if !params.is_empty() {
                frame = frame
                    .with_param_values(params)
                    .map_err(|e| QueryError::from_datafusion(e, limits.memory_bytes))?;
            }
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

    /// The name of the lab `lab_id` (承检机构), if the configuration gives one.
    pub fn lab_name(&self, lab_id: &str) -> Option<&str> {
        self.labs.name(lab_id)
    }

    pub(crate) fn context(&self) -> &SessionContext {
        &self.context
    }
}

pub(crate) fn new_context(runtime: Arc<RuntimeEnv>) -> SessionContext {
    let config = SessionConfig::new().with_information_schema(true);
    SessionContext::new_with_config_rt(config, runtime)
}

/// The trend views and the bounded value-building functions.
async fn register_views(
    context: &SessionContext,
    listing: ListingRule,
    plan: &PlanRules,
    labs: &LabNames,
    limits: QueryLimits,
) -> Result<(), String> {
    // First, so that views may join them.
    crate::lookups::register(context, labs).map_err(|e| format!("lookup tables: {e}"))?;
    crate::plan::register(context, plan).map_err(|e| format!("plan checks: {e}"))?;
    crate::archive::register(context);
    let repeats = crate::plan::six_month_repeats("results", "results");
    let licences = crate::plan::licence_missing("results");
    for (name, sql) in VIEWS {
        let sql = sql
            .replace("{failures}", &listing.failures.to_string())
            .replace("{months}", &listing.months.to_string())
            .replace("{six_month_repeats}", &repeats)
            .replace("{licence_missing}", &licences);
        let statement = format!("CREATE VIEW {name} AS {sql}");
        let frame = context
            .sql(&statement)
            .await
            .map_err(|e| format!("view {name}: {e}"))?;
        frame
            .collect()
            .await
            .map_err(|e| format!("view {name}: {e}"))?;
    }
    crate::bounded::register(context, limits.max_built_bytes);
    Ok(())
}

fn lake_error(root: &impl std::fmt::Display, error: impl std::fmt::Display) -> QueryError {
    QueryError::Lake {
        path: root.to_string(),
        message: error.to_string(),
    }
}

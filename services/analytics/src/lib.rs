//! SQL over the lake: one DataFusion session with the lake's tables registered, read-only.
//!
//! Tables are Hive-partitioned Parquet directories under the lake root; files appear in queries
//! as soon as the writer renames them into place (a half-written file is never visible).

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
use datafusion::execution::context::{SQLOptions, SessionContext};
use spotcheck_lake::tables;
use std::path::Path;
use std::sync::Arc;

pub use datafusion::arrow;

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
];

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Not a query (DDL, DML, COPY, SET...): the lake is read-only here.
    #[error("only queries are allowed (SELECT, EXPLAIN, SHOW, DESCRIBE): {0}")]
    NotAQuery(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the lake at {path} cannot be opened: {message}")]
    Lake { path: String, message: String },
}

/// A session over one lake.
pub struct Analytics {
    context: SessionContext,
}

impl Analytics {
    /// Registers every table of the lake rooted at `root` (created if missing).
    pub async fn open(root: &Path) -> Result<Self, QueryError> {
        let context = SessionContext::new();
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
        for (name, sql) in VIEWS {
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
        Ok(Self { context })
    }

    /// Runs one read-only statement and collects its rows.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, QueryError> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let frame = self
            .context
            .sql_with_options(sql, options)
            .await
            .map_err(|e| {
                let message = e.to_string();
                let refused = [
                    "DDL not supported",
                    "DML not supported",
                    "Statement not supported",
                ];
                if refused.iter().any(|r| message.contains(r)) {
                    QueryError::NotAQuery(message)
                } else {
                    QueryError::Invalid(message)
                }
            })?;
        frame
            .collect()
            .await
            .map_err(|e| QueryError::Invalid(e.to_string()))
    }
}

fn lake_error(root: &Path, error: impl std::fmt::Display) -> QueryError {
    QueryError::Lake {
        path: root.display().to_string(),
        message: error.to_string(),
    }
}

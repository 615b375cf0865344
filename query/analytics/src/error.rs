//! Why a query did not run, in words an analyst can act on.

use datafusion::error::DataFusionError;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Not a query (DDL, DML, COPY, SET...): the lake is read-only here.
    #[error("only queries are allowed (SELECT, EXPLAIN, SHOW, DESCRIBE): {0}")]
    NotAQuery(String),
    #[error("{0}")]
    Invalid(String),
    /// The statement's text is too long or nests too deeply to plan safely.
    #[error("the statement is too complex: {0}")]
    TooComplex(String),
    /// The answer reached the row limit: what was sent is the first rows, not the answer.
    #[error(
        "the answer was cut after {0} rows, the limit of one answer ([sql] max_rows): \
         aggregate, filter or add LIMIT/OFFSET"
    )]
    TooManyRows(u64),
    #[error("the query ran longer than the {}s limit and was stopped", .0.as_secs_f64())]
    TimedOut(Duration),
    #[error("the query needs more memory than the {limit_mib} MiB limit: {message}")]
    OutOfMemory { limit_mib: usize, message: String },
    /// The tables cannot be read as of the moment or version asked for.
    #[error("as_of: {0}")]
    AsOf(String),
    #[error("the lake at {path} cannot be opened: {message}")]
    Lake { path: String, message: String },
}

impl QueryError {
    /// Sorts a DataFusion error: a refused statement, memory exhausted, or an invalid query.
    pub(crate) fn from_datafusion(error: DataFusionError, memory_limit: usize) -> Self {
        let message = error.to_string();
        if matches!(error.find_root(), DataFusionError::ResourcesExhausted(_)) {
            return Self::OutOfMemory {
                limit_mib: memory_limit / (1024 * 1024),
                message,
            };
        }
        const REFUSED: [&str; 3] = [
            "DDL not supported",
            "DML not supported",
            "Statement not supported",
        ];
        if REFUSED.iter().any(|r| message.contains(r)) {
            Self::NotAQuery(message)
        } else {
            Self::Invalid(message)
        }
    }
}

//! SQL over the lake: one DataFusion session with the lake's tables registered, read-only, used
//! by `spotcheck sql`, `POST /v1/sql` and the Postgres wire protocol ([`pg`]).
//!
//! Tables are Hive-partitioned Parquet directories under the lake root; files appear in queries
//! as soon as the writer renames them into place (a half-written file is never visible).
//!
//! The sandbox: statements are planned with DDL, DML and other statements disallowed, no table
//! function that reads files is registered and URL tables (`SELECT * FROM '/etc/passwd'`) stay
//! off; every query runs under a time limit and a memory pool shared by the whole session.

mod error;
pub mod pg;
mod session;

pub use datafusion::arrow;
pub use error::QueryError;
pub use session::{Analytics, ListingRule, QueryLimits, Rows, VIEWS};

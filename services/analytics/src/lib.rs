//! SQL over the lake: one DataFusion session with the lake's tables registered, read-only, used
//! by `spotcheck sql`, `POST /v1/sql` and the Postgres wire protocol ([`pg`]).
//!
//! Tables are Hive-partitioned Parquet directories under the lake root; a file appears in queries
//! once it is in place and named by its partition's manifest ([`visible`]), so a half-written
//! file is never visible and a compaction swaps files without a row counted twice or missed.
//!
//! The sandbox: statements are planned with DDL, DML and other statements disallowed, no table
//! function that reads files is registered and URL tables (`SELECT * FROM '/etc/passwd'`) stay
//! off; every query runs under a time limit and a memory pool shared by the whole session.

mod error;
pub mod pg;
mod session;
pub mod visible;

pub use datafusion::arrow;
pub use error::QueryError;
pub use session::{Analytics, ListingRule, QueryLimits, Rows, VIEWS};

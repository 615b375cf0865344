//! SQL over the lake: one DataFusion session with the lake's tables registered, read-only, used
//! by `spotcheck sql`, `POST /v1/sql` and the Postgres wire protocol ([`pg`]).
//!
//! Tables are the lake's Delta tables ([`lake`]): a query reads each table's newest committed
//! version, so a half-written flush is never visible and an optimize swaps files without a row
//! counted twice or missed; `as_of` reads the versions of a past moment.
//!
//! The sandbox: statements are planned with DDL, DML and other statements disallowed, no table
//! function that reads files is registered and URL tables (`SELECT * FROM '/etc/passwd'`) stay
//! off; every query runs under a time limit and a memory pool shared by the whole session.
//!
//! What no query can do to the process: a statement is bounded in size and nesting before it is
//! planned ([`guard`]), on threads whose stacks fit the bound; functions that build values from
//! a chosen count are bounded (`bounded`); answers stream ([`Answer`]) with what waits between
//! the query and the client held in the pool, and end with an error past a row limit.

mod answer;
mod archive;
mod bounded;
pub mod encode;
mod error;
pub mod guard;
pub mod lake;
mod lookups;
pub mod pg;
pub mod plan;
mod rows;
mod session;
pub mod suggest;

pub use answer::Answer;
pub use datafusion::arrow;
pub use error::QueryError;
pub use guard::StatementLimits;
pub use lake::AsOf;
pub use lookups::LabNames;
pub use plan::{Earlier, PlanFinding, PlanRules, PlannedSampling};
pub use session::{Analytics, ListingRule, QueryLimits, Rows, VIEWS};
pub use suggest::{SuggestQuery, Suggestion};

/// `text` as a SQL string literal (`'` doubled), for the values the product's own queries
/// insert; an analyst's SQL is never built from it.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

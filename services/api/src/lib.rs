//! The HTTP API that labs, ledgers and officials post to (docs/contract.md §3).
//!
//! Every posted record is parsed at this edge into a typed, validated record, checked against the
//! ledger of records already taken, published to Kafka, and answered on its own. `202` means the
//! broker acknowledged every record listed as accepted (`acks=all`).

pub mod access;
pub mod app;
pub mod body;
pub mod csv_input;
pub mod error;
pub mod guard;
pub mod intake;
pub mod ledger;
pub mod listener;
pub mod metrics;
pub mod openapi;
pub mod router;
pub mod routes;
pub mod sheet_input;
pub mod submit;
pub mod submitted;
pub mod template;
pub mod xls_extent;

pub use app::{App, AppParts};
pub use router::api;

pub use listener::{HttpLimits, serve};

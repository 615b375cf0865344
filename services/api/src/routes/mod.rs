//! The handlers of the HTTP API, one file per area; `crate::router` assembles them.

pub mod cases;
pub mod disclosures;
pub mod plan;
pub mod records;
pub mod results;
pub mod sql;
pub mod system;
pub mod ui;

//! One module per command of docs/contract.md §1.

pub mod analytics;
pub mod bulletin;
pub mod components;
pub mod credit;
pub mod gen_data;
pub mod ingest;
pub mod lake;
pub mod notice;
pub mod plan;
pub mod post;
pub mod report;
pub mod sql;
pub mod stage_runtime;
pub mod supervisor;
pub mod token;
pub mod topics;
pub mod trace_export;
pub mod traceback;
pub mod up;

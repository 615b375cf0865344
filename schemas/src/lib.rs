//! spotcheck's records: the typed forms of docs/contract.md §4, their validation at the edge, the keys
//! that make records meet (batch key) and repeat harmlessly (record id), and the topic names.
//!
//! Untrusted input becomes a record only through a `parse` function, which reports every
//! violated rule with its JSON path; everything downstream trusts the types.

pub mod case;
pub mod columns;
pub mod days;
pub mod disclosure;
pub mod disposition;
pub mod enums;
pub mod error;
pub mod inspection;
pub mod json_schemas;
pub mod keys;
pub mod names;
pub mod plan;
pub mod reader;
pub mod region;
pub mod result;
pub mod shipment;
pub mod topics;
pub mod unit;
pub mod uscc;

pub use case::{Case, case_id};
pub use disclosure::Disclosure;
pub use disposition::Disposition;
pub use enums::*;
pub use error::FieldError;
pub use inspection::Inspection;
pub use keys::{BatchKey, content_hash, record_id};
pub use result::SamplingResult;
pub use shipment::Shipment;
pub use unit::Unit;
pub use uscc::Uscc;

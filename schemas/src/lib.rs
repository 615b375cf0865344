//! spotcheck's records: the typed forms of docs/contract.md §4, their validation at the edge, the keys
//! that make records meet (batch key) and repeat harmlessly (record id), and the topic names.
//!
//! Untrusted input becomes a record only through a `parse` function, which reports every
//! violated rule with its JSON path; everything downstream trusts the types.

pub mod case;
pub mod columns;
pub mod disclosure;
pub mod disposition;
pub mod enums;
pub mod error;
pub mod inspection;
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

/// The JSON Schema files of `schemas/json/`, embedded so services can publish them.
pub mod json_schemas {
    pub const RESULT: &str = include_str!("../json/result.schema.json");
    pub const SHIPMENT: &str = include_str!("../json/shipment.schema.json");
    pub const UNIT: &str = include_str!("../json/unit.schema.json");
    pub const DISPOSITION: &str = include_str!("../json/disposition.schema.json");
    pub const INSPECTION: &str = include_str!("../json/inspection.schema.json");
    pub const CASE: &str = include_str!("../json/case.schema.json");
    pub const DISCLOSURE: &str = include_str!("../json/disclosure.schema.json");

    /// (component name, schema text) of every record, for the OpenAPI description.
    pub const ALL: &[(&str, &str)] = &[
        ("SamplingResult", RESULT),
        ("Shipment", SHIPMENT),
        ("Unit", UNIT),
        ("Disposition", DISPOSITION),
        ("Inspection", INSPECTION),
        ("Case", CASE),
        ("Disclosure", DISCLOSURE),
    ];
}

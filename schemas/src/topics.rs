//! The Kafka topics of docs/contract.md §5, named once.

pub const RESULTS: &str = "spotcheck.results.v1";
pub const SHIPMENTS: &str = "spotcheck.shipments.v1";
pub const UNITS: &str = "spotcheck.units.v1";
pub const DISPOSITIONS: &str = "spotcheck.dispositions.v1";
pub const INSPECTIONS: &str = "spotcheck.inspections.v1";
pub const CASES: &str = "spotcheck.cases.v1";
pub const CREDIT: &str = "spotcheck.credit.v1";
pub const DLQ: &str = "spotcheck.dlq.v1";
/// Internal: heartbeats of the stage instances that share partitions (see the runtime's roster).
pub const MEMBERS: &str = "spotcheck.members.v1";

/// CloudEvents `ce_type` of each record kind (reverse-DNS, versioned like the topics).
pub mod event_types {
    pub const RESULT: &str = "cn.spotcheck.result.v1";
    pub const SHIPMENT: &str = "cn.spotcheck.shipment.v1";
    pub const UNIT: &str = "cn.spotcheck.unit.v1";
    pub const DISPOSITION: &str = "cn.spotcheck.disposition.v1";
    pub const INSPECTION: &str = "cn.spotcheck.inspection.v1";
    pub const CASE: &str = "cn.spotcheck.case.v1";
    pub const DISCLOSURE: &str = "cn.spotcheck.disclosure.v1";
    pub const DEAD_LETTER: &str = "cn.spotcheck.dead_letter.v1";
}

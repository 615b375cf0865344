//! What each kind of posted record needs to be taken in: how to parse it, its stable id, its
//! Kafka key and topic, and who may post it.

use crate::access::{Caller, Role};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;
use spotcheck_schemas::topics::{self, event_types};
use spotcheck_schemas::{
    Disposition, FieldError, Inspection, SamplingResult, Shipment, Unit, content_hash, record_id,
};

/// Facts a parser needs from outside the record.
pub struct ParseContext {
    /// The server's date, bounding dates in the future.
    pub today: NaiveDate,
    /// The record's id in the URL (`PUT /v1/units/{uscc}`), which the body must not contradict.
    pub path_id: Option<String>,
}

/// Every topic ingest publishes to: what the ledger catches up with at start, so that a record
/// of any kind the broker took just before a crash answers `duplicate` when it is re-sent.
pub const TOPICS: [&str; 5] = [
    <SamplingResult as Intake>::TOPIC,
    <Shipment as Intake>::TOPIC,
    <Unit as Intake>::TOPIC,
    <Disposition as Intake>::TOPIC,
    <Inspection as Intake>::TOPIC,
];

/// A record kind that can be posted.
pub trait Intake: Serialize + Sized + Send + Sync + 'static {
    /// Names the kind in responses, metrics and messages.
    const KIND: &'static str;
    /// The field that identifies a record to its poster (`report_no`, `shipment_id`...).
    const LABEL: &'static str;
    const TOPIC: &'static str;
    const EVENT_TYPE: &'static str;
    /// Whether the kind is also taken as a lab's result sheet (a workbook, or CSV with the
    /// Chinese headers of `spotcheck_schemas::columns`), with the caller as the lab.
    const SHEETS: bool = false;

    fn parse(value: &Value, context: &ParseContext) -> Result<Self, Vec<FieldError>>;

    /// The stable id: the same logical record always has it (CloudEvents `ce_id`).
    fn record_id(&self) -> String;

    /// The Kafka key.
    fn key(&self) -> String;

    /// The value of [`Intake::LABEL`].
    fn label(&self) -> String;

    /// Refuses a record the caller may not post (e.g. a lab posting as another lab).
    fn authorize(&self, caller: &Caller) -> Result<(), FieldError>;

    /// The record as a sampling the plan checks judge (results only).
    fn plan(&self) -> Option<spotcheck_analytics::PlannedSampling> {
        None
    }

    /// The record this one is about, which should have been taken before it (a disposition's
    /// result or inspection, the record a withdrawal withdraws): the answer warns when it has not.
    fn concerns(&self) -> Option<Concern> {
        None
    }

    /// The label of an unparsed record, to name it in a rejection.
    fn label_of(value: &Value) -> Option<String> {
        match value.get(Self::LABEL)? {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

impl Intake for SamplingResult {
    const KIND: &'static str = "result";
    const LABEL: &'static str = "report_no";
    const TOPIC: &'static str = topics::RESULTS;
    const EVENT_TYPE: &'static str = event_types::RESULT;
    const SHEETS: bool = true;

    fn parse(value: &Value, context: &ParseContext) -> Result<Self, Vec<FieldError>> {
        SamplingResult::parse(value, context.today)
    }

    /// One result per (lab, report number): a lab's report numbers are its own.
    fn record_id(&self) -> String {
        record_id(Self::KIND, &[&self.lab_id, &self.report_no])
    }

    fn plan(&self) -> Option<spotcheck_analytics::PlannedSampling> {
        Some(spotcheck_analytics::PlannedSampling {
            organiser: self.organiser.clone().unwrap_or_default(),
            producer_name: self.producer.name.clone(),
            producer_uscc: self.producer.uscc.as_ref().map(|u| u.as_str().to_owned()),
            category: Some(self.category.as_str().to_owned()),
            brand: self.product.brand.clone(),
            model: self.product.model.clone(),
            standards: self.standards.clone(),
            date: self.sampling.date,
            follow_up: self.follow_up,
        })
    }

    fn key(&self) -> String {
        self.batch_key().to_string()
    }

    fn label(&self) -> String {
        self.report_no.clone()
    }

    fn authorize(&self, caller: &Caller) -> Result<(), FieldError> {
        if caller.role == Role::Lab && caller.subject != self.lab_id {
            return Err(FieldError::new(
                "lab_id",
                format!(
                    "is '{}', but this token posts for lab '{}' only",
                    self.lab_id, caller.subject
                ),
            ));
        }
        Ok(())
    }
}

impl Intake for Shipment {
    const KIND: &'static str = "shipment";
    const LABEL: &'static str = "shipment_id";
    const TOPIC: &'static str = topics::SHIPMENTS;
    const EVENT_TYPE: &'static str = event_types::SHIPMENT;

    fn parse(value: &Value, context: &ParseContext) -> Result<Self, Vec<FieldError>> {
        Shipment::parse(value, context.today)
    }

    /// Shipment ids are the ledgers' own and unique across them (a platform prefixes its ids).
    fn record_id(&self) -> String {
        record_id(Self::KIND, &[&self.shipment_id])
    }

    /// Co-partitioned with the batch's results, so one traceback instance sees both.
    fn key(&self) -> String {
        self.batch_key().to_string()
    }

    fn label(&self) -> String {
        self.shipment_id.clone()
    }

    fn authorize(&self, _caller: &Caller) -> Result<(), FieldError> {
        Ok(())
    }
}

impl Intake for Unit {
    const KIND: &'static str = "unit";
    const LABEL: &'static str = "uscc";
    const TOPIC: &'static str = topics::UNITS;
    const EVENT_TYPE: &'static str = event_types::UNIT;

    fn parse(value: &Value, context: &ParseContext) -> Result<Self, Vec<FieldError>> {
        Unit::parse(value, context.path_id.as_deref())
    }

    /// A unit is upserted: each distinct content is its own record (a repeat is a duplicate,
    /// a change is a new version, never a conflict).
    fn record_id(&self) -> String {
        record_id(Self::KIND, &[self.uscc.as_str(), &content_hash(self)])
    }

    fn key(&self) -> String {
        self.uscc.to_string()
    }

    fn label(&self) -> String {
        self.uscc.to_string()
    }

    fn authorize(&self, _caller: &Caller) -> Result<(), FieldError> {
        Ok(())
    }
}

/// A record another is about ([`Intake::concerns`]), and the warning when it was not taken.
#[derive(Debug, Clone)]
pub struct Concern {
    pub id: String,
    pub missing: &'static str,
}

impl Intake for Disposition {
    const KIND: &'static str = "disposition";
    const LABEL: &'static str = "disposition_id";
    const TOPIC: &'static str = topics::DISPOSITIONS;
    const EVENT_TYPE: &'static str = event_types::DISPOSITION;

    fn parse(value: &Value, context: &ParseContext) -> Result<Self, Vec<FieldError>> {
        Disposition::parse(value, context.today)
    }

    fn record_id(&self) -> String {
        Disposition::record_id(self)
    }

    fn key(&self) -> String {
        self.case_id()
    }

    fn label(&self) -> String {
        self.disposition_id.clone()
    }

    fn authorize(&self, _caller: &Caller) -> Result<(), FieldError> {
        Ok(())
    }

    /// The record a withdrawal withdraws; else the lab's result, or the inspection whose finding
    /// opened the case (a refusal case is made of several inspections: none).
    fn concerns(&self) -> Option<Concern> {
        if let Some(withdrawn) = &self.withdraws {
            return Some(Concern {
                id: record_id(Self::KIND, &[withdrawn]),
                missing: "this ingest has taken no disposition with the disposition_id it \
                          withdraws: nothing is withdrawn; check the id (a record of the same case)",
            });
        }
        let missing = "this ingest has taken no result or inspection with this lab_id and \
                       report_no: the disposition is kept and applies when it comes; if the \
                       lab_id or report_no is mistyped, post it corrected under a new disposition_id";
        let id = if self.lab_id != spotcheck_schemas::inspection::INSPECTION_LAB_ID {
            record_id(
                <SamplingResult as Intake>::KIND,
                &[&self.lab_id, &self.report_no],
            )
        } else {
            let (inspection_id, _) = self.report_no.rsplit_once('/')?;
            if inspection_id == "refusal" {
                return None;
            }
            record_id(<Inspection as Intake>::KIND, &[inspection_id])
        };
        Some(Concern { id, missing })
    }
}

impl Intake for Inspection {
    const KIND: &'static str = "inspection";
    const LABEL: &'static str = "inspection_id";
    const TOPIC: &'static str = topics::INSPECTIONS;
    const EVENT_TYPE: &'static str = event_types::INSPECTION;

    fn parse(value: &Value, context: &ParseContext) -> Result<Self, Vec<FieldError>> {
        Inspection::parse(value, context.today)
    }

    /// Inspection record numbers are the organisers' own and unique across them.
    fn record_id(&self) -> String {
        record_id(Self::KIND, &[&self.inspection_id])
    }

    /// By the inspected unit: its inspections stay in order.
    fn key(&self) -> String {
        self.unit
            .uscc
            .as_ref()
            .map_or_else(|| self.unit.name.clone(), ToString::to_string)
    }

    fn label(&self) -> String {
        self.inspection_id.clone()
    }

    fn authorize(&self, _caller: &Caller) -> Result<(), FieldError> {
        Ok(())
    }
}

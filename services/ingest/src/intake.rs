//! What each kind of posted record needs to be taken in: how to parse it, its stable id, its
//! Kafka key and topic, and who may post it.

use crate::access::{Caller, Role};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;
use spotcheck_schemas::topics::{self, event_types};
use spotcheck_schemas::{FieldError, SamplingResult, record_id};

/// Facts a parser needs from outside the record.
pub struct ParseContext {
    /// The server's date, bounding dates in the future.
    pub today: NaiveDate,
}

/// A record kind that can be posted.
pub trait Intake: Serialize + Sized + Send + Sync + 'static {
    /// Names the kind in responses, metrics and messages.
    const KIND: &'static str;
    /// The field that identifies a record to its poster (`report_no`, `shipment_id`...).
    const LABEL: &'static str;
    const TOPIC: &'static str;
    const EVENT_TYPE: &'static str;

    fn parse(value: &Value, context: &ParseContext) -> Result<Self, Vec<FieldError>>;

    /// The stable id: the same logical record always has it (CloudEvents `ce_id`).
    fn record_id(&self) -> String;

    /// The Kafka key.
    fn key(&self) -> String;

    /// The value of [`Intake::LABEL`].
    fn label(&self) -> String;

    /// Refuses a record the caller may not post (e.g. a lab posting as another lab).
    fn authorize(&self, caller: &Caller) -> Result<(), FieldError>;

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

    fn parse(value: &Value, context: &ParseContext) -> Result<Self, Vec<FieldError>> {
        SamplingResult::parse(value, context.today)
    }

    /// One result per (lab, report number): a lab's report numbers are its own.
    fn record_id(&self) -> String {
        record_id(Self::KIND, &[&self.lab_id, &self.report_no])
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

//! Field errors: one per violated rule, with the JSON path of the field and a sentence a lab
//! clerk understands.

use serde::{Deserialize, Serialize};

/// One violated rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON path of the offending field, e.g. `product.batch` or `items[2].verdict`; `""` for
    /// the record as a whole.
    pub field: String,
    /// What is wrong, as a sentence.
    pub message: String,
    /// For a record read from a spreadsheet: the header of the column the field came from, as
    /// the sheet writes it (`规格型号`), so the clerk finds the cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            column: None,
        }
    }
}

/// Collects every violation of one record, so a lab sees all of them at once.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no violation was recorded (and `value` could be built).
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            Some(_) | None if !self.0.is_empty() => Err(self.0),
            _ => Err(vec![FieldError::new("", "the record could not be read")]),
        }
    }
}

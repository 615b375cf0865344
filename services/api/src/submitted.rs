//! One record of a posted body, before it is parsed into its type: where it stood in the body
//! and its JSON. The body's readers (JSON, NDJSON, CSV, workbooks) all produce it.

use serde_json::Value;
use spotcheck_schemas::FieldError;

/// One submitted record: its line (1-based; for CSV the header is line 1, for a JSON array the
/// position in the array, for a workbook the sheet's row number) and its JSON, or why the line
/// could not be read.
#[derive(Debug)]
pub struct Submitted {
    pub line: usize,
    pub value: Result<Value, FieldError>,
    /// Cells of a sheet that could not be read (left out of `value`): the record is rejected
    /// with these and whatever else is wrong with it.
    pub problems: Vec<FieldError>,
    /// The workbook's sheet it is on, when the workbook has results on more than one.
    pub sheet: Option<std::sync::Arc<str>>,
    /// What reading it left out and the caller should know (a keeper's identity number in the
    /// code column): `warnings` beside the record once it is accepted.
    pub notes: Vec<Value>,
}

impl Submitted {
    pub(crate) fn new(line: usize, value: Result<Value, FieldError>) -> Self {
        Self {
            line,
            value,
            problems: Vec::new(),
            sheet: None,
            notes: Vec::new(),
        }
    }
}

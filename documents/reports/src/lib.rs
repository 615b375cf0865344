//! What people look at rather than query: the batch trace export (a sortable spreadsheet of
//! every hop of a batch), the case page that draws a case's distribution graph, the four
//! notices (三书一函) as DOCX and printable HTML, and the quarterly report. Everything reads the
//! lake through the same SQL views analysts use, so the numbers on a page are the numbers of a
//! query. Pages and documents are in Chinese, from templates (`templates/`).

pub mod archive;
pub mod bulletin;
pub mod case_page;
pub mod cells;
pub mod notice;
pub mod plan;
pub mod report;
pub mod svg;
pub mod table;
mod templates;
pub mod todo;
pub mod trace;

/// Why a page or an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Query(#[from] spotcheck_analytics::QueryError),
    #[error("{0}")]
    NotFound(String),
    /// The lake has part of what is asked for, the rest arrives within seconds: try again.
    #[error("{0}")]
    NotYet(String),
    #[error("cannot write the spreadsheet: {0}")]
    Spreadsheet(#[from] rust_xlsxwriter::XlsxError),
    #[error("cannot write CSV: {0}")]
    Csv(String),
    #[error("{0}")]
    Write(String),
}

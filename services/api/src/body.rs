//! Turns a request body into records with line numbers: one JSON object, a JSON array, NDJSON,
//! CSV, or a lab's result sheet (a workbook, or a CSV with Chinese headers). Nothing here knows
//! record types; a line that is not even JSON becomes an error for that line only.

use crate::csv_input;
use crate::error::ApiError;
use crate::sheet_input::{self, SheetColumns};
pub use crate::submitted::Submitted;
use axum::body::Body;
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::Value;
use spotcheck_schemas::FieldError;
use std::sync::Arc;

/// The media type of an XLSX workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A single object answers with the status of that record (422, 409...); a batch always 202.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Single,
    Batch,
}

#[derive(Debug)]
pub struct Records {
    pub shape: Shape,
    pub records: Vec<Submitted>,
    /// For a result sheet: its columns, to name the column of each field error.
    pub columns: Option<Arc<SheetColumns>>,
    /// For a result sheet: headers no field takes.
    pub ignored_columns: Vec<String>,
}

impl Records {
    fn of(shape: Shape, records: Vec<Submitted>) -> Self {
        Self {
            shape,
            records,
            columns: None,
            ignored_columns: Vec::new(),
        }
    }

    /// The records of a workbook's sheets (or a CSV's one), in order; the columns the sheets
    /// read name the errors' columns.
    fn of_sheets(sheets: Vec<sheet_input::Sheet>) -> Self {
        let mut records = Vec::new();
        let mut columns = sheet_input::SheetColumns::default();
        let mut ignored_columns: Vec<String> = Vec::new();
        for sheet in sheets {
            records.extend(sheet.records);
            columns.add(&sheet.columns);
            for header in sheet.ignored {
                if !ignored_columns.contains(&header) {
                    ignored_columns.push(header);
                }
            }
        }
        Self {
            shape: Shape::Batch,
            records,
            columns: Some(std::sync::Arc::new(columns)),
            ignored_columns,
        }
    }
}

/// Limits on what one request may carry.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: usize,
    pub max_records: usize,
    /// How long the whole body may take to arrive: a client trickling bytes (slowloris) gets 408
    /// instead of holding a connection and a handler forever.
    pub read_timeout: std::time::Duration,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            max_bytes: 32 * 1024 * 1024,
            max_records: 50_000,
            read_timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// Reads the whole body: more than `max_bytes` is 413, slower than `read_timeout` is 408.
pub async fn read(body: Body, limits: BodyLimits) -> Result<Bytes, ApiError> {
    let reading = axum::body::to_bytes(body, limits.max_bytes);
    let Ok(read) = tokio::time::timeout(limits.read_timeout, reading).await else {
        return Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {} s: send it faster or in smaller requests",
                limits.read_timeout.as_secs()
            ),
        ));
    };
    read.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is over the limit of {} bytes: send fewer records per request",
                limits.max_bytes
            ),
        )
    })
}

/// Splits a body according to its content type. `sheet_lab` is the posting lab when the record
/// kind is a result, which may also come as a result sheet (a workbook, or CSV with the Chinese
/// headers of bulletins); other kinds take JSON, NDJSON and CSV of field names only.
pub fn split(
    content_type: Option<&str>,
    bytes: &[u8],
    limits: BodyLimits,
    sheet_lab: Option<&str>,
) -> Result<Records, ApiError> {
    let full_type = content_type.map(str::to_ascii_lowercase);
    let media = full_type
        .as_deref()
        .and_then(|ct| ct.split(';').next())
        .map_or_else(|| "application/json".into(), |ct| ct.trim().to_owned());
    let workbook_type = matches!(
        media.as_str(),
        XLSX | "application/vnd.ms-excel"
            | "application/vnd.oasis.opendocument.spreadsheet"
            | "application/octet-stream"
    );
    let records = if workbook_type && sheet_input::is_workbook(bytes) {
        let Some(lab) = sheet_lab else {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "workbooks are taken for results only (POST /v1/results): send JSON, NDJSON or CSV",
            ));
        };
        let grids = sheet_input::workbook_grids(bytes, limits.max_records)?;
        let several = grids.len() > 1;
        let mut sheets = Vec::with_capacity(grids.len());
        for (name, grid) in &grids {
            let header = sheet_input::header_row(grid).unwrap_or(0);
            let mut sheet = sheet_input::result_records(grid, header, lab, Some(name)).map_err(
                |mut error| {
                    if several {
                        error.message = format!("sheet '{name}': {}", error.message);
                    }
                    error
                },
            )?;
            if several {
                let name: std::sync::Arc<str> = name.as_str().into();
                for record in &mut sheet.records {
                    record.sheet = Some(name.clone());
                }
            }
            sheets.push(sheet);
        }
        Records::of_sheets(sheets)
    } else if workbook_type && sheet_lab.is_some() && sheet_input::is_markup(bytes) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the workbook is a web page or XML table under a workbook's name, as some systems \
             export tables: open it in Excel or WPS, save it as an Excel workbook (.xlsx) and post \
             it again",
        ));
    } else if matches!(media.as_str(), "text/csv" | "application/csv")
        // What a browser on Windows with Excel installed sends for a .csv file.
        || (media == "application/vnd.ms-excel" && !bytes.trim_ascii_start().starts_with(b"{"))
    {
        let text = csv_text(full_type.as_deref().unwrap_or_default(), bytes)?;
        // The header is looked for in the first rows; the whole CSV is read once, as a sheet
        // or as field names.
        let head =
            sheet_lab.and_then(|_| sheet_input::csv_grid(&text, sheet_input::HEADER_SEARCH_ROWS));
        match (sheet_lab, head) {
            (Some(lab), Some(head)) => match sheet_input::header_row(&head) {
                Some(header) => {
                    let grid = sheet_input::csv_grid(&text, usize::MAX).ok_or_else(|| {
                        ApiError::bad_request("the CSV cannot be read past its header")
                    })?;
                    Records::of_sheets(vec![sheet_input::result_records(&grid, header, lab, None)?])
                }
                // Chinese headers that are not ours: say which names are, rather than
                // rejecting every row for unknown fields.
                None if text.lines().next().is_some_and(|l| !l.is_ascii()) => {
                    return Err(sheet_input::no_header("the CSV"));
                }
                None => Records::of(Shape::Batch, csv_input::records(&text)?),
            },
            _ => Records::of(Shape::Batch, csv_input::records(&text)?),
        }
    } else {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ApiError::bad_request("the body is not valid UTF-8 text"))?;
        text_records(&media, text, sheet_lab.is_some())?
    };
    if records.records.len() > limits.max_records {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} records in one request is over the limit of {}: split the file",
                records.records.len(),
                limits.max_records
            ),
        ));
    }
    if records.records.is_empty() {
        return Err(ApiError::bad_request("the body holds no record"));
    }
    Ok(records)
}

/// A CSV's text: UTF-8, or GB18030 (what Excel saves on a Chinese system) when the charset says
/// so or the bytes are not UTF-8.
fn csv_text(content_type: &str, bytes: &[u8]) -> Result<String, ApiError> {
    let declared_gb = ["gbk", "gb2312", "gb18030"]
        .iter()
        .any(|charset| content_type.contains(&format!("charset={charset}")));
    if !declared_gb && let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(ApiError::bad_request(
            "the CSV is neither UTF-8 nor GB18030 text: save it as \"CSV UTF-8\" and post it again",
        ));
    }
    Ok(text.into_owned())
}

/// JSON, NDJSON, or JSON sent under another type. `sheets` says whether workbooks are taken, for
/// the message about an unknown type.
fn text_records(media: &str, text: &str, sheets: bool) -> Result<Records, ApiError> {
    match media {
        "application/x-ndjson"
        | "application/jsonl"
        | "application/ndjson"
        | "application/jsonlines" => Ok(Records::of(Shape::Batch, ndjson(text))),
        "application/json" | "text/json" => json(text),
        // What curl sends by default with -d, or no real type at all: take JSON or NDJSON if
        // that is what the body holds.
        "application/x-www-form-urlencoded" | "text/plain" | "application/octet-stream" | "*/*"
            if text.trim_start().starts_with(['{', '[']) =>
        {
            json(text)
        }
        other => {
            let also = if sheets {
                ", text/csv or a workbook (.xlsx, .xls)"
            } else {
                " or text/csv"
            };
            Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "content type {other} is not accepted: use application/json, application/x-ndjson{also}"
                ),
            ))
        }
    }
}

/// One JSON object, or an array of them; NDJSON sent as `application/json` is accepted too.
fn json(text: &str) -> Result<Records, ApiError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => Ok(Records::of(
            Shape::Batch,
            items
                .into_iter()
                .enumerate()
                .map(|(index, value)| Submitted::new(index + 1, Ok(value)))
                .collect(),
        )),
        Ok(value) => Ok(Records::of(
            Shape::Single,
            vec![Submitted::new(1, Ok(value))],
        )),
        Err(_) if text.trim().lines().count() > 1 => Ok(Records::of(Shape::Batch, ndjson(text))),
        Err(error) => Err(ApiError::bad_request(format!(
            "the body is not valid JSON: {error}"
        ))),
    }
}

/// One record per non-blank line.
fn ndjson(text: &str) -> Vec<Submitted> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            Submitted::new(
                index + 1,
                serde_json::from_str(line).map_err(|error| {
                    FieldError::new("", format!("the line is not valid JSON: {error}"))
                }),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_keeps_line_numbers_across_blank_lines_and_bad_lines() {
        let body = "{\"a\":1}\n\n{not json}\n{\"a\":2}\n";
        let records = split(
            Some("application/x-ndjson"),
            body.as_bytes(),
            BodyLimits::default(),
            None,
        )
        .unwrap();
        let lines: Vec<usize> = records.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 3, 4]);
        assert!(records.records[1].value.is_err());
    }

    #[test]
    fn a_single_object_and_an_array_are_told_apart() {
        let single = split(
            Some("application/json"),
            b"{\"a\":1}",
            BodyLimits::default(),
            None,
        )
        .unwrap();
        assert_eq!(single.shape, Shape::Single);
        let array = split(None, b"[{\"a\":1},{\"a\":2}]", BodyLimits::default(), None).unwrap();
        assert_eq!((array.shape, array.records.len()), (Shape::Batch, 2));
    }

    #[test]
    fn too_many_records_is_413() {
        let limits = BodyLimits {
            max_bytes: 1 << 20,
            max_records: 2,
            ..BodyLimits::default()
        };
        let error = split(Some("application/x-ndjson"), b"{}\n{}\n{}\n", limits, None).unwrap_err();
        assert_eq!(error.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn json_sent_as_curls_default_form_type_is_read_as_json() {
        let single = split(
            Some("application/x-www-form-urlencoded"),
            b"{\"a\":1}",
            BodyLimits::default(),
            None,
        )
        .unwrap();
        assert_eq!(single.shape, Shape::Single);
    }

    #[test]
    fn a_web_page_saved_as_xls_is_refused_saying_how_to_save_it() {
        // What a system's "export to Excel" often writes: an HTML table, here in GBK.
        let page = "<html><meta charset=\"gbk\"><table><tr><td>报告编号</td></tr></table></html>";
        let (gbk, _, _) = encoding_rs::GBK.encode(page);
        for body in [
            page.as_bytes(),
            &gbk,
            b"\xEF\xBB\xBF <?xml version=\"1.0\"?><Workbook/>",
        ] {
            let error = split(
                Some("application/vnd.ms-excel"),
                body,
                BodyLimits::default(),
                Some("lab"),
            )
            .unwrap_err();
            assert_eq!(error.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
            assert!(error.message.contains("web page"), "{}", error.message);
            assert!(error.message.contains(".xlsx"), "{}", error.message);
        }
    }

    #[test]
    fn a_csv_sent_as_excel_by_a_browser_on_windows_is_read_as_csv() {
        let sheet = "报告编号,产品名称,被抽样单位名称,标称生产企业,规格型号,生产日期/批号,抽样日期,检验日期,检验结论\n\
                     R-1,安全帽,某店,某厂,ABS-1,20260301,2026-04-02,2026-04-20,合格\n";
        let (gb18030, _, _) = encoding_rs::GB18030.encode(sheet);
        for body in [sheet.as_bytes(), &gb18030] {
            let records = split(
                Some("application/vnd.ms-excel"),
                body,
                BodyLimits::default(),
                Some("lab"),
            )
            .unwrap();
            assert_eq!(records.records.len(), 1);
            let record = records.records[0].value.as_ref().unwrap();
            assert_eq!(record["report_no"], "R-1");
        }
    }

    #[test]
    fn an_unknown_content_type_is_415() {
        let error = split(
            Some("application/xml"),
            b"<a/>",
            BodyLimits::default(),
            None,
        )
        .unwrap_err();
        assert_eq!(error.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}

//! Turns a request body into records with line numbers: one JSON object, a JSON array, NDJSON,
//! or CSV. Nothing here knows record types; a line that is not even JSON becomes an error for
//! that line only.

use crate::csv_input;
use crate::error::ApiError;
use axum::body::Body;
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::Value;
use spotcheck_schemas::FieldError;

/// One submitted record: its line (1-based; for CSV the header is line 1, for a JSON array the
/// position in the array) and its JSON, or why the line could not be read.
#[derive(Debug)]
pub struct Submitted {
    pub line: usize,
    pub value: Result<Value, FieldError>,
}

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

/// Splits a body according to its content type.
pub fn split(
    content_type: Option<&str>,
    bytes: &[u8],
    limits: BodyLimits,
) -> Result<Records, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("the body is not valid UTF-8 text"))?;
    let media = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "application/json".into());
    let records = match media.as_str() {
        "application/x-ndjson"
        | "application/jsonl"
        | "application/ndjson"
        | "application/jsonlines" => Records {
            shape: Shape::Batch,
            records: ndjson(text),
        },
        "text/csv" | "application/csv" => Records {
            shape: Shape::Batch,
            records: csv_input::records(text)?,
        },
        "application/json" | "text/json" => json(text)?,
        // What curl sends by default with -d, or no real type at all: take JSON or NDJSON if
        // that is what the body holds.
        "application/x-www-form-urlencoded" | "text/plain" | "application/octet-stream" | "*/*"
            if text.trim_start().starts_with(['{', '[']) =>
        {
            json(text)?
        }
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "content type {other} is not accepted: use application/json, application/x-ndjson or text/csv"
                ),
            ));
        }
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

/// One JSON object, or an array of them; NDJSON sent as `application/json` is accepted too.
fn json(text: &str) -> Result<Records, ApiError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => Ok(Records {
            shape: Shape::Batch,
            records: items
                .into_iter()
                .enumerate()
                .map(|(index, value)| Submitted {
                    line: index + 1,
                    value: Ok(value),
                })
                .collect(),
        }),
        Ok(value) => Ok(Records {
            shape: Shape::Single,
            records: vec![Submitted {
                line: 1,
                value: Ok(value),
            }],
        }),
        Err(_) if text.trim().lines().count() > 1 => Ok(Records {
            shape: Shape::Batch,
            records: ndjson(text),
        }),
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
        .map(|(index, line)| Submitted {
            line: index + 1,
            value: serde_json::from_str(line).map_err(|error| {
                FieldError::new("", format!("the line is not valid JSON: {error}"))
            }),
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
        )
        .unwrap();
        assert_eq!(single.shape, Shape::Single);
        let array = split(None, b"[{\"a\":1},{\"a\":2}]", BodyLimits::default()).unwrap();
        assert_eq!((array.shape, array.records.len()), (Shape::Batch, 2));
    }

    #[test]
    fn too_many_records_is_413() {
        let limits = BodyLimits {
            max_bytes: 1 << 20,
            max_records: 2,
            ..BodyLimits::default()
        };
        let error = split(Some("application/x-ndjson"), b"{}\n{}\n{}\n", limits).unwrap_err();
        assert_eq!(error.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn json_sent_as_curls_default_form_type_is_read_as_json() {
        let single = split(
            Some("application/x-www-form-urlencoded"),
            b"{\"a\":1}",
            BodyLimits::default(),
        )
        .unwrap();
        assert_eq!(single.shape, Shape::Single);
    }

    #[test]
    fn an_unknown_content_type_is_415() {
        let error = split(Some("application/xml"), b"<a/>", BodyLimits::default()).unwrap_err();
        assert_eq!(error.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}

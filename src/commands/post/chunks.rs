//! Splits a file into request bodies of at most N records, remembering each record's line in
//! the file so rejections can be reported where the clerk will look.

use anyhow::{Context, Result};
use serde_json::Value;
use std::path::Path;

/// One request body.
pub struct Chunk {
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// The file line of each record, indexed by the line the server will report (1-based).
    pub lines: Vec<usize>,
    /// For CSV: the body line each record starts on, parallel to `lines`.
    body_lines: Option<Vec<usize>>,
}

impl Chunk {
    /// The file line of the record the server reported at `reported` (its line in this body).
    pub fn file_line(&self, reported: usize) -> usize {
        let index = match &self.body_lines {
            Some(starts) => starts.iter().position(|s| *s == reported),
            None => reported.checked_sub(1),
        };
        index
            .and_then(|i| self.lines.get(i))
            .copied()
            .unwrap_or(reported)
    }
}

/// The media type of each workbook extension.
const WORKBOOKS: &[(&str, &str)] = &[
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("xls", "application/vnd.ms-excel"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
];

pub fn read(file: &Path, size: usize) -> Result<Vec<Chunk>> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    // A workbook goes whole (the server reads its sheet and answers with its row numbers).
    if let Some((_, content_type)) = WORKBOOKS.iter().find(|(ext, _)| *ext == extension) {
        return Ok(vec![Chunk {
            content_type,
            body: bytes,
            lines: Vec::new(),
            body_lines: None,
        }]);
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        // What Excel saves as CSV on a Chinese system.
        Err(error) if extension == "csv" => {
            let (text, _, had_errors) = encoding_rs::GB18030.decode(error.as_bytes());
            anyhow::ensure!(
                !had_errors,
                "{} is neither UTF-8 nor GB18030 text",
                file.display()
            );
            text.into_owned()
        }
        Err(_) => anyhow::bail!("{} is not UTF-8 text", file.display()),
    };
    match extension.as_str() {
        "csv" => {
            csv_chunks(&text, size).with_context(|| format!("{} is not valid CSV", file.display()))
        }
        "json" => json_chunks(&text, size)
            .with_context(|| format!("{} is not valid JSON", file.display())),
        _ => Ok(ndjson_chunks(&text, size)),
    }
}

fn ndjson_chunks(text: &str, size: usize) -> Vec<Chunk> {
    let records: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| (index + 1, line))
        .collect();
    records
        .chunks(size)
        .map(|group| {
            let mut body = Vec::new();
            for (_, line) in group {
                body.extend_from_slice(line.as_bytes());
                body.push(b'\n');
            }
            Chunk {
                content_type: "application/x-ndjson",
                body,
                lines: group.iter().map(|(line, _)| *line).collect(),
                body_lines: None,
            }
        })
        .collect()
}

/// A JSON array is sent as arrays of `size`; "lines" are positions in the array.
fn json_chunks(text: &str, size: usize) -> Result<Vec<Chunk>> {
    let items = match serde_json::from_str::<Value>(text)? {
        Value::Array(items) => items,
        single => vec![single],
    };
    let numbered: Vec<(usize, Value)> = items
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i + 1, v))
        .collect();
    numbered
        .chunks(size)
        .map(|group| {
            let values: Vec<&Value> = group.iter().map(|(_, v)| v).collect();
            Ok(Chunk {
                content_type: "application/json",
                body: serde_json::to_vec(&values)?,
                lines: group.iter().map(|(line, _)| *line).collect(),
                body_lines: None,
            })
        })
        .collect()
}

/// Each chunk repeats the header; quoted newlines inside cells are kept. Title rows above the
/// header (a result sheet saved as CSV) are left out: the header is the first row of more than
/// one cell.
fn csv_chunks(text: &str, size: usize) -> Result<Vec<Chunk>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut rows = reader.records();
    let header = loop {
        match rows.next() {
            Some(row) => {
                let row = row?;
                if row.iter().filter(|cell| !cell.trim().is_empty()).count() > 1 {
                    break row;
                }
            }
            None => anyhow::bail!("it has no header row"),
        }
    };
    let rows: Vec<csv::StringRecord> = rows.collect::<Result<_, _>>()?;
    let mut chunks = Vec::new();
    for group in rows.chunks(size) {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&header)?;
        let mut body_lines = Vec::with_capacity(group.len());
        let mut lines = Vec::with_capacity(group.len());
        for row in group {
            writer.flush()?;
            let written = writer.get_ref();
            body_lines.push(written.iter().filter(|b| **b == b'\n').count() + 1);
            lines.push(row.position().map_or(0, |p| p.line() as usize));
            writer.write_record(row)?;
        }
        chunks.push(Chunk {
            content_type: "text/csv",
            body: writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?,
            lines,
            body_lines: Some(body_lines),
        });
    }
    Ok(chunks)
}

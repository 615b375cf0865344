//! A query's rows as bytes, batch by batch, in the formats the front ends offer (`POST /v1/sql`,
//! `spotcheck sql`): a JSON array of objects, CSV with a header, or an Arrow IPC stream. The
//! first rows can leave while the query runs.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::{csv, ipc, json};

/// The media type of an Arrow IPC stream.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Arrow,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Arrow => ARROW_STREAM,
        }
    }
}

/// Encodes batches one at a time in the answer's format.
pub struct Encoder(State);

enum State {
    Json {
        rows_written: bool,
    },
    Csv {
        schema: SchemaRef,
        header_written: bool,
    },
    Arrow(Box<ipc::writer::StreamWriter<Vec<u8>>>),
    /// The Arrow writer could not start; the error is reported on the first batch.
    Broken(String),
}

impl Encoder {
    pub fn new(format: Format, schema: SchemaRef) -> Self {
        Self(match format {
            Format::Json => State::Json {
                rows_written: false,
            },
            Format::Csv => State::Csv {
                schema,
                header_written: false,
            },
            Format::Arrow => match ipc::writer::StreamWriter::try_new(Vec::new(), &schema) {
                Ok(writer) => State::Arrow(Box::new(writer)),
                Err(e) => State::Broken(e.to_string()),
            },
        })
    }

    pub fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
        match &mut self.0 {
            State::Json { rows_written } => {
                let mut writer = json::ArrayWriter::new(Vec::new());
                writer.write(batch)?;
                writer.finish()?;
                let array = writer.into_inner();
                // `[{…},{…}]` → the objects, joined to what came before by a comma.
                let inner = match (array.first(), array.last()) {
                    (Some(b'['), Some(b']')) if array.len() > 2 => &array[1..array.len() - 1],
                    _ => &[][..],
                };
                let mut out = Vec::with_capacity(inner.len() + 2);
                if !*rows_written {
                    out.push(b'[');
                } else if !inner.is_empty() {
                    out.push(b',');
                }
                out.extend_from_slice(inner);
                *rows_written = true;
                Ok(out)
            }
            State::Csv { header_written, .. } => {
                let mut writer = csv::WriterBuilder::new()
                    .with_header(!*header_written)
                    .build(Vec::new());
                writer.write(batch)?;
                *header_written = true;
                Ok(writer.into_inner())
            }
            State::Arrow(writer) => {
                writer.write(batch)?;
                Ok(std::mem::take(writer.get_mut()))
            }
            State::Broken(message) => Err(ArrowError::IpcError(message.clone())),
        }
    }

    /// What ends a complete answer (and, with no rows, starts it).
    pub fn finish(&mut self) -> Result<Vec<u8>, ArrowError> {
        match &mut self.0 {
            State::Json { rows_written } => Ok(match rows_written {
                true => b"]".to_vec(),
                false => b"[]".to_vec(),
            }),
            State::Csv {
                schema,
                header_written,
            } => match header_written {
                true => Ok(Vec::new()),
                // The header alone: the client still learns the columns.
                false => {
                    let empty = RecordBatch::new_empty(schema.clone());
                    self.batch(&empty)
                }
            },
            State::Arrow(writer) => {
                writer.finish()?;
                Ok(std::mem::take(writer.get_mut()))
            }
            State::Broken(message) => Err(ArrowError::IpcError(message.clone())),
        }
    }

    /// The last line of a text answer that was cut (`None` for Arrow, which breaks off).
    pub fn failure(&self, reason: &str) -> Option<Vec<u8>> {
        match &self.0 {
            State::Json { .. } | State::Csv { .. } => {
                let reason = reason.replace('"', "'");
                Some(format!("\n\"error: {reason}\n").into_bytes())
            }
            State::Arrow(_) | State::Broken(_) => None,
        }
    }
}

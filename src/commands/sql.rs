//! `spotcheck sql [--data-dir DIR] [--lake URL] [--as-of WHEN] [--format table|csv|json] "SELECT ..."`.
//!
//! CSV and JSON are written as the rows arrive; the table needs every row to size its columns.
//! Text in the table has its control characters escaped, so a value cannot move the cursor,
//! recolour or retitle the analyst's terminal.

use crate::cli::{SqlArgs, SqlFormat};
use anyhow::Result;
use spotcheck_analytics::arrow::array::{Array, ArrayRef, StringArray};
use spotcheck_analytics::arrow::compute::cast;
use spotcheck_analytics::arrow::datatypes::{DataType, Field, Schema};
use spotcheck_analytics::arrow::record_batch::RecordBatch;
use spotcheck_analytics::encode::{Encoder, Format};
use spotcheck_analytics::{Analytics, AsOf, LabNames, ListingRule, PlanRules, QueryLimits};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

pub async fn run(args: SqlArgs) -> Result<ExitCode> {
    let location =
        crate::config::LakeConfig::default().location(args.lake.as_deref(), &args.data_dir)?;
    let as_of = args
        .as_of
        .as_deref()
        .map(AsOf::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let analytics = Analytics::open_with(
        &location,
        QueryLimits::default(),
        ListingRule::default(),
        PlanRules::default(),
        LabNames::default(),
    )
    .await?;
    let mut answer = analytics.stream_as_of(&args.sql, as_of.as_ref()).await?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        SqlFormat::Table => {
            let rows = answer.collect().await?;
            let escaped = rows
                .batches
                .iter()
                .map(escape_controls)
                .collect::<Result<Vec<_>>>()?;
            let table = spotcheck_analytics::arrow::util::pretty::pretty_format_batches(&escaped)?;
            writeln!(out, "{table}")?;
        }
        SqlFormat::Csv | SqlFormat::Json => {
            let format = match args.format {
                SqlFormat::Csv => Format::Csv,
                _ => Format::Json,
            };
            let mut encoder = Encoder::new(format, answer.schema.clone());
            while let Some(batch) = answer.next().await {
                out.write_all(&encoder.batch(&batch?)?)?;
            }
            out.write_all(&encoder.finish()?)?;
            if format == Format::Json {
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Text columns with control characters written as escapes (`\n`, `\t`, `\u{1b}`).
fn escape_controls(batch: &RecordBatch) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let text = matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        );
        if !text {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        }
        let strings = cast(column, &DataType::Utf8)?;
        let strings = strings
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| anyhow::anyhow!("a text column did not cast to text"))?;
        let escaped: StringArray = strings.iter().map(|v| v.map(escape)).collect();
        fields.push(Field::new(
            field.name(),
            DataType::Utf8,
            field.is_nullable(),
        ));
        columns.push(Arc::new(escaped));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

fn escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c.is_control() {
            true => c.escape_default().collect::<Vec<_>>(),
            false => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_chinese_text_is_kept() {
        assert_eq!(
            escape("燃气灶\u{1b}]0;owned\u{7}\n"),
            "燃气灶\\u{1b}]0;owned\\u{7}\\n"
        );
    }
}

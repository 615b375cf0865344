//! `spotcheck sql [--data-dir DIR] [--format table|csv|json] "SELECT ..."`.

use crate::cli::{SqlArgs, SqlFormat};
use anyhow::{Context, Result};
use spotcheck_analytics::arrow::record_batch::RecordBatch;
use spotcheck_analytics::{Analytics, QueryLimits};
use std::process::ExitCode;

pub async fn run(args: SqlArgs) -> Result<ExitCode> {
    let analytics = Analytics::open(&args.data_dir.join("lake"), QueryLimits::default()).await?;
    let rows = analytics.query(&args.sql).await?;
    let output = render(&rows.batches, args.format)?;
    print!("{output}");
    Ok(ExitCode::SUCCESS)
}

fn render(batches: &[RecordBatch], format: SqlFormat) -> Result<String> {
    use spotcheck_analytics::arrow::{csv, json, util::pretty};
    match format {
        SqlFormat::Table => Ok(format!("{}\n", pretty::pretty_format_batches(batches)?)),
        SqlFormat::Csv => {
            let mut writer = csv::Writer::new(Vec::new());
            for batch in batches {
                writer.write(batch)?;
            }
            String::from_utf8(writer.into_inner()).context("CSV output is not UTF-8")
        }
        SqlFormat::Json => {
            let mut writer = json::ArrayWriter::new(Vec::new());
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            writer.write_batches(&refs)?;
            writer.finish()?;
            let text =
                String::from_utf8(writer.into_inner()).context("JSON output is not UTF-8")?;
            Ok(if text.is_empty() {
                "[]\n".into()
            } else {
                format!("{text}\n")
            })
        }
    }
}

//! `spotcheck trace-export --batch PRODUCER/MODEL/BATCH [--format csv|xlsx] [--out FILE] [--raw]`.

use super::components::open_for_documents;
use crate::cli::{ExportFormat, TraceExportArgs};
use anyhow::{Context, Result, bail};
use spotcheck_schemas::keys::BatchKey;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

pub async fn run(args: TraceExportArgs) -> Result<ExitCode> {
    let Some(batch) = BatchKey::parse(&args.batch) else {
        bail!(
            "--batch must be producer/model/batch (write a `/` inside a part as %2F), got {:?}",
            args.batch
        );
    };
    if args.format == ExportFormat::Xlsx && args.out.is_none() && std::io::stdout().is_terminal() {
        bail!("an XLSX file is binary: give --out FILE (or redirect standard output)");
    }
    let (analytics, _) = open_for_documents(&args.lake).await?;
    let trace = spotcheck_reports::trace::trace(&analytics, &batch).await?;
    let bytes = match args.format {
        ExportFormat::Csv if args.raw => trace.to_csv_raw()?,
        ExportFormat::Csv => trace.to_csv()?,
        ExportFormat::Xlsx => trace.to_xlsx()?,
    };
    match &args.out {
        Some(path) => std::fs::write(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(&bytes)?,
    }
    eprintln!("{} hops of batch {batch}", trace.hops.len());
    Ok(ExitCode::SUCCESS)
}

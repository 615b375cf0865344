//! `spotcheck report --quarter 2026Q3 | --year 2026 | --years 2024-2026 [--district 120104]
//! --out DIR`.

use super::components::open_for_documents;
use crate::cli::ReportArgs;
use anyhow::{Result, bail};
use spotcheck_reports::report::{Period, Quarter, Scope, sections, write};
use std::process::ExitCode;
use std::time::Instant;

pub async fn run(args: ReportArgs) -> Result<ExitCode> {
    let period = match (&args.quarter, &args.year, &args.years) {
        (Some(quarter), _, _) => match Quarter::parse(quarter) {
            Some(quarter) => Period::Quarter(quarter),
            None => bail!("--quarter must look like 2026Q3, got {quarter:?}"),
        },
        (None, Some(year), _) => match Period::year(year) {
            Some(period) => period,
            None => bail!("--year must look like 2026, got {year:?}"),
        },
        (None, None, Some(years)) => match Period::years(years) {
            Some(period) => period,
            None => bail!(
                "--years must look like 2024-2026: the first year before the last, at most ten \
                 years, got {years:?}"
            ),
        },
        (None, None, None) => {
            bail!("give --quarter (e.g. 2026Q3), --year (e.g. 2026) or --years (e.g. 2024-2026)")
        }
    };
    if let Some(district) = &args.district
        && (district.is_empty() || !district.chars().all(|c| c.is_ascii_digit()))
    {
        bail!("--district must be a division code or its prefix (digits), got {district:?}");
    }
    let started = Instant::now();
    let (analytics, config) = open_for_documents(&args.lake).await?;
    let scope = Scope {
        period,
        district: args.district,
        due: Some(period.due_zh(&config.traceback.authority().calendar)),
    };
    let sections = sections(&analytics, &scope).await?;
    let written = write(&scope, &sections, &args.out)?;
    eprintln!(
        "report {period}: {} files in {} ({:.1} s)",
        written.len(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

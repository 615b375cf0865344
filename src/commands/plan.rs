//! `spotcheck plan --quarter Q [--district D] [--organiser O] [--limit N] [--out FILE.xlsx]`:
//! where to sample next, ranked by risk with the reasons, printed and optionally as a workbook.

use super::components::open_for_documents;
use crate::cli::PlanArgs;
use anyhow::{Context, Result};
use spotcheck_analytics::SuggestQuery;
use spotcheck_reports::report::Quarter;
use std::process::ExitCode;

pub async fn run(args: PlanArgs) -> Result<ExitCode> {
    let quarter = Quarter::parse(&args.quarter).with_context(|| {
        format!(
            "--quarter {} is not a quarter: write it as 2027Q1",
            args.quarter
        )
    })?;
    let (analytics, _) = open_for_documents(&args.lake).await?;
    let query = SuggestQuery {
        as_of: quarter.bounds().0,
        district: args.district,
        organiser: args.organiser,
        limit: args.limit.max(1),
    };
    let items = analytics.suggest(&query).await?;
    for item in &items {
        println!(
            "{:>4}  {:>4} 分  {}  {}{}\n        {}",
            item.rank,
            item.score,
            item.uscc,
            item.name,
            if item.follow_up {
                "（跟踪抽查）"
            } else {
                ""
            },
            item.reasons.join("；")
        );
    }
    if let Some(out) = &args.out {
        let bytes = spotcheck_reports::plan::suggestions_xlsx(&items)?;
        std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("{} units written to {}", items.len(), out.display());
    }
    Ok(ExitCode::SUCCESS)
}

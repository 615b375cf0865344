//! `spotcheck bulletin --task TASK_ID [--organiser NAME] --out DIR`.

use super::components::open_for_documents;
use crate::cli::BulletinArgs;
use anyhow::{Context, Result};
use spotcheck_reports::bulletin::{SHEETS, bulletin};
use std::process::ExitCode;

pub async fn run(args: BulletinArgs) -> Result<ExitCode> {
    let (analytics, _) = open_for_documents(&args.lake).await?;
    let bulletin = bulletin(&analytics, &args.task_id, args.organiser.as_deref()).await?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    for (name, bytes) in [
        ("bulletin.xlsx", bulletin.to_xlsx()?),
        ("bulletin.html", bulletin.to_html()?.into_bytes()),
    ] {
        let path = args.out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let counts: Vec<String> = SHEETS
        .iter()
        .zip(&bulletin.lists)
        .map(|(name, list)| format!("{name} {}", list.len()))
        .collect();
    eprintln!(
        "bulletin of task {}: {}; {} failures not final yet (left out); written to {}",
        args.task_id,
        counts.join(", "),
        bulletin.pending,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

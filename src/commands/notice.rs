//! `spotcheck notice --case ID --kind KIND [--to USCC] [--format docx|html] [--out FILE]`.

use super::components::open_for_documents;
use crate::cli::{DocumentFormat, NoticeArgs};
use anyhow::{Context, Result, anyhow};
use spotcheck_reports::notice;
use spotcheck_schemas::enums::{NoticeKind, allowed_values};
use std::process::ExitCode;

pub async fn run(args: NoticeArgs) -> Result<ExitCode> {
    let kind: NoticeKind = args.kind.parse().map_err(|()| {
        anyhow!(
            "--kind must be one of {}, got {:?}",
            allowed_values(NoticeKind::ALL, NoticeKind::as_str),
            args.kind
        )
    })?;
    let (analytics, config) = open_for_documents(&args.lake).await?;
    let number = notice::find(&analytics, &args.case_id, kind, args.to.as_deref()).await?;
    let today = spotcheck_schemas::days::today();
    let document = notice::notice(
        &analytics,
        &args.case_id,
        number,
        today,
        &config.traceback.authority(),
    )
    .await?;
    let (bytes, extension) = match args.format {
        DocumentFormat::Docx => (document.to_docx()?, "docx"),
        DocumentFormat::Html => (document.to_html()?.into_bytes(), "html"),
    };
    let out = args.out.unwrap_or_else(|| {
        format!("{}-{}.{extension}", kind.as_str(), args.case_id)
            .replace(['/', '\\'], "_")
            .into()
    });
    std::fs::write(&out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "{} to {} ({}): {}",
        document.title,
        document.recipient.name,
        document.recipient.uscc,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

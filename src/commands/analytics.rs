//! `spotcheck analytics`: the Postgres-protocol SQL front end alone, over a data dir's lake.

use super::components::{open_analytics, start_pg};
use crate::cli::AnalyticsArgs;
use anyhow::{Context, Result};
use std::process::ExitCode;

pub async fn run(args: AnalyticsArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create the data dir {}", args.data_dir.display()))?;
    let (config, dev_tokens) =
        crate::config::load_or_create(args.config.as_deref(), &args.data_dir)?;
    if let Some(tokens) = dev_tokens {
        tracing::info!("dev tokens (one per role) are in {}", tokens.display());
    }
    let shutdown = crate::signals::shutdown_token();
    let analytics = open_analytics(&config, &args.data_dir).await?;
    let pg = start_pg(analytics, &config, args.pg, shutdown).await?;
    pg.await.context("the Postgres-protocol task panicked")??;
    Ok(ExitCode::SUCCESS)
}

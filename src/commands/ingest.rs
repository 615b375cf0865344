//! `spotcheck ingest --brokers ...`: the HTTP API alone, for scale-out.

use super::components::{connect, start_ingest};
use crate::cli::ComponentArgs;
use crate::config::load_or_create;
use anyhow::{Context, Result};
use std::process::ExitCode;
use std::time::Duration;

pub async fn run(args: ComponentArgs) -> Result<ExitCode> {
    let common = &args.common;
    let brokers = common
        .brokers
        .as_deref()
        .context("--brokers is required when running one component alone")?;
    std::fs::create_dir_all(&common.data_dir)
        .with_context(|| format!("cannot create the data dir {}", common.data_dir.display()))?;
    let (config, dev_tokens) = load_or_create(common.config.as_deref(), &common.data_dir)?;
    if let Some(tokens) = dev_tokens {
        tracing::info!("dev tokens (one per role) are in {}", tokens.display());
    }
    let shutdown = crate::signals::shutdown_token();
    let shared = connect(brokers, &config, "spotcheck-ingest").await?;
    let ingest = start_ingest(&shared, &config, &common.data_dir, common.http, shutdown).await?;
    let served = ingest.await.context("the ingest task panicked")?;
    shared.publisher.flush(Duration::from_secs(10));
    served?;
    Ok(ExitCode::SUCCESS)
}

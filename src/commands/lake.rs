//! `spotcheck lake --brokers ...`: the Parquet lake writer alone.

use super::components::{connect, start_lake};
use crate::cli::ComponentArgs;
use crate::config::load_or_create;
use anyhow::{Context, Result};
use std::process::ExitCode;

pub async fn run(args: ComponentArgs) -> Result<ExitCode> {
    let common = &args.common;
    let brokers = common
        .brokers
        .as_deref()
        .context("--brokers is required when running one component alone")?;
    std::fs::create_dir_all(&common.data_dir)
        .with_context(|| format!("cannot create the data dir {}", common.data_dir.display()))?;
    let (config, _) = load_or_create(common.config.as_deref(), &common.data_dir)?;
    let shutdown = crate::signals::shutdown_token();
    let shared = connect(brokers, &config, "spotcheck-lake").await?;
    tracing::info!(
        "lake writer writing to {}",
        common.data_dir.join("lake").display()
    );
    start_lake(
        &shared,
        &common.data_dir,
        spotcheck_runtime::Membership::Group,
        shutdown,
    )
    .await
    .context("the lake task panicked")??;
    Ok(ExitCode::SUCCESS)
}

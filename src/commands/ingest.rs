//! `spotcheck ingest --brokers ...`: the HTTP API alone, for scale-out.

use super::components::{connect_alone, start_ingest};
use crate::cli::ComponentArgs;
use anyhow::{Context, Result};
use std::process::ExitCode;
use std::time::Duration;

pub async fn run(args: ComponentArgs) -> Result<ExitCode> {
    let common = &args.common;
    let shutdown = crate::signals::shutdown_token();
    let (config, shared) = connect_alone(common, "spotcheck-ingest").await?;
    let ingest = start_ingest(&shared, &config, &common.data_dir, common.http, shutdown).await?;
    let served = ingest.await.context("the ingest task panicked")?;
    shared.publisher.flush(Duration::from_secs(10));
    served?;
    Ok(ExitCode::SUCCESS)
}

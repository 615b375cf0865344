//! `spotcheck lake --brokers ...`: the Parquet lake writer alone.

use super::components::{connect_alone, start_lake};
use crate::cli::ComponentArgs;
use anyhow::{Context, Result};
use spotcheck_runtime::Membership;
use std::process::ExitCode;

pub async fn run(args: ComponentArgs) -> Result<ExitCode> {
    let common = &args.common;
    let shutdown = crate::signals::shutdown_token();
    let (_, shared) = connect_alone(common, "spotcheck-lake").await?;
    let lake = common.data_dir.join("lake");
    tracing::info!("lake writer writing to {}", lake.display());
    let writer = start_lake(&shared, &common.data_dir, Membership::Group, shutdown);
    writer.await.context("the lake task panicked")??;
    Ok(ExitCode::SUCCESS)
}

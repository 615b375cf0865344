//! `spotcheck traceback --brokers ...`: the traceback stage alone.

use super::components::{connect_alone, open_traceback_store, restore_traceback, start_traceback};
use crate::cli::ComponentArgs;
use anyhow::{Context, Result};
use spotcheck_runtime::Membership;
use std::process::ExitCode;

pub async fn run(args: ComponentArgs) -> Result<ExitCode> {
    let common = &args.common;
    let shutdown = crate::signals::shutdown_token();
    let (config, shared) = connect_alone(common, "spotcheck-traceback").await?;
    let store = open_traceback_store(&common.data_dir)?;
    restore_traceback(&shared, &store).await?;
    // Dispositions are keyed by case, results and shipments by batch: one instance must see all
    // of them, so the stage reads every partition (see the README on scaling it out).
    let stage = start_traceback(&shared, &config, store, Membership::AllPartitions, shutdown);
    stage.await.context("the traceback task panicked")??;
    Ok(ExitCode::SUCCESS)
}

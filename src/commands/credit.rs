//! `spotcheck credit --brokers ...`: the credit stage alone (its feed is served by this process
//! only when it also serves HTTP, i.e. inside `up`).

use super::components::{connect_alone, open_credit_store, start_credit};
use crate::cli::ComponentArgs;
use anyhow::{Context, Result};
use spotcheck_runtime::Membership;
use std::process::ExitCode;

pub async fn run(args: ComponentArgs) -> Result<ExitCode> {
    let common = &args.common;
    let shutdown = crate::signals::shutdown_token();
    let (_, shared) = connect_alone(common, "spotcheck-credit").await?;
    let store = open_credit_store(&common.data_dir)?;
    // One instance owns the feed's order, so it reads every partition of the cases topic.
    let stage = start_credit(&shared, store, Membership::AllPartitions, shutdown);
    stage.await.context("the credit task panicked")??;
    Ok(ExitCode::SUCCESS)
}

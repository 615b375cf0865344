//! `spotcheck traceback --brokers ...`: the traceback stage alone, serving `GET /v1/cases`.

use super::components::{
    connect_alone, open_traceback_store, restore_traceback, run_with_http, start_http,
    start_traceback,
};
use crate::cli::ComponentArgs;
use anyhow::Result;
use spotcheck_runtime::Membership;
use std::process::ExitCode;

pub async fn run(args: ComponentArgs) -> Result<ExitCode> {
    let common = &args.common;
    let shutdown = crate::signals::shutdown_token();
    let (config, shared) = connect_alone(common, "spotcheck-traceback").await?;
    let store = open_traceback_store(&common.data_dir)?;
    restore_traceback(&shared, &store).await?;
    // Instances split the batches (results and shipments partitions); see docs/operations.md,
    // "Scaling out".
    let stage = start_traceback(
        &shared,
        &config,
        store.clone(),
        Membership::Group,
        shutdown.clone(),
    );
    let reads = |app: &_| vec![spotcheck_api::routes::cases(app, store)];
    let http = start_http(&shared, &config, common.http, None, reads, shutdown.clone()).await?;
    run_with_http("traceback", stage, http, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

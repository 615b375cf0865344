//! `spotcheck lake --brokers ...`: the Parquet lake writer alone. Instances share the lake
//! directory and split the partitions in one consumer group (see `pipelines/lake`).

use super::components::{ReadModels, connect_alone, run_with_http, start_http, start_lake};
use crate::cli::ComponentArgs;
use anyhow::Result;
use spotcheck_runtime::Membership;
use std::process::ExitCode;

pub async fn run(args: ComponentArgs) -> Result<ExitCode> {
    let common = &args.common;
    let shutdown = crate::signals::shutdown_token();
    let (config, shared) = connect_alone(common, "spotcheck-lake").await?;
    let lake = common.data_dir.join("lake");
    tracing::info!("lake writer writing to {}", lake.display());
    let writer = start_lake(
        &shared,
        &common.data_dir,
        Membership::Group,
        shutdown.clone(),
    );
    let http = start_http(
        &shared,
        &config,
        common.http,
        None,
        ReadModels::default(),
        shutdown.clone(),
    )
    .await?;
    run_with_http("lake", writer, http, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

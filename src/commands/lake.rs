//! `spotcheck lake --brokers ... [--lake s3://bucket/prefix]`: the lake writer alone. Instances
//! share the lake's Delta tables and split the partitions in one consumer group (see
//! `stages/lake`).

use super::components::{connect_alone, run_with_http, start_http, start_lake};
use crate::cli::ComponentArgs;
use anyhow::Result;
use spotcheck_runtime::Membership;
use std::process::ExitCode;

pub async fn run(args: ComponentArgs) -> Result<ExitCode> {
    let common = &args.common;
    let shutdown = crate::signals::shutdown_token();
    let (config, shared) = connect_alone(common, "spotcheck-lake").await?;
    let location = config
        .lake
        .location(common.lake.as_deref(), &common.data_dir)?;
    tracing::info!("lake writer writing to the Delta tables in {location}");
    let writer = start_lake(
        &shared,
        &location,
        config.lake.maintenance(),
        Membership::Group,
        None,
        shutdown.clone(),
    );
    let http = start_http(
        &shared,
        &config,
        common.http,
        None,
        |_| Vec::new(),
        shutdown.clone(),
    )
    .await?;
    run_with_http("lake", writer, http, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

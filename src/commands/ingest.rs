//! `spotcheck ingest --brokers ...`: the HTTP API alone, for scale-out.

use super::components::{connect_alone, open_analytics, open_ledger, start_http};
use crate::cli::ComponentArgs;
use anyhow::{Context, Result};
use spotcheck_api::routes;
use std::process::ExitCode;
use std::time::Duration;

pub async fn run(args: ComponentArgs) -> Result<ExitCode> {
    let common = &args.common;
    let shutdown = crate::signals::shutdown_token();
    let (config, shared) = connect_alone(common, "spotcheck-ingest").await?;
    // `/v1/sql` reads the lake of this data dir (shared storage when components are spread out).
    let location = config
        .lake
        .location(common.lake.as_deref(), &common.data_dir)?;
    let analytics = open_analytics(&config, &location).await?;
    let ledger = open_ledger(&shared, &common.data_dir).await?;
    let ingest = start_http(
        &shared,
        &config,
        common.http,
        Some("ingest"),
        |app| {
            vec![
                routes::intake(app, ledger, analytics.clone()),
                routes::lake(
                    app,
                    analytics,
                    std::sync::Arc::new(config.traceback.authority()),
                ),
            ]
        },
        shutdown,
    )
    .await?;
    let served = ingest.await.context("the ingest task panicked")?;
    shared.publisher.flush(Duration::from_secs(10));
    served?;
    Ok(ExitCode::SUCCESS)
}

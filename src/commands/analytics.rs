//! `spotcheck analytics --brokers ...`: SQL over a data dir's lake alone — the Postgres
//! protocol on `--pg` and `POST /v1/sql` on `--http`.

use super::components::{connect_alone, open_analytics, start_http, start_pg};
use crate::cli::AnalyticsArgs;
use anyhow::{Context, Result};
use std::process::ExitCode;

pub async fn run(args: AnalyticsArgs) -> Result<ExitCode> {
    let common = &args.common;
    let shutdown = crate::signals::shutdown_token();
    let (config, shared) = connect_alone(common, "spotcheck-analytics").await?;
    let location = config
        .lake
        .location(common.lake.as_deref(), &common.data_dir)?;
    let analytics = open_analytics(&config, &location).await?;
    let pg = start_pg(analytics.clone(), &config, args.pg, shutdown.clone()).await?;
    let authority = std::sync::Arc::new(config.traceback.authority());
    let reads = |app: &_| vec![spotcheck_api::routes::lake(app, analytics, authority)];
    let http = start_http(&shared, &config, common.http, None, reads, shutdown.clone()).await?;
    let pg_outcome = pg.await.context("the Postgres-protocol task panicked")?;
    shutdown.cancel();
    let served = http.await.context("the HTTP task panicked")?;
    pg_outcome?;
    served?;
    Ok(ExitCode::SUCCESS)
}

//! `spotcheck credit --brokers ...`: the credit stage alone, serving `GET /v1/disclosures` and
//! delivering the configured webhooks.

use super::components::{
    connect_alone, open_credit_store, run_with_http, start_credit, start_http, start_webhooks,
};
use crate::cli::ComponentArgs;
use anyhow::{Context, Result};
use spotcheck_runtime::Membership;
use std::process::ExitCode;

pub async fn run(args: ComponentArgs) -> Result<ExitCode> {
    let common = &args.common;
    let shutdown = crate::signals::shutdown_token();
    let (config, shared) = connect_alone(common, "spotcheck-credit").await?;
    let store = open_credit_store(&common.data_dir)?;
    // One instance owns the feed's order, so it reads every partition of the cases topic.
    let stage = start_credit(
        &shared,
        store.clone(),
        Membership::AllPartitions,
        shutdown.clone(),
    );
    let webhooks = start_webhooks(&config, &store, &shutdown);
    let reads = |app: &_| vec![spotcheck_api::routes::disclosures(app, store)];
    let http = start_http(&shared, &config, common.http, None, reads, shutdown.clone()).await?;
    run_with_http("credit", stage, http, shutdown).await?;
    for webhook in webhooks {
        webhook.await.context("a webhook task panicked")?;
    }
    Ok(ExitCode::SUCCESS)
}

//! `spotcheck up`: every component in one process, on an embedded broker unless `--brokers`.

use super::components::{
    connect, open_analytics, open_credit_store, open_ledger, open_traceback_store,
    restore_traceback, start_credit, start_http, start_pg, start_traceback, start_webhooks,
};
use super::stage_runtime::StageRuntime;
use super::supervisor::{Component, supervise};
use crate::cli::UpArgs;
use crate::config::load_or_create;
use anyhow::{Context, Result};
use spotcheck_api::routes;
use spotcheck_broker::EmbeddedBroker;
use std::process::ExitCode;
use std::time::Duration;

/// Bodies in flight that make a burst: a few hundred results, never a trickle of single posts.
const BURST_BYTES: usize = 128 * 1024;

pub async fn run(args: UpArgs) -> Result<ExitCode> {
    let data_dir = &args.common.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    let (config, dev_tokens) = load_or_create(args.common.config.as_deref(), data_dir)?;
    if let Some(tokens) = &dev_tokens {
        tracing::info!("dev tokens (one per role) are in {}", tokens.display());
    }
    let shutdown = crate::signals::shutdown_token();
    let (broker, broker_metrics) = match &args.common.brokers {
        Some(_) => (None, None),
        None => {
            let metrics = broker_metrics()?;
            let mut options = broker_options(
                &config.broker,
                args.broker_storage.as_deref(),
                args.broker_fsync,
                args.broker_flush_ms,
            );
            options.metrics = Some(metrics.clone());
            let broker = start_embedded_broker(data_dir, args.broker_port, &options).await?;
            (Some(broker), Some(metrics))
        }
    };
    let brokers = match (&args.common.brokers, &broker) {
        (Some(brokers), _) => brokers.clone(),
        (None, Some(broker)) => broker.bootstrap(),
        (None, None) => unreachable!("an embedded broker runs when no --brokers is given"),
    };
    let mut shared = connect(&brokers, &config, "spotcheck-up").await?;
    if let Some(metrics) = broker_metrics {
        let registry = shared.metrics.registry();
        registry
            .register(Box::new(metrics.conflict_retries))
            .and_then(|()| registry.register(Box::new(metrics.log_writes)))
            .context("cannot register the broker's metrics")?;
    }
    // The stages yield the cores to the labs' requests and the broker (`--stages-nice`).
    let stage_runtime = StageRuntime::start(args.stages_nice)?;
    shared.stages = stage_runtime.handle();
    // Nor on the way to the broker: the stages' records go through a producer of their own.
    shared.stage_publisher = shared
        .publisher
        .another()
        .context("cannot create the stages' Kafka producer")?;
    // Niceness cannot keep them out of the gaps while a request waits for the broker: during a
    // lab's burst they hold back too (`--stages-hold-ms`).
    shared.make_way = (args.stages_hold_ms > 0).then(|| spotcheck_runtime::burst::MakeWay {
        bursts: spotcheck_runtime::burst::Bursts::default(),
        at_least: BURST_BYTES,
        at_most: Duration::from_millis(args.stages_hold_ms),
    });
    let location = config
        .lake
        .location(args.common.lake.as_deref(), data_dir)?;
    tracing::info!("the lake's Delta tables are in {location}");
    // The writer tells the SQL session of its commits, so queries find the log already read.
    let commits = spotcheck_lake::CommitSignal::default();
    let lake = super::components::start_lake(
        &shared,
        &location,
        config.lake.maintenance(),
        spotcheck_runtime::Membership::AllPartitions,
        Some(commits.clone()),
        shutdown.clone(),
    );
    let cases = open_traceback_store(data_dir)?;
    restore_traceback(&shared, &cases).await?;
    let traceback = start_traceback(
        &shared,
        &config,
        cases.clone(),
        spotcheck_runtime::Membership::AllPartitions,
        shutdown.clone(),
    );
    let feed = open_credit_store(data_dir)?;
    let credit = start_credit(
        &shared,
        feed.clone(),
        spotcheck_runtime::Membership::AllPartitions,
        shutdown.clone(),
    );
    let webhooks = start_webhooks(&config, &feed, &shutdown);
    let analytics = open_analytics(&config, &location).await?;
    analytics.follow(commits.subscribe());
    let ledger = open_ledger(&shared, data_dir).await?;
    let ingest = start_http(
        &shared,
        &config,
        args.common.http,
        Some("ingest"),
        |app| {
            vec![
                routes::intake(app, ledger, analytics.clone()),
                routes::cases(app, cases),
                routes::disclosures(app, feed),
                routes::lake(
                    app,
                    analytics.clone(),
                    std::sync::Arc::new(config.traceback.authority()),
                ),
            ]
        },
        shutdown.clone(),
    )
    .await?;
    let pg = start_pg(analytics, &config, args.pg, shutdown.clone()).await?;
    tracing::info!("spotcheck is up; Ctrl-C or SIGTERM stops it");
    let mut components = vec![
        Component::new("ingest", ingest),
        Component::new("pg", pg),
        Component::new("lake", lake),
        Component::new("traceback", traceback),
        Component::new("credit", credit),
    ];
    for webhook in webhooks {
        components.push(Component::new(
            "webhook",
            tokio::spawn(async move { webhook.await.map_err(anyhow::Error::from) }),
        ));
    }
    let outcome = supervise(
        components,
        shutdown.clone(),
        &shared.health,
        &shared.metrics.component_up,
    )
    .await;
    shared.publisher.flush(Duration::from_secs(10));
    shared.stage_publisher.flush(Duration::from_secs(10));
    // Clients go before the broker, so they do not log its disappearance as an error.
    drop(shared);
    drop(stage_runtime);
    if let Some(broker) = broker {
        broker.stop().await;
    }
    outcome?;
    tracing::info!("stopped cleanly");
    Ok(ExitCode::SUCCESS)
}

/// `spotcheck broker`: the embedded broker alone, until Ctrl-C or SIGTERM.
pub async fn run_broker_alone(args: crate::cli::BrokerArgs) -> Result<ExitCode> {
    let shutdown = crate::signals::shutdown_token();
    let config = crate::config::load_for_broker(args.config.as_deref(), &args.data_dir)?;
    let options = broker_options(&config, args.storage.as_deref(), args.fsync, args.flush_ms);
    let broker = start_embedded_broker(&args.data_dir, args.port, &options).await?;
    println!("{}", broker.bootstrap());
    shutdown.cancelled().await;
    broker.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// The configured broker options, with the engine and fsync given on the command line (if any).
fn broker_options(
    config: &crate::config::BrokerConfig,
    storage: Option<&str>,
    fsync: Option<bool>,
    flush_ms: Option<u64>,
) -> spotcheck_broker::BrokerOptions {
    let mut options = config.options();
    options.fsync = fsync.unwrap_or(options.fsync);
    if let Some(ms) = flush_ms {
        // The broker keeps it at 1 ms or more.
        options.flush_interval = Duration::from_millis(ms);
    }
    options.engine = match storage {
        Some("sqlite") => spotcheck_broker::Engine::Sqlite,
        Some(_) => spotcheck_broker::Engine::Slatedb,
        None => options.engine,
    };
    options
}

async fn start_embedded_broker(
    data_dir: &std::path::Path,
    port: Option<u16>,
    options: &spotcheck_broker::BrokerOptions,
) -> Result<EmbeddedBroker> {
    let dir = data_dir.join("broker");
    let broker = EmbeddedBroker::start(&dir, port, options)
        .await
        .context("cannot start the embedded broker")?;
    if let Some(kept) = broker.kept() {
        tracing::warn!("{kept}");
    }
    tracing::info!(
        "started the embedded Kafka-protocol broker (Tansu on {}) on {} with its log in {}",
        broker.engine().as_str(),
        broker.bootstrap(),
        broker.log().display()
    );
    Ok(broker)
}

/// The embedded broker's metrics (`spotcheck_broker::BrokerMetrics`), registered once it runs.
fn broker_metrics() -> Result<spotcheck_broker::BrokerMetrics> {
    use spotcheck_runtime::metrics::{LATENCY_BUCKETS, names};
    Ok(spotcheck_broker::BrokerMetrics {
        conflict_retries: prometheus::IntCounter::new(
            names::BROKER_CONFLICT_RETRIES,
            "Writes the embedded broker ran again after a transaction conflict",
        )?,
        log_writes: prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                names::BROKER_LOG_WRITE_DURATION,
                "Write-outs of the embedded broker's log (write and fsync) that acknowledgements wait for",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )?,
    })
}

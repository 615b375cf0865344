//! Starting components, shared by `up` (all in one process) and the one-component commands.

use crate::config::Config;
use anyhow::{Context, Result};
use spotcheck_analytics::Analytics;
use spotcheck_api::access::Authenticator;
use spotcheck_api::guard::{Analysts, Policy};
use spotcheck_api::ledger::Ledger;
use spotcheck_api::{App, AppParts};
use spotcheck_runtime::retry::{ConstantBuilder, Retryable};
use spotcheck_runtime::{Health, KafkaSettings, Metrics, Publisher, TopicSettings, ensure_topics};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What every component of a process shares: the brokers, one metrics registry, the producers.
pub struct Shared {
    pub kafka: KafkaSettings,
    pub metrics: Metrics,
    pub health: Health,
    /// What ingest publishes through.
    pub publisher: Publisher,
    /// What the stages publish through: the same producer, or in `up` one of their own
    /// ([`Publisher::another`]), so a lab's record never queues behind a stage's batch.
    pub stage_publisher: Publisher,
    /// How long an idle consumer that owns every partition rests between fetches (`None`: it
    /// never rests); see [`spotcheck_runtime::driver::Rest`].
    pub rest_when_idle: Option<Duration>,
    /// Where the stages run: the runtime of the process, or in `up` a runtime of their own at a
    /// lower priority ([`super::stage_runtime`]).
    pub stages: tokio::runtime::Handle,
    /// In `up`: the stages hold their batches back while ingest takes a lab's burst in
    /// ([`spotcheck_runtime::burst`]). `None`: they never do (a component alone).
    pub make_way: Option<spotcheck_runtime::burst::MakeWay>,
}

/// What a one-component command (`ingest`, `lake`, ...) starts from: its `--brokers`, its
/// config (the dev config of the data dir when none is given), and the shared clients.
pub async fn connect_alone(
    common: &crate::cli::CommonArgs,
    client_id: &str,
) -> Result<(Config, Shared)> {
    let brokers = common
        .brokers
        .as_deref()
        .context("--brokers is required when running one component alone")?;
    std::fs::create_dir_all(&common.data_dir)
        .with_context(|| format!("cannot create the data dir {}", common.data_dir.display()))?;
    let (config, dev_tokens) =
        crate::config::load_or_create(common.config.as_deref(), &common.data_dir)?;
    if let Some(tokens) = dev_tokens {
        tracing::info!("dev tokens (one per role) are in {}", tokens.display());
    }
    let shared = connect(brokers, &config, client_id).await?;
    Ok((config, shared))
}

/// Connects to the brokers and makes sure every topic exists (waiting up to a minute for them).
pub async fn connect(brokers: &str, config: &Config, client_id: &str) -> Result<Shared> {
    let mut kafka = KafkaSettings::new(brokers, client_id);
    kafka.delivery_timeout = config.kafka.delivery_timeout();
    kafka.extra = config.kafka.properties.clone().into_iter().collect();
    let topics = TopicSettings {
        replication_factor: config.kafka.replication_factor,
    };
    prepare_topics(&kafka, topics, Duration::from_secs(60)).await?;
    let metrics = Metrics::new(prometheus::Registry::new()).context("cannot register metrics")?;
    let publisher =
        Publisher::new(&kafka, metrics.clone()).context("cannot create the Kafka producer")?;
    Ok(Shared {
        kafka,
        metrics,
        health: Health::default(),
        stage_publisher: publisher.clone(),
        publisher,
        rest_when_idle: config.kafka.rest_when_idle(),
        stages: tokio::runtime::Handle::current(),
        make_way: None,
    })
}

/// Makes sure every topic of the catalogue exists, trying every 2 s for `within` while the
/// brokers are not ready.
pub async fn prepare_topics(
    kafka: &KafkaSettings,
    topics: TopicSettings,
    within: Duration,
) -> Result<()> {
    let every = Duration::from_secs(2);
    let tries = usize::try_from(within.as_secs() / every.as_secs()).unwrap_or(usize::MAX);
    (|| ensure_topics(kafka, topics))
        .retry(
            ConstantBuilder::new()
                .with_delay(every)
                .with_max_times(tries),
        )
        .notify(|error, _| tracing::warn!(%error, "brokers not ready; retrying"))
        .await
        .with_context(|| {
            format!(
                "cannot prepare the topics on {} (tried for {} s)",
                kafka.brokers,
                within.as_secs()
            )
        })
}

/// Opens the ingest ledger of the data dir and catches it up with the topics.
pub async fn open_ledger(shared: &Shared, data_dir: &Path) -> Result<Ledger> {
    let dir = data_dir.join("ingest");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ledger = Ledger::open(&dir.join("ledger.redb")).context("cannot open the ingest ledger")?;
    tracing::info!("catching the ingest ledger up with the topics");
    catch_up(ledger, &shared.kafka).await
}

/// Starts the HTTP API on `http` with the routers `components` makes (`spotcheck_api::routes`)
/// beside the operational routes; the task ends when `shutdown` fires and requests are drained.
/// A process that takes records names its intake in `ready_as`, reported in `/readyz` while the
/// server runs.
pub async fn start_http(
    shared: &Shared,
    config: &Config,
    http: SocketAddr,
    ready_as: Option<&'static str>,
    components: impl FnOnce(&App) -> Vec<spotcheck_api::routes::Component>,
    shutdown: CancellationToken,
) -> Result<JoinHandle<Result<()>>> {
    let auth = Authenticator::new(&config.token).map_err(anyhow::Error::msg)?;
    let app = App::new(AppParts {
        auth,
        publisher: shared.publisher.clone(),
        metrics: shared.metrics.clone(),
        health: shared.health.clone(),
        limits: config.limits.body_limits(),
        source: "/spotcheck/ingest".into(),
        clock: spotcheck_api::app::system_clock(),
        bursts: shared
            .make_way
            .as_ref()
            .map(|way| way.bursts.clone())
            .unwrap_or_default(),
    })
    .context("cannot register HTTP metrics")?;
    let routes = spotcheck_api::api(app.clone(), components(&app));
    let limits = config.limits.http_limits();
    let listener = tokio::net::TcpListener::bind(http)
        .await
        .with_context(|| format!("cannot listen on {http}"))?;
    tracing::info!("HTTP API on http://{}", listener.local_addr()?);
    let health = shared.health.clone();
    if let Some(name) = ready_as {
        health.set(name, true);
    }
    Ok(tokio::spawn(async move {
        let served = spotcheck_api::serve(listener, limits, routes, shutdown).await;
        if let Some(name) = ready_as {
            health.set(name, false);
        }
        served.context("the HTTP server failed")
    }))
}

/// Indexes what reached the topics since the ledger last looked (e.g. just before a crash).
async fn catch_up(ledger: Ledger, kafka: &KafkaSettings) -> Result<Ledger> {
    let kafka = kafka.clone();
    let (ledger, indexed) = tokio::task::spawn_blocking(move || {
        let indexed = ledger.catch_up(&kafka, &spotcheck_api::intake::TOPICS);
        (ledger, indexed)
    })
    .await?;
    let indexed = indexed.context("cannot catch the ingest ledger up with the topics")?;
    if indexed > 0 {
        tracing::info!(indexed, "ingest ledger caught up with the topics");
    }
    Ok(ledger)
}

/// Starts the lake writer; the task ends when `shutdown` fires, after a final flush.
/// `membership` is `AllPartitions` inside `up` (one process owns everything), `Group` alone.
/// Optimize and vacuum run beside it (`[lake]`), until `shutdown`.
pub fn start_lake(
    shared: &Shared,
    location: &spotcheck_lake::LakeLocation,
    maintenance: Option<spotcheck_lake::MaintainSettings>,
    membership: spotcheck_runtime::Membership,
    commits: Option<spotcheck_lake::CommitSignal>,
    shutdown: CancellationToken,
) -> JoinHandle<Result<()>> {
    // The writer's commits wake the SQL session (`up`) and the quick maintenance rounds.
    let commits = commits.unwrap_or_default();
    if let Some(settings) = maintenance {
        shared.stages.spawn(spotcheck_lake::run_maintenance(
            location.clone(),
            settings,
            Some(commits.subscribe()),
            shutdown.clone(),
        ));
    }
    let mut writer =
        spotcheck_lake::LakeWriter::new(spotcheck_lake::LakeSettings::at(location.root().as_str()));
    match spotcheck_lake::LakeMetrics::new(shared.metrics.registry()) {
        Ok(metrics) => writer = writer.with_metrics(metrics),
        Err(error) => tracing::warn!(%error, "lake metrics not registered"),
    }
    writer = writer.with_commit_signal(commits);
    let mut topics = vec![spotcheck_schemas::topics::RESULTS];
    topics.extend(spotcheck_lake::entities::TOPICS);
    spawn_stage(shared, "lake", &topics, &[], membership, writer, shutdown)
}

/// Runs `stage` on the driver as group `spotcheck-<name>` over `topics` (of which `global` are
/// read whole by every instance), reporting it in `/readyz` under `name` while it runs.
fn spawn_stage<S: spotcheck_runtime::Stage + 'static>(
    shared: &Shared,
    name: &'static str,
    topics: &[&str],
    global: &[&str],
    membership: spotcheck_runtime::Membership,
    stage: S,
    shutdown: CancellationToken,
) -> JoinHandle<Result<()>> {
    let mut settings = spotcheck_runtime::DriverSettings::new(format!("spotcheck-{name}"), topics);
    settings.max_batch = 5000;
    settings.membership = membership;
    settings.global_topics = global.iter().map(|t| (*t).to_owned()).collect();
    // Only a process that owns every partition writes (nearly) all it reads: its own publisher
    // wakes it. Instances sharing partitions read what other processes wrote, so they fetch.
    if membership == spotcheck_runtime::Membership::AllPartitions
        && let Some(at_most) = shared.rest_when_idle
    {
        settings.rest = Some(spotcheck_runtime::driver::Rest {
            after: Duration::from_secs(2),
            at_most,
            wake: shared.publisher.written(),
        });
    }
    settings.make_way.clone_from(&shared.make_way);
    let (kafka, publisher, metrics, health) = (
        shared.kafka.clone(),
        shared.stage_publisher.clone(),
        shared.metrics.clone(),
        shared.health.clone(),
    );
    health.set(name, true);
    shared.stages.spawn(async move {
        let outcome =
            spotcheck_runtime::run_stage(&kafka, &settings, stage, &publisher, &metrics, shutdown)
                .await;
        health.set(name, false);
        outcome.with_context(|| format!("the {name} stage stopped"))
    })
}

/// Opens the traceback state of the data dir (shared by the stage and `GET /v1/cases`).
pub fn open_traceback_store(data_dir: &Path) -> Result<Arc<spotcheck_traceback::Store>> {
    let path = data_dir.join("traceback").join("state.redb");
    let store = spotcheck_traceback::Store::open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open the traceback state {}: {e}", path.display()))?;
    Ok(Arc::new(store))
}

/// Seeds a new traceback state with the cases already published, so a rebuild continues their
/// revisions (blocking reads of the cases topic, off the runtime's threads).
pub async fn restore_traceback(
    shared: &Shared,
    store: &Arc<spotcheck_traceback::Store>,
) -> Result<()> {
    let (kafka, store) = (shared.kafka.clone(), store.clone());
    let restored = tokio::task::spawn_blocking(move || {
        spotcheck_traceback::restore::restore_published_cases(&store, &kafka)
            .map_err(|e| anyhow::anyhow!("cannot restore the published cases: {e}"))
    })
    .await??;
    if restored > 0 {
        tracing::info!(
            restored,
            "new traceback state: restored the published cases; rebuilding from the topics"
        );
    }
    Ok(())
}

/// Starts the traceback stage over results, shipments, units and dispositions.
pub fn start_traceback(
    shared: &Shared,
    config: &Config,
    store: Arc<spotcheck_traceback::Store>,
    membership: spotcheck_runtime::Membership,
    shutdown: CancellationToken,
) -> JoinHandle<Result<()>> {
    use spotcheck_schemas::topics;
    let mut stage = spotcheck_traceback::TracebackStage::new(
        store,
        shared.stage_publisher.clone(),
        Arc::new(spotcheck_traceback::SystemClock),
        config.traceback.authority(),
    );
    if membership == spotcheck_runtime::Membership::Group {
        stage = stage.sharing(shared.kafka.clone());
    }
    let topics = [
        topics::RESULTS,
        topics::SHIPMENTS,
        topics::UNITS,
        topics::DISPOSITIONS,
        topics::INSPECTIONS,
    ];
    // Any case may need any unit or disposition: those are read whole by every instance, and
    // so are inspections (whose cases are owned by hash, see `spotcheck_traceback::onsite`).
    let global = [topics::UNITS, topics::DISPOSITIONS, topics::INSPECTIONS];
    spawn_stage(
        shared,
        "traceback",
        &topics,
        &global,
        membership,
        stage,
        shutdown,
    )
}

/// Opens the credit feed of the data dir (shared by the stage and `GET /v1/disclosures`).
pub fn open_credit_store(data_dir: &Path) -> Result<Arc<spotcheck_credit::CreditStore>> {
    let path = data_dir.join("credit").join("feed.redb");
    let store = spotcheck_credit::CreditStore::open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open the credit feed {}: {e}", path.display()))?;
    Ok(Arc::new(store))
}

/// Starts the credit stage over the case revisions.
pub fn start_credit(
    shared: &Shared,
    store: Arc<spotcheck_credit::CreditStore>,
    membership: spotcheck_runtime::Membership,
    shutdown: CancellationToken,
) -> JoinHandle<Result<()>> {
    let mut stage = spotcheck_credit::CreditStage::new(
        store,
        shared.stage_publisher.clone(),
        Arc::new(chrono::Utc::now),
    );
    if let Err(error) = stage.register_delay_metric(shared.metrics.registry()) {
        tracing::warn!(%error, "disclosure delay metric not registered");
    }
    let topics = [spotcheck_schemas::topics::CASES];
    spawn_stage(shared, "credit", &topics, &[], membership, stage, shutdown)
}

/// Starts one delivery task per configured webhook; each ends at `shutdown`.
pub fn start_webhooks(
    config: &Config,
    feed: &Arc<spotcheck_credit::CreditStore>,
    shutdown: &CancellationToken,
) -> Vec<JoinHandle<()>> {
    config
        .credit
        .webhook
        .iter()
        .map(|hook| {
            tracing::info!(url = %hook.url, "delivering disclosures to a webhook");
            tokio::spawn(spotcheck_credit::webhook::deliver(
                feed.clone(),
                hook.clone(),
                shutdown.clone(),
            ))
        })
        .collect()
}

/// Opens the SQL session over the data dir's lake, with the configured limits.
pub async fn open_analytics(
    config: &Config,
    location: &spotcheck_lake::LakeLocation,
) -> Result<Arc<Analytics>> {
    let analytics = Analytics::open_with(
        location,
        config.sql.limits()?,
        config.credit.listing_rule(),
        config.plan.rules()?,
        spotcheck_analytics::LabNames(config.labs.clone()),
    )
    .await?;
    Ok(Arc::new(analytics))
}

/// The SQL session of a command that makes documents from the lake (`bulletin`, `notice`,
/// `report`, `plan`, `trace-export`): the lake where `up` writes it, and the labs' names and plan
/// rules of the same configuration, which comes along (a notice's periods and calendar).
pub async fn open_for_documents(args: &crate::cli::LakeArgs) -> Result<(Arc<Analytics>, Config)> {
    let config = crate::config::load_existing(args.config.as_deref(), &args.data_dir)?;
    let location = config.lake.location(None, &args.data_dir)?;
    Ok((open_analytics(&config, &location).await?, config))
}

/// Starts the Postgres-protocol front end on `addr`: user = token subject, password = an
/// analyst's token.
pub async fn start_pg(
    analytics: Arc<Analytics>,
    config: &Config,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> Result<JoinHandle<Result<()>>> {
    let auth = Authenticator::new(&config.token).map_err(anyhow::Error::msg)?;
    let connections = spotcheck_analytics::pg::ConnectionLimits {
        max_connections: config.sql.max_connections,
        max_silent_per_address: config.sql.max_silent_per_address,
        login_timeout: Duration::from_secs(config.sql.login_timeout_secs.max(1)),
    };
    let check: spotcheck_analytics::pg::LoginCheck = Arc::new(move |user, password| {
        auth.caller_of(password)
            .is_some_and(|caller| Analysts::admits(&caller) && caller.subject == user)
    });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the Postgres protocol"))?;
    tracing::info!("Postgres-protocol SQL on {}", listener.local_addr()?);
    Ok(tokio::spawn(async move {
        spotcheck_analytics::pg::serve(
            listener,
            analytics,
            check,
            connections,
            shutdown.cancelled_owned(),
        )
        .await
        .context("the Postgres-protocol server failed")
    }))
}

/// Waits for a one-component command's stage; its HTTP server (metrics, health, reads) stops
/// with it, so an orchestrator sees a stage that died as a process that exited.
pub async fn run_with_http(
    name: &str,
    stage: JoinHandle<Result<()>>,
    http: JoinHandle<Result<()>>,
    shutdown: CancellationToken,
) -> Result<()> {
    let stage_outcome = stage
        .await
        .with_context(|| format!("the {name} task panicked"))?;
    shutdown.cancel();
    let served = http.await.context("the HTTP task panicked")?;
    stage_outcome?;
    served
}

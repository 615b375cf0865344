//! Runs a [`Stage`] over a consumer group: at-least-once, with dead letters.
//!
//! Guarantee: an offset is stored (and later committed) only after [`Stage::apply`] returned for
//! the batch that holds it, i.e. after the stage's side effect is durable, and after every record
//! the stage could not decode is acknowledged on the dead-letter topic. A crash therefore
//! redelivers, never skips; stages make repeats harmless with the records' stable ids.
//! Errors say what happens next: `Transient` retries the same batch with back-off without
//! advancing; `Fatal` stops the stage with its message; a dead letter moves on.
//! Limit: a rebalance during `apply` may hand the same records to another member; both apply
//! them, so stages must be idempotent (they are, by record id).

use crate::context::{DriverContext, PartitionId};
use crate::kafka::KafkaSettings;
use crate::metrics::Metrics;
use crate::publisher::Publisher;
use crate::retry::{self, RetryableWithContext};
use crate::sharing::Sharing;
pub use crate::stage::{
    Applied, Commit, Delivered, DriverError, DriverSettings, Membership, Rest, Stage, StageError,
};
use crate::stage::{assign_resumed, stage_error};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tokio_util::sync::CancellationToken;

use crate::cloudevents::envelope_problem;
pub use crate::dead_letter::DLQ_REASON_HEADER;
use crate::dead_letter::send_dead_letters;

/// What the driver asks of a stage.
#[derive(Clone, Copy)]
enum Call<'a> {
    Apply(&'a [Delivered]),
    Passed(&'a [Delivered]),
    Idle,
    Finish,
}

/// What came from the consumer.
enum Next {
    Batch(Vec<Delivered>),
    Idle,
    Shutdown,
}

/// About one fetch round: librdkafka asks the broker to wait up to 500 ms for records.
const ONE_FETCH: Duration = Duration::from_millis(600);

/// The pause after a consumer error before the next receive.
const ERROR_PAUSE: Duration = Duration::from_millis(5);

/// A consumer's errors while it waits for a batch: the first is logged, then at most one line
/// per [`ConsumerErrors::EVERY`] with how many came meanwhile (an outage brings hundreds).
#[derive(Default)]
struct ConsumerErrors {
    logged_at: Option<Instant>,
    unlogged: u64,
}

impl ConsumerErrors {
    const EVERY: Duration = Duration::from_secs(5);

    fn note(&mut self, error: &rdkafka::error::KafkaError) {
        match self.logged_at {
            Some(at) if at.elapsed() < Self::EVERY => self.unlogged += 1,
            _ => {
                let before = std::mem::take(&mut self.unlogged);
                tracing::warn!(%error, before, "consumer error (librdkafka reconnects by itself)");
                self.logged_at = Some(Instant::now());
            }
        }
    }
}

impl Drop for ConsumerErrors {
    fn drop(&mut self) {
        if self.unlogged > 0 {
            tracing::warn!(count = self.unlogged, "further consumer errors");
        }
    }
}

/// Where a consumer is in its rest.
struct Resting {
    rest: Rest,
    /// The partitions paused, while resting.
    paused: Option<TopicPartitionList>,
    /// The end of the last batch (or the arrival of its first record), or the last resume.
    active_since: Instant,
    /// Rest again after one idle period: the resume was the timer's, not a local write's.
    short: bool,
    until: Instant,
    /// `spotcheck_consumer_resting{stage}`.
    gauge: prometheus::IntGauge,
    /// How many partitions are fetching, from the consumer's statistics.
    fetching: Arc<AtomicUsize>,
}

impl Resting {
    fn new(rest: Rest, gauge: prometheus::IntGauge, fetching: Arc<AtomicUsize>) -> Self {
        gauge.set(0);
        Self {
            fetching,
            rest,
            paused: None,
            active_since: Instant::now(),
            short: false,
            until: Instant::now(),
            gauge,
        }
    }

    /// Pauses every assigned partition when idle long enough; true if now resting.
    fn maybe_pause(
        &mut self,
        consumer: &StreamConsumer<DriverContext>,
        idle: Duration,
        stage: &str,
    ) -> bool {
        let after = if self.short {
            idle.min(ONE_FETCH)
        } else {
            self.rest.after
        };
        if self.paused.is_some() || self.active_since.elapsed() < after {
            return self.paused.is_some();
        }
        // A record acknowledged since the last look: no rest.
        if self.rest.wake.has_changed().unwrap_or(false) {
            self.rest.wake.borrow_and_update();
            self.active_since = Instant::now();
            return false;
        }
        let Ok(assignment) = consumer.assignment() else {
            return false;
        };
        if self.fetching.load(Ordering::Relaxed) < assignment.count() {
            tracing::trace!(
                stage,
                "idle, but a partition's start offset is not known yet"
            );
            return false;
        }
        if let Err(error) = consumer.pause(&assignment) {
            tracing::debug!(%error, stage, "cannot pause the idle consumer");
            return false;
        }
        tracing::trace!(stage, "idle: resting");
        self.gauge.set(1);
        self.paused = Some(assignment);
        self.until = Instant::now() + self.rest.at_most;
        true
    }

    fn resume(&mut self, consumer: &StreamConsumer<DriverContext>, by_timer: bool) {
        if let Some(paused) = self.paused.take()
            && let Err(error) = consumer.resume(&paused)
        {
            tracing::warn!(%error, "cannot resume a rested consumer");
        }
        self.gauge.set(0);
        self.short = by_timer;
        self.active_since = Instant::now();
    }
}

/// Consumes until `shutdown` fires, then commits what was applied and returns.
pub async fn run_stage<S: Stage>(
    kafka: &KafkaSettings,
    settings: &DriverSettings,
    mut stage: S,
    publisher: &Publisher,
    metrics: &Metrics,
    shutdown: CancellationToken,
) -> Result<(), DriverError> {
    // Creating it may block on metadata (all-partitions mode); off the runtime's threads, so an
    // embedded broker on the same runtime keeps answering meanwhile.
    let (kafka_owned, settings_owned) = (kafka.clone(), settings.clone());
    // Zero series from the start, so dashboards show 0 rather than "no data".
    metrics.stage_retries.with_label_values(&[stage.name()]);
    metrics.stage_held.with_label_values(&[stage.name()]);
    for topic in &settings.topics {
        metrics
            .records_consumed
            .with_label_values(&[stage.name(), topic]);
        metrics
            .dead_letters
            .with_label_values(&[stage.name(), topic]);
    }
    let context = DriverContext::new(stage.name(), metrics.clone());
    let (consumer, partitions) = tokio::task::spawn_blocking(move || {
        create_consumer(&kafka_owned, &settings_owned, context)
    })
    .await
    .map_err(|e| DriverError::Stage {
        stage: stage.name(),
        message: format!("the consumer could not be created: {e}"),
    })??;
    let heartbeat_stop = shutdown.child_token();
    let mut sharing = match settings.membership {
        Membership::AllPartitions => {
            let all: Vec<PartitionId> = partitions
                .elements()
                .iter()
                .map(|e| (e.topic().to_owned(), e.partition()))
                .collect();
            stage
                .partitions_assigned(&all)
                .await
                .map_err(|e| stage_error(&stage, e))?;
            // What a crash kept from the broker (a revision left in an outbox) goes out before
            // the stage's positions are stored: once the group's committed offsets reach the
            // ends, what the stage made of the records is on its topic too.
            call_with_retries(&mut stage, Call::Idle, metrics, &shutdown).await?;
            assign_resumed(&consumer, &stage, &partitions)?;
            None
        }
        Membership::Group => {
            let sharing =
                Sharing::start(kafka, settings, &partitions, publisher, &heartbeat_stop).await?;
            sharing.assign_global(&consumer, &mut stage).await?;
            Some(sharing)
        }
    };
    let result = consume_loop(
        &consumer,
        settings,
        &mut stage,
        sharing.as_mut(),
        publisher,
        metrics,
        &shutdown,
    )
    .await;
    heartbeat_stop.cancel();
    if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::debug!(%error, stage = stage.name(), "nothing to commit at shutdown");
    }
    result
}

/// The consumer (not yet assigned) and every partition of the settings' topics.
fn create_consumer(
    kafka: &KafkaSettings,
    settings: &DriverSettings,
    context: DriverContext,
) -> Result<(StreamConsumer<DriverContext>, TopicPartitionList), DriverError> {
    let consumer: StreamConsumer<DriverContext> = kafka
        .client_config()
        .set("group.id", &settings.group_id)
        .set("enable.auto.commit", "true")
        // Each commit is a write to the broker's log, which labs' acknowledgements queue behind
        // (BENCHMARKS.md, "The stages' offset commits"). The committed offsets are a report: the
        // stages resume from what they made durable, so a crash between commits costs records
        // read again, never records lost.
        .set("auto.commit.interval.ms", "5000")
        // The driver stores offsets itself, after the side effect (see the module header).
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .set("fetch.message.max.bytes", "16777216")
        // Per-partition consumer lag for the metrics (see `context`).
        .set("statistics.interval.ms", "5000")
        .create_with_context(context)?;
    let topics: Vec<&str> = settings.topics.iter().map(String::as_str).collect();
    let partitions = all_partitions(&consumer, &topics)?;
    Ok((consumer, partitions))
}

/// Every partition of `topics`, each to resume at its committed offset (blocks for metadata).
fn all_partitions(
    consumer: &StreamConsumer<DriverContext>,
    topics: &[&str],
) -> Result<TopicPartitionList, DriverError> {
    let mut list = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(30))?;
        for partition in metadata
            .topics()
            .iter()
            .flat_map(rdkafka::metadata::MetadataTopic::partitions)
        {
            list.add_partition_offset(topic, partition.id(), Offset::Stored)?;
        }
    }
    Ok(list)
}

async fn consume_loop<S: Stage>(
    consumer: &StreamConsumer<DriverContext>,
    settings: &DriverSettings,
    stage: &mut S,
    mut sharing: Option<&mut Sharing>,
    publisher: &Publisher,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> Result<(), DriverError> {
    let mut resting = settings.rest.clone().map(|rest| {
        let gauge = metrics.consumer_resting.with_label_values(&[stage.name()]);
        Resting::new(rest, gauge, consumer.context().fetching())
    });
    loop {
        if let Some(sharing) = sharing.as_deref_mut() {
            sharing.rebalance(consumer, stage).await?;
        }
        let (mut next, oldest) = next_batch(consumer, settings, resting.as_mut(), shutdown).await;
        // Paused only for a hold that will wait: under a burst longer than `at_most` the
        // batches are old enough to go on, and pausing each of them would only stir the fetcher.
        if let (Some(way), Some(oldest)) = (&settings.make_way, oldest)
            && way.must_hold(oldest)
        {
            // Not even fetching meanwhile: the broker and librdkafka's threads make way too.
            let assignment = consumer.assignment().ok();
            if let Some(assignment) = &assignment
                && let Err(error) = consumer.pause(assignment)
            {
                tracing::debug!(%error, "cannot pause the consumer for a burst");
            }
            let held = way.hold(oldest, shutdown).await;
            if let Some(assignment) = &assignment
                && let Err(error) = consumer.resume(assignment)
            {
                tracing::warn!(%error, "cannot resume the consumer after a burst");
            }
            if !held.is_zero() {
                metrics
                    .stage_held
                    .with_label_values(&[stage.name()])
                    .inc_by(held.as_secs_f64());
            }
        }
        if let (Some(sharing), Next::Batch(batch)) = (sharing.as_deref(), &mut next) {
            // Fetched before a partition moved away: its new owner reads them again.
            batch.retain(|r| sharing.owns(&r.topic, r.partition));
            if batch.is_empty() {
                next = Next::Idle;
            }
        }
        // Records without our CloudEvents headers never reach the stage: they are dead letters.
        let strays = match &mut next {
            Next::Batch(batch) => take_strays(batch),
            Next::Idle | Next::Shutdown => Vec::new(),
        };
        let batch = match &next {
            Next::Batch(batch) => batch.as_slice(),
            Next::Idle | Next::Shutdown => &[],
        };
        let call = match &next {
            Next::Batch(_) => Call::Apply(batch),
            Next::Idle => Call::Idle,
            Next::Shutdown => Call::Finish,
        };
        let started = Instant::now();
        let Some(applied) = call_with_retries(stage, call, metrics, shutdown).await? else {
            return Ok(()); // shutting down mid-retry: the batch will be redelivered
        };
        // Idle time counts from the end of a batch: a batch that took longer than the rest's
        // `after` is work, not idleness, and more records may wait behind it.
        if let (Some(resting), Next::Batch(_)) = (resting.as_mut(), &next) {
            resting.active_since = Instant::now();
        }
        if !send_dead_letters(stage.name(), batch, &applied, publisher, metrics, shutdown).await {
            return Ok(());
        }
        let (strays, reasons): (Vec<Delivered>, Vec<String>) = strays.into_iter().unzip();
        let stray_letters = Applied {
            dead_letters: reasons.into_iter().enumerate().collect(),
            commit: Commit::Batch,
        };
        if !send_dead_letters(
            stage.name(),
            &strays,
            &stray_letters,
            publisher,
            metrics,
            shutdown,
        )
        .await
        {
            return Ok(());
        }
        if !strays.is_empty()
            && call_with_retries(stage, Call::Passed(&strays), metrics, shutdown)
                .await?
                .is_none()
        {
            return Ok(()); // shutting down mid-retry: the strays will be sent again
        }
        // A stage that commits its whole batch commits the strays with it; a buffering stage
        // (Positions) moves past them when it next commits their partition.
        store_offsets(consumer, &[batch, &strays], &applied.commit);
        if let Next::Batch(batch) = &next {
            record_batch_metrics(stage.name(), batch, started, metrics);
        }
        if matches!(next, Next::Shutdown) {
            return Ok(());
        }
    }
}

/// Waits for one record, then gathers more for up to `linger`; `Idle` when none came for
/// `settings.idle`. With a batch, when its oldest record was written (the broker's timestamp).
async fn next_batch(
    consumer: &StreamConsumer<DriverContext>,
    settings: &DriverSettings,
    mut resting: Option<&mut Resting>,
    shutdown: &CancellationToken,
) -> (Next, Option<SystemTime>) {
    if let Some(resting) = resting.as_deref_mut()
        && resting.maybe_pause(consumer, settings.idle, &settings.group_id)
    {
        let until = tokio::time::Instant::from_std(resting.until);
        tokio::select! {
            _ = shutdown.cancelled() => return (Next::Shutdown, None),
            // The stage's timers still run while the consumer rests.
            _ = tokio::time::sleep(settings.idle) => return (Next::Idle, None),
            _ = resting.rest.wake.changed() => {
                resting.rest.wake.borrow_and_update();
                resting.resume(consumer, false);
            }
            _ = tokio::time::sleep_until(until) => resting.resume(consumer, true),
        }
    }
    // After a timed resume, one fetch round tells whether anything came.
    let idle = match resting.as_deref() {
        Some(resting) if resting.short => settings.idle.min(ONE_FETCH),
        _ => settings.idle,
    };
    let mut batch = Vec::new();
    let mut oldest: Option<SystemTime> = None;
    let mut written = |message: &rdkafka::message::BorrowedMessage<'_>| {
        use rdkafka::Message;
        let at = message
            .timestamp()
            .to_millis()
            .and_then(|ms| u64::try_from(ms).ok())
            .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
        oldest = match (oldest, at) {
            (Some(before), Some(at)) => Some(before.min(at)),
            (before, at) => before.or(at),
        };
    };
    let mut errors = ConsumerErrors::default();
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return (Next::Shutdown, None),
            _ = tokio::time::sleep(idle) => return (Next::Idle, None),
            received = consumer.recv() => received,
        };
        match received {
            Ok(message) => {
                written(&message);
                batch.push(Delivered::from_message(&message));
                if let Some(resting) = resting.as_deref_mut() {
                    resting.active_since = Instant::now();
                    resting.short = false;
                }
                break;
            }
            Err(error) => {
                // librdkafka reports each failed connection as an event on the consumer's queue
                // and reconnects by itself; the events wait in the queue while the consumer rests
                // or is busy. Taking them one per 200 ms left a stage minutes behind a broker
                // outage (CI, 2026-11-30: the credit feed still reading the outage's events two
                // minutes after the broker was back). They are read at once; a short pause only
                // keeps a client that reports errors without end from spinning.
                errors.note(&error);
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
    let deadline = tokio::time::Instant::now() + settings.linger;
    while batch.len() < settings.max_batch {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(message)) => {
                written(&message);
                batch.push(Delivered::from_message(&message));
            }
            Ok(Err(error)) => errors.note(&error),
            Err(_) => break,
        }
    }
    (Next::Batch(batch), oldest)
}

/// Calls the stage, retrying transient errors with exponential back-off (100 ms .. 10 s).
/// At shutdown a failed call is not tried again (the batch will be redelivered); the final
/// flush is tried once.
async fn call_with_retries<'s, S: Stage>(
    stage: &'s mut S,
    call: Call<'_>,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> Result<Option<Applied>, DriverError> {
    let name = stage.name();
    let attempts = retry::Attempts::new(shutdown);
    let attempt = |stage: &'s mut S| {
        let again_at_shutdown = !attempts.may_run();
        async move {
            let outcome = match call {
                _ if again_at_shutdown => Err(StageError::Transient("shutting down".into())),
                Call::Apply(batch) => stage.apply(batch).await,
                Call::Passed(records) => stage.passed(records).await.map(|()| Applied::nothing()),
                Call::Idle => stage.idle().await,
                Call::Finish => stage.finish().await,
            };
            (stage, outcome)
        }
    };
    let (_, outcome) = attempt
        .retry(retry::doubling(
            Duration::from_millis(100),
            Duration::from_secs(10),
        ))
        .sleep(retry::UntilShutdown(shutdown.clone()))
        .context(stage)
        .when(|error| {
            matches!(error, StageError::Transient(_))
                && !matches!(call, Call::Finish)
                && !shutdown.is_cancelled()
        })
        .notify(|error, wait| {
            tracing::warn!(stage = name, %error, ?wait, "retrying");
            metrics.stage_retries.with_label_values(&[name]).inc();
        })
        .await;
    match outcome {
        Ok(applied) => Ok(Some(applied)),
        Err(StageError::Fatal(message)) => Err(DriverError::Stage {
            stage: name,
            message,
        }),
        Err(StageError::Transient(message)) => {
            tracing::warn!(stage = name, %message, "stopping: left for redelivery");
            Ok(None)
        }
    }
}

/// Removes the records that are not CloudEvents from `batch`, each with the reason.
fn take_strays(batch: &mut Vec<Delivered>) -> Vec<(Delivered, String)> {
    let mut strays = Vec::new();
    let mut kept = Vec::with_capacity(batch.len());
    for record in batch.drain(..) {
        match envelope_problem(|name| record.header(name)) {
            Some(reason) => strays.push((record, reason)),
            None => kept.push(record),
        }
    }
    *batch = kept;
    strays
}

/// Stores the offsets the stage made safe: with `Commit::Batch`, past the last record of
/// `parts` per partition; otherwise the positions the stage named.
fn store_offsets(
    consumer: &StreamConsumer<DriverContext>,
    parts: &[&[Delivered]],
    commit: &Commit,
) {
    let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    match commit {
        Commit::Batch => {
            for record in parts.iter().flat_map(|part| part.iter()) {
                let entry = next.entry((&record.topic, record.partition)).or_default();
                *entry = (*entry).max(record.offset + 1);
            }
        }
        Commit::Positions(positions) => {
            for (topic, partition, offset) in positions {
                next.insert((topic, *partition), *offset);
            }
        }
    }
    if next.is_empty() {
        return;
    }
    let mut list = TopicPartitionList::with_capacity(next.len());
    for ((topic, partition), offset) in next {
        if let Err(error) = list.add_partition_offset(topic, partition, Offset::Offset(offset)) {
            tracing::warn!(%error, topic, partition, "cannot record offset");
        }
    }
    // Fails only for partitions revoked meanwhile; their new owner redelivers them.
    if let Err(error) = consumer.store_offsets(&list) {
        tracing::debug!(%error, "offsets not stored (partition revoked?)");
    }
}

fn record_batch_metrics(stage: &str, batch: &[Delivered], started: Instant, metrics: &Metrics) {
    let mut per_topic: BTreeMap<&str, u64> = BTreeMap::new();
    for record in batch {
        *per_topic.entry(&record.topic).or_default() += 1;
    }
    for (topic, count) in per_topic {
        metrics
            .records_consumed
            .with_label_values(&[stage, topic])
            .inc_by(count);
    }
    metrics
        .stage_batch_duration
        .with_label_values(&[stage])
        .observe(started.elapsed().as_secs_f64());
}

/// The `ce_id` of a delivered record, if it has one.
pub fn event_id(record: &Delivered) -> Option<String> {
    record.header("ce_id")
}

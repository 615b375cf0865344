//! The stage driver on rdkafka's mock cluster: undecodable records go to the dead-letter topic
//! with their reason; offsets are committed only after a batch is applied, so a restarted
//! member resumes after what was applied and a transient failure retries without skipping.

use async_trait::async_trait;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use spotcheck_runtime::driver::{DLQ_REASON_HEADER, DriverSettings};
use spotcheck_runtime::{
    Applied, CloudEvent, Delivered, KafkaSettings, Metrics, Publisher, Stage, StageError, run_stage,
};
use spotcheck_schemas::topics;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const INPUT: &str = "driver-test-input";

/// Keeps every JSON record it is given; anything else is a dead letter. Fails transiently
/// the first `failures` times it is called.
struct Collect {
    seen: Arc<Mutex<Vec<String>>>,
    failures: u32,
}

#[async_trait]
impl Stage for Collect {
    fn name(&self) -> &'static str {
        "collect"
    }

    async fn apply(&mut self, batch: &[Delivered]) -> Result<Applied, StageError> {
        if self.failures > 0 {
            self.failures -= 1;
            return Err(StageError::Transient("store unavailable".into()));
        }
        let mut applied = Applied::default();
        for (index, record) in batch.iter().enumerate() {
            match serde_json::from_slice::<serde_json::Value>(&record.payload) {
                Ok(value) => self.seen.lock().unwrap().push(value["n"].to_string()),
                Err(error) => applied
                    .dead_letters
                    .push((index, format!("not JSON: {error}"))),
            }
        }
        Ok(applied)
    }
}

/// Sends `payloads` keyed `k0`, `k1`, ... as CloudEvents (spotcheck's headers).
async fn produce(bootstrap: &str, payloads: &[&str]) {
    send(bootstrap, payloads, true).await;
}

async fn send(bootstrap: &str, payloads: &[&str], as_cloud_events: bool) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    for (i, payload) in payloads.iter().enumerate() {
        let key = format!("k{i}");
        let mut record = FutureRecord::to(INPUT).key(&key).payload(*payload);
        if as_cloud_events {
            let event = CloudEvent::new(key.clone(), "test.v1", "/test".into());
            record = record.headers(event.headers());
        }
        producer.send(record, Duration::from_secs(5)).await.unwrap();
    }
}

/// Runs the driver until it has stored the offsets of `handed` records (those with CloudEvents
/// headers, dead letters included: it counts them consumed only then), or 20 s pass, then
/// stops it; stopping commits what was stored.
async fn run_until(bootstrap: &str, seen: &Arc<Mutex<Vec<String>>>, handed: u64, failures: u32) {
    let kafka = KafkaSettings::new(bootstrap, "driver-test");
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let publisher = Publisher::new(&kafka, metrics.clone()).unwrap();
    let settings = DriverSettings::new("driver-test-group", &[INPUT]);
    let shutdown = CancellationToken::new();
    let stage = Collect {
        seen: seen.clone(),
        failures,
    };
    let stop = shutdown.clone();
    let consumed = metrics
        .records_consumed
        .with_label_values(&["collect", INPUT]);
    let watcher = tokio::spawn(async move {
        let started = Instant::now();
        while consumed.get() < handed && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.cancel();
    });
    run_stage(&kafka, &settings, stage, &publisher, &metrics, shutdown)
        .await
        .unwrap();
    watcher.await.unwrap();
}

/// Every dead letter on the topic (key, reason): read from the start until `expected` were
/// found and nothing more came for a second.
fn dead_letters(bootstrap: &str, expected: usize) -> Vec<(String, String)> {
    static READS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let read = READS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("dlq-reader-{read}"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[topics::DLQ]).unwrap();
    let mut letters = Vec::new();
    let started = Instant::now();
    let mut last_seen = Instant::now();
    while started.elapsed() < Duration::from_secs(15)
        && (letters.len() < expected || last_seen.elapsed() < Duration::from_secs(1))
    {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            last_seen = Instant::now();
            let reason = message
                .headers()
                .and_then(|h| {
                    h.iter()
                        .find(|h| h.key == DLQ_REASON_HEADER)
                        .and_then(|h| h.value)
                })
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            letters.push((
                String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
                reason,
            ));
        }
    }
    letters
}

#[tokio::test]
async fn undecodable_records_are_dead_lettered_and_a_restart_resumes_after_what_was_applied() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(INPUT, 1, 1).unwrap();
    cluster.create_topic(topics::DLQ, 1, 1).unwrap();
    cluster.create_topic(topics::MEMBERS, 1, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    produce(
        &bootstrap,
        &[
            r#"{"n":1}"#,
            "garbage",
            r#"{"n":2}"#,
            "{broken",
            r#"{"n":3}"#,
        ],
    )
    .await;

    let seen = Arc::new(Mutex::new(Vec::new()));
    run_until(&bootstrap, &seen, 5, 0).await;
    assert_eq!(*seen.lock().unwrap(), ["1", "2", "3"]);
    let letters = dead_letters(&bootstrap, 2);
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0].0, "k1");
    assert!(letters[0].1.starts_with("not JSON"), "{letters:?}");

    produce(&bootstrap, &[r#"{"n":4}"#]).await;
    let resumed = Arc::new(Mutex::new(Vec::new()));
    run_until(&bootstrap, &resumed, 1, 0).await;
    assert_eq!(
        *resumed.lock().unwrap(),
        ["4"],
        "only what was not applied before is delivered again"
    );
}

#[tokio::test]
async fn records_without_cloudevents_headers_are_dead_lettered_and_committed_past() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(INPUT, 1, 1).unwrap();
    cluster.create_topic(topics::DLQ, 1, 1).unwrap();
    cluster.create_topic(topics::MEMBERS, 1, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    send(&bootstrap, &[r#"{"n":7}"#, r#"{"n":8}"#], false).await; // a foreign producer
    produce(&bootstrap, &[r#"{"n":1}"#]).await;

    let seen = Arc::new(Mutex::new(Vec::new()));
    run_until(&bootstrap, &seen, 1, 0).await;
    assert_eq!(*seen.lock().unwrap(), ["1"], "the stage never sees them");
    let letters = dead_letters(&bootstrap, 2);
    assert_eq!(letters.len(), 2, "{letters:?}");
    for (_, reason) in &letters {
        assert!(
            reason.starts_with("not a CloudEvent: missing header(s) ce_id"),
            "{reason}"
        );
    }

    produce(&bootstrap, &[r#"{"n":2}"#]).await;
    let resumed = Arc::new(Mutex::new(Vec::new()));
    run_until(&bootstrap, &resumed, 1, 0).await;
    assert_eq!(*resumed.lock().unwrap(), ["2"]);
    assert_eq!(
        dead_letters(&bootstrap, 2).len(),
        2,
        "not dead-lettered twice"
    );
}

#[tokio::test]
async fn a_transient_failure_retries_the_same_batch_without_skipping() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(INPUT, 1, 1).unwrap();
    cluster.create_topic(topics::DLQ, 1, 1).unwrap();
    cluster.create_topic(topics::MEMBERS, 1, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, &[r#"{"n":1}"#, r#"{"n":2}"#]).await;

    let seen = Arc::new(Mutex::new(Vec::new()));
    run_until(&bootstrap, &seen, 2, 2).await;
    assert_eq!(*seen.lock().unwrap(), ["1", "2"]);
}

/// A consumer that goes to rest while its partitions' starting offsets are still being looked
/// up (a slow broker, a busy machine) still reads them once woken: librdkafka drops an offset
/// answer that arrives after a pause, so the partition would never be fetched again.
#[tokio::test]
async fn a_rest_taken_while_the_offsets_are_looked_up_does_not_strand_a_partition() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(INPUT, 4, 1).unwrap();
    cluster.create_topic(topics::DLQ, 1, 1).unwrap();
    cluster.create_topic(topics::MEMBERS, 1, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    produce(
        &bootstrap,
        &[r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#, r#"{"n":4}"#],
    )
    .await;
    // Every answer of the broker takes 700 ms: the offsets of the assignment are still on
    // their way when the stage first looks whether it is idle.
    cluster
        .broker_round_trip_time(1, Duration::from_millis(700))
        .unwrap();

    let kafka = KafkaSettings::new(&bootstrap, "driver-test");
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let publisher = Publisher::new(&kafka, metrics.clone()).unwrap();
    let (wake, woken) = tokio::sync::watch::channel(0u64);
    let mut settings = DriverSettings::new("driver-rest-group", &[INPUT]);
    settings.membership = spotcheck_runtime::Membership::AllPartitions;
    settings.idle = Duration::from_millis(100);
    settings.rest = Some(spotcheck_runtime::driver::Rest {
        after: Duration::from_millis(10),
        at_most: Duration::from_secs(3600),
        wake: woken,
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stage = Collect {
        seen: seen.clone(),
        failures: 0,
    };
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let watched = seen.clone();
    let watcher = tokio::spawn(async move {
        let started = Instant::now();
        // A local write, as `up`'s publisher would signal, a while after the start.
        tokio::time::sleep(Duration::from_secs(3)).await;
        wake.send_modify(|n| *n += 1);
        while watched.lock().unwrap().len() < 4 && started.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.cancel();
    });
    run_stage(&kafka, &settings, stage, &publisher, &metrics, shutdown)
        .await
        .unwrap();
    watcher.await.unwrap();
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, ["1", "2", "3", "4"]);
}

#[tokio::test]
async fn a_batch_waits_while_a_burst_is_taken_in_and_goes_on_when_it_ends() {
    let cluster = MockCluster::new(1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    cluster.create_topic(INPUT, 1, 1).unwrap();
    cluster.create_topic(topics::DLQ, 1, 1).unwrap();
    cluster.create_topic(topics::MEMBERS, 1, 1).unwrap();
    let bursts = spotcheck_runtime::burst::Bursts::default();
    let burst = bursts.carrying(1_000_000);
    produce(&bootstrap, &[r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#]).await;

    let kafka = KafkaSettings::new(&bootstrap, "driver-test");
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let publisher = Publisher::new(&kafka, metrics.clone()).unwrap();
    let mut settings = DriverSettings::new("driver-test-group", &[INPUT]);
    settings.make_way = Some(spotcheck_runtime::burst::MakeWay {
        bursts: bursts.clone(),
        at_least: 100_000,
        at_most: Duration::from_secs(120),
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stage = Collect {
        seen: seen.clone(),
        failures: 0,
    };
    let shutdown = CancellationToken::new();
    let driver = {
        let (metrics, shutdown) = (metrics.clone(), shutdown.clone());
        tokio::spawn(async move {
            run_stage(&kafka, &settings, stage, &publisher, &metrics, shutdown).await
        })
    };
    let started = Instant::now();
    while bursts.holding() == 0 {
        if driver.is_finished() {
            panic!("the driver stopped: {:?}", driver.await);
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the stage never held a batch"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen.lock().unwrap().is_empty(), "applied during the burst");
    drop(burst);
    while seen.lock().unwrap().len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "not applied after the burst"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*seen.lock().unwrap(), ["1", "2", "3"]);
    let held = metrics.stage_held.with_label_values(&["collect"]).get();
    assert!(held > 0.0, "the hold is counted: {held}");
    shutdown.cancel();
    driver.await.unwrap().unwrap();
}

/// [`Collect`], taking `each` over every batch.
struct Slow {
    inner: Collect,
    each: Duration,
}

#[async_trait]
impl Stage for Slow {
    fn name(&self) -> &'static str {
        "slow"
    }

    async fn apply(&mut self, batch: &[Delivered]) -> Result<Applied, StageError> {
        tokio::time::sleep(self.each).await;
        self.inner.apply(batch).await
    }
}

/// A stage whose batches take longer than the rest's idle time is not put to rest while records
/// wait: the idle time counts from the end of the last batch, not from its first record. (Seen:
/// `up`'s traceback stage, catching up after a restart with batches of 5,000 records that took
/// over 2 s each, rested for 10 s with shipments unread, and a case showed none meanwhile.)
#[tokio::test]
async fn a_stage_slower_than_the_rests_idle_time_does_not_rest_while_records_wait() {
    const RECORDS: usize = 150;
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(INPUT, 1, 1).unwrap();
    cluster.create_topic(topics::DLQ, 1, 1).unwrap();
    cluster.create_topic(topics::MEMBERS, 1, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let payloads: Vec<String> = (1..=RECORDS).map(|n| format!(r#"{{"n":{n}}}"#)).collect();
    let payloads: Vec<&str> = payloads.iter().map(String::as_str).collect();
    produce(&bootstrap, &payloads).await;

    let kafka = KafkaSettings::new(&bootstrap, "driver-test");
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let publisher = Publisher::new(&kafka, metrics.clone()).unwrap();
    // Nothing local is ever written: only the end of a rest (an hour) would wake a resting stage.
    let (_wake, woken) = tokio::sync::watch::channel(0u64);
    let mut settings = DriverSettings::new("driver-slow-group", &[INPUT]);
    settings.membership = spotcheck_runtime::Membership::AllPartitions;
    settings.max_batch = 5;
    settings.idle = Duration::from_millis(100);
    settings.rest = Some(spotcheck_runtime::driver::Rest {
        after: Duration::from_millis(100),
        at_most: Duration::from_secs(3600),
        wake: woken,
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    // 30 batches of 300 ms: longer than the 5 s before the consumer's first statistics, after
    // which the driver knows every partition is fetching and may rest.
    let stage = Slow {
        inner: Collect {
            seen: seen.clone(),
            failures: 0,
        },
        each: Duration::from_millis(300),
    };
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let watched = seen.clone();
    let watcher = tokio::spawn(async move {
        let started = Instant::now();
        while watched.lock().unwrap().len() < RECORDS && started.elapsed() < Duration::from_secs(60)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.cancel();
    });
    run_stage(&kafka, &settings, stage, &publisher, &metrics, shutdown)
        .await
        .unwrap();
    watcher.await.unwrap();
    assert_eq!(
        seen.lock().unwrap().len(),
        RECORDS,
        "the stage rested with records waiting"
    );
}

/// Keeps where it stands in `next` (as a stage with a state of its own does: traceback,
/// credit, the lake), moving it past what it applies and past what the driver says it passed.
struct Tracks {
    next: Arc<Mutex<i64>>,
    seen: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Stage for Tracks {
    fn name(&self) -> &'static str {
        "tracks"
    }

    async fn apply(&mut self, batch: &[Delivered]) -> Result<Applied, StageError> {
        self.passed(batch).await?;
        let mut seen = self.seen.lock().unwrap();
        seen.extend(
            batch
                .iter()
                .map(|r| String::from_utf8_lossy(&r.payload).into_owned()),
        );
        Ok(Applied::default())
    }

    async fn passed(&mut self, records: &[Delivered]) -> Result<(), StageError> {
        let mut next = self.next.lock().unwrap();
        for record in records {
            *next = (*next).max(record.offset + 1);
        }
        Ok(())
    }

    fn resume_at(&self, _topic: &str, _partition: i32) -> Option<i64> {
        Some(*self.next.lock().unwrap())
    }
}

/// A stage restarted after it applied everything gets no record to store an offset for; the
/// group's committed offset still comes to say where it stands, whichever way it takes its
/// partitions (before, it stayed where the last commit before the stop had left it).
#[tokio::test]
async fn a_stage_that_keeps_its_positions_commits_where_it_resumes() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(INPUT, 1, 1).unwrap();
    cluster.create_topic(topics::DLQ, 1, 1).unwrap();
    cluster.create_topic(topics::MEMBERS, 1, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, &[r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#]).await;

    for membership in [
        spotcheck_runtime::Membership::AllPartitions,
        spotcheck_runtime::Membership::Group,
    ] {
        let group = format!("driver-resume-{membership:?}");
        let kafka = KafkaSettings::new(&bootstrap, "driver-test");
        let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
        let publisher = Publisher::new(&kafka, metrics.clone()).unwrap();
        let mut settings = DriverSettings::new(group.as_str(), &[INPUT]);
        settings.membership = membership;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stage = Tracks {
            next: Arc::new(Mutex::new(3)), // it has applied the 3 records already
            seen: seen.clone(),
        };
        let shutdown = CancellationToken::new();
        let watcher = watch_commit_of_3(&bootstrap, &group, 20, shutdown.clone(), || ());
        run_stage(&kafka, &settings, stage, &publisher, &metrics, shutdown)
            .await
            .unwrap();
        let (committed, ()) = watcher.await.unwrap();
        assert_eq!(
            committed,
            Some(rdkafka::Offset::Offset(3)),
            "{membership:?}: the group's committed offset"
        );
        assert!(
            seen.lock().unwrap().is_empty(),
            "nothing is delivered again"
        );
    }
}

/// Has applied every record before a crash, but the revisions it made of them wait in its
/// outbox: its first `failures` attempts to send them fail (the broker just restarted).
struct LeftOver {
    failures: u32,
    sent: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait]
impl Stage for LeftOver {
    fn name(&self) -> &'static str {
        "left-over"
    }

    async fn apply(&mut self, _batch: &[Delivered]) -> Result<Applied, StageError> {
        self.idle().await
    }

    async fn idle(&mut self) -> Result<Applied, StageError> {
        if self.failures > 0 {
            self.failures -= 1;
            return Err(StageError::Transient(
                "the broker is not answering yet".into(),
            ));
        }
        self.sent.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(Applied::nothing())
    }

    fn resume_at(&self, _topic: &str, _partition: i32) -> Option<i64> {
        Some(3)
    }
}

/// In `up` (every partition to one instance), a stage restarted with revisions left in its
/// outbox sends them before its positions are stored: the group's committed offsets at the
/// ends (what the tests and lag tools take as "done") mean its output is on the topic.
/// Before, the positions were committed at once, while the sends still failed.
#[tokio::test]
async fn a_restarted_stage_sends_what_it_left_over_before_its_positions_are_committed() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(INPUT, 1, 1).unwrap();
    cluster.create_topic(topics::DLQ, 1, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, &[r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#]).await;
    let group = "driver-left-over";
    let kafka = KafkaSettings::new(&bootstrap, "driver-test");
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let publisher = Publisher::new(&kafka, metrics.clone()).unwrap();
    let mut settings = DriverSettings::new(group, &[INPUT]);
    settings.membership = spotcheck_runtime::Membership::AllPartitions;
    let sent = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Seven failures keep it sending for 12.7 s of back-off, past the 5 s auto-commit.
    let stage = LeftOver {
        failures: 7,
        sent: sent.clone(),
    };
    let shutdown = CancellationToken::new();
    let watcher = watch_commit_of_3(&bootstrap, group, 40, shutdown.clone(), move || {
        sent.load(std::sync::atomic::Ordering::SeqCst)
    });
    run_stage(&kafka, &settings, stage, &publisher, &metrics, shutdown)
        .await
        .unwrap();
    let (committed, sent_when_committed) = watcher.await.unwrap();
    assert_eq!(
        (committed, sent_when_committed),
        (Some(rdkafka::Offset::Offset(3)), true),
        "the offsets were committed (3) only after the left-overs were sent (true)"
    );
}

/// Reads `group`'s committed offset of `INPUT`/0 until it is 3 (or `seconds` pass), then stops
/// the stage; answers the offset last read and what `probe` said right after reading it.
fn watch_commit_of_3<T: Send + 'static>(
    bootstrap: &str,
    group: &str,
    seconds: u64,
    stop: CancellationToken,
    probe: impl Fn() -> T + Send + 'static,
) -> tokio::task::JoinHandle<(Option<rdkafka::Offset>, T)> {
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut wanted = rdkafka::TopicPartitionList::new();
    wanted.add_partition(INPUT, 0);
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let seen = loop {
            let committed = reader
                .committed_offsets(wanted.clone(), Duration::from_secs(5))
                .ok()
                .and_then(|list| list.find_partition(INPUT, 0).map(|e| e.offset()));
            let probed = probe();
            if committed == Some(rdkafka::Offset::Offset(3))
                || started.elapsed() > Duration::from_secs(seconds)
            {
                break (committed, probed);
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        stop.cancel();
        seen
    })
}

/// Runs a [`Tracks`] stage until its position reaches `until`, then stops it.
async fn run_tracking(
    bootstrap: &str,
    next: &Arc<Mutex<i64>>,
    seen: &Arc<Mutex<Vec<String>>>,
    until: i64,
) {
    let kafka = KafkaSettings::new(bootstrap, "driver-test");
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let publisher = Publisher::new(&kafka, metrics.clone()).unwrap();
    let settings = DriverSettings::new("driver-tracks", &[INPUT]);
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let position = next.clone();
    let watcher = tokio::spawn(async move {
        let started = Instant::now();
        while *position.lock().unwrap() < until && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.cancel();
    });
    let stage = Tracks {
        next: next.clone(),
        seen: seen.clone(),
    };
    run_stage(&kafka, &settings, stage, &publisher, &metrics, shutdown)
        .await
        .unwrap();
    watcher.await.unwrap();
    assert_eq!(*next.lock().unwrap(), until, "the stage's position");
}

/// A record without CloudEvents headers at the end of a partition is past the position of a
/// stage that keeps its own: the driver tells the stage it passed it, so a restart, which
/// resumes at that position, does not send it to the dead-letter topic a second time.
#[tokio::test]
async fn a_stage_that_keeps_its_positions_is_moved_past_what_is_not_a_cloudevent() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(INPUT, 1, 1).unwrap();
    cluster.create_topic(topics::DLQ, 1, 1).unwrap();
    cluster.create_topic(topics::MEMBERS, 1, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, &[r#"{"n":1}"#]).await;
    send(&bootstrap, &[r#"{"n":7}"#], false).await; // a foreign producer, last on the partition

    let next = Arc::new(Mutex::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    run_tracking(&bootstrap, &next, &seen, 2).await;
    assert_eq!(*seen.lock().unwrap(), [r#"{"n":1}"#]);
    assert_eq!(dead_letters(&bootstrap, 1).len(), 1);

    produce(&bootstrap, &[r#"{"n":2}"#]).await;
    let resumed = Arc::new(Mutex::new(Vec::new()));
    run_tracking(&bootstrap, &next, &resumed, 3).await;
    assert_eq!(*resumed.lock().unwrap(), [r#"{"n":2}"#]);
    let letters = dead_letters(&bootstrap, 1);
    assert_eq!(letters.len(), 1, "dead-lettered once: {letters:?}");
}

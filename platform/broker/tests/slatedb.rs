//! The embedded broker on SlateDB, through a Kafka client: concurrent idempotent producers all
//! get their records acknowledged (their write transactions conflict inside Tansu and are run
//! again), every partition's earliest offset is 0 (Tansu's own answer skipped records), and what
//! was acknowledged is there after the broker is stopped and started again.

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use spotcheck_broker::{BrokerMetrics, BrokerOptions, EmbeddedBroker};
use std::time::Duration;

const TOPIC: &str = "probe";
const PRODUCERS: usize = 8;
const RECORDS: usize = 1500;

async fn create_topic(bootstrap: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let topic = NewTopic::new(TOPIC, 12, TopicReplication::Fixed(1));
    let created = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .unwrap();
    assert!(created.iter().all(Result::is_ok), "{created:?}");
}

fn producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "1")
        .create()
        .unwrap()
}

/// Records on the topic, counted from each partition's earliest offset to its end; panics if an
/// earliest offset is not 0 (nothing is ever deleted, so a consumer reading "from the beginning"
/// would skip the records below it).
fn records_on_topic(bootstrap: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "probe-reader")
        .create()
        .unwrap();
    (0..12)
        .map(|partition| {
            let (low, high) = consumer
                .fetch_watermarks(TOPIC, partition, Duration::from_secs(10))
                .unwrap();
            assert_eq!(
                low, 0,
                "earliest offset of partition {partition} (end {high})"
            );
            high - low
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_idempotent_producers_are_all_acknowledged_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = BrokerMetrics {
        conflict_retries: prometheus::IntCounter::new("retries", "retries").unwrap(),
        log_writes: prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("w", "w"))
            .unwrap(),
    };
    let options = BrokerOptions {
        metrics: Some(metrics.clone()),
        ..BrokerOptions::default()
    };
    let broker = EmbeddedBroker::start(dir.path(), None, &options)
        .await
        .unwrap();
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap).await;

    let mut sends = Vec::new();
    for p in 0..PRODUCERS {
        let producer = producer(&bootstrap);
        sends.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            let mut pending = Vec::new();
            for n in 0..RECORDS {
                let key = format!("p{p}-{n}");
                let value = vec![b'x'; 300];
                let producer = producer.clone();
                pending.push(tokio::spawn(async move {
                    let record = FutureRecord::to(TOPIC).key(&key).payload(&value);
                    producer
                        .send(record, Duration::from_secs(60))
                        .await
                        .map(|_| ())
                        .map_err(|(error, _)| error.to_string())
                }));
            }
            for sent in pending {
                if let Err(error) = sent.await.unwrap() {
                    failures.push(error);
                }
            }
            failures
        }));
    }
    let mut failures = Vec::new();
    for send in sends {
        failures.extend(send.await.unwrap());
    }
    let retries = metrics.conflict_retries.get();
    assert!(
        failures.is_empty(),
        "{} of {} records refused, e.g. {:?} ({retries} writes retried)",
        failures.len(),
        PRODUCERS * RECORDS,
        failures.first()
    );
    // The acknowledgements waited for write-outs of the log, and those were measured.
    assert!(metrics.log_writes.get_sample_count() >= 1);
    let expected = (PRODUCERS * RECORDS) as i64;
    let reader = bootstrap.clone();
    let on_topic = tokio::task::spawn_blocking(move || records_on_topic(&reader))
        .await
        .unwrap();
    assert_eq!(on_topic, expected);
    eprintln!("{PRODUCERS} producers, {expected} records, {retries} writes retried on conflict");

    // Stopped and started again on the same directory: every record is still there.
    broker.stop().await;
    let broker = EmbeddedBroker::start(dir.path(), None, &options)
        .await
        .unwrap();
    let reader = broker.bootstrap();
    let on_topic = tokio::task::spawn_blocking(move || records_on_topic(&reader))
        .await
        .unwrap();
    assert_eq!(on_topic, expected, "after a restart");
    broker.stop().await;
}

/// Offsets of the records a fresh consumer assigned at `start` of partition 0 receives, until it
/// has `until` (or 20 s pass).
fn consume_from(bootstrap: &str, start: i64, until: i64) -> Vec<i64> {
    use rdkafka::Message;
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "probe-mid-batch")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(TOPIC, 0, Offset::Offset(start))
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let mut offsets = Vec::new();
    let started = std::time::Instant::now();
    while offsets.last().is_none_or(|last| *last + 1 < until)
        && started.elapsed() < Duration::from_secs(20)
    {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            offsets.push(message.offset());
        }
    }
    offsets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_resuming_inside_a_batch_gets_the_rest_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let broker = EmbeddedBroker::start(dir.path(), None, &BrokerOptions::default())
        .await
        .unwrap();
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap).await;
    // Two batches of 50 records on partition 0 (offsets 0–49 and 50–99).
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "200")
        .create()
        .unwrap();
    for _ in 0..2 {
        let sends: Vec<_> = (0..50)
            .map(|n| {
                let producer = producer.clone();
                tokio::spawn(async move {
                    let value = format!("record {n}");
                    let record = FutureRecord::<(), _>::to(TOPIC)
                        .partition(0)
                        .payload(&value);
                    producer
                        .send(record, Duration::from_secs(30))
                        .await
                        .unwrap()
                })
            })
            .collect();
        for send in sends {
            send.await.unwrap();
        }
    }
    let reader = bootstrap.clone();
    let (first, last) = tokio::task::spawn_blocking(move || {
        (
            consume_from(&reader, 20, 100),
            consume_from(&reader, 70, 100),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        first,
        (20..100).collect::<Vec<_>>(),
        "from inside the first batch"
    );
    assert_eq!(
        last,
        (70..100).collect::<Vec<_>>(),
        "from inside the last batch"
    );
    broker.stop().await;
}

/// Tansu's watermark record of a partition, as it stores it (postcard): low and high offsets
/// and the map from batch timestamps to offsets.
#[derive(serde::Deserialize)]
struct StoredWatermark {
    _low: Option<i64>,
    _high: Option<i64>,
    timestamps: Option<std::collections::BTreeMap<i64, i64>>,
}

/// The most timestamp entries of any partition's watermark record in the SlateDB log under
/// `root` (the broker stopped).
async fn largest_timestamp_map(root: &std::path::Path) -> usize {
    use slatedb::object_store::local::LocalFileSystem;
    let store = std::sync::Arc::new(LocalFileSystem::new_with_prefix(root).unwrap());
    let db = slatedb::Db::open("log", store).await.unwrap();
    let mut scan = db
        .scan_prefix(spotcheck_broker::watermarks::KEY_PREFIX)
        .await
        .unwrap();
    let mut largest = 0;
    let mut records = 0;
    while let Some(entry) = scan.next().await.unwrap() {
        let watermark: StoredWatermark = postcard::from_bytes(&entry.value).unwrap();
        largest = largest.max(watermark.timestamps.map_or(0, |t| t.len()));
        records += 1;
    }
    db.close().await.unwrap();
    assert!(records > 0, "no watermark record found");
    largest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitions_watermark_stays_small_and_lookups_by_time_skip_nothing() {
    use rdkafka::{Offset, TopicPartitionList};
    const BATCHES: i64 = 3_000;
    const START: i64 = 1_764_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    let options = BrokerOptions {
        fsync: false,
        ..BrokerOptions::default()
    };
    let broker = EmbeddedBroker::start(dir.path(), None, &options)
        .await
        .unwrap();
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap).await;
    // One record per batch, each 10 ms after the one before: one timestamp entry each.
    let producer = producer(&bootstrap);
    for n in 0..BATCHES {
        let value = format!("record {n}");
        let record = FutureRecord::<(), _>::to(TOPIC)
            .partition(0)
            .timestamp(START + 10 * n)
            .payload(&value);
        producer
            .send(record, Duration::from_secs(30))
            .await
            .unwrap();
    }
    // Looked up by time, the broker answers the first record at or after it, or one before:
    // never one after.
    let reader = bootstrap.clone();
    let answers = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &reader)
            .create()
            .unwrap();
        (0..BATCHES)
            .step_by(97)
            .map(|n| {
                let mut asked = TopicPartitionList::new();
                asked
                    .add_partition_offset(TOPIC, 0, Offset::Offset(START + 10 * n - 5))
                    .unwrap();
                let answer = consumer
                    .offsets_for_times(asked, Duration::from_secs(10))
                    .unwrap();
                let offset = answer.find_partition(TOPIC, 0).unwrap().offset();
                (n, offset)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (n, offset) in answers {
        match offset {
            Offset::Offset(answered) => assert!(
                answered <= n,
                "the record of time {n} is at offset {n}, answered {answered}"
            ),
            other => panic!("time of record {n}: answered {other:?}"),
        }
    }
    let root = broker.log().to_owned();
    broker.stop().await;
    // Merged every thousand writes to the broker: at most a thousand entries since the last.
    let largest = largest_timestamp_map(&root).await;
    let bound = spotcheck_broker::watermarks::LIMIT + 1_000;
    assert!(
        largest <= bound,
        "{largest} timestamp entries in one watermark after {BATCHES} batches (at most {bound})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_broker_on_the_directory_is_refused_and_the_first_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let options = BrokerOptions::default();
    let first = EmbeddedBroker::start(dir.path(), None, &options)
        .await
        .unwrap();
    let bootstrap = first.bootstrap();
    create_topic(&bootstrap).await;

    // Someone runs `spotcheck up` again on the same data dir.
    let error = EmbeddedBroker::start(dir.path(), None, &options)
        .await
        .err()
        .expect("a second broker on the directory is refused")
        .to_string();
    assert!(error.contains("in use by another process"), "{error}");

    // The first still acknowledges (before, the second had fenced its log: nothing was).
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("acks", "all")
        .set("message.timeout.ms", "20000")
        .create()
        .unwrap();
    let delivered = producer
        .send(
            FutureRecord::to(TOPIC).key("k").payload("v"),
            Duration::from_secs(20),
        )
        .await;
    assert!(delivered.is_ok(), "{delivered:?}");
    first.stop().await;

    // Stopped, it frees the directory, and what it acknowledged is there.
    let again = EmbeddedBroker::start(dir.path(), None, &options)
        .await
        .unwrap();
    assert_eq!(records_on_topic(&again.bootstrap()), 1);
    again.stop().await;
}

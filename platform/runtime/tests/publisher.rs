//! The publisher on rdkafka's mock cluster: a producer that can no longer deliver is replaced by a
//! new one, so a component writes again without being restarted.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use spotcheck_runtime::{CloudEvent, KafkaSettings, Metrics, PublishError, Publisher};
use std::time::{Duration, Instant};

const TOPIC: &str = "publisher-test";

fn event(n: usize) -> CloudEvent {
    CloudEvent::new(format!("e{n}"), "test.v1", "/test".into())
}

/// Publishes record after record until one is acknowledged (up to `within`); each record's
/// outcome in order.
async fn publish_until_acknowledged(
    publisher: &Publisher,
    within: Duration,
) -> Vec<Result<(), PublishError>> {
    let started = Instant::now();
    let mut outcomes = Vec::new();
    while started.elapsed() < within {
        let n = outcomes.len();
        let outcome = publisher
            .publish(TOPIC, &format!("k{n}"), b"{}", &event(n))
            .await
            .map(|_| ());
        let done = outcome.is_ok();
        outcomes.push(outcome);
        if done {
            break;
        }
    }
    outcomes
}

fn replacements(metrics: &Metrics, reason: &str) -> String {
    metrics
        .render()
        .lines()
        .find(|line| {
            line.starts_with("spotcheck_producer_replacements_total")
                && line.contains(&format!("reason=\"{reason}\""))
        })
        .unwrap_or("")
        .to_owned()
}

/// A publisher on a mock cluster whose first record is acknowledged, after which the broker
/// answers the next produce request with `error`.
async fn acknowledged_then(
    error: RDKafkaRespErr,
) -> (
    MockCluster<'static, DefaultProducerContext>,
    Publisher,
    Metrics,
) {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(TOPIC, 1, 1).unwrap();
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let mut kafka = KafkaSettings::new(cluster.bootstrap_servers(), "publisher-test");
    kafka.delivery_timeout = Duration::from_secs(3);
    let publisher = Publisher::new(&kafka, metrics.clone()).unwrap();
    publisher
        .publish(TOPIC, "k", b"{}", &event(1_000))
        .await
        .expect("the first record is acknowledged");
    cluster.request_errors(RDKafkaApiKey::Produce, &[error]);
    (cluster, publisher, metrics)
}

#[tokio::test]
async fn a_producer_failed_for_good_is_replaced_and_the_next_records_are_acknowledged() {
    // The broker answers as if it had lost records it acknowledged: librdkafka's idempotent
    // producer takes that as a fatal error and delivers nothing more.
    let (_cluster, publisher, metrics) =
        acknowledged_then(RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER).await;
    let outcomes = publish_until_acknowledged(&publisher, Duration::from_secs(30)).await;
    assert!(
        outcomes[0].is_err(),
        "the record the broker refused is reported failed: {outcomes:?}"
    );
    assert!(
        outcomes.last().is_some_and(Result::is_ok),
        "no record acknowledged after the fatal error: {outcomes:?}"
    );
    assert!(
        replacements(&metrics, "fatal_error").ends_with(" 1"),
        "{}",
        metrics.render()
    );
}

#[tokio::test]
async fn a_producer_whose_epoch_librdkafka_bumped_itself_is_replaced() {
    // "Unknown producer id" on a first attempt: librdkafka bumps the epoch itself and retries,
    // which Apache Kafka accepts and Tansu 0.6 answers with a panic on every later request.
    let (_cluster, publisher, metrics) =
        acknowledged_then(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID).await;
    publisher
        .publish(TOPIC, "k", b"{}", &event(1_001))
        .await
        .expect("the mock broker takes the bumped epoch");
    // The bump shows in the statistics (every second); the next record goes by a new producer.
    let started = Instant::now();
    while !replacements(&metrics, "epoch_bump").ends_with(" 1") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the bumped producer was not replaced\n{}",
            metrics.render()
        );
        let outcomes = publish_until_acknowledged(&publisher, Duration::from_secs(10)).await;
        assert!(outcomes.last().is_some_and(Result::is_ok), "{outcomes:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_second_producer_delivers_and_wakes_what_waits_on_the_first() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(TOPIC, 1, 1).unwrap();
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let kafka = KafkaSettings::new(cluster.bootstrap_servers(), "publisher-test");
    let publisher = Publisher::new(&kafka, metrics.clone()).unwrap();
    // A stage of `up` resting while idle waits on ingest's publisher; the stages' own records
    // (a case the credit feed reads) go through the second producer and must wake it too.
    let mut resting = publisher.written();
    let stages = publisher.another().unwrap();
    let position = stages
        .publish(TOPIC, "k", b"{}", &event(1))
        .await
        .expect("acknowledged through the second producer");
    tokio::time::timeout(Duration::from_secs(10), resting.changed())
        .await
        .expect("the first producer's waiters are woken")
        .unwrap();
    // Both count in the one registry the process exposes.
    let produced = metrics
        .render()
        .lines()
        .find(|line| line.starts_with("spotcheck_records_produced_total") && line.contains(TOPIC))
        .unwrap_or("")
        .to_owned();
    assert!(produced.ends_with(" 1"), "{produced}");
    // And the first still delivers on its own connection.
    let next = publisher
        .publish(TOPIC, "k", b"{}", &event(2))
        .await
        .unwrap();
    assert!(next.offset > position.offset);
}

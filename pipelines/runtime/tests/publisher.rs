//! The publisher on rdkafka's mock cluster: a producer that can no longer deliver is replaced by a
//! new one, so a component writes again without being restarted.

use rdkafka::mocking::MockCluster;
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

fn publisher(bootstrap: String) -> (Publisher, Metrics) {
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let mut kafka = KafkaSettings::new(bootstrap, "publisher-test");
    kafka.delivery_timeout = Duration::from_secs(3);
    (Publisher::new(&kafka, metrics.clone()).unwrap(), metrics)
}

#[tokio::test]
async fn a_producer_failed_for_good_is_replaced_and_the_next_records_are_acknowledged() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(TOPIC, 1, 1).unwrap();
    let (publisher, metrics) = publisher(cluster.bootstrap_servers());
    publisher
        .publish(TOPIC, "k", b"{}", &event(1_000))
        .await
        .expect("the first record is acknowledged");
    // The broker answers the next produce request as if it had lost records it acknowledged:
    // librdkafka's idempotent producer takes that as a fatal error and delivers nothing more.
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER],
    );
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
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(TOPIC, 1, 1).unwrap();
    let (publisher, metrics) = publisher(cluster.bootstrap_servers());
    publisher
        .publish(TOPIC, "k", b"{}", &event(1_000))
        .await
        .expect("the first record is acknowledged");
    // "Unknown producer id" on a first attempt: librdkafka bumps the epoch itself and retries,
    // which Apache Kafka accepts and Tansu 0.6 answers with a panic on every later request.
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID],
    );
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

//! With the broker down or slow (rdkafka's mock cluster, fault injection), ingest answers 503 with
//! Retry-After and reports nothing as accepted that the broker did not take; when the broker
//! returns, re-sent records are each taken once: `accepted`, or `duplicate` when the producer
//! still delivered the first copy after the 503.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use rdkafka::mocking::MockCluster;
use serde_json::{Value, json};
use spotcheck_analytics::{Analytics, QueryLimits};
use spotcheck_api::access::{Authenticator, Role, TokenEntry, new_token};
use spotcheck_api::app::AppParts;
use spotcheck_api::body::BodyLimits;
use spotcheck_api::ledger::Ledger;
use spotcheck_api::{App, api, routes};
use spotcheck_runtime::{Health, KafkaSettings, Metrics, Publisher};
use spotcheck_schemas::topics;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

struct Harness {
    router: axum::Router,
    token: String,
    _ledger_dir: tempfile::TempDir,
}

async fn harness(bootstrap: &str) -> Harness {
    let (token, sha256) = new_token();
    let auth = Authenticator::new(&[TokenEntry {
        sha256,
        role: Role::Lab,
        subject: "tj-lab-01".into(),
    }])
    .unwrap();
    let mut kafka = KafkaSettings::new(bootstrap, "fault-test");
    kafka.delivery_timeout = Duration::from_millis(1500);
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let ledger_dir = tempfile::tempdir().unwrap();
    let app = App::new(AppParts {
        auth,
        publisher: Publisher::new(&kafka, metrics.clone()).unwrap(),
        metrics,
        health: Health::default(),
        limits: BodyLimits::default(),
        source: "/spotcheck/test".into(),
        clock: Arc::new(|| NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()),
        bursts: Default::default(),
    })
    .unwrap();
    let ledger = Ledger::open(&ledger_dir.path().join("ledger.redb")).unwrap();
    let lake = Analytics::open(&ledger_dir.path().join("lake"), QueryLimits::default())
        .await
        .unwrap();
    let intake = routes::intake(&app, ledger, Arc::new(lake));
    Harness {
        router: api(app, [intake]),
        token,
        _ledger_dir: ledger_dir,
    }
}

fn ndjson(numbers: std::ops::Range<u32>) -> String {
    numbers
        .map(|n| {
            json!({
                "report_no": format!("R-{n}"), "lab_id": "tj-lab-01", "category": "e_bike",
                "product": {"name": "电动自行车", "model": "TDT-1", "batch": format!("B{n}")},
                "producer": {"name": "某车业"}, "sampled_unit": {"name": "某车行", "role": "retailer"},
                "sampling": {"date": "2026-04-02", "domain": "circulation"},
                "tested_on": "2026-04-03", "verdict": "pass"
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn post(h: &Harness, body: String) -> (StatusCode, Option<String>, Value) {
    let request = Request::post("/v1/results")
        .header("authorization", format!("Bearer {}", h.token))
        .header("content-type", "application/x-ndjson")
        .body(Body::from(body))
        .unwrap();
    let response = h.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        retry_after,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_broker_that_is_down_gets_503_and_nothing_is_reported_accepted() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(topics::RESULTS, 12, 1).unwrap();
    let h = harness(&cluster.bootstrap_servers()).await;

    // The first requests may meet a producer still connecting: a client retries on 503.
    let statuses = post_until_202(&h, ndjson(0..5)).await;
    assert_eq!(statuses.len(), 5);

    cluster.broker_down(1).unwrap();
    let (status, retry_after, body) = post(&h, ndjson(5..10)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after.is_some(), "503 carries Retry-After");
    assert!(body["error"].as_str().unwrap().contains("unavailable"));
    assert_eq!(
        body["accepted"],
        json!([]),
        "nothing the broker did not take is accepted"
    );

    cluster.broker_up(1).unwrap();
    let statuses = post_until_202(&h, ndjson(5..10)).await;
    assert_eq!(statuses.len(), 5, "{statuses:?}");
    assert_eq!(
        records_on(&cluster.bootstrap_servers(), topics::RESULTS, 12),
        10,
        "every record once, whether the producer delivered the first copy or the re-send: \
         {statuses:?}"
    );
}

/// Posts until 202 (as a client does on 503, half a second apart), collecting each record's
/// first answer.
async fn post_until_202(h: &Harness, body: String) -> std::collections::BTreeMap<String, String> {
    let mut first_answers = std::collections::BTreeMap::new();
    for _ in 0..20 {
        let (status, _, answer) = post(h, body.clone()).await;
        for entry in answer["accepted"].as_array().into_iter().flatten() {
            let report = entry["report_no"].as_str().unwrap().to_owned();
            first_answers
                .entry(report)
                .or_insert_with(|| entry["status"].as_str().unwrap().to_owned());
        }
        if status == StatusCode::ACCEPTED {
            return first_answers;
        }
        // As a client does after a 503: wait a little (the producer reconnects meanwhile).
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("still 503 after 20 attempts")
}

/// Records on `topic` across its partitions (sum of the high watermarks).
fn records_on(bootstrap: &str, topic: &str, partitions: i32) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    (0..partitions)
        .map(|partition| {
            let (_, high) = consumer
                .fetch_watermarks(topic, partition, Duration::from_secs(5))
                .unwrap();
            high
        })
        .sum()
}

/// A started harness on a one-broker mock cluster with the results topic, past its first 202.
async fn connected_harness() -> (
    MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    Harness,
) {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(topics::RESULTS, 12, 1).unwrap();
    let h = harness(&cluster.bootstrap_servers()).await;
    post_until_202(&h, ndjson(0..1)).await;
    (cluster, h)
}

/// The `status` of each record listed as accepted in a batch answer.
fn accepted_statuses(body: &Value) -> Vec<&str> {
    body["accepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["status"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_client_that_gives_up_mid_request_gets_duplicate_on_its_resend_and_nothing_twice() {
    let (cluster, h) = connected_harness().await;

    // Acknowledgements now take a second: the client's 200-ms timeout ends its request first.
    cluster
        .broker_round_trip_time(1, Duration::from_millis(1000))
        .unwrap();
    let gave_up = tokio::time::timeout(Duration::from_millis(200), post(&h, ndjson(1..4))).await;
    assert!(gave_up.is_err(), "the request should outlast the client");
    tokio::time::sleep(Duration::from_millis(1400)).await; // the broker acknowledges meanwhile

    cluster
        .broker_round_trip_time(1, Duration::from_millis(0))
        .unwrap();
    let resent = tokio::time::timeout(Duration::from_secs(10), post(&h, ndjson(1..4)))
        .await
        .expect("a re-send must not wait on the abandoned request's claims");
    assert_eq!(resent.0, StatusCode::ACCEPTED, "{}", resent.2);
    assert_eq!(
        accepted_statuses(&resent.2),
        ["duplicate"; 3],
        "the broker had them already"
    );
    assert_eq!(
        records_on(&cluster.bootstrap_servers(), topics::RESULTS, 12),
        4
    );
}

#[tokio::test]
async fn a_record_acknowledged_after_its_503_answers_duplicate_on_its_resend() {
    let (cluster, h) = connected_harness().await;

    // Acknowledgements take 5 s. Ingest answers after its 1.5-s delivery timeout, and the
    // re-send below (waiting at most another 1.5 s) must be answered before them too, with a
    // margin for a busy machine: at 3 s the two raced, and on CI the acknowledgement won.
    cluster
        .broker_round_trip_time(1, Duration::from_millis(5000))
        .unwrap();
    let (status, _, body) = post(&h, ndjson(1..4)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["accepted"], json!([]), "no answer from the broker yet");

    // Re-sent while the broker's answer is still on its way: 503 again, not a wait without end
    // and not a second copy.
    let (status, _, body) = tokio::time::timeout(Duration::from_secs(10), post(&h, ndjson(1..4)))
        .await
        .expect("a re-send must not wait for the first request's records without bound");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");

    cluster
        .broker_round_trip_time(1, Duration::from_millis(0))
        .unwrap();
    // Until the late acknowledgements arrive and are settled in the ledger, a re-send is
    // answered 503 (still in flight), never published again.
    let started = std::time::Instant::now();
    let body = loop {
        let (status, _, body) = post(&h, ndjson(1..4)).await;
        if status == StatusCode::ACCEPTED {
            break body;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the late acknowledgements never settled: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        accepted_statuses(&body),
        ["duplicate"; 3],
        "the broker took them after the 503"
    );
    assert_eq!(
        records_on(&cluster.bootstrap_servers(), topics::RESULTS, 12),
        4,
        "each record once"
    );
}

//! Disclosures pushed to a webhook: a receiver that refuses the first attempts and then is down
//! for a while still ends with every disclosure of the feed, each with a valid signature; it
//! de-duplicates on the idempotency key, as receivers are asked to.

mod support;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::Up;

const SECRET: &str = "shared-secret-for-tests";

#[derive(Default)]
struct Received {
    attempts: usize,
    /// Idempotency key → (signature valid, body).
    by_key: BTreeMap<String, (bool, Value)>,
}

type Shared = Arc<Mutex<Received>>;

async fn hook(
    State(received): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let mut received = received.lock().unwrap();
    received.attempts += 1;
    if received.attempts <= 3 {
        return StatusCode::SERVICE_UNAVAILABLE; // not ready yet
    }
    let signature = headers
        .get("x-spotcheck-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let valid = signature == spotcheck_credit::webhook::signature(SECRET, &body);
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    received.by_key.entry(key).or_insert((valid, value));
    StatusCode::OK
}

/// Serves the receiver on `port` until the returned sender is dropped; the handle ends once
/// the server has let its connections go and closed the port.
fn serve(
    runtime: &tokio::runtime::Runtime,
    port: u16,
    received: Shared,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
        .unwrap();
    // The credit system's receiver, not a route of spotcheck's API: no guard to require.
    #[allow(clippy::disallowed_methods)]
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(received);
    let server = runtime.spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (stop, server)
}

fn days_ago(days: u64) -> String {
    (spotcheck_schemas::days::today() - chrono::Days::new(days)).to_string()
}

fn post_failure(up: &Up, report_no: &str) {
    let mut result = support::result(report_no);
    result["tested_on"] = json!(days_ago(14));
    result["sampling"]["date"] = json!(days_ago(20));
    result["served_on"] = json!(days_ago(12));
    let response = reqwest::blocking::Client::new()
        .post(up.url("/v1/results"))
        .bearer_auth(up.token("lab"))
        .json(&result)
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
}

fn feed_keys(up: &Up) -> BTreeSet<String> {
    let page: Value = reqwest::blocking::Client::new()
        .get(up.url("/v1/disclosures?limit=1000"))
        .bearer_auth(up.token("feed"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                d["disclosure_id"].as_str().unwrap(),
                d["action"].as_str().unwrap()
            )
        })
        .collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "timed out waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_receiver_that_refuses_then_goes_down_gets_every_disclosure_once_and_signed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let port = support::free_port();
    let received: Shared = Arc::default();
    let (stop, server) = serve(&runtime, port, received.clone());

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("spotcheck");
    let toml = format!(
        "[traceback.periods]\nobjection_days = 0\n\n[[credit.webhook]]\nurl = \"http://127.0.0.1:{port}/hook\"\nsecret = \"{SECRET}\"\n"
    );
    let up = Up::start_configured(&data, &toml, &[]);

    for n in 1..=3 {
        post_failure(&up, &format!("TJ-HOOK-{n}"));
    }
    wait_until("6 disclosures on the feed", || feed_keys(&up).len() == 6);
    wait_until("the first disclosures at the receiver", || {
        !received.lock().unwrap().by_key.is_empty()
    });

    // The receiver goes down; more failures become final meanwhile.
    drop(stop);
    runtime.block_on(server).unwrap();
    for n in 4..=5 {
        post_failure(&up, &format!("TJ-HOOK-{n}"));
    }
    wait_until("10 disclosures on the feed", || feed_keys(&up).len() == 10);
    std::thread::sleep(Duration::from_secs(3));
    let _stop = serve(&runtime, port, received.clone());

    let expected = feed_keys(&up);
    wait_until("every disclosure at the receiver", || {
        received
            .lock()
            .unwrap()
            .by_key
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
            == expected
    });
    let received = received.lock().unwrap();
    assert!(
        received.attempts > received.by_key.len(),
        "the refused attempts were retried"
    );
    for (key, (valid, body)) in &received.by_key {
        assert!(valid, "{key}: the signature does not match the body");
        assert_eq!(
            format!(
                "{}:{}",
                body["disclosure_id"].as_str().unwrap(),
                body["action"].as_str().unwrap()
            ),
            *key
        );
    }
}

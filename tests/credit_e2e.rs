//! The credit feed on `spotcheck up`: a failure that is final is published for the seller and
//! the producer — on `spotcheck.credit.v1` (read by an independent consumer) and on
//! `GET /v1/disclosures` — a passing result gives nothing, a suspected counterfeit only the
//! seller, and an overturned re-test retracts each with the same id. The cursor survives a
//! restart and `wait` long-polls.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::Up;

const PRODUCER: &str = "91350100M000100Y43";
const SELLER: &str = "91110000802100433B";

fn days_ago(days: u64) -> String {
    (spotcheck_schemas::days::today() - chrono::Days::new(days)).to_string()
}

/// A result served twelve days ago; with an objection window of 0 days (its last day moved past
/// any weekend or holiday), final since.
fn result(report_no: &str, verdict: &str, counterfeit: bool) -> Value {
    let mut result = support::result(report_no);
    result["tested_on"] = json!(days_ago(14));
    result["sampling"]["date"] = json!(days_ago(20));
    result["served_on"] = json!(days_ago(12));
    result["suspected_counterfeit"] = json!(counterfeit);
    if verdict == "pass" {
        result["verdict"] = json!("pass");
        result["items"][0]["verdict"] = json!("pass");
        result["severity"] = Value::Null;
    }
    result
}

fn start(dir: &std::path::Path) -> Up {
    let data = dir.join("spotcheck");
    Up::start_configured(&data, "[traceback.periods]\nobjection_days = 0\n", &[])
}

fn post(up: &Up, route: &str, role: &str, body: &Value) {
    let response = reqwest::blocking::Client::new()
        .post(up.url(route))
        .bearer_auth(up.token(role))
        .json(body)
        .send()
        .unwrap();
    assert_eq!(
        response.status(),
        202,
        "{route}: {}",
        response.text().unwrap()
    );
}

fn feed(up: &Up, after: &str, wait: u64) -> Value {
    reqwest::blocking::Client::new()
        .get(up.url(&format!("/v1/disclosures?after={after}&wait={wait}")))
        .bearer_auth(up.token("feed"))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// Polls the feed from the start until it holds `n` items.
fn wait_for_items(up: &Up, n: usize) -> (Vec<Value>, String, Duration) {
    let started = Instant::now();
    loop {
        let page = feed(up, "", 1);
        let items = page["items"].as_array().unwrap().clone();
        if items.len() >= n {
            return (
                items,
                page["next"].as_str().unwrap().to_owned(),
                started.elapsed(),
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{page}\n{}",
            up.log_text()
        );
    }
}

fn summary(items: &[Value]) -> Vec<(String, String, String)> {
    let mut summary: Vec<_> = items
        .iter()
        .map(|d| {
            (
                d["action"].as_str().unwrap().to_owned(),
                d["subject_role"].as_str().unwrap().to_owned(),
                d["report_no"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    summary.sort();
    summary
}

#[test]
fn final_failures_are_disclosed_once_per_subject_and_retracted_when_overturned() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = start(dir.path());
    post(
        &up,
        "/v1/results",
        "lab",
        &result("TJ-CREDIT-1", "fail", false),
    );
    post(
        &up,
        "/v1/results",
        "lab",
        &result("TJ-CREDIT-PASS", "pass", false),
    );
    post(
        &up,
        "/v1/results",
        "lab",
        &result("TJ-CREDIT-FAKE", "fail", true),
    );
    let (items, next, waited) = wait_for_items(&up, 3);
    eprintln!(
        "result posted to 3 disclosures on the feed: {} ms",
        waited.as_millis()
    );
    // Nothing else may come: the stages have applied every result and revision.
    support::wait_until_disclosed(&up.brokers());
    let (items, _, _) = wait_for_items(&up, items.len());
    let expected = |rows: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        let mut rows: Vec<_> = rows
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(
        summary(&items),
        expected(&[
            ("publish", "seller", "TJ-CREDIT-1"),
            ("publish", "producer", "TJ-CREDIT-1"),
            ("publish", "seller", "TJ-CREDIT-FAKE"),
        ])
    );
    let first = items
        .iter()
        .find(|d| d["report_no"] == "TJ-CREDIT-1" && d["subject_role"] == "producer")
        .unwrap();
    assert_eq!(first["subject"]["uscc"], PRODUCER);
    assert_eq!(first["failed_items"][0]["name"], "熄火保护装置");
    assert_eq!(first["final_on"], support::final_on_after(12).to_string());
    assert!(first["basis"].as_str().unwrap().contains("产品质量法"));
    let seller = items
        .iter()
        .find(|d| d["report_no"] == "TJ-CREDIT-1" && d["subject_role"] == "seller")
        .unwrap();
    assert_eq!(seller["subject"]["uscc"], SELLER);

    // The topic, read independently, holds the same disclosures keyed by subject.
    let on_topic = support::read_topic(&up.brokers(), "spotcheck.credit.v1");
    assert_eq!(on_topic.len(), 3);
    assert!(
        on_topic
            .iter()
            .all(|r| r.key == r.value["subject"]["uscc"].as_str().unwrap())
    );

    // The cursor stays valid across a restart.
    up.restart();
    assert_eq!(feed(&up, &next, 0)["items"], json!([]));

    // An objection inside the window, then an overturned re-test: both retracted, same ids;
    // a long-polling reader is woken by them.
    let waiter_url = up.url(&format!("/v1/disclosures?after={next}&wait=30"));
    let feed_token = up.token("feed");
    let waiter = std::thread::spawn(move || {
        let started = Instant::now();
        let page: Value = reqwest::blocking::Client::new()
            .get(waiter_url)
            .bearer_auth(feed_token)
            .timeout(Duration::from_secs(40))
            .send()
            .unwrap()
            .json()
            .unwrap();
        (page, started.elapsed())
    });
    let disposition = |id: &str, kind: &str, outcome: Option<&str>| {
        json!({"disposition_id": id, "report_no": "TJ-CREDIT-1", "lab_id": "dev-lab", "kind": kind,
               "on": days_ago(12), "outcome": outcome})
    };
    post(
        &up,
        "/v1/dispositions",
        "admin",
        &disposition("OBJ-1", "objection_filed", None),
    );
    post(
        &up,
        "/v1/dispositions",
        "admin",
        &disposition("RT-1", "retest_concluded", Some("overturned")),
    );
    let (woken, after) = waiter.join().unwrap();
    assert!(!woken["items"].as_array().unwrap().is_empty(), "{woken}");
    assert!(
        after < Duration::from_secs(30),
        "the long poll returned when something came"
    );
    let (all, _, _) = wait_for_items(&up, 5);
    let retracts: Vec<&Value> = all.iter().filter(|d| d["action"] == "retract").collect();
    assert_eq!(retracts.len(), 2, "{all:?}");
    for retract in retracts {
        let published = all
            .iter()
            .find(|d| d["action"] == "publish" && d["disclosure_id"] == retract["disclosure_id"]);
        assert!(
            published.is_some(),
            "a retraction reuses its publication's id"
        );
    }
    let on_topic = support::read_topic(&up.brokers(), "spotcheck.credit.v1");
    assert_eq!(on_topic.len(), 5);

    // The lake has them too.
    let started = Instant::now();
    loop {
        let rows: Value = reqwest::blocking::Client::new()
            .post(up.url("/v1/sql"))
            .bearer_auth(up.token("analyst"))
            .json(&json!({"sql": "SELECT action, count(*) AS n FROM disclosures GROUP BY action ORDER BY action"}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if rows == json!([{"action": "publish", "n": 3}, {"action": "retract", "n": 2}]) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{rows}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

//! The flows several real-broker tests share: results to post, components to start, what to
//! wait for, and how to read the cases back.

use super::{BIN, Broker, Component};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A valid USCC registered in `division` (e.g. `120104`), numbered `n`.
pub fn uscc(division: &str, n: u32) -> String {
    let first17 = format!("91{division}MA{n:07}");
    spotcheck_schemas::uscc::with_check_character(&first17).unwrap()
}

/// Headless Chromium (Debian's `chromium`, which the test command installs) on a local file:
/// takes a screenshot into `png` and returns the DOM after scripts and layout ran.
pub fn render_in_chromium(html: &Path, png: &Path) -> String {
    let run = |extra: &[String], profile: &str| {
        let output = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1400,1800",
            ])
            .arg(format!(
                "--user-data-dir={}",
                html.with_extension(profile).display()
            ))
            .args(extra)
            .arg(format!("file://{}", html.display()))
            .output()
            .expect("chromium is installed (scripts/test installs Debian's chromium)");
        assert!(output.status.success(), "chromium failed: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    run(&[format!("--screenshot={}", png.display())], "profile-shot");
    let size = std::fs::metadata(png).map_or(0, |m| m.len());
    assert!(
        size > 1000,
        "no screenshot at {} ({size} bytes)",
        png.display()
    );
    run(&["--dump-dom".to_owned()], "profile-dom")
}

pub const PRODUCER: &str = "91350100M000100Y43";
pub const SELLER: &str = "91110000802100433B";

pub fn days_ago(days: u64) -> String {
    (spotcheck_schemas::days::today() - chrono::Days::new(days)).to_string()
}

/// A result served twelve days ago: with the objection window at 0 days, its failure is final.
pub fn final_result(report_no: &str, verdict: &str) -> Value {
    let mut result = super::result(report_no);
    result["tested_on"] = json!(days_ago(14));
    result["sampling"]["date"] = json!(days_ago(20));
    result["served_on"] = json!(days_ago(12));
    if verdict == "pass" {
        result["verdict"] = json!("pass");
        result["items"][0]["verdict"] = json!("pass");
        result["severity"] = Value::Null;
    }
    result
}

/// GETs `url` with `token` until `ready` accepts the JSON body (up to 60 s).
pub fn poll_json(url: &str, token: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let client = reqwest::blocking::Client::new();
    let started = Instant::now();
    loop {
        let body: Value = client
            .get(url)
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if ready(&body) {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{url} never gave what was expected; last: {body}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Rows of `sql` over HTTP from the analytics process.
pub fn sql(analytics: &Component, token: &str, query: &str) -> Vec<Value> {
    let response = reqwest::blocking::Client::new()
        .post(analytics.url("/v1/sql"))
        .bearer_auth(token)
        .json(&json!({ "sql": query }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "{query}");
    response.json().unwrap()
}

/// Waits until `query` (one row, column `n`) gives `expected`.
pub fn wait_for_count(analytics: &Component, token: &str, query: &str, expected: u64) {
    let started = Instant::now();
    loop {
        let n = sql(analytics, token, query)[0]["n"].as_u64().unwrap();
        if n == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{query}: {n}, expected {expected}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Starts ingest in `data` (which writes the dev config and tokens), then sets, for the stages
/// and for itself (restarted), the objection window to 0 days and a delivery wait that a broker
/// starved of CPU by many debug processes on two cores still meets, so that posts are answered
/// 202 rather than 503-and-re-send.
pub fn start_ingest(data: &Path, broker: &Broker) -> (Component, String) {
    let mut ingest = Component::start("ingest", data, &broker.bootstrap, &[]);
    let config = data.join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[traceback.periods]\nobjection_days = 0\n");
    text.push_str("\n[kafka]\ndelivery_timeout_ms = 60000\n");
    std::fs::write(&config, text).unwrap();
    ingest.restart();
    (ingest, config.to_str().unwrap().to_owned())
}

pub fn generate(dir: &Path, results: usize, shipments: usize) -> PathBuf {
    let out = dir.join("gen");
    let status = Command::new(BIN)
        .args(["gen", "--out", out.to_str().unwrap(), "--seed", "5"])
        .args(["--results", &results.to_string()])
        .args(["--shipments", &shipments.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    out
}

pub fn post(ingest: &Component, token: &str, file: &Path) -> Child {
    Command::new(BIN)
        .args(["post", "--url", &ingest.url(""), "--token", token])
        .arg(file)
        .arg("--batch-size")
        .arg("500")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

pub fn lines(file: &Path) -> u64 {
    std::fs::read_to_string(file).unwrap().lines().count() as u64
}

/// The newest revision of every case on the cases topic, without what depends on timing
/// (revision numbers, `updated_at`); and a check that no revision was published twice with
/// different content.
pub fn final_cases(brokers: &str) -> BTreeMap<String, Value> {
    newest_cases(super::read_topic(brokers, "spotcheck.cases.v1"))
}

fn newest_cases(records: Vec<super::Record>) -> BTreeMap<String, Value> {
    let mut seen: BTreeMap<(String, u64), Value> = BTreeMap::new();
    for record in records {
        let case = record.value;
        let key = (
            case["case_id"].as_str().unwrap().to_owned(),
            case["revision"].as_u64().unwrap(),
        );
        if let Some(earlier) = seen.get(&key) {
            assert_eq!(
                earlier, &case,
                "revision {key:?} published twice, differently"
            );
        }
        seen.insert(key, case);
    }
    let mut newest: BTreeMap<String, Value> = BTreeMap::new();
    for ((case_id, _), mut case) in seen {
        let object = case.as_object_mut().unwrap();
        object.remove("revision");
        object.remove("updated_at");
        newest.insert(case_id, case); // ascending revisions: the last one stays
    }
    newest
}

/// The newest revision of every case on the topic, once the traceback stage has applied every
/// record of the topics it reads (its group's committed offsets reach their ends: it commits an
/// offset only after the revisions the record caused are on the topic). Run it after the last
/// post: one case per failing result.
pub fn settled_cases(brokers: &str, failing: usize) -> BTreeMap<String, Value> {
    super::wait_until_traced(brokers);
    let cases = newest_cases(super::read_topic(brokers, "spotcheck.cases.v1"));
    assert_eq!(cases.len(), failing, "one case per failing result");
    cases
}

pub fn failing_results(file: &Path) -> usize {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).unwrap()["verdict"] == "fail")
        .count()
}

/// Posts the registry and the shipments of `generated` (waiting), then starts the results.
pub fn post_all(ingest: &Component, data: &Path, generated: &Path) -> Child {
    for (file, role) in [("units.ndjson", "admin"), ("shipments.ndjson", "ledger")] {
        let token = super::dev_token(data, role);
        let posted = post(ingest, &token, &generated.join(file)).wait().unwrap();
        assert!(posted.success(), "{file}");
    }
    post(
        ingest,
        &super::dev_token(data, "lab"),
        &generated.join("results.ndjson"),
    )
}

/// Rows of `query` from `POST /v1/sql` of `spotcheck up`, as the analyst.
pub fn up_sql(up: &super::Up, query: &str) -> Vec<Value> {
    let response = reqwest::blocking::Client::new()
        .post(up.url("/v1/sql"))
        .bearer_auth(up.token("analyst"))
        .json(&json!({ "sql": query }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "{query}");
    response.json().unwrap()
}

/// Waits (up to a minute) until `done` holds; fails naming `what`.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(60), "{what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

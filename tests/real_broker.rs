//! Production shape: a Kafka-protocol broker as its own process (the `tansu` binary that the test
//! command installs) and every spotcheck component as its own process against it — the flows of
//! the embedded-broker tests, and two lake writers splitting the partitions, one killed.

mod support;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{BIN, Broker, Component};

const PRODUCER: &str = "91350100M000100Y43";
const SELLER: &str = "91110000802100433B";

fn days_ago(days: u64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Days::new(days)).to_string()
}

/// A result served two days ago: with the objection window at 0 days, its failure is final.
fn final_result(report_no: &str, verdict: &str) -> Value {
    let mut result = support::result(report_no);
    result["tested_on"] = json!(days_ago(3));
    result["sampling"]["date"] = json!(days_ago(10));
    result["served_on"] = json!(days_ago(2));
    if verdict == "pass" {
        result["verdict"] = json!("pass");
        result["items"][0]["verdict"] = json!("pass");
        result["severity"] = Value::Null;
    }
    result
}

/// GETs `url` with `token` until `ready` accepts the JSON body (up to 60 s).
fn poll_json(url: &str, token: &str, ready: impl Fn(&Value) -> bool) -> Value {
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
fn sql(analytics: &Component, token: &str, query: &str) -> Vec<Value> {
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
fn wait_for_count(analytics: &Component, token: &str, query: &str, expected: u64) {
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
/// and for itself (restarted), the objection window to 0 days and a delivery timeout that a
/// broker starved of CPU by many debug processes on two cores still meets (a produce timed out
/// in flight makes Tansu 0.6 fail; see README).
fn start_ingest(data: &Path, broker: &Broker) -> (Component, String) {
    let mut ingest = Component::start("ingest", data, &broker.bootstrap, &[]);
    let config = data.join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[traceback.periods]\nobjection_days = 0\n");
    text.push_str("\n[kafka]\ndelivery_timeout_ms = 60000\n");
    std::fs::write(&config, text).unwrap();
    ingest.restart();
    (ingest, config.to_str().unwrap().to_owned())
}

#[test]
fn every_component_as_its_own_process_carries_a_result_to_the_lake_the_case_and_the_feed() {
    let tmp = tempfile::tempdir().unwrap();
    let broker = Broker::start(&tmp.path().join("broker"));
    let data = tmp.path().join("data");
    let (ingest, config) = start_ingest(&data, &broker);
    let with_config = ["--config", config.as_str()];
    let components: Vec<Component> = ["lake", "traceback", "credit", "analytics"]
        .iter()
        .map(|name| Component::start(name, &data, &broker.bootstrap, &with_config))
        .collect();
    let [_lake, traceback, credit, analytics] = components.as_slice() else {
        unreachable!()
    };
    let token = |role| support::dev_token(&data, role);

    let client = reqwest::blocking::Client::new();
    for (report_no, verdict) in [("TJ-REAL-FAIL-1", "fail"), ("TJ-REAL-PASS-1", "pass")] {
        let response = client
            .post(ingest.url("/v1/results"))
            .bearer_auth(token("lab"))
            .json(&final_result(report_no, verdict))
            .send()
            .unwrap();
        assert_eq!(response.status(), 202, "{}", response.text().unwrap());
    }
    // A stage's own HTTP server serves its reads, and refuses records with a clear 503.
    let refused = client
        .post(traceback.url("/v1/results"))
        .bearer_auth(token("lab"))
        .json(&final_result("TJ-REAL-FAIL-2", "fail"))
        .send()
        .unwrap();
    assert_eq!(refused.status(), 503);

    // Lake → SQL, from the analytics process.
    wait_for_count(
        analytics,
        &token("analyst"),
        "SELECT count(*) AS n FROM results",
        2,
    );
    // Traceback: one case, for the failing batch only.
    let cases = poll_json(&traceback.url("/v1/cases"), &token("admin"), |body| {
        !body["items"].as_array().unwrap().is_empty()
    });
    let items = cases["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{cases}");
    assert_eq!(items[0]["report_no"], "TJ-REAL-FAIL-1", "{cases}");
    // Credit: a publish for the seller and one for the producer, nothing for the pass.
    let feed = poll_json(
        &credit.url("/v1/disclosures?after="),
        &token("feed"),
        |body| body["items"].as_array().unwrap().len() >= 2,
    );
    let mut subjects: Vec<(String, String)> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["report_no"], "TJ-REAL-FAIL-1", "{d}");
            (
                d["action"].as_str().unwrap().to_owned(),
                d["subject"]["uscc"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            ("publish".to_owned(), SELLER.to_owned()),
            ("publish".to_owned(), PRODUCER.to_owned())
        ]
    );
    // Every process exports its stage's metrics.
    for (component, stage) in [(traceback, "traceback"), (credit, "credit")] {
        let metrics = client.get(component.url("/metrics")).send().unwrap();
        let text = metrics.text().unwrap();
        assert!(
            text.contains(&format!(
                "spotcheck_records_consumed_total{{stage=\"{stage}\""
            )),
            "{stage} metrics: {text}"
        );
    }
}

fn generate(dir: &Path, results: usize, shipments: usize) -> std::path::PathBuf {
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

fn post(ingest: &Component, token: &str, file: &Path) -> std::process::Child {
    Command::new(BIN)
        .args(["post", "--url", &ingest.url(""), "--token", token])
        .arg(file)
        .arg("--batch-size")
        .arg("500")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn lines(file: &Path) -> u64 {
    std::fs::read_to_string(file).unwrap().lines().count() as u64
}

#[test]
fn two_lake_writers_split_the_partitions_and_one_killed_hands_over_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let broker = Broker::start(&tmp.join("broker"));
    let data = tmp.join("data");
    let (ingest, _) = start_ingest(&data, &broker);
    let generated = generate(tmp, 3000, 6000);
    let mut first = Component::start("lake", &data, &broker.bootstrap, &[]);
    let second = Component::start("lake", &data, &broker.bootstrap, &[]);
    let analytics = Component::start("analytics", &data, &broker.bootstrap, &[]);

    let shipments = generated.join("shipments.ndjson");
    let results = generated.join("results.ndjson");
    let posted = post(&ingest, &support::dev_token(&data, "ledger"), &shipments)
        .wait()
        .unwrap();
    assert!(posted.success());
    let mut posting = post(&ingest, &support::dev_token(&data, "lab"), &results);
    // Both members write part of the lake before one of them dies mid-load.
    let started = Instant::now();
    while !(first.log_text().contains("partitions rebalanced")
        && second.log_text().contains("partitions rebalanced"))
    {
        assert!(started.elapsed() < Duration::from_secs(60), "no split");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    first.kill();
    assert!(posting.wait().unwrap().success());

    let token = support::dev_token(&data, "analyst");
    let expected = lines(&results);
    wait_for_count(
        &analytics,
        &token,
        "SELECT count(*) AS n FROM results",
        expected,
    );
    wait_for_count(
        &analytics,
        &token,
        "SELECT count(DISTINCT report_no) AS n FROM results",
        expected,
    );
    wait_for_count(
        &analytics,
        &token,
        "SELECT count(*) AS n FROM result_items",
        support::items_in(&results),
    );
    wait_for_count(
        &analytics,
        &token,
        "SELECT count(*) AS n FROM shipments",
        lines(&shipments),
    );
    drop(second);
}

/// The newest revision of every case on the cases topic, without what depends on timing
/// (revision numbers, `updated_at`); and a check that no revision was published twice with
/// different content.
fn final_cases(brokers: &str) -> BTreeMap<String, Value> {
    let mut seen: BTreeMap<(String, u64), Value> = BTreeMap::new();
    for record in support::read_topic(brokers, "spotcheck.cases.v1") {
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

/// Waits until every failing result has its case and the topic has been quiet for a while.
fn settled_cases(brokers: &str, failing: usize) -> BTreeMap<String, Value> {
    let started = Instant::now();
    let mut last = (0, 0);
    let mut quiet_since = Instant::now();
    loop {
        let records = support::read_topic(brokers, "spotcheck.cases.v1").len();
        let cases = final_cases(brokers);
        if (cases.len(), records) != last {
            last = (cases.len(), records);
            quiet_since = Instant::now();
        } else if cases.len() == failing && quiet_since.elapsed() > Duration::from_secs(8) {
            return cases;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "{} cases of {failing} after 4 minutes",
            cases.len()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn failing_results(file: &Path) -> usize {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).unwrap()["verdict"] == "fail")
        .count()
}

/// Posts the registry and the shipments of `generated` (waiting), then starts the results.
fn post_all(ingest: &Component, data: &Path, generated: &Path) -> std::process::Child {
    for (file, role) in [("units.ndjson", "admin"), ("shipments.ndjson", "ledger")] {
        let token = support::dev_token(data, role);
        let posted = post(ingest, &token, &generated.join(file)).wait().unwrap();
        assert!(posted.success(), "{file}");
    }
    post(
        ingest,
        &support::dev_token(data, "lab"),
        &generated.join("results.ndjson"),
    )
}

#[test]
fn two_traceback_instances_give_the_cases_one_gives_and_one_killed_hands_over() {
    let tmp = tempfile::tempdir().unwrap();
    let generated = generate(tmp.path(), 1500, 6000);
    let failing = failing_results(&generated.join("results.ndjson"));

    // One instance, undisturbed: the reference.
    let alone = {
        let broker = Broker::start(&tmp.path().join("broker-alone"));
        let data = tmp.path().join("alone");
        let (ingest, config) = start_ingest(&data, &broker);
        let _traceback = Component::start(
            "traceback",
            &data,
            &broker.bootstrap,
            &["--config", &config],
        );
        assert!(
            post_all(&ingest, &data, &generated)
                .wait()
                .unwrap()
                .success()
        );
        settled_cases(&broker.bootstrap, failing)
    };

    // Two instances sharing the batches; one killed while results are coming in.
    let broker = Broker::start(&tmp.path().join("broker-pair"));
    let data = tmp.path().join("pair");
    let (ingest, config) = start_ingest(&data, &broker);
    let with_config = ["--config", config.as_str()];
    let mut first = Component::start(
        "traceback",
        &data.join("first"),
        &broker.bootstrap,
        &with_config,
    );
    let second = Component::start(
        "traceback",
        &data.join("second"),
        &broker.bootstrap,
        &with_config,
    );
    let mut posting = post_all(&ingest, &data, &generated);
    let started = Instant::now();
    while !(first.log_text().contains("took results partitions over")
        && second.log_text().contains("took results partitions over"))
    {
        assert!(started.elapsed() < Duration::from_secs(60), "no split");
        std::thread::sleep(Duration::from_millis(200));
    }
    first.kill();
    assert!(posting.wait().unwrap().success());
    let pair = settled_cases(&broker.bootstrap, failing);
    assert!(
        second
            .log_text()
            .matches("took results partitions over")
            .count()
            >= 2,
        "the survivor never took the killed instance's partitions"
    );
    assert_eq!(pair.len(), alone.len());
    for (case_id, case) in &alone {
        assert_eq!(pair.get(case_id), Some(case), "{case_id} differs");
    }
}

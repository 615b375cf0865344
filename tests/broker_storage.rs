//! The embedded broker's storage: SlateDB for a new data dir, and a data dir whose broker log is
//! SQLite (every data dir made before SlateDB became the default) keeps that log and its records.

mod support;

use serde_json::Value;
use spotcheck_schemas::topics;
use support::{Up, read_topic, result};

fn post(up: &Up, record: &Value) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .post(up.url("/v1/results"))
        .bearer_auth(up.token("lab"))
        .json(record)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn on_topic(up: &Up, report_no: &str) -> usize {
    read_topic(&up.brokers(), topics::RESULTS)
        .iter()
        .filter(|r| r.value["report_no"] == report_no)
        .count()
}

#[test]
fn a_new_data_dir_keeps_its_broker_log_in_slatedb() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    assert_eq!(post(&up, &result("TJ-SLATE-1")).0, 202);
    assert_eq!(on_topic(&up, "TJ-SLATE-1"), 1);
    let broker = dir.path().join("broker");
    assert!(broker.join("slatedb").is_dir(), "SlateDB holds the log");
    assert!(!broker.join("broker.db").exists(), "no SQLite log is made");
    assert!(
        up.log_text().contains("Tansu on slatedb"),
        "the log names the engine:\n{}",
        up.log_text()
    );
}

#[test]
fn a_data_dir_with_a_sqlite_broker_log_keeps_it_and_its_records_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    // The layout every spotcheck before SlateDB made: DATA_DIR/broker/broker.db.
    let mut before = Up::start_with(dir.path(), &["--broker-storage", "sqlite"]);
    assert_eq!(post(&before, &result("TJ-UPGRADE-1")).0, 202);
    assert!(before.terminate().success());
    let broker = dir.path().join("broker");
    assert!(broker.join("broker.db").is_file());
    assert!(!broker.join("slatedb").exists());

    // The new version, with its default (SlateDB), on that data dir.
    let after = Up::start(dir.path());
    let log = after.log_text();
    assert!(
        log.contains("keeping SQLite"),
        "one line says the old log is kept:\n{log}"
    );
    assert!(!broker.join("slatedb").exists(), "no second, empty log");
    assert_eq!(
        on_topic(&after, "TJ-UPGRADE-1"),
        1,
        "the old record is there"
    );
    let (status, body) = post(&after, &result("TJ-UPGRADE-1"));
    assert_eq!(status, 202);
    assert_eq!(body["accepted"][0]["status"], "duplicate");
    assert_eq!(post(&after, &result("TJ-UPGRADE-2")).0, 202);
    assert_eq!(on_topic(&after, "TJ-UPGRADE-2"), 1);
    assert_eq!(read_topic(&after.brokers(), topics::RESULTS).len(), 2);
}

//! A generated data set (units, distribution trees, results) posted to `spotcheck up` through
//! `spotcheck post`, once without interruption and once with the process SIGKILLed at several
//! points while it is tracing: the final cases are the same, one per failing result, and every
//! case's revisions on `spotcheck.cases.v1` run 1..n with none missing. An instance without the
//! state rebuilds it from the topics and arrives at the same cases.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::{BIN, Up};

fn generate(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("gen");
    let status = Command::new(BIN)
        .args([
            "gen",
            "--out",
            out.to_str().unwrap(),
            "--results",
            "4000",
            "--shipments",
            "16000",
            "--seed",
            "11",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    out
}

fn post(up: &Up, role: &str, file: &Path) -> std::process::Child {
    Command::new(BIN)
        .args([
            "post",
            "--url",
            &up.url(""),
            "--token",
            &up.token(role),
            file.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn failing_reports(file: &Path) -> usize {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).unwrap()["verdict"] == "fail")
        .count()
}

/// Every case as `GET /v1/cases` lists it (newest revision).
fn listed_cases(up: &Up) -> Vec<Value> {
    let listed: Value = reqwest::blocking::Client::new()
        .get(up.url("/v1/cases"))
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    listed["items"].as_array().unwrap().clone()
}

/// Every case, newest revision, without what differs by timing (revision numbers, time).
fn cases(up: &Up) -> BTreeMap<String, Value> {
    listed_cases(up)
        .iter()
        .map(|case| {
            let mut case = case.clone();
            let object = case.as_object_mut().unwrap();
            object.remove("revision");
            object.remove("updated_at");
            (object["case_id"].as_str().unwrap().to_owned(), case)
        })
        .collect()
}

/// The cases once the traceback stage has applied every record on the topics it reads: its
/// group's committed offsets reach their ends (it commits an offset only after the transaction
/// that applied the record, and the revisions it made are published by then).
fn settled_cases(up: &Up, expected: usize) -> BTreeMap<String, Value> {
    support::wait_until_traced(&up.brokers());
    let cases = cases(up);
    assert_eq!(
        cases.len(),
        expected,
        "one case per failing result; the log of up ends:\n{}",
        support::tail(&up.log_text(), 80)
    );
    cases
}

fn run(dir: &Path, data: &Path, kills: usize) -> (BTreeMap<String, Value>, Up) {
    let mut up = Up::start(&dir.join(if kills == 0 { "calm" } else { "killed" }));
    for (role, file) in [("admin", "units.ndjson"), ("admin", "shipments.ndjson")] {
        assert!(post(&up, role, &data.join(file)).wait().unwrap().success());
    }
    let mut poster = post(&up, "lab", &data.join("results.ndjson"));
    for kill in 0..kills {
        std::thread::sleep(Duration::from_millis(500 + 500 * kill as u64));
        up.restart(); // SIGKILL, then start again on the same data dir
    }
    // The poster retries through the restarts; a result it could not get in is posted again.
    let _ = poster.wait();
    assert!(
        post(&up, "lab", &data.join("results.ndjson"))
            .wait()
            .unwrap()
            .success()
    );
    let expected = failing_reports(&data.join("results.ndjson"));
    (settled_cases(&up, expected), up)
}

#[test]
fn sigkill_during_a_large_run_gives_the_same_cases_as_a_calm_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path());
    let (calm, calm_up) = run(dir.path(), &data, 0);
    drop(calm_up);
    let (killed, up) = run(dir.path(), &data, 3);
    assert_eq!(calm.len(), killed.len());
    let traced = calm
        .values()
        .filter(|c| c["units"].as_array().unwrap().len() > 2)
        .count();
    assert!(
        traced > calm.len() / 2,
        "the generated trees are traced: {traced} of {}",
        calm.len()
    );
    for (case_id, case) in &calm {
        assert_eq!(
            Some(case),
            killed.get(case_id),
            "case {case_id} differs after the kills"
        );
    }

    // On the topic (compacted: the broker may drop a case's older revisions, so only the
    // newest is certain to be there): one case per failing result, each revision published
    // once (the outbox leaves out what reached the topic before a kill), and the newest on the
    // topic is the state's newest.
    let mut on_topic: BTreeMap<String, BTreeMap<u64, Value>> = BTreeMap::new();
    for record in support::read_topic(&up.brokers(), "spotcheck.cases.v1") {
        let revision = record.value["revision"].as_u64().unwrap();
        let revisions = on_topic.entry(record.key.clone()).or_default();
        let earlier = revisions.insert(revision, record.value);
        assert!(
            earlier.is_none(),
            "{} revision {revision} sent twice",
            record.key
        );
    }
    assert_eq!(
        on_topic.len(),
        killed.len(),
        "one case per failing result, no more"
    );
    let newest_in_state = newest_revisions(&up);
    for (case_id, revisions) in on_topic {
        let newest = revisions.keys().max().copied();
        assert_eq!(
            newest,
            newest_in_state.get(&case_id).copied(),
            "case {case_id}: the topic's newest revision is not the state's"
        );
    }
}

/// Each case's newest revision number, as the traceback state serves it.
fn newest_revisions(up: &Up) -> BTreeMap<String, u64> {
    listed_cases(up)
        .iter()
        .map(|case| {
            (
                case["case_id"].as_str().unwrap().to_owned(),
                case["revision"].as_u64().unwrap(),
            )
        })
        .collect()
}

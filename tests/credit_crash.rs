//! The credit feed under SIGKILL: 10,000 failing results, final at once, while `spotcheck up` is
//! killed three times and restarted: in the end exactly one `publish` per (case, subject) on the
//! feed and on `spotcheck.credit.v1` (read independently), none missing.

mod support;

use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{BIN, Up};

const RESULTS: usize = 10_000;

fn days_ago(days: u64) -> String {
    (spotcheck_schemas::days::today() - chrono::Days::new(days)).to_string()
}

fn write_results(path: &std::path::Path) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for n in 0..RESULTS {
        let mut result = support::result(&format!("TJ-CRASH-{n:05}"));
        result["tested_on"] = json!(days_ago(14));
        result["sampling"]["date"] = json!(days_ago(20));
        result["served_on"] = json!(days_ago(12));
        writeln!(file, "{result}").unwrap();
    }
}

fn post(up: &Up, file: &std::path::Path) -> std::process::Child {
    Command::new(BIN)
        .args([
            "post",
            "--url",
            &up.url(""),
            "--token",
            &up.token("lab"),
            file.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Every item of the feed, paging with the cursor.
fn whole_feed(up: &Up) -> Vec<Value> {
    let client = reqwest::blocking::Client::new();
    let mut items = Vec::new();
    let mut after = String::new();
    loop {
        let page: Value = client
            .get(up.url(&format!("/v1/disclosures?after={after}&limit=1000")))
            .bearer_auth(up.token("feed"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let batch = page["items"].as_array().unwrap();
        if batch.is_empty() {
            return items;
        }
        items.extend(batch.iter().cloned());
        after = page["next"].as_str().unwrap().to_owned();
    }
}

#[test]
fn sigkill_during_ten_thousand_final_failures_publishes_each_subject_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("spotcheck");
    let file = dir.path().join("results.ndjson");
    write_results(&file);

    let mut up = Up::start_configured(&data, "[traceback.periods]\nobjection_days = 0\n", &[]);
    let mut poster = post(&up, &file);
    for kill in 0..3 {
        std::thread::sleep(Duration::from_millis(1500 + 1000 * kill));
        up.restart();
    }
    let _ = poster.wait();
    assert!(
        post(&up, &file).wait().unwrap().success(),
        "every result is in"
    );

    let expected = RESULTS * 2;
    let started = Instant::now();
    let feed = loop {
        let feed = whole_feed(&up);
        if feed.len() >= expected {
            break feed;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "{} of {expected} on the feed; the log:\n{}",
            feed.len(),
            support::story(&up.log_text(), 80)
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    // Every revision the stages had to make is made and read by the credit stage.
    support::wait_until_disclosed(&up.brokers());
    let feed_after = whole_feed(&up);
    assert_eq!(feed_after.len(), expected, "nothing more arrives");
    let ids: HashSet<&str> = feed
        .iter()
        .map(|d| d["disclosure_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        expected,
        "one publish per (case, subject) on the feed"
    );
    assert!(feed.iter().all(|d| d["action"] == "publish"));

    let on_topic = support::read_topic(&up.brokers(), "spotcheck.credit.v1");
    let topic_ids: HashSet<&str> = on_topic
        .iter()
        .map(|r| r.value["disclosure_id"].as_str().unwrap())
        .collect();
    assert_eq!(topic_ids, ids, "the topic holds the feed's disclosures");
    assert_eq!(on_topic.len(), expected, "and each once");
}

//! Results posted to `spotcheck up` land in the Parquet lake exactly once and are queryable with
//! `spotcheck sql`, also when the process is SIGKILLed in the middle of writing.

mod support;

use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{BIN, Up};

/// `spotcheck sql --format json` on the data dir, as JSON rows.
fn sql(dir: &std::path::Path, query: &str) -> Vec<Value> {
    let output = Command::new(BIN)
        .args([
            "sql",
            "--data-dir",
            dir.to_str().unwrap(),
            "--format",
            "json",
            query,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn count(dir: &std::path::Path, query: &str) -> u64 {
    sql(dir, query)[0]["n"].as_u64().unwrap()
}

/// Waits until `query` counts `expected` (or 60 s pass); returns how long it took.
fn wait_for_count(dir: &std::path::Path, query: &str, expected: u64) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if count(dir, query) == expected {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!(
        "{query} never reached {expected}, it is {}",
        count(dir, query)
    );
}

fn generate(dir: &std::path::Path, results: usize) -> std::path::PathBuf {
    let out = dir.join("gen");
    let status = Command::new(BIN)
        .args([
            "gen",
            "--out",
            out.to_str().unwrap(),
            "--results",
            &results.to_string(),
            "--shipments",
            "0",
            "--seed",
            "3",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    out.join("results.ndjson")
}

fn post(up: &Up, file: &std::path::Path) -> String {
    let output = Command::new(BIN)
        .args([
            "post",
            "--url",
            &up.url(""),
            "--token",
            &up.token("lab"),
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn items_in(file: &std::path::Path) -> u64 {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["items"]
                .as_array()
                .unwrap()
                .len() as u64
        })
        .sum()
}

#[test]
fn posted_results_are_queryable_once_and_a_second_post_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = generate(dir.path(), 3000);
    let data = dir.path().join("spotcheck");
    let up = Up::start(&data);
    assert!(post(&up, &file).contains("3000 accepted"));
    let delay = wait_for_count(&data, "SELECT count(*) AS n FROM results", 3000);
    println!("3000 results visible to SQL {delay:?} after the post returned");
    assert_eq!(
        count(&data, "SELECT count(*) AS n FROM result_items"),
        items_in(&file)
    );

    assert!(post(&up, &file).contains("3000 duplicate"));
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(count(&data, "SELECT count(*) AS n FROM results"), 3000);
    let by_category = sql(
        &data,
        "SELECT category, count(*) AS n FROM results GROUP BY category ORDER BY category",
    );
    assert!(
        by_category.len() >= 5,
        "Hive partitions are columns: {by_category:?}"
    );
}

#[test]
fn one_result_is_visible_within_the_flush_bound() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("spotcheck");
    let up = Up::start(&data);
    let record = support::result("TJ-FRESH-1").to_string();
    let response = reqwest::blocking::Client::new()
        .post(up.url("/v1/results"))
        .bearer_auth(up.token("lab"))
        .header("content-type", "application/json")
        .body(record)
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
    let delay = wait_for_count(
        &data,
        "SELECT count(*) AS n FROM results WHERE report_no = 'TJ-FRESH-1'",
        1,
    );
    assert!(delay < Duration::from_secs(15), "visible after {delay:?}");
    println!("one result visible to SQL {delay:?} after its 202");
}

#[test]
fn sigkill_while_the_lake_is_written_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = generate(dir.path(), 20_000);
    let data = dir.path().join("spotcheck");
    let mut up = Up::start(&data);
    assert!(post(&up, &file).contains("20000 accepted"));
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(1500));
        up.kill();
        up.restart();
    }
    wait_for_count(&data, "SELECT count(*) AS n FROM results", 20_000);
    assert_eq!(
        count(&data, "SELECT count(DISTINCT report_no) AS n FROM results"),
        20_000
    );
    assert_eq!(
        count(&data, "SELECT count(*) AS n FROM result_items"),
        items_in(&file)
    );
}

#[test]
fn sql_refuses_anything_but_a_query() {
    let dir = tempfile::tempdir().unwrap();
    for statement in [
        "CREATE EXTERNAL TABLE etc STORED AS CSV LOCATION '/etc/passwd'",
        "COPY (SELECT 1) TO '/tmp/out.csv'",
        "INSERT INTO results SELECT * FROM results",
        "DROP TABLE results",
    ] {
        let output = Command::new(BIN)
            .args(["sql", "--data-dir", dir.path().to_str().unwrap(), statement])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{statement} was allowed");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    assert!(!std::path::Path::new("/tmp/out.csv").exists());
}

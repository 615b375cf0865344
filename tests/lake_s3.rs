//! The lake's Delta tables on an S3-compatible store (moto in server mode, on loopback):
//! `spotcheck up --lake s3://…` is SIGKILLed while it writes and started again, and every result
//! is in the tables exactly once, readable as of a past version. (Two writers sharing the tables
//! on a local disk: `tests/real_broker.rs`.)

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::flows::lines;
use support::{BIN, Up, free_port};

/// `spotcheck sql --format json` on the data dir's lake (or `lake`), as JSON rows.
fn sql(data: &Path, lake: Option<&str>, query: &str, as_of: Option<&str>) -> Vec<Value> {
    let mut command = Command::new(BIN);
    command.args([
        "sql",
        "--data-dir",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]);
    if let Some(lake) = lake {
        command.args(["--lake", lake]);
    }
    if let Some(as_of) = as_of {
        command.args(["--as-of", as_of]);
    }
    let output = command.arg(query).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn count(data: &Path, lake: Option<&str>, query: &str) -> u64 {
    sql(data, lake, query, None)[0]["n"].as_u64().unwrap()
}

/// Waits until `query` counts `expected` and stays there for 3 s (so a duplicate arriving late
/// is seen); panics after 180 s.
fn settled_count(data: &Path, lake: Option<&str>, query: &str, expected: u64) {
    let started = Instant::now();
    let mut stable_since: Option<Instant> = None;
    loop {
        let n = count(data, lake, query);
        match (n == expected, stable_since) {
            (true, Some(since)) if since.elapsed() > Duration::from_secs(3) => return,
            (true, None) => stable_since = Some(Instant::now()),
            (true, Some(_)) => {}
            (false, _) => stable_since = None,
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "{query}: {n}, expected {expected}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn generate(dir: &Path, name: &str, results: usize, seed: u64) -> std::path::PathBuf {
    let out = dir.join(name);
    let status = Command::new(BIN)
        .args(["gen", "--out", out.to_str().unwrap(), "--shipments", "100"])
        .args([
            "--results",
            &results.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    out
}

fn post(url: &str, token: &str, file: &Path) -> Child {
    Command::new(BIN)
        .args([
            "post",
            "--url",
            url,
            "--token",
            token,
            file.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A moto S3 server on a free loopback port, killed on drop.
struct Moto {
    endpoint: String,
    child: Child,
}

impl Moto {
    fn start(dir: &Path) -> Self {
        let port = free_port();
        let log = std::fs::File::create(dir.join("moto.log")).unwrap();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("python3 with moto[server] (scripts/test installs it)");
        let endpoint = format!("http://127.0.0.1:{port}");
        let client = reqwest::blocking::Client::new();
        let started = Instant::now();
        while client.get(format!("{endpoint}/")).send().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start: {}",
                std::fs::read_to_string(dir.join("moto.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { endpoint, child }
    }

    fn create_bucket(&self, bucket: &str) {
        let response = reqwest::blocking::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn on_s3_a_sigkilled_up_loses_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let moto = Moto::start(tmp.path());
    moto.create_bucket("spotcheck-lake");
    // The usual AWS variables; every process this test starts inherits them.
    for (name, value) in [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ] {
        // SAFETY: set before any thread of this test binary reads the environment.
        #[allow(unsafe_code)] // set_var is unsafe since Rust 2024; the delta-rs client reads these
        unsafe {
            std::env::set_var(name, value);
        }
    }
    let lake = "s3://spotcheck-lake/lake";
    let results = generate(tmp.path(), "gen", 1500, 31).join("results.ndjson");
    let data = tmp.path().join("data");
    let mut up = Up::start_with(&data, &["--lake", lake]);
    let mut poster = post(&up.url(""), &up.token("lab"), &results);
    std::thread::sleep(Duration::from_millis(1500));
    up.restart(); // SIGKILL while the lake is being written, then start again
    let _ = poster.wait();
    // Whatever the kill interrupted is posted again (ingest answers duplicates for the rest).
    assert!(
        post(&up.url(""), &up.token("lab"), &results)
            .wait()
            .unwrap()
            .success()
    );
    let expected = lines(&results);
    for query in [
        "SELECT count(*) AS n FROM results",
        "SELECT count(DISTINCT report_no) AS n FROM results",
    ] {
        settled_count(&data, Some(lake), query, expected);
    }
    assert!(
        !data.join("lake").join("results").exists(),
        "nothing was written to the local disk"
    );
    // The first commit of results, as of its version: fewer rows than now, and some.
    let then = sql(
        &data,
        Some(lake),
        "SELECT count(*) AS n FROM results",
        Some("1"),
    )[0]["n"]
        .as_u64()
        .unwrap();
    let history = sql(
        &data,
        Some(lake),
        "SELECT version, operation, parameters_json, metrics_json FROM lake_history \
         WHERE table_name = 'results' ORDER BY version",
        None,
    );
    assert!(
        then > 0 && then <= expected,
        "results as of version 1: {then} rows; the table's commits: {history:#?}"
    );
}

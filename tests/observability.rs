//! What operators watch: `/metrics` passes `promtool check metrics` (Debian's `prometheus`
//! package, which the test command installs), every metric the Grafana operations dashboard
//! plots is exported, every SQL panel of the trends dashboard runs on spotcheck's SQL, and
//! `--log-format json` writes one JSON object per line.

mod support;

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{BIN, Up};

/// Cargo's variable at run time, not the path this binary was built at (a target directory shared
/// by two clones may run a binary built in the other one).
fn dashboards() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        )
        .join("deploy/grafana/dashboards")
}

fn dashboard(name: &str) -> Value {
    let text = std::fs::read_to_string(dashboards().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every `field` of every panel target of a dashboard.
fn targets(dashboard: &Value, field: &str) -> Vec<String> {
    dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap().iter())
        .map(|target| target[field].as_str().unwrap().to_owned())
        .collect()
}

/// The metric family names an expression reads (`foo_bucket` → `foo`).
fn families_in(expression: &str) -> BTreeSet<String> {
    let mut families = BTreeSet::new();
    for (start, _) in expression.match_indices("spotcheck_") {
        let name: String = expression[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let family = name.strip_suffix("_bucket").unwrap_or(&name).to_owned();
        families.insert(family);
    }
    families
}

fn days_ago(days: u64) -> String {
    (spotcheck_schemas::days::today() - chrono::Days::new(days)).to_string()
}

/// `spotcheck up` with the objection window at 0, so a result served days ago is final.
fn start(dir: &std::path::Path) -> Up {
    let data = dir.join("spotcheck");
    Up::start_configured(
        &data,
        "[traceback.periods]\nobjection_days = 0\n",
        &["--log-format", "json"],
    )
}

fn scrape(up: &Up) -> String {
    reqwest::blocking::get(up.url("/metrics"))
        .unwrap()
        .text()
        .unwrap()
}

#[test]
fn metrics_pass_promtool_and_cover_the_operations_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path());
    let mut result = support::result("TJ-OBS-1");
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

    let wanted: BTreeSet<String> = targets(&dashboard("operations.json"), "expr")
        .iter()
        .flat_map(|e| families_in(e))
        .collect();
    assert!(wanted.len() >= 10, "{wanted:?}");
    // Lake files, disclosures and the lag statistics come a few seconds after the post.
    let started = Instant::now();
    let text = loop {
        let text = scrape(&up);
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|family| !text.contains(&format!("# TYPE {family} ")))
            .collect();
        if missing.is_empty() {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the operations dashboard plots metrics /metrics does not export: {missing:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(text.contains("spotcheck_consumer_lag_records{partition="));

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/test installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    let complaints = format!(
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(
        checked.status.success() && complaints.trim().is_empty(),
        "promtool: {complaints}"
    );

    // --log-format json: every line a JSON object with a level and a message.
    let log = up.log_text();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 3, "{log}");
    for line in lines {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            entry["level"].is_string() && entry["fields"].is_object(),
            "{line}"
        );
    }
}

#[test]
fn every_sql_panel_of_the_trends_dashboard_runs() {
    let dir = tempfile::tempdir().unwrap();
    let queries = targets(&dashboard("trends.json"), "rawSql");
    assert!(queries.len() >= 4);
    for query in queries {
        let output = Command::new(BIN)
            .args(["sql", "--data-dir", dir.path().to_str().unwrap(), &query])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{query}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

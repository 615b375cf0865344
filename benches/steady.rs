//! The lake in service: a `spotcheck up` fed at a steady rate (default 200 results/s for 30
//! minutes, a busy bureau's day compressed) while optimize and vacuum run as configured. Every
//! `BENCH_SAMPLE_SECS` (60) it measures:
//!
//! - the files the `results` table's newest version names (what a reader opens);
//! - the category `GROUP BY` over HTTP (`POST /v1/sql`), median of 5 warm runs, and the first
//!   of the five alone (`steady.query.alone`: a query asked a minute after the last one);
//! - freshness: one more result posted alone, then SQL polled every 50 ms until it sees it.
//!
//! At the end of the feed, before `up` stops, the same `GROUP BY` runs in DuckDB on the files the
//! Delta log names: the peer of the last sample. Prints figures; asserts nothing.
//!
//! ```text
//! cargo bench --bench steady         # 200 results/s for 1800 s
//! BENCH_RATE=50 BENCH_STEADY_SECS=20 BENCH_SAMPLE_SECS=5 cargo test --bench steady
//! ```

mod common;

use common::{env_number, figure, files_in, free_port, percentile, token};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const GROUP_BY: &str = "SELECT category, count(*) AS n FROM results GROUP BY category";
/// Posts per second the feeder spreads the rate over.
const POSTS_PER_SECOND: usize = 10;

fn main() {
    let rate = env_number("BENCH_RATE", 200).max(POSTS_PER_SECOND);
    let seconds = env_number("BENCH_STEADY_SECS", 1800);
    let sample_every = Duration::from_secs(env_number("BENCH_SAMPLE_SECS", 60) as u64);
    let dir = tempfile::tempdir().expect("temp dir");
    let samples = seconds / sample_every.as_secs().max(1) as usize + 1;
    let total = rate * seconds + samples;
    spotcheck_datagen::generate(
        &spotcheck_datagen::Plan {
            results: total,
            shipments: 0,
            seed: 31,
            labs: vec!["dev-lab".into()],
        },
        &dir.path().join("gen"),
    )
    .expect("generate");
    let mut lines: Vec<String> = std::fs::read_to_string(dir.path().join("gen/results.ndjson"))
        .expect("results")
        .lines()
        .map(str::to_owned)
        .collect();
    // The freshness probes come from the end, the steady feed from the start.
    let probes: Vec<String> = lines.split_off(lines.len().saturating_sub(samples));
    let port = free_port();
    let mut up = common::start(dir.path(), port);
    let http = format!("http://127.0.0.1:{port}");
    let lab = token(dir.path(), "lab");
    let analyst = token(dir.path(), "analyst");
    let lake = dir.path().join("spotcheck/lake");

    let posted = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (http, lab, posted, stop) = (http.clone(), lab.clone(), posted.clone(), stop.clone());
        std::thread::spawn(move || feed(&http, &lab, &lines, rate, &posted, &stop))
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let client = reqwest::blocking::Client::new();
    let started = Instant::now();
    let (mut files, mut queries, mut freshness) = (Vec::new(), Vec::new(), Vec::new());
    let mut alone = Vec::new();
    // Bytes of the results table's newest version, and on disk (vacuum keeps older files).
    let mut disk = (0, 0);
    let mut probes = probes.into_iter();
    let end = started + Duration::from_secs(seconds as u64);
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        // The last sample falls at the end of the feed, not a whole interval after it.
        std::thread::sleep(sample_every.min(left));
        let (live, live_bytes) = runtime.block_on(files_in(&lake, "results"));
        let times: Vec<f64> = (0..5).map(|_| query_ms(&client, &http, &analyst)).collect();
        let query = percentile(&times, 0.5);
        // The first of the five is a query asked alone, as a dashboard asks it a minute later.
        alone.extend(times.first());
        let fresh = probes
            .next()
            .map(|probe| fresh_ms(&client, &http, &lab, &analyst, &probe));
        println!(
            "{:>5.0} s: {} results posted; results table {live} files; GROUP BY {query:.1} ms; \
             freshness {}",
            started.elapsed().as_secs_f64(),
            posted.load(Ordering::Relaxed),
            fresh.map_or("—".into(), |ms| format!("{ms:.0} ms")),
        );
        files.push(live as f64);
        disk = (live_bytes, bytes_under(&lake.join("results")));
        queries.push(query);
        freshness.extend(fresh);
    }
    // The peer with `up` still running, as the last sample had it.
    let duck = duckdb_group_by(&lake);
    stop.store(true, Ordering::Relaxed);
    let _ = feeder.join();
    let written = files_written(&client, &http);
    let _ = up.kill();
    let _ = up.wait();
    println!(
        "{} results at {rate}/s over {seconds} s; {written} files written to the results table",
        posted.load(Ordering::Relaxed)
    );
    figure("steady.files.max", "files", &[max(&files)]);
    figure(
        "steady.files.last",
        "files",
        &[files.last().copied().unwrap_or(0.0)],
    );
    figure("steady.files.written", "files", &[written]);
    figure("steady.bytes.live", "MiB", &[mib(disk.0)]);
    figure("steady.bytes.disk", "MiB", &[mib(disk.1)]);
    figure(
        "steady.query.first",
        "ms",
        &[queries.first().copied().unwrap_or(f64::NAN)],
    );
    figure(
        "steady.query.last",
        "ms",
        &[queries.last().copied().unwrap_or(f64::NAN)],
    );
    figure("steady.query.max", "ms", &[max(&queries)]);
    figure("steady.query.alone", "ms", &alone);
    if let Some(duck) = duck {
        figure("steady.query.duckdb", "ms", &duck);
    }
    figure("steady.freshness", "ms", &freshness);
}

/// Posts `lines` at `rate` a second (in `POSTS_PER_SECOND` NDJSON posts) until they run out or
/// `stop`; a post that fails is reported, the schedule goes on.
fn feed(
    http: &str,
    lab: &str,
    lines: &[String],
    rate: usize,
    posted: &AtomicUsize,
    stop: &AtomicBool,
) {
    let client = reqwest::blocking::Client::new();
    let per_post = rate / POSTS_PER_SECOND;
    let interval = Duration::from_secs(1) / POSTS_PER_SECOND as u32;
    let started = Instant::now();
    for (n, chunk) in lines.chunks(per_post).enumerate() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        // Keeps to the schedule: a slow answer does not lower the rate.
        let due = started + interval * n as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let response = client
            .post(format!("{http}/v1/results"))
            .bearer_auth(lab)
            .header("content-type", "application/x-ndjson")
            .body(chunk.join("\n"))
            .send();
        match response {
            Ok(r) if r.status().is_success() => {
                posted.fetch_add(chunk.len(), Ordering::Relaxed);
            }
            Ok(r) => eprintln!("post: {}", r.status()),
            Err(error) => eprintln!("post: {error}"),
        }
    }
}

fn sql(client: &reqwest::blocking::Client, http: &str, analyst: &str, sql: &str) -> String {
    client
        .post(format!("{http}/v1/sql"))
        .bearer_auth(analyst)
        .json(&serde_json::json!({ "sql": sql }))
        .send()
        .and_then(reqwest::blocking::Response::text)
        .unwrap_or_default()
}

fn query_ms(client: &reqwest::blocking::Client, http: &str, analyst: &str) -> f64 {
    let started = Instant::now();
    let answer = sql(client, http, analyst, GROUP_BY);
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if count(&answer).is_some() {
        ms
    } else {
        f64::NAN
    }
}

/// The `n` of an answer's first row.
fn count(answer: &str) -> Option<u64> {
    let rows: serde_json::Value = serde_json::from_str(answer).ok()?;
    rows[0]["n"].as_u64()
}

/// Posts `line` alone and polls SQL until the result is in `results`: ms from the post.
fn fresh_ms(
    client: &reqwest::blocking::Client,
    http: &str,
    lab: &str,
    analyst: &str,
    line: &str,
) -> f64 {
    let report_no = serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v["report_no"].as_str().map(str::to_owned))
        .expect("report_no");
    let started = Instant::now();
    let accepted = client
        .post(format!("{http}/v1/results"))
        .bearer_auth(lab)
        .header("content-type", "application/json")
        .body(line.to_owned())
        .send()
        .is_ok_and(|r| r.status().is_success());
    if !accepted {
        return f64::NAN;
    }
    let probe = format!("SELECT count(*) AS n FROM results WHERE report_no = '{report_no}'");
    while started.elapsed() < Duration::from_secs(120) {
        if count(&sql(client, http, analyst, &probe)) == Some(1) {
            return started.elapsed().as_secs_f64() * 1000.0;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f64::NAN
}

/// What the writer's metric says it committed to the results table.
fn files_written(client: &reqwest::blocking::Client, http: &str) -> f64 {
    let text = client
        .get(format!("{http}/metrics"))
        .send()
        .and_then(reqwest::blocking::Response::text)
        .unwrap_or_default();
    text.lines()
        .find(|l| {
            l.starts_with("spotcheck_lake_files_written_total") && l.contains("table=\"results\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Bytes of the files under `dir`, log included.
fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => bytes_under(&entry.path()),
            _ => entry.metadata().map_or(0, |meta| meta.len()),
        })
        .sum()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

/// DuckDB's times (ms, 5 runs) for the `GROUP BY` on the files the results table's log names.
fn duckdb_group_by(lake: &Path) -> Option<Vec<f64>> {
    let script = format!(
        r#"
import duckdb, deltalake, time, json
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("SET parquet_metadata_cache = true")
con.execute(f"CREATE VIEW results AS SELECT * FROM read_parquet({{deltalake.DeltaTable('{lake}/results').file_uris()!r}})")
con.execute("{GROUP_BY}").fetchall()
times = []
for _ in range(5):
    started = time.perf_counter()
    con.execute("{GROUP_BY}").fetchall()
    times.append((time.perf_counter() - started) * 1000)
print(json.dumps(times))
"#,
        lake = lake.display()
    );
    let output = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .ok()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!("duckdb: {}", stderr.lines().last().unwrap_or(""));
        return None;
    }
    serde_json::from_str(String::from_utf8_lossy(&output.stdout).lines().last()?).ok()
}

//! Credit-feed latency on the embedded broker: from the `202` of a final failing result to its
//! first disclosure on `GET /v1/disclosures`, p50/p99, with results arriving as single POSTs at
//! a fixed rate. Prints figures; asserts nothing.
//!
//!     cargo bench --bench credit                       # 7,000 results at 1,000/s
//!     BENCH_RESULTS=3000 BENCH_RATE=500 cargo bench --bench credit
//!
//! The generated results are from past quarters, so every failing one is final on arrival (its
//! objection window has passed): the path measured is ingest → results topic → traceback →
//! cases topic → credit → feed, each stage a consumer of the embedded Tansu broker.

mod common;

use common::{cores, env_number, figure, free_port, memory_gib, percentile, runs, start, token};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn main() {
    let results: usize = env_number("BENCH_RESULTS", 7_000);
    let rate: f64 = env_number("BENCH_RATE", 1_000) as f64;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("gen");
    spotcheck_datagen::generate(
        &spotcheck_datagen::Plan {
            results,
            shipments: 0,
            seed: 17,
            labs: vec!["dev-lab".into()],
        },
        &data,
    )
    .expect("generate");
    let lines: Vec<String> = std::fs::read_to_string(data.join("results.ndjson"))
        .expect("results")
        .lines()
        .map(str::to_owned)
        .collect();
    let failing = lines
        .iter()
        .filter(|l| serde_json::from_str::<Value>(l).expect("json")["verdict"] == "fail")
        .count();

    let port = free_port();
    let mut server = start(dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (acked, arrived, elapsed) = runtime.block_on(run(&base, dir.path(), &lines, rate));
    let _ = server.kill();
    let _ = server.wait();

    let latencies: Vec<f64> = acked
        .iter()
        .filter_map(|(report, at)| {
            let first = arrived.get(report)?;
            Some(first.saturating_duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    println!(
        "machine: {} cores, {:.1} GiB; embedded broker (Tansu, SQLite)",
        cores(),
        memory_gib()
    );
    println!(
        "posted {} results as single POSTs at {rate:.0}/s in {:.1} s ({failing} failing, final on arrival)",
        lines.len(),
        elapsed.as_secs_f64()
    );
    // One run's latencies; the spread of the percentiles is over `BENCH_RUNS` equal slices.
    let per_slice = latencies.len().div_ceil(runs()).max(1);
    let slices = |q: f64| -> Vec<f64> {
        latencies
            .chunks(per_slice)
            .map(|slice| percentile(slice, q))
            .collect()
    };
    figure("credit.latency_p50", "ms", &slices(0.5));
    figure("credit.latency_p99", "ms", &slices(0.99));
    println!(
        "final result → first disclosure on the feed: {} of {failing} measured, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
}

/// Posts every line on a fixed schedule while a long-polling reader follows the feed; returns
/// when each failing result was acknowledged, when its first disclosure arrived, and the
/// posting time.
async fn run(
    base: &str,
    dir: &std::path::Path,
    lines: &[String],
    rate: f64,
) -> (HashMap<String, Instant>, HashMap<String, Instant>, Duration) {
    let lab = token(dir, "lab");
    let feed = token(dir, "feed");
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let reader = tokio::spawn(follow_feed(
        base.to_owned(),
        feed,
        arrived.clone(),
        Duration::from_secs(60),
    ));
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/results");
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let acked: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let started = Instant::now();
    let mut sends = Vec::with_capacity(lines.len());
    for line in lines {
        ticker.tick().await;
        let value: Value = serde_json::from_str(line).expect("json");
        let failing = value["verdict"] == "fail";
        let report = value["report_no"].as_str().unwrap_or_default().to_owned();
        let (client, url, lab, body, acked) = (
            client.clone(),
            url.clone(),
            lab.clone(),
            line.clone(),
            acked.clone(),
        );
        sends.push(tokio::spawn(async move {
            let response = client
                .post(&url)
                .bearer_auth(&lab)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("post");
            assert_eq!(response.status(), 202, "POST failed");
            if failing {
                acked.lock().expect("lock").insert(report, Instant::now());
            }
        }));
    }
    for send in sends {
        send.await.expect("send task");
    }
    let elapsed = started.elapsed();
    let expected = acked.lock().expect("lock").len();
    // The reader stops after a quiet minute, or once every failing result has its disclosure.
    let deadline = Instant::now() + Duration::from_secs(120);
    while arrived.lock().expect("lock").len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    reader.abort();
    let acked = acked.lock().expect("lock").clone();
    let arrived = arrived.lock().expect("lock").clone();
    (acked, arrived, elapsed)
}

/// Long-polls the feed from the start, noting when each report's first disclosure arrives.
async fn follow_feed(
    base: String,
    token: String,
    arrived: Arc<Mutex<HashMap<String, Instant>>>,
    quiet: Duration,
) {
    let client = reqwest::Client::new();
    let mut after = String::new();
    let mut last_news = Instant::now();
    while last_news.elapsed() < quiet {
        let url = format!("{base}/v1/disclosures?after={after}&limit=1000&wait=5");
        let Ok(response) = client.get(&url).bearer_auth(&token).send().await else {
            continue;
        };
        let Ok(page) = response.json::<Value>().await else {
            continue;
        };
        let now = Instant::now();
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if !items.is_empty() {
            last_news = now;
        }
        let mut arrived = arrived.lock().expect("lock");
        for item in items {
            if let Some(report) = item["report_no"].as_str() {
                arrived.entry(report.to_owned()).or_insert(now);
            }
        }
        if let Some(next) = page["next"].as_str() {
            after = next.to_owned();
        }
    }
}

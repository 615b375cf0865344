//! Ingest benchmark: results/s for NDJSON batches beside a plain rdkafka producer sending the same
//! records to the same broker (the ceiling), and p50/p99 latency of single POSTs at a fixed
//! rate. Each measurement is repeated `BENCH_RUNS` times (3) on fresh records. Prints figures
//! (and appends them to `BENCH_FIGURES` for `scripts/bench`); asserts nothing.
//!
//!     cargo bench --bench ingest                # 100,000 results per run
//!     BENCH_RESULTS=20000 cargo bench --bench ingest
//!     BENCH_BROKER=separate cargo bench --bench ingest
//!     BENCH_BROKER_STORAGE=sqlite cargo bench --bench ingest
//!     BENCH_BROKER_FSYNC=false cargo bench --bench ingest
//!     BENCH_STAGES_NICE=0 cargo bench --bench ingest
//!     BENCH_STAGES_HOLD_MS=0 cargo bench --bench ingest
//!     BENCH_FLUSH_MS=2 cargo bench --bench ingest
//!
//! By default it runs the release `spotcheck up` as its own process (Tansu embedded, on SlateDB);
//! with `BENCH_BROKER=separate` `spotcheck broker` and ingest, lake, traceback and credit each
//! run as their own process, as deployed. `BENCH_BROKER_STORAGE=sqlite` puts the broker's log in
//! SQLite (spotcheck's engine before SlateDB); `BENCH_BROKER_FSYNC=false` leaves SlateDB's files
//! unsynced (`[broker] fsync`). `BENCH_STAGES_NICE=0` runs `up`'s stages at the same CPU priority
//! as ingest (`--stages-nice`, 10 by default); `BENCH_STAGES_HOLD_MS=0` lets them work through
//! a lab's burst instead of holding back (`--stages-hold-ms`, 3000 by default); `BENCH_FLUSH_MS` sets SlateDB's write-ahead-log
//! interval (`[broker] flush_ms`). Posts come from a separate client.

mod common;

use common::{
    cores, create_topic, env_number, figure, free_port, memory_gib, percentile, runs, start_broker,
    start_component, start_with, token,
};
use futures::StreamExt;
use std::time::{Duration, Instant};

fn main() {
    let results: usize = env_number("BENCH_RESULTS", 100_000);
    let singles: usize = env_number("BENCH_SINGLES", 2_000);
    let rate: f64 = env_number("BENCH_SINGLE_RATE", 200) as f64;
    let batch: usize = env_number("BENCH_BATCH", 2_000);
    let concurrency: usize = env_number("BENCH_CONCURRENCY", 4);
    let runs = runs();
    let broker = BrokerKind::from_env();
    let storage = std::env::var("BENCH_BROKER_STORAGE").unwrap_or_else(|_| "slatedb".into());
    let fsync = std::env::var("BENCH_BROKER_FSYNC").unwrap_or_else(|_| "true".into());
    let nice = std::env::var("BENCH_STAGES_NICE").ok();
    let hold_ms = std::env::var("BENCH_STAGES_HOLD_MS").ok();
    let flush_ms = std::env::var("BENCH_FLUSH_MS").ok();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    // Fresh records for every run: a repeat would only be answered `duplicate`.
    spotcheck_datagen::generate(
        &spotcheck_datagen::Plan {
            results: (results + singles) * runs,
            shipments: 0,
            seed: 11,
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
    let (batch_lines, single_lines) = lines.split_at(results * runs);

    let port = free_port();
    let mut env = vec![
        ("SPOTCHECK_BROKER_STORAGE", storage.as_str()),
        ("SPOTCHECK_BROKER_FSYNC", fsync.as_str()),
    ];
    env.extend(nice.as_deref().map(|n| ("SPOTCHECK_STAGES_NICE", n)));
    env.extend(
        hold_ms
            .as_deref()
            .map(|ms| ("SPOTCHECK_STAGES_HOLD_MS", ms)),
    );
    env.extend(
        flush_ms
            .as_deref()
            .map(|ms| ("SPOTCHECK_BROKER_FLUSH_MS", ms)),
    );
    let deployment = Deployment::start(broker, &env, dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let token = token(dir.path(), "lab");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut throughputs = Vec::new();
    let mut refusals = 0;
    let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
    // Inside spotcheck in the same window: the request, the broker's acknowledgement of its
    // record, the log's write-out that acknowledgement waited for.
    let mut inside: [Vec<f64>; 3] = Default::default();
    for run in 0..runs {
        let mine = &batch_lines[run * results..(run + 1) * results];
        let (throughput, accepted, refused) =
            runtime.block_on(batches(&base, &token, mine, batch, concurrency));
        println!(
            "run {}: ingest NDJSON batches: {results} results in batches of {batch} x{concurrency}: {throughput:.0} results/s ({accepted} accepted, {refused} batches answered 503 and sent again)",
            run + 1
        );
        refusals += refused;
        if accepted < results {
            // A batch given up on: the broker stopped taking records. Say why, and fail.
            println!(
                "only {accepted} of {results} accepted; the end of the logs:\n{}",
                deployment.ingest_log_tail()
            );
            drop(deployment);
            std::process::exit(1);
        }
        throughputs.push(throughput);
        let mine = &single_lines[run * singles..(run + 1) * singles];
        let before = runtime.block_on(scrape(&base));
        let (latencies, refused) = runtime.block_on(singles_at_rate(&base, &token, mine, rate));
        let after = runtime.block_on(scrape(&base));
        refusals += refused;
        println!(
            "run {}: single POST at {rate:.0}/s: n={} ({refused} answered 503), p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            run + 1,
            latencies.len(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0)
        );
        p50s.push(percentile(&latencies, 0.50));
        p99s.push(percentile(&latencies, 0.99));
        let p99_inside = INSIDE.map(|(family, labels, _, _)| {
            bucket_quantile(
                &buckets(&before, family, labels),
                &buckets(&after, family, labels),
                0.99,
            )
        });
        let said: Vec<String> = INSIDE
            .iter()
            .zip(&p99_inside)
            .zip(&mut inside)
            .filter_map(|(((_, _, what, _), p99), kept)| {
                let p99 = (*p99)?;
                kept.push(p99);
                Some(format!("{what} p99 {p99:.2} ms"))
            })
            .collect();
        if !said.is_empty() {
            println!(
                "run {}: inside spotcheck meanwhile: {}",
                run + 1,
                said.join(", ")
            );
        }
    }
    if refusals > 0 {
        println!(
            "{refusals} answers of 503; the end of the logs:\n{}",
            deployment.ingest_log_tail()
        );
    }
    let (mut with_headers, mut bare) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let mine = &batch_lines[run * results..(run + 1) * results];
        with_headers.push(runtime.block_on(ceiling(&deployment.brokers, mine, true, run)));
        bare.push(runtime.block_on(ceiling(&deployment.brokers, mine, false, run)));
    }
    drop(deployment);

    println!(
        "machine: {} cores, {:.1} GiB memory; broker: {} on {storage} (fsync {fsync}, flush {}), stages at nice {}, holding back for {} ms in a burst, acks=all",
        cores(),
        memory_gib(),
        broker.describe(),
        flush_ms
            .as_deref()
            .map_or("default".into(), |ms| format!("{ms} ms")),
        nice.as_deref().unwrap_or("default"),
        hold_ms.as_deref().unwrap_or("default"),
    );
    let mut name = match (storage.as_str(), fsync.as_str()) {
        ("slatedb", "false") => format!("{}_nofsync", broker.key()),
        ("slatedb", _) => broker.key().to_owned(),
        (other, _) => format!("{}_{other}", broker.key()),
    };
    if nice.as_deref() == Some("0") {
        name.push_str("_samepriority");
    }
    if hold_ms.as_deref() == Some("0") {
        name.push_str("_nohold");
    }
    if let Some(ms) = &flush_ms {
        name.push_str(&format!("_flush{ms}ms"));
    }
    figure(&format!("ingest.batches.{name}"), "results/s", &throughputs);
    figure(
        &format!("ingest.ceiling.{name}"),
        "records/s",
        &with_headers,
    );
    figure(&format!("ingest.ceiling_bare.{name}"), "records/s", &bare);
    figure(&format!("ingest.single_p50.{name}"), "ms", &p50s);
    figure(&format!("ingest.single_p99.{name}"), "ms", &p99s);
    for ((_, _, _, key), kept) in INSIDE.iter().zip(&inside) {
        if !kept.is_empty() {
            figure(&format!("ingest.{key}.{name}"), "ms", kept);
        }
    }
    let share: Vec<f64> = throughputs
        .iter()
        .zip(&with_headers)
        .map(|(ingest, ceiling)| 100.0 * ingest / ceiling)
        .collect();
    figure(&format!("ingest.share_of_ceiling.{name}"), "%", &share);
    figure(
        &format!("ingest.refused.{name}"),
        "answers of 503",
        &[refusals as f64],
    );
}

/// Which broker the benchmark runs on (`BENCH_BROKER`).
#[derive(Clone, Copy)]
enum BrokerKind {
    /// `spotcheck up`: Tansu embedded in the process, every stage with it.
    Embedded,
    /// `spotcheck broker` as its own process, and ingest, lake, traceback and credit each their
    /// own process, as deployed.
    Separate,
}

impl BrokerKind {
    fn from_env() -> Self {
        match std::env::var("BENCH_BROKER").as_deref() {
            Ok("separate") => Self::Separate,
            _ => Self::Embedded,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Separate => "separate",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Embedded => "Tansu 0.6 embedded in `spotcheck up`",
            Self::Separate => "Tansu 0.6 as its own process, each stage its own process",
        }
    }
}

/// The running system: its processes (killed on drop) and the broker's bootstrap address.
struct Deployment {
    processes: Vec<std::process::Child>,
    brokers: String,
    /// Where ingest logs (separate processes only).
    ingest_log: Option<std::path::PathBuf>,
}

impl Deployment {
    fn start(kind: BrokerKind, env: &[(&str, &str)], dir: &std::path::Path, port: u16) -> Self {
        match kind {
            BrokerKind::Embedded => {
                let up = start_with(dir, port, env);
                let broker_port =
                    std::fs::read_to_string(dir.join("spotcheck/broker/port")).expect("port");
                Self {
                    processes: vec![up],
                    brokers: format!("127.0.0.1:{}", broker_port.trim()),
                    ingest_log: None,
                }
            }
            BrokerKind::Separate => {
                let broker = start_broker(&dir.join("broker"), env);
                let mut processes = vec![broker.0];
                let data_dir = dir.join("spotcheck");
                for (i, stage) in ["ingest", "lake", "traceback", "credit"].iter().enumerate() {
                    let http = if i == 0 { port } else { free_port() };
                    processes.push(start_component(stage, &data_dir, &broker.1, http));
                }
                Self {
                    processes,
                    brokers: broker.1,
                    ingest_log: Some(data_dir.join("ingest.log")),
                }
            }
        }
    }
}

impl Deployment {
    /// The last 30 lines of ingest's and the broker's logs, when they run as their own processes.
    fn ingest_log_tail(&self) -> String {
        let tail = |path: &std::path::Path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        };
        match &self.ingest_log {
            Some(ingest) => {
                let broker = ingest.with_file_name("../broker/broker.log");
                format!("{}\n-- broker:\n{}", tail(ingest), tail(&broker))
            }
            None => String::new(),
        }
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        for process in &mut self.processes {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

/// Refusals of one batch after which the broker is taken for gone (half a minute of 503s).
const GIVE_UP_AFTER: usize = 60;

/// Posts `lines` in NDJSON batches of `size`, `concurrency` at once, as `spotcheck post` does: a
/// batch answered 503 is sent again half a second later (its accepted records answer
/// `duplicate`). Returns results/s over the whole load, records accepted, and 503s met.
async fn batches(
    base: &str,
    token: &str,
    lines: &[String],
    size: usize,
    concurrency: usize,
) -> (f64, usize, usize) {
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/results");
    let bodies: Vec<String> = lines.chunks(size).map(|c| c.join("\n")).collect();
    let started = Instant::now();
    let (accepted, refused) = futures::stream::iter(bodies)
        .map(|body| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let mut refused = 0;
                loop {
                    let response = client
                        .post(&url)
                        .bearer_auth(token)
                        .header("content-type", "application/x-ndjson")
                        .body(body.clone())
                        .send()
                        .await
                        .expect("post");
                    let status = response.status();
                    let answer: serde_json::Value = response.json().await.expect("json");
                    if status != 503 {
                        let accepted = answer["accepted"].as_array().map_or(0, Vec::len);
                        return (accepted, refused);
                    }
                    refused += 1;
                    if refused >= GIVE_UP_AFTER {
                        return (0, refused);
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        })
        .buffer_unordered(concurrency)
        .fold((0, 0), |(a, r), (accepted, refused)| async move {
            (a + accepted, r + refused)
        })
        .await;
    (
        lines.len() as f64 / started.elapsed().as_secs_f64(),
        accepted,
        refused,
    )
}

/// Sends one result at a time on a fixed schedule; latency is measured per request.
async fn singles_at_rate(
    base: &str,
    token: &str,
    lines: &[String],
    rate: f64,
) -> (Vec<f64>, usize) {
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/results");
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut ticker = tokio::time::interval(interval);
    let mut latencies = Vec::with_capacity(lines.len());
    let mut refused = 0;
    for line in lines {
        ticker.tick().await;
        let started = Instant::now();
        let response = client
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(line.clone())
            .send()
            .await
            .expect("post");
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        match response.status().as_u16() {
            202 => {}
            503 => refused += 1,
            status => panic!("single POST answered {status}"),
        }
    }
    (latencies, refused)
}

/// The histograms read around the single POSTs: family, the series' labels before `le`, what
/// it times, and the figure its p99 is recorded as. The log's write-outs exist on the embedded
/// SlateDB broker only.
const INSIDE: [(&str, &str, &str, &str); 3] = [
    (
        "spotcheck_http_request_duration_seconds",
        "route=\"/v1/results\",",
        "the request",
        "request_p99",
    ),
    (
        "spotcheck_produce_duration_seconds",
        "topic=\"spotcheck.results.v1\",",
        "the broker's acknowledgement",
        "ack_p99",
    ),
    (
        "spotcheck_broker_log_write_duration_seconds",
        "",
        "the log's write-outs",
        "log_write_p99",
    ),
];

/// The text of `/metrics`; empty when it cannot be read.
async fn scrape(base: &str) -> String {
    match reqwest::get(format!("{base}/metrics")).await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The cumulative buckets (upper bound in seconds, count) of one histogram series in a scrape;
/// empty when it is not there.
fn buckets(scrape: &str, family: &str, labels: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{family}_bucket{{{labels}le=\"");
    scrape
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, count.trim().parse().ok()?))
        })
        .collect()
}

/// The `q` quantile in ms of what was observed between two scrapes of a histogram, linear
/// within its bucket as Prometheus' `histogram_quantile`; `None` when nothing was observed.
fn bucket_quantile(before: &[(f64, f64)], after: &[(f64, f64)], q: f64) -> Option<f64> {
    let counts: Vec<(f64, f64)> = after
        .iter()
        .map(|&(le, n)| {
            let earlier = before.iter().find(|b| b.0 == le).map_or(0.0, |b| b.1);
            (le, n - earlier)
        })
        .collect();
    let total = counts.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for &(le, n) in &counts {
        if n >= rank {
            // In the last, unbounded bucket: its lower bound, as Prometheus answers.
            let upper = if le.is_finite() { le } else { lower };
            let share = if n > below {
                (rank - below) / (n - below)
            } else {
                1.0
            };
            return Some(1000.0 * (lower + (upper - lower) * share));
        }
        (lower, below) = (le, n);
    }
    None
}

/// What the broker takes from a plain producer: the same values, keys and (optionally) headers.
async fn ceiling(brokers: &str, lines: &[String], headers: bool, run: usize) -> f64 {
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let topic = if headers {
        format!("bench.ceiling.headers.{run}")
    } else {
        format!("bench.ceiling.bare.{run}")
    };
    let topic = topic.as_str();
    create_topic(brokers, topic, 12).await;
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        .set("linger.ms", "2")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "500000")
        .create()
        .expect("producer");
    let started = Instant::now();
    let sends = lines.iter().enumerate().map(|(i, line)| {
        let producer = producer.clone();
        async move {
            let key = format!("key-{}", i % 5000);
            let mut record = FutureRecord::to(topic).key(&key).payload(line.as_str());
            if headers {
                let id = format!("{i:032}");
                let h = OwnedHeaders::new()
                    .insert(Header {
                        key: "ce_id",
                        value: Some(id.as_str()),
                    })
                    .insert(Header {
                        key: "ce_type",
                        value: Some("cn.spotcheck.result.v1"),
                    })
                    .insert(Header {
                        key: "ce_source",
                        value: Some("/spotcheck/ingest"),
                    })
                    .insert(Header {
                        key: "ce_specversion",
                        value: Some("1.0"),
                    })
                    .insert(Header {
                        key: "ce_time",
                        value: Some("2026-11-28T00:00:00.000Z"),
                    })
                    .insert(Header {
                        key: "content-type",
                        value: Some("application/json"),
                    });
                record = record.headers(h);
            }
            producer.send(record, Duration::from_secs(30)).await.is_ok()
        }
    });
    let ok = futures::stream::iter(sends)
        .buffer_unordered(20_000)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    ok as f64 / started.elapsed().as_secs_f64()
}

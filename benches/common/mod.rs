//! What the benchmarks that drive a real `spotcheck up` share: starting it, its dev tokens, the
//! machine's size, percentiles and knobs from the environment.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The allocator the `spotcheck` binary runs with, so in-process figures (lake writer, views,
/// traceback absorption) measure what the service does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub const BIN: &str = env!("CARGO_BIN_EXE_spotcheck");

/// Starts the release `spotcheck up` in `dir/spotcheck` on `port` and waits for `/readyz`.
pub fn start(dir: &std::path::Path, port: u16) -> Child {
    start_with(dir, port, &[])
}

/// [`start`] with extra environment variables (e.g. `SPOTCHECK_BROKER_STORAGE`). Its log is
/// `dir/up.log`.
pub fn start_with(dir: &std::path::Path, port: u16, env: &[(&str, &str)]) -> Child {
    std::fs::create_dir_all(dir).expect("dir");
    let log_path = dir.join("up.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let child = Command::new(BIN)
        .envs(env.iter().copied())
        .args(["up", "--data-dir"])
        .arg(dir.join("spotcheck"))
        .args([
            "--http",
            &format!("127.0.0.1:{port}"),
            "--pg",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spotcheck up");
    wait_ready(child, port, "up", &log_path)
}

/// The dev token of `role` that `start` wrote.
pub fn token(dir: &std::path::Path, role: &str) -> String {
    let text = std::fs::read_to_string(dir.join("spotcheck/dev-tokens.toml")).expect("tokens");
    let table: toml::Table = toml::from_str(&text).expect("toml");
    table[role].as_str().expect("token").to_owned()
}

/// The `q` quantile (0..1) of `values`, nearest rank.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

pub fn memory_gib() -> f64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0 / 1024.0
}

/// How many times each measurement is repeated (`BENCH_RUNS`, default 3).
pub fn runs() -> usize {
    env_number("BENCH_RUNS", 3).max(1)
}

/// Median, minimum and maximum of `values`.
pub fn spread(values: &[f64]) -> (f64, f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (percentile(values, 0.5), min, max)
}

/// Prints one figure and, when `BENCH_FIGURES` names a file, appends it there as a JSON line
/// (`scripts/bench` turns those lines into BENCHMARKS.md). `key` names the measurement (e.g.
/// `ingest.batches.embedded`), `values` holds one number per run.
pub fn figure(key: &str, unit: &str, values: &[f64]) {
    let (median, min, max) = spread(values);
    println!(
        "  [{key}] median {median:.2} {unit} (min {min:.2}, max {max:.2}; {} run(s))",
        values.len()
    );
    let Ok(path) = std::env::var("BENCH_FIGURES") else {
        return;
    };
    let line = serde_json::json!({
        "key": key, "unit": unit, "runs": values, "median": median, "min": min, "max": max,
    });
    use std::io::Write;
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| writeln!(file, "{line}"));
    if let Err(error) = written {
        eprintln!("cannot append to {path}: {error}");
    }
}

/// Starts `spotcheck broker` under `dir` with `env` (e.g. `SPOTCHECK_BROKER_STORAGE`); returns
/// it and its bootstrap address once it accepts connections.
pub fn start_broker(dir: &std::path::Path, env: &[(&str, &str)]) -> (Child, String) {
    std::fs::create_dir_all(dir).expect("broker dir");
    let port = free_port();
    let bootstrap = format!("127.0.0.1:{port}");
    let child = Command::new(BIN)
        .arg("broker")
        .arg("--data-dir")
        .arg(dir)
        .args(["--port", &port.to_string()])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("broker.log")).expect("broker log"))
        .spawn()
        .expect("spotcheck broker");
    let started = Instant::now();
    while std::net::TcpStream::connect(&bootstrap).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "spotcheck broker did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, bootstrap)
}

/// Creates `topic` with `partitions` partitions on the broker at `bootstrap`.
pub async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin");
    let spec = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    admin
        .create_topics(&[spec], &AdminOptions::new())
        .await
        .expect("create topic");
}

/// Starts `spotcheck <stage>` against `brokers` with its HTTP server on `port`, logging to
/// `data_dir/<stage>.log`, and waits for `/readyz`.
pub fn start_component(stage: &str, data_dir: &std::path::Path, brokers: &str, port: u16) -> Child {
    std::fs::create_dir_all(data_dir).expect("data dir");
    let log_path = data_dir.join(format!("{stage}.log"));
    let log = std::fs::File::create(&log_path).expect("log");
    let child = Command::new(BIN)
        .arg(stage)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--brokers", brokers, "--http", &format!("127.0.0.1:{port}")])
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|error| panic!("spotcheck {stage}: {error}"));
    wait_ready(child, port, stage, &log_path)
}

/// Waits up to a minute for `/readyz` on `port`; panics with the last lines of the child's log
/// if it exits first or the minute passes (killing it then).
fn wait_ready(mut child: Child, port: u16, what: &str, log: &std::path::Path) -> Child {
    let tail = || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if reqwest::blocking::get(format!("http://127.0.0.1:{port}/readyz"))
            .is_ok_and(|r| r.status() == 200)
        {
            return child;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "spotcheck {what} exited ({status}) before it was ready:\n{}",
                tail()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("spotcheck {what} did not become ready in 60 s:\n{}", tail());
}

/// Files in the newest version of a lake table (what its Delta log names), and their bytes.
pub async fn files_in(lake: &std::path::Path, table: &str) -> (usize, u64) {
    let location = spotcheck_lake::LakeLocation::local(lake).expect("lake");
    let uris: Vec<String> = spotcheck_lake::delta::open_or_create(&location, table)
        .await
        .ok()
        .and_then(|t| t.get_file_uris().ok().map(std::iter::Iterator::collect))
        .unwrap_or_default();
    let bytes = uris
        .iter()
        .map(|uri| {
            url::Url::parse(uri)
                .ok()
                .and_then(|url| url.to_file_path().ok())
                .unwrap_or_else(|| uri.into())
        })
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|meta| meta.len())
        .sum();
    (uris.len(), bytes)
}

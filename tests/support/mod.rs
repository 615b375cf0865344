//! Test support: `spotcheck up` as a real process on free ports with a fresh data dir, the dev
//! tokens it wrote, and a Kafka reader for what landed on the topics.

#![allow(dead_code)]

pub mod flows;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_spotcheck");

/// Ports handed out or taken in this test process.
static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// A loopback port nothing listens on (bound then released), never the same twice in one test
/// process (the kernel may hand a just-released port out again, and `up --http P --pg P` then
/// fails to start), and never one [`taken`].
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if GIVEN.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// Keeps `port` from [`free_port`]: one a server will take by itself.
pub fn taken(port: u16) {
    GIVEN.lock().unwrap().insert(port);
}

/// A spotcheck process (or a broker) started with fixed arguments; restartable, logged to a file.
pub struct Process {
    program: PathBuf,
    args: Vec<String>,
    /// Its HTTP address, when it serves `/readyz`.
    ready_url: Option<String>,
    child: Option<Child>,
    log: PathBuf,
}

impl Process {
    /// Starts `program args`, logging to `log`, and waits for `/readyz` at `ready_url` (if any).
    pub fn start(
        program: &Path,
        args: Vec<String>,
        ready_url: Option<String>,
        log: PathBuf,
    ) -> Self {
        let mut process = Self {
            program: program.to_owned(),
            args,
            ready_url,
            child: None,
            log,
        };
        process.spawn();
        process
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.program.display()));
        self.child = Some(child);
        self.wait_ready();
    }

    /// Waits for `/readyz` to answer 200 (up to 90 s).
    pub fn wait_ready(&mut self) {
        let Some(url) = self.ready_url.clone() else {
            return;
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(90) {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("{:?} exited with {status}:\n{}", self.args, self.log_text());
            }
            if let Ok(response) = reqwest::blocking::get(&url)
                && response.status() == 200
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("{:?} did not become ready:\n{}", self.args, self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no exit 30 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The operating system's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its resident memory now, in bytes (Linux).
    pub fn resident_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// Whether it is still running (reaps it if it exited).
    pub fn running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => child.try_wait().unwrap().is_none(),
            None => false,
        }
    }

    /// Waits up to `timeout` for it to exit by itself; its status, or `None` if still running.
    pub fn exit_within(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Some(status) = self.child.as_mut()?.try_wait().unwrap() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// Starts it again with the same arguments (same ports, same data).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running `spotcheck up`.
pub struct Up {
    pub dir: PathBuf,
    pub http: String,
    /// The Postgres-protocol address (`--pg`).
    pub pg: String,
    process: Process,
}

impl Up {
    /// Starts `spotcheck up` on a new port in `dir` and waits until `/readyz` is 200.
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[])
    }

    pub fn start_with(dir: &Path, extra: &[&str]) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        // The embedded broker listens again on the port it had (`DATA_DIR/broker/port`), which
        // the kernel may meanwhile hand out as free: seen as `--http` on that port, and `up`
        // refused to start ("Address already in use").
        let remembered = std::fs::read_to_string(dir.join("broker").join("port"))
            .ok()
            .and_then(|port| port.trim().parse().ok());
        if let Some(port) = remembered {
            taken(port);
        }
        let http = format!("127.0.0.1:{}", free_port());
        let pg = format!("127.0.0.1:{}", free_port());
        let mut args: Vec<String> = vec!["up".into(), "--data-dir".into()];
        args.push(dir.to_str().unwrap().into());
        args.extend(["--http".into(), http.clone(), "--pg".into(), pg.clone()]);
        // A new data dir's broker would take a free port of its own, and the kernel may hand it
        // the one just chosen for `--pg` above (seen: "cannot listen on … for the Postgres
        // protocol: Address already in use"). Give it one of ours instead.
        let own_brokers = extra.iter().any(|a| {
            ["--broker-port", "--brokers"]
                .iter()
                .any(|flag| a == flag || a.starts_with(&format!("{flag}=")))
        });
        if remembered.is_none() && !own_brokers {
            args.extend(["--broker-port".into(), free_port().to_string()]);
        }
        args.extend(extra.iter().map(std::string::ToString::to_string));
        let log = dir.join(format!("up-{}.log", free_port()));
        let process = Process::start(
            Path::new(BIN),
            args,
            Some(format!("http://{http}/readyz")),
            log,
        );
        Self {
            dir: dir.to_owned(),
            http,
            pg,
            process,
        }
    }

    /// Starts `up` once in `dir` so it writes its dev config and tokens, appends `toml` to that
    /// config, and starts `up` again with it (plus `extra` flags).
    pub fn start_configured(dir: &Path, toml: &str, extra: &[&str]) -> Self {
        drop(Self::start(dir));
        let config = dir.join("config.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push('\n');
        text.push_str(toml);
        std::fs::write(&config, text).unwrap();
        let mut args = vec!["--config", config.to_str().unwrap()];
        args.extend_from_slice(extra);
        Self::start_with(dir, &args)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// A dev token (`lab`, `ledger`, `admin`, `analyst`, `feed`).
    pub fn token(&self, role: &str) -> String {
        dev_token(&self.dir, role)
    }

    /// The embedded broker's bootstrap address.
    pub fn brokers(&self) -> String {
        let port = std::fs::read_to_string(self.dir.join("broker/port")).unwrap();
        format!("127.0.0.1:{}", port.trim())
    }
}

impl std::ops::Deref for Up {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.process
    }
}

impl std::ops::DerefMut for Up {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.process
    }
}

/// A dev token (`lab`, `ledger`, `admin`, `analyst`, `feed`) of the data dir `dir`.
pub fn dev_token(dir: &Path, role: &str) -> String {
    let text = std::fs::read_to_string(dir.join("dev-tokens.toml")).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    table[role].as_str().unwrap().to_owned()
}

/// A Kafka-protocol broker as its own process: spotcheck's embedded Tansu run alone
/// (`spotcheck broker`), durable, on a free loopback port; on SlateDB unless started with
/// [`Broker::start_with`].
pub struct Broker {
    pub bootstrap: String,
    process: Process,
}

impl Broker {
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, "slatedb")
    }

    /// The broker with its log in `storage` (`slatedb` or `sqlite`).
    pub fn start_with(dir: &Path, storage: &str) -> Self {
        Self::start_with_args(dir, &["--storage", storage])
    }

    /// The broker started with `extra` flags (`--storage`, `--flush-ms`, ...).
    pub fn start_with_args(dir: &Path, extra: &[&str]) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let bootstrap = format!("127.0.0.1:{port}");
        let log = dir.join("broker.log");
        let args = ["broker", "--data-dir", dir.to_str().unwrap(), "--port"];
        let mut args: Vec<String> = args.iter().map(std::string::ToString::to_string).collect();
        args.push(port.to_string());
        args.extend(extra.iter().map(std::string::ToString::to_string));
        let process = Process::start(Path::new(BIN), args, None, log);
        let broker = Self { bootstrap, process };
        broker.wait_for_port();
        broker
    }

    /// The broker's TCP port accepts connections (up to 60 s).
    pub fn wait_for_port(&self) {
        let started = Instant::now();
        while std::net::TcpStream::connect(&self.bootstrap).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the broker did not open {}:\n{}",
                self.bootstrap,
                self.process.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// What the broker process printed (across restarts).
    pub fn log_text(&self) -> String {
        self.process.log_text()
    }

    pub fn restart(&mut self) {
        self.process.restart();
        self.wait_for_port();
    }
}

/// One spotcheck component (`ingest`, `lake`, `traceback`, `credit`, `analytics`) as its own
/// process against `brokers`, with its own HTTP port.
pub struct Component {
    pub http: String,
    pub pg: Option<String>,
    process: Process,
}

impl Component {
    pub fn start(name: &str, data_dir: &Path, brokers: &str, extra: &[&str]) -> Self {
        std::fs::create_dir_all(data_dir).unwrap();
        let http = format!("127.0.0.1:{}", free_port());
        let mut args: Vec<String> = vec![name.into(), "--data-dir".into()];
        args.push(data_dir.to_str().unwrap().into());
        args.extend([
            "--brokers".into(),
            brokers.into(),
            "--http".into(),
            http.clone(),
        ]);
        let pg = (name == "analytics").then(|| format!("127.0.0.1:{}", free_port()));
        if let Some(pg) = &pg {
            args.extend(["--pg".into(), pg.clone()]);
        }
        args.extend(extra.iter().map(std::string::ToString::to_string));
        let log = data_dir.join(format!("{name}-{}.log", free_port()));
        let process = Process::start(
            Path::new(BIN),
            args,
            Some(format!("http://{http}/readyz")),
            log,
        );
        Self { http, pg, process }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }
}

impl std::ops::Deref for Component {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.process
    }
}

impl std::ops::DerefMut for Component {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.process
    }
}

/// One record read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub value: serde_json::Value,
    pub headers: HashMap<String, String>,
}

/// Each partition of `topic` with the offset its next record would get.
pub fn end_offsets(brokers: &str, topic: &str) -> HashMap<i32, i64> {
    let consumer = consumer_as(brokers, "spotcheck-tests");
    partitions(&consumer, topic)
        .into_iter()
        .map(|partition| {
            let (_, high) = consumer
                .fetch_watermarks(topic, partition, Duration::from_secs(10))
                .unwrap();
            (partition, high)
        })
        .collect()
}

/// A consumer in group `group` that neither subscribes nor commits: it reads what it is told.
fn consumer_as(brokers: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap()
}

fn partitions(consumer: &BaseConsumer, topic: &str) -> Vec<i32> {
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    metadata.topics()[0]
        .partitions()
        .iter()
        .map(rdkafka::metadata::MetadataPartition::id)
        .collect()
}

/// Waits until consumer group `group` has committed, on every partition of `topic`, the offset
/// where the partition ends now: every record on it is applied. A stage commits an offset only
/// once what the record caused is durable (the lake's Delta commit, the state's transaction).
pub fn wait_until_consumed(brokers: &str, group: &str, topic: &str) {
    let ends = end_offsets(brokers, topic);
    // Reads the group's committed offsets without joining it (no subscription).
    let reader = consumer_as(brokers, group);
    let mut wanted = TopicPartitionList::new();
    for (&partition, &end) in &ends {
        if end > 0 {
            wanted.add_partition(topic, partition);
        }
    }
    let started = Instant::now();
    loop {
        let committed = reader
            .committed_offsets(wanted.clone(), Duration::from_secs(10))
            .unwrap();
        let behind: Vec<(i32, Offset, i64)> = committed
            .elements()
            .iter()
            .map(|e| (e.partition(), e.offset(), ends[&e.partition()]))
            .filter(|&(_, offset, end)| offset != Offset::Offset(end))
            .collect();
        if behind.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "{group} has not consumed {topic}: (partition, committed, end) {behind:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the traceback stage has applied every record of the topics it reads and
/// published the case revisions they caused (its group has consumed them: see
/// [`wait_until_consumed`]). Call it after the last post.
pub fn wait_until_traced(brokers: &str) {
    for topic in [
        "spotcheck.units.v1",
        "spotcheck.shipments.v1",
        "spotcheck.results.v1",
    ] {
        wait_until_consumed(brokers, "spotcheck-traceback", topic);
    }
}

/// [`wait_until_traced`], then until the credit stage has applied every case revision: no
/// further disclosure can come.
pub fn wait_until_disclosed(brokers: &str) {
    wait_until_traced(brokers);
    wait_until_consumed(brokers, "spotcheck-credit", "spotcheck.cases.v1");
}

/// Every record on `topic`, from the start of each partition to its current end.
pub fn read_topic(brokers: &str, topic: &str) -> Vec<Record> {
    let consumer = consumer_as(brokers, "spotcheck-tests");
    let mut records = Vec::new();
    for partition in partitions(&consumer, topic) {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(10))
            .unwrap();
        if high <= low {
            continue;
        }
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(topic, partition, Offset::Offset(low))
            .unwrap();
        consumer.assign(&assignment).unwrap();
        let mut next = low;
        while next < high {
            let message = match consumer
                .poll(Duration::from_secs(20))
                .expect("record before timeout")
            {
                Ok(message) => message,
                // librdkafka reports a broker connection it lost (a restart in the crash
                // harness) as an event on the poll, and reconnects by itself.
                Err(rdkafka::error::KafkaError::MessageConsumption(
                    rdkafka::types::RDKafkaErrorCode::AllBrokersDown
                    | rdkafka::types::RDKafkaErrorCode::BrokerTransportFailure,
                )) => continue,
                Err(error) => panic!("reading {topic}: {error}"),
            };
            next = message.offset() + 1;
            let headers = message
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_owned(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            records.push(Record {
                partition,
                offset: message.offset(),
                key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
                value: serde_json::from_slice(message.payload().unwrap_or_default())
                    .unwrap_or(serde_json::Value::Null),
                headers,
            });
        }
    }
    records
}

/// The test items of every result in an NDJSON file (the rows `result_items` should hold).
pub fn items_in(file: &Path) -> u64 {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["items"]
                .as_array()
                .unwrap()
                .len() as u64
        })
        .sum()
}

/// A valid failing result of the dev lab, numbered `report_no`.
pub fn result(report_no: &str) -> serde_json::Value {
    serde_json::json!({
        "report_no": report_no, "lab_id": "dev-lab", "task_id": "2026Q2-gas",
        "organiser": "天津市市场监督管理委员会", "level": "municipal", "category": "gas_appliance",
        "product": {"name": "家用燃气灶具", "brand": "火王", "model": "JZT-2", "batch": "20260301",
                    "production_date": "2026-03-01"},
        "producer": {"uscc": "91350100M000100Y43", "name": "某某燃气具有限公司"},
        "sampled_unit": {"uscc": "91110000802100433B", "name": "南开区某某商店", "district": "120104",
                         "role": "retailer"},
        "sampling": {"date": "2026-04-02", "domain": "circulation"},
        "tested_on": "2026-04-20", "standards": ["GB 16410-2020"],
        "items": [{"name": "熄火保护装置", "required": "≤60 s", "measured": "75 s", "verdict": "fail"}],
        "verdict": "fail", "severity": "serious"
    })
}

/// The last day of a period of the law of `days` calendar days from `start`, moved past weekends
/// and holidays as the stage moves it (the shipped working-day calendar).
pub fn law_period_end(start: chrono::NaiveDate, days: u64) -> chrono::NaiveDate {
    spotcheck_traceback::Calendar::shipped()
        .period_end(start, days)
        .date
}

/// The years the shipped working-day calendar knows.
pub fn law_calendar_years() -> Vec<i32> {
    spotcheck_traceback::Calendar::shipped().known_years()
}

/// The day a result served `served_days_ago` days ago became final with an objection window of
/// 0 days: the day after the window's last day (moved past a weekend or holiday).
pub fn final_on_after(served_days_ago: u64) -> chrono::NaiveDate {
    let served = spotcheck_schemas::days::today() - chrono::Days::new(served_days_ago);
    law_period_end(served, 0) + chrono::Days::new(1)
}

/// The last `lines` lines of a process's log with each run of lines that say the same thing
/// (timestamps aside) shown once with its count: a broker outage fills a log with the Kafka
/// client's repeated complaints, which would hide everything else in a plain tail.
pub fn story(text: &str, lines: usize) -> String {
    let mut runs: Vec<(usize, &str, &str)> = Vec::new();
    for line in text.lines() {
        // `2026-12-01T00:19:46.401771Z  WARN target: message` (colour codes included).
        let message = line.split_once('Z').map_or(line, |(_, rest)| rest);
        match runs.last_mut() {
            Some((count, _, last)) if *last == message => *count += 1,
            _ => runs.push((1, line, message)),
        }
    }
    runs[runs.len().saturating_sub(lines)..]
        .iter()
        .map(|(count, line, _)| match count {
            1 => (*line).to_owned(),
            n => format!("{line}  [×{n}]"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last `lines` lines of `text` (a process's log, for a failure message).
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

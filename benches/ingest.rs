//! Ingest benchmark on the embedded broker: results/s for NDJSON batches, and p50/p99 latency of
//! single POSTs at a fixed rate. Prints figures; asserts nothing.
//!
//!     cargo bench --bench ingest                # 100,000 results
//!     BENCH_RESULTS=20000 cargo bench --bench ingest
//!
//! It runs the release `spotcheck up` as its own process (embedded Tansu broker with SQLite),
//! posts with a separate client, and reports the machine it ran on.

mod common;

use common::{cores, env_number, free_port, memory_gib, percentile, start, token};
use futures::StreamExt;
use std::time::{Duration, Instant};

fn main() {
    let results: usize = env_number("BENCH_RESULTS", 100_000);
    let singles: usize = env_number("BENCH_SINGLES", 2_000);
    let rate: f64 = env_number("BENCH_SINGLE_RATE", 200) as f64;
    let batch: usize = env_number("BENCH_BATCH", 2_000);
    let concurrency: usize = env_number("BENCH_CONCURRENCY", 4);
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    spotcheck_datagen::generate(
        &spotcheck_datagen::Plan {
            results: results + singles,
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
    let (batch_lines, single_lines) = lines.split_at(results);

    let port = free_port();
    let mut server = start(dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let token = token(dir.path(), "lab");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (throughput, accepted) =
        runtime.block_on(batches(&base, &token, batch_lines, batch, concurrency));
    let latencies = runtime.block_on(singles_at_rate(&base, &token, single_lines, rate));
    let brokers = format!(
        "127.0.0.1:{}",
        std::fs::read_to_string(dir.path().join("spotcheck/broker/port"))
            .expect("port")
            .trim()
    );
    let with_headers = runtime.block_on(ceiling(&brokers, batch_lines, true));
    let ceiling_bare = runtime.block_on(ceiling(&brokers, batch_lines, false));
    let _ = server.kill();
    let _ = server.wait();

    println!(
        "machine: {} cores, {:.1} GiB memory; broker: embedded Tansu 0.6 (SQLite), acks=all",
        cores(),
        memory_gib()
    );
    println!(
        "ingest NDJSON batches: {results} results in batches of {batch} x{concurrency}: {throughput:.0} results/s ({accepted} accepted)"
    );
    println!(
        "ceiling: plain rdkafka producer, same records, acks=all, lz4: {with_headers:.0}/s with CloudEvents headers, {ceiling_bare:.0}/s without headers"
    );
    println!(
        "ingest / ceiling: {:.0}%",
        100.0 * throughput / with_headers
    );
    println!(
        "single POST at {rate:.0}/s: n={}, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
}

async fn batches(
    base: &str,
    token: &str,
    lines: &[String],
    size: usize,
    concurrency: usize,
) -> (f64, usize) {
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/results");
    let bodies: Vec<String> = lines.chunks(size).map(|c| c.join("\n")).collect();
    let started = Instant::now();
    let accepted: usize = futures::stream::iter(bodies)
        .map(|body| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let response = client
                    .post(&url)
                    .bearer_auth(token)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await
                    .expect("post");
                let answer: serde_json::Value = response.json().await.expect("json");
                answer["accepted"].as_array().map_or(0, Vec::len)
            }
        })
        .buffer_unordered(concurrency)
        .fold(0, |sum, n| async move { sum + n })
        .await;
    (
        lines.len() as f64 / started.elapsed().as_secs_f64(),
        accepted,
    )
}

/// Sends one result at a time on a fixed schedule; latency is measured per request.
async fn singles_at_rate(base: &str, token: &str, lines: &[String], rate: f64) -> Vec<f64> {
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/results");
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut ticker = tokio::time::interval(interval);
    let mut latencies = Vec::with_capacity(lines.len());
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
        assert_eq!(response.status(), 202, "single POST failed");
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies
}

/// What the broker takes from a plain producer: the same values, keys and (optionally) headers.
async fn ceiling(brokers: &str, lines: &[String], headers: bool) -> f64 {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let topic = if headers {
        "bench.ceiling.headers"
    } else {
        "bench.ceiling.bare"
    };
    let config = || {
        let mut config = rdkafka::ClientConfig::new();
        config.set("bootstrap.servers", brokers);
        config
    };
    let admin: AdminClient<_> = config().create().expect("admin");
    let spec = NewTopic::new(topic, 12, TopicReplication::Fixed(1));
    admin
        .create_topics(&[spec], &AdminOptions::new())
        .await
        .expect("create topic");
    let producer: FutureProducer = config()
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

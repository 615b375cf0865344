//! The embedded broker's produce latency on a partition with a long history, beside the same on
//! a fresh partition of the same broker in the same run. Tansu 0.6 on SlateDB rewrites a record
//! per partition at every produce that held one entry per batch ever written to it; spotcheck
//! keeps it small (`platform/broker/src/watermarks.rs`), so the two should not differ.
//!
//! `spotcheck broker` (SlateDB, fsync) runs as its own process; one idempotent producer
//! (acks=all, no linger) writes `BENCH_HISTORY` records to the `history` topic one at a time,
//! each its own batch, then alternates single records to `history` and to a fresh topic,
//! `BENCH_SAMPLES` of each, one at a time; latency is measured per record. Repeated
//! `BENCH_RUNS` times (3), each on a new fresh topic. Prints figures; asserts nothing.
//!
//!     cargo bench --bench broker                    # 30,000 batches of history
//!     BENCH_HISTORY=100000 cargo bench --bench broker

mod common;

use common::{create_topic, env_number, figure, percentile, runs, start_broker};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::{Duration, Instant};

const HISTORY: &str = "history";

fn main() {
    let history: usize = env_number("BENCH_HISTORY", 30_000);
    let samples: usize = env_number("BENCH_SAMPLES", 2_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut broker, bootstrap) = start_broker(&dir.path().join("broker"), &[]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (mut history_p50, mut history_p99, mut fresh_p50, mut fresh_p99) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    runtime.block_on(async {
        create_topic(&bootstrap, HISTORY, 1).await;
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "0")
            .create()
            .expect("producer");
        let started = Instant::now();
        for n in 0..history {
            send(&producer, HISTORY, n).await;
        }
        println!(
            "history: {history} single-record batches in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        for run in 0..runs() {
            let fresh = format!("fresh.{run}");
            create_topic(&bootstrap, &fresh, 1).await;
            let (mut old, mut new) = (Vec::new(), Vec::new());
            for n in 0..samples {
                old.push(send(&producer, HISTORY, n).await);
                new.push(send(&producer, &fresh, n).await);
            }
            println!(
                "run {}: produce p50/p99: partition with history {:.2}/{:.2} ms, fresh {:.2}/{:.2} ms",
                run + 1,
                percentile(&old, 0.5),
                percentile(&old, 0.99),
                percentile(&new, 0.5),
                percentile(&new, 0.99)
            );
            history_p50.push(percentile(&old, 0.5));
            history_p99.push(percentile(&old, 0.99));
            fresh_p50.push(percentile(&new, 0.5));
            fresh_p99.push(percentile(&new, 0.99));
        }
    });
    let _ = broker.kill();
    let _ = broker.wait();
    println!("broker: spotcheck broker on SlateDB (fsync, defaults); {history} batches of history");
    figure("broker.produce_p50.history", "ms", &history_p50);
    figure("broker.produce_p99.history", "ms", &history_p99);
    figure("broker.produce_p50.fresh", "ms", &fresh_p50);
    figure("broker.produce_p99.fresh", "ms", &fresh_p99);
}

/// Sends one record and waits for its acknowledgement; returns the wait in milliseconds.
async fn send(producer: &FutureProducer, topic: &str, n: usize) -> f64 {
    let value = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(250));
    let started = Instant::now();
    producer
        .send(
            FutureRecord::<(), _>::to(topic).payload(&value),
            Duration::from_secs(30),
        )
        .await
        .expect("acknowledged");
    started.elapsed().as_secs_f64() * 1000.0
}

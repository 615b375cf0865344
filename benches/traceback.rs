//! Traceback benchmark: shipments absorbed per second into the stage's state (default
//! 10,000,000), then the time to build and durably store the case of a flagged batch with all of
//! them in state (p50/p99), resident memory, and DuckDB answering the same question with a
//! recursive query over the same shipments in Parquet. Prints figures; asserts nothing.
//!
//!     cargo bench --bench traceback
//!     BENCH_SHIPMENTS=1000000 cargo bench --bench traceback
//!
//! The stage is called directly with records as Kafka delivers them (no broker: new case
//! revisions stay in the outbox), so the figures are the state's own cost.

mod common;

use common::{env_number, figure, percentile, runs};
use spotcheck_lake::{LakeSettings, LakeWriter};
use spotcheck_runtime::{Delivered, KafkaSettings, Metrics, Publisher, Stage};
use spotcheck_schemas::topics;
use spotcheck_traceback::{Authority, Store, SystemClock, TracebackStage};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shipments per batch: producer → 2 distributors → 8 retailers (one with two suppliers) and 1
/// more hop.
const PER_BATCH: usize = 10;
const FLAGGED: usize = 1000;

fn uscc(n: usize) -> String {
    let first17 = format!("9112010{:010}", n % 10_000_000_000);
    spotcheck_schemas::uscc::with_check_character(&first17).unwrap_or_default()
}

fn shipment(batch: usize, hop: usize) -> serde_json::Value {
    let producer = batch % 5000;
    let distributor = |k: usize| 100_000 + (batch * 2 + k) % 50_000;
    let retailer = |k: usize| 1_000_000 + (batch * 8 + k) % 2_000_000;
    let (from, to) = match hop {
        0 => (producer, distributor(0)),
        1 => (producer, distributor(1)),
        2..=5 => (distributor(0), retailer(hop - 2)),
        6..=8 => (distributor(1), retailer(hop - 3)),
        _ => (retailer(0), retailer(7)),
    };
    serde_json::json!({
        "shipment_id": format!("B{batch}-S{hop}"), "category": "e_bike",
        "product": {"producer_uscc": uscc(producer), "producer_name": format!("厂{producer}"), "model": "M-1", "batch": format!("B{batch}")},
        "from": {"uscc": uscc(from), "name": format!("单位{from}"), "district": "120104"},
        "to": {"uscc": uscc(to), "name": format!("单位{to}"), "district": "120104"},
        "quantity": 10.0, "unit": "pcs", "shipped_on": "2026-03-10"
    })
}

fn failing_result(batch: usize) -> serde_json::Value {
    let producer = batch % 5000;
    serde_json::json!({
        "report_no": format!("R{batch}"), "lab_id": "lab", "category": "e_bike",
        "product": {"name": "电动自行车", "model": "M-1", "batch": format!("B{batch}")},
        "producer": {"uscc": uscc(producer), "name": format!("厂{producer}")},
        "sampled_unit": {"uscc": uscc(1_000_000 + (batch * 8 + 2) % 2_000_000), "name": "店", "district": "120104", "role": "retailer"},
        "sampling": {"date": "2026-04-02", "domain": "circulation"}, "tested_on": "2026-04-20",
        "items": [{"name": "最高车速", "verdict": "fail"}], "verdict": "fail", "standards": [], "suspected_counterfeit": false
    })
}

fn delivered(topic: &str, partition: i32, offset: i64, value: &serde_json::Value) -> Delivered {
    Delivered {
        topic: topic.into(),
        partition,
        offset,
        key: None,
        payload: value.to_string().into_bytes(),
        headers: vec![],
    }
}

/// The shipments of all batches, as Kafka would deliver them, 5,000 at a time.
fn shipment_chunks(batches: usize) -> impl Iterator<Item = Vec<Delivered>> {
    (0..batches).step_by(500).map(move |first| {
        (first..(first + 500).min(batches))
            .flat_map(|b| (0..PER_BATCH).map(move |h| (b, h)))
            .map(|(b, h)| {
                let offset = (b * PER_BATCH + h) as i64;
                delivered(topics::SHIPMENTS, 0, offset, &shipment(b, h))
            })
            .collect()
    })
}

fn resident_peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let shipments = env_number("BENCH_SHIPMENTS", 10_000_000);
    let batches = shipments / PER_BATCH;
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();
    let store = Arc::new(Store::open(&dir.path().join("state.redb")).expect("store"));
    let kafka = KafkaSettings::new("127.0.0.1:9", "bench");
    let metrics = Metrics::new(prometheus::Registry::new()).expect("metrics");
    let publisher = Publisher::new(&kafka, metrics).expect("publisher");
    let stage = TracebackStage::new(
        store,
        publisher,
        Arc::new(SystemClock),
        Authority::default(),
    );

    let started = Instant::now();
    let mut absorbing = Duration::ZERO;
    // One pass (the state only grows); its spread is over ten slices of the load.
    let mut slices = [Duration::ZERO; 10];
    let chunks = batches.div_ceil(500).max(1);
    for (i, records) in shipment_chunks(batches).enumerate() {
        let timed = Instant::now();
        stage.absorb(&records).expect("absorb");
        absorbing += timed.elapsed();
        slices[i * 10 / chunks] += timed.elapsed();
    }
    let slice_rates: Vec<f64> = slices
        .iter()
        .filter(|d| !d.is_zero())
        .map(|d| (shipments as f64 / 10.0) / d.as_secs_f64())
        .collect();
    figure("traceback.absorb", "shipments/s", &slice_rates);
    println!(
        "absorbed {shipments} shipments in {:.1} s = {:.0} shipments/s (state only; {:.1} s with generating them)",
        absorbing.as_secs_f64(),
        shipments as f64 / absorbing.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let state_size = std::fs::metadata(dir.path().join("state.redb")).map_or(0, |m| m.len());
    println!("state file: {:.0} MiB", state_size as f64 / 1_048_576.0);

    let mut times = Vec::new();
    for i in 0..FLAGGED {
        let batch = (i * 7919) % batches;
        let record = delivered(topics::RESULTS, 0, i as i64, &failing_result(batch));
        let timed = Instant::now();
        stage.absorb(std::slice::from_ref(&record)).expect("case");
        times.push(timed.elapsed());
    }
    let per_group = FLAGGED.div_ceil(runs());
    let group_ms = |q: f64| -> Vec<f64> {
        times
            .chunks(per_group)
            .map(|group| {
                let ms: Vec<f64> = group.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
                percentile(&ms, q)
            })
            .collect()
    };
    figure("traceback.case_p50", "ms", &group_ms(0.5));
    figure("traceback.case_p99", "ms", &group_ms(0.99));
    times.sort();
    let pick = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "case of a flagged batch (read the batch, trace both ways, store the revision durably): p50 {:.2} ms, p99 {:.2} ms over {FLAGGED}",
        pick(0.5).as_secs_f64() * 1000.0,
        pick(0.99).as_secs_f64() * 1000.0
    );
    println!(
        "peak resident memory of the state and the stage: {:.0} MiB",
        resident_peak_mib()
    );
    figure("traceback.peak_rss", "MiB", &[resident_peak_mib()]);

    // The same shipments as Parquet, for DuckDB (after the memory figure: the writer's buffers
    // are not the traceback's).
    let mut lake = LakeWriter::new(LakeSettings::new(dir.path().join("lake")));
    for records in shipment_chunks(batches) {
        runtime.block_on(lake.apply(&records)).expect("lake");
    }
    runtime.block_on(lake.finish()).expect("lake flush");

    let lake = dir.path().join("lake");
    let batch = 4242 % batches;
    let producer = uscc(batch % 5000);
    let script = format!(
        r#"
import duckdb, deltalake, time, json
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute(f"CREATE VIEW shipments AS SELECT * FROM read_parquet({{deltalake.DeltaTable('{lake}/shipments').file_uris()!r}})")
sql = """
WITH RECURSIVE down(uscc, hops) AS (
  SELECT '{producer}', 0
  UNION
  SELECT s.to_uscc, d.hops + 1 FROM shipments s JOIN down d ON s.from_uscc = d.uscc
  WHERE s.batch_key = (SELECT any_value(batch_key) FROM shipments WHERE shipment_id = 'B{batch}-S0')
)
SELECT uscc, min(hops) FROM down GROUP BY uscc
"""
times = []
for _ in range({runs}):
    started = time.perf_counter()
    rows = con.execute(sql).fetchall()
    times.append((time.perf_counter() - started) * 1000)
print(len(rows), json.dumps(times))
"#,
        runs = runs().max(5),
        lake = lake.display()
    );
    match Command::new("python3").args(["-c", &script]).output() {
        Ok(output) if output.status.success() => {
            let text = String::from_utf8_lossy(&output.stdout);
            let (units, times) = text.trim().split_once(' ').unwrap_or(("?", "[]"));
            println!("DuckDB, recursive query over the same shipments in Parquet: {units} units");
            let times: Vec<f64> = serde_json::from_str(times).unwrap_or_default();
            figure("traceback.duckdb_recursive", "ms", &times);
        }
        Ok(output) => println!("DuckDB failed: {}", String::from_utf8_lossy(&output.stderr)),
        Err(error) => println!("DuckDB not run: {error}"),
    }
}

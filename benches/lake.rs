//! Lake benchmark on `spotcheck gen` data (default 1,000,000 results): the lake writer's rate
//! beside DuckDB converting the same NDJSON to Parquet; each trend view over the lake, DataFusion
//! (what `spotcheck sql`, `/v1/sql` and the Postgres protocol run) beside DuckDB on the same
//! files; and `spotcheck report` and `spotcheck trace-export` on that lake. Each measurement is
//! repeated `BENCH_RUNS` times (3). Prints figures (and appends them to `BENCH_FIGURES` for
//! `scripts/bench`); asserts nothing.
//!
//!     cargo bench --bench lake
//!     BENCH_RESULTS=10000000 BENCH_PARTS=views cargo bench --bench lake
//!
//! `BENCH_PARTS` picks what to measure (`writer,convert,views,pages`, all by default); the lake is
//! written either way. DuckDB is driven through Python (`pip install duckdb`; each answer held in
//! DuckDB's memory, as DataFusion's is in Arrow); without it the comparisons are skipped.
//! The writer is called directly with the records as Kafka would deliver them (12 partitions),
//! read from the NDJSON file as it goes, so the figure is the writer's own cost: decoding, Arrow,
//! Parquet (zstd), Delta commits. Then one round of maintenance (optimize with Z-order, vacuum)
//! is timed, and the views run on the optimized tables; DuckDB reads the files the Delta log
//! names (through the `deltalake` Python package).

mod common;

use common::{env_number, figure, files_in, runs};
use spotcheck_analytics::{Analytics, QueryLimits, VIEWS};
use spotcheck_lake::{LakeSettings, LakeWriter};
use spotcheck_runtime::{Delivered, Stage};
use spotcheck_schemas::topics;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The trend views over results (the first of `VIEWS`; the rest read the other tables).
const TREND_VIEWS: usize = 7;
const PARTITIONS: i32 = 12;
const CHUNK: usize = 5000;

fn main() {
    let results = env_number("BENCH_RESULTS", 1_000_000);
    let shipments = env_number("BENCH_SHIPMENTS", results);
    let parts =
        std::env::var("BENCH_PARTS").unwrap_or_else(|_| "writer,convert,views,pages".into());
    let wants = |part: &str| parts.split(',').any(|p| p.trim() == part);
    let runs = runs();
    let size = size_label(results);
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = dir.path().join("gen");
    let started = Instant::now();
    spotcheck_datagen::generate(
        &spotcheck_datagen::Plan {
            results,
            shipments: if wants("pages") { shipments } else { 0 },
            seed: 5,
            labs: vec!["lab-a".into(), "lab-b".into(), "lab-c".into()],
        },
        &generated,
    )
    .expect("generate");
    let ndjson = generated.join(spotcheck_datagen::RESULTS_FILE);
    println!(
        "generated {results} results in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let data = dir.path().join("data");
    let lake = data.join("lake");

    // The writer: every run into a fresh lake; the last one stays for the queries.
    let writer_runs = if wants("writer") { runs } else { 1 };
    let mut rates = Vec::new();
    for run in 0..writer_runs {
        let _ = std::fs::remove_dir_all(&lake);
        let elapsed = runtime.block_on(write_lake(&ndjson, topics::RESULTS, &lake));
        rates.push(results as f64 / elapsed.as_secs_f64());
        println!(
            "run {}: lake writer: {results} results in {:.2} s",
            run + 1,
            elapsed.as_secs_f64()
        );
    }
    let items = count_items(&ndjson);
    if wants("writer") {
        figure(&format!("lake.writer.{size}"), "results/s", &rates);
        let per_row = (results + items) as f64 / results as f64;
        let rows: Vec<f64> = rates.iter().map(|r| r * per_row).collect();
        figure(&format!("lake.writer_rows.{size}"), "rows/s", &rows);
    }
    if wants("convert")
        && let Some(seconds) = duckdb_convert(&ndjson, &dir.path().join("duck"), runs)
    {
        let rates: Vec<f64> = seconds.iter().map(|s| results as f64 / s).collect();
        figure(&format!("lake.duckdb_convert.{size}"), "results/s", &rates);
    }
    let files_written = runtime.block_on(files_in(&lake, "results")).0;
    let location = spotcheck_lake::LakeLocation::local(&lake).expect("lake");
    let started = Instant::now();
    runtime
        .block_on(spotcheck_lake::maintain_once(
            &location,
            spotcheck_lake::MaintainSettings::default(),
            true,
        ))
        .expect("optimize");
    let optimize = started.elapsed().as_secs_f64();
    figure(&format!("lake.optimize_zorder.{size}"), "s", &[optimize]);
    println!(
        "optimize (Z-order) and vacuum: {optimize:.2} s; results table {files_written} files \
         before, {} after",
        runtime.block_on(files_in(&lake, "results")).0
    );
    if wants("views") {
        runtime.block_on(views(&lake, &size, runs));
    }
    if wants("pages") {
        runtime.block_on(write_lake(
            &generated.join(spotcheck_datagen::SHIPMENTS_FILE),
            topics::SHIPMENTS,
            &lake,
        ));
        pages(&data, &generated, &size, runs);
    }
}

/// "1M", "10M", or the plain number for sizes that are not whole millions.
fn size_label(results: usize) -> String {
    if results >= 1_000_000 && results.is_multiple_of(1_000_000) {
        format!("{}M", results / 1_000_000)
    } else {
        results.to_string()
    }
}

/// Feeds `file`'s lines to a lake writer as records of `topic` (12 partitions, 5,000 a call) and
/// returns how long it took, final flush included.
async fn write_lake(file: &Path, topic: &str, lake: &Path) -> Duration {
    let mut writer = LakeWriter::new(LakeSettings::new(lake));
    // Bytes, as Kafka delivers them (reading `String`s would check the UTF-8 here, in the
    // benchmark's own thread, before the writer checks it again).
    let lines = std::io::BufReader::new(std::fs::File::open(file).expect("ndjson")).split(b'\n');
    let mut offsets = [0i64; PARTITIONS as usize];
    let mut chunk = Vec::with_capacity(CHUNK);
    let started = Instant::now();
    for (i, line) in lines.enumerate() {
        let partition = (i % PARTITIONS as usize) as i32;
        let offset = &mut offsets[partition as usize];
        chunk.push(Delivered {
            topic: topic.into(),
            partition,
            offset: *offset,
            key: None,
            payload: line.expect("line"),
            headers: vec![],
        });
        *offset += 1;
        if chunk.len() == CHUNK {
            writer.apply(&chunk).await.expect("apply");
            chunk.clear();
        }
    }
    writer.apply(&chunk).await.expect("apply");
    writer.finish().await.expect("flush");
    started.elapsed()
}

/// Test items in the results file (each item and the result carry a `verdict`).
fn count_items(ndjson: &Path) -> usize {
    let file = std::io::BufReader::new(std::fs::File::open(ndjson).expect("ndjson"));
    file.lines()
        .map(|line| line.map_or(0, |l| l.matches("\"verdict\"").count().saturating_sub(1)))
        .sum()
}

/// DataFusion and DuckDB on each trend view, `runs` times each.
async fn views(lake: &Path, size: &str, runs: usize) {
    let analytics = Analytics::open(lake, QueryLimits::default())
        .await
        .expect("analytics");
    for (view, _) in &VIEWS[..TREND_VIEWS] {
        let sql = format!("SELECT * FROM {view}");
        let mut times = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            match analytics.query(&sql).await {
                Ok(_) => times.push(ms(started.elapsed())),
                // An analyst's limits (time, memory) apply: a refusal is a finding, not a crash.
                Err(error) => println!("{view}: {error}"),
            }
        }
        if !times.is_empty() {
            figure(&format!("views.{size}.{view}.datafusion"), "ms", &times);
        }
        if let Some(duck) = duckdb_view_times(lake, view, runs) {
            figure(&format!("views.{size}.{view}.duckdb"), "ms", &duck);
        }
    }
}

/// `spotcheck report` for the quarter most results fall in, and `spotcheck trace-export` of the
/// batch with most shipments (CSV and XLSX), each `runs` times, as a user runs them.
fn pages(data: &Path, generated: &Path, size: &str, runs: usize) {
    let quarter = busiest(generated.join(spotcheck_datagen::RESULTS_FILE), |line| {
        let result: spotcheck_schemas::SamplingResult = serde_json::from_str(line).ok()?;
        let date = result.sampling.date;
        use chrono::Datelike;
        Some(format!("{}Q{}", date.year(), date.month0() / 3 + 1))
    });
    let batch = busiest(generated.join(spotcheck_datagen::SHIPMENTS_FILE), |line| {
        let shipment: spotcheck_schemas::Shipment = serde_json::from_str(line).ok()?;
        Some(shipment.batch_key().to_string())
    });
    let out = data.join("report");
    let report = ["report", "--quarter", &quarter, "--out", &path(&out)];
    let seconds = time_command(data, &report, runs);
    figure(&format!("pages.report.{size}"), "s", &seconds);
    for format in ["csv", "xlsx"] {
        let file = data.join(format!("trace.{format}"));
        let export = [
            "trace-export",
            "--batch",
            &batch,
            "--format",
            format,
            "--out",
            &path(&file),
        ];
        let seconds = time_command(data, &export, runs);
        figure(
            &format!("pages.trace_export_{format}.{size}"),
            "s",
            &seconds,
        );
    }
    println!("report of {quarter}; trace export of {batch}");
}

/// The most frequent value `key` gives the lines of `file`.
fn busiest(file: PathBuf, key: impl Fn(&str) -> Option<String>) -> String {
    let mut counts = std::collections::HashMap::<String, usize>::new();
    let lines = std::io::BufReader::new(std::fs::File::open(file).expect("ndjson")).lines();
    for line in lines.map_while(Result::ok) {
        if let Some(k) = key(&line) {
            *counts.entry(k).or_default() += 1;
        }
    }
    let (value, n) = counts
        .into_iter()
        .max_by_key(|(k, n)| (*n, std::cmp::Reverse(k.clone())))
        .expect("a non-empty file");
    println!("busiest: {value} ({n} lines)");
    value
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Seconds each of `runs` runs of `spotcheck <args> --data-dir data` took.
fn time_command(data: &Path, args: &[&str], runs: usize) -> Vec<f64> {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            let output = Command::new(common::BIN)
                .args(args)
                .arg("--data-dir")
                .arg(data)
                .output()
                .expect("spotcheck");
            assert!(
                output.status.success(),
                "spotcheck {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            started.elapsed().as_secs_f64()
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs a Python script with DuckDB; its last output line holds a JSON list of numbers.
fn duckdb(script: &str) -> Option<Vec<f64>> {
    let output = Command::new("python3").args(["-c", script]).output().ok()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!("duckdb: {}", stderr.lines().last().unwrap_or(""));
        return None;
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last()?).ok()
}

/// DuckDB's times (ms) for the same view over the same files (views created from the same .sql
/// files), or `None` when DuckDB is not installed. Like DataFusion's `collect()`, which holds the
/// whole answer as Arrow batches, DuckDB materialises the whole answer in its own memory (a
/// temporary table); fetching it into Python rows instead took most of DuckDB's time on the
/// largest answers (129 s of 10M `results_by_quarter`). And like spotcheck's session, which keeps
/// parsed footers, DuckDB runs with its Parquet metadata cache on (off by default).
fn duckdb_view_times(lake: &Path, view: &str, runs: usize) -> Option<Vec<f64>> {
    let views: String = VIEWS[..TREND_VIEWS]
        .iter()
        .map(|(name, sql)| {
            format!(
                "con.execute({:?})\n",
                format!("CREATE VIEW {name} AS {sql}")
            )
        })
        .collect();
    duckdb(&format!(
        r#"
import duckdb, deltalake, time, json
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("SET parquet_metadata_cache = true")
con.execute(f"CREATE VIEW results AS SELECT * FROM read_parquet({{deltalake.DeltaTable('{lake}/results').file_uris()!r}})")
con.execute(f"CREATE VIEW result_items AS SELECT * FROM read_parquet({{deltalake.DeltaTable('{lake}/result_items').file_uris()!r}})")
{views}
times = []
for _ in range({runs}):
    started = time.perf_counter()
    con.execute("CREATE OR REPLACE TEMP TABLE answer AS SELECT * FROM {view}")
    times.append((time.perf_counter() - started) * 1000)
    con.execute("DROP TABLE answer")
print(json.dumps(times))
"#,
        lake = lake.display()
    ))
}

/// DuckDB's times (s) for converting the results NDJSON to Parquet (zstd) as the lake holds it:
/// the results, and their test items one row each.
fn duckdb_convert(ndjson: &Path, out: &Path, runs: usize) -> Option<Vec<f64>> {
    std::fs::create_dir_all(out).ok()?;
    duckdb(&format!(
        r#"
import duckdb, time, json
times = []
for _ in range({runs}):
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    con.execute("CREATE TEMP TABLE r AS SELECT * FROM read_json('{ndjson}', format = 'newline_delimited')")
    con.execute("COPY (SELECT * EXCLUDE (items) FROM r) TO '{out}/results.parquet' (FORMAT parquet, COMPRESSION zstd)")
    con.execute("COPY (SELECT report_no, unnest(items, recursive := true) FROM r) TO '{out}/result_items.parquet' (FORMAT parquet, COMPRESSION zstd)")
    times.append(time.perf_counter() - started)
    con.close()
print(json.dumps(times))
"#,
        ndjson = ndjson.display(),
        out = out.display()
    ))
}

//! Lake benchmark: the lake writer's rows/s on generated results (default 1,000,000), then each
//! trend view over that lake, DataFusion (what `spotcheck sql`, `/v1/sql` and the Postgres
//! protocol run) side by side with DuckDB on the same files. Prints figures; asserts nothing.
//!
//!     cargo bench --bench lake
//!     BENCH_RESULTS=200000 cargo bench --bench lake
//!
//! DuckDB is driven through Python (`pip install duckdb`; rows fetched with `fetchall()`, which
//! adds Python object costs on the wide views); without it the comparison is skipped.
//! The writer is called directly with the records as Kafka would deliver them (12 partitions), so
//! the figure is the writer's own cost: decoding, Arrow, Parquet (zstd), manifests, renames.

use spotcheck_analytics::{Analytics, QueryLimits, VIEWS};

/// The trend views over results (the first of `VIEWS`; the rest read the other tables).
const TREND_VIEWS: usize = 7;
use spotcheck_lake::{LakeSettings, LakeWriter};
use spotcheck_runtime::{Delivered, Stage};
use std::process::Command;
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 12;
const RUNS: usize = 3;

fn main() {
    let results: usize = std::env::var("BENCH_RESULTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("gen");
    let started = Instant::now();
    spotcheck_datagen::generate(
        &spotcheck_datagen::Plan {
            results,
            shipments: 0,
            seed: 5,
            labs: vec!["lab-a".into(), "lab-b".into(), "lab-c".into()],
        },
        &data,
    )
    .expect("generate");
    let text = std::fs::read_to_string(data.join("results.ndjson")).expect("results");
    let mut offsets = [0i64; PARTITIONS as usize];
    let delivered: Vec<Delivered> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let partition = (i % PARTITIONS as usize) as i32;
            let offset = offsets[partition as usize];
            offsets[partition as usize] += 1;
            Delivered {
                topic: spotcheck_schemas::topics::RESULTS.into(),
                partition,
                offset,
                key: None,
                payload: line.as_bytes().to_vec(),
                headers: vec![],
            }
        })
        .collect();
    println!(
        "generated {results} results in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let lake = dir.path().join("lake");
    runtime.block_on(async {
        let mut writer = LakeWriter::new(LakeSettings::new(lake.clone()));
        let started = Instant::now();
        for batch in delivered.chunks(5000) {
            writer.apply(batch).await.expect("apply");
        }
        writer.finish().await.expect("flush");
        let elapsed = started.elapsed();
        let items: usize = text.lines().map(|l| l.matches("\"verdict\"").count() - 1).sum();
        println!(
            "lake writer: {results} results ({items} items) in {:.2} s = {:.0} results/s ({:.0} rows/s incl. items)",
            elapsed.as_secs_f64(),
            results as f64 / elapsed.as_secs_f64(),
            (results + items) as f64 / elapsed.as_secs_f64()
        );
        let analytics = Analytics::open(&lake, QueryLimits::default())
            .await
            .expect("analytics");
        println!("\n{:<36} {:>12} {:>12} {:>8}", "view", "DataFusion", "DuckDB", "ratio");
        for (view, _) in &VIEWS[..TREND_VIEWS] {
            let sql = format!("SELECT * FROM {view}");
            let mut times = Vec::new();
            for _ in 0..RUNS {
                let started = Instant::now();
                analytics.query(&sql).await.expect("query");
                times.push(started.elapsed());
            }
            let datafusion = median(times);
            match duckdb_time(&lake, view) {
                Some(duck) => println!(
                    "{view:<36} {:>10.1}ms {:>10.1}ms {:>7.2}x",
                    ms(datafusion),
                    ms(duck),
                    datafusion.as_secs_f64() / duck.as_secs_f64()
                ),
                None => println!("{view:<36} {:>10.1}ms {:>12}", ms(datafusion), "n/a"),
            }
        }
    });
    let files = count_files(&lake.join("results"));
    println!(
        "\nmachine: {} cores; the results table is {files} files (one per source partition and Hive directory: compaction merges a partition's files within a directory, not across partitions)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
}

fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                let path = e.path();
                if path.is_dir() { count_files(&path) } else { 1 }
            })
            .sum()
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// DuckDB's median time for the same view over the same files (views created from the same .sql
/// files), or `None` when DuckDB is not installed.
fn duckdb_time(lake: &std::path::Path, view: &str) -> Option<Duration> {
    let views: String = VIEWS[..TREND_VIEWS]
        .iter()
        .map(|(name, sql)| {
            format!(
                "con.execute({:?})\n",
                format!("CREATE VIEW {name} AS {sql}")
            )
        })
        .collect();
    let script = format!(
        r#"
import duckdb, time, statistics
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("CREATE VIEW results AS SELECT * FROM read_parquet('{lake}/results/*/*/*.parquet', hive_partitioning = true)")
con.execute("CREATE VIEW result_items AS SELECT * FROM read_parquet('{lake}/result_items/*/*/*.parquet', hive_partitioning = true)")
{views}
times = []
for _ in range({RUNS}):
    started = time.perf_counter()
    con.execute("SELECT * FROM {view}").fetchall()
    times.append(time.perf_counter() - started)
print(statistics.median(times))
"#,
        lake = lake.display()
    );
    let output = Command::new("python3")
        .args(["-c", &script])
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "duckdb: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    let seconds: f64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs_f64(seconds))
}

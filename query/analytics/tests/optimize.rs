//! Optimize (delta-rs) swaps small files for merged ones while queries run: every query counts
//! each row exactly once; after it the table is one file, and `as_of` and `lake_history` still
//! show the versions before it.

use serde_json::json;
use spotcheck_analytics::{Analytics, AsOf, QueryLimits};
use spotcheck_lake::{
    CommitSignal, LakeLocation, LakeSettings, LakeWriter, MaintainSettings, maintain_once,
    run_maintenance,
};
use spotcheck_runtime::{Delivered, Stage};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const ROUNDS: i64 = 20;
const PER_FLUSH: i64 = 5;

fn result(offset: i64) -> Delivered {
    let result = json!({
        "report_no": format!("R{offset}"), "lab_id": "lab-a", "category": "e_bike",
        "product": {"name": "电动自行车", "model": "M1", "batch": "B1"},
        "producer": {"name": "甲车业"}, "sampled_unit": {"name": "某店", "role": "retailer", "district": "120104"},
        "sampling": {"date": "2026-04-02", "domain": "circulation"},
        "tested_on": "2026-04-10", "verdict": "fail",
        "items": [{"name": "最高车速", "verdict": "fail"}]
    });
    Delivered {
        topic: "spotcheck.results.v1".into(),
        partition: 0,
        offset,
        key: None,
        payload: result.to_string().into_bytes(),
        headers: vec![],
    }
}

async fn count(analytics: &Analytics) -> i64 {
    count_as_of(analytics, "SELECT count(*) AS n FROM results", None).await
}

async fn count_as_of(analytics: &Analytics, sql: &str, as_of: Option<&AsOf>) -> i64 {
    let rows = analytics
        .stream_as_of(sql, as_of)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let column = rows.batches[0].column(0);
    let counts = column
        .as_any()
        .downcast_ref::<spotcheck_analytics::arrow::array::Int64Array>()
        .unwrap();
    counts.value(0)
}

/// Files in the newest version of the `results` table.
async fn files_in_results(dir: &std::path::Path) -> usize {
    results_files(dir).await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_during_optimize_count_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let location = LakeLocation::local(dir.path()).unwrap();
    let mut settings = LakeSettings::new(dir.path());
    settings.max_rows = PER_FLUSH as usize;
    let maintain = MaintainSettings {
        retention: std::time::Duration::from_secs(3600),
        ..MaintainSettings::default()
    };
    let mut writer = LakeWriter::new(settings);
    let analytics = Arc::new(
        Analytics::open(dir.path(), QueryLimits::default())
            .await
            .unwrap(),
    );
    let mut written = 0;
    for round in 0..ROUNDS {
        // A reader queries without pause while this round commits a file and optimizes.
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (analytics, stop) = (analytics.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    seen.push(count(&analytics).await);
                }
                seen
            })
        };
        let batch: Vec<Delivered> = (0..PER_FLUSH)
            .map(|i| result(round * PER_FLUSH + i))
            .collect();
        writer.apply(&batch).await.unwrap();
        writer.idle().await.unwrap();
        if round % 5 == 4 {
            maintain_once(&location, maintain, round == ROUNDS - 1)
                .await
                .unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        let seen = reader.await.unwrap();
        for n in &seen {
            assert!(
                *n == written || *n == written + PER_FLUSH,
                "round {round}: a query counted {n} rows while the lake held {written} or {}",
                written + PER_FLUSH
            );
        }
        written += PER_FLUSH;
        assert_eq!(count(&analytics).await, written);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // After the last optimize (a Z-order): one file, not one per commit.
    assert_eq!(files_in_results(dir.path()).await, 1);
    // The lake as it stood after the first commit, and its history.
    let first = count_as_of(
        &analytics,
        "SELECT count(*) AS n FROM results",
        Some(&AsOf::Version(1)),
    )
    .await;
    assert_eq!(first, PER_FLUSH);
    let optimizes = count_as_of(
        &analytics,
        "SELECT count(*) AS n FROM lake_history WHERE table_name = 'results' AND operation = 'OPTIMIZE'",
        None,
    )
    .await;
    assert_eq!(optimizes, ROUNDS / 5);
}

/// Each file of the newest version of `results`, with its size.
async fn results_files(dir: &std::path::Path) -> Vec<(String, u64)> {
    let location = LakeLocation::local(dir).unwrap();
    let table = spotcheck_lake::delta::open_or_create(&location, "results")
        .await
        .unwrap();
    let mut files: Vec<(String, u64)> = table
        .get_file_uris()
        .unwrap()
        .map(|uri| {
            let path = uri.strip_prefix("file://").unwrap_or(&uri).to_owned();
            let size = std::fs::metadata(&path).unwrap().len();
            (path, size)
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn the_frequent_rounds_merge_the_new_small_files_and_leave_the_large_one_alone() {
    let dir = tempfile::tempdir().unwrap();
    let location = LakeLocation::local(dir.path()).unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let mut offset = 0;
    let mut flush = |rows: i64| {
        let batch: Vec<Delivered> = (offset..offset + rows).map(result).collect();
        offset += rows;
        batch
    };
    // A large file: many rows (a flush of a few rows is ~10 KB of Parquet, 20,000 rows ~60 KB),
    // merged by the hourly round.
    for _ in 0..4 {
        writer.apply(&flush(5_000)).await.unwrap();
        writer.idle().await.unwrap();
    }
    maintain_once(&location, MaintainSettings::default(), true)
        .await
        .unwrap();
    let large = results_files(dir.path()).await;
    assert_eq!(large.len(), 1, "{large:?}");
    // Then the writer's small flushes, and a frequent round whose small-file size lies between.
    for _ in 0..3 {
        writer.apply(&flush(5)).await.unwrap();
        writer.idle().await.unwrap();
    }
    let before = results_files(dir.path()).await;
    let small_size = before
        .iter()
        .map(|(_, size)| *size)
        .filter(|s| *s < large[0].1);
    let largest_small = small_size.max().unwrap();
    assert_eq!(before.len(), 4, "{before:?}");
    let tiered = MaintainSettings {
        small_file_bytes: (largest_small * 3).min(large[0].1 - 1),
        ..MaintainSettings::default()
    };
    assert!(
        tiered.small_file_bytes > largest_small * 2,
        "the sizes: {before:?}"
    );
    let rounds = maintain_once(&location, tiered, false).await.unwrap();
    let after = results_files(dir.path()).await;
    assert_eq!(
        after.len(),
        2,
        "the three small files merged into one: {after:?}"
    );
    assert!(
        after.contains(&large[0]),
        "the large file was rewritten by a frequent round: {large:?} → {after:?}"
    );
    let results = rounds.iter().find(|r| r.table == "results").unwrap();
    assert_eq!(results.files_removed, 3);
    // Every row is still there once.
    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    assert_eq!(count(&analytics).await, offset);
}

/// In `spotcheck up` the writer signals its commits and the SQL session reads them at once: the
/// next query finds the log already read instead of reading it first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_the_writer_signals_is_read_before_the_next_query_asks() {
    let dir = tempfile::tempdir().unwrap();
    let commits = CommitSignal::default();
    let mut writer =
        LakeWriter::new(LakeSettings::new(dir.path())).with_commit_signal(commits.clone());
    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    let mut caught_up = analytics.follow(commits.subscribe());
    let before = analytics.table_version("results").await;
    for round in 1..=2 {
        writer.apply(&[result(round)]).await.unwrap();
        writer.idle().await.unwrap();
        caught_up.wait_for(|n| *n >= round as u64).await.unwrap();
        let now = analytics.table_version("results").await;
        assert_eq!(
            now,
            before.map(|v| v + round as u64),
            "after commit {round}, before any query"
        );
        assert_eq!(count(&analytics).await, round);
    }
}

/// Between two minute rounds the writer's newest files are merged after every few commits, so a
/// query reads a few files rather than one per flush; the rows stay, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_few_commits_the_newest_small_files_are_merged() {
    let dir = tempfile::tempdir().unwrap();
    let location = LakeLocation::local(dir.path()).unwrap();
    let commits = CommitSignal::default();
    let mut writer =
        LakeWriter::new(LakeSettings::new(dir.path())).with_commit_signal(commits.clone());
    let settings = MaintainSettings {
        // No timed round during the test: only the writer's commits can start one.
        every: std::time::Duration::from_secs(3600),
        quick_after_commits: 3,
        ..MaintainSettings::default()
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let maintenance = tokio::spawn(run_maintenance(
        location,
        settings,
        Some(commits.subscribe()),
        shutdown.clone(),
    ));
    for offset in 0..3 {
        writer.apply(&[result(offset)]).await.unwrap();
        writer.idle().await.unwrap();
    }
    let started = std::time::Instant::now();
    let mut files = files_in_results(dir.path()).await;
    while files != 1 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "three commits, still {files} files"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        files = files_in_results(dir.path()).await;
    }
    shutdown.cancel();
    maintenance.await.unwrap();
    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    assert_eq!(count(&analytics).await, 3);
}

/// A results table made by the release before `follow_up` existed: its schema without the
/// column, and one row written in it.
async fn results_table_of_the_previous_release(location: &LakeLocation) {
    use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
    use spotcheck_analytics::arrow::datatypes::Schema;
    let schema = spotcheck_lake::tables::results_schema();
    let old_fields: Vec<_> = schema
        .fields()
        .iter()
        .filter(|f| f.name() != "follow_up")
        .cloned()
        .collect();
    let old_schema = Arc::new(Schema::new(old_fields));
    let structure: deltalake::kernel::StructType = old_schema.as_ref().try_into_kernel().unwrap();
    let mut table = deltalake::operations::create::CreateBuilder::new()
        .with_location(location.table_url("results").unwrap().as_str())
        .with_table_name("results")
        .with_columns(structure.fields().cloned())
        .await
        .unwrap();
    let value = serde_json::from_slice(&result(0).payload).unwrap();
    let mut old = spotcheck_schemas::SamplingResult::parse(&value, chrono_today()).unwrap();
    old.report_no = "OLD-1".into();
    let row = spotcheck_lake::tables::Row {
        result: old,
        source: spotcheck_lake::tables::Source {
            topic: "spotcheck.results.v1".into(),
            partition: 9,
            offset: 0,
        },
        record_id: "old".into(),
    };
    let batch = spotcheck_lake::tables::results_batch(&[&row]).unwrap();
    let columns: Vec<usize> = (0..old_schema.fields().len()).collect();
    let batch = batch.project(&columns).unwrap();
    spotcheck_lake::delta::append(&mut table, "results", vec![batch], &Default::default())
        .await
        .unwrap();
}

fn chrono_today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_of_the_previous_release_gains_the_follow_up_column_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let location = LakeLocation::local(dir.path()).unwrap();
    results_table_of_the_previous_release(&location).await;

    // This release's writer adds the column and writes a follow-up check in it.
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let mut follow_up = result(0);
    let mut value: serde_json::Value = serde_json::from_slice(&follow_up.payload).unwrap();
    value["follow_up"] = json!(true);
    follow_up.payload = value.to_string().into_bytes();
    writer.apply(&[follow_up]).await.unwrap();
    writer.idle().await.unwrap();

    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    let rows = analytics
        .query("SELECT report_no, follow_up FROM results ORDER BY report_no")
        .await
        .unwrap();
    let batch =
        spotcheck_analytics::arrow::compute::concat_batches(&rows.schema, &rows.batches).unwrap();
    let shown = spotcheck_analytics::arrow::util::pretty::pretty_format_batches(&[batch])
        .unwrap()
        .to_string();
    assert!(shown.contains("| OLD-1     |           |"), "{shown}");
    assert!(shown.contains("| R0        | true      |"), "{shown}");
    assert_eq!(count(&analytics).await, 2);

    // Merging the old file with the new one keeps both rows and their values.
    maintain_once(&location, MaintainSettings::default(), true)
        .await
        .unwrap();
    assert_eq!(files_in_results(dir.path()).await, 1);
    assert_eq!(
        count_as_of(
            &analytics,
            "SELECT count(*) AS n FROM results WHERE follow_up",
            None
        )
        .await,
        1
    );
    assert_eq!(count(&analytics).await, 2);
}

//! Compaction swaps small files for merged ones while queries run: every query counts each row
//! exactly once, and the lake ends with one file per source partition and directory.

use serde_json::json;
use spotcheck_analytics::{Analytics, QueryLimits};
use spotcheck_lake::compact::CompactionSettings;
use spotcheck_lake::{LakeSettings, LakeWriter};
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
    let rows = analytics
        .query("SELECT count(*) AS n FROM results")
        .await
        .unwrap();
    let column = rows.batches[0].column(0);
    let counts = column
        .as_any()
        .downcast_ref::<spotcheck_analytics::arrow::array::Int64Array>()
        .unwrap();
    counts.value(0)
}

fn parquet_files(dir: &std::path::Path) -> usize {
    let mut stack = vec![dir.to_owned()];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                files += 1;
            }
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_during_compaction_count_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = LakeSettings::new(dir.path().to_owned());
    settings.max_rows = PER_FLUSH as usize;
    settings.compaction = Some(CompactionSettings {
        min_files: 2,
        retire_after: std::time::Duration::from_millis(300),
    });
    let mut writer = LakeWriter::new(settings);
    let analytics = Arc::new(
        Analytics::open(dir.path(), QueryLimits::default())
            .await
            .unwrap(),
    );
    let mut written = 0;
    for round in 0..ROUNDS {
        // A reader queries without pause while this round flushes a file and compacts.
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
    // One merged file per table directory (results, result_items), not one per flush; the
    // replaced files are deleted once their grace period is over (at a later flush).
    let named: usize = spotcheck_lake::manifest::load_all(dir.path())
        .unwrap()
        .iter()
        .map(|m| m.files.len())
        .sum();
    assert_eq!(named, 2);
    assert!(parquet_files(dir.path()) < 2 * ROUNDS as usize);
}

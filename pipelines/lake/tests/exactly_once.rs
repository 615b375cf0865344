//! The lake writer without Kafka: redelivered records are not written twice, and a file a crash
//! left unrecorded is removed before its rows are written again.

use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::json;
use spotcheck_lake::{LakeSettings, LakeWriter};
use spotcheck_runtime::{Commit, Delivered, Stage};
use std::path::Path;

const TOPIC: &str = "spotcheck.results.v1";

fn record(offset: i64, report_no: &str) -> Delivered {
    let result = json!({
        "report_no": report_no, "lab_id": "tj-lab-01", "category": "e_bike",
        "product": {"name": "电动自行车", "model": "TDT-1", "batch": "B1"},
        "producer": {"name": "某车业"}, "sampled_unit": {"name": "某车行", "role": "retailer"},
        "sampling": {"date": "2026-04-02", "domain": "circulation"},
        "tested_on": "2026-04-03", "verdict": "pass",
        "items": [{"name": "最高车速", "verdict": "pass"}, {"name": "整车质量", "verdict": "pass"}]
    });
    Delivered {
        topic: TOPIC.into(),
        partition: 0,
        offset,
        key: Some("k".into()),
        payload: result.to_string().into_bytes(),
        headers: vec![("ce_id".into(), Some(report_no.as_bytes().to_vec()))],
    }
}

/// Rows in every Parquet file under `dir`.
fn rows_under(dir: &Path) -> i64 {
    let mut rows = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                let reader =
                    SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
                rows += reader.metadata().file_metadata().num_rows();
            }
        }
    }
    rows
}

fn writer(root: &Path) -> LakeWriter {
    LakeWriter::new(LakeSettings::new(root.to_owned()))
}

#[tokio::test]
async fn a_redelivered_batch_is_not_written_twice_and_its_offsets_are_committed() {
    let dir = tempfile::tempdir().unwrap();
    let batch: Vec<Delivered> = (0..3).map(|i| record(i, &format!("R{i}"))).collect();
    let mut first = writer(dir.path());
    first.apply(&batch).await.unwrap();
    let flushed = first.idle().await.unwrap();
    assert_eq!(
        flushed.commit,
        Commit::Positions(vec![(TOPIC.into(), 0, 3)])
    );
    assert_eq!(rows_under(&dir.path().join("results")), 3);
    assert_eq!(rows_under(&dir.path().join("result_items")), 6);

    // A new writer (a restart) is handed the same records again, then a new one.
    let mut second = writer(dir.path());
    let mut again = batch.clone();
    again.push(record(3, "R3"));
    second.apply(&again).await.unwrap();
    second.idle().await.unwrap();
    assert_eq!(rows_under(&dir.path().join("results")), 4);
}

#[tokio::test]
async fn a_file_no_manifest_names_is_removed_before_the_rows_are_written_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = writer(dir.path());
    first.apply(&[record(0, "R0")]).await.unwrap();
    first.idle().await.unwrap();
    // A crash after a file's rename but before its manifest: a stray file of the same partition.
    let month = dir.path().join("results/category=e_bike/month=2026-04");
    let existing = std::fs::read_dir(&month)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(&existing, month.join(format!("{TOPIC}+0+1-1.parquet"))).unwrap();
    assert_eq!(rows_under(&dir.path().join("results")), 2);

    let mut second = writer(dir.path());
    second.apply(&[record(1, "R1")]).await.unwrap();
    second.idle().await.unwrap();
    assert_eq!(
        rows_under(&dir.path().join("results")),
        2,
        "the stray file is gone, R1 written once"
    );
}

#[tokio::test]
async fn something_that_is_not_a_result_is_a_dead_letter_and_the_rest_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut garbage = record(1, "X");
    garbage.payload = b"{not json".to_vec();
    let mut lake = writer(dir.path());
    let applied = lake
        .apply(&[record(0, "R0"), garbage, record(2, "R2")])
        .await
        .unwrap();
    assert_eq!(applied.dead_letters.len(), 1);
    assert_eq!(applied.dead_letters[0].0, 1);
    let flushed = lake.idle().await.unwrap();
    assert_eq!(
        flushed.commit,
        Commit::Positions(vec![(TOPIC.into(), 0, 3)])
    );
    assert_eq!(rows_under(&dir.path().join("results")), 2);
}

#[tokio::test]
async fn a_flush_that_fails_keeps_its_rows_and_a_retried_batch_is_buffered_once() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the table directory should be makes every write fail.
    let blocker = dir.path().join("results");
    std::fs::write(&blocker, b"in the way").unwrap();
    let batch = [record(0, "R0"), record(1, "R1")];
    let mut lake = writer(dir.path());
    lake.apply(&batch).await.unwrap();
    assert!(
        lake.idle().await.is_err(),
        "the flush fails while the directory is blocked"
    );
    lake.apply(&batch).await.unwrap(); // the driver retries the same batch
    std::fs::remove_file(&blocker).unwrap();
    let flushed = lake.idle().await.unwrap();
    assert_eq!(
        flushed.commit,
        Commit::Positions(vec![(TOPIC.into(), 0, 2)])
    );
    assert_eq!(rows_under(&dir.path().join("results")), 2);
}

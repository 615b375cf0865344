//! The lake writer without Kafka: redelivered records are not written twice, a file no Delta
//! commit names is never counted, a failed commit keeps its rows, and a writer that lost a
//! partition to another cannot commit it.

use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::json;
use spotcheck_lake::{LakeSettings, LakeWriter};
use spotcheck_runtime::{Commit, Delivered, Stage, StageError};
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

/// Rows of a table as its Delta log has them (files no commit names are not counted).
async fn rows_of(root: &Path, table: &str) -> i64 {
    let location = spotcheck_lake::LakeLocation::local(root).unwrap();
    let table = spotcheck_lake::delta::open_or_create(&location, table)
        .await
        .unwrap();
    let mut rows = 0;
    for uri in table.get_file_uris().unwrap() {
        let path = url::Url::parse(&uri)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .unwrap_or_else(|| uri.clone().into());
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        rows += reader.metadata().file_metadata().num_rows();
    }
    rows
}

fn writer(root: &Path) -> LakeWriter {
    LakeWriter::new(LakeSettings::new(root))
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
    assert_eq!(rows_of(dir.path(), "results").await, 3);
    assert_eq!(rows_of(dir.path(), "result_items").await, 6);

    // A new writer (a restart) resumes after what the tables hold, and skips it if Kafka
    // delivers it again anyway.
    let mut second = writer(dir.path());
    second
        .partitions_assigned(&[(TOPIC.into(), 0)])
        .await
        .unwrap();
    assert_eq!(second.resume_at(TOPIC, 0), Some(3));
    let mut again = batch.clone();
    again.push(record(3, "R3"));
    second.apply(&again).await.unwrap();
    second.idle().await.unwrap();
    assert_eq!(rows_of(dir.path(), "results").await, 4);
    assert_eq!(rows_of(dir.path(), "result_items").await, 8);
}

#[tokio::test]
async fn a_new_lake_is_written_from_the_start_of_the_topics() {
    let dir = tempfile::tempdir().unwrap();
    let mut lake = writer(dir.path());
    lake.partitions_assigned(&[(TOPIC.into(), 0), ("spotcheck.units.v1".into(), 2)])
        .await
        .unwrap();
    assert_eq!(lake.resume_at(TOPIC, 0), Some(0));
    assert_eq!(lake.resume_at("spotcheck.units.v1", 2), Some(0));
    assert_eq!(
        lake.resume_at(TOPIC, 7),
        None,
        "not this writer's partition"
    );
}

#[tokio::test]
async fn a_file_no_commit_names_is_never_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = writer(dir.path());
    first.apply(&[record(0, "R0")]).await.unwrap();
    first.idle().await.unwrap();
    // A writer killed after writing a file but before its commit: the file is in the table's
    // directory, named by no commit.
    let table = dir.path().join("results");
    let existing = std::fs::read_dir(&table)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    std::fs::copy(&existing, table.join("part-orphan.parquet")).unwrap();

    let mut second = writer(dir.path());
    second.apply(&[record(1, "R1")]).await.unwrap();
    second.idle().await.unwrap();
    assert_eq!(
        rows_of(dir.path(), "results").await,
        2,
        "R0 and R1, once each"
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
    assert_eq!(rows_of(dir.path(), "results").await, 2);
}

/// A record that is not a CloudEvent, last on its partition, never reaches `apply`: the driver
/// sends it to the dead-letter topic and says the writer passed it. The tables' offsets then
/// pass it, so a restart does not read it (and dead-letter it) again.
#[tokio::test]
async fn a_record_the_driver_passed_moves_the_tables_offsets_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut stray = record(1, "X");
    stray.headers.clear();
    let mut lake = writer(dir.path());
    lake.apply(&[record(0, "R0")]).await.unwrap();
    lake.passed(&[stray.clone()]).await.unwrap();
    let flushed = lake.idle().await.unwrap();
    assert_eq!(
        flushed.commit,
        Commit::Positions(vec![(TOPIC.into(), 0, 2)])
    );

    // Alone in its batch, after a restart: an offsets-only commit.
    let mut second = writer(dir.path());
    second
        .partitions_assigned(&[(TOPIC.into(), 0)])
        .await
        .unwrap();
    assert_eq!(second.resume_at(TOPIC, 0), Some(2));
    stray.offset = 2;
    second.passed(&[stray]).await.unwrap();
    second.idle().await.unwrap();
    assert_eq!(writer_resumes_at(dir.path()).await, Some(3));
    assert_eq!(rows_of(dir.path(), "results").await, 1);
}

/// Where a new writer of the lake at `root` resumes partition 0 of the results topic.
async fn writer_resumes_at(root: &Path) -> Option<i64> {
    let mut lake = writer(root);
    lake.partitions_assigned(&[(TOPIC.into(), 0)])
        .await
        .unwrap();
    lake.resume_at(TOPIC, 0)
}

#[tokio::test]
async fn a_commit_that_fails_keeps_its_rows_and_a_retried_batch_is_buffered_once() {
    let dir = tempfile::tempdir().unwrap();
    let batch = [record(0, "R0"), record(1, "R1")];
    let mut lake = writer(dir.path());
    lake.apply(&batch).await.unwrap();
    // The log cannot be written: a file where the log directory of `results` should be.
    let log = dir.path().join("results/_delta_log");
    let away = dir.path().join("results/_delta_log.away");
    std::fs::rename(&log, &away).unwrap();
    std::fs::write(&log, b"in the way").unwrap();
    assert!(
        lake.idle().await.is_err(),
        "the commit fails while the log is blocked"
    );
    lake.apply(&batch).await.unwrap(); // the driver retries the same batch
    std::fs::remove_file(&log).unwrap();
    std::fs::rename(&away, &log).unwrap();
    let flushed = lake.idle().await.unwrap();
    assert_eq!(
        flushed.commit,
        Commit::Positions(vec![(TOPIC.into(), 0, 2)])
    );
    assert_eq!(rows_of(dir.path(), "results").await, 2);
}

#[tokio::test]
async fn a_batch_retried_after_a_partition_could_not_be_read_loses_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut lake = writer(dir.path());
    lake.apply(&[record(0, "R0")]).await.unwrap();
    // A batch that goes on in partition 0 and opens partition 1, whose table state cannot be
    // read while the log is blocked.
    let mut opening = record(0, "P1-R0");
    opening.partition = 1;
    let batch = [record(1, "R1"), opening];
    let log = dir.path().join("results/_delta_log");
    let away = dir.path().join("results/_delta_log.away");
    std::fs::rename(&log, &away).unwrap();
    std::fs::write(&log, b"in the way").unwrap();
    assert!(
        lake.apply(&batch).await.is_err(),
        "partition 1's offsets cannot be read while the log is blocked"
    );
    std::fs::remove_file(&log).unwrap();
    std::fs::rename(&away, &log).unwrap();
    lake.apply(&batch).await.unwrap(); // the driver retries the same batch
    lake.idle().await.unwrap();
    assert_eq!(rows_of(dir.path(), "results").await, 3);
}

#[tokio::test]
async fn a_writer_that_lost_its_partition_cannot_commit_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut old = writer(dir.path());
    old.apply(&[record(0, "R0")]).await.unwrap();
    old.idle().await.unwrap();
    // The partition moves to another writer, which writes on; the old one never heard.
    let mut new = writer(dir.path());
    new.partitions_assigned(&[(TOPIC.into(), 0)]).await.unwrap();
    new.apply(&[record(1, "R1")]).await.unwrap();
    new.idle().await.unwrap();

    old.apply(&[record(1, "R1"), record(2, "R2")])
        .await
        .unwrap();
    let refused = old.idle().await;
    assert!(
        matches!(&refused, Err(StageError::Fatal(m)) if m.contains("another lake writer")),
        "{:?}",
        refused.err()
    );
    assert_eq!(
        rows_of(dir.path(), "results").await,
        2,
        "R1 is not written twice"
    );
}

/// A batch large enough to be decoded on several threads: every result lands in its own row,
/// with its own source partition and offset, and the dead letters name the records that failed.
#[tokio::test]
async fn a_large_batch_decoded_in_parallel_keeps_each_result_with_its_record() {
    use arrow::array::AsArray;
    let dir = tempfile::tempdir().unwrap();
    let mut batch = Vec::new();
    for offset in 0..300 {
        for partition in 0..4 {
            let mut delivered = record(offset, &format!("R{partition}-{offset}"));
            delivered.partition = partition;
            if (partition, offset) == (1, 7) || (partition, offset) == (3, 299) {
                delivered.payload = b"{\"report_no\": 12}".to_vec();
            }
            batch.push(delivered);
        }
    }
    let mut lake = writer(dir.path());
    let applied = lake.apply(&batch).await.unwrap();
    let failed: Vec<usize> = applied.dead_letters.iter().map(|(i, _)| *i).collect();
    assert_eq!(failed, vec![7 * 4 + 1, 299 * 4 + 3]);
    lake.idle().await.unwrap();

    let location = spotcheck_lake::LakeLocation::local(dir.path()).unwrap();
    let table = spotcheck_lake::delta::open_or_create(&location, "results")
        .await
        .unwrap();
    let mut rows = Vec::new();
    for uri in table.get_file_uris().unwrap() {
        let path = url::Url::parse(&uri)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .unwrap_or_else(|| uri.clone().into());
        let file = std::fs::File::open(path).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 1024).unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let column = |name: &str| batch.column_by_name(name).unwrap().clone();
            let report_no = column("report_no");
            let report_no = report_no.as_string::<i32>();
            let partition = column("source_partition");
            let partition = partition.as_primitive::<arrow::datatypes::Int32Type>();
            let offset = column("source_offset");
            let offset = offset.as_primitive::<arrow::datatypes::Int64Type>();
            for i in 0..batch.num_rows() {
                rows.push((
                    report_no.value(i).to_owned(),
                    format!("R{}-{}", partition.value(i), offset.value(i)),
                ));
            }
        }
    }
    assert_eq!(rows.len(), 1198);
    assert!(rows.iter().all(|(report_no, source)| report_no == source));
}

/// A crash between two tables' commits of one flush: the restarted writer writes the redelivered
/// records only to the table that lacks them.
#[tokio::test]
async fn after_a_crash_between_two_tables_commits_each_table_has_each_result_once() {
    let dir = tempfile::tempdir().unwrap();
    let batch = [record(0, "R0"), record(1, "R1")];
    let mut lake = writer(dir.path());
    lake.apply(&batch).await.unwrap();
    let log = dir.path().join("result_items/_delta_log");
    let away = dir.path().join("result_items/_delta_log.away");
    std::fs::rename(&log, &away).unwrap();
    std::fs::write(&log, b"in the way").unwrap();
    assert!(lake.idle().await.is_err(), "result_items cannot commit");
    drop(lake); // the writer dies before the retry
    std::fs::remove_file(&log).unwrap();
    std::fs::rename(&away, &log).unwrap();
    assert_eq!(rows_of(dir.path(), "results").await, 2);
    assert_eq!(rows_of(dir.path(), "result_items").await, 0);

    let mut restarted = writer(dir.path());
    restarted
        .partitions_assigned(&[(TOPIC.into(), 0)])
        .await
        .unwrap();
    restarted.apply(&batch).await.unwrap(); // Kafka delivers again from the committed offset
    let flushed = restarted.idle().await.unwrap();
    assert_eq!(
        flushed.commit,
        Commit::Positions(vec![(TOPIC.into(), 0, 2)])
    );
    assert_eq!(rows_of(dir.path(), "results").await, 2, "not written twice");
    assert_eq!(
        rows_of(dir.path(), "result_items").await,
        4,
        "two items each"
    );
}

/// Rows buffered for a partition that moves to another writer before the flush are not committed
/// by this one (its commit would not name the partition): the new owner writes them, once.
#[tokio::test]
async fn rows_of_a_partition_moved_away_before_a_flush_are_left_to_its_new_owner() {
    let dir = tempfile::tempdir().unwrap();
    let mut moved = record(0, "P1-0");
    moved.partition = 1;
    let mut lake = writer(dir.path());
    lake.apply(&[record(0, "P0-0"), moved.clone()])
        .await
        .unwrap();
    lake.partitions_revoked(&[(TOPIC.into(), 1)]);
    let flushed = lake.idle().await.unwrap();
    assert_eq!(
        flushed.commit,
        Commit::Positions(vec![(TOPIC.into(), 0, 1)])
    );
    assert_eq!(rows_of(dir.path(), "results").await, 1);
    assert_eq!(rows_of(dir.path(), "result_items").await, 2);

    let mut owner = writer(dir.path());
    owner
        .partitions_assigned(&[(TOPIC.into(), 1)])
        .await
        .unwrap();
    owner.apply(&[moved]).await.unwrap();
    owner.idle().await.unwrap();
    assert_eq!(rows_of(dir.path(), "results").await, 2);
    assert_eq!(rows_of(dir.path(), "result_items").await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_that_create_a_table_at_once_leave_one_creation_in_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let location = spotcheck_lake::LakeLocation::local(dir.path()).unwrap();
    // The writer, the maintenance task and a query session of one process all open the
    // tables when they start: on a fresh lake they race to create them.
    let opening: Vec<_> = (0..8)
        .map(|_| {
            let location = location.clone();
            tokio::spawn(async move {
                spotcheck_lake::delta::open_or_create(&location, "results").await
            })
        })
        .collect();
    for task in opening {
        let table = task.await.unwrap().unwrap();
        assert_eq!(table.version(), Some(0));
    }
    let log = dir.path().join("results").join("_delta_log");
    let mut commits: Vec<String> = std::fs::read_dir(&log)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    commits.sort();
    assert_eq!(commits, ["00000000000000000000.json"]);
}

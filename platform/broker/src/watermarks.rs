//! Each partition's watermark record kept small.
//!
//! Tansu 0.6's SlateDB engine keeps one record per partition (key `w`, topic, partition) with
//! the partition's low and high offsets and a map from every batch's timestamp, in milliseconds,
//! to that batch's first offset. The map only ever grows (Tansu trims it in `DeleteRecords`,
//! which `crate::conflicts` refuses), and every produce reads, decodes, re-encodes and writes
//! the whole record into the write-ahead log, and every fetch reads and decodes it: the cost of
//! both grows with the partition's history, one entry per millisecond in which a batch arrived
//! (with 30,000 batches of history a produce took 2.3 times as long as on a fresh partition:
//! BENCHMARKS.md, "Watermarks kept small").
//!
//! The map answers only a client's "first offset at or after time *t*" (`ListOffsets` by
//! timestamp; spotcheck never asks it, and the earliest offset is answered by
//! `crate::conflicts`). [`keep_small`] merges neighbouring entries once a map holds more than
//! [`LIMIT`]: each merged entry keeps the latest timestamp of its group and the smallest offset,
//! so a lookup by time answers the same offset or an earlier one, never a later one — a consumer
//! seeking by time may read some records before *t* again, and skips none.

use crate::conflicts::{is_slate_conflict, on_conflict};
use crate::group_commit::Writes;
use serde::{Deserialize, Serialize};
use slatedb::{Db, IsolationLevel};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Entries a map keeps after it is merged.
pub const KEEP: usize = 256;
/// Entries a map may hold before it is merged.
pub const LIMIT: usize = 2 * KEEP;

/// Tansu's watermark record (`tansu_storage::slate::types::Watermark`, postcard-encoded): the
/// fields in its order.
#[derive(Debug, Default, Deserialize, Serialize)]
struct Watermark {
    low: Option<i64>,
    high: Option<i64>,
    timestamps: Option<BTreeMap<i64, i64>>,
}

/// The first bytes of every watermark key: postcard's encoding of the key's prefix `'w'`.
pub const KEY_PREFIX: [u8; 2] = [1, b'w'];

/// `timestamps` merged into at most [`KEEP`] entries, each the latest timestamp of a run of
/// neighbours and the smallest offset among them.
fn merged(timestamps: &BTreeMap<i64, i64>) -> BTreeMap<i64, i64> {
    let group = timestamps.len().div_ceil(KEEP).max(1);
    let entries: Vec<(i64, i64)> = timestamps.iter().map(|(&t, &o)| (t, o)).collect();
    entries
        .chunks(group)
        .filter_map(|run| {
            let latest = run.last()?.0;
            let first = run.iter().map(|&(_, offset)| offset).min()?;
            Some((latest, first))
        })
        .collect()
}

/// `bytes` as a watermark record, if they are one exactly: re-encoded, the same bytes. A record
/// of a format this version does not know (a Tansu upgrade adding a field) is not one, so it is
/// never rewritten without what it holds beyond these fields.
fn decode(bytes: &[u8]) -> Option<Watermark> {
    let watermark: Watermark = postcard::from_bytes(bytes).ok()?;
    let again = postcard::to_stdvec(&watermark).ok()?;
    (again == bytes).then_some(watermark)
}

/// What a pass did.
#[derive(Debug, Default, PartialEq, Eq)]
struct Pass {
    /// Records merged.
    merged: usize,
    /// Records not in the format this version knows (left as they are).
    unknown: usize,
}

/// Merges every watermark map holding more than [`LIMIT`] entries. Each is rewritten in its own
/// transaction, run again when it conflicts with a produce ([`on_conflict`], as the produce is),
/// a few times before it is left for the next pass.
async fn merge_large(db: &Db) -> Result<Pass, slatedb::Error> {
    let mut pass = Pass::default();
    let mut large = Vec::new();
    let mut scan = db.scan_prefix(KEY_PREFIX).await?;
    while let Some(entry) = scan.next().await? {
        // Every entry takes two bytes or more: a shorter record cannot be over the limit.
        if entry.value.len() <= 2 * LIMIT {
            continue;
        }
        match decode(&entry.value) {
            Some(watermark)
                if watermark
                    .timestamps
                    .as_ref()
                    .is_some_and(|t| t.len() > LIMIT) =>
            {
                large.push(entry.key);
            }
            Some(_) => {}
            None => pass.unknown += 1,
        }
    }
    for key in large {
        // A partition written without pause rewrites its watermark at every produce: a merge
        // left for the next pass would meet the same, and the map would grow on.
        let merged = on_conflict(|| merge_one(db, &key), is_slate_conflict, || {}).await;
        match merged {
            Ok(merged) => pass.merged += usize::from(merged),
            Err(error) if is_slate_conflict(&error) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(pass)
}

/// Merges one watermark in a transaction of its own; `false` when it is no longer there to merge.
async fn merge_one(db: &Db, key: &[u8]) -> Result<bool, slatedb::Error> {
    let transaction = db.begin(IsolationLevel::SerializableSnapshot).await?;
    let Some(mut watermark) = transaction.get(key).await?.as_deref().and_then(decode) else {
        return Ok(false);
    };
    let Some(timestamps) = watermark.timestamps.as_mut() else {
        return Ok(false);
    };
    *timestamps = merged(timestamps);
    let Ok(encoded) = postcard::to_stdvec(&watermark) else {
        return Ok(false);
    };
    transaction.put(key, encoded)?;
    transaction.commit().await?;
    Ok(true)
}

/// Every thousand writes, merges the watermark maps grown past [`LIMIT`]; returns when the log
/// is closed. Idle while nothing is written. Stops merging (saying so once) when it meets a
/// record it does not know: the broker works on, as it would without this upkeep.
pub async fn keep_small(db: Arc<Db>, writes: Writes) {
    loop {
        writes.thousand_more().await;
        // Counted in flight, so the group commit writes the merge out.
        let _in_flight = writes.begin();
        match merge_large(&db).await {
            Ok(pass) if pass.unknown > 0 => {
                tracing::warn!(
                    records = pass.unknown,
                    "broker watermarks in a format this version does not know: no longer merged"
                );
                return std::future::pending().await;
            }
            Ok(pass) if pass.merged > 0 => tracing::debug!(pass.merged, "broker watermarks merged"),
            Ok(_) => {}
            Err(error) if matches!(error.kind(), slatedb::ErrorKind::Closed(_)) => return,
            Err(error) => tracing::warn!(%error, "the broker could not merge its watermarks"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_with_more_than_the_known_fields_is_not_taken_for_one() {
        let known = Watermark {
            low: Some(0),
            high: Some(9),
            timestamps: Some(BTreeMap::from([
                (1_764_000_000_000, 0),
                (1_764_000_000_007, 5),
            ])),
        };
        let mut bytes = postcard::to_stdvec(&known).expect("encoded");
        assert!(decode(&bytes).is_some());
        // A field a later Tansu might append: decoding alone would drop it on the rewrite.
        bytes.extend([1, 42]);
        assert!(decode(&bytes).is_none());
    }

    #[test]
    fn a_lookup_by_time_answers_the_same_offset_or_an_earlier_one() {
        // Timestamps not in offset order, as producers' clocks interleave.
        let original: BTreeMap<i64, i64> = (0..5_000_i64)
            .map(|n| (1_000 + 3 * n, n * 2 + (n % 7) - 3))
            .collect();
        let small = merged(&original);
        assert!(small.len() <= KEEP, "{} entries", small.len());
        assert_eq!(
            small.last_key_value().map(|e| e.0),
            original.last_key_value().map(|e| e.0)
        );
        for t in (0..16_100).step_by(7) {
            let exact = original.range(t..).next().map(|e| *e.1);
            let answered = small.range(t..).next().map(|e| *e.1);
            match (exact, answered) {
                (Some(exact), Some(answered)) => assert!(answered <= exact, "at {t}"),
                (None, None) => {}
                other => panic!("at {t}: {other:?}"),
            }
        }
    }
}

//! Records served only once they are on disk.
//!
//! Tansu 0.6's SlateDB engine reads at SlateDB's default durability, which includes writes still
//! in memory waiting for the next write-out of the log. A fetch therefore served a produced
//! record, and counted it in the partition's end, up to a write-out before the producer was told
//! it was stored. A SIGKILL in between took the record from the log although a consumer had read
//! it: a stage that applied it and stored its position, killed in the same moment (`spotcheck up`
//! holds both), found after the restart other records stored at those offsets and skipped them
//! (`tests/broker_faults.rs`, "a record a consumer has read is still there after the broker is
//! killed").
//!
//! [`DurableEnds`] keeps, per partition, the end (the offset after the last record) of what is
//! known to be on disk: at the first look since the start, the partition's end as stored (read
//! before any produce of this run is let through, so all of it was read back from the log's
//! files), then the end of each produce that returned (Tansu's produce returns once its write is
//! on disk, and the log is written out in order, so everything before it is on disk too). A
//! fetch serves only the batches below it, and the partition's end is answered no further; a
//! record becomes visible with the acknowledgement of the produce that wrote it, not before.
//!
//! A produce whose request was dropped half-way (its client went away) may have left its batch
//! in memory without returning: that batch is served once a later produce of the partition
//! returns, by then written out with it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tansu_storage::{OffsetStage, Topition};
use tokio::sync::OnceCell;

#[derive(Debug, Default)]
pub struct DurableEnds {
    partitions: Mutex<HashMap<Topition, Arc<End>>>,
}

#[derive(Debug, Default)]
struct End {
    /// Set by the first look at the partition since the start.
    known: OnceCell<()>,
    on_disk: AtomicI64,
}

impl DurableEnds {
    fn end(&self, topition: &Topition) -> Arc<End> {
        let mut partitions = self
            .partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        partitions.entry(topition.clone()).or_default().clone()
    }

    /// The end of `topition` known to be on disk. The first look since the start asks
    /// `stored_end` (the partition's end as stored); a produce must look before it writes, so
    /// that nothing of this run is in that answer.
    pub async fn on_disk<F, Fut, E>(&self, topition: &Topition, stored_end: F) -> Result<i64, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<i64, E>>,
    {
        let end = self.end(topition);
        end.known
            .get_or_try_init(|| async {
                end.on_disk.fetch_max(stored_end().await?, Ordering::SeqCst);
                Ok(())
            })
            .await?;
        Ok(end.on_disk.load(Ordering::SeqCst))
    }

    /// Everything of `topition` below `end` is on disk (a produce returned).
    pub fn written_out(&self, topition: &Topition, end: i64) {
        self.end(topition).on_disk.fetch_max(end, Ordering::SeqCst);
    }
}

/// `batches` (in offset order) up to the first that begins at `end` or later.
pub fn below<B>(mut batches: Vec<B>, end: i64, base_offset: impl Fn(&B) -> i64) -> Vec<B> {
    let kept = batches
        .iter()
        .position(|b| base_offset(b) >= end)
        .unwrap_or(batches.len());
    batches.truncate(kept);
    batches
}

/// Tansu's [`OffsetStage`] field by field, in its order, to build one (its fields are private).
#[derive(serde::Serialize)]
struct Stage {
    last_stable: i64,
    high_watermark: i64,
    log_start: i64,
}

/// `stage` with its end and stable offset no further than `end`; `None` if Tansu's type no longer
/// has the shape [`Stage`] mirrors.
pub fn clamped(stage: OffsetStage, end: i64) -> Option<OffsetStage> {
    if stage.high_watermark() <= end {
        return Some(stage);
    }
    let wanted = Stage {
        last_stable: stage.last_stable().min(end),
        high_watermark: end,
        log_start: stage.log_start(),
    };
    let built: OffsetStage = postcard::from_bytes(&postcard::to_stdvec(&wanted).ok()?).ok()?;
    let same = built.last_stable() == wanted.last_stable
        && built.high_watermark() == wanted.high_watermark
        && built.log_start() == wanted.log_start;
    same.then_some(built)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(last_stable: i64, high_watermark: i64, log_start: i64) -> OffsetStage {
        let stage = Stage {
            last_stable,
            high_watermark,
            log_start,
        };
        postcard::from_bytes(&postcard::to_stdvec(&stage).expect("encoded")).expect("decoded")
    }

    #[test]
    fn a_partitions_end_is_answered_no_further_than_what_is_on_disk() {
        let ahead = clamped(stage(40, 42, 3), 37).expect("Tansu's shape");
        assert_eq!(
            (
                ahead.last_stable(),
                ahead.high_watermark(),
                ahead.log_start()
            ),
            (37, 37, 3)
        );
        let on_disk = clamped(stage(40, 42, 3), 50).expect("as it was");
        assert_eq!((on_disk.last_stable(), on_disk.high_watermark()), (40, 42));
    }

    #[test]
    fn only_batches_below_the_end_on_disk_are_served() {
        let bases = vec![10_i64, 15, 20, 30];
        assert_eq!(below(bases.clone(), 20, |b| *b), vec![10, 15]);
        assert_eq!(below(bases.clone(), 31, |b| *b), bases);
        assert!(below(bases, 10, |b| *b).is_empty());
    }

    #[tokio::test]
    async fn the_first_look_reads_the_stored_end_and_produces_move_it_on() {
        let ends = DurableEnds::default();
        let topition = Topition::new("t", 0);
        let first = ends.on_disk(&topition, || async { Ok::<_, ()>(12) }).await;
        assert_eq!(first, Ok(12));
        // Later looks do not read the (maybe not yet written out) stored end again.
        let again = ends.on_disk(&topition, || async { Ok::<_, ()>(99) }).await;
        assert_eq!(again, Ok(12));
        ends.written_out(&topition, 20);
        ends.written_out(&topition, 15); // a produce that returned later, for earlier offsets
        let moved = ends.on_disk(&topition, || async { Ok::<_, ()>(99) }).await;
        assert_eq!(moved, Ok(20));
    }
}

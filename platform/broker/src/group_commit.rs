//! Group commit of SlateDB's write-ahead log: the log is written out while writes wait for it,
//! and not at all when nothing is written.
//!
//! SlateDB writes its log on a fixed ticker (`Settings::flush_interval`), and every Tansu write
//! (a produce, an offset commit) waits for the next write-out. A short interval keeps produce
//! latency low (2 ms: BENCHMARKS.md), but the ticker then wakes the runtime 500 times a second
//! while spotcheck is idle — most of what an idle `spotcheck up` cost (2.7% of a core).
//!
//! Here each write of the storage ([`Writes::begin`], held for the write's duration by
//! `crate::conflicts::RetryConflicts`) counts as in flight, and [`flush_while_writing`] writes the
//! log out every `interval` while any write is in flight: the same pacing as the ticker under
//! load, no wake-up when idle. SlateDB's own ticker stays as a backstop at [`BACKSTOP`], so a
//! write the wrapper did not count still becomes durable (later), never waits for ever.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// SlateDB's own write-out interval behind the group commit.
pub const BACKSTOP: Duration = Duration::from_millis(100);

/// The least wait between a write's start and the write-out it waits for.
const SETTLE: Duration = Duration::from_micros(500);

/// Writes begun between two wake-ups of [`Writes::thousand_more`].
const THOUSAND: u64 = 1_000;

/// The writes in flight, shared by the storage's clones, the flusher and the upkeep of the
/// watermarks (`crate::watermarks`).
#[derive(Clone, Debug, Default)]
pub struct Writes {
    in_flight: Arc<AtomicUsize>,
    started: Arc<Notify>,
    begun: Arc<AtomicU64>,
    thousandth: Arc<Notify>,
}

impl Writes {
    /// Counts a write as in flight until the guard is dropped.
    pub fn begin(&self) -> WriteGuard {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.started.notify_one();
        if (self.begun.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(THOUSAND) {
            self.thousandth.notify_one();
        }
        WriteGuard(self.in_flight.clone())
    }

    /// Waits for the next thousandth write (counted since the start), or returns at once if one
    /// began since the last wait returned.
    pub async fn thousand_more(&self) {
        self.thousandth.notified().await;
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Waits until a write is in flight.
    async fn any(&self) {
        while self.in_flight() == 0 {
            self.started.notified().await;
        }
    }
}

/// One write in flight.
#[derive(Debug)]
pub struct WriteGuard(Arc<AtomicUsize>);

impl Drop for WriteGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Writes the log out every `interval` while a write is in flight; returns when the log is
/// closed.
/// Each write-out's duration is observed in `log_writes`.
pub async fn flush_while_writing(
    db: Arc<slatedb::Db>,
    writes: Writes,
    interval: Duration,
    log_writes: Option<prometheus::Histogram>,
) {
    let mut last = tokio::time::Instant::now();
    loop {
        writes.any().await;
        // Paced from the start of the last write-out, as SlateDB's ticker is (a write-out that
        // took longer than `interval` is followed at once, not `interval` later), and never
        // before the write that woke the flusher has had a moment to reach the log's buffer
        // after its reads: a write-out that misses it is followed by another.
        let now = tokio::time::Instant::now();
        tokio::time::sleep_until((last + interval).max(now + SETTLE)).await;
        last = tokio::time::Instant::now();
        match db.flush().await {
            Ok(()) => {
                if let Some(histogram) = &log_writes {
                    histogram.observe(last.elapsed().as_secs_f64());
                }
            }
            Err(error) if matches!(error.kind(), slatedb::ErrorKind::Closed(_)) => return,
            // The backstop writes it out; the next write tries again.
            Err(error) => tracing::warn!(%error, "the broker could not write its log out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slatedb::object_store::memory::InMemory;

    async fn db(flush_interval: Duration) -> Arc<slatedb::Db> {
        let settings = slatedb::Settings {
            flush_interval: Some(flush_interval),
            ..slatedb::Settings::default()
        };
        Arc::new(
            slatedb::Db::builder("test", Arc::new(InMemory::new()))
                .with_settings(settings)
                .build()
                .await
                .expect("db"),
        )
    }

    #[tokio::test]
    async fn a_durable_write_is_written_out_by_the_group_commit_not_the_slow_ticker() {
        // A ticker so slow the write would wait an hour for it.
        let db = db(Duration::from_secs(3600)).await;
        let writes = Writes::default();
        let flusher = tokio::spawn(flush_while_writing(
            db.clone(),
            writes.clone(),
            Duration::from_millis(2),
            None,
        ));
        let write = async {
            let _guard = writes.begin();
            db.put(b"key", b"value").await
        };
        tokio::time::timeout(Duration::from_secs(10), write)
            .await
            .expect("durable within the group commit's interval")
            .expect("written");
        assert_eq!(writes.in_flight(), 0);
        flusher.abort();
    }

    #[tokio::test]
    async fn the_flusher_ends_when_the_log_is_closed() {
        let db = db(Duration::from_secs(3600)).await;
        let writes = Writes::default();
        db.close().await.expect("closed");
        let _guard = writes.begin();
        tokio::time::timeout(
            Duration::from_secs(10),
            flush_while_writing(db, writes.clone(), Duration::from_millis(2), None),
        )
        .await
        .expect("the flusher ends with the log");
    }
}

//! Making way for a lab's burst, in a process that both takes records in and runs the stages
//! (`spotcheck up`). The two share two cores with the embedded broker; a stage that works
//! while a lab posts a workbook of thousands of results takes the CPU the request needs, and
//! CPU priority does not help, for the stages run in the gaps while the request waits for the
//! broker's acknowledgement (BENCHMARKS.md, "Where ingest's time goes at the ceiling").
//!
//! Ingest counts the bytes of the request bodies it is taking in ([`Bursts::carrying`]), from
//! the body read to the answer. A stage whose driver has [`MakeWay`] holds a fetched batch, and
//! pauses its consumer so that neither librdkafka nor the broker works for it meanwhile, while
//! at least `at_least` bytes are in flight (a burst), until the burst ends or the batch's oldest
//! record is `at_most` old, whichever comes first. So a burst is answered at ingest's own pace,
//! and the stages are behind by at most `at_most` during it; under load that never ends they
//! still take every record once it is that old, so they keep up as before, only later. A
//! trickle of single records (a few kilobytes in flight) is no burst and waits for nothing.

use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The bytes of request bodies ingest is taking in now, shared by ingest and the stages of one
/// process.
#[derive(Debug, Clone, Default)]
pub struct Bursts {
    in_flight: Arc<watch::Sender<usize>>,
}

/// A body being taken in; it stops counting when this is dropped.
pub struct Carrying {
    bursts: Bursts,
    bytes: usize,
}

impl Drop for Carrying {
    fn drop(&mut self) {
        let bytes = self.bytes;
        self.bursts
            .in_flight
            .send_modify(|in_flight| *in_flight = in_flight.saturating_sub(bytes));
    }
}

impl Bursts {
    /// Counts a body of `bytes` as being taken in until the returned guard is dropped.
    pub fn carrying(&self, bytes: usize) -> Carrying {
        self.in_flight
            .send_modify(|in_flight| *in_flight = in_flight.saturating_add(bytes));
        Carrying {
            bursts: self.clone(),
            bytes,
        }
    }

    /// Bytes being taken in now.
    pub fn in_flight(&self) -> usize {
        *self.in_flight.borrow()
    }

    /// Stages holding a batch back now.
    pub fn holding(&self) -> usize {
        self.in_flight.receiver_count()
    }
}

/// How a stage makes way for bursts: it holds a batch while at least `at_least` bytes are
/// being taken in, for as long as the batch's oldest record is younger than `at_most`.
#[derive(Debug, Clone)]
pub struct MakeWay {
    pub bursts: Bursts,
    pub at_least: usize,
    pub at_most: Duration,
}

impl MakeWay {
    /// Whether a batch whose oldest record was written at `oldest` is to be held now: a burst
    /// is being taken in, and the record is younger than `at_most`.
    pub fn must_hold(&self, oldest: SystemTime) -> bool {
        self.bursts.in_flight() >= self.at_least && age(oldest) < self.at_most
    }

    /// Waits while a burst is in flight, until the oldest record of the batch in hand (written
    /// at `oldest`, the broker's timestamp) is `at_most` old, or shutdown. Returns how long it
    /// waited.
    pub async fn hold(&self, oldest: SystemTime, shutdown: &CancellationToken) -> Duration {
        let Some(left) = self.at_most.checked_sub(age(oldest)) else {
            return Duration::ZERO;
        };
        let mut in_flight = self.bursts.in_flight.subscribe();
        if *in_flight.borrow_and_update() < self.at_least {
            return Duration::ZERO;
        }
        let started = tokio::time::Instant::now();
        let at_least = self.at_least;
        tokio::select! {
            _ = in_flight.wait_for(|bytes| *bytes < at_least) => {}
            () = tokio::time::sleep(left) => {}
            () = shutdown.cancelled() => {}
        }
        started.elapsed()
    }
}

/// How long ago `written` was (zero for a time ahead of this clock).
fn age(written: SystemTime) -> Duration {
    SystemTime::now()
        .duration_since(written)
        .unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make_way(bursts: &Bursts) -> MakeWay {
        MakeWay {
            bursts: bursts.clone(),
            at_least: 100_000,
            at_most: Duration::from_secs(3),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_waits_for_the_burst_to_end() {
        let bursts = Bursts::default();
        let way = make_way(&bursts);
        let burst = bursts.carrying(2_000_000);
        let shutdown = CancellationToken::new();
        let ends = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            drop(burst);
        });
        let held = way.hold(SystemTime::now(), &shutdown).await;
        assert_eq!(held, Duration::from_millis(700));
        assert_eq!(bursts.in_flight(), 0);
        ends.await.expect("the burst ended");
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_waits_no_longer_than_its_oldest_record_may_age() {
        let bursts = Bursts::default();
        let way = make_way(&bursts);
        let _endless = bursts.carrying(2_000_000);
        let shutdown = CancellationToken::new();
        let written = SystemTime::now() - Duration::from_secs(1);
        assert!(way.must_hold(written));
        assert!(!way.must_hold(SystemTime::now() - Duration::from_secs(5)));
        let held = way.hold(written, &shutdown).await;
        // 3 s at most, of which the record had spent 1 s (the wall clock does not move here).
        assert_eq!(held, Duration::from_secs(2));
        let too_old = SystemTime::now() - Duration::from_secs(5);
        assert_eq!(way.hold(too_old, &shutdown).await, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn single_records_are_no_burst_and_shutdown_ends_a_hold() {
        let bursts = Bursts::default();
        let way = make_way(&bursts);
        let singles: Vec<Carrying> = (0..20).map(|_| bursts.carrying(1_000)).collect();
        let shutdown = CancellationToken::new();
        assert_eq!(way.hold(SystemTime::now(), &shutdown).await, Duration::ZERO);
        drop(singles);
        let _burst = bursts.carrying(500_000);
        shutdown.cancel();
        assert_eq!(way.hold(SystemTime::now(), &shutdown).await, Duration::ZERO);
    }
}

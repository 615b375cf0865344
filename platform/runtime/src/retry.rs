//! Retrying with exponential back-off (the `backon` crate), for every component's retry: the
//! driver's calls of a stage, the credit feed's webhook, `spotcheck post`, start-up. What this
//! module adds is the one thing backon leaves to its caller: a wait that ends at shutdown.

use backon::{ExponentialBuilder, Sleeper};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use backon::{ConstantBuilder, Retryable, RetryableWithContext};

/// Waits that double from `first` to at most `longest`, without end: callers stop at shutdown
/// (see [`UntilShutdown`]) or when the error is not one to retry.
pub fn doubling(first: Duration, longest: Duration) -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(first)
        .with_max_delay(longest)
        .without_max_times()
}

/// A back-off wait that ends early when `0` is cancelled; the caller's `when` then declines to
/// try again (`!token.is_cancelled()`).
#[derive(Clone)]
pub struct UntilShutdown(pub CancellationToken);

impl Sleeper for UntilShutdown {
    type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

    fn sleep(&self, wait: Duration) -> Self::Sleep {
        let shutdown = self.0.clone();
        Box::pin(async move {
            tokio::select! {
                () = shutdown.cancelled_owned() => {}
                () = tokio::time::sleep(wait) => {}
            }
        })
    }
}

/// The rule every retry here keeps at shutdown: the first attempt always runs (work already
/// done is not thrown away because the process is stopping), and no attempt follows a wait
/// that shutdown cut short. Ask [`Attempts::may_run`] at the top of each attempt, and pair it
/// with [`UntilShutdown`] and `.when(|_| !shutdown.is_cancelled())`.
pub struct Attempts {
    shutdown: CancellationToken,
    started: AtomicBool,
}

impl Attempts {
    pub fn new(shutdown: &CancellationToken) -> Self {
        Attempts {
            shutdown: shutdown.clone(),
            started: AtomicBool::new(false),
        }
    }

    /// True for the first attempt, and for a later one only while the process is not stopping.
    pub fn may_run(&self) -> bool {
        !self.started.swap(true, Ordering::SeqCst) || !self.shutdown.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_retry_stops_waiting_at_shutdown() {
        let shutdown = CancellationToken::new();
        let calls = AtomicU32::new(0);
        let stopper = shutdown.clone();
        let retried = (|| async {
            if calls.fetch_add(1, Ordering::SeqCst) == 1 {
                stopper.cancel(); // the second try fails while the process stops
            }
            Err::<(), _>("down")
        })
        .retry(doubling(Duration::from_secs(60), Duration::from_secs(600)))
        .sleep(UntilShutdown(shutdown.clone()))
        .when(|_| !shutdown.is_cancelled());
        let started = tokio::time::Instant::now();
        assert_eq!(retried.await, Err("down"));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // One full first wait (60 s), none after the shutdown.
        assert_eq!(started.elapsed(), Duration::from_secs(60));
    }

    #[test]
    fn the_first_attempt_runs_even_at_shutdown_and_none_after_it() {
        let shutdown = CancellationToken::new();
        let running = Attempts::new(&shutdown);
        assert!(running.may_run());
        assert!(running.may_run(), "retries go on while the process runs");
        shutdown.cancel();
        assert!(!running.may_run(), "no retry after shutdown");

        let stopping = Attempts::new(&shutdown);
        assert!(
            stopping.may_run(),
            "the first attempt runs although shutdown has begun"
        );
        assert!(!stopping.may_run());
    }

    #[tokio::test(start_paused = true)]
    async fn waits_double_up_to_the_longest() {
        let waits = std::sync::Mutex::new(Vec::new());
        let retried = (|| async { Err::<(), _>("down") })
            .retry(doubling(Duration::from_secs(1), Duration::from_secs(5)).with_max_times(5))
            .sleep(tokio::time::sleep)
            .notify(|_, wait| waits.lock().expect("not poisoned").push(wait.as_secs()));
        assert_eq!(retried.await, Err("down"));
        assert_eq!(*waits.lock().expect("not poisoned"), [1, 2, 4, 5, 5]);
    }
}

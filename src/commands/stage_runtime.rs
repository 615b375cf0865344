//! The stages' own threads in `spotcheck up`: the lake writer, its maintenance, the traceback and
//! the credit feed run on a second tokio runtime whose threads have a lower CPU priority (a
//! higher `nice`) than the threads that answer labs and serve the broker.
//!
//! Why: on a small machine a lab's POST and the stages compete for the same cores. The stages
//! can be seconds behind without harm (they catch up from the topics); a lab waiting for its
//! 202 cannot. Measured with `benches/ingest.rs` (BENCHMARKS.md). Threads the stages start
//! (the lake writer's decoding threads, librdkafka's consumer threads, blocking tasks) inherit
//! the priority. With `nice = 0` the stages run at the same priority as ingest, as before.

use anyhow::{Context, Result};
use tokio::runtime::{Handle, Runtime};

/// A runtime for the stages; shut down (without waiting) when dropped.
pub struct StageRuntime {
    /// `None` only inside `drop`.
    runtime: Option<Runtime>,
}

impl StageRuntime {
    /// A multi-threaded runtime with one worker per core, every thread at `nice` (0–19).
    pub fn start(nice: i32) -> Result<Self> {
        let nice = nice.clamp(0, 19);
        let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("spotcheck-stage")
            .on_thread_start(move || lower_priority(nice))
            .enable_all()
            .build()
            .context("cannot start the stages' runtime")?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    pub fn handle(&self) -> Handle {
        self.runtime
            .as_ref()
            .expect("the runtime is taken only when dropped")
            .handle()
            .clone()
    }
}

impl Drop for StageRuntime {
    fn drop(&mut self) {
        // Dropping a runtime blocks; inside the main runtime that is not allowed. The stages
        // have finished by now (the supervisor waited for them).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Lowers the calling thread's priority to `nice` unless it is lower already (Linux: per thread;
/// inherited by the threads it starts). Elsewhere, or when refused, the thread keeps its priority.
#[allow(unsafe_code)] // libc's priority calls have no safe wrapper in the standard library
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take plain integers and touch no memory of ours.
        let refused = unsafe {
            let thread = libc::gettid() as libc::id_t;
            // Never raise it: a process started under `nice` keeps at least that.
            let now = libc::getpriority(libc::PRIO_PROCESS, thread);
            now < nice && libc::setpriority(libc::PRIO_PROCESS, thread, nice) != 0
        };
        if refused {
            tracing::debug!(nice, "could not lower a stage thread's priority");
        }
    }
}

/// The `nice` value of the calling thread (Linux).
#[cfg(all(test, target_os = "linux"))]
#[allow(unsafe_code)] // as above
pub fn current_nice() -> i32 {
    // SAFETY: as above.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn stage_threads_run_at_the_lower_priority_and_ingest_threads_do_not() {
        let stages = StageRuntime::start(10).expect("runtime");
        let main = current_nice();
        let on_stage = stages
            .handle()
            .block_on(async { tokio::task::spawn(async { current_nice() }).await })
            .expect("task");
        // block_on runs on this thread; the spawned task ran on a stage worker.
        assert_eq!(on_stage, main.max(10));
        let blocking = stages
            .handle()
            .block_on(async { tokio::task::spawn_blocking(current_nice).await })
            .expect("blocking task");
        assert_eq!(blocking, main.max(10));
        let started_by_stage = stages
            .handle()
            .block_on(async {
                tokio::task::spawn(async {
                    std::thread::spawn(current_nice).join().expect("thread")
                })
                .await
            })
            .expect("task");
        assert_eq!(
            started_by_stage,
            main.max(10),
            "threads a stage starts inherit it"
        );
        assert_eq!(
            current_nice(),
            main,
            "the caller's thread keeps its priority"
        );
    }
}

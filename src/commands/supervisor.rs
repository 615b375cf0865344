//! The components of one process (the API, the Postgres front end, each stage, each webhook)
//! stand or fall together. When one stops without being asked to — its error, a panic, or an
//! end it should never reach — the others are told to stop, `/readyz` and
//! `spotcheck_component_up` name the one that stopped, and the process exits non-zero with its
//! reason, so the orchestrator (systemd, Compose's `restart:`) sees it and restarts the whole
//! process. Without this an API kept answering 202 for records nothing processed.
//!
//! Restarting a component in place was considered and left out: each stage resumes from its
//! committed offsets only when it starts from scratch (consumer group, state, producer), which
//! is exactly what restarting the process does.

use anyhow::{Result, anyhow};
use prometheus::IntGaugeVec;
use spotcheck_runtime::Health;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// One running component, by the name `/readyz` shows.
pub struct Component {
    pub name: &'static str,
    pub task: JoinHandle<Result<()>>,
}

impl Component {
    pub fn new(name: &'static str, task: JoinHandle<Result<()>>) -> Self {
        Self { name, task }
    }
}

/// Waits for every component. The first to stop while `shutdown` is not cancelled cancels it;
/// the first error is the outcome.
pub async fn supervise(
    components: Vec<Component>,
    shutdown: CancellationToken,
    health: &Health,
    up: &IntGaugeVec,
) -> Result<()> {
    let mut running = JoinSet::new();
    for Component { name, task } in components {
        up.with_label_values(&[name]).set(1);
        running.spawn(async move { (name, task.await) });
    }
    let mut first_error: Option<anyhow::Error> = None;
    while let Some(joined) = running.join_next().await {
        let (name, outcome) = match joined {
            Ok(stopped) => stopped,
            Err(error) => ("supervisor", Err(error)),
        };
        up.with_label_values(&[name]).set(0);
        health.set(name, false);
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(join) => Err(anyhow!("the {name} task panicked: {join}")),
        };
        let asked = shutdown.is_cancelled();
        let error = match (outcome, asked) {
            (Ok(()), true) => continue,
            (Ok(()), false) => anyhow!("{name} stopped without being asked to"),
            (Err(error), _) => error.context(format!("{name} stopped")),
        };
        if !asked {
            tracing::error!(component = name, error = %format!("{error:#}"),
                "a component stopped; stopping the others");
            shutdown.cancel();
        } else {
            tracing::warn!(component = name, error = %format!("{error:#}"), "stopped with an error");
        }
        first_error.get_or_insert(error);
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gauge() -> IntGaugeVec {
        IntGaugeVec::new(prometheus::Opts::new("up", "up"), &["component"]).unwrap()
    }

    #[tokio::test]
    async fn the_first_component_to_fail_stops_the_others_and_is_the_outcome() {
        let shutdown = CancellationToken::new();
        let health = Health::default();
        let up = gauge();
        let waits = |token: CancellationToken| async move {
            token.cancelled().await;
            Ok(())
        };
        let components = vec![
            Component::new("ingest", tokio::spawn(waits(shutdown.clone()))),
            Component::new(
                "lake",
                tokio::spawn(async { Err(anyhow!("another lake writer advanced")) }),
            ),
            Component::new("traceback", tokio::spawn(waits(shutdown.clone()))),
        ];
        for name in ["ingest", "lake", "traceback"] {
            health.set(name, true);
        }
        let outcome = supervise(components, shutdown.clone(), &health, &up).await;
        let message = format!("{:#}", outcome.unwrap_err());
        assert!(message.starts_with("lake stopped"), "{message}");
        assert!(shutdown.is_cancelled());
        assert_eq!(up.with_label_values(&["lake"]).get(), 0);
        assert_eq!(health.snapshot().get("lake"), Some(&false));
    }

    #[tokio::test]
    async fn components_stopped_by_request_end_cleanly() {
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let components = vec![Component::new(
            "ingest",
            tokio::spawn(async move {
                token.cancelled().await;
                Ok(())
            }),
        )];
        shutdown.cancel();
        let outcome = supervise(components, shutdown, &Health::default(), &gauge()).await;
        assert!(outcome.is_ok());
    }

    #[tokio::test]
    async fn a_component_that_ends_unasked_is_a_failure() {
        let components = vec![Component::new("pg", tokio::spawn(async { Ok(()) }))];
        let shutdown = CancellationToken::new();
        let outcome = supervise(components, shutdown.clone(), &Health::default(), &gauge()).await;
        assert!(format!("{:#}", outcome.unwrap_err()).contains("pg stopped without"));
        assert!(shutdown.is_cancelled());
    }
}

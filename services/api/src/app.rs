//! The state every route shares: tokens, the producer, metrics, health, limits, the clock.
//! What only some routes read (the ledger, the lake, the cases, the feed) is in the state of
//! their component's router (`crate::routes`), given only to a process that runs it.

use crate::access::{Authenticator, Caller, Denied, Role};
use crate::body::BodyLimits;
use crate::error::ApiError;
use crate::metrics::IngestMetrics;
use axum::http::{HeaderMap, header};
use chrono::NaiveDate;
use spotcheck_runtime::burst::Bursts;
use spotcheck_runtime::{Health, Metrics, Publisher};
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

/// Today's date as the server sees it; tests inject a fixed one.
pub type Clock = Arc<dyn Fn() -> NaiveDate + Send + Sync>;

/// Today's date in China by the system clock (`spotcheck_schemas::days`).
pub fn system_clock() -> Clock {
    Arc::new(spotcheck_schemas::days::today)
}

pub struct AppParts {
    pub auth: Authenticator,
    pub publisher: Publisher,
    pub metrics: Metrics,
    pub health: Health,
    pub limits: BodyLimits,
    /// CloudEvents `ce_source` of what this process publishes.
    pub source: String,
    pub clock: Clock,
    /// Where the bodies being taken in are counted, for the stages of the same process
    /// ([`spotcheck_runtime::burst`]).
    pub bursts: Bursts,
}

/// Cheap to clone: handlers get it by `State`.
#[derive(Clone)]
pub struct App(Arc<AppInner>);

pub struct AppInner {
    pub auth: Authenticator,
    pub publisher: Publisher,
    pub metrics: IngestMetrics,
    pub runtime_metrics: Metrics,
    pub health: Health,
    pub limits: BodyLimits,
    pub source: String,
    pub bursts: Bursts,
    clock: Clock,
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    pub fn new(parts: AppParts) -> prometheus::Result<Self> {
        let metrics = IngestMetrics::new(parts.metrics.registry())?;
        Ok(Self(Arc::new(AppInner {
            auth: parts.auth,
            publisher: parts.publisher,
            metrics,
            runtime_metrics: parts.metrics,
            health: parts.health,
            limits: parts.limits,
            source: parts.source,
            bursts: parts.bursts,
            clock: parts.clock,
        })))
    }

    pub fn today(&self) -> NaiveDate {
        (self.clock)()
    }

    /// The caller of a request, if its token has one of `roles`: else 401 or 403. Handlers do
    /// not call it: their guard does (`crate::guard::Require`).
    pub(crate) fn authorize(
        &self,
        headers: &HeaderMap,
        roles: &[Role],
    ) -> Result<Caller, ApiError> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        self.auth
            .authorize(authorization, roles)
            .map_err(|denied| match denied {
                Denied::Unauthenticated => ApiError::unauthenticated(),
                Denied::Forbidden { role } => {
                    let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                    ApiError::forbidden(format!(
                        "the {role} role may not use this route; it needs {}",
                        allowed.join(" or ")
                    ))
                }
            })
    }

    /// True when the broker answers within a second (checked off the async threads).
    pub async fn broker_reachable(&self) -> bool {
        let publisher = self.publisher.clone();
        tokio::task::spawn_blocking(move || publisher.broker_reachable(Duration::from_secs(1)))
            .await
            .unwrap_or(false)
    }
}

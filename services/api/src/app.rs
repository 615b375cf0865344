//! The state every handler shares.

use crate::access::{Authenticator, Caller, Denied, Role};
use crate::body::BodyLimits;
use crate::error::ApiError;
use crate::ledger::Ledger;
use crate::metrics::IngestMetrics;
use axum::http::{HeaderMap, header};
use chrono::NaiveDate;
use spotcheck_runtime::{Health, Metrics, Publisher};
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

/// Today's date as the server sees it; tests inject a fixed one.
pub type Clock = Arc<dyn Fn() -> NaiveDate + Send + Sync>;

/// The system clock's UTC date.
pub fn system_clock() -> Clock {
    Arc::new(|| chrono::Utc::now().date_naive())
}

pub struct AppParts {
    pub auth: Authenticator,
    pub publisher: Publisher,
    /// The record ledger, when this process takes records (an ingest instance); a stage's own
    /// HTTP server serves only its reads and operations.
    pub ledger: Option<Ledger>,
    pub metrics: Metrics,
    pub health: Health,
    pub limits: BodyLimits,
    /// CloudEvents `ce_source` of what this process publishes.
    pub source: String,
    pub clock: Clock,
    /// SQL over the lake, when this process serves it.
    pub analytics: Option<Arc<spotcheck_analytics::Analytics>>,
    /// The traceback state, when this process runs the traceback stage.
    pub cases: Option<Arc<spotcheck_traceback::Store>>,
    /// The credit feed, when this process runs the credit stage.
    pub disclosures: Option<Arc<spotcheck_credit::CreditStore>>,
}

/// Cheap to clone: handlers get it by `State`.
#[derive(Clone)]
pub struct App(Arc<AppInner>);

pub struct AppInner {
    pub auth: Authenticator,
    pub publisher: Publisher,
    pub ledger: Option<Ledger>,
    pub metrics: IngestMetrics,
    pub runtime_metrics: Metrics,
    pub health: Health,
    pub limits: BodyLimits,
    pub source: String,
    pub analytics: Option<Arc<spotcheck_analytics::Analytics>>,
    pub cases: Option<Arc<spotcheck_traceback::Store>>,
    pub disclosures: Option<Arc<spotcheck_credit::CreditStore>>,
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
            ledger: parts.ledger,
            metrics,
            runtime_metrics: parts.metrics,
            health: parts.health,
            limits: parts.limits,
            source: parts.source,
            analytics: parts.analytics,
            cases: parts.cases,
            disclosures: parts.disclosures,
            clock: parts.clock,
        })))
    }

    /// The ledger, or 503 when this process does not take records.
    pub fn ledger(&self) -> Result<&Ledger, ApiError> {
        self.ledger.as_ref().ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "this process does not take records; post them to an ingest instance",
            )
        })
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

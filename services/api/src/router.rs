//! The HTTP API of a process, assembled from the routers of the components it runs
//! (`crate::routes`), with the API's description (`crate::openapi`) beside them.

use crate::app::App;
use crate::error::ApiError;
use crate::guard::get;
use crate::openapi::{Description, OPERATIONAL};
use crate::routes::{Component, system};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use std::time::Instant;

/// The API of a process: the operational routes (metrics, health, readiness, the API's
/// description), the routers of the components it runs (`crate::routes`), request metrics, and
/// plain answers to paths and methods it does not serve.
pub fn api(app: App, components: impl IntoIterator<Item = Component>) -> Router {
    let operational = Router::new()
        .route("/metrics", get(system::metrics))
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .with_state(app.clone());
    let mut served: Vec<&'static str> = OPERATIONAL.to_vec();
    let mut router = operational;
    for component in components {
        served.extend(&component.paths);
        router = router.merge(component.router);
    }
    let description = Router::new()
        .route("/openapi.json", get(crate::openapi::serve))
        .with_state(Description::of(&served));
    router
        .merge(description)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app, track))
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "this process serves no such route; see /openapi.json, and docs/operations.md for \
         which process serves which",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this route does not take that method; see /openapi.json",
    )
}

/// Counts requests by route template (bounded) and status, and times them.
async fn track(State(app): State<App>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    app.metrics
        .requests
        .with_label_values(&[&route, response.status().as_str()])
        .inc();
    app.metrics
        .request_duration
        .with_label_values(&[&route])
        .observe(started.elapsed().as_secs_f64());
    response
}

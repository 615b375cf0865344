//! Unauthenticated operational routes: metrics, liveness, readiness (the API's description is
//! served by `crate::openapi`).

use crate::app::App;
use crate::guard::Public;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Prometheus metrics of the whole process.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics(_: Public, State(app): State<App>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.runtime_metrics.render(),
    )
        .into_response()
}

/// Liveness: the process serves HTTP.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Object)))]
pub async fn healthz(_: Public) -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Readiness: the broker is reachable and every component of the process runs.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = Object), (status = 503, description = "Not ready", body = Object)))]
pub async fn readyz(_: Public, State(app): State<App>) -> Response {
    let broker = app.broker_reachable().await;
    let components = app.health.snapshot();
    let ready = broker && components.values().all(|running| *running);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({"ready": ready, "broker": broker, "components": components})),
    )
        .into_response()
}

//! The routes of the HTTP API, assembled into one router: each path, its method and its
//! handler (`crate::routes`), with the API's description (`crate::openapi`) beside them.

use crate::app::App;
use crate::error::ApiError;
use crate::guard::{get, post, put};
use crate::routes::{cases, disclosures, plan, records, results, sql, system, ui};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use std::time::Instant;

/// Every route of this crate, with request metrics.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/v1/results", post(results::post_results))
        .route("/v1/results/template.xlsx", get(results::result_template))
        .route("/v1/shipments", post(records::post_shipments))
        .route("/v1/inspections", post(records::post_inspections))
        .route("/v1/units/{uscc}", put(records::put_unit))
        .route("/v1/units/{uscc}/archive", get(ui::unit_archive))
        .route("/v1/units/{uscc}/archive.docx", get(ui::unit_archive_docx))
        .route("/ui/units/{uscc}", get(ui::unit_page))
        .route("/v1/dispositions", post(records::post_dispositions))
        .route("/v1/cases", get(cases::list_cases))
        .route("/v1/cases/{case_id}", get(cases::get_case))
        .route(
            "/v1/cases/{case_id}/notices/{file}",
            get(ui::notice_document),
        )
        .route("/v1/identifications", get(cases::list_identifications))
        .route("/v1/disclosures", get(disclosures::get_disclosures))
        .route("/v1/sql", post(sql::post_sql))
        .route("/v1/plan/check", post(plan::check_plan))
        .route("/v1/plan/suggest", get(plan::suggest))
        .route("/v1/trace-export", get(ui::trace_export))
        .route("/ui/cases", get(ui::cases_page))
        .route("/ui/cases/{case_id}", get(ui::case_page))
        .route("/metrics", get(system::metrics))
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/openapi.json", get(crate::openapi::serve))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), track))
        .with_state(app)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "there is no such route; see /openapi.json",
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

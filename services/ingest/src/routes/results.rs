//! `POST /v1/results`: labs post sampling results.

use crate::access::Role;
use crate::app::App;
use crate::submit::submit;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use spotcheck_schemas::SamplingResult;

/// Post one result (a JSON object) or many (a JSON array, NDJSON, or CSV).
///
/// Each record is validated against CONTRACT §4 and answered on its own: `accepted` (the broker
/// acknowledged it), `duplicate` (the same report was accepted before) or rejected with its line
/// number and field errors. A single object that is invalid answers 422, a conflicting one 409.
#[utoipa::path(
    post,
    path = "/v1/results",
    tag = "ingest",
    request_body(
        description = "One result as JSON; many as a JSON array, NDJSON (application/x-ndjson) or CSV (text/csv, columns = flattened field names, items as items_json)",
        content(
            (ref("#/components/schemas/SamplingResult") = "application/json"),
            (String = "application/x-ndjson"),
            (String = "text/csv"),
        ),
    ),
    responses(
        (status = 202, description = "Every accepted record is durably in Kafka", body = crate::openapi::SubmitResponse),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not a lab token, or a lab_id other than the token's lab", body = crate::error::ErrorBody),
        (status = 409, description = "A single result conflicting with one accepted before", body = crate::error::ErrorBody),
        (status = 413, description = "Body or record count over the limit", body = crate::error::ErrorBody),
        (status = 415, description = "Unsupported content type", body = crate::error::ErrorBody),
        (status = 422, description = "A single result that is invalid", body = crate::error::ErrorBody),
        (status = 503, description = "The broker is unavailable; retry after Retry-After seconds", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_results(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    submit::<SamplingResult>(&app, &headers, body, &[Role::Lab]).await
}

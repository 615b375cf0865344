//! `POST /v1/sql`: analysts query the lake; rows come back as JSON, CSV or an Arrow IPC stream.

use crate::access::Role;
use crate::app::App;
use crate::body;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spotcheck_analytics::arrow::record_batch::RecordBatch;
use spotcheck_analytics::arrow::{csv, ipc, json};
use spotcheck_analytics::{QueryError, Rows};

pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    /// One read-only statement: SELECT, EXPLAIN, SHOW or DESCRIBE.
    pub sql: String,
}

/// Run one read-only query on the lake.
///
/// Rows come back as a JSON array of objects (default), CSV (`Accept: text/csv`) or an Arrow IPC
/// stream (`Accept: application/vnd.apache.arrow.stream`). Anything but a query is refused (403).
#[utoipa::path(
    post,
    path = "/v1/sql",
    tag = "analytics",
    request_body = SqlRequest,
    responses(
        (status = 200, description = "The rows", body = Vec<Object>),
        (status = 400, description = "The SQL is not valid", body = crate::error::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an analyst token, or not a query", body = crate::error::ErrorBody),
        (status = 408, description = "The query ran past the time limit", body = crate::error::ErrorBody),
        (status = 422, description = "The query needs more memory than the limit", body = crate::error::ErrorBody),
        (status = 503, description = "This process does not serve SQL", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_sql(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    match run(&app, &headers, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn run(app: &App, headers: &HeaderMap, body: Body) -> Result<Response, ApiError> {
    app.authorize(headers, &[Role::Analyst])?;
    let bytes = body::read(body, app.limits).await?;
    let request: SqlRequest = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!("the body must be {{\"sql\": \"SELECT ...\"}}: {e}"))
    })?;
    let analytics = app.analytics.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this process does not serve SQL",
        )
    })?;
    let rows = analytics.query(&request.sql).await.map_err(query_error)?;
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    render(&rows, accept).map_err(|e| ApiError::internal(format!("cannot encode the rows: {e}")))
}

pub(crate) fn query_error(error: QueryError) -> ApiError {
    match error {
        QueryError::NotAQuery(message) => {
            ApiError::forbidden(format!("only queries are allowed: {message}"))
        }
        QueryError::TimedOut(_) => ApiError::new(StatusCode::REQUEST_TIMEOUT, error.to_string()),
        QueryError::OutOfMemory { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, error.to_string())
        }
        QueryError::Lake { .. } => ApiError::internal(error.to_string()),
        QueryError::Invalid(_) => ApiError::bad_request(error.to_string()),
    }
}

/// Encodes the rows as the client asked.
fn render(
    rows: &Rows,
    accept: &str,
) -> Result<Response, spotcheck_analytics::arrow::error::ArrowError> {
    let batches = &rows.batches;
    if accept.contains(ARROW_STREAM) {
        // The schema is written even without rows, so the client still learns the columns.
        let mut bytes = Vec::new();
        let mut writer = ipc::writer::StreamWriter::try_new(&mut bytes, &rows.schema)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()?;
        return Ok(([(header::CONTENT_TYPE, ARROW_STREAM)], bytes).into_response());
    }
    if accept.contains("text/csv") {
        let mut writer = csv::Writer::new(Vec::new());
        for batch in batches {
            writer.write(batch)?;
        }
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            writer.into_inner(),
        )
            .into_response());
    }
    let mut writer = json::ArrayWriter::new(Vec::new());
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    writer.write_batches(&refs)?;
    writer.finish()?;
    let mut bytes = writer.into_inner();
    if bytes.is_empty() {
        bytes = b"[]".to_vec();
    }
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

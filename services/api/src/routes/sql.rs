//! `POST /v1/sql`: analysts query the lake; rows come back as JSON, CSV or an Arrow IPC stream.

use crate::app::App;
use crate::body;
use crate::error::ApiError;
use crate::guard::{Analysts, Require};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spotcheck_analytics::encode::{ARROW_STREAM, Encoder, Format};
use spotcheck_analytics::{Analytics, Answer, QueryError};
use std::sync::Arc;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    /// One read-only statement: SELECT, EXPLAIN, SHOW or DESCRIBE.
    pub sql: String,
    /// Answer as the lake stood then: a table version (`"42"`), a date (`"2026-11-30"`, its
    /// end in China, UTC+8) or an RFC 3339 time (`"2026-11-30T08:00:00+08:00"`). Default: now.
    #[serde(default)]
    pub as_of: Option<String>,
}

/// Run one read-only query on the lake.
///
/// Rows come back as a JSON array of objects (default), CSV (`Accept: text/csv`) or an Arrow IPC
/// stream (`Accept: application/vnd.apache.arrow.stream`), streamed as the query runs. Anything
/// but a query is refused (403); a statement too long or nested too deeply is refused (400)
/// before it is planned. An answer that reaches the row limit (header `spotcheck-max-rows`) or
/// the time limit after its first rows ends with a line `error: …` and a broken response.
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
    ),
    security(("bearer" = []))
)]
pub async fn post_sql(
    _: Require<Analysts>,
    State(app): State<App>,
    State(lake): State<Arc<Analytics>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match run(&app, &lake, &headers, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn run(
    app: &App,
    analytics: &Analytics,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = body::read(body, app.limits).await?;
    let request: SqlRequest = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!("the body must be {{\"sql\": \"SELECT ...\"}}: {e}"))
    })?;
    let as_of = request
        .as_of
        .as_deref()
        .map(spotcheck_analytics::AsOf::parse)
        .transpose()
        .map_err(ApiError::bad_request)?;
    let answer = analytics
        .stream_as_of(&request.sql, as_of.as_ref())
        .await
        .map_err(query_error)?;
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let format = format_of(accept);
    let max_rows = analytics.limits().max_rows;
    let body = Body::from_stream(encode(answer, format));
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (MAX_ROWS_HEADER, max_rows.to_string()),
        ],
        body,
    )
        .into_response())
}

/// Announces the row limit of the answer; an answer that reaches it ends with an error.
pub const MAX_ROWS_HEADER: header::HeaderName =
    header::HeaderName::from_static("spotcheck-max-rows");

pub(crate) fn query_error(error: QueryError) -> ApiError {
    match error {
        QueryError::NotAQuery(message) => {
            ApiError::forbidden(format!("only queries are allowed: {message}"))
        }
        QueryError::TimedOut(_) => ApiError::new(StatusCode::REQUEST_TIMEOUT, error.to_string()),
        QueryError::OutOfMemory { .. } | QueryError::TooManyRows(_) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, error.to_string())
        }
        QueryError::Lake { .. } => ApiError::internal(error.to_string()),
        QueryError::Invalid(_) | QueryError::TooComplex(_) | QueryError::AsOf(_) => {
            ApiError::bad_request(error.to_string())
        }
    }
}

/// The format an `Accept` header asks for (JSON unless it names CSV or an Arrow stream).
fn format_of(accept: &str) -> Format {
    if accept.contains(ARROW_STREAM) {
        Format::Arrow
    } else if accept.contains("text/csv") {
        Format::Csv
    } else {
        Format::Json
    }
}

/// The answer encoded batch by batch, so the first rows leave while the query runs. An error
/// after the first bytes (the time or row limit) cannot change the status any more, so the
/// answer says it in a way no client takes for a whole answer: JSON and CSV end with a line
/// `"error: …` (JSON that does not parse; a quote CSV readers find unclosed), the Arrow stream
/// breaks off without its end marker.
fn encode(
    answer: Answer,
    format: Format,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send {
    enum State {
        Running(Box<(Answer, Encoder)>),
        Done,
    }
    let encoder = Encoder::new(format, answer.schema.clone());
    let start = State::Running(Box::new((answer, encoder)));
    futures::stream::unfold(start, |state| async move {
        match state {
            State::Done => None,
            State::Running(running) => {
                let (mut answer, mut encoder) = *running;
                match answer.next().await {
                    Some(Ok(batch)) => match encoder.batch(&batch) {
                        Ok(bytes) => Some((
                            Ok(bytes.into()),
                            State::Running(Box::new((answer, encoder))),
                        )),
                        Err(e) => Some((Err(std::io::Error::other(e)), State::Done)),
                    },
                    None => Some((
                        encoder
                            .finish()
                            .map(bytes::Bytes::from)
                            .map_err(std::io::Error::other),
                        State::Done,
                    )),
                    Some(Err(error)) => {
                        tracing::warn!(%error, "an SQL answer ended early");
                        let reason = error.to_string();
                        match encoder.failure(&reason) {
                            Some(line) => Some((Ok(line.into()), State::Done)),
                            None => Some((Err(std::io::Error::other(reason)), State::Done)),
                        }
                    }
                }
            }
        }
    })
}

//! `POST /v1/plan/check`: the sampling-plan check an organiser runs before anyone travels.

use crate::app::App;
use crate::body;
use crate::error::ApiError;
use crate::guard::{Admins, Require};
use crate::routes::sql::query_error;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use spotcheck_analytics::{Analytics, PlannedSampling, SuggestQuery};
use std::sync::Arc;

/// Most planned samplings one request may check.
const MAX_PLANNED: usize = 10_000;

/// Which planned samplings would break the six-month rule, or sample a producer without the
/// licence its category needs.
///
/// The body is a JSON list of planned samplings
/// `{"organiser","producer_name","producer_uscc","category","brand","model","standards":[...],"date":"YYYY-MM-DD","follow_up":false}`
/// (`producer_uscc` and `category` optional: with both, the licence is checked too); the answer
/// lists, for each planned sampling that breaks a rule, its warnings as the `warnings` view has
/// them: `{"checked":N,"conflicts":[{"index":0,"warnings":[{"kind":"six_month_repeat","message",
/// "earlier":{"report_no","lab_id","sampling_date","verdict"}},{"kind":"licence_missing","message",
/// "licence_required"}]}]}`.
#[utoipa::path(
    post,
    path = "/v1/plan/check",
    tag = "analytics",
    request_body(description = "A JSON list of planned samplings", content_type = "application/json", content = Vec<Object>),
    responses(
        (status = 200, description = "The planned samplings that would repeat an earlier one within six months", body = Object),
        (status = 400, description = "Not a list of planned samplings", body = crate::error::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin token", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn check_plan(
    _: Require<Admins>,
    State(app): State<App>,
    State(lake): State<Arc<Analytics>>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let bytes = body::read(body, app.limits).await?;
    let planned: Vec<PlannedSampling> = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be a JSON list of planned samplings \
             ({{\"organiser\",\"producer_name\",\"brand\",\"model\",\"standards\",\"date\",\"follow_up\"}}): {e}"
        ))
    })?;
    if planned.len() > MAX_PLANNED {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_PLANNED} planned samplings per request"),
        ));
    }
    let analytics = &lake;
    let findings = analytics.plan_check(&planned).await.map_err(query_error)?;
    let mut conflicts: Vec<Value> = Vec::new();
    for finding in findings {
        let index = finding.index;
        let warning = json!(finding);
        match conflicts.last_mut() {
            Some(last) if last["index"] == index => {
                if let Some(list) = last["warnings"].as_array_mut() {
                    list.push(warning);
                }
            }
            _ => conflicts.push(json!({"index": index, "warnings": [warning]})),
        }
    }
    Ok(Json(
        json!({"checked": planned.len(), "conflicts": conflicts}),
    ))
}

/// The query of `GET /v1/plan/suggest`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SuggestParams {
    /// The quarter planned, e.g. `2027Q1`: recency and the six-month rule count back from its
    /// first day.
    pub quarter: String,
    /// A division-code prefix (`120104`); every district when absent.
    pub district: Option<String>,
    /// The organiser planning: units it sampled within six months are left out unless the
    /// sampling failed (then listed as follow-ups).
    pub organiser: Option<String>,
    /// How many units (default 100, at most 5,000).
    pub limit: Option<usize>,
    /// `json` (default) or `xlsx`.
    pub format: Option<String>,
}

/// Where to sample next: the units of a district ranked by risk, each with its reasons.
///
/// Points (documented in `query/analytics/src/suggest.rs`): failures in the last 12 months
/// and before, open and overdue cases, the category's failure rate, time since the last
/// sampling, a missing licence, a rural or urban-rural-fringe location. JSON
/// `{"quarter","as_of","items":[{"rank","uscc","name","district","category","score","follow_up","reasons":[...]}]}`
/// or the same as a workbook (`format=xlsx`).
#[utoipa::path(
    get,
    path = "/v1/plan/suggest",
    tag = "analytics",
    params(SuggestParams),
    responses(
        (status = 200, description = "The ranked units", body = Object),
        (status = 400, description = "Not a quarter, or an unknown format", body = crate::error::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin token", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn suggest(
    _: Require<Admins>,
    State(lake): State<Arc<Analytics>>,
    crate::error::ApiQuery(params): crate::error::ApiQuery<SuggestParams>,
) -> Result<Response, ApiError> {
    let quarter = spotcheck_reports::report::Quarter::parse(&params.quarter).ok_or_else(|| {
        ApiError::bad_request(format!(
            "quarter '{}' is not a quarter: write it as 2027Q1",
            params.quarter
        ))
    })?;
    let analytics = &lake;
    let query = SuggestQuery {
        as_of: quarter.bounds().0,
        district: params.district,
        organiser: params.organiser,
        limit: params.limit.unwrap_or(100).clamp(1, 5_000),
    };
    let items = analytics.suggest(&query).await.map_err(query_error)?;
    match params.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(json!({
            "quarter": quarter.to_string(),
            "as_of": query.as_of,
            "items": items,
        }))
        .into_response()),
        "xlsx" => {
            let bytes = spotcheck_reports::plan::suggestions_xlsx(&items)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            Ok((
                [
                    (
                        axum::http::header::CONTENT_TYPE,
                        crate::body::XLSX.to_owned(),
                    ),
                    (
                        axum::http::header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"plan-{quarter}.xlsx\""),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        other => Err(ApiError::bad_request(format!(
            "format '{other}' is not json or xlsx"
        ))),
    }
}

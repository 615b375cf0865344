//! `GET /v1/cases/{case_id}` and `GET /v1/cases?uscc=&status=`: traceback cases as last
//! published, read from the traceback stage's state (admin and analyst).

use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::guard::{AdminsAndAnalysts, Require};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use spotcheck_schemas::Case;
use spotcheck_schemas::case::CaseStatus;
use spotcheck_traceback::Store;
use std::sync::Arc;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseFilter {
    /// Cases in which this unit appears (as sampled unit, upstream or downstream).
    pub uscc: Option<String>,
    /// open | retest | final | rectifying | escalated | suspended | revocation_referred | closed | overturned | revoked
    #[param(value_type = Option<String>)]
    pub status: Option<CaseStatus>,
}

/// One case, newest revision.
#[utoipa::path(
    get,
    path = "/v1/cases/{case_id}",
    tag = "traceback",
    params(("case_id" = String, Path, description = "Derived from (lab_id, report_no)")),
    responses(
        (status = 200, description = "The case", body = Object),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin or analyst token", body = crate::error::ErrorBody),
        (status = 404, description = "No such case", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_case(
    _: Require<AdminsAndAnalysts>,
    State(store): State<Arc<Store>>,
    ApiPath(case_id): ApiPath<String>,
) -> Result<Json<Case>, ApiError> {
    let case = store.case(&case_id).map_err(unreadable)?;
    case.map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("there is no case {case_id}")))
}

/// Cases, newest revision each, optionally of one unit and in one status: `{"items": [...]}`.
#[utoipa::path(
    get,
    path = "/v1/cases",
    tag = "traceback",
    params(CaseFilter),
    responses(
        (status = 200, description = "`{\"items\": [case...]}`, ordered by case_id", body = Object),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin or analyst token", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_cases(
    _: Require<AdminsAndAnalysts>,
    State(store): State<Arc<Store>>,
    ApiQuery(filter): ApiQuery<CaseFilter>,
) -> Result<Json<Value>, ApiError> {
    let read = match &filter.uscc {
        Some(uscc) => store.cases_of_unit(uscc.trim()),
        None => store.cases(),
    };
    let mut items = read.map_err(unreadable)?;
    if let Some(status) = &filter.status {
        items.retain(|case| case.status == *status);
    }
    Ok(Json(json!({ "items": items })))
}

/// The identification queue: parties named without a credit code that neither the registry nor
/// an official has identified yet, grouped by name, with the cases waiting on each. An admin
/// resolves a name with a disposition of kind `identified` (`name`, `uscc`); registering the
/// unit (`PUT /v1/units/{uscc}`) under the same name does too.
#[utoipa::path(
    get,
    path = "/v1/identifications",
    tag = "traceback",
    responses(
        (status = 200, description = "`{\"items\": [{\"name\", \"name_key\", \"district\", \"address\", \"waiting_cases\", \"cases\": [{\"case_id\", \"report_no\", \"lab_id\", \"role\", \"reason\"}]}], \"waiting_cases\": N}`", body = Object),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin or analyst token", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_identifications(
    _: Require<AdminsAndAnalysts>,
    State(store): State<Arc<Store>>,
) -> Result<Json<Value>, ApiError> {
    let items = store
        .identifications()
        .map_err(|e| ApiError::internal(format!("cannot read the identification queue: {e}")))?;
    let waiting: u64 = items
        .iter()
        .filter_map(|item| item["waiting_cases"].as_u64())
        .sum();
    Ok(Json(json!({ "items": items, "waiting_cases": waiting })))
}

fn unreadable(error: spotcheck_traceback::store::StoreError) -> ApiError {
    ApiError::internal(format!("cannot read the cases: {error}"))
}

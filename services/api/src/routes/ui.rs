//! What officials look at: the case pages (`/ui/cases`, `/ui/cases/{case_id}`, for admins and
//! analysts), the work list (`/ui/todo`), a unit's credit archive (`/ui/units/{uscc}`, `GET /v1/units/{uscc}/archive`) and
//! the batch trace export (`GET /v1/trace-export`, for admins). All read the lake.
//!
//! The pages take the same bearer token as the API: put them behind the reverse proxy that signs
//! officials in and adds the `Authorization` header (SECURITY.md).

use crate::app::App;
use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::guard::{Admins, AdminsAndAnalysts, Require};
use crate::routes::sql::query_error;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use spotcheck_analytics::Analytics;
use spotcheck_reports::{ReportError, notice};
use spotcheck_schemas::keys::BatchKey;
use spotcheck_traceback::Authority;
use std::sync::Arc;

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// The batch: producer/model/batch (a `/` inside a part written `%2F`).
    pub batch: String,
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
    /// `true`: CSV for programs, values exactly as recorded. By default a value a spreadsheet
    /// would run as a formula is written as text with a leading `'`.
    pub raw: Option<bool>,
}

/// Every hop of one batch as a sortable spreadsheet.
///
/// One row per shipment of the batch: its level in the distribution tree, date, sender and
/// receiver with their districts, quantity, where the receiver stands in the batch's case, and
/// the case's status. CSV (`text/csv`) or XLSX with filters on every column.
#[utoipa::path(
    get,
    path = "/v1/trace-export",
    tag = "traceback",
    params(ExportQuery),
    responses(
        (status = 200, description = "The spreadsheet", content_type = "text/csv"),
        (status = 400, description = "Not a batch, or an unknown format", body = crate::error::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin token", body = crate::error::ErrorBody),
        (status = 404, description = "The lake has nothing of this batch", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn trace_export(
    _: Require<Admins>,
    State(lake): State<Arc<Analytics>>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let batch = BatchKey::parse(&query.batch).ok_or_else(|| {
        ApiError::bad_request("batch must be producer/model/batch (a `/` inside a part as %2F)")
    })?;
    let xlsx = match query.format.as_deref().unwrap_or("csv") {
        "csv" => false,
        "xlsx" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "format must be csv or xlsx, not {other:?}"
            )));
        }
    };
    let trace = spotcheck_reports::trace::trace(&lake, &batch)
        .await
        .map_err(report_error)?;
    let (bytes, content_type, extension) = if xlsx {
        (trace.to_xlsx().map_err(report_error)?, XLSX, "xlsx")
    } else {
        (
            match query.raw.unwrap_or(false) {
                true => trace.to_csv_raw(),
                false => trace.to_csv(),
            }
            .map_err(report_error)?,
            "text/csv; charset=utf-8",
            "csv",
        )
    };
    let disposition = format!("attachment; filename=\"trace.{extension}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// One of the four notices (三书一函) of a case, as a document to edit and serve.
///
/// `{file}` is the notice's number on the case page (from 1) and the format: `1.docx` (Word,
/// for WPS or Word) or `1.html` (a printable A4 page). The recipient with name and USCC, the
/// product and batch, the failed items with the standard's clause and the required and measured
/// values, the legal basis, the time limit and the issuing bureau, in Chinese.
#[utoipa::path(
    get,
    path = "/v1/cases/{case_id}/notices/{file}",
    tag = "traceback",
    params(
        ("case_id" = String, Path, description = "The case"),
        ("file" = String, Path, description = "`{n}.docx` or `{n}.html`: the case's n-th notice"),
    ),
    responses(
        (status = 200, description = "The notice", content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (status = 400, description = "Not `{n}.docx` or `{n}.html`", body = crate::error::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin token", body = crate::error::ErrorBody),
        (status = 404, description = "No such case or notice in the lake", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn notice_document(
    _: Require<Admins>,
    State(app): State<App>,
    State(lake): State<Arc<Analytics>>,
    State(authority): State<Arc<Authority>>,
    ApiPath((case_id, file)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let shape = || ApiError::bad_request("the notice is {n}.docx or {n}.html, n from 1");
    let (number, format) = file.rsplit_once('.').ok_or_else(shape)?;
    let number: usize = number.parse().ok().filter(|n| *n > 0).ok_or_else(shape)?;
    if !matches!(format, "docx" | "html") {
        return Err(shape());
    }
    let document = notice::notice(&lake, &case_id, number, app.today(), &authority)
        .await
        .map_err(report_error)?;
    if format == "html" {
        return Ok(Html(document.to_html().map_err(report_error)?).into_response());
    }
    let bytes = document.to_docx().map_err(report_error)?;
    // The Chinese title in the RFC 5987 form, an ASCII name for clients that know only that.
    let name = format!("{}-{}-{number}.docx", document.title, document.case_id);
    let disposition = format!(
        "attachment; filename=\"notice-{number}.docx\"; filename*=UTF-8''{}",
        percent_encode(&name)
    );
    Ok((
        [
            (header::CONTENT_TYPE, DOCX.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// `text` percent-encoded for a header parameter (RFC 5987: unreserved characters as they are).
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The list of cases.
pub async fn cases_page(
    _: Require<AdminsAndAnalysts>,
    State(lake): State<Arc<Analytics>>,
) -> Result<Html<String>, ApiError> {
    let page = spotcheck_reports::case_page::list_page(&lake)
        .await
        .map_err(report_error)?;
    Ok(Html(page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TodoQuery {
    /// Only what concerns units whose district code starts with this (e.g. 120104).
    pub district: Option<String>,
}

/// The work list: notices to serve, steps due and re-checks, earliest time limit first.
pub async fn todo_page(
    _: Require<AdminsAndAnalysts>,
    State(app): State<App>,
    State(lake): State<Arc<Analytics>>,
    ApiQuery(query): ApiQuery<TodoQuery>,
) -> Result<Html<String>, ApiError> {
    let district = query.district.as_deref().map(str::trim);
    if district.is_some_and(|d| d.is_empty() || !d.chars().all(|c| c.is_ascii_digit())) {
        return Err(ApiError::bad_request(
            "district must be a division code or its prefix (digits), e.g. 120104",
        ));
    }
    let page = spotcheck_reports::todo::todo_page(&lake, district, app.today())
        .await
        .map_err(report_error)?;
    Ok(Html(page))
}

/// One case, with its distribution graph.
pub async fn case_page(
    _: Require<AdminsAndAnalysts>,
    State(lake): State<Arc<Analytics>>,
    ApiPath(case_id): ApiPath<String>,
) -> Result<Html<String>, ApiError> {
    let page = spotcheck_reports::case_page::case_page(&lake, &case_id)
        .await
        .map_err(report_error)?;
    Ok(Html(page))
}

/// A unit's quality-safety credit archive (产品质量安全信用档案): registration, licences, and
/// every result, case, notice, disclosure, retraction, referral and plan warning concerning it,
/// in date order — the rows of the `archive` view of that USCC, with the registry entry.
#[utoipa::path(
    get,
    path = "/v1/units/{uscc}/archive",
    tag = "traceback",
    params(("uscc" = String, Path, description = "The unit's USCC")),
    responses(
        (status = 200, description = "`{\"uscc\", \"unit\": {name, address, district, roles, licences} | null, \"events\": [{on_date, event, report_no, lab_id, case_id, status, kind, detail}]}`", body = Object),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin or analyst token", body = crate::error::ErrorBody),
        (status = 404, description = "The lake knows nothing of the unit", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn unit_archive(
    _: Require<AdminsAndAnalysts>,
    State(lake): State<Arc<Analytics>>,
    ApiPath(uscc): ApiPath<String>,
) -> Result<axum::Json<spotcheck_reports::archive::Archive>, ApiError> {
    let archive = spotcheck_reports::archive::archive(&lake, &uscc)
        .await
        .map_err(report_error)?;
    Ok(axum::Json(archive))
}

/// A unit's credit archive as a DOCX for its file (the page's content, to open in WPS or Word).
#[utoipa::path(
    get,
    path = "/v1/units/{uscc}/archive.docx",
    tag = "traceback",
    params(("uscc" = String, Path, description = "The unit's USCC")),
    responses(
        (status = 200, description = "The archive", content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin or analyst token", body = crate::error::ErrorBody),
        (status = 404, description = "The lake knows nothing of the unit", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn unit_archive_docx(
    _: Require<AdminsAndAnalysts>,
    State(lake): State<Arc<Analytics>>,
    ApiPath(uscc): ApiPath<String>,
) -> Result<Response, ApiError> {
    let bytes = spotcheck_reports::archive::archive_docx(&lake, &uscc)
        .await
        .map_err(report_error)?;
    let disposition = format!(
        "attachment; filename=\"archive-{}.docx\"",
        percent_encode(&uscc)
    );
    Ok((
        [
            (header::CONTENT_TYPE, DOCX.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// The archive of a unit as a page in Chinese.
pub async fn unit_page(
    _: Require<AdminsAndAnalysts>,
    State(lake): State<Arc<Analytics>>,
    ApiPath(uscc): ApiPath<String>,
) -> Result<Html<String>, ApiError> {
    let page = spotcheck_reports::archive::archive_page(&lake, &uscc)
        .await
        .map_err(report_error)?;
    Ok(Html(page))
}

fn report_error(error: ReportError) -> ApiError {
    match error {
        ReportError::Query(error) => query_error(error),
        ReportError::NotFound(message) => ApiError::new(StatusCode::NOT_FOUND, message),
        ReportError::NotYet(message) => ApiError {
            retry_after: Some(2),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
        },
        other => ApiError::internal(other.to_string()),
    }
}

//! `POST /v1/results`: labs post sampling results.

use crate::body::XLSX;
use crate::error::ApiError;
use crate::guard::{Labs, LabsAndAdmins, Require};
use crate::submit::{Desk, submit};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use spotcheck_schemas::SamplingResult;

/// Post one result (a JSON object) or many (a JSON array, NDJSON, CSV, or a workbook).
///
/// Each record is validated and answered on its own: `accepted` (the broker acknowledged it),
/// `duplicate` (the same report was accepted before) or rejected with its line number and field
/// errors. A single object that is invalid answers 422, a conflicting one 409.
///
/// A lab's result sheet — an .xlsx or Excel 97-2003 .xls workbook, or CSV (UTF-8 or GB18030) —
/// with the Chinese headers of bulletins (报告编号, 产品名称, 被抽样单位, 统一社会信用代码, 标称生产企业,
/// 规格型号, 生产日期/批号, 抽样日期, 检验日期, 检验结论, 主要不合格项目…; see the template) is read row by row:
/// `line` is the sheet's row number, each error names its `column` as the sheet writes it, the
/// lab is the token's, and headers no field takes are listed in `ignored_columns`.
#[utoipa::path(
    post,
    path = "/v1/results",
    tag = "ingest",
    request_body(
        description = "One result as JSON; many as a JSON array, NDJSON (application/x-ndjson), CSV (text/csv: flattened field names, items as items_json; or the Chinese headers of a result sheet) or a workbook (.xlsx, or Excel 97-2003 .xls) with the Chinese headers",
        content(
            (ref("#/components/schemas/SamplingResult") = "application/json"),
            (String = "application/x-ndjson"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Vec<u8> = "application/vnd.ms-excel"),
        ),
    ),
    responses(
        (status = 202, description = "Every accepted record is durably in Kafka", body = crate::submit::SubmitResponse),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not a lab token, or a lab_id other than the token's lab", body = crate::error::ErrorBody),
        (status = 409, description = "A single result conflicting with one accepted before", body = crate::error::ErrorBody),
        (status = 400, description = "A body that cannot be read at all: a sheet without a header row of result columns, or without a required column", body = crate::error::ErrorBody),
        (status = 413, description = "Body or record count over the limit", body = crate::error::ErrorBody),
        (status = 415, description = "Unsupported content type", body = crate::error::ErrorBody),
        (status = 422, description = "A single result that is invalid", body = crate::error::ErrorBody),
        (status = 503, description = "The broker is unavailable; retry after Retry-After seconds", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_results(
    Require(caller, _): Require<Labs>,
    State(desk): State<Desk>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit::<SamplingResult>(&desk, caller, &headers, body).await
}

/// The result workbook to fill in: the sheet 抽查结果 with every column `POST /v1/results` reads
/// (required ones highlighted, drop-downs for categories, districts, verdicts…) and the sheet
/// 填写说明 with each column's other accepted names and how to fill it.
#[utoipa::path(
    get,
    path = "/v1/results/template.xlsx",
    tag = "ingest",
    responses(
        (status = 200, description = "The template workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not a lab or admin token", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn result_template(_: Require<LabsAndAdmins>) -> Response {
    let answer = crate::template::result_template()
        .map_err(|e| ApiError::internal(format!("cannot write the template: {e}")));
    match answer {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, XLSX),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"result-template.xlsx\"; filename*=UTF-8''%E6%8A%BD%E6%9F%A5%E7%BB%93%E6%9E%9C%E6%A8%A1%E6%9D%BF.xlsx",
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

//! Ledgers and officials post the other records: shipments, units, dispositions. They go the same
//! way as results (`crate::submit`): validated, de-duplicated by record id, published durably.

use crate::error::ApiPath;
use crate::guard::{Admins, InspectorsAndAdmins, LedgersAndAdmins, Require};
use crate::submit::{Desk, submit, submit_at};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use spotcheck_schemas::{Disposition, Inspection, Shipment, Unit};

/// Post shipments (one hop of a batch each) as a JSON object, a JSON array or NDJSON.
///
/// Answered per record like results, keyed by `shipment_id`.
#[utoipa::path(
    post,
    path = "/v1/shipments",
    tag = "ingest",
    request_body(
        description = "One shipment as JSON; many as a JSON array or NDJSON (application/x-ndjson)",
        content(
            (ref("#/components/schemas/Shipment") = "application/json"),
            (String = "application/x-ndjson"),
        ),
    ),
    responses(
        (status = 202, description = "Every accepted record is durably in Kafka", body = crate::submit::SubmitResponse),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not a ledger or admin token", body = crate::error::ErrorBody),
        (status = 409, description = "A single shipment conflicting with one accepted before", body = crate::error::ErrorBody),
        (status = 413, description = "Body or record count over the limit", body = crate::error::ErrorBody),
        (status = 422, description = "A single shipment that is invalid", body = crate::error::ErrorBody),
        (status = 503, description = "The broker is unavailable; retry after Retry-After seconds", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_shipments(
    Require(caller, _): Require<LedgersAndAdmins>,
    State(desk): State<Desk>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit::<Shipment>(&desk, caller, &headers, body).await
}

/// Register or update one unit of the registry (producer or seller).
///
/// The body may omit `uscc`; if given it must equal the one in the path. Sending the same content
/// again answers `duplicate`.
#[utoipa::path(
    put,
    path = "/v1/units/{uscc}",
    tag = "ingest",
    params(("uscc" = String, Path, description = "The unit's unified social credit code (GB 32100)")),
    request_body(content = ref("#/components/schemas/Unit"), content_type = "application/json"),
    responses(
        (status = 200, description = "Stored durably in Kafka", body = crate::submit::SubmitResponse),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin token", body = crate::error::ErrorBody),
        (status = 422, description = "The unit is invalid", body = crate::error::ErrorBody),
        (status = 503, description = "The broker is unavailable; retry after Retry-After seconds", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put_unit(
    Require(caller, _): Require<Admins>,
    State(desk): State<Desk>,
    ApiPath(uscc): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut response = submit_at::<Unit>(&desk, caller, &headers, body, Some(uscc)).await;
    // An upsert of one resource is answered 200 (docs/contract.md §3), with the same body as a post.
    if response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::OK;
    }
    response
}

/// Report one case event (served, objection, re-test, rectification, re-check, notice...).
#[utoipa::path(
    post,
    path = "/v1/dispositions",
    tag = "ingest",
    request_body(content = ref("#/components/schemas/Disposition"), content_type = "application/json"),
    responses(
        (status = 202, description = "Stored durably in Kafka", body = crate::submit::SubmitResponse),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin token", body = crate::error::ErrorBody),
        (status = 409, description = "The disposition_id was used before with other content", body = crate::error::ErrorBody),
        (status = 422, description = "The disposition is invalid", body = crate::error::ErrorBody),
        (status = 503, description = "The broker is unavailable; retry after Retry-After seconds", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_dispositions(
    Require(caller, _): Require<Admins>,
    State(desk): State<Desk>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit::<Disposition>(&desk, caller, &headers, body).await
}

/// Record on-site inspections (现场检查): the unit, place, day, inspectors and findings, as a
/// JSON object, a JSON array or NDJSON.
///
/// Answered per record like results, keyed by `inspection_id`. Each finding opens a case
/// (`lab_id` `inspection`, `report_no` `<inspection_id>/<n>`; every refusal of one unit meets in
/// the case `refusal/<uscc>`): a major hidden danger is put under listed supervision the same
/// day, a product finding is traced through its batch or to its supplier.
#[utoipa::path(
    post,
    path = "/v1/inspections",
    tag = "ingest",
    request_body(
        description = "One inspection as JSON; many as a JSON array or NDJSON (application/x-ndjson)",
        content(
            (ref("#/components/schemas/Inspection") = "application/json"),
            (String = "application/x-ndjson"),
        ),
    ),
    responses(
        (status = 202, description = "Every accepted record is durably in Kafka", body = crate::submit::SubmitResponse),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an inspector or admin token", body = crate::error::ErrorBody),
        (status = 409, description = "A single inspection conflicting with one accepted before", body = crate::error::ErrorBody),
        (status = 413, description = "Body or record count over the limit", body = crate::error::ErrorBody),
        (status = 422, description = "A single inspection that is invalid", body = crate::error::ErrorBody),
        (status = 503, description = "The broker is unavailable; retry after Retry-After seconds", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_inspections(
    Require(caller, _): Require<InspectorsAndAdmins>,
    State(desk): State<Desk>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit::<Inspection>(&desk, caller, &headers, body).await
}

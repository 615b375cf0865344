//! The OpenAPI description, generated from the handlers' annotations; the record schemas are the
//! JSON Schema files of `schemas/json/`, themselves generated from the record types
//! (`spotcheck_schemas::json_schemas`), so types, files and API cannot drift apart.

use crate::guard::Public;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "spotcheck",
        description = "Product-quality spot checks: labs post results, ledgers post shipments, officials drive cases, analysts query, the credit system reads disclosures. Every /v1 route needs `Authorization: Bearer TOKEN`. Errors have the body {\"error\": \"...\", \"errors\": [...]}."
    ),
    paths(
        crate::routes::results::post_results,
        crate::routes::results::result_template,
        crate::routes::records::post_shipments,
        crate::routes::records::put_unit,
        crate::routes::records::post_dispositions,
        crate::routes::records::post_inspections,
        crate::routes::cases::get_case,
        crate::routes::cases::list_cases,
        crate::routes::cases::list_identifications,
        crate::routes::disclosures::get_disclosures,
        crate::routes::sql::post_sql,
        crate::routes::plan::check_plan,
        crate::routes::plan::suggest,
        crate::routes::ui::trace_export,
        crate::routes::ui::notice_document,
        crate::routes::ui::unit_archive,
        crate::routes::ui::unit_archive_docx,
        crate::routes::system::metrics,
        crate::routes::system::healthz,
        crate::routes::system::readyz,
        crate::openapi::serve,
    ),
    components(schemas(crate::submit::SubmitResponse, crate::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes every process serves, whatever its components.
pub const OPERATIONAL: &[&str] = &["/metrics", "/healthz", "/readyz", "/openapi.json"];

/// A process's description, built once when its router is assembled: the document of every
/// route, cut down to the paths this process serves.
#[derive(Clone)]
pub struct Description(Bytes);

impl Description {
    pub fn of(served: &[&str]) -> Self {
        let mut document = document();
        if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
            paths.retain(|path, _| served.contains(&path.as_str()));
        }
        Description(Bytes::from(
            serde_json::to_vec(&document).unwrap_or_default(),
        ))
    }
}

/// The document of every route, as `spotcheck up` serves them all.
fn document() -> Value {
    let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    if let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, text) in spotcheck_schemas::json_schemas::ALL {
            if let Ok(Value::Object(mut schema)) = serde_json::from_str::<Value>(text) {
                // Identity keywords of the standalone files do not belong inside the document.
                schema.remove("$schema");
                schema.remove("$id");
                schemas.insert((*name).to_owned(), Value::Object(schema));
            }
        }
    }
    document
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn serve(_: Public, State(Description(document)): State<Description>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document).into_response()
}

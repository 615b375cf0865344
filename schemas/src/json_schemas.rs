//! The JSON Schemas of the records, generated from their Rust types (schemars): a field, its
//! type, whether it may be left out and its description are said once, on the type. The files
//! of `schemas/json/` are this module's output, written by
//! `SPOTCHECK_WRITE_SCHEMAS=1 cargo test --workspace --test json_schema_files` and checked by
//! the same test, so labs can validate a record before they post it.
//!
//! Beyond what the types say, the schemas carry the rules every parser applies to every record
//! (`Rules`): text is 1 to [`MAX_TEXT_CHARS`] characters, dates are `YYYY-MM-DD`, and a record
//! has no fields but its own. Rules across fields (a fail needs a failing item…) are in each
//! record's description and its parser.

use crate::reader::MAX_TEXT_CHARS;
use schemars::generate::SchemaSettings;
use schemars::transform::{Transform, transform_subschemas};
use schemars::{JsonSchema, Schema};
use serde_json::{Value, json};

pub const RESULT: &str = include_str!("../json/result.schema.json");
pub const SHIPMENT: &str = include_str!("../json/shipment.schema.json");
pub const UNIT: &str = include_str!("../json/unit.schema.json");
pub const DISPOSITION: &str = include_str!("../json/disposition.schema.json");
pub const INSPECTION: &str = include_str!("../json/inspection.schema.json");
pub const CASE: &str = include_str!("../json/case.schema.json");
pub const DISCLOSURE: &str = include_str!("../json/disclosure.schema.json");

/// (component name, schema text) of every record, for the OpenAPI description.
pub const ALL: &[(&str, &str)] = &[
    ("SamplingResult", RESULT),
    ("Shipment", SHIPMENT),
    ("Unit", UNIT),
    ("Disposition", DISPOSITION),
    ("Inspection", INSPECTION),
    ("Case", CASE),
    ("Disclosure", DISCLOSURE),
];

/// Every record's schema as generated from its type: (file name in `schemas/json/`, schema).
pub fn generated() -> Vec<(&'static str, Value)> {
    vec![
        (
            "result.schema.json",
            schema_of::<crate::SamplingResult>("result"),
        ),
        (
            "shipment.schema.json",
            schema_of::<crate::Shipment>("shipment"),
        ),
        ("unit.schema.json", schema_of::<crate::Unit>("unit")),
        (
            "disposition.schema.json",
            schema_of::<crate::Disposition>("disposition"),
        ),
        (
            "inspection.schema.json",
            schema_of::<crate::Inspection>("inspection"),
        ),
        ("case.schema.json", schema_of::<crate::Case>("case")),
        (
            "disclosure.schema.json",
            schema_of::<crate::Disclosure>("disclosure"),
        ),
    ]
}

/// The standalone schema of `T` (draft 2020-12, no references: each file stands alone).
fn schema_of<T: JsonSchema>(name: &str) -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|settings| settings.inline_subschemas = true)
        .with_transform(Rules)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>();
    schema.insert(
        "$id".into(),
        json!(format!(
            "https://spotcheck.example/schemas/{name}.schema.json"
        )),
    );
    schema.to_value()
}

/// The rules every parser applies to every field of its kind (see the module's description).
#[derive(Clone)]
struct Rules;

impl Transform for Rules {
    fn transform(&mut self, schema: &mut Schema) {
        transform_subschemas(self, schema);
        let Some(object) = schema.as_object_mut() else {
            return;
        };
        if object.contains_key("properties") {
            object.insert("additionalProperties".into(), json!(false));
        }
        // Text that must be given is not empty; text that may be left out may be `""` (absent).
        let required = match object.get("type") {
            Some(Value::String(kind)) if kind == "string" => true,
            Some(Value::Array(kinds)) if kinds.contains(&json!("string")) => false,
            _ => return,
        };
        if object.get("format") == Some(&json!("date")) {
            object.insert("pattern".into(), json!("^[0-9]{4}-[0-9]{2}-[0-9]{2}$"));
        } else if !["enum", "const", "pattern", "format"]
            .iter()
            .any(|key| object.contains_key(*key))
        {
            if required {
                object.insert("minLength".into(), json!(1));
            }
            object.insert("maxLength".into(), json!(MAX_TEXT_CHARS));
        }
    }
}

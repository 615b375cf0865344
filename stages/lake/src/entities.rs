//! The lake tables of the records other than results: shipments, units, dispositions, cases (and
//! their units), disclosures, inspections. Each record becomes one or more flat JSON rows, decoded into Arrow
//! by the table's schema (dates as dates, times as UTC timestamps).
//!
//! Entities that change are stored as versions (`unit_versions`, `case_revisions`,
//! `case_unit_revisions`, `case_subject_revisions`, one row per record); analytics' views
//! `units`, `cases`, `case_units`, `case_subjects` and `identifications` show the latest version
//! per key.

use crate::tables::Source;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use serde_json::{Value, json};
use spotcheck_schemas::topics;
use spotcheck_schemas::{Case, Disclosure, Disposition, Inspection, Shipment, Unit};
use std::sync::Arc;

pub const SHIPMENTS: &str = "shipments";
pub const UNIT_VERSIONS: &str = "unit_versions";
pub const DISPOSITIONS: &str = "dispositions";
pub const CASE_REVISIONS: &str = "case_revisions";
pub const CASE_UNIT_REVISIONS: &str = "case_unit_revisions";
pub const CASE_SUBJECT_REVISIONS: &str = "case_subject_revisions";
pub const DISCLOSURES: &str = "disclosures";
/// One row per finding of an on-site inspection (one row with no `kind` for an inspection that
/// found nothing).
pub const INSPECTIONS: &str = "inspections";

/// Every entity table.
pub const TABLES: &[&str] = &[
    SHIPMENTS,
    UNIT_VERSIONS,
    DISPOSITIONS,
    CASE_REVISIONS,
    CASE_UNIT_REVISIONS,
    CASE_SUBJECT_REVISIONS,
    DISCLOSURES,
    INSPECTIONS,
];

/// The topics whose records land in entity tables.
pub const TOPICS: &[&str] = &[
    topics::SHIPMENTS,
    topics::UNITS,
    topics::DISPOSITIONS,
    topics::CASES,
    topics::CREDIT,
    topics::INSPECTIONS,
];

/// One row of an entity table: its table, values, and the offset of the record it came from.
#[derive(Debug, Clone)]
pub struct EntityRow {
    pub table: &'static str,
    pub values: Value,
    pub offset: i64,
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn date(name: &str) -> Field {
    Field::new(name, DataType::Date32, true)
}

fn source_fields() -> Vec<Field> {
    vec![
        text("record_id"),
        text("source_topic"),
        Field::new("source_partition", DataType::Int32, true),
        Field::new("source_offset", DataType::Int64, true),
    ]
}

/// The table's own columns, then where each row came from, then the columns that were Hive
/// directories before the lake became Delta tables (kept last, where SQL showed them).
fn with_source(table: &str, mut fields: Vec<Field>) -> SchemaRef {
    fields.extend(source_fields());
    match table {
        SHIPMENTS => fields.extend([text("category"), text("month")]),
        DISCLOSURES => fields.push(text("month")),
        // Added after the first release: last, as Delta adds a column.
        UNIT_VERSIONS => fields.push(text("area")),
        CASE_REVISIONS => fields.push(text("steps_json")),
        _ => {}
    }
    Arc::new(Schema::new(fields))
}

/// The schema of an entity table.
pub fn schema(table: &str) -> Option<SchemaRef> {
    let fields = match table {
        SHIPMENTS => vec![
            text("shipment_id"),
            text("batch_key"),
            text("producer_uscc"),
            text("producer_name"),
            text("model"),
            text("batch"),
            text("from_uscc"),
            text("from_name"),
            text("from_district"),
            text("to_uscc"),
            text("to_name"),
            text("to_district"),
            Field::new("quantity", DataType::Float64, true),
            text("unit"),
            date("shipped_on"),
        ],
        UNIT_VERSIONS => vec![
            text("uscc"),
            text("name"),
            text("address"),
            text("district"),
            text("roles"),
            text("licences_json"),
        ],
        DISPOSITIONS => vec![
            text("disposition_id"),
            text("case_id"),
            text("report_no"),
            text("lab_id"),
            text("kind"),
            date("on"),
            text("outcome"),
            text("note"),
        ],
        CASE_REVISIONS => vec![
            text("case_id"),
            Field::new("revision", DataType::Int64, true),
            text("report_no"),
            text("lab_id"),
            text("category"),
            text("batch_key"),
            text("producer_uscc"),
            text("producer_name"),
            text("model"),
            text("batch"),
            text("status"),
            text("origin_uscc"),
            text("origin_name"),
            text("origin_role"),
            Field::new("units", DataType::Int64, true),
            Field::new("referrals", DataType::Int64, true),
            Field::new("notices_proposed", DataType::Int64, true),
            date("objection_until"),
            date("final_on"),
            date("rectify_by"),
            date("recheck_by"),
            text("notices_json"),
            text("gaps_json"),
            updated_at(),
        ],
        CASE_UNIT_REVISIONS => vec![
            text("case_id"),
            Field::new("revision", DataType::Int64, true),
            text("uscc"),
            text("name"),
            text("role"),
            text("direction"),
            Field::new("hops", DataType::Int64, true),
            Field::new("quantity_received", DataType::Float64, true),
            text("district"),
            Field::new("in_region", DataType::Boolean, true),
            Field::new("referred", DataType::Boolean, true),
        ],
        CASE_SUBJECT_REVISIONS => vec![
            text("case_id"),
            Field::new("revision", DataType::Int64, true),
            text("report_no"),
            text("lab_id"),
            text("role"),
            text("name"),
            text("uscc"),
            text("identified_by"),
            text("disclosure"),
            text("reason"),
            updated_at(),
        ],
        DISCLOSURES => vec![
            text("disclosure_id"),
            text("action"),
            text("subject_uscc"),
            text("subject_name"),
            text("subject_role"),
            text("case_id"),
            text("report_no"),
            text("lab_id"),
            text("organiser"),
            text("category"),
            text("product_name"),
            text("model"),
            text("batch"),
            text("failed_items"),
            date("sampling_date"),
            date("final_on"),
            Field::new(
                "published_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            date("visible_until"),
            text("basis"),
        ],
        INSPECTIONS => vec![
            text("inspection_id"),
            text("organiser"),
            date("inspected_on"),
            text("inspectors"),
            text("unit_uscc"),
            text("unit_name"),
            text("unit_district"),
            text("unit_role"),
            text("place"),
            Field::new("finding_no", DataType::Int64, true),
            text("case_report_no"),
            text("kind"),
            text("description"),
            text("category"),
            text("product_name"),
            text("model"),
            text("batch"),
            text("producer_uscc"),
            text("producer_name"),
            text("supplier_uscc"),
            text("supplier_name"),
            text("standard"),
            text("quantity"),
            text("evidence"),
        ],
        _ => return None,
    };
    Some(with_source(table, fields))
}

fn updated_at() -> Field {
    Field::new(
        "updated_at",
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )
}

/// The rows one record becomes; `Err` names why it cannot be read (a dead letter).
pub fn rows_of(
    topic: &str,
    payload: &[u8],
    source: &Source,
    record_id: &str,
) -> Result<Vec<EntityRow>, String> {
    let stamp = |mut values: Value| {
        if let Value::Object(map) = &mut values {
            map.insert("record_id".into(), json!(record_id));
            map.insert("source_topic".into(), json!(source.topic));
            map.insert("source_partition".into(), json!(source.partition));
            map.insert("source_offset".into(), json!(source.offset));
        }
        values
    };
    let row = |table: &'static str, values: Value| EntityRow {
        table,
        values: stamp(values),
        offset: source.offset,
    };
    match topic {
        topics::SHIPMENTS => {
            let s: Shipment =
                serde_json::from_slice(payload).map_err(|e| format!("not a shipment: {e}"))?;
            Ok(vec![row(
                SHIPMENTS,
                json!({
                    "category": s.category, "month": s.shipped_on.format("%Y-%m").to_string(),
                    "shipment_id": s.shipment_id, "batch_key": s.batch_key().to_string(),
                    "producer_uscc": s.product.producer_uscc, "producer_name": s.product.producer_name,
                    "model": s.product.model, "batch": s.product.batch,
                    "from_uscc": s.from.uscc, "from_name": s.from.name, "from_district": s.from.district,
                    "to_uscc": s.to.uscc, "to_name": s.to.name, "to_district": s.to.district,
                    "quantity": s.quantity, "unit": s.unit, "shipped_on": s.shipped_on,
                }),
            )])
        }
        topics::UNITS => {
            let u: Unit =
                serde_json::from_slice(payload).map_err(|e| format!("not a unit: {e}"))?;
            let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
            Ok(vec![row(
                UNIT_VERSIONS,
                json!({
                    "uscc": u.uscc, "name": u.name, "address": u.address, "district": u.district,
                    "roles": roles.join(","), "licences_json": serde_json::to_string(&u.licences).unwrap_or_default(),
                    "area": u.area.map(spotcheck_schemas::Area::as_str),
                }),
            )])
        }
        topics::DISPOSITIONS => {
            let d: Disposition =
                serde_json::from_slice(payload).map_err(|e| format!("not a disposition: {e}"))?;
            Ok(vec![row(
                DISPOSITIONS,
                json!({
                    "disposition_id": d.disposition_id, "case_id": d.case_id(), "report_no": d.report_no,
                    "lab_id": d.lab_id, "kind": d.kind, "on": d.on, "outcome": d.outcome, "note": d.note,
                }),
            )])
        }
        topics::CASES => {
            let c: Case =
                serde_json::from_slice(payload).map_err(|e| format!("not a case: {e}"))?;
            Ok(case_rows(&c)
                .into_iter()
                .map(|(table, values)| row(table, values))
                .collect())
        }
        topics::CREDIT => {
            let d: Disclosure =
                serde_json::from_slice(payload).map_err(|e| format!("not a disclosure: {e}"))?;
            let failed: Vec<&str> = d.failed_items.iter().map(|i| i.name.as_str()).collect();
            Ok(vec![row(
                DISCLOSURES,
                json!({
                    "month": d.final_on.format("%Y-%m").to_string(),
                    "disclosure_id": d.disclosure_id, "action": d.action, "subject_uscc": d.subject.uscc,
                    "subject_name": d.subject.name, "subject_role": d.subject_role, "case_id": d.case_id,
                    "report_no": d.report_no, "lab_id": d.lab_id, "organiser": d.organiser,
                    "category": d.category, "product_name": d.product.name, "model": d.product.model,
                    "batch": d.product.batch, "failed_items": failed.join("; "),
                    "sampling_date": d.sampling_date, "final_on": d.final_on,
                    "published_at": d.published_at, "visible_until": d.visible_until, "basis": d.basis,
                }),
            )])
        }
        topics::INSPECTIONS => {
            let i: Inspection =
                serde_json::from_slice(payload).map_err(|e| format!("not an inspection: {e}"))?;
            Ok(inspection_rows(&i)
                .into_iter()
                .map(|values| row(INSPECTIONS, values))
                .collect())
        }
        other => Err(format!("the lake does not store {other}")),
    }
}

fn inspection_rows(i: &Inspection) -> Vec<Value> {
    let header = json!({
        "inspection_id": i.inspection_id, "organiser": i.organiser, "inspected_on": i.inspected_on,
        "inspectors": i.inspectors.join("、"), "unit_uscc": i.unit.uscc, "unit_name": i.unit.name,
        "unit_district": i.unit.district, "unit_role": i.unit.role, "place": i.place,
    });
    if i.findings.is_empty() {
        return vec![header];
    }
    i.findings
        .iter()
        .enumerate()
        .map(|(index, f)| {
            let mut values = header.clone();
            let product = f.product.as_ref();
            let finding = json!({
                "finding_no": index + 1, "case_report_no": i.report_no_of(index), "kind": f.kind,
                "description": f.description, "category": f.category,
                "product_name": product.map(|p| &p.name), "model": product.and_then(|p| p.model.as_ref()),
                "batch": product.and_then(|p| p.batch.as_ref()),
                "producer_uscc": f.producer.as_ref().and_then(|p| p.uscc.as_ref()),
                "producer_name": f.producer.as_ref().map(|p| &p.name),
                "supplier_uscc": f.supplier.as_ref().and_then(|s| s.uscc.as_ref()),
                "supplier_name": f.supplier.as_ref().map(|s| &s.name),
                "standard": f.standard, "quantity": f.quantity, "evidence": f.evidence.join("; "),
            });
            if let (Value::Object(values), Value::Object(finding)) = (&mut values, finding) {
                values.extend(finding);
            }
            values
        })
        .collect()
}

fn case_rows(c: &Case) -> Vec<(&'static str, Value)> {
    let referred: Vec<&str> = c.referrals.iter().map(|r| r.uscc.as_str()).collect();
    let mut rows = vec![(
        CASE_REVISIONS,
        json!({
            "case_id": c.case_id, "revision": c.revision, "report_no": c.report_no, "lab_id": c.lab_id,
            "category": c.category, "batch_key": c.batch.key, "producer_uscc": c.batch.producer_uscc,
            "producer_name": c.batch.producer_name, "model": c.batch.model, "batch": c.batch.batch,
            "status": c.status, "origin_uscc": c.origin.uscc, "origin_name": c.origin.name,
            "origin_role": c.origin.role, "units": c.units.len(), "referrals": c.referrals.len(),
            "notices_proposed": c.notices.iter().filter(|n| n.status == spotcheck_schemas::case::NoticeStatus::Proposed).count(),
            "objection_until": c.deadlines.objection_until, "final_on": c.deadlines.final_on,
            "rectify_by": c.deadlines.rectify_by, "recheck_by": c.deadlines.recheck_by,
            "notices_json": serde_json::to_string(&c.notices).unwrap_or_default(),
            "gaps_json": serde_json::to_string(&c.gaps).unwrap_or_default(),
            "steps_json": serde_json::to_string(&c.steps).unwrap_or_default(),
            "updated_at": c.updated_at,
        }),
    )];
    for unit in &c.units {
        rows.push((
            CASE_UNIT_REVISIONS,
            json!({
                "case_id": c.case_id, "revision": c.revision, "uscc": unit.uscc, "name": unit.name,
                "role": unit.role, "direction": unit.direction, "hops": unit.hops,
                "quantity_received": unit.quantity_received, "district": unit.district,
                "in_region": unit.in_region, "referred": referred.contains(&unit.uscc.as_str()),
            }),
        ));
    }
    for subject in &c.subjects {
        rows.push((
            CASE_SUBJECT_REVISIONS,
            json!({
                "case_id": c.case_id, "revision": c.revision, "report_no": c.report_no,
                "lab_id": c.lab_id, "role": subject.role, "name": subject.name,
                "uscc": subject.uscc, "identified_by": subject.identified_by,
                "disclosure": subject.disclosure, "reason": subject.reason,
                "updated_at": c.updated_at,
            }),
        ));
    }
    rows
}

/// Decodes rows of one table into a batch of its schema.
pub fn batch(table: &str, rows: &[&EntityRow]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let schema = schema(table)
        .ok_or_else(|| arrow::error::ArrowError::SchemaError(format!("no table {table}")))?;
    let mut decoder = arrow::json::ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.len().max(1))
        .build_decoder()?;
    let values: Vec<&Value> = rows.iter().map(|r| &r.values).collect();
    decoder.serialize(&values)?;
    Ok(decoder
        .flush()?
        .unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

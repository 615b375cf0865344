//! The lake tables of the records other than results: shipments, units, dispositions, cases (and
//! their units and subjects), disclosures, inspections. Each table is described once, by its row
//! type: its Arrow schema is traced from the type (`serde_arrow`), and its batches are its rows
//! serialised into Arrow (dates as dates, times as UTC timestamps).
//!
//! Entities that change are stored as versions (`unit_versions`, `case_revisions`,
//! `case_unit_revisions`, `case_subject_revisions`, one row per record); analytics' views
//! `units`, `cases`, `case_units`, `case_subjects` and `identifications` show the latest version
//! per key.

use crate::tables::Source;
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_arrow::schema::{SchemaLike, TracingOptions};
use spotcheck_schemas::case::{CaseStatus, SubjectDisclosure};
use spotcheck_schemas::{
    Area, Case, Category, Direction, Disclosure, DisclosureAction, Disposition, DispositionKind,
    FindingKind, Inspection, Shipment, SubjectRole, Unit, UnitRole, Uscc, topics,
};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

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

/// A table's row type. Its columns are the type's fields in order, with the four source columns
/// (`record_id, source_topic, source_partition, source_offset`) before the last [`Table::LATER`]
/// fields: those came after the first release (Delta appends a new column) or were Hive
/// directories once, and stay last, where SQL showed them.
trait Table: Serialize + for<'de> Deserialize<'de> {
    const NAME: &'static str;
    const LATER: usize = 0;
    /// Fields that are dates ([`Day`]) and times ([`Micros`]): tracing sees their numbers.
    const DATES: &'static [&'static str] = &[];
    const TIMES: &'static [&'static str] = &[];
}

/// The Arrow schema of `T`'s table.
fn traced<T: Table>() -> Result<SchemaRef, serde_arrow::Error> {
    let options = TracingOptions::default()
        .strings_as_large_utf8(false)
        .enums_without_data_as_strings(true);
    let traced = Vec::<FieldRef>::from_type::<T>(options)?;
    let column = |field: &FieldRef| {
        let name = field.name().as_str();
        let data_type = if T::DATES.contains(&name) {
            DataType::Date32
        } else if T::TIMES.contains(&name) {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        } else {
            match field.data_type() {
                // An enum's id is text.
                DataType::LargeUtf8 | DataType::Dictionary(..) => DataType::Utf8,
                other => other.clone(),
            }
        };
        // Every column of these tables may be null (and was, when they were made).
        Field::new(name, data_type, true)
    };
    let mut fields: Vec<Field> = traced.iter().map(column).collect();
    let at = fields.len().saturating_sub(T::LATER);
    let source = [
        Field::new("record_id", DataType::Utf8, true),
        Field::new("source_topic", DataType::Utf8, true),
        Field::new("source_partition", DataType::Int32, true),
        Field::new("source_offset", DataType::Int64, true),
    ];
    fields.splice(at..at, source);
    Ok(Arc::new(Schema::new(fields)))
}

/// Every entity table's schema, traced once per process.
static SCHEMAS: LazyLock<HashMap<&'static str, Result<SchemaRef, String>>> = LazyLock::new(|| {
    fn entry<T: Table>() -> (&'static str, Result<SchemaRef, String>) {
        (T::NAME, traced::<T>().map_err(|e| e.to_string()))
    }
    HashMap::from([
        entry::<ShipmentRow>(),
        entry::<UnitVersionRow>(),
        entry::<DispositionRow>(),
        entry::<CaseRevisionRow>(),
        entry::<CaseUnitRevisionRow>(),
        entry::<CaseSubjectRevisionRow>(),
        entry::<DisclosureRow>(),
        entry::<InspectionRow>(),
    ])
});

/// The schema of an entity table (`None` for a name that is none).
///
/// # Panics
/// When a row type cannot be traced: a mistake in this file, which every test that writes the
/// lake finds.
pub fn schema(table: &str) -> Option<SchemaRef> {
    let traced = SCHEMAS.get(table)?;
    match traced {
        Ok(schema) => Some(schema.clone()),
        Err(error) => panic!("the row type of {table} cannot be traced: {error}"),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ShipmentRow {
    shipment_id: String,
    batch_key: String,
    producer_uscc: Option<String>,
    producer_name: String,
    model: String,
    batch: String,
    from_uscc: String,
    from_name: String,
    from_district: Option<String>,
    to_uscc: String,
    to_name: String,
    to_district: Option<String>,
    quantity: f64,
    unit: String,
    shipped_on: Day,
    category: Category,
    month: String,
}

impl Table for ShipmentRow {
    const NAME: &'static str = SHIPMENTS;
    const LATER: usize = 2;
    const DATES: &'static [&'static str] = &["shipped_on"];
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct UnitVersionRow {
    uscc: String,
    name: String,
    address: Option<String>,
    district: Option<String>,
    /// Comma-separated role ids.
    roles: String,
    licences_json: String,
    area: Option<Area>,
}

impl Table for UnitVersionRow {
    const NAME: &'static str = UNIT_VERSIONS;
    const LATER: usize = 1;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DispositionRow {
    disposition_id: String,
    case_id: String,
    report_no: String,
    lab_id: String,
    kind: DispositionKind,
    on: Day,
    outcome: Option<String>,
    note: Option<String>,
    /// The unit the event concerns (served, ordered, reporting, identified), when it names one.
    uscc: Option<String>,
    /// `identified`: the name the case gave the unit.
    name: Option<String>,
    /// `suspension`: its last day.
    until: Option<Day>,
    /// `retest_concluded` upheld: the failed items it found conforming, `; `-separated.
    cleared_items: Option<String>,
    /// `withdrawn`: the `disposition_id` of the record it withdraws (the SQL view
    /// `standing_dispositions` leaves both out).
    withdraws: Option<String>,
}

impl Table for DispositionRow {
    const NAME: &'static str = DISPOSITIONS;
    const LATER: usize = 5;
    const DATES: &'static [&'static str] = &["on", "until"];
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CaseRevisionRow {
    case_id: String,
    revision: i64,
    report_no: String,
    lab_id: String,
    category: Option<Category>,
    batch_key: String,
    producer_uscc: Option<String>,
    producer_name: String,
    model: String,
    batch: String,
    status: CaseStatus,
    origin_uscc: Option<String>,
    origin_name: String,
    origin_role: UnitRole,
    units: i64,
    referrals: i64,
    notices_proposed: i64,
    objection_until: Option<Day>,
    final_on: Option<Day>,
    rectify_by: Option<Day>,
    recheck_by: Option<Day>,
    notices_json: String,
    gaps_json: String,
    updated_at: Micros,
    steps_json: String,
    gaps_zh_json: String,
    /// The failed items an upheld re-test cleared, `; `-separated (null when none, and before
    /// rules 33): the failure, its disclosure and its notices stand on the others.
    cleared_items: Option<String>,
}

impl Table for CaseRevisionRow {
    const NAME: &'static str = CASE_REVISIONS;
    const LATER: usize = 3;
    const DATES: &'static [&'static str] =
        &["objection_until", "final_on", "rectify_by", "recheck_by"];
    const TIMES: &'static [&'static str] = &["updated_at"];
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CaseUnitRevisionRow {
    case_id: String,
    revision: i64,
    uscc: String,
    name: String,
    role: Option<UnitRole>,
    direction: Direction,
    hops: i64,
    quantity_received: Option<f64>,
    district: Option<String>,
    in_region: bool,
    referred: bool,
    /// Since rules 31 (null in revisions before).
    responsible: Option<bool>,
}

impl Table for CaseUnitRevisionRow {
    const NAME: &'static str = CASE_UNIT_REVISIONS;
    const LATER: usize = 1;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CaseSubjectRevisionRow {
    case_id: String,
    revision: i64,
    report_no: String,
    lab_id: String,
    role: SubjectRole,
    name: String,
    uscc: Option<String>,
    identified_by: Option<String>,
    disclosure: SubjectDisclosure,
    reason: Option<String>,
    updated_at: Micros,
}

impl Table for CaseSubjectRevisionRow {
    const NAME: &'static str = CASE_SUBJECT_REVISIONS;
    const TIMES: &'static [&'static str] = &["updated_at"];
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DisclosureRow {
    disclosure_id: String,
    action: DisclosureAction,
    subject_uscc: String,
    subject_name: String,
    subject_role: SubjectRole,
    case_id: String,
    report_no: String,
    lab_id: String,
    organiser: Option<String>,
    category: Category,
    product_name: String,
    model: String,
    batch: String,
    /// The failed items' names, `; `-separated.
    failed_items: String,
    sampling_date: Day,
    final_on: Day,
    published_at: Micros,
    visible_until: Day,
    basis: String,
    month: String,
}

impl Table for DisclosureRow {
    const NAME: &'static str = DISCLOSURES;
    const LATER: usize = 1;
    const DATES: &'static [&'static str] = &["sampling_date", "final_on", "visible_until"];
    const TIMES: &'static [&'static str] = &["published_at"];
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct InspectionRow {
    inspection_id: String,
    organiser: Option<String>,
    inspected_on: Day,
    /// The inspectors' names, `、`-separated.
    inspectors: String,
    unit_uscc: Option<String>,
    unit_name: String,
    unit_district: Option<String>,
    unit_role: Option<UnitRole>,
    place: Option<String>,
    finding_no: Option<i64>,
    case_report_no: Option<String>,
    kind: Option<FindingKind>,
    description: Option<String>,
    category: Option<Category>,
    product_name: Option<String>,
    model: Option<String>,
    batch: Option<String>,
    producer_uscc: Option<String>,
    producer_name: Option<String>,
    supplier_uscc: Option<String>,
    supplier_name: Option<String>,
    standard: Option<String>,
    quantity: Option<String>,
    /// The evidence, `; `-separated.
    evidence: Option<String>,
}

impl Table for InspectionRow {
    const NAME: &'static str = INSPECTIONS;
    const DATES: &'static [&'static str] = &["inspected_on"];
}

/// The columns of one row, of whichever table.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
enum Columns {
    Shipment(ShipmentRow),
    UnitVersion(UnitVersionRow),
    Disposition(DispositionRow),
    CaseRevision(CaseRevisionRow),
    CaseUnitRevision(CaseUnitRevisionRow),
    CaseSubjectRevision(CaseSubjectRevisionRow),
    Disclosure(DisclosureRow),
    Inspection(InspectionRow),
}

impl Columns {
    fn table(&self) -> &'static str {
        match self {
            Columns::Shipment(_) => ShipmentRow::NAME,
            Columns::UnitVersion(_) => UnitVersionRow::NAME,
            Columns::Disposition(_) => DispositionRow::NAME,
            Columns::CaseRevision(_) => CaseRevisionRow::NAME,
            Columns::CaseUnitRevision(_) => CaseUnitRevisionRow::NAME,
            Columns::CaseSubjectRevision(_) => CaseSubjectRevisionRow::NAME,
            Columns::Disclosure(_) => DisclosureRow::NAME,
            Columns::Inspection(_) => InspectionRow::NAME,
        }
    }
}

/// One row of an entity table: its columns (which say the table) and the record it came from.
#[derive(Debug, Clone, Serialize)]
pub struct EntityRow {
    #[serde(flatten)]
    columns: Columns,
    record_id: String,
    source_topic: String,
    source_partition: i32,
    /// The offset of the record it came from.
    #[serde(rename = "source_offset")]
    pub offset: i64,
}

/// A date column's value, as Arrow's `Date32` holds it: days since 1970-01-01.
#[derive(Debug, Clone, Copy, Default)]
struct Day(NaiveDate);

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i32(crate::tables::days(self.0))
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let days = i32::deserialize(deserializer)?;
        NaiveDate::default()
            .checked_add_signed(chrono::TimeDelta::days(i64::from(days)))
            .map(Day)
            .ok_or_else(|| serde::de::Error::custom("a date out of range"))
    }
}

/// A time column's value, as Arrow's UTC timestamps hold it: microseconds since 1970.
#[derive(Debug, Clone, Copy)]
struct Micros(DateTime<Utc>);

impl Serialize for Micros {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0.timestamp_micros())
    }
}

impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let micros = i64::deserialize(deserializer)?;
        DateTime::from_timestamp_micros(micros)
            .map(Micros)
            .ok_or_else(|| serde::de::Error::custom("a time out of range"))
    }
}

impl EntityRow {
    /// The table the row belongs to.
    pub fn table(&self) -> &'static str {
        self.columns.table()
    }
}

fn code(uscc: Option<&Uscc>) -> Option<String> {
    uscc.map(ToString::to_string)
}

/// The rows one record becomes; `Err` names why it cannot be read (a dead letter).
pub fn rows_of(
    topic: &str,
    payload: &[u8],
    source: &Source,
    record_id: &str,
) -> Result<Vec<EntityRow>, String> {
    let row = |columns: Columns| EntityRow {
        columns,
        record_id: record_id.to_owned(),
        source_topic: source.topic.clone(),
        source_partition: source.partition,
        offset: source.offset,
    };
    let columns = match topic {
        topics::SHIPMENTS => {
            let s: Shipment =
                serde_json::from_slice(payload).map_err(|e| format!("not a shipment: {e}"))?;
            vec![Columns::Shipment(ShipmentRow {
                batch_key: s.batch_key().to_string(),
                month: s.shipped_on.format("%Y-%m").to_string(),
                shipment_id: s.shipment_id,
                producer_uscc: code(s.product.producer_uscc.as_ref()),
                producer_name: s.product.producer_name,
                model: s.product.model,
                batch: s.product.batch,
                from_uscc: s.from.uscc.to_string(),
                from_name: s.from.name,
                from_district: s.from.district,
                to_uscc: s.to.uscc.to_string(),
                to_name: s.to.name,
                to_district: s.to.district,
                quantity: s.quantity,
                unit: s.unit,
                shipped_on: Day(s.shipped_on),
                category: s.category,
            })]
        }
        topics::UNITS => {
            let u: Unit =
                serde_json::from_slice(payload).map_err(|e| format!("not a unit: {e}"))?;
            let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
            vec![Columns::UnitVersion(UnitVersionRow {
                uscc: u.uscc.to_string(),
                roles: roles.join(","),
                licences_json: serde_json::to_string(&u.licences).unwrap_or_default(),
                name: u.name,
                address: u.address,
                district: u.district,
                area: u.area,
            })]
        }
        topics::DISPOSITIONS => {
            let d: Disposition =
                serde_json::from_slice(payload).map_err(|e| format!("not a disposition: {e}"))?;
            vec![Columns::Disposition(DispositionRow {
                case_id: d.case_id(),
                disposition_id: d.disposition_id,
                report_no: d.report_no,
                lab_id: d.lab_id,
                kind: d.kind,
                on: Day(d.on),
                outcome: d.outcome,
                note: d.note,
                uscc: d.uscc,
                name: d.name,
                until: d.until.map(Day),
                cleared_items: (!d.cleared_items.is_empty()).then(|| d.cleared_items.join("; ")),
                withdraws: d.withdraws,
            })]
        }
        topics::CASES => {
            let c: Case =
                serde_json::from_slice(payload).map_err(|e| format!("not a case: {e}"))?;
            case_rows(c)
        }
        topics::CREDIT => {
            let d: Disclosure =
                serde_json::from_slice(payload).map_err(|e| format!("not a disclosure: {e}"))?;
            let failed: Vec<&str> = d.failed_items.iter().map(|i| i.name.as_str()).collect();
            vec![Columns::Disclosure(DisclosureRow {
                month: d.final_on.format("%Y-%m").to_string(),
                failed_items: failed.join("; "),
                disclosure_id: d.disclosure_id,
                action: d.action,
                subject_uscc: d.subject.uscc,
                subject_name: d.subject.name,
                subject_role: d.subject_role,
                case_id: d.case_id,
                report_no: d.report_no,
                lab_id: d.lab_id,
                organiser: d.organiser,
                category: d.category,
                product_name: d.product.name,
                model: d.product.model,
                batch: d.product.batch,
                sampling_date: Day(d.sampling_date),
                final_on: Day(d.final_on),
                published_at: Micros(d.published_at),
                visible_until: Day(d.visible_until),
                basis: d.basis,
            })]
        }
        topics::INSPECTIONS => {
            let i: Inspection =
                serde_json::from_slice(payload).map_err(|e| format!("not an inspection: {e}"))?;
            inspection_rows(&i)
        }
        other => return Err(format!("the lake does not store {other}")),
    };
    Ok(columns.into_iter().map(row).collect())
}

/// One row per finding, each with the inspection's own columns; one row for an inspection that
/// found nothing.
fn inspection_rows(i: &Inspection) -> Vec<Columns> {
    let header = InspectionRow {
        inspection_id: i.inspection_id.clone(),
        organiser: i.organiser.clone(),
        inspected_on: Day(i.inspected_on),
        inspectors: i.inspectors.join("、"),
        unit_uscc: code(i.unit.uscc.as_ref()),
        unit_name: i.unit.name.clone(),
        unit_district: i.unit.district.clone(),
        unit_role: Some(i.unit.role),
        place: i.place.clone(),
        ..InspectionRow::default()
    };
    if i.findings.is_empty() {
        return vec![Columns::Inspection(header)];
    }
    i.findings
        .iter()
        .enumerate()
        .map(|(index, f)| {
            let product = f.product.as_ref();
            Columns::Inspection(InspectionRow {
                finding_no: i64::try_from(index + 1).ok(),
                case_report_no: Some(i.report_no_of(index)),
                kind: Some(f.kind),
                description: f.description.clone(),
                category: f.category,
                product_name: product.map(|p| p.name.clone()),
                model: product.and_then(|p| p.model.clone()),
                batch: product.and_then(|p| p.batch.clone()),
                producer_uscc: f.producer.as_ref().and_then(|p| code(p.uscc.as_ref())),
                producer_name: f.producer.as_ref().map(|p| p.name.clone()),
                supplier_uscc: f.supplier.as_ref().and_then(|s| code(s.uscc.as_ref())),
                supplier_name: f.supplier.as_ref().map(|s| s.name.clone()),
                standard: f.standard.clone(),
                quantity: f.quantity.clone(),
                evidence: Some(f.evidence.join("; ")),
                ..header.clone()
            })
        })
        .collect()
}

/// A case's revision row, one row per unit of its traceback and one per subject.
fn case_rows(c: Case) -> Vec<Columns> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let revision = i64::try_from(c.revision).unwrap_or(i64::MAX);
    let referred: Vec<&str> = c.referrals.iter().map(|r| r.uscc.as_str()).collect();
    let proposed = c
        .notices
        .iter()
        .filter(|n| n.status == spotcheck_schemas::case::NoticeStatus::Proposed);
    let mut rows = vec![Columns::CaseRevision(CaseRevisionRow {
        case_id: c.case_id.clone(),
        revision,
        report_no: c.report_no.clone(),
        lab_id: c.lab_id.clone(),
        category: c.category,
        batch_key: c.batch.key.clone(),
        producer_uscc: c.batch.producer_uscc.clone(),
        producer_name: c.batch.producer_name.clone(),
        model: c.batch.model.clone(),
        batch: c.batch.batch.clone(),
        status: c.status,
        origin_uscc: c.origin.uscc.clone(),
        origin_name: c.origin.name.clone(),
        origin_role: c.origin.role,
        units: count(c.units.len()),
        referrals: count(c.referrals.len()),
        notices_proposed: count(proposed.count()),
        objection_until: c.deadlines.objection_until.map(Day),
        final_on: c.deadlines.final_on.map(Day),
        rectify_by: c.deadlines.rectify_by.map(Day),
        recheck_by: c.deadlines.recheck_by.map(Day),
        notices_json: serde_json::to_string(&c.notices).unwrap_or_default(),
        gaps_json: serde_json::to_string(&c.gaps).unwrap_or_default(),
        updated_at: Micros(c.updated_at),
        steps_json: serde_json::to_string(&c.steps).unwrap_or_default(),
        gaps_zh_json: serde_json::to_string(&c.gaps_zh).unwrap_or_default(),
        cleared_items: c
            .facts
            .as_ref()
            .filter(|f| !f.cleared_items.is_empty())
            .map(|f| f.cleared_items.join("; ")),
    })];
    for unit in &c.units {
        rows.push(Columns::CaseUnitRevision(CaseUnitRevisionRow {
            case_id: c.case_id.clone(),
            revision,
            uscc: unit.uscc.clone(),
            name: unit.name.clone(),
            role: unit.role,
            direction: unit.direction,
            hops: i64::from(unit.hops),
            quantity_received: unit.quantity_received,
            district: unit.district.clone(),
            in_region: unit.in_region,
            referred: referred.contains(&unit.uscc.as_str()),
            responsible: Some(unit.responsible),
        }));
    }
    for subject in &c.subjects {
        rows.push(Columns::CaseSubjectRevision(CaseSubjectRevisionRow {
            case_id: c.case_id.clone(),
            revision,
            report_no: c.report_no.clone(),
            lab_id: c.lab_id.clone(),
            role: subject.role,
            name: subject.name.clone(),
            uscc: subject.uscc.clone(),
            identified_by: subject.identified_by.clone(),
            disclosure: subject.disclosure,
            reason: subject.reason.clone(),
            updated_at: Micros(c.updated_at),
        }));
    }
    rows
}

/// Serialises rows of one table into a batch of its schema. Strict: a column the schema lacks
/// is an error, never silently dropped.
pub fn batch(table: &str, rows: &[&EntityRow]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let schema = schema(table)
        .ok_or_else(|| arrow::error::ArrowError::SchemaError(format!("no table {table}")))?;
    let mut decoder = arrow::json::ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.len().max(1))
        .with_strict_mode(true)
        .build_decoder()?;
    decoder.serialize(rows)?;
    Ok(decoder
        .flush()?
        .unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

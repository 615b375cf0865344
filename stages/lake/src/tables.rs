//! The result tables: their Arrow schemas, and how a result becomes rows.
//!
//! `category` and `month` (of the sampling date, `YYYY-MM`) are the last columns, where SQL
//! showed them when they were Hive directories.

use arrow::array::{ArrayRef, BooleanArray, Date32Array, Int32Array, Int64Array, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};
use spotcheck_schemas::result::TestItem;
use spotcheck_schemas::{SamplingResult, Uscc};
use std::sync::Arc;

pub const RESULTS: &str = "results";
pub const RESULT_ITEMS: &str = "result_items";

/// Where a row was read from: makes every row traceable to its Kafka record.
#[derive(Debug, Clone)]
pub struct Source {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn date(name: &str) -> Field {
    Field::new(name, DataType::Date32, true)
}

pub fn results_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("report_no", DataType::Utf8, false),
        Field::new("lab_id", DataType::Utf8, false),
        utf8("task_id"),
        utf8("organiser"),
        utf8("level"),
        utf8("product_name"),
        utf8("brand"),
        utf8("model"),
        utf8("batch"),
        date("production_date"),
        utf8("producer_uscc"),
        utf8("producer_name"),
        utf8("producer_address"),
        utf8("sampled_unit_uscc"),
        utf8("sampled_unit_name"),
        utf8("sampled_unit_address"),
        utf8("district"),
        utf8("sampled_unit_role"),
        date("sampling_date"),
        utf8("sampling_domain"),
        utf8("sampling_quantity"),
        date("tested_on"),
        date("served_on"),
        utf8("standards"),
        utf8("verdict"),
        utf8("severity"),
        Field::new("suspected_counterfeit", DataType::Boolean, true),
        Field::new("items_tested", DataType::Int32, true),
        Field::new("items_failed", DataType::Int32, true),
        utf8("batch_key"),
        utf8("record_id"),
        utf8("source_topic"),
        Field::new("source_partition", DataType::Int32, true),
        Field::new("source_offset", DataType::Int64, true),
        utf8("category"),
        utf8("month"),
        // Added after the first release: a column added later goes last (Delta appends it).
        Field::new("follow_up", DataType::Boolean, true),
    ]))
}

pub fn result_items_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("report_no", DataType::Utf8, false),
        Field::new("lab_id", DataType::Utf8, false),
        Field::new("item_no", DataType::Int32, false),
        Field::new("item_name", DataType::Utf8, false),
        utf8("clause"),
        utf8("required"),
        utf8("measured"),
        Field::new("verdict", DataType::Utf8, false),
        date("sampling_date"),
        utf8("source_topic"),
        Field::new("source_partition", DataType::Int32, true),
        Field::new("source_offset", DataType::Int64, true),
        utf8("category"),
        utf8("month"),
        // Added after the first release, so last (Delta appends it): the item's class.
        utf8("severity"),
    ]))
}

/// Days since 1970-01-01: a date as Arrow's `Date32` holds it.
pub(crate) fn days(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (date - epoch).num_days() as i32
}

/// A result ready for the lake, with where it came from and its record id.
pub struct Row {
    pub result: SamplingResult,
    pub source: Source,
    pub record_id: String,
}

/// A text column from one borrowed value per row.
fn text<T, S: AsRef<str>>(rows: &[T], value: impl Fn(&T) -> Option<S>) -> ArrayRef {
    let mut column = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
    for row in rows {
        column.append_option(value(row));
    }
    Arc::new(column.finish())
}

/// A text column whose values are written (formatted) into a buffer, one per row.
fn written<T>(rows: &[T], write: impl Fn(&T, &mut String)) -> ArrayRef {
    let mut column = StringBuilder::with_capacity(rows.len(), rows.len() * 32);
    let mut value = String::new();
    for row in rows {
        value.clear();
        write(row, &mut value);
        column.append_value(&value);
    }
    Arc::new(column.finish())
}

/// A date column from one value per row.
fn dates<T>(rows: &[T], value: impl Fn(&T) -> Option<NaiveDate>) -> ArrayRef {
    Arc::new(
        rows.iter()
            .map(|row| value(row).map(days))
            .collect::<Date32Array>(),
    )
}

fn ints<T>(rows: &[T], value: impl Fn(&T) -> i32) -> ArrayRef {
    Arc::new(
        rows.iter()
            .map(|row| Some(value(row)))
            .collect::<Int32Array>(),
    )
}

fn uscc(code: &Option<Uscc>) -> Option<&str> {
    code.as_ref().map(Uscc::as_str)
}

/// `YYYY-MM` of a date, into `out`.
fn month(date: NaiveDate, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(out, "{:04}-{:02}", date.year(), date.month());
}

/// Builds the `results` rows of a flush, columns in `results_schema` order.
pub fn results_batch(rows: &[&Row]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let columns = vec![
        text(rows, |r| Some(&r.result.report_no)),
        text(rows, |r| Some(&r.result.lab_id)),
        text(rows, |r| r.result.task_id.as_deref()),
        text(rows, |r| r.result.organiser.as_deref()),
        text(rows, |r| {
            r.result.level.map(spotcheck_schemas::Level::as_str)
        }),
        text(rows, |r| Some(&r.result.product.name)),
        text(rows, |r| r.result.product.brand.as_deref()),
        text(rows, |r| Some(&r.result.product.model)),
        text(rows, |r| Some(&r.result.product.batch)),
        dates(rows, |r| r.result.product.production_date),
        text(rows, |r| uscc(&r.result.producer.uscc)),
        text(rows, |r| Some(&r.result.producer.name)),
        text(rows, |r| r.result.producer.address.as_deref()),
        text(rows, |r| uscc(&r.result.sampled_unit.uscc)),
        text(rows, |r| Some(&r.result.sampled_unit.name)),
        text(rows, |r| r.result.sampled_unit.address.as_deref()),
        // The district the record gives, else where the unit's address, name or code place it
        // (a record posted without one still counts in its district).
        text(rows, |r| r.result.sampled_unit.placed_district()),
        text(rows, |r| Some(r.result.sampled_unit.role.as_str())),
        dates(rows, |r| Some(r.result.sampling.date)),
        text(rows, |r| Some(r.result.sampling.domain.as_str())),
        text(rows, |r| r.result.sampling.quantity.as_deref()),
        dates(rows, |r| Some(r.result.tested_on)),
        dates(rows, |r| r.result.served_on),
        written(rows, |r, out| {
            for (i, standard) in r.result.standards.iter().enumerate() {
                if i > 0 {
                    out.push_str("; ");
                }
                out.push_str(standard);
            }
        }),
        text(rows, |r| Some(r.result.verdict.as_str())),
        text(rows, |r| {
            r.result.severity.map(spotcheck_schemas::Severity::as_str)
        }),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.result.suspected_counterfeit))
                .collect::<BooleanArray>(),
        ),
        ints(rows, |r| r.result.items.len() as i32),
        ints(rows, |r| r.result.failed_items().count() as i32),
        written(rows, |r, out| {
            use std::fmt::Write;
            let _ = write!(out, "{}", r.result.batch_key());
        }),
        text(rows, |r| Some(&r.record_id)),
        text(rows, |r| Some(&r.source.topic)),
        ints(rows, |r| r.source.partition),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.source.offset))
                .collect::<Int64Array>(),
        ),
        text(rows, |r| Some(r.result.category.as_str())),
        written(rows, |r, out| month(r.result.sampling.date, out)),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.result.follow_up))
                .collect::<BooleanArray>(),
        ),
    ];
    RecordBatch::try_new(results_schema(), columns)
}

/// Builds the `result_items` rows (one per test item) of a flush.
pub fn result_items_batch(rows: &[&Row]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let mut items: Vec<(&Row, usize, &TestItem)> =
        Vec::with_capacity(rows.iter().map(|row| row.result.items.len()).sum());
    items.extend(rows.iter().flat_map(|row| {
        row.result
            .items
            .iter()
            .enumerate()
            .map(move |(i, item)| (*row, i, item))
    }));
    let columns = vec![
        text(&items, |(r, _, _)| Some(&r.result.report_no)),
        text(&items, |(r, _, _)| Some(&r.result.lab_id)),
        ints(&items, |(_, index, _)| *index as i32 + 1),
        text(&items, |(_, _, item)| Some(&item.name)),
        text(&items, |(_, _, item)| item.clause.as_deref()),
        text(&items, |(_, _, item)| item.required.as_deref()),
        text(&items, |(_, _, item)| item.measured.as_deref()),
        text(&items, |(_, _, item)| Some(item.verdict.as_str())),
        dates(&items, |(r, _, _)| Some(r.result.sampling.date)),
        text(&items, |(r, _, _)| Some(&r.source.topic)),
        ints(&items, |(r, _, _)| r.source.partition),
        Arc::new(
            items
                .iter()
                .map(|(r, _, _)| Some(r.source.offset))
                .collect::<Int64Array>(),
        ),
        text(&items, |(r, _, _)| Some(r.result.category.as_str())),
        written(&items, |(r, _, _), out| month(r.result.sampling.date, out)),
        text(&items, |(_, _, item)| {
            item.severity.map(spotcheck_schemas::Severity::as_str)
        }),
    ];
    RecordBatch::try_new(result_items_schema(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, StringArray};

    /// A result posted without the sampled unit's district still counts in its district: the
    /// one its address, name or credit code places it in.
    #[test]
    fn a_result_without_a_district_is_counted_where_its_unit_is() {
        let row = |unit: serde_json::Value| Row {
            result: serde_json::from_value(serde_json::json!({
                "report_no": "R-1", "lab_id": "lab-1", "category": "safety_helmet",
                "product": {"name": "安全帽", "model": "A", "batch": "B1"},
                "producer": {"name": "某厂"},
                "sampled_unit": unit,
                "sampling": {"date": "2026-03-01", "domain": "circulation"},
                "tested_on": "2026-03-10", "items": [], "verdict": "pass"
            }))
            .unwrap(),
            source: Source {
                topic: "results".into(),
                partition: 0,
                offset: 0,
            },
            record_id: "r".into(),
        };
        let rows = [
            row(serde_json::json!({"name": "某店", "district": "120104", "role": "retailer"})),
            row(serde_json::json!({"name": "天津市河西区某五金店", "role": "retailer"})),
            row(
                serde_json::json!({"name": "某店", "uscc": "92120103MA07ABCD1N",
                                   "role": "retailer"}),
            ),
            row(serde_json::json!({"name": "某店", "role": "retailer"})),
        ];
        let batch = results_batch(&rows.iter().collect::<Vec<_>>()).unwrap();
        let district = batch
            .column_by_name("district")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .unwrap();
        let read: Vec<Option<&str>> = (0..district.len())
            .map(|i| district.is_valid(i).then(|| district.value(i)))
            .collect();
        assert_eq!(read, [Some("120104"), Some("120103"), Some("120103"), None]);
    }
}

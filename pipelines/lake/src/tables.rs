//! The result tables: their Arrow schemas, and how a result becomes rows.
//!
//! `category` and `month` (of the sampling date, `YYYY-MM`) are the last columns, where SQL
//! showed them when they were Hive directories.

use arrow::array::{ArrayRef, BooleanArray, Date32Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
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
    ]))
}

/// `YYYY-MM`.
fn month(date: NaiveDate) -> String {
    date.format("%Y-%m").to_string()
}

fn days(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (date - epoch).num_days() as i32
}

/// A result ready for the lake, with where it came from and its record id.
pub struct Row {
    pub result: SamplingResult,
    pub source: Source,
    pub record_id: String,
}

/// A text column from one value per row.
fn text<T>(rows: &[T], value: impl Fn(&T) -> Option<String>) -> ArrayRef {
    Arc::new(rows.iter().map(value).collect::<StringArray>())
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

fn uscc(code: &Option<Uscc>) -> Option<String> {
    code.as_ref().map(Uscc::to_string)
}

/// Builds the `results` rows of one Hive partition, columns in `results_schema` order.
pub fn results_batch(rows: &[&Row]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let columns = vec![
        text(rows, |r| Some(r.result.report_no.clone())),
        text(rows, |r| Some(r.result.lab_id.clone())),
        text(rows, |r| r.result.task_id.clone()),
        text(rows, |r| r.result.organiser.clone()),
        text(rows, |r| r.result.level.map(|l| l.to_string())),
        text(rows, |r| Some(r.result.product.name.clone())),
        text(rows, |r| r.result.product.brand.clone()),
        text(rows, |r| Some(r.result.product.model.clone())),
        text(rows, |r| Some(r.result.product.batch.clone())),
        dates(rows, |r| r.result.product.production_date),
        text(rows, |r| uscc(&r.result.producer.uscc)),
        text(rows, |r| Some(r.result.producer.name.clone())),
        text(rows, |r| r.result.producer.address.clone()),
        text(rows, |r| uscc(&r.result.sampled_unit.uscc)),
        text(rows, |r| Some(r.result.sampled_unit.name.clone())),
        text(rows, |r| r.result.sampled_unit.address.clone()),
        text(rows, |r| r.result.sampled_unit.district.clone()),
        text(rows, |r| Some(r.result.sampled_unit.role.to_string())),
        dates(rows, |r| Some(r.result.sampling.date)),
        text(rows, |r| Some(r.result.sampling.domain.to_string())),
        text(rows, |r| r.result.sampling.quantity.clone()),
        dates(rows, |r| Some(r.result.tested_on)),
        dates(rows, |r| r.result.served_on),
        text(rows, |r| Some(r.result.standards.join("; "))),
        text(rows, |r| Some(r.result.verdict.to_string())),
        text(rows, |r| r.result.severity.map(|s| s.to_string())),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.result.suspected_counterfeit))
                .collect::<BooleanArray>(),
        ),
        ints(rows, |r| r.result.items.len() as i32),
        ints(rows, |r| r.result.failed_items().count() as i32),
        text(rows, |r| Some(r.result.batch_key().to_string())),
        text(rows, |r| Some(r.record_id.clone())),
        text(rows, |r| Some(r.source.topic.clone())),
        ints(rows, |r| r.source.partition),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.source.offset))
                .collect::<Int64Array>(),
        ),
        text(rows, |r| Some(r.result.category.to_string())),
        text(rows, |r| Some(month(r.result.sampling.date))),
    ];
    RecordBatch::try_new(results_schema(), columns)
}

/// Builds the `result_items` rows (one per test item) of one Hive partition.
pub fn result_items_batch(rows: &[&Row]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let items: Vec<(&Row, usize, &TestItem)> = rows
        .iter()
        .flat_map(|row| {
            row.result
                .items
                .iter()
                .enumerate()
                .map(move |(i, item)| (*row, i, item))
        })
        .collect();
    let columns = vec![
        text(&items, |(r, _, _)| Some(r.result.report_no.clone())),
        text(&items, |(r, _, _)| Some(r.result.lab_id.clone())),
        ints(&items, |(_, index, _)| *index as i32 + 1),
        text(&items, |(_, _, item)| Some(item.name.clone())),
        text(&items, |(_, _, item)| item.clause.clone()),
        text(&items, |(_, _, item)| item.required.clone()),
        text(&items, |(_, _, item)| item.measured.clone()),
        text(&items, |(_, _, item)| Some(item.verdict.to_string())),
        dates(&items, |(r, _, _)| Some(r.result.sampling.date)),
        text(&items, |(r, _, _)| Some(r.source.topic.clone())),
        ints(&items, |(r, _, _)| r.source.partition),
        Arc::new(
            items
                .iter()
                .map(|(r, _, _)| Some(r.source.offset))
                .collect::<Int64Array>(),
        ),
        text(&items, |(r, _, _)| Some(r.result.category.to_string())),
        text(&items, |(r, _, _)| Some(month(r.result.sampling.date))),
    ];
    RecordBatch::try_new(result_items_schema(), columns)
}

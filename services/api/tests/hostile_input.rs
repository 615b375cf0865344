//! Hostile input never panics the edge: property tests over the body splitter (every content
//! type), the CSV reader and each record parser, with arbitrary bytes, arbitrary JSON and valid
//! records with one field replaced by anything. A parser may refuse; it may not crash.

use chrono::NaiveDate;
use proptest::prelude::*;
use serde_json::Value;
use spotcheck_api::body::{BodyLimits, split};
use spotcheck_api::csv_input;
use spotcheck_schemas::{Disposition, SamplingResult, Shipment, Unit};

const CASES: u32 = 2000;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).expect("a date")
}

/// Any JSON value, a few levels deep, with strings that look like the domain's (dates,
/// division codes, USCCs) as well as arbitrary text.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,40}".prop_map(Value::String),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(Value::String),
        "[0-9A-Z]{18}".prop_map(Value::String),
        "[0-9]{6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn example_result() -> Value {
    let text = include_str!("../../../schemas/examples/result.json");
    serde_json::from_str(text).expect("the example parses")
}

/// Every path (object keys, array indices) of `value`.
fn paths(value: &Value, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let mut path = prefix.clone();
                path.push(key.clone());
                out.push(path.clone());
                paths(child, path, out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let mut path = prefix.clone();
                path.push(index.to_string());
                out.push(path.clone());
                paths(child, path, out);
            }
        }
        _ => {}
    }
}

fn replace(value: &mut Value, path: &[String], with: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = value;
    for step in parents {
        at = match at {
            Value::Object(map) => map.get_mut(step).expect("a path of the value"),
            Value::Array(items) => &mut items[step.parse::<usize>().expect("an index")],
            _ => return,
        };
    }
    match at {
        Value::Object(map) => {
            map.insert(last.clone(), with);
        }
        Value::Array(items) => items[last.parse::<usize>().expect("an index")] = with,
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn the_body_splitter_refuses_or_splits_any_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        media in prop_oneof![
            Just(None),
            Just(Some("application/json".to_owned())),
            Just(Some("application/x-ndjson".to_owned())),
            Just(Some("text/csv; charset=utf-8".to_owned())),
            Just(Some("text/csv; charset=gbk".to_owned())),
            Just(Some(spotcheck_api::body::XLSX.to_owned())),
            "[a-z/;= -]{0,30}".prop_map(Some),
        ],
        zip_magic in any::<bool>(),
        lab in prop_oneof![Just(None), Just(Some("tj-lab-01"))],
    ) {
        // Bytes that start like a workbook reach the spreadsheet reader.
        let bytes = if zip_magic { [b"PK\x03\x04".as_slice(), &bytes].concat() } else { bytes };
        let _ = split(media.as_deref(), &bytes, BodyLimits::default(), lab);
    }

    #[test]
    fn a_result_sheet_of_any_cells_is_refused_or_read_row_by_row(
        rows in prop::collection::vec(prop::collection::vec("\\PC{0,12}", 0..8), 0..8),
    ) {
        let header = "报告编号,产品名称,受检单位,规格型号,生产日期/批号,标称生产企业,抽样日期,检验日期,检验结论,主要不合格项目,所在区";
        let body: Vec<String> = rows
            .iter()
            .map(|cells| cells.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect::<Vec<_>>().join(","))
            .collect();
        let text = format!("{header}\n{}", body.join("\n"));
        let _ = split(Some("text/csv"), text.as_bytes(), BodyLimits::default(), Some("tj-lab-01"));
    }

    #[test]
    fn the_csv_reader_refuses_or_reads_any_text(text in "\\PC{0,300}") {
        let _ = csv_input::records(&text);
        let with_header = format!("report_no,lab_id,items_json,sampling.date\n{text}");
        let _ = csv_input::records(&with_header);
    }

    #[test]
    fn every_record_parser_refuses_or_reads_any_json(value in any_json()) {
        let _ = SamplingResult::parse(&value, today());
        let _ = Shipment::parse(&value, today());
        let _ = Unit::parse(&value, None);
        let _ = Unit::parse(&value, Some("91120104MA0000001X"));
        let _ = Disposition::parse(&value, today());
    }

    #[test]
    fn a_valid_result_with_any_one_field_replaced_is_refused_or_read(
        pick in any::<prop::sample::Index>(),
        with in any_json(),
    ) {
        let mut result = example_result();
        let mut all = Vec::new();
        paths(&result, Vec::new(), &mut all);
        let path = pick.get(&all).clone();
        replace(&mut result, &path, with);
        if let Ok(parsed) = SamplingResult::parse(&result, today()) {
            // What is accepted can be published and read back.
            let bytes = serde_json::to_vec(&parsed).expect("serialises");
            let back: SamplingResult = serde_json::from_slice(&bytes).expect("reads back");
            prop_assert_eq!(back.report_no, parsed.report_no);
        }
    }
}

//! The JSON Schema files of `schemas/json/` and the Rust types agree: what the parsers accept
//! and the types serialise validates against the schema, and what the schema forbids outright
//! the parsers reject too.

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use spotcheck_schemas::case::{CaseBatch, CaseParty, CaseStatus, Deadlines, Notice, NoticeStatus};
use spotcheck_schemas::disclosure::{Subject, disclosure_id};
use spotcheck_schemas::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()
}

fn validator(schema_text: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(schema_text).expect("schema file is JSON");
    jsonschema::validator_for(&schema).expect("schema file is a valid JSON Schema")
}

fn assert_valid(schema_text: &str, instance: &Value) {
    let validator = validator(schema_text);
    let problems: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}\n{instance:#}");
}

fn sample_result() -> Value {
    json!({
        "report_no": "TJ-2026-0001", "lab_id": "tj-lab-01", "category": "wire_cable",
        "product": {"name": "电线", "model": "BV 2.5", "batch": "B7", "production_date": "2026-01-05"},
        "producer": {"uscc": "91350100M000100Y43", "name": "某电缆厂"},
        "sampled_unit": {"name": "某五金店", "role": "retailer", "district": "120101"},
        "sampling": {"date": "2026-04-02", "domain": "circulation"},
        "tested_on": "2026-04-10", "standards": ["GB/T 5023"],
        "items": [{"name": "导体电阻", "required": "≤7.41 Ω/km", "measured": "8.02 Ω/km", "verdict": "fail"}],
        "verdict": "fail", "severity": "general"
    })
}

#[test]
fn every_schema_file_is_a_valid_json_schema() {
    for (name, text) in json_schemas::ALL {
        let schema: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            jsonschema::meta::is_valid(&schema),
            "{name} is not a valid schema"
        );
    }
}

#[test]
fn a_parsed_result_serialises_to_what_its_schema_allows() {
    let input = sample_result();
    assert_valid(json_schemas::RESULT, &input);
    let parsed = SamplingResult::parse(&input, today()).unwrap();
    assert_valid(
        json_schemas::RESULT,
        &serde_json::to_value(&parsed).unwrap(),
    );
}

/// A change that makes a valid record invalid.
type Breakage = Box<dyn Fn(&mut Value)>;

#[test]
fn what_the_result_schema_forbids_the_parser_rejects() {
    let breakages: Vec<(&str, Breakage)> = vec![
        (
            "missing report_no",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("report_no");
            }),
        ),
        ("bad category", Box::new(|v| v["category"] = json!("toys"))),
        (
            "bad uscc",
            Box::new(|v| v["producer"]["uscc"] = json!("91350100M000100I43")),
        ),
        ("extra field", Box::new(|v| v["colour"] = json!("red"))),
        (
            "bad date",
            Box::new(|v| v["tested_on"] = json!("10/04/2026")),
        ),
        ("items not a list", Box::new(|v| v["items"] = json!({}))),
    ];
    let schema = validator(json_schemas::RESULT);
    for (what, breakage) in breakages {
        let mut value = sample_result();
        breakage(&mut value);
        assert!(!schema.is_valid(&value), "schema should reject {what}");
        assert!(
            SamplingResult::parse(&value, today()).is_err(),
            "parser should reject {what}"
        );
    }
}

#[test]
fn a_parsed_shipment_unit_and_disposition_match_their_schemas() {
    let shipment = json!({
        "shipment_id": "S-1", "category": "e_bike",
        "product": {"producer_name": "某车业", "model": "TDT-1", "batch": "B1"},
        "from": {"uscc": "91350100M000100Y43", "name": "某车业"},
        "to": {"uscc": "91110000802100433B", "name": "某车行", "district": "120104"},
        "quantity": 120, "unit": "pcs", "shipped_on": "2026-03-10"
    });
    assert_valid(json_schemas::SHIPMENT, &shipment);
    let parsed = Shipment::parse(&shipment, today()).unwrap();
    assert_valid(
        json_schemas::SHIPMENT,
        &serde_json::to_value(&parsed).unwrap(),
    );

    let unit = json!({"uscc": "91110000802100433B", "name": "某车行", "district": "120104",
        "roles": ["retailer"], "licences": [{"kind": "营业执照", "number": "X1", "valid_until": "2030-01-01"}]});
    assert_valid(json_schemas::UNIT, &unit);
    let parsed = Unit::parse(&unit, None).unwrap();
    assert_valid(json_schemas::UNIT, &serde_json::to_value(&parsed).unwrap());

    let disposition = json!({"disposition_id": "D-1", "report_no": "R1", "lab_id": "tj-lab-01",
        "kind": "retest_concluded", "on": "2026-04-30", "outcome": "upheld",
        "cleared_items": ["燃气导管"]});
    assert_valid(json_schemas::DISPOSITION, &disposition);
    let parsed = Disposition::parse(&disposition, today()).unwrap();
    assert_valid(
        json_schemas::DISPOSITION,
        &serde_json::to_value(&parsed).unwrap(),
    );
}

#[test]
fn a_parsed_inspection_matches_its_schema_and_what_it_forbids_is_rejected() {
    let inspection = json!({
        "inspection_id": "JC-1", "organiser": "南开区市场监督管理局", "inspected_on": "2026-04-30",
        "inspectors": ["王强", "李明"], "place": "红旗路1号",
        "unit": {"uscc": "91110000802100433B", "name": "某车行", "role": "retailer", "district": "120104"},
        "findings": [
            {"kind": "major_hidden_danger", "category": "e_bike", "description": "蓄电池违规改装",
             "product": {"name": "电动自行车", "model": "TDT-1", "batch": "B1"},
             "producer": {"name": "某车业", "uscc": "91350100M000100Y43"}, "evidence": ["IMG_1"]},
            {"kind": "sanwu_product", "product": {"name": "燃气灶"},
             "supplier": {"name": "某批发部", "uscc": "91350100M000100Y43"}},
            {"kind": "refused_inspection"}
        ]
    });
    assert_valid(json_schemas::INSPECTION, &inspection);
    let parsed = Inspection::parse(&inspection, today()).unwrap();
    assert_valid(
        json_schemas::INSPECTION,
        &serde_json::to_value(&parsed).unwrap(),
    );
    let breakages: Vec<(&str, Breakage)> = vec![
        (
            "bad kind",
            Box::new(|v| v["findings"][0]["kind"] = json!("dirty")),
        ),
        (
            "no unit",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("unit");
            }),
        ),
        ("no inspector", Box::new(|v| v["inspectors"] = json!([]))),
        (
            "unknown field",
            Box::new(|v| v["findings"][1]["colour"] = json!("red")),
        ),
    ];
    let validator = validator(json_schemas::INSPECTION);
    for (what, breakage) in breakages {
        let mut broken = inspection.clone();
        breakage(&mut broken);
        assert!(!validator.is_valid(&broken), "schema allows {what}");
        assert!(
            Inspection::parse(&broken, today()).is_err(),
            "parser allows {what}"
        );
    }
}

#[test]
fn a_case_and_a_disclosure_serialise_to_what_their_schemas_allow() {
    let result = SamplingResult::parse(&sample_result(), today()).unwrap();
    let case_id = case_id(&result.lab_id, &result.report_no);
    let case = Case {
        case_id: case_id.clone(),
        revision: 1,
        report_no: result.report_no.clone(),
        lab_id: result.lab_id.clone(),
        category: Some(result.category),
        batch: CaseBatch {
            key: result.batch_key().to_string(),
            producer_name: result.producer.name.clone(),
            producer_uscc: result
                .producer
                .uscc
                .as_ref()
                .map(std::string::ToString::to_string),
            model: result.product.model.clone(),
            batch: result.product.batch.clone(),
        },
        status: CaseStatus::Open,
        origin: CaseParty {
            uscc: None,
            name: result.sampled_unit.name.clone(),
            role: UnitRole::Retailer,
        },
        units: vec![],
        referrals: vec![],
        notices: vec![Notice {
            kind: NoticeKind::Rectification,
            to: "91350100M000100Y43".into(),
            due_on: Some(today()),
            status: NoticeStatus::Proposed,
            cause: None,
        }],
        deadlines: Deadlines {
            objection_until: Some(today()),
            final_on: Some(today()),
            ..Deadlines::default()
        },
        gaps: vec!["the sampled unit has no inbound shipment of this batch".into()],
        gaps_zh: vec!["进销货台账中没有被抽样单位购进该批次的记录：请核查其进货来源".into()],
        facts: Some(spotcheck_schemas::case::CaseFacts {
            organiser: result.organiser.clone(),
            product: result.product.clone(),
            failed_items: result.items.clone(),
            sampling_date: result.sampling.date,
            sampled_unit_name: result.sampled_unit.name.clone(),
            cleared_items: vec!["燃气导管".into()],
        }),
        subjects: vec![spotcheck_schemas::case::CaseSubject {
            role: SubjectRole::Seller,
            name: result.sampled_unit.name.clone(),
            uscc: None,
            identified_by: None,
            disclosure: spotcheck_schemas::case::SubjectDisclosure::IdentificationPending,
            reason: Some("identification pending".into()),
        }],
        steps: vec![spotcheck_schemas::case::Step {
            kind: StepKind::StopProductionAndSale,
            due_on: Some(today()),
            done_on: None,
            status: spotcheck_schemas::case::StepStatus::Due,
            basis: Some("Order 18 Art 45".into()),
        }],
        rules: 2,
        inspection: None,
        updated_at: Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap(),
    };
    assert_valid(json_schemas::CASE, &serde_json::to_value(&case).unwrap());

    let disclosure = Disclosure {
        disclosure_id: disclosure_id(&case_id, "91350100M000100Y43", SubjectRole::Producer),
        action: DisclosureAction::Publish,
        subject: Subject {
            uscc: "91350100M000100Y43".into(),
            name: "某电缆厂".into(),
        },
        subject_role: SubjectRole::Producer,
        case_id,
        report_no: result.report_no.clone(),
        lab_id: result.lab_id.clone(),
        organiser: None,
        category: result.category,
        product: result.product.clone(),
        failed_items: result.failed_items().cloned().collect(),
        sampling_date: result.sampling.date,
        final_on: today(),
        published_at: Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap(),
        visible_until: NaiveDate::from_ymd_opt(2029, 5, 1).unwrap(),
        basis: "产品质量法第十五条".into(),
        revision: 2,
        supersedes: Some(1),
        reason: Some("corrected".into()),
    };
    assert_valid(
        json_schemas::DISCLOSURE,
        &serde_json::to_value(&disclosure).unwrap(),
    );
}

#[test]
fn the_example_result_shipped_for_trying_the_api_is_valid() {
    let example: Value = serde_json::from_str(include_str!("../examples/result.json")).unwrap();
    assert_valid(json_schemas::RESULT, &example);
    assert!(SamplingResult::parse(&example, today()).is_ok());
}

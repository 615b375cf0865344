//! Each rule of docs/contract.md §4 for sampling results, broken alone, gives exactly its error.

use chrono::NaiveDate;
use serde_json::{Value, json};
use spotcheck_schemas::{FieldError, SamplingResult, Severity};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()
}

fn valid() -> Value {
    json!({
        "report_no": "TJ-2026-0001", "lab_id": "tj-lab-01", "task_id": "2026Q2-gas",
        "organiser": "天津市市场监督管理委员会", "level": "municipal", "category": "gas_appliance",
        "product": {"name": "家用燃气灶具", "brand": "火王", "model": "JZT-2", "batch": "20260301",
                    "production_date": "2026-03-01"},
        "producer": {"uscc": "91350100M000100Y43", "name": "某某燃气具有限公司", "address": "福州市"},
        "sampled_unit": {"uscc": "91110000802100433B", "name": "南开区某某商店", "district": "120104",
                         "role": "retailer"},
        "sampling": {"date": "2026-04-02", "domain": "circulation", "quantity": "2台"},
        "tested_on": "2026-04-20", "served_on": "2026-04-25", "standards": ["GB 16410-2020"],
        "items": [
            {"name": "熄火保护装置", "clause": "5.3.9", "required": "≤60 s", "measured": "75 s", "verdict": "fail"},
            {"name": "热负荷", "verdict": "pass"}
        ],
        "verdict": "fail", "severity": "serious", "suspected_counterfeit": false
    })
}

/// Applies `change` to a valid result and returns the errors of parsing it.
fn errors_after(change: impl FnOnce(&mut Value)) -> Vec<FieldError> {
    let mut value = valid();
    change(&mut value);
    SamplingResult::parse(&value, today()).expect_err("the changed record should be rejected")
}

/// Asserts exactly one error, on `field`, whose message contains `phrase`.
fn assert_one_error(errors: &[FieldError], field: &str, phrase: &str) {
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    assert_eq!(errors[0].field, field, "{errors:#?}");
    assert!(
        errors[0].message.contains(phrase),
        "message {:?} should contain {phrase:?}",
        errors[0].message
    );
}

#[test]
fn the_example_of_the_contract_is_accepted() {
    let result = SamplingResult::parse(&valid(), today()).unwrap();
    assert_eq!(
        result.batch_key().to_string(),
        "某某燃气具有限公司/JZT-2/20260301"
    );
    assert_eq!(result.failed_items().count(), 1);
}

#[test]
fn only_the_required_fields_are_enough() {
    let minimal = json!({
        "report_no": "R1", "lab_id": "tj-lab-01", "category": "e_bike",
        "product": {"name": "电动自行车", "model": "TDT-1", "batch": "B1"},
        "producer": {"name": "某车业"}, "sampled_unit": {"name": "某车行", "role": "retailer"},
        "sampling": {"date": "2026-04-02", "domain": "circulation"},
        "tested_on": "2026-04-03", "verdict": "pass"
    });
    assert!(SamplingResult::parse(&minimal, today()).is_ok());
}

#[test]
fn every_required_field_is_named_when_missing() {
    let cases: &[(&str, &str)] = &[
        ("report_no", "report_no"),
        ("lab_id", "lab_id"),
        ("category", "category"),
        ("tested_on", "tested_on"),
        ("product", "product"),
        ("producer", "producer"),
        ("sampled_unit", "sampled_unit"),
        ("sampling", "sampling"),
    ];
    for (key, field) in cases {
        let errors = errors_after(|v| {
            v.as_object_mut().unwrap().remove(*key);
        });
        assert_one_error(&errors, field, "is required");
    }
    for (object, key) in [
        ("product", "name"),
        ("product", "model"),
        ("product", "batch"),
        ("producer", "name"),
        ("sampled_unit", "name"),
        ("sampled_unit", "role"),
        ("sampling", "date"),
        ("sampling", "domain"),
    ] {
        let errors = errors_after(|v| {
            v[object].as_object_mut().unwrap().remove(key);
        });
        assert_one_error(&errors, &format!("{object}.{key}"), "is required");
    }
}

#[test]
fn a_missing_verdict_is_named() {
    let errors = errors_after(|v| {
        v.as_object_mut().unwrap().remove("verdict");
    });
    assert_one_error(&errors, "verdict", "is required");
}

#[test]
fn an_empty_required_text_is_named() {
    let errors = errors_after(|v| v["product"]["batch"] = json!("  "));
    assert_one_error(&errors, "product.batch", "must not be empty");
}

#[test]
fn a_failing_item_with_a_pass_verdict_is_rejected() {
    let errors = errors_after(|v| {
        v["verdict"] = json!("pass");
        v.as_object_mut().unwrap().remove("severity");
    });
    assert_one_error(
        &errors,
        "verdict",
        "a failing item makes the whole result fail",
    );
}

#[test]
fn a_fail_without_a_failing_item_is_rejected() {
    let errors = errors_after(|v| v["items"][0]["verdict"] = json!("pass"));
    assert_one_error(&errors, "items", "at least one item with verdict fail");
}

#[test]
fn a_fail_without_any_items_is_rejected() {
    let errors = errors_after(|v| {
        v.as_object_mut().unwrap().remove("items");
    });
    assert_one_error(&errors, "items", "at least one item with verdict fail");
}

#[test]
fn a_pointer_to_the_report_is_no_item() {
    for pointer in ["详见检验报告", "见附件", "参见报告第3页"] {
        let errors = errors_after(|v| v["items"][0]["name"] = json!(pointer));
        assert_one_error(&errors, "items[0].name", "names no item");
    }
    // A name that holds the word is an item's.
    let mut value = valid();
    value["items"][0]["name"] = json!("可见光透射比");
    assert!(SamplingResult::parse(&value, today()).is_ok());
}

#[test]
fn a_wrong_uscc_check_character_is_named_as_such() {
    let errors = errors_after(|v| v["producer"]["uscc"] = json!("91350100M000100Y44"));
    assert_one_error(&errors, "producer.uscc", "check character is wrong");
    let errors = errors_after(|v| v["sampled_unit"]["uscc"] = json!("91110000802100433C"));
    assert_one_error(&errors, "sampled_unit.uscc", "check character is wrong");
}

/// An individual business's record gives its keeper's identity card number where the credit
/// code belongs: the error says what it is and what to give, and does not repeat the number.
#[test]
fn an_identity_card_number_in_the_code_is_named_and_not_repeated() {
    let errors = errors_after(|v| v["sampled_unit"]["uscc"] = json!("120103198001010015"));
    assert_one_error(&errors, "sampled_unit.uscc", "公民身份号码");
    assert!(!format!("{errors:?}").contains("120103198001010015"));
}

#[test]
fn a_uscc_with_a_forbidden_letter_or_length_is_rejected() {
    let errors = errors_after(|v| v["producer"]["uscc"] = json!("91350100M000100I43"));
    assert_one_error(&errors, "producer.uscc", "not allowed");
    let errors = errors_after(|v| v["producer"]["uscc"] = json!("9135010"));
    assert_one_error(&errors, "producer.uscc", "18 characters");
}

#[test]
fn testing_before_sampling_is_rejected() {
    let errors = errors_after(|v| v["tested_on"] = json!("2026-04-01"));
    assert_one_error(&errors, "tested_on", "before the sampling date");
}

#[test]
fn a_test_date_after_tomorrow_is_rejected_and_tomorrow_is_not() {
    // Not yet served: the service-date rules are tested on their own below.
    let errors = errors_after(|v| {
        v["tested_on"] = json!("2026-05-03");
        v["served_on"] = Value::Null;
    });
    assert_one_error(&errors, "tested_on", "in the future");
    let mut tomorrow = valid();
    tomorrow["tested_on"] = json!("2026-05-02");
    tomorrow["served_on"] = Value::Null;
    assert!(SamplingResult::parse(&tomorrow, today()).is_ok());
}

#[test]
fn a_result_served_before_its_test_or_in_the_future_is_rejected() {
    let errors = errors_after(|v| v["served_on"] = json!("2026-04-19"));
    assert_one_error(&errors, "served_on", "before the test date");
    let errors = errors_after(|v| v["served_on"] = json!("2026-05-03"));
    assert_one_error(&errors, "served_on", "in the future");
    let mut same_day = valid();
    same_day["served_on"] = json!("2026-04-20");
    assert!(SamplingResult::parse(&same_day, today()).is_ok());
}

#[test]
fn production_after_sampling_is_rejected() {
    let errors = errors_after(|v| v["product"]["production_date"] = json!("2026-04-03"));
    assert_one_error(
        &errors,
        "product.production_date",
        "after the sampling date",
    );
}

#[test]
fn a_malformed_date_is_named() {
    let errors = errors_after(|v| v["sampling"]["date"] = json!("2026/04/02"));
    assert_one_error(&errors, "sampling.date", "YYYY-MM-DD");
    let errors = errors_after(|v| v["served_on"] = json!("2026-02-30"));
    assert_one_error(&errors, "served_on", "not a date");
}

#[test]
fn an_unknown_category_lists_the_allowed_ones() {
    let errors = errors_after(|v| v["category"] = json!("toys"));
    assert_one_error(&errors, "category", "gas_appliance, e_bike");
}

#[test]
fn every_closed_vocabulary_is_checked() {
    for (object, key) in [
        ("", "level"),
        ("", "verdict"),
        ("", "severity"),
        ("sampled_unit", "role"),
        ("sampling", "domain"),
    ] {
        let errors = errors_after(|v| {
            let target = if object.is_empty() { v } else { &mut v[object] };
            target[key] = json!("bogus");
        });
        let field = if object.is_empty() {
            key.to_owned()
        } else {
            format!("{object}.{key}")
        };
        assert_one_error(&errors, &field, "is not allowed");
    }
}

#[test]
fn an_item_verdict_must_be_pass_or_fail() {
    let errors = errors_after(|v| v["items"][1]["verdict"] = json!("ok"));
    assert_one_error(&errors, "items[1].verdict", "is not allowed");
}

#[test]
fn severity_on_a_pass_is_rejected() {
    let errors = errors_after(|v| {
        v["verdict"] = json!("pass");
        v["items"][0]["verdict"] = json!("pass");
    });
    assert_one_error(&errors, "severity", "only to a failing result");
}

#[test]
fn an_item_rated_serious_makes_the_failure_serious_and_a_general_one_contradicts_it() {
    // No severity for the whole: the items say it.
    let rated = |first: &str, second: Option<&str>| {
        let mut v = valid();
        v.as_object_mut().unwrap().remove("severity");
        v["items"][0]["severity"] = json!(first);
        v["items"][1]["verdict"] = json!("fail");
        if let Some(second) = second {
            v["items"][1]["severity"] = json!(second);
        }
        SamplingResult::parse(&v, today()).unwrap()
    };
    assert_eq!(rated("serious", None).severity, Some(Severity::Serious));
    assert_eq!(
        rated("general", Some("general")).severity,
        Some(Severity::General)
    );
    // One failing item not rated: how grave the whole is, no one said.
    assert_eq!(rated("general", None).severity, None);
    let parsed = rated("serious", Some("general"));
    assert_eq!(parsed.items[0].severity, Some(Severity::Serious));
    assert_eq!(parsed.items[1].severity, Some(Severity::General));
    // A passing item may carry its class: it is not a failure, and makes none.
    let mut v = valid();
    v.as_object_mut().unwrap().remove("severity");
    v["items"][1]["severity"] = json!("serious");
    assert_eq!(SamplingResult::parse(&v, today()).unwrap().severity, None);

    let errors = errors_after(|v| {
        v["severity"] = json!("general");
        v["items"][0]["severity"] = json!("serious");
    });
    assert_one_error(&errors, "severity", "item 1 (熄火保护装置) is serious");
    let errors = errors_after(|v| v["items"][0]["severity"] = json!("A"));
    assert_one_error(&errors, "items[0].severity", "is not allowed");
}

#[test]
fn a_record_without_item_severities_keeps_its_content_hash() {
    // Records posted before items had a severity are stored with their hash; the same record
    // posted again must be a duplicate, not a conflict.
    let parsed = SamplingResult::parse(&valid(), today()).unwrap();
    let stored = serde_json::to_value(&parsed).unwrap();
    assert!(stored["items"][0].get("severity").is_none(), "{stored}");
}

#[test]
fn a_district_must_be_a_division_code() {
    let errors = errors_after(|v| v["sampled_unit"]["district"] = json!("南开"));
    assert_one_error(&errors, "sampled_unit.district", "division code");
}

#[test]
fn an_unknown_field_is_named_not_ignored() {
    let errors = errors_after(|v| v["verdcit"] = json!("fail"));
    assert_one_error(&errors, "verdcit", "not a known field");
}

#[test]
fn several_problems_are_reported_together() {
    let errors = errors_after(|v| {
        v["producer"]["uscc"] = json!("91350100M000100Y44");
        v["tested_on"] = json!("2026-04-01");
        v["category"] = json!("toys");
    });
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["category", "producer.uscc", "tested_on"],
        "{errors:#?}"
    );
}

#[test]
fn a_text_over_the_length_limit_is_rejected() {
    let errors = errors_after(|v| v["product"]["name"] = json!("灶".repeat(501)));
    assert_one_error(&errors, "product.name", "too long");
}

#[test]
fn something_other_than_an_object_is_one_clear_error() {
    let errors = SamplingResult::parse(&json!([1, 2]), today()).unwrap_err();
    assert_one_error(&errors, "", "must be a JSON object");
}

/// Bulletins and ledgers say in many ways that a 三无 product's label names no producer; none of
/// them is an enterprise to identify, and the cities that begin with 无 still are.
#[test]
fn a_label_without_a_producer_is_read_however_it_is_written() {
    use spotcheck_schemas::result::names_a_producer;
    for none in [
        "/",
        "——",
        "无",
        "/（三无产品）",
        "无（见备注）",
        "（无）",
        "三无产品",
        "无厂名厂址",
        "无标称生产企业",
        "未标注生产企业名称",
        "未标明生产者",
        "标签无生产企业信息",
    ] {
        assert!(!names_a_producer(none), "{none}");
    }
    for named in [
        "无锡市某某电器有限公司",
        "无为县某某线缆有限公司",
        "无极县某某化工有限公司",
        "天津市某某电缆有限公司（分公司）",
        "（香港）某某电器集团有限公司",
        "某某燃气具有限公司",
    ] {
        assert!(names_a_producer(named), "{named}");
    }
}

/// Labs' systems serialise dates as date-times. One with an offset is the date in China at that
/// instant (the day the law counts: `2026-04-24T16:30:00Z` is 25 April there), one without is
/// the date written; anything else is still refused. Before, every such record was refused.
#[test]
fn a_date_time_is_read_as_the_date_in_china() {
    let mut value = valid();
    value["sampling"]["date"] = json!("2026-04-02T00:00:00+08:00");
    value["tested_on"] = json!("2026-04-20 17:45:12");
    value["served_on"] = json!("2026-04-24T16:30:00Z");
    let result = SamplingResult::parse(&value, today()).unwrap();
    assert_eq!(result.sampling.date.to_string(), "2026-04-02");
    assert_eq!(result.tested_on.to_string(), "2026-04-20");
    assert_eq!(
        result.served_on.map(|d| d.to_string()).as_deref(),
        Some("2026-04-25")
    );
    let errors = errors_after(|v| v["tested_on"] = json!("2026-04-20T25:00:00"));
    assert_one_error(&errors, "tested_on", "is not a date");
}

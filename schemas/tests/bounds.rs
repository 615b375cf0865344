//! Numbers and dates no record can truly carry are refused with the field named, not stored.

use chrono::NaiveDate;
use serde_json::{Value, json};
use spotcheck_schemas::shipment::Shipment;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()
}

fn shipment() -> Value {
    json!({
        "shipment_id": "S-1", "category": "e_bike",
        "product": {"producer_name": "津电动车制造有限公司", "model": "TDR-9", "batch": "B2026-09"},
        "from": {"uscc": "91350100M000100Y43", "name": "某某燃气具有限公司"},
        "to": {"uscc": "91110000802100433B", "name": "南开区某某商店"},
        "quantity": 40, "unit": "pcs", "shipped_on": "2026-03-10"
    })
}

fn error_on(change: impl FnOnce(&mut Value), field: &str) -> String {
    let mut value = shipment();
    change(&mut value);
    let errors = Shipment::parse(&value, today()).expect_err("refused");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].field, field, "{errors:#?}");
    errors[0].message.clone()
}

#[test]
fn a_quantity_past_a_billion_is_refused() {
    assert!(Shipment::parse(&shipment(), today()).is_ok());
    let message = error_on(|s| s["quantity"] = json!(1.2e59), "quantity");
    assert!(message.contains("at most 1e9"), "{message}");
    let mut large = shipment();
    large["quantity"] = json!(1e9);
    assert!(
        Shipment::parse(&large, today()).is_ok(),
        "a billion is still a quantity"
    );
}

#[test]
fn a_date_in_year_zero_is_refused() {
    let message = error_on(|s| s["shipped_on"] = json!("0000-01-01"), "shipped_on");
    assert!(message.contains("1950–2099"), "{message}");
    let message = error_on(|s| s["shipped_on"] = json!("1949-12-31"), "shipped_on");
    assert!(message.contains("check the year"), "{message}");
}

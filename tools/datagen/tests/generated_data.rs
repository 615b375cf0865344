//! The generated data set is valid, realistic in shape, and deterministic per seed.

use chrono::NaiveDate;
use serde_json::Value;
use spotcheck_datagen::{Plan, RESULTS_FILE, SHIPMENTS_FILE, UNITS_FILE, generate};
use spotcheck_schemas::{SamplingResult, Shipment, Unit, json_schemas};
use std::collections::{HashMap, HashSet};
use std::path::Path;

fn plan(seed: u64) -> Plan {
    Plan {
        results: 400,
        shipments: 3000,
        seed,
        labs: vec!["tj-lab-01".into(), "tj-lab-02".into()],
    }
}

fn lines(dir: &Path, file: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The earliest day the generated data must be valid on.
fn some_later_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()
}

#[test]
fn every_generated_record_passes_the_parser_and_its_json_schema() {
    let dir = tempfile::tempdir().unwrap();
    let written = generate(&plan(7), dir.path()).unwrap();
    assert_eq!((written.results, written.shipments), (400, 3000));
    let checks: [(&str, &str); 3] = [
        (RESULTS_FILE, json_schemas::RESULT),
        (SHIPMENTS_FILE, json_schemas::SHIPMENT),
        (UNITS_FILE, json_schemas::UNIT),
    ];
    for (file, schema) in checks {
        let validator = jsonschema::validator_for(&serde_json::from_str(schema).unwrap()).unwrap();
        for record in lines(dir.path(), file) {
            assert!(validator.is_valid(&record), "{file}: {record}");
            let parsed = match file {
                RESULTS_FILE => SamplingResult::parse(&record, some_later_day()).map(|_| ()),
                SHIPMENTS_FILE => Shipment::parse(&record, some_later_day()).map(|_| ()),
                _ => Unit::parse(&record, None).map(|_| ()),
            };
            assert!(parsed.is_ok(), "{file}: {parsed:?}\n{record}");
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    generate(&plan(42), a.path()).unwrap();
    generate(&plan(42), b.path()).unwrap();
    generate(&plan(43), c.path()).unwrap();
    for file in [RESULTS_FILE, SHIPMENTS_FILE, UNITS_FILE] {
        let read = |d: &tempfile::TempDir| std::fs::read(d.path().join(file)).unwrap();
        assert_eq!(read(&a), read(&b), "{file} differs for one seed");
        assert_ne!(read(&a), read(&c), "{file} is the same for two seeds");
    }
}

#[test]
fn failure_rates_are_those_of_published_bulletins() {
    let dir = tempfile::tempdir().unwrap();
    let written = generate(
        &Plan {
            results: 4000,
            shipments: 2000,
            ..plan(1)
        },
        dir.path(),
    )
    .unwrap();
    let rate = written.failing as f64 / written.results as f64;
    assert!((0.05..=0.25).contains(&rate), "failure rate {rate}");
}

#[test]
fn shipments_form_distribution_trees_rooted_at_the_producer() {
    let dir = tempfile::tempdir().unwrap();
    generate(&plan(3), dir.path()).unwrap();
    let shipments: Vec<Shipment> = lines(dir.path(), SHIPMENTS_FILE)
        .iter()
        .map(|v| Shipment::parse(v, some_later_day()).unwrap())
        .collect();
    let mut holders: HashMap<String, HashMap<String, NaiveDate>> = HashMap::new();
    let mut ids = HashSet::new();
    let mut depth_two = 0;
    let mut out_of_region = 0;
    for s in &shipments {
        assert!(
            ids.insert(s.shipment_id.clone()),
            "duplicate id {}",
            s.shipment_id
        );
        let key = s.batch_key().to_string();
        let held = holders.entry(key).or_default();
        let from_producer = s.product.producer_uscc.as_ref() == Some(&s.from.uscc);
        match held.get(s.from.uscc.as_str()) {
            Some(arrived) => {
                assert!(
                    *arrived <= s.shipped_on,
                    "{} ships before it received",
                    s.shipment_id
                );
                depth_two += usize::from(!from_producer);
            }
            None => assert!(
                from_producer,
                "{} comes from a unit that never had the batch",
                s.shipment_id
            ),
        }
        held.entry(s.to.uscc.to_string()).or_insert(s.shipped_on);
        out_of_region += usize::from(!s.to.district.as_deref().unwrap_or("12").starts_with("12"));
    }
    assert!(depth_two > 0, "no hop beyond the first level");
    assert!(
        out_of_region > 0,
        "no shipment crosses into another province"
    );
}

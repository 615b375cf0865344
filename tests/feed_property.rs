//! The credit feed is a function of the newest case revisions, whatever the order in which
//! results, shipments, registrations and dispositions arrive: random subsets of a case's records
//! in random order are fed to the traceback stage's state, every case revision it derives is
//! reconciled with the feed as the credit stage does, and in the end the feed's standing
//! (newest action per `disclosure_id`) is exactly what the newest revisions call for — and the
//! same as for the records in their natural order.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use rdkafka::mocking::MockCluster;
use serde_json::{Value, json};
use spotcheck_credit::decide::reconcile;
use spotcheck_runtime::{Delivered, KafkaSettings, Metrics, Publisher};
use spotcheck_schemas::topics;
use spotcheck_schemas::{Case, Disclosure, DisclosureAction};
use spotcheck_traceback::{Authority, ManualClock, Store, TracebackStage};
use std::collections::BTreeMap;
use std::sync::Arc;

const PRODUCER: &str = "91350100M000100Y43";
const SELLER: &str = "91110000802100433B";
const OTHER: &str = "91120104MA00000011";

fn result(report_no: &str, seller_uscc: bool, counterfeit: bool) -> Value {
    let mut sampled =
        json!({"name": "天津市津安五金有限责任公司", "district": "120104", "role": "retailer"});
    if seller_uscc {
        sampled["uscc"] = json!(SELLER);
    }
    json!({
        "report_no": report_no, "lab_id": "lab", "category": "wire_cable",
        "product": {"name": "电线", "model": "BV-2.5", "batch": "B7"},
        "producer": {"uscc": PRODUCER, "name": "天津津安电缆有限公司"},
        "sampled_unit": sampled,
        "sampling": {"date": "2026-03-01", "domain": "circulation"},
        "tested_on": "2026-03-10", "served_on": "2026-03-12",
        "items": [{"name": "导体电阻", "verdict": "fail"}],
        "verdict": "fail", "severity": "general", "standards": [],
        "suspected_counterfeit": counterfeit
    })
}

fn disposition(report_no: &str, id: &str, kind: &str, on: &str, extra: Value) -> Value {
    let mut d = json!({"disposition_id": id, "report_no": report_no, "lab_id": "lab",
                       "kind": kind, "on": on, "outcome": null, "note": null});
    if let Value::Object(fields) = extra {
        for (k, v) in fields {
            d[k] = v;
        }
    }
    d
}

/// Every record the property may send: (topic, value).
fn records() -> Vec<(&'static str, Value)> {
    let unit = |uscc: &str, name: &str| {
        json!({"uscc": uscc, "name": name, "address": null, "district": "120104",
               "roles": ["retailer"], "licences": []})
    };
    vec![
        (topics::RESULTS, result("R-1", false, false)),
        (topics::RESULTS, result("R-2", true, false)),
        (topics::RESULTS, result("R-3", true, true)),
        (topics::UNITS, unit(SELLER, "天津津安五金有限公司")),
        (topics::UNITS, unit(PRODUCER, "天津市津安电缆有限公司")),
        (
            topics::SHIPMENTS,
            json!({"shipment_id": "S-1", "category": "wire_cable",
                   "product": {"producer_uscc": PRODUCER, "producer_name": "天津市津安电缆有限公司",
                               "model": "BV-2.5", "batch": "B7"},
                   "from": {"uscc": PRODUCER, "name": "厂"}, "to": {"uscc": SELLER, "name": "店"},
                   "quantity": 5, "unit": "pcs", "shipped_on": "2026-02-01"}),
        ),
        (
            topics::DISPOSITIONS,
            disposition("R-2", "D-1", "producer_denied", "2026-04-10", json!({})),
        ),
        (
            topics::DISPOSITIONS,
            disposition("R-1", "D-2", "objection_filed", "2026-03-20", json!({})),
        ),
        (
            topics::DISPOSITIONS,
            disposition(
                "R-1",
                "D-3",
                "retest_concluded",
                "2026-04-15",
                json!({"outcome": "upheld"}),
            ),
        ),
        (
            topics::DISPOSITIONS,
            disposition("R-2", "D-4", "objection_filed", "2026-03-15", json!({})),
        ),
        (
            topics::DISPOSITIONS,
            disposition(
                "R-2",
                "D-5",
                "retest_concluded",
                "2026-04-01",
                json!({"outcome": "overturned"}),
            ),
        ),
        (
            topics::DISPOSITIONS,
            disposition(
                "R-1",
                "D-6",
                "identified",
                "2026-05-01",
                json!({"name": "天津市津安五金有限责任公司", "uscc": OTHER}),
            ),
        ),
    ]
}

struct Run {
    _cluster: MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    _dir: tempfile::TempDir,
    stage: TracebackStage,
    store: Arc<Store>,
}

fn new_run() -> Run {
    let cluster = MockCluster::new(1).unwrap();
    let kafka = KafkaSettings::new(cluster.bootstrap_servers(), "property");
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let publisher = Publisher::new(&kafka, metrics).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("state.redb")).unwrap());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
    ));
    let stage = TracebackStage::new(store.clone(), publisher, clock, Authority::default());
    Run {
        _cluster: cluster,
        _dir: dir,
        stage,
        store,
    }
}

/// Feeds `order` one record at a time; reconciles every new case revision with the feed.
/// Returns the feed's standing and the newest cases.
fn feed_after(order: &[usize]) -> (BTreeMap<String, Disclosure>, Vec<Case>) {
    let run = new_run();
    let all = records();
    let mut offsets: BTreeMap<&str, i64> = BTreeMap::new();
    let mut seen_revision: BTreeMap<String, u64> = BTreeMap::new();
    let mut standing: BTreeMap<String, Disclosure> = BTreeMap::new();
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap();
    for &index in order {
        let (topic, value) = &all[index];
        let offset = offsets.entry(topic).or_default();
        let delivered = Delivered {
            topic: (*topic).into(),
            partition: 0,
            offset: *offset,
            key: None,
            payload: value.to_string().into_bytes(),
            headers: vec![],
        };
        *offset += 1;
        let dead = run.stage.absorb(&[delivered]).unwrap();
        assert!(dead.is_empty(), "{dead:?}");
        for case in run.store.cases().unwrap() {
            if seen_revision.get(&case.case_id) == Some(&case.revision) {
                continue;
            }
            seen_revision.insert(case.case_id.clone(), case.revision);
            let last: BTreeMap<String, Disclosure> = standing
                .iter()
                .filter(|(_, d)| d.case_id == case.case_id)
                .map(|(id, d)| (id.clone(), d.clone()))
                .collect();
            for action in reconcile(&case, &last, now) {
                standing.insert(action.disclosure_id.clone(), action);
            }
        }
    }
    let cases = run.store.cases().unwrap();
    (standing, cases)
}

/// What stands published: id → (subject, role, final_on, visible_until).
fn published(
    standing: &BTreeMap<String, Disclosure>,
) -> BTreeMap<String, (String, String, String)> {
    standing
        .iter()
        .filter(|(_, d)| d.action == DisclosureAction::Publish)
        .map(|(id, d)| {
            (
                id.clone(),
                (
                    d.subject.uscc.clone(),
                    d.final_on.to_string(),
                    d.visible_until.to_string(),
                ),
            )
        })
        .collect()
}

/// What the newest revisions call for, from nothing.
fn called_for(cases: &[Case]) -> BTreeMap<String, (String, String, String)> {
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap();
    let mut wanted = BTreeMap::new();
    for case in cases {
        for d in reconcile(case, &BTreeMap::new(), now) {
            wanted.insert(d.disclosure_id.clone(), d);
        }
    }
    published(&wanted)
}

fn subset_in_some_order() -> impl Strategy<Value = Vec<usize>> {
    let n = records().len();
    proptest::sample::subsequence((0..n).collect::<Vec<_>>(), 1..=n).prop_shuffle()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_feed_stands_where_the_newest_revisions_say_whatever_the_arrival_order(
        order in subset_in_some_order()
    ) {
        let (standing, cases) = feed_after(&order);
        prop_assert_eq!(published(&standing), called_for(&cases));
        let mut natural = order.clone();
        natural.sort();
        let (in_order, _) = feed_after(&natural);
        prop_assert_eq!(published(&standing), published(&in_order));
    }
}

#[test]
fn all_records_in_any_order_disclose_the_identified_seller_and_not_the_overturned() {
    let n = records().len();
    let (standing, _) = feed_after(&(0..n).rev().collect::<Vec<_>>());
    let now = published(&standing);
    let by_subject: Vec<&str> = now.values().map(|(uscc, _, _)| uscc.as_str()).collect();
    // seller identified by the official (OTHER), producer; final from the upheld re-test.
    assert!(by_subject.contains(&OTHER), "{now:?}");
    assert!(
        now.values()
            .any(|(_, final_on, _)| final_on == "2026-04-15")
    );
    // R-2 overturned: nothing of it stands; R-3 counterfeit: its seller only.
    assert_eq!(now.len(), 3, "{now:?}");
}

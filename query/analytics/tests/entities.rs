//! Shipments, units and cases land in the lake as versions; `units`, `cases` and `case_units`
//! show the latest version per key, and a re-sent case revision counts once.

use serde_json::{Value, json};
use spotcheck_analytics::arrow::json::ArrayWriter;
use spotcheck_analytics::{Analytics, QueryLimits};
use spotcheck_lake::{LakeSettings, LakeWriter};
use spotcheck_runtime::{Delivered, Stage};
use spotcheck_schemas::topics;

const SHOP: &str = "91110000802100433B";
const MAKER: &str = "91350100M000100Y43";

fn delivered(topic: &str, offset: i64, value: Value) -> Delivered {
    Delivered {
        topic: topic.into(),
        partition: 0,
        offset,
        key: None,
        payload: value.to_string().into_bytes(),
        headers: vec![],
    }
}

fn case(revision: u64, status: &str, units: &[(&str, &str)]) -> Value {
    let units: Vec<Value> = units
        .iter()
        .map(|(uscc, direction)| {
            json!({"uscc": uscc, "name": "某", "role": null, "direction": direction,
            "hops": 1, "quantity_received": 5.0, "district": "120104", "in_region": true})
        })
        .collect();
    json!({
        "case_id": "c1", "revision": revision, "report_no": "R1", "lab_id": "lab", "category": "e_bike",
        "batch": {"key": "p/m/b", "producer_name": "p", "producer_uscc": MAKER, "model": "m", "batch": "b"},
        "status": status, "origin": {"uscc": SHOP, "name": "店", "role": "retailer"},
        "units": units, "referrals": [], "notices": [],
        "deadlines": {"objection_until": "2026-05-10", "rectify_by": null, "recheck_by": null},
        "gaps": [], "updated_at": "2026-05-01T08:00:00Z"
    })
}

async fn rows(analytics: &Analytics, sql: &str) -> Value {
    let batches = analytics.query(sql).await.unwrap().batches;
    let mut writer = ArrayWriter::new(Vec::new());
    writer
        .write_batches(&batches.iter().collect::<Vec<_>>())
        .unwrap();
    writer.finish().unwrap();
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        json!([])
    } else {
        serde_json::from_slice(&bytes).unwrap()
    }
}

#[tokio::test]
async fn entity_tables_show_the_latest_version_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let unit = |name: &str| {
        json!({"uscc": SHOP, "name": name, "address": null, "district": "120104",
                                   "roles": ["retailer"], "licences": []})
    };
    let batch = vec![
        delivered(topics::UNITS, 0, unit("旧名")),
        delivered(topics::UNITS, 1, unit("新名")),
        delivered(
            topics::SHIPMENTS,
            0,
            json!({"shipment_id": "S1", "category": "e_bike",
            "product": {"producer_uscc": MAKER, "producer_name": "p", "model": "m", "batch": "b"},
            "from": {"uscc": MAKER, "name": "厂", "district": null}, "to": {"uscc": SHOP, "name": "店", "district": "120104"},
            "quantity": 12.0, "unit": "pcs", "shipped_on": "2026-03-10"}),
        ),
        delivered(topics::CASES, 0, case(1, "open", &[(SHOP, "origin")])),
        delivered(
            topics::CASES,
            1,
            case(2, "final", &[(SHOP, "origin"), (MAKER, "upstream")]),
        ),
        // The same revision re-sent (an outbox replay after a crash).
        delivered(
            topics::CASES,
            2,
            case(2, "final", &[(SHOP, "origin"), (MAKER, "upstream")]),
        ),
    ];
    let applied = writer.apply(&batch).await.unwrap();
    assert!(
        applied.dead_letters.is_empty(),
        "{:?}",
        applied.dead_letters
    );
    writer.idle().await.unwrap();
    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();

    assert_eq!(
        rows(&analytics, "SELECT uscc, name FROM units").await,
        json!([{"uscc": SHOP, "name": "新名"}])
    );
    assert_eq!(
        rows(&analytics, "SELECT count(*) AS n FROM unit_versions").await,
        json!([{"n": 2}])
    );
    assert_eq!(
        rows(
            &analytics,
            "SELECT shipment_id, category, month, quantity, shipped_on FROM shipments"
        )
        .await,
        json!([{"shipment_id": "S1", "category": "e_bike", "month": "2026-03", "quantity": 12.0, "shipped_on": "2026-03-10"}])
    );
    assert_eq!(
        rows(
            &analytics,
            "SELECT case_id, revision, status, units, objection_until, rectify_by, \
             CAST(updated_at AS VARCHAR) AS updated_at FROM cases"
        )
        .await,
        json!([{"case_id": "c1", "revision": 2, "status": "final", "units": 2,
                "objection_until": "2026-05-10", "updated_at": "2026-05-01T08:00:00Z"}])
    );
    assert_eq!(
        rows(
            &analytics,
            "SELECT uscc, direction FROM case_units ORDER BY direction"
        )
        .await,
        json!([{"uscc": SHOP, "direction": "origin"}, {"uscc": MAKER, "direction": "upstream"}])
    );
    assert_eq!(
        rows(&analytics, "SELECT count(*) AS n FROM disclosures").await,
        json!([{"n": 0}])
    );
}

/// A unit's archive dates a case by China's date: a revision at 20:00 UTC on 1 May is one of
/// 2 May in China (the lake keeps the time in UTC).
#[tokio::test]
async fn the_archive_dates_an_event_by_its_day_in_china() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let mut late = case(1, "open", &[(SHOP, "origin")]);
    late["updated_at"] = json!("2026-05-01T20:00:00Z");
    writer
        .apply(&[delivered(topics::CASES, 0, late)])
        .await
        .unwrap();
    writer.idle().await.unwrap();
    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    assert_eq!(
        rows(
            &analytics,
            &format!(
                "SELECT CAST(on_date AS VARCHAR) AS on_date FROM archive \
                 WHERE uscc = '{SHOP}' AND event = 'case'"
            )
        )
        .await,
        json!([{"on_date": "2026-05-02"}])
    );
}

//! Shipments, units and cases land in the lake as versions; `units`, `cases` and `case_units`
//! show the latest version per key, and a re-sent case revision counts once.

use serde_json::{Value, json};
use spotcheck_analytics::arrow::json::ArrayWriter;
use spotcheck_analytics::{Analytics, QueryLimits};
use spotcheck_lake::{LakeSettings, LakeWriter};
use spotcheck_runtime::{Delivered, Stage};
use spotcheck_schemas::topics;
use std::collections::BTreeMap;

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

/// The lake after `writer` took `batch` (every record accepted), opened for SQL.
async fn landed(writer: &mut LakeWriter, batch: &[Delivered], dir: &std::path::Path) -> Analytics {
    let applied = writer.apply(batch).await.unwrap();
    assert!(
        applied.dead_letters.is_empty(),
        "{:?}",
        applied.dead_letters
    );
    writer.idle().await.unwrap();
    Analytics::open(dir, QueryLimits::default()).await.unwrap()
}

/// Each unit's reasons in the where-to-sample ranking as of 2026-10-01, by credit code.
async fn reasons_as_of_october(analytics: &Analytics) -> BTreeMap<String, Vec<String>> {
    let query = spotcheck_analytics::SuggestQuery {
        as_of: "2026-10-01".parse().unwrap(),
        district: None,
        organiser: None,
        limit: 10,
    };
    let ranked = analytics.suggest(&query).await.unwrap();
    ranked.into_iter().map(|s| (s.uscc, s.reasons)).collect()
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
    let analytics = landed(&mut writer, &batch, dir.path()).await;

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

/// Real bulletins name the nominal producer by name only. Once its case identified it (or, for
/// a pass, the registry holds one unit of that name however spelt), its results are in its
/// archive and the where-to-sample ranking counts its failure; a name two registered units
/// bear is neither's.
#[tokio::test]
async fn a_producer_named_without_its_code_is_counted_under_it_once_identified() {
    const HUAXIN_1: &str = "91120104MA0000012U";
    const HUAXIN_2: &str = "91120113MA00000130";
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let unit = |uscc: &str, name: &str, district: &str, role: &str| {
        json!({"uscc": uscc, "name": name, "address": null, "district": district,
               "roles": [role], "licences": []})
    };
    let result = |report: &str, on: &str, producer: &str, shop: Value, verdict: &str| {
        let mut result = json!({
            "report_no": report, "lab_id": "lab", "category": "gas_appliance",
            "organiser": "天津市市场监督管理委员会",
            "product": {"name": "燃气灶", "model": "JZ-1", "batch": report},
            "producer": {"name": producer}, "sampled_unit": shop,
            "sampling": {"date": on, "domain": "circulation"},
            "tested_on": on, "verdict": verdict, "items": [{"name": "熄火保护装置", "verdict": verdict}]
        });
        if verdict == "fail" {
            result["severity"] = json!("general");
        }
        result
    };
    let shop = json!({"uscc": SHOP, "name": "南开区某燃气具商店", "role": "retailer", "district": "120104"});
    let market = json!({"name": "某超市", "role": "retailer", "district": "120104"});
    let mut case = case(1, "final", &[(SHOP, "origin"), (MAKER, "upstream")]);
    case["subjects"] = json!([
        {"role": "seller", "name": "南开区某燃气具商店", "uscc": SHOP, "identified_by": "given",
         "disclosure": "disclose", "reason": null},
        {"role": "producer", "name": "天津市津安燃气具有限责任公司", "uscc": MAKER,
         "identified_by": "registry_name", "disclosure": "disclose", "reason": null},
    ]);
    let batch = vec![
        delivered(
            topics::UNITS,
            0,
            unit(MAKER, "天津津安燃气具有限公司", "120116", "producer"),
        ),
        delivered(
            topics::UNITS,
            1,
            unit(SHOP, "南开区某燃气具商店", "120104", "retailer"),
        ),
        delivered(
            topics::UNITS,
            2,
            unit(HUAXIN_1, "天津华信电缆有限公司", "120104", "producer"),
        ),
        delivered(
            topics::UNITS,
            3,
            unit(HUAXIN_2, "天津市华信电缆有限公司", "120113", "producer"),
        ),
        delivered(
            topics::RESULTS,
            0,
            result(
                "R1",
                "2026-06-01",
                "天津市津安燃气具有限责任公司",
                shop,
                "fail",
            ),
        ),
        delivered(
            topics::RESULTS,
            1,
            result(
                "R2",
                "2026-08-01",
                "天津津安燃气具有限公司",
                market.clone(),
                "pass",
            ),
        ),
        delivered(
            topics::RESULTS,
            2,
            result("R3", "2026-07-01", "天津华信电缆有限公司", market, "pass"),
        ),
        delivered(topics::CASES, 0, case),
    ];
    let analytics = landed(&mut writer, &batch, dir.path()).await;

    // R2 repeats R1 within six months (the same producer spelt otherwise): a plan warning,
    // in the producer's archive too.
    assert_eq!(
        rows(
            &analytics,
            "SELECT uscc, event, report_no FROM archive \
             WHERE event IN ('sampled', 'produced', 'warning') ORDER BY uscc, report_no, event"
        )
        .await,
        json!([
            {"uscc": SHOP, "event": "sampled", "report_no": "R1"},
            {"uscc": MAKER, "event": "produced", "report_no": "R1"},
            {"uscc": MAKER, "event": "produced", "report_no": "R2"},
            {"uscc": MAKER, "event": "warning", "report_no": "R2"},
        ])
    );
    let ranked = reasons_as_of_october(&analytics).await;
    let reasons = |uscc: &str| ranked.get(uscc).cloned().unwrap_or_default();
    let maker = reasons(MAKER);
    assert!(
        maker
            .iter()
            .any(|r| r.starts_with("近12个月抽查不合格 1 次")),
        "{maker:?}"
    );
    assert!(
        maker
            .iter()
            .any(|r| r.starts_with("近36个月抽查 2 批次，不合格率 50%")),
        "{maker:?}"
    );
    for uscc in [HUAXIN_1, HUAXIN_2] {
        assert!(
            reasons(uscc).iter().any(|r| r.starts_with("从未被抽查")),
            "{uscc}: {:?}",
            reasons(uscc)
        );
    }
}

/// A label the nominal producer denies is no sample of its product: the where-to-sample ranking
/// does not count it against the producer (the lab's `suspected_counterfeit`, or an official's
/// `producer_denied`), while the shop where it was sampled keeps its failure.
#[tokio::test]
async fn a_counterfeit_is_not_counted_against_the_producer_it_names() {
    const DENIER: &str = "91120104MA0000012U";
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let maker = |uscc: &str, name: &str| {
        json!({"uscc": uscc, "name": name, "address": null, "district": "120116",
               "roles": ["producer"], "licences": []})
    };
    let failure = |report: &str, producer: Value, shop: Value| {
        json!({
            "report_no": report, "lab_id": "lab", "category": "gas_appliance",
            "organiser": "天津市市场监督管理委员会",
            "product": {"name": "燃气灶", "model": "JZ-1", "batch": report},
            "producer": producer, "sampled_unit": shop,
            "sampling": {"date": "2026-06-01", "domain": "circulation"},
            "tested_on": "2026-06-05", "verdict": "fail", "severity": "general",
            "items": [{"name": "熄火保护装置", "verdict": "fail"}]
        })
    };
    let mut fake = failure(
        "R1",
        json!({"uscc": MAKER, "name": "天津津安燃气具有限公司"}),
        json!({"uscc": SHOP, "name": "南开区某燃气具商店", "role": "retailer", "district": "120104"}),
    );
    fake["suspected_counterfeit"] = json!(true);
    let denied = failure(
        "R2",
        json!({"uscc": DENIER, "name": "天津华信燃气具有限公司"}),
        json!({"name": "某超市", "role": "retailer", "district": "120104"}),
    );
    // The genuine product sampled two months after the counterfeit: no repeat within six months.
    let mut genuine = failure(
        "R3",
        json!({"uscc": MAKER, "name": "天津津安燃气具有限公司"}),
        json!({"name": "某五金店", "role": "retailer", "district": "120104"}),
    );
    genuine["verdict"] = json!("pass");
    genuine["sampling"]["date"] = json!("2026-08-01");
    genuine["tested_on"] = json!("2026-08-05");
    genuine["items"][0]["verdict"] = json!("pass");
    genuine.as_object_mut().unwrap().remove("severity");
    let mut case = case(1, "final", &[(DENIER, "upstream")]);
    case["case_id"] = json!("c2");
    case["report_no"] = json!("R2");
    case["batch"]["producer_uscc"] = json!(DENIER);
    case["referrals"] = json!([{"uscc": DENIER, "region": "120116", "kind": "producer_denied",
        "reason": "the nominal producer denies making this batch: referred for investigation"}]);
    let denial = json!({"disposition_id": "D1", "case_id": "c2", "report_no": "R2",
                        "lab_id": "lab", "kind": "producer_denied", "on": "2026-06-20"});
    let batch = vec![
        delivered(topics::UNITS, 0, maker(MAKER, "天津津安燃气具有限公司")),
        delivered(topics::UNITS, 1, maker(DENIER, "天津华信燃气具有限公司")),
        delivered(topics::RESULTS, 0, fake),
        delivered(topics::RESULTS, 1, denied),
        delivered(topics::RESULTS, 2, genuine),
        delivered(topics::CASES, 0, case),
        delivered(topics::DISPOSITIONS, 0, denial),
    ];
    let analytics = landed(&mut writer, &batch, dir.path()).await;
    let ranked = reasons_as_of_october(&analytics).await;
    let reasons = |uscc: &str| ranked.get(uscc).cloned().unwrap_or_default();
    for producer in [MAKER, DENIER] {
        assert!(
            !reasons(producer)
                .iter()
                .any(|r| r.starts_with("近12个月抽查不合格")),
            "{producer}: {:?}",
            reasons(producer)
        );
    }
    assert!(
        reasons(DENIER).iter().any(|r| r.starts_with("从未被抽查")),
        "{:?}",
        reasons(DENIER)
    );
    assert_eq!(
        rows(
            &analytics,
            "SELECT report_no FROM warnings WHERE kind = 'six_month_repeat'"
        )
        .await,
        json!([])
    );
    assert!(
        reasons(SHOP)
            .iter()
            .any(|r| r.starts_with("近12个月抽查不合格 1 次")),
        "{:?}",
        reasons(SHOP)
    );
    // The producers' archives keep the results that name them, saying the label is denied, and
    // the denier's case says why it was referred (not 辖区外).
    let archive = rows(
        &analytics,
        "SELECT uscc, event, detail FROM archive \
         WHERE event IN ('produced', 'case') AND report_no <> 'R3' ORDER BY uscc, event",
    )
    .await;
    let details: Vec<(&str, &str, &str)> = archive
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["uscc"].as_str().unwrap(),
                row["event"].as_str().unwrap(),
                row["detail"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(details.len(), 3, "{archive}");
    for (uscc, event, detail) in details {
        assert!([MAKER, DENIER].contains(&uscc), "{archive}");
        assert!(detail.contains("涉嫌假冒"), "{event}: {detail}");
        assert!(!detail.contains("辖区外"), "{event}: {detail}");
    }
}

/// A case is suspended when a unit fails its second re-check; with the order given unit by unit,
/// that may be the producer alone. The serious-dishonesty candidate is the unit the listed
/// supervision for the second failure went to, not the shop where the sample was taken.
#[tokio::test]
async fn the_listing_candidate_of_a_second_failed_recheck_is_the_unit_that_failed_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let mut case = case(5, "suspended", &[(SHOP, "origin"), (MAKER, "upstream")]);
    case["units"][1]["name"] = json!("天津津安燃气具有限公司");
    case["deadlines"]["final_on"] = json!("2026-03-01");
    case["notices"] = json!([
        {"kind": "rectification", "to": SHOP, "due_on": "2026-05-01", "status": "served"},
        {"kind": "rectification", "to": MAKER, "due_on": "2026-05-01", "status": "served"},
        {"kind": "interview", "to": MAKER, "due_on": "2026-07-20", "status": "served",
         "cause": "recheck_failed"},
        {"kind": "listed_supervision", "to": MAKER, "due_on": "2026-11-10", "status": "proposed",
         "cause": "second_recheck_failed"},
    ]);
    writer
        .apply(&[delivered(topics::CASES, 0, case)])
        .await
        .unwrap();
    writer.idle().await.unwrap();
    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    assert_eq!(
        rows(
            &analytics,
            "SELECT uscc, name, CAST(first_final_on AS VARCHAR) AS final_on FROM listing_candidates \
             WHERE reason = 'second_recheck_failed'"
        )
        .await,
        json!([{"uscc": MAKER, "name": "天津津安燃气具有限公司", "final_on": "2026-03-01"}])
    );
}

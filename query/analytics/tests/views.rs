//! The trend views answer correctly on a small lake whose answers are known.

use serde_json::{Value, json};
use spotcheck_analytics::arrow::json::ArrayWriter;
use spotcheck_analytics::{Analytics, QueryError, QueryLimits};
use spotcheck_lake::{LakeSettings, LakeWriter};
use spotcheck_runtime::{Delivered, Stage};

/// (report, lab, category, district, sampled on, producer, items as (name, passed))
type Known = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, bool)],
);

const KNOWN: &[Known] = &[
    (
        "R1",
        "lab-a",
        "e_bike",
        "120104",
        "2026-04-02",
        "甲车业",
        &[("最高车速", false), ("整车质量", true)],
    ),
    (
        "R2",
        "lab-a",
        "e_bike",
        "120104",
        "2026-05-10",
        "甲车业",
        &[("最高车速", true)],
    ),
    (
        "R3",
        "lab-b",
        "wire_cable",
        "120101",
        "2026-07-01",
        "乙电缆",
        &[("导体电阻", false)],
    ),
];

fn delivered(offset: i64, known: &Known) -> Delivered {
    let (report, lab, category, district, sampled, producer, items) = known;
    let items: Vec<Value> = items
        .iter()
        .map(|(name, passed)| json!({"name": name, "verdict": if *passed { "pass" } else { "fail" }}))
        .collect();
    let failed = items.iter().any(|i| i["verdict"] == "fail");
    let result = json!({
        "report_no": report, "lab_id": lab, "category": category,
        "product": {"name": "产品", "model": "M1", "batch": "B1"},
        "producer": {"name": producer}, "sampled_unit": {"name": "某店", "role": "retailer", "district": district},
        "sampling": {"date": sampled, "domain": "circulation"},
        "tested_on": sampled, "verdict": if failed { "fail" } else { "pass" }, "items": items
    });
    as_delivered(offset, &result)
}

fn as_delivered(offset: i64, result: &Value) -> Delivered {
    Delivered {
        topic: "spotcheck.results.v1".into(),
        partition: 0,
        offset,
        key: None,
        payload: result.to_string().into_bytes(),
        headers: vec![],
    }
}

async fn lake() -> (tempfile::TempDir, Analytics) {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let batch: Vec<Delivered> = KNOWN
        .iter()
        .enumerate()
        .map(|(i, k)| delivered(i as i64, k))
        .collect();
    writer.apply(&batch).await.unwrap();
    writer.idle().await.unwrap();
    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    (dir, analytics)
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
async fn failure_rates_by_category_and_district_per_quarter() {
    let (_dir, analytics) = lake().await;
    assert_eq!(
        rows(
            &analytics,
            "SELECT * FROM failure_rate_by_category_quarter ORDER BY category, quarter"
        )
        .await,
        json!([
            {"category": "e_bike", "quarter": "2026Q2", "results": 2, "failures": 1, "failure_rate": 0.5},
            {"category": "wire_cable", "quarter": "2026Q3", "results": 1, "failures": 1, "failure_rate": 1.0}
        ])
    );
    assert_eq!(
        rows(&analytics, "SELECT district, quarter, results, failures FROM failure_rate_by_district_quarter ORDER BY district").await,
        json!([
            {"district": "120101", "quarter": "2026Q3", "results": 1, "failures": 1},
            {"district": "120104", "quarter": "2026Q2", "results": 2, "failures": 1}
        ])
    );
}

#[tokio::test]
async fn failing_items_lab_volumes_and_histories() {
    let (_dir, analytics) = lake().await;
    assert_eq!(
        rows(
            &analytics,
            "SELECT * FROM failing_items_by_category ORDER BY category, item_name"
        )
        .await,
        json!([
            {"category": "e_bike", "item_name": "整车质量", "tested": 1, "failures": 0},
            {"category": "e_bike", "item_name": "最高车速", "tested": 2, "failures": 1},
            {"category": "wire_cable", "item_name": "导体电阻", "tested": 1, "failures": 1}
        ])
    );
    assert_eq!(
        rows(&analytics, "SELECT * FROM lab_volume ORDER BY lab_id").await,
        json!([
            {"lab_id": "lab-a", "quarter": "2026Q2", "results": 2, "failures": 1},
            {"lab_id": "lab-b", "quarter": "2026Q3", "results": 1, "failures": 1}
        ])
    );
    assert_eq!(
        rows(&analytics, "SELECT report_no, verdict FROM producer_history WHERE producer_name = '甲车业' ORDER BY sampling_date DESC").await,
        json!([{"report_no": "R2", "verdict": "pass"}, {"report_no": "R1", "verdict": "fail"}])
    );
    assert_eq!(
        rows(
            &analytics,
            "SELECT count(*) AS n FROM sampled_unit_history WHERE district = '120104'"
        )
        .await,
        json!([{"n": 2}])
    );
}

#[tokio::test]
async fn a_query_past_the_time_limit_is_stopped_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let limits = QueryLimits {
        timeout: std::time::Duration::from_millis(200),
        ..QueryLimits::default()
    };
    let analytics = Analytics::open(dir.path(), limits).await.unwrap();
    let error = analytics
        .query("SELECT count(DISTINCT a.value * b.value) FROM generate_series(1, 100000) a, generate_series(1, 100000) b")
        .await
        .err()
        .expect("a cross join of 10^10 rows does not finish in 200 ms");
    assert!(matches!(error, QueryError::TimedOut(_)), "{error}");
    assert!(error.to_string().contains("0.2s limit"), "{error}");
}

#[tokio::test]
async fn a_query_past_the_memory_limit_fails_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let limits = QueryLimits {
        memory_bytes: 4 * 1024 * 1024,
        ..QueryLimits::default()
    };
    let analytics = Analytics::open(dir.path(), limits).await.unwrap();
    let error = analytics
        .query("SELECT value % 3 AS k, array_agg(value) FROM generate_series(1, 5000000) GROUP BY value % 3")
        .await
        .err()
        .expect("five million values do not fit in 4 MiB");
    assert!(matches!(error, QueryError::OutOfMemory { .. }), "{error}");
    assert!(error.to_string().contains("4 MiB limit"), "{error}");
    // The pool is released: a small query still runs.
    assert!(analytics.query("SELECT 1").await.is_ok());
}

#[tokio::test]
async fn a_long_running_session_sees_files_written_after_it_listed_the_partition() {
    let (dir, analytics) = lake().await;
    let count = "SELECT count(*) AS n FROM results WHERE category = 'e_bike'";
    let before = rows(&analytics, count).await[0]["n"].as_u64().unwrap();
    // A later flush into the same Hive partition directory (same category and month).
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let later = delivered(KNOWN.len() as i64, &KNOWN[0]);
    writer.apply(&[later]).await.unwrap();
    writer.finish().await.unwrap();
    let after = rows(&analytics, count).await[0]["n"].as_u64().unwrap();
    assert_eq!(
        after,
        before + 1,
        "the new file is invisible to the session"
    );
}

/// Officials read names, not codes: `categories` and `districts` give SQL both, and join the
/// results and views on their ids.
#[tokio::test]
async fn lookup_tables_name_the_categories_and_districts_in_chinese() {
    let (_dir, analytics) = lake().await;
    assert_eq!(
        rows(
            &analytics,
            "SELECT c.name_zh AS category, d.name_zh AS district, count(*) AS results \
             FROM results r JOIN categories c USING (category) \
             JOIN districts d ON d.code = r.district \
             GROUP BY 1, 2 ORDER BY 3 DESC"
        )
        .await,
        json!([
            {"category": "电动自行车", "district": "南开区", "results": 2},
            {"category": "电线电缆", "district": "和平区", "results": 1}
        ])
    );
    let every: Vec<&str> = spotcheck_schemas::enums::Category::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        rows(
            &analytics,
            "SELECT category FROM categories ORDER BY category"
        )
        .await,
        json!(
            every
                .iter()
                .copied()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|c| json!({ "category": c }))
                .collect::<Vec<_>>()
        )
    );
    assert_eq!(
        rows(
            &analytics,
            "SELECT count(*) AS n FROM districts WHERE level = 'district' AND province_code = '120000'"
        )
        .await,
        json!([{"n": 16}])
    );
    assert_eq!(
        rows(
            &analytics,
            "SELECT authority_zh FROM districts WHERE code = '130000'"
        )
        .await,
        json!([{"authority_zh": "河北省市场监督管理局"}])
    );
}

/// Two 三无 products (the label names no producer: `/` in the bulletin's column) sampled by one
/// organiser a month apart are not "the same producer's same product": no six-month warning.
/// Two samplings of one named producer's product are (the rule itself still holds).
#[tokio::test]
async fn products_whose_labels_name_no_producer_are_not_repeats_of_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let sampled = |offset: i64, report: &str, producer: &str, on: &str| {
        let result = json!({
            "report_no": report, "lab_id": "lab-a", "category": "safety_helmet",
            "organiser": "天津市市场监督管理委员会",
            "product": {"name": "头盔", "model": "/", "batch": "/"},
            "producer": {"name": producer},
            "sampled_unit": {"name": "某店", "role": "retailer", "district": "120104"},
            "sampling": {"date": on, "domain": "circulation"},
            "tested_on": on, "verdict": "pass", "items": [{"name": "佩戴装置", "verdict": "pass"}]
        });
        as_delivered(offset, &result)
    };
    let batch = [
        sampled(0, "S1", "/", "2026-04-02"),
        sampled(1, "S2", "/", "2026-05-10"),
        sampled(2, "S3", " 无", "2026-05-11"),
        sampled(3, "S4", " 无", "2026-05-12"),
        sampled(4, "N1", "甲头盔厂", "2026-04-02"),
        sampled(5, "N2", "甲头盔厂", "2026-05-10"),
    ];
    writer.apply(&batch).await.unwrap();
    writer.idle().await.unwrap();
    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    let warned = rows(
        &analytics,
        "SELECT report_no FROM warnings WHERE kind = 'six_month_repeat' ORDER BY report_no",
    )
    .await;
    assert_eq!(warned, json!([{"report_no": "N2"}]));
}

/// A follow-up check (跟踪抽查) is exempt from the six-month rule as a check of a failed product:
/// one marked so after a pass is still a repeat, and says why.
#[tokio::test]
async fn a_follow_up_is_exempt_only_after_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let sampled = |offset: i64, report: &str, model: &str, on: &str, failed: bool, follow_up| {
        let verdict = if failed { "fail" } else { "pass" };
        let mut result = json!({
            "report_no": report, "lab_id": "lab-a", "category": "safety_helmet",
            "organiser": "天津市市场监督管理委员会",
            "product": {"name": "头盔", "model": model, "batch": "B1"},
            "producer": {"name": "甲头盔厂"},
            "sampled_unit": {"name": "某店", "role": "retailer", "district": "120104"},
            "sampling": {"date": on, "domain": "circulation"}, "follow_up": follow_up,
            "tested_on": on, "verdict": verdict, "items": [{"name": "佩戴装置", "verdict": verdict}]
        });
        if failed {
            result["severity"] = json!("general");
        }
        as_delivered(offset, &result)
    };
    let batch = [
        sampled(0, "F1", "H-1", "2026-04-02", true, false),
        sampled(1, "F2", "H-1", "2026-05-10", false, true),
        sampled(2, "P1", "H-2", "2026-04-02", false, false),
        sampled(3, "P2", "H-2", "2026-05-10", false, true),
        sampled(4, "P3", "H-2", "2026-05-11", false, false),
    ];
    writer.apply(&batch).await.unwrap();
    writer.idle().await.unwrap();
    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    let warned = rows(
        &analytics,
        "SELECT report_no, earlier_report_no, message LIKE '%标注为跟踪抽查，但此前抽查无不合格%' AS said \
         FROM warnings WHERE kind = 'six_month_repeat' ORDER BY report_no, earlier_report_no",
    )
    .await;
    assert_eq!(
        warned,
        json!([
            {"report_no": "P2", "earlier_report_no": "P1", "said": true},
            {"report_no": "P3", "earlier_report_no": "P1", "said": false},
            {"report_no": "P3", "earlier_report_no": "P2", "said": false},
        ])
    );
}

/// One standard written two ways (with its title, without the space, in another order) is the
/// same standard, and one producer's name spelt two ways is the same producer: the six-month
/// rule sees the repeat.
#[tokio::test]
async fn a_standard_or_a_producer_written_otherwise_is_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let sampled = |offset: i64, report: &str, on: &str, standards: Value| {
        let producer = if offset == 0 {
            "天津市津安燃气具有限责任公司"
        } else {
            "天津津安燃气具有限公司"
        };
        let result = json!({
            "report_no": report, "lab_id": "lab-a", "category": "gas_appliance",
            "organiser": "天津市市场监督管理委员会",
            "product": {"name": "燃气灶", "model": "JZT-2", "batch": "B1"},
            "producer": {"name": producer}, "standards": standards,
            "sampled_unit": {"name": "某店", "role": "retailer", "district": "120104"},
            "sampling": {"date": on, "domain": "circulation"},
            "tested_on": on, "verdict": "pass", "items": [{"name": "气密性", "verdict": "pass"}]
        });
        as_delivered(offset, &result)
    };
    let batch = [
        sampled(
            0,
            "S1",
            "2026-04-02",
            json!(["GB 16410-2020《家用燃气灶具》", "GB 30720-2014"]),
        ),
        sampled(
            1,
            "S2",
            "2026-05-10",
            json!(["GB 30720-2014", "GB16410-2020"]),
        ),
        sampled(2, "S3", "2026-05-11", json!(["GB 16410-2007"])),
    ];
    writer.apply(&batch).await.unwrap();
    writer.idle().await.unwrap();
    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    let warned = rows(
        &analytics,
        "SELECT report_no, earlier_report_no FROM warnings WHERE kind = 'six_month_repeat' \
         ORDER BY report_no, earlier_report_no",
    )
    .await;
    assert_eq!(
        warned,
        json!([{"report_no": "S2", "earlier_report_no": "S1"}])
    );
}

/// A label's brand and model are written otherwise from one record to the next (`/` or nothing
/// for no brand, `ABS-Ⅴ型` or `abs－v`): the same product still, and the six-month rule sees the
/// repeat; another model, or a brand where the other had none, is another product.
#[tokio::test]
async fn a_brand_or_model_written_otherwise_is_the_same_product() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let sampled = |offset: i64, report: &str, on: &str, brand: Value, model: &str| {
        let result = json!({
            "report_no": report, "lab_id": "lab-a", "category": "safety_helmet",
            "organiser": "天津市市场监督管理委员会",
            "product": {"name": "安全帽", "brand": brand, "model": model, "batch": "B1"},
            "producer": {"name": "天津市某某防护用品有限公司"},
            "sampled_unit": {"name": "某店", "role": "retailer", "district": "120104"},
            "sampling": {"date": on, "domain": "circulation"},
            "tested_on": on, "verdict": "pass", "items": [{"name": "标识", "verdict": "pass"}]
        });
        as_delivered(offset, &result)
    };
    let batch = [
        sampled(0, "S1", "2026-04-02", json!("/"), "ABS-Ⅴ型"),
        sampled(1, "S2", "2026-05-10", Value::Null, "abs－v"),
        sampled(2, "S3", "2026-05-11", json!("某盾"), "ABS-Ⅴ型"),
        sampled(3, "S4", "2026-05-12", json!("无"), "ABS-Ⅳ型"),
    ];
    writer.apply(&batch).await.unwrap();
    writer.idle().await.unwrap();
    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    let warned = rows(
        &analytics,
        "SELECT report_no, earlier_report_no FROM warnings WHERE kind = 'six_month_repeat' \
         ORDER BY report_no, earlier_report_no",
    )
    .await;
    assert_eq!(
        warned,
        json!([{"report_no": "S2", "earlier_report_no": "S1"}])
    );
}

/// One authority is written several ways (南开区市场监管局, 天津市南开区市场监督管理局): the
/// six-month rule sees its repeat, and the where-to-sample ranking leaves out what it sampled
/// within six months, whichever way the planner writes it; another district's bureau is another
/// organiser.
#[tokio::test]
async fn an_organiser_written_otherwise_is_the_same_organiser() {
    use spotcheck_analytics::SuggestQuery;
    let shop = "91110000802100433B";
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    let sampled = |offset: i64, report: &str, organiser: &str, on: &str| {
        as_delivered(
            offset,
            &json!({
                "report_no": report, "lab_id": "lab-a", "category": "gas_appliance",
                "organiser": organiser,
                "product": {"name": "燃气灶", "model": "JZT-2", "batch": report},
                "producer": {"name": "天津津安燃气具有限公司"},
                "sampled_unit": {"uscc": shop, "name": "某店", "role": "retailer", "district": "120104"},
                "sampling": {"date": on, "domain": "circulation"},
                "tested_on": on, "verdict": "pass", "items": [{"name": "气密性", "verdict": "pass"}]
            }),
        )
    };
    let batch = [
        sampled(0, "O1", "天津市南开区市场监督管理局", "2026-06-01"),
        sampled(1, "O2", "南开区市场监管局", "2026-08-01"),
        sampled(2, "O3", "河西区市场监管局", "2026-08-15"),
    ];
    writer.apply(&batch).await.unwrap();
    writer.idle().await.unwrap();
    let analytics = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    let warned = rows(
        &analytics,
        "SELECT report_no, earlier_report_no FROM warnings WHERE kind = 'six_month_repeat' \
         ORDER BY report_no",
    )
    .await;
    assert_eq!(
        warned,
        json!([{"report_no": "O2", "earlier_report_no": "O1"}])
    );
    let suggested = |organiser: &str| {
        let analytics = &analytics;
        let organiser = organiser.to_owned();
        async move {
            analytics
                .suggest(&SuggestQuery {
                    as_of: "2026-10-01".parse().unwrap(),
                    district: None,
                    organiser: Some(organiser),
                    limit: 10,
                })
                .await
                .unwrap()
                .iter()
                .any(|s| s.uscc == shop)
        }
    };
    assert!(!suggested("南开区市场监管局").await);
    assert!(!suggested("天津市南开区市监局").await);
    assert!(suggested("天津市和平区市场监督管理局").await);
}

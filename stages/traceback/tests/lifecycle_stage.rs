//! The traceback stage on a clock the test moves: a case becomes final when its objection window
//! passes, a rectification order starts its 60 days, the reminder and the interview come when
//! due, an overturned re-test closes it; a redelivered record changes nothing, also after a
//! restart on the same state. Publishing goes to rdkafka's mock cluster.

use chrono::{TimeZone, Utc};
use rdkafka::mocking::MockCluster;
use serde_json::{Value, json};
use spotcheck_runtime::{Delivered, KafkaSettings, Metrics, Publisher, Stage};
use spotcheck_schemas::topics;
use spotcheck_traceback::{Authority, ManualClock, Store, TracebackStage};
use std::sync::Arc;

const CASE_ID_OF: (&str, &str) = ("lab-1", "R-1");

fn result() -> Value {
    json!({
        "report_no": "R-1", "lab_id": "lab-1", "category": "fireworks",
        "product": {"name": "烟花", "model": "F-1", "batch": "B1"},
        "producer": {"uscc": "91350100M000100Y43", "name": "某烟花厂"},
        "sampled_unit": {"uscc": "91110000802100433B", "name": "某店", "district": "120104", "role": "retailer"},
        "sampling": {"date": "2026-03-01", "domain": "circulation"},
        "tested_on": "2026-03-10", "served_on": "2026-03-12",
        "items": [{"name": "燃放性能", "verdict": "fail"}],
        "verdict": "fail", "severity": "general", "standards": [], "suspected_counterfeit": false
    })
}

/// A shipment of 某烟花厂's (`91350100M000100Y43`) fireworks of `(model, batch)`.
fn fireworks_shipment(id: &str, from: &str, to: &str, (model, batch): (&str, &str)) -> Value {
    json!({
        "shipment_id": id, "category": "fireworks",
        "product": {"producer_uscc": "91350100M000100Y43", "producer_name": "某烟花厂",
                    "model": model, "batch": batch},
        "from": {"uscc": from, "name": format!("单位{}", &from[10..])},
        "to": {"uscc": to, "name": format!("单位{}", &to[10..])},
        "quantity": 10, "unit": "箱", "shipped_on": "2026-02-10"
    })
}

/// Where the case places the unit `uscc` (`upstream`, `downstream`…), null when not on it.
fn direction_of(case: &Value, uscc: &str) -> Value {
    case["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["uscc"] == uscc)
        .map(|u| u["direction"].clone())
        .unwrap_or(Value::Null)
}

fn disposition(id: &str, kind: &str, on: &str, outcome: Option<&str>) -> Value {
    json!({"disposition_id": id, "report_no": "R-1", "lab_id": "lab-1", "kind": kind, "on": on,
           "outcome": outcome, "note": null})
}

fn delivered(topic: &str, offset: i64, value: &Value) -> Delivered {
    Delivered {
        topic: topic.into(),
        partition: 0,
        offset,
        key: None,
        payload: value.to_string().into_bytes(),
        headers: vec![],
    }
}

struct Harness {
    kafka: KafkaSettings,
    _cluster: MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    publisher: Publisher,
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
}

impl Harness {
    fn new() -> Self {
        Self::at(Utc.with_ymd_and_hms(2026, 3, 20, 9, 0, 0).unwrap())
    }

    /// A harness whose clock starts at `now`.
    fn at(now: chrono::DateTime<Utc>) -> Self {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic(topics::CASES, 1, 1).unwrap();
        let kafka = KafkaSettings::new(cluster.bootstrap_servers(), "traceback-test");
        let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
        let publisher = Publisher::new(&kafka, metrics).unwrap();
        let clock = Arc::new(ManualClock::new(now));
        Self {
            kafka,
            _cluster: cluster,
            publisher,
            dir: tempfile::tempdir().unwrap(),
            clock,
        }
    }

    /// A stage on the harness's state file (a fresh one after a "restart").
    fn stage(&self) -> (TracebackStage, Arc<Store>) {
        self.stage_under(Authority::default())
    }

    /// A stage on the harness's state file, under the configuration's periods and calendar.
    fn stage_under(&self, authority: Authority) -> (TracebackStage, Arc<Store>) {
        let store = Arc::new(Store::open(&self.dir.path().join("state.redb")).unwrap());
        let stage = TracebackStage::new(
            store.clone(),
            self.publisher.clone(),
            self.clock.clone(),
            authority,
        );
        (stage, store)
    }
}

/// The `ce_id`s of every record on the cases topic, in order.
fn events_on_cases_topic(kafka: &KafkaSettings) -> Vec<String> {
    use rdkafka::Message;
    let consumer: rdkafka::consumer::BaseConsumer = kafka
        .client_config()
        .set("group.id", "traceback-test-reader")
        .create()
        .unwrap();
    let mut ids = Vec::new();
    spotcheck_runtime::replay::replay::<spotcheck_runtime::replay::ReplayError>(
        &consumer,
        topics::CASES,
        std::time::Duration::from_secs(10),
        |_| Ok(None),
        |record| {
            let headers = record.message.headers().expect("CloudEvents headers");
            ids.push(spotcheck_runtime::cloudevents::header_text(headers, "ce_id").unwrap());
            Ok(())
        },
    )
    .unwrap();
    ids
}

fn case(store: &Store) -> Value {
    let id = spotcheck_schemas::case_id(CASE_ID_OF.0, CASE_ID_OF.1);
    serde_json::to_value(store.case(&id).unwrap().expect("the case exists")).unwrap()
}

fn notice_kinds(case: &Value) -> Vec<String> {
    let mut kinds: Vec<String> = case["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.dedup();
    kinds
}

/// The law's days are China's: the objection window that ends on 2026-03-27 is over at 00:30
/// on 2026-03-28 in China (16:30 on 2026-03-27 in UTC), and not yet at 23:59 on 2026-03-27.
#[tokio::test]
async fn a_case_becomes_final_when_the_day_after_its_window_begins_in_china() {
    for (utc, china, status) in [
        ((15, 59), "23:59 on 03-27", "open"),
        ((16, 30), "00:30 on 03-28", "final"),
    ] {
        let harness = Harness::at(Utc.with_ymd_and_hms(2026, 3, 20, utc.0, utc.1, 0).unwrap());
        let (mut stage, store) = harness.stage();
        stage
            .apply(&[delivered(topics::RESULTS, 0, &result())])
            .await
            .unwrap();
        assert_eq!(case(&store)["deadlines"]["objection_until"], "2026-03-27");
        harness.clock.advance_days(7);
        stage.idle().await.unwrap();
        assert_eq!(case(&store)["status"], status, "at {china} in China");
    }
}

/// A year's holiday notice added to the configuration (or a period changed) counts every case's
/// deadlines again at the next start — not only when a record or a timer next touches the case,
/// which may be after the deadline it got wrong.
#[tokio::test]
async fn a_holiday_notice_added_counts_every_cases_deadlines_again_at_the_next_start() {
    let harness = Harness::at(Utc.with_ymd_and_hms(2026, 9, 20, 1, 0, 0).unwrap());
    let mut result = result();
    result["sampling"]["date"] = json!("2026-09-01");
    result["tested_on"] = json!("2026-09-10");
    result["served_on"] = json!("2026-09-16");
    let mut before_the_notice = Authority::default();
    before_the_notice.calendar.years.remove("2026");
    let (mut stage, store) = harness.stage_under(before_the_notice);
    stage
        .apply(&[delivered(topics::RESULTS, 0, &result)])
        .await
        .unwrap();
    let before = case(&store);
    // The 15th day is Thursday 1 October: without the year's notice, only weekends are skipped.
    assert_eq!(before["deadlines"]["objection_until"], "2026-10-01");
    let holidays_unknown = |case: &Value| {
        case["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g.as_str().unwrap().contains("2026"))
    };
    assert!(holidays_unknown(&before), "{before:#}");
    stage.finish().await.unwrap();
    drop((stage, store));

    // Restarted with the notice: National Day runs to 7 October, so the window ends on the 8th.
    let (mut stage, store) = harness.stage();
    stage.idle().await.unwrap();
    let after = case(&store);
    assert_eq!(after["deadlines"]["objection_until"], "2026-10-08");
    assert!(!holidays_unknown(&after), "{after:#}");
    assert_eq!(after["revision"], before["revision"].as_u64().unwrap() + 1);
    assert_eq!(store.unpublished().unwrap(), 0, "the new revision is sent");

    // Started again under the same configuration: nothing to count again.
    drop((stage, store));
    let (mut stage, store) = harness.stage();
    stage.idle().await.unwrap();
    assert_eq!(case(&store)["revision"], after["revision"]);
}

/// At an upgrade every case is derived again under the new rules. One they derive as before
/// keeps its revision and its `updated_at` (the case list does not show every case as just
/// changed, nothing is published again); one they derive otherwise gets a new revision.
#[tokio::test]
async fn new_rules_publish_only_the_cases_they_derive_otherwise() {
    let harness = Harness::new();
    let (mut stage, store) = harness.stage();
    stage
        .apply(&[delivered(topics::RESULTS, 0, &result())])
        .await
        .unwrap();
    let before = case(&store);
    stage.finish().await.unwrap();
    drop((stage, store));
    let published = events_on_cases_topic(&harness.kafka).len();

    // The state as the release before wrote it: its rules in the meta and on the case.
    let older = spotcheck_traceback::RULES_VERSION - 1;
    let as_older_rules_left_it = |case: &Value| {
        let id = spotcheck_schemas::case_id(CASE_ID_OF.0, CASE_ID_OF.1);
        let db = redb::Database::open(harness.dir.path().join("state.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let meta = redb::TableDefinition::<&str, u64>::new("meta");
            let mut meta = txn.open_table(meta).unwrap();
            meta.insert("rules", u64::from(older)).unwrap();
            let cases = redb::TableDefinition::<&str, &[u8]>::new("cases");
            let mut cases = txn.open_table(cases).unwrap();
            let mut case = case.clone();
            case["rules"] = json!(older);
            cases
                .insert(id.as_str(), serde_json::to_vec(&case).unwrap().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
    };
    as_older_rules_left_it(&before);
    let (mut stage, store) = harness.stage();
    stage.idle().await.unwrap();
    let same = case(&store);
    assert_eq!(same["revision"], before["revision"]);
    assert_eq!(same["updated_at"], before["updated_at"]);
    assert_eq!(
        same["rules"], older,
        "derived by the older rules, and the same"
    );
    assert_eq!(store.unpublished().unwrap(), 0);
    stage.finish().await.unwrap();
    drop((stage, store));
    assert_eq!(events_on_cases_topic(&harness.kafka).len(), published);

    // The older rules had counted the window otherwise: a new revision, by the new rules.
    let mut otherwise = before.clone();
    otherwise["deadlines"]["objection_until"] = json!("2026-03-30");
    as_older_rules_left_it(&otherwise);
    let (mut stage, store) = harness.stage();
    stage.idle().await.unwrap();
    let derived = case(&store);
    assert_eq!(
        derived["revision"],
        before["revision"].as_u64().unwrap() + 1
    );
    assert_eq!(derived["rules"], spotcheck_traceback::RULES_VERSION);
    assert_eq!(derived["deadlines"], before["deadlines"]);
    stage.finish().await.unwrap();
    assert_eq!(events_on_cases_topic(&harness.kafka).len(), published + 1);
}

#[tokio::test]
async fn timers_drive_a_case_from_open_to_final_to_reminder_and_interview() {
    let harness = Harness::new();
    let (mut stage, store) = harness.stage();
    stage
        .apply(&[delivered(topics::RESULTS, 0, &result())])
        .await
        .unwrap();
    let opened = case(&store);
    assert_eq!(
        (opened["status"].as_str(), opened["revision"].as_u64()),
        (Some("open"), Some(1))
    );
    assert_eq!(opened["deadlines"]["objection_until"], "2026-03-27");

    harness.clock.advance_days(7); // 2026-03-27: the last day of the window
    stage.idle().await.unwrap();
    assert_eq!(
        case(&store)["revision"],
        1,
        "nothing changes inside the window"
    );
    harness.clock.advance_days(1); // 2026-03-28
    stage.idle().await.unwrap();
    let final_ = case(&store);
    assert_eq!(
        (final_["status"].as_str(), final_["revision"].as_u64()),
        (Some("final"), Some(2))
    );
    assert_eq!(final_["deadlines"]["final_on"], "2026-03-28");
    assert_eq!(notice_kinds(&final_), ["rectification"]);

    let ordered = disposition("D1", "rectification_ordered", "2026-03-28", None);
    stage
        .apply(&[delivered(topics::DISPOSITIONS, 0, &ordered)])
        .await
        .unwrap();
    let rectifying = case(&store);
    assert_eq!(rectifying["status"], "rectifying");
    assert_eq!(rectifying["deadlines"]["rectify_by"], "2026-05-27");
    assert_eq!(rectifying["deadlines"]["recheck_by"], "2026-06-11");

    harness.clock.advance_days(49); // 2026-05-16: 11 days before the deadline
    stage.idle().await.unwrap();
    assert_eq!(notice_kinds(&case(&store)), ["rectification"]);
    harness.clock.advance_days(1); // 2026-05-17: 10 days before
    stage.idle().await.unwrap();
    assert_eq!(notice_kinds(&case(&store)), ["rectification", "reminder"]);
    harness.clock.advance_days(11); // 2026-05-28: overdue
    stage.idle().await.unwrap();
    // The reminder not served by the deadline is moot: the interview takes over.
    assert_eq!(notice_kinds(&case(&store)), ["rectification", "interview"]);
    assert_eq!(
        store.unpublished().unwrap(),
        0,
        "every revision reached the broker"
    );

    // A redelivered disposition, also after a restart on the same state, changes nothing.
    let revision = case(&store)["revision"].clone();
    stage
        .apply(&[delivered(topics::DISPOSITIONS, 0, &ordered)])
        .await
        .unwrap();
    drop((stage, store));
    let (mut stage, store) = harness.stage();
    stage
        .apply(&[
            delivered(topics::RESULTS, 0, &result()),
            delivered(topics::DISPOSITIONS, 0, &ordered),
        ])
        .await
        .unwrap();
    stage.idle().await.unwrap();
    assert_eq!(case(&store)["revision"], revision);
}

#[tokio::test]
async fn an_objection_waits_for_the_retest_and_an_overturned_one_closes_the_case() {
    let harness = Harness::new();
    let (mut stage, store) = harness.stage();
    let batch = [
        delivered(topics::RESULTS, 0, &result()),
        delivered(
            topics::DISPOSITIONS,
            0,
            &disposition("D1", "objection_filed", "2026-03-15", None),
        ),
    ];
    stage.apply(&batch).await.unwrap();
    assert_eq!(case(&store)["status"], "retest");
    harness.clock.advance_days(30);
    stage.idle().await.unwrap();
    assert_eq!(
        case(&store)["status"],
        "retest",
        "an objection suspends finality"
    );
    let overturned = disposition("D2", "retest_concluded", "2026-04-10", Some("overturned"));
    stage
        .apply(&[delivered(topics::DISPOSITIONS, 1, &overturned)])
        .await
        .unwrap();
    let closed = case(&store);
    assert_eq!(closed["status"], "overturned");
    assert_eq!(closed["notices"], json!([]));
}

#[tokio::test]
async fn an_undecodable_record_is_a_dead_letter_and_the_rest_is_applied() {
    let harness = Harness::new();
    let (mut stage, store) = harness.stage();
    let mut garbage = delivered(topics::SHIPMENTS, 0, &json!({}));
    garbage.payload = b"not json".to_vec();
    let applied = stage
        .apply(&[garbage, delivered(topics::RESULTS, 0, &result())])
        .await
        .unwrap();
    assert_eq!(applied.dead_letters.len(), 1);
    assert_eq!(applied.dead_letters[0].0, 0);
    assert!(applied.dead_letters[0].1.contains("not a shipment"));
    assert_eq!(case(&store)["revision"], 1);
}

#[tokio::test]
async fn a_revision_acknowledged_before_a_crash_is_not_sent_again_after_the_restart() {
    let harness = Harness::new();
    let state = harness.dir.path().join("state.redb");
    let (stage, store) = harness.stage();
    stage
        .absorb(&[delivered(topics::RESULTS, 0, &result())])
        .unwrap();
    assert_eq!(
        store.unpublished().unwrap(),
        1,
        "revision 1 waits in the outbox"
    );
    drop((stage, store));
    // The state as it was when the process died: revision 1 in the outbox...
    let crashed = harness.dir.path().join("crashed.redb");
    std::fs::copy(&state, &crashed).unwrap();
    // ...after the broker had acknowledged it.
    let (mut stage, store) = harness.stage();
    stage.finish().await.unwrap();
    assert_eq!(store.unpublished().unwrap(), 0);
    let id = case(&store)["case_id"].as_str().unwrap().to_owned();
    drop((stage, store));
    assert_eq!(events_on_cases_topic(&harness.kafka), [format!("{id}:1")]);

    std::fs::copy(&crashed, &state).unwrap();
    let (mut stage, store) = harness.stage();
    stage.finish().await.unwrap();
    assert_eq!(store.unpublished().unwrap(), 0, "the outbox is cleared");
    assert_eq!(
        events_on_cases_topic(&harness.kafka),
        [format!("{id}:1")],
        "revision 1 is on the topic once"
    );

    // What comes after is sent as before.
    stage
        .apply(&[delivered(
            topics::DISPOSITIONS,
            0,
            &disposition("D-1", "objection_filed", "2026-03-15", None),
        )])
        .await
        .unwrap();
    let revision = case(&store)["revision"].as_u64().unwrap();
    assert!(revision > 1, "the objection makes a new revision");
    assert_eq!(
        events_on_cases_topic(&harness.kafka).last(),
        Some(&format!("{id}:{revision}"))
    );
}

/// A credit code the result gives that the unit registry holds under another enterprise's
/// name (a code copied from the wrong row) is a gap of the case, so officials check it before
/// serving or disclosing; the same name spelled otherwise is not.
#[tokio::test]
async fn a_given_code_registered_under_another_name_is_a_gap_of_the_case() {
    let harness = Harness::new();
    let (mut stage, store) = harness.stage();
    let unit = |name: &str| {
        json!({"uscc": "91350100M000100Y43", "name": name, "address": null, "district": null,
               "roles": ["producer"], "licences": []})
    };
    let flagged = |case: &Value| {
        case["gaps"].as_array().unwrap().iter().any(|g| {
            g.as_str()
                .unwrap()
                .contains("the unit registry holds 91350100M000100Y43")
        })
    };
    stage
        .apply(&[
            delivered(topics::UNITS, 0, &unit("福州某电器有限公司")),
            delivered(topics::RESULTS, 0, &result()),
        ])
        .await
        .unwrap();
    let case_ = case(&store);
    assert!(flagged(&case_), "{}", case_["gaps"]);
    assert!(case_["gaps"].to_string().contains("福州某电器有限公司"));

    // The registry's entry corrected to the result's enterprise, spelled with full-width
    // brackets and a space: no longer a gap.
    stage
        .apply(&[delivered(topics::UNITS, 1, &unit("某烟花厂（ ）"))])
        .await
        .unwrap();
    let case_ = case(&store);
    assert!(!flagged(&case_), "{}", case_["gaps"]);
}

/// An official records the shop's rectification report under a mistyped code: the case does not
/// take it for the shop's (a code counts for itself), and says so on the case, in Chinese, so
/// that the record is corrected rather than the case waiting in silence.
#[tokio::test]
async fn a_record_naming_a_unit_the_case_does_not_reach_is_a_gap_of_the_case() {
    let harness = Harness::new();
    let (mut stage, store) = harness.stage();
    let typo = spotcheck_schemas::uscc::with_check_character("91110000802100434").unwrap();
    let mut mistyped = disposition("D-1", "rectification_reported", "2026-03-18", None);
    mistyped["uscc"] = json!(typo);
    let mut own = disposition("D-2", "rectification_reported", "2026-03-19", None);
    own["uscc"] = json!("91110000802100433B");
    stage
        .apply(&[
            delivered(topics::RESULTS, 0, &result()),
            delivered(topics::DISPOSITIONS, 0, &mistyped),
            delivered(topics::DISPOSITIONS, 1, &own),
        ])
        .await
        .unwrap();
    let gaps: Vec<String> = case(&store)["gaps_zh"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g.as_str())
        .filter(|g| g.contains("不在本案追溯到的单位中"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        gaps,
        [format!(
            "2026年3月18日录入的整改报告记录写明的单位（统一社会信用代码 {typo}）不在本案追溯到的单位中：\
             请核对代码；如该单位确实购进了该批次产品，请补录其进货台账"
        )]
    );
}

/// Sampled where it is made (生产领域): the sampled unit is the batch's producer, one enterprise
/// recorded under the failure once, as its producer, not as a seller of it. A counterfeit label
/// naming the sampled unit's own code does not make it the producer.
#[tokio::test]
async fn a_producer_sampled_at_its_own_works_is_recorded_as_the_producer() {
    let harness = Harness::new();
    let (mut stage, store) = harness.stage();
    let mut at_the_works = result();
    at_the_works["sampled_unit"] = json!({"uscc": "91350100M000100Y43", "name": "某烟花厂",
        "district": "120104", "role": "producer"});
    at_the_works["sampling"]["domain"] = json!("production");
    stage
        .apply(&[delivered(topics::RESULTS, 0, &at_the_works)])
        .await
        .unwrap();
    let subjects = |case: &Value| -> Vec<(String, String)> {
        case["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let field = |name: &str| s[name].as_str().unwrap_or_default().to_owned();
                (field("role"), field("uscc"))
            })
            .collect()
    };
    assert_eq!(
        subjects(&case(&store)),
        [("producer".to_owned(), "91350100M000100Y43".to_owned())]
    );

    // Its code only in the sampled unit's column, its name spelt otherwise in the producer's
    // (bulletins of production sampling often give one code): the same enterprise, traced
    // from itself, with nothing to ask about where the sampled unit bought the batch.
    let mut one_code = at_the_works.clone();
    one_code["report_no"] = json!("R-3");
    one_code["producer"] = json!({"name": "某烟花厂（有限公司）"});
    one_code["sampled_unit"]["name"] = json!("某烟花厂(有限责任公司)");
    stage
        .apply(&[delivered(topics::RESULTS, 1, &one_code)])
        .await
        .unwrap();
    let id = spotcheck_schemas::case_id("lab-1", "R-3");
    let one_code = serde_json::to_value(store.case(&id).unwrap().unwrap()).unwrap();
    assert_eq!(
        subjects(&one_code),
        [("producer".to_owned(), "91350100M000100Y43".to_owned())]
    );
    assert_eq!(one_code["batch"]["producer_uscc"], "91350100M000100Y43");
    assert_eq!(one_code["gaps"], json!([]), "{}", one_code["gaps"]);

    at_the_works["suspected_counterfeit"] = json!(true);
    at_the_works["report_no"] = json!("R-2");
    let (lab, report) = ("lab-1", "R-2");
    stage
        .apply(&[delivered(topics::RESULTS, 2, &at_the_works)])
        .await
        .unwrap();
    let id = spotcheck_schemas::case_id(lab, report);
    let counterfeit = serde_json::to_value(store.case(&id).unwrap().unwrap()).unwrap();
    assert_eq!(
        subjects(&counterfeit),
        [("seller".to_owned(), "91350100M000100Y43".to_owned())]
    );
}

/// A 三无 product: the bulletin writes `/` where the label names no producer. No one is to be
/// identified, traced or disclosed as its producer; the sampled unit alone is, and the case
/// asks for the supplier from its purchase records. A name of `/` on every such case would
/// otherwise queue one "enterprise" for identification across the city, and an official's
/// identification of it on one case would blame that enterprise on all.
#[tokio::test]
async fn a_product_whose_label_names_no_producer_is_the_sampled_units_alone() {
    let harness = Harness::new();
    let (mut stage, store) = harness.stage();
    let mut sanwu = result();
    sanwu["producer"] = json!({"name": " / "});
    sanwu["product"] = json!({"name": "头盔", "model": "/", "batch": "/"});
    stage
        .apply(&[delivered(topics::RESULTS, 0, &sanwu)])
        .await
        .unwrap();
    let case_ = case(&store);
    let roles: Vec<&str> = case_["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["seller"], "{}", case_["subjects"]);
    let gaps = case_["gaps_zh"].to_string();
    assert!(gaps.contains("“三无”产品"), "{gaps}");
    assert!(!gaps.contains("待认定"), "{gaps}");
    assert_eq!(case_["gaps"].as_array().unwrap().len(), 1, "{gaps}");
}

/// A rectification notice served to each unit on its own day: the sampled shop's deadline is the
/// case's; the producer, served 20 days later, is reminded and called to an interview 20 days
/// later — the stage wakes for it after the case's own reminder and interview have come.
#[tokio::test]
async fn a_unit_served_later_is_reminded_and_interviewed_on_its_own_deadline() {
    let valid = |first17: &str| spotcheck_schemas::uscc::with_check_character(first17).unwrap();
    let (shop, distributor) = (valid("91120104MA0000001"), valid("91120116MA0000002"));
    let producer = valid("91120113MA0000003");
    let shipment = |id: &str, from: &str, to: &str| {
        json!({"shipment_id": id, "category": "fireworks",
               "product": {"producer_uscc": producer, "producer_name": "某烟花厂",
                           "model": "F-1", "batch": "B1"},
               "from": {"uscc": from, "name": "某单位"}, "to": {"uscc": to, "name": "某单位"},
               "quantity": 10, "unit": "pcs", "shipped_on": "2026-02-01"})
    };
    let mut sampled = result();
    sampled["sampled_unit"]["uscc"] = json!(shop);
    sampled["producer"]["uscc"] = json!(producer);
    let served_to = |id: &str, on: &str, uscc: &str| {
        let mut d = disposition(id, "notice_served", on, Some("rectification"));
        d["uscc"] = json!(uscc);
        d
    };
    let harness = Harness::new();
    let (mut stage, store) = harness.stage();
    stage
        .apply(&[
            delivered(
                topics::SHIPMENTS,
                0,
                &shipment("S-1", &producer, &distributor),
            ),
            delivered(topics::SHIPMENTS, 1, &shipment("S-2", &distributor, &shop)),
            delivered(topics::RESULTS, 0, &sampled),
        ])
        .await
        .unwrap();
    harness.clock.advance_days(8); // 2026-03-28: final
    stage.idle().await.unwrap();
    stage
        .apply(&[
            delivered(
                topics::DISPOSITIONS,
                0,
                &served_to("D1", "2026-03-28", &shop),
            ),
            delivered(
                topics::DISPOSITIONS,
                1,
                &served_to("D2", "2026-04-17", &producer),
            ),
        ])
        .await
        .unwrap();
    let kinds_to = |uscc: &str| -> Vec<String> {
        case(&store)["notices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["to"] == uscc && n["kind"] != "rectification")
            .map(|n| {
                format!(
                    "{} {}",
                    n["kind"].as_str().unwrap(),
                    n["due_on"].as_str().unwrap()
                )
            })
            .collect()
    };
    // The shop's deadline, the case's: 27 May. The producer's: 16 June.
    assert_eq!(case(&store)["deadlines"]["rectify_by"], "2026-05-27");
    harness.clock.advance_days(61); // 2026-05-28
    stage.idle().await.unwrap();
    // The shop's reminder, not served by its deadline, is moot: the interview takes over.
    assert_eq!(kinds_to(&shop), ["interview 2026-06-08"]);
    assert!(kinds_to(&producer).is_empty(), "{:?}", kinds_to(&producer));
    harness.clock.advance_days(9); // 2026-06-06: ten days before its deadline
    stage.idle().await.unwrap();
    assert_eq!(kinds_to(&producer), ["reminder 2026-06-16"]);
    harness.clock.advance_days(11); // 2026-06-17: overdue
    stage.idle().await.unwrap();
    assert_eq!(kinds_to(&producer), ["interview 2026-06-29"]);
    // The distributor is not reminded: reminders go to the sampled unit and the producer.
    assert!(kinds_to(&distributor).is_empty());
}

/// A serious failure (a major hidden danger) is put under listed supervision; a unit whose own
/// re-check passed is done with it: what was not served to it by then is not served any more,
/// and once every unit ordered has passed, the case closes with nothing left to stop
/// (production may resume, Order 18 Art 49) and no reminder, interview or listed supervision to
/// serve. What was served stays on the case, and so does the rectification notice to a receiver
/// of the batch never served one: the batch it holds is still the failed one.
#[tokio::test]
async fn a_unit_whose_recheck_passed_is_served_nothing_more() {
    let valid = |first17: &str| spotcheck_schemas::uscc::with_check_character(first17).unwrap();
    let (shop, producer) = (valid("91120104MA0000001"), valid("91120113MA0000003"));
    let receiver = valid("91120105MA0000004");
    let shipped = json!({"shipment_id": "S-1", "category": "fireworks",
        "product": {"producer_uscc": producer, "producer_name": "某烟花厂", "model": "F-1",
                    "batch": "B1"},
        "from": {"uscc": producer, "name": "某烟花厂"}, "to": {"uscc": receiver, "name": "某批发部"},
        "quantity": 10, "unit": "pcs", "shipped_on": "2026-02-01"});
    let mut serious = result();
    serious["sampled_unit"]["uscc"] = json!(shop);
    serious["producer"]["uscc"] = json!(producer);
    serious["severity"] = json!("serious");
    let to = |id: &str, kind: &str, on: &str, outcome: Option<&str>, uscc: &str| {
        let mut d = disposition(id, kind, on, outcome);
        d["uscc"] = json!(uscc);
        d
    };
    let harness = Harness::new();
    let (mut stage, store) = harness.stage();
    stage
        .apply(&[
            delivered(topics::SHIPMENTS, 0, &shipped),
            delivered(topics::RESULTS, 0, &serious),
        ])
        .await
        .unwrap();
    harness.clock.advance_days(8); // 2026-03-28: final
    stage.idle().await.unwrap();
    let dispositions = [
        to(
            "D1",
            "notice_served",
            "2026-03-30",
            Some("rectification"),
            &shop,
        ),
        to(
            "D2",
            "notice_served",
            "2026-03-30",
            Some("rectification"),
            &producer,
        ),
        to(
            "D3",
            "notice_served",
            "2026-04-01",
            Some("listed_supervision"),
            &producer,
        ),
        to("D4", "rectification_reported", "2026-04-20", None, &shop),
        to("D5", "recheck_concluded", "2026-04-24", Some("pass"), &shop),
    ];
    let delivered_ = |from: usize, records: &[Value]| -> Vec<Delivered> {
        records
            .iter()
            .enumerate()
            .map(|(i, d)| delivered(topics::DISPOSITIONS, (from + i) as i64, d))
            .collect()
    };
    stage.apply(&delivered_(0, &dispositions)).await.unwrap();
    harness.clock.advance_days(30); // 2026-04-27
    stage.idle().await.unwrap();
    let notices = |uscc: &str| -> Vec<String> {
        case(&store)["notices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["to"] == uscc)
            .map(|n| {
                format!(
                    "{} {}",
                    n["kind"].as_str().unwrap(),
                    n["status"].as_str().unwrap()
                )
            })
            .collect()
    };
    let steps = || -> Vec<String> {
        case(&store)["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s["kind"].as_str().unwrap(),
                    s["status"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(case(&store)["status"], "rectifying");
    // The shop passed: listed supervision, never served to it, is not proposed to it any more.
    assert_eq!(notices(&shop), ["rectification served"]);
    assert_eq!(
        notices(&producer),
        ["rectification served", "listed_supervision served"]
    );
    // The rectification notices served ordered the stop (their first clause).
    assert_eq!(steps(), ["stop_production_and_sale done"]);
    stage
        .apply(&delivered_(
            5,
            &[to(
                "D6",
                "recheck_concluded",
                "2026-04-27",
                Some("pass"),
                &producer,
            )],
        ))
        .await
        .unwrap();
    assert_eq!(case(&store)["status"], "closed");
    assert_eq!(notices(&shop), ["rectification served"]);
    assert_eq!(
        notices(&producer),
        ["rectification served", "listed_supervision served"]
    );
    assert_eq!(notices(&receiver), ["rectification proposed"]);
    assert_eq!(steps(), ["stop_production_and_sale done"]);
    // The receiver is served its notice (take the batch off sale): it only holds the batch, the
    // rectification was the shop's and the producer's, and the case stays closed.
    stage
        .apply(&delivered_(
            6,
            &[to(
                "D7",
                "notice_served",
                "2026-04-27",
                Some("rectification"),
                &receiver,
            )],
        ))
        .await
        .unwrap();
    assert_eq!(notices(&receiver), ["rectification served"]);
    assert_eq!(case(&store)["status"], "closed");
}

/// The interview for a failed re-check goes to the unit that failed it, not to a unit whose
/// own re-check is yet to come; a re-check naming no unit is every unit's.
#[tokio::test]
async fn a_failed_recheck_calls_the_unit_that_failed_it_to_an_interview() {
    let valid = |first17: &str| spotcheck_schemas::uscc::with_check_character(first17).unwrap();
    let (shop, producer) = (valid("91120104MA0000001"), valid("91120113MA0000003"));
    let mut sampled = result();
    sampled["sampled_unit"]["uscc"] = json!(shop);
    sampled["producer"]["uscc"] = json!(producer);
    let to = |id: &str, kind: &str, on: &str, outcome: Option<&str>, uscc: Option<&str>| {
        let mut d = disposition(id, kind, on, outcome);
        d["uscc"] = json!(uscc);
        d
    };
    let interviewed = |recheck_to: Option<&str>| {
        let (shop, producer) = (shop.clone(), producer.clone());
        let (recheck_to, sampled) = (recheck_to.map(str::to_owned), sampled.clone());
        async move {
            let harness = Harness::new();
            let (mut stage, store) = harness.stage();
            let rectification = Some("rectification");
            let records = [
                delivered(topics::RESULTS, 0, &sampled),
                delivered(
                    topics::DISPOSITIONS,
                    0,
                    &to(
                        "D1",
                        "notice_served",
                        "2026-03-30",
                        rectification,
                        Some(&shop),
                    ),
                ),
                delivered(
                    topics::DISPOSITIONS,
                    1,
                    &to(
                        "D2",
                        "notice_served",
                        "2026-03-30",
                        rectification,
                        Some(&producer),
                    ),
                ),
                delivered(
                    topics::DISPOSITIONS,
                    2,
                    &to(
                        "D3",
                        "recheck_concluded",
                        "2026-04-24",
                        Some("fail"),
                        recheck_to.as_deref(),
                    ),
                ),
            ];
            harness.clock.advance_days(38); // 2026-04-27
            stage.apply(&records).await.unwrap();
            let case_ = case(&store);
            assert_eq!(case_["status"], "escalated");
            let mut to: Vec<String> = case_["notices"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["kind"] == "interview")
                .map(|n| n["to"].as_str().unwrap().to_owned())
                .collect();
            to.sort();
            to
        }
    };
    assert_eq!(interviewed(Some(&shop)).await, [shop.as_str()]);
    let mut both = vec![shop.clone(), producer.clone()];
    both.sort();
    assert_eq!(interviewed(None).await, both);
    // A code the case does not hold (a slip in the record) loses no interview: every unit's.
    let stranger = valid("91120101MA0000009");
    assert_eq!(interviewed(Some(&stranger)).await, both);
}

/// A unit registered in a district of Tianjin is named with it (天津市河西区鑫盛五金店); labs,
/// labels and ledgers write it as often without the city. The registry identifies it either way,
/// and the failure goes on its credit record, not into the identification queue.
#[tokio::test]
async fn a_shop_named_without_the_city_is_the_one_registered_with_it() {
    const SHOP: &str = "92120103MA07ABCD1N";
    for (registered, sampled) in [
        ("天津市河西区鑫盛五金店", "河西区鑫盛五金店"),
        ("河西区鑫盛五金店", "天津河西区鑫盛五金店（个体工商户）"),
    ] {
        let harness = Harness::new();
        let (mut stage, store) = harness.stage();
        let unit = json!({"uscc": SHOP, "name": registered, "district": "120103",
                          "roles": ["retailer"], "licences": []});
        let mut sampled_at = result();
        sampled_at["sampled_unit"] =
            json!({"name": sampled, "district": "120103", "role": "retailer"});
        stage
            .apply(&[
                delivered(topics::UNITS, 0, &unit),
                delivered(topics::RESULTS, 0, &sampled_at),
            ])
            .await
            .unwrap();
        let case_ = case(&store);
        let seller = case_["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["role"] == "seller")
            .cloned()
            .unwrap();
        assert_eq!(
            (&seller["uscc"], &seller["disclosure"]),
            (&json!(SHOP), &json!("disclose")),
            "{registered} / {sampled}: {case_:#}"
        );
    }
}

/// A record names a shop by its trade name alone (鑫盛五金店) beside its district: it is the
/// shop registered in that district with the district in its name, whether the registration
/// came first or after; in another district it is not.
#[tokio::test]
async fn a_shop_named_by_its_trade_name_is_the_one_registered_in_its_district() {
    const SHOP: &str = "92120103MA07ABCD1N";
    let unit = json!({"uscc": SHOP, "name": "天津市河西区鑫盛五金店", "district": "120103",
                      "roles": ["retailer"], "licences": []});
    for (district, registered_first, found) in [
        ("120103", true, true),
        ("120103", false, true),
        ("120104", true, false),
    ] {
        let harness = Harness::new();
        let (mut stage, store) = harness.stage();
        let mut sampled_at = result();
        sampled_at["sampled_unit"] =
            json!({"name": "鑫盛五金店", "district": district, "role": "retailer"});
        let (registered, sampled) = (
            delivered(topics::UNITS, 0, &unit),
            delivered(topics::RESULTS, 0, &sampled_at),
        );
        let records = if registered_first {
            [registered, sampled]
        } else {
            [sampled, registered]
        };
        for record in records {
            stage.apply(&[record]).await.unwrap();
        }
        let case_ = case(&store);
        let seller = case_["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["role"] == "seller")
            .cloned()
            .unwrap();
        let expected = if found {
            (json!(SHOP), json!("disclose"))
        } else {
            (Value::Null, json!("identification_pending"))
        };
        assert_eq!(
            (seller["uscc"].clone(), seller["disclosure"].clone()),
            expected,
            "{district}, registered first: {registered_first}: {case_:#}"
        );
    }
}

/// A producer or a sampled unit the registry and the ledger do not place is placed by its
/// address (the label's, the sampling record's), so that its notices come from its district's
/// bureau and the quarter counts it there; not where that address is in another province than
/// its credit code's, which decides referral.
#[tokio::test]
async fn a_producer_is_placed_in_the_district_its_address_names() {
    async fn producer_unit(address: &str, uscc: &str) -> (Value, Value, Value) {
        let harness = Harness::new();
        let (mut stage, store) = harness.stage();
        let mut labelled = result();
        labelled["producer"] = json!({"uscc": uscc, "name": "某烟花厂", "address": address});
        // The shop with a Tianjin code, its district not given: placed by its address.
        labelled["sampled_unit"] = json!({"uscc": "91120104MA05A0B1CK", "name": "某店",
            "address": "天津市静海县大邱庄镇百亿道1号", "role": "retailer"});
        stage
            .apply(&[delivered(topics::RESULTS, 0, &labelled)])
            .await
            .unwrap();
        let case_ = case(&store);
        let unit = |uscc: &str| {
            case_["units"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["uscc"] == uscc)
                .cloned()
                .unwrap()
        };
        assert_eq!(unit("91120104MA05A0B1CK")["district"], "120118");
        let unit = unit(uscc);
        (
            unit["district"].clone(),
            unit["in_region"].clone(),
            case_["referrals"].clone(),
        )
    }
    let (district, in_region, referrals) =
        producer_unit("天津市宁河区芦台镇光明路1号", "91120113MA06812345").await;
    assert_eq!((district, in_region), (json!("120117"), json!(true)));
    assert_eq!(referrals, json!([]));

    let (district, in_region, referrals) =
        producer_unit("天津市宁河区芦台镇光明路1号", "91350100M000100Y43").await;
    assert_eq!((district, in_region), (Value::Null, json!(false)));
    assert_eq!(referrals[0]["region"], "350000");
}

/// A sampled unit posted without a district or an address is still placed, so that its
/// notices come from its district's bureau and the quarter counts it there: by the district
/// its registered name begins with, else by the district whose bureau registered its code.
#[tokio::test]
async fn a_unit_without_a_district_or_address_is_placed_by_its_name_or_code() {
    async fn district_of(name: &str, uscc: &str) -> Value {
        let harness = Harness::new();
        let (mut stage, store) = harness.stage();
        let mut sampled_at = result();
        sampled_at["sampled_unit"] = json!({"uscc": uscc, "name": name, "role": "retailer"});
        stage
            .apply(&[delivered(topics::RESULTS, 0, &sampled_at)])
            .await
            .unwrap();
        let case_ = case(&store);
        case_["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["uscc"] == uscc)
            .map(|u| u["district"].clone())
            .unwrap()
    }
    // 91120104…: registered in 南开区; the name says 河西区, where the shop is now.
    assert_eq!(
        district_of("天津市河西区鑫盛五金店", "91120104MA05A0B1CK").await,
        "120103"
    );
    assert_eq!(
        district_of("鑫盛五金店", "91120104MA05A0B1CK").await,
        "120104"
    );
    // A code of the municipal bureau (120000) names no district.
    assert_eq!(
        district_of("鑫盛五金店", "91120000MA05A0B1CL").await,
        Value::Null
    );
    // Named without a code, the unit waits for identification; the queue says where it is.
    let harness = Harness::new();
    let (mut stage, store) = harness.stage();
    let mut sampled_at = result();
    sampled_at["sampled_unit"] = json!({"name": "天津市河西区鑫盛五金店", "role": "retailer"});
    stage
        .apply(&[delivered(topics::RESULTS, 0, &sampled_at)])
        .await
        .unwrap();
    let queue = store.identifications().unwrap();
    assert_eq!(queue[0]["district"], "120103", "{queue:?}");
}

/// A producer named without a credit code whose label's address is in another province is
/// still reported to that province's authority (Order 18 Art 44): the case says so, by name and
/// address, while the producer waits for identification. One in Tianjin is not.
#[tokio::test]
async fn a_producer_elsewhere_without_a_code_is_to_be_reported_there() {
    async fn gaps_of(address: &str) -> Vec<String> {
        let harness = Harness::new();
        let (mut stage, store) = harness.stage();
        let mut labelled = result();
        labelled["producer"] = json!({"name": "宁波某某燃气具有限公司", "address": address});
        stage
            .apply(&[delivered(topics::RESULTS, 0, &labelled)])
            .await
            .unwrap();
        case(&store)["gaps_zh"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap().to_owned())
            .collect()
    }
    let to_zhejiang = |gaps: &[String]| {
        gaps.iter()
            .any(|g| g.contains("浙江省市场监督管理局") && g.contains("第四十四条"))
    };
    let elsewhere = gaps_of("浙江省宁波市慈溪市").await;
    assert!(to_zhejiang(&elsewhere), "{elsewhere:?}");
    let here = gaps_of("天津市宁河区").await;
    assert!(!here.iter().any(|g| g.contains("通报")), "{here:?}");
    // Labels often begin the address with the city: it names the province as well.
    let by_city = gaps_of("永康市经济开发区金都路8号").await;
    assert!(to_zhejiang(&by_city), "{by_city:?}");
    // Tianjin's 河北区 is not 河北省: nothing to report elsewhere.
    let hebei_district = gaps_of("河北区中山路1号").await;
    assert!(
        !hebei_district.iter().any(|g| g.contains("通报")),
        "{hebei_district:?}"
    );
}

/// An online shop sampled by a purchase (电商抽查) is often in another province: named without a
/// credit code, it waits for identification, and the case says to report the failure to its
/// province's authority by name and address (Order 18 Art 44), as for a producer elsewhere.
/// Tianjin's streets named after provinces (山西路) place no one elsewhere.
#[tokio::test]
async fn a_sampled_unit_elsewhere_without_a_code_is_to_be_reported_there() {
    async fn gaps_of(unit: Value) -> Vec<String> {
        let harness = Harness::new();
        let (mut stage, store) = harness.stage();
        let mut sampled = result();
        sampled["sampling"]["domain"] = json!("ecommerce");
        sampled["sampled_unit"] = unit;
        stage
            .apply(&[delivered(topics::RESULTS, 0, &sampled)])
            .await
            .unwrap();
        case(&store)["gaps_zh"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap().to_owned())
            .collect()
    }
    let shop =
        |address: &str| json!({"name": "某某电器旗舰店", "address": address, "role": "ecommerce"});
    let elsewhere = gaps_of(shop("浙江省杭州市余杭区某路1号")).await;
    assert!(
        elsewhere
            .iter()
            .any(|g| g.starts_with("被抽样单位某某电器旗舰店")
                && g.contains("浙江省市场监督管理局")
                && g.contains("第四十四条")),
        "{elsewhere:?}"
    );
    // Still pending: reporting it elsewhere does not identify it.
    assert!(
        elsewhere.iter().any(|g| g.starts_with("待认定")),
        "{elsewhere:?}"
    );
    for here in [
        shop("山西路12号"),
        shop("天津市南开区某路1号"),
        json!({"name": "某某电器旗舰店", "district": "120104", "role": "ecommerce"}),
    ] {
        let gaps = gaps_of(here.clone()).await;
        assert!(!gaps.iter().any(|g| g.contains("通报")), "{here}: {gaps:?}");
    }
}

/// The lab's report gives the batch code and the production date (`B1`, 2026-02-01); shops'
/// ledgers often record the production date alone. Those shipments are of the batch: the
/// distributor is traced upstream and the other shop it supplied downstream, and the case says
/// they met by the date. A shipment of another production date is not of it.
#[tokio::test]
async fn a_ledger_that_records_the_production_date_alone_meets_the_batch() {
    const PRODUCER: &str = "91350100M000100Y43";
    const SHOP: &str = "91110000802100433B";
    const DISTRIBUTOR: &str = "91120116MA05DJ5T1Y";
    const OTHER_SHOP: &str = "92120105MA05PH0P2P";
    const THIRD_SHOP: &str = "91120104MA05A0B1CX";
    let shipment = |id: &str, from: &str, to: &str, batch: &str| {
        fireworks_shipment(id, from, to, ("F-1", batch))
    };
    let harness = Harness::new();
    let (mut stage, store) = harness.stage();
    let mut sampled = result();
    sampled["product"]["production_date"] = json!("2026-02-01");
    stage
        .apply(&[
            delivered(
                topics::SHIPMENTS,
                0,
                &shipment("S1", PRODUCER, DISTRIBUTOR, "2026.2.1"),
            ),
            delivered(
                topics::SHIPMENTS,
                1,
                &shipment("S2", DISTRIBUTOR, SHOP, "20260201"),
            ),
            delivered(
                topics::SHIPMENTS,
                2,
                &shipment("S3", DISTRIBUTOR, OTHER_SHOP, "2026-02-01"),
            ),
            delivered(
                topics::SHIPMENTS,
                3,
                &shipment("S4", DISTRIBUTOR, THIRD_SHOP, "2026-02-02"),
            ),
            delivered(topics::RESULTS, 0, &sampled),
        ])
        .await
        .unwrap();
    let case_ = case(&store);
    let direction = |uscc: &str| direction_of(&case_, uscc);
    assert_eq!(
        [
            direction(DISTRIBUTOR),
            direction(OTHER_SHOP),
            direction(THIRD_SHOP)
        ],
        [json!("upstream"), json!("downstream"), Value::Null],
        "{case_:#}"
    );
    let gaps = case_["gaps_zh"].as_array().unwrap();
    assert!(
        gaps.iter().any(|g| g
            .as_str()
            .unwrap()
            .starts_with("台账中有3笔进销货记录只记载了生产日期（2026年2月1日）")),
        "{gaps:?}"
    );
}

/// A lab copies the sampled shop's credit code into the producer's column. Sampled from a
/// seller, a producer of another name given that code is not that shop: before, the shop was
/// recorded (and disclosed) as the producer of what failed, and the producer not at all. Now
/// the shop is the seller, the producer waits to be identified by its name, and the case says
/// why. Sampled at the works, one code for two spellings is still one enterprise.
#[tokio::test]
async fn a_producer_given_the_sellers_code_is_not_that_seller() {
    async fn subjects_of(domain: &str) -> (Vec<(String, String, String)>, Vec<String>) {
        let harness = Harness::new();
        let (mut stage, store) = harness.stage();
        let mut copied = result();
        copied["sampling"]["domain"] = json!(domain);
        copied["producer"] = json!({"uscc": "91110000802100433B", "name": "某烟花制造有限公司"});
        stage
            .apply(&[delivered(topics::RESULTS, 0, &copied)])
            .await
            .unwrap();
        let case_ = case(&store);
        let subjects = case_["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let text = |field: &str| s[field].as_str().unwrap_or_default().to_owned();
                (text("role"), text("name"), text("disclosure"))
            })
            .collect();
        let gaps = case_["gaps_zh"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap().to_owned())
            .collect();
        (subjects, gaps)
    }
    let subject = |role: &str, name: &str, disclosure: &str| {
        (role.to_owned(), name.to_owned(), disclosure.to_owned())
    };
    let (subjects, gaps) = subjects_of("circulation").await;
    assert_eq!(
        subjects,
        [
            subject("seller", "某店", "disclose"),
            subject("producer", "某烟花制造有限公司", "identification_pending"),
        ]
    );
    assert!(gaps.iter().any(|g| g.contains("疑为误填")), "{gaps:?}");
    let (subjects, gaps) = subjects_of("production").await;
    assert_eq!(subjects, [subject("producer", "某店", "disclose")]);
    assert!(!gaps.iter().any(|g| g.contains("疑为误填")), "{gaps:?}");
}

/// A shop's ledger writes the model or the batch otherwise than the lab's report (`F-Ⅱ` on the
/// report, `f-ii型` in the ledger; `20260301` and `2026.3.1`): it is the same batch, traced up
/// to the distributor that supplied it and down to every other shop it supplied.
#[tokio::test]
async fn a_ledger_that_writes_the_model_or_batch_otherwise_is_of_the_same_batch() {
    const PRODUCER: &str = "91350100M000100Y43";
    const SHOP: &str = "91110000802100433B";
    const DISTRIBUTOR: &str = "91120116MA05DJ5T1Y";
    const OTHER_SHOP: &str = "92120105MA05PH0P2P";
    for (report, ledger) in [
        (("F-Ⅱ", "B1"), ("f-ii型", "B1")),
        (("F-1", "20260301"), ("F-1", "2026.3.1")),
    ] {
        let shipment = |id: &str, from: &str, to: &str| fireworks_shipment(id, from, to, ledger);
        let harness = Harness::new();
        let (mut stage, store) = harness.stage();
        let mut sampled = result();
        sampled["product"]["model"] = json!(report.0);
        sampled["product"]["batch"] = json!(report.1);
        stage
            .apply(&[
                delivered(topics::SHIPMENTS, 0, &shipment("S1", PRODUCER, DISTRIBUTOR)),
                delivered(topics::SHIPMENTS, 1, &shipment("S2", DISTRIBUTOR, SHOP)),
                delivered(
                    topics::SHIPMENTS,
                    2,
                    &shipment("S3", DISTRIBUTOR, OTHER_SHOP),
                ),
                delivered(topics::RESULTS, 0, &sampled),
            ])
            .await
            .unwrap();
        let case_ = case(&store);
        let direction = |uscc: &str| direction_of(&case_, uscc);
        assert_eq!(
            [direction(DISTRIBUTOR), direction(OTHER_SHOP)],
            [json!("upstream"), json!("downstream")],
            "{report:?} / {ledger:?}: {case_:#}"
        );
    }
}

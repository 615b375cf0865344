//! The legal decisions on records shaped like real ones, through the public contract of
//! `spotcheck up` (one test per finding of the review that opened this work):
//! 1. a late disposition corrects the credit feed (denial → retract; upheld re-test → the
//!    disclosure's `final_on` corrected under the same id);
//! 2. a subject named without a credit code waits in the identification queue, gets nothing
//!    served or disclosed, and is disclosed once the registry names it;
//! 3. results and shipments meet on the producer's credit code whatever the name's spelling;
//! 4. impossible timelines are refused; a result too old to disclose is kept and says why;
//! 5. every date counts from the event the law names, on the working-day calendar; a notice
//!    printed before it is served gives its full period from printing;
//! 6. a notice served to one unit is that unit's, with its own deadline.
//!
//! And the queue at scale: 1,000 failing results naming their sampled units by name only are
//! all identified and disclosed once the units are registered.

mod support;

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use support::Up;
use support::flows::{days_ago, uscc};

const PRODUCER: &str = "91350100M000100Y43";
const SELLER: &str = "91110000802100433B";

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

fn start(dir: &std::path::Path, periods: &str) -> Up {
    Up::start_configured(&dir.join("spotcheck"), periods, &[])
}

/// POSTs `body` (JSON) and expects `status`; returns the answer.
fn post(up: &Up, route: &str, role: &str, body: &Value, status: u16) -> Value {
    let response = client()
        .post(up.url(route))
        .bearer_auth(up.token(role))
        .json(body)
        .send()
        .unwrap();
    let code = response.status().as_u16();
    let answer: Value = response.json().unwrap_or(Value::Null);
    assert_eq!(code, status, "{route}: {answer}");
    answer
}

/// POSTs `records` as one NDJSON body and expects 202; returns the answer.
fn post_ndjson(up: &Up, route: &str, role: &str, records: &[Value]) -> Value {
    let body: String = records.iter().map(|r| format!("{r}\n")).collect();
    let response = client()
        .post(up.url(route))
        .bearer_auth(up.token(role))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
    response.json().unwrap()
}

/// A case's steps by kind.
fn steps_of(case: &Value) -> BTreeMap<String, Value> {
    case["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap().to_owned(), s.clone()))
        .collect()
}

fn put_unit(up: &Up, unit: &Value) {
    let uscc = unit["uscc"].as_str().unwrap();
    let response = client()
        .put(up.url(&format!("/v1/units/{uscc}")))
        .bearer_auth(up.token("admin"))
        .json(unit)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().unwrap());
}

/// Ledger shipments of the producer's gas cookers (batch 20260301) to a distributor, who ships
/// them on to two shops; the producer named as `producer_name`, ids prefixed `prefix`.
fn post_branching_batch(
    up: &Up,
    prefix: &str,
    producer_name: &str,
    [producer, distributor, shop, other_shop]: [&str; 4],
) {
    let shipment = |n: u32, from: &str, to: &str| {
        json!({"shipment_id": format!("{prefix}-{n}"), "category": "gas_appliance",
               "product": {"producer_uscc": producer, "producer_name": producer_name,
                           "model": "JZT-2", "batch": "20260301"},
               "from": {"uscc": from, "name": "某单位"}, "to": {"uscc": to, "name": "某单位"},
               "quantity": 10, "unit": "pcs", "shipped_on": days_ago(30)})
    };
    let shipments = [
        shipment(1, producer, distributor),
        shipment(2, distributor, shop),
        shipment(3, distributor, other_shop),
    ];
    post_ndjson(up, "/v1/shipments", "ledger", &shipments);
}

fn disposition(report_no: &str, id: &str, kind: &str, on: &str, extra: Value) -> Value {
    let mut d = json!({"disposition_id": id, "report_no": report_no, "lab_id": "dev-lab",
                       "kind": kind, "on": on});
    if let Value::Object(fields) = extra {
        for (k, v) in fields {
            d[k] = v;
        }
    }
    d
}

/// A failing result served twelve days ago (final with a window of 0 days).
fn final_result(report_no: &str) -> Value {
    support::flows::final_result(report_no, "fail")
}

/// The body of `GET path` as `role` sees it.
fn get_text(up: &Up, path: &str, role: &str) -> String {
    client()
        .get(up.url(path))
        .bearer_auth(up.token(role))
        .send()
        .unwrap()
        .text()
        .unwrap()
}

fn get(up: &Up, path: &str, role: &str) -> Value {
    serde_json::from_str(&get_text(up, path, role)).unwrap()
}

/// Every item of the credit feed, from the start.
fn feed(up: &Up) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after = String::new();
    loop {
        let page = get(
            up,
            &format!("/v1/disclosures?after={after}&limit=1000"),
            "feed",
        );
        let got = page["items"].as_array().cloned().unwrap_or_default();
        if got.is_empty() {
            return items;
        }
        items.extend(got);
        after = page["next"].as_str().unwrap_or_default().to_owned();
    }
}

/// The newest action per disclosure id: what the credit system shows.
fn standing_feed(items: &[Value]) -> BTreeMap<String, Value> {
    items
        .iter()
        .map(|d| (d["disclosure_id"].as_str().unwrap().to_owned(), d.clone()))
        .collect()
}

/// Waits (up to 60 s) until `ready` holds for the feed; returns it.
fn wait_feed(up: &Up, what: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let items = feed(up);
        if ready(&items) {
            return items;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what}; feed: {items:#?}\n{}",
            up.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The case page of `case_id` once the lake has the case and `ready` accepts its HTML.
fn case_page(up: &Up, case_id: &str, ready: impl Fn(&str) -> bool) -> String {
    let started = std::time::Instant::now();
    loop {
        let response = client()
            .get(up.url(&format!("/ui/cases/{case_id}")))
            .bearer_auth(up.token("analyst"))
            .send()
            .unwrap();
        if response.status() == 200 {
            let page = response.text().unwrap();
            if ready(&page) {
                return page;
            }
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the case page of {case_id} never showed what was expected"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

fn case_url(report_no: &str) -> String {
    format!(
        "/v1/cases/{}",
        spotcheck_schemas::case_id("dev-lab", report_no)
    )
}

/// Waits (up to 60 s) until the case exists and `ready` holds for it.
fn wait_case(up: &Up, report_no: &str, ready: impl Fn(&Value) -> bool) -> Value {
    support::flows::poll_json(&up.url(&case_url(report_no)), &up.token("admin"), |case| {
        case.get("case_id").is_some() && ready(case)
    })
}

fn of_report<'a>(items: &'a BTreeMap<String, Value>, report_no: &str, role: &str) -> &'a Value {
    items
        .values()
        .find(|d| d["report_no"] == report_no && d["subject_role"] == role)
        .unwrap_or_else(|| panic!("no {role} disclosure of {report_no}: {items:#?}"))
}

#[test]
fn a_late_disposition_corrects_the_published_disclosures() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "[traceback.periods]\nobjection_days = 0\n");
    post(&up, "/v1/results", "lab", &final_result("LATE-DENIAL"), 202);
    post(&up, "/v1/results", "lab", &final_result("LATE-RETEST"), 202);
    wait_feed(&up, "four publications", |items| items.len() >= 4);

    // The producer denies the batch after its disclosure was published: retracted, same id.
    let denied = disposition(
        "LATE-DENIAL",
        "D-1",
        "producer_denied",
        &days_ago(1),
        json!({}),
    );
    let answer = post(&up, "/v1/dispositions", "admin", &denied, 202);
    assert!(answer["accepted"][0].get("warnings").is_none(), "{answer}");
    // One for a report no lab posted (a typo in its number) is kept, with a warning saying so.
    let mistyped = disposition(
        "LATE-DENAIL",
        "D-2",
        "producer_denied",
        &days_ago(1),
        json!({}),
    );
    let answer = post(&up, "/v1/dispositions", "admin", &mistyped, 202);
    assert_eq!(answer["accepted"][0]["status"], "accepted");
    assert_eq!(
        answer["accepted"][0]["warnings"][0]["kind"], "no_such_record",
        "{answer}"
    );
    // An objection made in time (on the day of service) reaches the system late, and the
    // re-test upholds the failure three days ago: final from the re-test, not from the window.
    let served = days_ago(12);
    for (id, kind, on, outcome) in [
        ("O-1", "objection_filed", served.as_str(), None),
        ("R-1", "retest_concluded", &days_ago(3), Some("upheld")),
    ] {
        let d = disposition("LATE-RETEST", id, kind, on, json!({"outcome": outcome}));
        post(&up, "/v1/dispositions", "admin", &d, 202);
    }
    let retest_on = days_ago(3);
    let items = wait_feed(&up, "the producer retracted, the re-test's date", |items| {
        let now = standing_feed(items);
        let producer_retracted = now.values().any(|d| {
            d["report_no"] == "LATE-DENIAL"
                && d["subject_role"] == "producer"
                && d["action"] == "retract"
        });
        let corrected = now
            .values()
            .filter(|d| d["report_no"] == "LATE-RETEST")
            .all(|d| d["action"] == "publish" && d["final_on"] == retest_on.as_str());
        producer_retracted && corrected
    });
    let now = standing_feed(&items);
    let retract = of_report(&now, "LATE-DENIAL", "producer");
    assert_eq!(retract["subject"]["uscc"], PRODUCER);
    assert_eq!(retract["reason"], "referred");
    assert!(retract["revision"].as_u64().unwrap() >= 2);
    let first = items
        .iter()
        .find(|d| d["disclosure_id"] == retract["disclosure_id"] && d["revision"] == 1)
        .expect("the retraction names the publication's id");
    assert_eq!(first["action"], "publish");
    assert_eq!(
        of_report(&now, "LATE-DENIAL", "seller")["action"],
        "publish"
    );

    for role in ["seller", "producer"] {
        let corrected = of_report(&now, "LATE-RETEST", role);
        assert_eq!(corrected["final_on"], retest_on.as_str());
        let visible = chrono::NaiveDate::parse_from_str(&retest_on, "%Y-%m-%d").unwrap()
            + chrono::Months::new(36);
        assert_eq!(corrected["visible_until"], visible.to_string());
        assert!(corrected["revision"].as_u64().unwrap() >= 2, "{corrected}");
        assert_eq!(
            corrected["supersedes"].as_u64(),
            Some(corrected["revision"].as_u64().unwrap() - 1)
        );
    }
    // Nothing twice: one action per (id, revision), on the feed and on the topic.
    let mut seen = std::collections::BTreeSet::new();
    for d in &items {
        assert!(seen.insert((d["disclosure_id"].to_string(), d["revision"].to_string())));
    }
    let case = wait_case(&up, "LATE-DENIAL", |c| {
        !c["referrals"].as_array().unwrap().is_empty()
    });
    assert_eq!(case["referrals"][0]["kind"], "producer_denied");
}

#[test]
fn a_subject_named_without_a_credit_code_waits_until_the_registry_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "[traceback.periods]\nobjection_days = 0\n");
    let mut result = final_result("NO-USCC-1");
    result["sampled_unit"] = json!({"name": "天津市津安五金有限责任公司", "district": "120104",
                                   "role": "retailer"});
    post(&up, "/v1/results", "lab", &result, 202);

    let case = wait_case(&up, "NO-USCC-1", |c| c["status"] == "final");
    let seller = &case["subjects"][0];
    assert_eq!(seller["disclosure"], "identification_pending", "{case:#}");
    let gaps = case["gaps"].to_string();
    assert!(gaps.contains("identification pending"), "{gaps}");
    let origin = |case: &Value| -> Vec<Value> {
        case["units"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["direction"] == "origin")
            .map(|u| u["uscc"].clone())
            .collect()
    };
    assert!(
        origin(&case).is_empty(),
        "an unidentified unit is no party notices could be addressed to: {case:#}"
    );
    let queue =
        support::flows::poll_json(&up.url("/v1/identifications"), &up.token("analyst"), |q| {
            q["waiting_cases"] == 1
        });
    assert_eq!(queue["items"][0]["name"], "天津市津安五金有限责任公司");
    assert_eq!(queue["items"][0]["cases"][0]["report_no"], "NO-USCC-1");
    // The case page says, in Chinese, whom the failure is recorded under and who waits.
    let page = case_page(&up, case["case_id"].as_str().unwrap(), |page| {
        page.contains("天津市津安五金有限责任公司")
    });
    let waiting = page
        .split("<tr>")
        .find(|row| row.contains("天津市津安五金有限责任公司") && row.contains("销售者"))
        .unwrap_or_else(|| panic!("no row of the seller among the subjects: {page}"));
    assert!(
        waiting.contains("（未识别）") && waiting.contains("待认定"),
        "{waiting}"
    );
    // What to do before serving, in Chinese: the JSON's gaps one for one, the page's list.
    assert_eq!(
        case["gaps_zh"].as_array().map(Vec::len),
        case["gaps"].as_array().map(Vec::len),
        "{case:#}"
    );
    let listed = page
        .split("<ul id=\"gaps\">")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .unwrap_or_else(|| panic!("no list of what to check: {page}"));
    assert!(
        listed.contains("待认定：被抽样单位天津市津安五金有限责任公司"),
        "{listed}"
    );
    assert!(!listed.contains("identification pending"), "{listed}");
    // The case list says how many there are, so officials find the cases to settle first.
    let gaps = case["gaps"].as_array().unwrap().len();
    assert!(gaps >= 1, "{case:#}");
    let list = client()
        .get(up.url("/ui/cases"))
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let row = list
        .split("<tr>")
        .find(|row| row.contains(case["case_id"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("the case is not listed: {list}"));
    assert!(
        row.contains(&format!("<td class=\"gaps\">{gaps}</td>")),
        "{gaps} to check: {row}"
    );
    // Only the producer is disclosed meanwhile.
    let items = wait_feed(&up, "the producer's publication", |items| !items.is_empty());
    assert!(items.iter().all(|d| d["subject_role"] == "producer"));

    // Registered under the same enterprise's name, spelled as its licence has it.
    put_unit(
        &up,
        &json!({"uscc": SELLER, "name": "天津津安五金有限公司", "district": "120104",
                "roles": ["retailer"], "licences": []}),
    );
    let items = wait_feed(&up, "the seller's publication", |items| {
        items.iter().any(|d| d["subject_role"] == "seller")
    });
    let seller = items
        .iter()
        .find(|d| d["subject_role"] == "seller")
        .unwrap();
    assert_eq!(seller["subject"]["uscc"], SELLER);
    assert_eq!(seller["subject"]["name"], "天津津安五金有限公司");
    let case = wait_case(&up, "NO-USCC-1", |c| c["subjects"][0]["uscc"] == SELLER);
    assert_eq!(
        case["subjects"][0]["identified_by"],
        "registry_name_district"
    );
    assert_eq!(case["origin"]["uscc"], SELLER);
    assert_eq!(
        origin(&case),
        [json!(SELLER)],
        "identified: now a party of the case"
    );
    let queue = get(&up, "/v1/identifications", "admin");
    assert_eq!(queue["waiting_cases"], 0, "{queue}");

    // A second unit named only by name, identified by an official instead.
    let mut other = final_result("NO-USCC-2");
    other["sampled_unit"] = json!({"name": "河西区某某电器经营部", "role": "retailer"});
    post(&up, "/v1/results", "lab", &other, 202);
    support::flows::poll_json(&up.url("/v1/identifications"), &up.token("admin"), |q| {
        q["waiting_cases"] == 1
    });
    let found = uscc("120103", 7);
    let identified = disposition(
        "NO-USCC-2",
        "ID-1",
        "identified",
        &days_ago(0),
        json!({"name": "河西区某某电器经营部", "uscc": found}),
    );
    post(&up, "/v1/dispositions", "admin", &identified, 202);
    let items = wait_feed(&up, "the identified seller's publication", |items| {
        items
            .iter()
            .any(|d| d["report_no"] == "NO-USCC-2" && d["subject_role"] == "seller")
    });
    let seller = items
        .iter()
        .find(|d| d["report_no"] == "NO-USCC-2" && d["subject_role"] == "seller")
        .unwrap();
    assert_eq!(seller["subject"]["uscc"], found.as_str());
    let rows = support::flows::poll_json(&up.url("/v1/identifications"), &up.token("admin"), |q| {
        q["waiting_cases"] == 0
    });
    assert_eq!(rows["items"], json!([]));
}

#[test]
fn shipments_meet_the_result_on_the_producers_credit_code_whatever_its_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "");
    let (distributor, shop, other_shop) = (uscc("120116", 1), uscc("120104", 2), uscc("120105", 3));
    post_branching_batch(
        &up,
        "S",
        "天津市津安燃气具有限公司",
        [PRODUCER, &distributor, &shop, &other_shop],
    );
    let mut result = final_result("BY-CODE-1");
    result["producer"] = json!({"uscc": PRODUCER, "name": "天津津安燃气具有限公司"});
    result["sampled_unit"]["uscc"] = json!(shop);
    post(&up, "/v1/results", "lab", &result, 202);

    let case = wait_case(&up, "BY-CODE-1", |c| {
        c["units"].as_array().unwrap().len() >= 4
    });
    let units: BTreeMap<String, String> = case["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["uscc"].as_str().unwrap().to_owned(),
                u["direction"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(units[&shop], "origin");
    assert_eq!(units[&distributor], "upstream");
    assert_eq!(units[&other_shop], "downstream", "{case:#}");
    let gaps = case["gaps"].to_string();
    assert!(!gaps.contains("no inbound shipment"), "{gaps}");
    assert!(
        gaps.contains("天津市津安燃气具有限公司"),
        "the variant is named: {gaps}"
    );
}

#[test]
fn a_notice_served_to_one_unit_is_that_units_with_its_own_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "[traceback.periods]\nobjection_days = 0\n");
    let (distributor, shop, other_shop) = (uscc("120116", 4), uscc("120104", 5), uscc("120105", 6));
    // A producer in the region: reminders and interviews go to it and the sampled shop.
    let producer = uscc("120113", 7);
    post_branching_batch(
        &up,
        "PS",
        "某某燃气具有限公司",
        [&producer, &distributor, &shop, &other_shop],
    );
    let mut result = final_result("PER-UNIT-1");
    result["sampled_unit"]["uscc"] = json!(shop);
    result["producer"]["uscc"] = json!(producer);
    result["severity"] = json!("general");
    result["sampling"]["date"] = json!(days_ago(100));
    result["tested_on"] = json!(days_ago(92));
    result["served_on"] = json!(days_ago(90));
    post(&up, "/v1/results", "lab", &result, 202);
    let rectification_to = |case: &Value, uscc: &str| -> Value {
        case["notices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["kind"] == "rectification" && n["to"] == uscc)
            .cloned()
            .unwrap_or(Value::Null)
    };
    wait_case(&up, "PER-UNIT-1", |c| {
        rectification_to(c, &other_shop)["status"] == "proposed"
    });

    // The shop is served 75 days ago, the producer 55, the distributor 40; the other shop not yet.
    for (id, on, to) in [
        ("PU-1", 75, &shop),
        ("PU-2", 55, &producer),
        ("PU-3", 40, &distributor),
    ] {
        let served = disposition(
            "PER-UNIT-1",
            id,
            "notice_served",
            &days_ago(on),
            json!({"outcome": "rectification", "uscc": to}),
        );
        post(&up, "/v1/dispositions", "admin", &served, 202);
    }
    let case = wait_case(&up, "PER-UNIT-1", |c| {
        [&producer, &distributor]
            .iter()
            .all(|to| rectification_to(c, to)["status"] == "served")
    });
    let sixty_from = |days: u64| {
        let on = spotcheck_schemas::days::today() - chrono::Days::new(days);
        support::law_period_end(on, 60).to_string()
    };
    let shop_notice = rectification_to(&case, &shop);
    assert_eq!(
        (&shop_notice["status"], &shop_notice["due_on"]),
        (&json!("served"), &json!(sixty_from(75))),
        "{case:#}"
    );
    assert_eq!(
        rectification_to(&case, &distributor)["due_on"],
        sixty_from(40),
        "{case:#}"
    );
    assert_eq!(
        rectification_to(&case, &other_shop)["status"],
        "proposed",
        "served to two units, not to the third: {case:#}"
    );
    // The first service is the order: the case is rectifying, its deadline the shop's.
    assert_eq!(case["status"], "rectifying");
    assert_eq!(case["deadlines"]["rectify_by"], sixty_from(75));
    // The shop's deadline has passed: called to an interview (a reminder not served by the
    // deadline is moot). The producer is held to its own deadline, a few days off: reminded of
    // that, no interview.
    // The distributor is neither (they go to the sampled unit and the producer).
    let kinds_to = |uscc: &str| -> Vec<(String, String)> {
        case["notices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["to"] == uscc && n["kind"] != "rectification")
            .map(|n| {
                let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                (text(&n["kind"]), text(&n["due_on"]))
            })
            .collect()
    };
    let shop_has: Vec<String> = kinds_to(&shop).into_iter().map(|(kind, _)| kind).collect();
    assert_eq!(shop_has, ["interview"], "{case:#}");
    assert_eq!(
        kinds_to(&producer),
        [("reminder".to_owned(), sixty_from(55))],
        "{case:#}"
    );
    assert_eq!(kinds_to(&distributor), [], "{case:#}");
    // Printed, the producer's reminder names its own deadline.
    let n = 1 + case["notices"]
        .as_array()
        .unwrap()
        .iter()
        .position(|n| n["kind"] == "reminder" && n["to"] == producer.as_str())
        .unwrap();
    support::flows::wait_until("the reminders in the lake", || {
        support::flows::up_sql(
            &up,
            "SELECT notices_json FROM cases WHERE report_no = 'PER-UNIT-1'",
        )
        .first()
        .is_some_and(|row| row["notices_json"].to_string().contains("reminder"))
    });
    let page = notice_html(&up, "PER-UNIT-1", n);
    let own = spotcheck_schemas::days::date_zh(day(&sixty_from(55)));
    assert!(page.contains(&format!("整改期限至{own}届满")), "{page}");
}

/// The case's order goes to the units that answer for the failure (the sampled shop, the
/// producer); the distributor that only held the batch reports it took the batch back. Sixty days
/// on, nothing from the shop or the producer: the case is overdue — on the case, in the quarterly
/// report and in where to sample next — and the distributor is not.
#[test]
fn a_unit_that_only_held_the_batch_neither_reports_for_the_case_nor_is_overdue() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "[traceback.periods]\nobjection_days = 0\n");
    let (distributor, shop, other_shop) =
        (uscc("120116", 14), uscc("120104", 15), uscc("120105", 16));
    let producer = uscc("120113", 17);
    post_branching_batch(
        &up,
        "HB",
        "某某燃气具有限公司",
        [&producer, &distributor, &shop, &other_shop],
    );
    for (unit, role) in [(&shop, "retailer"), (&distributor, "distributor")] {
        put_unit(
            &up,
            &json!({"uscc": unit, "name": "某单位", "district": &unit[2..8],
                    "roles": [role], "licences": []}),
        );
    }
    let mut result = final_result("HOLDER-1");
    result["sampled_unit"]["uscc"] = json!(shop);
    result["producer"]["uscc"] = json!(producer);
    result["severity"] = json!("general");
    let sampled_on = day(&days_ago(100));
    result["sampling"]["date"] = json!(sampled_on.to_string());
    result["tested_on"] = json!(days_ago(92));
    result["served_on"] = json!(days_ago(90));
    post(&up, "/v1/results", "lab", &result, 202);
    let ordered = disposition(
        "HOLDER-1",
        "HB-1",
        "rectification_ordered",
        &days_ago(75),
        json!({}),
    );
    post(&up, "/v1/dispositions", "admin", &ordered, 202);
    let recalled = disposition(
        "HOLDER-1",
        "HB-2",
        "rectification_reported",
        &days_ago(70),
        json!({"uscc": distributor}),
    );
    post(&up, "/v1/dispositions", "admin", &recalled, 202);

    let case = wait_case(&up, "HOLDER-1", |c| {
        c["units"].as_array().is_some_and(|u| u.len() == 4) && notice_kinds(c).contains("interview")
    });
    let responsible: BTreeMap<&str, bool> = case["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["uscc"].as_str().unwrap(), u["responsible"] == true))
        .collect();
    let expected = BTreeMap::from([
        (shop.as_str(), true),
        (producer.as_str(), true),
        (distributor.as_str(), false),
        (other_shop.as_str(), false),
    ]);
    assert_eq!(responsible, expected, "{case:#}");
    // The case page says each unit's part.
    let page = case_page(&up, case["case_id"].as_str().unwrap(), |p| {
        p.contains("整改责任单位")
    });
    let units = page
        .split("<table id=\"units\">")
        .nth(1)
        .unwrap_or_default();
    let row_of = |uscc: &str| {
        units
            .split("<tr>")
            .find(|row| row.contains(uscc))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(row_of(&shop).contains("整改责任单位"), "{page}");
    assert!(
        row_of(&distributor).contains("持有该批次产品（停止销售、召回）"),
        "{page}"
    );

    support::flows::wait_until("the case and the report in the lake", || {
        support::flows::up_sql(
            &up,
            "SELECT 1 FROM case_units u JOIN cases c ON c.case_id = u.case_id \
             WHERE c.report_no = 'HOLDER-1' AND c.status = 'rectifying' AND u.responsible",
        )
        .len()
            == 2
            && !support::flows::up_sql(
                &up,
                "SELECT 1 FROM dispositions WHERE disposition_id = 'HB-2'",
            )
            .is_empty()
    });
    // In the credit archives, the case is the distributor's as a holder of the batch only.
    let case_in_archive = |uscc: &str| -> String {
        let sql = format!("SELECT detail FROM archive WHERE uscc = '{uscc}' AND event = 'case'");
        support::flows::up_sql(&up, &sql)
            .first()
            .map(|row| row["detail"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    assert!(case_in_archive(&distributor).contains("非整改责任单位"));
    let shop_case = case_in_archive(&shop);
    assert!(!shop_case.is_empty() && !shop_case.contains("非整改责任单位"));
    // Printed, the distributor's rectification notice orders it to stop selling and recall the
    // batch and report on it; the shop's, to find the cause, rectify and be re-checked.
    let rectification_of = |uscc: &str| {
        let n = 1 + case["notices"]
            .as_array()
            .unwrap()
            .iter()
            .position(|n| n["kind"] == "rectification" && n["to"] == uscc)
            .unwrap();
        notice_html(&up, "HOLDER-1", n)
    };
    let held = rectification_of(&distributor);
    assert!(held.contains("立即停止销售上述批次产品"), "{held}");
    assert!(held.contains("召回处理情况"), "{held}");
    assert!(!held.contains("复查"), "{held}");
    let answers = rectification_of(&shop);
    assert!(answers.contains("认真查找不合格原因"), "{answers}");
    assert!(answers.contains("组织复查"), "{answers}");

    // The quarterly report of the sampling's quarter: one case ordered, its report missing, and
    // overdue.
    let first_row = quarterly_report(dir.path(), &quarter_of(sampled_on));
    assert_eq!(first_row("cases.csv"), ["1", "0", "1"]);
    assert_eq!(first_row("rectification_on_time.csv"), ["1", "0", "0", "1"]);

    // Where to sample next quarter: the shop has a case overdue, the distributor none.
    let next = quarter_of(spotcheck_schemas::days::today() + chrono::Months::new(3));
    let plan = get(&up, &format!("/v1/plan/suggest?quarter={next}"), "admin");
    assert_eq!(overdue_reasons(&plan, &shop).len(), 1, "{plan:#}");
    assert_eq!(
        overdue_reasons(&plan, &distributor),
        Vec::<String>::new(),
        "{plan:#}"
    );
}

#[test]
fn impossible_timelines_are_refused_and_a_stale_result_says_why_it_is_not_disclosed() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "[traceback.periods]\nobjection_days = 0\n");
    let mut early = final_result("SERVED-EARLY");
    early["served_on"] = json!(days_ago(16));
    let answer = post(&up, "/v1/results", "lab", &early, 422);
    assert_eq!(answer["errors"][0]["field"], "served_on", "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("before the test date")
    );
    let mut future = final_result("SERVED-LATER");
    future["served_on"] =
        json!((spotcheck_schemas::days::today() + chrono::Days::new(5)).to_string());
    let answer = post(&up, "/v1/results", "lab", &future, 422);
    assert_eq!(answer["errors"][0]["field"], "served_on", "{answer}");

    // Sampled in 2022: final long before anyone could disclose it for three years.
    let mut stale = final_result("STALE-1");
    stale["product"]["production_date"] = json!("2022-01-05");
    stale["sampling"]["date"] = json!("2022-03-01");
    stale["tested_on"] = json!("2022-03-10");
    stale["served_on"] = json!("2022-03-12");
    post(&up, "/v1/results", "lab", &stale, 202);
    post(&up, "/v1/results", "lab", &final_result("FRESH-1"), 202);
    let case = wait_case(&up, "STALE-1", |c| c["status"] != "open");
    assert!(
        case["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["disclosure"] == "expired"),
        "{case:#}"
    );
    // Said once for the case, not once per subject (both expired).
    assert_eq!(
        case["gaps"].to_string().matches("not disclosed").count(),
        1,
        "{case:#}"
    );
    // The fresh one is disclosed; the stale one never is.
    let items = wait_feed(&up, "FRESH-1 disclosed", |items| {
        items.iter().filter(|d| d["report_no"] == "FRESH-1").count() == 2
    });
    assert!(items.iter().all(|d| d["report_no"] != "STALE-1"));
}

#[test]
fn every_date_counts_from_the_event_the_law_names() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "");
    // Served 17 September 2026: the 15 days end on 2 October, inside National Day.
    let served_17_september = |report_no: &str| {
        let mut result = final_result(report_no);
        result["product"]["production_date"] = json!("2026-08-01");
        result["product"]["batch"] = json!(report_no);
        result["sampling"]["date"] = json!("2026-09-01");
        result["tested_on"] = json!("2026-09-10");
        result["served_on"] = json!("2026-09-17");
        result["severity"] = json!("general");
        result
    };
    for report_no in ["DATES-1", "DATES-2", "DATES-3", "DATES-4"] {
        post(
            &up,
            "/v1/results",
            "lab",
            &served_17_september(report_no),
            202,
        );
    }
    // DATES-2: no order recorded, but the rectification notice (the order's document) served.
    let served = disposition(
        "DATES-2",
        "DATES-2/1",
        "notice_served",
        "2026-10-23",
        json!({"outcome": "rectification"}),
    );
    post(&up, "/v1/dispositions", "admin", &served, 202);
    let events = [
        ("1", "rectification_ordered", "2026-10-09", json!({})),
        ("2", "stop_ordered", "2026-10-09", json!({})),
        (
            "3",
            "recheck_concluded",
            "2026-10-20",
            json!({"outcome": "fail"}),
        ),
        ("4", "public_notice", "2026-10-26", json!({})),
    ];
    for (id, kind, on, extra) in events {
        let d = disposition("DATES-1", id, kind, on, extra);
        post(&up, "/v1/dispositions", "admin", &d, 202);
    }
    // DATES-4: ordered with the result, then objected to; the re-test has not concluded.
    for (id, kind, on) in [
        ("DATES-4/1", "rectification_ordered", "2026-09-17"),
        ("DATES-4/2", "objection_filed", "2026-09-20"),
    ] {
        let d = disposition("DATES-4", id, kind, on, json!({}));
        post(&up, "/v1/dispositions", "admin", &d, 202);
    }
    let case = wait_case(&up, "DATES-1", |c| {
        c["deadlines"]["public_notice_on"] == "2026-10-26"
    });
    let deadlines = &case["deadlines"];
    assert_eq!(deadlines["objection_until"], "2026-10-08");
    assert_eq!(deadlines["final_on"], "2026-10-09");
    // 20 working days from 9 October: 10 October is a worked Saturday.
    assert_eq!(deadlines["disclose_by"], "2026-11-05");
    // 60 days from the order: Tuesday 8 December.
    assert_eq!(deadlines["rectify_by"], "2026-12-08");
    // 60–90 days from the public notice of 26 October, not from the re-check of 20 October.
    assert_eq!(deadlines["second_recheck_from"], "2026-12-25");
    assert_eq!(deadlines["second_recheck_by"], "2027-01-25");
    assert_eq!(case["status"], "escalated");
    let steps = steps_of(&case);
    assert_eq!(steps["stop_production_and_sale"]["status"], "done");
    assert_eq!(steps["stop_production_and_sale"]["due_on"], "2026-10-09");
    assert_eq!(steps["public_notice"]["done_on"], "2026-10-26");
    assert_eq!(steps["second_recheck"]["due_on"], "2027-01-25");
    // 2027's holiday notice is not in the shipped calendar: the case says so.
    assert!(case["gaps"].to_string().contains("2027"), "{case:#}");

    // Second re-check failed: suspension with its period, its re-check, the licence referral.
    let later = [
        (
            "5",
            "recheck_concluded",
            "2026-11-02",
            json!({"outcome": "fail"}),
        ),
        (
            "6",
            "suspension",
            "2026-11-03",
            json!({"until": "2026-11-13"}),
        ),
        (
            "7",
            "recheck_concluded",
            "2026-11-16",
            json!({"outcome": "fail"}),
        ),
        ("8", "licence_revocation_referred", "2026-11-18", json!({})),
    ];
    for (id, kind, on, extra) in later {
        let d = disposition("DATES-1", id, kind, on, extra);
        post(&up, "/v1/dispositions", "admin", &d, 202);
    }
    let case = wait_case(&up, "DATES-1", |c| c["status"] == "revocation_referred");
    assert_eq!(case["deadlines"]["suspension_until"], "2026-11-13");
    let steps = steps_of(&case);
    // 15 days after the period ends on Friday 13 November: Saturday 28th → Monday 30th.
    assert_eq!(steps["recheck_after_suspension"]["due_on"], "2026-11-30");
    assert_eq!(
        steps["licence_revocation_referral"]["done_on"],
        "2026-11-18"
    );
    let listed = case["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "listed_supervision")
        .expect("listed supervision after the second failed re-check");
    // Due 10 days after the failed second re-check of 2 November, whenever it was processed.
    assert_eq!(listed["due_on"], "2026-11-12");

    // A suspension without its period is refused, naming the field.
    let bad = disposition("DATES-1", "9", "suspension", "2026-11-03", json!({}));
    let answer = post(&up, "/v1/dispositions", "admin", &bad, 422);
    assert_eq!(answer["errors"][0]["field"], "until", "{answer}");

    // The rectification period runs from the notice's service when no order is recorded:
    // 60 days from Friday 23 October, Tuesday 22 December; not from finality (8 December).
    let case = wait_case(&up, "DATES-2", |c| c["status"] == "rectifying");
    assert_eq!(case["deadlines"]["rectify_by"], "2026-12-22", "{case:#}");
    let rectification = &case["notices"][0];
    assert_eq!(
        (&rectification["kind"], &rectification["status"]),
        (&json!("rectification"), &json!("served"))
    );
    assert_eq!(rectification["due_on"], "2026-12-22");

    // DATES-3: neither ordered nor served. Its deadline is projected from finality (8 December)
    // but nobody was given it: no reminder of it, no interview for missing it.
    let case = wait_case(&up, "DATES-3", |c| c["status"] == "final");
    assert_eq!(case["deadlines"]["rectify_by"], "2026-12-08");
    let kinds = notice_kinds(&case);
    assert_eq!(kinds, BTreeSet::from(["rectification"]), "{case:#}");
    // DATES-4: an objection does not suspend the order. Still in the re-test, not final and not
    // disclosed, its order of 17 September ran out on Monday 16 November: called to an
    // interview (the reminder, not served by the deadline, is moot).
    let case = wait_case(&up, "DATES-4", |c| {
        c["notices"].to_string().contains("interview")
    });
    assert_eq!(case["status"], "retest");
    assert_eq!(case["deadlines"]["final_on"], Value::Null);
    assert_eq!(case["deadlines"]["rectify_by"], "2026-11-16");
    assert_eq!(case["deadlines"]["recheck_by"], "2026-12-01");
    let kinds = notice_kinds(&case);
    assert_eq!(
        kinds,
        BTreeSet::from(["rectification", "interview"]),
        "{case:#}"
    );
    // Its page says the deadlines are projections until the notice is served; DATES-2's are not.
    let projection = "（推算：整改通知书尚未送达，送达后自送达之日起计算）";
    let id = |report_no: &str| spotcheck_schemas::case_id("dev-lab", report_no);
    let page = case_page(&up, &id("DATES-3"), |p| p.contains("整改期限"));
    assert!(
        page.contains(&format!("2026年12月8日{projection}")),
        "{page}"
    );
    let page = case_page(&up, &id("DATES-2"), |p| p.contains("2026年12月22日"));
    assert!(!page.contains(projection), "{page}");
    // DATES-4's, in the re-test, that its order runs all the same.
    let page = case_page(&up, &id("DATES-4"), |p| p.contains("复检中"));
    assert!(
        page.contains("2026年11月16日（异议复检期间，责令整改不停止执行）"),
        "{page}"
    );

    // Printed, a notice says the limit its case has when it was served or its order recorded;
    // one not served yet gives sixty days from today at the earliest, however long ago the
    // failure became final (DATES-3, final on 9 October, would say 8 December).
    support::flows::wait_until("the three cases in the lake as the stage has them", || {
        let rows = support::flows::up_sql(
            &up,
            "SELECT report_no, status FROM cases WHERE report_no LIKE 'DATES-%' ORDER BY report_no",
        );
        rows.iter()
            .map(|r| r["status"].as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            == ["revocation_referred", "rectifying", "final", "retest"]
    });
    let today = spotcheck_schemas::days::today();
    let from_today = support::law_period_end(today, 60);
    let zh = spotcheck_schemas::days::date_zh;
    for (report_no, due) in [
        ("DATES-1", day("2026-12-08")),
        ("DATES-2", day("2026-12-22")),
        ("DATES-3", from_today.max(day("2026-12-08"))),
    ] {
        let page = notice_html(&up, report_no, 1);
        assert!(
            page.contains(&format!("于{}前完成整改", zh(due))),
            "{report_no}: the rectification notice does not give {due}:\n{page}"
        );
        let counted_today = page.contains(&format!("本文书的期限按{}送达计算", zh(today)));
        assert_eq!(
            counted_today,
            report_no == "DATES-3",
            "{report_no}:\n{page}"
        );
    }
    // A limit in a year without the State Council's notice in the calendar: the official is told.
    let page = notice_html(&up, "DATES-3", 1);
    let known = support::law_calendar_years();
    let year = chrono::Datelike::year(&from_today);
    assert_eq!(
        page.contains(&format!("{year}年的节假日安排尚未载入工作日历")),
        !known.contains(&year),
        "{page}"
    );

    // The quarterly report counts as ordered (责令整改) the cases whose order was recorded or
    // whose rectification notice was served — DATES-1, DATES-2 and DATES-4 (in its re-test), not
    // DATES-3 — and as overdue only an ordered case past its deadline without a report: DATES-4,
    // and DATES-2 after 22 December.
    wait_rows(
        &up,
        "the notice's service in the lake",
        "SELECT 1 FROM dispositions WHERE report_no = 'DATES-2' AND kind = 'notice_served'",
    );
    let first_row = quarterly_report(dir.path(), "2026Q3");
    let overdue = (1 + u8::from(today > day("2026-12-22"))).to_string();
    assert_eq!(first_row("cases.csv"), ["4", "0", overdue.as_str()]);
    assert_eq!(first_row("rectification_on_time.csv"), ["3", "0", "0", "3"]);

    // Where to sample in 2027Q1: the seller has two cases overdue on 1 January 2027 (DATES-2,
    // due 22 December, and DATES-4, due 16 November), not three — DATES-3's projected
    // 8 December bound nobody.
    let plan = get(&up, "/v1/plan/suggest?quarter=2027Q1", "admin");
    let overdue = overdue_reasons(&plan, SELLER);
    assert_eq!(overdue.len(), 1, "{plan:#}");
    assert!(overdue[0].starts_with("2 个案件整改逾期"), "{plan:#}");
}

/// A notice once served stays on the case, and a later cause calls for a new one of its kind:
/// the interview served for overdue rectification, then a failed re-check.
#[test]
fn a_served_notice_stays_and_a_failed_recheck_calls_for_a_new_interview() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "");
    let mut result = final_result("AGAIN-1");
    result["sampling"]["date"] = json!("2026-09-01");
    result["tested_on"] = json!("2026-09-10");
    result["served_on"] = json!("2026-09-17");
    result["severity"] = json!("general");
    post(&up, "/v1/results", "lab", &result, 202);
    // Ordered with the result, due Monday 16 November; the interview for missing it served on
    // 20 November; the re-check fails on 1 December.
    let events = [
        ("1", "rectification_ordered", "2026-09-17", json!({})),
        (
            "2",
            "notice_served",
            "2026-11-20",
            json!({"outcome": "interview"}),
        ),
        (
            "3",
            "recheck_concluded",
            "2026-12-01",
            json!({"outcome": "fail"}),
        ),
    ];
    for (id, kind, on, extra) in events {
        let d = disposition("AGAIN-1", id, kind, on, extra);
        post(&up, "/v1/dispositions", "admin", &d, 202);
    }
    let case = wait_case(&up, "AGAIN-1", |c| c["status"] == "escalated");
    let interviews: Vec<(usize, &Value)> = case["notices"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, n)| n["kind"] == "interview" && n["to"] == SELLER)
        .map(|(i, n)| (i + 1, n))
        .collect();
    let seen: Vec<(&str, &str)> = interviews
        .iter()
        .map(|(_, n)| (n["status"].as_str().unwrap(), n["due_on"].as_str().unwrap()))
        .collect();
    // Ten days from 17 November, Friday 27 November; from 1 December, Friday 11 December.
    assert_eq!(
        seen,
        [("served", "2026-11-27"), ("proposed", "2026-12-11")],
        "{case:#}"
    );
    // Printed, each gives its own cause.
    wait_rows(
        &up,
        "the escalated case in the lake",
        "SELECT 1 FROM cases WHERE report_no = 'AGAIN-1' AND status = 'escalated'",
    );
    let overdue = notice_html(&up, "AGAIN-1", interviews[0].0);
    assert!(
        overdue.contains("你单位未在整改期限（2026年11月16日）内完成整改"),
        "{overdue}"
    );
    let failed = notice_html(&up, "AGAIN-1", interviews[1].0);
    assert!(failed.contains("复查结论为不合格"), "{failed}");
}

/// Ordered one by one, the shop fails its re-check and the producer lets its deadline pass:
/// each is called to an interview, and each printed notice gives that unit's own cause, not
/// the case's (escalated by the shop's failure).
#[test]
fn each_units_interview_gives_its_own_cause() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "");
    let producer = uscc("120113", 31);
    let mut result = final_result("OWN-CAUSE-1");
    result["producer"] = json!({"uscc": producer, "name": "天津某某燃气具有限公司"});
    result["sampling"]["date"] = json!("2026-08-01");
    result["tested_on"] = json!("2026-08-10");
    result["served_on"] = json!("2026-08-12");
    result["severity"] = json!("general");
    post(&up, "/v1/results", "lab", &result, 202);
    // Both served on 1 September: due Monday 2 November.
    let rectification = |to: &str| json!({"outcome": "rectification", "uscc": to});
    let events = [
        ("1", "notice_served", "2026-09-01", rectification(SELLER)),
        ("2", "notice_served", "2026-09-01", rectification(&producer)),
        (
            "3",
            "rectification_reported",
            "2026-10-20",
            json!({"uscc": SELLER}),
        ),
        (
            "4",
            "recheck_concluded",
            "2026-10-26",
            json!({"outcome": "fail", "uscc": SELLER}),
        ),
    ];
    for (id, kind, on, extra) in events {
        let d = disposition("OWN-CAUSE-1", id, kind, on, extra);
        post(&up, "/v1/dispositions", "admin", &d, 202);
    }
    let case = wait_case(&up, "OWN-CAUSE-1", |c| c["status"] == "escalated");
    let interview_of = |to: &str| {
        case["notices"]
            .as_array()
            .unwrap()
            .iter()
            .position(|n| n["kind"] == "interview" && n["to"] == to)
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("no interview to {to}: {case:#}"))
    };
    let (shop, producer) = (interview_of(SELLER), interview_of(&producer));
    wait_rows(
        &up,
        "the escalated case in the lake",
        "SELECT 1 FROM cases WHERE report_no = 'OWN-CAUSE-1' AND status = 'escalated'",
    );
    let failed = notice_html(&up, "OWN-CAUSE-1", shop);
    assert!(failed.contains("复查结论为不合格"), "{failed}");
    let overdue = notice_html(&up, "OWN-CAUSE-1", producer);
    assert!(
        overdue.contains("你单位未在整改期限（2026年11月2日）内完成整改"),
        "{overdue}"
    );
}

/// The kinds of notice a case proposes, each once.
/// The re-test upholds the failure on one item and finds the other conforming (复检合格): the
/// disclosures already published are corrected to the item that stands, and the notices and the
/// bulletin list that item alone, while the case page still shows the cleared one as cleared. A
/// re-test recorded as upholding yet clearing every item is not final: nothing is disclosed, and
/// the case says what to correct. A cleared item on an overturned re-test is refused.
#[test]
fn a_retest_clearing_one_item_leaves_it_out_of_disclosures_notices_and_bulletin() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "[traceback.periods]\nobjection_days = 0\n");
    let two_items = |report_no: &str| {
        let mut result = final_result(report_no);
        result["items"] = json!([
            {"name": "熄火保护装置", "required": "≤60 s", "measured": "75 s", "verdict": "fail"},
            {"name": "燃气导管（连接）", "required": "专用燃气导管", "measured": "普通胶管",
             "verdict": "fail"},
            {"name": "标志", "verdict": "pass"}]);
        result
    };
    post(&up, "/v1/results", "lab", &two_items("PARTIAL-1"), 202);
    post(&up, "/v1/results", "lab", &two_items("PARTIAL-2"), 202);
    let names = |d: &Value| -> Vec<String> {
        d["failed_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    wait_feed(&up, "both items disclosed", |items| {
        items.len() >= 4 && items.iter().all(|d| names(d).len() == 2)
    });

    // Refused: a cleared item belongs to an upheld re-test.
    let overturned = disposition(
        "PARTIAL-1",
        "R-0",
        "retest_concluded",
        &days_ago(3),
        json!({"outcome": "overturned", "cleared_items": ["熄火保护装置"]}),
    );
    let answer = post(&up, "/v1/dispositions", "admin", &overturned, 422);
    assert_eq!(answer["errors"][0]["field"], "cleared_items", "{answer}");

    // The objection was in time (the day of service); the official writes the item as the
    // report's table has it, with half-width brackets.
    let retest = |report_no: &str, cleared: Value| {
        for (id, kind, on, extra) in [
            ("O", "objection_filed", days_ago(12), json!({})),
            (
                "R",
                "retest_concluded",
                days_ago(3),
                json!({"outcome": "upheld", "cleared_items": cleared}),
            ),
        ] {
            let id = format!("{report_no}-{id}");
            let d = disposition(report_no, &id, kind, &on, extra);
            post(&up, "/v1/dispositions", "admin", &d, 202);
        }
    };
    retest("PARTIAL-1", json!(["燃气导管(连接)"]));
    retest("PARTIAL-2", json!(["熄火保护装置", "燃气导管（连接）"]));
    let items = wait_feed(&up, "one item left, the contradiction withdrawn", |items| {
        let now = standing_feed(items);
        let corrected = now
            .values()
            .filter(|d| d["report_no"] == "PARTIAL-1")
            .all(|d| d["action"] == "publish" && names(d) == ["熄火保护装置"]);
        let withdrawn = now
            .values()
            .filter(|d| d["report_no"] == "PARTIAL-2")
            .all(|d| d["action"] == "retract");
        corrected && withdrawn
    });
    let now = standing_feed(&items);
    for role in ["seller", "producer"] {
        let corrected = of_report(&now, "PARTIAL-1", role);
        assert_eq!(corrected["final_on"], days_ago(3), "{corrected}");
        assert_eq!(corrected["reason"], "corrected", "{corrected}");
    }
    // Final before the objection too: wait for the revision with the re-test's conclusion.
    let case = wait_case(&up, "PARTIAL-1", |c| {
        c["status"] == "final" && c["facts"]["cleared_items"] != Value::Null
    });
    assert_eq!(case["facts"]["cleared_items"], json!(["燃气导管（连接）"]));
    // The objection alone already makes it `retest` and withdraws the disclosures: wait for the
    // revision that applied the re-test's conclusion too.
    let says_contradiction = |c: &Value| {
        c["gaps_zh"].as_array().is_some_and(|gaps| {
            gaps.iter().any(|g| {
                g.as_str()
                    .unwrap_or_default()
                    .contains("已包括全部不合格项目")
            })
        })
    };
    let contradicted = wait_case(&up, "PARTIAL-2", |c| says_contradiction(c));
    assert_eq!(contradicted["status"], "retest", "{contradicted:#}");

    // The rectification notice orders the item that stands; the case page shows both.
    wait_rows(
        &up,
        "the cleared item in the lake",
        "SELECT 1 FROM cases WHERE report_no = 'PARTIAL-1' AND cleared_items LIKE '%燃气导管%'",
    );
    let notice = rectification_notice_html(&up, &case, "PARTIAL-1");
    assert!(notice.contains("熄火保护装置"), "{notice}");
    assert!(!notice.contains("燃气导管"), "{notice}");
    let case_id = spotcheck_schemas::case_id("dev-lab", "PARTIAL-1");
    let page = case_page(&up, &case_id, |page| page.contains("经复检合格"));
    assert!(
        page.contains("燃气导管（连接）（经复检合格，不再列为不合格项目）"),
        "{page}"
    );
    // The lab judged the failure serious as a whole: listed supervision is still proposed, and
    // the official is asked whether what stands is still a major hidden danger.
    assert!(
        notice_kinds(&case).contains("listed_supervision"),
        "{case:#}"
    );
    assert!(
        page.contains("挂牌督办仍按原结论提出，送达前请核实其余不合格项目是否仍属重大隐患"),
        "{page}"
    );

    // The quarterly report counts the cleared item as the pass the re-test concluded; PARTIAL-2's
    // contradictory record clears nothing.
    let sampled = chrono::NaiveDate::parse_from_str(&days_ago(20), "%Y-%m-%d").unwrap();
    let first_row = quarterly_report(dir.path(), &quarter_of(sampled));
    assert_eq!(first_row("failing_items.csv")[0], "熄火保护装置");
    let mut items = csv::Reader::from_path(dir.path().join("report/failing_items.csv")).unwrap();
    let failures: BTreeMap<String, String> = items
        .records()
        .map(|row| {
            let row = row.unwrap();
            (row[0].to_owned(), row[2].to_owned())
        })
        .collect();
    assert_eq!(failures["熄火保护装置"], "2", "{failures:?}");
    assert_eq!(failures["燃气导管（连接）"], "1", "{failures:?}");

    // The bulletin publishes the failure on the item that stands; PARTIAL-2 is not final.
    let out = dir.path().join("bulletin");
    let made = std::process::Command::new(support::BIN)
        .args(["bulletin", "--task", "2026Q2-gas", "--data-dir"])
        .arg(dir.path().join("spotcheck"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    use calamine::{Reader, Xlsx, open_workbook};
    let mut book: Xlsx<_> = open_workbook(out.join("bulletin.xlsx")).unwrap();
    let failed = book.worksheet_range("不合格产品").unwrap();
    let rows: Vec<Vec<String>> = failed
        .rows()
        .map(|row| row.iter().map(ToString::to_string).collect())
        .collect();
    let listed: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[13].starts_with("PARTIAL"))
        .collect();
    assert_eq!(listed.len(), 1, "{rows:?}");
    assert_eq!(listed[0][13], "PARTIAL-1");
    assert!(listed[0][11].contains("熄火保护装置"), "{rows:?}");
    assert!(!listed[0][11].contains("燃气导管"), "{rows:?}");
}

/// A lab's sheet rates its failed items as the implementation rules class them (A类 serious, B类
/// general) and names no severity for the whole: the failure is serious, a major hidden danger.
/// When the re-test clears the A类 item, what stands is general: listed supervision is no longer
/// proposed and no official is asked to confirm it; the case page and the notices say each
/// item's class, and analysts find it in `result_items`.
#[test]
fn a_retest_clearing_the_serious_item_ends_the_listed_supervision() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "[traceback.periods]\nobjection_days = 0\n");
    let sheet = format!(
        "报告编号,产品名称,产品类别,抽查领域,受检单位,统一社会信用代码,所在区,标称生产企业,\
         标称生产企业统一社会信用代码,规格型号,生产日期/批号,抽样日期,检验日期,送达日期,检验结论,\
         主要不合格项目\n\
         RATED-1,家用燃气灶具,燃气器具,流通,南开区某某商店,{seller},南开区,某某燃气具有限公司,\
         {producer},JZT-2,20260301,{sampled},{tested},{served},不合格,\
         \"熄火保护装置（A类，标准值：≤60 s，实测值：75 s）；燃气导管（B类不合格）\"\n",
        seller = support::flows::SELLER,
        producer = "91350100M000100Y43",
        sampled = days_ago(20),
        tested = days_ago(14),
        served = days_ago(12),
    );
    let response = client()
        .post(up.url("/v1/results"))
        .bearer_auth(up.token("lab"))
        .header("content-type", "text/csv")
        .body(sheet)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().unwrap();
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        answer["accepted"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );

    // Serious by its A类 item: listed supervision proposed once the failure is final.
    let case = wait_case(&up, "RATED-1", |c| c["status"] == "final");
    assert!(
        notice_kinds(&case).contains("listed_supervision"),
        "{case:#}"
    );
    wait_rows(
        &up,
        "the items' classes in the lake",
        "SELECT 1 FROM result_items WHERE report_no = 'RATED-1' \
         AND item_name = '熄火保护装置' AND severity = 'serious'",
    );
    let rows = support::flows::up_sql(
        &up,
        "SELECT r.severity AS result, i.severity AS item FROM results r JOIN result_items i \
         ON r.report_no = i.report_no WHERE r.report_no = 'RATED-1' ORDER BY i.item_no",
    );
    assert_eq!(
        rows,
        [
            json!({"result": "serious", "item": "serious"}),
            json!({"result": "serious", "item": "general"})
        ]
    );

    // The re-test clears the A类 item; the B类 one stands.
    for (id, kind, on, extra) in [
        ("O", "objection_filed", days_ago(12), json!({})),
        (
            "R",
            "retest_concluded",
            days_ago(3),
            json!({"outcome": "upheld", "cleared_items": ["熄火保护装置"]}),
        ),
    ] {
        let d = disposition("RATED-1", &format!("RATED-1-{id}"), kind, &on, extra);
        post(&up, "/v1/dispositions", "admin", &d, 202);
    }
    let case = wait_case(&up, "RATED-1", |c| {
        c["facts"]["cleared_items"] == json!(["熄火保护装置"])
    });
    assert_eq!(case["status"], "final", "{case:#}");
    assert!(
        !notice_kinds(&case).contains("listed_supervision"),
        "what stands is general: {case:#}"
    );
    assert!(
        !case["gaps"].to_string().contains("listed supervision"),
        "{case:#}"
    );
    let case_id = spotcheck_schemas::case_id("dev-lab", "RATED-1");
    let page = case_page(&up, &case_id, |page| page.contains("经复检合格"));
    assert!(
        page.contains("<td>燃气导管</td><td>一般</td>"),
        "the class beside the item: {page}"
    );
    assert!(!page.contains("挂牌督办仍按原结论提出"), "{page}");
    let notice = rectification_notice_html(&up, &case, "RATED-1");
    assert!(notice.contains("燃气导管（一般）"), "{notice}");
    assert!(!notice.contains("熄火保护装置"), "{notice}");
}

/// An official records the re-test as overturned by mistake: the disclosures are retracted.
/// The record is withdrawn (a `withdrawn` record naming it) and the right one posted under a new
/// id: the failure is final again from the re-test, and published again under the same ids. A
/// withdrawal naming no record of the case withdraws nothing, and the case says so.
#[test]
fn a_record_withdrawn_as_mistaken_no_longer_counts() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "[traceback.periods]\nobjection_days = 0\n");
    post(&up, "/v1/results", "lab", &final_result("MISTAKE-1"), 202);
    let of_mistake = |items: &[Value], action: &str| {
        let now = standing_feed(items);
        let ours: Vec<&Value> = now
            .values()
            .filter(|d| d["report_no"] == "MISTAKE-1")
            .collect();
        ours.len() == 2 && ours.iter().all(|d| d["action"] == action)
    };
    wait_feed(&up, "published", |items| of_mistake(items, "publish"));

    let record = |id: &str, kind: &str, on: String, extra: Value| {
        let d = disposition("MISTAKE-1", id, kind, &on, extra);
        post(&up, "/v1/dispositions", "admin", &d, 202)["accepted"][0].clone()
    };
    record("M-O", "objection_filed", days_ago(12), json!({}));
    record(
        "M-R1",
        "retest_concluded",
        days_ago(3),
        json!({"outcome": "overturned"}),
    );
    wait_feed(&up, "retracted by the mistake", |items| {
        of_mistake(items, "retract")
    });

    let accepted = record(
        "M-W1",
        "withdrawn",
        days_ago(1),
        json!({"withdraws": "M-R1"}),
    );
    assert!(accepted.get("warnings").is_none(), "{accepted}");
    record(
        "M-R2",
        "retest_concluded",
        days_ago(3),
        json!({"outcome": "upheld"}),
    );
    let items = wait_feed(&up, "published again", |items| of_mistake(items, "publish"));
    let now = standing_feed(&items);
    for role in ["seller", "producer"] {
        let again = of_report(&now, "MISTAKE-1", role);
        assert_eq!(again["final_on"], days_ago(3), "{again}");
        assert_eq!(again["revision"], 3, "{again}");
    }
    let said = |case: &Value, text: &str| {
        case["gaps_zh"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g.as_str().unwrap().contains(text))
    };
    let case = wait_case(&up, "MISTAKE-1", |c| c["status"] == "final");
    assert!(!said(&case, "撤回"), "{case:#}");

    // Said at once to the official who posts it, and on the case.
    let accepted = record(
        "M-W2",
        "withdrawn",
        days_ago(0),
        json!({"withdraws": "M-R9"}),
    );
    assert_eq!(
        accepted["warnings"][0]["kind"], "no_such_record",
        "{accepted}"
    );
    assert!(
        accepted["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nothing is withdrawn"),
        "{accepted}"
    );
    let case = wait_case(&up, "MISTAKE-1", |c| said(c, "M-R9"));
    assert_eq!(case["status"], "final");
    assert!(said(&case, "未撤回任何记录"), "{case:#}");
    // Analysts and the reports count the same records.
    wait_rows(
        &up,
        "the withdrawals in the lake",
        "SELECT 1 FROM dispositions WHERE report_no = 'MISTAKE-1' HAVING count(*) = 5",
    );
    let standing: Vec<Value> = support::flows::up_sql(
        &up,
        "SELECT disposition_id FROM standing_dispositions WHERE report_no = 'MISTAKE-1' \
         ORDER BY disposition_id",
    )
    .iter()
    .map(|row| row["disposition_id"].clone())
    .collect();
    assert_eq!(standing, [json!("M-O"), json!("M-R2")]);
}

fn notice_kinds(case: &Value) -> BTreeSet<&str> {
    case["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect()
}

fn day(text: &str) -> chrono::NaiveDate {
    text.parse().unwrap()
}

/// The printable page of a case's `n`-th notice.
/// A `503` (the case is in the lake, its result not yet) is retried, as its `Retry-After` asks.
/// Writes the quarterly report of `quarter` (`2026Q3`) with `spotcheck report` and returns a
/// reader of the first row of each of its CSV files.
fn quarterly_report(dir: &std::path::Path, quarter: &str) -> impl Fn(&str) -> Vec<String> + use<> {
    let out = dir.join("report");
    let made = std::process::Command::new(support::BIN)
        .args(["report", "--quarter", quarter, "--data-dir"])
        .arg(dir.join("spotcheck"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    move |file: &str| -> Vec<String> {
        let mut reader = csv::Reader::from_path(out.join(file)).unwrap();
        let row = reader.records().next().unwrap().unwrap();
        row.iter().map(str::to_owned).collect()
    }
}

/// The quarter of `day`, as `2026Q3`.
fn quarter_of(day: chrono::NaiveDate) -> String {
    format!(
        "{}Q{}",
        chrono::Datelike::year(&day),
        chrono::Datelike::month0(&day) / 3 + 1
    )
}

/// The where-to-sample reasons of `uscc` that say its cases are overdue.
fn overdue_reasons(plan: &Value, uscc: &str) -> Vec<String> {
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["uscc"] == uscc)
        .unwrap_or_else(|| panic!("{uscc} is not in the plan: {plan:#}"))["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|reason| reason.contains("整改逾期"))
        .map(str::to_owned)
        .collect()
}

/// Waits (up to a minute) until `sql` answers with a row: the lake has what the test needs.
fn wait_rows(up: &Up, what: &str, sql: &str) {
    support::flows::wait_until(what, || !support::flows::up_sql(up, sql).is_empty());
}

/// The page of the case's rectification notice (整改通知书).
fn rectification_notice_html(up: &Up, case: &Value, report_no: &str) -> String {
    let n = 1 + case["notices"]
        .as_array()
        .unwrap()
        .iter()
        .position(|n| n["kind"] == "rectification")
        .unwrap();
    notice_html(up, report_no, n)
}

fn notice_html(up: &Up, report_no: &str, n: usize) -> String {
    let case_id = spotcheck_schemas::case_id("dev-lab", report_no);
    let mut page = None;
    support::flows::wait_until("the notice's result in the lake", || {
        let response = client()
            .get(up.url(&format!("/v1/cases/{case_id}/notices/{n}.html")))
            .bearer_auth(up.token("admin"))
            .send()
            .unwrap();
        let status = response.status().as_u16();
        if status == 503 {
            return false;
        }
        assert_eq!(status, 200, "{report_no}");
        page = response.text().ok();
        true
    });
    page.unwrap_or_default()
}

#[test]
fn the_identification_queue_drains_when_the_registry_fills() {
    const N: u32 = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "[traceback.periods]\nobjection_days = 0\n");
    let name = |i: u32| format!("天津市第{i}号五金经营部");
    let results: Vec<Value> = (0..N)
        .map(|i| {
            let mut result = final_result(&format!("QUEUE-{i}"));
            result["sampled_unit"] =
                json!({"name": name(i), "district": "120104", "role": "retailer"});
            result
        })
        .collect();
    let answer = post_ndjson(&up, "/v1/results", "lab", &results);
    assert_eq!(answer["accepted"].as_array().unwrap().len(), N as usize);
    let queue =
        support::flows::poll_json(&up.url("/v1/identifications"), &up.token("admin"), |q| {
            q["waiting_cases"] == N
        });
    assert_eq!(queue["items"].as_array().unwrap().len(), N as usize);

    let registered = Instant::now();
    for i in 0..N {
        put_unit(
            &up,
            &json!({"uscc": uscc("120104", 10_000 + i), "name": name(i).replace("天津市", "天津"),
                    "district": "120104", "roles": ["retailer"], "licences": []}),
        );
    }
    let put_took = registered.elapsed();
    let items = wait_feed(&up, "every seller disclosed", |items| {
        items
            .iter()
            .filter(|d| d["subject_role"] == "seller")
            .count()
            == N as usize
    });
    let drained = registered.elapsed();
    let queue = get(&up, "/v1/identifications", "admin");
    assert_eq!(queue["waiting_cases"], 0);
    let sellers: std::collections::BTreeSet<&str> = items
        .iter()
        .filter(|d| d["subject_role"] == "seller")
        .map(|d| d["subject"]["uscc"].as_str().unwrap())
        .collect();
    assert_eq!(sellers.len(), N as usize, "each case under its own unit");
    println!(
        "{N} units registered in {:.1} s; every case identified and disclosed {:.1} s after the first registration",
        put_took.as_secs_f64(),
        drained.as_secs_f64()
    );
}

/// The work list page as an admin sees it.
fn todo_html(up: &Up, query: &str) -> String {
    get_text(up, &format!("/ui/todo{query}"), "admin")
}

/// The rows of the work list (`/ui/todo`) as the official reads them: each row's cells, tags
/// stripped. Waits until `ready` holds for them (the lake follows the cases within seconds).
fn todo_rows(up: &Up, query: &str, ready: impl Fn(&[Vec<String>]) -> bool) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    support::flows::wait_until("the work list", || {
        let response = client()
            .get(up.url(&format!("/ui/todo{query}")))
            .bearer_auth(up.token("analyst"))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        let page = response.text().unwrap();
        let table = page.split("<table id=\"todo\">").nth(1).unwrap_or_default();
        let table = table.split("</table>").next().unwrap_or_default();
        let text = |cell: &str| {
            let mut out = String::new();
            let mut in_tag = false;
            for c in cell.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => out.push(c),
                    _ => {}
                }
            }
            out.trim().to_owned()
        };
        rows = table
            .split("<tr")
            .skip(2)
            .map(|row| row.split("<td>").skip(1).map(text).collect())
            .collect();
        ready(&rows)
    });
    rows
}

/// The work list shows what each case asks of the bureau now, earliest time limit first: the
/// notice not served yet and the stop of sale not ordered yet of a case just final, the re-check
/// of a case under rectification — and nothing of what was recorded done.
#[test]
fn the_work_list_shows_what_is_due_earliest_first_and_not_what_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path(), "[traceback.periods]\nobjection_days = 0\n");
    let mut waiting = final_result("TODO-NEW");
    waiting["severity"] = json!("general");
    post(&up, "/v1/results", "lab", &waiting, 202);
    let mut ordered = final_result("TODO-ORDERED");
    ordered["severity"] = json!("general");
    ordered["sampled_unit"]["uscc"] = json!(uscc("120105", 31));
    ordered["sampled_unit"]["district"] = json!("120105");
    ordered["sampled_unit"]["name"] = json!("河北区某某五金店");
    post(&up, "/v1/results", "lab", &ordered, 202);
    // A shop the lab named without its credit code: nothing is served to it until identified.
    let mut unnamed = final_result("TODO-UNNAMED");
    unnamed["severity"] = json!("general");
    unnamed["sampled_unit"]["uscc"] = Value::Null;
    unnamed["sampled_unit"]["name"] = json!("南开区无码日杂店");
    unnamed["sampled_unit"]["address"] = json!("天津市南开区某路9号");
    post(&up, "/v1/results", "lab", &unnamed, 202);
    // A shop whose district no record gives: in no district's list, which says so.
    let mut nowhere = final_result("TODO-NOWHERE");
    nowhere["severity"] = json!("general");
    nowhere["sampled_unit"]["uscc"] = json!(uscc("120000", 41));
    nowhere["sampled_unit"]["name"] = json!("某无址商店");
    nowhere["sampled_unit"]
        .as_object_mut()
        .unwrap()
        .remove("district");
    post(&up, "/v1/results", "lab", &nowhere, 202);
    // The rectification notice served: it orders the stop of sale too (its first clause), so
    // neither is left to do, though no `stop_ordered` is recorded.
    let served = days_ago(5);
    let d = disposition(
        "TODO-ORDERED",
        "TODO-N",
        "notice_served",
        &served,
        json!({"outcome": "rectification"}),
    );
    post(&up, "/v1/dispositions", "admin", &d, 202);
    let case = wait_case(&up, "TODO-ORDERED", |c| c["status"] == "rectifying");
    let recheck_by = case["deadlines"]["recheck_by"].as_str().unwrap().to_owned();
    let date_zh = |text: &str| spotcheck_schemas::days::date_zh(day(text));

    let rows = todo_rows(&up, "", |rows| {
        rows.iter().any(|r| r[4] == "TODO-ORDERED") && rows.iter().any(|r| r[4] == "TODO-NEW")
    });
    let of = |report_no: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r[4] == report_no)
            .map(|r| r[1].clone())
            .collect()
    };
    assert_eq!(of("TODO-ORDERED"), ["组织复查"], "{rows:?}");
    let recheck = rows.iter().find(|r| r[4] == "TODO-ORDERED").unwrap();
    assert_eq!(recheck[0], date_zh(&recheck_by));
    assert_eq!(
        recheck[2],
        format!("河北区某某五金店 {}", uscc("120105", 31))
    );
    let new = of("TODO-NEW");
    assert!(new.contains(&"送达整改通知书".to_owned()), "{rows:?}");
    assert!(new.contains(&"责令停止生产销售".to_owned()), "{rows:?}");
    // Earliest first: the stop of sale is due at once, the re-check in seventy-five days.
    let position = |what: &str| rows.iter().position(|r| r[1] == what).unwrap();
    assert!(
        position("责令停止生产销售") < position("组织复查"),
        "{rows:?}"
    );
    // Due on the day the failure became final, days ago: marked as past; the re-check is not.
    let stop = &rows[position("责令停止生产销售")][0];
    let final_on = wait_case(&up, "TODO-NEW", |c| c["status"] == "final")["deadlines"]["final_on"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(stop, &format!("{}（已过期限）", date_zh(&final_on)));

    // One district's work: the re-check of the unit in 河北区 only.
    let hebei = todo_rows(&up, "?district=120105", |rows| !rows.is_empty());
    assert!(hebei.iter().all(|r| r[3] == "河北区"), "{hebei:?}");
    assert!(hebei.iter().any(|r| r[1] == "组织复查"), "{hebei:?}");
    // A sampled unit not identified yet: its case's tasks are the district's where it was
    // sampled, in the district's list as in the whole.
    let unnamed = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
        rows.iter()
            .filter(|r| r[4] == "TODO-UNNAMED")
            .cloned()
            .collect()
    };
    let all = todo_rows(&up, "", |rows| !unnamed(rows).is_empty());
    assert!(unnamed(&all).iter().all(|r| r[3] == "南开区"), "{all:?}");
    let nankai_tasks = todo_rows(&up, "?district=120104", |rows| !unnamed(rows).is_empty());
    assert_eq!(unnamed(&nankai_tasks), unnamed(&all), "{nankai_tasks:?}");
    let all = todo_rows(&up, "", |rows| rows.iter().any(|r| r[4] == "TODO-NOWHERE"));
    let nowhere: Vec<&Vec<String>> = all.iter().filter(|r| r[3] == "未注明").collect();
    assert!(
        !nowhere.is_empty() && nowhere.iter().all(|r| r[4] == "TODO-NOWHERE"),
        "{all:?}"
    );
    let page = todo_html(&up, "?district=120104");
    assert!(
        page.contains(&format!("另有 {} 项的对象未注明所在区", nowhere.len())),
        "{page}"
    );

    // Below the tasks, the parties waiting for identification, in the district sampled.
    let waiting = |query: &str| -> String {
        let page = todo_html(&up, query);
        page.split("<table id=\"identifications\">")
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    let mut nankai = String::new();
    support::flows::wait_until("the unnamed shop in the work list", || {
        nankai = waiting("?district=120104");
        nankai.contains("南开区无码日杂店")
    });
    assert!(
        nankai.contains("<td>南开区无码日杂店</td><td>销售者</td><td>南开区</td><td>天津市南开区某路9号</td><td>1</td>"),
        "{nankai}"
    );
    assert!(nankai.contains("TODO-UNNAMED"), "{nankai}");
    assert!(!waiting("?district=120105").contains("南开区无码日杂店"));
    let bad = client()
        .get(up.url("/ui/todo?district=nankai"))
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
    let lab = client()
        .get(up.url("/ui/todo"))
        .bearer_auth(up.token("lab"))
        .send()
        .unwrap();
    assert_eq!(lab.status(), 403);
}

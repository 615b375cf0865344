//! The bidirectional traceback on `spotcheck up`: a failing batch at one retailer of a 4-level
//! tree finds the producer upstream and every receiver downstream, refers the out-of-province
//! receiver, and a late shipment revises the case within seconds. Read back over
//! `GET /v1/cases` and, independently, from `spotcheck.cases.v1`.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::Up;
use support::flows::uscc;

struct Tree {
    producer: String,
    d1: String,
    d2: String,
    retailers: Vec<String>,
    outside: String,
}

fn tree() -> Tree {
    Tree {
        producer: uscc("120116", 1),
        d1: uscc("120101", 2),
        d2: uscc("120102", 3),
        retailers: (0..5).map(|i| uscc("120104", 10 + i)).collect(),
        outside: uscc("440305", 99),
    }
}

fn shipment(id: &str, from: &str, to: &str, quantity: u32) -> Value {
    json!({
        "shipment_id": id, "category": "e_bike",
        "product": {"producer_name": "津电动车制造有限公司", "model": "TDR-1", "batch": "B2026-03"},
        "from": {"uscc": from, "name": format!("单位{}", &from[10..])},
        "to": {"uscc": to, "name": format!("单位{}", &to[10..])},
        "quantity": quantity, "unit": "pcs", "shipped_on": "2026-03-10"
    })
}

fn days_ago(days: u64) -> chrono::NaiveDate {
    spotcheck_schemas::days::today() - chrono::Days::new(days)
}

/// A failing result at `at`, tested 14 days ago and served 12 days ago.
fn failing_result(tree: &Tree, report_no: &str, at: &str) -> Value {
    json!({
        "report_no": report_no, "lab_id": "dev-lab", "category": "e_bike",
        "product": {"name": "电动自行车", "model": "TDR-1", "batch": "B2026-03"},
        "producer": {"uscc": tree.producer, "name": "津电动车制造有限公司"},
        "sampled_unit": {"uscc": at, "name": "南开区某车行", "district": "120104", "role": "retailer"},
        "sampling": {"date": days_ago(20), "domain": "circulation"},
        "tested_on": days_ago(14), "served_on": days_ago(12),
        "items": [{"name": "最高车速", "required": "≤25 km/h", "measured": "31 km/h", "verdict": "fail"}],
        "verdict": "fail", "severity": "general"
    })
}

fn post(up: &Up, route: &str, role: &str, body: String, content_type: &str) -> Value {
    let response = reqwest::blocking::Client::new()
        .post(up.url(route))
        .bearer_auth(up.token(role))
        .header("content-type", content_type)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 202, "{route}");
    response.json().unwrap()
}

/// The case of `report_no`, once it has at least `revision`.
fn wait_for_case(up: &Up, sampled_at: &str, revision: u64) -> (Value, Duration) {
    let started = Instant::now();
    loop {
        let listed: Value = reqwest::blocking::Client::new()
            .get(up.url(&format!("/v1/cases?uscc={sampled_at}")))
            .bearer_auth(up.token("analyst"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if let Some(case) = listed["items"].as_array().and_then(|items| items.first())
            && case["revision"].as_u64() >= Some(revision)
        {
            return (case.clone(), started.elapsed());
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no revision {revision}: {listed}\n{}",
            up.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn unit<'a>(case: &'a Value, uscc: &str) -> &'a Value {
    case["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["uscc"] == uscc)
        .unwrap_or_else(|| panic!("{uscc} is not in the case: {case:#}"))
}

#[test]
fn a_failing_batch_is_traced_both_ways_and_a_late_shipment_revises_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(&dir.path().join("spotcheck"));
    let t = tree();
    let [r1, r2, r3, r4, r5] = [0, 1, 2, 3, 4].map(|i| t.retailers[i].clone());
    let edges = [
        ("S1", &t.producer, &t.d1, 300),
        ("S2", &t.producer, &t.d2, 200),
        ("S3", &t.d1, &r1, 100),
        ("S4", &t.d1, &r2, 100),
        ("S5", &t.d1, &r3, 50),
        ("S6", &t.d2, &r3, 30),
        ("S7", &t.d2, &r4, 60),
        ("S8", &t.d2, &r5, 60),
        ("S9", &t.d2, &t.outside, 50),
    ];
    let ndjson: String = edges
        .iter()
        .map(|(id, from, to, q)| format!("{}\n", shipment(id, from, to, *q)))
        .collect();
    let answer = post(
        &up,
        "/v1/shipments",
        "ledger",
        ndjson,
        "application/x-ndjson",
    );
    assert_eq!(answer["accepted"].as_array().unwrap().len(), 9, "{answer}");

    let result = failing_result(&t, "TJ-TRACE-1", &r3);
    post(
        &up,
        "/v1/results",
        "lab",
        result.to_string(),
        "application/json",
    );
    let (case, _) = wait_for_case(&up, &r3, 1);
    assert_eq!(case["revision"], 1);
    assert_eq!(case["status"], "open");
    let objection_until = support::law_period_end(days_ago(12), 15);
    assert_eq!(
        case["deadlines"]["objection_until"],
        objection_until.to_string()
    );
    assert_eq!(unit(&case, &r3)["direction"], "origin");
    assert_eq!(unit(&case, &r3)["quantity_received"], 80.0);
    for (uscc, hops) in [(&t.d1, 1), (&t.d2, 1), (&t.producer, 2)] {
        let u = unit(&case, uscc);
        assert_eq!(
            (u["direction"].as_str(), u["hops"].as_u64()),
            (Some("upstream"), Some(hops))
        );
    }
    for (uscc, quantity) in [
        (&r1, 100.0),
        (&r2, 100.0),
        (&r4, 60.0),
        (&r5, 60.0),
        (&t.outside, 50.0),
    ] {
        let u = unit(&case, uscc);
        assert_eq!(u["direction"], "downstream", "{uscc}");
        assert_eq!(u["hops"], 2, "{uscc}");
        assert_eq!(u["quantity_received"], quantity, "{uscc}");
    }
    assert_eq!(case["units"].as_array().unwrap().len(), 9);
    assert_eq!(unit(&case, &t.outside)["in_region"], false);
    assert_eq!(unit(&case, &r1)["in_region"], true);
    let referrals = case["referrals"].as_array().unwrap();
    assert_eq!(referrals.len(), 1, "{referrals:?}");
    assert_eq!(referrals[0]["uscc"], t.outside.as_str());
    assert_eq!(referrals[0]["region"], "440000");

    // A late shipment of the flagged batch: revision 2 with the new receiver.
    let r6 = uscc("120105", 42);
    let late = shipment("S10", &t.d1, &r6, 20).to_string();
    post(&up, "/v1/shipments", "ledger", late, "application/json");
    let (case, waited) = wait_for_case(&up, &r3, 2);
    assert_eq!(case["revision"], 2);
    assert_eq!(unit(&case, &r6)["direction"], "downstream");
    assert_eq!(unit(&case, &r6)["quantity_received"], 20.0);
    eprintln!("late shipment to revision 2: {} ms", waited.as_millis());

    // A registration naming a receiver revises it again.
    let named = reqwest::blocking::Client::new()
        .put(up.url(&format!("/v1/units/{r6}")))
        .bearer_auth(up.token("admin"))
        .json(&json!({"name": "河北区某电动车店", "district": "120105", "roles": ["retailer"]}))
        .send()
        .unwrap();
    assert_eq!(named.status(), 200);
    let (case, _) = wait_for_case(&up, &r3, 3);
    assert_eq!(unit(&case, &r6)["name"], "河北区某电动车店");
    assert_eq!(unit(&case, &r6)["role"], "retailer");

    // An independent consumer sees each revision once on the topic, keyed by case.
    let on_topic: Vec<_> = support::read_topic(&up.brokers(), "spotcheck.cases.v1");
    let revisions: Vec<u64> = on_topic
        .iter()
        .map(|r| r.value["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revisions, [1, 2, 3]);
    assert!(
        on_topic
            .iter()
            .all(|r| r.key == case["case_id"].as_str().unwrap())
    );
    assert_eq!(on_topic[2].headers["ce_type"], "cn.spotcheck.case.v1");

    // Cases by status, and one case by id; a lab may not read them.
    let client = reqwest::blocking::Client::new();
    let by_id = client
        .get(up.url(&format!("/v1/cases/{}", case["case_id"].as_str().unwrap())))
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap();
    assert_eq!(by_id.status(), 200);
    assert_eq!(by_id.json::<Value>().unwrap()["revision"], 3);
    let closed: Value = client
        .get(up.url("/v1/cases?status=closed"))
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(closed["items"], json!([]));
    // A status that is none of a case's is a mistake to be told, not an empty list.
    let misspelt = client
        .get(up.url("/v1/cases?status=clossed"))
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap();
    assert_eq!(misspelt.status(), 400);
    let told = misspelt.text().unwrap();
    assert!(
        told.contains("clossed") && told.contains("closed"),
        "{told}"
    );
    let lab = client
        .get(up.url("/v1/cases"))
        .bearer_auth(up.token("lab"))
        .send()
        .unwrap();
    assert_eq!(lab.status(), 403);
    let missing = client
        .get(up.url("/v1/cases/nope"))
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[test]
fn a_final_failure_proposes_rectification_to_every_unit_in_the_region() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("spotcheck");
    std::fs::create_dir_all(&data).unwrap();
    // The dev config, plus an objection window of 0 days: a result served two days ago is final.
    let up = Up::start_configured(&data, "[traceback.periods]\nobjection_days = 0\n", &[]);
    let t = tree();
    let r1 = t.retailers[0].clone();
    let edges = format!(
        "{}\n{}\n{}\n",
        shipment("F1", &t.producer, &t.d1, 10),
        shipment("F2", &t.d1, &r1, 5),
        shipment("F3", &t.d1, &t.outside, 5)
    );
    post(
        &up,
        "/v1/shipments",
        "ledger",
        edges,
        "application/x-ndjson",
    );
    let mut result = failing_result(&t, "TJ-FINAL-1", &r1);
    result["suspected_counterfeit"] = json!(true);
    post(
        &up,
        "/v1/results",
        "lab",
        result.to_string(),
        "application/json",
    );
    let (case, _) = wait_for_case(&up, &r1, 1);
    assert_eq!(case["status"], "final", "{case:#}");
    let final_on = support::final_on_after(12);
    assert_eq!(case["deadlines"]["final_on"], final_on.to_string());
    let rectify_by = support::law_period_end(final_on, 60);
    assert_eq!(case["deadlines"]["rectify_by"], rectify_by.to_string());
    let notices = case["notices"].as_array().unwrap();
    let to: Vec<&str> = notices.iter().map(|n| n["to"].as_str().unwrap()).collect();
    // The sampled retailer and the distributor; not the referred counterfeit producer, not the
    // unit in another province.
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(to.contains(&r1.as_str()) && to.contains(&t.d1.as_str()));
    assert!(
        notices
            .iter()
            .all(|n| n["kind"] == "rectification" && n["status"] == "proposed")
    );
    let referred: Vec<&str> = case["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uscc"].as_str().unwrap())
        .collect();
    assert!(referred.contains(&t.producer.as_str()) && referred.contains(&t.outside.as_str()));
}

//! On-site inspections (现场检查) open cases as failed samples do, through `spotcheck up`: a major
//! hidden danger is put under listed supervision (挂牌督办) the same day and its batch traced both
//! ways; a "三无" product on a shelf is traced to the supplier the shop's purchase records name;
//! a refusal of inspection is answered with a warning, and a refusal after it with suspension
//! (PQL Art 56). The findings land in the lake and in the units' credit archives.

mod support;

use serde_json::{Value, json};
use spotcheck_schemas::case_id;

use support::Up;
use support::flows::{days_ago, poll_json, up_sql as sql, uscc, wait_until};

fn post(up: &Up, route: &str, role: &str, body: &Value) -> Value {
    let response = reqwest::blocking::Client::new()
        .post(up.url(route))
        .bearer_auth(up.token(role))
        .json(body)
        .send()
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().unwrap();
    assert_eq!(status, 202, "{route}: {answer}");
    answer
}

/// The newest revision of the case once `ready` holds.
fn case(up: &Up, report_no: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let id = case_id("inspection", report_no);
    poll_json(
        &up.url(&format!("/v1/cases/{id}")),
        &up.token("admin"),
        |case| case["case_id"] == id.as_str() && ready(case),
    )
}

fn party(uscc: &str, name: &str, district: &str) -> Value {
    json!({"uscc": uscc, "name": name, "district": district})
}

fn notices_of<'a>(case: &'a Value, kind: &str) -> Vec<&'a Value> {
    case["notices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind)
        .collect()
}

fn step<'a>(case: &'a Value, kind: &str) -> Option<&'a Value> {
    case["steps"].as_array()?.iter().find(|s| s["kind"] == kind)
}

#[test]
fn inspection_findings_open_cases_trace_batch_and_supplier_and_refusals_escalate() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let producer = uscc("120116", 61);
    let distributor = uscc("120104", 62);
    let shop = uscc("120104", 63);
    let receiver = uscc("120105", 64);
    let out_of_region = uscc("130102", 65);
    let product = json!({"producer_uscc": producer, "producer_name": "天津速达车业有限公司",
                         "model": "SD-48V", "batch": "2026-07"});
    let shipments: Vec<Value> = [
        (
            "IN-S1",
            &producer,
            "天津速达车业有限公司",
            "120116",
            &distributor,
            "南开区永达车行批发部",
            "120104",
            100,
        ),
        (
            "IN-S2",
            &distributor,
            "南开区永达车行批发部",
            "120104",
            &shop,
            "南开区红旗路电动车店",
            "120104",
            20,
        ),
        (
            "IN-S3",
            &distributor,
            "南开区永达车行批发部",
            "120104",
            &receiver,
            "河北区某车行",
            "120105",
            30,
        ),
        (
            "IN-S4",
            &producer,
            "天津速达车业有限公司",
            "120116",
            &out_of_region,
            "石家庄某车行",
            "130102",
            10,
        ),
    ]
    .into_iter()
    .map(
        |(id, from, from_name, from_d, to, to_name, to_d, quantity)| {
            json!({"shipment_id": id, "category": "e_bike", "product": product,
               "from": party(from, from_name, from_d), "to": party(to, to_name, to_d),
               "quantity": quantity, "unit": "辆", "shipped_on": days_ago(40)})
        },
    )
    .collect();
    post(&up, "/v1/shipments", "ledger", &json!(shipments));

    // 1. A major hidden danger in a batch on the shop floor, found today.
    let today = days_ago(0);
    let danger = json!({
        "inspection_id": "JC-2026-0101", "organiser": "天津市南开区市场监督管理局",
        "inspected_on": today, "inspectors": ["王强（执法证 12010001）", "李明（执法证 12010002）"],
        "unit": {"uscc": shop, "name": "南开区红旗路电动车店", "role": "retailer", "district": "120104"},
        "place": "天津市南开区红旗路 12 号店面",
        "findings": [{
            "kind": "major_hidden_danger", "category": "e_bike",
            "description": "在售电动自行车蓄电池私自改装扩容，充电器与蓄电池不匹配",
            "product": {"name": "电动自行车", "model": "SD-48V", "batch": "2026-07"},
            "producer": {"uscc": producer, "name": "天津速达车业有限公司"},
            "quantity": "6 辆", "evidence": ["现场照片 IMG_0412-0418", "现场检查笔录 NK-2026-0101"]
        }]
    });
    let answer = post(&up, "/v1/inspections", "inspector", &danger);
    assert_eq!(answer["accepted"][0]["status"], "accepted", "{answer}");
    let traced = case(&up, "JC-2026-0101/1", |c| {
        c["units"].as_array().is_some_and(|u| u.len() >= 5)
    });
    assert_eq!(traced["inspection"]["kind"], "major_hidden_danger");
    assert_eq!(traced["status"], "final", "no objection window on site");
    assert_eq!(traced["deadlines"]["final_on"], today.as_str());
    assert!(traced["deadlines"]["objection_until"].is_null());
    let listed = notices_of(&traced, "listed_supervision");
    assert!(!listed.is_empty(), "挂牌督办 proposed: {traced:#}");
    for notice in &listed {
        assert_eq!(notice["due_on"], today.as_str(), "at once: {notice}");
    }
    let listed_to: Vec<&str> = listed.iter().map(|n| n["to"].as_str().unwrap()).collect();
    assert!(listed_to.contains(&shop.as_str()) && listed_to.contains(&producer.as_str()));
    let direction_of = |uscc: &str| {
        traced["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["uscc"] == uscc)
            .map(|u| {
                (
                    u["direction"].as_str().unwrap().to_owned(),
                    u["hops"].as_u64().unwrap(),
                )
            })
    };
    assert_eq!(direction_of(&shop), Some(("origin".into(), 0)));
    assert_eq!(direction_of(&distributor), Some(("upstream".into(), 1)));
    assert_eq!(direction_of(&producer), Some(("upstream".into(), 2)));
    assert_eq!(
        direction_of(&receiver).map(|d| d.0),
        Some("downstream".into())
    );
    assert_eq!(
        direction_of(&out_of_region).map(|d| d.0),
        Some("downstream".into())
    );
    assert!(
        traced["referrals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["uscc"] == out_of_region.as_str()),
        "the receiver outside the region is referred: {traced:#}"
    );
    // Every receiver of the batch is told to rectify (stop selling it).
    let rectify_to: Vec<&str> = notices_of(&traced, "rectification")
        .iter()
        .map(|n| n["to"].as_str().unwrap())
        .collect();
    assert!(rectify_to.contains(&receiver.as_str()), "{rectify_to:?}");

    // 2. A 三无 gas cooker on a shelf: no producer on it, the shop's purchase records name the
    // supplier.
    let stall = uscc("120104", 66);
    let wholesaler = uscc("120110", 67);
    let sanwu = json!({
        "inspection_id": "JC-2026-0102", "inspected_on": today,
        "inspectors": ["王强", "李明"],
        "unit": {"uscc": stall, "name": "南开区某日杂店", "role": "retailer", "district": "120104"},
        "findings": [{
            "kind": "sanwu_product", "description": "无厂名、无厂址、无产品合格证",
            "product": {"name": "家用燃气灶"}, "quantity": "4 台",
            "supplier": {"uscc": wholesaler, "name": "东丽区某厨具批发部"},
            "evidence": ["照片 IMG_0501"]
        }]
    });
    post(&up, "/v1/inspections", "inspector", &sanwu);
    let sanwu_case = case(&up, "JC-2026-0102/1", |c| {
        c["units"].as_array().is_some_and(|u| u.len() == 2)
    });
    assert_eq!(
        sanwu_case["category"], "gas_appliance",
        "read from the product's name"
    );
    let supplier = sanwu_case["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["uscc"] == wholesaler.as_str())
        .expect("the supplier is in the case");
    assert_eq!(supplier["direction"], "upstream");
    assert_eq!(supplier["hops"], 1);
    assert_eq!(supplier["name"], "东丽区某厨具批发部");
    let to: Vec<&str> = notices_of(&sanwu_case, "rectification")
        .iter()
        .map(|n| n["to"].as_str().unwrap())
        .collect();
    assert!(
        to.contains(&stall.as_str()) && to.contains(&wholesaler.as_str()),
        "{to:?}"
    );
    let gaps = sanwu_case["gaps"].to_string();
    assert!(
        !gaps.contains("producer's USCC"),
        "no batch to trace: {gaps}"
    );
    assert!(
        sanwu_case["subjects"].as_array().unwrap().len() == 1,
        "no nominal producer to identify: {sanwu_case:#}"
    );

    // 3. A refusal: the warning; a refusal after it: suspension.
    let refuser = uscc("120104", 68);
    let refusal = |id: &str, on: &str| {
        json!({"inspection_id": id, "inspected_on": on, "inspectors": ["赵刚", "孙丽"],
               "unit": {"uscc": refuser, "name": "南开区某烟花爆竹经营部", "role": "retailer", "district": "120104"},
               "findings": [{"kind": "refused_inspection", "description": "拒绝执法人员进入仓库检查",
                             "evidence": ["执法记录仪视频 V-0601"]}]})
    };
    post(
        &up,
        "/v1/inspections",
        "inspector",
        &refusal("JC-2026-0201", &days_ago(20)),
    );
    let report_no = format!("refusal/{refuser}");
    let warned = case(&up, &report_no, |c| step(c, "warning").is_some());
    assert_eq!(warned["status"], "final");
    assert_eq!(
        step(&warned, "warning").unwrap()["due_on"],
        days_ago(20).as_str()
    );
    assert!(step(&warned, "suspension_order").is_none());
    post(
        &up,
        "/v1/dispositions",
        "admin",
        &json!({"disposition_id": "JC-W-1", "lab_id": "inspection", "report_no": report_no,
                "kind": "warning_issued", "on": days_ago(19)}),
    );
    post(
        &up,
        "/v1/inspections",
        "inspector",
        &refusal("JC-2026-0202", &days_ago(5)),
    );
    let suspended = case(&up, &report_no, |c| c["status"] == "suspended");
    assert_eq!(step(&suspended, "warning").unwrap()["status"], "done");
    let order = step(&suspended, "suspension_order").expect("suspension ordered");
    assert_eq!(order["due_on"], days_ago(5).as_str());
    assert_eq!(
        suspended["inspection"]["refusals"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // The lake has every finding; the shop's archive has its inspection and its case.
    wait_until("the inspections in the lake", || {
        sql(&up, "SELECT count(*) AS n FROM inspections")[0]["n"] == 4
    });
    wait_until("the danger's case in the archive", || {
        let events = sql(
            &up,
            &format!("SELECT event, status FROM archive WHERE uscc = '{shop}' ORDER BY event"),
        );
        events
            .iter()
            .any(|e| e["event"] == "inspected" && e["status"] == "major_hidden_danger")
            && events.iter().any(|e| e["event"] == "case")
    });
    let supplied = sql(
        &up,
        &format!("SELECT event, status FROM archive WHERE uscc = '{wholesaler}'"),
    );
    assert!(
        supplied
            .iter()
            .any(|e| e["event"] == "supplied" && e["status"] == "sanwu_product"),
        "{supplied:?}"
    );

    // The case page says what was found, in Chinese.
    let page = reqwest::blocking::Client::new()
        .get(up.url(&format!(
            "/ui/cases/{}",
            case_id("inspection", "JC-2026-0101/1")
        )))
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    for expected in [
        "现场检查发现的问题",
        "重大隐患",
        "挂牌督办通知书",
        "现场检查笔录 NK-2026-0101",
    ] {
        assert!(page.contains(expected), "{expected} not on the case page");
    }

    // The notices state the inspection and its law, not a lab's test.
    let notice = |report_no: &str, case: &Value, kind: &str, to: &str| {
        let number = case["notices"]
            .as_array()
            .unwrap()
            .iter()
            .position(|n| n["kind"] == kind && n["to"] == to)
            .unwrap()
            + 1;
        let id = case_id("inspection", report_no);
        let response = reqwest::blocking::Client::new()
            .get(up.url(&format!("/v1/cases/{id}/notices/{number}.html")))
            .bearer_auth(up.token("admin"))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "{report_no} notice {number}");
        response.text().unwrap()
    };
    let listed = notice("JC-2026-0101/1", &traced, "listed_supervision", &shop);
    for expected in [
        "挂牌督办通知书",
        "南开区红旗路电动车店",
        "进行现场检查（检查记录编号：JC-2026-0101）",
        "蓄电池私自改装扩容",
        "重大质量安全隐患",
        "《中华人民共和国产品质量法》第十八条、第四十九条",
    ] {
        assert!(listed.contains(expected), "{expected} not in: {listed}");
    }
    assert!(!listed.contains("检验结论为不合格"), "{listed}");
    wait_until("the suspended refusal case in the lake", || {
        sql(
            &up,
            &format!(
                "SELECT count(*) AS n FROM cases WHERE report_no = '{report_no}' \
                 AND status = 'suspended'"
            ),
        )[0]["n"]
            == 1
    });
    // The refusal case's page lists the warning and the suspension among its legal steps.
    let page = reqwest::blocking::Client::new()
        .get(up.url(&format!("/ui/cases/{}", case_id("inspection", &report_no))))
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let steps = page
        .split_once("<table id=\"steps\">")
        .and_then(|(_, rest)| rest.split_once("</table>"))
        .map_or_else(
            || panic!("no steps on the refusal case's page: {page}"),
            |(table, _)| table,
        );
    for expected in ["警告", "责令停业整顿", "已完成"] {
        assert!(
            steps.contains(expected),
            "{expected} not in the steps: {steps}"
        );
    }
    let correct = notice(&report_no, &suspended, "rectification", &refuser);
    for expected in [
        "拒绝接受监督检查",
        "立即改正拒绝接受监督检查的行为",
        "第五十六条",
    ] {
        assert!(correct.contains(expected), "{expected} not in: {correct}");
    }
}

#[test]
fn a_bad_inspection_is_refused_with_every_problem_and_a_lab_cannot_post_one() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let client = reqwest::blocking::Client::new();
    let bad = json!({
        "inspection_id": "JC-BAD", "inspected_on": "2099-01-01", "inspectors": [],
        "unit": {"name": "某店", "role": "retailer"},
        "findings": [{"kind": "sanwu_product"}, {"kind": "dirty_floor"}]
    });
    let response = client
        .post(up.url("/v1/inspections"))
        .bearer_auth(up.token("inspector"))
        .json(&bad)
        .send()
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().unwrap();
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in [
        "inspected_on",
        "inspectors",
        "findings[0].product",
        "findings[1].kind",
    ] {
        assert!(fields.contains(&field), "{field} not in {body}");
    }
    let response = client
        .post(up.url("/v1/inspections"))
        .bearer_auth(up.token("lab"))
        .json(&bad)
        .send()
        .unwrap();
    assert_eq!(response.status(), 403);
}

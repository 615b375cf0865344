//! Labs post results to a real `spotcheck up` (embedded durable broker, real HTTP) and the
//! results land on `spotcheck.results.v1`, exactly as docs/contract.md §3–§5 say.

mod support;

use reqwest::blocking::Client;
use serde_json::{Value, json};
use spotcheck_schemas::topics;
use support::{Up, read_topic, result};

fn post(
    up: &Up,
    token: Option<&str>,
    content_type: &str,
    body: impl Into<reqwest::blocking::Body>,
) -> (u16, Value) {
    post_to(up, "/v1/results", token, content_type, body)
}

fn post_to(
    up: &Up,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: impl Into<reqwest::blocking::Body>,
) -> (u16, Value) {
    let mut request = Client::new()
        .post(up.url(path))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn post_json(up: &Up, record: &Value) -> (u16, Value) {
    post(
        up,
        Some(&up.token("lab")),
        "application/json",
        record.to_string(),
    )
}

#[test]
fn a_posted_result_lands_on_the_results_topic_with_cloudevents_headers() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let (status, body) = post_json(&up, &result("TJ-E2E-1"));
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["accepted"],
        json!([{"report_no": "TJ-E2E-1", "status": "accepted"}])
    );

    let records = read_topic(&up.brokers(), topics::RESULTS);
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.value["report_no"], "TJ-E2E-1");
    assert_eq!(record.key, "某某燃气具有限公司/JZT-2/20260301");
    assert_eq!(record.headers["ce_specversion"], "1.0");
    assert_eq!(record.headers["ce_type"], "cn.spotcheck.result.v1");
    assert_eq!(record.headers["content-type"], "application/json");
    assert_eq!(
        record.headers["ce_id"],
        spotcheck_schemas::record_id("result", &["dev-lab", "TJ-E2E-1"])
    );
    assert!(record.headers["ce_source"].starts_with("/spotcheck/"));
    assert!(chrono::DateTime::parse_from_rfc3339(&record.headers["ce_time"]).is_ok());
}

#[test]
fn a_result_acknowledged_before_a_sigkill_survives_and_a_repeat_is_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(dir.path());
    let (status, _) = post_json(&up, &result("TJ-KILL-1"));
    assert_eq!(status, 202);
    up.kill();
    up.restart();

    let records = read_topic(&up.brokers(), topics::RESULTS);
    let kept: Vec<_> = records
        .iter()
        .filter(|r| r.value["report_no"] == "TJ-KILL-1")
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "the acknowledged record is on the topic once"
    );
    let (status, body) = post_json(&up, &result("TJ-KILL-1"));
    assert_eq!(status, 202);
    assert_eq!(body["accepted"][0]["status"], "duplicate");
    assert_eq!(
        read_topic(&up.brokers(), topics::RESULTS).len(),
        1,
        "a duplicate is not published again"
    );
}

/// 1,000 results, lines 10, 110, ..., 910 broken in different ways.
fn thousand_with_ten_broken() -> (String, Vec<usize>) {
    let mut lines = Vec::new();
    let mut broken = Vec::new();
    for n in 1..=1000 {
        let mut record = result(&format!("TJ-BATCH-{n:04}"));
        if n % 100 == 10 {
            broken.push(n);
            match n / 100 % 3 {
                0 => record["producer"]["uscc"] = json!("91350100M000100Y44"),
                1 => record["tested_on"] = json!("2026-03-01"),
                _ => record["verdict"] = json!("maybe"),
            }
        }
        lines.push(record.to_string());
    }
    (lines.join("\n") + "\n", broken)
}

#[test]
fn ndjson_with_broken_lines_then_the_same_file_then_one_changed_record() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let lab = up.token("lab");
    let (body, broken) = thousand_with_ten_broken();

    let (status, first) = post(&up, Some(&lab), "application/x-ndjson", body.clone());
    assert_eq!(status, 202);
    let accepted = first["accepted"].as_array().unwrap();
    assert_eq!(accepted.len(), 990);
    assert!(accepted.iter().all(|a| a["status"] == "accepted"));
    let rejected_lines: Vec<usize> = first["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(rejected_lines, broken);
    let first_rejection = &first["rejected"][0];
    assert_eq!(first_rejection["report_no"], "TJ-BATCH-0010");
    assert_eq!(first_rejection["errors"][0]["field"], "producer.uscc");

    let (_, again) = post(&up, Some(&lab), "application/x-ndjson", body.clone());
    let statuses: Vec<&str> = again["accepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 990);
    assert!(statuses.iter().all(|s| *s == "duplicate"));

    let changed = body.replacen("\"JZT-2\"", "\"JZT-9\"", 1);
    let (_, third) = post(&up, Some(&lab), "application/x-ndjson", changed);
    assert_eq!(third["accepted"].as_array().unwrap().len(), 989);
    let conflicts: Vec<&Value> = third["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("different content")
        })
        .collect();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0]["line"], 1);
    assert_eq!(conflicts[0]["report_no"], "TJ-BATCH-0001");

    assert_eq!(
        read_topic(&up.brokers(), topics::RESULTS).len(),
        990,
        "only the first 990 are on the topic"
    );
}

#[test]
fn tokens_roles_labs_and_the_body_limit_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let record = result("TJ-AUTH-1").to_string();

    let (status, body) = post(&up, None, "application/json", record.clone());
    assert_eq!(status, 401);
    assert!(body["error"].as_str().unwrap().contains("bearer token"));
    assert_eq!(
        post(
            &up,
            Some("sc_not_a_token"),
            "application/json",
            record.clone()
        )
        .0,
        401
    );
    assert_eq!(
        post(
            &up,
            Some(&up.token("ledger")),
            "application/json",
            record.clone()
        )
        .0,
        403
    );

    let mut other_lab = result("TJ-AUTH-2");
    other_lab["lab_id"] = json!("tj-lab-99");
    let (status, body) = post_json(&up, &other_lab);
    assert_eq!(status, 403);
    assert_eq!(body["errors"][0]["field"], "lab_id");

    let oversized = "x".repeat(33 * 1024 * 1024);
    let (status, body) = post(
        &up,
        Some(&up.token("lab")),
        "application/x-ndjson",
        oversized,
    );
    assert_eq!(status, 413);
    assert!(body["error"].as_str().unwrap().contains("limit"));
    assert!(
        read_topic(&up.brokers(), topics::RESULTS).is_empty(),
        "nothing refused reached the topic"
    );
}

#[test]
fn a_single_invalid_result_is_422_with_every_field_error() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let mut record = result("TJ-BAD-1");
    record["producer"]["uscc"] = json!("91350100M000100Y44");
    record["category"] = json!("toys");
    let (status, body) = post_json(&up, &record);
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["category", "producer.uscc"]);
    assert!(
        body["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains("check character")
    );
}

#[test]
fn csv_results_use_the_flattened_field_names() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let csv = "report_no,lab_id,category,product_name,model,batch,producer_name,sampled_unit_name,sampled_unit_role,sampling_date,sampling_domain,tested_on,verdict,items_json\n\
        TJ-CSV-1,dev-lab,safety_helmet,安全帽,ABS-1,B1,某帽厂,某店,retailer,2026-04-02,circulation,2026-04-05,pass,\"[{\"\"name\"\":\"\"耐穿刺性能\"\",\"\"verdict\"\":\"\"pass\"\"}]\"\n\
        TJ-CSV-2,dev-lab,safety_helmet,安全帽,ABS-1,B1,某帽厂,某店,retailer,2026-04-02,circulation,2026-04-05,fail,\"[{\"\"name\"\":\"\"耐穿刺性能\"\",\"\"verdict\"\":\"\"pass\"\"}]\"\n";
    let (status, body) = post(&up, Some(&up.token("lab")), "text/csv", csv);
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["accepted"],
        json!([{"report_no": "TJ-CSV-1", "status": "accepted"}])
    );
    assert_eq!(body["rejected"][0]["line"], 3);
    assert_eq!(body["rejected"][0]["errors"][0]["field"], "items");
}

#[test]
fn sigterm_drains_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(dir.path());
    assert_eq!(post_json(&up, &result("TJ-TERM-1")).0, 202);
    let status = up.terminate();
    assert!(status.success(), "exit status {status}");
}

#[test]
fn the_api_describes_itself_and_exports_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    post_json(&up, &result("TJ-META-1"));
    let openapi: Value = reqwest::blocking::get(up.url("/openapi.json"))
        .unwrap()
        .json()
        .unwrap();
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    assert!(openapi["paths"]["/v1/results"]["post"].is_object());
    assert_eq!(
        openapi["components"]["schemas"]["SamplingResult"]["required"][0],
        "report_no"
    );
    let metrics = reqwest::blocking::get(up.url("/metrics"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("spotcheck_ingest_records_total{kind=\"result\",outcome=\"accepted\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("spotcheck_records_produced_total{topic=\"spotcheck.results.v1\"} 1"));
    // The embedded broker's write conflicts, read from the broker when scraped.
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("spotcheck_broker_conflict_retries_total ")),
        "{metrics}"
    );
    // And the write-outs of its log that the accepted record waited for.
    let log_writes: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("spotcheck_broker_log_write_duration_seconds_count "))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or_default();
    assert!(log_writes >= 1.0, "{metrics}");
    assert_eq!(
        reqwest::blocking::get(up.url("/healthz")).unwrap().status(),
        200
    );
}

#[test]
fn a_shipment_on_the_topic_that_the_ledger_never_indexed_is_a_duplicate_when_resent() {
    // What a SIGKILL between the broker's acknowledgement and the ledger's write leaves behind:
    // the record on the topic, the ledger without it. Removing the ledger file is the same state.
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(dir.path());
    let (from, to) = (
        support::flows::uscc("120116", 1),
        support::flows::uscc("120104", 2),
    );
    let shipment = json!({
        "shipment_id": "S-LEDGER-1", "category": "e_bike",
        "product": {"producer_name": "津电动车制造有限公司", "model": "TDR-9", "batch": "B2026-09"},
        "from": {"uscc": from, "name": "单位一"}, "to": {"uscc": to, "name": "单位二"},
        "quantity": 10, "unit": "pcs", "shipped_on": "2026-03-10"
    });
    let send = |up: &Up| {
        let token = up.token("ledger");
        post_to(
            up,
            "/v1/shipments",
            Some(&token),
            "application/json",
            shipment.to_string(),
        )
    };
    let (status, body) = send(&up);
    assert_eq!(status, 202, "{body}");
    up.kill();
    std::fs::remove_file(dir.path().join("ingest/ledger.redb")).unwrap();
    up.restart();

    let (status, body) = send(&up);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"][0]["status"], "duplicate", "{body}");
    assert_eq!(
        read_topic(&up.brokers(), topics::SHIPMENTS).len(),
        1,
        "the shipment is on its topic once"
    );
}

/// The columns of a lab's summary sheet as labs keep it (one they have, not the template):
/// a title row above, no 产品类别 or 被抽样单位类型 column, a contact column the system does not
/// take.
const LAB_SHEET_HEADER: &[&str] = &[
    "序号",
    "报告编号",
    "产品名称",
    "抽查领域",
    "受检单位",
    "统一社会信用代码",
    "所在区",
    "标称生产企业",
    "商标",
    "规格型号",
    "生产日期/批号",
    "抽样日期",
    "检验日期",
    "检验结论",
    "主要不合格项目",
    "承检机构",
    "联系电话",
    "检验类别",
];

/// 1,000 rows under a title row (so result n is on row n + 2); rows 12, 112, …, 912 are broken
/// in six ways (the sixth: a 委托检验, no spot check, refused for that alone). Returns the workbook and the broken rows with the column each one's error names.
fn lab_workbook_of_thousand_rows() -> (Vec<u8>, Vec<(usize, &'static str)>) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("汇总表").unwrap();
    let date = Format::new().set_num_format("yyyy年m月d日");
    sheet
        .write_string(0, 0, "2026年天津市家用燃气灶具产品质量监督抽查结果汇总表")
        .unwrap();
    for (col, title) in LAB_SHEET_HEADER.iter().enumerate() {
        sheet.write_string(1, col as u16, *title).unwrap();
    }
    let mut broken = Vec::new();
    for n in 1..=1000u32 {
        let row = n + 1;
        let fails = n % 7 == 0;
        let mut cells: Vec<String> = vec![
            n.to_string(),
            format!("TJ-XLSX-{n:04}"),
            "家用燃气灶具".into(),
            "流通".into(),
            format!("天津市南开区第{n}燃气器具商店"),
            support::flows::uscc("120104", n),
            "南开区".into(),
            "某某燃气具有限公司".into(),
            "火王".into(),
            "JZT-2".into(),
            "20260301".into(),
            String::new(), // 抽样日期: a date cell, written below
            "2026年4月20日".into(),
            if fails { "不合格" } else { "合格" }.into(),
            if fails {
                "热负荷准确度（标准条款：5.3.1，标准值：±10%，实测值：-14%）；熄火保护装置".into()
            } else {
                "/".into()
            },
            "天津市产品质量监督检测技术研究院".into(),
            "022-23456789".into(),
            "监督抽查".into(),
        ];
        if n == 50 {
            // A keeper's identity number where the shop has no code: taken, with a warning.
            cells[5] = "120104198001011233".into();
        }
        if n % 100 == 12 {
            let column = match n / 100 % 6 {
                0 => {
                    cells[5] = "91120104MA0000000X".into();
                    "统一社会信用代码"
                }
                1 => {
                    cells[6] = "朝阳区".into();
                    "所在区"
                }
                2 => {
                    cells[11] = "2026-02-30".into();
                    "抽样日期"
                }
                3 => {
                    cells[13] = "待定".into();
                    "检验结论"
                }
                4 => {
                    // Nothing else is asked of it: not the domain, not the unit's type.
                    cells[17] = "委托检验".into();
                    cells[3] = String::new();
                    cells[4] = "天津某某物流有限公司".into();
                    "检验类别"
                }
                _ => {
                    cells[9] = String::new();
                    "规格型号"
                }
            };
            broken.push((row as usize + 1, column));
        }
        for (col, cell) in cells.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(row, col as u16, cell).unwrap();
            }
        }
        if cells[11].is_empty() {
            let sampled = ExcelDateTime::from_ymd(2026, 4, 2).unwrap();
            sheet
                .write_datetime_with_format(row, 11, &sampled, &date)
                .unwrap();
        }
    }
    (workbook.save_to_buffer().unwrap(), broken)
}

#[test]
fn a_lab_workbook_with_chinese_headers_is_taken_row_by_row_and_again_as_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let lab = up.token("lab");
    let (workbook, broken) = lab_workbook_of_thousand_rows();
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

    let (status, first) = post(&up, Some(&lab), xlsx, workbook.clone());
    assert_eq!(status, 202, "{first}");
    let accepted = first["accepted"].as_array().unwrap();
    assert_eq!(accepted.len(), 990, "{}", first["rejected"]);
    assert!(accepted.iter().all(|a| a["status"] == "accepted"));
    assert_eq!(first["ignored_columns"], json!(["联系电话"]));
    let warned: Vec<&Value> = accepted
        .iter()
        .filter(|a| a.get("warnings").is_some())
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0]["report_no"], "TJ-XLSX-0050");
    assert_eq!(warned[0]["warnings"][0]["kind"], "code_left_out");
    let answered: Vec<(usize, String)> = first["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let columns: Vec<&str> = r["errors"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e["column"].as_str())
                .collect();
            (r["line"].as_u64().unwrap() as usize, columns.join(","))
        })
        .collect();
    let expected: Vec<(usize, String)> = broken
        .iter()
        .map(|(row, column)| (*row, (*column).to_owned()))
        .collect();
    assert_eq!(
        answered, expected,
        "each broken row by its row number and column"
    );

    // What landed is in the ids of the contract, the lab being the token's.
    let records = read_topic(&up.brokers(), topics::RESULTS);
    assert_eq!(records.len(), 990);
    let seventh = records
        .iter()
        .find(|r| r.value["report_no"] == "TJ-XLSX-0007")
        .unwrap();
    let value = &seventh.value;
    assert_eq!(value["lab_id"], "dev-lab");
    assert_eq!(value["category"], "gas_appliance");
    assert_eq!(value["sampling"]["domain"], "circulation");
    assert_eq!(value["sampling"]["date"], "2026-04-02");
    assert_eq!(value["sampled_unit"]["role"], "retailer");
    assert_eq!(value["sampled_unit"]["district"], "120104");
    assert_eq!(value["tested_on"], "2026-04-20");
    assert_eq!(value["verdict"], "fail");
    assert_eq!(value["items"][0]["name"], "热负荷准确度");
    assert_eq!(value["items"][0]["measured"], "-14%");
    assert_eq!(value["items"][1]["name"], "熄火保护装置");

    // The same workbook again, through `spotcheck post`: every good row a duplicate, the broken
    // rows named by their row numbers and columns.
    let file = dir.path().join("汇总表.xlsx");
    std::fs::write(&file, &workbook).unwrap();
    let output = std::process::Command::new(support::BIN)
        .args(["post", "--url", &up.url(""), "--token", &lab])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("0 accepted, 990 duplicate, 10 rejected"),
        "{stdout}"
    );
    let (row, column) = broken[0];
    assert!(
        stdout.contains(&format!("汇总表.xlsx:{row}: {column}")),
        "{stdout}"
    );
    assert_eq!(read_topic(&up.brokers(), topics::RESULTS).len(), 990);

    // The template to start from: every column the intake reads, required ones first in line.
    let template = Client::new()
        .get(up.url("/v1/results/template.xlsx"))
        .bearer_auth(&lab)
        .send()
        .unwrap();
    assert_eq!(template.status().as_u16(), 200);
    assert_eq!(template.headers()["content-type"], xlsx);
    let bytes = template.bytes().unwrap().to_vec();
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["抽查结果", "填写说明"]);
    let headers: Vec<String> = book
        .worksheet_range("抽查结果")
        .unwrap()
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    for required in [
        "报告编号",
        "产品名称",
        "被抽样单位",
        "规格型号",
        "生产日期/批号",
        "抽样日期",
        "检验日期",
        "检验结论",
    ] {
        assert!(
            headers.iter().any(|h| h == required),
            "{required} in {headers:?}"
        );
    }
}

/// A bulletin as published: a cover sheet, then the 不合格 and 合格 lists on sheets of their own,
/// neither with a 检验结论 column (the list says it). Every list is read, each row takes its
/// list's verdict, and a row refused is named by its sheet and row.
#[test]
fn a_bulletin_workbook_is_read_list_by_list_each_giving_its_verdict() {
    use rust_xlsxwriter::Workbook;
    const HEADER: &[&str] = &[
        "序号",
        "产品名称",
        "被抽样单位名称",
        "所在区",
        "标称生产企业名称",
        "规格型号",
        "生产日期/批号",
        "抽样日期",
        "检验日期",
        "抽查领域",
        "报告编号",
    ];
    let mut workbook = Workbook::new();
    workbook
        .add_worksheet()
        .set_name("说明")
        .unwrap()
        .write_string(0, 0, "本公告所列产品仅对抽样产品负责")
        .unwrap();
    let lists: [(&str, &str, &[[&str; 2]]); 2] = [
        (
            "不合格产品",
            "2026年安全帽产品质量监督抽查不合格产品名单",
            &[["BUL-F1", "南开区"], ["BUL-F2", "朝阳区"]],
        ),
        (
            "合格产品",
            "2026年安全帽产品质量监督抽查合格产品名单",
            &[["BUL-P1", "河西区"]],
        ),
    ];
    for (name, title, rows) in lists {
        let sheet = workbook.add_worksheet().set_name(name).unwrap();
        sheet.write_string(0, 0, title).unwrap();
        let failing = name == "不合格产品";
        let mut header = HEADER.to_vec();
        if failing {
            header.push("主要不合格项目");
        }
        for (col, text) in header.iter().enumerate() {
            sheet.write_string(1, col as u16, *text).unwrap();
        }
        for (n, [report_no, district]) in rows.iter().enumerate() {
            let mut cells = vec![
                "1",
                "安全帽",
                "天津市某劳保用品店",
                district,
                "某防护用品有限公司",
                "ABS-1",
                "20260301",
                "2026-04-02",
                "2026-04-20",
                "流通",
                report_no,
            ];
            if failing {
                cells.push("冲击吸收性能（高温）（标准值：≤4900N，实测值：6200N）");
            }
            for (col, text) in cells.iter().enumerate() {
                sheet.write_string(n as u32 + 2, col as u16, *text).unwrap();
            }
        }
    }
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let taken = bulletin_taken(xlsx, workbook.save_to_buffer().unwrap(), "BUL");
    assert_eq!(taken["verdict"], "fail");
    assert_eq!(taken["items"][0]["name"], "冲击吸收性能（高温）");
}

/// Posts a bulletin whose 不合格产品 list has `{prefix}-F1` (南开区) and `{prefix}-F2` (a district
/// not in Tianjin, on the sheet's row 4) and whose 合格产品 list has `{prefix}-P1`; checks that
/// each list's rows took its verdict, the broken row named by its sheet, row and column, and
/// returns `{prefix}-F1` as it landed.
fn bulletin_taken(content_type: &str, workbook: Vec<u8>, prefix: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let (status, answer) = post(&up, Some(&up.token("lab")), content_type, workbook);
    assert_eq!(status, 202, "{answer}");
    let accepted: Vec<&str> = answer["accepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["report_no"].as_str().unwrap())
        .collect();
    let [failed, broken, passed] = ["F1", "F2", "P1"].map(|n| format!("{prefix}-{n}"));
    assert_eq!(accepted, [failed.as_str(), passed.as_str()], "{answer}");
    let rejected = &answer["rejected"][0];
    assert_eq!(
        (
            &rejected["report_no"],
            &rejected["sheet"],
            &rejected["line"]
        ),
        (&json!(broken), &json!("不合格产品"), &json!(4)),
        "{answer}"
    );
    assert_eq!(rejected["errors"][0]["column"], "所在区");

    let records = read_topic(&up.brokers(), topics::RESULTS);
    assert_eq!(records.len(), 2);
    let of = |report_no: &str| {
        records
            .iter()
            .find(|r| r.value["report_no"] == report_no)
            .map(|r| r.value.clone())
            .unwrap()
    };
    assert_eq!(of(&passed)["verdict"], "pass");
    of(&failed)
}

/// The same bulletin as a bureau's older system exports it: an Excel 97-2003 `.xls` (written by a
/// BIFF8 writer: `tests/fixtures/make_bulletin_xls.py`), its 序号 numbers and its dates date
/// cells. It is read as the `.xlsx` is, list by list; it was refused (415, "save it as .xlsx").
#[test]
fn a_bulletin_saved_as_an_excel_97_workbook_is_read_as_its_xlsx_would_be() {
    let workbook = include_bytes!("fixtures/bulletin.xls").to_vec();
    let taken = bulletin_taken("application/vnd.ms-excel", workbook, "XLS");
    assert_eq!(taken["verdict"], "fail");
    assert_eq!(taken["sampling"]["date"], "2026-04-02");
    assert_eq!(taken["tested_on"], "2026-04-20");
    assert_eq!(taken["sampled_unit"]["district"], "120104");
    assert_eq!(taken["items"][0]["name"], "冲击吸收性能（高温）");
}

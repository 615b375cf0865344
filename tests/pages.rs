//! What officials look at: the batch trace export (CLI and HTTP), checked hop by hop against the
//! shipments posted, the case page of a four-level distribution tree rendered in headless
//! Chromium, where every unit of the case must appear, the notices, the bulletin, and the
//! sampling-plan warnings (six-month rule, licences) against an oracle written in the test.

mod support;

use serde_json::{Value, json};
use spotcheck_schemas::keys::BatchKey;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use support::Up;
use support::flows::{days_ago, generate, render_in_chromium, up_sql as sql, uscc, wait_until};

fn post(up: &Up, route: &str, role: &str, body: String) {
    let response = reqwest::blocking::Client::new()
        .post(up.url(route))
        .bearer_auth(up.token(role))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 202, "{route}");
}

/// (shipment_id, from, to, date, quantity) of a shipment record or an export row.
type HopFacts = (String, String, String, String, String);

fn facts_of_shipment(s: &Value) -> HopFacts {
    (
        s["shipment_id"].as_str().unwrap().to_owned(),
        s["from"]["uscc"].as_str().unwrap().to_owned(),
        s["to"]["uscc"].as_str().unwrap().to_owned(),
        s["shipped_on"].as_str().unwrap().to_owned(),
        s["quantity"].as_f64().unwrap().to_string(),
    )
}

#[test]
fn the_trace_export_of_a_generated_batch_lists_every_hop_posted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let up = Up::start(&data);
    let generated = generate(dir.path(), 100, 1500);
    let shipments_text = std::fs::read_to_string(generated.join("shipments.ndjson")).unwrap();
    post(&up, "/v1/shipments", "ledger", shipments_text.clone());
    let posted: Vec<Value> = shipments_text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    wait_until("the shipments in the lake", || {
        sql(&up, "SELECT count(*) AS n FROM shipments")[0]["n"] == json!(posted.len())
    });

    // The batch with the most hops.
    let busiest = &sql(
        &up,
        "SELECT batch_key, count(*) AS n FROM shipments GROUP BY batch_key ORDER BY n DESC, \
         batch_key LIMIT 1",
    )[0];
    let key = busiest["batch_key"].as_str().unwrap();
    let batch_of = |s: &Value| {
        let product = &s["product"];
        let text = |field: &str| product[field].as_str().unwrap();
        BatchKey::new(text("producer_name"), text("model"), text("batch"))
    };
    // A shop's ledger spells the batch's model otherwise (lower case, with 型): still a hop.
    let mut variant = posted
        .iter()
        .find(|s| batch_of(s).to_string() == key)
        .unwrap()
        .clone();
    variant["shipment_id"] = json!("SPELT-OTHERWISE-1");
    variant["product"]["model"] = json!(format!("{}型", batch_of(&variant).model.to_lowercase()));
    assert_ne!(batch_of(&variant).to_string(), key);
    post(&up, "/v1/shipments", "ledger", variant.to_string());
    let posted: Vec<Value> = posted.into_iter().chain([variant]).collect();
    wait_until("the shipments in the lake", || {
        sql(&up, "SELECT count(*) AS n FROM shipments")[0]["n"] == json!(posted.len())
    });
    let expected: BTreeSet<HopFacts> = posted
        .iter()
        .filter(|s| batch_of(s).match_key() == BatchKey::parse(key).unwrap().match_key())
        .map(facts_of_shipment)
        .collect();
    assert!(expected.len() >= 4, "a batch of {} hops", expected.len());

    // CLI, CSV: hop by hop what was posted; levels count from the tree's roots.
    let exported = Command::new(support::BIN)
        .args(["trace-export", "--data-dir", data.to_str().unwrap()])
        .args(["--batch", key, "--format", "csv"])
        .output()
        .unwrap();
    assert!(exported.status.success(), "{exported:?}");
    let mut reader = csv::Reader::from_reader(exported.stdout.as_slice());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let got: BTreeSet<HopFacts> = rows
        .iter()
        .map(|r| {
            (
                r[column("shipment_id")].to_owned(),
                r[column("from_uscc")].to_owned(),
                r[column("to_uscc")].to_owned(),
                r[column("shipped_on")].to_owned(),
                r[column("quantity")].parse::<f64>().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(rows.len(), expected.len(), "one row per hop");
    assert_eq!(got, expected);
    let receivers: BTreeSet<&str> = rows.iter().map(|r| &r[column("to_uscc")]).collect();
    for row in &rows {
        let is_root = !receivers.contains(&row[column("from_uscc")]);
        assert_eq!(row[column("level")] == *"1", is_root, "{row:?}");
        for district in [column("from_district"), column("to_district")] {
            assert!(row.get(district).is_some());
        }
    }

    // HTTP, XLSX, for the admin: a real workbook holding every shipment; not for analysts.
    let url = up.url(&format!("/v1/trace-export?batch={key}&format=xlsx"));
    let client = reqwest::blocking::Client::new();
    let response = client
        .get(&url)
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let xlsx = response.bytes().unwrap();
    let file = dir.path().join("trace.xlsx");
    std::fs::write(&file, &xlsx).unwrap();
    let strings = xlsx_strings(&file);
    for (id, from, to, _, _) in &expected {
        for text in [id, from, to] {
            assert!(
                strings.contains(text.as_str()),
                "{text} not in the workbook"
            );
        }
    }
    let refused = client
        .get(&url)
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap();
    assert_eq!(refused.status(), 403);
    let unknown = client
        .get(up.url("/v1/trace-export?batch=nobody/none/none"))
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

/// The text of every cell of an XLSX file (its shared strings and sheet), read with Python's
/// standard zipfile: an independent reader of the workbook.
fn xlsx_strings(file: &Path) -> String {
    let output = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
             print(''.join(z.read(n).decode() for n in z.namelist() if n.startswith('xl/')))",
        ])
        .arg(file)
        .output()
        .unwrap();
    assert!(output.status.success(), "not a zip workbook: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn shipment(id: &str, from: &str, to: &str, quantity: u32) -> String {
    json!({
        "shipment_id": id, "category": "e_bike",
        "product": {"producer_name": "津电动车制造有限公司", "model": "TDR-9", "batch": "B2026-09"},
        "from": {"uscc": from, "name": format!("单位{}", &from[10..])},
        "to": {"uscc": to, "name": format!("单位{}", &to[10..])},
        "quantity": quantity, "unit": "pcs", "shipped_on": "2026-03-10"
    })
    .to_string()
}

#[test]
fn the_case_page_of_a_four_level_tree_shows_every_unit_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start_configured(
        &dir.path().join("data"),
        "[traceback.periods]\nobjection_days = 0\n",
        &[],
    );
    // producer → distributor → sub-distributor → retailers; one branch leaves the region.
    let producer = uscc("120116", 1);
    let d1 = uscc("120101", 2);
    let d2 = uscc("120102", 3);
    let sampled = uscc("120104", 10);
    let other_retailer = uscc("120104", 11);
    let outside = uscc("440305", 99);
    let edges = [
        shipment("P1", &producer, &d1, 100),
        shipment("P2", &d1, &d2, 60),
        shipment("P3", &d2, &sampled, 20),
        shipment("P4", &d2, &other_retailer, 20),
        shipment("P5", &d1, &outside, 30),
    ];
    post(&up, "/v1/shipments", "ledger", edges.join("\n"));
    let result = json!({
        "report_no": "TJ-PAGE-1", "lab_id": "dev-lab", "category": "e_bike",
        "product": {"name": "电动自行车", "model": "TDR-9", "batch": "B2026-09"},
        "producer": {"uscc": producer, "name": "津电动车制造有限公司"},
        "sampled_unit": {"uscc": sampled, "name": "南开区某车行", "district": "120104", "role": "retailer"},
        "sampling": {"date": days_ago(20), "domain": "circulation"},
        "tested_on": days_ago(14), "served_on": days_ago(12),
        "items": [{"name": "最高车速", "required": "≤25 km/h", "measured": "31 km/h", "verdict": "fail"}],
        "verdict": "fail", "severity": "general"
    });
    post(&up, "/v1/results", "lab", result.to_string());

    let client = reqwest::blocking::Client::new();
    let mut case_id = String::new();
    wait_until("the case in the lake", || {
        let rows = sql(
            &up,
            "SELECT c.case_id, count(u.uscc) AS units FROM cases c JOIN case_units u \
             ON c.case_id = u.case_id WHERE c.report_no = 'TJ-PAGE-1' GROUP BY c.case_id",
        );
        if let Some(row) = rows.first() {
            case_id = row["case_id"].as_str().unwrap().to_owned();
        }
        rows.first()
            .is_some_and(|row| row["units"].as_u64() >= Some(5))
    });
    let units: BTreeSet<String> = sql(
        &up,
        &format!("SELECT uscc FROM case_units WHERE case_id = '{case_id}'"),
    )
    .iter()
    .map(|r| r["uscc"].as_str().unwrap().to_owned())
    .collect();

    // When the case was last updated, as officials read it: China's date and time (UTC+8).
    let updated = sql(
        &up,
        &format!("SELECT CAST(updated_at AS VARCHAR) AS at FROM cases WHERE case_id = '{case_id}'"),
    )[0]["at"]
        .as_str()
        .unwrap()
        .to_owned();
    let updated = chrono::DateTime::parse_from_rfc3339(&updated)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y年%-m月%-d日 %H:%M")
        .to_string();

    // The list links the case; the page is for admins and analysts, not labs.
    let list = client
        .get(up.url("/ui/cases"))
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap();
    assert_eq!(list.status(), 200);
    let list = list.text().unwrap();
    assert!(list.contains(&format!("/ui/cases/{case_id}")));
    assert!(list.contains(&updated), "{updated} is not in the list");
    let page_url = up.url(&format!("/ui/cases/{case_id}"));
    let lab = client
        .get(&page_url)
        .bearer_auth(up.token("lab"))
        .send()
        .unwrap();
    assert_eq!(lab.status(), 403);
    let page = client
        .get(&page_url)
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    assert!(page.contains(&updated), "{updated} is not on the page");
    // Quantities as people write them (the distributor received 100 from the producer).
    let d1_row = page
        .split("<tr>")
        .find(|row| row.starts_with("<td>") && row.contains(&format!("<td>{d1}</td>")))
        .unwrap_or_else(|| panic!("no row of {d1} among the units"));
    assert!(d1_row.contains("<td>100</td>"), "{d1_row}");
    let html = dir.path().join("case.html");
    std::fs::write(&html, page).unwrap();

    let png = dir.path().join("case.png");
    let dom = render_in_chromium(&html, &png);
    if let Ok(keep) = std::env::var("SPOTCHECK_KEEP_SCREENSHOTS") {
        std::fs::copy(&png, Path::new(&keep).join("case-page.png")).unwrap();
    }
    for uscc in &units {
        assert!(
            dom.contains(&format!("data-uscc=\"{uscc}\"")),
            "unit {uscc} is not drawn"
        );
    }
    for uscc in [&producer, &d1, &d2, &sampled, &other_retailer, &outside] {
        assert!(dom.contains(uscc.as_str()), "{uscc} is not on the page");
    }
    assert!(
        dom.contains(&format!(
            "data-uscc=\"{sampled}\" data-direction=\"origin\""
        )),
        "the sampled unit is not marked"
    );
    assert!(
        dom.contains(&format!(
            "data-uscc=\"{outside}\" data-direction=\"downstream\" data-referral=\"true\""
        )),
        "the unit outside the region is not a referral"
    );
    // The upstream path producer → d1 → d2 → sampled unit: three highlighted edges.
    assert_eq!(dom.matches("data-upstream=\"true\"").count(), 3, "{dom}");
}

#[test]
fn the_quarterly_yearly_and_years_reports_show_every_chart_with_the_numbers_of_the_sql() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let up = Up::start_configured(&data, "[traceback.periods]\nobjection_days = 0\n", &[]);
    let generated = generate(dir.path(), 600, 2000);
    for (file, role) in [
        ("units.ndjson", "admin"),
        ("shipments.ndjson", "ledger"),
        ("results.ndjson", "lab"),
    ] {
        let posted = Command::new(support::BIN)
            .args(["post", "--url", &up.url(""), "--token", &up.token(role)])
            .arg(generated.join(file))
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(posted.success(), "{file}");
    }
    let results_file = std::fs::read_to_string(generated.join("results.ndjson")).unwrap();
    let failing = results_file
        .lines()
        .filter(|l| l.contains("\"verdict\":\"fail\""))
        .count();
    wait_until("the results and their cases in the lake", || {
        let n = &sql(
            &up,
            "SELECT (SELECT count(*) FROM results) AS results, (SELECT count(*) FROM cases) AS cases",
        )[0];
        n["results"] == json!(600) && n["cases"].as_u64() >= Some(failing as u64)
    });
    // The quarter with the most results, and what plain SQL on the results table says of it
    // (not through the report's views).
    let quarter = sql(
        &up,
        "SELECT quarter, count(*) AS n FROM results_by_quarter GROUP BY quarter ORDER BY n DESC LIMIT 1",
    )[0]["quarter"]
        .as_str()
        .unwrap()
        .to_owned();
    let (year, q) = quarter.split_once('Q').unwrap();
    // One failure of the quarter the re-test overturned (the office recorded only the re-test's
    // conclusion): the report counts it as the pass the re-test concluded, as the bulletin does.
    let overturned = sql(
        &up,
        &format!(
            "SELECT report_no, lab_id, category FROM results_by_quarter \
             WHERE quarter = '{quarter}' AND verdict = 'fail' ORDER BY report_no LIMIT 1"
        ),
    )
    .remove(0);
    let retest = json!({"disposition_id": "RETEST-1", "report_no": overturned["report_no"],
        "lab_id": overturned["lab_id"], "kind": "retest_concluded", "on": days_ago(0),
        "outcome": "overturned"});
    post(&up, "/v1/dispositions", "admin", retest.to_string());
    wait_until("the overturned case in the lake", || {
        sql(
            &up,
            &format!(
                "SELECT status FROM cases WHERE report_no = '{}' AND lab_id = '{}'",
                overturned["report_no"].as_str().unwrap(),
                overturned["lab_id"].as_str().unwrap()
            ),
        )
        .first()
        .is_some_and(|c| c["status"] == "overturned")
    });
    let mut by_category = sql(
        &up,
        &format!(
            "SELECT category, count(*) AS results, sum(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failures \
             FROM results WHERE extract(year FROM sampling_date) = {year} AND extract(quarter FROM sampling_date) = {q} \
             GROUP BY category ORDER BY category"
        ),
    );
    for row in &mut by_category {
        if row["category"] == overturned["category"] {
            row["failures"] = json!(row["failures"].as_u64().unwrap() - 1);
        }
    }
    let cases_opened = sql(
        &up,
        &format!(
            "SELECT count(*) AS n FROM cases c JOIN results r ON c.report_no = r.report_no AND c.lab_id = r.lab_id \
             WHERE extract(year FROM r.sampling_date) = {year} AND extract(quarter FROM r.sampling_date) = {q}"
        ),
    )[0]["n"]
        .clone();

    let out = dir.path().join("report");
    let started = Instant::now();
    let made = Command::new(support::BIN)
        .args([
            "report",
            "--data-dir",
            data.to_str().unwrap(),
            "--quarter",
            &quarter,
        ])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    eprintln!(
        "report of {quarter} on 600 results: {:?}",
        started.elapsed()
    );
    for file in [
        "report.html",
        "report.md",
        "by_category.csv",
        "by_category.svg",
        "cases.csv",
    ] {
        assert!(out.join(file).exists(), "{file} missing");
    }
    // The CSV behind the chart equals the SQL.
    let mut reader = csv::Reader::from_path(out.join("by_category.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), by_category.len());
    // Categories by their Chinese names (电动自行车), as officials read them.
    let name = |category: &Value| -> &'static str {
        category
            .as_str()
            .unwrap()
            .parse::<spotcheck_schemas::enums::Category>()
            .unwrap()
            .name_zh()
    };
    let headers = csv::Reader::from_path(out.join("by_category.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    assert_eq!(&headers[0], "产品类别");
    assert_eq!(&headers[1], "抽查批次");
    for (row, expected) in rows.iter().zip(&by_category) {
        assert_eq!(&row[0], name(&expected["category"]));
        assert_eq!(row[1], expected["results"].to_string());
        assert_eq!(row[2], expected["failures"].to_string());
    }
    let cases: Vec<csv::StringRecord> = csv::Reader::from_path(out.join("cases.csv"))
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(cases[0][0], cases_opened.to_string(), "cases opened");

    // Opened in Chromium: every chart drawn, and the table rows carry the SQL's numbers.
    let png = dir.path().join("report.png");
    let dom = render_in_chromium(&out.join("report.html"), &png);
    // Due on the next quarter's first working day, as the calendar has it.
    let (next_year, next_month) = match q {
        "4" => (year.parse::<i32>().unwrap() + 1, 1),
        q => (year.parse().unwrap(), q.parse::<u32>().unwrap() * 3 + 1),
    };
    let first = chrono::NaiveDate::from_ymd_opt(next_year, next_month, 1).unwrap();
    let due = support::law_period_end(first.pred_opt().unwrap(), 1);
    assert!(
        dom.contains(&format!(
            "报送期限：{}（下一季度第一个工作日",
            spotcheck_schemas::days::date_zh(due)
        )),
        "{dom}"
    );
    if let Ok(keep) = std::env::var("SPOTCHECK_KEEP_SCREENSHOTS") {
        std::fs::copy(&png, Path::new(&keep).join("report.png")).unwrap();
    }
    for chart in [
        "by_category",
        "by_district",
        "last_eight_quarters",
        "failing_items",
        "case_status",
        "notices",
        "disclosures",
    ] {
        assert!(
            dom.contains(&format!("data-chart=\"{chart}\"")),
            "no chart {chart}"
        );
    }
    for expected in &by_category {
        let cells = format!(
            "<td>{}</td><td>{}</td><td>{}</td>",
            name(&expected["category"]),
            expected["results"],
            expected["failures"]
        );
        assert!(dom.contains(&cells), "{cells} not in the report");
    }

    // The yearly report (due 10 January): the same sections over the year's four quarters.
    let mut by_category_of_year = sql(
        &up,
        &format!(
            "SELECT category, count(*) AS results, sum(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failures \
             FROM results WHERE extract(year FROM sampling_date) = {year} \
             GROUP BY category ORDER BY category"
        ),
    );
    for row in &mut by_category_of_year {
        if row["category"] == overturned["category"] {
            row["failures"] = json!(row["failures"].as_u64().unwrap() - 1);
        }
    }
    let yearly = dir.path().join("yearly-report");
    let made = Command::new(support::BIN)
        .args(["report", "--data-dir", data.to_str().unwrap()])
        .args(["--year", year, "--out", yearly.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let rows: Vec<csv::StringRecord> = csv::Reader::from_path(yearly.join("by_category.csv"))
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), by_category_of_year.len());
    for (row, expected) in rows.iter().zip(&by_category_of_year) {
        assert_eq!(&row[0], name(&expected["category"]));
        assert_eq!(row[1], expected["results"].to_string());
        assert_eq!(row[2], expected["failures"].to_string());
    }
    let page = std::fs::read_to_string(yearly.join("report.html")).unwrap();
    assert!(
        page.contains(&format!("<h1>{year}年度产品质量监督抽查报告</h1>")),
        "{page}"
    );
    assert!(page.contains("按公示日期计入本年度"), "{page}");
    let next_year = year.parse::<i32>().unwrap() + 1;
    assert!(
        page.contains(&format!(
            "<p class=\"due\">报送期限：{next_year}年1月10日前</p>"
        )),
        "{page}"
    );

    // The report over years (the three-year action's self-evaluation, due when it ends): each
    // year beside the others, each category's years, and every quarter's rate — not eight.
    let span = sql(
        &up,
        "SELECT CAST(min(extract(year FROM sampling_date)) AS BIGINT) AS first, \
                CAST(max(extract(year FROM sampling_date)) AS BIGINT) AS last FROM results",
    )
    .remove(0);
    let last = span["last"].as_i64().unwrap();
    let first = span["first"].as_i64().unwrap().min(last - 1);
    let mut by_year = sql(
        &up,
        "SELECT CAST(extract(year FROM sampling_date) AS BIGINT) AS year, count(*) AS results, \
                sum(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failures \
         FROM results GROUP BY 1 ORDER BY 1",
    );
    for row in &mut by_year {
        if row["year"].as_i64() == year.parse().ok() {
            row["failures"] = json!(row["failures"].as_u64().unwrap() - 1);
        }
    }
    let quarters_sampled = sql(
        &up,
        "SELECT count(DISTINCT quarter) AS n FROM results_by_quarter",
    )[0]["n"]
        .as_u64()
        .unwrap();
    let years_report = dir.path().join("years-report");
    let made = Command::new(support::BIN)
        .args(["report", "--data-dir", data.to_str().unwrap()])
        .args(["--years", &format!("{first}-{last}")])
        .args(["--out", years_report.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let table = |file: &str| -> Vec<csv::StringRecord> {
        csv::Reader::from_path(years_report.join(file))
            .unwrap()
            .records()
            .map(Result::unwrap)
            .collect()
    };
    let rows = table("by_year.csv");
    assert_eq!(rows.len(), by_year.len(), "{rows:?}");
    for (row, expected) in rows.iter().zip(&by_year) {
        assert_eq!(row[0], expected["year"].to_string());
        assert_eq!(row[1], expected["results"].to_string());
        assert_eq!(row[2], expected["failures"].to_string());
    }
    assert_eq!(table("by_quarter.csv").len() as u64, quarters_sampled);
    let by_category_year = table("by_category_year.csv");
    let results: u64 = by_category_year
        .iter()
        .map(|r| r[2].parse::<u64>().unwrap())
        .sum();
    assert_eq!(results, 600, "{by_category_year:?}");
    let page = std::fs::read_to_string(years_report.join("report.html")).unwrap();
    assert!(
        page.contains(&format!("<h1>{first}—{last}年产品质量监督抽查报告</h1>")),
        "{page}"
    );
    assert!(page.contains("data-chart=\"by_year\""), "{page}");
    assert!(page.contains("按公示日期计入报告期内"), "{page}");

    // A quarter without results: every table still has its headings, in the CSVs and the page.
    let empty = dir.path().join("empty-report");
    let made = Command::new(support::BIN)
        .args(["report", "--data-dir", data.to_str().unwrap()])
        .args(["--quarter", "2001Q1", "--out", empty.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    for (file, first) in [
        ("by_category.csv", "产品类别"),
        ("by_district.csv", "地区"),
        ("identifications.csv", "主体类型"),
    ] {
        let mut reader = csv::Reader::from_path(empty.join(file)).unwrap();
        assert_eq!(&reader.headers().unwrap()[0], first, "{file}");
        assert_eq!(reader.records().count(), 0, "{file}");
    }
    let page = std::fs::read_to_string(empty.join("report.html")).unwrap();
    assert!(
        page.contains("<th>产品类别</th><th>抽查批次</th>"),
        "{page}"
    );
}

/// The text of a DOCX as the DOCX reader sees it (docx-rs' document model, as JSON).
fn docx_text(bytes: &[u8]) -> String {
    docx_rs::read_docx(bytes)
        .expect("a DOCX the reader opens")
        .json()
}

#[test]
fn the_rectification_notice_names_the_recipient_the_failed_items_and_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let up = Up::start_configured(&data, "[traceback.periods]\nobjection_days = 0\n", &[]);
    let producer = uscc("120116", 21);
    let sampled = uscc("120104", 22);
    let result = json!({
        "report_no": "TJ-NOTICE-1", "lab_id": "dev-lab", "category": "e_bike",
        "organiser": "天津市市场监督管理委员会",
        "product": {"name": "电动自行车", "brand": "津风", "model": "TDR-7", "batch": "B2026-07"},
        "producer": {"uscc": producer, "name": "津风电动车制造有限公司"},
        "sampled_unit": {"uscc": sampled, "name": "南开区津风车行", "district": "120104", "role": "retailer"},
        "sampling": {"date": days_ago(20), "domain": "circulation"},
        "tested_on": days_ago(14), "served_on": days_ago(12),
        "items": [
            {"name": "最高车速", "clause": "GB 17761-2024 6.1.1", "required": "≤25 km/h",
             "measured": "31 km/h", "verdict": "fail"},
            {"name": "整车质量", "required": "≤55 kg", "measured": "52 kg", "verdict": "pass"}
        ],
        "verdict": "fail", "severity": "general"
    });
    post(&up, "/v1/results", "lab", result.to_string());
    // The producer's order is recorded, on the day the failure became final; the shop's is not,
    // so the shop's notice still runs from its own service.
    let order = json!({"disposition_id": "ORDER-P", "report_no": "TJ-NOTICE-1",
        "lab_id": "dev-lab", "kind": "rectification_ordered", "on": days_ago(11),
        "uscc": producer});
    post(&up, "/v1/dispositions", "admin", order.to_string());

    // The case becomes final at once (no objection window here) and proposes the notices.
    let mut case = Value::Null;
    wait_until("the rectification notices in the lake", || {
        let rows = sql(
            &up,
            "SELECT case_id, notices_json FROM cases WHERE report_no = 'TJ-NOTICE-1'",
        );
        case = rows.first().cloned().unwrap_or(Value::Null);
        // The result reaches the lake by its own topic; the notice rests on it.
        let result_in =
            || !sql(&up, "SELECT 1 FROM results WHERE report_no = 'TJ-NOTICE-1'").is_empty();
        let order_in = || {
            !sql(
                &up,
                &format!("SELECT 1 FROM dispositions WHERE uscc = '{producer}'"),
            )
            .is_empty()
        };
        case["notices_json"]
            .as_str()
            .is_some_and(|n| n.contains(&sampled) && n.contains("rectification"))
            && result_in()
            && order_in()
    });
    let case_id = case["case_id"].as_str().unwrap().to_owned();
    let notices: Vec<Value> = serde_json::from_str(case["notices_json"].as_str().unwrap()).unwrap();
    let number = 1 + notices
        .iter()
        .position(|n| n["kind"] == "rectification" && n["to"] == sampled.as_str())
        .unwrap();
    let projected: chrono::NaiveDate = notices[number - 1]["due_on"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // The case projects the order on the day the failure became final, eleven days ago; the
    // notice, not served yet, gives sixty days from its service, which is today at the earliest.
    let due = support::law_period_end(spotcheck_schemas::days::today(), 60);
    assert!(projected < due, "{projected} is not before {due}");
    let due_zh = due.format("%Y年%-m月%-d日").to_string();
    let projected_zh = projected.format("%Y年%-m月%-d日").to_string();

    let client = reqwest::blocking::Client::new();
    let url = |file: &str| up.url(&format!("/v1/cases/{case_id}/notices/{file}"));
    let docx = client
        .get(url(&format!("{number}.docx")))
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap();
    assert_eq!(docx.status(), 200);
    assert_eq!(
        docx.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    let text = docx_text(&docx.bytes().unwrap());
    for expected in [
        "整改通知书",
        "南开区津风车行",
        sampled.as_str(),
        "最高车速",
        "GB 17761-2024 6.1.1",
        "≤25 km/h",
        "31 km/h",
        due_zh.as_str(),
        "天津市南开区市场监督管理局",
        "第四十六条",
        "TJ-NOTICE-1",
        "B2026-07",
        // The lab by the name the config gives it, not by its token's id.
        "经开发环境检验机构检验",
    ] {
        assert!(text.contains(expected), "{expected} is not in the DOCX");
    }
    assert!(
        !text.contains("整车质量"),
        "a passed item is listed as failed"
    );
    assert!(
        !text.contains(&projected_zh),
        "the notice gives less than sixty days from its service"
    );

    // The printable page says the same; analysts may not fetch notices.
    let html = client
        .get(url(&format!("{number}.html")))
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let printable = dir.path().join("notice.html");
    std::fs::write(&printable, &html).unwrap();
    let dom = render_in_chromium(&printable, &dir.path().join("notice.png"));
    if let Ok(keep) = std::env::var("SPOTCHECK_KEEP_SCREENSHOTS") {
        std::fs::copy(
            dir.path().join("notice.png"),
            Path::new(&keep).join("notice.png"),
        )
        .unwrap();
    }
    for expected in ["南开区津风车行", "最高车速", "31 km/h", due_zh.as_str()] {
        assert!(
            dom.contains(expected),
            "{expected} is not on the printable page"
        );
    }
    assert!(html.contains("@page"), "no print layout");
    // On screen only: the official is told the limits count from today's service.
    assert!(
        html.contains(&format!(
            "本文书的期限按{}送达计算",
            spotcheck_schemas::days::date_zh(spotcheck_schemas::days::today())
        )),
        "no word on what the limits count from"
    );
    let analyst = client
        .get(url(&format!("{number}.html")))
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap();
    assert_eq!(analyst.status(), 403);
    for (file, status) in [("99.docx", 404), ("1.pdf", 400), ("0.html", 400)] {
        let answer = client
            .get(url(file))
            .bearer_auth(up.token("admin"))
            .send()
            .unwrap();
        assert_eq!(answer.status(), status, "{file}");
    }

    // The case page, in Chinese, links the notices and lists the failed item with its values.
    let page = client
        .get(up.url(&format!("/ui/cases/{case_id}")))
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for expected in [
        format!("/v1/cases/{case_id}/notices/{number}.docx"),
        "整改通知书".to_owned(),
        "电动自行车".to_owned(),
        "最高车速".to_owned(),
        // Escaped as HTML text (`/` is `&#x2f;`): the measured and required values.
        "31 km&#x2f;h".to_owned(),
        "≤25 km&#x2f;h".to_owned(),
        "南开区".to_owned(),
    ] {
        assert!(
            page.contains(&expected),
            "{expected} is not on the case page"
        );
    }

    // The same notice from the command line.
    let out = dir.path().join("notice.docx");
    let made = Command::new(support::BIN)
        .args([
            "notice",
            "--data-dir",
            data.to_str().unwrap(),
            "--case",
            &case_id,
        ])
        .args(["--kind", "rectification", "--to", &sampled, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let text = docx_text(&std::fs::read(&out).unwrap());
    assert!(text.contains("南开区津风车行") && text.contains("31 km/h") && text.contains(&due_zh));
}

/// Every row of a workbook's sheet as text (the header first).
fn sheet_rows(workbook: &Path, sheet: &str) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx, open_workbook};
    let mut book: Xlsx<_> = open_workbook(workbook).expect("a workbook the reader opens");
    let range = book.worksheet_range(sheet).expect("the sheet");
    range
        .rows()
        .map(|row| row.iter().map(std::string::ToString::to_string).collect())
        .collect()
}

#[test]
fn the_bulletin_of_a_task_publishes_final_results_in_three_lists_as_the_sql_has_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The law's objection window (15 days): a failure served 2 days ago is not final yet.
    let up = Up::start(&data);
    let producer = uscc("120116", 31);
    let result = |report: &str, task: &str, verdict: &str, sampled_days_ago: u64, served: u64| {
        let item = |v: &str| {
            json!({"name": "最高车速", "clause": "GB 17761-2024 6.1.1", "required": "≤25 km/h",
                   "measured": if v == "fail" { "31 km/h" } else { "24 km/h" }, "verdict": v})
        };
        json!({
            "report_no": report, "lab_id": "dev-lab", "task_id": task,
            "organiser": "天津市市场监督管理委员会", "category": "e_bike",
            "product": {"name": "电动自行车", "brand": "津风", "model": "TDR-7", "batch": report},
            "producer": {"uscc": producer, "name": "津风电动车制造有限公司", "address": "天津市滨海新区"},
            "sampled_unit": {"uscc": uscc("120104", 32), "name": "南开区津风车行",
                             "district": "120104", "role": "retailer"},
            "sampling": {"date": days_ago(sampled_days_ago), "domain": "circulation"},
            "tested_on": days_ago(served), "served_on": days_ago(served),
            "items": [item(verdict)], "verdict": verdict,
            "severity": if verdict == "fail" { json!("general") } else { Value::Null }
        })
    };
    let mut other_model = result("BUL-PASS", "T-2026-EB", "pass", 50, 45);
    other_model["product"]["model"] = json!("TDR-9");
    let mut counterfeit = result("BUL-FAKE", "T-2026-EB", "fail", 45, 30);
    counterfeit["product"]["model"] = json!("TDR-5");
    counterfeit["suspected_counterfeit"] = json!(true);
    // The lab saw nothing wrong with the label; the producer denies the batch later.
    let mut denied = result("BUL-DENIED", "T-2026-EB", "fail", 45, 30);
    denied["product"]["model"] = json!("TDR-4");
    let mut revoked = result("BUL-REVOKED", "T-2026-EB", "fail", 40, 30);
    revoked["product"]["model"] = json!("TDR-3");
    // Sampled after the revoked failure: no follow-up of a failure that does not stand.
    let mut after_revoked = result("BUL-AFTER-REVOKED", "T-2026-EB", "pass", 10, 8);
    after_revoked["product"]["model"] = json!("TDR-3");
    // Two 三无 helmets-alike of no named producer: the later is no follow-up of the earlier.
    let sanwu = |report: &str, verdict: &str, sampled: u64, served: u64| {
        let mut r = result(report, "T-2026-EB", verdict, sampled, served);
        r["producer"] = json!({"name": "/"});
        r["product"]["brand"] = json!("/");
        r["product"]["model"] = json!("/");
        r
    };
    // Same organiser, producer, brand and model as BUL-FINAL, sampled after it: a follow-up,
    // though this lab spelt the producer otherwise and gave no code, and wrote the organiser
    // in its short form.
    let mut follow = result("BUL-FOLLOW", "T-2026-EB", "pass", 10, 8);
    follow["producer"] = json!({"name": "津风电动车制造有限责任公司"});
    follow["organiser"] = json!("天津市市场监管委");
    let records = [
        revoked,
        after_revoked,
        sanwu("BUL-SANWU-1", "fail", 40, 30),
        sanwu("BUL-SANWU-2", "pass", 10, 8),
        other_model,
        result("BUL-FINAL", "T-2026-EB", "fail", 40, 30),
        counterfeit,
        denied,
        result("BUL-OPEN", "T-2026-EB", "fail", 5, 2),
        follow,
        result("BUL-OTHER-TASK", "T-2026-GA", "pass", 20, 15),
    ];
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    post(&up, "/v1/results", "lab", lines.join("\n"));
    // One failure's result is revoked by administrative reconsideration: no result to publish.
    let revocation = json!({"disposition_id": "BUL-REVOKED-1", "report_no": "BUL-REVOKED",
        "lab_id": "dev-lab", "kind": "result_revoked", "on": days_ago(1),
        "note": "津市监复决字〔2026〕1号"});
    post(&up, "/v1/dispositions", "admin", revocation.to_string());
    let denial = json!({"disposition_id": "BUL-DENIED-1", "report_no": "BUL-DENIED",
        "lab_id": "dev-lab", "kind": "producer_denied", "on": days_ago(20)});
    post(&up, "/v1/dispositions", "admin", denial.to_string());
    wait_until("the six failures' cases in the lake, one revoked", || {
        let rows = sql(
            &up,
            "SELECT count(*) AS n, sum(CASE WHEN status = 'revoked' THEN 1 ELSE 0 END) AS revoked \
             FROM cases WHERE report_no LIKE 'BUL-%'",
        );
        rows[0]["n"] == json!(6) && rows[0]["revoked"] == json!(1)
    });
    wait_until("the final failures final", || {
        sql(
            &up,
            "SELECT count(*) AS n FROM cases \
             WHERE report_no IN ('BUL-FINAL', 'BUL-FAKE', 'BUL-DENIED', 'BUL-SANWU-1') \
             AND status = 'final'",
        )[0]["n"]
            == json!(4)
    });

    let out = dir.path().join("bulletin");
    let made = Command::new(support::BIN)
        .args([
            "bulletin",
            "--data-dir",
            data.to_str().unwrap(),
            "--task",
            "T-2026-EB",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    // BUL-OPEN waits for its window; the revoked one is not waiting for anything.
    assert!(
        String::from_utf8_lossy(&made.stderr).contains("1 failures not final yet"),
        "{made:?}"
    );
    let workbook = out.join("bulletin.xlsx");
    let report_column = 13;
    let reports = |sheet: &str| -> BTreeSet<String> {
        sheet_rows(&workbook, sheet)
            .iter()
            .skip(1)
            .map(|row| row[report_column].clone())
            .collect()
    };
    let header = &sheet_rows(&workbook, "不合格产品")[0];
    assert_eq!(header[report_column], "报告编号");
    assert_eq!(header[1], "产品名称");
    let lab_column = 12;
    assert_eq!(header[lab_column], "承检机构");
    let failures = sheet_rows(&workbook, "不合格产品");
    assert!(
        failures
            .iter()
            .skip(1)
            .all(|row| row[lab_column] == "开发环境检验机构"),
        "the lab by its name: {failures:?}"
    );

    // The failures published are exactly the task's failures whose case is final.
    let final_failures: BTreeSet<String> = sql(
        &up,
        "SELECT r.report_no FROM results r JOIN cases c ON c.report_no = r.report_no \
         WHERE r.task_id = 'T-2026-EB' AND r.verdict = 'fail' AND c.status = 'final'",
    )
    .iter()
    .map(|row| row["report_no"].as_str().unwrap().to_owned())
    .collect();
    assert_eq!(reports("不合格产品"), final_failures);
    assert_eq!(
        final_failures,
        BTreeSet::from([
            "BUL-FINAL".to_owned(),
            "BUL-FAKE".to_owned(),
            "BUL-DENIED".to_owned(),
            "BUL-SANWU-1".to_owned()
        ])
    );
    // Revoked: in no list, neither a failure nor a pass.
    assert_eq!(
        reports("合格产品"),
        BTreeSet::from([
            "BUL-PASS".to_owned(),
            "BUL-AFTER-REVOKED".to_owned(),
            "BUL-SANWU-2".to_owned()
        ])
    );
    assert_eq!(
        reports("跟踪抽查"),
        BTreeSet::from(["BUL-FOLLOW".to_owned()])
    );

    let failed = sheet_rows(&workbook, "不合格产品");
    let row = |report: &str| {
        failed
            .iter()
            .find(|r| r[report_column] == report)
            .unwrap()
            .clone()
    };
    assert_eq!(row("BUL-FINAL")[10], "不合格");
    assert_eq!(
        row("BUL-FINAL")[11],
        "最高车速（标准值：≤25 km/h；实测值：31 km/h）"
    );
    assert_eq!(row("BUL-FINAL")[2], "流通");
    assert!(
        row("BUL-FAKE")[14].contains("涉嫌假冒"),
        "{:?}",
        row("BUL-FAKE")
    );
    // Denied by the producer after the lab's report: marked the same way.
    assert!(
        row("BUL-DENIED")[14].contains("涉嫌假冒"),
        "{:?}",
        row("BUL-DENIED")
    );
    assert!(row("BUL-FINAL")[14].is_empty());

    let html = std::fs::read_to_string(out.join("bulletin.html")).unwrap();
    for expected in [
        "不合格产品",
        "合格产品",
        "跟踪抽查",
        "BUL-FINAL",
        "BUL-FOLLOW",
    ] {
        assert!(
            html.contains(expected),
            "{expected} is not in the bulletin page"
        );
    }
    assert!(!html.contains("BUL-OPEN") && !html.contains("BUL-OTHER-TASK"));
    let png = dir.path().join("bulletin.png");
    render_in_chromium(&out.join("bulletin.html"), &png);
    if let Ok(keep) = std::env::var("SPOTCHECK_KEEP_SCREENSHOTS") {
        std::fs::copy(&png, Path::new(&keep).join("bulletin.png")).unwrap();
    }
}

/// A producer of the plan-check data: name, USCC, category, and its registry entry (`None`: not
/// registered) as (licence kind as written, valid until).
struct Producer {
    name: String,
    uscc: String,
    category: &'static str,
    licences: Option<Vec<(&'static str, &'static str)>>,
}

/// One generated sampling: what the six-month and licence rules read.
#[derive(Clone)]
struct Sampled {
    report_no: String,
    organiser: &'static str,
    producer: usize,
    brand: Option<&'static str>,
    model: &'static str,
    standards: Vec<&'static str>,
    date: chrono::NaiveDate,
    follow_up: bool,
    /// Failed, as things stand (not overturned).
    failed: bool,
}

/// The six-month rule written again, independently of the SQL, as the oracle: `later` repeats
/// `earlier`, unless it is a follow-up check of a failure among the samplings it repeats.
fn repeats(later: &Sampled, earlier: &Sampled, all: &[Sampled], producers: &[Producer]) -> bool {
    let follows_a_failure = || {
        all.iter()
            .any(|e| e.failed && same_product_within(later, e, producers))
    };
    same_product_within(later, earlier, producers) && !(later.follow_up && follows_a_failure())
}

/// `later` samples `earlier`'s product within six months after it.
fn same_product_within(later: &Sampled, earlier: &Sampled, producers: &[Producer]) -> bool {
    let standards_match = later.standards.is_empty()
        || earlier.standards.is_empty()
        || later.standards == earlier.standards;
    let earlier_first = earlier.date < later.date
        || (earlier.date == later.date
            && format!("dev-lab/{}", earlier.report_no) < format!("dev-lab/{}", later.report_no));
    let six_months_on = earlier
        .date
        .checked_add_months(chrono::Months::new(6))
        .unwrap();
    later.organiser == earlier.organiser
        && producers[later.producer].name == producers[earlier.producer].name
        && later.brand == earlier.brand
        && later.model == earlier.model
        && standards_match
        && earlier_first
        && later.date < six_months_on
}

/// The licence rule as the oracle: a category with a requirement, a registered producer, and no
/// licence of an accepted kind valid on the day.
fn lacks_licence(sampled: &Sampled, producers: &[Producer]) -> bool {
    let producer = &producers[sampled.producer];
    let accepted: &[&str] = match producer.category {
        "e_bike" | "gas_appliance" => &["CCC", "3C"],
        "wire_cable" => &["工业产品生产许可证", "CCC"],
        _ => return false,
    };
    let Some(licences) = &producer.licences else {
        return false;
    };
    !licences.iter().any(|(kind, until)| {
        accepted.contains(kind)
            && chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d").unwrap() >= sampled.date
    })
}

#[test]
fn the_six_month_and_licence_warnings_find_every_planted_case_and_invent_none() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let client = reqwest::blocking::Client::new();
    let day = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let producers = vec![
        // Certified throughout, as the registry spells it.
        Producer {
            name: "天津甲车业有限公司".into(),
            uscc: uscc("120104", 9101),
            category: "e_bike",
            licences: Some(vec![("CCC", "2027-12-31")]),
        },
        // Its CCC expired in the middle of the samplings.
        Producer {
            name: "天津乙车业有限公司".into(),
            uscc: uscc("120104", 9102),
            category: "e_bike",
            licences: Some(vec![("3C", "2026-03-01")]),
        },
        // A licence of the wrong kind for e-bikes.
        Producer {
            name: "天津丙车业有限公司".into(),
            uscc: uscc("120104", 9103),
            category: "e_bike",
            licences: Some(vec![("工业产品生产许可证", "2028-01-01")]),
        },
        Producer {
            name: "天津丁电缆有限公司".into(),
            uscc: uscc("120104", 9104),
            category: "wire_cable",
            licences: Some(vec![("工业产品生产许可证", "2028-01-01")]),
        },
        // Registered without any licence.
        Producer {
            name: "天津戊电缆有限公司".into(),
            uscc: uscc("120104", 9105),
            category: "wire_cable",
            licences: Some(vec![]),
        },
        // Helmets need none here; gas appliances do, but this producer is not registered.
        Producer {
            name: "天津己安全帽厂".into(),
            uscc: uscc("120104", 9106),
            category: "safety_helmet",
            licences: Some(vec![]),
        },
        Producer {
            name: "天津庚燃气具有限公司".into(),
            uscc: uscc("120104", 9107),
            category: "gas_appliance",
            licences: None,
        },
    ];
    for producer in &producers {
        let Some(licences) = &producer.licences else {
            continue;
        };
        let licences: Vec<Value> = licences
            .iter()
            .enumerate()
            .map(|(i, (kind, until))| json!({"kind": kind, "number": format!("L-{i}"), "valid_until": until}))
            .collect();
        let unit = json!({"uscc": producer.uscc, "name": producer.name, "district": "120104",
                          "roles": ["producer"], "licences": licences});
        let response = client
            .put(up.url(&format!("/v1/units/{}", producer.uscc)))
            .bearer_auth(up.token("admin"))
            .json(&unit)
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "{}",
            response.text().unwrap()
        );
    }

    // Planted pairs at the edges of the rule, then a seeded spread over 17 months.
    let organisers = ["天津市市场监督管理委员会", "天津市南开区市场监督管理局"];
    let mut samplings: Vec<Sampled> = Vec::new();
    let mut add =
        |organiser, producer, brand, model, standards: Vec<&'static str>, date: &str, follow_up| {
            samplings.push(Sampled {
                report_no: format!("PLAN-{:04}", samplings.len() + 1),
                organiser,
                producer,
                brand,
                model,
                standards,
                date: day(date),
                follow_up,
                failed: false,
            });
        };
    // Six months to the day is allowed; a day less is a repeat.
    add(
        organisers[0],
        0,
        Some("甲"),
        "TDT-1",
        vec!["GB 17761-2024"],
        "2026-01-10",
        false,
    );
    add(
        organisers[0],
        0,
        Some("甲"),
        "TDT-1",
        vec!["GB 17761-2024"],
        "2026-07-10",
        false,
    );
    add(
        organisers[0],
        0,
        Some("甲"),
        "TDT-2",
        vec!["GB 17761-2024"],
        "2026-01-10",
        false,
    );
    add(
        organisers[0],
        0,
        Some("甲"),
        "TDT-2",
        vec!["GB 17761-2024"],
        "2026-07-09",
        false,
    );
    // A follow-up check of a failure is exempt (PLAN-0005 fails, below); another organiser,
    // brand or standard is another product.
    add(
        organisers[0],
        3,
        None,
        "BV-2.5",
        vec![],
        "2026-02-01",
        false,
    );
    add(organisers[0], 3, None, "BV-2.5", vec![], "2026-03-01", true);
    add(
        organisers[1],
        3,
        None,
        "BV-2.5",
        vec![],
        "2026-03-02",
        false,
    );
    add(
        organisers[0],
        3,
        Some("丁"),
        "BV-2.5",
        vec![],
        "2026-03-03",
        false,
    );
    add(
        organisers[0],
        6,
        None,
        "JZ-1",
        vec!["GB 16410-2020"],
        "2026-02-01",
        false,
    );
    add(
        organisers[0],
        6,
        None,
        "JZ-1",
        vec!["GB 30720-2014"],
        "2026-02-02",
        false,
    );
    // Two labs' samples on one day: one of them is the repeat.
    add(
        organisers[1],
        5,
        Some("己"),
        "ABS-1",
        vec![],
        "2026-05-05",
        false,
    );
    add(
        organisers[1],
        5,
        Some("己"),
        "ABS-1",
        vec![],
        "2026-05-05",
        false,
    );
    let mut seed: u64 = 0x5eed;
    let mut next = |below: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % below
    };
    let brands = [Some("甲"), Some("乙"), None];
    let models = ["M-1", "M-2", "M-3"];
    let standards = [vec!["GB A"], vec!["GB B"], vec![]];
    for _ in 0..240 {
        let date = day("2025-06-01") + chrono::Days::new(next(518));
        add(
            organisers[next(2) as usize],
            next(producers.len() as u64) as usize,
            brands[next(3) as usize],
            models[next(3) as usize],
            standards[next(3) as usize].clone(),
            &date.to_string(),
            next(10) == 0,
        );
    }
    // The planted repeat PLAN-0004 fails, so that its case page shows the warning; PLAN-0005
    // fails, so that PLAN-0006 is a follow-up check of a failure.
    for planted in &mut samplings[3..5] {
        planted.failed = true;
    }
    let lines: Vec<String> = samplings
        .iter()
        .map(|s| {
            let producer = &producers[s.producer];
            let mut record = json!({
                "report_no": s.report_no, "lab_id": "dev-lab", "task_id": "T-PLAN",
                "organiser": s.organiser, "category": producer.category,
                "product": {"name": "抽查产品", "brand": s.brand, "model": s.model, "batch": "B1"},
                "producer": {"uscc": producer.uscc, "name": producer.name},
                "sampled_unit": {"name": "天津市南开区某商店", "district": "120104", "role": "retailer"},
                "sampling": {"date": s.date, "domain": "circulation"},
                "tested_on": s.date + chrono::Days::new(5), "standards": s.standards,
                "items": [{"name": "标志", "verdict": "pass"}], "verdict": "pass",
                "follow_up": s.follow_up
            });
            // The planted repeat and the follow-up's first sampling fail (below).
            if s.failed {
                record["verdict"] = json!("fail");
                record["severity"] = json!("general");
                record["items"] = json!([{"name": "最高车速", "required": "≤25 km/h",
                                          "measured": "31 km/h", "verdict": "fail"}]);
            }
            record.to_string()
        })
        .collect();
    post(&up, "/v1/results", "lab", lines.join("\n"));
    wait_until("the results and units in the lake", || {
        let results = sql(
            &up,
            "SELECT count(*) AS n FROM results WHERE task_id = 'T-PLAN'",
        );
        let units = sql(
            &up,
            "SELECT count(*) AS n FROM units WHERE name LIKE '天津%'",
        );
        results[0]["n"] == samplings.len() && units[0]["n"] == 6
    });

    let mut expected = BTreeSet::new();
    for later in &samplings {
        for earlier in &samplings {
            if repeats(later, earlier, &samplings, &producers) {
                expected.insert((
                    "six_month_repeat".to_owned(),
                    later.report_no.clone(),
                    earlier.report_no.clone(),
                ));
            }
        }
        if lacks_licence(later, &producers) {
            expected.insert((
                "licence_missing".to_owned(),
                later.report_no.clone(),
                String::new(),
            ));
        }
    }
    for planted in [("PLAN-0004", "PLAN-0003"), ("PLAN-0012", "PLAN-0011")] {
        let key = (
            "six_month_repeat".to_owned(),
            planted.0.to_owned(),
            planted.1.to_owned(),
        );
        assert!(expected.contains(&key), "the oracle plants {planted:?}");
    }
    let found: BTreeSet<(String, String, String)> = sql(
        &up,
        "SELECT kind, report_no, earlier_report_no FROM warnings WHERE lab_id = 'dev-lab'",
    )
    .iter()
    .map(|row| {
        (
            row["kind"].as_str().unwrap().to_owned(),
            row["report_no"].as_str().unwrap().to_owned(),
            row["earlier_report_no"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    })
    .collect();
    let repeats_found = found.iter().filter(|w| w.0 == "six_month_repeat").count();
    let licences_found = found.iter().filter(|w| w.0 == "licence_missing").count();
    assert!(
        repeats_found >= 10 && licences_found >= 10,
        "{repeats_found} repeats, {licences_found} licences"
    );
    assert_eq!(
        found, expected,
        "every planted warning found, none invented"
    );

    // The case of the failed repeat shows the warning to the officials who handle it.
    let case_id = spotcheck_schemas::case_id("dev-lab", "PLAN-0004");
    wait_until("the repeat's case in the lake", || {
        sql(
            &up,
            &format!("SELECT count(*) AS n FROM cases WHERE case_id = '{case_id}'"),
        )[0]["n"]
            == 1
    });
    let page = client
        .get(up.url(&format!("/ui/cases/{case_id}")))
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.contains("六个月内重复抽查") && page.contains("报告 PLAN-0003"),
        "{page}"
    );

    // Before travelling: the plan check names the earlier results a planned sampling repeats.
    // A follow-up of TDT-2 follows PLAN-0004's failure; one of TDT-1 follows passes only.
    let planned = json!([
        {"organiser": organisers[0], "producer_name": producers[0].name, "brand": "甲",
         "model": "TDT-1", "standards": ["GB 17761-2024"], "date": "2026-12-20"},
        {"organiser": organisers[0], "producer_name": producers[0].name, "brand": "甲",
         "model": "TDT-2", "date": "2026-12-20", "follow_up": true},
        {"organiser": "天津市河西区市场监督管理局", "producer_name": producers[0].name,
         "brand": "甲", "model": "TDT-1", "date": "2026-12-20"},
        {"organiser": organisers[0], "producer_name": producers[0].name, "brand": "甲",
         "model": "TDT-1", "date": "2026-12-20", "follow_up": true},
    ]);
    let answer: Value = client
        .post(up.url("/v1/plan/check"))
        .bearer_auth(up.token("admin"))
        .json(&planned)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let first = Sampled {
        report_no: "planned".into(),
        organiser: organisers[0],
        producer: 0,
        brand: Some("甲"),
        model: "TDT-1",
        standards: vec!["GB 17761-2024"],
        date: day("2026-12-20"),
        follow_up: false,
        failed: false,
    };
    let follow_up_of_passes = Sampled {
        standards: vec![],
        follow_up: true,
        ..first.clone()
    };
    let expected_earlier = |planned: &Sampled| -> Vec<&str> {
        samplings
            .iter()
            .filter(|earlier| repeats(planned, earlier, &samplings, &producers))
            .map(|earlier| earlier.report_no.as_str())
            .collect()
    };
    assert!(
        !expected_earlier(&first).is_empty(),
        "PLAN-0002 of 2026-07-10 is within six months"
    );
    assert_eq!(answer["checked"], 4, "{answer}");
    let conflicts = answer["conflicts"].as_array().unwrap();
    let indices: Vec<&Value> = conflicts.iter().map(|c| &c["index"]).collect();
    assert_eq!(indices, [0, 3], "{answer}");
    for (conflict, planned) in conflicts.iter().zip([&first, &follow_up_of_passes]) {
        let warnings = conflict["warnings"].as_array().unwrap();
        assert!(
            warnings.iter().all(|w| w["kind"] == "six_month_repeat"
                && w["message"].as_str().unwrap().contains("此前抽查无不合格")
                    == planned.follow_up),
            "{answer}"
        );
        let mut earlier: Vec<&str> = warnings
            .iter()
            .map(|w| w["earlier"]["report_no"].as_str().unwrap())
            .collect();
        earlier.sort_unstable();
        assert_eq!(earlier, expected_earlier(planned));
    }

    // A lab's sheet is answered with the warnings of the rows it took: a repeat of PLAN-0002,
    // and a producer whose only licence is of the wrong kind.
    let sheet = format!(
        "报告编号,组织抽查单位,产品类别,产品名称,抽查领域,被抽样单位,标称生产企业,\
         标称生产企业统一社会信用代码,商标,规格型号,检验依据,生产日期/批号,抽样日期,检验日期,检验结论\n\
         SHEET-1,{org},电动自行车,电动自行车,流通,某车行,{p0},{u0},甲,TDT-1,GB 17761-2024,B9,2026-08-01,2026-08-05,合格\n\
         SHEET-2,{org},电动自行车,电动自行车,流通,某车行,{p2},{u2},丙,TDT-9,GB 17761-2024,B9,2026-08-01,2026-08-05,合格\n",
        org = organisers[0],
        p0 = producers[0].name,
        u0 = producers[0].uscc,
        p2 = producers[2].name,
        u2 = producers[2].uscc,
    );
    let answer: Value = client
        .post(up.url("/v1/results"))
        .bearer_auth(up.token("lab"))
        .header("content-type", "text/csv")
        .body(sheet)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let taken = answer["accepted"].as_array().unwrap();
    assert_eq!(taken.len(), 2, "{answer}");
    let kinds = |i: usize| -> Vec<(String, String)> {
        taken[i]["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                (
                    w["kind"].as_str().unwrap().to_owned(),
                    w["earlier"]["report_no"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    };
    let first = kinds(0);
    assert!(
        first.contains(&("six_month_repeat".into(), "PLAN-0002".into())),
        "{answer}"
    );
    assert!(
        first.iter().all(|(kind, _)| kind == "six_month_repeat"),
        "{answer}"
    );
    assert_eq!(
        kinds(1),
        [("licence_missing".to_owned(), String::new())],
        "{answer}"
    );

    // PLAN-0005's failure overturned by the re-test: PLAN-0006 follows no failure any more, and
    // repeats it.
    samplings[4].failed = false;
    assert!(repeats(
        &samplings[5],
        &samplings[4],
        &samplings,
        &producers
    ));
    let retest = json!({"disposition_id": "RETEST-PLAN-5", "report_no": "PLAN-0005",
        "lab_id": "dev-lab", "kind": "retest_concluded", "on": "2026-02-20",
        "outcome": "overturned"});
    post(&up, "/v1/dispositions", "admin", retest.to_string());
    wait_until("the follow-up of an overturned failure warned", || {
        sql(
            &up,
            "SELECT message FROM warnings \
             WHERE report_no = 'PLAN-0006' AND earlier_report_no = 'PLAN-0005'",
        )
        .first()
        .is_some_and(|w| w["message"].as_str().unwrap().contains("此前抽查无不合格"))
    });
}

#[test]
fn the_archive_of_a_unit_shows_its_results_cases_notices_disclosures_and_retraction_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let client = reqwest::blocking::Client::new();
    let producer = uscc("120116", 41);
    let unit = json!({"uscc": producer, "name": "天津津安燃气具有限公司", "address": "天津市滨海新区津安路1号",
                      "district": "120116", "roles": ["producer"],
                      "licences": [{"kind": "CCC", "number": "2020010801000001", "valid_until": "2029-12-31"}]});
    let response = client
        .put(up.url(&format!("/v1/units/{producer}")))
        .bearer_auth(up.token("admin"))
        .json(&unit)
        .send()
        .unwrap();
    assert!(response.status().is_success());
    let result = |report: &str, verdict: &str, sampled_days_ago: u64, served_days_ago: u64| {
        json!({
            "report_no": report, "lab_id": "dev-lab", "organiser": "天津市市场监督管理委员会",
            "category": "gas_appliance",
            "product": {"name": "家用燃气灶具", "brand": "津安", "model": report, "batch": "20260301"},
            "producer": {"uscc": producer, "name": "天津津安燃气具有限公司"},
            "sampled_unit": {"uscc": uscc("120104", 42), "name": "南开区某燃气具商店",
                             "district": "120104", "role": "retailer"},
            "sampling": {"date": days_ago(sampled_days_ago), "domain": "circulation"},
            "tested_on": days_ago(served_days_ago), "served_on": days_ago(served_days_ago),
            "items": [{"name": "熄火保护装置", "required": "≤60 s", "measured": "75 s", "verdict": verdict}],
            "verdict": verdict,
            "severity": if verdict == "fail" { json!("general") } else { Value::Null }
        })
        .to_string()
    };
    post(
        &up,
        "/v1/results",
        "lab",
        [
            result("ARC-1", "pass", 90, 80),
            result("ARC-2", "fail", 60, 40),
            result("ARC-3", "fail", 50, 35),
        ]
        .join("\n"),
    );
    // Two on-site inspections of the factory: a finding below a mandatory standard (a case of
    // its own), then one that found nothing.
    for (id, on, findings) in [
        (
            "JC-ARC-1",
            days_ago(25),
            json!([{"kind": "below_mandatory_standard", "category": "gas_appliance",
                    "description": "成品库在售灶具熄火保护装置缺失", "standard": "GB 16410-2020",
                    "product": {"name": "家用燃气灶具", "model": "JA-2", "batch": "20260401"},
                    "producer": {"uscc": producer, "name": "天津津安燃气具有限公司"},
                    "evidence": ["现场检查笔录 BH-0425"]}]),
        ),
        ("JC-ARC-2", days_ago(3), json!([])),
    ] {
        post(
            &up,
            "/v1/inspections",
            "inspector",
            json!({"inspection_id": id, "inspected_on": on, "inspectors": ["王强", "李明"],
                   "unit": {"uscc": producer, "name": "天津津安燃气具有限公司", "role": "producer",
                            "district": "120116"},
                   "place": "天津市滨海新区津安路1号 成品库", "findings": findings})
            .to_string(),
        );
    }
    wait_until("both failures disclosed", || {
        sql(
            &up,
            &format!(
                "SELECT count(DISTINCT report_no) AS n FROM disclosures \
                 WHERE subject_uscc = '{producer}' AND action = 'publish'"
            ),
        )[0]["n"]
            == 2
    });
    // An objection inside ARC-3's window, then a re-test that overturns it: retracted.
    for (id, kind, on, outcome) in [
        ("ARC-OBJ", "objection_filed", days_ago(30), Value::Null),
        (
            "ARC-RT",
            "retest_concluded",
            days_ago(20),
            json!("overturned"),
        ),
    ] {
        post(
            &up,
            "/v1/dispositions",
            "admin",
            json!({"disposition_id": id, "report_no": "ARC-3", "lab_id": "dev-lab", "kind": kind,
                   "on": on, "outcome": outcome})
            .to_string(),
        );
    }
    wait_until("the retraction in the lake", || {
        sql(
            &up,
            "SELECT count(*) AS n FROM disclosures WHERE report_no = 'ARC-3' AND action = 'retract'",
        )[0]["n"]
            .as_u64()
            .unwrap()
            >= 1
    });
    wait_until("the inspection's case in the lake", || {
        sql(
            &up,
            &format!(
                "SELECT count(*) AS n FROM archive WHERE uscc = '{producer}' AND event = 'case' \
                 AND lab_id = 'inspection'"
            ),
        )[0]["n"]
            .as_u64()
            .unwrap()
            >= 1
    });
    wait_until("the notices in the lake", || {
        sql(
            &up,
            &format!(
                "SELECT count(*) AS n FROM archive WHERE uscc = '{producer}' AND event = 'notice'"
            ),
        )[0]["n"]
            .as_u64()
            .unwrap()
            >= 1
    });

    // The code looked up is bound as a value, never read as SQL: one that tries to widen the
    // query finds no unit.
    let widened = client
        .get(up.url(&format!("/v1/units/{producer}' OR uscc <> '/archive")))
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap();
    assert_eq!(widened.status(), 404, "{}", widened.text().unwrap());
    let archive: Value = client
        .get(up.url(&format!("/v1/units/{producer}/archive")))
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        archive["unit"]["name"], "天津津安燃气具有限公司",
        "{archive}"
    );
    let events = archive["events"].as_array().unwrap();
    let of = |event: &str| -> Vec<(String, String)> {
        events
            .iter()
            .filter(|e| e["event"] == event)
            .map(|e| {
                (
                    e["report_no"].as_str().unwrap_or_default().to_owned(),
                    e["status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        of("produced"),
        [
            ("ARC-1".to_owned(), "pass".to_owned()),
            ("ARC-2".to_owned(), "fail".to_owned()),
            ("ARC-3".to_owned(), "fail".to_owned())
        ],
        "{archive}"
    );
    let disclosed: BTreeSet<String> = of("disclosure").into_iter().map(|(r, _)| r).collect();
    assert_eq!(
        disclosed,
        BTreeSet::from(["ARC-2".to_owned(), "ARC-3".to_owned()])
    );
    assert!(of("retraction").iter().all(|(r, _)| r == "ARC-3") && !of("retraction").is_empty());
    let cases: BTreeSet<String> = of("case").into_iter().map(|(r, _)| r).collect();
    assert_eq!(
        cases,
        BTreeSet::from([
            "ARC-2".to_owned(),
            "ARC-3".to_owned(),
            "JC-ARC-1/1".to_owned()
        ])
    );
    assert_eq!(
        of("inspected"),
        [
            (
                "JC-ARC-1/1".to_owned(),
                "below_mandatory_standard".to_owned()
            ),
            ("JC-ARC-2".to_owned(), "no_finding".to_owned())
        ],
        "{archive}"
    );
    assert!(!of("notice").is_empty(), "{archive}");
    let dates: Vec<&str> = events
        .iter()
        .map(|e| e["on_date"].as_str().unwrap())
        .collect();
    assert!(
        dates.windows(2).all(|w| w[0] <= w[1]),
        "in date order: {dates:?}"
    );
    // The retraction comes after the disclosure it withdraws.
    let position = |event: &str| {
        events
            .iter()
            .position(|e| e["event"] == event && e["report_no"] == "ARC-3")
    };
    assert!(position("disclosure") < position("retraction"));

    // The DOCX for the unit's file has the same records.
    let docx = client
        .get(up.url(&format!("/v1/units/{producer}/archive.docx")))
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let document = docx_text(&docx);
    for expected in [
        "产品质量安全信用档案",
        "天津津安燃气具有限公司",
        "撤回公示",
        "ARC-1",
        "ARC-2",
        "ARC-3",
        "2029-12-31",
    ] {
        assert!(document.contains(expected), "{expected} not in the DOCX");
    }

    // The page, in Chinese, in Chromium.
    let page = client
        .get(up.url(&format!("/ui/units/{producer}")))
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let html = dir.path().join("archive.html");
    std::fs::write(&html, &page).unwrap();
    let png = dir.path().join("unit-archive.png");
    let dom = render_in_chromium(&html, &png);
    if let Ok(keep) = std::env::var("SPOTCHECK_KEEP_SCREENSHOTS") {
        std::fs::copy(&png, Path::new(&keep).join("unit-archive.png")).unwrap();
    }
    for expected in [
        "产品质量安全信用档案",
        "天津津安燃气具有限公司",
        "2029-12-31",
        "标称生产的产品被抽查",
        "列入案件",
        "三书一函",
        "信用公示",
        "撤回公示",
        "燃气用具",
        "不合格",
        "现场检查",
        "不符合强制性标准",
        "未发现问题",
    ] {
        assert!(dom.contains(expected), "{expected} not on the page");
    }
    assert_eq!(
        dom.matches("data-event=").count(),
        events.len(),
        "every event on the page"
    );

    // A shop never registered is named as its results name it, and said to be unregistered.
    let shop = client
        .get(up.url(&format!("/ui/units/{}", uscc("120104", 42))))
        .bearer_auth(up.token("analyst"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        shop.contains(
            "南开区某燃气具商店（据检验报告或检查记录；未在重点工业产品生产销售单位数据库登记）"
        ),
        "{shop}"
    );
}

#[test]
fn where_to_sample_next_puts_the_planted_risky_units_first_and_keeps_the_six_month_rule() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let up = Up::start(&data);
    // `spotcheck gen` sizes its registry by batches: 35,000 shipments make about 5,000 units.
    let generated = generate(dir.path(), 4_000, 35_000);
    for (file, role) in [("units.ndjson", "admin"), ("results.ndjson", "lab")] {
        let posted = Command::new(support::BIN)
            .args(["post", "--url", &up.url(""), "--token", &up.token(role)])
            .arg(generated.join(file))
            .output()
            .unwrap();
        assert!(
            posted.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&posted.stdout)
        );
    }
    let units: Vec<Value> = std::fs::read_to_string(generated.join("units.ndjson"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(units.len() >= 5_000, "{} units", units.len());
    let results = std::fs::read_to_string(generated.join("results.ndjson"))
        .unwrap()
        .lines()
        .count();
    // Fifty Tianjin shops made risky: three failures in the year before the quarter (the last
    // by this organiser within six months, so they may only come back as follow-ups), and a
    // rural location.
    let organiser = "天津市市场监督管理委员会";
    let planted: Vec<&Value> = units
        .iter()
        .filter(|u| {
            u["roles"] == json!(["retailer"]) && u["district"].as_str().unwrap().starts_with("12")
        })
        .step_by(7)
        .take(50)
        .collect();
    assert_eq!(planted.len(), 50);
    let client = reqwest::blocking::Client::new();
    let mut lines = Vec::new();
    for (n, unit) in planted.iter().enumerate() {
        let mut rural = (*unit).clone();
        rural["area"] = json!("rural");
        let uscc = unit["uscc"].as_str().unwrap();
        let response = client
            .put(up.url(&format!("/v1/units/{uscc}")))
            .bearer_auth(up.token("admin"))
            .json(&rural)
            .send()
            .unwrap();
        assert!(response.status().is_success());
        for (k, sampled) in ["2026-09-01", "2026-06-15", "2026-02-10"]
            .iter()
            .enumerate()
        {
            let date = chrono::NaiveDate::parse_from_str(sampled, "%Y-%m-%d").unwrap();
            lines.push(
                json!({
                    "report_no": format!("RISK-{n:02}-{k}"), "lab_id": "dev-lab", "organiser": organiser,
                    "category": "safety_helmet",
                    "product": {"name": "安全帽", "brand": "某", "model": format!("AQM-{n}-{k}"), "batch": "B1"},
                    "producer": {"name": "某安全帽厂"},
                    "sampled_unit": {"uscc": uscc, "name": unit["name"], "district": unit["district"], "role": "retailer"},
                    "sampling": {"date": sampled, "domain": "circulation"},
                    "tested_on": date + chrono::Days::new(5), "served_on": date + chrono::Days::new(6),
                    "items": [{"name": "冲击吸收性能", "verdict": "fail"}], "verdict": "fail", "severity": "general"
                })
                .to_string(),
            );
        }
    }
    post(&up, "/v1/results", "lab", lines.join("\n"));
    let expected = results + lines.len();
    wait_until("every result in the lake", || {
        sql(&up, "SELECT count(*) AS n FROM results")[0]["n"] == expected
    });
    wait_until("the rural shops in the registry", || {
        sql(&up, "SELECT count(*) AS n FROM units WHERE area = 'rural'")[0]["n"] == 50
    });

    let answer: Value = client
        .get(up.url("/v1/plan/suggest"))
        .query(&[
            ("quarter", "2026Q4"),
            ("organiser", organiser),
            ("limit", "100"),
        ])
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 100, "{answer}");
    let planted_usccs: BTreeSet<&str> = planted
        .iter()
        .map(|u| u["uscc"].as_str().unwrap())
        .collect();
    let found = items
        .iter()
        .filter(|i| planted_usccs.contains(i["uscc"].as_str().unwrap()))
        .count();
    println!("{found} of the 50 planted units in the top 100");
    assert!(
        found >= 45,
        "{found} of the 50 planted units in the top 100: {answer}"
    );
    for item in items {
        assert!(!item["reasons"].as_array().unwrap().is_empty(), "{item}");
    }
    // The six-month rule: a unit the organiser sampled since 2026-04-01 is listed only as a
    // follow-up of a failure.
    let recent: BTreeSet<String> = sql(
        &up,
        &format!(
            "SELECT DISTINCT sampled_unit_uscc AS uscc FROM results WHERE organiser = '{organiser}' \
             AND sampling_date >= DATE '2026-04-01' AND sampling_date < DATE '2026-10-01' \
             AND sampled_unit_uscc IS NOT NULL \
             UNION SELECT DISTINCT producer_uscc FROM results WHERE organiser = '{organiser}' \
             AND sampling_date >= DATE '2026-04-01' AND sampling_date < DATE '2026-10-01' \
             AND producer_uscc IS NOT NULL"
        ),
    )
    .iter()
    .map(|r| r["uscc"].as_str().unwrap().to_owned())
    .collect();
    for item in items {
        if recent.contains(item["uscc"].as_str().unwrap()) {
            assert_eq!(item["follow_up"], true, "sampled within six months: {item}");
        }
    }

    // The same list as a workbook, and from the command line.
    let workbook = client
        .get(up.url("/v1/plan/suggest"))
        .query(&[
            ("quarter", "2026Q4"),
            ("organiser", organiser),
            ("limit", "100"),
            ("format", "xlsx"),
        ])
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let file = dir.path().join("plan.xlsx");
    std::fs::write(&file, &workbook).unwrap();
    let rows = sheet_rows(&file, "抽查建议");
    assert_eq!(rows.len(), 101);
    assert_eq!(rows[1][2], items[0]["uscc"].as_str().unwrap());
    let printed = Command::new(support::BIN)
        .args([
            "plan",
            "--data-dir",
            data.to_str().unwrap(),
            "--quarter",
            "2026Q4",
            "--limit",
            "3",
        ])
        .args(["--organiser", organiser])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&printed.stdout);
    assert!(printed.status.success(), "{stdout}");
    assert!(
        stdout.contains(items[0]["uscc"].as_str().unwrap()),
        "{stdout}"
    );

    // A failure overturned by its re-test is the pass the re-test concluded: a shop whose three
    // failures were all overturned has none to be followed up, and the organiser sampled it
    // within six months, so it is not suggested at all.
    let cleared = planted[0]["uscc"].as_str().unwrap();
    assert!(items.iter().any(|i| i["uscc"] == cleared), "{answer}");
    for k in 0..3 {
        let retest = json!({"disposition_id": format!("RETEST-{k}"),
            "report_no": format!("RISK-00-{k}"), "lab_id": "dev-lab",
            "kind": "retest_concluded", "on": "2026-09-30", "outcome": "overturned"});
        post(&up, "/v1/dispositions", "admin", retest.to_string());
    }
    wait_until("the three overturned cases in the lake", || {
        sql(
            &up,
            "SELECT count(*) AS n FROM cases WHERE report_no LIKE 'RISK-00-%' AND status = 'overturned'",
        )[0]["n"]
            == 3
    });
    let again: Value = client
        .get(up.url("/v1/plan/suggest"))
        .query(&[
            ("quarter", "2026Q4"),
            ("organiser", organiser),
            ("limit", "10000"),
        ])
        .bearer_auth(up.token("admin"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let suggested = again["items"].as_array().unwrap();
    assert!(suggested.len() > 100, "{again}");
    assert!(
        suggested.iter().all(|i| i["uscc"] != cleared),
        "the overturned shop is still suggested: {again}"
    );
}

/// The case and its result reach the lake by separate topics. A lab's notice asked for in
/// between is not printed without the product and failed items it rests on: the answer is
/// "not yet" (`503` with `Retry-After` over HTTP), and the notice once the result is there.
#[tokio::test]
async fn a_notice_waits_for_its_result_to_reach_the_lake() {
    use spotcheck_analytics::{Analytics, QueryLimits};
    use spotcheck_lake::{LakeSettings, LakeWriter};
    use spotcheck_reports::{ReportError, notice};
    use spotcheck_runtime::{Delivered, Stage};
    use spotcheck_schemas::topics;
    let delivered = |topic: &str, value: &Value| Delivered {
        topic: topic.into(),
        partition: 0,
        offset: 0,
        key: None,
        payload: value.to_string().into_bytes(),
        headers: vec![],
    };
    let result = support::result("TJ-WAIT-1");
    let shop = result["sampled_unit"]["uscc"].as_str().unwrap().to_owned();
    let case_id = spotcheck_schemas::case_id("dev-lab", "TJ-WAIT-1");
    let case = json!({
        "case_id": case_id, "revision": 1, "report_no": "TJ-WAIT-1", "lab_id": "dev-lab",
        "category": "gas_appliance",
        "batch": {"key": "k", "producer_name": "某某燃气具有限公司", "producer_uscc": null,
                  "model": "JZT-2", "batch": "20260301"},
        "status": "final", "origin": {"uscc": shop, "name": "南开区某某商店", "role": "retailer"},
        "units": [], "referrals": [],
        "notices": [{"kind": "rectification", "to": shop, "due_on": "2026-07-13", "status": "proposed"}],
        "deadlines": {"objection_until": "2026-05-11", "rectify_by": "2026-07-13", "recheck_by": null},
        "gaps": [], "updated_at": "2026-05-12T08:00:00Z"
    });
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::new(LakeSettings::new(dir.path()));
    writer
        .apply(&[delivered(topics::CASES, &case)])
        .await
        .unwrap();
    writer.idle().await.unwrap();
    let today = spotcheck_schemas::days::today();
    let law = spotcheck_traceback::Authority::default();
    let lake = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    let early = notice::notice(&lake, &case_id, 1, today, &law).await;
    assert!(
        matches!(&early, Err(ReportError::NotYet(message)) if message.contains("TJ-WAIT-1")),
        "{early:?}"
    );
    writer
        .apply(&[delivered(topics::RESULTS, &result)])
        .await
        .unwrap();
    writer.idle().await.unwrap();
    let lake = Analytics::open(dir.path(), QueryLimits::default())
        .await
        .unwrap();
    let printed = notice::notice(&lake, &case_id, 1, today, &law)
        .await
        .unwrap();
    assert_eq!(printed.failed_items[0].name, "熄火保护装置");
}

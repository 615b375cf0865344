//! The case pages: a list of cases, and one case — its facts, deadlines and notices, and the
//! distribution graph of its batch drawn as SVG (producer at the root on the left, the upstream
//! path to the sampled unit in red, the sampled unit marked, units outside the region dashed and
//! labelled as referrals). Server-rendered HTML (templates `case.html`, `cases.html`) with inline
//! SVG and CSS, in Chinese: nothing is fetched.

use crate::ReportError;
use crate::notice::{self, FailedItem};
use crate::svg::escape;
use crate::table::{TextRow, get, text_rows};
use crate::templates::render;
use crate::trace::{Hop, trace};
use serde::Serialize;
use serde_json::json;
use spotcheck_analytics::Analytics;
use spotcheck_schemas::case::{CaseStatus, Step, SubjectDisclosure};
use spotcheck_schemas::days;
use spotcheck_schemas::enums::{Category, Direction, FindingKind, SubjectRole, UnitRole};
use spotcheck_schemas::inspection::INSPECTION_LAB_ID;
use spotcheck_schemas::keys::BatchKey;
use spotcheck_schemas::names::{division_name, zh};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The newest cases, newest first (at most 500), as an HTML page linking each case.
pub async fn list_page(analytics: &Analytics) -> Result<String, ReportError> {
    let cases = text_rows(
        analytics,
        "SELECT case_id, report_no, producer_name, model, batch, status, units, updated_at, \
         gaps_json FROM cases ORDER BY updated_at DESC, case_id LIMIT 500",
        &[],
    )
    .await?;
    let cases: Vec<BTreeMap<&str, String>> = cases
        .iter()
        .map(|case| {
            let mut row: BTreeMap<&str, String> = case
                .iter()
                .map(|(column, value)| (column.as_str(), value.clone()))
                .collect();
            row.insert("path", percent_encode(get(case, "case_id")));
            row.insert("status", status_zh(get(case, "status")));
            row.insert("updated_at", time_zh(get(case, "updated_at")));
            // How many things to settle before serving or disclosing (listed on its page).
            let gaps = texts(case, "gaps_json").len();
            row.insert(
                "gaps",
                if gaps == 0 {
                    "—".into()
                } else {
                    gaps.to_string()
                },
            );
            row
        })
        .collect();
    render("cases.html", json!({ "cases": cases }))
}

/// The page of one case.
pub async fn case_page(analytics: &Analytics, case_id: &str) -> Result<String, ReportError> {
    let id = [("case_id", case_id)];
    let case = text_rows(
        analytics,
        "SELECT * FROM cases WHERE case_id = $case_id",
        &id,
    )
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| ReportError::NotFound(format!("no case {case_id} in the lake")))?;
    let units = text_rows(
        analytics,
        "SELECT * FROM case_units WHERE case_id = $case_id ORDER BY hops, name",
        &id,
    )
    .await?;
    let hops = match BatchKey::parse(get(&case, "batch_key")) {
        Some(batch) => match trace(analytics, &batch).await {
            Ok(trace) => trace.hops,
            Err(ReportError::NotFound(_)) => Vec::new(),
            Err(error) => return Err(error),
        },
        None => Vec::new(),
    };
    let failed_items = notice::failed_items(analytics, &case).await?;
    // The sampling-plan warnings on the case's result (six-month rule, licences).
    let warnings = text_rows(
        analytics,
        "SELECT kind_zh, message FROM warnings WHERE report_no = $report_no AND lab_id = $lab_id \
         ORDER BY kind, earlier_sampling_date",
        &[
            ("report_no", get(&case, "report_no")),
            ("lab_id", get(&case, "lab_id")),
        ],
    )
    .await?;
    // A case opened on site: the inspection's finding (every refusal, for a refusal case).
    let inspections = if get(&case, "lab_id") == INSPECTION_LAB_ID {
        text_rows(
            analytics,
            "SELECT inspection_id, inspected_on, inspectors, place, kind, description, \
             product_name, standard, supplier_name, supplier_uscc, evidence \
             FROM inspections WHERE case_report_no = $report_no ORDER BY inspected_on, inspection_id",
            &[("report_no", get(&case, "report_no"))],
        )
        .await?
    } else {
        Vec::new()
    };
    let subjects = text_rows(
        analytics,
        "SELECT role, name, uscc, identified_by, disclosure FROM case_subjects \
         WHERE case_id = $case_id ORDER BY role, name",
        &id,
    )
    .await?;
    let shown = Shown {
        lab: analytics.lab_name(get(&case, "lab_id")),
        failed_items: &failed_items,
        warnings: &warnings,
        inspections: &inspections,
        subjects: &subjects,
    };
    render_case(&case, &units, &hops, &shown)
}

/// The case's rows besides its units and hops, as read from the lake.
struct Shown<'a> {
    /// The lab's name, if the configuration gives one.
    lab: Option<&'a str>,
    failed_items: &'a [FailedItem],
    warnings: &'a [TextRow],
    inspections: &'a [TextRow],
    subjects: &'a [TextRow],
}

/// Whom the failure is recorded under, in Chinese: each subject, how it was identified and what
/// the credit record does with it.
fn subjects_shown(rows: &[TextRow]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|row| {
            let identified = match get(row, "identified_by") {
                "given" => "检验报告载明",
                "same_name" => "检验报告载明（同名的被抽样单位或生产者）",
                "official" => "执法人员认定",
                "registry_name" => "按名称匹配单位登记",
                "registry_name_district" => "按名称和所在区匹配单位登记",
                "ledger" => "按进销货台账匹配",
                _ => "—",
            };
            let disclosure = get(row, "disclosure");
            json!({
                "role": zh(get(row, "role"), SubjectRole::name_zh).unwrap_or(get(row, "role")),
                "name": get(row, "name"),
                "uscc": match get(row, "uscc") { "" => "（未识别）", uscc => uscc },
                "identified": identified,
                "disclosure": zh(disclosure, SubjectDisclosure::name_zh).unwrap_or(disclosure),
            })
        })
        .collect()
}

/// The inspection rows of a case, in Chinese.
fn inspections_shown(rows: &[TextRow]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|row| {
            let kind = get(row, "kind");
            let supplier = match (get(row, "supplier_name"), get(row, "supplier_uscc")) {
                ("", _) => String::new(),
                (name, "") => name.to_owned(),
                (name, uscc) => format!("{name}（{uscc}）"),
            };
            json!({
                "inspection_id": get(row, "inspection_id"),
                "on": notice::date_zh(get(row, "inspected_on")),
                "inspectors": get(row, "inspectors"),
                "place": get(row, "place"),
                "kind": zh(kind, FindingKind::name_zh).unwrap_or(kind),
                "description": get(row, "description"),
                "product": get(row, "product_name"),
                "standard": get(row, "standard"),
                "supplier": supplier,
                "evidence": get(row, "evidence"),
            })
        })
        .collect()
}

/// A case's status in words (the id itself when unknown).
/// A time of the lake (RFC 3339, UTC) as officials read it: China's date and time.
fn time_zh(text: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(text)
        .map_or_else(|_| text.to_owned(), |at| days::china_time_zh(at.to_utc()))
}

/// A column holding a JSON list of texts (none when null or not such a list).
fn texts(row: &TextRow, column: &str) -> Vec<String> {
    serde_json::from_str(get(row, column)).unwrap_or_default()
}

/// A quantity as people write it: `410`, not the lake's `410.0`.
fn whole(number: &str) -> &str {
    number.strip_suffix(".0").unwrap_or(number)
}

fn status_zh(status: &str) -> String {
    zh(status, CaseStatus::name_zh).unwrap_or(status).to_owned()
}

/// A label and a value of the facts list; `code` is the machine id shown beside a name.
#[derive(Serialize)]
struct Fact {
    label: &'static str,
    value: String,
    code: Option<String>,
}

fn render_case(
    case: &TextRow,
    units: &[TextRow],
    hops: &[Hop],
    shown: &Shown,
) -> Result<String, ReportError> {
    let case_id = get(case, "case_id");
    let fact = |label, column: &str| Fact {
        label,
        value: get(case, column).to_owned(),
        code: None,
    };
    let named = |label, column: &str, name: Option<&str>| {
        let code = get(case, column);
        Fact {
            label,
            value: name.unwrap_or(code).to_owned(),
            code: name.map(|_| code.to_owned()),
        }
    };
    let facts = vec![
        named(
            "状态",
            "status",
            zh(get(case, "status"), CaseStatus::name_zh),
        ),
        fact("报告编号", "report_no"),
        named(
            "承检机构",
            "lab_id",
            if get(case, "lab_id") == INSPECTION_LAB_ID {
                Some("现场检查（非抽样检验）")
            } else {
                shown.lab
            },
        ),
        named(
            "产品类别",
            "category",
            zh(get(case, "category"), Category::name_zh),
        ),
        fact("标称生产企业", "producer_name"),
        fact("生产企业统一社会信用代码", "producer_uscc"),
        fact("规格型号", "model"),
        fact("生产日期/批号", "batch"),
        fact("被抽样单位", "origin_name"),
        fact("被抽样单位统一社会信用代码", "origin_uscc"),
        named(
            "被抽样单位类型",
            "origin_role",
            zh(get(case, "origin_role"), UnitRole::name_zh),
        ),
        fact("案件版本", "revision"),
        Fact {
            label: "更新时间",
            value: time_zh(get(case, "updated_at")),
            code: None,
        },
    ];
    // Final and not yet ordered: the rectification and re-check periods will run from the
    // rectification notice's service; until then they are projected from finality. In the
    // re-test, an order already given runs all the same.
    let mark = match get(case, "status") {
        "final" => "（推算：整改通知书尚未送达，送达后自送达之日起计算）",
        "retest" => "（异议复检期间，责令整改不停止执行）",
        _ => "",
    };
    let deadlines: Vec<Fact> = [
        ("异议期届满", "objection_until"),
        ("检验结论确定日", "final_on"),
        ("整改期限", "rectify_by"),
        ("复查期限", "recheck_by"),
    ]
    .into_iter()
    .map(|(label, column)| {
        let mut value = notice::date_zh(get(case, column));
        if matches!(column, "rectify_by" | "recheck_by") && !value.is_empty() {
            value.push_str(mark);
        }
        Fact {
            label,
            value,
            code: None,
        }
    })
    .collect();
    let names: BTreeMap<&str, &str> = units
        .iter()
        .map(|unit| (get(unit, "uscc"), get(unit, "name")))
        .collect();
    let notices: Vec<_> = notice::entries(get(case, "notices_json"))
        .into_iter()
        .map(|entry| {
            json!({
                "number": entry.number,
                "title": entry.kind.name_zh(),
                "to_name": names.get(entry.to.as_str()).copied().unwrap_or(""),
                "to": entry.to,
                "due_on": entry.due_on.as_deref().map(notice::date_zh).unwrap_or_default(),
                "status": entry.status,
            })
        })
        .collect();
    // The case's other legal steps (stop of sale, warning, suspension, announcement…); a
    // revision landed before the lake kept them has none.
    let steps: Vec<Step> = serde_json::from_str(get(case, "steps_json")).unwrap_or_default();
    // A revision made before the gaps were said in Chinese has them in English only (until the
    // traceback re-derives it under the current rules): shown as they are, never as none.
    let (english, chinese) = (texts(case, "gaps_json"), texts(case, "gaps_zh_json"));
    let gaps = if chinese.len() == english.len() {
        chinese
    } else {
        english
    };
    let steps: Vec<_> = steps
        .iter()
        .map(|step| {
            json!({
                "title": step.kind.name_zh(),
                "due_on": step.due_on.map(|d| notice::date_zh(&d.to_string())).unwrap_or_default(),
                "done_on": step.done_on.map(|d| notice::date_zh(&d.to_string())).unwrap_or_default(),
                "status": step.status.name_zh(),
            })
        })
        .collect();
    let drawn = graph(units, hops);
    let units: Vec<_> = units
        .iter()
        .map(|unit| {
            let district = get(unit, "district");
            json!({
                "name": get(unit, "name"),
                "uscc": get(unit, "uscc"),
                "role": zh(get(unit, "role"), UnitRole::name_zh).unwrap_or(get(unit, "role")),
                "direction": zh(get(unit, "direction"), Direction::name_zh)
                    .unwrap_or(get(unit, "direction")),
                "hops": get(unit, "hops"),
                "quantity_received": whole(get(unit, "quantity_received")),
                "district": division_name(district).unwrap_or(district),
                "in_region": if get(unit, "in_region") == "true" { "是" } else { "否（移送）" },
                "duty": match get(unit, "responsible") {
                    _ if get(unit, "referred") == "true" => "移送有管辖权的部门处理",
                    "true" => "整改责任单位（整改、报告、复查）",
                    "false" => "持有该批次产品（停止销售、召回）",
                    _ => "",
                },
            })
        })
        .collect();
    render(
        "case.html",
        json!({
            "case_id": case_id,
            "case_path": percent_encode(case_id),
            "facts": facts,
            "gaps": gaps,
            "failed_items": shown.failed_items,
            "inspections": inspections_shown(shown.inspections),
            "subjects": subjects_shown(shown.subjects),
            "warnings": shown
                .warnings
                .iter()
                .map(|w| json!({"kind": get(w, "kind_zh"), "message": get(w, "message")}))
                .collect::<Vec<_>>(),
            "deadlines": deadlines,
            "notices": notices,
            "steps": steps,
            "graph": drawn,
            "batch_query": percent_encode(get(case, "batch_key")),
            "units": units,
        }),
    )
}

/// How a unit is drawn.
struct Node {
    name: String,
    direction: String,
    referred: bool,
}

/// The distribution graph: one column per level, the roots (the producer) on the left.
fn graph(units: &[TextRow], hops: &[Hop]) -> String {
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    for unit in units {
        nodes.insert(
            get(unit, "uscc").to_owned(),
            Node {
                name: get(unit, "name").to_owned(),
                direction: get(unit, "direction").to_owned(),
                referred: get(unit, "referred") == "true" || get(unit, "in_region") == "false",
            },
        );
    }
    let mut level: BTreeMap<String, u32> = BTreeMap::new();
    for hop in hops {
        for (uscc, name) in [
            (&hop.from_uscc, &hop.from_name),
            (&hop.to_uscc, &hop.to_name),
        ] {
            nodes.entry(uscc.clone()).or_insert_with(|| Node {
                name: name.clone(),
                direction: String::new(),
                referred: false,
            });
        }
        if let Some(l) = hop.level {
            let from = level.entry(hop.from_uscc.clone()).or_insert(l - 1);
            *from = (*from).min(l - 1);
            let to = level.entry(hop.to_uscc.clone()).or_insert(l);
            *to = (*to).min(l);
        }
    }
    // Units no shipment places (e.g. a case without ledger data) go by their hop count.
    for unit in units {
        let uscc = get(unit, "uscc");
        if !level.contains_key(uscc) {
            level.insert(uscc.to_owned(), get(unit, "hops").parse().unwrap_or(0));
        }
    }
    let mut columns: BTreeMap<u32, Vec<&String>> = BTreeMap::new();
    for uscc in nodes.keys() {
        // A unit only on a cycle of shipments has no level: draw it with the roots.
        let column = level.get(uscc).copied().unwrap_or(0);
        columns.entry(column).or_default().push(uscc);
    }
    const W: f64 = 180.0;
    const H: f64 = 44.0;
    let mut at: BTreeMap<&String, (f64, f64)> = BTreeMap::new();
    for (column, usccs) in &columns {
        for (row, uscc) in usccs.iter().enumerate() {
            at.insert(
                uscc,
                (
                    20.0 + *column as f64 * (W + 60.0),
                    20.0 + row as f64 * (H + 16.0),
                ),
            );
        }
    }
    let width = 40.0 + (columns.len().max(1) as f64) * (W + 60.0);
    let height = 40.0 + columns.values().map(Vec::len).max().unwrap_or(1) as f64 * (H + 16.0);
    let on_path: BTreeSet<&str> = nodes
        .iter()
        .filter(|(_, n)| n.direction == "upstream" || n.direction == "origin")
        .map(|(uscc, _)| uscc.as_str())
        .collect();
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="graph" viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    for hop in hops {
        let (Some(from), Some(to)) = (at.get(&hop.from_uscc), at.get(&hop.to_uscc)) else {
            continue;
        };
        let upstream = on_path.contains(hop.to_uscc.as_str())
            && (on_path.contains(hop.from_uscc.as_str()) || level.get(&hop.from_uscc) == Some(&0));
        let (colour, stroke) = if upstream {
            ("#c0392b", 3)
        } else {
            ("#999", 1)
        };
        let _ = write!(
            svg,
            r##"<line x1="{:.0}" y1="{:.0}" x2="{:.0}" y2="{:.0}" stroke="{colour}" stroke-width="{stroke}" data-upstream="{upstream}"/>"##,
            from.0 + W,
            from.1 + H / 2.0,
            to.0,
            to.1 + H / 2.0
        );
    }
    for (uscc, node) in &nodes {
        let (x, y) = at[uscc];
        let fill = match node.direction.as_str() {
            "origin" | "upstream" => "#fdebd0",
            "downstream" => "#d6eaf8",
            _ => "#eeeeee",
        };
        let border = if node.direction == "origin" {
            "stroke=\"#c0392b\" stroke-width=\"3\""
        } else {
            "stroke=\"#555\" stroke-width=\"1\""
        };
        let dash = if node.referred {
            " stroke-dasharray=\"5,3\""
        } else {
            ""
        };
        let mut note = match node.direction.as_str() {
            "" => "不属于本案".to_owned(),
            other => zh(other, Direction::name_zh).unwrap_or(other).to_owned(),
        };
        if node.referred {
            note.push_str(" · 移送");
        }
        let name: String = node.name.chars().take(16).collect();
        let _ = write!(
            svg,
            r##"<g data-uscc="{u}" data-direction="{d}" data-referral="{r}"><title>{full} ({u})</title><rect x="{x}" y="{y}" width="{W}" height="{H}" rx="4" fill="{fill}" {border}{dash}/><text x="{tx}" y="{t1}">{name}</text><text x="{tx}" y="{t2}" fill="#555">{note}</text></g>"##,
            u = escape(uscc),
            d = escape(&node.direction),
            r = node.referred,
            full = escape(&node.name),
            tx = x + 6.0,
            t1 = y + 17.0,
            t2 = y + 33.0,
            name = escape(&name),
            note = escape(&note),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `text` for a URL query value.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char);
            }
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
    out
}

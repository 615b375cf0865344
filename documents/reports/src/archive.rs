//! A unit's quality-safety credit archive (产品质量安全信用档案): its registration and licences
//! (the `units` view) and every event of the `archive` view — results where it was sampled or is
//! the nominal producer, cases, notices, disclosures and retractions, referrals, plan warnings —
//! in date order, as JSON for programs and as a page in Chinese for officials.

use crate::ReportError;
use crate::table::{TextRow, get, text_rows};
use crate::templates::render;
use serde::Serialize;
use serde_json::{Value, json};
use spotcheck_analytics::Analytics;
use spotcheck_schemas::case::{CaseStatus, NoticeStatus};
use spotcheck_schemas::enums::{
    Category, Direction, DisclosureAction, FindingKind, NoticeKind, SubjectRole, UnitRole, Verdict,
};
use spotcheck_schemas::names::{division_name, zh};

/// The archive of one unit.
#[derive(Debug, Serialize)]
pub struct Archive {
    pub uscc: String,
    /// The registry entry (`units`), if the unit is registered.
    pub unit: Option<Value>,
    /// For a unit not registered: the name its newest result or inspection gives it.
    pub named: Option<String>,
    /// Every event, oldest first, as the `archive` view has it.
    pub events: Vec<TextRow>,
}

/// The archive of `uscc`; `NotFound` when the lake knows nothing of it.
pub async fn archive(analytics: &Analytics, uscc: &str) -> Result<Archive, ReportError> {
    let unit = text_rows(
        analytics,
        "SELECT name, address, district, roles, licences_json FROM units WHERE uscc = $uscc",
        &[("uscc", uscc)],
    )
    .await?
    .into_iter()
    .next()
    .map(|row| {
        let licences: Value =
            serde_json::from_str(get(&row, "licences_json")).unwrap_or_else(|_| json!([]));
        json!({
            "name": get(&row, "name"),
            "address": get(&row, "address"),
            "district": get(&row, "district"),
            "roles": get(&row, "roles"),
            "licences": licences,
        })
    });
    let events = text_rows(
        analytics,
        "SELECT on_date, event, report_no, lab_id, case_id, status, kind, detail \
         FROM archive WHERE uscc = $uscc \
         ORDER BY on_date, event, report_no, detail",
        &[("uscc", uscc)],
    )
    .await?;
    if unit.is_none() && events.is_empty() {
        return Err(ReportError::NotFound(format!(
            "the lake has nothing of the unit {uscc}"
        )));
    }
    let named = if unit.is_some() {
        None
    } else {
        text_rows(
            analytics,
            "SELECT name FROM ( \
               SELECT sampled_unit_name AS name, sampling_date AS on_date FROM results \
               WHERE sampled_unit_uscc = $uscc \
               UNION ALL SELECT producer_name, sampling_date FROM results WHERE producer_uscc = $uscc \
               UNION ALL SELECT unit_name, inspected_on FROM inspections WHERE unit_uscc = $uscc) \
             WHERE name IS NOT NULL ORDER BY on_date DESC, name LIMIT 1",
            &[("uscc", uscc)],
        )
        .await?
        .first()
        .map(|row| get(row, "name").to_owned())
    };
    Ok(Archive {
        uscc: uscc.to_owned(),
        unit,
        named,
        events,
    })
}

/// The event's name in Chinese.
fn event_zh(event: &str) -> &str {
    match event {
        "sampled" => "被抽样",
        "produced" => "标称生产的产品被抽查",
        "case" => "列入案件",
        "notice" => "三书一函",
        "disclosure" => "信用公示",
        "retraction" => "撤回公示",
        "warning" => "抽查计划提示",
        "inspected" => "现场检查",
        "supplied" => "供货的产品在现场检查中被发现问题",
        other => other,
    }
}

/// The status and kind ids of an event in Chinese (the id itself when unknown).
fn words_zh(event: &str, status: &str, kind: &str) -> (String, String) {
    let or = |name: Option<&'static str>, id: &str| name.unwrap_or(id).to_owned();
    match event {
        "sampled" | "produced" => (
            or(zh(status, Verdict::name_zh), status),
            or(zh(kind, Category::name_zh), kind),
        ),
        "case" => (
            or(zh(status, CaseStatus::name_zh), status),
            or(zh(kind, Direction::name_zh), kind),
        ),
        "notice" => (
            or(zh(status, NoticeStatus::name_zh), status),
            or(zh(kind, NoticeKind::name_zh), kind),
        ),
        "disclosure" | "retraction" => (
            or(zh(status, DisclosureAction::name_zh), status),
            or(zh(kind, SubjectRole::name_zh), kind),
        ),
        "inspected" | "supplied" => (
            match status {
                "no_finding" => "未发现问题".to_owned(),
                other => or(zh(other, FindingKind::name_zh), other),
            },
            or(zh(kind, Category::name_zh), kind),
        ),
        "warning" => (
            String::new(),
            match kind {
                "six_month_repeat" => "六个月内重复抽查".into(),
                "licence_missing" => "无有效许可证或认证".into(),
                other => other.to_owned(),
            },
        ),
        _ => (status.to_owned(), kind.to_owned()),
    }
}

/// The archive as a page in Chinese: registration, licences, and the timeline.
pub async fn archive_page(analytics: &Analytics, uscc: &str) -> Result<String, ReportError> {
    let archive = archive(analytics, uscc).await?;
    render("unit.html", shown(&archive, analytics))
}

/// The archive as a DOCX for a unit's file (WPS, Word): the same content as the page.
pub async fn archive_docx(analytics: &Analytics, uscc: &str) -> Result<Vec<u8>, ReportError> {
    use docx_rs::{
        AlignmentType, Docx, PageMargin, PageOrientationType, Paragraph, Run, RunFonts, Table,
        TableCell, TableRow, WidthType,
    };
    let archive = archive(analytics, uscc).await?;
    let context = shown(&archive, analytics);
    let text = |value: &Value| match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let run = |text: &str, size: usize| {
        Run::new()
            .add_text(text)
            .size(size)
            .fonts(RunFonts::new().east_asia("仿宋").ascii("Times New Roman"))
    };
    let table = |header: &[&str], widths: &[usize], rows: Vec<Vec<String>>| {
        let cell = |text: &str, width: usize| {
            TableCell::new()
                .width(width, WidthType::Dxa)
                .add_paragraph(Paragraph::new().add_run(run(text, 20)))
        };
        let mut all = vec![TableRow::new(
            header
                .iter()
                .zip(widths)
                .map(|(t, w)| cell(t, *w))
                .collect(),
        )];
        for row in rows {
            all.push(TableRow::new(
                row.iter().zip(widths).map(|(t, w)| cell(t, *w)).collect(),
            ));
        }
        Table::new(all)
    };
    let name = text(&context["name"]);
    let mut docx = Docx::new()
        .page_size(16838, 11906)
        .page_orient(PageOrientationType::Landscape)
        .page_margin(
            PageMargin::new()
                .top(1134)
                .bottom(1134)
                .left(1134)
                .right(1134),
        )
        .add_paragraph(
            Paragraph::new()
                .add_run(
                    Run::new()
                        .add_text("产品质量安全信用档案")
                        .size(40)
                        .fonts(RunFonts::new().east_asia("黑体")),
                )
                .align(AlignmentType::Center),
        );
    for (label, key) in [
        ("单位名称", "name"),
        ("统一社会信用代码", "uscc"),
        ("地址", "address"),
        ("所在区", "district"),
        ("单位类型", "roles"),
    ] {
        let value = match key {
            "name" if name.is_empty() => "（未登记）".to_owned(),
            "name" if context["registered"] != true => {
                format!("{name}（据检验报告或检查记录，未登记）")
            }
            _ => text(&context[key]),
        };
        docx = docx.add_paragraph(Paragraph::new().add_run(run(&format!("{label}：{value}"), 24)));
    }
    let licences: Vec<Vec<String>> = context["licences"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            vec![
                text(&l["kind"]),
                text(&l["number"]),
                text(&l["valid_until"]),
            ]
        })
        .collect();
    docx = docx
        .add_paragraph(Paragraph::new().add_run(run("许可证与认证", 28)))
        .add_table(table(
            &["类别", "编号", "有效期至"],
            &[3000, 5000, 3000],
            licences,
        ));
    let summary = &context["summary"];
    docx = docx.add_paragraph(Paragraph::new().add_run(run(
        &format!(
            "概况：抽查 {} 批次，不合格 {} 批次；现场检查 {} 次；案件 {} 件；三书一函 {} 份；信用公示 {} 次，撤回 {} 次；抽查计划提示 {} 条。",
            summary["results"], summary["failures"], summary["inspections"], summary["cases"], summary["notices"],
            summary["disclosures"], summary["retractions"], summary["warnings"]
        ),
        24,
    )));
    let events: Vec<Vec<String>> = context["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            vec![
                text(&e["on"]),
                text(&e["title"]),
                text(&e["kind"]),
                text(&e["status"]),
                text(&e["detail"]),
                format!("{} {}", text(&e["lab_id"]), text(&e["report_no"])),
            ]
        })
        .collect();
    docx = docx
        .add_paragraph(Paragraph::new().add_run(run("记录（按时间顺序）", 28)))
        .add_table(table(
            &["日期", "事项", "类别", "状态/结论", "内容", "报告"],
            &[1400, 2200, 1500, 2000, 5500, 2000],
            events,
        ));
    let mut bytes = std::io::Cursor::new(Vec::new());
    docx.build()
        .pack(&mut bytes)
        .map_err(|e| ReportError::Write(format!("cannot write the DOCX: {e}")))?;
    Ok(bytes.into_inner())
}

/// The archive in the words of the page and the document.
fn shown(archive: &Archive, analytics: &Analytics) -> Value {
    let unit = archive.unit.as_ref();
    let text = |key: &str| {
        unit.and_then(|u| u[key].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let district = text("district");
    let roles: Vec<String> = text("roles")
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| zh(r, UnitRole::name_zh).unwrap_or(r).to_owned())
        .collect();
    let licences: Vec<Value> = unit
        .and_then(|u| u["licences"].as_array())
        .into_iter()
        .flatten()
        .map(|l| {
            json!({
                "kind": l["kind"].as_str().unwrap_or_default(),
                "number": l["number"].as_str().unwrap_or_default(),
                "valid_until": l["valid_until"].as_str().unwrap_or("长期"),
            })
        })
        .collect();
    let events: Vec<Value> = archive
        .events
        .iter()
        .map(|e| {
            let event = get(e, "event");
            let (status, kind) = words_zh(event, get(e, "status"), get(e, "kind"));
            json!({
                "on": get(e, "on_date"),
                "event": event,
                "title": event_zh(event),
                "kind": kind,
                "status": status,
                "detail": get(e, "detail"),
                "report_no": get(e, "report_no"),
                // Who made the record: the lab (by name when configured), or on-site inspection.
                "lab_id": match get(e, "lab_id") {
                    spotcheck_schemas::inspection::INSPECTION_LAB_ID => "现场检查",
                    lab => analytics.lab_name(lab).unwrap_or(lab),
                },
                "case_id": get(e, "case_id"),
            })
        })
        .collect();
    let count = |event: &str| {
        archive
            .events
            .iter()
            .filter(|e| get(e, "event") == event)
            .count()
    };
    let failures = archive
        .events
        .iter()
        .filter(|e| matches!(get(e, "event"), "sampled" | "produced") && get(e, "status") == "fail")
        .count();
    json!({
        "uscc": archive.uscc,
        "registered": unit.is_some(),
        "name": archive.named.clone().unwrap_or_else(|| text("name")),
        "address": text("address"),
        "district": division_name(&district).unwrap_or(&district),
        "roles": roles.join("、"),
        "licences": licences,
        "summary": {
            "results": count("sampled") + count("produced"),
            "failures": failures,
            "cases": count("case"),
            "notices": count("notice"),
            "disclosures": count("disclosure"),
            "retractions": count("retraction"),
            "warnings": count("warning"),
            "inspections": archive
                .events
                .iter()
                .filter(|e| get(e, "event") == "inspected")
                .map(|e| get(e, "detail").split('；').next().unwrap_or_default())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
        },
        "events": events,
    })
}

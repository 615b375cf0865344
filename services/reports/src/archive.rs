//! A unit's quality-safety credit archive (产品质量安全信用档案): its registration and licences
//! (the `units` view) and every event of the `archive` view — results where it was sampled or is
//! the nominal producer, cases, notices, disclosures and retractions, referrals, plan warnings —
//! in date order, as JSON for programs and as a page in Chinese for officials.

use crate::ReportError;
use crate::table::{TextRow, get, literal, text_rows};
use crate::templates::render;
use serde::Serialize;
use serde_json::{Value, json};
use spotcheck_analytics::Analytics;
use spotcheck_schemas::case::{CaseStatus, NoticeStatus};
use spotcheck_schemas::enums::{
    Category, Direction, DisclosureAction, NoticeKind, SubjectRole, UnitRole, Verdict,
};
use spotcheck_schemas::names::{division_name, zh};

/// The archive of one unit.
#[derive(Debug, Serialize)]
pub struct Archive {
    pub uscc: String,
    /// The registry entry (`units`), if the unit is registered.
    pub unit: Option<Value>,
    /// Every event, oldest first, as the `archive` view has it.
    pub events: Vec<TextRow>,
}

/// The archive of `uscc`; `NotFound` when the lake knows nothing of it.
pub async fn archive(analytics: &Analytics, uscc: &str) -> Result<Archive, ReportError> {
    let id = literal(uscc);
    let unit = text_rows(
        analytics,
        &format!(
            "SELECT name, address, district, roles, licences_json FROM units WHERE uscc = {id}"
        ),
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
        &format!(
            "SELECT on_date, event, report_no, lab_id, case_id, status, kind, detail \
             FROM archive WHERE uscc = {id} \
             ORDER BY on_date, event, report_no, detail"
        ),
    )
    .await?;
    if unit.is_none() && events.is_empty() {
        return Err(ReportError::NotFound(format!(
            "the lake has nothing of the unit {uscc}"
        )));
    }
    Ok(Archive {
        uscc: uscc.to_owned(),
        unit,
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
                "lab_id": get(e, "lab_id"),
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
    render(
        "unit.html",
        json!({
            "uscc": archive.uscc,
            "registered": unit.is_some(),
            "name": text("name"),
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
            },
            "events": events,
        }),
    )
}

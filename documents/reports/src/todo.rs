//! The officials' work list (待办事项, `/ui/todo`): what the cases ask of the bureau now — each
//! notice proposed and not served yet (三书一函), each step due (a public notice, a second
//! re-check, a suspension…) and the re-check (复查) of each case under rectification — earliest
//! time limit first, those already past marked. The case list shows what changed last; this
//! shows what is due next.

use crate::ReportError;
use crate::notice;
use crate::table::{TextRow, get, text_rows};
use crate::templates::render;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use spotcheck_analytics::Analytics;
use spotcheck_schemas::case::{CaseStatus, Step, StepStatus};
use spotcheck_schemas::names::{division_name, zh};
use std::collections::BTreeMap;

/// How many rows the page shows at most.
const MOST: usize = 1000;

/// One thing to do.
#[derive(Debug, Serialize)]
struct Task {
    due_on: Option<NaiveDate>,
    /// What to do, in words (送达整改通知书, 组织复查, 公告…).
    what: String,
    /// Whom it concerns: the notice's recipient, else the sampled unit.
    to_name: String,
    to: String,
    district: String,
    case_id: String,
    report_no: String,
    product: String,
    status: String,
}

/// The work list of every district, or of the units whose district code starts with `district`,
/// as of `today` (China's date).
pub async fn todo_page(
    analytics: &Analytics,
    district: Option<&str>,
    today: NaiveDate,
) -> Result<String, ReportError> {
    let open = "c.status NOT IN ('closed', 'overturned', 'revoked', 'revocation_referred')";
    let cases = text_rows(
        analytics,
        &format!(
            "SELECT c.case_id, c.report_no, c.producer_name, c.model, c.batch, c.status, \
             c.origin_uscc, c.origin_name, c.recheck_by, c.notices_json, c.steps_json \
             FROM cases c WHERE {open}"
        ),
        &[],
    )
    .await?;
    let units = text_rows(
        analytics,
        &format!(
            "SELECT u.case_id, u.uscc, u.name, u.district FROM case_units u \
             JOIN cases c ON c.case_id = u.case_id WHERE {open}"
        ),
        &[],
    )
    .await?;
    let unit_of: BTreeMap<(&str, &str), &TextRow> = units
        .iter()
        .map(|u| ((get(u, "case_id"), get(u, "uscc")), u))
        .collect();
    let mut tasks = Vec::new();
    for case in &cases {
        let case_id = get(case, "case_id");
        let origin = get(case, "origin_uscc");
        let task = |what: String, due_on: Option<NaiveDate>, to: &str| {
            let unit = unit_of.get(&(case_id, to));
            let status = get(case, "status");
            Task {
                due_on,
                what,
                to_name: unit.map_or_else(
                    || get(case, "origin_name").to_owned(),
                    |u| get(u, "name").to_owned(),
                ),
                to: to.to_owned(),
                district: unit
                    .map(|u| get(u, "district"))
                    .unwrap_or_default()
                    .to_owned(),
                case_id: case_id.to_owned(),
                report_no: get(case, "report_no").to_owned(),
                product: format!(
                    "{} {} 批号 {}",
                    get(case, "producer_name"),
                    get(case, "model"),
                    get(case, "batch")
                ),
                status: zh(status, CaseStatus::name_zh).unwrap_or(status).to_owned(),
            }
        };
        for entry in notice::entries(get(case, "notices_json")) {
            if entry.proposed {
                let due = entry.due_on.as_deref().and_then(|d| d.parse().ok());
                tasks.push(task(
                    format!("送达{}", entry.kind.name_zh()),
                    due,
                    &entry.to,
                ));
            }
        }
        let steps: Vec<Step> = serde_json::from_str(get(case, "steps_json")).unwrap_or_default();
        for step in steps.iter().filter(|s| s.status == StepStatus::Due) {
            tasks.push(task(step.kind.name_zh().to_owned(), step.due_on, origin));
        }
        if get(case, "status") == "rectifying"
            && let Ok(recheck_by) = get(case, "recheck_by").parse()
        {
            tasks.push(task("组织复查".to_owned(), Some(recheck_by), origin));
        }
    }
    if let Some(prefix) = district {
        tasks.retain(|t| t.district.starts_with(prefix));
    }
    // Earliest first; a limit not yet known (it counts from an event to come) last.
    tasks.sort_by(|a, b| {
        (a.due_on.is_none(), a.due_on, &a.report_no, &a.what).cmp(&(
            b.due_on.is_none(),
            b.due_on,
            &b.report_no,
            &b.what,
        ))
    });
    let total = tasks.len();
    let past = tasks
        .iter()
        .filter(|t| t.due_on.is_some_and(|d| d < today))
        .count();
    let rows: Vec<_> = tasks
        .iter()
        .take(MOST)
        .map(|t| {
            json!({
                "due_on": t.due_on.map(|d| notice::date_zh(&d.to_string())).unwrap_or_else(|| "待定".into()),
                "past": t.due_on.is_some_and(|d| d < today),
                "what": t.what,
                "to_name": t.to_name,
                "to": t.to,
                "district": division_name(&t.district).unwrap_or(&t.district),
                "path": crate::case_page::percent_encode(&t.case_id),
                "report_no": t.report_no,
                "product": t.product,
                "status": t.status,
            })
        })
        .collect();
    let scope = district.map(|d| division_name(d).unwrap_or(d).to_owned());
    render(
        "todo.html",
        json!({
            "today": notice::date_zh(&today.to_string()),
            "scope": scope,
            "total": total,
            "past": past,
            "shown": rows.len(),
            "rows": rows,
        }),
    )
}

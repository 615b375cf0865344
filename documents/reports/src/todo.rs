//! The officials' work list (待办事项, `/ui/todo`): what the cases ask of the bureau now — each
//! notice proposed and not served yet (三书一函), each step due (the stop of production and sale,
//! a public notice, a second re-check…) and the re-check (复查) of each case under rectification
//! — earliest time limit first, those already past marked. The case list shows what changed last;
//! this shows what is due next. Below, the parties waiting for identification (待认定: named
//! without a credit code, nothing served or disclosed to them until named). Each list is one
//! query whose sort keeps the first rows only, so the page costs the same memory however many
//! cases are open.

use crate::ReportError;
use crate::notice;
use crate::table::{TextRow, get, text_rows};
use crate::templates::render;
use chrono::NaiveDate;
use serde_json::json;
use spotcheck_analytics::Analytics;
use spotcheck_schemas::case::CaseStatus;
use spotcheck_schemas::enums::{NoticeKind, StepKind, SubjectRole};
use spotcheck_schemas::names::{division_name, zh};

/// How many rows the page shows at most.
const MOST: usize = 1000;

/// The work list of every district, or of the units whose district code starts with `district`,
/// as of `today` (China's date).
pub async fn todo_page(
    analytics: &Analytics,
    district: Option<&str>,
    today: NaiveDate,
) -> Result<String, ReportError> {
    // Each task, whom it concerns (a notice's recipient; a step's or a re-check's sampled unit)
    // and where that unit is: its district as the case has it, else (a sampled unit not
    // identified yet, which the case holds no unit for) the district the lab gave.
    let tasks = "WITH open_cases AS ( \
           SELECT * FROM cases \
           WHERE status NOT IN ('closed', 'overturned', 'revoked', 'revocation_referred')), \
         tasks AS ( \
           SELECT case_id, 'notice' AS source, item['kind'] AS kind, item['to'] AS to_uscc, \
                  CAST(item['due_on'] AS DATE) AS due_on \
           FROM (SELECT case_id, unnest(notices_of(notices_json)) AS item FROM open_cases) \
           WHERE item['status'] = 'proposed' \
           UNION ALL \
           SELECT case_id, 'step', item['kind'], origin_uscc, CAST(item['due_on'] AS DATE) \
           FROM (SELECT case_id, origin_uscc, unnest(steps_of(steps_json)) AS item FROM open_cases) \
           WHERE item['status'] = 'due' \
           UNION ALL \
           SELECT case_id, 'recheck', 'recheck', origin_uscc, recheck_by FROM open_cases \
           WHERE status = 'rectifying' AND recheck_by IS NOT NULL) \
         SELECT t.source, t.kind, t.to_uscc, t.due_on, c.case_id, c.report_no, c.producer_name, \
                c.model, c.batch, c.status, coalesce(u.name, c.origin_name) AS to_name, \
                coalesce(u.district, CASE WHEN t.source <> 'notice' THEN r.district END) \
                  AS district \
         FROM tasks t JOIN open_cases c ON c.case_id = t.case_id \
         LEFT JOIN case_units u ON u.case_id = t.case_id AND u.uscc = t.to_uscc \
         LEFT JOIN results r ON r.report_no = c.report_no AND r.lab_id = c.lab_id";
    // The district and today are bound, not written into the text.
    let prefix = district.map(|prefix| format!("{prefix}%"));
    let today_text = today.to_string();
    let by_district: Vec<(&str, &str)> = prefix
        .as_deref()
        .map(|p| ("district", p))
        .into_iter()
        .collect();
    let with_today: Vec<(&str, &str)> = by_district
        .iter()
        .copied()
        .chain([("today", today_text.as_str())])
        .collect();
    let (inside, within) = match &prefix {
        Some(_) => (
            "w.district LIKE $district",
            " WHERE w.district LIKE $district",
        ),
        None => ("TRUE", ""),
    };
    // A task whose unit's district no record gives is in no district's list: counted, so that
    // a district's list says how many of them the whole list holds.
    let counts = text_rows(
        analytics,
        &format!(
            "SELECT count(CASE WHEN {inside} THEN 1 END) AS total, \
             count(CASE WHEN {inside} AND due_on < CAST($today AS DATE) THEN 1 END) AS past, \
             count(CASE WHEN w.district IS NULL THEN 1 END) AS undistricted \
             FROM ({tasks}) AS w"
        ),
        &with_today,
    )
    .await?;
    let rows = text_rows(
        analytics,
        &format!(
            "SELECT * FROM ({tasks}) AS w{within} \
             ORDER BY due_on NULLS LAST, report_no, source, kind, to_uscc LIMIT {MOST}"
        ),
        &by_district,
    )
    .await?;
    let rows: Vec<_> = rows
        .iter()
        .map(|row| {
            let due_on: Option<NaiveDate> = get(row, "due_on").parse().ok();
            let kind = get(row, "kind");
            let what = match get(row, "source") {
                "notice" => format!("送达{}", zh(kind, NoticeKind::name_zh).unwrap_or(kind)),
                "step" => zh(kind, StepKind::name_zh).unwrap_or(kind).to_owned(),
                _ => "组织复查".to_owned(),
            };
            let district = get(row, "district");
            let status = get(row, "status");
            json!({
                "due_on": due_on.map_or_else(|| "待定".into(), |d| notice::date_zh(&d.to_string())),
                "past": due_on.is_some_and(|d| d < today),
                "what": what,
                "to_name": get(row, "to_name"),
                "to": get(row, "to_uscc"),
                "district": match district {
                    "" => "未注明",
                    code => division_name(code).unwrap_or(code),
                },
                "path": crate::case_page::percent_encode(get(row, "case_id")),
                "report_no": get(row, "report_no"),
                "product": format!(
                    "{} {} 批号 {}",
                    get(row, "producer_name"),
                    get(row, "model"),
                    get(row, "batch")
                ),
                "status": zh(status, CaseStatus::name_zh).unwrap_or(status),
            })
        })
        .collect();
    // The parties named without a credit code (identification pending: nothing served or
    // disclosed to them until an official or the registry names them), one row per name however
    // spelt and part, in the district sampled.
    let sampled_in = if prefix.is_some() {
        " WHERE r.district LIKE $district"
    } else {
        ""
    };
    let pending = format!(
        "SELECT min(i.name) AS name, i.role, \
                CASE WHEN count(DISTINCT r.district) > 1 THEN 'several' \
                     ELSE max(r.district) END AS district, \
                max(CASE WHEN i.role = 'seller' THEN r.sampled_unit_address \
                         ELSE r.producer_address END) AS address, \
                count(DISTINCT i.case_id) AS cases, min(i.case_id) AS case_id, \
                min(i.report_no) AS report_no \
         FROM identifications i \
         JOIN results r ON r.report_no = i.report_no AND r.lab_id = i.lab_id{sampled_in} \
         GROUP BY name_key(i.name), i.role"
    );
    let waiting = text_rows(
        analytics,
        &format!(
            "SELECT (SELECT count(*) FROM ({pending})) AS parties, \
                    (SELECT count(DISTINCT i.case_id) FROM identifications i \
                     JOIN results r ON r.report_no = i.report_no AND r.lab_id = i.lab_id\
                     {sampled_in}) AS cases"
        ),
        &by_district,
    )
    .await?;
    let parties = text_rows(
        analytics,
        &format!("SELECT * FROM ({pending}) ORDER BY cases DESC, name LIMIT {MOST}"),
        &by_district,
    )
    .await?;
    let parties: Vec<_> = parties
        .iter()
        .map(|row| {
            let district = get(row, "district");
            let role = get(row, "role");
            json!({
                "name": get(row, "name"),
                "role": zh(role, SubjectRole::name_zh).unwrap_or(role),
                "district": match district {
                    "several" => "多个区",
                    code => division_name(code).unwrap_or(code),
                },
                "address": get(row, "address"),
                "cases": get(row, "cases"),
                "path": crate::case_page::percent_encode(get(row, "case_id")),
                "report_no": get(row, "report_no"),
            })
        })
        .collect();
    render(
        "todo.html",
        json!({
            "today": notice::date_zh(&today.to_string()),
            "scope": district.map(|d| division_name(d).unwrap_or(d).to_owned()),
            "total": number(&counts, "total"),
            "past": number(&counts, "past"),
            "undistricted": number(&counts, "undistricted"),
            "shown": rows.len(),
            "rows": rows,
            "pending_parties": number(&waiting, "parties"),
            "pending_cases": number(&waiting, "cases"),
            "parties": parties,
        }),
    )
}

/// The number in `column` of a count's one row (0 when there is none).
fn number(rows: &[TextRow], column: &str) -> u64 {
    rows.first()
        .and_then(|row| get(row, column).parse().ok())
        .unwrap_or_default()
}

//! The four notices (三书一函) as documents an official finishes and serves: 整改通知书, 提醒敦促函,
//! 约谈通知书 and 挂牌督办通知书, as printable HTML (A4) and as DOCX (for WPS or Word).
//!
//! A notice is the `n`-th (from 1) of a case's notices as the traceback stage proposed and
//! tracked them (the `cases` view's `notices_json`). Everything in it comes from the lake: the
//! recipient's name and role from the case's units, the product and the facts from `results`,
//! the failed items with their standard's clause, required and measured values from
//! `result_items`. The wording is in templates (`templates/notices/`, minijinja), one per kind,
//! shared by both formats; the issuing authority is the market-regulation bureau of the
//! recipient's district. The legal basis cited is the one docs/domain.md gives for each step; the
//! document number is left blank for the office to fill in.

use crate::ReportError;
use crate::table::{TextRow, get, text_rows};
use crate::templates::render;
use chrono::NaiveDate;
use serde::Serialize;
use spotcheck_analytics::Analytics;
use spotcheck_schemas::case::NoticeStatus;
use spotcheck_schemas::days;
use spotcheck_schemas::enums::{
    Category, FindingKind, NoticeCause, NoticeKind, Severity, UnitRole,
};
use spotcheck_schemas::inspection::INSPECTION_LAB_ID;
use spotcheck_schemas::names::zh;
use spotcheck_traceback::{Authority, Deadline};
use std::collections::BTreeSet;

/// Where the failed-item table goes among a template's paragraphs.
const TABLE_MARK: &str = "[不合格项目表]";

/// Who the notice is addressed to.
#[derive(Debug, Clone, Serialize)]
pub struct Recipient {
    pub name: String,
    pub uscc: String,
    /// The unit's part in the batch's life, in words (标称生产企业, 经销商…).
    pub role: String,
}

/// The product the failure is about.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub name: String,
    pub brand: String,
    pub model: String,
    pub batch: String,
    pub producer: String,
}

/// One failed test item as the lab reported it.
#[derive(Debug, Clone, Serialize)]
pub struct FailedItem {
    pub name: String,
    pub clause: String,
    pub required: String,
    pub measured: String,
    /// The item's class as the lab rated it, in Chinese (严重, 一般); empty when not rated.
    pub severity: String,
    /// Found conforming by an upheld re-test (复检合格): no longer part of the failure.
    pub cleared: bool,
}

impl FailedItem {
    /// The name as a notice lists it: with its class when the lab rated it (熄火保护装置（严重）).
    pub fn listed_name(&self) -> String {
        if self.severity.is_empty() {
            self.name.clone()
        } else {
            format!("{}（{}）", self.name, self.severity)
        }
    }
}

/// One notice, ready to render: every fact in words, dates written the Chinese way.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeDocument {
    pub case_id: String,
    /// Its place among the case's notices, from 1.
    pub number: usize,
    pub kind: NoticeKind,
    /// 整改通知书…
    pub title: String,
    /// Proposed, served or withdrawn, in words.
    pub status: String,
    /// The bureau that issues it.
    pub authority: String,
    /// The office's document number, to be filled in (〔2026〕第　　号).
    pub document_number: String,
    pub recipient: Recipient,
    pub product: Product,
    pub category: Option<String>,
    pub organiser: Option<String>,
    pub sampled_unit: String,
    pub sampling_date: String,
    pub lab: String,
    pub report_no: String,
    pub standards: Option<String>,
    pub failed_items: Vec<FailedItem>,
    /// The time limit the notice sets.
    pub due_on: String,
    pub rectify_by: Option<String>,
    pub recheck_by: Option<String>,
    /// The rectification period in words (六十), as configured.
    pub rectify_days: String,
    /// For the official, on screen only: the limits run from the day the notice is printed, as
    /// if served that day; and a year of them the working-day calendar does not know.
    pub limits_note: Option<String>,
    pub final_on: Option<String>,
    /// Why an interview or a listed supervision: `recheck_failed`, `overdue`, `serious`,
    /// `second_recheck_failed` ("" for the other kinds).
    pub reason: String,
    pub issued_on: String,
    /// For a case opened by an on-site inspection: what the inspectors found (the notice then
    /// states the inspection's facts and legal basis instead of a lab's test).
    pub inspection: Option<OnSiteFacts>,
    /// The recipient only holds the batch (a distributor or receiver the traceback found): its
    /// rectification notice orders it to stop selling, clear and recall the batch and report
    /// on it, not to find the failure's cause and be re-checked.
    pub holder: bool,
    /// The body, paragraph by paragraph; `TABLE_MARK` where the failed items go.
    pub paragraphs: Vec<String>,
}

/// The facts of an on-site inspection's finding, in words.
#[derive(Debug, Clone, Serialize)]
pub struct OnSiteFacts {
    pub inspection_id: String,
    pub on: String,
    pub inspectors: String,
    pub place: Option<String>,
    /// The finding kind's id and its Chinese name.
    pub kind_id: String,
    pub kind: String,
    pub description: Option<String>,
    pub standard: Option<String>,
    pub evidence: Option<String>,
    pub has_product: bool,
    /// The law the notice rests on for this kind of finding.
    pub basis: &'static str,
}

/// The legal basis of a notice after an on-site finding of `kind`.
fn on_site_basis(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::MajorHiddenDanger => "《中华人民共和国产品质量法》第十八条、第四十九条",
        FindingKind::SanwuProduct => {
            "《中华人民共和国产品质量法》第二十七条、第三十六条、第五十四条"
        }
        FindingKind::BelowMandatoryStandard => "《中华人民共和国产品质量法》第十三条、第四十九条",
        FindingKind::NoCcc => "《中华人民共和国认证认可条例》第二十八条、第六十六条",
        FindingKind::RefusedInspection => "《中华人民共和国产品质量法》第五十六条",
    }
}

/// The inspection finding of a case opened on site, from the lake's `inspections`.
async fn on_site_facts(
    analytics: &Analytics,
    case: &TextRow,
) -> Result<Option<OnSiteFacts>, ReportError> {
    if get(case, "lab_id") != INSPECTION_LAB_ID {
        return Ok(None);
    }
    let Some(row) = text_rows(
        analytics,
        "SELECT * FROM inspections WHERE case_report_no = $report_no \
         ORDER BY inspected_on, inspection_id LIMIT 1",
        &[("report_no", get(case, "report_no"))],
    )
    .await?
    .into_iter()
    .next() else {
        return Ok(None);
    };
    let kind_id = get(&row, "kind");
    let Ok(kind) = kind_id.parse::<FindingKind>() else {
        return Ok(None);
    };
    Ok(Some(OnSiteFacts {
        inspection_id: get(&row, "inspection_id").to_owned(),
        on: date_zh(get(&row, "inspected_on")),
        inspectors: get(&row, "inspectors").to_owned(),
        place: non_empty(get(&row, "place")),
        kind_id: kind_id.to_owned(),
        kind: kind.name_zh().to_owned(),
        description: non_empty(get(&row, "description")),
        standard: non_empty(get(&row, "standard")),
        evidence: non_empty(get(&row, "evidence")),
        has_product: !get(&row, "product_name").is_empty(),
        basis: on_site_basis(kind),
    }))
}

/// A case's notice as listed on the case page.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeEntry {
    pub number: usize,
    pub kind: NoticeKind,
    pub to: String,
    pub due_on: Option<String>,
    pub status: String,
    /// Not served yet: its time limit runs from the day it is.
    pub proposed: bool,
    /// Why an interview or a listed supervision, as the case says it.
    pub cause: Option<NoticeCause>,
}

/// The notices of a case's `notices_json`, numbered from 1.
pub fn entries(notices_json: &str) -> Vec<NoticeEntry> {
    let notices: Vec<serde_json::Value> = serde_json::from_str(notices_json).unwrap_or_default();
    notices
        .iter()
        .enumerate()
        .filter_map(|(index, notice)| {
            let kind = notice["kind"].as_str()?.parse::<NoticeKind>().ok()?;
            let status = notice["status"].as_str().unwrap_or_default();
            Some(NoticeEntry {
                number: index + 1,
                kind,
                to: notice["to"].as_str().unwrap_or_default().to_owned(),
                due_on: notice["due_on"].as_str().map(str::to_owned),
                status: zh(status, NoticeStatus::name_zh)
                    .unwrap_or(status)
                    .to_owned(),
                proposed: status == "proposed",
                cause: notice["cause"]
                    .as_str()
                    .and_then(|cause| cause.parse().ok()),
            })
        })
        .collect()
}

/// The number of the newest notice of `kind` (to `to`, when given) of a case: a later cause
/// (a failed re-check after an interview for overdue rectification) calls for a new one.
pub async fn find(
    analytics: &Analytics,
    case_id: &str,
    kind: NoticeKind,
    to: Option<&str>,
) -> Result<usize, ReportError> {
    let case = case_row(analytics, case_id).await?;
    entries(get(&case, "notices_json"))
        .into_iter()
        .rev()
        .find(|entry| entry.kind == kind && to.is_none_or(|uscc| entry.to == uscc))
        .map(|entry| entry.number)
        .ok_or_else(|| {
            ReportError::NotFound(format!(
                "case {case_id} has no {} notice{}",
                kind.as_str(),
                to.map(|uscc| format!(" to {uscc}")).unwrap_or_default()
            ))
        })
}

/// The `number`-th notice of a case, as issued on `today` by `authority` (whose periods and
/// calendar set the time limits of a notice not served yet).
pub async fn notice(
    analytics: &Analytics,
    case_id: &str,
    number: usize,
    today: NaiveDate,
    authority: &Authority,
) -> Result<NoticeDocument, ReportError> {
    let case = case_row(analytics, case_id).await?;
    let all = entries(get(&case, "notices_json"));
    let entry = all
        .iter()
        .find(|entry| entry.number == number)
        .cloned()
        .ok_or_else(|| ReportError::NotFound(format!("case {case_id} has no notice {number}")))?;
    // A unit may have two interviews (overdue rectification, then a failed re-check) and two
    // listed supervisions (a serious failure, then a second failed re-check): in that order.
    let same = |other: &&NoticeEntry| other.kind == entry.kind && other.to == entry.to;
    let earlier = all.iter().filter(same).any(|other| other.number < number);
    let later = all.iter().filter(same).any(|other| other.number > number);
    // The unit's own rectification deadline: a unit served on its own has its own.
    let rectify_by = all
        .iter()
        .find(|other| other.kind == NoticeKind::Rectification && other.to == entry.to)
        .and_then(|other| other.due_on.clone())
        .or_else(|| non_empty(get(&case, "rectify_by")));
    let result = text_rows(
        analytics,
        "SELECT * FROM results WHERE report_no = $report_no AND lab_id = $lab_id LIMIT 1",
        &[
            ("report_no", get(&case, "report_no")),
            ("lab_id", get(&case, "lab_id")),
        ],
    )
    .await?
    .into_iter()
    .next();
    // The case and its result reach the lake by separate topics: a lab's notice printed in
    // between would lack the product and the failed items it rests on.
    let inspection = on_site_facts(analytics, &case).await?;
    let Some(result) = result.or_else(|| inspection.as_ref().map(|_| TextRow::default())) else {
        return Err(ReportError::NotYet(format!(
            "the result {} of case {case_id} is not in the lake yet; try again in a few seconds",
            get(&case, "report_no")
        )));
    };
    // The items the failure stands on: an item the re-test cleared is not rectified.
    let mut failed_items = failed_items(analytics, &case).await?;
    failed_items.retain(|item| !item.cleared);
    let unit = text_rows(
        analytics,
        "SELECT name, role, district, direction, responsible FROM case_units \
         WHERE case_id = $case_id AND uscc = $uscc LIMIT 1",
        &[("case_id", case_id), ("uscc", &entry.to)],
    )
    .await?
    .into_iter()
    .next();
    let registered = text_rows(
        analytics,
        "SELECT name, district FROM units WHERE uscc = $uscc LIMIT 1",
        &[("uscc", &entry.to)],
    )
    .await?
    .into_iter()
    .next();
    let recipient = recipient(&case, &entry.to, unit.as_ref(), registered.as_ref());
    let district = [unit.as_ref(), registered.as_ref()]
        .into_iter()
        .flatten()
        .map(|row| get(row, "district"))
        .find(|district| !district.is_empty())
        .unwrap_or_default();
    let organiser = non_empty(get(&result, "organiser"));
    let status = get(&case, "status");
    // As the case says it; a revision made before it did, from the order of the unit's notices.
    let reason = match entry.cause {
        Some(cause) => cause.as_str(),
        None => guessed_reason(entry.kind, earlier, later, status, &result),
    };
    let category = get(&case, "category");
    let reason = match (&inspection, entry.kind) {
        (Some(i), NoticeKind::ListedSupervision)
            if i.kind_id == "major_hidden_danger" && !earlier =>
        {
            "serious"
        }
        _ => reason,
    };
    // The recipient's own order, or one naming no unit: another unit's order is not its own
    // (its notice's limit still runs from its service).
    let ordered = !text_rows(
        analytics,
        "SELECT disposition_id FROM standing_dispositions \
         WHERE case_id = $case_id AND kind = 'rectification_ordered' \
         AND (uscc IS NULL OR uscc = $uscc) LIMIT 1",
        &[("case_id", case_id), ("uscc", &entry.to)],
    )
    .await?
    .is_empty();
    let recheck_by = get(&case, "recheck_by")
        .get(..10)
        .and_then(|d| d.parse().ok());
    let limits = Limits::of(&entry, ordered, recheck_by, today, authority);
    let mut document = NoticeDocument {
        case_id: case_id.to_owned(),
        number,
        kind: entry.kind,
        title: entry.kind.name_zh().to_owned(),
        status: entry.status.clone(),
        authority: bureau(district, organiser.as_deref()),
        document_number: format!("〔{}〕第　　　号", today.format("%Y")),
        recipient,
        product: Product {
            name: or_unknown(get(&result, "product_name")),
            brand: get(&result, "brand").to_owned(),
            model: or_unknown(get(&case, "model")),
            batch: or_unknown(get(&case, "batch")),
            producer: or_unknown(get(&case, "producer_name")),
        },
        category: zh(category, Category::name_zh).map(str::to_owned),
        organiser,
        sampled_unit: or_unknown(get(&case, "origin_name")),
        sampling_date: date_zh(get(&result, "sampling_date")),
        lab: analytics
            .lab_name(get(&case, "lab_id"))
            .map_or_else(|| or_unknown(get(&case, "lab_id")), str::to_owned),
        report_no: get(&case, "report_no").to_owned(),
        standards: non_empty(get(&result, "standards")),
        failed_items,
        due_on: limits
            .due_on
            .map_or_else(|| "＿＿＿＿年＿＿月＿＿日".to_owned(), days::date_zh),
        rectify_by: rectify_by.map(|d| date_zh(&d)),
        recheck_by: limits.recheck_by.map(days::date_zh),
        rectify_days: days::count_zh(authority.periods.rectify_days),
        limits_note: limits.note(today),
        final_on: non_empty(get(&case, "final_on")).map(|d| date_zh(&d)),
        reason: reason.to_owned(),
        issued_on: date_zh(&today.to_string()),
        inspection,
        holder: unit
            .as_ref()
            .is_some_and(|unit| get(unit, "responsible") == "false"),
        paragraphs: Vec::new(),
    };
    document.paragraphs = paragraphs(&document)?;
    Ok(document)
}

/// The time limits a notice sets, as printed on a given day.
#[derive(Debug, PartialEq)]
struct Limits {
    due_on: Option<NaiveDate>,
    /// The re-check the rectification notice announces.
    recheck_by: Option<NaiveDate>,
    /// The limits counted from the day of printing, for the official's note.
    counted: Vec<Deadline>,
}

impl Limits {
    /// The limits of the notice `entry` printed on `today`. A notice not served yet sets its own
    /// period from its service, and it cannot be served before the day it is printed: its limit
    /// is never earlier than that period from `today`. (The case projects the rectification
    /// order on the day the failure became final; printed a month later, or two years later for
    /// a record of 2024, the notice must not set a deadline already short or past.) A served
    /// notice, the rectification notice of an order recorded (`ordered`) and the reminder (whose
    /// limit is the order's) keep the case's limits.
    fn of(
        entry: &NoticeEntry,
        ordered: bool,
        recheck_by: Option<NaiveDate>,
        today: NaiveDate,
        authority: &Authority,
    ) -> Self {
        let periods = &authority.periods;
        let own_days = match entry.kind {
            NoticeKind::Rectification if !ordered => Some(periods.rectify_days),
            NoticeKind::Interview => Some(periods.interview_days),
            NoticeKind::ListedSupervision => Some(periods.listed_supervision_days),
            NoticeKind::Rectification | NoticeKind::Reminder => None,
        }
        .filter(|_| entry.proposed);
        let from_today = |days: u64| authority.calendar.period_end(today, days);
        let (due_on, due_counted) = at_least(
            entry.due_on.as_deref().and_then(|d| d.parse().ok()),
            own_days.map(from_today),
        );
        let (recheck_by, recheck_counted) = match own_days {
            Some(_) if entry.kind == NoticeKind::Rectification => {
                at_least(recheck_by, Some(from_today(periods.recheck_days)))
            }
            _ => (recheck_by, None),
        };
        Self {
            due_on,
            recheck_by,
            counted: [due_counted, recheck_counted]
                .into_iter()
                .flatten()
                .collect(),
        }
    }

    /// For the official, on screen only, when a limit was counted from `today`: serve the
    /// notice that day or correct the dates; and a year the calendar does not know.
    fn note(&self, today: NaiveDate) -> Option<String> {
        let first = self.counted.first()?;
        let mut note = format!(
            "本文书的期限按{}送达计算；实际送达日期不同的，请自送达之日重新计算并修改。",
            days::date_zh(today)
        );
        if let Some(year) = self.counted.iter().find_map(|d| d.unknown_year) {
            note.push_str(&format!(
                "{year}年的节假日安排尚未载入工作日历，期限末日{}只避开了周末，请核对。",
                days::date_zh(first.date)
            ));
        }
        Some(note)
    }
}

/// The later of the limit the case projects and `earliest`, the notice's own period counted
/// from the day it is printed; the second part is `earliest` when it won.
fn at_least(
    projected: Option<NaiveDate>,
    earliest: Option<Deadline>,
) -> (Option<NaiveDate>, Option<Deadline>) {
    match (projected, earliest) {
        (Some(date), Some(deadline)) if date >= deadline.date => (Some(date), None),
        (_, Some(deadline)) => (Some(deadline.date), Some(deadline)),
        (projected, None) => (projected, None),
    }
}

/// The failed items of the case's result, in the lab's order, each marked when an upheld
/// re-test cleared it.
pub async fn failed_items(
    analytics: &Analytics,
    case: &TextRow,
) -> Result<Vec<FailedItem>, ReportError> {
    let cleared = cleared_items(case);
    let (report_no, lab_id) = (get(case, "report_no"), get(case, "lab_id"));
    Ok(text_rows(
        analytics,
        "SELECT DISTINCT item_no, item_name, clause, required, measured, severity \
         FROM result_items \
         WHERE report_no = $report_no AND lab_id = $lab_id AND verdict = 'fail' ORDER BY item_no",
        &[("report_no", report_no), ("lab_id", lab_id)],
    )
    .await?
    .iter()
    .map(|item| FailedItem {
        name: get(item, "item_name").to_owned(),
        clause: get(item, "clause").to_owned(),
        required: get(item, "required").to_owned(),
        measured: get(item, "measured").to_owned(),
        severity: zh(get(item, "severity"), Severity::name_zh)
            .unwrap_or_default()
            .to_owned(),
        cleared: cleared.contains(get(item, "item_name")),
    })
    .collect())
}

/// The failed items an upheld re-test cleared, by the lab's names, from a `cases` row (none in
/// a revision made before rules 33).
pub fn cleared_items(case: &TextRow) -> BTreeSet<String> {
    get(case, "cleared_items")
        .split("; ")
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn case_row(analytics: &Analytics, case_id: &str) -> Result<TextRow, ReportError> {
    text_rows(
        analytics,
        "SELECT * FROM cases WHERE case_id = $case_id",
        &[("case_id", case_id)],
    )
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| ReportError::NotFound(format!("no case {case_id} in the lake")))
}

/// Why an interview or a listed supervision, for a case revision that does not say it: a unit's
/// first of two interviews is for overdue rectification, its second (or one on an escalated
/// case) for a failed re-check; its first listed supervision of a serious failure is for that.
fn guessed_reason(
    kind: NoticeKind,
    earlier: bool,
    later: bool,
    status: &str,
    result: &TextRow,
) -> &'static str {
    match kind {
        NoticeKind::Interview if later => "overdue",
        NoticeKind::Interview
            if earlier || matches!(status, "escalated" | "suspended" | "revocation_referred") =>
        {
            "recheck_failed"
        }
        NoticeKind::Interview => "overdue",
        NoticeKind::ListedSupervision if get(result, "severity") == "serious" && !earlier => {
            "serious"
        }
        NoticeKind::ListedSupervision => "second_recheck_failed",
        _ => "",
    }
}

/// The recipient's name (the case's record of the unit, else the registry's) and role.
fn recipient(
    case: &TextRow,
    uscc: &str,
    unit: Option<&TextRow>,
    registered: Option<&TextRow>,
) -> Recipient {
    let name = [unit, registered]
        .into_iter()
        .flatten()
        .map(|row| get(row, "name"))
        .find(|name| !name.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            (get(case, "producer_uscc") == uscc).then(|| get(case, "producer_name").to_owned())
        })
        .unwrap_or_else(|| "（名称待核实）".to_owned());
    let role = if get(case, "producer_uscc") == uscc {
        "标称生产企业".to_owned()
    } else {
        unit.and_then(|row| zh(get(row, "role"), UnitRole::name_zh))
            .map(|role| match role {
                "生产企业" => "标称生产企业",
                "零售商" => "销售者",
                other => other,
            })
            .unwrap_or("生产销售单位")
            .to_owned()
    };
    Recipient {
        name,
        uscc: uscc.to_owned(),
        role,
    }
}

/// The bureau of the recipient's Tianjin district; else the organiser of the spot check; else
/// the municipal commission.
fn bureau(district: &str, organiser: Option<&str>) -> String {
    if let Some(name) = spotcheck_schemas::region::district_name(district) {
        return format!("天津市{name}市场监督管理局");
    }
    organiser
        .map(str::to_owned)
        .unwrap_or_else(|| "天津市市场监督管理委员会".to_owned())
}

/// `2026-03-05` as 2026年3月5日 (any other text as it is).
pub fn date_zh(date: &str) -> String {
    match NaiveDate::parse_from_str(date.get(..10).unwrap_or(date), "%Y-%m-%d") {
        Ok(day) => days::date_zh(day),
        Err(_) => date.to_owned(),
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

fn or_unknown(text: &str) -> String {
    if text.is_empty() {
        "（未注明）".to_owned()
    } else {
        text.to_owned()
    }
}

/// The body of a notice from its kind's template, one entry per paragraph.
fn paragraphs(document: &NoticeDocument) -> Result<Vec<String>, ReportError> {
    let text = render(&format!("{}.txt", document.kind.as_str()), document)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        // A finding on site is stated in the facts: no table of test items.
        .filter(|line| document.inspection.is_none() || *line != TABLE_MARK)
        .map(str::to_owned)
        .collect())
}

impl NoticeDocument {
    /// A printable A4 page.
    pub fn to_html(&self) -> Result<String, ReportError> {
        render("notice.html", self)
    }

    /// A Word document (A4, 仿宋 body, 黑体 title) an official can edit before serving.
    pub fn to_docx(&self) -> Result<Vec<u8>, ReportError> {
        use docx_rs::{
            AlignmentType, Docx, PageMargin, Paragraph, Run, RunFonts, SpecialIndentType, Table,
            TableCell, TableRow, WidthType,
        };
        let body = |text: &str| {
            Run::new()
                .add_text(text)
                .size(32)
                .fonts(RunFonts::new().east_asia("仿宋").ascii("Times New Roman"))
        };
        let small = |text: &str| {
            Run::new()
                .add_text(text)
                .size(24)
                .fonts(RunFonts::new().east_asia("仿宋").ascii("Times New Roman"))
        };
        let centred = |run: Run| Paragraph::new().add_run(run).align(AlignmentType::Center);
        let mut docx = Docx::new()
            .page_size(11906, 16838)
            .page_margin(
                PageMargin::new()
                    .top(2098)
                    .bottom(1984)
                    .left(1588)
                    .right(1474),
            )
            .add_paragraph(centred(body(&self.authority).size(36)))
            .add_paragraph(centred(
                Run::new()
                    .add_text(&self.title)
                    .size(44)
                    .fonts(RunFonts::new().east_asia("黑体")),
            ))
            .add_paragraph(centred(body(&self.document_number)));
        for (index, paragraph) in self.paragraphs.iter().enumerate() {
            if paragraph == TABLE_MARK {
                let header = ["序号", "不合格项目", "标准条款", "标准要求", "实测值"];
                let widths = [700, 2300, 1600, 2200, 2200];
                let cell = |text: &str, width: usize| {
                    TableCell::new()
                        .width(width, WidthType::Dxa)
                        .add_paragraph(Paragraph::new().add_run(small(text)))
                };
                let mut rows = vec![TableRow::new(
                    header
                        .iter()
                        .zip(widths)
                        .map(|(text, width)| cell(text, width))
                        .collect(),
                )];
                for (n, item) in self.failed_items.iter().enumerate() {
                    let values = [
                        (n + 1).to_string(),
                        item.listed_name(),
                        item.clause.clone(),
                        item.required.clone(),
                        item.measured.clone(),
                    ];
                    rows.push(TableRow::new(
                        values
                            .iter()
                            .zip(widths)
                            .map(|(text, width)| cell(text, width))
                            .collect(),
                    ));
                }
                if self.failed_items.is_empty() {
                    rows.push(TableRow::new(vec![
                        cell("", widths[0]),
                        cell("（检验报告未列明不合格项目，以检验报告为准）", widths[1]),
                        cell("", widths[2]),
                        cell("", widths[3]),
                        cell("", widths[4]),
                    ]));
                }
                docx = docx.add_table(Table::new(rows).set_grid(widths.to_vec()));
            } else if index == 0 {
                docx = docx.add_paragraph(Paragraph::new().add_run(body(paragraph)));
            } else {
                docx = docx.add_paragraph(Paragraph::new().add_run(body(paragraph)).indent(
                    None,
                    Some(SpecialIndentType::FirstLine(640)),
                    None,
                    None,
                ));
            }
        }
        let right = |text: &str| {
            Paragraph::new()
                .add_run(body(text))
                .align(AlignmentType::Right)
        };
        docx = docx
            .add_paragraph(Paragraph::new())
            .add_paragraph(right(&self.authority))
            .add_paragraph(right(&self.issued_on))
            .add_paragraph(Paragraph::new())
            .add_paragraph(
                Paragraph::new().add_run(small("送达回证：本文书已于＿＿＿＿年＿＿月＿＿日送达。")),
            )
            .add_paragraph(Paragraph::new().add_run(small(
                "受送达单位（盖章）：＿＿＿＿＿＿＿＿　　签收人：＿＿＿＿＿＿",
            )));
        let mut bytes = std::io::Cursor::new(Vec::new());
        docx.build()
            .pack(&mut bytes)
            .map_err(|error| ReportError::Write(format!("cannot write the DOCX: {error}")))?;
        Ok(bytes.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_the_chinese_way() {
        assert_eq!(date_zh("2026-03-05"), "2026年3月5日");
        assert_eq!(date_zh("2026-11-30T00:00:00"), "2026年11月30日");
        assert_eq!(date_zh("soon"), "soon");
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn entry(kind: NoticeKind, due_on: &str, proposed: bool) -> NoticeEntry {
        NoticeEntry {
            number: 1,
            kind,
            to: String::new(),
            due_on: Some(due_on.to_owned()),
            status: String::new(),
            proposed,
            cause: None,
        }
    }

    #[test]
    fn a_notice_not_served_yet_never_sets_a_limit_before_its_period_from_printing() {
        let mut law = Authority::default();
        // A calendar without the State Council's notice for 2027, as the shipped one is now.
        law.calendar.years.retain(|year, _| year.as_str() < "2027");
        // Final on 7 May 2024, projected to 8 July 2024; printed on Friday 4 December 2026:
        // sixty days from today, Tuesday 2 February 2027 (a year the calendar lacks), and the
        // re-check seventy-five days, Wednesday 17 February.
        let today = day("2026-12-04");
        let late = Limits::of(
            &entry(NoticeKind::Rectification, "2024-07-08", true),
            false,
            Some(day("2024-07-22")),
            today,
            &law,
        );
        assert_eq!(late.due_on, Some(day("2027-02-02")));
        assert_eq!(late.recheck_by, Some(day("2027-02-17")));
        let note = late.note(today).unwrap();
        assert!(note.contains("按2026年12月4日送达计算"), "{note}");
        assert!(
            note.contains("2027年的节假日安排尚未载入工作日历"),
            "{note}"
        );
        // Printed the day it became final, the case's limit stands, and no note.
        let prompt = Limits::of(
            &entry(NoticeKind::Rectification, "2026-07-13", true),
            false,
            Some(day("2026-07-27")),
            day("2026-05-12"),
            &law,
        );
        assert_eq!(prompt.due_on, Some(day("2026-07-13")));
        assert_eq!(prompt.note(day("2026-05-12")), None);
        // Served, or its order recorded: the case's limit, however late it is printed.
        for (proposed, ordered) in [(false, false), (true, true)] {
            let kept = Limits::of(
                &entry(NoticeKind::Rectification, "2024-07-08", proposed),
                ordered,
                Some(day("2024-07-22")),
                today,
                &law,
            );
            assert_eq!(
                (kept.due_on, kept.recheck_by, kept.counted.len()),
                (Some(day("2024-07-08")), Some(day("2024-07-22")), 0)
            );
        }
        // An interview not held yet: ten days from printing (Monday 14 December).
        let interview = Limits::of(
            &entry(NoticeKind::Interview, "2026-11-02", true),
            true,
            None,
            today,
            &law,
        );
        assert_eq!(interview.due_on, Some(day("2026-12-14")));
        // A reminder's limit is the order's deadline.
        let reminder = Limits::of(
            &entry(NoticeKind::Reminder, "2026-11-02", true),
            true,
            None,
            today,
            &law,
        );
        assert_eq!(reminder.due_on, Some(day("2026-11-02")));
    }

    /// A lab's failure's notice of `kind`, called for by `reason`.
    fn document(kind: NoticeKind, reason: &str) -> NoticeDocument {
        let mut document = NoticeDocument {
            case_id: "c".into(),
            number: 1,
            kind,
            title: kind.name_zh().into(),
            status: "待送达".into(),
            authority: "天津市南开区市场监督管理局".into(),
            document_number: "〔2026〕第　　　号".into(),
            recipient: Recipient {
                name: "天津市某某燃气具有限公司".into(),
                uscc: "91120113MA07C1D2E3".into(),
                role: "标称生产企业".into(),
            },
            product: Product {
                name: "家用燃气灶具".into(),
                brand: "某牌".into(),
                model: "JZT-2B".into(),
                batch: "2026-06-01".into(),
                producer: "天津市某某燃气具有限公司".into(),
            },
            category: Some("燃气用具".into()),
            organiser: Some("天津市市场监督管理委员会".into()),
            sampled_unit: "天津市河北区某某厨卫商店".into(),
            sampling_date: "2026年10月15日".into(),
            lab: "某检验机构".into(),
            report_no: "TJ-1".into(),
            standards: None,
            failed_items: Vec::new(),
            due_on: "2026年12月16日".into(),
            rectify_by: Some("2027年1月11日".into()),
            recheck_by: None,
            rectify_days: "六十".into(),
            limits_note: None,
            final_on: Some("2026年11月10日".into()),
            reason: reason.into(),
            issued_on: "2026年12月6日".into(),
            inspection: None,
            holder: false,
            paragraphs: Vec::new(),
        };
        document.paragraphs = paragraphs(&document).unwrap();
        document
    }

    /// The articles of Order 18 (产品质量监督抽查管理暂行办法) a notice's basis cites.
    fn order_18_articles(document: &NoticeDocument) -> Vec<&'static str> {
        let basis = document
            .paragraphs
            .iter()
            .find(|p| p.starts_with("依据"))
            .expect("a paragraph giving the basis");
        ["第四十五条", "第四十六条", "第四十七条", "第四十八条"]
            .into_iter()
            .filter(|article| basis.contains(article))
            .collect()
    }

    #[test]
    fn each_notice_cites_the_articles_of_what_called_for_it() {
        // Art 46 orders the rectification within sixty days, Art 47 the re-check and what follows
        // its failure, Art 48 the second re-check after the public notice (and the suspension).
        let cited = |kind, reason| order_18_articles(&document(kind, reason));
        assert_eq!(
            cited(NoticeKind::Rectification, ""),
            ["第四十五条", "第四十六条"]
        );
        assert_eq!(cited(NoticeKind::Reminder, ""), ["第四十六条"]);
        assert_eq!(cited(NoticeKind::Interview, "overdue"), ["第四十六条"]);
        assert_eq!(
            cited(NoticeKind::Interview, "recheck_failed"),
            ["第四十七条"]
        );
        assert_eq!(
            cited(NoticeKind::ListedSupervision, "serious"),
            ["第四十五条", "第四十六条"]
        );
        assert_eq!(
            cited(NoticeKind::ListedSupervision, "second_recheck_failed"),
            ["第四十五条", "第四十八条"]
        );
        let serious = document(NoticeKind::ListedSupervision, "serious");
        assert!(
            serious.paragraphs.iter().any(|p| p.contains("三书一函")),
            "{:?}",
            serious.paragraphs
        );
    }

    #[test]
    fn a_holders_rectification_notice_cites_the_ban_on_selling_not_the_sampled_units_articles() {
        // Order 18 Art 45–46 bind the sampled producer and seller; a unit that only received the
        // batch is ordered to stop selling it under the Product Quality Law's ban on selling
        // products below the mandatory standards (Art 13) and its order to stop (Art 49).
        let mut held = document(NoticeKind::Rectification, "");
        held.holder = true;
        held.paragraphs = paragraphs(&held).unwrap();
        assert_eq!(order_18_articles(&held), Vec::<&str>::new());
        let basis = held.paragraphs.iter().find(|p| p.starts_with("依据"));
        assert_eq!(
            basis.map(String::as_str),
            Some("依据《中华人民共和国产品质量法》第十三条、第四十九条的规定，现责令你单位：")
        );
    }

    #[test]
    fn a_listed_supervision_names_the_serious_items_when_not_every_item_is() {
        let item = |name: &str, severity: &str| FailedItem {
            name: name.into(),
            clause: String::new(),
            required: String::new(),
            measured: String::new(),
            severity: severity.into(),
            cleared: false,
        };
        let danger = |items: Vec<FailedItem>| {
            let mut notice = document(NoticeKind::ListedSupervision, "serious");
            notice.failed_items = items;
            let paragraphs = paragraphs(&notice).unwrap();
            paragraphs
                .into_iter()
                .find(|p| p.contains("重大质量安全隐患"))
                .unwrap_or_default()
        };
        assert_eq!(
            danger(vec![item("熄火保护装置", "严重"), item("燃气导管", "一般")]),
            "上述不合格项目中，熄火保护装置属于严重不合格项目，存在重大质量安全隐患。"
        );
        for items in [
            vec![item("熄火保护装置", "严重")],
            vec![item("熄火保护装置", ""), item("燃气导管", "")],
        ] {
            assert_eq!(
                danger(items),
                "上述不合格项目属于严重质量问题，存在重大质量安全隐患。"
            );
        }
    }

    #[test]
    fn the_authority_is_the_recipients_district_bureau() {
        assert_eq!(bureau("120104", None), "天津市南开区市场监督管理局");
        assert_eq!(
            bureau("", Some("天津市市场监督管理委员会")),
            "天津市市场监督管理委员会"
        );
        assert_eq!(bureau("130102", None), "天津市市场监督管理委员会");
    }
}

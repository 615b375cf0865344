//! The public result bulletin of a spot-check task (抽查结果公告, SAMR Order 18 Art 44), with the
//! columns people expect (docs/domain.md, "What a published result notice shows") in three lists:
//! 不合格产品, 合格产品 and 跟踪抽查.
//!
//! Only final results are published: a pass as soon as it is reported; a failure once its case
//! is final (no objection in time, or the re-test upheld it) — a failure still in its objection
//! window or re-test is left out, and one the re-test overturned is listed as 合格 with a remark;
//! a result revoked by a decision is no result, and is in no list.
//! A result is a follow-up check (跟踪抽查) when the lab marked it so (`follow_up`), or when the
//! same organiser sampled the same producer's same product (brand and model however written:
//! `product_key`) earlier and that sample failed, a failure that still stands (not overturned
//! or revoked) of a label the producer does not deny (`denied_labels`), of a producer the
//! label names (two 三无 products are not one producer's); the same organiser and producer as
//! the six-month rule has them (the organiser however written; the same credit code, else the
//! same name however spelt). A label the nominal producer denies (suspected counterfeit, by the
//! lab's word or by an official's `producer_denied` that stands) is marked in the remarks, as
//! bulletins do.

use crate::ReportError;
use crate::table::{TextRow, get, text_rows};
use crate::templates::render;
use rust_xlsxwriter::{Format, Workbook};
use serde::Serialize;
use serde_json::json;
use spotcheck_analytics::Analytics;
use spotcheck_schemas::enums::SamplingDomain;
use spotcheck_schemas::names::zh;
use std::collections::{BTreeMap, BTreeSet};

/// The columns of every list, in order.
pub const COLUMNS: [&str; 15] = [
    "序号",
    "产品名称",
    "抽查领域",
    "被抽样单位",
    "被抽样单位统一社会信用代码",
    "标称生产企业",
    "标称生产企业地址",
    "商标",
    "规格型号",
    "生产日期/批号",
    "抽查结果",
    "主要不合格项目",
    "承检机构",
    "报告编号",
    "备注",
];

/// The three lists, by name.
pub const SHEETS: [&str; 3] = ["不合格产品", "合格产品", "跟踪抽查"];

/// Case states in which a failure is final.
const FINAL: &[&str] = &[
    "final",
    "rectifying",
    "escalated",
    "suspended",
    "closed",
    "revocation_referred",
];

/// One published result: the values of [`COLUMNS`] after 序号.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub cells: Vec<String>,
}

/// A task's bulletin.
#[derive(Debug, Clone, Serialize)]
pub struct Bulletin {
    pub task_id: String,
    pub organiser: Option<String>,
    /// The lists in the order of [`SHEETS`].
    pub lists: Vec<Vec<Entry>>,
    /// Failures of the task not published yet (objection window or re-test).
    pub pending: usize,
}

/// The bulletin of `task_id` (only the organiser's results when `organiser` is given).
pub async fn bulletin(
    analytics: &Analytics,
    task_id: &str,
    organiser: Option<&str>,
) -> Result<Bulletin, ReportError> {
    let (filter, params) = match organiser {
        None => ("r.task_id = $task_id", vec![("task_id", task_id)]),
        Some(organiser) => (
            "r.task_id = $task_id AND r.organiser = $organiser",
            vec![("task_id", task_id), ("organiser", organiser)],
        ),
    };
    let rows = text_rows(
        analytics,
        &format!(
            "SELECT r.report_no, r.lab_id, r.organiser, r.product_name, r.sampling_domain, \
                    r.sampled_unit_name, r.sampled_unit_uscc, r.producer_name, r.producer_address, \
                    r.brand, r.model, r.batch, r.production_date, r.sampling_date, r.verdict, \
                    r.follow_up, c.status AS case_status, \
                    d.report_no IS NOT NULL AS denied_label \
             FROM results r \
             LEFT JOIN cases c ON c.report_no = r.report_no AND c.lab_id = r.lab_id \
             LEFT JOIN denied_labels d ON d.report_no = r.report_no AND d.lab_id = r.lab_id \
             WHERE {filter} \
             ORDER BY r.sampling_date, r.report_no"
        ),
        &params,
    )
    .await?;
    if rows.is_empty() {
        return Err(ReportError::NotFound(format!(
            "no results of task {task_id}{} in the lake",
            organiser.map(|o| format!(" by {o}")).unwrap_or_default()
        )));
    }
    let items = failed_items(analytics, filter, &params).await?;
    let follow_ups: BTreeSet<(String, String)> = text_rows(
        analytics,
        &format!(
            "SELECT DISTINCT r.report_no, r.lab_id \
             FROM (SELECT x.*, k.organiser_key FROM results x \
                   LEFT JOIN organisers k ON k.organiser = x.organiser) r \
             JOIN (SELECT x.*, k.organiser_key FROM standing_results x \
                   LEFT JOIN organisers k ON k.organiser = x.organiser) e \
               ON coalesce(e.organiser_key, '') = coalesce(r.organiser_key, '') \
              AND CASE WHEN e.producer_uscc IS NOT NULL AND r.producer_uscc IS NOT NULL \
                       THEN e.producer_uscc = r.producer_uscc \
                       ELSE name_key(e.producer_name) = name_key(r.producer_name) END \
              AND coalesce(product_key(e.brand), '') = coalesce(product_key(r.brand), '') \
              AND product_key(e.model) = product_key(r.model) \
             LEFT JOIN denied_labels d ON d.report_no = e.report_no AND d.lab_id = e.lab_id \
             WHERE e.standing_verdict = 'fail' AND e.sampling_date < r.sampling_date AND {filter} \
               AND names_a_producer(r.producer_name) AND d.report_no IS NULL"
        ),
        &params,
    )
    .await?
    .iter()
    .map(|row| {
        (
            get(row, "report_no").to_owned(),
            get(row, "lab_id").to_owned(),
        )
    })
    .collect();
    let mut lists = vec![Vec::new(), Vec::new(), Vec::new()];
    let mut pending = 0;
    for row in &rows {
        let failed = get(row, "verdict") == "fail";
        let status = get(row, "case_status");
        let overturned = failed && status == "overturned";
        if failed && status == "revoked" {
            continue;
        }
        if failed && !overturned && !FINAL.contains(&status) {
            pending += 1;
            continue;
        }
        let key = (
            get(row, "report_no").to_owned(),
            get(row, "lab_id").to_owned(),
        );
        // Marked by the lab (跟踪抽查), or found: a failure of the same product sampled before.
        let list = if follow_ups.contains(&key) || get(row, "follow_up") == "true" {
            2
        } else if failed && !overturned {
            0
        } else {
            1
        };
        let lab = get(row, "lab_id");
        let lab = analytics.lab_name(lab).unwrap_or(lab);
        lists[list].push(entry(row, overturned, items.get(&key), lab));
    }
    Ok(Bulletin {
        task_id: task_id.to_owned(),
        organiser: organiser.map(str::to_owned),
        lists,
        pending,
    })
}

/// The failed items of each result of the filter, as bulletins write them:
/// 最高车速（标准值：≤25 km/h；实测值：31 km/h）.
async fn failed_items(
    analytics: &Analytics,
    filter: &str,
    params: &[(&str, &str)],
) -> Result<BTreeMap<(String, String), String>, ReportError> {
    let rows = text_rows(
        analytics,
        &format!(
            "SELECT DISTINCT i.report_no, i.lab_id, i.item_no, i.item_name, i.required, i.measured, \
                    c.cleared_items \
             FROM result_items i JOIN results r ON i.report_no = r.report_no AND i.lab_id = r.lab_id \
             LEFT JOIN cases c ON c.report_no = r.report_no AND c.lab_id = r.lab_id \
             WHERE i.verdict = 'fail' AND {filter} ORDER BY i.report_no, i.lab_id, i.item_no"
        ),
        params,
    )
    .await?;
    let mut items: BTreeMap<(String, String), String> = BTreeMap::new();
    for row in &rows {
        // An item an upheld re-test cleared is not part of the failure the bulletin publishes.
        if crate::notice::cleared_items(row).contains(get(row, "item_name")) {
            continue;
        }
        let mut text = get(row, "item_name").to_owned();
        let values: Vec<String> = [("标准值", "required"), ("实测值", "measured")]
            .into_iter()
            .filter(|(_, column)| !get(row, column).is_empty())
            .map(|(label, column)| format!("{label}：{}", get(row, column)))
            .collect();
        if !values.is_empty() {
            text.push_str(&format!("（{}）", values.join("；")));
        }
        let joined = items
            .entry((
                get(row, "report_no").to_owned(),
                get(row, "lab_id").to_owned(),
            ))
            .or_default();
        if !joined.is_empty() {
            joined.push('、');
        }
        joined.push_str(&text);
    }
    Ok(items)
}

fn entry(row: &TextRow, overturned: bool, items: Option<&String>, lab: &str) -> Entry {
    let domain = get(row, "sampling_domain");
    let batch = match (get(row, "production_date"), get(row, "batch")) {
        ("", batch) => batch.to_owned(),
        (date, batch) if batch.is_empty() || batch == date => date.to_owned(),
        (date, batch) => format!("{date}/{batch}"),
    };
    let failed = get(row, "verdict") == "fail" && !overturned;
    let mut remarks = Vec::new();
    // Marked so by the lab, or the producer's denial recorded by an official since.
    if get(row, "denied_label") == "true" {
        remarks.push("标称生产企业否认生产该产品，涉嫌假冒");
    }
    if overturned {
        remarks.push("经复检合格");
    }
    Entry {
        cells: vec![
            get(row, "product_name").to_owned(),
            zh(domain, SamplingDomain::name_zh)
                .unwrap_or(domain)
                .to_owned(),
            get(row, "sampled_unit_name").to_owned(),
            get(row, "sampled_unit_uscc").to_owned(),
            get(row, "producer_name").to_owned(),
            get(row, "producer_address").to_owned(),
            get(row, "brand").to_owned(),
            get(row, "model").to_owned(),
            batch,
            if failed { "不合格" } else { "合格" }.to_owned(),
            if failed {
                items.cloned().unwrap_or_default()
            } else {
                String::new()
            },
            lab.to_owned(),
            get(row, "report_no").to_owned(),
            remarks.join("；"),
        ],
    }
}

impl Bulletin {
    fn title(&self) -> String {
        format!("产品质量监督抽查结果公告（任务 {}）", self.task_id)
    }

    /// The workbook: one sheet per list, a header row, filters on every column.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, ReportError> {
        let mut workbook = Workbook::new();
        let header = Format::new().set_bold();
        for (name, list) in SHEETS.iter().zip(&self.lists) {
            let sheet = workbook.add_worksheet();
            sheet.set_name(*name)?;
            for (column, title) in COLUMNS.iter().enumerate() {
                sheet.write_string_with_format(0, column as u16, *title, &header)?;
            }
            for (index, entry) in list.iter().enumerate() {
                let row = index as u32 + 1;
                sheet.write_number(row, 0, (index + 1) as f64)?;
                for (column, cell) in entry.cells.iter().enumerate() {
                    sheet.write_string(row, column as u16 + 1, cell)?;
                }
            }
            sheet.autofilter(0, 0, list.len() as u32, COLUMNS.len() as u16 - 1)?;
            sheet.set_freeze_panes(1, 0)?;
        }
        Ok(workbook.save_to_buffer()?)
    }

    /// A page to publish or print, the three lists one after another.
    pub fn to_html(&self) -> Result<String, ReportError> {
        let lists: Vec<_> = SHEETS
            .iter()
            .zip(&self.lists)
            .map(|(name, entries)| json!({ "name": name, "entries": entries }))
            .collect();
        render(
            "bulletin.html",
            json!({
                "title": self.title(),
                "organiser": self.organiser,
                "columns": COLUMNS,
                "lists": lists,
            }),
        )
    }
}

//! The quarterly report of a district bureau (due the first working day of the next quarter), the
//! yearly one (due 10 January) with the same sections over the year, and the report over several
//! years (the three-year action's self-evaluation, 2024–2026, due when the action ends) with each
//! year beside the others: one self-contained HTML file (charts inline), a Markdown version with
//! the charts as SVG files beside it, and the CSV table behind every chart. Every number is a
//! query over `results_by_quarter` and the lake's case, disposition and disclosure tables — the
//! SQL is printed under each table, so an analyst can rerun it.

use crate::ReportError;
use crate::svg::{bar_chart, line_chart};
use crate::table::{TextRow, TextTable, get, literal, text_rows, text_table};
use crate::templates::render;
use chrono::NaiveDate;
use serde_json::json;
use spotcheck_analytics::Analytics;
use spotcheck_schemas::case::CaseStatus;
use spotcheck_schemas::days;
use spotcheck_schemas::enums::{Category, DisclosureAction, NoticeKind, SubjectRole};
use spotcheck_schemas::names::{division_name, zh};
use spotcheck_traceback::Calendar;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A quarter such as `2026Q3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quarter {
    pub year: i32,
    pub quarter: u8,
}

impl Quarter {
    pub fn parse(text: &str) -> Option<Self> {
        let (year, quarter) = text
            .trim()
            .to_uppercase()
            .split_once('Q')
            .map(|(y, q)| (y.parse::<i32>().ok(), q.parse::<u8>().ok()))?;
        match (year, quarter) {
            (Some(year), Some(quarter)) if (1..=4).contains(&quarter) && year > 1900 => {
                Some(Self { year, quarter })
            }
            _ => None,
        }
    }

    fn previous(self) -> Self {
        if self.quarter == 1 {
            Self {
                year: self.year - 1,
                quarter: 4,
            }
        } else {
            Self {
                year: self.year,
                quarter: self.quarter - 1,
            }
        }
    }

    /// The first day of the quarter and the first day of the next one.
    pub fn bounds(self) -> (NaiveDate, NaiveDate) {
        let first = |year: i32, quarter: u8| {
            NaiveDate::from_ymd_opt(year, u32::from(quarter) * 3 - 2, 1).unwrap_or_default()
        };
        let next = if self.quarter == 4 {
            first(self.year + 1, 1)
        } else {
            first(self.year, self.quarter + 1)
        };
        (first(self.year, self.quarter), next)
    }

    /// This quarter and the seven before it, oldest first.
    pub fn last_eight(self) -> Vec<Self> {
        let mut quarters = vec![self];
        while quarters.len() < 8 {
            let earliest = quarters[quarters.len() - 1];
            quarters.push(earliest.previous());
        }
        quarters.reverse();
        quarters
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}Q{}", self.year, self.quarter)
    }
}

/// The period a report covers: a quarter, a calendar year (its four quarters), or calendar years
/// from the first to the last (the three-year action's self-evaluation: 2024 to 2026).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Quarter(Quarter),
    Year(i32),
    Years(i32, i32),
}

/// The most years one report spans.
const MOST_YEARS: i32 = 10;

/// A year as reports take it: after 1900.
fn year_of(text: &str) -> Option<i32> {
    text.trim()
        .parse::<i32>()
        .ok()
        .filter(|year| (1901..=9999).contains(year))
}

impl Period {
    /// A year such as `2026` (after 1900).
    pub fn year(text: &str) -> Option<Self> {
        year_of(text).map(Self::Year)
    }

    /// Years such as `2024-2026` (a dash of any width, `~` or 至 between them): the first before
    /// the last, at most ten years.
    pub fn years(text: &str) -> Option<Self> {
        let (first, last) = text.trim().split_once(['-', '–', '—', '~', '至'])?;
        let (first, last) = (year_of(first)?, year_of(last)?);
        (first < last && last - first < MOST_YEARS).then_some(Self::Years(first, last))
    }

    /// The quarters it covers, oldest first.
    pub fn quarters(self) -> Vec<Quarter> {
        let of_years = |first: i32, last: i32| {
            (first..=last)
                .flat_map(|year| (1..=4).map(move |quarter| Quarter { year, quarter }))
                .collect()
        };
        match self {
            Self::Quarter(quarter) => vec![quarter],
            Self::Year(year) => of_years(year, year),
            Self::Years(first, last) => of_years(first, last),
        }
    }

    /// Its last quarter.
    fn last(self) -> Quarter {
        match self {
            Self::Quarter(quarter) => quarter,
            Self::Year(year) | Self::Years(_, year) => Quarter { year, quarter: 4 },
        }
    }

    /// The quarters its trend shows: every quarter of a span of years, else the eight that end
    /// with its last.
    fn trend(self) -> Vec<Quarter> {
        match self {
            Self::Years(..) => self.quarters(),
            Self::Quarter(_) | Self::Year(_) => self.last().last_eight(),
        }
    }

    /// The first day of the period and the first day after it.
    pub fn bounds(self) -> (NaiveDate, NaiveDate) {
        let quarters = self.quarters();
        let first = quarters.first().map(|q| q.bounds().0).unwrap_or_default();
        (first, self.last().bounds().1)
    }

    /// In Chinese, as report titles name it: 2026年第3季度, 2026年度, 2024—2026年.
    pub fn name_zh(self) -> String {
        match self {
            Self::Quarter(q) => format!("{}年第{}季度", q.year, q.quarter),
            Self::Year(year) => format!("{year}年度"),
            Self::Years(first, last) => format!("{first}—{last}年"),
        }
    }

    /// When the report is due, in words (docs/domain.md, Reporting): a quarter's on the first
    /// working day of the next (on `calendar`; a year it lacks skips weekends only, and says
    /// so), a year's by 10 January; a span of years' when the action ends (no fixed day).
    pub fn due_zh(self, calendar: &Calendar) -> String {
        match self {
            Self::Quarter(quarter) => {
                let next = quarter.bounds().1;
                let due = calendar.period_end(next.pred_opt().unwrap_or(next), 1);
                let unknown = due.unknown_year.map_or_else(String::new, |year| {
                    format!("；{year}年的节假日安排尚未载入工作日历，只避开了周末")
                });
                format!(
                    "报送期限：{}（下一季度第一个工作日{unknown}）",
                    days::date_zh(due.date)
                )
            }
            Self::Year(year) => format!("报送期限：{}年1月10日前", year + 1),
            Self::Years(..) => "报送期限：总体任务结束后".to_owned(),
        }
    }

    /// 本季度, 本年度 or 报告期内.
    fn this_zh(self) -> &'static str {
        match self {
            Self::Quarter(_) => "本季度",
            Self::Year(_) => "本年度",
            Self::Years(..) => "报告期内",
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Quarter(quarter) => quarter.fmt(f),
            Self::Year(year) => year.fmt(f),
            Self::Years(first, last) => write!(f, "{first}-{last}"),
        }
    }
}

/// What to report on.
#[derive(Debug, Clone)]
pub struct Scope {
    pub period: Period,
    /// A division-code prefix (e.g. `120104`), or every district.
    pub district: Option<String>,
    /// When it is due, in words ([`Period::due_zh`]), shown under the title.
    pub due: Option<String>,
}

/// How a section is drawn: which column labels the bars or points and which gives the value.
enum Chart {
    Bars {
        label: &'static str,
        value: &'static str,
    },
    Line {
        label: &'static str,
        value: &'static str,
    },
    None,
}

/// One section: a title, its rows (from `sql`), and its chart.
pub struct Section {
    pub id: &'static str,
    pub title: String,
    pub sql: String,
    pub columns: Vec<String>,
    pub rows: Vec<TextRow>,
    chart: Chart,
}

/// The report's sections, queried from the lake.
pub async fn sections(analytics: &Analytics, scope: &Scope) -> Result<Vec<Section>, ReportError> {
    // The values are written into the text, not bound: the report prints each section's SQL
    // for an analyst to run again as it stands.
    // Quarters as a SQL list: '2026Q1', '2026Q2'.
    let listed = |quarters: Vec<Quarter>| -> String {
        let literals: Vec<String> = quarters.iter().map(|q| literal(&q.to_string())).collect();
        literals.join(", ")
    };
    let district = scope
        .district
        .as_ref()
        .map(|d| format!(" AND r.district LIKE {}", literal(&format!("{d}%"))))
        .unwrap_or_default();
    let in_scope = format!(
        "r.quarter IN ({}){district}",
        listed(scope.period.quarters())
    );
    // The results as they stand: an overturned failure is a pass, a revoked result none.
    let standing = "standing_results";
    let rate = "count(*) AS results, sum(CASE WHEN r.standing_verdict = 'fail' THEN 1 ELSE 0 END) AS failures, \
                round(100 * avg(CASE WHEN r.standing_verdict = 'fail' THEN 1.0 ELSE 0.0 END), 2) AS failure_rate_pct";
    let (trend_id, trend_title) = match scope.period {
        Period::Years(..) => ("by_quarter", "各季度不合格率"),
        Period::Quarter(_) | Period::Year(_) => ("last_eight_quarters", "近八个季度不合格率"),
    };
    let cases_in_scope = format!(
        "cases c JOIN results_by_quarter r ON c.report_no = r.report_no AND c.lab_id = r.lab_id \
         WHERE {in_scope}"
    );
    // Each case's rectification order — recorded, else its rectification notice served, as the
    // traceback stage counts it — and its first rectification report. A case without either
    // was never ordered: not "ordered", not "overdue". A unit that only holds the batch (told
    // to stop selling and recall it) is neither the order nor the report the case follows.
    let rectification = "(SELECT d.report_no, d.lab_id, \
         min(CASE WHEN d.kind = 'rectification_ordered' \
                    OR (d.kind = 'notice_served' AND d.outcome = 'rectification') THEN d.\"on\" END) AS ordered_on, \
         min(CASE WHEN d.kind = 'rectification_reported' THEN d.\"on\" END) AS reported_on \
         FROM standing_dispositions d \
         LEFT JOIN (SELECT c.report_no, c.lab_id, u.uscc FROM cases c \
                    JOIN case_units u ON u.case_id = c.case_id WHERE NOT u.responsible) h \
           ON h.report_no = d.report_no AND h.lab_id = d.lab_id AND h.uscc = d.uscc \
         WHERE h.uscc IS NULL GROUP BY d.report_no, d.lab_id)";
    // Disclosures count in the period they were published in (Beijing time), whatever the
    // quarter of the sampling; a district's are those of cases of its sampled units.
    let (from, until) = scope.period.bounds();
    let published_in_period = format!(
        "d.published_at >= CAST('{from}T00:00:00+08:00' AS TIMESTAMP) \
         AND d.published_at < CAST('{until}T00:00:00+08:00' AS TIMESTAMP)"
    );
    let disclosures_in_district = if district.is_empty() {
        String::new()
    } else {
        format!(
            " AND d.case_id IN (SELECT c.case_id FROM cases c JOIN results_by_quarter r \
               ON c.report_no = r.report_no AND c.lab_id = r.lab_id WHERE true{district})"
        )
    };
    // Today is China's date (UTC+8), whatever the server's time zone: a report made on the morning
    // it is due counts what was overdue by the day before (docs/domain.md, Periods).
    let china_today = "CAST(now() + INTERVAL '8 hours' AS DATE)";
    let mut plan: Vec<(&'static str, String, String, Chart)> = vec![
        (
            "by_category",
            "各产品类别抽查批次与不合格率".into(),
            format!(
                "SELECT r.category, {rate} FROM {standing} r WHERE {in_scope} GROUP BY r.category ORDER BY r.category"
            ),
            Chart::Bars {
                label: "category",
                value: "failure_rate_pct",
            },
        ),
        (
            "by_district",
            "各区抽查批次与不合格率（按被抽样单位所在地）".into(),
            format!(
                "SELECT r.district, {rate} FROM {standing} r WHERE {in_scope} GROUP BY r.district ORDER BY r.district"
            ),
            Chart::Bars {
                label: "district",
                value: "failure_rate_pct",
            },
        ),
        (
            trend_id,
            trend_title.into(),
            format!(
                "SELECT r.quarter, {rate} FROM {standing} r WHERE r.quarter IN ({}){district} \
                 GROUP BY r.quarter ORDER BY r.quarter",
                listed(scope.period.trend())
            ),
            Chart::Line {
                label: "quarter",
                value: "failure_rate_pct",
            },
        ),
        (
            "failing_items",
            "不合格次数最多的检验项目".into(),
            format!(
                "SELECT i.item_name, count(*) AS tested, \
                 sum(CASE WHEN i.standing_verdict = 'fail' THEN 1 ELSE 0 END) AS failures \
                 FROM standing_items i JOIN {standing} r ON i.report_no = r.report_no AND i.lab_id = r.lab_id \
                 WHERE {in_scope} GROUP BY i.item_name ORDER BY failures DESC, i.item_name LIMIT 10"
            ),
            Chart::Bars {
                label: "item_name",
                value: "failures",
            },
        ),
        (
            "cases",
            "案件：立案、结案与逾期未整改".into(),
            format!(
                "SELECT count(*) AS opened, sum(CASE WHEN c.status = 'closed' THEN 1 ELSE 0 END) AS closed, \
                 sum(CASE WHEN c.status IN ('rectifying', 'retest') AND d.reported_on IS NULL \
                           AND c.rectify_by < {china_today} THEN 1 ELSE 0 END) AS overdue \
                 FROM cases c JOIN results_by_quarter r ON c.report_no = r.report_no AND c.lab_id = r.lab_id \
                 LEFT JOIN {rectification} d ON d.report_no = c.report_no AND d.lab_id = c.lab_id \
                 WHERE {in_scope}"
            ),
            Chart::None,
        ),
        (
            "case_status",
            "案件状态分布".into(),
            format!(
                "SELECT c.status, count(*) AS cases FROM {cases_in_scope} GROUP BY c.status ORDER BY c.status"
            ),
            Chart::Bars {
                label: "status",
                value: "cases",
            },
        ),
        (
            "rectification_on_time",
            "整改报告报送情况".into(),
            format!(
                "SELECT count(*) AS ordered, sum(CASE WHEN d.reported_on <= c.rectify_by THEN 1 ELSE 0 END) AS on_time, \
                 sum(CASE WHEN d.reported_on > c.rectify_by THEN 1 ELSE 0 END) AS late, \
                 sum(CASE WHEN d.reported_on IS NULL THEN 1 ELSE 0 END) AS not_reported \
                 FROM cases c JOIN results_by_quarter r ON c.report_no = r.report_no AND c.lab_id = r.lab_id \
                 JOIN {rectification} d ON d.report_no = c.report_no AND d.lab_id = c.lab_id \
                 WHERE {in_scope} AND d.ordered_on IS NOT NULL AND c.rectify_by IS NOT NULL"
            ),
            Chart::None,
        ),
        (
            "disclosures",
            format!("信用信息公示（按公示日期计入{}）", scope.period.this_zh()),
            format!(
                "SELECT d.action, count(DISTINCT d.disclosure_id) AS disclosures FROM disclosures d \
                 WHERE {published_in_period}{disclosures_in_district} \
                 GROUP BY d.action ORDER BY d.action"
            ),
            Chart::Bars {
                label: "action",
                value: "disclosures",
            },
        ),
        (
            "identifications",
            "待认定主体（尚无统一社会信用代码：暂不送达、不公示）".into(),
            format!(
                "SELECT s.role, count(*) AS waiting, count(DISTINCT s.case_id) AS cases FROM case_subjects s \
                 WHERE s.disclosure = 'identification_pending' \
                   AND s.case_id IN (SELECT c.case_id FROM {cases_in_scope}) GROUP BY s.role ORDER BY s.role"
            ),
            Chart::None,
        ),
    ];
    if let Period::Years(..) = scope.period {
        // Years side by side: what the action changed, over all and in each category.
        let year = "CAST(date_part('year', r.sampling_date) AS BIGINT)";
        plan.splice(
            2..2,
            [
                (
                    "by_year",
                    "各年度抽查批次与不合格率".into(),
                    format!(
                        "SELECT {year} AS year, {rate} FROM {standing} r WHERE {in_scope} \
                         GROUP BY {year} ORDER BY year"
                    ),
                    Chart::Line {
                        label: "year",
                        value: "failure_rate_pct",
                    },
                ),
                (
                    "by_category_year",
                    "各产品类别逐年抽查批次与不合格率".into(),
                    format!(
                        "SELECT r.category, {year} AS year, {rate} FROM {standing} r WHERE {in_scope} \
                         GROUP BY r.category, {year} ORDER BY r.category, year"
                    ),
                    Chart::None,
                ),
            ],
        );
    }
    let mut sections = Vec::new();
    for (id, title, sql, chart) in plan {
        let TextTable { columns, mut rows } = text_table(analytics, &sql, &[]).await?;
        rows.iter_mut().for_each(name_values);
        sections.push(Section {
            id,
            title,
            sql,
            columns,
            rows,
            chart,
        });
    }
    let mut notices = notices(analytics, &cases_in_scope).await?;
    notices.rows.iter_mut().for_each(name_values);
    sections.push(notices);
    Ok(sections)
}

/// Writes the Chinese name in place of each English id a reader would see (category, district,
/// case status, notice kind, disclosure action, subject role); a value without a name stays.
fn name_values(row: &mut TextRow) {
    for (column, value) in row.iter_mut() {
        let name = match column.as_str() {
            "category" => zh(value, Category::name_zh),
            "district" if value.is_empty() => Some("（未注明）"),
            "district" => division_name(value),
            "status" => zh(value, CaseStatus::name_zh),
            "kind" => zh(value, NoticeKind::name_zh),
            "action" => zh(value, DisclosureAction::name_zh),
            "role" => zh(value, SubjectRole::name_zh),
            _ => None,
        };
        if let Some(name) = name {
            *value = name.to_owned();
        }
    }
}

/// The heading of a column in the report's tables and CSVs.
pub fn heading(column: &str) -> &str {
    match column {
        "category" => "产品类别",
        "district" => "地区",
        "quarter" => "季度",
        "year" => "年度",
        "results" => "抽查批次",
        "failures" => "不合格批次",
        "failure_rate_pct" => "不合格率(%)",
        "item_name" => "检验项目",
        "tested" => "检验次数",
        "opened" => "立案",
        "closed" => "结案",
        "overdue" => "逾期未整改",
        "status" => "状态",
        "cases" => "案件数",
        "ordered" => "责令整改",
        "on_time" => "按期报告",
        "late" => "逾期报告",
        "not_reported" => "未报告",
        "action" => "公示类型",
        "disclosures" => "公示数",
        "role" => "主体类型",
        "waiting" => "待认定",
        "kind" => "文书",
        "proposed" => "待送达",
        "served" => "已送达",
        "withdrawn" => "已撤回",
        "total" => "合计",
        other => other,
    }
}

/// Notices by kind and status, counted from each case's notices (newest revision).
async fn notices(analytics: &Analytics, cases_in_scope: &str) -> Result<Section, ReportError> {
    let sql = format!("SELECT c.notices_json FROM {cases_in_scope}");
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for row in text_rows(analytics, &sql, &[]).await? {
        let notices: Vec<serde_json::Value> =
            serde_json::from_str(get(&row, "notices_json")).unwrap_or_default();
        for notice in notices {
            let kind = notice["kind"].as_str().unwrap_or("unknown").to_owned();
            let status = notice["status"].as_str().unwrap_or("unknown").to_owned();
            *counts.entry(kind).or_default().entry(status).or_default() += 1;
        }
    }
    let rows = counts
        .into_iter()
        .map(|(kind, by_status)| {
            let count = |s: &str| by_status.get(s).copied().unwrap_or(0);
            let mut row = TextRow::new();
            row.insert("kind".into(), kind);
            row.insert("proposed".into(), count("proposed").to_string());
            row.insert("served".into(), count("served").to_string());
            row.insert("withdrawn".into(), count("withdrawn").to_string());
            row.insert("total".into(), by_status.values().sum::<u64>().to_string());
            row
        })
        .collect();
    Ok(Section {
        id: "notices",
        title: "三书一函：提出与送达情况".into(),
        sql: format!("{sql} -- then counted per notice kind and status"),
        columns: ["kind", "proposed", "served", "withdrawn", "total"]
            .map(String::from)
            .to_vec(),
        rows,
        chart: Chart::Bars {
            label: "kind",
            value: "total",
        },
    })
}

impl Section {
    /// The section's chart as SVG, if it has one.
    pub fn chart(&self) -> Option<String> {
        let points = |label: &str, value: &str| -> Vec<(String, f64)> {
            self.rows
                .iter()
                .map(|r| {
                    let name = match get(r, label) {
                        "" => "（未注明）".to_owned(),
                        text => text.to_owned(),
                    };
                    (name, get(r, value).parse().unwrap_or(0.0))
                })
                .collect()
        };
        match self.chart {
            Chart::Bars { label, value } => {
                Some(bar_chart(self.id, &self.title, &points(label, value)))
            }
            Chart::Line { label, value } => {
                Some(line_chart(self.id, &self.title, &points(label, value)))
            }
            Chart::None => None,
        }
    }

    fn csv(&self) -> Result<Vec<u8>, ReportError> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let error = |e: csv::Error| ReportError::Csv(e.to_string());
        writer
            .write_record(self.columns.iter().map(|c| heading(c)))
            .map_err(error)?;
        for row in &self.rows {
            // Report CSVs are for people: no cell opens as a formula.
            writer
                .write_record(
                    self.columns
                        .iter()
                        .map(|c| crate::cells::spreadsheet_text(get(row, c)).into_owned()),
                )
                .map_err(error)?;
        }
        writer
            .into_inner()
            .map_err(|e| ReportError::Csv(e.to_string()))
    }
}

/// Writes `report.html`, `report.md`, one CSV per section and one SVG per chart into `out`;
/// returns the paths written.
pub fn write(scope: &Scope, sections: &[Section], out: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let io =
        |e: std::io::Error| ReportError::Write(format!("cannot write into {}: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(io)?;
    let period = scope.period.name_zh();
    let title = match &scope.district {
        Some(d) => format!(
            "{period}产品质量监督抽查报告（{}）",
            division_name(d).unwrap_or(d)
        ),
        None => format!("{period}产品质量监督抽查报告"),
    };
    let mut written = Vec::new();
    let mut shown = Vec::with_capacity(sections.len());
    for section in sections {
        let path = out.join(format!("{}.csv", section.id));
        std::fs::write(&path, section.csv()?).map_err(io)?;
        written.push(path);
        let chart = section.chart();
        if let Some(svg) = &chart {
            let path = out.join(format!("{}.svg", section.id));
            std::fs::write(&path, svg).map_err(io)?;
            written.push(path);
        }
        let rows: Vec<Vec<&str>> = section
            .rows
            .iter()
            .map(|row| section.columns.iter().map(|c| get(row, c)).collect())
            .collect();
        shown.push(json!({
            "id": section.id,
            "title": section.title,
            "chart": chart,
            "headings": section.columns.iter().map(|c| heading(c)).collect::<Vec<_>>(),
            "rows": rows,
            "sql": section.sql,
        }));
    }
    let context = json!({ "title": title, "due": scope.due, "sections": shown });
    let html = render("report.html", &context)?;
    let markdown = render("report.md", &context)?;
    for (name, text) in [("report.html", html), ("report.md", markdown)] {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(io)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_the_markdown_show_each_cell_once_escaped_for_their_reader() {
        let row: TextRow = [
            ("category".to_owned(), "电线电缆 <b>|*".to_owned()),
            ("results".to_owned(), "12".to_owned()),
        ]
        .into_iter()
        .collect();
        let sections = vec![
            Section {
                id: "by_category",
                title: "按产品类别".into(),
                sql: "SELECT a < b".into(),
                columns: vec!["category".into(), "results".into()],
                rows: vec![row],
                chart: Chart::None,
            },
            Section {
                id: "empty",
                title: "空".into(),
                sql: "SELECT 1".into(),
                columns: vec!["results".into()],
                rows: Vec::new(),
                chart: Chart::None,
            },
        ];
        let scope = Scope {
            period: Period::Quarter(Quarter::parse("2026Q3").unwrap()),
            district: Some("120104".into()),
            due: Some("报送期限：2026年10月8日（下一季度第一个工作日）".into()),
        };
        let dir = tempfile::tempdir().unwrap();
        write(&scope, &sections, dir.path()).unwrap();
        let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
        assert!(html.contains("<h1>2026年第3季度产品质量监督抽查报告（南开区）</h1>"));
        assert!(
            html.contains("<p class=\"due\">报送期限：2026年10月8日（下一季度第一个工作日）</p>")
        );
        assert!(
            html.contains("<td>电线电缆 &lt;b&gt;|*</td><td>12</td>"),
            "{html}"
        );
        assert!(
            html.contains("<th>产品类别</th><th>抽查批次</th>"),
            "{html}"
        );
        assert!(html.contains("SELECT a &lt; b"));
        assert!(html.contains("<tr><td>无数据</td></tr>"));
        let markdown = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        let table: Vec<&str> = markdown.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(
            table,
            [
                "| 产品类别 | 抽查批次 | ",
                "|---|---|",
                "| 电线电缆 &lt;b&gt;\\|\\* | 12 | ",
                "| 抽查批次 | ",
                "|---|",
            ],
            "{markdown}"
        );
        assert!(markdown.contains("_无数据_"));
        assert!(markdown.contains("数据表：[by_category.csv](by_category.csv)"));
    }

    #[test]
    fn quarters_parse_and_count_back_across_years() {
        let q = Quarter::parse("2026q2").unwrap();
        assert_eq!(q.to_string(), "2026Q2");
        let eight: Vec<String> = q.last_eight().iter().map(Quarter::to_string).collect();
        assert_eq!(eight.first().map(String::as_str), Some("2024Q3"));
        assert_eq!(eight.last().map(String::as_str), Some("2026Q2"));
        assert_eq!(eight.len(), 8);
        let (from, until) = Quarter::parse("2026Q4").unwrap().bounds();
        assert_eq!(
            (from.to_string(), until.to_string()),
            ("2026-10-01".into(), "2027-01-01".into())
        );
        for bad in ["2026Q5", "2026", "Q3", "abcdQ1"] {
            assert_eq!(Quarter::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_year_covers_its_four_quarters_and_its_trend_ends_with_its_last() {
        let year = Period::year("2026").unwrap();
        let quarters: Vec<String> = year.quarters().iter().map(Quarter::to_string).collect();
        assert_eq!(quarters, ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]);
        let (from, until) = year.bounds();
        assert_eq!(
            (from.to_string(), until.to_string()),
            ("2026-01-01".into(), "2027-01-01".into())
        );
        assert_eq!(year.last().last_eight()[0].to_string(), "2025Q1");
        assert_eq!(year.name_zh(), "2026年度");
        for bad in ["2026Q1", "26x", "1900", ""] {
            assert_eq!(Period::year(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_report_is_due_as_the_plan_says_on_the_working_day_calendar() {
        let calendar = Calendar::shipped();
        let quarter = |q: &str| Period::Quarter(Quarter::parse(q).unwrap());
        // 1–7 October 2026 are National Day: the third quarter's report is due on the 8th.
        assert_eq!(
            quarter("2026Q3").due_zh(&calendar),
            "报送期限：2026年10月8日（下一季度第一个工作日）"
        );
        // 2027's notice is not in the shipped calendar: Friday 1 January, said to be unchecked.
        let mut without_2027 = calendar.clone();
        without_2027.years.remove("2027");
        assert_eq!(
            quarter("2026Q4").due_zh(&without_2027),
            "报送期限：2027年1月1日（下一季度第一个工作日；2027年的节假日安排尚未载入工作日历，只避开了周末）"
        );
        assert_eq!(
            Period::Year(2026).due_zh(&calendar),
            "报送期限：2027年1月10日前"
        );
        assert_eq!(
            Period::Years(2024, 2026).due_zh(&calendar),
            "报送期限：总体任务结束后"
        );
    }

    #[test]
    fn years_cover_every_quarter_of_each_and_their_trend_shows_them_all() {
        let action = Period::years("2024-2026").unwrap();
        assert_eq!(action, Period::Years(2024, 2026));
        for written in ["2024—2026", " 2024 – 2026 ", "2024~2026", "2024至2026"] {
            assert_eq!(Period::years(written), Some(action), "{written}");
        }
        let quarters: Vec<String> = action.quarters().iter().map(Quarter::to_string).collect();
        assert_eq!(quarters.len(), 12);
        assert_eq!(quarters.first().map(String::as_str), Some("2024Q1"));
        assert_eq!(quarters.last().map(String::as_str), Some("2026Q4"));
        assert_eq!(action.trend(), action.quarters());
        let (from, until) = action.bounds();
        assert_eq!(
            (from.to_string(), until.to_string()),
            ("2024-01-01".into(), "2027-01-01".into())
        );
        assert_eq!(action.name_zh(), "2024—2026年");
        assert_eq!(action.to_string(), "2024-2026");
        for bad in [
            "2026-2024",
            "2026-2026",
            "2020-2030",
            "2024",
            "2024-",
            "1900-1902",
        ] {
            assert_eq!(Period::years(bad), None, "{bad}");
        }
    }
}

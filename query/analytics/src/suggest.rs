//! Where to sample next (issue "inspections, credit archive, where to sample"): every unit of a
//! district ranked by risk as of a day, in points an official can recompute by hand. The facts
//! come from SQL (`views/plan_features.sql`); the arithmetic is here, each term a reason in words.
//!
//! | fact | points |
//! |---|---|
//! | each failure (as sampled unit or nominal producer) in the 12 months before, up to 3 | 25 |
//! | each failure 12–36 months before, up to 3 | 10 |
//! | its own failure rate over the 36 months before, when sampled at least twice | rate × 40 |
//! | each case not closed, up to 2 | 10 |
//! | each case whose rectification is overdue (ordered, past its deadline), up to 2 | 15 |
//! | its latest category's failure rate over the 12 months before | rate × 50 (20% → 10) |
//! | never sampled / last sampled over 12 months ago / over 6 months ago | 15 / 10 / 5 |
//! | a producer without a valid licence its category needs (`licence_requirements`) | 20 |
//! | in a rural area or the urban-rural fringe (the registry's `area`) | 10 |
//!
//! With an organiser, a unit it sampled within six months is left out (the six-month rule), unless
//! that sampling failed: then it is listed as a follow-up check (跟踪抽查).

use crate::Analytics;
use crate::error::QueryError;
use crate::rows::{decode, or_default};
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use spotcheck_schemas::plan::REPEAT_MONTHS;

const FEATURES: &str = include_str!("../views/plan_features.sql");

/// What to rank.
#[derive(Debug, Clone)]
pub struct SuggestQuery {
    /// The day the plan starts (a quarter's first day): recency and the six-month rule count
    /// back from it.
    pub as_of: NaiveDate,
    /// A division-code prefix (`120104`); every district when `None`.
    pub district: Option<String>,
    /// The organiser planning: its own samplings of the last six months are left out.
    pub organiser: Option<String>,
    /// How many units to list.
    pub limit: usize,
}

/// One unit of the list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Suggestion {
    pub rank: usize,
    pub uscc: String,
    pub name: String,
    pub district: Option<String>,
    pub category: Option<String>,
    pub score: u32,
    /// Listed although sampled within six months: its last sampling failed (跟踪抽查).
    pub follow_up: bool,
    /// Each term of the score, in words, with its points.
    pub reasons: Vec<String>,
}

/// The facts of one unit: a row of `views/plan_features.sql`.
#[derive(Debug, Default, Deserialize)]
struct Facts {
    #[serde(deserialize_with = "or_default")]
    uscc: String,
    #[serde(deserialize_with = "or_default")]
    name: String,
    district: Option<String>,
    area: Option<String>,
    category: Option<String>,
    failures_12m: u32,
    failures_older: u32,
    samples_36m: u32,
    last_sampled: Option<NaiveDate>,
    last_by_organiser: Option<NaiveDate>,
    last_failed_by_organiser: Option<NaiveDate>,
    open_cases: u32,
    overdue_cases: u32,
    category_rate: f64,
    licence_missing: bool,
    licence_required: Option<String>,
}

/// A unit's points and reasons; `None` when the six-month rule leaves it out.
fn score(facts: &Facts, as_of: NaiveDate) -> Option<(u32, bool, Vec<String>)> {
    let six_months_before = as_of.checked_sub_months(Months::new(REPEAT_MONTHS))?;
    let mut follow_up = false;
    if let Some(last) = facts.last_by_organiser
        && last >= six_months_before
    {
        if facts.last_failed_by_organiser == Some(last) {
            follow_up = true;
        } else {
            return None;
        }
    }
    let mut points = 0u32;
    let mut reasons = Vec::new();
    if follow_up && let Some(last) = facts.last_failed_by_organiser {
        reasons.push(format!("跟踪抽查：本组织单位 {last} 抽查不合格"));
    }
    let mut add = |gained: u32, reason: String| {
        if gained > 0 {
            points += gained;
            reasons.push(format!("{reason}（+{gained}）"));
        }
    };
    add(
        25 * facts.failures_12m.min(3),
        format!("近12个月抽查不合格 {} 次", facts.failures_12m),
    );
    add(
        10 * facts.failures_older.min(3),
        format!("12至36个月前抽查不合格 {} 次", facts.failures_older),
    );
    let failures_36m = facts.failures_12m + facts.failures_older;
    if facts.samples_36m >= 2 {
        let rate = f64::from(failures_36m) / f64::from(facts.samples_36m);
        add(
            (rate * 40.0).round() as u32,
            format!(
                "近36个月抽查 {} 批次，不合格率 {:.0}%",
                facts.samples_36m,
                rate * 100.0
            ),
        );
    }
    add(
        10 * facts.open_cases.min(2),
        format!("{} 个案件尚未结案", facts.open_cases),
    );
    add(
        15 * facts.overdue_cases.min(2),
        format!("{} 个案件整改逾期", facts.overdue_cases),
    );
    if let Some(category) = &facts.category {
        let name = category
            .parse::<spotcheck_schemas::Category>()
            .map(spotcheck_schemas::Category::name_zh)
            .unwrap_or(category);
        add(
            (facts.category_rate * 50.0).round() as u32,
            format!(
                "所属类别（{name}）近12个月不合格率 {:.1}%",
                facts.category_rate * 100.0
            ),
        );
    }
    match facts.last_sampled {
        None => add(15, "从未被抽查".into()),
        Some(last) if last < as_of.checked_sub_months(Months::new(12))? => {
            add(10, format!("上次抽查已超过12个月（{last}）"));
        }
        Some(last) if last < six_months_before => add(5, format!("上次抽查已超过6个月（{last}）")),
        Some(_) => {}
    }
    if facts.licence_missing {
        let licence = facts.licence_required.as_deref().unwrap_or("所需证照");
        add(20, format!("无有效的{licence}"));
    }
    match facts.area.as_deref() {
        Some("rural") => add(10, "位于农村".into()),
        Some("urban_rural_fringe") => add(10, "位于城乡结合部".into()),
        _ => {}
    }
    Some((points, follow_up, reasons))
}

impl Analytics {
    /// The units of the query ranked by risk, highest first, each with its reasons.
    pub async fn suggest(&self, query: &SuggestQuery) -> Result<Vec<Suggestion>, QueryError> {
        let district: String = query
            .district
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let sql = FEATURES
            .replace("{as_of}", &query.as_of.to_string())
            .replace("{district}", &district)
            .replace(
                "{organiser}",
                &query
                    .organiser
                    .as_deref()
                    .map_or_else(|| "CAST(NULL AS VARCHAR)".to_owned(), crate::literal),
            );
        let rows = self.query(&sql).await?;
        let all: Vec<Facts> = decode(&rows.batches)
            .map_err(|e| QueryError::from_datafusion(e, self.limits().memory_bytes))?;
        let mut ranked: Vec<(u32, bool, Vec<String>, Facts)> = all
            .into_iter()
            .filter(|facts| !facts.uscc.is_empty())
            .filter_map(|facts| {
                let (points, follow_up, reasons) = score(&facts, query.as_of)?;
                Some((points, follow_up, reasons, facts))
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.3.failures_12m.cmp(&a.3.failures_12m))
                .then(a.3.uscc.cmp(&b.3.uscc))
        });
        Ok(ranked
            .into_iter()
            .take(query.limit)
            .enumerate()
            .map(|(index, (score, follow_up, reasons, facts))| Suggestion {
                rank: index + 1,
                uscc: facts.uscc,
                name: facts.name,
                district: facts.district,
                category: facts.category,
                score,
                follow_up,
                reasons,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_points_add_up_as_documented_and_each_is_a_reason() {
        let facts = Facts {
            uscc: "U".into(),
            category: Some("e_bike".into()),
            area: Some("rural".into()),
            failures_12m: 4,
            failures_older: 1,
            samples_36m: 10,
            open_cases: 1,
            overdue_cases: 1,
            category_rate: 0.2,
            last_sampled: Some(day("2026-01-10")),
            licence_missing: true,
            licence_required: Some("强制性产品认证（CCC）".into()),
            ..Facts::default()
        };
        let (points, follow_up, reasons) = score(&facts, day("2026-10-01")).unwrap();
        assert_eq!(points, 75 + 10 + 20 + 10 + 15 + 10 + 5 + 20 + 10);
        assert!(!follow_up);
        assert_eq!(reasons.len(), 9, "{reasons:?}");
        assert!(
            reasons[0].starts_with("近12个月抽查不合格 4 次（+75）"),
            "{reasons:?}"
        );
        let never = Facts {
            uscc: "N".into(),
            ..Facts::default()
        };
        assert_eq!(
            score(&never, day("2026-10-01")).map(|s| s.0),
            Some(15),
            "never sampled"
        );
    }

    #[test]
    fn the_organisers_sampling_within_six_months_leaves_a_unit_out_unless_it_failed() {
        let sampled = |failed: bool| Facts {
            uscc: "U".into(),
            last_sampled: Some(day("2026-08-01")),
            last_by_organiser: Some(day("2026-08-01")),
            last_failed_by_organiser: failed.then(|| day("2026-08-01")),
            failures_12m: u32::from(failed),
            ..Facts::default()
        };
        assert_eq!(score(&sampled(false), day("2026-10-01")), None);
        let (_, follow_up, reasons) = score(&sampled(true), day("2026-10-01")).unwrap();
        assert!(follow_up);
        assert!(reasons[0].contains("跟踪抽查"), "{reasons:?}");
        // Sampled seven months before: listed again.
        let mut older = sampled(false);
        older.last_by_organiser = Some(day("2026-03-01"));
        assert!(score(&older, day("2026-10-01")).is_some());
    }
}

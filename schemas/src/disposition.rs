//! Case events reported by officials (docs/contract.md §4, Disposition).

use crate::enums::DispositionKind;
#[cfg(test)]
use crate::enums::NoticeKind;

use crate::error::{Errors, FieldError};
use crate::keys::record_id;
use crate::reader::Obj;
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "Disposition",
    description = "A case event reported by an official."
)]
pub struct Disposition {
    pub disposition_id: String,
    pub report_no: String,
    pub lab_id: String,
    pub kind: DispositionKind,
    pub on: NaiveDate,
    /// `upheld|overturned` for a re-test, `pass|fail` for a re-check, the notice kind for
    /// `notice_served`; absent otherwise.
    pub outcome: Option<String>,
    pub note: Option<String>,
    /// `identified`: the name of the unit the case named without a credit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `identified`: the credit code the official found for `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<crate::Uscc>")]
    pub uscc: Option<String>,
    /// `suspension`: the last day of the 停业整顿 period (`on` is its first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
    /// `retest_concluded` upheld: the failed items the re-test found conforming (复检合格), by
    /// the names the lab gave them. The failure stands on the others; these leave the case's
    /// failed items, its disclosure and its notices. A re-test that clears every item is
    /// `overturned`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleared_items: Vec<String>,
    /// `withdrawn`: the `disposition_id` of a record of the same case entered by mistake; it no
    /// longer counts (the right one is posted under a new id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdraws: Option<String>,
}

impl Disposition {
    /// Validates an untrusted JSON value; `today` bounds `on` (at most tomorrow).
    pub fn parse(value: &Value, today: NaiveDate) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::default();
        let root = Obj::root(value, &mut errors);
        root.reject_unknown(
            &[
                "disposition_id",
                "report_no",
                "lab_id",
                "kind",
                "on",
                "outcome",
                "note",
                "name",
                "uscc",
                "until",
                "cleared_items",
                "withdraws",
            ],
            &mut errors,
        );
        let disposition_id = root.required_text("disposition_id", &mut errors);
        let report_no = root.required_text("report_no", &mut errors);
        let lab_id = root.required_text("lab_id", &mut errors);
        let kind = root.choice(
            "kind",
            DispositionKind::ALL,
            DispositionKind::as_str,
            true,
            &mut errors,
        );
        let on = root.date("on", true, &mut errors);
        let outcome = root.text("outcome", &mut errors);
        let note = root.text("note", &mut errors);
        let name = root.text("name", &mut errors);
        let uscc = root.uscc("uscc", false, &mut errors).map(|u| u.to_string());
        let until = root.date("until", false, &mut errors);
        let cleared_items = root.text_list("cleared_items", &mut errors);
        let withdraws = root.text("withdraws", &mut errors);
        if let Some(kind) = kind {
            check_outcome(kind, outcome.as_deref(), &mut errors);
            check_kind_fields(kind, &name, &uscc, on, until, &mut errors);
            check_cleared_items(kind, outcome.as_deref(), &cleared_items, &mut errors);
            check_withdraws(
                kind,
                withdraws.as_deref(),
                disposition_id.as_deref(),
                &mut errors,
            );
        }
        if let Some(on) = on
            && on > today.succ_opt().unwrap_or(today)
        {
            errors.push("on", format!("{on} is in the future (today is {today})"));
        }
        let disposition = (|| {
            Some(Disposition {
                disposition_id: disposition_id?,
                report_no: report_no?,
                lab_id: lab_id?,
                kind: kind?,
                on: on?,
                outcome,
                note,
                name,
                uscc,
                until,
                cleared_items,
                withdraws,
            })
        })();
        errors.finish(disposition)
    }

    /// The case this event belongs to.
    pub fn case_id(&self) -> String {
        crate::case::case_id(&self.lab_id, &self.report_no)
    }

    pub fn record_id(&self) -> String {
        record_id("disposition", &[&self.disposition_id])
    }
}

/// The notice kinds, as `notice_served` outcomes.
const NOTICE_OUTCOMES: &[&str] = &[
    "rectification",
    "reminder",
    "interview",
    "listed_supervision",
];

/// The outcomes each kind allows; `None` = the kind takes no outcome (any given is kept as is).
fn allowed_outcomes(kind: DispositionKind) -> Option<&'static [&'static str]> {
    match kind {
        DispositionKind::RetestConcluded => Some(&["upheld", "overturned"]),
        DispositionKind::RecheckConcluded => Some(&["pass", "fail"]),
        DispositionKind::NoticeServed => Some(NOTICE_OUTCOMES),
        _ => None,
    }
}

/// The fields a kind needs besides `on`: `identified` names the unit and its code; `suspension`
/// gives the end of the period, not before its start.
fn check_kind_fields(
    kind: DispositionKind,
    name: &Option<String>,
    uscc: &Option<String>,
    on: Option<NaiveDate>,
    until: Option<NaiveDate>,
    errors: &mut Errors,
) {
    if kind == DispositionKind::Identified {
        if name.is_none() {
            errors.push(
                "name",
                "is required for identified: the unit's name as the case gives it",
            );
        }
        if uscc.is_none() {
            errors.push(
                "uscc",
                "is required for identified: the unit's unified social credit code",
            );
        }
    }
    if kind == DispositionKind::Suspension {
        match (on, until) {
            (_, None) => errors.push(
                "until",
                "is required for suspension: the last day of the 停业整顿 period",
            ),
            (Some(on), Some(until)) if until < on => errors.push(
                "until",
                format!("{until} is before the suspension's start {on}"),
            ),
            _ => {}
        }
    }
}

/// A withdrawal names the record it withdraws, another than itself; no other kind names one.
fn check_withdraws(
    kind: DispositionKind,
    withdraws: Option<&str>,
    own_id: Option<&str>,
    errors: &mut Errors,
) {
    match (kind == DispositionKind::Withdrawn, withdraws) {
        (true, None) => errors.push(
            "withdraws",
            "is required for withdrawn: the disposition_id of the record entered by mistake",
        ),
        (true, Some(id)) if Some(id) == own_id => {
            errors.push("withdraws", "a record cannot withdraw itself");
        }
        (false, Some(_)) => errors.push(
            "withdraws",
            "belongs to a withdrawn record: to withdraw a record, post kind withdrawn",
        ),
        _ => {}
    }
}

/// Cleared items belong to an upheld re-test, each named once.
fn check_cleared_items(
    kind: DispositionKind,
    outcome: Option<&str>,
    items: &[String],
    errors: &mut Errors,
) {
    if items.is_empty() {
        return;
    }
    if kind != DispositionKind::RetestConcluded || outcome != Some("upheld") {
        errors.push(
            "cleared_items",
            "belongs to a retest_concluded with outcome upheld: the failed items the re-test found conforming (a re-test that clears every item is overturned)",
        );
        return;
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, item) in items.iter().enumerate() {
        if !seen.insert(crate::keys::item_key(item)) {
            errors.push(
                format!("cleared_items[{index}]"),
                format!("'{item}' is named twice"),
            );
        }
    }
}

fn check_outcome(kind: DispositionKind, outcome: Option<&str>, errors: &mut Errors) {
    let Some(allowed) = allowed_outcomes(kind) else {
        return;
    };
    match outcome {
        Some(outcome) if allowed.contains(&outcome) => {}
        Some(outcome) => errors.push(
            "outcome",
            format!(
                "'{outcome}' is not allowed for {kind}: use one of {}",
                allowed.join(", ")
            ),
        ),
        None => errors.push(
            "outcome",
            format!("is required for {kind}: use one of {}", allowed.join(", ")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default()
    }

    /// The fields a record is refused on, in the order said.
    fn fields(value: Value) -> Vec<String> {
        Disposition::parse(&value, today())
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn cleared_items_belong_to_an_upheld_retest_each_named_once() {
        let retest = |outcome: &str, items: Value| {
            serde_json::json!({"disposition_id": "R", "report_no": "N", "lab_id": "L",
                "kind": "retest_concluded", "on": "2026-05-20", "outcome": outcome,
                "cleared_items": items})
        };
        let upheld =
            Disposition::parse(&retest("upheld", serde_json::json!(["燃气导管 "])), today());
        assert_eq!(
            upheld.map(|d| d.cleared_items),
            Ok(vec!["燃气导管".to_owned()])
        );
        assert_eq!(
            fields(retest("overturned", serde_json::json!(["燃气导管"]))),
            ["cleared_items"]
        );
        assert_eq!(
            fields(retest(
                "upheld",
                serde_json::json!(["燃气导管", "燃气导管（ ）", ""])
            )),
            ["cleared_items[2]", "cleared_items[1]"]
        );
        let mut served = retest("upheld", serde_json::json!(["燃气导管"]));
        served["kind"] = "result_served".into();
        served["outcome"] = Value::Null;
        assert_eq!(fields(served), ["cleared_items"]);
    }

    #[test]
    fn a_withdrawal_names_another_record_and_only_a_withdrawal_names_one() {
        let record = |kind: &str, withdraws: Value| {
            serde_json::json!({"disposition_id": "W-1", "report_no": "N", "lab_id": "L",
                "kind": kind, "on": "2026-05-20", "withdraws": withdraws})
        };
        let parsed = Disposition::parse(&record("withdrawn", "R-1".into()), today());
        assert_eq!(parsed.map(|d| d.withdraws), Ok(Some("R-1".to_owned())));
        assert_eq!(fields(record("withdrawn", Value::Null)), ["withdraws"]);
        assert_eq!(fields(record("withdrawn", "W-1".into())), ["withdraws"]);
        assert_eq!(fields(record("stop_ordered", "R-1".into())), ["withdraws"]);
    }

    #[test]
    fn notice_outcomes_are_the_notice_kinds() {
        let ids: Vec<&str> = NoticeKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(ids, NOTICE_OUTCOMES);
    }
}

//! The legal life of a case (DOMAIN.md "The life of a failed result", "The four notices"), as a
//! pure function of the result's dates, the officials' dispositions and today's date.
//!
//! Deriving the whole state again on every event (instead of mutating it step by step) makes a
//! replay after a crash, a late disposition or a timer all the same operation, and the answer
//! cannot depend on the order in which the stage happened to see things.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use spotcheck_schemas::case::{CaseStatus, NoticeStatus};
use spotcheck_schemas::{Disposition, DispositionKind, NoticeKind};

/// The periods of the law, in days. Every one is configurable; the defaults are the law's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Periods {
    /// Objection window from service (PQL Art 15).
    pub objection_days: u64,
    /// Rectification period from the order (Order 18 Art 46).
    pub rectify_days: u64,
    /// A reminder is proposed this long before the rectification deadline, if no report came.
    pub reminder_days_before: u64,
    /// The re-check is due this long after the order (Art 47).
    pub recheck_days: u64,
    /// The second re-check window after the public notice (Art 48).
    pub second_recheck_from_days: u64,
    pub second_recheck_by_days: u64,
    /// An interview is due this long after it is proposed.
    pub interview_days: u64,
}

impl Default for Periods {
    fn default() -> Self {
        Self {
            objection_days: 15,
            rectify_days: 60,
            reminder_days_before: 10,
            recheck_days: 75,
            second_recheck_from_days: 60,
            second_recheck_by_days: 90,
            interview_days: 10,
        }
    }
}

/// What the lifecycle needs from the result.
#[derive(Debug, Clone, Copy)]
pub struct Opening {
    pub tested_on: NaiveDate,
    pub served_on: Option<NaiveDate>,
    /// A serious-severity failure is a major hidden danger: listed supervision.
    pub serious: bool,
}

/// The case's legal state on a given day.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub status: CaseStatus,
    pub final_on: Option<NaiveDate>,
    pub objection_until: NaiveDate,
    pub rectify_by: Option<NaiveDate>,
    pub recheck_by: Option<NaiveDate>,
    pub second_recheck_from: Option<NaiveDate>,
    pub second_recheck_by: Option<NaiveDate>,
    /// Notices by kind, each for every implicated unit (the stage addresses them).
    pub notices: Vec<ProposedNotice>,
    /// The next day on which the standing changes by time alone, if any: the stage's timer.
    pub next_change: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProposedNotice {
    pub kind: NoticeKind,
    pub due_on: NaiveDate,
    pub status: NoticeStatus,
    /// Only to the parties responsible for the batch (the sampled unit and producer), not to
    /// every receiver: reminders, interviews and listed supervision follow the rectification.
    pub to_all_units: bool,
}

fn plus(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).unwrap_or(date)
}

fn minus(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(days)).unwrap_or(date)
}

/// The case's standing on `today`. `dispositions` may come in any order.
pub fn standing(
    opening: Opening,
    dispositions: &[Disposition],
    today: NaiveDate,
    periods: &Periods,
) -> Standing {
    let mut standing = standing_on(opening, dispositions, today, periods);
    // A disposition dated after today counts from its date: wake up then.
    let upcoming = dispositions
        .iter()
        .map(|d| d.on)
        .filter(|on| *on > today)
        .min();
    standing.next_change = match (standing.next_change, upcoming) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    standing
}

fn standing_on(
    opening: Opening,
    dispositions: &[Disposition],
    today: NaiveDate,
    periods: &Periods,
) -> Standing {
    let mut events: Vec<&Disposition> = dispositions.iter().filter(|d| d.on <= today).collect();
    events.sort_by(|a, b| (a.on, &a.disposition_id).cmp(&(b.on, &b.disposition_id)));
    let first = |kind: DispositionKind| events.iter().copied().find(|d| d.kind == kind);
    let concluded = |kind: DispositionKind| -> Vec<&Disposition> {
        events.iter().copied().filter(|d| d.kind == kind).collect()
    };

    let served = first(DispositionKind::ResultServed)
        .map(|d| d.on)
        .or(opening.served_on)
        .unwrap_or(opening.tested_on);
    let objection_until = plus(served, periods.objection_days);
    let mut standing = Standing {
        status: CaseStatus::Open,
        final_on: None,
        objection_until,
        rectify_by: None,
        recheck_by: None,
        second_recheck_from: None,
        second_recheck_by: None,
        notices: Vec::new(),
        next_change: None,
    };

    // An objection counts only inside the window; the re-test's conclusion is final.
    let objection = first(DispositionKind::ObjectionFiled).filter(|d| d.on <= objection_until);
    if objection.is_some() {
        standing.status = CaseStatus::Retest;
        match first(DispositionKind::RetestConcluded).map(|d| (d.on, d.outcome.as_deref())) {
            Some((_, Some("overturned"))) => {
                standing.status = CaseStatus::Overturned;
                return standing;
            }
            Some((on, _)) => standing.final_on = Some(on),
            None => return standing,
        }
    } else if today > objection_until {
        standing.final_on = Some(plus(objection_until, 1));
    } else {
        standing.next_change = Some(plus(objection_until, 1));
        return standing;
    }
    let Some(final_on) = standing.final_on else {
        return standing;
    };
    standing.status = CaseStatus::Final;

    // Rectification: proposed when final; the order's date, once reported, sets the clock.
    let ordered = first(DispositionKind::RectificationOrdered).map(|d| d.on);
    let order_on = ordered.unwrap_or(final_on);
    let rectify_by = plus(order_on, periods.rectify_days);
    let recheck_by = plus(order_on, periods.recheck_days);
    standing.rectify_by = Some(rectify_by);
    standing.recheck_by = Some(recheck_by);
    let served_kinds: Vec<&str> = concluded(DispositionKind::NoticeServed)
        .iter()
        .filter_map(|d| d.outcome.as_deref())
        .collect();
    let status_of = |kind: NoticeKind| {
        if served_kinds.contains(&kind.as_str()) {
            NoticeStatus::Served
        } else {
            NoticeStatus::Proposed
        }
    };
    let mut notices: Vec<ProposedNotice> = Vec::new();
    let mut propose = |kind: NoticeKind, due_on: NaiveDate, to_all_units: bool| {
        if !notices.iter().any(|n| n.kind == kind) {
            notices.push(ProposedNotice {
                kind,
                due_on,
                status: status_of(kind),
                to_all_units,
            })
        }
    };
    propose(NoticeKind::Rectification, rectify_by, true);
    if opening.serious {
        propose(NoticeKind::ListedSupervision, rectify_by, false);
    }
    if ordered.is_some() {
        standing.status = CaseStatus::Rectifying;
    }

    let rechecks = concluded(DispositionKind::RecheckConcluded);
    let reported = first(DispositionKind::RectificationReported).is_some();
    let reminder_on = minus(rectify_by, periods.reminder_days_before);
    let mut next_change = None;
    if !reported && rechecks.is_empty() {
        if today >= reminder_on {
            propose(NoticeKind::Reminder, rectify_by, false);
        } else {
            next_change = Some(reminder_on);
        }
        if today > rectify_by {
            // Rectification overdue (整改不到位): an interview.
            propose(
                NoticeKind::Interview,
                plus(plus(rectify_by, 1), periods.interview_days),
                false,
            );
        } else if next_change.is_none() {
            next_change = Some(plus(rectify_by, 1));
        }
    }
    match rechecks.first().map(|d| (d.on, d.outcome.as_deref())) {
        Some((_, Some("pass"))) => standing.status = CaseStatus::Closed,
        Some((failed_on, _)) => {
            // Escalated: public notice (dated by the re-check) and an interview; then the
            // second re-check 60–90 days after the notice.
            standing.status = CaseStatus::Escalated;
            // (Already proposed if the rectification was overdue.)
            propose(
                NoticeKind::Interview,
                plus(failed_on, periods.interview_days),
                false,
            );
            standing.second_recheck_from = Some(plus(failed_on, periods.second_recheck_from_days));
            standing.second_recheck_by = Some(plus(failed_on, periods.second_recheck_by_days));
            match rechecks.get(1).map(|d| d.outcome.as_deref()) {
                Some(Some("pass")) => standing.status = CaseStatus::Closed,
                Some(_) => {
                    standing.status = CaseStatus::Suspended;
                    if !opening.serious {
                        propose(NoticeKind::ListedSupervision, today, false);
                    }
                }
                None => {}
            }
        }
        None => {}
    }
    standing.notices = notices;
    if matches!(standing.status, CaseStatus::Final | CaseStatus::Rectifying) {
        standing.next_change = next_change;
    }
    standing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn event(id: &str, kind: DispositionKind, on: &str, outcome: Option<&str>) -> Disposition {
        Disposition {
            disposition_id: id.into(),
            report_no: "R".into(),
            lab_id: "L".into(),
            kind,
            on: day(on),
            outcome: outcome.map(str::to_owned),
            note: None,
        }
    }

    fn opening() -> Opening {
        Opening {
            tested_on: day("2026-04-20"),
            served_on: Some(day("2026-04-25")),
            serious: false,
        }
    }

    fn kinds(standing: &Standing) -> Vec<NoticeKind> {
        standing.notices.iter().map(|n| n.kind).collect()
    }

    #[test]
    fn without_objection_the_failure_is_final_after_fifteen_days() {
        let periods = Periods::default();
        let open = standing(opening(), &[], day("2026-05-10"), &periods);
        assert_eq!(open.status, CaseStatus::Open);
        assert_eq!(open.objection_until, day("2026-05-10"));
        assert_eq!(open.next_change, Some(day("2026-05-11")));
        let final_ = standing(opening(), &[], day("2026-05-11"), &periods);
        assert_eq!(final_.status, CaseStatus::Final);
        assert_eq!(final_.final_on, Some(day("2026-05-11")));
        assert_eq!(final_.rectify_by, Some(day("2026-07-10")));
        assert_eq!(final_.recheck_by, Some(day("2026-07-25")));
        assert_eq!(kinds(&final_), [NoticeKind::Rectification]);
    }

    #[test]
    fn the_window_runs_from_the_test_date_when_service_is_unknown() {
        let unserved = Opening {
            served_on: None,
            ..opening()
        };
        let s = standing(unserved, &[], day("2026-05-01"), &Periods::default());
        assert_eq!(s.objection_until, day("2026-05-05"));
    }

    #[test]
    fn an_overturned_retest_closes_the_case_and_an_upheld_one_makes_it_final() {
        let periods = Periods::default();
        let objection = event("1", DispositionKind::ObjectionFiled, "2026-04-30", None);
        let waiting = standing(
            opening(),
            std::slice::from_ref(&objection),
            day("2026-06-01"),
            &periods,
        );
        assert_eq!(
            waiting.status,
            CaseStatus::Retest,
            "an objection suspends finality"
        );
        let overturned = event(
            "2",
            DispositionKind::RetestConcluded,
            "2026-05-20",
            Some("overturned"),
        );
        let s = standing(
            opening(),
            &[objection.clone(), overturned],
            day("2026-06-01"),
            &periods,
        );
        assert_eq!(s.status, CaseStatus::Overturned);
        assert!(s.notices.is_empty());
        let upheld = event(
            "2",
            DispositionKind::RetestConcluded,
            "2026-05-20",
            Some("upheld"),
        );
        let s = standing(opening(), &[objection, upheld], day("2026-06-01"), &periods);
        assert_eq!(
            (s.status, s.final_on),
            (CaseStatus::Final, Some(day("2026-05-20")))
        );
    }

    #[test]
    fn an_unreported_rectification_brings_a_reminder_then_an_interview() {
        let periods = Periods::default();
        let ordered = [event(
            "1",
            DispositionKind::RectificationOrdered,
            "2026-05-15",
            None,
        )];
        let s = standing(opening(), &ordered, day("2026-07-01"), &periods);
        assert_eq!(s.status, CaseStatus::Rectifying);
        assert_eq!(s.rectify_by, Some(day("2026-07-14")));
        assert_eq!(kinds(&s), [NoticeKind::Rectification]);
        assert_eq!(s.next_change, Some(day("2026-07-04")));
        let s = standing(opening(), &ordered, day("2026-07-04"), &periods);
        assert_eq!(kinds(&s), [NoticeKind::Rectification, NoticeKind::Reminder]);
        let s = standing(opening(), &ordered, day("2026-07-15"), &periods);
        assert_eq!(
            kinds(&s),
            [
                NoticeKind::Rectification,
                NoticeKind::Reminder,
                NoticeKind::Interview
            ]
        );
        let mut reported = ordered.to_vec();
        reported.push(event(
            "2",
            DispositionKind::RectificationReported,
            "2026-07-01",
            None,
        ));
        let s = standing(opening(), &reported, day("2026-07-15"), &periods);
        assert_eq!(
            kinds(&s),
            [NoticeKind::Rectification],
            "a report stops the reminders"
        );
    }

    #[test]
    fn a_failed_recheck_escalates_and_a_passed_one_closes() {
        let periods = Periods::default();
        let mut events = vec![
            event(
                "1",
                DispositionKind::RectificationOrdered,
                "2026-05-15",
                None,
            ),
            event(
                "2",
                DispositionKind::RectificationReported,
                "2026-07-01",
                None,
            ),
            event(
                "3",
                DispositionKind::RecheckConcluded,
                "2026-07-20",
                Some("fail"),
            ),
        ];
        let s = standing(opening(), &events, day("2026-07-21"), &periods);
        assert_eq!(s.status, CaseStatus::Escalated);
        assert!(kinds(&s).contains(&NoticeKind::Interview));
        assert_eq!(s.second_recheck_from, Some(day("2026-09-18")));
        assert_eq!(s.second_recheck_by, Some(day("2026-10-18")));
        events.push(event(
            "4",
            DispositionKind::RecheckConcluded,
            "2026-10-01",
            Some("fail"),
        ));
        let s = standing(opening(), &events, day("2026-10-02"), &periods);
        assert_eq!(s.status, CaseStatus::Suspended);
        assert!(kinds(&s).contains(&NoticeKind::ListedSupervision));
        events.pop();
        events.push(event(
            "4",
            DispositionKind::RecheckConcluded,
            "2026-10-01",
            Some("pass"),
        ));
        assert_eq!(
            standing(opening(), &events, day("2026-10-02"), &periods).status,
            CaseStatus::Closed
        );
        let passed = [event(
            "3",
            DispositionKind::RecheckConcluded,
            "2026-07-20",
            Some("pass"),
        )];
        assert_eq!(
            standing(opening(), &passed, day("2026-07-21"), &periods).status,
            CaseStatus::Closed
        );
    }

    #[test]
    fn a_serious_failure_is_put_under_listed_supervision_and_periods_are_configurable() {
        let serious = Opening {
            serious: true,
            ..opening()
        };
        let periods = Periods {
            objection_days: 0,
            ..Periods::default()
        };
        let s = standing(serious, &[], day("2026-04-26"), &periods);
        assert_eq!(s.status, CaseStatus::Final);
        assert_eq!(
            kinds(&s),
            [NoticeKind::Rectification, NoticeKind::ListedSupervision]
        );
    }
}

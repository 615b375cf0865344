//! The legal life of a case (docs/domain.md "The life of a failed result", "The four notices"), as a
//! pure function of the result's dates, the officials' dispositions and today's date.
//!
//! Deriving the whole state again on every event (instead of mutating it step by step) makes a
//! replay after a crash, a late disposition or a timer all the same operation, and the answer
//! cannot depend on the order in which the stage happened to see things.

use crate::calendar::{Calendar, Deadline, UnknownYear};
use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use spotcheck_schemas::case::{CaseStatus, Gap, NoticeStatus, Step, StepStatus, Term};
use spotcheck_schemas::keys::item_key;
use spotcheck_schemas::{
    Disposition, DispositionKind, NoticeCause, NoticeKind, Severity, StepKind,
};
use std::collections::{BTreeMap, BTreeSet};

/// The periods of the law. Every one is configurable; the defaults are the law's. Periods in
/// days are calendar days whose last day moves to the next working day; `_working_days` count
/// working days ([`Calendar`]).
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
    /// A listed-supervision notice is due this long after the event that calls for it.
    pub listed_supervision_days: u64,
    /// The re-check after suspension (停业整顿) is due this long after the period ends.
    pub recheck_after_suspension_days: u64,
    /// The referral for licence revocation is due this long after the failed re-check.
    pub revocation_referral_days: u64,
    /// Disclosure to the credit system, in working days from finality (SAMR Order 45).
    pub disclose_working_days: u32,
    /// Withdrawal of a revoked disclosure, in working days (SAMR Order 45).
    pub retract_working_days: u32,
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
            listed_supervision_days: 10,
            recheck_after_suspension_days: 15,
            revocation_referral_days: 10,
            disclose_working_days: 20,
            retract_working_days: 3,
        }
    }
}

/// What the lifecycle needs from the result.
#[derive(Debug, Clone)]
pub struct Opening {
    pub tested_on: NaiveDate,
    pub served_on: Option<NaiveDate>,
    /// A serious-severity failure is a major hidden danger: listed supervision.
    pub serious: bool,
    /// A case opened by an on-site inspection's finding, not by a lab's result.
    pub on_site: Option<OnSite>,
    /// The units that only hold the batch (the distributors and receivers the traceback found,
    /// not the sampled unit, producer or supplier). Their rectification notice orders them to
    /// stop selling and recall it; it is not the order whose deadline, reports and re-checks
    /// the case follows, so serving it neither dates the order nor holds the case open, and the
    /// holder's report of its recall does not settle the case's rectification.
    pub holders: BTreeSet<String>,
    /// The names of the items the lab failed, in its order: an upheld re-test may clear some.
    pub failed_items: Vec<String>,
    /// The failed items the lab rated (`serious` for an A类 item), by [`item_key`]: after a
    /// re-test clears items, whether what stands is still a major hidden danger.
    pub rated_items: BTreeMap<String, Severity>,
}

/// What the lifecycle needs from an inspection's finding. The finding is a fact the inspectors
/// recorded on the spot: there is no objection window, the notices follow from its day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnSite {
    pub on: NaiveDate,
    /// A refusal of inspection (PQL Art 56), with the day of the first refusal after it, if any.
    pub refusal: Option<Option<NaiveDate>>,
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
    pub disclose_by: Option<NaiveDate>,
    pub retract_by: Option<NaiveDate>,
    pub public_notice_on: Option<NaiveDate>,
    pub suspension_until: Option<NaiveDate>,
    /// Notices by kind, each for every implicated unit (the stage addresses them).
    pub notices: Vec<ProposedNotice>,
    /// The steps of the law besides the notices.
    pub steps: Vec<Step>,
    /// What the calendar could not settle (a year without a holiday notice).
    pub notes: Vec<Gap>,
    /// The next day on which the standing changes by time alone, if any: the stage's timer.
    pub next_change: Option<NaiveDate>,
    /// Units ordered one by one whose own re-check passed: done before the case is.
    pub done_units: BTreeSet<String>,
    /// The failed items an upheld re-test found conforming, as the lab named them: the failure
    /// stands on the others.
    pub cleared_items: Vec<String>,
}

impl Standing {
    /// Whether a notice of `kind` not served to the unit by now is not to be served any more:
    /// the unit's own re-check passed, or (the case closed) it would only press a rectification
    /// that is done. A rectification notice to a unit never ordered stays: the batch it holds
    /// is still the failed one.
    pub fn moot_for(&self, kind: NoticeKind, uscc: &str) -> bool {
        self.done_units.contains(uscc)
            || (self.status == CaseStatus::Closed && kind != NoticeKind::Rectification)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProposedNotice {
    pub kind: NoticeKind,
    pub due_on: NaiveDate,
    pub status: NoticeStatus,
    /// Only to the parties responsible for the batch (the sampled unit and producer), not to
    /// every receiver: reminders, interviews and listed supervision follow the rectification.
    pub to_all_units: bool,
    /// The day its cause arose. A later cause calls for a new notice of the kind (a failed
    /// re-check after an interview for overdue rectification).
    pub since: NaiveDate,
    /// The day the next notice of its kind arose, if any: services dated from `since` until
    /// then are this notice's.
    pub until: Option<NaiveDate>,
    /// Counts from the rectification deadline (the reminder, the interview for overdue
    /// rectification): a unit given its order later than the case has its own ([`addressed`]).
    pub from_order: bool,
    /// The unit whose failed re-check called for it, when that re-check named one: to it alone.
    pub concerns: Option<String>,
}

impl ProposedNotice {
    /// Why it is called for, for an interview or a listed supervision: the order's deadline
    /// passed, or a re-check failed; a serious failure from the day it was final (`final_on`).
    pub fn cause(&self, final_on: Option<NaiveDate>) -> Option<NoticeCause> {
        match self.kind {
            NoticeKind::Interview if self.from_order => Some(NoticeCause::Overdue),
            NoticeKind::Interview => Some(NoticeCause::RecheckFailed),
            NoticeKind::ListedSupervision if Some(self.since) == final_on => {
                Some(NoticeCause::Serious)
            }
            NoticeKind::ListedSupervision => Some(NoticeCause::SecondRecheckFailed),
            NoticeKind::Rectification | NoticeKind::Reminder => None,
        }
    }

    /// Whether `d` records this notice's service (to the unit `d.uscc` names, or to all).
    pub fn served_by(&self, d: &Disposition) -> bool {
        d.kind == DispositionKind::NoticeServed
            && d.outcome.as_deref() == Some(self.kind.as_str())
            && d.on >= self.since
            && self.until.is_none_or(|until| d.on < until)
    }
}

/// Gives each notice the services that are its own, and marks it served by one to every unit.
fn serve(notices: &mut [ProposedNotice], happened: &[&Disposition]) {
    let causes: Vec<(NoticeKind, NaiveDate)> = notices.iter().map(|n| (n.kind, n.since)).collect();
    for notice in notices {
        notice.until = causes
            .iter()
            .filter(|(kind, since)| *kind == notice.kind && *since > notice.since)
            .map(|(_, since)| *since)
            .min();
        if happened
            .iter()
            .any(|d| d.uscc.is_none() && notice.served_by(d))
        {
            notice.status = NoticeStatus::Served;
        }
    }
}

/// A proposed notice as addressed to one unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForUnit {
    /// Its status and time limit, if the unit has it (yet).
    pub notice: Option<(NoticeStatus, NaiveDate)>,
    /// The day it comes for the unit, later than for the case.
    pub wake: Option<NaiveDate>,
}

/// A proposed notice as addressed to the unit `uscc`. A `notice_served` naming the unit serves
/// that unit's notice alone; one naming none serves every unit's. A unit's order is the
/// `rectification_ordered` naming it (or naming none), else the rectification notice served to
/// it (or to all): its rectification period runs from that day, and the reminder and the
/// interview for overdue rectification hold it to its own deadline — none before it was
/// ordered, later ones when it was ordered later than the case's first unit. After the unit's
/// rectification report (or re-check; or one naming no unit), they are moot for it unless
/// served, and so is
/// a reminder not served by the unit's deadline (the interview takes over).
pub fn addressed(
    notice: &ProposedNotice,
    uscc: &str,
    dispositions: &[Disposition],
    today: NaiveDate,
    periods: &Periods,
    calendar: &Calendar,
) -> ForUnit {
    let has = |status, due_on| ForUnit {
        notice: Some((status, due_on)),
        wake: None,
    };
    let not_yet = |wake| ForUnit { notice: None, wake };
    if notice.status == NoticeStatus::Served {
        return has(notice.status, notice.due_on);
    }
    let happened: Vec<&Disposition> = dispositions.iter().filter(|d| d.on <= today).collect();
    // The day the order was given, `recorded` or by the notice's service: to this unit (or to
    // all), else to any unit.
    let ordered = |recorded: bool, to_unit: bool| {
        happened
            .iter()
            .filter(|d| {
                gives_order(d) && (d.kind == DispositionKind::RectificationOrdered) == recorded
            })
            .filter(|d| !to_unit || d.uscc.as_deref().is_none_or(|to| to == uscc))
            .map(|d| d.on)
            .min()
    };
    // A recorded order wins over the notice's service, for the unit as for the case.
    let unit_order = ordered(true, true).or_else(|| ordered(false, true));
    let case_order = ordered(true, false).or_else(|| ordered(false, false));
    // The unit's own rectification deadline, when its order came on another day than the case's.
    let own_deadline = unit_order
        .filter(|on| Some(*on) != case_order)
        .map(|on| calendar.period_end(on, periods.rectify_days).date);
    let due_on = match notice.kind {
        NoticeKind::Rectification => own_deadline.unwrap_or(notice.due_on),
        _ => notice.due_on,
    };
    if happened
        .iter()
        .any(|d| notice.served_by(d) && d.uscc.as_deref() == Some(uscc))
    {
        return has(NoticeStatus::Served, due_on);
    }
    if !notice.from_order {
        return has(notice.status, due_on);
    }
    // The unit's own report or re-check, or one naming no unit.
    let settled = happened.iter().any(|d| {
        matches!(
            d.kind,
            DispositionKind::RectificationReported | DispositionKind::RecheckConcluded
        ) && d.uscc.as_deref().is_none_or(|to| to == uscc)
    });
    // A reminder not served by the deadline is moot: the interview takes over.
    let current = |due_on: NaiveDate| {
        if notice.kind == NoticeKind::Reminder && today > due_on {
            not_yet(None)
        } else {
            has(notice.status, due_on)
        }
    };
    if settled {
        return not_yet(None);
    }
    let Some(unit_order) = unit_order else {
        return not_yet(None);
    };
    if Some(unit_order) == case_order {
        return current(notice.due_on);
    }
    let rectify_by = calendar.period_end(unit_order, periods.rectify_days).date;
    let (from, due_on) = if notice.kind == NoticeKind::Reminder {
        (minus(rectify_by, periods.reminder_days_before), rectify_by)
    } else {
        let overdue_on = plus(rectify_by, 1);
        let due_on = calendar.period_end(overdue_on, periods.interview_days).date;
        (overdue_on, due_on)
    };
    if today < from {
        not_yet(Some(from))
    } else {
        current(due_on)
    }
}

/// Whether `d` gives the rectification order: recorded as such, or the rectification notice
/// (整改通知书, the order's document) served.
fn gives_order(d: &Disposition) -> bool {
    d.kind == DispositionKind::RectificationOrdered
        || (d.kind == DispositionKind::NoticeServed
            && d.outcome.as_deref() == Some(NoticeKind::Rectification.as_str()))
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
    calendar: &Calendar,
) -> Standing {
    let mut standing = Life::new(opening, dispositions, today, periods, calendar).run();
    let happened: Vec<&Disposition> = dispositions.iter().filter(|d| d.on <= today).collect();
    serve(&mut standing.notices, &happened);
    // A disposition dated after today counts from its date: wake up then.
    let upcoming = dispositions
        .iter()
        .map(|d| d.on)
        .filter(|on| *on > today)
        .min();
    standing.next_change = earliest(standing.next_change, upcoming);
    standing
}

pub(crate) fn earliest(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Option<NaiveDate> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One derivation: the events up to today, in date order, and what is derived from them.
struct Life<'a> {
    opening: Opening,
    events: Vec<&'a Disposition>,
    today: NaiveDate,
    periods: &'a Periods,
    calendar: &'a Calendar,
    standing: Standing,
}

impl<'a> Life<'a> {
    fn new(
        opening: Opening,
        dispositions: &'a [Disposition],
        today: NaiveDate,
        periods: &'a Periods,
        calendar: &'a Calendar,
    ) -> Self {
        // A unit that only holds the batch is ordered to stop selling and recall it, and reports
        // that it did: neither is the rectification the case follows (its own notices are
        // addressed to it: `addressed`).
        let holders_rectification = |d: &Disposition| {
            (gives_order(d) || d.kind == DispositionKind::RectificationReported)
                && d.uscc.as_ref().is_some_and(|u| opening.holders.contains(u))
        };
        let mut events: Vec<&Disposition> = dispositions
            .iter()
            .filter(|d| d.on <= today && !holders_rectification(d))
            .collect();
        events.sort_by(|a, b| (a.on, &a.disposition_id).cmp(&(b.on, &b.disposition_id)));
        let standing = Standing {
            status: CaseStatus::Open,
            final_on: None,
            objection_until: opening.tested_on,
            rectify_by: None,
            recheck_by: None,
            second_recheck_from: None,
            second_recheck_by: None,
            disclose_by: None,
            retract_by: None,
            public_notice_on: None,
            suspension_until: None,
            notices: Vec::new(),
            steps: Vec::new(),
            notes: Vec::new(),
            next_change: None,
            done_units: BTreeSet::new(),
            cleared_items: Vec::new(),
        };
        Self {
            opening,
            events,
            today,
            periods,
            calendar,
            standing,
        }
    }

    fn first(&self, kind: DispositionKind) -> Option<&'a Disposition> {
        self.events.iter().copied().find(|d| d.kind == kind)
    }

    /// The first event of `kind` on or after `since` that concerns `unit` (naming it, or naming
    /// no unit; any, when `unit` is none): the public notice, suspension or referral that
    /// followed this unit's failed re-check, not one that followed another unit's.
    fn first_for(
        &self,
        kind: DispositionKind,
        since: NaiveDate,
        unit: Option<&str>,
    ) -> Option<&'a Disposition> {
        self.events.iter().copied().find(|d| {
            d.kind == kind
                && d.on >= since
                && (unit.is_none() || d.uscc.is_none() || d.uscc.as_deref() == unit)
        })
    }

    fn all(&self, kind: DispositionKind) -> Vec<&'a Disposition> {
        self.events
            .iter()
            .copied()
            .filter(|d| d.kind == kind)
            .collect()
    }

    /// The end of a calendar-day period, noting a year the calendar does not know.
    fn period_end(&mut self, start: NaiveDate, days: u64, term: Term) -> NaiveDate {
        let Deadline { date, unknown_year } = self.calendar.period_end(start, days);
        if let Some(year) = unknown_year {
            self.note(Gap::HolidaysUnknown { term, date, year });
        }
        date
    }

    fn working_days(&mut self, start: NaiveDate, n: u32, term: Term) -> Option<NaiveDate> {
        match self.calendar.add_working_days(start, n) {
            Ok(date) => Some(date),
            Err(UnknownYear(year)) => {
                self.note(Gap::NoCalendarYear { term, year });
                None
            }
        }
    }

    fn note(&mut self, note: Gap) {
        if !self.standing.notes.contains(&note) {
            self.standing.notes.push(note);
        }
    }

    /// The first day a notice of `kind` was served, if it was.
    fn served(&self, kind: NoticeKind) -> Option<NaiveDate> {
        self.events
            .iter()
            .find(|d| {
                d.kind == DispositionKind::NoticeServed
                    && d.outcome.as_deref() == Some(kind.as_str())
            })
            .map(|d| d.on)
    }

    /// Whether a notice of `kind` was served (to any unit) between `since` and `by`, inclusive.
    fn served_between(&self, kind: NoticeKind, since: NaiveDate, by: NaiveDate) -> bool {
        self.events.iter().any(|d| {
            d.kind == DispositionKind::NoticeServed
                && d.outcome.as_deref() == Some(kind.as_str())
                && (since..=by).contains(&d.on)
        })
    }

    /// The units given the rectification order one by one: each named by a recorded order or
    /// by the service of the rectification notice. `None` when an order reached every unit at
    /// once (naming none), or none was given: then whatever settles one unit settles the case.
    fn ordered_one_by_one(&self) -> Option<BTreeSet<&'a str>> {
        let units = self
            .events
            .iter()
            .filter(|d| gives_order(d))
            .map(|d| d.uscc.as_deref())
            .collect::<Option<BTreeSet<&str>>>()?;
        (!units.is_empty()).then_some(units)
    }

    /// The day the rectification was settled for the whole case by the first event of `kinds`
    /// (a report, a re-check): one naming no unit, or — units ordered one by one — the last unit's
    /// own. One unit's report does not settle another's order.
    fn settled_by(&self, kinds: &[DispositionKind]) -> Option<NaiveDate> {
        let settling: Vec<&Disposition> = self
            .events
            .iter()
            .copied()
            .filter(|d| kinds.contains(&d.kind))
            .collect();
        let Some(units) = self.ordered_one_by_one() else {
            return settling.first().map(|d| d.on);
        };
        let for_all = settling.iter().find(|d| d.uscc.is_none()).map(|d| d.on);
        let each: Option<Vec<NaiveDate>> = units
            .iter()
            .map(|unit| {
                settling
                    .iter()
                    .find(|d| d.uscc.as_deref() == Some(*unit))
                    .map(|d| d.on)
            })
            .collect();
        [for_all, each.and_then(|days| days.into_iter().max())]
            .into_iter()
            .flatten()
            .min()
    }

    /// Proposes a notice of `kind` for the cause that arose on `since` (once per cause); which
    /// services are its own is settled when the derivation is done ([`serve`]).
    fn propose(
        &mut self,
        kind: NoticeKind,
        due_on: NaiveDate,
        to_all_units: bool,
        since: NaiveDate,
        from_order: bool,
        concerns: Option<&str>,
    ) {
        if self
            .standing
            .notices
            .iter()
            .any(|n| n.kind == kind && n.since == since)
        {
            return;
        }
        self.standing.notices.push(ProposedNotice {
            kind,
            due_on,
            status: NoticeStatus::Proposed,
            to_all_units,
            since,
            until: None,
            from_order,
            concerns: concerns.map(str::to_owned),
        });
    }

    /// A step due on `due_on` (`None`: waits for the event it counts from), done when `done_by`
    /// was recorded.
    fn step(
        &mut self,
        kind: StepKind,
        due_on: Option<NaiveDate>,
        done_by: DispositionKind,
        basis: &str,
    ) {
        let done_on = self.first(done_by).map(|d| d.on);
        self.push_step(kind, due_on, done_on, basis);
    }

    fn run(mut self) -> Standing {
        let final_on = match self.opening.on_site {
            // Found on the spot: no objection window, the notices follow from the day.
            Some(site) => {
                self.standing.objection_until = site.on;
                // Revoked (reconsideration, a court): nothing of the finding stands, and
                // nothing of it was published to withdraw.
                if self.first(DispositionKind::ResultRevoked).is_some() {
                    self.standing.status = CaseStatus::Revoked;
                    return self.standing;
                }
                site.on
            }
            None => match self.finality() {
                Some(final_on) => final_on,
                None => {
                    // An objection does not suspend the rectification order: one given before
                    // the failure is final (or during the re-test) runs from its own day.
                    if !matches!(
                        self.standing.status,
                        CaseStatus::Overturned | CaseStatus::Revoked
                    ) {
                        let change = self.rectification(None);
                        self.standing.next_change = earliest(self.standing.next_change, change);
                    }
                    return self.standing;
                }
            },
        };
        self.standing.status = CaseStatus::Final;
        self.standing.final_on = Some(final_on);
        if self.opening.on_site.is_none() {
            // Spot-check failures go to the credit system; inspection findings do not.
            self.standing.disclose_by = self.working_days(
                final_on,
                self.periods.disclose_working_days,
                Term::Disclosure,
            );
        }
        match self.opening.on_site.and_then(|site| site.refusal) {
            Some(_) => self.step(
                StepKind::Warning,
                Some(final_on),
                DispositionKind::WarningIssued,
                "PQL Art 56: refusing a lawful inspection is answered with a warning and an order to correct (警告，责令改正)",
            ),
            // The rectification notice orders the stop in its first clause (立即停止生产、销售同一
            // 产品): once it is served the stop is ordered, recorded as `stop_ordered` or not.
            None => {
                let done_on = [
                    self.first(DispositionKind::StopOrdered).map(|d| d.on),
                    self.served(NoticeKind::Rectification),
                ]
                .into_iter()
                .flatten()
                .min();
                self.push_step(
                    StepKind::StopProductionAndSale,
                    Some(final_on),
                    done_on,
                    if self.opening.on_site.is_some() {
                        "PQL Art 49: sale of the product found stops at once (责令停止销售)"
                    } else {
                        "Order 18 Art 45: production and sale of the same product stop at once when the result is final"
                    },
                );
            }
        }
        let next_change = self.rectification(Some(final_on));
        self.rechecks();
        if let Some(Some(again_on)) = self.opening.on_site.and_then(|site| site.refusal) {
            self.refused_again(again_on);
        }
        match self.standing.status {
            CaseStatus::Final | CaseStatus::Rectifying => self.standing.next_change = next_change,
            // Production may resume (Order 18 Art 49): a step not recorded by then is moot.
            CaseStatus::Closed => {
                for step in &mut self.standing.steps {
                    if step.status != StepStatus::Done {
                        step.status = StepStatus::Moot;
                    }
                }
            }
            _ => {}
        }
        self.standing
    }

    /// The day the failure became final, if it is: no objection in time, or a re-test upheld.
    fn finality(&mut self) -> Option<NaiveDate> {
        // Each party served may object within its own window, and an objection re-tests the
        // result for all: the failure is final when the last party's window has passed. A
        // party's window runs from its first service; one naming no unit reached them all.
        let mut window_end: BTreeMap<Option<&str>, NaiveDate> = BTreeMap::new();
        for d in self.all(DispositionKind::ResultServed) {
            window_end.entry(d.uscc.as_deref()).or_insert_with(|| {
                self.period_end(d.on, self.periods.objection_days, Term::ObjectionEnd)
            });
        }
        let objection_until = match window_end.values().max() {
            Some(last) => *last,
            None => {
                let served = self.opening.served_on.unwrap_or(self.opening.tested_on);
                self.period_end(served, self.periods.objection_days, Term::ObjectionEnd)
            }
        };
        self.standing.objection_until = objection_until;
        // An objection naming a party served on its own is in time within that party's window.
        let until_for = |d: &Disposition| {
            d.uscc
                .as_deref()
                .and_then(|party| window_end.get(&Some(party)))
                .copied()
                .unwrap_or(objection_until)
        };
        // The result revoked (by administrative reconsideration, a court, or the organiser for an
        // error in the testing): nothing of it stands, and what was published is withdrawn
        // within the working days of a revoked disclosure.
        if let Some(revoked) = self.first(DispositionKind::ResultRevoked) {
            return self.withdrawn(CaseStatus::Revoked, revoked.on);
        }
        // An objection counts only inside the window. A re-test is held only on an objection
        // the organiser admitted (PQL Art 15), so its recorded conclusion, which is final, stands
        // even where the objection itself was not recorded, or was recorded with another date.
        let objections = self.all(DispositionKind::ObjectionFiled);
        let in_time = objections.iter().any(|d| d.on <= until_for(d));
        let retest = self.first(DispositionKind::RetestConcluded);
        if let Some(counted) = retest
            && let Some(other) = self
                .all(DispositionKind::RetestConcluded)
                .into_iter()
                .find(|d| {
                    (&d.outcome, &d.cleared_items) != (&counted.outcome, &counted.cleared_items)
                })
        {
            self.note(Gap::RetestsDisagree {
                counted: counted.disposition_id.clone(),
                other: other.disposition_id.clone(),
            });
        }
        if retest.is_none()
            && !in_time
            && let Some(late) = objections.first()
        {
            self.note(Gap::ObjectionOutOfTime {
                filed: late.on,
                until: until_for(late),
            });
        }
        if retest.is_some() || in_time {
            self.standing.status = CaseStatus::Retest;
            let retest = retest?;
            if retest.outcome.as_deref() == Some("overturned") {
                return self.withdrawn(CaseStatus::Overturned, retest.on);
            }
            return self.stands_after(retest).then_some(retest.on);
        }
        if self.today > objection_until {
            return Some(plus(objection_until, 1));
        }
        self.standing.next_change = Some(plus(objection_until, 1));
        None
    }

    /// Whether the failure stands on some item after the upheld `retest`: the items it clears
    /// leave the failure (`cleared_items`); a cleared item the lab did not fail clears nothing,
    /// and a re-test clearing every item contradicts its own outcome. Both are said.
    fn stands_after(&mut self, retest: &Disposition) -> bool {
        let cleared: BTreeSet<String> = retest.cleared_items.iter().map(|i| item_key(i)).collect();
        let failed: BTreeSet<String> = self
            .opening
            .failed_items
            .iter()
            .map(|i| item_key(i))
            .collect();
        for item in &retest.cleared_items {
            if !failed.contains(&item_key(item)) {
                self.note(Gap::NotAFailedItem {
                    on: retest.on,
                    item: item.clone(),
                });
            }
        }
        let stands = cleared.is_empty() || !failed.is_subset(&cleared);
        if !stands {
            // A record contradicting itself clears nothing until it is settled.
            self.note(Gap::RetestClearsEveryItem { on: retest.on });
            return false;
        }
        self.standing.cleared_items = self
            .opening
            .failed_items
            .iter()
            .filter(|i| cleared.contains(&item_key(i)))
            .cloned()
            .collect();
        if self.serious_after_clearing().is_none() {
            self.note(Gap::SeriousItemsCleared {
                on: retest.on,
                cleared: self.standing.cleared_items.clone(),
            });
        }
        true
    }

    /// Whether what stands of a serious failure after a re-test cleared items is still a major
    /// hidden danger: yes while a serious item stands, no when the lab rated a serious item and
    /// every item that stands is rated general; `None` when the items do not tell (some not
    /// rated, or none rated serious: the lab's word rests on the whole), and an official
    /// confirms it. A failure not serious, or with nothing cleared, is what the lab said.
    fn serious_after_clearing(&self) -> Option<bool> {
        let cleared = &self.standing.cleared_items;
        if !self.opening.serious || cleared.is_empty() {
            return Some(self.opening.serious);
        }
        if !self
            .opening
            .rated_items
            .values()
            .any(|s| *s == Severity::Serious)
        {
            return None;
        }
        let mut rated = Some(false);
        for item in self
            .opening
            .failed_items
            .iter()
            .filter(|i| !cleared.contains(i))
        {
            match self.opening.rated_items.get(&item_key(item)) {
                Some(Severity::Serious) => return Some(true),
                Some(Severity::General) => {}
                None => rated = None,
            }
        }
        rated
    }

    /// A major hidden danger: a serious failure, unless a re-test cleared the items rated serious
    /// and left only general ones.
    fn serious(&self) -> bool {
        self.serious_after_clearing().unwrap_or(true)
    }

    /// The failure no longer stands since `on` (`status` says why): never final, and what was
    /// published is withdrawn within the working days of a revoked disclosure.
    fn withdrawn(&mut self, status: CaseStatus, on: NaiveDate) -> Option<NaiveDate> {
        self.standing.status = status;
        self.standing.retract_by =
            self.working_days(on, self.periods.retract_working_days, Term::Withdrawal);
        None
    }

    /// The rectification order, reminder and interview; returns the next day time changes them.
    /// The period runs from the order: as recorded, else the day the rectification notice (the
    /// order's document, 整改通知书) was served; until then it is projected from finality, the
    /// day the law expects the order (Order 18 Art 45–46), and no reminder or interview follows.
    /// Before the failure is final (`final_on` none: in the objection window or the re-test) only
    /// an order already given runs; the case keeps its status.
    fn rectification(&mut self, final_on: Option<NaiveDate>) -> Option<NaiveDate> {
        let ordered = self
            .first(DispositionKind::RectificationOrdered)
            .map(|d| d.on)
            .or_else(|| self.served(NoticeKind::Rectification));
        let order_on = ordered.or(final_on)?;
        let rectify_by = self.period_end(order_on, self.periods.rectify_days, Term::Rectification);
        let recheck_by = self.period_end(order_on, self.periods.recheck_days, Term::Recheck);
        self.standing.rectify_by = Some(rectify_by);
        self.standing.recheck_by = Some(recheck_by);
        // One per case: any service of it is its own.
        self.propose(
            NoticeKind::Rectification,
            rectify_by,
            true,
            NaiveDate::MIN,
            false,
            None,
        );
        if let (true, Some(final_on)) = (self.serious(), final_on) {
            // A major hidden danger: listed supervision from the day the failure is final; found
            // on the spot, at once (挂牌督办 the same day).
            let due = if self.opening.on_site.is_some() {
                final_on
            } else {
                self.period_end(
                    final_on,
                    self.periods.listed_supervision_days,
                    Term::ListedSupervision,
                )
            };
            self.propose(
                NoticeKind::ListedSupervision,
                due,
                false,
                final_on,
                false,
                None,
            );
        }
        if ordered.is_some() && final_on.is_some() {
            self.standing.status = CaseStatus::Rectifying;
        }
        // The reminder and the interview hold a unit to the order's deadline: before the order
        // is served (or recorded) there is none to remind of or to have missed. Until then the
        // rectification notice waits to be served, and nothing changes by time alone.
        ordered?;
        // After the report (or the re-check) neither comes any more: one served by then stays
        // on the case, one not served is moot. (A reminder not served by the deadline is moot
        // too, unit by unit: [`addressed`].)
        let settled = self.settled_by(&[
            DispositionKind::RectificationReported,
            DispositionKind::RecheckConcluded,
        ]);
        let stands = |life: &Self, kind, since| {
            settled.is_none_or(|by| life.served_between(kind, since, by))
        };
        let reminder_on = minus(rectify_by, self.periods.reminder_days_before);
        let overdue_on = plus(rectify_by, 1);
        let mut next_change = None;
        if self.today < reminder_on {
            next_change = Some(reminder_on);
        } else if stands(self, NoticeKind::Reminder, reminder_on) {
            self.propose(
                NoticeKind::Reminder,
                rectify_by,
                false,
                reminder_on,
                true,
                None,
            );
        }
        if self.today < overdue_on {
            next_change = next_change.or(Some(overdue_on));
        } else if stands(self, NoticeKind::Interview, overdue_on) {
            // Rectification overdue (整改不到位): an interview.
            let due = self.period_end(overdue_on, self.periods.interview_days, Term::Interview);
            self.propose(NoticeKind::Interview, due, false, overdue_on, true, None);
        }
        next_change.filter(|_| settled.is_none())
    }

    /// The re-check, the public notice and the second re-check it starts, suspension, the
    /// re-check after it and the referral for licence revocation.
    ///
    /// Units ordered one by one are re-checked one by one, each through its own re-checks (and
    /// those naming no unit): a unit whose re-check passed is done, and the case closes when
    /// every unit ordered or re-checked is. The law's chain follows the unit not done that has
    /// failed most often; one unit's failed re-check is not another's second.
    fn rechecks(&mut self) {
        let rechecks = self.all(DispositionKind::RecheckConcluded);
        let Some(mut units) = self.ordered_one_by_one() else {
            return self.escalation(&rechecks);
        };
        units.extend(rechecks.iter().filter_map(|d| d.uscc.as_deref()));
        let passed = |d: &&Disposition| d.outcome.as_deref() == Some("pass");
        // Each unit's re-checks up to the first that passed, and whether one did.
        let chains: Vec<(&str, Vec<&'a Disposition>, bool)> = units
            .into_iter()
            .map(|unit| {
                let mut chain: Vec<&Disposition> = rechecks
                    .iter()
                    .copied()
                    .filter(|d| d.uscc.as_deref().is_none_or(|to| to == unit))
                    .collect();
                let passed_at = chain.iter().position(passed);
                if let Some(at) = passed_at {
                    chain.truncate(at + 1);
                }
                (unit, chain, passed_at.is_some())
            })
            .collect();
        self.standing.done_units = chains
            .iter()
            .filter(|(_, _, done)| *done)
            .map(|(unit, _, _)| (*unit).to_owned())
            .collect();
        let every_unit_done = chains.iter().all(|(_, _, done)| *done);
        // The unit not done that failed most often (the earliest to fail first among equals);
        // when no unit not done has failed, the unit that failed most, for its chain's steps.
        let failures = |chain: &[&Disposition]| chain.iter().filter(|d| !passed(d)).count();
        let first_on = |chain: &[&Disposition]| chain.first().map(|d| std::cmp::Reverse(d.on));
        let lead = chains
            .iter()
            .filter(|(_, chain, done)| !done && failures(chain) > 0)
            .max_by_key(|(_, chain, _)| (failures(chain), first_on(chain)))
            .or_else(|| {
                chains
                    .iter()
                    .max_by_key(|(_, chain, done)| (failures(chain), *done, first_on(chain)))
            });
        if let Some((_, chain, _)) = lead {
            self.escalation(chain);
        }
        if self.standing.status == CaseStatus::Closed && !every_unit_done {
            self.standing.status = CaseStatus::Rectifying;
        }
    }

    /// The law's chain over one line of re-checks, in date order.
    fn escalation(&mut self, rechecks: &[&'a Disposition]) {
        let Some(first) = rechecks.first() else {
            return;
        };
        if first.outcome.as_deref() == Some("pass") {
            self.standing.status = CaseStatus::Closed;
            return;
        }
        // Escalated (整改不到位): an interview, the province's public notice, and the second
        // re-check 60–90 days after the notice (Order 18 Art 48) — not after the re-check.
        self.standing.status = CaseStatus::Escalated;
        let due = self.period_end(first.on, self.periods.interview_days, Term::Interview);
        let unit = first.uscc.as_deref();
        self.propose(NoticeKind::Interview, due, false, first.on, false, unit);
        let notice = self
            .first_for(DispositionKind::PublicNotice, first.on, unit)
            .map(|d| d.on);
        self.standing.public_notice_on = notice;
        self.push_step(
            StepKind::PublicNotice,
            None,
            notice,
            "Order 18 Art 47: a failed re-check is escalated and announced (公告)",
        );
        let second_by = notice.map(|notice| {
            self.standing.second_recheck_from =
                Some(plus(notice, self.periods.second_recheck_from_days));
            self.period_end(
                notice,
                self.periods.second_recheck_by_days,
                Term::SecondRecheck,
            )
        });
        self.standing.second_recheck_by = second_by;
        let basis = if notice.is_some() {
            "Order 18 Art 48: 60 to 90 days after the public notice"
        } else {
            "Order 18 Art 48: counts from the public notice (公告), not yet recorded"
        };
        self.push_step(
            StepKind::SecondRecheck,
            second_by,
            rechecks.get(1).map(|d| d.on),
            basis,
        );
        let Some(second) = rechecks.get(1) else {
            return;
        };
        if second.outcome.as_deref() == Some("pass") {
            self.standing.status = CaseStatus::Closed;
            return;
        }
        self.suspension(second, rechecks.get(2).copied());
    }

    /// A refusal after the warning (拒不改正): suspension (责令停业整顿), PQL Art 56; a re-check
    /// passed after it closes the case.
    fn refused_again(&mut self, again_on: NaiveDate) {
        let passed_after = self
            .all(DispositionKind::RecheckConcluded)
            .iter()
            .any(|d| d.on >= again_on && d.outcome.as_deref() == Some("pass"));
        if passed_after {
            self.standing.status = CaseStatus::Closed;
            return;
        }
        self.standing.status = CaseStatus::Suspended;
        self.standing.suspension_until = self
            .first(DispositionKind::Suspension)
            .and_then(|d| d.until);
        let done_on = self
            .all(DispositionKind::Suspension)
            .iter()
            .find(|d| d.on >= again_on)
            .map(|d| d.on);
        self.push_step(
            StepKind::SuspensionOrder,
            Some(again_on),
            done_on,
            "PQL Art 56: refused again after the warning (拒不改正): suspension of business for rectification (责令停业整顿)",
        );
    }

    /// A second failed re-check: suspension (停业整顿), listed supervision, the re-check when the
    /// period ends, and when that fails the referral for licence revocation (PQL Art 17).
    fn suspension(&mut self, failed: &'a Disposition, third: Option<&'a Disposition>) {
        self.standing.status = CaseStatus::Suspended;
        let due = self.period_end(
            failed.on,
            self.periods.listed_supervision_days,
            Term::ListedSupervision,
        );
        self.propose(
            NoticeKind::ListedSupervision,
            due,
            false,
            failed.on,
            false,
            failed.uscc.as_deref(),
        );
        let unit = failed.uscc.as_deref();
        let suspension = self.first_for(DispositionKind::Suspension, failed.on, unit);
        let period_end = self
            .first_for(DispositionKind::RectificationPeriodEnded, failed.on, unit)
            .map(|d| d.on)
            .or(suspension.and_then(|d| d.until));
        self.standing.suspension_until = period_end;
        let recheck_by = period_end.map(|end| {
            self.period_end(
                end,
                self.periods.recheck_after_suspension_days,
                Term::RecheckAfterSuspension,
            )
        });
        let basis = if period_end.is_some() {
            "PQL Art 17: re-checked when the 停业整顿 period ends"
        } else {
            "PQL Art 17: counts from the end of the 停业整顿 period, not yet recorded"
        };
        self.push_step(
            StepKind::RecheckAfterSuspension,
            recheck_by,
            third.map(|d| d.on),
            basis,
        );
        let Some(third) = third else {
            return;
        };
        if third.outcome.as_deref() == Some("pass") {
            self.standing.status = CaseStatus::Closed;
            return;
        }
        let due = self.period_end(
            third.on,
            self.periods.revocation_referral_days,
            Term::RevocationReferral,
        );
        let referred = self
            .first_for(
                DispositionKind::LicenceRevocationReferred,
                third.on,
                third.uscc.as_deref(),
            )
            .map(|d| d.on);
        self.push_step(
            StepKind::LicenceRevocationReferral,
            Some(due),
            referred,
            "PQL Art 17: not rectified after suspension: referred for revocation of the business licence",
        );
        if referred.is_some() {
            self.standing.status = CaseStatus::RevocationReferred;
        }
    }

    fn push_step(
        &mut self,
        kind: StepKind,
        due_on: Option<NaiveDate>,
        done_on: Option<NaiveDate>,
        basis: &str,
    ) {
        let status = match (done_on, due_on) {
            (Some(_), _) => StepStatus::Done,
            (None, Some(_)) => StepStatus::Due,
            (None, None) => StepStatus::Awaiting,
        };
        self.standing.steps.push(Step {
            kind,
            due_on,
            done_on,
            status,
            basis: Some(basis.to_owned()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spotcheck_schemas::case::StepStatus;

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
            name: None,
            uscc: None,
            until: None,
            cleared_items: Vec::new(),
            withdraws: None,
        }
    }

    /// Events numbered in the order given.
    fn events(list: &[(DispositionKind, &str, Option<&str>)]) -> Vec<Disposition> {
        list.iter()
            .enumerate()
            .map(|(i, (kind, on, outcome))| event(&(i + 1).to_string(), *kind, on, *outcome))
            .collect()
    }

    fn opening() -> Opening {
        Opening {
            tested_on: day("2026-04-20"),
            served_on: Some(day("2026-04-25")),
            serious: false,
            on_site: None,
            holders: BTreeSet::new(),
            failed_items: vec!["熄火保护装置".to_owned(), "燃气导管".to_owned()],
            rated_items: BTreeMap::new(),
        }
    }

    /// The standing on `today` under the law's periods and the shipped calendar.
    fn law(opening: Opening, events: &[Disposition], today: NaiveDate) -> Standing {
        standing(
            opening,
            events,
            today,
            &Periods::default(),
            &Calendar::shipped(),
        )
    }

    /// The case's first notice of `kind` as addressed to `uscc`, under the law's periods.
    fn address(
        standing: &Standing,
        kind: NoticeKind,
        uscc: &str,
        events: &[Disposition],
        today: NaiveDate,
    ) -> ForUnit {
        let notice = standing.notices.iter().find(|n| n.kind == kind).unwrap();
        addressed(
            notice,
            uscc,
            events,
            today,
            &Periods::default(),
            &Calendar::shipped(),
        )
    }

    fn kinds(standing: &Standing) -> Vec<NoticeKind> {
        standing.notices.iter().map(|n| n.kind).collect()
    }

    #[test]
    fn without_objection_the_failure_is_final_after_fifteen_days_moved_past_a_weekend() {
        // Served 25 April 2026: the 15th day is Sunday 10 May, so the window runs to Monday.
        let open = law(opening(), &[], day("2026-05-11"));
        assert_eq!(open.status, CaseStatus::Open);
        assert_eq!(open.objection_until, day("2026-05-11"));
        assert_eq!(open.next_change, Some(day("2026-05-12")));
        let final_ = law(opening(), &[], day("2026-05-12"));
        assert_eq!(final_.status, CaseStatus::Final);
        assert_eq!(final_.final_on, Some(day("2026-05-12")));
        // 60 days: Saturday 11 July → Monday 13 July; 75 days: Sunday 26 July → Monday 27 July.
        assert_eq!(final_.rectify_by, Some(day("2026-07-13")));
        assert_eq!(final_.recheck_by, Some(day("2026-07-27")));
        // 20 working days from 12 May 2026 (no holiday in between): 9 June.
        assert_eq!(final_.disclose_by, Some(day("2026-06-09")));
        assert_eq!(kinds(&final_), [NoticeKind::Rectification]);
        assert_eq!(final_.steps.len(), 1, "the stop of production and sale");
        assert_eq!(final_.steps[0].kind, StepKind::StopProductionAndSale);
        assert_eq!(final_.steps[0].due_on, Some(day("2026-05-12")));
        assert_eq!(final_.steps[0].status, StepStatus::Due);
    }

    #[test]
    fn a_window_ending_in_the_national_day_holiday_runs_to_the_first_working_day() {
        let served = Opening {
            served_on: Some(day("2026-09-17")),
            ..opening()
        };
        let s = law(served.clone(), &[], day("2026-10-05"));
        assert_eq!(s.objection_until, day("2026-10-08"));
        assert_eq!(s.status, CaseStatus::Open);
        let overturned = [
            event("1", DispositionKind::ObjectionFiled, "2026-09-20", None),
            event(
                "2",
                DispositionKind::RetestConcluded,
                "2026-09-30",
                Some("overturned"),
            ),
        ];
        let s = law(served, &overturned, day("2026-10-12"));
        assert_eq!(s.status, CaseStatus::Overturned);
        // 3 working days from Wednesday 30 September: 8, 9 and Saturday 10 October (调休).
        assert_eq!(s.retract_by, Some(day("2026-10-10")));
    }

    #[test]
    fn the_window_runs_from_the_test_date_when_service_is_unknown() {
        let unserved = Opening {
            served_on: None,
            ..opening()
        };
        let s = law(unserved, &[], day("2026-05-01"));
        // Tested 20 April: the 15th day is 5 May, the last day of the Labour Day holiday.
        assert_eq!(s.objection_until, day("2026-05-06"));
    }

    fn retest_on_20_may(outcome: &str) -> Disposition {
        event(
            "2",
            DispositionKind::RetestConcluded,
            "2026-05-20",
            Some(outcome),
        )
    }

    #[test]
    fn an_overturned_retest_closes_the_case_and_an_upheld_one_makes_it_final() {
        let objection = event("1", DispositionKind::ObjectionFiled, "2026-04-30", None);
        let waiting = law(
            opening(),
            std::slice::from_ref(&objection),
            day("2026-06-01"),
        );
        assert_eq!(
            waiting.status,
            CaseStatus::Retest,
            "an objection suspends finality"
        );
        let overturned = retest_on_20_may("overturned");
        let s = law(
            opening(),
            &[objection.clone(), overturned],
            day("2026-06-01"),
        );
        assert_eq!(s.status, CaseStatus::Overturned);
        assert!(s.notices.is_empty());
        let upheld = retest_on_20_may("upheld");
        let s = law(opening(), &[objection, upheld], day("2026-06-01"));
        assert_eq!(
            (s.status, s.final_on),
            (CaseStatus::Final, Some(day("2026-05-20")))
        );
    }

    #[test]
    fn two_retest_conclusions_that_disagree_are_said_and_the_first_counts() {
        let upheld = retest_on_20_may("upheld");
        let same = Disposition {
            disposition_id: "3".into(),
            ..upheld.clone()
        };
        let s = law(opening(), &[upheld.clone(), same], day("2026-06-01"));
        assert!(
            s.notes.is_empty(),
            "the same conclusion twice: {:?}",
            s.notes
        );
        let overturned = Disposition {
            disposition_id: "3".into(),
            ..retest_on_20_may("overturned")
        };
        let s = law(opening(), &[overturned, upheld], day("2026-06-01"));
        assert_eq!(s.status, CaseStatus::Final);
        assert_eq!(
            s.notes,
            [Gap::RetestsDisagree {
                counted: "2".into(),
                other: "3".into()
            }]
        );
    }

    #[test]
    fn a_retest_clearing_some_items_leaves_the_failure_on_the_others() {
        let objection = event("1", DispositionKind::ObjectionFiled, "2026-04-30", None);
        let clearing = |items: &[&str]| Disposition {
            cleared_items: items.iter().map(|i| (*i).to_owned()).collect(),
            ..retest_on_20_may("upheld")
        };
        // The lab wrote 燃气导管; the official writes it with a space: the same item.
        let s = law(
            opening(),
            &[objection.clone(), clearing(&["燃气 导管"])],
            day("2026-06-01"),
        );
        assert_eq!(
            (s.status, s.final_on),
            (CaseStatus::Final, Some(day("2026-05-20")))
        );
        assert_eq!(s.cleared_items, ["燃气导管"]);
        assert!(s.notes.is_empty(), "{:?}", s.notes);
        // A name the lab did not fail clears nothing, and is said.
        let s = law(
            opening(),
            &[objection.clone(), clearing(&["噪声"])],
            day("2026-06-01"),
        );
        assert_eq!(s.status, CaseStatus::Final);
        assert!(s.cleared_items.is_empty());
        assert_eq!(
            s.notes,
            [Gap::NotAFailedItem {
                on: day("2026-05-20"),
                item: "噪声".into()
            }]
        );
        // Upheld, yet every failed item cleared: nothing is left to be final, until corrected.
        let s = law(
            opening(),
            &[objection.clone(), clearing(&["熄火保护装置", "燃气导管"])],
            day("2026-06-01"),
        );
        assert_eq!((s.status, s.final_on), (CaseStatus::Retest, None));
        assert!(
            s.cleared_items.is_empty(),
            "the items stay as the lab failed them"
        );
        assert_eq!(
            s.notes,
            [Gap::RetestClearsEveryItem {
                on: day("2026-05-20")
            }]
        );
        // A serious failure with an item cleared: which items made it serious the lab did not
        // say, so listed supervision stays proposed and the official is asked to confirm it.
        let serious = Opening {
            serious: true,
            ..opening()
        };
        let s = law(
            serious.clone(),
            &[objection.clone(), clearing(&["燃气导管"])],
            day("2026-06-01"),
        );
        assert!(kinds(&s).contains(&NoticeKind::ListedSupervision), "{s:?}");
        assert_eq!(
            s.notes,
            [Gap::SeriousItemsCleared {
                on: day("2026-05-20"),
                cleared: vec!["燃气导管".into()]
            }]
        );
        let s = law(serious, &[objection, clearing(&[])], day("2026-06-01"));
        assert!(s.notes.is_empty(), "{:?}", s.notes);
    }

    #[test]
    fn a_serious_failure_whose_items_are_rated_asks_no_one_after_a_retest() {
        let objection = event("1", DispositionKind::ObjectionFiled, "2026-04-30", None);
        let clearing = |item: &str| Disposition {
            cleared_items: vec![item.to_owned()],
            ..retest_on_20_may("upheld")
        };
        // 熄火保护装置 is an A类 item, 燃气导管 a B类 one.
        let rated = Opening {
            serious: true,
            rated_items: [
                (item_key("熄火保护装置"), Severity::Serious),
                (item_key("燃气导管"), Severity::General),
            ]
            .into(),
            ..opening()
        };
        // The general item cleared: the serious one stands, and so does listed supervision.
        let s = law(
            rated.clone(),
            &[objection.clone(), clearing("燃气导管")],
            day("2026-06-01"),
        );
        assert!(kinds(&s).contains(&NoticeKind::ListedSupervision), "{s:?}");
        assert!(s.notes.is_empty(), "{:?}", s.notes);
        // The serious one cleared: what stands is general, no major hidden danger any more.
        let s = law(
            rated.clone(),
            &[objection.clone(), clearing("熄火保护装置")],
            day("2026-06-01"),
        );
        assert_eq!(s.status, CaseStatus::Final);
        assert!(kinds(&s).contains(&NoticeKind::Rectification), "{s:?}");
        assert!(!kinds(&s).contains(&NoticeKind::ListedSupervision), "{s:?}");
        assert!(s.notes.is_empty(), "{:?}", s.notes);
        // Every item rated general, yet the lab found the whole serious: what stands after one
        // is cleared is not known, and the official is asked.
        let general = Opening {
            rated_items: [
                (item_key("熄火保护装置"), Severity::General),
                (item_key("燃气导管"), Severity::General),
            ]
            .into(),
            ..rated.clone()
        };
        let s = law(
            general,
            &[objection.clone(), clearing("熄火保护装置")],
            day("2026-06-01"),
        );
        assert!(kinds(&s).contains(&NoticeKind::ListedSupervision), "{s:?}");
        assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
        // Only the cleared item rated: what stands is not known, and the official is asked.
        let half = Opening {
            rated_items: [(item_key("熄火保护装置"), Severity::Serious)].into(),
            ..rated
        };
        let s = law(
            half,
            &[objection, clearing("熄火保护装置")],
            day("2026-06-01"),
        );
        assert!(kinds(&s).contains(&NoticeKind::ListedSupervision), "{s:?}");
        assert_eq!(
            s.notes,
            [Gap::SeriousItemsCleared {
                on: day("2026-05-20"),
                cleared: vec!["熄火保护装置".into()]
            }]
        );
    }

    #[test]
    fn a_retests_conclusion_stands_without_its_objection_and_a_late_objection_is_said() {
        // Served 25 April: the window's 15th day is Sunday 10 May, so it ends on Monday 11 May.
        let overturned = retest_on_20_may("overturned");
        let s = law(
            opening(),
            std::slice::from_ref(&overturned),
            day("2026-06-01"),
        );
        assert_eq!(
            s.status,
            CaseStatus::Overturned,
            "the office recorded only the re-test"
        );
        assert_eq!(s.final_on, None);
        assert!(s.notices.is_empty());
        let upheld = retest_on_20_may("upheld");
        let s = law(opening(), std::slice::from_ref(&upheld), day("2026-06-01"));
        assert_eq!(
            (s.status, s.final_on),
            (CaseStatus::Final, Some(day("2026-05-20")))
        );
        assert!(s.notes.is_empty());

        // An objection after the window, with no re-test: final from the window, and said.
        let late = event("1", DispositionKind::ObjectionFiled, "2026-05-14", None);
        let s = law(opening(), std::slice::from_ref(&late), day("2026-06-01"));
        assert_eq!(
            (s.status, s.final_on),
            (CaseStatus::Final, Some(day("2026-05-12")))
        );
        assert_eq!(
            s.notes,
            [Gap::ObjectionOutOfTime {
                filed: day("2026-05-14"),
                until: day("2026-05-11"),
            }]
        );
        // The organiser re-tested all the same (the service date was wrong): its conclusion holds.
        let s = law(opening(), &[late, overturned], day("2026-06-01"));
        assert_eq!(s.status, CaseStatus::Overturned);
        assert!(s.notes.is_empty());
    }

    #[test]
    fn the_failure_is_final_when_the_last_party_served_can_object_no_more() {
        let served = |id: &str, on: &str, uscc: Option<&str>| Disposition {
            uscc: uscc.map(str::to_owned),
            ..event(id, DispositionKind::ResultServed, on, None)
        };
        // The shop is served on 25 April, the producer elsewhere only on 10 May: the producer
        // may object until Monday 25 May, and its objection would re-test the result for both.
        let both = [
            served("1", "2026-04-25", Some("91110000802100433B")),
            served("2", "2026-05-10", Some("91350100M000100Y43")),
        ];
        let s = law(opening(), &both, day("2026-05-20"));
        assert_eq!(s.objection_until, day("2026-05-25"));
        assert_eq!((s.status, s.final_on), (CaseStatus::Open, None));
        let s = law(opening(), &both, day("2026-05-26"));
        assert_eq!(s.final_on, Some(day("2026-05-26")));
        // The shop objects on 15 May, after its own window (11 May) but inside the producer's:
        // too late for the shop, and the producer did not object.
        let mut late = both.to_vec();
        late.push(Disposition {
            uscc: Some("91110000802100433B".into()),
            ..event("3", DispositionKind::ObjectionFiled, "2026-05-15", None)
        });
        let s = law(opening(), &late, day("2026-05-26"));
        assert_eq!(s.final_on, Some(day("2026-05-26")));
        assert_eq!(
            s.notes,
            [Gap::ObjectionOutOfTime {
                filed: day("2026-05-15"),
                until: day("2026-05-11"),
            }]
        );
        // The same objection from the producer is in time: the re-test is awaited.
        late[2].uscc = Some("91350100M000100Y43".into());
        assert_eq!(
            law(opening(), &late, day("2026-05-26")).status,
            CaseStatus::Retest
        );
        // Served twice to the same party (or to all): its first service counts.
        let again = [
            served("1", "2026-04-25", None),
            served("2", "2026-05-10", None),
        ];
        assert_eq!(
            law(opening(), &again, day("2026-05-20")).objection_until,
            day("2026-05-11")
        );
    }

    #[test]
    fn a_revoked_result_stands_no_more_whatever_came_of_it() {
        // Final on 12 May, ordered on 15 May, overdue and interviewed; the result is revoked by
        // administrative reconsideration on Friday 24 July.
        let events = [
            event(
                "1",
                DispositionKind::RectificationOrdered,
                "2026-05-15",
                None,
            ),
            event("2", DispositionKind::ResultRevoked, "2026-07-24", None),
        ];
        let before = law(opening(), &events[..1], day("2026-07-24"));
        assert_eq!(before.status, CaseStatus::Rectifying);
        assert!(!before.notices.is_empty());
        let s = law(opening(), &events, day("2026-07-24"));
        assert_eq!(s.status, CaseStatus::Revoked);
        assert_eq!(s.final_on, None);
        assert!(s.notices.is_empty(), "{:?}", s.notices);
        // Three working days: Monday 27 to Wednesday 29 July.
        assert_eq!(s.retract_by, Some(day("2026-07-29")));
    }

    #[test]
    fn an_objection_does_not_suspend_a_rectification_order_already_given() {
        // Ordered with the result on 25 April, objected to on 30 April; the re-test is slow.
        let events = [
            event(
                "1",
                DispositionKind::RectificationOrdered,
                "2026-04-25",
                None,
            ),
            event("2", DispositionKind::ObjectionFiled, "2026-04-30", None),
        ];
        // 60 days from 25 April: Wednesday 24 June; 75 days: Thursday 9 July.
        let waiting = law(opening(), &events, day("2026-05-20"));
        assert_eq!(waiting.status, CaseStatus::Retest, "still not final");
        assert_eq!(waiting.final_on, None);
        assert_eq!(
            waiting.disclose_by, None,
            "nothing disclosed before finality"
        );
        assert_eq!(waiting.rectify_by, Some(day("2026-06-24")));
        assert_eq!(waiting.recheck_by, Some(day("2026-07-09")));
        assert_eq!(kinds(&waiting), [NoticeKind::Rectification]);
        assert_eq!(
            waiting.next_change,
            Some(day("2026-06-14")),
            "the reminder's day"
        );
        let reminded = law(opening(), &events, day("2026-06-14"));
        assert_eq!(reminded.status, CaseStatus::Retest);
        assert_eq!(
            kinds(&reminded),
            [NoticeKind::Rectification, NoticeKind::Reminder]
        );
        let overdue = law(opening(), &events, day("2026-06-25"));
        assert_eq!(
            kinds(&overdue),
            [
                NoticeKind::Rectification,
                NoticeKind::Reminder,
                NoticeKind::Interview
            ]
        );
        // An objection with no order: nothing runs until the re-test concludes.
        let unordered = law(opening(), &events[1..], day("2026-06-25"));
        assert_eq!((unordered.rectify_by, unordered.next_change), (None, None));
        assert!(unordered.notices.is_empty());
        // Overturned: the order falls with the failure.
        let mut overturned = events.to_vec();
        overturned.push(event(
            "3",
            DispositionKind::RetestConcluded,
            "2026-06-01",
            Some("overturned"),
        ));
        let s = law(opening(), &overturned, day("2026-06-25"));
        assert_eq!(s.status, CaseStatus::Overturned);
        assert!(s.notices.is_empty() && s.rectify_by.is_none());
    }

    #[test]
    fn an_unreported_rectification_brings_a_reminder_then_an_interview() {
        let ordered = [event(
            "1",
            DispositionKind::RectificationOrdered,
            "2026-05-15",
            None,
        )];
        let s = law(opening(), &ordered, day("2026-07-01"));
        assert_eq!(s.status, CaseStatus::Rectifying);
        assert_eq!(s.rectify_by, Some(day("2026-07-14")));
        assert_eq!(kinds(&s), [NoticeKind::Rectification]);
        assert_eq!(s.next_change, Some(day("2026-07-04")));
        let s = law(opening(), &ordered, day("2026-07-04"));
        assert_eq!(kinds(&s), [NoticeKind::Rectification, NoticeKind::Reminder]);
        let s = law(opening(), &ordered, day("2026-07-15"));
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
        let s = law(opening(), &reported, day("2026-07-15"));
        assert_eq!(
            kinds(&s),
            [NoticeKind::Rectification],
            "a report stops the reminders"
        );
    }

    #[test]
    fn a_served_rectification_notice_is_the_order_its_period_runs_from() {
        // Final on 12 May 2026; the notice is served a month later, on 15 June, and no order
        // is recorded besides: the 60 days run from the service, to Friday 14 August.
        let served = [event(
            "1",
            DispositionKind::NoticeServed,
            "2026-06-15",
            Some("rectification"),
        )];
        let s = law(opening(), &served, day("2026-07-20"));
        assert_eq!(s.status, CaseStatus::Rectifying);
        assert_eq!(s.rectify_by, Some(day("2026-08-14")));
        // 75 days: Saturday 29 August → Monday 31 August.
        assert_eq!(s.recheck_by, Some(day("2026-08-31")));
        assert_eq!(s.notices[0].status, NoticeStatus::Served);
        assert_eq!(s.notices[0].due_on, day("2026-08-14"));
        assert_eq!(
            kinds(&s),
            [NoticeKind::Rectification],
            "no reminder before 4 August, no interview before the deadline"
        );
        assert_eq!(s.next_change, Some(day("2026-08-04")));
        // An order recorded is the order, whatever day the notice was served.
        let mut both = served.to_vec();
        both.push(event(
            "2",
            DispositionKind::RectificationOrdered,
            "2026-06-20",
            None,
        ));
        let s = law(opening(), &both, day("2026-07-20"));
        assert_eq!(s.rectify_by, Some(day("2026-08-19")));
        // Not served, not ordered: projected from finality; past that day, still no reminder
        // of a deadline nobody was given, no interview for missing it.
        let s = law(opening(), &[], day("2026-07-20"));
        assert_eq!(s.status, CaseStatus::Final);
        assert_eq!(s.rectify_by, Some(day("2026-07-13")));
        assert_eq!(kinds(&s), [NoticeKind::Rectification]);
        assert_eq!(
            s.next_change, None,
            "only the order or its service moves it on"
        );
    }

    #[test]
    fn a_notice_served_to_one_unit_is_that_units_and_runs_from_its_own_service() {
        let (shop, distributor, other) = ("91120104A", "91120116B", "91120105C");
        let served_to = |id: &str, on: &str, uscc: &str| Disposition {
            uscc: Some(uscc.to_owned()),
            ..event(id, DispositionKind::NoticeServed, on, Some("rectification"))
        };
        let events = [
            served_to("1", "2026-06-15", shop),
            served_to("2", "2026-06-25", distributor),
        ];
        let today = day("2026-07-20");
        let s = law(opening(), &events, today);
        // The first service is the order: the case's deadline runs from 15 June.
        assert_eq!(s.status, CaseStatus::Rectifying);
        assert_eq!(s.rectify_by, Some(day("2026-08-14")));
        assert_eq!(
            s.notices[0].status,
            NoticeStatus::Proposed,
            "not served to all"
        );
        let to = |uscc: &str| address(&s, NoticeKind::Rectification, uscc, &events, today);
        let has = |status, due: &str| ForUnit {
            notice: Some((status, day(due))),
            wake: None,
        };
        assert_eq!(to(shop), has(NoticeStatus::Served, "2026-08-14"));
        // 60 days from 25 June: Monday 24 August.
        assert_eq!(to(distributor), has(NoticeStatus::Served, "2026-08-24"));
        assert_eq!(to(other), has(NoticeStatus::Proposed, "2026-08-14"));
        // 20 August: the case's deadline (the shop's) has passed. The reminder and the interview
        // hold each unit to its own order: the distributor's deadline is 24 August, and the
        // unit never served has no deadline to be reminded of.
        let today = day("2026-08-20");
        let s = law(opening(), &events, today);
        assert_eq!(
            kinds(&s),
            [
                NoticeKind::Rectification,
                NoticeKind::Reminder,
                NoticeKind::Interview
            ]
        );
        let to = |kind: NoticeKind, uscc: &str| address(&s, kind, uscc, &events, today);
        let (reminder, interview) = (NoticeKind::Reminder, NoticeKind::Interview);
        let none = ForUnit {
            notice: None,
            wake: None,
        };
        // 10 days from 15 August: Tuesday 25 August. The shop's reminder, not served by its
        // deadline, is moot: the interview takes over.
        assert_eq!(
            to(interview, shop),
            has(NoticeStatus::Proposed, "2026-08-25")
        );
        assert_eq!(to(reminder, shop), none);
        assert_eq!(
            to(reminder, distributor),
            has(NoticeStatus::Proposed, "2026-08-24")
        );
        let later = ForUnit {
            notice: None,
            wake: Some(day("2026-08-25")),
        };
        assert_eq!(
            to(interview, distributor),
            later,
            "not overdue before 25 August"
        );
        assert_eq!((to(reminder, other), to(interview, other)), (none, none));
        // A reminder served to the shop before its deadline stays.
        let mut reminded = events.to_vec();
        reminded.push(Disposition {
            uscc: Some(shop.to_owned()),
            ..event(
                "4",
                DispositionKind::NoticeServed,
                "2026-08-10",
                Some("reminder"),
            )
        });
        let s = law(opening(), &reminded, today);
        assert_eq!(
            address(&s, reminder, shop, &reminded, today),
            has(NoticeStatus::Served, "2026-08-14")
        );
        // Served to all at once: every unit's, the case's deadline.
        let all = [event(
            "3",
            DispositionKind::NoticeServed,
            "2026-06-15",
            Some("rectification"),
        )];
        let s = law(opening(), &all, today);
        assert_eq!(s.notices[0].status, NoticeStatus::Served);
    }

    /// Orders recorded unit by unit (`rectification_ordered` naming each): each unit's deadline,
    /// reminder and interview run from its own order; a unit not ordered has none of them. The
    /// case's deadlines run from the first order.
    #[test]
    fn one_units_report_and_recheck_settle_that_unit_not_the_case() {
        let (shop, producer) = ("91120104A", "91120117B");
        let to_unit = |id: &str, kind, on: &str, outcome: Option<&str>, uscc: &str| Disposition {
            uscc: Some(uscc.to_owned()),
            ..event(id, kind, on, outcome)
        };
        let rectification = Some("rectification");
        let mut events = vec![
            to_unit(
                "1",
                DispositionKind::NoticeServed,
                "2026-06-15",
                rectification,
                shop,
            ),
            to_unit(
                "2",
                DispositionKind::NoticeServed,
                "2026-06-25",
                rectification,
                producer,
            ),
            to_unit(
                "3",
                DispositionKind::RectificationReported,
                "2026-07-20",
                None,
                shop,
            ),
            to_unit(
                "4",
                DispositionKind::RecheckConcluded,
                "2026-07-25",
                Some("pass"),
                shop,
            ),
        ];
        // 20 August: the shop is done; the producer, ordered on 25 June, has reported nothing
        // and is reminded of its 24 August.
        let today = day("2026-08-20");
        let s = law(opening(), &events, today);
        assert_eq!(s.status, CaseStatus::Rectifying);
        assert!(kinds(&s).contains(&NoticeKind::Reminder), "{s:?}");
        let reminder = |uscc: &str, s: &Standing, events: &[Disposition]| {
            address(s, NoticeKind::Reminder, uscc, events, today).notice
        };
        assert_eq!(reminder(shop, &s, &events), None);
        assert_eq!(
            reminder(producer, &s, &events),
            Some((NoticeStatus::Proposed, day("2026-08-24")))
        );
        // Its re-check passed too: the case closes. Had it failed, the case is escalated.
        let pass = to_unit(
            "5",
            DispositionKind::RecheckConcluded,
            "2026-08-28",
            Some("pass"),
            producer,
        );
        events.push(pass.clone());
        assert_eq!(
            law(opening(), &events, day("2026-09-01")).status,
            CaseStatus::Closed
        );
        events.pop();
        events.push(Disposition {
            outcome: Some("fail".into()),
            ..pass
        });
        assert_eq!(
            law(opening(), &events, day("2026-09-01")).status,
            CaseStatus::Escalated
        );
        // A re-check naming no unit is every unit's, as before.
        events.pop();
        events[3].uscc = None;
        assert_eq!(law(opening(), &events, today).status, CaseStatus::Closed);
    }

    #[test]
    fn each_unit_ordered_goes_through_its_own_rechecks() {
        let (shop, producer) = ("91120104A", "91120117B");
        let to_unit = |id: &str, kind, on: &str, outcome: Option<&str>, uscc: &str| Disposition {
            uscc: Some(uscc.to_owned()),
            ..event(id, kind, on, outcome)
        };
        let (ordered, recheck) = (
            DispositionKind::RectificationOrdered,
            DispositionKind::RecheckConcluded,
        );
        let mut events = vec![
            to_unit("1", ordered, "2026-05-15", None, shop),
            to_unit("2", ordered, "2026-05-15", None, producer),
            to_unit("3", recheck, "2026-07-20", Some("fail"), shop),
            to_unit("4", recheck, "2026-07-22", Some("fail"), producer),
        ];
        // Each failed once: escalated, not suspended as if the producer's were the second.
        let s = law(opening(), &events, day("2026-07-23"));
        assert_eq!(s.status, CaseStatus::Escalated);
        assert!(!kinds(&s).contains(&NoticeKind::ListedSupervision), "{s:?}");
        // The shop passes its second re-check: the producer, not yet, holds the case escalated.
        events.push(event(
            "5",
            DispositionKind::PublicNotice,
            "2026-08-03",
            None,
        ));
        events.push(to_unit("6", recheck, "2026-10-05", Some("pass"), shop));
        let s = law(opening(), &events, day("2026-10-06"));
        assert_eq!(s.status, CaseStatus::Escalated);
        assert!(s.done_units.contains(shop) && !s.done_units.contains(producer));
        events.push(to_unit("7", recheck, "2026-10-08", Some("pass"), producer));
        assert_eq!(
            law(opening(), &events, day("2026-10-09")).status,
            CaseStatus::Closed
        );
        // A unit never re-checked holds the case open, whatever the other's chain came to.
        let events: Vec<Disposition> = events
            .into_iter()
            .filter(|d| d.kind != recheck || d.uscc.as_deref() == Some(shop))
            .collect();
        let s = law(opening(), &events, day("2026-10-09"));
        assert_eq!(s.status, CaseStatus::Rectifying);
        assert!(s.done_units.contains(shop) && !s.done_units.contains(producer));
    }

    #[test]
    fn a_batch_holders_rectification_notice_does_not_hold_the_case_open() {
        let (shop, producer, receiver) = ("91120104A", "91120117B", "91120105C");
        let to_unit = |id: &str, kind, on: &str, outcome: Option<&str>, uscc: &str| Disposition {
            uscc: Some(uscc.to_owned()),
            ..event(id, kind, on, outcome)
        };
        let (served, recheck) = (
            DispositionKind::NoticeServed,
            DispositionKind::RecheckConcluded,
        );
        let rectification = Some("rectification");
        let events = [
            // The shop that received the batch is told first to take it off its shelves.
            to_unit("1", served, "2026-05-12", rectification, receiver),
            to_unit("2", served, "2026-05-15", rectification, shop),
            to_unit("3", served, "2026-05-15", rectification, producer),
            to_unit("4", recheck, "2026-07-20", Some("pass"), shop),
            to_unit("5", recheck, "2026-07-21", Some("pass"), producer),
        ];
        let holding = Opening {
            holders: BTreeSet::from([receiver.to_owned()]),
            ..opening()
        };
        let s = law(holding.clone(), &events[..3], day("2026-06-01"));
        // The order the case follows is the responsible units': 60 days from 15 May.
        assert_eq!(s.rectify_by, Some(day("2026-07-14")));
        let s = law(holding, &events, day("2026-07-22"));
        assert_eq!(s.status, CaseStatus::Closed, "{s:?}");
    }

    #[test]
    fn a_batch_holders_report_does_not_stand_for_the_responsible_units() {
        let receiver = "91120105C";
        let events = [
            // The case's order, to the units responsible for the failure.
            event(
                "1",
                DispositionKind::RectificationOrdered,
                "2026-05-15",
                None,
            ),
            // The shop that received the batch reports it took the batch off its shelves.
            Disposition {
                uscc: Some(receiver.to_owned()),
                ..event(
                    "2",
                    DispositionKind::RectificationReported,
                    "2026-05-20",
                    None,
                )
            },
        ];
        let holding = Opening {
            holders: BTreeSet::from([receiver.to_owned()]),
            ..opening()
        };
        // 14 July passed without the responsible units' report: reminded, then interviewed.
        let s = law(holding, &events, day("2026-07-15"));
        assert_eq!(
            kinds(&s),
            [
                NoticeKind::Rectification,
                NoticeKind::Reminder,
                NoticeKind::Interview
            ],
            "{s:?}"
        );
    }

    #[test]
    fn a_units_second_recheck_counts_from_its_own_public_notice() {
        let (shop, producer) = ("91120104A", "91120117B");
        let to_unit = |id: &str, kind, on: &str, outcome: Option<&str>, uscc: &str| Disposition {
            uscc: Some(uscc.to_owned()),
            ..event(id, kind, on, outcome)
        };
        let (ordered, recheck, notice) = (
            DispositionKind::RectificationOrdered,
            DispositionKind::RecheckConcluded,
            DispositionKind::PublicNotice,
        );
        let mut events = vec![
            to_unit("1", ordered, "2026-05-15", None, shop),
            to_unit("2", ordered, "2026-06-20", None, producer),
            to_unit("3", recheck, "2026-07-20", Some("fail"), shop),
            to_unit("4", notice, "2026-08-03", None, shop),
            to_unit("5", recheck, "2026-09-10", Some("fail"), producer),
            to_unit("6", recheck, "2026-10-05", Some("pass"), shop),
        ];
        // The shop's 公告 of 3 August is not the producer's: its second re-check waits for its
        // own (Order 18 Art 48).
        let s = law(opening(), &events, day("2026-10-06"));
        assert_eq!(s.status, CaseStatus::Escalated);
        assert_eq!(
            (s.public_notice_on, s.second_recheck_by),
            (None, None),
            "{s:?}"
        );
        events.push(to_unit("7", notice, "2026-09-25", None, producer));
        let s = law(opening(), &events, day("2026-10-06"));
        assert_eq!(s.public_notice_on, Some(day("2026-09-25")));
        assert_eq!(s.second_recheck_from, Some(day("2026-11-24")));
        assert_eq!(s.second_recheck_by, Some(day("2026-12-24")));
    }

    #[test]
    fn an_order_recorded_for_one_unit_is_that_units_own() {
        let (shop, distributor, other) = ("91120104A", "91120116B", "91120105C");
        let ordered_to = |id: &str, on: &str, uscc: &str| Disposition {
            uscc: Some(uscc.to_owned()),
            ..event(id, DispositionKind::RectificationOrdered, on, None)
        };
        let events = [
            ordered_to("1", "2026-06-15", shop),
            ordered_to("2", "2026-06-25", distributor),
        ];
        let has = |status, due: &str| ForUnit {
            notice: Some((status, day(due))),
            wake: None,
        };
        let none = ForUnit {
            notice: None,
            wake: None,
        };
        let today = day("2026-07-20");
        let s = law(opening(), &events, today);
        assert_eq!(s.status, CaseStatus::Rectifying);
        assert_eq!(s.rectify_by, Some(day("2026-08-14")));
        let to = |uscc: &str| address(&s, NoticeKind::Rectification, uscc, &events, today);
        assert_eq!(to(shop), has(NoticeStatus::Proposed, "2026-08-14"));
        // 60 days from 25 June: Monday 24 August.
        assert_eq!(to(distributor), has(NoticeStatus::Proposed, "2026-08-24"));
        // 20 August: the shop is overdue; the distributor is reminded of its own 24 August and
        // is not overdue before the 25th; the unit no order named has neither.
        let today = day("2026-08-20");
        let s = law(opening(), &events, today);
        let to = |kind: NoticeKind, uscc: &str| address(&s, kind, uscc, &events, today);
        let (reminder, interview) = (NoticeKind::Reminder, NoticeKind::Interview);
        assert_eq!(
            to(interview, shop),
            has(NoticeStatus::Proposed, "2026-08-25")
        );
        assert_eq!(
            to(reminder, distributor),
            has(NoticeStatus::Proposed, "2026-08-24")
        );
        assert_eq!(
            to(interview, distributor),
            ForUnit {
                notice: None,
                wake: Some(day("2026-08-25")),
            }
        );
        assert_eq!((to(reminder, other), to(interview, other)), (none, none));
        // An order naming no unit is every unit's, as before.
        let all = [event(
            "3",
            DispositionKind::RectificationOrdered,
            "2026-06-15",
            None,
        )];
        let s = law(opening(), &all, today);
        assert_eq!(
            address(&s, interview, other, &all, today),
            has(NoticeStatus::Proposed, "2026-08-25")
        );
    }

    #[test]
    fn a_notice_served_stays_on_the_case_and_a_later_cause_brings_a_new_one() {
        // Ordered 15 May (deadline 14 July); reminder served 6 July, interview for the overdue
        // rectification served 20 July; the report comes late, on 1 August.
        let mut events = events(&[
            (DispositionKind::RectificationOrdered, "2026-05-15", None),
            (
                DispositionKind::NoticeServed,
                "2026-07-06",
                Some("reminder"),
            ),
            (
                DispositionKind::NoticeServed,
                "2026-07-20",
                Some("interview"),
            ),
            (DispositionKind::RectificationReported, "2026-08-01", None),
        ]);
        let statuses = |s: &Standing| -> Vec<(NoticeKind, NoticeStatus, NaiveDate)> {
            s.notices
                .iter()
                .map(|n| (n.kind, n.status, n.due_on))
                .collect()
        };
        let reported = law(opening(), &events, day("2026-08-02"));
        assert_eq!(
            statuses(&reported),
            [
                (
                    NoticeKind::Rectification,
                    NoticeStatus::Proposed,
                    day("2026-07-14")
                ),
                (
                    NoticeKind::Reminder,
                    NoticeStatus::Served,
                    day("2026-07-14")
                ),
                // 10 days from 15 July: Saturday 25 July → Monday 27 July.
                (
                    NoticeKind::Interview,
                    NoticeStatus::Served,
                    day("2026-07-27")
                ),
            ],
            "what was served stays on the record after the report"
        );
        // Not served before the report: moot, gone.
        let unserved = [events[0].clone(), events[3].clone()];
        assert_eq!(
            kinds(&law(opening(), &unserved, day("2026-08-02"))),
            [NoticeKind::Rectification]
        );
        // The re-check fails on 20 August: a new interview (整改不到位), not the one served in July.
        events.push(event(
            "5",
            DispositionKind::RecheckConcluded,
            "2026-08-20",
            Some("fail"),
        ));
        let escalated = law(opening(), &events, day("2026-08-21"));
        assert_eq!(
            statuses(&escalated)[2..],
            [
                (
                    NoticeKind::Interview,
                    NoticeStatus::Served,
                    day("2026-07-27")
                ),
                (
                    NoticeKind::Interview,
                    NoticeStatus::Proposed,
                    day("2026-08-31")
                ),
            ]
        );
        // Served on 25 August: that one is the new interview's service.
        events.push(event(
            "6",
            DispositionKind::NoticeServed,
            "2026-08-25",
            Some("interview"),
        ));
        let served = law(opening(), &events, day("2026-08-26"));
        assert_eq!(statuses(&served)[3].1, NoticeStatus::Served);
    }

    #[test]
    fn a_serious_failure_failed_twice_is_put_under_listed_supervision_again() {
        let serious = Opening {
            serious: true,
            ..opening()
        };
        let mut events = events(&[
            (DispositionKind::RectificationOrdered, "2026-05-15", None),
            (
                DispositionKind::NoticeServed,
                "2026-05-20",
                Some("listed_supervision"),
            ),
            (
                DispositionKind::RecheckConcluded,
                "2026-07-20",
                Some("fail"),
            ),
            (DispositionKind::PublicNotice, "2026-08-03", None),
            (
                DispositionKind::RecheckConcluded,
                "2026-10-05",
                Some("fail"),
            ),
        ]);
        let listed = |s: &Standing| -> Vec<(NoticeStatus, NaiveDate)> {
            s.notices
                .iter()
                .filter(|n| n.kind == NoticeKind::ListedSupervision)
                .map(|n| (n.status, n.due_on))
                .collect()
        };
        let s = law(serious.clone(), &events, day("2026-10-06"));
        assert_eq!(s.status, CaseStatus::Suspended);
        // The serious failure's, served in May; the second failed re-check's, 10 days from
        // 5 October: Thursday 15 October.
        assert_eq!(
            listed(&s),
            [
                (NoticeStatus::Served, day("2026-05-22")),
                (NoticeStatus::Proposed, day("2026-10-15")),
            ]
        );
        events.push(event(
            "6",
            DispositionKind::NoticeServed,
            "2026-10-08",
            Some("listed_supervision"),
        ));
        let s = law(serious, &events, day("2026-10-09"));
        assert_eq!(listed(&s)[1].0, NoticeStatus::Served);
    }

    #[test]
    fn a_failed_recheck_escalates_and_a_passed_one_closes() {
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
        let s = law(opening(), &events, day("2026-07-21"));
        assert_eq!(s.status, CaseStatus::Escalated);
        assert!(kinds(&s).contains(&NoticeKind::Interview));
        // The second re-check counts from the public notice, which is not recorded yet.
        assert_eq!(s.second_recheck_by, None);
        let awaiting: Vec<(StepKind, StepStatus)> =
            s.steps.iter().map(|st| (st.kind, st.status)).collect();
        assert!(awaiting.contains(&(StepKind::PublicNotice, StepStatus::Awaiting)));
        assert!(awaiting.contains(&(StepKind::SecondRecheck, StepStatus::Awaiting)));
        events.push(event(
            "n",
            DispositionKind::PublicNotice,
            "2026-08-03",
            None,
        ));
        let s = law(opening(), &events, day("2026-08-04"));
        assert_eq!(s.public_notice_on, Some(day("2026-08-03")));
        // 60 to 90 days after the notice of 3 August, not after the re-check of 20 July.
        assert_eq!(s.second_recheck_from, Some(day("2026-10-02")));
        assert_eq!(s.second_recheck_by, Some(day("2026-11-02")));
        events.push(event(
            "4",
            DispositionKind::RecheckConcluded,
            "2026-10-01",
            Some("fail"),
        ));
        let s = law(opening(), &events, day("2026-10-20"));
        assert_eq!(s.status, CaseStatus::Suspended);
        let listed = s
            .notices
            .iter()
            .find(|n| n.kind == NoticeKind::ListedSupervision)
            .expect("listed supervision");
        // Due from the failed second re-check (1 Oct + 10 days = Sunday 11 Oct → Monday 12 Oct),
        // not from the day the stage happened to process it.
        assert_eq!(listed.due_on, day("2026-10-12"));
        events.pop();
        events.push(event(
            "4",
            DispositionKind::RecheckConcluded,
            "2026-10-01",
            Some("pass"),
        ));
        assert_eq!(
            law(opening(), &events, day("2026-10-02")).status,
            CaseStatus::Closed
        );
        let passed = [event(
            "3",
            DispositionKind::RecheckConcluded,
            "2026-07-20",
            Some("pass"),
        )];
        assert_eq!(
            law(opening(), &passed, day("2026-07-21")).status,
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
        // Served Saturday 25 April: with no window, final after Monday 27 April.
        let s = standing(
            serious,
            &[],
            day("2026-04-28"),
            &periods,
            &Calendar::shipped(),
        );
        assert_eq!(s.status, CaseStatus::Final);
        assert_eq!(
            kinds(&s),
            [NoticeKind::Rectification, NoticeKind::ListedSupervision]
        );
    }

    fn on_site(on: &str, serious: bool, refusal: Option<Option<NaiveDate>>) -> Opening {
        Opening {
            tested_on: day(on),
            served_on: Some(day(on)),
            serious,
            on_site: Some(OnSite {
                on: day(on),
                refusal,
            }),
            holders: BTreeSet::new(),
            failed_items: Vec::new(),
            rated_items: BTreeMap::new(),
        }
    }

    #[test]
    fn a_major_hidden_danger_found_on_site_is_under_listed_supervision_the_same_day() {
        let s = law(on_site("2026-04-21", true, None), &[], day("2026-04-21"));
        assert_eq!(s.status, CaseStatus::Final, "no objection window on site");
        assert_eq!(s.final_on, Some(day("2026-04-21")));
        assert_eq!(s.disclose_by, None, "inspection findings are not disclosed");
        let listed = s
            .notices
            .iter()
            .find(|n| n.kind == NoticeKind::ListedSupervision)
            .expect("listed supervision");
        assert_eq!(listed.due_on, day("2026-04-21"));
        assert_eq!(
            s.rectify_by,
            Some(day("2026-06-22")),
            "60 days, past a Saturday"
        );
        assert_eq!(s.steps[0].kind, StepKind::StopProductionAndSale);
        // Any other finding: the rectification notice alone, at once.
        let general = law(on_site("2026-04-21", false, None), &[], day("2026-04-21"));
        assert_eq!(kinds(&general), [NoticeKind::Rectification]);
        // A finding revoked (reconsideration, a court) stands no more: nothing to serve or do.
        let revoked = [event(
            "1",
            DispositionKind::ResultRevoked,
            "2026-05-06",
            None,
        )];
        let s = law(
            on_site("2026-04-21", true, None),
            &revoked,
            day("2026-05-07"),
        );
        assert_eq!(s.status, CaseStatus::Revoked);
        assert_eq!((kinds(&s), s.steps.len()), (vec![], 0));
        assert_eq!(s.retract_by, None, "nothing of it was published");
    }

    #[test]
    fn a_refusal_is_warned_and_a_refusal_after_the_warning_suspended() {
        let first = law(
            on_site("2026-04-21", false, Some(None)),
            &[],
            day("2026-04-21"),
        );
        assert_eq!(first.status, CaseStatus::Final);
        assert_eq!(first.steps[0].kind, StepKind::Warning);
        assert_eq!(first.steps[0].due_on, Some(day("2026-04-21")));
        assert_eq!(kinds(&first), [NoticeKind::Rectification]);
        assert!(
            first
                .steps
                .iter()
                .all(|s| s.kind != StepKind::SuspensionOrder)
        );

        let warned = [event(
            "w",
            DispositionKind::WarningIssued,
            "2026-04-22",
            None,
        )];
        let again = on_site("2026-04-21", false, Some(Some(day("2026-05-06"))));
        let s = law(again.clone(), &warned, day("2026-05-06"));
        assert_eq!(s.status, CaseStatus::Suspended);
        assert_eq!(s.steps[0].status, StepStatus::Done, "the warning was given");
        let order = s
            .steps
            .iter()
            .find(|s| s.kind == StepKind::SuspensionOrder)
            .expect("suspension ordered");
        assert_eq!(order.due_on, Some(day("2026-05-06")));
        assert_eq!(order.status, StepStatus::Due);
        let passed = [
            warned[0].clone(),
            event(
                "r",
                DispositionKind::RecheckConcluded,
                "2026-06-01",
                Some("pass"),
            ),
        ];
        assert_eq!(
            law(again, &passed, day("2026-06-01")).status,
            CaseStatus::Closed
        );
    }

    #[test]
    fn suspension_runs_to_its_recheck_and_a_failed_one_to_the_licence_referral() {
        let mut events = vec![
            event(
                "1",
                DispositionKind::RectificationOrdered,
                "2026-05-15",
                None,
            ),
            event(
                "2",
                DispositionKind::RecheckConcluded,
                "2026-07-20",
                Some("fail"),
            ),
            event("3", DispositionKind::PublicNotice, "2026-08-03", None),
            event(
                "4",
                DispositionKind::RecheckConcluded,
                "2026-10-12",
                Some("fail"),
            ),
        ];
        let s = law(opening(), &events, day("2026-10-13"));
        let step = |s: &Standing, kind: StepKind| {
            s.steps
                .iter()
                .find(|st| st.kind == kind)
                .cloned()
                .expect("step")
        };
        assert_eq!(
            step(&s, StepKind::RecheckAfterSuspension).status,
            StepStatus::Awaiting
        );
        let mut suspension = event("5", DispositionKind::Suspension, "2026-10-15", None);
        suspension.until = Some(day("2026-11-14"));
        events.push(suspension);
        let s = law(opening(), &events, day("2026-10-16"));
        assert_eq!(s.suspension_until, Some(day("2026-11-14")));
        // 15 days after the period ends on 14 November: Sunday 29 November → Monday 30.
        assert_eq!(
            step(&s, StepKind::RecheckAfterSuspension).due_on,
            Some(day("2026-11-30"))
        );
        events.push(event(
            "6",
            DispositionKind::RecheckConcluded,
            "2026-11-16",
            Some("fail"),
        ));
        let s = law(opening(), &events, day("2026-11-17"));
        assert_eq!(s.status, CaseStatus::Suspended);
        let referral = step(&s, StepKind::LicenceRevocationReferral);
        assert_eq!(
            (referral.status, referral.due_on),
            (StepStatus::Due, Some(day("2026-11-26")))
        );
        events.push(event(
            "7",
            DispositionKind::LicenceRevocationReferred,
            "2026-11-20",
            None,
        ));
        let s = law(opening(), &events, day("2026-11-21"));
        assert_eq!(s.status, CaseStatus::RevocationReferred);
        assert_eq!(
            step(&s, StepKind::LicenceRevocationReferral).done_on,
            Some(day("2026-11-20"))
        );
    }

    #[test]
    fn a_stop_order_recorded_or_the_rectification_notice_served_marks_the_step_done() {
        let stop_on = |events: &[Disposition]| {
            let s = law(opening(), events, day("2026-05-20"));
            let stop = &s.steps[0];
            assert_eq!(stop.kind, StepKind::StopProductionAndSale);
            (stop.status, stop.done_on)
        };
        let recorded = event("1", DispositionKind::StopOrdered, "2026-05-14", None);
        let notice = event(
            "2",
            DispositionKind::NoticeServed,
            "2026-05-13",
            Some("rectification"),
        );
        assert_eq!(
            stop_on(std::slice::from_ref(&recorded)),
            (StepStatus::Done, Some(day("2026-05-14")))
        );
        // The notice's first clause orders the stop: served, the stop is ordered.
        assert_eq!(
            stop_on(std::slice::from_ref(&notice)),
            (StepStatus::Done, Some(day("2026-05-13")))
        );
        assert_eq!(
            stop_on(&[recorded, notice]),
            (StepStatus::Done, Some(day("2026-05-13")))
        );
        // Another notice orders no stop.
        let reminder = event(
            "3",
            DispositionKind::NoticeServed,
            "2026-05-13",
            Some("reminder"),
        );
        assert_eq!(stop_on(&[reminder]).0, StepStatus::Due);
        // An order recorded without the notice, and a re-check passed: the stop, never
        // recorded, is no longer needed; the case says so, not "due".
        let closed = law(
            opening(),
            &events(&[
                (DispositionKind::RectificationOrdered, "2026-05-13", None),
                (
                    DispositionKind::RecheckConcluded,
                    "2026-06-01",
                    Some("pass"),
                ),
            ]),
            day("2026-06-02"),
        );
        assert_eq!(closed.status, CaseStatus::Closed);
        assert_eq!(closed.steps[0].status, StepStatus::Moot);
    }
}

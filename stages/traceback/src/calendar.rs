//! Which days count (docs/domain.md, "Periods: which days count").
//!
//! - Periods of the law in days (15, 60, 75, 60–90) are calendar days; when the last day is a
//!   public holiday or a weekend it moves to the next working day (民法典 Art 203).
//! - Periods in working days (disclosure within 20, withdrawal within 3: SAMR Order 45) count
//!   only working days.
//!
//! Working days follow the State Council's yearly holiday notice, adjusted working weekends
//! (调休) included: the calendar is data, one entry per year (`calendar/cn.toml`, shipped for
//! 2024–2026), and a deployment adds a year in its config file when the notice is out (every case
//! is derived again at the next start: [`crate::Authority::fingerprint`]). A date in
//! a year the calendar does not know is never guessed silently: a working-day count that reaches
//! it is an error, and a calendar-day deadline ending in it moves past weekends only and says so.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The calendar shipped with spotcheck.
const SHIPPED: &str = include_str!("../calendar/cn.toml");

/// One year of the State Council's notice.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Year {
    /// Days off (放假), weekends inside a holiday included.
    pub holidays: BTreeSet<NaiveDate>,
    /// Weekend days made working days (调休上班).
    pub workdays: BTreeSet<NaiveDate>,
}

/// The working-day calendar: the shipped years, with any the configuration adds or replaces.
/// Checked when it is read ([`Calendar::check`]): a wrong year stops the config file, not a case.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "Years")]
pub struct Calendar {
    /// Year (`"2027"`) → its holidays and adjusted working days.
    pub years: BTreeMap<String, Year>,
}

/// A calendar as written, before it is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Years {
    #[serde(default)]
    years: BTreeMap<String, Year>,
}

impl TryFrom<Years> for Calendar {
    type Error = CalendarError;

    fn try_from(written: Years) -> Result<Self, CalendarError> {
        let calendar = Calendar {
            years: written.years,
        };
        calendar.check()?;
        Ok(calendar)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalendarError {
    #[error("calendar year {year}: {problem}")]
    Invalid { year: String, problem: String },
}

/// A working-day count reached a year whose holiday notice the calendar does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownYear(pub i32);

/// A deadline of a calendar-day period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deadline {
    pub date: NaiveDate,
    /// The year of the last day is not in the calendar: only weekends were skipped.
    pub unknown_year: Option<i32>,
}

impl Calendar {
    /// The years spotcheck ships (2024–2026).
    pub fn shipped() -> Self {
        // The shipped file is checked by this crate's tests; an empty calendar is the fallback.
        toml::from_str(SHIPPED).unwrap_or_default()
    }

    /// These years with `extra`'s added (a year in both: `extra` wins).
    pub fn with(mut self, extra: &Calendar) -> Self {
        for (year, days) in &extra.years {
            self.years.insert(year.clone(), days.clone());
        }
        self
    }

    /// Every year's key is a year and every date lies in it.
    pub fn check(&self) -> Result<(), CalendarError> {
        for (key, days) in &self.years {
            let invalid = |problem: String| CalendarError::Invalid {
                year: key.clone(),
                problem,
            };
            let year: i32 = key
                .parse()
                .map_err(|_| invalid("is not a year such as 2027".into()))?;
            for date in days.holidays.iter().chain(&days.workdays) {
                if date.year() != year {
                    return Err(invalid(format!("{date} is not in {year}")));
                }
            }
            if let Some(both) = days.holidays.intersection(&days.workdays).next() {
                return Err(invalid(format!(
                    "{both} is both a holiday and a working day"
                )));
            }
        }
        Ok(())
    }

    fn year(&self, year: i32) -> Option<&Year> {
        self.years.get(&year.to_string())
    }

    /// The years known, oldest first.
    pub fn known_years(&self) -> Vec<i32> {
        self.years.keys().filter_map(|y| y.parse().ok()).collect()
    }

    /// Whether `date` is a working day; an error for a year the calendar does not know.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, UnknownYear> {
        let year = self.year(date.year()).ok_or(UnknownYear(date.year()))?;
        Ok(working(date, Some(year)))
    }

    /// The last day of a period of `days` calendar days from `start`, moved to the next working
    /// day when it is a holiday or a weekend.
    pub fn period_end(&self, start: NaiveDate, days: u64) -> Deadline {
        let mut date = plus(start, days);
        let mut unknown_year = None;
        loop {
            let year = self.year(date.year());
            if year.is_none() {
                unknown_year = Some(date.year());
            }
            if working(date, year) {
                return Deadline { date, unknown_year };
            }
            date = plus(date, 1);
        }
    }

    /// The `n`th working day after `start` (`start` itself not counted).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, UnknownYear> {
        let mut date = start;
        let mut counted = 0;
        while counted < n {
            date = plus(date, 1);
            if self.is_working_day(date)? {
                counted += 1;
            }
        }
        Ok(date)
    }
}

/// A working day: an adjusted working weekend, or a weekday that is not a holiday. Without the
/// year's notice only weekends are known.
fn working(date: NaiveDate, year: Option<&Year>) -> bool {
    if let Some(year) = year {
        if year.workdays.contains(&date) {
            return true;
        }
        if year.holidays.contains(&date) {
            return false;
        }
    }
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

pub(crate) fn plus(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_shipped_calendar_knows_2024_to_2026_and_is_consistent() {
        let calendar = Calendar::shipped();
        assert_eq!(calendar.known_years(), [2024, 2025, 2026]);
        calendar.check().unwrap();
    }

    #[test]
    fn holidays_and_adjusted_weekends_follow_the_notice() {
        let calendar = Calendar::shipped();
        // National Day 2026: 1–7 October off; Saturday 10 October worked.
        assert_eq!(calendar.is_working_day(day("2026-10-05")), Ok(false));
        assert_eq!(calendar.is_working_day(day("2026-10-10")), Ok(true));
        assert_eq!(calendar.is_working_day(day("2026-10-09")), Ok(true));
        assert_eq!(calendar.is_working_day(day("2026-10-11")), Ok(false));
        assert_eq!(
            calendar.is_working_day(day("2027-03-01")),
            Err(UnknownYear(2027))
        );
    }

    #[test]
    fn a_period_ending_in_a_holiday_moves_to_the_next_working_day() {
        let calendar = Calendar::shipped();
        // 15 days from 2026-09-17 end on 2 October, inside National Day: the 8th is the first
        // working day after it.
        let end = calendar.period_end(day("2026-09-17"), 15);
        assert_eq!(end.date, day("2026-10-08"));
        assert_eq!(end.unknown_year, None);
        // Ending on a Saturday: Monday.
        assert_eq!(
            calendar.period_end(day("2026-11-13"), 15).date,
            day("2026-11-30")
        );
        // In a year without a notice only weekends move it, and the deadline says so.
        let unknown = calendar.period_end(day("2026-12-17"), 15);
        assert_eq!(unknown.date, day("2027-01-01"));
        assert_eq!(unknown.unknown_year, Some(2027));
    }

    #[test]
    fn working_days_skip_holidays_and_count_adjusted_weekends() {
        let calendar = Calendar::shipped();
        // Revoked on Wednesday 30 September 2026: 8, 9 and 10 October (a worked Saturday).
        assert_eq!(
            calendar.add_working_days(day("2026-09-30"), 3),
            Ok(day("2026-10-10"))
        );
        assert_eq!(
            calendar.add_working_days(day("2026-12-28"), 20),
            Err(UnknownYear(2027))
        );
    }

    #[test]
    fn a_configured_year_extends_the_calendar_and_a_wrong_one_is_refused() {
        let extra: Calendar =
            toml::from_str("[years.2027]\nholidays = [\"2027-01-01\"]\nworkdays = []\n").unwrap();
        let calendar = Calendar::shipped().with(&extra);
        assert_eq!(calendar.is_working_day(day("2027-01-01")), Ok(false));
        let wrong = toml::from_str::<Calendar>("[years.2027]\nholidays = [\"2028-01-01\"]\n");
        let error = wrong
            .expect_err("a date outside its year is refused")
            .to_string();
        assert!(error.contains("2028-01-01 is not in 2027"), "{error}");
    }
}

//! The law's days are dates in China: a period ends, a case becomes final, a notice is dated and
//! a disclosure is published on China Standard Time's date (UTC+8, no summer time), whatever
//! the time zone of the server that runs spotcheck. Instants stay UTC in records and tables.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// China Standard Time.
pub const CHINA: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is an offset"), // evaluated when compiling
};

/// The date in China at `at`.
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&CHINA).date_naive()
}

/// Today's date in China.
pub fn today() -> NaiveDate {
    china_date(Utc::now())
}

/// A date as officials write it (`2026年3月28日`).
pub fn date_zh(date: NaiveDate) -> String {
    date.format("%Y年%-m月%-d日").to_string()
}

/// `at` as officials read it: China's date and time to the minute (`2026年3月28日 00:30`).
pub fn china_time_zh(at: DateTime<Utc>) -> String {
    at.with_timezone(&CHINA)
        .format("%Y年%-m月%-d日 %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_day_in_china_begins_eight_hours_before_the_utc_date() {
        let before = Utc.with_ymd_and_hms(2026, 3, 27, 15, 59, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 3, 27, 16, 0, 0).unwrap();
        assert_eq!(china_date(before).to_string(), "2026-03-27");
        assert_eq!(china_date(after).to_string(), "2026-03-28");
        assert_eq!(china_time_zh(after), "2026年3月28日 00:00");
    }
}

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

/// A count as officials write it in a document's text (`60` as 六十, `105` as 一百零五); from
/// 10,000 on in digits.
pub fn count_zh(n: u64) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    const UNITS: [&str; 4] = ["千", "百", "十", ""];
    if n >= 10_000 {
        return n.to_string();
    }
    let digits = [n / 1000, n / 100 % 10, n / 10 % 10, n % 10];
    let mut out = String::new();
    let mut gap = false;
    for (place, &digit) in digits.iter().enumerate() {
        if digit == 0 {
            gap = !out.is_empty();
            continue;
        }
        if gap {
            out.push('零');
            gap = false;
        }
        // 十五, not 一十五, when the tens lead.
        if !(place == 2 && digit == 1 && out.is_empty()) {
            out.push_str(DIGITS[digit as usize]);
        }
        out.push_str(UNITS[place]);
    }
    if out.is_empty() {
        "零".to_owned()
    } else {
        out
    }
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

    #[test]
    fn counts_are_written_in_chinese_numerals() {
        let said: Vec<String> = [0, 3, 10, 15, 60, 75, 100, 105, 110, 1005, 2026, 10_000]
            .into_iter()
            .map(count_zh)
            .collect();
        assert_eq!(
            said,
            [
                "零",
                "三",
                "十",
                "十五",
                "六十",
                "七十五",
                "一百",
                "一百零五",
                "一百一十",
                "一千零五",
                "二千零二十六",
                "10000"
            ]
        );
    }
}

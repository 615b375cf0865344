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

/// A date or a month as records write one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrittenDate {
    Day(NaiveDate),
    Month { year: i32, month: u32 },
}

/// A date or a month however labs, labels and ledgers write one: `2026-03-05`, `2026.3.5`,
/// `2026/03/05`, `2026年3月5日`, `二〇二六年三月五日`, `20260305`, a date-time's date; `2026-03`,
/// `2026年3月`. Years 1950–2099; anything else is none.
pub fn written_date(text: &str) -> Option<WrittenDate> {
    let text = text.trim();
    // A date-time keeps its date.
    let text = text.split([' ', 'T']).next().unwrap_or(text);
    let year = |part: &str| {
        (part.chars().count() == 4)
            .then(|| numeral(part))
            .flatten()
            .and_then(|year| i32::try_from(year).ok())
            .filter(|year| (1950..2100).contains(year))
    };
    if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        let date = NaiveDate::from_ymd_opt(
            year(&text[..4])?,
            numeral(&text[4..6])?,
            numeral(&text[6..])?,
        )?;
        return Some(WrittenDate::Day(date));
    }
    let parts: Vec<&str> = text
        .trim_end_matches(['日', '号', '月'])
        .split(['年', '月', '-', '/', '.', '—', '－', '／'])
        .collect();
    match parts.as_slice() {
        [y, m, d] => {
            NaiveDate::from_ymd_opt(year(y)?, numeral(m)?, numeral(d)?).map(WrittenDate::Day)
        }
        [y, m] => Some(WrittenDate::Month {
            year: year(y)?,
            month: numeral(m).filter(|m| (1..=12).contains(m))?,
        }),
        _ => None,
    }
}

/// A number of up to four digits, ASCII, full-width or Chinese (`〇一二`, `十二`, `三十一`).
fn numeral(text: &str) -> Option<u32> {
    let digit = |c: char| match c {
        '0'..='9' => c.to_digit(10),
        '０'..='９' => char::from_u32(u32::from(c) - 0xFEE0)?.to_digit(10),
        '〇' | '○' | '零' => Some(0),
        '一' => Some(1),
        '二' | '两' => Some(2),
        '三' => Some(3),
        '四' => Some(4),
        '五' => Some(5),
        '六' => Some(6),
        '七' => Some(7),
        '八' => Some(8),
        '九' => Some(9),
        _ => None,
    };
    let digits = |text: &str| -> Option<u32> {
        if text.is_empty() || text.chars().count() > 4 {
            return None;
        }
        text.chars().try_fold(0, |n, c| Some(n * 10 + digit(c)?))
    };
    match text.split_once('十') {
        // 十 = 10, 十二 = 12, 二十 = 20, 三十一 = 31.
        Some((tens, ones)) => {
            let tens = if tens.is_empty() { 1 } else { digits(tens)? };
            let ones = if ones.is_empty() { 0 } else { digits(ones)? };
            (tens < 10 && ones < 10).then_some(tens * 10 + ones)
        }
        None => digits(text),
    }
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

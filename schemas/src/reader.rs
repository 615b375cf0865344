//! A path-aware reader over a JSON object, used to turn untrusted input into typed records while
//! collecting every violation (not just the first, as serde would).
//!
//! Lenient where a clerk would expect it (surrounding whitespace trimmed, `null` and `""` mean
//! absent, numbers accepted where text is expected), strict where a typo would lose meaning
//! (unknown fields are reported).

use crate::error::Errors;
use crate::uscc::{Uscc, UsccError};
use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value};
use std::str::FromStr;

/// The years a date in a record may fall in: products in use can be decades old, and nothing
/// is dated past this century. `0000-01-01` or `20260-01-01` is a typing error, not a date.
pub const EARLIEST_YEAR: i32 = 1950;
pub const LATEST_YEAR: i32 = 2099;

/// Longest text accepted in any field, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// A date as records give one: `YYYY-MM-DD`, or a date-time as systems serialise one — with an
/// offset (`2026-04-19T16:30:00Z`), the date in China at that instant (2026-04-20), the day the
/// law counts; without (`2026-04-20 09:15:00`, `2026-04-20T09:15`), the date written, in
/// China's time as the records are.
fn date_of(text: &str) -> Option<NaiveDate> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date);
    }
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&crate::days::CHINA).date_naive());
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
    .map(|at| at.date())
}

/// A view of one JSON object at a path; absent objects yield absent fields.
pub struct Obj<'a> {
    map: Option<&'a Map<String, Value>>,
    path: String,
}

impl<'a> Obj<'a> {
    /// The top-level record; anything but an object is one error.
    pub fn root(value: &'a Value, errors: &mut Errors) -> Self {
        let map = value.as_object();
        if map.is_none() {
            errors.push("", "the record must be a JSON object");
        }
        Self {
            map,
            path: String::new(),
        }
    }

    fn from_map(map: Option<&'a Map<String, Value>>, path: String) -> Self {
        Self { map, path }
    }

    /// The JSON path of `key` inside this object.
    pub fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The raw value, `None` when absent or `null`.
    fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map?.get(key).filter(|v| !v.is_null())
    }

    /// Whether this object is in the record (an absent or `null` key gives an absent object).
    pub fn is_present(&self) -> bool {
        self.map.is_some()
    }

    /// A nested object; reports it when required and absent, or when not an object.
    pub fn object(&self, key: &str, required: bool, errors: &mut Errors) -> Obj<'a> {
        let path = self.path_of(key);
        match self.raw(key) {
            Some(Value::Object(map)) => Obj::from_map(Some(map), path),
            Some(_) => {
                errors.push(&path, "must be an object");
                Obj::from_map(None, path)
            }
            None => {
                if required && self.map.is_some() {
                    errors.push(&path, "is required");
                }
                Obj::from_map(None, path)
            }
        }
    }

    /// Optional text: trimmed, `""` is absent, numbers are taken as written.
    pub fn text(&self, key: &str, errors: &mut Errors) -> Option<String> {
        let text = match self.raw(key)? {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            _ => {
                errors.push(self.path_of(key), "must be a text");
                return None;
            }
        };
        if text.chars().count() > MAX_TEXT_CHARS {
            errors.push(
                self.path_of(key),
                format!("is too long: at most {MAX_TEXT_CHARS} characters"),
            );
            return None;
        }
        (!text.is_empty()).then_some(text)
    }

    /// Required text: reported when absent or empty.
    pub fn required_text(&self, key: &str, errors: &mut Errors) -> Option<String> {
        let raw = self.raw(key);
        let text = self.text(key, errors);
        if text.is_none() && self.map.is_some() {
            match raw {
                None => errors.push(self.path_of(key), "is required"),
                Some(Value::String(s)) if s.trim().is_empty() => {
                    errors.push(self.path_of(key), "must not be empty");
                }
                // A wrong type or length was reported by `text` already.
                Some(_) => {}
            }
        }
        text
    }

    /// Text that is required or optional as the caller says.
    fn text_as(&self, key: &str, required: bool, errors: &mut Errors) -> Option<String> {
        if required {
            self.required_text(key, errors)
        } else {
            self.text(key, errors)
        }
    }

    /// One value of a closed vocabulary, e.g. a category.
    pub fn choice<T: FromStr + Copy>(
        &self,
        key: &str,
        all: &[T],
        id: fn(T) -> &'static str,
        required: bool,
        errors: &mut Errors,
    ) -> Option<T> {
        let text = self.text_as(key, required, errors)?;
        let parsed = T::from_str(&text).ok();
        if parsed.is_none() {
            let allowed = crate::enums::allowed_values(all, id);
            errors.push(
                self.path_of(key),
                format!("'{text}' is not allowed: use one of {allowed}"),
            );
        }
        parsed
    }

    /// A calendar date written `YYYY-MM-DD`, in the years records can name.
    pub fn date(&self, key: &str, required: bool, errors: &mut Errors) -> Option<NaiveDate> {
        let text = self.text_as(key, required, errors)?;
        let date = date_of(&text);
        match date {
            None => errors.push(
                self.path_of(key),
                format!("'{text}' is not a date: write it as YYYY-MM-DD, e.g. 2026-04-02"),
            ),
            Some(date) if !(EARLIEST_YEAR..=LATEST_YEAR).contains(&date.year()) => {
                errors.push(
                    self.path_of(key),
                    format!(
                        "{date} is outside the years a record can name \
                         ({EARLIEST_YEAR}–{LATEST_YEAR}): check the year"
                    ),
                );
                return None;
            }
            Some(_) => {}
        }
        date
    }

    /// An optional unified social credit code, checked against GB 32100.
    pub fn uscc(&self, key: &str, required: bool, errors: &mut Errors) -> Option<Uscc> {
        let text = self.text_as(key, required, errors)?;
        match Uscc::parse(&text) {
            Ok(code) => Some(code),
            // A person's identity number is not repeated back (it is personal data).
            Err(why @ UsccError::IdentityCardNumber) => {
                errors.push(self.path_of(key), format!("the code given {why}"));
                None
            }
            Err(why) => {
                errors.push(
                    self.path_of(key),
                    format!("'{text}' is not a valid unified social credit code: {why}"),
                );
                None
            }
        }
    }

    /// A boolean; absent is `false`. The texts true/false/yes/no/1/0 are accepted too.
    pub fn flag(&self, key: &str, errors: &mut Errors) -> bool {
        match self.raw(key) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => true,
                "false" | "no" | "0" | "" => false,
                _ => {
                    errors.push(self.path_of(key), "must be true or false");
                    false
                }
            },
            Some(_) => {
                errors.push(self.path_of(key), "must be true or false");
                false
            }
        }
    }

    /// A number (integer or decimal); texts holding a number are accepted.
    pub fn number(&self, key: &str, required: bool, errors: &mut Errors) -> Option<f64> {
        let parsed = match self.raw(key) {
            None => {
                if required && self.map.is_some() {
                    errors.push(self.path_of(key), "is required");
                }
                return None;
            }
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(_) => None,
        };
        match parsed {
            Some(n) if n.is_finite() => Some(n),
            _ => {
                errors.push(self.path_of(key), "must be a number");
                None
            }
        }
    }

    /// A list of texts.
    pub fn text_list(&self, key: &str, errors: &mut Errors) -> Vec<String> {
        let Some(items) = self.array(key, errors) else {
            return Vec::new();
        };
        let mut texts = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match item {
                Value::String(s) if !s.trim().is_empty() => texts.push(s.trim().to_owned()),
                _ => errors.push(
                    format!("{}[{index}]", self.path_of(key)),
                    "must be a non-empty text",
                ),
            }
        }
        texts
    }

    /// An array, `None` when absent; reported when not an array.
    pub fn array(&self, key: &str, errors: &mut Errors) -> Option<&'a Vec<Value>> {
        match self.raw(key)? {
            Value::Array(items) => Some(items),
            _ => {
                errors.push(self.path_of(key), "must be a list");
                None
            }
        }
    }

    /// The objects of an array, each with its own path (`items[0]`, `items[1]`, ...).
    pub fn objects(&self, key: &str, errors: &mut Errors) -> Vec<Obj<'a>> {
        let Some(items) = self.array(key, errors) else {
            return Vec::new();
        };
        let base = self.path_of(key);
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let path = format!("{base}[{index}]");
                if !item.is_object() {
                    errors.push(&path, "must be an object");
                }
                Obj::from_map(item.as_object(), path)
            })
            .collect()
    }

    /// Reports every field of this object that is not in `known` (typos lose meaning silently).
    pub fn reject_unknown(&self, known: &[&str], errors: &mut Errors) {
        let Some(map) = self.map else { return };
        for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
            errors.push(
                self.path_of(key),
                format!("is not a known field; expected one of {}", known.join(", ")),
            );
        }
    }
}

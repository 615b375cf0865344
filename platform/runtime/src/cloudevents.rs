//! CloudEvents 1.0 in Kafka binary mode: the event's attributes travel as `ce_*` headers, the
//! record value is the JSON data itself (`content-type: application/json`).

use chrono::{DateTime, SecondsFormat, Utc};
use rdkafka::message::{Header, Headers, OwnedHeaders};

pub const SPEC_VERSION: &str = "1.0";
pub const JSON: &str = "application/json";

/// The attributes of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudEvent {
    /// Stable per logical record: a redelivered or re-posted record keeps its id.
    pub id: String,
    /// e.g. `cn.spotcheck.result.v1`.
    pub event_type: &'static str,
    /// The producing component, e.g. `/spotcheck/ingest`.
    pub source: String,
    pub time: DateTime<Utc>,
}

impl CloudEvent {
    pub fn new(id: String, event_type: &'static str, source: String) -> Self {
        Self {
            id,
            event_type,
            source,
            time: Utc::now(),
        }
    }

    /// The Kafka headers of this event.
    pub fn headers(&self) -> OwnedHeaders {
        let time = self.time.to_rfc3339_opts(SecondsFormat::Millis, true);
        OwnedHeaders::new_with_capacity(6)
            .insert(header("ce_id", &self.id))
            .insert(header("ce_type", self.event_type))
            .insert(header("ce_source", &self.source))
            .insert(header("ce_specversion", SPEC_VERSION))
            .insert(header("ce_time", &time))
            .insert(header("content-type", JSON))
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

/// The value of the first header named `name`, as text.
pub fn header_text<H: Headers>(headers: &H, name: &str) -> Option<String> {
    headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Attributes every record on a spotcheck topic must carry (docs/contract.md §5).
pub const REQUIRED_ATTRIBUTES: [&str; 4] = ["ce_id", "ce_type", "ce_source", "ce_specversion"];

/// Why a record is not a CloudEvent spotcheck can process, given a header lookup; `None` when it
/// is one. Records without these attributes come from a foreign producer writing straight onto
/// the topic: without `ce_id` nothing downstream could tell a redelivery from a new record.
pub fn envelope_problem(header: impl Fn(&str) -> Option<String>) -> Option<String> {
    let missing: Vec<&str> = REQUIRED_ATTRIBUTES
        .into_iter()
        .filter(|name| header(name).is_none_or(|value| value.trim().is_empty()))
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "not a CloudEvent: missing header(s) {}",
            missing.join(", ")
        ));
    }
    match header("ce_specversion") {
        Some(version) if version == SPEC_VERSION => None,
        version => Some(format!(
            "unsupported CloudEvents version {version:?}; expected {SPEC_VERSION}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn a_record_with_our_headers_is_accepted_and_missing_ones_are_named() {
        let event = CloudEvent::new("r-1".into(), "cn.spotcheck.result.v1", "/t".into());
        let ours: Vec<(String, String)> = event
            .headers()
            .iter()
            .map(|h| {
                let value = String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned();
                (h.key.to_owned(), value)
            })
            .collect();
        let ours: Vec<(&str, &str)> = ours.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(envelope_problem(lookup(&ours)), None);

        let reason = envelope_problem(lookup(&[("ce_id", "x"), ("ce_type", " ")])).unwrap();
        assert_eq!(
            reason,
            "not a CloudEvent: missing header(s) ce_type, ce_source, ce_specversion"
        );
        let old = [
            ("ce_id", "x"),
            ("ce_type", "t"),
            ("ce_source", "s"),
            ("ce_specversion", "0.3"),
        ];
        assert!(envelope_problem(lookup(&old)).unwrap().contains("\"0.3\""));
    }
}

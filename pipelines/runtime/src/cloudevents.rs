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

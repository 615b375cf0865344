//! Ingest's own metric families (names in `spotcheck_runtime::metrics::names`).

use prometheus::{HistogramVec, IntCounterVec, Registry};
use spotcheck_runtime::metrics::{counter, histogram, names};

#[derive(Clone)]
pub struct IngestMetrics {
    records: IntCounterVec,
    pub requests: IntCounterVec,
    pub request_duration: HistogramVec,
}

impl IngestMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        Ok(Self {
            records: counter(
                registry,
                names::INGEST_RECORDS,
                "Posted records by kind and outcome",
                &["kind", "outcome"],
            )?,
            requests: counter(
                registry,
                names::HTTP_REQUESTS,
                "HTTP requests by route and status",
                &["route", "status"],
            )?,
            request_duration: histogram(
                registry,
                names::HTTP_REQUEST_DURATION,
                "HTTP request latency",
                &["route"],
            )?,
        })
    }

    /// Counts a request's outcomes, one increment per outcome kind (not per record).
    pub fn count_outcomes<'a>(&self, kind: &str, outcomes: impl Iterator<Item = &'a str>) {
        let mut counts: std::collections::BTreeMap<&str, u64> = Default::default();
        for outcome in outcomes {
            *counts.entry(outcome).or_default() += 1;
        }
        for (outcome, count) in counts {
            self.records
                .with_label_values(&[kind, outcome])
                .inc_by(count);
        }
    }
}

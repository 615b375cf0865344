//! Dead letters: records no stage could process go to `spotcheck.dlq.v1` with their original
//! key, value and headers, plus the reason and where they came from.

use crate::cloudevents::CloudEvent;
use crate::metrics::Metrics;
use crate::publisher::{PublishError, Publisher};
use crate::retry::{Attempts, ConstantBuilder, Retryable, UntilShutdown};
use crate::stage::{Applied, Delivered};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use spotcheck_schemas::topics;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Header of a dead letter that says why no stage could process it.
pub const DLQ_REASON_HEADER: &str = "dlq_reason";

/// Publishes every dead letter, retrying while the broker is unavailable; false if shutdown
/// stopped the retries (the batch is then redelivered).
pub(crate) async fn send_dead_letters(
    stage: &'static str,
    batch: &[Delivered],
    applied: &Applied,
    publisher: &Publisher,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> bool {
    for (index, reason) in &applied.dead_letters {
        let Some(record) = batch.get(*index) else {
            continue;
        };
        tracing::warn!(stage, topic = %record.topic, offset = record.offset, %reason, "dead letter");
        let key = record.key.as_deref().unwrap_or_default();
        let attempts = Attempts::new(shutdown);
        let attempt = || async {
            if !attempts.may_run() {
                return Err(PublishError::Unavailable("shutting down".into()));
            }
            let headers = dead_letter_headers(stage, record, reason);
            match publisher
                .publish_with_headers(topics::DLQ, key, &record.payload, headers)
                .await
            {
                // Even the dead-letter topic refuses it (e.g. too large): keep the reason only.
                Err(PublishError::Refused(why)) => {
                    let headers = dead_letter_headers(stage, record, &format!("{reason}; {why}"));
                    publisher
                        .publish_with_headers(topics::DLQ, key, b"", headers)
                        .await
                }
                sent => sent,
            }
        };
        let sent = attempt
            .retry(
                ConstantBuilder::new()
                    .with_delay(Duration::from_millis(500))
                    .without_max_times(),
            )
            .sleep(UntilShutdown(shutdown.clone()))
            .when(|_| !shutdown.is_cancelled())
            .await;
        if sent.is_err() {
            return false;
        }
        metrics
            .dead_letters
            .with_label_values(&[stage, &record.topic])
            .inc();
    }
    true
}

/// The original headers, plus the reason and where the record came from; CloudEvents headers
/// are added when the original lacked them.
fn dead_letter_headers(stage: &str, record: &Delivered, reason: &str) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new();
    for (key, value) in &record.headers {
        headers = headers.insert(Header {
            key,
            value: value.as_deref(),
        });
    }
    if record.header("ce_id").is_none() {
        let id = format!("{}-{}-{}", record.topic, record.partition, record.offset);
        let event = CloudEvent::new(
            id,
            spotcheck_schemas::topics::event_types::DEAD_LETTER,
            format!("/spotcheck/{stage}"),
        );
        for header in event.headers().iter() {
            headers = headers.insert(header);
        }
    }
    let origin = [
        (DLQ_REASON_HEADER, reason.to_owned()),
        ("dlq_stage", stage.to_owned()),
        ("dlq_topic", record.topic.clone()),
        ("dlq_partition", record.partition.to_string()),
        ("dlq_offset", record.offset.to_string()),
    ];
    for (key, value) in &origin {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_str()),
        });
    }
    headers
}

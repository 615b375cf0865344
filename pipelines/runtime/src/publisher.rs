//! The producer every component writes with.
//!
//! Guarantee: [`Publisher::publish`] returns `Ok` only after the broker acknowledged the record
//! with `acks=all` (every in-sync replica has it). The producer is idempotent, so librdkafka's
//! own retries never duplicate a record within a session; duplicates across sessions (a caller
//! retrying after a crash) are absorbed downstream by the record's stable `ce_id`.
//! Limit: an `Err` does not prove the broker lacks the record (a timeout can race an ack); callers
//! answer "unavailable, retry", which is safe because re-sends are idempotent downstream.

use crate::cloudevents::CloudEvent;
use crate::kafka::KafkaSettings;
use crate::metrics::Metrics;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use std::time::{Duration, Instant};

/// Where an acknowledged record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum PublishError {
    /// The broker could not be reached or did not acknowledge in time: retry later.
    #[error("the broker is unavailable: {0}")]
    Unavailable(String),
    /// The broker refused this record (e.g. too large): retrying will not help.
    #[error("the broker refused the record: {0}")]
    Refused(String),
}

impl PublishError {
    fn classify(error: &KafkaError) -> Self {
        let refused = matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::MessageSizeTooLarge
                    | RDKafkaErrorCode::InvalidRecord
                    | RDKafkaErrorCode::InvalidMessage
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::UnknownTopicOrPartition
            )
        );
        if refused {
            Self::Refused(error.to_string())
        } else {
            Self::Unavailable(error.to_string())
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "unavailable",
            Self::Refused(_) => "refused",
        }
    }
}

/// An idempotent `acks=all` producer that reports each record's fate.
#[derive(Clone)]
pub struct Publisher {
    producer: FutureProducer,
    delivery_timeout: Duration,
    metrics: Metrics,
}

impl Publisher {
    pub fn new(kafka: &KafkaSettings, metrics: Metrics) -> Result<Self, KafkaError> {
        // Zero series from the start, so dashboards show 0 rather than "no data".
        for topic in crate::catalogue::CATALOGUE {
            metrics.records_produced.with_label_values(&[topic.name]);
            for kind in ["unavailable", "refused"] {
                metrics
                    .produce_failures
                    .with_label_values(&[topic.name, kind]);
            }
        }
        let timeout_ms = kafka.delivery_timeout.as_millis().to_string();
        let producer = kafka
            .client_config()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", "lz4")
            // A short linger batches concurrent requests without hurting single-POST latency.
            .set("linger.ms", "2")
            .set("batch.num.messages", "10000")
            .set("queue.buffering.max.messages", "500000")
            .set("message.max.bytes", "16777216")
            .set("message.timeout.ms", &timeout_ms)
            .create()?;
        Ok(Self {
            producer,
            delivery_timeout: kafka.delivery_timeout,
            metrics,
        })
    }

    /// Sends one record and waits for the broker's acknowledgement.
    pub async fn publish(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        event: &CloudEvent,
    ) -> Result<Position, PublishError> {
        self.publish_with_headers(topic, key, payload, event.headers())
            .await
    }

    /// Sends one record with headers built by the caller (e.g. a dead letter's).
    pub async fn publish_with_headers(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<Position, PublishError> {
        let started = Instant::now();
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(headers);
        let outcome = self
            .producer
            .send(record, Timeout::After(self.delivery_timeout))
            .await;
        match outcome {
            Ok(delivery) => {
                self.metrics
                    .records_produced
                    .with_label_values(&[topic])
                    .inc();
                self.metrics
                    .produce_duration
                    .with_label_values(&[topic])
                    .observe(started.elapsed().as_secs_f64());
                Ok(Position {
                    partition: delivery.partition,
                    offset: delivery.offset,
                })
            }
            Err((error, _message)) => {
                let error = PublishError::classify(&error);
                self.metrics
                    .produce_failures
                    .with_label_values(&[topic, error.kind()])
                    .inc();
                Err(error)
            }
        }
    }

    /// Waits for everything in flight to be acknowledged (at shutdown).
    pub fn flush(&self, timeout: Duration) {
        if let Err(error) = self.producer.flush(Timeout::After(timeout)) {
            tracing::warn!(%error, "records still unacknowledged at shutdown");
        }
    }

    /// True when the brokers answer a metadata request within `timeout`.
    pub fn broker_reachable(&self, timeout: Duration) -> bool {
        self.producer
            .client()
            .fetch_metadata(None, Timeout::After(timeout))
            .is_ok_and(|metadata| !metadata.brokers().is_empty())
    }
}

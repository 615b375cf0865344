//! The producer every component writes with.
//!
//! Guarantee: [`Publisher::publish`] returns `Ok` only after the broker acknowledged the record
//! with `acks=all` (every in-sync replica has it). The producer is idempotent, so librdkafka's
//! own retries never duplicate a record within a session; duplicates across sessions (a caller
//! retrying after a crash) are absorbed downstream by the record's stable `ce_id`.
//!
//! librdkafka never gives up on a record (`message.timeout.ms` infinite): a record it timed out
//! while a request carrying it was in flight makes the idempotent producer bump its epoch, and
//! Tansu 0.6's storage panics on the next produce after such a bump (docs/broker.md, "Tansu's limits").
//! Callers wait at most the delivery timeout instead ([`Publisher::publish`]), or keep the
//! [`Delivery`] and learn the record's fate whenever it comes ([`Publisher::enqueue`]).
//! Limit: an `Err` after the wait does not prove the broker lacks the record — it is still queued
//! and is delivered when the broker answers; callers answer "unavailable, retry", which is safe
//! because re-sends are idempotent downstream.
//!
//! When librdkafka reports every broker down, new records fail at once instead of waiting out the
//! delivery timeout, so ingest answers `503` throughout an outage — but only while no bootstrap
//! broker even accepts a TCP connection (one probe every two seconds). A broker that is merely
//! slow (busy, starved of CPU) accepts connections and gets the full delivery timeout: taking it
//! for a dead one turned a slow load into refusals (measured on Tansu, docs/broker.md).
//!
//! A producer that can no longer deliver is replaced by a new one (a new producer id), so that a
//! component never needs a restart to write again: after librdkafka's *fatal* idempotence errors
//! (e.g. a sequence desynchronisation after a broker lost acknowledged records), and after
//! librdkafka bumped the producer's epoch on its own (an out-of-order or unknown-producer answer),
//! which Apache Kafka accepts but Tansu 0.6 does not: it panics on every request of that producer
//! (docs/broker.md, "Tansu's limits"). The old producer's records fail as `Unavailable`; their callers
//! already treat that as "retry", and re-sends are idempotent downstream.

use crate::cloudevents::CloudEvent;
use crate::kafka::KafkaSettings;
use crate::metrics::Metrics;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Message, OwnedHeaders};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig,
};
use rdkafka::statistics::Statistics;
use rdkafka::util::Timeout;
use rdkafka::{ClientConfig, ClientContext};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long the producer's poll thread waits for an event (an acknowledgement wakes it at once).
/// librdkafka's Rust binding rounds each wait down to whole milliseconds and then polls without
/// waiting until its deadline passes, a busy spin of up to a millisecond per wait: at the
/// binding's own 100 ms that was 1% of a core in an idle `spotcheck up`; at one second, 0.1%.
/// The wait bounds only how long a replaced producer's thread lives on (it is not joined).
const POLL_WAIT: Duration = Duration::from_secs(1);

/// How long one probe of a broker believed down may take, and how long its "still down" holds.
/// Generous enough that a broker slowed by load is not taken for a dead one.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

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
    /// The producer in use; replaced when it can no longer deliver (see the module's comment).
    producer: Arc<RwLock<Arc<Live>>>,
    /// How the producer is built, for a replacement.
    config: Arc<ClientConfig>,
    delivery_timeout: Duration,
    metrics: Metrics,
    /// Set by librdkafka's "all brokers are down", cleared by a probe that reaches one.
    broker_down: Arc<AtomicBool>,
    /// The settings it was built with (the bootstrap list for the probe; outboxes read the topic
    /// back with them). Shared: every [`Delivery`] holds a clone of its publisher, and a clone
    /// must not allocate per record.
    kafka: Arc<KafkaSettings>,
    /// When the last probe found the broker still down; one probe at a time.
    last_failed_probe: Arc<tokio::sync::Mutex<Option<Instant>>>,
    /// Counts acknowledged records, so consumers of this process resting while idle wake the
    /// moment a record they may want is on the broker (see [`crate::driver::Rest`]).
    written: Arc<tokio::sync::watch::Sender<u64>>,
}

/// True when any bootstrap broker accepts a TCP connection within the probe timeout.
fn accepts_connections(bootstrap: &str) -> bool {
    use std::net::{TcpStream, ToSocketAddrs};
    bootstrap
        .split(',')
        .filter_map(|address| address.trim().to_socket_addrs().ok())
        .flatten()
        .any(|address| TcpStream::connect_timeout(&address, PROBE_TIMEOUT).is_ok())
}

/// Why a producer was replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wedge {
    /// librdkafka raised a fatal error: the producer delivers nothing more.
    Fatal = 1,
    /// librdkafka bumped the producer's epoch itself; Tansu 0.6 fails every request after that.
    EpochBump = 2,
}

impl Wedge {
    fn from_u8(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::Fatal),
            2 => Some(Self::EpochBump),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Fatal => "fatal_error",
            Self::EpochBump => "epoch_bump",
        }
    }
}

/// True when librdkafka's statistics show an epoch the broker did not assign: brokers give an
/// idempotent producer a new id at epoch 0 (Apache Kafka's `InitProducerId` without a
/// transactional id, Tansu's `producer_epoch_insert`), so a higher epoch is librdkafka's own bump.
/// Read from the value, not from a change: the bump can come before the first report.
fn bumped_locally(producer_id: i64, epoch: i64) -> bool {
    producer_id >= 0 && epoch > 0
}

/// Notices librdkafka's "all brokers are down" and failed connections, and whether this
/// producer can still deliver.
struct BrokerWatch {
    down: Arc<AtomicBool>,
    /// 0 while the producer works, else a [`Wedge`]; shared with [`Live`].
    wedged: Arc<AtomicU8>,
}

/// Records why a producer can no longer deliver (the first reason stands).
fn mark_wedged(flag: &AtomicU8, why: Wedge) {
    flag.compare_exchange(0, why as u8, Ordering::Relaxed, Ordering::Relaxed)
        .ok();
}

/// What the broker answered for one record: where it landed, or why not.
type Ack = Result<Position, KafkaError>;

/// A producer and whether it can still deliver. Its own thread polls librdkafka for
/// acknowledgements (what rdkafka's `FutureProducer` does, with a longer wait: [`POLL_WAIT`]).
struct Live {
    producer: Arc<BaseProducer<BrokerWatch>>,
    wedged: Arc<AtomicU8>,
    /// Tells the poll thread to end; set when this producer is dropped (replaced, or at exit).
    stop: Arc<AtomicBool>,
}

impl Live {
    fn create(config: &ClientConfig, down: Arc<AtomicBool>) -> Result<Self, KafkaError> {
        let wedged = Arc::new(AtomicU8::new(0));
        let producer: Arc<BaseProducer<BrokerWatch>> =
            Arc::new(config.create_with_context(BrokerWatch {
                down,
                wedged: wedged.clone(),
            })?);
        let stop = Arc::new(AtomicBool::new(false));
        let (polled, stopped) = (producer.clone(), stop.clone());
        std::thread::Builder::new()
            .name("producer-poll".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    polled.poll(POLL_WAIT);
                }
            })
            .map_err(|error| {
                KafkaError::ClientCreation(format!("cannot start the poll thread: {error}"))
            })?;
        Ok(Self {
            producer,
            wedged,
            stop,
        })
    }

    fn wedged(&self) -> Option<Wedge> {
        Wedge::from_u8(self.wedged.load(Ordering::Relaxed))
    }

    /// Marks the producer failed for good when librdkafka is in its fatal state. Asked after a
    /// record failed, not per record: a fatal error always fails the records it leaves behind
    /// (the client context hears only the underlying error code, not that it was fatal).
    fn check_fatal(&self) {
        if self.wedged().is_none() && self.producer.client().fatal_error().is_some() {
            mark_wedged(&self.wedged, Wedge::Fatal);
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // Not joined: the thread ends within one wait and drops the last handle of the producer,
        // which then fails whatever it still holds (the callers treat that as "retry").
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl ProducerContext for BrokerWatch {
    type DeliveryOpaque = Box<tokio::sync::oneshot::Sender<Ack>>;

    fn delivery(&self, result: &DeliveryResult<'_>, reply: Self::DeliveryOpaque) {
        let ack = match result {
            Ok(message) => Ok(Position {
                partition: message.partition(),
                offset: message.offset(),
            }),
            Err((error, _message)) => Err(error.clone()),
        };
        // The caller may have stopped waiting (its own timeout); the record's fate is then
        // known to the broker alone, as the module's comment says.
        let _ = reply.send(ack);
    }
}

impl ClientContext for BrokerWatch {
    fn error(&self, error: KafkaError, reason: &str) {
        // "All brokers down" is not always reported (a bootstrap entry never connected does not
        // count as down), so a failed connection raises the flag too; the next request's probe
        // clears it at once if a broker still accepts connections.
        if matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure)
        ) {
            self.down.store(true, Ordering::Relaxed);
        }
        tracing::warn!(%error, reason, "Kafka client error");
    }

    fn stats(&self, statistics: Statistics) {
        let Some(eos) = statistics.eos else {
            return;
        };
        if bumped_locally(eos.producer_id, eos.producer_epoch)
            && self.wedged.load(Ordering::Relaxed) == 0
        {
            tracing::warn!(
                producer_id = eos.producer_id,
                epoch = eos.producer_epoch,
                "librdkafka bumped the producer's epoch itself"
            );
            mark_wedged(&self.wedged, Wedge::EpochBump);
        }
    }
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
        let mut config = kafka.client_config();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", "lz4")
            // No linger: a single record goes at once; under load, the records that arrive while
            // requests are in flight are batched anyway (BENCHMARKS.md, "No linger in ingest's
            // producer").
            .set("linger.ms", "0")
            .set("batch.num.messages", "10000")
            .set("queue.buffering.max.messages", "500000")
            .set("message.max.bytes", "16777216")
            // Never time a record out (see the module's comment); callers bound their own wait.
            .set("message.timeout.ms", "0")
            // The producer id and epoch, to notice librdkafka's own epoch bump.
            .set("statistics.interval.ms", "1000");
        for why in [Wedge::Fatal, Wedge::EpochBump] {
            metrics
                .producer_replacements
                .with_label_values(&[why.label()]);
        }
        Self::with(
            Arc::new(config),
            Arc::new(kafka.clone()),
            metrics,
            Arc::new(tokio::sync::watch::Sender::new(0)),
        )
    }

    /// A publisher with a producer of its own, built from `config`.
    fn with(
        config: Arc<ClientConfig>,
        kafka: Arc<KafkaSettings>,
        metrics: Metrics,
        written: Arc<tokio::sync::watch::Sender<u64>>,
    ) -> Result<Self, KafkaError> {
        let broker_down = Arc::new(AtomicBool::new(false));
        let producer = Live::create(&config, broker_down.clone())?;
        Ok(Self {
            producer: Arc::new(RwLock::new(Arc::new(producer))),
            delivery_timeout: kafka.delivery_timeout,
            config,
            broker_down,
            kafka,
            metrics,
            last_failed_probe: Arc::default(),
            written,
        })
    }

    /// A second producer, with its own connection to the broker and its own queue, sharing this
    /// one's settings, metrics and write signal (a consumer resting in this process wakes on
    /// either's records). `spotcheck up` gives the stages one: a lab's record then never waits
    /// behind a stage's batch of cases or disclosures on the same connection (single-POST p99
    /// in a debug build: 22–24 ms shared, 14–16 ms with a producer of their own).
    pub fn another(&self) -> Result<Self, KafkaError> {
        Self::with(
            self.config.clone(),
            self.kafka.clone(),
            self.metrics.clone(),
            self.written.clone(),
        )
    }

    /// The settings this publisher was built with.
    pub fn settings(&self) -> &KafkaSettings {
        &self.kafka
    }

    /// The producer in use, whatever its state.
    fn current(&self) -> Arc<Live> {
        self.producer
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The producer to send with: the current one, or a new one in its place when it can no
    /// longer deliver (its queued records then fail as `Unavailable`).
    fn producer(&self) -> Arc<Live> {
        let current = self.current();
        let Some(why) = current.wedged() else {
            return current;
        };
        let mut slot = self
            .producer
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !Arc::ptr_eq(&slot, &current) {
            return slot.clone();
        }
        match Live::create(&self.config, self.broker_down.clone()) {
            Ok(fresh) => {
                current
                    .producer
                    .purge(PurgeConfig::default().queue().inflight());
                *slot = Arc::new(fresh);
                self.metrics
                    .producer_replacements
                    .with_label_values(&[why.label()])
                    .inc();
                tracing::warn!(
                    reason = why.label(),
                    "the producer could no longer deliver; a new one (new producer id) replaces it"
                );
                slot.clone()
            }
            Err(error) => {
                tracing::error!(%error, "cannot create a producer to replace a failed one");
                current
            }
        }
    }

    /// Changes each time the broker acknowledges a record of this publisher.
    pub fn written(&self) -> tokio::sync::watch::Receiver<u64> {
        self.written.subscribe()
    }

    /// False while the broker is known to be down: librdkafka said so and a probe (at most one
    /// every `PROBE_TIMEOUT`, shared by all callers) still finds no broker accepting connections.
    async fn broker_up(&self) -> bool {
        let down = &self.broker_down;
        if !down.load(Ordering::Relaxed) {
            return true;
        }
        let mut last_failed = self.last_failed_probe.lock().await;
        if !down.load(Ordering::Relaxed) {
            return true;
        }
        if last_failed.is_some_and(|at| at.elapsed() < PROBE_TIMEOUT) {
            return false;
        }
        let kafka = self.kafka.clone();
        let reachable = tokio::task::spawn_blocking(move || accepts_connections(&kafka.brokers))
            .await
            .unwrap_or(false);
        if reachable {
            down.store(false, Ordering::Relaxed);
            *last_failed = None;
            tracing::info!("the broker is reachable again");
        } else {
            *last_failed = Some(Instant::now());
        }
        reachable
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

    /// Sends one record with headers built by the caller (e.g. a dead letter's), and waits for
    /// its acknowledgement at most the delivery timeout.
    pub async fn publish_with_headers(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<Position, PublishError> {
        let delivery = self.enqueue(topic, key, payload, headers).await?;
        match tokio::time::timeout(self.delivery_timeout, delivery.acknowledged()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(self.failed(
                topic,
                PublishError::Unavailable(format!(
                    "not acknowledged within {:?}; still queued",
                    self.delivery_timeout
                )),
            )),
        }
    }

    /// How long [`Publisher::publish`] waits for an acknowledgement.
    pub fn delivery_timeout(&self) -> Duration {
        self.delivery_timeout
    }

    /// True while the broker is known to be down (no probe has reached it since librdkafka said
    /// so): records handed over now would not be acknowledged soon.
    pub fn believed_down(&self) -> bool {
        self.broker_down.load(Ordering::Relaxed)
    }

    /// Hands one record to the producer without waiting for the broker. `Err` when it is not
    /// even queued (the broker is known to be down, the queue is full, the record is refused).
    pub async fn enqueue(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<Delivery, PublishError> {
        if !self.broker_up().await {
            return Err(self.failed(
                topic,
                PublishError::Unavailable("all brokers are down".into()),
            ));
        }
        let (reply, ack) = tokio::sync::oneshot::channel();
        let record = BaseRecord::with_opaque_to(topic, Box::new(reply))
            .key(key)
            .payload(payload)
            .headers(headers);
        match self.producer().producer.send(record) {
            Ok(()) => Ok(Delivery {
                ack,
                topic: topic.to_owned(),
                started: Instant::now(),
                publisher: self.clone(),
            }),
            Err((error, _record)) => Err(self.failed(topic, PublishError::classify(&error))),
        }
    }

    fn failed(&self, topic: &str, error: PublishError) -> PublishError {
        // The next record then goes by a new producer if this one failed for good.
        self.current().check_fatal();
        self.metrics
            .produce_failures
            .with_label_values(&[topic, error.kind()])
            .inc();
        error
    }

    fn acknowledged(&self, topic: &str, started: Instant) {
        // An acknowledgement proves the broker is back, whatever the probes said.
        self.broker_down.store(false, Ordering::Relaxed);
        self.written
            .send_modify(|count| *count = count.wrapping_add(1));
        self.metrics
            .records_produced
            .with_label_values(&[topic])
            .inc();
        self.metrics
            .produce_duration
            .with_label_values(&[topic])
            .observe(started.elapsed().as_secs_f64());
    }

    /// Waits for everything in flight to be acknowledged (at shutdown).
    pub fn flush(&self, timeout: Duration) {
        if let Err(error) = self.producer().producer.flush(Timeout::After(timeout)) {
            tracing::warn!(%error, "records still unacknowledged at shutdown");
        }
    }

    /// True when the brokers answer a metadata request within `timeout`.
    pub fn broker_reachable(&self, timeout: Duration) -> bool {
        self.producer()
            .producer
            .client()
            .fetch_metadata(None, Timeout::After(timeout))
            .is_ok_and(|metadata| !metadata.brokers().is_empty())
    }
}

/// A record handed to the producer, whose fate is not known yet.
pub struct Delivery {
    ack: tokio::sync::oneshot::Receiver<Ack>,
    topic: String,
    started: Instant,
    publisher: Publisher,
}

impl Delivery {
    /// Waits for the broker's answer, however long it takes (librdkafka retries until then).
    /// `Unavailable` only when the producer is closed with the record unsent (shutdown).
    pub async fn acknowledged(self) -> Result<Position, PublishError> {
        let Self {
            ack,
            topic,
            started,
            publisher,
        } = self;
        match ack.await {
            Ok(Ok(position)) => {
                publisher.acknowledged(&topic, started);
                Ok(position)
            }
            Ok(Err(error)) => Err(publisher.failed(&topic, PublishError::classify(&error))),
            Err(_canceled) => Err(publisher.failed(
                &topic,
                PublishError::Unavailable("the producer closed before the broker answered".into()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bumped_locally;

    #[test]
    fn an_epoch_above_the_brokers_zero_is_a_local_bump() {
        assert!(!bumped_locally(-1, -1), "no producer id yet");
        assert!(!bumped_locally(7, 0), "as the broker assigned it");
        assert!(bumped_locally(7, 1), "bumped by librdkafka");
    }
}

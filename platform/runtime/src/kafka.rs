//! Client settings shared by producers, consumers and the admin client.

use rdkafka::ClientConfig;
use std::time::Duration;

/// How to reach the brokers and how long to wait for them.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `host:port,...` bootstrap list.
    pub brokers: String,
    /// Identifies this process in broker logs and `ce_source`.
    pub client_id: String,
    /// How long a caller waits for the broker's acknowledgement of a record before it is told the
    /// broker is unavailable. The record stays queued and is delivered when the broker answers.
    pub delivery_timeout: Duration,
    /// Extra librdkafka properties (`security.protocol`, `sasl.*`, ...), applied over the base
    /// settings here. What a client's guarantees rest on (the producer's idempotence and
    /// `acks=all`, a consumer's offset handling) is set after them and cannot be overridden.
    pub extra: Vec<(String, String)>,
}

impl KafkaSettings {
    pub fn new(brokers: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            client_id: client_id.into(),
            delivery_timeout: Duration::from_secs(5),
            extra: Vec::new(),
        }
    }

    /// The base configuration every client starts from.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            // Java's partitioner, so that any Kafka client co-partitions results and shipments
            // with us by batch key.
            .set("partitioner", "murmur2_random")
            // librdkafka leaves Nagle's algorithm on: a produce request sent while the previous
            // one is unacknowledged then waits for the broker's (delayed) ACK instead of being
            // pipelined behind it.
            .set("socket.nagle.disable", "true")
            .set("log_level", "3");
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        config
    }
}

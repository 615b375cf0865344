//! Kafka plumbing shared by every spotcheck component.
//!
//! - [`catalogue`]: the topics of docs/contract.md §5 with partition counts and configs, created
//!   at start-up;
//! - [`publisher`]: an idempotent, `acks=all` producer that returns only once the broker has the record;
//! - [`cloudevents`]: the CloudEvents binary-mode headers every record carries;
//! - [`driver`]: runs a [`driver::Stage`] over a consumer group, storing an offset only after the
//!   stage's side effect is durable, and sending undecodable records to the dead-letter topic;
//! - [`outbox`]: sending a stage's outbox and, after a crash, finding what already reached the topic;
//! - [`replay`]: reading a topic back to where it ends now;
//! - [`state_file`]: the redb files of components' state, their commits paced to the disk;
//! - [`retry`]: back-off (backon) with a wait that ends at shutdown;
//! - [`metrics`]: metric names (one list) and the families components register in an injected registry.

pub mod burst;
pub mod catalogue;
pub mod cloudevents;
pub mod context;
pub mod dead_letter;
pub mod driver;
pub mod gate;
pub mod health;
pub mod kafka;
pub mod metrics;
pub mod outbox;
pub mod publisher;
pub mod replay;
pub mod retry;
pub mod roster;
pub mod sharing;
pub mod stage;
pub mod state_file;

pub use catalogue::{TopicSettings, ensure_topics};
pub use cloudevents::CloudEvent;
pub use context::PartitionId;
pub use driver::{
    Applied, Commit, Delivered, DriverSettings, Membership, Stage, StageError, run_stage,
};
pub use health::Health;
pub use kafka::KafkaSettings;
pub use metrics::Metrics;
pub use publisher::{Delivery, Position, PublishError, Publisher};

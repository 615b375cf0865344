//! The topic catalogue of docs/contract.md §5, created at start-up.
//!
//! Results and shipments have the same partition count and both use the batch key, so one
//! consumer instance sees every record of a batch (co-partitioning).

use crate::kafka::KafkaSettings;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use spotcheck_schemas::topics;
use std::time::Duration;

/// One topic's shape.
#[derive(Debug, Clone, Copy)]
pub struct TopicSpec {
    pub name: &'static str,
    pub partitions: i32,
    /// Compacted topics keep the newest record per key (entities: units, cases).
    pub compacted: bool,
}

/// The partition count of a topic of the catalogue.
pub fn partitions(name: &str) -> Option<i32> {
    CATALOGUE
        .iter()
        .find(|topic| topic.name == name)
        .map(|topic| topic.partitions)
}

/// Every topic spotcheck uses.
pub const CATALOGUE: &[TopicSpec] = &[
    TopicSpec {
        name: topics::RESULTS,
        partitions: 12,
        compacted: false,
    },
    TopicSpec {
        name: topics::SHIPMENTS,
        partitions: 12,
        compacted: false,
    },
    TopicSpec {
        name: topics::UNITS,
        partitions: 6,
        compacted: true,
    },
    TopicSpec {
        name: topics::DISPOSITIONS,
        partitions: 12,
        compacted: false,
    },
    TopicSpec {
        name: topics::INSPECTIONS,
        partitions: 6,
        compacted: false,
    },
    TopicSpec {
        name: topics::CASES,
        partitions: 12,
        compacted: true,
    },
    TopicSpec {
        name: topics::CREDIT,
        partitions: 6,
        compacted: false,
    },
    TopicSpec {
        name: topics::DLQ,
        partitions: 3,
        compacted: false,
    },
    TopicSpec {
        name: topics::MEMBERS,
        partitions: 1,
        compacted: true,
    },
];

/// Cluster-dependent settings for creating topics.
#[derive(Debug, Clone, Copy)]
pub struct TopicSettings {
    /// 1 on a single broker; 3 on a production cluster.
    pub replication_factor: i32,
}

impl Default for TopicSettings {
    fn default() -> Self {
        Self {
            replication_factor: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("cannot reach the brokers to create topics: {0}")]
    Unreachable(String),
    #[error("topic {topic} could not be created: {code}")]
    Refused {
        topic: String,
        code: RDKafkaErrorCode,
    },
}

/// Creates every missing topic of the catalogue; existing topics are left as they are.
pub async fn ensure_topics(
    kafka: &KafkaSettings,
    settings: TopicSettings,
) -> Result<(), CatalogueError> {
    let admin: AdminClient<DefaultClientContext> = kafka
        .client_config()
        .create()
        .map_err(|e| CatalogueError::Unreachable(e.to_string()))?;
    let (admin, existing) = existing_topics(admin).await?;
    let min_insync = settings.replication_factor.clamp(1, 2).to_string();
    let new_topics: Vec<NewTopic> = CATALOGUE
        .iter()
        .filter(|spec| !existing.iter().any(|name| name == spec.name))
        .map(|spec| {
            let policy = if spec.compacted { "compact" } else { "delete" };
            NewTopic::new(
                spec.name,
                spec.partitions,
                TopicReplication::Fixed(settings.replication_factor),
            )
            .set("cleanup.policy", policy)
            .set("min.insync.replicas", &min_insync)
        })
        .collect();
    if new_topics.is_empty() {
        return Ok(());
    }
    let options = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(30)))
        .request_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(&new_topics, &options)
        .await
        .map_err(|e| CatalogueError::Unreachable(e.to_string()))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(CatalogueError::Refused { topic, code }),
        }
    }
    Ok(())
}

/// Names of the topics the cluster has (metadata is fetched off the async threads).
async fn existing_topics(
    admin: AdminClient<DefaultClientContext>,
) -> Result<(AdminClient<DefaultClientContext>, Vec<String>), CatalogueError> {
    tokio::task::spawn_blocking(move || {
        let names = admin
            .inner()
            .fetch_metadata(None, Duration::from_secs(10))
            .map(|metadata| {
                metadata
                    .topics()
                    .iter()
                    .map(|t| t.name().to_owned())
                    .collect()
            })
            .map_err(|e| CatalogueError::Unreachable(e.to_string()));
        names.map(|names| (admin, names))
    })
    .await
    .map_err(|e| CatalogueError::Unreachable(e.to_string()))?
}

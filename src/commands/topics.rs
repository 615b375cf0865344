//! `spotcheck topics --brokers ...`: creates the catalogue's topics and exits — the one-shot
//! "topic creation" step of a deployment (components also make sure of them at start-up).

use crate::cli::TopicsArgs;
use anyhow::{Context, Result};
use spotcheck_runtime::catalogue::CATALOGUE;
use spotcheck_runtime::{KafkaSettings, TopicSettings, ensure_topics};
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub async fn run(args: TopicsArgs) -> Result<ExitCode> {
    let kafka = KafkaSettings::new(&args.brokers, "spotcheck-topics");
    let settings = TopicSettings {
        replication_factor: args.replication_factor,
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while let Err(error) = ensure_topics(&kafka, settings).await {
        if Instant::now() >= deadline {
            return Err(error).context(format!(
                "cannot create the topics on {} (tried for two minutes)",
                args.brokers
            ));
        }
        tracing::warn!(%error, "brokers not ready; retrying");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    for topic in CATALOGUE {
        let policy = if topic.compacted { "compact" } else { "delete" };
        println!(
            "{}\t{} partitions\tcleanup.policy={policy}",
            topic.name, topic.partitions
        );
    }
    Ok(ExitCode::SUCCESS)
}

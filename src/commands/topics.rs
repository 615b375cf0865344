//! `spotcheck topics --brokers ...`: creates the catalogue's topics and exits — the one-shot
//! "topic creation" step of a deployment (components also make sure of them at start-up).

use crate::cli::TopicsArgs;
use anyhow::Result;
use spotcheck_runtime::catalogue::CATALOGUE;
use spotcheck_runtime::{KafkaSettings, TopicSettings};
use std::process::ExitCode;
use std::time::Duration;

pub async fn run(args: TopicsArgs) -> Result<ExitCode> {
    let kafka = KafkaSettings::new(&args.brokers, "spotcheck-topics");
    let settings = TopicSettings {
        replication_factor: args.replication_factor,
    };
    super::components::prepare_topics(&kafka, settings, Duration::from_secs(120)).await?;
    for topic in CATALOGUE {
        let policy = if topic.compacted { "compact" } else { "delete" };
        println!(
            "{}\t{} partitions\tcleanup.policy={policy}",
            topic.name, topic.partitions
        );
    }
    Ok(ExitCode::SUCCESS)
}

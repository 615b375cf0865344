//! After a restart, the disclosures the feed has not marked as acknowledged may still have
//! reached the topic (a crash between the broker's acknowledgement and the mark). Before sending
//! them again, the stage reads the topic from where the acknowledged offsets end and leaves out
//! what is already there (by `ce_id` = `disclosure_id:action`), so each disclosure is on the topic
//! once. One credit stage writes the topic, so nothing else can appear there meanwhile.

use crate::store::StoreError;
use rdkafka::Message;
use rdkafka::consumer::BaseConsumer;
use spotcheck_runtime::KafkaSettings;
use spotcheck_runtime::cloudevents::header_text;
use spotcheck_runtime::replay::replay;
use spotcheck_schemas::topics;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// The `ce_id`s on the credit topic at or after `from` (partition → offset; absent = start).
pub fn ids_on_topic(
    kafka: &KafkaSettings,
    from: &BTreeMap<i32, i64>,
) -> Result<HashSet<String>, StoreError> {
    let consumer: BaseConsumer = kafka
        .client_config()
        .set("group.id", "spotcheck-credit-tail")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut ids = HashSet::new();
    replay(
        &consumer,
        topics::CREDIT,
        Duration::from_secs(10),
        |partition| Ok::<_, StoreError>(from.get(&partition).copied()),
        |record| {
            if let Some(headers) = record.message.headers()
                && let Some(ce_id) = header_text(headers, "ce_id")
            {
                ids.insert(ce_id);
            }
            Ok(())
        },
    )?;
    Ok(ids)
}

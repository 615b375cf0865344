//! Taking over without the state (a new instance, a lost disk): before the stage rebuilds the
//! state from the input topics, the cases it will rebuild are read back from the compacted
//! `spotcheck.cases.v1`, newest revision each. A rebuilt case equal to what was published is then
//! not published again, and one that differs continues the numbering (revision + 1) instead of
//! starting over at 1.

use crate::store::{self, Store, StoreError};
use rdkafka::Message;
use rdkafka::consumer::BaseConsumer;
use redb::{ReadableDatabase, ReadableTable};
use spotcheck_runtime::KafkaSettings;
use spotcheck_runtime::replay::replay;
use spotcheck_schemas::Case;
use spotcheck_schemas::topics;
use std::collections::BTreeMap;
use std::time::Duration;

/// Restores the published cases into a state that has never consumed anything; returns how many.
/// A state that has consumed already is left as it is.
pub fn restore_published_cases(store: &Store, kafka: &KafkaSettings) -> Result<usize, StoreError> {
    if store.has_consumed()? {
        return Ok(0);
    }
    catch_up_published_cases(store, kafka)
}

/// Takes every case whose published revision is newer than the state's (another instance
/// published it while it owned the case's partition); returns how many were taken.
pub fn catch_up_published_cases(store: &Store, kafka: &KafkaSettings) -> Result<usize, StoreError> {
    let newest = read_published_cases(kafka)?;
    let txn = store.begin()?;
    let mut taken = 0;
    {
        let mut cases = txn.open_table(store::CASES)?;
        for (case_id, (revision, bytes)) in &newest {
            let known = match cases.get(case_id.as_str())? {
                Some(stored) => serde_json::from_slice::<Case>(stored.value())?.revision,
                None => 0,
            };
            if *revision > known {
                cases.insert(case_id.as_str(), bytes.as_slice())?;
                taken += 1;
            }
        }
    }
    txn.commit()?;
    Ok(taken)
}

/// The newest published revision of every case on the topic.
fn read_published_cases(
    kafka: &KafkaSettings,
) -> Result<BTreeMap<String, (u64, Vec<u8>)>, StoreError> {
    let consumer: BaseConsumer = kafka
        .client_config()
        .set("group.id", "spotcheck-traceback-restore")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut newest: BTreeMap<String, (u64, Vec<u8>)> = BTreeMap::new();
    replay(
        &consumer,
        topics::CASES,
        Duration::from_secs(10),
        |_| Ok::<_, StoreError>(None),
        |record| {
            let Some(payload) = record.message.payload() else {
                return Ok(());
            };
            let Ok(case) = serde_json::from_slice::<Case>(payload) else {
                return Ok(()); // not a case: the stage that wrote it sent its own dead letter
            };
            let known = newest.get(&case.case_id).map_or(0, |(r, _)| *r);
            if case.revision >= known {
                newest.insert(case.case_id.clone(), (case.revision, payload.to_vec()));
            }
            Ok(())
        },
    )?;
    Ok(newest)
}

impl Store {
    /// Whether the stage has applied any record (a state that has not is new or lost).
    pub fn has_consumed(&self) -> Result<bool, StoreError> {
        let txn = self.db.begin_read()?;
        let offsets = txn.open_table(store::OFFSETS)?;
        Ok(offsets.iter()?.next().is_some())
    }
}

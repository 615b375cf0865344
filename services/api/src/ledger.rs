//! The ingest ledger: which records this deployment already took, so that a repeat answers
//! `duplicate` and a changed record answers `conflict`, also after a restart.
//!
//! Kafka is the source of truth; the ledger is a durable index of it (redb, in the data dir):
//! record id (the CloudEvents `ce_id`) → SHA-256 of the published value. Before serving, ingest
//! catches the ledger up with the topics from the offsets it last saw, so records acknowledged
//! just before a crash, or published by another ingest instance, are known.
//! Concurrent requests carrying the same record are serialised by a claim: the second waits until
//! the first has settled, then sees it as stored (or not, if the broker failed the first). A claim
//! lasts until the broker's answer arrives, which may be long after the first request was answered
//! 503 (a slow or returning broker): the second stops waiting at its deadline and answers that
//! record [`Seen::InFlight`].

use rdkafka::consumer::BaseConsumer;
use rdkafka::message::Message;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use sha2::{Digest, Sha256};
use spotcheck_runtime::KafkaSettings;
use spotcheck_runtime::cloudevents::header_text;
use spotcheck_runtime::replay::{ReplayError, replay};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// record id → SHA-256 of the published value.
const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");
/// "topic/partition" → next offset already indexed.
const POSITIONS: TableDefinition<&str, i64> = TableDefinition::new("positions");

pub type ContentHash = [u8; 32];

/// "topic/partition" → the next offset: where the catch-up starts.
type Positions = BTreeMap<String, i64>;

/// What the ledger knows of a submitted record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Never taken: claimed for this request until [`Ledger::settle`].
    New,
    /// Taken before with the same content.
    Duplicate,
    /// Taken before with different content.
    Conflict,
    /// Claimed by an earlier request whose broker answer has not arrived: retry later.
    InFlight,
}

#[derive(Debug, thiserror::Error)]
#[error("ingest ledger: {0}")]
pub struct LedgerError(String);

impl From<ReplayError> for LedgerError {
    fn from(error: ReplayError) -> Self {
        Self(error.to_string())
    }
}

impl From<redb::Error> for LedgerError {
    fn from(error: redb::Error) -> Self {
        Self(error.to_string())
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(impl From<$t> for LedgerError {
        fn from(error: $t) -> Self { Self(redb::Error::from(error).to_string()) }
    })*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

pub struct Ledger {
    db: Database,
    /// Ids claimed by requests in flight, and the newest offsets this process had acknowledged.
    state: Mutex<InFlight>,
}

#[derive(Default)]
struct InFlight {
    claimed: HashSet<String>,
    /// "topic/partition" → next offset after the newest record this process published there.
    acknowledged: Positions,
    /// An index write failed: records this process published are missing from the ledger, so no
    /// position is saved from now on. The next start catches up from the positions saved
    /// before them and indexes them from the topics.
    unindexed: bool,
}

impl InFlight {
    /// Notes where `stored` landed. Returns the positions to save in the same commit as `stored`
    /// when no other request holds a claim: a request releases its claims only after its
    /// commit, so every other record this process published is indexed by then.
    fn acknowledge(&mut self, stored: &[Stored], own: &[String]) -> Option<Positions> {
        for record in stored {
            let next = self
                .acknowledged
                .entry(format!("{}/{}", record.topic, record.partition))
                .or_default();
            *next = (*next).max(record.offset + 1);
        }
        let own: HashSet<&str> = own.iter().map(String::as_str).collect();
        let others = self.claimed.iter().any(|id| !own.contains(id.as_str()));
        (!self.unindexed && !others).then(|| self.acknowledged.clone())
    }

    /// Releases the request's claims once its commit is done (`indexed`: whether it was written;
    /// `saved`: the positions it saved). Returns positions still to save: the last request in
    /// flight saves what the others acknowledged meanwhile.
    fn release(
        &mut self,
        own: &[String],
        indexed: bool,
        saved: Option<&Positions>,
    ) -> Option<Positions> {
        for id in own {
            self.claimed.remove(id);
        }
        self.unindexed |= !indexed;
        (!self.unindexed && self.claimed.is_empty() && saved != Some(&self.acknowledged))
            .then(|| self.acknowledged.clone())
    }
}

/// A record the broker acknowledged, for [`Ledger::settle`].
pub struct Stored {
    pub id: String,
    pub hash: ContentHash,
    pub topic: &'static str,
    pub partition: i32,
    pub offset: i64,
}

/// The hash the ledger keeps for a published value.
pub fn content_hash(payload: &[u8]) -> ContentHash {
    Sha256::digest(payload).into()
}

impl Ledger {
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        let db = spotcheck_runtime::state_file::open(path, None)?;
        let txn = db.begin_write()?;
        txn.open_table(RECORDS)?;
        txn.open_table(POSITIONS)?;
        txn.commit()?;
        Ok(Self {
            db,
            state: Mutex::new(InFlight::default()),
        })
    }

    /// Whether a record of this id has been taken (by this process or, caught up, by any).
    pub fn has(&self, id: &str) -> Result<bool, LedgerError> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(RECORDS)?.get(id)?.is_some())
    }

    /// Classifies each `(id, hash)` of a request and claims the new ones. Waits while another
    /// request holds a claim on one of the ids, until `give_up` says to stop: then the ids still
    /// claimed are answered [`Seen::InFlight`] and the rest are classified as usual.
    pub async fn claim(
        &self,
        items: &[(String, ContentHash)],
        give_up: impl Fn() -> bool,
    ) -> Result<Vec<Seen>, LedgerError> {
        loop {
            let patient = !give_up();
            if let Some(seen) = self.try_claim(items, patient)? {
                return Ok(seen);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// `None` when `patient` and some id is claimed by another request.
    fn try_claim(
        &self,
        items: &[(String, ContentHash)],
        patient: bool,
    ) -> Result<Option<Vec<Seen>>, LedgerError> {
        let mut state = self.in_flight();
        let claimed = &mut state.claimed;
        let held_elsewhere: HashSet<&str> = items
            .iter()
            .filter(|(id, _)| claimed.contains(id))
            .map(|(id, _)| id.as_str())
            .collect();
        if patient && !held_elsewhere.is_empty() {
            return Ok(None);
        }
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECORDS)?;
        let mut in_request: HashMap<&str, &ContentHash> = HashMap::new();
        let mut seen = Vec::with_capacity(items.len());
        for (id, hash) in items {
            if held_elsewhere.contains(id.as_str()) {
                seen.push(Seen::InFlight);
                continue;
            }
            let earlier = match in_request.get(id.as_str()) {
                Some(first) => Some(**first),
                None => table
                    .get(id.as_str())?
                    .and_then(|v| v.value().try_into().ok()),
            };
            seen.push(match earlier {
                Some(earlier) if earlier == *hash => Seen::Duplicate,
                Some(_) => Seen::Conflict,
                None => {
                    in_request.insert(id, hash);
                    claimed.insert(id.clone());
                    Seen::New
                }
            });
        }
        Ok(Some(seen))
    }

    /// Records what the broker acknowledged and releases every claim of the request.
    ///
    /// When no claim is left in flight, every record this process published is indexed, so the
    /// positions after its newest ones are saved: the next start catches up from there. A
    /// request alone in flight (a lab's single record, usually) saves them in the commit of its
    /// records, so one commit and one sync; the last of several in flight saves them in a
    /// commit of its own. After a failed index write none is saved any more, so that the next
    /// start indexes what it missed.
    pub fn settle(&self, stored: &[Stored], claimed_ids: &[String]) -> Result<(), LedgerError> {
        let positions = self.in_flight().acknowledge(stored, claimed_ids);
        let written = self.write(stored, positions.as_ref());
        let later = self
            .in_flight()
            .release(claimed_ids, written.is_ok(), positions.as_ref());
        written?;
        match later {
            Some(positions) => self.write(&[], Some(&positions)),
            None => Ok(()),
        }
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, InFlight> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Indexes `stored` and moves the saved positions forward to `positions` (never back:
    /// checkpoints may be written out of order), in one commit.
    fn write(&self, stored: &[Stored], positions: Option<&Positions>) -> Result<(), LedgerError> {
        if stored.is_empty() && positions.is_none() {
            return Ok(());
        }
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(RECORDS)?;
            for record in stored {
                table.insert(record.id.as_str(), record.hash.as_slice())?;
            }
            let mut table = txn.open_table(POSITIONS)?;
            for (key, next) in positions.into_iter().flatten() {
                let saved = table.get(key.as_str())?.map_or(0, |v| v.value());
                if *next > saved {
                    table.insert(key.as_str(), *next)?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Indexes every record on `topics` that the ledger has not seen, from the offsets it last
    /// saw to the current end. Blocking: call it from `spawn_blocking` before serving.
    pub fn catch_up(&self, kafka: &KafkaSettings, topics: &[&str]) -> Result<u64, LedgerError> {
        let consumer: BaseConsumer = kafka
            .client_config()
            .set("group.id", "spotcheck-ingest-ledger")
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| LedgerError(e.to_string()))?;
        let mut indexed = 0;
        for topic in topics {
            indexed += self.catch_up_topic(&consumer, topic)?;
        }
        Ok(indexed)
    }

    fn catch_up_topic(&self, consumer: &BaseConsumer, topic: &str) -> Result<u64, LedgerError> {
        let mut batch: Vec<(String, ContentHash)> = Vec::new();
        let mut indexed = 0;
        replay(
            consumer,
            topic,
            Duration::from_secs(10),
            |partition| self.position(topic, partition).map(Some),
            |record| {
                let message = &record.message;
                if let Some(id) = message.headers().and_then(|h| header_text(h, "ce_id")) {
                    batch.push((id, content_hash(message.payload().unwrap_or_default())));
                }
                if batch.len() >= 5000 || record.is_last() {
                    indexed += batch.len() as u64;
                    self.insert_first_seen(&batch, topic, record.partition, record.next())?;
                    batch.clear();
                }
                Ok(())
            },
        )?;
        Ok(indexed)
    }

    /// Adds ids not yet known (the first record of an id in the log wins, as downstream) and
    /// moves the partition's position, in one transaction.
    fn insert_first_seen(
        &self,
        batch: &[(String, ContentHash)],
        topic: &str,
        partition: i32,
        next: i64,
    ) -> Result<(), LedgerError> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(RECORDS)?;
            for (id, hash) in batch {
                if table.get(id.as_str())?.is_none() {
                    table.insert(id.as_str(), hash.as_slice())?;
                }
            }
            let mut positions = txn.open_table(POSITIONS)?;
            positions.insert(format!("{topic}/{partition}").as_str(), next)?;
        }
        txn.commit()?;
        Ok(())
    }

    fn position(&self, topic: &str, partition: i32) -> Result<i64, LedgerError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(POSITIONS)?;
        let position = table
            .get(format!("{topic}/{partition}").as_str())?
            .map(|v| v.value());
        Ok(position.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, content: &str) -> (String, ContentHash) {
        (id.to_owned(), content_hash(content.as_bytes()))
    }

    fn stored(id: &str, content: &str, offset: i64) -> Stored {
        Stored {
            id: id.to_owned(),
            hash: content_hash(content.as_bytes()),
            topic: "t",
            partition: 0,
            offset,
        }
    }

    #[tokio::test]
    async fn a_settled_record_is_a_duplicate_and_a_changed_one_a_conflict_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.redb");
        {
            let ledger = Ledger::open(&path).unwrap();
            let seen = ledger.claim(&[item("a", "1")], || false).await.unwrap();
            assert_eq!(seen, [Seen::New]);
            ledger
                .settle(&[stored("a", "1", 7)], &["a".into()])
                .unwrap();
            assert_eq!(ledger.position("t", 0).unwrap(), 8);
        }
        let ledger = Ledger::open(&path).unwrap();
        let seen = ledger
            .claim(&[item("a", "1"), item("a", "2"), item("b", "1")], || false)
            .await
            .unwrap();
        assert_eq!(seen, [Seen::Duplicate, Seen::Conflict, Seen::New]);
    }

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|&n| n.to_owned()).collect()
    }

    /// Acknowledges, writes (`indexed`) and releases a request, as `settle` does; returns the
    /// positions saved in its commit and those saved after it.
    fn settle(
        state: &mut InFlight,
        stored: &[Stored],
        own: &[&str],
        indexed: bool,
    ) -> (Option<Positions>, Option<Positions>) {
        let with_records = state.acknowledge(stored, &ids(own));
        let saved = with_records.as_ref().filter(|_| indexed);
        let after = state.release(&ids(own), indexed, saved);
        (saved.cloned(), after)
    }

    fn at(next: i64) -> Positions {
        BTreeMap::from([("t/0".to_owned(), next)])
    }

    #[test]
    fn after_a_failed_index_write_no_position_is_saved_past_the_records_it_missed() {
        let mut state = InFlight::default();
        state.claimed.extend(ids(&["a", "b", "c"]));
        assert_eq!(
            settle(&mut state, &[stored("a", "1", 0)], &["a"], true),
            (None, None)
        );
        // "b" reached the broker but its index write failed.
        assert_eq!(
            settle(&mut state, &[stored("b", "1", 1)], &["b"], false),
            (None, None)
        );
        // Once nothing is in flight, a save would skip "b" at the next start's catch-up.
        assert_eq!(
            settle(&mut state, &[stored("c", "1", 2)], &["c"], true),
            (None, None)
        );
    }

    #[test]
    fn a_request_alone_in_flight_saves_the_positions_in_the_commit_of_its_records() {
        let mut state = InFlight::default();
        state.claimed.extend(ids(&["a", "b"]));
        assert_eq!(
            settle(
                &mut state,
                &[stored("a", "1", 4), stored("b", "1", 5)],
                &["a", "b"],
                true
            ),
            (Some(at(6)), None)
        );
    }

    #[test]
    fn positions_are_saved_once_no_claim_is_in_flight() {
        let mut state = InFlight::default();
        state.claimed.extend(ids(&["a", "b"]));
        assert_eq!(
            settle(&mut state, &[stored("a", "1", 4)], &["a"], true),
            (None, None)
        );
        // The last request in flight saves both, in the commit of its records.
        assert_eq!(
            settle(&mut state, &[stored("b", "1", 9)], &["b"], true),
            (Some(at(10)), None)
        );
    }

    #[test]
    fn the_last_release_saves_what_others_acknowledged_after_the_first_commit_began() {
        let mut state = InFlight::default();
        state.claimed.extend(ids(&["a"]));
        // "a" is alone when its commit begins...
        let with_a = state.acknowledge(&[stored("a", "1", 4)], &ids(&["a"]));
        assert_eq!(with_a, Some(at(5)));
        // ...and meanwhile "b" is claimed, published and settled, while "a" still holds its claim.
        state.claimed.insert("b".to_owned());
        assert_eq!(
            settle(&mut state, &[stored("b", "1", 7)], &["b"], true),
            (None, None)
        );
        // "a" releases last: its commit saved offset 5, so 8 is saved after it.
        assert_eq!(
            state.release(&ids(&["a"]), true, with_a.as_ref()),
            Some(at(8))
        );
    }

    #[tokio::test]
    async fn a_record_the_broker_failed_is_new_again() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.redb")).unwrap();
        assert_eq!(
            ledger.claim(&[item("a", "1")], || false).await.unwrap(),
            [Seen::New]
        );
        ledger.settle(&[], &["a".into()]).unwrap();
        assert_eq!(
            ledger.claim(&[item("a", "1")], || false).await.unwrap(),
            [Seen::New]
        );
    }

    #[tokio::test]
    async fn the_same_record_twice_in_one_request_is_new_then_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.redb")).unwrap();
        let seen = ledger
            .claim(&[item("a", "1"), item("a", "1"), item("a", "9")], || false)
            .await
            .unwrap();
        assert_eq!(seen, [Seen::New, Seen::Duplicate, Seen::Conflict]);
    }

    #[tokio::test]
    async fn a_record_claimed_by_another_request_is_in_flight_once_the_wait_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.redb")).unwrap();
        assert_eq!(
            ledger.claim(&[item("a", "1")], || false).await.unwrap(),
            [Seen::New]
        );
        let seen = ledger
            .claim(&[item("a", "1"), item("b", "1")], || true)
            .await
            .unwrap();
        assert_eq!(seen, [Seen::InFlight, Seen::New]);
        ledger
            .settle(&[stored("a", "1", 0)], &["a".into(), "b".into()])
            .unwrap();
        let seen = ledger.claim(&[item("a", "1")], || true).await.unwrap();
        assert_eq!(seen, [Seen::Duplicate]);
    }
}

//! The credit stage's durable state (redb): the feed (every disclosure in its published order,
//! numbered), the newest disclosure per `disclosure_id` and the ids of each case, how far the feed has reached the Kafka topic,
//! and the source offsets — one transaction per batch.
//!
//! The feed is the outbox: a disclosure is first appended here (with the offsets of the case
//! revision that caused it), then sent to `spotcheck.credit.v1` in feed order, and the
//! `published_through` mark moves once the broker has acknowledged it.

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use spotcheck_schemas::Disclosure;
use std::collections::BTreeMap;
use std::path::Path;
use tokio::sync::Notify;

/// Feed position → disclosure JSON.
pub(crate) const FEED: TableDefinition<u64, &[u8]> = TableDefinition::new("feed");
/// `disclosure_id` → the newest disclosure sent under it (what the credit system shows now). It
/// replaces the `taken` table (the last action alone) of older feed files, which stays unread.
pub(crate) const LAST: TableDefinition<&str, &[u8]> = TableDefinition::new("last");
/// `case_id \0 disclosure_id` → (): every disclosure id a case has used.
pub(crate) const CASE_IDS: TableDefinition<&str, ()> = TableDefinition::new("case_ids");
/// `topic \0 partition` → next offset to apply.
pub(crate) use spotcheck_runtime::state_file::POSITIONS as OFFSETS;
/// `published_through` → the last feed position the broker acknowledged.
pub(crate) const MARKS: TableDefinition<&str, u64> = TableDefinition::new("marks");
pub(crate) const PUBLISHED_THROUGH: &str = "published_through";
/// Webhook URL → the last feed position it acknowledged.
pub(crate) const WEBHOOKS: TableDefinition<&str, u64> = TableDefinition::new("webhooks");

pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

pub struct CreditStore {
    pub(crate) db: Database,
    /// Woken when the feed grows, for long-polling readers.
    pub(crate) grew: Notify,
}

/// One page of the feed.
pub struct Page {
    pub items: Vec<serde_json::Value>,
    /// The feed position of each item.
    pub positions: Vec<u64>,
    /// The cursor to ask with next: the last item's position, or the one asked with.
    pub next: u64,
}

impl CreditStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let db = spotcheck_runtime::state_file::open(path, None)?;
        let txn = db.begin_write()?;
        txn.open_table(FEED)?;
        txn.open_table(OFFSETS)?;
        txn.open_table(MARKS)?;
        txn.open_table(WEBHOOKS)?;
        txn.open_table(LAST)?;
        txn.open_table(CASE_IDS)?;
        txn.commit()?;
        index_feed(&db)?;
        Ok(Self {
            db,
            grew: Notify::new(),
        })
    }

    /// The newest disclosure under `disclosure_id`, if any.
    pub fn last(&self, disclosure_id: &str) -> Result<Option<Disclosure>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(LAST)?;
        Ok(match table.get(disclosure_id)? {
            Some(bytes) => Some(serde_json::from_slice(bytes.value())?),
            None => None,
        })
    }

    /// Disclosures after position `after` (0 = from the start), at most `limit`.
    pub fn page(&self, after: u64, limit: usize) -> Result<Page, StoreError> {
        let txn = self.db.begin_read()?;
        let feed = txn.open_table(FEED)?;
        let mut items = Vec::new();
        let mut positions = Vec::new();
        let mut next = after;
        for entry in feed.range(after.saturating_add(1)..)?.take(limit) {
            let (position, bytes) = entry?;
            next = position.value();
            positions.push(next);
            items.push(serde_json::from_slice(bytes.value())?);
        }
        Ok(Page {
            items,
            positions,
            next,
        })
    }

    /// Waits until the feed has something after `after`, or `wait` passes.
    pub async fn page_waiting(
        &self,
        after: u64,
        limit: usize,
        wait: std::time::Duration,
    ) -> Result<Page, StoreError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before reading, so a disclosure appended in between still wakes us.
            let grew = self.grew.notified();
            let page = self.page(after, limit)?;
            if !page.items.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(page);
            }
            let _ = tokio::time::timeout_at(deadline, grew).await;
        }
    }

    /// How many disclosures the feed holds.
    pub fn len(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(FEED)?.len()?)
    }

    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// Disclosures in the feed not yet acknowledged by the broker, in feed order.
    pub(crate) fn unpublished(&self) -> Result<Vec<(u64, Disclosure)>, StoreError> {
        let txn = self.db.begin_read()?;
        let through = txn
            .open_table(MARKS)?
            .get(PUBLISHED_THROUGH)?
            .map_or(0, |v| v.value());
        let feed = txn.open_table(FEED)?;
        let mut pending = Vec::new();
        for entry in feed.range(through.saturating_add(1)..)? {
            let (position, bytes) = entry?;
            pending.push((position.value(), serde_json::from_slice(bytes.value())?));
        }
        Ok(pending)
    }

    /// Records that the feed up to `through` is on the topic, and the next offset after the
    /// acknowledged ones per partition (where a restart looks for unmarked sends).
    pub(crate) fn mark_published(
        &self,
        through: u64,
        acked: &BTreeMap<i32, i64>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut marks = txn.open_table(MARKS)?;
            marks.insert(PUBLISHED_THROUGH, through)?;
            for (partition, next) in acked {
                let key = format!("acked/{partition}");
                let known = marks.get(key.as_str())?.map_or(0, |v| v.value());
                marks.insert(key.as_str(), known.max(*next as u64))?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Partition → the next offset after what the broker acknowledged (as marked).
    pub(crate) fn acked_offsets(&self) -> Result<BTreeMap<i32, i64>, StoreError> {
        let txn = self.db.begin_read()?;
        let marks = txn.open_table(MARKS)?;
        let mut acked = BTreeMap::new();
        for entry in marks.range("acked/".."acked0")? {
            let (key, value) = entry?;
            if let Some(partition) = key
                .value()
                .strip_prefix("acked/")
                .and_then(|p| p.parse().ok())
            {
                acked.insert(partition, value.value() as i64);
            }
        }
        Ok(acked)
    }
}

impl CreditStore {
    /// The last feed position the webhook at `url` acknowledged (0 = none).
    pub fn webhook_cursor(&self, url: &str) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(WEBHOOKS)?.get(url)?.map_or(0, |v| v.value()))
    }

    pub fn set_webhook_cursor(&self, url: &str, position: u64) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(WEBHOOKS)?.insert(url, position)?;
        txn.commit()?;
        Ok(())
    }
}

/// Every disclosure id case `case_id` has used.
pub(crate) fn ids_of_case<T>(table: &T, case_id: &str) -> Result<Vec<String>, StoreError>
where
    T: ReadableTable<&'static str, ()>,
{
    let start = format!("{case_id}\0");
    let end = format!("{case_id}\u{1}");
    let mut ids = Vec::new();
    for entry in table.range(start.as_str()..end.as_str())? {
        ids.push(entry?.0.value()[start.len()..].to_owned());
    }
    Ok(ids)
}

/// Fills the newest-action index from the feed when the feed was written before the index
/// existed: each id's actions numbered 1, 2, … in feed order, as they would have been.
fn index_feed(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let feed = txn.open_table(FEED)?;
        let mut last = txn.open_table(LAST)?;
        if !last.is_empty()? || feed.is_empty()? {
            return Ok(());
        }
        let mut case_ids = txn.open_table(CASE_IDS)?;
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for entry in feed.iter()? {
            let (_, bytes) = entry?;
            let mut disclosure: Disclosure = serde_json::from_slice(bytes.value())?;
            let count = counts.entry(disclosure.disclosure_id.clone()).or_default();
            *count += 1;
            disclosure.revision = *count;
            let id = disclosure.disclosure_id.clone();
            last.insert(id.as_str(), serde_json::to_vec(&disclosure)?.as_slice())?;
            case_ids.insert(format!("{}\0{id}", disclosure.case_id).as_str(), ())?;
        }
    }
    txn.commit()?;
    Ok(())
}

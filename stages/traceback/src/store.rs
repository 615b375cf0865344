//! The traceback state on disk (redb, one file in the data dir): what the cases are built from,
//! the cases as last published, the timers, the outbox and the source offsets — all changed in
//! one transaction per batch, so state and offsets always agree after a crash.
//!
//! Keys that group (a batch's shipments, a case's dispositions) are `group \0 id` strings, read
//! back with a prefix range: one batch's edges are a contiguous scan, whatever the state's size.

use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use spotcheck_schemas::Case;
use std::collections::BTreeMap;
use std::path::Path;

/// `trace key \0 shipment_id` → shipment JSON ([`crate::names::shipment_key`]: the producer's
/// credit code, model and batch; the producer's name key when the ledger gives no code).
pub(crate) const SHIPMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("shipments");
/// `case_id` → the failing result's JSON.
pub(crate) const RESULTS: TableDefinition<&str, &[u8]> = TableDefinition::new("results");
/// `trace key \0 case_id` → (): the cases a batch's shipments affect.
pub(crate) const BATCH_CASES: TableDefinition<&str, ()> = TableDefinition::new("batch_cases");
/// `uscc` → unit JSON (the registry).
pub(crate) const UNITS: TableDefinition<&str, &[u8]> = TableDefinition::new("units");
/// `uscc \0 case_id` → (): the cases a unit appears in.
pub(crate) const UNIT_CASES: TableDefinition<&str, ()> = TableDefinition::new("unit_cases");
/// `case_id \0 disposition_id` → disposition JSON.
pub(crate) const DISPOSITIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("dispositions");
/// `case_id` → the case as last published (the read model of `GET /v1/cases`).
pub(crate) const CASES: TableDefinition<&str, &[u8]> = TableDefinition::new("cases");
/// `YYYY-MM-DD \0 case_id` → (): when a case changes by time alone.
pub(crate) const TIMERS: TableDefinition<&str, ()> = TableDefinition::new("timers");
/// `case_id` → its timer key, to move it.
pub(crate) const CASE_TIMER: TableDefinition<&str, &str> = TableDefinition::new("case_timer");
/// case id → the results partition its result came from (which instance owns it, when shared).
pub(crate) const CASE_PARTITION: TableDefinition<&str, i32> =
    TableDefinition::new("case_partition");
/// `case_id \0 revision (20 digits)` → case JSON not yet acknowledged by the broker.
pub(crate) const OUTBOX: TableDefinition<&str, &[u8]> = TableDefinition::new("outbox");
/// `name key \0 uscc` → (): registered units by the key of their name.
pub(crate) const NAMES: TableDefinition<&str, ()> = TableDefinition::new("names");
/// `name key` → `on \0 disposition_id \0 uscc`: the newest official identification of a name.
pub(crate) const OFFICIAL: TableDefinition<&str, &str> = TableDefinition::new("official_names");
/// `name trace key \0 uscc` → (): codes the ledger gives for a producer name and batch.
pub(crate) const LEDGER: TableDefinition<&str, ()> = TableDefinition::new("ledger_names");
/// `name key \0 case_id` → (): cases that identify a party by name (re-derived when the name
/// is registered or identified).
pub(crate) const WAITING: TableDefinition<&str, ()> = TableDefinition::new("waiting_names");
/// `name key \0 case_id \0 role` → queue entry JSON: the identification queue.
pub(crate) const PENDING: TableDefinition<&str, &[u8]> = TableDefinition::new("pending");
/// `case_id` → JSON list of its `PENDING` keys, to take them out when it is derived again.
pub(crate) const CASE_PENDING: TableDefinition<&str, &[u8]> = TableDefinition::new("case_pending");
/// `case_id` → the inspection finding (JSON, [`crate::onsite::OnSiteCase`]) that opened the case;
/// `RESULTS` holds the finding read as a result, so the case meets its batch like any other.
pub(crate) const ON_SITE: TableDefinition<&str, &[u8]> = TableDefinition::new("on_site");
/// `rules` → the rules version the state's cases were derived by; `acked/<partition>` → the
/// offset after the last case revision the broker acknowledged in that partition of the cases
/// topic (where the outbox's check after a crash reads from).
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// `topic \0 partition` → the next offset to apply.
pub(crate) use spotcheck_runtime::state_file::POSITIONS as OFFSETS;

/// redb's page cache for the traceback state.
const STATE_CACHE_BYTES: usize = 256 * 1024 * 1024;

pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

pub struct Store {
    pub(crate) db: Database,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // A bounded page cache: the state is sized for millions of shipments, and a case only
        // reads its own batch (a prefix range), so the working set is small.
        let db = spotcheck_runtime::state_file::open(path, Some(STATE_CACHE_BYTES))?;
        let txn = db.begin_write()?;
        txn.open_table(SHIPMENTS)?;
        txn.open_table(RESULTS)?;
        txn.open_table(BATCH_CASES)?;
        txn.open_table(UNITS)?;
        txn.open_table(UNIT_CASES)?;
        txn.open_table(DISPOSITIONS)?;
        txn.open_table(CASES)?;
        txn.open_table(TIMERS)?;
        txn.open_table(CASE_TIMER)?;
        txn.open_table(OUTBOX)?;
        txn.open_table(OFFSETS)?;
        txn.open_table(CASE_PARTITION)?;
        txn.open_table(NAMES)?;
        txn.open_table(OFFICIAL)?;
        txn.open_table(LEDGER)?;
        txn.open_table(WAITING)?;
        txn.open_table(PENDING)?;
        txn.open_table(CASE_PENDING)?;
        txn.open_table(META)?;
        txn.open_table(ON_SITE)?;
        txn.commit()?;
        Ok(Self { db })
    }

    /// The case as last published.
    pub fn case(&self, case_id: &str) -> Result<Option<Case>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CASES)?;
        let stored = table.get(case_id)?;
        Ok(stored
            .map(|v| serde_json::from_slice(v.value()))
            .transpose()?)
    }

    /// Every case, newest revision, in the order of their ids.
    pub fn cases(&self) -> Result<Vec<Case>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CASES)?;
        let mut all = Vec::new();
        for entry in table.iter()? {
            all.push(serde_json::from_slice(entry?.1.value())?);
        }
        Ok(all)
    }

    /// The cases a unit appears in, in the order of their ids.
    pub fn cases_of_unit(&self, uscc: &str) -> Result<Vec<Case>, StoreError> {
        let txn = self.db.begin_read()?;
        let ids = keys_with_prefix(&txn.open_table(UNIT_CASES)?, uscc)?;
        let cases = txn.open_table(CASES)?;
        let mut found = Vec::new();
        for id in ids {
            if let Some(case) = cases.get(id.as_str())? {
                found.push(serde_json::from_slice(case.value())?);
            }
        }
        Ok(found)
    }

    /// The identification queue: every party waiting to be identified, grouped by name (the
    /// name as first given), oldest case first within a name.
    pub fn identifications(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PENDING)?;
        let mut groups: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
        for entry in table.iter()? {
            let (key, value) = entry?;
            let key = key.value();
            let name_key = key.split('\0').next().unwrap_or_default().to_owned();
            let item: serde_json::Value = serde_json::from_slice(value.value())?;
            match groups.last_mut() {
                Some((last, items)) if *last == name_key => items.push(item),
                _ => groups.push((name_key, vec![item])),
            }
        }
        Ok(groups
            .into_iter()
            .map(|(name_key, cases)| {
                let first = cases.first().cloned().unwrap_or_default();
                serde_json::json!({
                    "name": first["name"], "name_key": name_key,
                    "district": first["district"], "address": first["address"],
                    "waiting_cases": cases.len(), "cases": cases,
                })
            })
            .collect())
    }

    pub(crate) fn begin(&self) -> Result<WriteTransaction, StoreError> {
        Ok(self.db.begin_write()?)
    }
}

/// `group \0 id`.
pub(crate) fn grouped(group: &str, id: &str) -> String {
    format!("{group}\0{id}")
}

/// The `id` parts of every `prefix \0 id` key.
pub(crate) fn keys_with_prefix<T>(table: &T, prefix: &str) -> Result<Vec<String>, StoreError>
where
    T: ReadableTable<&'static str, ()>,
{
    let start = format!("{prefix}\0");
    let end = format!("{prefix}\u{1}");
    let mut ids = Vec::new();
    for entry in table.range(start.as_str()..end.as_str())? {
        let (key, _) = entry?;
        ids.push(key.value()[start.len()..].to_owned());
    }
    Ok(ids)
}

/// The values of every `prefix \0 id` key.
pub(crate) fn values_with_prefix<T>(table: &T, prefix: &str) -> Result<Vec<Vec<u8>>, StoreError>
where
    T: ReadableTable<&'static str, &'static [u8]>,
{
    let start = format!("{prefix}\0");
    let end = format!("{prefix}\u{1}");
    let mut values = Vec::new();
    for entry in table.range(start.as_str()..end.as_str())? {
        values.push(entry?.1.value().to_vec());
    }
    Ok(values)
}

impl Store {
    /// Case revisions stored but not yet acknowledged by the broker.
    pub fn unpublished(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(OUTBOX)?.len()?)
    }

    /// Per partition of the cases topic, the offset after the last revision the broker
    /// acknowledged.
    pub(crate) fn acked_offsets(&self) -> Result<BTreeMap<i32, i64>, StoreError> {
        let txn = self.db.begin_read()?;
        let mut acked = BTreeMap::new();
        for entry in txn.open_table(META)?.range(ACKED..ACKED_END)? {
            let (key, next) = entry?;
            if let Ok(partition) = key.value()[ACKED.len()..].parse() {
                acked.insert(partition, i64::try_from(next.value()).unwrap_or(i64::MAX));
            }
        }
        Ok(acked)
    }
}

const ACKED: &str = "acked/";
const ACKED_END: &str = "acked0";

/// Records how far the broker has acknowledged, in the transaction that takes the revisions out
/// of the outbox.
pub(crate) fn mark_acknowledged(
    txn: &WriteTransaction,
    acked: &BTreeMap<i32, i64>,
) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META)?;
    for (partition, next) in acked {
        let key = format!("{ACKED}{partition}");
        let known = meta.get(key.as_str())?.map_or(0, |v| v.value());
        meta.insert(key.as_str(), known.max(u64::try_from(*next).unwrap_or(0)))?;
    }
    Ok(())
}

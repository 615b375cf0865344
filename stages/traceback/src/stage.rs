//! The traceback stage: consumes results, shipments, units and dispositions; keeps what cases
//! are built from in the [`Store`]; publishes each new revision of a case to `spotcheck.cases.v1`.
//!
//! Exactly-once bookkeeping (a transactional outbox, since the brokers here have no Kafka
//! transactions): one redb transaction per batch stores the records, the source offsets, and
//! every new case revision in an outbox; only then are the outbox entries published, and removed
//! once the broker acknowledged them. A crash before the commit replays the batch (records below
//! the stored offsets are skipped, so nothing counts twice); a crash after it publishes the
//! outbox at the next start. A revision is never lost; a crash between the broker's
//! acknowledgement and the outbox removal leaves it in the outbox, and the first send after the
//! restart reads the cases topic on from the offsets last acknowledged and leaves out what is
//! already there ([`outbox::TailCheck`], by `ce_id` `case_id:revision`), so none is sent twice.
//!
//! A case is derived again from all it depends on whenever one of them changes (and when its
//! timer fires), and published only if it differs from the last revision. Every case is derived
//! again when the rules change (`RULES_VERSION`) and when the configuration's periods, calendar
//! or region do (`Authority::fingerprint`).
//!
//! Scale-out ([`TracebackStage::sharing`]): instances split the partitions of results and
//! shipments (co-partitioned by batch key) and each reads all units and dispositions. An
//! instance derives only the cases whose result came through a results partition it owns; when
//! it takes a partition over, it first reads the published cases back from
//! `spotcheck.cases.v1`, so its revisions continue the previous owner's instead of repeating
//! them. The runtime hands a partition over only after its previous owner let it go.

use crate::assemble::{Authority, Inputs, RULES_VERSION, assemble};
use crate::clock::Clock;
use crate::identify::{Identity, Named, identify};
use crate::names;
use crate::onsite::OnSiteCase;
use crate::store::{self, Store, StoreError, grouped};
use async_trait::async_trait;
use chrono::NaiveDate;
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use spotcheck_runtime::outbox::{self, Outgoing, TailCheck};
use spotcheck_runtime::state_file;
use spotcheck_runtime::{Applied, CloudEvent, Delivered, Publisher, Stage, StageError};
use spotcheck_schemas::topics::{self, event_types};
use spotcheck_schemas::{
    Case, Disposition, Inspection, SamplingResult, Shipment, SubjectRole, Unit, Verdict,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub struct TracebackStage {
    store: Arc<Store>,
    publisher: Publisher,
    clock: Arc<dyn Clock>,
    authority: Authority,
    /// [`Authority::fingerprint`] of `authority`, kept in the state beside the rules version.
    fingerprint: u64,
    /// The outbox is checked against the cases topic after a start and a failed send.
    tail: TailCheck,
    /// When shared with other instances: the results partitions this one owns, and how to read
    /// the published cases back. `None`: this instance owns every case.
    sharing: Option<Shared>,
}

struct Shared {
    kafka: spotcheck_runtime::KafkaSettings,
    owned: BTreeSet<i32>,
}

impl TracebackStage {
    pub fn new(
        store: Arc<Store>,
        publisher: Publisher,
        clock: Arc<dyn Clock>,
        authority: Authority,
    ) -> Self {
        Self {
            store,
            tail: TailCheck::new(&publisher, topics::CASES),
            publisher,
            clock,
            fingerprint: authority.fingerprint(),
            authority,
            sharing: None,
        }
    }

    /// Shares the cases with other instances (see the module header).
    pub fn sharing(mut self, kafka: spotcheck_runtime::KafkaSettings) -> Self {
        self.sharing = Some(Shared {
            kafka,
            owned: BTreeSet::new(),
        });
        self
    }

    /// Whether this instance derives the case (its result's partition is this instance's).
    fn owns(&self, txn: &WriteTransaction, case_id: &str) -> Result<bool, StoreError> {
        let Some(sharing) = &self.sharing else {
            return Ok(true);
        };
        let partitions = txn.open_table(store::CASE_PARTITION)?;
        let partition = partitions.get(case_id)?.map(|p| p.value());
        Ok(partition.is_some_and(|p| sharing.owned.contains(&p)))
    }

    /// Applies the batch and fires due timers in one transaction; returns the dead letters. New
    /// case revisions wait in the outbox until [`Stage::apply`] sends them (benchmarks call this
    /// directly to time the state alone).
    pub fn absorb(&self, batch: &[Delivered]) -> Result<Vec<(usize, String)>, StoreError> {
        let txn = self.store.begin()?;
        let mut affected = BTreeSet::new();
        let mut dead_letters = Vec::new();
        let (derived_by, derived_under) = {
            let meta = txn.open_table(store::META)?;
            let value = |key: &str| meta.get(key).map(|v| v.map(|v| v.value()));
            (value("rules")?, value("authority")?)
        };
        let new_rules = derived_by != Some(u64::from(RULES_VERSION));
        let new_authority = derived_under != Some(self.fingerprint);
        if new_rules {
            // A state derived by other rules (or a new one): every case is derived again, and
            // a case the new rules derive otherwise is published as a new revision (the credit
            // feed follows); one they derive the same keeps its revision.
            affected.extend(names::migrate(&txn)?);
            if derived_by.is_some() {
                tracing::info!(
                    cases = affected.len(),
                    rules = RULES_VERSION,
                    "new case rules: every case is derived again"
                );
            }
        } else if new_authority {
            // The periods, the working-day calendar (a year's holiday notice added) or the
            // region changed: every deadline is counted again, not only the next a timer meets.
            affected.extend(names::every_case(&txn)?);
            tracing::info!(
                cases = affected.len(),
                "the periods, calendar or region changed: every case is derived again"
            );
        }
        if new_rules || new_authority {
            let mut meta = txn.open_table(store::META)?;
            meta.insert("rules", u64::from(RULES_VERSION))?;
            meta.insert("authority", self.fingerprint)?;
        }
        {
            let mut offsets = txn.open_table(store::OFFSETS)?;
            for (index, delivered) in batch.iter().enumerate() {
                let position = state_file::position_key(&delivered.topic, delivered.partition);
                let next = offsets.get(position.as_str())?.map_or(0, |v| v.value());
                if delivered.offset < next {
                    continue;
                }
                if let Err(reason) = absorb_one(&txn, delivered, &mut affected)? {
                    dead_letters.push((index, reason));
                }
                offsets.insert(position.as_str(), delivered.offset + 1)?;
            }
        }
        let today = self.clock.today();
        affected.extend(due_timers(&txn, today)?);
        for case_id in affected {
            self.rebuild(&txn, &case_id, today)?;
        }
        txn.commit()?;
        Ok(dead_letters)
    }

    /// Builds the case again; if it changed, numbers the new revision and puts it in the outbox.
    fn rebuild(
        &self,
        txn: &WriteTransaction,
        case_id: &str,
        today: NaiveDate,
    ) -> Result<(), StoreError> {
        if !self.owns(txn, case_id)? {
            return Ok(()); // another instance's (its timer stays, for a takeover)
        }
        let Some(result) = txn
            .open_table(store::RESULTS)?
            .get(case_id)?
            .map(|v| v.value().to_vec())
        else {
            return Ok(()); // a disposition ahead of its result: kept until the result comes
        };
        let result: SamplingResult = serde_json::from_slice(&result)?;
        let on_site = crate::onsite::load(txn, case_id)?;
        let held = Held::load(txn, case_id, &result, on_site.as_ref())?;
        let inputs = Inputs {
            on_site: on_site.as_ref(),
            result: &result,
            shipments: &held.shipments,
            units: &held.units,
            dispositions: &held.dispositions,
            producer: &held.producer,
            origin: &held.origin,
        };
        let (mut case, next_change) = assemble(&inputs, today, &self.authority);
        set_timer(txn, case_id, next_change)?;

        // Indexed whether or not the case changed (a state restored from the topic has the
        // cases but not yet this index).
        let mut unit_cases = txn.open_table(store::UNIT_CASES)?;
        for unit in &case.units {
            unit_cases.insert(grouped(&unit.uscc, case_id).as_str(), ())?;
        }
        let mut cases = txn.open_table(store::CASES)?;
        let previous: Option<Case> = match cases.get(case_id)? {
            Some(bytes) => Some(serde_json::from_slice(bytes.value())?),
            None => None,
        };
        if let Some(previous) = &previous {
            // Compared as the previous revision would read if nothing changed. New rules that
            // derive the same case change nothing a reader sees: the revision stands (its
            // `rules` says which rules derived it), rather than every case showing as just
            // updated and the whole state being published again at each upgrade.
            case.revision = previous.revision;
            case.updated_at = previous.updated_at;
            let rules = std::mem::replace(&mut case.rules, previous.rules);
            if &case == previous {
                return Ok(());
            }
            case.rules = rules;
        }
        case.revision = previous.map_or(1, |p| p.revision + 1);
        case.updated_at = self.clock.now();
        let bytes = serde_json::to_vec(&case)?;
        cases.insert(case_id, bytes.as_slice())?;
        let outbox_key = format!("{case_id}\0{:020}", case.revision);
        txn.open_table(store::OUTBOX)?
            .insert(outbox_key.as_str(), bytes.as_slice())?;
        Ok(())
    }

    /// Publishes every outbox entry in order and removes the acknowledged ones (and, after a
    /// restart, those the topic already holds).
    async fn flush_outbox(&mut self) -> Result<usize, StageError> {
        let mut pending: Vec<(String, Outgoing)> = {
            let txn = self.store.db.begin_read().map_err(fatal)?;
            let table = txn.open_table(store::OUTBOX).map_err(fatal)?;
            let mut pending = Vec::new();
            for entry in table.iter().map_err(fatal)? {
                let (key, value) = entry.map_err(fatal)?;
                let key = key.value().to_owned();
                let record = outgoing(&key, value.value().to_vec());
                pending.push((key, record));
            }
            pending
        };
        let store = &self.store;
        let sent_before = self
            .tail
            .leave_out_sent(
                &mut pending,
                |(_, record)| record.event.id.clone(),
                || store.acked_offsets().map_err(fatal),
            )
            .await?;
        if pending.is_empty() && sent_before.is_empty() {
            return Ok(0);
        }
        let (keys, records): (Vec<String>, Vec<Outgoing>) = pending.into_iter().unzip();
        let outcomes = outbox::send(&self.publisher, topics::CASES, &records).await;
        let txn = self.store.begin().map_err(fatal)?;
        let mut failure = None;
        {
            let mut outbox = txn.open_table(store::OUTBOX).map_err(fatal)?;
            for (key, _) in &sent_before {
                outbox.remove(key.as_str()).map_err(fatal)?;
            }
            for (key, outcome) in keys.iter().zip(&outcomes) {
                match outcome {
                    Ok(_) => {
                        outbox.remove(key.as_str()).map_err(fatal)?;
                    }
                    Err(error) => failure = Some(error.to_string()),
                }
            }
            store::mark_acknowledged(&txn, &outbox::acknowledged(&outcomes)).map_err(fatal)?;
        }
        txn.commit().map_err(fatal)?;
        match failure {
            Some(error) => {
                self.tail.send_failed();
                Err(StageError::Transient(format!(
                    "cannot publish case revisions: {error}"
                )))
            }
            None => Ok(keys.len()),
        }
    }
}

/// The record an outbox entry (`case_id \0 revision`) is sent as.
fn outgoing(key: &str, payload: Vec<u8>) -> Outgoing {
    let (case_id, revision) = key.split_once('\0').unwrap_or((key, "0"));
    let revision = revision.trim_start_matches('0');
    Outgoing {
        key: case_id.to_owned(),
        payload,
        event: CloudEvent::new(
            format!("{case_id}:{revision}"),
            event_types::CASE,
            "/spotcheck/traceback".into(),
        ),
    }
}

/// What the state holds for one case besides its result: its dispositions, who its subjects
/// are, its batch's shipments (under every key the batch is known by) and the registry entries
/// of the units they name. Loading it also indexes the case under those keys and names.
struct Held {
    dispositions: Vec<Disposition>,
    producer: Identity,
    origin: Identity,
    shipments: Vec<Shipment>,
    units: BTreeMap<String, Unit>,
}

impl Held {
    fn load(
        txn: &WriteTransaction,
        case_id: &str,
        result: &SamplingResult,
        on_site: Option<&OnSiteCase>,
    ) -> Result<Self, StoreError> {
        let dispositions: Vec<Disposition> =
            store::values_with_prefix(&txn.open_table(store::DISPOSITIONS)?, case_id)?
                .iter()
                .map(|bytes| serde_json::from_slice(bytes))
                .collect::<Result<_, _>>()?;
        // A finding without a labelled producer (a 三无 product, a refusal, a danger of the site)
        // has no batch to trace and no producer to identify.
        let traced = crate::assemble::traces_batch(on_site, result);
        let known_names = names::load_names(txn, result, traced)?;
        let producer = if traced {
            identify(Named::producer(result), &dispositions, &known_names)
        } else {
            Identity::none()
        };
        let origin = identify(Named::sampled_unit(result), &dispositions, &known_names);
        let trace_keys = if traced {
            names::case_keys(txn, result, producer.uscc.as_deref())?
        } else {
            Vec::new()
        };
        let shipments = names::load_shipments(txn, &trace_keys)?;
        let mut units = BTreeMap::new();
        let registry = txn.open_table(store::UNITS)?;
        let supplier = on_site
            .and_then(|c| c.finding.supplier.as_ref())
            .and_then(|s| s.uscc.as_ref())
            .map(ToString::to_string);
        let mentioned = shipments
            .iter()
            .flat_map(|s| [s.from.uscc.to_string(), s.to.uscc.to_string()])
            .chain(origin.uscc.clone())
            .chain(producer.uscc.clone())
            .chain(supplier);
        for uscc in mentioned {
            if units.contains_key(&uscc) {
                continue;
            }
            if let Some(bytes) = registry.get(uscc.as_str())? {
                let unit: Unit = serde_json::from_slice(bytes.value())?;
                units.insert(uscc, unit);
            }
        }
        drop(registry);
        let seller = (SubjectRole::Seller, &origin);
        let parties = if traced {
            vec![seller, (SubjectRole::Producer, &producer)]
        } else {
            vec![seller]
        };
        names::index_case(txn, case_id, result, &trace_keys, &parties)?;
        Ok(Self {
            dispositions,
            producer,
            origin,
            shipments,
            units,
        })
    }
}

/// Stores one record; `Ok(Err(reason))` when it cannot be decoded (a dead letter).
fn absorb_one(
    txn: &WriteTransaction,
    delivered: &Delivered,
    affected: &mut BTreeSet<String>,
) -> Result<Result<(), String>, StoreError> {
    let payload = delivered.payload.as_slice();
    match delivered.topic.as_str() {
        topics::RESULTS => {
            let result: SamplingResult = match serde_json::from_slice(payload) {
                Ok(result) => result,
                Err(e) => return Ok(Err(format!("not a sampling result: {e}"))),
            };
            if result.verdict != Verdict::Fail {
                return Ok(Ok(()));
            }
            let case_id = spotcheck_schemas::case_id(&result.lab_id, &result.report_no);
            txn.open_table(store::RESULTS)?
                .insert(case_id.as_str(), payload)?;
            txn.open_table(store::CASE_PARTITION)?
                .insert(case_id.as_str(), delivered.partition)?;
            affected.insert(case_id);
        }
        topics::SHIPMENTS => {
            let shipment: Shipment = match serde_json::from_slice(payload) {
                Ok(shipment) => shipment,
                Err(e) => return Ok(Err(format!("not a shipment: {e}"))),
            };
            names::record_shipment(txn, &shipment, payload, affected)?;
        }
        topics::UNITS => {
            let unit: Unit = match serde_json::from_slice(payload) {
                Ok(unit) => unit,
                Err(e) => return Ok(Err(format!("not a unit: {e}"))),
            };
            names::record_unit(txn, &unit, payload, affected)?;
        }
        topics::DISPOSITIONS => {
            let disposition: Disposition = match serde_json::from_slice(payload) {
                Ok(disposition) => disposition,
                Err(e) => return Ok(Err(format!("not a disposition: {e}"))),
            };
            let case_id = disposition.case_id();
            txn.open_table(store::DISPOSITIONS)?.insert(
                grouped(&case_id, &disposition.disposition_id).as_str(),
                payload,
            )?;
            if names::is_identification(&disposition) {
                names::record_identified(txn, &disposition, affected)?;
            }
            affected.insert(case_id);
        }
        topics::INSPECTIONS => {
            let inspection: Inspection = match serde_json::from_slice(payload) {
                Ok(inspection) => inspection,
                Err(e) => return Ok(Err(format!("not an inspection: {e}"))),
            };
            crate::onsite::record_inspection(txn, &inspection, affected)?;
        }
        other => return Ok(Err(format!("the traceback stage does not read {other}"))),
    }
    Ok(Ok(()))
}

/// The cases whose timer is due on or before `today` (their timers are reset by the rebuild).
fn due_timers(txn: &WriteTransaction, today: NaiveDate) -> Result<Vec<String>, StoreError> {
    let timers = txn.open_table(store::TIMERS)?;
    let end = format!("{today}\u{1}");
    let mut due = Vec::new();
    for entry in timers.range(..end.as_str())? {
        let (key, _) = entry?;
        if let Some((_, case_id)) = key.value().split_once('\0') {
            due.push(case_id.to_owned());
        }
    }
    Ok(due)
}

fn set_timer(
    txn: &WriteTransaction,
    case_id: &str,
    next: Option<NaiveDate>,
) -> Result<(), StoreError> {
    let mut by_case = txn.open_table(store::CASE_TIMER)?;
    let mut timers = txn.open_table(store::TIMERS)?;
    if let Some(old) = by_case.remove(case_id)?.map(|v| v.value().to_owned()) {
        timers.remove(old.as_str())?;
    }
    if let Some(next) = next {
        let key = grouped(&next.to_string(), case_id);
        timers.insert(key.as_str(), ())?;
        by_case.insert(case_id, key.as_str())?;
    }
    Ok(())
}

fn fatal(error: impl std::fmt::Display) -> StageError {
    StageError::Fatal(format!("the traceback state failed: {error}"))
}

#[async_trait]
impl Stage for TracebackStage {
    fn name(&self) -> &'static str {
        "traceback"
    }

    async fn apply(&mut self, batch: &[Delivered]) -> Result<Applied, StageError> {
        // Left over from a crash or a failed send: out before anything newer.
        self.flush_outbox().await?;
        let dead_letters = self.absorb(batch).map_err(fatal)?;
        self.flush_outbox().await?;
        // Applied and sent: the batch's offsets may be committed, so the group's committed
        // offsets say how far the cases have come.
        Ok(Applied {
            dead_letters,
            ..Applied::default()
        })
    }

    async fn idle(&mut self) -> Result<Applied, StageError> {
        self.absorb(&[]).map_err(fatal)?;
        self.flush_outbox().await?;
        Ok(Applied::nothing())
    }

    async fn finish(&mut self) -> Result<Applied, StageError> {
        self.flush_outbox().await?;
        Ok(Applied::nothing())
    }

    async fn passed(&mut self, records: &[Delivered]) -> Result<(), StageError> {
        state_file::pass(&self.store.db, records).map_err(fatal)
    }

    async fn partitions_assigned(
        &mut self,
        partitions: &[(String, i32)],
    ) -> Result<(), StageError> {
        let Some(sharing) = &mut self.sharing else {
            return Ok(());
        };
        let taken: Vec<i32> = partitions
            .iter()
            .filter(|(topic, _)| topic == topics::RESULTS)
            .map(|(_, partition)| *partition)
            .collect();
        if taken.is_empty() {
            return Ok(());
        }
        sharing.owned.extend(&taken);
        // Blocking reads of the cases topic, before any record of the new partitions is read.
        let (store, kafka) = (&self.store, &sharing.kafka);
        let caught_up =
            tokio::task::block_in_place(|| crate::restore::catch_up_published_cases(store, kafka));
        match caught_up {
            Ok(newer) => tracing::info!(?taken, newer, "took results partitions over"),
            // The stage goes on; a case may then repeat a revision its previous owner published.
            Err(error) => tracing::error!(%error, "cannot read the published cases back"),
        }
        Ok(())
    }

    fn partitions_revoked(&mut self, partitions: &[(String, i32)]) {
        if let Some(sharing) = &mut self.sharing {
            for (topic, partition) in partitions {
                if topic == topics::RESULTS {
                    sharing.owned.remove(partition);
                }
            }
        }
    }

    /// The state's own offsets: a new or restored state file is rebuilt from the topics.
    fn resume_at(&self, topic: &str, partition: i32) -> Option<i64> {
        state_file::position(&self.store.db, topic, partition).ok()
    }
}

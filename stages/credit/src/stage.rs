//! The credit stage: reads case revisions, decides the disclosures ([`crate::decide`]), appends
//! them to the feed and sends them to `spotcheck.credit.v1` — exactly once on both.
//!
//! Exactly once without Kafka transactions (the brokers here have none):
//! - Decisions are idempotent: one `disclosure_id` per (case, subject, role), and the newest
//!   disclosure per id is kept; each case revision is reconciled with it, so a redelivered or
//!   repeated revision decides nothing new, and a changed one corrects or retracts.
//! - The feed append, the last actions and the source offsets are one redb transaction: after a
//!   crash either all of a batch's effects are there (and its records are skipped when
//!   redelivered) or none are (and they are decided again, identically).
//! - The topic is fed from the feed, in order, and a mark records how far the broker has
//!   acknowledged (feed position, and the offsets per partition). Within a session the idempotent
//!   producer removes duplicate sends; after a restart, the unmarked tail is first compared with
//!   what the topic holds after the marked offsets ([`outbox::TailCheck`]), so a crash between
//!   the broker's acknowledgement and the mark does not put a disclosure there twice.

use crate::decide::reconcile;
use crate::store::{self, CreditStore, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::ReadableTable;
use spotcheck_runtime::outbox::{self, Outgoing, TailCheck};
use spotcheck_runtime::state_file;
use spotcheck_runtime::{Applied, CloudEvent, Delivered, Publisher, Stage, StageError};
use spotcheck_schemas::topics::{self, event_types};
use spotcheck_schemas::{Case, Disclosure};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The time disclosures are stamped with; tests pin it.
pub type Now = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub struct CreditStage {
    store: Arc<CreditStore>,
    publisher: Publisher,
    now: Now,
    /// The unmarked tail is checked against the topic after a start and a failed send.
    tail: TailCheck,
    /// Time from a case revision's event time to its disclosures being appended to the feed.
    delay: Option<prometheus::Histogram>,
}

impl CreditStage {
    pub fn new(store: Arc<CreditStore>, publisher: Publisher, now: Now) -> Self {
        Self {
            store,
            tail: TailCheck::new(&publisher, topics::CREDIT),
            publisher,
            now,
            delay: None,
        }
    }

    /// Observes the disclosure delay (`spotcheck_disclosure_delay_seconds`) in `registry`.
    pub fn register_delay_metric(
        &mut self,
        registry: &prometheus::Registry,
    ) -> prometheus::Result<()> {
        let family = spotcheck_runtime::metrics::histogram(
            registry,
            spotcheck_runtime::metrics::names::DISCLOSURE_DELAY,
            "Time from a case revision's event time to its disclosures on the feed",
            &[],
        )?;
        self.delay = Some(family.with_label_values::<&str>(&[]));
        Ok(())
    }

    fn observe_delay(&self, delivered: &Delivered) {
        let (Some(delay), Some(time)) = (self.delay.as_ref(), delivered.header("ce_time")) else {
            return;
        };
        if let Ok(time) = chrono::DateTime::parse_from_rfc3339(&time) {
            let elapsed = (self.now)().signed_duration_since(time.with_timezone(&chrono::Utc));
            delay.observe(elapsed.num_milliseconds().max(0) as f64 / 1000.0);
        }
    }

    /// Decides and appends in one transaction; returns the dead letters.
    fn absorb(&self, batch: &[Delivered]) -> Result<Vec<(usize, String)>, StoreError> {
        let txn = self.store.db.begin_write()?;
        let mut dead_letters = Vec::new();
        let mut appended = 0;
        {
            let mut offsets = txn.open_table(store::OFFSETS)?;
            let mut feed = txn.open_table(store::FEED)?;
            let mut last_table = txn.open_table(store::LAST)?;
            let mut case_ids = txn.open_table(store::CASE_IDS)?;
            let mut position = feed.last()?.map_or(0, |(k, _)| k.value());
            for (index, delivered) in batch.iter().enumerate() {
                let key = state_file::position_key(&delivered.topic, delivered.partition);
                let next = offsets.get(key.as_str())?.map_or(0, |v| v.value());
                if delivered.offset < next {
                    continue;
                }
                offsets.insert(key.as_str(), delivered.offset + 1)?;
                let case: Case = match serde_json::from_slice(&delivered.payload) {
                    Ok(case) => case,
                    Err(e) => {
                        dead_letters.push((index, format!("not a case: {e}")));
                        continue;
                    }
                };
                let mut last = BTreeMap::new();
                for id in store::ids_of_case(&case_ids, &case.case_id)? {
                    if let Some(bytes) = last_table.get(id.as_str())? {
                        let disclosure: Disclosure = serde_json::from_slice(bytes.value())?;
                        last.insert(id, disclosure);
                    }
                }
                let decided = reconcile(&case, &last, (self.now)());
                if !decided.is_empty() {
                    self.observe_delay(delivered);
                }
                for disclosure in decided {
                    position += 1;
                    let bytes = serde_json::to_vec(&disclosure)?;
                    feed.insert(position, bytes.as_slice())?;
                    last_table.insert(disclosure.disclosure_id.as_str(), bytes.as_slice())?;
                    case_ids.insert(
                        format!("{}\0{}", disclosure.case_id, disclosure.disclosure_id).as_str(),
                        (),
                    )?;
                    appended += 1;
                }
            }
        }
        txn.commit()?;
        if appended > 0 {
            self.store.grew.notify_waiters();
        }
        Ok(dead_letters)
    }

    /// Sends the feed's unacknowledged tail to the topic, in order — after a restart or a failed
    /// send, without what already reached it ([`TailCheck`]).
    async fn publish_tail(&mut self) -> Result<(), StageError> {
        let mut pending = self.store.unpublished().map_err(fatal)?;
        let Some(last) = pending.last().map(|(position, _)| *position) else {
            self.tail.nothing_pending();
            return Ok(());
        };
        let store = &self.store;
        self.tail
            .leave_out_sent(
                &mut pending,
                |(_, disclosure)| event_id(disclosure),
                || store.acked_offsets().map_err(fatal),
            )
            .await?;
        let outgoing: Vec<Outgoing> = pending
            .iter()
            .map(|(_, disclosure)| Outgoing {
                key: disclosure.subject.uscc.clone(),
                payload: serde_json::to_vec(disclosure).unwrap_or_default(),
                event: CloudEvent::new(
                    event_id(disclosure),
                    event_types::DISCLOSURE,
                    "/spotcheck/credit".into(),
                ),
            })
            .collect();
        let outcomes = outbox::send(&self.publisher, topics::CREDIT, &outgoing).await;
        if let Some(Err(error)) = outcomes.iter().find(|outcome| outcome.is_err()) {
            // Nothing is marked: the tail is checked against the topic and sent again.
            self.tail.send_failed();
            return Err(StageError::Transient(format!(
                "cannot publish disclosures: {error}"
            )));
        }
        let acked = outbox::acknowledged(&outcomes);
        self.store.mark_published(last, &acked).map_err(fatal)
    }
}

/// The `ce_id` of a disclosure on the topic: one per (disclosure, revision) — the first action
/// keeps the `id:publish` form it always had.
fn event_id(disclosure: &Disclosure) -> String {
    if disclosure.revision <= 1 {
        format!("{}:{}", disclosure.disclosure_id, disclosure.action)
    } else {
        format!("{}:r{}", disclosure.disclosure_id, disclosure.revision)
    }
}

fn fatal(error: impl std::fmt::Display) -> StageError {
    StageError::Fatal(format!("the credit state failed: {error}"))
}

#[async_trait]
impl Stage for CreditStage {
    fn name(&self) -> &'static str {
        "credit"
    }

    async fn apply(&mut self, batch: &[Delivered]) -> Result<Applied, StageError> {
        self.publish_tail().await?;
        let dead_letters = self.absorb(batch).map_err(fatal)?;
        self.publish_tail().await?;
        // The batch's effects are durable (and sent): its offsets may be committed, so the
        // group's committed offsets say how far the feed has come.
        Ok(Applied {
            dead_letters,
            ..Applied::default()
        })
    }

    async fn idle(&mut self) -> Result<Applied, StageError> {
        self.publish_tail().await?;
        Ok(Applied::nothing())
    }

    async fn finish(&mut self) -> Result<Applied, StageError> {
        self.idle().await
    }

    async fn passed(&mut self, records: &[Delivered]) -> Result<(), StageError> {
        state_file::pass(&self.store.db, records).map_err(fatal)
    }

    /// The feed's own offsets: a new or restored feed file is rebuilt from the cases topic.
    fn resume_at(&self, topic: &str, partition: i32) -> Option<i64> {
        state_file::position(&self.store.db, topic, partition).ok()
    }
}

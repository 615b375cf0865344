//! Where records meet in the traceback state, and who waits for whom.
//!
//! - **Trace keys.** A batch is (producer, model, batch code), and the producer part is its
//!   credit code when known (docs/domain.md, "Identifiers"): a shipment whose ledger gives the
//!   producer's code is stored under `U:<uscc>/<MODEL>/<BATCH>`, one without it under
//!   `N:<name key>/<MODEL>/<BATCH>` ([`name_key`]; the model by [`product_key`], as a shop's
//!   ledger writes `ABS-V型` for the lab's `ABS-Ⅴ`, the batch by [`batch_code_key`], as it
//!   writes `2026.3.1` for `20260301`). A case reads its batch under its producer's
//!   code and under every name of that producer (the result's, the registry's), by the batch
//!   code and by the production date the result gives (a ledger that records the date alone).
//! - **The alias table.** Registered units by name key (`store::NAMES`), the newest official
//!   identification of each name (`store::OFFICIAL`), and the codes ledgers give a producer
//!   name for a batch (`store::LEDGER`).
//! - **Who waits.** A case that identifies a party by name is indexed under that name
//!   (`store::WAITING`): a registration or an official identification of the name derives it
//!   again. The parties still unidentified form the identification queue (`store::PENDING`).

use crate::identify::{Identity, NameFacts, Named, Names};
use crate::store::{self, StoreError, grouped, keys_with_prefix};
use redb::{ReadableTable, WriteTransaction};
use spotcheck_schemas::keys::{BatchKey, batch_code_key, name_key, product_key};
use spotcheck_schemas::{
    Disposition, DispositionKind, SamplingResult, Shipment, SubjectRole, Unit,
};
use std::collections::{BTreeMap, BTreeSet};

/// The trace key of a batch of the producer with credit code `uscc`.
pub fn uscc_key(uscc: &str, model: &str, batch: &str) -> String {
    BatchKey::new(
        &format!("U:{uscc}"),
        &product_key(model),
        &batch_code_key(batch),
    )
    .to_string()
}

/// The trace key of a batch of the producer named `name` (no code known).
pub fn name_trace_key(name: &str, model: &str, batch: &str) -> String {
    let (producer, model) = (format!("N:{}", name_key(name)), product_key(model));
    BatchKey::new(&producer, &model, &batch_code_key(batch)).to_string()
}

/// Where a shipment is stored: under its producer's code when the ledger gives it.
pub fn shipment_key(shipment: &Shipment) -> String {
    let product = &shipment.product;
    match &product.producer_uscc {
        Some(uscc) => uscc_key(uscc.as_str(), &product.model, &product.batch),
        None => name_trace_key(&product.producer_name, &product.model, &product.batch),
    }
}

/// Stores a shipment; adds the cases it affects.
pub(crate) fn record_shipment(
    txn: &WriteTransaction,
    shipment: &Shipment,
    payload: &[u8],
    affected: &mut BTreeSet<String>,
) -> Result<(), StoreError> {
    let key = shipment_key(shipment);
    txn.open_table(store::SHIPMENTS)?
        .insert(grouped(&key, &shipment.shipment_id).as_str(), payload)?;
    let batch_cases = txn.open_table(store::BATCH_CASES)?;
    affected.extend(keys_with_prefix(&batch_cases, &key)?);
    if let Some(uscc) = &shipment.product.producer_uscc {
        // The ledger names the producer's code: cases that know the producer by name only
        // may now be identified (and meet these shipments).
        let product = &shipment.product;
        let by_name = name_trace_key(&product.producer_name, &product.model, &product.batch);
        txn.open_table(store::LEDGER)?
            .insert(grouped(&by_name, uscc.as_str()).as_str(), ())?;
        affected.extend(keys_with_prefix(&batch_cases, &by_name)?);
    }
    Ok(())
}

/// Stores a unit of the registry; adds the cases that mention it or wait on its name (old or new).
pub(crate) fn record_unit(
    txn: &WriteTransaction,
    unit: &Unit,
    payload: &[u8],
    affected: &mut BTreeSet<String>,
) -> Result<(), StoreError> {
    let uscc = unit.uscc.to_string();
    let mut units = txn.open_table(store::UNITS)?;
    let previous: Option<Unit> = match units.get(uscc.as_str())? {
        Some(bytes) => serde_json::from_slice(bytes.value()).ok(),
        None => None,
    };
    units.insert(uscc.as_str(), payload)?;
    let mut names = txn.open_table(store::NAMES)?;
    let waiting = txn.open_table(store::WAITING)?;
    if let Some(previous) = previous {
        let old = name_key(&previous.name);
        names.remove(grouped(&old, &uscc).as_str())?;
        affected.extend(keys_with_prefix(&waiting, &old)?);
    }
    let key = name_key(&unit.name);
    names.insert(grouped(&key, &uscc).as_str(), ())?;
    affected.extend(keys_with_prefix(&waiting, &key)?);
    affected.extend(keys_with_prefix(
        &txn.open_table(store::UNIT_CASES)?,
        &uscc,
    )?);
    Ok(())
}

/// Records an official identification (name → code) for every case that names the unit so; adds
/// the cases waiting on the name.
pub(crate) fn record_identified(
    txn: &WriteTransaction,
    disposition: &Disposition,
    affected: &mut BTreeSet<String>,
) -> Result<(), StoreError> {
    let (Some(name), Some(uscc)) = (&disposition.name, &disposition.uscc) else {
        return Ok(());
    };
    let key = name_key(name);
    let value = format!("{}\0{}\0{uscc}", disposition.on, disposition.disposition_id);
    let mut official = txn.open_table(store::OFFICIAL)?;
    let newer = match official.get(key.as_str())? {
        Some(stored) => value.as_str() > stored.value(),
        None => true,
    };
    if newer {
        official.insert(key.as_str(), value.as_str())?;
    }
    affected.extend(keys_with_prefix(&txn.open_table(store::WAITING)?, &key)?);
    Ok(())
}

/// What the alias table knows of the producer's and the sampled unit's names.
pub(crate) fn load_names(
    txn: &WriteTransaction,
    result: &SamplingResult,
    with_producer: bool,
) -> Result<Names, StoreError> {
    let registry = txn.open_table(store::NAMES)?;
    let units = txn.open_table(store::UNITS)?;
    let official = txn.open_table(store::OFFICIAL)?;
    let ledger = txn.open_table(store::LEDGER)?;
    let mut names = Names::new();
    let producer = with_producer.then(|| Named::producer(result));
    let parties = producer.into_iter().chain([Named::sampled_unit(result)]);
    let keys = parties.flat_map(|party| [Some(name_key(party.name)), party.district_key()]);
    for key in keys.flatten() {
        if names.contains_key(&key) {
            continue;
        }
        let mut facts = NameFacts::default();
        for uscc in keys_with_prefix(&registry, &key)? {
            if let Some(bytes) = units.get(uscc.as_str())? {
                facts
                    .registered
                    .push(serde_json::from_slice(bytes.value())?);
            }
        }
        facts.official = official
            .get(key.as_str())?
            .and_then(|v| v.value().rsplit('\0').next().map(str::to_owned));
        if let Some(uscc) = &facts.official {
            let registered: Option<Unit> = match units.get(uscc.as_str())? {
                Some(bytes) => serde_json::from_slice(bytes.value()).ok(),
                None => None,
            };
            facts.official_district = registered.and_then(|unit| unit.district).or_else(|| {
                uscc.get(2..8)
                    .filter(|code| spotcheck_schemas::region::district_name(code).is_some())
                    .map(str::to_owned)
            });
        }
        names.insert(key, facts);
    }
    // The ledger speaks of the producer of this batch only.
    if !with_producer {
        return Ok(names);
    }
    let product = &result.product;
    let by_name = name_trace_key(&result.producer.name, &product.model, &product.batch);
    let codes = keys_with_prefix(&ledger, &by_name)?;
    if let Some(facts) = names.get_mut(&name_key(&result.producer.name)) {
        facts.ledger = codes;
    }
    Ok(names)
}

/// The trace keys a case reads its batch under: the producer's code and each of its names.
pub(crate) fn case_keys(
    txn: &WriteTransaction,
    result: &SamplingResult,
    producer: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let product = &result.product;
    let registered = match producer {
        Some(uscc) => match txn.open_table(store::UNITS)?.get(uscc)? {
            Some(bytes) => Some(serde_json::from_slice::<Unit>(bytes.value())?.name),
            None => None,
        },
        None => None,
    };
    let mut keys = Vec::new();
    // The batch by its code and, where the label gives one, by its production date: shops'
    // ledgers often record the date alone (进货台账: 生产日期).
    let date = product.production_date.map(|date| date.to_string());
    for batch in std::iter::once(product.batch.as_str()).chain(date.as_deref()) {
        keys.push(name_trace_key(&result.producer.name, &product.model, batch));
        if let Some(uscc) = producer {
            keys.push(uscc_key(uscc, &product.model, batch));
        }
        if let Some(name) = &registered {
            keys.push(name_trace_key(name, &product.model, batch));
        }
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// The batch's shipments under every key, each once.
pub(crate) fn load_shipments(
    txn: &WriteTransaction,
    keys: &[String],
) -> Result<Vec<Shipment>, StoreError> {
    let table = txn.open_table(store::SHIPMENTS)?;
    let mut by_id: BTreeMap<String, Shipment> = BTreeMap::new();
    for key in keys {
        for bytes in store::values_with_prefix(&table, key)? {
            let shipment: Shipment = serde_json::from_slice(&bytes)?;
            by_id.insert(shipment.shipment_id.clone(), shipment);
        }
    }
    Ok(by_id.into_values().collect())
}

/// Indexes the case under its trace keys and the names it identifies by, and puts its
/// unidentified parties in the identification queue (taking out what it put there before).
pub(crate) fn index_case(
    txn: &WriteTransaction,
    case_id: &str,
    result: &SamplingResult,
    trace_keys: &[String],
    parties: &[(SubjectRole, &Identity)],
) -> Result<(), StoreError> {
    let mut batch_cases = txn.open_table(store::BATCH_CASES)?;
    for key in trace_keys {
        batch_cases.insert(grouped(key, case_id).as_str(), ())?;
    }
    let mut waiting = txn.open_table(store::WAITING)?;
    let mut pending = txn.open_table(store::PENDING)?;
    let mut case_pending = txn.open_table(store::CASE_PENDING)?;
    if let Some(old) = case_pending.remove(case_id)? {
        let old: Vec<String> = serde_json::from_slice(old.value())?;
        for key in old {
            pending.remove(key.as_str())?;
        }
    }
    let mut queued = Vec::new();
    // Where the sampled unit is, though the result may not say it (天津市河西区某店).
    let placed = result.sampled_unit.placed_district();
    for &(role, identity) in parties {
        if identity.by == Some("given") {
            continue;
        }
        let (name, district, address) = match role {
            SubjectRole::Seller => (
                &result.sampled_unit.name,
                placed.as_deref(),
                result.sampled_unit.address.as_deref(),
            ),
            SubjectRole::Producer => (
                &result.producer.name,
                None,
                result.producer.address.as_deref(),
            ),
        };
        let key = name_key(name);
        waiting.insert(grouped(&key, case_id).as_str(), ())?;
        // A registration under the name with its district before it identifies it too.
        let party = match role {
            SubjectRole::Seller => Named::sampled_unit(result),
            SubjectRole::Producer => Named::producer(result),
        };
        if let Some(district_key) = party.district_key() {
            waiting.insert(grouped(&district_key, case_id).as_str(), ())?;
        }
        if identity.uscc.is_some() {
            continue;
        }
        let entry_key = format!("{key}\0{case_id}\0{role}");
        let entry = serde_json::json!({
            "name": name, "role": role, "case_id": case_id, "report_no": result.report_no,
            "lab_id": result.lab_id, "district": district, "address": address,
            "reason": identity.reason,
        });
        pending.insert(entry_key.as_str(), serde_json::to_vec(&entry)?.as_slice())?;
        queued.push(entry_key);
    }
    if !queued.is_empty() {
        case_pending.insert(case_id, serde_json::to_vec(&queued)?.as_slice())?;
    }
    Ok(())
}

/// Whether a disposition identifies a unit (and so feeds the alias table).
pub(crate) fn is_identification(disposition: &Disposition) -> bool {
    disposition.kind == DispositionKind::Identified
}

/// Re-keys the stored shipments and rebuilds the alias table from the stored units and
/// dispositions: the migration of a state derived by an older rules version. Returns every case.
pub(crate) fn migrate(txn: &WriteTransaction) -> Result<BTreeSet<String>, StoreError> {
    // The alias table is keyed by name keys, which new rules may spell otherwise: it is built
    // again whole, from the units, shipments and identifications below.
    txn.delete_table(store::NAMES)?;
    txn.delete_table(store::OFFICIAL)?;
    txn.delete_table(store::LEDGER)?;
    let mut shipments = Vec::new();
    {
        let table = txn.open_table(store::SHIPMENTS)?;
        for entry in table.iter()? {
            let (key, value) = entry?;
            shipments.push((key.value().to_owned(), value.value().to_vec()));
        }
    }
    let mut ignored = BTreeSet::new();
    {
        let mut table = txn.open_table(store::SHIPMENTS)?;
        for (key, _) in &shipments {
            table.remove(key.as_str())?;
        }
    }
    for (_, payload) in &shipments {
        let shipment: Shipment = serde_json::from_slice(payload)?;
        record_shipment(txn, &shipment, payload, &mut ignored)?;
    }
    let units: Vec<Vec<u8>> = {
        let table = txn.open_table(store::UNITS)?;
        let mut all = Vec::new();
        for entry in table.iter()? {
            all.push(entry?.1.value().to_vec());
        }
        all
    };
    for payload in units {
        let unit: Unit = serde_json::from_slice(&payload)?;
        let key = name_key(&unit.name);
        txn.open_table(store::NAMES)?
            .insert(grouped(&key, unit.uscc.as_str()).as_str(), ())?;
    }
    let dispositions: Vec<Disposition> = {
        let table = txn.open_table(store::DISPOSITIONS)?;
        let mut all = Vec::new();
        for entry in table.iter()? {
            let bytes = entry?.1.value().to_vec();
            if let Ok(d) = serde_json::from_slice::<Disposition>(&bytes) {
                all.push(d);
            }
        }
        all
    };
    for disposition in dispositions.iter().filter(|d| is_identification(d)) {
        record_identified(txn, disposition, &mut ignored)?;
    }
    // Old batch keys index nothing now; every case indexes itself again when derived.
    let stale: Vec<String> = {
        let table = txn.open_table(store::BATCH_CASES)?;
        let mut all = Vec::new();
        for entry in table.iter()? {
            all.push(entry?.0.value().to_owned());
        }
        all
    };
    {
        let mut table = txn.open_table(store::BATCH_CASES)?;
        for key in stale
            .iter()
            .filter(|k| !k.starts_with("U:") && !k.starts_with("N:"))
        {
            table.remove(key.as_str())?;
        }
    }
    every_case(txn)
}

/// Every case of the state (one per stored result).
pub(crate) fn every_case(txn: &WriteTransaction) -> Result<BTreeSet<String>, StoreError> {
    let mut cases = BTreeSet::new();
    for entry in txn.open_table(store::RESULTS)?.iter()? {
        cases.insert(entry?.0.value().to_owned());
    }
    Ok(cases)
}

//! Who a subject is when the result names it without a credit code (docs/domain.md, "Subjects without
//! a credit code"): pure, so every way of matching is tested without a store.
//!
//! In order: the code the result gives; an official's `identified` disposition on this case; the
//! code the result gives its other party of the same name (a producer sampled at its own works,
//! its code in the sampled unit's column only); the newest official identification of the same
//! name on any case; the unit registry by normalised
//! name, narrowed by district (or by a district named in the address) when the record gives one,
//! then by the name with that district before it (鑫盛五金店 in 河西区 = 天津市河西区鑫盛五金店);
//! for the producer, the credit code the ledger's shipments of the same batch give under the same
//! name. Otherwise identification is pending: nothing is served or disclosed to the subject, and
//! the case waits in the identification queue until a registration or an official settles it.

use spotcheck_schemas::columns::{district_from_zh, district_in_name};
use spotcheck_schemas::keys::name_key;
use spotcheck_schemas::region::district_name;
use spotcheck_schemas::{Disposition, DispositionKind, SamplingDomain, SamplingResult, Unit};
use std::collections::BTreeMap;

/// What is known of one name: the registered units and officials' identifications.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NameFacts {
    /// Units registered under this name key.
    pub registered: Vec<Unit>,
    /// The newest official identification of this name on any case: the credit code.
    pub official: Option<String>,
    /// Where the unit so identified is: its registered district, else its code's registering
    /// district (92120103… → 120103); `None` when neither says.
    pub official_district: Option<String>,
    /// Credit codes the ledger gives for this name and the case's batch.
    pub ledger: Vec<String>,
}

/// The name facts of every name key a case mentions.
pub type Names = BTreeMap<String, NameFacts>;

/// A party as the result names it.
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    pub name: &'a str,
    pub uscc: Option<&'a str>,
    /// The division code the record gives, if any.
    pub district: Option<&'a str>,
    pub address: Option<&'a str>,
    /// Whether the ledger may identify it (the producer of the batch).
    pub by_ledger: bool,
    /// The code the result gives its other party, when that party has the same name.
    pub namesake: Option<&'a str>,
}

impl<'a> Named<'a> {
    /// The nominal producer as the result names it (the ledger may identify it).
    pub fn producer(result: &'a SamplingResult) -> Self {
        Self {
            name: &result.producer.name,
            uscc: result
                .producer
                .uscc
                .as_ref()
                .map(spotcheck_schemas::Uscc::as_str)
                .filter(|_| !code_copied(result)),
            district: None,
            address: result.producer.address.as_deref(),
            by_ledger: true,
            namesake: namesake(
                &result.producer.name,
                &result.sampled_unit.name,
                result.sampled_unit.uscc.as_ref(),
            ),
        }
    }

    /// The sampled unit as the result names it.
    pub fn sampled_unit(result: &'a SamplingResult) -> Self {
        let unit = &result.sampled_unit;
        Self {
            name: &unit.name,
            uscc: unit.uscc.as_ref().map(spotcheck_schemas::Uscc::as_str),
            district: unit.district.as_deref(),
            address: unit.address.as_deref(),
            by_ledger: false,
            namesake: namesake(
                &unit.name,
                &result.producer.name,
                result.producer.uscc.as_ref(),
            ),
        }
    }
}

impl Named<'_> {
    /// The key of the party's name with its district before it, when the name names none: units
    /// registered in a district carry it in their name (天津市河西区鑫盛五金店), and records write
    /// the trade name alone (鑫盛五金店) beside the district or an address in it. `None` when
    /// the name names a district or the record places the party in none of Tianjin's.
    pub fn district_key(&self) -> Option<String> {
        if district_in_name(self.name).is_some() {
            return None;
        }
        let code = match self.district {
            Some(code) => code.to_owned(),
            None => district_from_zh(self.address?)?,
        };
        let district = district_name(&code)?;
        let trade_name = self
            .name
            .trim()
            .trim_start_matches("天津市")
            .trim_start_matches("天津");
        Some(name_key(&format!("{district}{trade_name}")))
    }
}

/// Whether the result gives the producer the sampled unit's code though it was sampled from a
/// seller (not at the works) and names another enterprise: a code copied from the other column
/// (the sampling form's code, checked on the spot against the licence, is the sampled unit's).
/// Taken as given, the seller was recorded and disclosed as the producer, and the producer not
/// at all.
pub fn code_copied(result: &SamplingResult) -> bool {
    let (producer, unit) = (&result.producer, &result.sampled_unit);
    result.sampling.domain != SamplingDomain::Production
        && producer.uscc.is_some()
        && producer.uscc == unit.uscc
        && name_key(&producer.name) != name_key(&unit.name)
}

/// The code the result gives its other party (`other`, `code`), if that party is named `name` too.
fn namesake<'a>(
    name: &str,
    other: &str,
    code: Option<&'a spotcheck_schemas::Uscc>,
) -> Option<&'a str> {
    code.filter(|_| name_key(name) == name_key(other))
        .map(spotcheck_schemas::Uscc::as_str)
}

/// How a party was identified, or why it is not.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub uscc: Option<String>,
    /// `given`, `official`, `same_name`, `registry_name`, `registry_name_district`, `ledger`.
    pub by: Option<&'static str>,
    /// How it was matched, or why not, in words.
    pub reason: Option<String>,
    /// The registry's name, when matched there (shown instead of the label's spelling).
    pub registered_name: Option<String>,
}

impl Identity {
    fn found(uscc: &str, by: &'static str, reason: String) -> Self {
        Self {
            uscc: Some(uscc.to_owned()),
            by: Some(by),
            reason: Some(reason),
            registered_name: None,
        }
    }

    /// No party to identify (a finding whose product names no producer).
    pub fn none() -> Self {
        Self {
            uscc: None,
            by: None,
            reason: None,
            registered_name: None,
        }
    }

    fn pending(reason: String) -> Self {
        Self {
            uscc: None,
            by: None,
            reason: Some(reason),
            registered_name: None,
        }
    }
}

/// Identifies `party` from the case's own dispositions and what is known of its name.
pub fn identify(party: Named, dispositions: &[Disposition], names: &Names) -> Identity {
    if let Some(uscc) = party.uscc {
        return Identity {
            uscc: Some(uscc.to_owned()),
            by: Some("given"),
            reason: None,
            registered_name: None,
        };
    }
    let key = name_key(party.name);
    let own = dispositions
        .iter()
        .filter(|d| d.kind == DispositionKind::Identified)
        .filter(|d| d.name.as_deref().map(name_key).as_deref() == Some(key.as_str()))
        .max_by(|a, b| (a.on, &a.disposition_id).cmp(&(b.on, &b.disposition_id)));
    if let Some(uscc) = own.and_then(|d| d.uscc.as_deref()) {
        return Identity::found(
            uscc,
            "official",
            "identified by an official on this case".into(),
        );
    }
    if let Some(uscc) = party.namesake {
        return Identity::found(
            uscc,
            "same_name",
            "the result gives this code to its other party of the same name".into(),
        );
    }
    let unknown = NameFacts::default();
    let facts = names.get(&key).unwrap_or(&unknown);
    // Another case's identification carries over unless the unit it named is in another
    // district than this record's: two shops of one trade name are two units.
    let here = party
        .district
        .map(str::to_owned)
        .or_else(|| party.address.and_then(district_from_zh));
    let mut elsewhere = None;
    if let Some(uscc) = &facts.official {
        match (&here, &facts.official_district) {
            (Some(here), Some(there)) if here != there => {
                let named = |code: &str| district_name(code).unwrap_or(code).to_owned();
                elsewhere = Some(format!(
                    "; an official identified this name as {uscc} on another case, a unit of \
                     {} ({there}), not of {} ({here}) where this record places it",
                    named(there),
                    named(here)
                ));
            }
            _ => {
                return Identity::found(
                    uscc,
                    "official",
                    "identified by an official (the same name on another case)".into(),
                );
            }
        }
    }
    match registry_match(&party, &facts.registered) {
        Ok(identity) => return identity,
        Err(Some(reason)) => return Identity::pending(reason),
        Err(None) => {}
    }
    // Registered under its name with its district before it (鑫盛五金店 in 河西区).
    if let Some(facts) = party.district_key().and_then(|key| names.get(&key)) {
        match registry_match(&party, &facts.registered) {
            Ok(mut identity) => {
                identity.by = Some("registry_name_district");
                identity.reason = Some(format!(
                    "matched in the unit registry by its name with its district before it ({})",
                    identity.registered_name.as_deref().unwrap_or_default()
                ));
                return identity;
            }
            Err(Some(reason)) => return Identity::pending(reason),
            Err(None) => {}
        }
    }
    if party.by_ledger {
        let mut ledger = facts.ledger.clone();
        ledger.sort();
        ledger.dedup();
        match ledger.as_slice() {
            [uscc] => {
                return Identity::found(
                    uscc,
                    "ledger",
                    "the ledger's shipments of this batch give the code under the same name".into(),
                );
            }
            [] => {}
            many => {
                return Identity::pending(format!(
                    "identification pending: the ledger gives {} codes for this name ({})",
                    many.len(),
                    many.join(", ")
                ));
            }
        }
    }
    Identity::pending(format!(
        "identification pending: no registered unit is named {}{}",
        party.name,
        elsewhere.unwrap_or_default()
    ))
}

/// `Ok` when the registry names exactly one unit that fits; `Err(Some(why))` when candidates
/// exist but none or several fit; `Err(None)` when none is registered under the name.
fn registry_match(party: &Named, registered: &[Unit]) -> Result<Identity, Option<String>> {
    if registered.is_empty() {
        return Err(None);
    }
    let fits = |unit: &&Unit| match (party.district, unit.district.as_deref()) {
        (Some(given), Some(registered)) => given == registered,
        // The district the address begins with (天津市静海县… is 静海区), else its name in it.
        (None, Some(registered)) => {
            party
                .address
                .is_none_or(|address| match district_from_zh(address) {
                    Some(named) => named == registered,
                    None => district_name(registered).is_none_or(|name| address.contains(name)),
                })
        }
        (_, None) => true,
    };
    let fitting: Vec<&Unit> = registered.iter().filter(fits).collect();
    let narrowed = party.district.is_some() || party.address.is_some();
    match fitting.as_slice() {
        [unit] => {
            let (by, how) = if narrowed && unit.district.is_some() {
                ("registry_name_district", "name and district")
            } else {
                ("registry_name", "name")
            };
            let mut identity = Identity::found(
                unit.uscc.as_str(),
                by,
                format!("matched in the unit registry by {how}"),
            );
            identity.registered_name = Some(unit.name.clone());
            Ok(identity)
        }
        [] => Err(Some(format!(
            "identification pending: {} registered unit(s) share the name but none in the given district or address",
            registered.len()
        ))),
        many => Err(Some(format!(
            "identification pending: {} registered units share the name ({})",
            many.len(),
            many.iter()
                .map(|u| u.uscc.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn unit(uscc: &str, name: &str, district: Option<&str>) -> Unit {
        serde_json::from_value(json!({"uscc": uscc, "name": name, "address": null,
            "district": district, "roles": ["retailer"], "licences": []}))
        .unwrap()
    }

    fn named<'a>(name: &'a str, district: Option<&'a str>) -> Named<'a> {
        Named {
            name,
            uscc: None,
            district,
            address: None,
            by_ledger: false,
            namesake: None,
        }
    }

    const A: &str = "91350100M000100Y43";
    const B: &str = "91110000802100433B";

    fn names(key_of: &str, facts: NameFacts) -> Names {
        BTreeMap::from([(name_key(key_of), facts)])
    }

    #[test]
    fn a_registered_name_spelled_otherwise_is_matched() {
        let facts = NameFacts {
            registered: vec![unit(A, "天津市津安五金有限责任公司", Some("120104"))],
            ..NameFacts::default()
        };
        let names = names("天津市津安五金有限责任公司", facts);
        let found = identify(
            named("天津津安五金（有限公司）", Some("120104")),
            &[],
            &names,
        );
        assert_eq!(found.uscc.as_deref(), Some(A));
        assert_eq!(found.by, Some("registry_name_district"));
        assert_eq!(
            found.registered_name.as_deref(),
            Some("天津市津安五金有限责任公司")
        );
    }

    /// An official's identification of a name carries to other cases of that name, but not to
    /// one that places the unit in another district: a trade name two shops share.
    #[test]
    fn an_official_identification_carries_only_within_its_units_district() {
        let names = names(
            "鑫盛五金店",
            NameFacts {
                official: Some(A.into()),
                official_district: Some("120103".into()),
                ..NameFacts::default()
            },
        );
        for (district, carried) in [
            (Some("120103"), true),
            (None, true),
            (Some("120104"), false),
        ] {
            let found = identify(named("鑫盛五金店", district), &[], &names);
            assert_eq!(found.uscc.is_some(), carried, "{district:?}: {found:?}");
            if !carried {
                assert!(found.reason.unwrap().contains("another case"));
            }
        }
    }

    #[test]
    fn a_label_made_under_contract_is_the_entrusting_enterprises() {
        let names = names(
            "天津市津安五金有限公司",
            NameFacts {
                registered: vec![unit(A, "天津市津安五金有限公司", Some("120104"))],
                ..NameFacts::default()
            },
        );
        for label in [
            "天津市津安五金有限公司（委托方）",
            "委托方：天津市津安五金有限公司；受托方：河北某某五金厂",
        ] {
            let found = identify(named(label, None), &[], &names);
            assert_eq!(found.uscc.as_deref(), Some(A), "{label}");
        }
    }

    #[test]
    fn a_name_in_another_district_or_shared_by_two_units_stays_pending() {
        let one = names(
            "某店",
            NameFacts {
                registered: vec![unit(A, "某店", Some("120101"))],
                ..NameFacts::default()
            },
        );
        let elsewhere = identify(named("某店", Some("120104")), &[], &one);
        assert_eq!(elsewhere.uscc, None);
        let two = names(
            "某店",
            NameFacts {
                registered: vec![unit(A, "某店", None), unit(B, "某店", None)],
                ..NameFacts::default()
            },
        );
        let ambiguous = identify(named("某店", None), &[], &two);
        assert_eq!(ambiguous.uscc, None);
        assert!(ambiguous.reason.unwrap().contains("2 registered units"));
        let unknown = identify(named("某店", None), &[], &Names::new());
        assert_eq!(unknown.uscc, None);
    }

    #[test]
    fn an_address_in_a_districts_former_name_places_the_party_there() {
        let two = names(
            "某五金店",
            NameFacts {
                registered: vec![
                    unit(A, "某五金店", Some("120118")),
                    unit(B, "某五金店", Some("120116")),
                ],
                ..NameFacts::default()
            },
        );
        let at = |address| {
            let party = Named {
                address: Some(address),
                ..named("某五金店", None)
            };
            identify(party, &[], &two).uscc
        };
        assert_eq!(at("天津市静海县大邱庄镇百亿道1号").as_deref(), Some(A));
        assert_eq!(at("天津市塘沽区新港路2号").as_deref(), Some(B));
        assert_eq!(at("天津市静海区大邱庄镇").as_deref(), Some(A));
        assert_eq!(at("天津市某路3号"), None);
    }

    #[test]
    fn an_official_identification_beats_the_registry_and_the_newest_wins() {
        let registry = names(
            "某店",
            NameFacts {
                registered: vec![unit(A, "某店", None)],
                ..NameFacts::default()
            },
        );
        let identified = |id: &str, on: &str, uscc: &str| -> Disposition {
            serde_json::from_value(
                json!({"disposition_id": id, "report_no": "R", "lab_id": "L",
                "kind": "identified", "on": on, "outcome": null, "note": null,
                "name": "某店", "uscc": uscc}),
            )
            .unwrap()
        };
        let found = identify(
            named("某店", None),
            &[
                identified("2", "2026-05-02", B),
                identified("1", "2026-05-01", A),
            ],
            &registry,
        );
        assert_eq!(
            (found.uscc.as_deref(), found.by),
            (Some(B), Some("official"))
        );
    }

    #[test]
    fn a_party_named_as_the_other_takes_the_code_the_result_gives_that_one() {
        let registry = names(
            "天津市飞达车业有限公司",
            NameFacts {
                registered: vec![unit(B, "天津市飞达车业有限公司", None)],
                ..NameFacts::default()
            },
        );
        let result: SamplingResult = serde_json::from_value(json!({
            "report_no": "R", "lab_id": "L", "category": "e_bike",
            "product": {"name": "电动自行车", "model": "M", "batch": "B"},
            "producer": {"name": "天津飞达车业有限责任公司"},
            "sampled_unit": {"uscc": A, "name": "天津市飞达车业有限公司", "role": "producer"},
            "sampling": {"date": "2026-03-01", "domain": "production"},
            "tested_on": "2026-03-10", "items": [{"name": "最高车速", "verdict": "fail"}],
            "verdict": "fail"
        }))
        .unwrap();
        // Spelt otherwise (天津… for 天津市…, 有限责任公司): the same enterprise, and the code
        // the result gives it beats a registry entry of the name.
        let producer = identify(Named::producer(&result), &[], &registry);
        assert_eq!(
            (producer.uscc.as_deref(), producer.by),
            (Some(A), Some("same_name"))
        );
        let mut elsewhere = result.clone();
        elsewhere.producer.name = "天津市飞鸽车业有限公司".into();
        let producer = identify(Named::producer(&elsewhere), &[], &Names::new());
        assert_eq!(producer.uscc, None, "another name is another enterprise");
        // The other way round: the code in the producer's column only.
        let mut swapped = result.clone();
        swapped.producer.uscc = swapped.sampled_unit.uscc.take();
        let seller = identify(Named::sampled_unit(&swapped), &[], &Names::new());
        assert_eq!(
            (seller.uscc.as_deref(), seller.by),
            (Some(A), Some("same_name"))
        );
    }

    #[test]
    fn the_ledger_identifies_a_producer_but_not_a_seller() {
        let ledger = names(
            "某厂",
            NameFacts {
                ledger: vec![A.to_owned()],
                ..NameFacts::default()
            },
        );
        let producer = Named {
            by_ledger: true,
            ..named("某厂", None)
        };
        assert_eq!(identify(producer, &[], &ledger).uscc.as_deref(), Some(A));
        assert_eq!(identify(named("某厂", None), &[], &ledger).uscc, None);
    }
}

//! Builds one case from what the state holds about it: the failing result, the batch's
//! shipments, the registry and the officials' dispositions, on a given day.

use crate::calendar::Calendar;
use crate::graph::{self, Edge, Side};
use crate::identify::Identity;
use crate::lifecycle::{self, Opening, Periods};
use crate::onsite::OnSiteCase;
use chrono::{DateTime, NaiveDate, Utc};
use spotcheck_schemas::case::{
    CaseBatch, CaseFacts, CaseParty, CaseStatus, CaseSubject, CaseUnit, Deadlines, Gap, Notice,
    NoticeStatus, Referral, SubjectDisclosure,
};
use spotcheck_schemas::columns;
use spotcheck_schemas::disclosure::visible_until;
use spotcheck_schemas::keys::{batch_code_key, item_key, name_key, normalise};
use spotcheck_schemas::{
    Case, Direction, Disposition, DispositionKind, SamplingResult, Severity, Shipment, SubjectRole,
    Unit, UnitRole, case_id,
};
use std::collections::BTreeMap;

/// The version of the rules cases are derived by. Raising it re-derives every case of an
/// existing state at the next start (and so corrects the credit feed): 2 = subject
/// identification, keys on the producer's credit code, the working-day calendar, the steps;
/// 3 = China's days, and a given code the registry holds under another name is a gap; 4 = the
/// gaps in Chinese too; 5 = a served rectification notice is the order its period runs from,
/// and a notice served to one unit is that unit's alone; 6 = an order given before the failure
/// is final runs through the objection window and the re-test; 7 = a served notice stays on
/// the case, and a later cause calls for a new notice of its kind; 8 = a unit served on its own
/// is reminded and interviewed on its own deadline, and not before it is served; 9 = a reminder
/// not served by the deadline is moot; 10 = a sampled unit that is the batch's producer is
/// recorded (and disclosed) as the producer, not as a seller, and a party takes the code the
/// result gives its other party of the same name; 11 = a product whose label names no producer
/// (`/` in the column, a 三无 product) has no producer to trace, identify or disclose; 12 = a
/// `rectification_ordered` naming a unit is that unit's order; 13 = a re-test's recorded
/// conclusion stands without a recorded objection, and an objection after the window is said;
/// 14 = a producer nothing else places is in the district its label's address names; 15 = the
/// objection window ends with the last party's, each served `result_served` naming it; 16 = a
/// producer elsewhere named without a code is to be reported to its province's authority; 17 =
/// an objection naming a party served on its own is in time within that party's window; 18 = a
/// sampled unit nothing else places is in the district its address names; 19 = units ordered
/// one by one are settled one by one: one unit's report or passed re-check is not the case's;
/// 20 = a unit done with the case is served nothing more, and a closed case's steps not
/// recorded done are moot; 21 = each unit ordered one by one goes through its own re-checks
/// (one unit's failure is not another's second), and the case closes when every one passed;
/// 22 = the interview for a failed re-check (and listed supervision for a second) goes to the
/// unit the re-check names; 23 = an inspection's finding revoked is `revoked` too; 24 = a
/// label made under contract (委托方…受托方…) is identified as the entrusting enterprise's; 25 =
/// a seller's form or keeper in brackets (（个体工商户）) is not part of its name; 26 = each
/// interview and listed supervision says its cause; 27 = a closed case keeps the rectification
/// notice to a receiver never served one; 28 = a re-check naming a code the case does not hold
/// calls every responsible unit to the interview; 29 = the rectification notice served to a
/// unit that only holds the batch neither dates the case's order nor holds the case open; 30 =
/// the public notice, suspension and referral count for the failed re-check they follow (its
/// unit's, on or after it), not for another unit's earlier one; 31 = a holder's rectification
/// report does not stand for the responsible units' either; 32 = a record naming a unit the case
/// does not reach is a gap of the case; 33 = the failed items an upheld re-test cleared leave the
/// failure (its disclosure and notices); 34 = a record an official withdrew as mistaken no longer
/// counts; 35 = two re-test conclusions that disagree are a gap of the case; 36 = a serious
/// failure whose re-test cleared some items asks the official to confirm its listed supervision;
/// 37 = unless its items are rated: a serious item left keeps it, general ones only end it;
/// 38 = the rectification notice served marks the stop of production and sale done; 39 = a
/// label's address that begins with its city (永康市…) places the producer in that city's
/// province, and one beginning with Tianjin's 河北区 no longer in 河北省; 40 = a unit named with
/// or without 天津市 before its district (天津市河西区某店, 河西区某店) is one name (the alias
/// table and the trace keys are keyed again), so is a shop named with the enterprise that runs
/// it (A公司（B旗舰店）) with that enterprise, and a unit no address places is placed by the
/// district its name begins with, else by its code's registering district (92120103…); 41 = a
/// label said in words to name no producer (无厂名厂址, /（三无产品）) is a 三无 product's; 42 = a
/// batch's model is matched however written (ABS-Ⅴ = ABS-V型: the trace keys are keyed again);
/// 43 = so is a batch code that is a production date or month (2026.3.1 = 20260301); 44 = a
/// name written with its address (某公司（地址：…）) is keyed without it (the alias table again);
/// 45 = an address in a zone of the 滨海新区 (东疆保税港区, 中新天津生态城…) places its unit there;
/// 46 = a unit named by its trade name alone (鑫盛五金店) in a district is the one registered
/// with the district before it (天津市河西区鑫盛五金店); 47 = an official's identification of a
/// name on another case does not carry to a unit the record places in another district; 48 = a
/// sampled unit elsewhere named without a code is to be reported to its province's authority
/// too, and an address beginning with a street named after a province (山西路) is Tianjin's;
/// 49 = a name with its former name in brackets (（原…）) is keyed without it, and one with its
/// new name (（现更名为…）) as the new name (the alias table again); 50 = a batch is met by the
/// production date the result gives too, as shops' ledgers record it; 51 = a picture mark
/// beside a word (火王及图形) is the word's (the trace keys again, as a model's key is a product
/// key too); 52 = a producer given the code of the seller it was sampled from, under another
/// name, is not that seller: identified by its name, and the case says so; 53 = a batch the
/// label does not give is one key however a record says so (`/`, 无, 无批号: the trace keys again).
pub const RULES_VERSION: u32 = 53;

/// Where the authority's writ runs, and its periods.
#[derive(Debug, Clone)]
pub struct Authority {
    /// Division-code prefix of the region (`12` = Tianjin).
    pub region_prefix: String,
    pub periods: Periods,
    /// Which days count.
    pub calendar: Calendar,
}

impl Default for Authority {
    fn default() -> Self {
        Self {
            region_prefix: spotcheck_schemas::region::DEFAULT_REGION_PREFIX.to_owned(),
            periods: Periods::default(),
            calendar: Calendar::shipped(),
        }
    }
}

impl Authority {
    /// What a change of the configuration changes in every case — the region, the periods, the
    /// working-day calendar — as a number the state keeps: a state derived under another one
    /// is derived again.
    pub fn fingerprint(&self) -> u64 {
        let hash = spotcheck_schemas::keys::content_hash(&(
            &self.region_prefix,
            &self.periods,
            &self.calendar,
        ));
        u64::from_str_radix(&hash[..16], 16).unwrap_or_default()
    }
}

/// Everything a case is built from.
pub struct Inputs<'a> {
    pub result: &'a SamplingResult,
    pub shipments: &'a [Shipment],
    pub units: &'a BTreeMap<String, Unit>,
    pub dispositions: &'a [Disposition],
    /// Who the nominal producer and the sampled unit are ([`crate::identify`]).
    pub producer: &'a Identity,
    pub origin: &'a Identity,
    /// The inspection finding that opened the case, when not a lab's result.
    pub on_site: Option<&'a OnSiteCase>,
}

/// The case on `today`, with revision 0 and `updated_at` unset (the stage numbers revisions),
/// and the next day it changes by time alone.
pub fn assemble(
    inputs: &Inputs,
    today: NaiveDate,
    authority: &Authority,
) -> (Case, Option<NaiveDate>) {
    // The case follows the records that count: one an official withdrew as mistaken does not.
    let (counting, withdrawal_gaps) = crate::withdrawals::counting(inputs.dispositions);
    let inputs = &Inputs {
        dispositions: &counting,
        ..*inputs
    };
    let result = inputs.result;
    let producer_uscc = inputs.producer.uscc.clone();
    let origin_uscc = inputs.origin.uscc.clone();
    let mut edges: Vec<Edge> = inputs
        .shipments
        .iter()
        .map(|s| Edge {
            from: s.from.uscc.to_string(),
            to: s.to.uscc.to_string(),
            quantity: s.quantity,
        })
        .collect();
    // An inspection finding's supplier, from the unit's purchase records, is a link the ledger
    // may not have: one hop upstream of the inspected unit.
    let supplier = on_site_supplier(inputs);
    if let (Some(supplier), Some(origin)) = (&supplier, &origin_uscc)
        && !edges.iter().any(|e| &e.from == supplier && &e.to == origin)
    {
        edges.push(Edge {
            from: supplier.clone(),
            to: origin.clone(),
            quantity: 0.0,
        });
    }
    let mut trace = graph::trace(&edges, origin_uscc.as_deref(), producer_uscc.as_deref());
    if !traces_batch(inputs.on_site, result) {
        // No labelled producer, no batch: the ledger's gaps about the batch do not apply. A
        // lab's 三无 sample has no supplier on record: the sampled unit's purchase records say.
        trace.gaps.clear();
        match inputs.on_site {
            Some(on_site) => trace.gaps.extend(on_site.gaps()),
            None => trace.gaps.push(Gap::NoSupplier),
        }
    } else if let Some(on_site) = inputs.on_site {
        trace.gaps.extend(on_site.gaps());
    }
    trace
        .gaps
        .extend(name_variants(inputs, producer_uscc.as_deref()));
    trace.gaps.extend(registered_otherwise(inputs));
    trace.gaps.extend(batch_by_date(inputs));
    if crate::identify::code_copied(inputs.result)
        && let Some(code) = &inputs.result.producer.uscc
    {
        trace.gaps.push(Gap::ProducerGivenSellersCode {
            producer: inputs.result.producer.name.clone(),
            seller: inputs.result.sampled_unit.name.clone(),
            code: code.to_string(),
        });
    }
    let known = Known::new(inputs, producer_uscc.as_deref());

    let producer_referred = producer_referral(inputs);
    let mut units = Vec::with_capacity(trace.units.len());
    let mut referrals = Vec::new();
    for reached in &trace.units {
        let district = known.district(&reached.uscc);
        let in_region = in_region(&reached.uscc, district.as_deref(), &authority.region_prefix);
        if !in_region {
            referrals.push(Referral {
                uscc: reached.uscc.clone(),
                region: Some(region_of(&reached.uscc, district.as_deref())),
                reason: Some(
                    "outside the authority's region: referred to the local authority".into(),
                ),
                kind: Some("out_of_region".into()),
            });
        }
        units.push(CaseUnit {
            uscc: reached.uscc.clone(),
            name: known.name(&reached.uscc),
            role: known.role(&reached.uscc),
            direction: match reached.side {
                Side::Origin => Direction::Origin,
                Side::Upstream => Direction::Upstream,
                Side::Downstream => Direction::Downstream,
            },
            hops: reached.hops,
            quantity_received: reached.quantity_received,
            district,
            in_region,
            responsible: false,
        });
    }
    if let (Some((kind, reason)), Some(producer)) = (producer_referred, &producer_uscc) {
        // Blame goes before region: a counterfeit's nominal producer is never a party.
        referrals.retain(|r| &r.uscc != producer);
        let district = known.district(producer);
        referrals.push(Referral {
            uscc: producer.clone(),
            region: Some(region_of(producer, district.as_deref())),
            reason: Some(reason.into()),
            kind: Some(kind.into()),
        });
    }

    let referred: Vec<&str> = referrals.iter().map(|r| r.uscc.as_str()).collect();
    for unit in &mut units {
        unit.responsible = !referred.contains(&unit.uscc.as_str())
            && (unit.direction == Direction::Origin
                || Some(&unit.uscc) == producer_uscc.as_ref()
                || Some(&unit.uscc) == supplier.as_ref());
    }
    let addressable: Vec<&CaseUnit> = units
        .iter()
        .filter(|u| !referred.contains(&u.uscc.as_str()))
        .collect();
    let responsible: Vec<&CaseUnit> = units.iter().filter(|u| u.responsible).collect();
    let opening = Opening {
        tested_on: result.tested_on,
        served_on: result.served_on,
        serious: result.severity == Some(Severity::Serious),
        on_site: inputs.on_site.map(OnSiteCase::opening),
        holders: units
            .iter()
            .filter(|u| !u.responsible)
            .map(|u| u.uscc.clone())
            .collect(),
        failed_items: result.failed_items().map(|i| i.name.clone()).collect(),
        rated_items: result
            .failed_items()
            .filter_map(|i| Some((item_key(&i.name), i.severity?)))
            .collect(),
    };
    let standing = lifecycle::standing(
        opening,
        inputs.dispositions,
        today,
        &authority.periods,
        &authority.calendar,
    );
    let mut notices = Vec::new();
    // A unit given its order later than the case has its reminder and interview later.
    let mut wake = None;
    for proposed in &standing.notices {
        // The unit a failed re-check names, if it is one of the case's (a code the case does
        // not hold is taken as naming none, so that the notice is not lost).
        let held = |to: &&String| units.iter().any(|unit| unit.uscc == **to);
        let concerns = proposed.concerns.as_ref().filter(held);
        let recipients = if proposed.to_all_units || concerns.is_some() {
            &addressable
        } else {
            &responsible
        };
        let concerned = |unit: &&&CaseUnit| concerns.is_none_or(|to| *to == unit.uscc);
        for unit in recipients.iter().filter(concerned) {
            let addressed = lifecycle::addressed(
                proposed,
                &unit.uscc,
                inputs.dispositions,
                today,
                &authority.periods,
                &authority.calendar,
            );
            wake = lifecycle::earliest(wake, addressed.wake);
            // A unit done with the case keeps what was served to it, and is served nothing more.
            if let Some((status, due_on)) = addressed.notice
                && (status == NoticeStatus::Served || !standing.moot_for(proposed.kind, &unit.uscc))
            {
                notices.push(Notice {
                    kind: proposed.kind,
                    to: unit.uscc.clone(),
                    due_on: Some(due_on),
                    status,
                    cause: proposed.cause(standing.final_on),
                });
            }
        }
    }

    let subjects = subjects(inputs, standing.final_on, today);
    let mut gaps = trace.gaps;
    gaps.extend(subjects.iter().filter_map(|s| match s.disclosure {
        SubjectDisclosure::IdentificationPending => Some(Gap::IdentificationPending {
            role: s.role,
            name: s.name.clone(),
        }),
        SubjectDisclosure::Expired => standing.final_on.map(|final_on| Gap::NotDisclosed {
            final_on,
            until: visible_until(final_on),
        }),
        _ => None,
    }));
    // Expiry is the case's, whichever subjects it stops: said once.
    gaps.dedup();
    // A producer or sampled unit elsewhere named without a code is still to be reported to its
    // own authority (Order 18 Art 44); its address (the label's, for the producer) says which,
    // before it is identified: an online shop sampled by a purchase is often in another province.
    for subject in &subjects {
        if subject.disclosure != SubjectDisclosure::IdentificationPending {
            continue;
        }
        let province = match subject.role {
            SubjectRole::Producer => result
                .producer
                .address
                .as_deref()
                .and_then(spotcheck_schemas::names::province_of_address)
                .map(|(code, _)| code.to_owned()),
            SubjectRole::Seller => match &result.sampled_unit.district {
                Some(district) => Some(region_of("", Some(district))),
                None => result
                    .sampled_unit
                    .address
                    .as_deref()
                    .and_then(spotcheck_schemas::names::province_of_address)
                    .map(|(code, _)| code.to_owned()),
            },
        };
        // Another province's: a unit elsewhere in the authority's own province is referred
        // once identified, by its code.
        if let Some(province) =
            province.filter(|code| code.get(..2) != authority.region_prefix.get(..2))
        {
            gaps.push(Gap::Elsewhere {
                role: subject.role,
                name: subject.name.clone(),
                province,
            });
        }
    }
    gaps.extend(standing.notes);
    gaps.extend(withdrawal_gaps);
    // A record naming a unit the case does not reach counts for that code alone: said, so that
    // a mistyped code is not taken for the unit's report or re-check in silence.
    let reached: Vec<&str> = units
        .iter()
        .map(|u| u.uscc.as_str())
        .chain(
            [&producer_uscc, &origin_uscc, &supplier]
                .into_iter()
                .flatten()
                .map(String::as_str),
        )
        .chain(subjects.iter().filter_map(|s| s.uscc.as_deref()))
        .collect();
    for d in inputs.dispositions.iter().filter(|d| names_a_unit(d.kind)) {
        let Some(uscc) = d.uscc.as_deref().filter(|u| !reached.contains(u)) else {
            continue;
        };
        let gap = Gap::UnitNotInCase {
            kind: d.kind,
            on: d.on,
            uscc: uscc.to_owned(),
        };
        if !gaps.contains(&gap) {
            gaps.push(gap);
        }
    }
    let case = Case {
        case_id: case_id(&result.lab_id, &result.report_no),
        revision: 0,
        report_no: result.report_no.clone(),
        lab_id: result.lab_id.clone(),
        category: Some(result.category),
        batch: CaseBatch {
            key: result.batch_key().to_string(),
            producer_name: result.producer.name.clone(),
            producer_uscc,
            model: result.product.model.clone(),
            batch: result.product.batch.clone(),
        },
        status: standing.status,
        origin: CaseParty {
            uscc: origin_uscc,
            name: result.sampled_unit.name.clone(),
            role: result.sampled_unit.role,
        },
        units,
        referrals,
        notices,
        deadlines: Deadlines {
            // A finding on site has no objection window.
            objection_until: inputs.on_site.is_none().then_some(standing.objection_until),
            rectify_by: standing.rectify_by,
            recheck_by: standing.recheck_by,
            final_on: standing.final_on,
            second_recheck_from: standing.second_recheck_from,
            second_recheck_by: standing.second_recheck_by,
            disclose_by: standing.disclose_by,
            retract_by: standing.retract_by,
            public_notice_on: standing.public_notice_on,
            suspension_until: standing.suspension_until,
        },
        gaps_zh: gaps.iter().map(Gap::zh).collect(),
        gaps: gaps.iter().map(ToString::to_string).collect(),
        facts: Some(CaseFacts {
            organiser: result.organiser.clone(),
            product: result.product.clone(),
            failed_items: result
                .failed_items()
                .filter(|i| !standing.cleared_items.contains(&i.name))
                .cloned()
                .collect(),
            sampling_date: result.sampling.date,
            sampled_unit_name: result.sampled_unit.name.clone(),
            cleared_items: standing.cleared_items.clone(),
        }),
        subjects,
        steps: standing.steps,
        rules: RULES_VERSION,
        inspection: inputs.on_site.map(OnSiteCase::case_inspection),
        updated_at: DateTime::<Utc>::UNIX_EPOCH,
    };
    let next_change = match case.status {
        CaseStatus::Closed
        | CaseStatus::Overturned
        | CaseStatus::Revoked
        | CaseStatus::RevocationReferred => None,
        _ => lifecycle::earliest(standing.next_change, wake),
    };
    (case, next_change)
}

/// The enterprises the failure is recorded under, and whether each is disclosed when final.
fn subjects(inputs: &Inputs, final_on: Option<NaiveDate>, today: NaiveDate) -> Vec<CaseSubject> {
    let result = inputs.result;
    let subject = |role, identity: &Identity, label_name: &str| {
        let name = match identity.by {
            Some("given") | None => label_name.to_owned(),
            _ => identity
                .registered_name
                .clone()
                .unwrap_or_else(|| label_name.to_owned()),
        };
        let disclosure = if identity.uscc.is_some() {
            SubjectDisclosure::Disclose
        } else {
            SubjectDisclosure::IdentificationPending
        };
        CaseSubject {
            role,
            name,
            uscc: identity.uscc.clone(),
            identified_by: identity.by.map(str::to_owned),
            disclosure,
            reason: identity.reason.clone(),
        }
    };
    let mut subjects = vec![subject(
        SubjectRole::Seller,
        inputs.origin,
        &result.sampled_unit.name,
    )];
    if !traces_batch(inputs.on_site, result) {
        // No producer on the label (or no product): the sampled or inspected unit alone.
        return subjects;
    }
    let mut producer = subject(
        SubjectRole::Producer,
        inputs.producer,
        &result.producer.name,
    );
    // Not to blame: referred, never disclosed, whether or not it is identified.
    if let Some((_, reason)) = producer_referral(inputs) {
        producer.disclosure = SubjectDisclosure::Referred;
        producer.reason = Some(reason.to_owned());
    }
    if producer.uscc.is_none()
        || producer.uscc != subjects[0].uscc
        || crate::identify::code_copied(result)
    {
        subjects.push(producer);
    } else if producer.disclosure != SubjectDisclosure::Referred {
        // Sampled where it makes the product (生产领域): one enterprise, recorded as the
        // producer of what failed, not as a seller of it.
        subjects[0].role = SubjectRole::Producer;
    }
    if let Some(final_on) = final_on {
        let until = visible_until(final_on);
        if until < today {
            for subject in &mut subjects {
                if subject.disclosure == SubjectDisclosure::Disclose {
                    subject.disclosure = SubjectDisclosure::Expired;
                    subject.reason = Some(Gap::NotDisclosed { final_on, until }.to_string());
                }
            }
        }
    }
    subjects
}

/// Whether a record of `kind` with a `uscc` says which of the case's units it concerns (an
/// identification, a producer's denial and a warning name a code for other reasons).
fn names_a_unit(kind: DispositionKind) -> bool {
    use DispositionKind::*;
    matches!(
        kind,
        ObjectionFiled
            | RectificationOrdered
            | RectificationReported
            | RecheckConcluded
            | NoticeServed
            | PublicNotice
            | StopOrdered
            | Suspension
            | RectificationPeriodEnded
            | LicenceRevocationReferred
    )
}

/// The credit code of an inspection finding's supplier, when recorded.
fn on_site_supplier(inputs: &Inputs) -> Option<String> {
    inputs
        .on_site?
        .finding
        .supplier
        .as_ref()?
        .uscc
        .as_ref()
        .map(ToString::to_string)
}

/// Shipments that met the result on the producer's credit code but spell its name otherwise.
fn name_variants(inputs: &Inputs, producer: Option<&str>) -> Vec<Gap> {
    let Some(producer) = producer else {
        return Vec::new();
    };
    // Spelt otherwise, beyond width and spaces (天津市… for 天津…, 有限责任公司 for 有限公司).
    let key = normalise(&inputs.result.producer.name);
    let mut variants: Vec<&str> = inputs
        .shipments
        .iter()
        .filter(|s| {
            s.product
                .producer_uscc
                .as_ref()
                .is_some_and(|u| u.as_str() == producer)
        })
        .map(|s| s.product.producer_name.as_str())
        .filter(|name| normalise(name) != key)
        .collect();
    variants.sort();
    variants.dedup();
    variants
        .into_iter()
        .map(|name| Gap::LedgerNamesOtherwise {
            ledger: name.to_owned(),
            result: inputs.result.producer.name.clone(),
            uscc: producer.to_owned(),
        })
        .collect()
}

/// The shipments that meet the batch by the production date the result gives, not by its code.
fn batch_by_date(inputs: &Inputs) -> Option<Gap> {
    let product = &inputs.result.product;
    let date = product.production_date?;
    let (code, by_date) = (
        batch_code_key(&product.batch),
        batch_code_key(&date.to_string()),
    );
    let shipments = inputs
        .shipments
        .iter()
        .filter(|s| {
            let key = batch_code_key(&s.product.batch);
            key != code && key == by_date
        })
        .count();
    (code != by_date && shipments > 0).then_some(Gap::BatchByProductionDate { date, shipments })
}

/// The codes the result gives that the unit registry holds under another name (beyond the
/// spellings [`name_key`] folds): a code copied from the wrong row would put the failure on
/// another enterprise's credit record, so the case says so before anything is served.
fn registered_otherwise(inputs: &Inputs) -> Vec<Gap> {
    let result = inputs.result;
    [
        (
            SubjectRole::Producer,
            &result.producer.name,
            inputs.producer,
        ),
        (
            SubjectRole::Seller,
            &result.sampled_unit.name,
            inputs.origin,
        ),
    ]
    .into_iter()
    .filter(|(_, _, identity)| identity.by == Some("given"))
    .filter_map(|(role, named, identity)| {
        let code = identity.uscc.as_deref()?;
        let registered = inputs.units.get(code)?;
        (name_key(&registered.name) != name_key(named)).then(|| Gap::RegisteredOtherwise {
            role,
            code: code.to_owned(),
            named: named.clone(),
            registered: registered.name.clone(),
        })
    })
    .collect()
}

/// Why the producer is referred rather than blamed, if it is: (kind, reason).
fn producer_referral(inputs: &Inputs) -> Option<(&'static str, &'static str)> {
    if inputs.result.suspected_counterfeit {
        return Some((
            "suspected_counterfeit",
            "suspected counterfeit: the nominal producer is referred, not blamed",
        ));
    }
    inputs
        .dispositions
        .iter()
        .any(|d| d.kind == DispositionKind::ProducerDenied)
        .then_some((
            "producer_denied",
            "the nominal producer denies making this batch: referred for investigation",
        ))
}

/// Whether the case has a labelled producer and a batch to trace (not a 三无 product, not an
/// inspection finding without a product).
pub(crate) fn traces_batch(on_site: Option<&OnSiteCase>, result: &SamplingResult) -> bool {
    on_site.is_none_or(OnSiteCase::traces_batch) && result.producer.is_named()
}

fn in_region(uscc: &str, district: Option<&str>, prefix: &str) -> bool {
    match district {
        Some(district) => district.starts_with(prefix),
        // Characters 3–8 of a USCC are the registering authority's division.
        None => uscc
            .get(2..8)
            .is_none_or(|division| division.starts_with(prefix)),
    }
}

/// The province-level division the unit belongs to (`440000`), for the referral.
fn region_of(uscc: &str, district: Option<&str>) -> String {
    let division = district.or_else(|| uscc.get(2..8)).unwrap_or_default();
    format!("{}0000", division.get(..2).unwrap_or(division))
}

/// What is known of each unit: the registry first, then the shipments and the result.
struct Known<'a> {
    inputs: &'a Inputs<'a>,
    parties: BTreeMap<String, (&'a str, Option<&'a str>)>,
    producer: Option<&'a str>,
}

impl<'a> Known<'a> {
    fn new(inputs: &'a Inputs<'a>, producer: Option<&'a str>) -> Self {
        let mut parties = BTreeMap::new();
        for shipment in inputs.shipments {
            for party in [&shipment.from, &shipment.to] {
                parties
                    .entry(party.uscc.to_string())
                    .or_insert((party.name.as_str(), party.district.as_deref()));
            }
        }
        if let Some(on_site) = inputs.on_site
            && let Some(supplier) = &on_site.finding.supplier
            && let Some(uscc) = &supplier.uscc
        {
            parties
                .entry(uscc.to_string())
                .or_insert((supplier.name.as_str(), None));
        }
        Self {
            inputs,
            parties,
            producer,
        }
    }

    fn is_origin(&self, uscc: &str) -> bool {
        self.inputs
            .result
            .sampled_unit
            .uscc
            .as_ref()
            .is_some_and(|u| u.as_str() == uscc)
    }

    fn name(&self, uscc: &str) -> String {
        if let Some(unit) = self.inputs.units.get(uscc) {
            return unit.name.clone();
        }
        if self.is_origin(uscc) {
            return self.inputs.result.sampled_unit.name.clone();
        }
        if self.producer == Some(uscc) {
            return self.inputs.result.producer.name.clone();
        }
        self.parties
            .get(uscc)
            .map_or_else(String::new, |(name, _)| (*name).to_owned())
    }

    fn district(&self, uscc: &str) -> Option<String> {
        if let Some(district) = self.inputs.units.get(uscc).and_then(|u| u.district.clone()) {
            return Some(district);
        }
        if self.is_origin(uscc)
            && let Some(district) = &self.inputs.result.sampled_unit.district
        {
            return Some(district.clone());
        }
        if let Some(district) = self.parties.get(uscc).and_then(|(_, d)| *d) {
            return Some(district.to_owned());
        }
        // The producer's address on the label, or the sampled unit's (天津市宁河区…), else its
        // name or its code's registering district, so that its notices come from its
        // district's bureau and it counts in its district; not where the address or name is in
        // another province than the code's registering authority (the code decides referral).
        let result = &self.inputs.result;
        let (address, name) = if self.is_origin(uscc) {
            (
                result.sampled_unit.address.as_deref(),
                Some(result.sampled_unit.name.as_str()),
            )
        } else if self.producer == Some(uscc) {
            (
                result.producer.address.as_deref(),
                Some(result.producer.name.as_str()),
            )
        } else {
            (None, None)
        };
        columns::district_of_unit(address, name, Some(uscc))
            .filter(|district| uscc.get(2..4) == district.get(..2))
    }

    fn role(&self, uscc: &str) -> Option<UnitRole> {
        if self.is_origin(uscc) {
            return Some(self.inputs.result.sampled_unit.role);
        }
        if self.producer == Some(uscc) {
            return Some(UnitRole::Producer);
        }
        self.inputs
            .units
            .get(uscc)
            .and_then(|u| u.roles.first().copied())
    }
}

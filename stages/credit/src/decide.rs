//! What the credit system must be told about a case: a pure function of the case's newest
//! revision and of what the feed already says, so every rule of docs/domain.md (the life of a
//! case, step 4) and docs/contract.md §4 is tested without a broker.
//!
//! The case says who the failure is recorded under ([`Case::subjects`]: identified, referred,
//! pending, expired). [`reconcile`] computes what should stand published now and compares it with
//! the newest action per `disclosure_id`:
//! - wanted and not published (or retracted) → `publish`;
//! - wanted and published with other content (a re-test moved `final_on`, a name was corrected)
//!   → a corrected `publish` with the same id, `revision` + 1 and `supersedes`;
//! - published and no longer wanted (overturned, the producer denies the batch, an objection in
//!   time re-opened it, the subject was re-identified) → `retract`.
//!
//! A published disclosure whose three years have run is left as it is; one that would be
//! expired when first published is not published (the case says why). Nothing for a passing
//! result (no case), nothing twice.

use chrono::{DateTime, Utc};
use spotcheck_schemas::case::{CaseStatus, SubjectDisclosure};
use spotcheck_schemas::disclosure::{Subject, disclosure_id, visible_until};
use spotcheck_schemas::{Case, Disclosure, DisclosureAction, SubjectRole};
use std::collections::{BTreeMap, BTreeSet};

/// The legal basis each disclosure names.
pub const BASIS: &str = "《中华人民共和国产品质量法》第十五条、第十七条；《产品质量监督抽查管理暂行办法》第四十四条至第四十九条；《企业信息公示暂行条例》第六条";

/// The actions that bring the feed from `last` (the newest action per `disclosure_id` of this
/// case) to what the case's newest revision calls for.
pub fn reconcile(
    case: &Case,
    last: &BTreeMap<String, Disclosure>,
    now: DateTime<Utc>,
) -> Vec<Disclosure> {
    let (wanted, kept) = wanted(case, now);
    let mut actions = Vec::new();
    for disclosure in wanted.values() {
        match last.get(&disclosure.disclosure_id) {
            None => actions.push(disclosure.clone()),
            Some(previous) if previous.action == DisclosureAction::Retract => {
                actions.push(next_of(previous, disclosure.clone(), "final"));
            }
            Some(previous) if !same_content(previous, disclosure) => {
                actions.push(next_of(previous, disclosure.clone(), "corrected"));
            }
            Some(_) => {}
        }
    }
    for (id, previous) in last {
        let published = previous.action == DisclosureAction::Publish;
        if published && !wanted.contains_key(id) && !kept.contains(id) {
            let mut retract = previous.clone();
            retract.action = DisclosureAction::Retract;
            retract.published_at = now;
            actions.push(next_of(previous, retract, why_retracted(case, previous)));
        }
    }
    actions
}

/// The disclosures that should stand now, by id, and the ids of expired ones to leave alone.
fn wanted(case: &Case, now: DateTime<Utc>) -> (BTreeMap<String, Disclosure>, BTreeSet<String>) {
    let mut wanted = BTreeMap::new();
    let mut kept = BTreeSet::new();
    let (Some(facts), Some(final_on)) = (&case.facts, case.deadlines.final_on) else {
        return (wanted, kept);
    };
    if case.inspection.is_some() {
        // An on-site inspection's finding is not a spot-check nonconformance: what follows it
        // (a penalty decision) is disclosed by the decision, not by this feed.
        return (wanted, kept);
    }
    if matches!(
        case.status,
        CaseStatus::Open | CaseStatus::Retest | CaseStatus::Overturned | CaseStatus::Revoked
    ) {
        return (wanted, kept);
    }
    for (uscc, name, role, disclosure) in subjects(case) {
        let id = disclosure_id(&case.case_id, &uscc, role);
        match disclosure {
            SubjectDisclosure::Disclose => {}
            SubjectDisclosure::Expired => {
                kept.insert(id);
                continue;
            }
            _ => continue,
        }
        wanted.insert(
            id.clone(),
            Disclosure {
                disclosure_id: id,
                action: DisclosureAction::Publish,
                subject: Subject { uscc, name },
                subject_role: role,
                case_id: case.case_id.clone(),
                report_no: case.report_no.clone(),
                lab_id: case.lab_id.clone(),
                organiser: facts.organiser.clone(),
                category: case.category.unwrap_or(spotcheck_schemas::Category::Other),
                product: facts.product.clone(),
                failed_items: facts.failed_items.clone(),
                sampling_date: facts.sampling_date,
                final_on,
                published_at: now,
                visible_until: visible_until(final_on),
                basis: BASIS.to_owned(),
                revision: 1,
                supersedes: None,
                reason: Some("final".into()),
            },
        );
    }
    (wanted, kept)
}

/// `next` as the action after `previous` on the same id.
fn next_of(previous: &Disclosure, mut next: Disclosure, reason: &str) -> Disclosure {
    next.revision = previous.revision + 1;
    next.supersedes = Some(previous.revision);
    next.reason = Some(reason.to_owned());
    next
}

/// Whether two disclosures say the same to the credit system (stamps and numbering aside).
fn same_content(a: &Disclosure, b: &Disclosure) -> bool {
    let strip = |d: &Disclosure| Disclosure {
        action: DisclosureAction::Publish,
        published_at: DateTime::<Utc>::UNIX_EPOCH,
        revision: 0,
        supersedes: None,
        reason: None,
        ..d.clone()
    };
    strip(a) == strip(b)
}

fn why_retracted(case: &Case, previous: &Disclosure) -> &'static str {
    match case.status {
        CaseStatus::Overturned => return "overturned",
        CaseStatus::Revoked => return "revoked",
        CaseStatus::Open | CaseStatus::Retest => return "not_final",
        _ => {}
    }
    let subject = subjects(case).into_iter().find(|(uscc, _, role, _)| {
        *role == previous.subject_role && *uscc == previous.subject.uscc
    });
    match subject.map(|(_, _, _, disclosure)| disclosure) {
        Some(SubjectDisclosure::Referred) => "referred",
        _ => "subject_changed",
    }
}

/// (uscc, name, role, what to do) of each identified subject of the case. A revision derived
/// before subjects were part of a case (rules 1) names them by the old rule.
fn subjects(case: &Case) -> Vec<(String, String, SubjectRole, SubjectDisclosure)> {
    if !case.subjects.is_empty() {
        return case
            .subjects
            .iter()
            .filter_map(|s| {
                s.uscc
                    .clone()
                    .map(|uscc| (uscc, s.name.clone(), s.role, s.disclosure))
            })
            .collect();
    }
    let mut subjects = Vec::new();
    let seller_name = case
        .facts
        .as_ref()
        .map_or_else(|| case.origin.name.clone(), |f| f.sampled_unit_name.clone());
    if let Some(seller) = &case.origin.uscc {
        subjects.push((
            seller.clone(),
            seller_name,
            SubjectRole::Seller,
            SubjectDisclosure::Disclose,
        ));
    }
    if let Some(producer) = &case.batch.producer_uscc {
        let not_to_blame = case.referrals.iter().any(|r| {
            &r.uscc == producer
                && matches!(
                    r.kind.as_deref(),
                    Some("suspected_counterfeit" | "producer_denied")
                )
        });
        let is_seller = case.origin.uscc.as_ref() == Some(producer);
        if !is_seller {
            let disclosure = if not_to_blame {
                SubjectDisclosure::Referred
            } else {
                SubjectDisclosure::Disclose
            };
            subjects.push((
                producer.clone(),
                case.batch.producer_name.clone(),
                SubjectRole::Producer,
                disclosure,
            ));
        }
    }
    subjects
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn case(status: &str, final_on: Option<&str>, producer_referral: Option<&str>) -> Case {
        let referrals = match producer_referral {
            Some(kind) => {
                json!([{"uscc": "91350100M000100Y43", "region": "350000", "reason": "x", "kind": kind}])
            }
            None => json!([]),
        };
        serde_json::from_value(json!({
            "case_id": "c1", "revision": 2, "report_no": "R1", "lab_id": "lab", "category": "e_bike",
            "batch": {"key": "k", "producer_name": "某厂", "producer_uscc": "91350100M000100Y43", "model": "m", "batch": "b"},
            "status": status, "origin": {"uscc": "91110000802100433B", "name": "某店", "role": "retailer"},
            "units": [], "referrals": referrals, "notices": [],
            "deadlines": {"objection_until": "2026-05-10", "rectify_by": null, "recheck_by": null, "final_on": final_on},
            "facts": {"organiser": "天津市市场监督管理委员会", "product": {"name": "电动自行车", "brand": null, "model": "m", "batch": "b", "production_date": null},
                      "failed_items": [{"name": "最高车速", "clause": null, "required": null, "measured": null, "verdict": "fail"}],
                      "sampling_date": "2026-04-02", "sampled_unit_name": "某店"},
            "updated_at": "2026-05-11T00:00:00Z"
        }))
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 11, 8, 0, 0).unwrap()
    }

    /// What the feed publishes for the final case of 11 May, nothing published before.
    fn published_on_final() -> Vec<Disclosure> {
        reconcile(
            &case("final", Some("2026-05-11"), None),
            &BTreeMap::new(),
            now(),
        )
    }

    fn taken_from(disclosures: &[Disclosure]) -> BTreeMap<String, Disclosure> {
        disclosures
            .iter()
            .map(|d| (d.disclosure_id.clone(), d.clone()))
            .collect()
    }

    /// The feed's newest action per id after `earlier` and then `later`.
    fn after(earlier: &[Disclosure], later: &[Disclosure]) -> BTreeMap<String, Disclosure> {
        let mut state = taken_from(earlier);
        state.extend(taken_from(later));
        state
    }

    #[test]
    fn an_inspection_finding_is_not_disclosed_as_a_spot_check_failure() {
        let mut inspected = case("final", Some("2026-05-11"), None);
        assert!(!reconcile(&inspected, &BTreeMap::new(), now()).is_empty());
        inspected.inspection = Some(
            serde_json::from_value(json!({
                "kind": "below_mandatory_standard", "inspection_id": "JC-1",
                "inspected_on": "2026-05-11", "inspectors": ["王强", "李明"], "place": null,
                "description": null, "standard": "GB 17761-2024"
            }))
            .unwrap(),
        );
        assert!(reconcile(&inspected, &BTreeMap::new(), now()).is_empty());
    }

    #[test]
    fn a_later_final_date_corrects_the_published_disclosure_under_the_same_id() {
        let published = published_on_final();
        let corrected = reconcile(
            &case("final", Some("2026-06-01"), None),
            &taken_from(&published),
            now(),
        );
        assert_eq!(corrected.len(), 2);
        for d in &corrected {
            assert_eq!(d.action, DisclosureAction::Publish);
            assert_eq!((d.revision, d.supersedes), (2, Some(1)));
            assert_eq!(d.reason.as_deref(), Some("corrected"));
            assert_eq!(d.final_on.to_string(), "2026-06-01");
            assert_eq!(d.visible_until.to_string(), "2029-06-01");
        }
        assert!(
            reconcile(
                &case("final", Some("2026-06-01"), None),
                &after(&published, &corrected),
                now()
            )
            .is_empty()
        );
    }

    #[test]
    fn a_denial_after_publication_retracts_the_producer_only() {
        let published = published_on_final();
        let denied = reconcile(
            &case("final", Some("2026-05-11"), Some("producer_denied")),
            &taken_from(&published),
            now(),
        );
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].action, DisclosureAction::Retract);
        assert_eq!(denied[0].subject_role, SubjectRole::Producer);
        assert_eq!(denied[0].reason.as_deref(), Some("referred"));
        assert_eq!(denied[0].revision, 2);
    }

    #[test]
    fn a_final_failure_is_published_for_the_seller_and_the_producer_once() {
        let published = published_on_final();
        let roles: Vec<SubjectRole> = published.iter().map(|d| d.subject_role).collect();
        assert_eq!(roles, [SubjectRole::Seller, SubjectRole::Producer]);
        assert!(
            published
                .iter()
                .all(|d| d.action == DisclosureAction::Publish)
        );
        assert_eq!(published[0].visible_until.to_string(), "2029-05-11");
        assert_eq!(published[0].failed_items.len(), 1);
        assert!(published[0].basis.contains("产品质量法"));
        let again = reconcile(
            &case("rectifying", Some("2026-05-11"), None),
            &taken_from(&published),
            now(),
        );
        assert!(again.is_empty(), "nothing twice");
    }

    #[test]
    fn nothing_before_finality_and_a_counterfeit_producer_is_not_disclosed() {
        assert!(reconcile(&case("open", None, None), &BTreeMap::new(), now()).is_empty());
        assert!(reconcile(&case("retest", None, None), &BTreeMap::new(), now()).is_empty());
        for kind in ["suspected_counterfeit", "producer_denied"] {
            let published = reconcile(
                &case("final", Some("2026-05-11"), Some(kind)),
                &BTreeMap::new(),
                now(),
            );
            assert_eq!(published.len(), 1, "{kind}");
            assert_eq!(published[0].subject_role, SubjectRole::Seller);
        }
        let out_of_region = reconcile(
            &case("final", Some("2026-05-11"), Some("out_of_region")),
            &BTreeMap::new(),
            now(),
        );
        assert_eq!(
            out_of_region.len(),
            2,
            "a producer elsewhere is still disclosed"
        );
    }

    #[test]
    fn an_overturned_failure_retracts_what_was_published_with_the_same_id() {
        let published = published_on_final();
        let retracted = reconcile(
            &case("overturned", Some("2026-05-11"), None),
            &taken_from(&published),
            now(),
        );
        assert_eq!(retracted.len(), 2);
        assert!(
            retracted
                .iter()
                .all(|d| d.action == DisclosureAction::Retract)
        );
        assert_eq!(
            taken_from(&published).keys().collect::<Vec<_>>(),
            taken_from(&retracted).keys().collect::<Vec<_>>()
        );
        assert!(
            reconcile(&case("overturned", None, None), &BTreeMap::new(), now()).is_empty(),
            "nothing to retract"
        );
    }

    #[test]
    fn a_revoked_result_is_retracted_saying_it_was_revoked() {
        let published = published_on_final();
        // Revoked: no final_on any more, the case says why.
        let retracted = reconcile(&case("revoked", None, None), &taken_from(&published), now());
        assert_eq!(retracted.len(), 2);
        for d in &retracted {
            assert_eq!(d.action, DisclosureAction::Retract);
            assert_eq!(d.reason.as_deref(), Some("revoked"));
        }
    }
}

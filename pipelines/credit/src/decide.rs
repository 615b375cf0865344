//! What the credit system must be told about one case revision: pure, so every rule of DOMAIN.md
//! step 4 and CONTRACT §4 is tested without a broker.
//!
//! - A failure becomes final → one `publish` per subject: the sampled unit as seller and the
//!   nominal producer — except a producer referred as suspected counterfeit or as denying the
//!   batch, who is not disclosed.
//! - A re-test overturns it → a `retract` with the same `disclosure_id` for each published subject.
//! - Nothing for a case that is not final, and nothing twice.

use chrono::{DateTime, Months, Utc};
use spotcheck_schemas::case::CaseStatus;
use spotcheck_schemas::disclosure::{Subject, disclosure_id};
use spotcheck_schemas::{Case, Disclosure, DisclosureAction, SubjectRole};
use std::collections::BTreeMap;

/// The legal basis each disclosure names.
pub const BASIS: &str = "《中华人民共和国产品质量法》第十五条、第十七条；《产品质量监督抽查管理暂行办法》第四十四条至第四十九条；《企业信息公示暂行条例》第六条";

/// Years a disclosure stays visible.
const VISIBLE_YEARS: u32 = 3;

/// The disclosures this revision calls for, given the last action already taken per
/// `disclosure_id`.
pub fn decide(
    case: &Case,
    taken: &BTreeMap<String, DisclosureAction>,
    now: DateTime<Utc>,
) -> Vec<Disclosure> {
    let Some(facts) = &case.facts else {
        return Vec::new();
    };
    let action = match case.status {
        CaseStatus::Overturned => DisclosureAction::Retract,
        CaseStatus::Open | CaseStatus::Retest => return Vec::new(),
        _ if case.deadlines.final_on.is_some() => DisclosureAction::Publish,
        _ => return Vec::new(),
    };
    let mut disclosures = Vec::new();
    for (uscc, name, role) in subjects(case) {
        let id = disclosure_id(&case.case_id, &uscc, role);
        // Publish once; retract only what was published (and once).
        let wanted = matches!(
            (action, taken.get(&id)),
            (DisclosureAction::Publish, None)
                | (DisclosureAction::Retract, Some(DisclosureAction::Publish))
        );
        if !wanted {
            continue;
        }
        let final_on = case.deadlines.final_on.unwrap_or_else(|| now.date_naive());
        disclosures.push(Disclosure {
            disclosure_id: id,
            action,
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
            visible_until: final_on
                .checked_add_months(Months::new(12 * VISIBLE_YEARS))
                .unwrap_or(final_on),
            basis: BASIS.to_owned(),
        });
    }
    disclosures
}

/// (uscc, name, role) of each enterprise a final failure is disclosed under.
fn subjects(case: &Case) -> Vec<(String, String, SubjectRole)> {
    let mut subjects = Vec::new();
    let seller_name = case
        .facts
        .as_ref()
        .map_or_else(|| case.origin.name.clone(), |f| f.sampled_unit_name.clone());
    if let Some(seller) = &case.origin.uscc {
        subjects.push((seller.clone(), seller_name, SubjectRole::Seller));
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
        if !not_to_blame && !is_seller {
            subjects.push((
                producer.clone(),
                case.batch.producer_name.clone(),
                SubjectRole::Producer,
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

    fn taken_from(disclosures: &[Disclosure]) -> BTreeMap<String, DisclosureAction> {
        disclosures
            .iter()
            .map(|d| (d.disclosure_id.clone(), d.action))
            .collect()
    }

    #[test]
    fn a_final_failure_is_published_for_the_seller_and_the_producer_once() {
        let published = decide(
            &case("final", Some("2026-05-11"), None),
            &BTreeMap::new(),
            now(),
        );
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
        let again = decide(
            &case("rectifying", Some("2026-05-11"), None),
            &taken_from(&published),
            now(),
        );
        assert!(again.is_empty(), "nothing twice");
    }

    #[test]
    fn nothing_before_finality_and_a_counterfeit_producer_is_not_disclosed() {
        assert!(decide(&case("open", None, None), &BTreeMap::new(), now()).is_empty());
        assert!(decide(&case("retest", None, None), &BTreeMap::new(), now()).is_empty());
        for kind in ["suspected_counterfeit", "producer_denied"] {
            let published = decide(
                &case("final", Some("2026-05-11"), Some(kind)),
                &BTreeMap::new(),
                now(),
            );
            assert_eq!(published.len(), 1, "{kind}");
            assert_eq!(published[0].subject_role, SubjectRole::Seller);
        }
        let out_of_region = decide(
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
        let published = decide(
            &case("final", Some("2026-05-11"), None),
            &BTreeMap::new(),
            now(),
        );
        let retracted = decide(
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
            decide(&case("overturned", None, None), &BTreeMap::new(), now()).is_empty(),
            "nothing to retract"
        );
    }
}

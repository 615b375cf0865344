//! The credit disclosure (docs/contract.md §4): what the credit publicity system shows under an
//! enterprise's name, and its withdrawal.

use crate::enums::{Category, DisclosureAction, SubjectRole};
use crate::keys::record_id;
use crate::result::{Product, TestItem};
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One disclosure id per (case, subject): a retraction reuses the id of what it withdraws.
pub fn disclosure_id(case_id: &str, subject_uscc: &str, role: SubjectRole) -> String {
    record_id("disclosure", &[case_id, subject_uscc, role.as_str()])
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "Credit disclosure",
    description = "A final nonconformance shown under an enterprise's name, or its retraction (same disclosure_id)."
)]
pub struct Disclosure {
    pub disclosure_id: String,
    pub action: DisclosureAction,
    pub subject: Subject,
    pub subject_role: SubjectRole,
    pub case_id: String,
    pub report_no: String,
    pub lab_id: String,
    pub organiser: Option<String>,
    pub category: Category,
    pub product: Product,
    #[serde(default)]
    pub failed_items: Vec<TestItem>,
    pub sampling_date: NaiveDate,
    /// The day the failure became final.
    pub final_on: NaiveDate,
    pub published_at: DateTime<Utc>,
    /// Three years after `final_on`.
    pub visible_until: NaiveDate,
    /// The legal articles the disclosure rests on.
    pub basis: String,
    /// 1 for the first action on this `disclosure_id`; each later action (a corrected `publish`,
    /// a `retract`, a `publish` again) adds one. The newest revision replaces every earlier one.
    #[serde(default = "first_revision")]
    #[schemars(range(min = 1))]
    pub revision: u32,
    /// The revision this one replaces (absent on the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub supersedes: Option<u32>,
    /// Why this action: `final`, `corrected` (the case changed what is disclosed), `overturned`,
    /// `revoked` (the result revoked by a decision), `producer_denied`, `not_final` (an objection in time re-opened it), `subject_changed`
    /// (re-identified), `referred`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["final", "corrected", "overturned", "revoked", "not_final", "referred", "subject_changed", null]))]
    pub reason: Option<String>,
}

fn first_revision() -> u32 {
    1
}

/// Years a disclosure stays visible (docs/domain.md step 4).
pub const VISIBLE_YEARS: u32 = 3;

/// The last day a disclosure of a failure final on `final_on` is visible.
pub fn visible_until(final_on: NaiveDate) -> NaiveDate {
    final_on
        .checked_add_months(chrono::Months::new(12 * VISIBLE_YEARS))
        .unwrap_or(final_on)
}

/// The enterprise a disclosure is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Subject {
    #[schemars(with = "crate::Uscc")]
    pub uscc: String,
    pub name: String,
}

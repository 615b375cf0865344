//! The credit disclosure (CONTRACT §4): what the credit publicity system shows under an
//! enterprise's name, and its withdrawal.

use crate::enums::{Category, DisclosureAction, SubjectRole};
use crate::keys::record_id;
use crate::result::{Product, TestItem};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One disclosure id per (case, subject): a retraction reuses the id of what it withdraws.
pub fn disclosure_id(case_id: &str, subject_uscc: &str, role: SubjectRole) -> String {
    record_id("disclosure", &[case_id, subject_uscc, role.as_str()])
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// The enterprise a disclosure is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub uscc: String,
    pub name: String,
}

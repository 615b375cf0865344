//! Cases opened by on-site inspections (现场检查). Each finding of an inspection becomes a case of
//! its own; the finding is stored beside the case (`store::ON_SITE`) and, read as a failing
//! result ([`OnSiteCase::as_result`]), in the results table, so the case meets its batch's
//! shipments, the registry and the officials' dispositions exactly as a lab's failure does.
//!
//! Every refusal of inspection by one unit meets in one case: the first is answered with a
//! warning, the first refusal on a later day with suspension (PQL Art 56).

use crate::lifecycle::OnSite;
use crate::store::{self, StoreError};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use spotcheck_schemas::case::{CaseInspection, Gap};
use spotcheck_schemas::inspection::{Finding, INSPECTION_LAB_ID, domain_of};
use spotcheck_schemas::result::{Producer, Product, Sampling, TestItem};
use spotcheck_schemas::topics;
use spotcheck_schemas::{
    Category, FindingKind, Inspection, SamplingResult, Severity, Verdict, case_id,
};
use std::collections::BTreeSet;

/// One finding and the inspection it was found in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnSiteCase {
    /// The inspection, without its findings (the first refusal's, for a refusal case).
    pub inspection: Inspection,
    pub finding: Finding,
    /// The case's `report_no`.
    pub report_no: String,
    /// A refusal case: every refusal of the unit (inspection id, day), in date order.
    #[serde(default)]
    pub refusals: Vec<(String, chrono::NaiveDate)>,
}

impl OnSiteCase {
    pub fn is_refusal(&self) -> bool {
        self.finding.kind == FindingKind::RefusedInspection
    }

    /// Whether the finding names a batch to trace through the ledger.
    pub fn traces_batch(&self) -> bool {
        self.finding.traces_batch()
    }

    /// What the lifecycle needs: the day, and for a refusal the first refusal on a later day.
    pub fn opening(&self) -> OnSite {
        let on = self.inspection.inspected_on;
        OnSite {
            on,
            refusal: self.is_refusal().then(|| {
                self.refusals
                    .iter()
                    .map(|(_, day)| *day)
                    .find(|day| *day > on)
            }),
        }
    }

    /// The finding read as a failing result of the inspected unit: the unit is the sampled
    /// unit, the finding the failed item, a major hidden danger serious.
    pub fn as_result(&self) -> SamplingResult {
        let inspection = &self.inspection;
        let finding = &self.finding;
        let product = finding.product.as_ref();
        let what = finding
            .description
            .clone()
            .unwrap_or_else(|| finding.kind.name_zh().to_owned());
        SamplingResult {
            report_no: self.report_no.clone(),
            lab_id: INSPECTION_LAB_ID.to_owned(),
            task_id: None,
            organiser: inspection.organiser.clone(),
            level: None,
            category: finding.category.unwrap_or(Category::Other),
            product: Product {
                name: product.map_or_else(|| finding.kind.name_zh().to_owned(), |p| p.name.clone()),
                brand: product.and_then(|p| p.brand.clone()),
                model: product.and_then(|p| p.model.clone()).unwrap_or_default(),
                batch: product.and_then(|p| p.batch.clone()).unwrap_or_default(),
                production_date: product.and_then(|p| p.production_date),
            },
            producer: finding.producer.clone().unwrap_or(Producer {
                uscc: None,
                name: String::new(),
                address: None,
            }),
            sampled_unit: inspection.unit.clone(),
            sampling: Sampling {
                date: inspection.inspected_on,
                domain: domain_of(inspection.unit.role),
                quantity: finding.quantity.clone(),
            },
            tested_on: inspection.inspected_on,
            served_on: Some(inspection.inspected_on),
            standards: finding.standard.iter().cloned().collect(),
            items: vec![TestItem {
                name: what,
                clause: None,
                required: finding.standard.clone(),
                measured: None,
                verdict: Verdict::Fail,
                severity: None,
            }],
            verdict: Verdict::Fail,
            severity: Some(if finding.kind == FindingKind::MajorHiddenDanger {
                Severity::Serious
            } else {
                Severity::General
            }),
            suspected_counterfeit: false,
            follow_up: false,
        }
    }

    /// The inspection part of the case.
    pub fn case_inspection(&self) -> CaseInspection {
        let inspection = &self.inspection;
        CaseInspection {
            kind: self.finding.kind,
            inspection_id: inspection.inspection_id.clone(),
            inspected_on: inspection.inspected_on,
            inspectors: inspection.inspectors.clone(),
            place: inspection.place.clone(),
            description: self.finding.description.clone(),
            standard: self.finding.standard.clone(),
            evidence: self.finding.evidence.clone(),
            supplier: self.finding.supplier.clone(),
            refusals: self.refusals.clone(),
        }
    }

    /// What an inspector should complete.
    pub fn gaps(&self) -> Vec<Gap> {
        let mut gaps = Vec::new();
        if self.inspection.inspectors.len() < 2 {
            gaps.push(Gap::OneInspector);
        }
        if self.finding.evidence.is_empty() {
            gaps.push(Gap::NoEvidence);
        }
        if self.finding.kind == FindingKind::SanwuProduct {
            match &self.finding.supplier {
                None => gaps.push(Gap::NoSupplier),
                Some(s) if s.uscc.is_none() => gaps.push(Gap::SupplierWithoutCode {
                    supplier: s.name.clone(),
                }),
                Some(_) => {}
            }
        }
        gaps
    }
}

/// Stores the inspection's findings, each as its case's grounds; adds the cases it opens.
pub(crate) fn record_inspection(
    txn: &WriteTransaction,
    inspection: &Inspection,
    affected: &mut BTreeSet<String>,
) -> Result<(), StoreError> {
    let header = Inspection {
        findings: Vec::new(),
        ..inspection.clone()
    };
    let mut on_site = txn.open_table(store::ON_SITE)?;
    let mut results = txn.open_table(store::RESULTS)?;
    let mut partitions = txn.open_table(store::CASE_PARTITION)?;
    for (index, finding) in inspection.findings.iter().enumerate() {
        let report_no = inspection.report_no_of(index);
        let case_id = case_id(INSPECTION_LAB_ID, &report_no);
        let previous: Option<OnSiteCase> = match on_site.get(case_id.as_str())? {
            Some(bytes) => Some(serde_json::from_slice(bytes.value())?),
            None => None,
        };
        let mut grounds = OnSiteCase {
            inspection: header.clone(),
            finding: finding.clone(),
            report_no,
            refusals: Vec::new(),
        };
        if finding.kind == FindingKind::RefusedInspection {
            let mut refusals = previous
                .as_ref()
                .map(|p| p.refusals.clone())
                .unwrap_or_default();
            let this = (inspection.inspection_id.clone(), inspection.inspected_on);
            if !refusals.iter().any(|(id, _)| *id == this.0) {
                refusals.push(this);
            }
            refusals.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
            // The case stands on the first refusal; later ones are its history.
            if let Some(previous) = previous.filter(|p| {
                (p.inspection.inspected_on, &p.inspection.inspection_id)
                    < (inspection.inspected_on, &inspection.inspection_id)
            }) {
                grounds = previous;
            }
            grounds.refusals = refusals;
        }
        on_site.insert(case_id.as_str(), serde_json::to_vec(&grounds)?.as_slice())?;
        results.insert(
            case_id.as_str(),
            serde_json::to_vec(&grounds.as_result())?.as_slice(),
        )?;
        partitions.insert(case_id.as_str(), owner_partition(&case_id))?;
        affected.insert(case_id);
    }
    Ok(())
}

/// The finding of an inspection case, if the case is one.
pub(crate) fn load(
    txn: &WriteTransaction,
    case_id: &str,
) -> Result<Option<OnSiteCase>, StoreError> {
    match txn.open_table(store::ON_SITE)?.get(case_id)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(bytes.value())?)),
        None => Ok(None),
    }
}

/// The results partition whose owner derives an inspection case (FNV-1a of its id, over the
/// catalogue's partitions of the results topic; inspections are read whole by every instance).
fn owner_partition(case_id: &str) -> i32 {
    let hash = case_id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let partitions = spotcheck_runtime::catalogue::partitions(topics::RESULTS)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    i32::try_from(hash % partitions).unwrap_or(0)
}

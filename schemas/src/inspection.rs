//! An on-site inspection (现场检查) an official records from the field: which unit, where, when,
//! by whom, and what was found. Each finding opens a case of its own in the traceback stage
//! (the four notices follow inspections as well as failed samples); an inspection with no
//! finding is kept for the unit's credit archive.
//!
//! A finding's case is addressed like a result's, with `lab_id` = [`INSPECTION_LAB_ID`] and
//! `report_no` = [`Inspection::finding_report_no`] (`<inspection_id>/<n>`), so officials record
//! its events (served, rectification reported, re-check concluded…) as dispositions with those
//! two fields. Refusals of inspection by one unit share one case ([`refusal_report_no`]): the
//! first is answered with a warning, a refusal after it with suspension (PQL Art 56).

use crate::enums::{Category, FindingKind, UnitRole};
use crate::error::{Errors, FieldError};
use crate::keys::name_key;
use crate::reader::Obj;
use crate::result::{Producer, SampledUnit, read_producer, read_sampled_unit};
use crate::uscc::Uscc;
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `lab_id` under which inspection cases (and their dispositions) are addressed.
pub const INSPECTION_LAB_ID: &str = "inspection";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "On-site inspection",
    description = "An on-site inspection (现场检查): the unit, place, day and inspectors, and what was found. Each finding opens a case (lab_id `inspection`, report_no `<inspection_id>/<n>`; a refusal: `refusal/<uscc or name key>`)."
)]
pub struct Inspection {
    /// The inspection record's number (检查记录编号), unique to the organiser's system.
    pub inspection_id: String,
    pub organiser: Option<String>,
    pub inspected_on: NaiveDate,
    /// The law-enforcement officers who inspected (by name or badge number).
    #[schemars(length(min = 1))]
    pub inspectors: Vec<String>,
    /// The inspected unit.
    pub unit: SampledUnit,
    /// Where the inspection took place (shop, warehouse, site), when not the unit's address.
    pub place: Option<String>,
    #[serde(default)]
    pub findings: Vec<Finding>,
}

/// One thing the inspectors found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub kind: FindingKind,
    /// What was found, in the inspectors' words.
    pub description: Option<String>,
    pub category: Option<Category>,
    /// The product concerned (absent for a refusal, and for a danger of the site itself).
    pub product: Option<InspectedProduct>,
    /// The producer the label names (absent on a 三无 product).
    pub producer: Option<Producer>,
    /// Who supplied the product to the inspected unit, from its purchase records (进货查验记录).
    pub supplier: Option<Supplier>,
    /// The mandatory standard the product falls below.
    pub standard: Option<String>,
    /// How much of it was found (e.g. `12 台`).
    pub quantity: Option<String>,
    /// References to the evidence: photos, video, the inspection record, seized samples.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// The product of a finding: model and batch as far as the label gives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InspectedProduct {
    pub name: String,
    pub brand: Option<String>,
    pub model: Option<String>,
    pub batch: Option<String>,
    pub production_date: Option<NaiveDate>,
}

/// The unit that supplied the product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Supplier {
    pub uscc: Option<Uscc>,
    pub name: String,
}

const FIELDS: &[&str] = &[
    "inspection_id",
    "organiser",
    "inspected_on",
    "inspectors",
    "unit",
    "place",
    "findings",
];

const FINDING_FIELDS: &[&str] = &[
    "kind",
    "description",
    "category",
    "product",
    "producer",
    "supplier",
    "standard",
    "quantity",
    "evidence",
];

impl Inspection {
    /// Validates an untrusted JSON value; `today` bounds `inspected_on` (at most tomorrow).
    pub fn parse(value: &Value, today: NaiveDate) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::default();
        let root = Obj::root(value, &mut errors);
        root.reject_unknown(FIELDS, &mut errors);
        let inspection_id = root.required_text("inspection_id", &mut errors);
        let organiser = root.text("organiser", &mut errors);
        let inspected_on = root.date("inspected_on", true, &mut errors);
        let inspectors = root.text_list("inspectors", &mut errors);
        if inspectors.is_empty() {
            errors.push(
                "inspectors",
                "names no inspector: give the law-enforcement officers who inspected",
            );
        }
        let unit = read_sampled_unit(&root.object("unit", true, &mut errors), &mut errors);
        let place = root.text("place", &mut errors);
        let mut findings = Some(Vec::new());
        for obj in root.objects("findings", &mut errors) {
            match read_finding(&obj, &mut errors) {
                Some(finding) => {
                    if let Some(findings) = &mut findings {
                        findings.push(finding);
                    }
                }
                None => findings = None,
            }
        }
        if let Some(on) = inspected_on
            && on > today.succ_opt().unwrap_or(today)
        {
            errors.push(
                "inspected_on",
                format!("{on} is in the future (today is {today})"),
            );
        }
        let inspection = (|| {
            Some(Inspection {
                inspection_id: inspection_id?,
                organiser,
                inspected_on: inspected_on?,
                inspectors,
                unit: unit?,
                place,
                findings: findings?,
            })
        })();
        errors.finish(inspection)
    }

    /// The `report_no` of the case the finding at `index` (0-based) opens, for every kind but a
    /// refusal ([`refusal_report_no`]).
    pub fn finding_report_no(&self, index: usize) -> String {
        format!("{}/{}", self.inspection_id, index + 1)
    }

    /// The `report_no` of the case of each finding, in order.
    pub fn report_no_of(&self, index: usize) -> String {
        match self.findings.get(index) {
            Some(f) if f.kind == FindingKind::RefusedInspection => refusal_report_no(&self.unit),
            _ => self.finding_report_no(index),
        }
    }
}

/// The `report_no` of a unit's refusal case: every refusal of the unit meets there.
pub fn refusal_report_no(unit: &SampledUnit) -> String {
    match &unit.uscc {
        Some(uscc) => format!("refusal/{uscc}"),
        None => format!("refusal/{}", name_key(&unit.name)),
    }
}

fn read_finding(obj: &Obj, errors: &mut Errors) -> Option<Finding> {
    obj.reject_unknown(FINDING_FIELDS, errors);
    let kind = obj.choice("kind", FindingKind::ALL, FindingKind::as_str, true, errors);
    let description = obj.text("description", errors);
    let category = obj.choice("category", Category::ALL, Category::as_str, false, errors);
    let product_obj = obj.object("product", false, errors);
    let product = product_obj
        .is_present()
        .then(|| read_product(&product_obj, errors))
        .flatten();
    let producer_obj = obj.object("producer", false, errors);
    let producer = producer_obj
        .is_present()
        .then(|| read_producer(&producer_obj, errors))
        .flatten();
    let supplier_obj = obj.object("supplier", false, errors);
    let supplier = supplier_obj
        .is_present()
        .then(|| read_supplier(&supplier_obj, errors))
        .flatten();
    let standard = obj.text("standard", errors);
    let quantity = obj.text("quantity", errors);
    let evidence = obj.text_list("evidence", errors);
    let kind = kind?;
    match kind {
        FindingKind::RefusedInspection => {
            if product_obj.is_present() {
                errors.push(
                    obj.path_of("product"),
                    "a refusal of inspection concerns the unit, not a product: leave product out",
                );
            }
        }
        FindingKind::SanwuProduct | FindingKind::BelowMandatoryStandard | FindingKind::NoCcc => {
            if !product_obj.is_present() {
                errors.push(
                    obj.path_of("product"),
                    format!(
                        "is required for a finding of kind {kind}: name the product found (its name at least)"
                    ),
                );
            }
        }
        FindingKind::MajorHiddenDanger => {}
    }
    if kind != FindingKind::SanwuProduct
        && kind != FindingKind::RefusedInspection
        && product.is_some()
        && !producer_obj.is_present()
        && !supplier_obj.is_present()
    {
        errors.push(
            obj.path_of("producer"),
            "is required with a product (the producer its label names), or give its supplier: \
             without either the batch cannot be traced",
        );
    }
    if kind == FindingKind::BelowMandatoryStandard && standard.is_none() {
        errors.push(
            obj.path_of("standard"),
            "is required for a finding below a mandatory standard: name the standard (GB …)",
        );
    }
    let category = category.or_else(|| {
        product
            .as_ref()
            .and_then(|p| crate::columns::category_of_product(&p.name))
    });
    Some(Finding {
        kind,
        description,
        category,
        product,
        producer,
        supplier,
        standard,
        quantity,
        evidence,
    })
}

fn read_product(obj: &Obj, errors: &mut Errors) -> Option<InspectedProduct> {
    obj.reject_unknown(
        &["name", "brand", "model", "batch", "production_date"],
        errors,
    );
    let name = obj.required_text("name", errors);
    Some(InspectedProduct {
        name: name?,
        brand: obj.text("brand", errors),
        model: obj.text("model", errors),
        batch: obj.text("batch", errors),
        production_date: obj.date("production_date", false, errors),
    })
}

fn read_supplier(obj: &Obj, errors: &mut Errors) -> Option<Supplier> {
    obj.reject_unknown(&["uscc", "name"], errors);
    let uscc = obj.uscc("uscc", false, errors);
    let name = obj.required_text("name", errors);
    Some(Supplier { uscc, name: name? })
}

impl Finding {
    /// Whether the finding names a batch the ledger can trace (a product whose label names its
    /// producer).
    pub fn traces_batch(&self) -> bool {
        self.product.is_some() && self.producer.is_some()
    }
}

/// The sampling domain an inspected unit's role stands for.
pub fn domain_of(role: UnitRole) -> crate::enums::SamplingDomain {
    use crate::enums::SamplingDomain;
    match role {
        UnitRole::Producer => SamplingDomain::Production,
        UnitRole::Ecommerce => SamplingDomain::Ecommerce,
        UnitRole::Distributor | UnitRole::Retailer => SamplingDomain::Circulation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default()
    }

    fn inspection() -> Value {
        json!({
            "inspection_id": "JC-2026-0001", "inspected_on": "2026-04-30",
            "inspectors": ["王强", "李明"],
            "unit": {"name": "某五金店", "role": "retailer", "district": "120104"},
            "findings": [
                {"kind": "sanwu_product", "product": {"name": "燃气灶"},
                 "supplier": {"name": "某批发部"}, "evidence": ["照片 IMG_0012"]},
                {"kind": "refused_inspection"}
            ]
        })
    }

    #[test]
    fn a_field_record_is_read_with_its_findings_and_case_numbers() {
        let parsed = Inspection::parse(&inspection(), today()).expect("valid");
        assert_eq!(parsed.findings.len(), 2);
        assert_eq!(parsed.findings[0].category, Some(Category::GasAppliance));
        assert!(!parsed.findings[0].traces_batch());
        assert_eq!(parsed.report_no_of(0), "JC-2026-0001/1");
        assert!(parsed.report_no_of(1).starts_with("refusal/"));
    }

    #[test]
    fn every_missing_piece_is_named_with_its_path() {
        let mut value = inspection();
        value["inspectors"] = json!([]);
        value["inspected_on"] = json!("2026-06-01");
        value["findings"][0]["product"] = Value::Null;
        value["findings"][1]["product"] = json!({"name": "x"});
        if let Some(findings) = value["findings"].as_array_mut() {
            findings.push(json!({"kind": "below_mandatory_standard",
                "product": {"name": "电线"}, "producer": {"name": "某厂"}}));
        }
        let errors = Inspection::parse(&value, today()).expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for field in [
            "inspectors",
            "inspected_on",
            "findings[0].product",
            "findings[1].product",
            "findings[2].standard",
        ] {
            assert!(fields.contains(&field), "{field} not in {errors:#?}");
        }
    }
}

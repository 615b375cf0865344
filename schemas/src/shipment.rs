//! One hop of a batch through the supply chain (docs/contract.md §4), posted by ledgers.

use crate::enums::Category;
use crate::error::{Errors, FieldError};
use crate::keys::BatchKey;
use crate::reader::Obj;
use crate::uscc::Uscc;
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "Shipment",
    description = "One hop of a batch from one unit to another."
)]
pub struct Shipment {
    pub shipment_id: String,
    pub category: Category,
    pub product: ShippedProduct,
    pub from: Party,
    pub to: Party,
    #[schemars(range(min = 0))]
    pub quantity: f64,
    #[schemars(default = "default_unit")]
    pub unit: String,
    pub shipped_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShippedProduct {
    pub producer_uscc: Option<Uscc>,
    pub producer_name: String,
    pub model: String,
    pub batch: String,
}

/// A sender or receiver of a shipment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Party {
    pub uscc: Uscc,
    pub name: String,
    #[schemars(pattern(r"^[0-9]{6}$"))]
    pub district: Option<String>,
}

/// The unit of quantity when a ledger does not say.
pub const DEFAULT_QUANTITY_UNIT: &str = "pcs";

fn default_unit() -> String {
    DEFAULT_QUANTITY_UNIT.to_owned()
}

impl Shipment {
    /// Validates an untrusted JSON value; `today` bounds `shipped_on` (at most tomorrow).
    pub fn parse(value: &Value, today: NaiveDate) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::default();
        let root = Obj::root(value, &mut errors);
        root.reject_unknown(
            &[
                "shipment_id",
                "category",
                "product",
                "from",
                "to",
                "quantity",
                "unit",
                "shipped_on",
            ],
            &mut errors,
        );
        let shipment = read_shipment(&root, &mut errors);
        if let Some(shipment) = &shipment {
            check_shipment(shipment, today, &mut errors);
        }
        errors.finish(shipment)
    }

    pub fn batch_key(&self) -> BatchKey {
        BatchKey::new(
            &self.product.producer_name,
            &self.product.model,
            &self.product.batch,
        )
    }
}

fn read_shipment(root: &Obj, errors: &mut Errors) -> Option<Shipment> {
    let shipment_id = root.required_text("shipment_id", errors);
    let category = root.choice("category", Category::ALL, Category::as_str, true, errors);
    let product = read_product(&root.object("product", true, errors), errors);
    let from = read_party(&root.object("from", true, errors), errors);
    let to = read_party(&root.object("to", true, errors), errors);
    let quantity = root.number("quantity", true, errors);
    let unit = root.text("unit", errors);
    let shipped_on = root.date("shipped_on", true, errors);
    Some(Shipment {
        shipment_id: shipment_id?,
        category: category?,
        product: product?,
        from: from?,
        to: to?,
        quantity: quantity?,
        unit: unit.unwrap_or_else(|| DEFAULT_QUANTITY_UNIT.to_owned()),
        shipped_on: shipped_on?,
    })
}

fn read_product(obj: &Obj, errors: &mut Errors) -> Option<ShippedProduct> {
    obj.reject_unknown(
        &["producer_uscc", "producer_name", "model", "batch"],
        errors,
    );
    let producer_uscc = obj.uscc("producer_uscc", false, errors);
    let producer_name = obj.required_text("producer_name", errors);
    let model = obj.required_text("model", errors);
    let batch = obj.required_text("batch", errors);
    Some(ShippedProduct {
        producer_uscc,
        producer_name: producer_name?,
        model: model?,
        batch: batch?,
    })
}

fn read_party(obj: &Obj, errors: &mut Errors) -> Option<Party> {
    obj.reject_unknown(&["uscc", "name", "district"], errors);
    let uscc = obj.uscc("uscc", true, errors);
    let name = obj.required_text("name", errors);
    let district = crate::region::read_district(obj, "district", errors);
    Some(Party {
        uscc: uscc?,
        name: name?,
        district,
    })
}

/// The largest quantity one shipment may state: a billion units (pieces, kilograms, litres…).
/// Larger numbers are typing or unit errors, and would swamp every sum over the batch.
pub const MAX_QUANTITY: f64 = 1e9;

fn check_shipment(shipment: &Shipment, today: NaiveDate, errors: &mut Errors) {
    if shipment.from.uscc == shipment.to.uscc {
        errors.push(
            "to.uscc",
            "is the same unit as from.uscc: a shipment goes between two units",
        );
    }
    if shipment.quantity < 0.0 {
        errors.push("quantity", "must not be negative");
    } else if shipment.quantity > MAX_QUANTITY {
        errors.push(
            "quantity",
            format!(
                "{} is more than one shipment can carry (at most {MAX_QUANTITY:e})",
                shipment.quantity
            ),
        );
    }
    let tomorrow = today.succ_opt().unwrap_or(today);
    if shipment.shipped_on > tomorrow {
        errors.push(
            "shipped_on",
            format!(
                "{} is in the future (today is {today})",
                shipment.shipped_on
            ),
        );
    }
}

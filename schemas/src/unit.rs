//! The registry of producers and sellers (docs/contract.md §4).

use crate::enums::{Area, UnitRole};
use crate::error::{Errors, FieldError};
use crate::reader::Obj;
use crate::uscc::Uscc;
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "Unit", description = "A producer or seller in the registry.")]
pub struct Unit {
    pub uscc: Uscc,
    pub name: String,
    pub address: Option<String>,
    #[schemars(pattern(r"^[0-9]{6}$"))]
    pub district: Option<String>,
    #[serde(default)]
    pub roles: Vec<UnitRole>,
    #[serde(default)]
    pub licences: Vec<Licence>,
    /// Urban, urban-rural fringe or rural (where the plan looks harder).
    #[serde(default)]
    pub area: Option<Area>,
}

/// A production or business licence the unit holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Licence {
    pub kind: String,
    pub number: String,
    pub valid_until: Option<NaiveDate>,
}

impl Unit {
    /// Validates an untrusted JSON value. `path_uscc` is the USCC of the URL (`PUT
    /// /v1/units/{uscc}`): the body may omit it but must not contradict it.
    pub fn parse(value: &Value, path_uscc: Option<&str>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::default();
        let root = Obj::root(value, &mut errors);
        root.reject_unknown(
            &[
                "uscc", "name", "address", "district", "roles", "licences", "area",
            ],
            &mut errors,
        );
        let uscc = match (
            path_uscc,
            root.uscc("uscc", path_uscc.is_none(), &mut errors),
        ) {
            (Some(path), body) => match Uscc::parse(path) {
                Ok(path) if body.as_ref().is_none_or(|b| *b == path) => Some(path),
                Ok(_) => {
                    errors.push("uscc", "differs from the USCC in the URL");
                    None
                }
                Err(why) => {
                    errors.push("uscc", format!("the USCC in the URL is not valid: {why}"));
                    None
                }
            },
            (None, body) => body,
        };
        let name = root.required_text("name", &mut errors);
        let address = root.text("address", &mut errors);
        let district = crate::region::read_district(&root, "district", &mut errors);
        let roles = read_roles(&root, &mut errors);
        let licences = read_licences(&root, &mut errors);
        let area = root.choice("area", Area::ALL, Area::as_str, false, &mut errors);
        let unit = (|| {
            Some(Unit {
                uscc: uscc?,
                name: name?,
                address,
                district,
                roles,
                licences: licences?,
                area,
            })
        })();
        errors.finish(unit)
    }
}

fn read_roles(root: &Obj, errors: &mut Errors) -> Vec<UnitRole> {
    let texts = root.text_list("roles", errors);
    let mut roles = Vec::new();
    for (index, text) in texts.iter().enumerate() {
        match text.parse::<UnitRole>() {
            Ok(role) if !roles.contains(&role) => roles.push(role),
            Ok(_) => {}
            Err(()) => errors.push(
                format!("roles[{index}]"),
                format!(
                    "'{text}' is not allowed: use one of {}",
                    crate::enums::allowed_values(UnitRole::ALL, UnitRole::as_str)
                ),
            ),
        }
    }
    roles
}

fn read_licences(root: &Obj, errors: &mut Errors) -> Option<Vec<Licence>> {
    let mut licences = Vec::new();
    let mut complete = true;
    for obj in root.objects("licences", errors) {
        obj.reject_unknown(&["kind", "number", "valid_until"], errors);
        let kind = obj.required_text("kind", errors);
        let number = obj.required_text("number", errors);
        let valid_until = obj.date("valid_until", false, errors);
        match (kind, number) {
            (Some(kind), Some(number)) => licences.push(Licence {
                kind,
                number,
                valid_until,
            }),
            _ => complete = false,
        }
    }
    complete.then_some(licences)
}

//! The lookup tables SQL joins to show names instead of codes: `categories` (the product
//! categories' ids, Chinese names and main standards) and `districts` (GB/T 2260: Tianjin's
//! districts and the provinces, with the authority a case is referred to), built from
//! `spotcheck_schemas::names`, the one place those names are written; and `labs` (each lab's
//! id and name, from the configuration's `[labs]`).

use crate::rows::table;
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};
use spotcheck_schemas::enums::Category;
use spotcheck_schemas::names;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The labs' names (承检机构) by lab id, as the configuration gives them: a lab posts under its
/// token's id, and bulletins, notices and pages name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabNames(pub BTreeMap<String, String>);

impl LabNames {
    /// The lab's name, if the configuration gives one.
    pub fn name(&self, lab_id: &str) -> Option<&str> {
        self.0.get(lab_id).map(String::as_str)
    }
}

pub fn register(context: &SessionContext, labs: &LabNames) -> Result<()> {
    context.register_table("categories", Arc::new(categories()?))?;
    context.register_table("districts", Arc::new(districts()?))?;
    context.register_table("labs", Arc::new(labs_table(labs)?))?;
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct LabRow<'a> {
    lab_id: &'a str,
    name: &'a str,
}

fn labs_table(labs: &LabNames) -> Result<MemTable> {
    let rows: Vec<LabRow> = labs
        .0
        .iter()
        .map(|(lab_id, name)| LabRow { lab_id, name })
        .collect();
    table(&rows, &[])
}

#[derive(Serialize, Deserialize)]
struct CategoryRow {
    category: &'static str,
    name_zh: &'static str,
    standards: &'static str,
}

fn categories() -> Result<MemTable> {
    let rows: Vec<CategoryRow> = Category::ALL
        .iter()
        .map(|c| CategoryRow {
            category: c.as_str(),
            name_zh: c.name_zh(),
            standards: c.standards(),
        })
        .collect();
    table(&rows, &[])
}

fn districts() -> Result<MemTable> {
    table(&names::divisions(), &[])
}

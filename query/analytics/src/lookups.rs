//! The lookup tables SQL joins to show names instead of codes: `categories` (the product
//! categories' ids, Chinese names and main standards) and `districts` (GB/T 2260: Tianjin's
//! districts and the provinces, with the authority a case is referred to). Built from
//! `spotcheck_schemas::names`, the one place those names are written.

use crate::rows::table;
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};
use spotcheck_schemas::enums::Category;
use spotcheck_schemas::names;
use std::sync::Arc;

pub fn register(context: &SessionContext) -> Result<()> {
    context.register_table("categories", Arc::new(categories()?))?;
    context.register_table("districts", Arc::new(districts()?))?;
    Ok(())
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

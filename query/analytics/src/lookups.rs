//! The lookup tables SQL joins to show names instead of codes: `categories` (the product
//! categories' ids, Chinese names and main standards) and `districts` (GB/T 2260: Tianjin's
//! districts and the provinces, with the authority a case is referred to). Built from
//! `spotcheck_schemas::names`, the one place those names are written.

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use spotcheck_schemas::enums::Category;
use spotcheck_schemas::names;
use std::sync::Arc;

/// Registers `categories` and `districts` in `context`.
pub fn register(context: &SessionContext) -> Result<()> {
    context.register_table("categories", Arc::new(categories()?))?;
    context.register_table("districts", Arc::new(districts()?))?;
    Ok(())
}

fn text(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn table(fields: Vec<Field>, columns: Vec<ArrayRef>) -> Result<MemTable> {
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    MemTable::try_new(schema, vec![vec![batch]])
}

fn categories() -> Result<MemTable> {
    let all = Category::ALL;
    table(
        vec![
            text("category", false),
            text("name_zh", false),
            text("standards", false),
        ],
        vec![
            Arc::new(StringArray::from_iter_values(
                all.iter().map(|c| c.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                all.iter().map(|c| c.name_zh()),
            )),
            Arc::new(StringArray::from_iter_values(
                all.iter().map(|c| c.standards()),
            )),
        ],
    )
}

fn districts() -> Result<MemTable> {
    let all = names::divisions();
    table(
        vec![
            text("code", false),
            text("name_zh", false),
            text("level", false),
            text("province_code", false),
            text("authority_zh", true),
        ],
        vec![
            Arc::new(StringArray::from_iter_values(all.iter().map(|d| d.code))),
            Arc::new(StringArray::from_iter_values(all.iter().map(|d| d.name_zh))),
            Arc::new(StringArray::from_iter_values(all.iter().map(|d| d.level))),
            Arc::new(StringArray::from_iter_values(
                all.iter().map(|d| d.province_code),
            )),
            Arc::new(StringArray::from(
                all.iter()
                    .map(|d| d.authority_zh.clone())
                    .collect::<Vec<_>>(),
            )),
        ],
    )
}

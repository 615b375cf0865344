//! Query results as rows of text, for pages and exports that format every value themselves.

use crate::ReportError;
use spotcheck_analytics::Analytics;
use spotcheck_analytics::arrow::util::display::array_value_to_string;
use std::collections::BTreeMap;

/// One row: column name → value as text (`""` for null).
pub type TextRow = BTreeMap<String, String>;

/// Runs `sql` with its `$name` parameters bound to `params` and returns every row as text.
pub async fn text_rows(
    analytics: &Analytics,
    sql: &str,
    params: &[(&str, &str)],
) -> Result<Vec<TextRow>, ReportError> {
    let rows = analytics.query_with(sql, params).await?;
    let mut out = Vec::new();
    for batch in &rows.batches {
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            let mut values = TextRow::new();
            for (index, field) in schema.fields().iter().enumerate() {
                let column = batch.column(index);
                let value = if column.is_null(row) {
                    String::new()
                } else {
                    array_value_to_string(column, row).unwrap_or_default()
                };
                values.insert(field.name().clone(), value);
            }
            out.push(values);
        }
    }
    Ok(out)
}

pub use spotcheck_analytics::literal;

/// The value of `column`, or `""`.
pub fn get<'a>(row: &'a TextRow, column: &str) -> &'a str {
    row.get(column).map_or("", String::as_str)
}

//! Query results as rows of text, for pages and exports that format every value themselves.

use crate::ReportError;
use spotcheck_analytics::Analytics;
use spotcheck_analytics::arrow::util::display::array_value_to_string;
use std::collections::BTreeMap;

/// One row: column name → value as text (`""` for null).
pub type TextRow = BTreeMap<String, String>;

/// A query's answer as text: its columns in the query's order (known also when no row came)
/// and its rows.
pub struct TextTable {
    pub columns: Vec<String>,
    pub rows: Vec<TextRow>,
}

/// Runs `sql` with its `$name` parameters bound to `params` and returns every row as text.
pub async fn text_rows(
    analytics: &Analytics,
    sql: &str,
    params: &[(&str, &str)],
) -> Result<Vec<TextRow>, ReportError> {
    Ok(text_table(analytics, sql, params).await?.rows)
}

/// As [`text_rows`], with the answer's columns.
pub async fn text_table(
    analytics: &Analytics,
    sql: &str,
    params: &[(&str, &str)],
) -> Result<TextTable, ReportError> {
    let answer = analytics.query_with(sql, params).await?;
    let columns: Vec<String> = answer
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut rows = Vec::new();
    for batch in &answer.batches {
        for row in 0..batch.num_rows() {
            let values = columns.iter().zip(batch.columns()).map(|(name, column)| {
                let value = if column.is_null(row) {
                    String::new()
                } else {
                    array_value_to_string(column, row).unwrap_or_default()
                };
                (name.clone(), value)
            });
            rows.push(values.collect());
        }
    }
    Ok(TextTable { columns, rows })
}

pub use spotcheck_analytics::literal;

/// The value of `column`, or `""`.
pub fn get<'a>(row: &'a TextRow, column: &str) -> &'a str {
    row.get(column).map_or("", String::as_str)
}

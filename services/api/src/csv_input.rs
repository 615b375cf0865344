//! CSV bodies: one record per row, columns named by the flattened field names.
//!
//! A column may be named by its JSON path (`product.name`), by the path with `_` for `.`
//! (`product_name`), or by the lake's column name (`brand`, `model`, `batch`, `district`...).
//! `items` travel as JSON in `items_json`; `standards` as a JSON array or a `;`-separated list.

use crate::error::ApiError;
use crate::submitted::Submitted;
use serde_json::{Map, Value};
use spotcheck_schemas::FieldError;

/// Columns whose JSON path is not their name with the first `_` made a `.`.
const ALIASES: &[(&str, &str)] = &[
    ("brand", "product.brand"),
    ("model", "product.model"),
    ("batch", "product.batch"),
    ("production_date", "product.production_date"),
    ("district", "sampled_unit.district"),
    ("sampled_unit_uscc", "sampled_unit.uscc"),
    ("sampled_unit_name", "sampled_unit.name"),
    ("sampled_unit_address", "sampled_unit.address"),
    ("sampled_unit_district", "sampled_unit.district"),
    ("sampled_unit_role", "sampled_unit.role"),
    ("items_json", "items"),
    ("standards_json", "standards"),
];

/// Top-level objects whose fields may be flattened as `<object>_<field>`.
const OBJECTS: &[&str] = &["product", "producer", "sampling", "from", "to"];

/// The JSON path a CSV column stands for.
pub fn column_path(column: &str) -> String {
    let column = column.trim();
    if column.contains('.') {
        return column.to_owned();
    }
    if let Some((_, path)) = ALIASES.iter().find(|(name, _)| *name == column) {
        return (*path).to_owned();
    }
    for object in OBJECTS {
        if let Some(field) = column
            .strip_prefix(object)
            .and_then(|r| r.strip_prefix('_'))
        {
            return format!("{object}.{field}");
        }
    }
    column.to_owned()
}

/// Parses every row; a row that cannot be read is an error for that row only.
pub fn records(text: &str) -> Result<Vec<Submitted>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::Headers)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let paths: Vec<String> = reader
        .headers()
        .map_err(|e| ApiError::bad_request(format!("the CSV header cannot be read: {e}")))?
        .iter()
        .map(column_path)
        .collect();
    let mut rows = Vec::new();
    for (index, row) in reader.records().enumerate() {
        let line = match &row {
            Ok(row) => row.position().map_or(index + 2, |p| p.line() as usize),
            Err(error) => error.position().map_or(index + 2, |p| p.line() as usize),
        };
        let value = row
            .map_err(|e| FieldError::new("", format!("the row cannot be read: {e}")))
            .and_then(|row| row_to_json(&paths, &row));
        rows.push(Submitted::new(line, value));
    }
    Ok(rows)
}

fn row_to_json(paths: &[String], row: &csv::StringRecord) -> Result<Value, FieldError> {
    let mut root = Map::new();
    for (path, cell) in paths.iter().zip(row.iter()) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        let value = cell_value(path, cell)?;
        insert_path(&mut root, path, value);
    }
    Ok(Value::Object(root))
}

/// Cells are text, except the lists, which are JSON (or `;`-separated for standards).
fn cell_value(path: &str, cell: &str) -> Result<Value, FieldError> {
    match path {
        "items" | "licences" | "roles" => serde_json::from_str(cell).map_err(|e| {
            FieldError::new(
                path,
                format!("must hold a JSON list in its CSV column: {e}"),
            )
        }),
        "standards" if cell.starts_with('[') => serde_json::from_str(cell)
            .map_err(|e| FieldError::new(path, format!("is not a valid JSON list: {e}"))),
        "standards" => Ok(Value::Array(
            cell.split([';', '；'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        )),
        _ => Ok(Value::String(cell.to_owned())),
    }
}

/// Sets `value` at the dotted `path` of `root`, making the objects on the way.
pub(crate) fn insert_path(root: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            root.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = root
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = child {
                insert_path(map, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_and_dotted_and_lake_names_all_map_to_paths() {
        assert_eq!(column_path("product_name"), "product.name");
        assert_eq!(column_path("product.name"), "product.name");
        assert_eq!(column_path("brand"), "product.brand");
        assert_eq!(column_path("sampled_unit_role"), "sampled_unit.role");
        assert_eq!(column_path("sampling_date"), "sampling.date");
        assert_eq!(column_path("items_json"), "items");
        assert_eq!(column_path("report_no"), "report_no");
    }

    #[test]
    fn a_row_becomes_a_nested_record_and_a_bad_items_cell_is_its_own_error() {
        let text = "report_no,product_name,items_json,standards\n\
                    R1,灶具,\"[{\"\"name\"\":\"\"温升\"\",\"\"verdict\"\":\"\"pass\"\"}]\",GB 1;GB 2\n\
                    R2,灶具,[oops,\n";
        let rows = records(text).unwrap();
        let first = rows[0].value.as_ref().unwrap();
        assert_eq!(first["product"]["name"], "灶具");
        assert_eq!(first["items"][0]["name"], "温升");
        assert_eq!(first["standards"][1], "GB 2");
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[1].value.as_ref().unwrap_err().field, "items");
    }
}

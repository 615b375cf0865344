//! The lake's tables keep the columns the tables on disk already have. A lake written by an
//! earlier release is opened and appended to with the code's schema; a column that changed type,
//! moved or disappeared would fail those appends (or evolve the table wrongly). The fixture holds
//! every table's columns as the release before typed rows wrote them; a column added since goes
//! last, nullable, and is added to the fixture with it.

use std::collections::BTreeMap;

const FIXTURE: &str = "tests/fixtures/table_schemas.json";

fn columns(table: &str) -> Vec<String> {
    let schema = spotcheck_lake::delta::schema_of(table).expect("every listed table has a schema");
    schema
        .fields()
        .iter()
        .map(|field| {
            let null = if field.is_nullable() {
                "null"
            } else {
                "not null"
            };
            format!("{} {} {null}", field.name(), field.data_type())
        })
        .collect()
}

#[test]
fn every_table_keeps_the_columns_the_lake_on_disk_has() {
    let now: BTreeMap<String, Vec<String>> = spotcheck_lake::delta::table_names()
        .into_iter()
        .map(|table| (table.to_owned(), columns(table)))
        .collect();
    let path = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        )
        .join(FIXTURE);
    let fixture: BTreeMap<String, Vec<String>> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        now, fixture,
        "a table's columns changed: only a nullable column added last keeps the tables on disk \
         readable and writable (then add it to {FIXTURE})"
    );
}

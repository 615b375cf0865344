//! The files of `schemas/json/` are the schemas generated from the Rust types
//! (`spotcheck_schemas::json_schemas`): a type changed without its file fails here. To write
//! them again: `SPOTCHECK_WRITE_SCHEMAS=1 cargo test --workspace --test json_schema_files`.

use spotcheck_schemas::json_schemas;
use std::path::PathBuf;

#[test]
fn the_schema_files_are_the_schemas_of_the_types() {
    // Cargo's variable at run time, not the path this binary was built at: a target directory
    // shared by two clones may run a binary built in the other one.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
        .join("json");
    let write = std::env::var_os("SPOTCHECK_WRITE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (file, schema) in json_schemas::generated() {
        let path = dir.join(file);
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if write {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).unwrap_or_default() != text {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} differ from the types' schemas: run \
         SPOTCHECK_WRITE_SCHEMAS=1 cargo test --workspace --test json_schema_files"
    );
}

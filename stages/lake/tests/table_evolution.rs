//! A table made by an earlier release gains the columns this one writes when it is opened —
//! also when the writer, the maintainer and the SQL session of one process open it at once.

use deltalake::kernel::StructType;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use spotcheck_lake::LakeLocation;
use spotcheck_lake::delta::{open_or_create, schema_of};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Everything logged, as text.
#[derive(Clone, Default)]
struct Logged(Arc<Mutex<Vec<u8>>>);

impl Write for Logged {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_table_of_an_earlier_release_gains_its_columns_once_when_opened_at_once() {
    let logged = Logged::default();
    let writer = logged.clone();
    let _logging = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish(),
    );
    let dir = tempfile::tempdir().unwrap();
    let location = LakeLocation::parse(dir.path().to_str().unwrap()).unwrap();
    let table = "dispositions";
    // The table as the release before `cleared_items` and `withdraws` made it.
    let wanted: StructType = schema_of(table)
        .unwrap()
        .as_ref()
        .try_into_kernel()
        .unwrap();
    let earlier: Vec<_> = wanted
        .fields()
        .filter(|f| !["cleared_items", "withdraws"].contains(&f.name().as_str()))
        .cloned()
        .collect();
    assert_eq!(earlier.len() + 2, wanted.fields().count());
    deltalake::operations::create::CreateBuilder::new()
        .with_location(location.table_url(table).unwrap().as_str())
        .with_table_name(table)
        .with_columns(earlier)
        .await
        .unwrap();

    let (a, b, c) = tokio::join!(
        open_or_create(&location, table),
        open_or_create(&location, table),
        open_or_create(&location, table),
    );
    for opened in [a, b, c] {
        let opened = opened.unwrap();
        let schema = opened.snapshot().unwrap().schema().clone();
        for column in ["cleared_items", "withdraws"] {
            assert!(schema.field(column).is_some(), "{column} missing");
        }
    }
    let log = String::from_utf8(logged.0.lock().unwrap().clone()).unwrap();
    assert_eq!(log.matches("lake table gained columns").count(), 1, "{log}");
    assert!(!log.contains("ERROR"), "{log}");
}

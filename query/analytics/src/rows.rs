//! Typed rows to and from Arrow, matched by name (`serde_arrow`): the lookup and plan tables a
//! session registers are built from row types, and the answers the code itself reads (the plan
//! checks, the sampling suggestions) are decoded into row types, not read column by column.

use datafusion::arrow::datatypes::FieldRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_arrow::schema::{SchemaLike, TracingOptions};

fn external(error: serde_arrow::Error) -> DataFusionError {
    DataFusionError::External(Box::new(error))
}

/// A table of `rows`, its columns traced from `T`: text as `Utf8`, `Option` fields nullable, and
/// the text fields named in `dates` (`2026-03-05`) as dates.
pub(crate) fn table<T: Serialize + Deserialize<'static>>(
    rows: &[T],
    dates: &[&str],
) -> Result<MemTable> {
    let mut options = TracingOptions::default().strings_as_large_utf8(false);
    for date in dates {
        let field = serde_json::json!({"name": date, "data_type": "Date32", "nullable": true});
        options = options.overwrite(*date, field).map_err(external)?;
    }
    let fields = Vec::<FieldRef>::from_type::<T>(options).map_err(external)?;
    let batch = serde_arrow::to_record_batch(&fields, &rows).map_err(external)?;
    MemTable::try_new(batch.schema(), vec![vec![batch]])
}

/// Every row of `batches` as a `T`, its fields read from the columns of the same names.
pub(crate) fn decode<T: DeserializeOwned>(batches: &[RecordBatch]) -> Result<Vec<T>> {
    let mut rows = Vec::new();
    for batch in batches {
        rows.extend(serde_arrow::from_record_batch::<Vec<T>>(batch).map_err(external)?);
    }
    Ok(rows)
}

/// For a field whose column may be null: null reads as the type's default (`""`, 0, false).
pub(crate) fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

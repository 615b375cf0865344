//! What the `archive` view (a unit's quality-safety credit archive, 产品质量安全信用档案) and the
//! officials' work list need beyond plain SQL: a case's notices (三书一函) and its other legal
//! steps, kept as JSON, as lists of structs SQL can `unnest` —
//! `notices_of(notices_json)` (`number, kind, to, due_on, status, cause`) and
//! `steps_of(steps_json)` (`number, kind, due_on, done_on, status`).

use datafusion::arrow::array::ArrayBuilder;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Builder, ListBuilder, StringBuilder, StructBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Registers `notices_of` and `steps_of` in `context`.
pub fn register(context: &SessionContext) {
    for (name, keys) in [
        (
            "notices_of",
            &["kind", "to", "due_on", "status", "cause"][..],
        ),
        ("steps_of", &["kind", "due_on", "done_on", "status"][..]),
    ] {
        context.register_udf(ScalarUDF::new_from_impl(ItemsOf::new(name, keys)));
    }
}

/// A JSON list of objects as a list of structs: `number` (from 1) and the text of each key.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ItemsOf {
    name: &'static str,
    keys: &'static [&'static str],
    signature: Signature,
}

impl ItemsOf {
    fn new(name: &'static str, keys: &'static [&'static str]) -> Self {
        Self {
            name,
            keys,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    fn fields(&self) -> Fields {
        std::iter::once(Field::new("number", DataType::Int64, false))
            .chain(
                self.keys
                    .iter()
                    .map(|key| Field::new(*key, DataType::Utf8, true)),
            )
            .collect()
    }

    fn item(&self) -> Arc<Field> {
        Arc::new(Field::new("item", DataType::Struct(self.fields()), true))
    }
}

impl ScalarUDFImpl for ItemsOf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(self.item()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows.max(1);
        let Some(json) = args.args.first() else {
            return Err(datafusion::error::DataFusionError::Plan(format!(
                "{} takes one JSON list",
                self.name
            )));
        };
        let json = cast(&json.to_array(rows)?, &DataType::Utf8)?;
        let json = json.as_string::<i32>();
        let builders: Vec<Box<dyn ArrayBuilder>> =
            std::iter::once(Box::new(Int64Builder::new()) as Box<dyn ArrayBuilder>)
                .chain(
                    self.keys
                        .iter()
                        .map(|_| Box::new(StringBuilder::new()) as Box<dyn ArrayBuilder>),
                )
                .collect();
        let mut list =
            ListBuilder::new(StructBuilder::new(self.fields(), builders)).with_field(self.item());
        for row in 0..json.len() {
            let items: Vec<serde_json::Value> = if json.is_null(row) {
                Vec::new()
            } else {
                serde_json::from_str(json.value(row)).unwrap_or_default()
            };
            let builder = list.values();
            for (index, item) in items.iter().enumerate() {
                if let Some(b) = builder.field_builder::<Int64Builder>(0) {
                    b.append_value(index as i64 + 1);
                }
                for (column, key) in self.keys.iter().enumerate() {
                    if let Some(b) = builder.field_builder::<StringBuilder>(column + 1) {
                        b.append_option(item.get(*key).and_then(|v| v.as_str()));
                    }
                }
                builder.append(true);
            }
            list.append(true);
        }
        let array: ArrayRef = Arc::new(list.finish());
        Ok(ColumnarValue::Array(array))
    }
}

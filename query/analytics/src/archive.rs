//! What the `archive` view (a unit's quality-safety credit archive, 产品质量安全信用档案) needs
//! beyond plain SQL: `notices_of(notices_json)`, a case's notices (三书一函) as a list of structs
//! (`number, kind, to, due_on, status, cause`) that SQL can `unnest`.

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

/// Registers `notices_of` in `context`.
pub fn register(context: &SessionContext) {
    context.register_udf(ScalarUDF::new_from_impl(NoticesOf::new()));
}

fn notice_fields() -> Fields {
    Fields::from(vec![
        Field::new("number", DataType::Int64, false),
        Field::new("kind", DataType::Utf8, true),
        Field::new("to", DataType::Utf8, true),
        Field::new("due_on", DataType::Utf8, true),
        Field::new("status", DataType::Utf8, true),
        Field::new("cause", DataType::Utf8, true),
    ])
}

fn notices_type() -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(notice_fields()),
        true,
    )))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct NoticesOf {
    signature: Signature,
}

impl NoticesOf {
    fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for NoticesOf {
    fn name(&self) -> &str {
        "notices_of"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(notices_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows.max(1);
        let Some(json) = args.args.first() else {
            return Err(datafusion::error::DataFusionError::Plan(
                "notices_of takes (notices_json)".into(),
            ));
        };
        let json = cast(&json.to_array(rows)?, &DataType::Utf8)?;
        let json = json.as_string::<i32>();
        let item = StructBuilder::new(
            notice_fields(),
            vec![
                Box::new(Int64Builder::new()),
                Box::new(StringBuilder::new()),
                Box::new(StringBuilder::new()),
                Box::new(StringBuilder::new()),
                Box::new(StringBuilder::new()),
                Box::new(StringBuilder::new()),
            ],
        );
        let mut list = ListBuilder::new(item).with_field(Arc::new(Field::new(
            "item",
            DataType::Struct(notice_fields()),
            true,
        )));
        for row in 0..json.len() {
            let notices: Vec<serde_json::Value> = if json.is_null(row) {
                Vec::new()
            } else {
                serde_json::from_str(json.value(row)).unwrap_or_default()
            };
            let builder = list.values();
            for (index, notice) in notices.iter().enumerate() {
                let text = |key: &str| notice.get(key).and_then(|v| v.as_str());
                if let Some(b) = builder.field_builder::<Int64Builder>(0) {
                    b.append_value(index as i64 + 1);
                }
                let columns = [
                    (1, "kind"),
                    (2, "to"),
                    (3, "due_on"),
                    (4, "status"),
                    (5, "cause"),
                ];
                for (column, key) in columns {
                    if let Some(b) = builder.field_builder::<StringBuilder>(column) {
                        b.append_option(text(key));
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

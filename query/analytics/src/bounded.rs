//! Scalar functions that build values from a count an analyst chooses (`repeat`, `lpad`,
//! `array_repeat`, `range`…) allocate outside DataFusion's memory pool: `SELECT
//! length(repeat('x', 2000000000))` grew the process to 7.8 GB before it answered. Here each of
//! them is registered again in front of DataFusion's own, estimating from its arguments how many
//! bytes one call would build and refusing it over the limit, before anything is allocated.
//! Constant calls are folded while planning, so a constant too large is refused before the query
//! runs.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::{cast, kernels::length::length};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Int64Type, IntervalMonthDayNanoType, TimeUnit,
};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// How a function's output size follows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Estimate {
    /// `repeat(text, n)`: the text's bytes times n.
    TextTimesCount,
    /// `lpad/rpad(text, n[, fill])`: n characters of up to 4 bytes.
    CharactersAt1,
    /// `array_repeat(element, n)`, `array_resize(array, n[, fill])`: n elements.
    ElementsAt1,
    /// `range/generate_series([start,] stop[, step])`: (stop - start) / step elements.
    Series,
}

const GUARDED: &[(&str, Estimate)] = &[
    ("repeat", Estimate::TextTimesCount),
    ("lpad", Estimate::CharactersAt1),
    ("rpad", Estimate::CharactersAt1),
    ("array_repeat", Estimate::ElementsAt1),
    ("array_resize", Estimate::ElementsAt1),
    ("range", Estimate::Series),
    ("generate_series", Estimate::Series),
];

/// Bytes an element of a built array is counted as (its value and offset, at least).
const ELEMENT_BYTES: i128 = 8;

/// Replaces each guarded function of `context` with one refusing calls that would build more
/// than `max_bytes` for one batch of rows.
pub fn register(context: &SessionContext, max_bytes: usize) {
    let state = context.state();
    for (name, estimate) in GUARDED {
        if let Some(inner) = state.scalar_functions().get(*name) {
            let guarded = Bounded {
                inner: inner.as_ref().clone(),
                estimate: *estimate,
                max_bytes,
            };
            context.register_udf(ScalarUDF::new_from_impl(guarded));
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Bounded {
    inner: ScalarUDF,
    estimate: Estimate,
    max_bytes: usize,
}

impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(
        &self,
        args: ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows.max(1);
        let arrays = args
            .args
            .iter()
            .map(|value| value.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let bytes = estimate(self.estimate, &arrays)?;
        if bytes > self.max_bytes as i128 {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{}(…) would build about {} MiB for {rows} row(s), more than the {} MiB a \
                 function may build at once",
                self.inner.name(),
                bytes / (1024 * 1024),
                self.max_bytes / (1024 * 1024)
            )));
        }
        self.inner.invoke_with_args(args)
    }
}

fn estimate(kind: Estimate, args: &[ArrayRef]) -> Result<i128> {
    let total = match kind {
        Estimate::TextTimesCount => match (args.first(), args.get(1)) {
            (Some(text), Some(count)) => {
                let lengths = integers(&length(text)?)?;
                let counts = integers(count)?;
                lengths
                    .iter()
                    .zip(&counts)
                    .map(|(l, n)| l.max(&0) * n.max(&0))
                    .sum()
            }
            _ => 0,
        },
        Estimate::CharactersAt1 => match args.get(1) {
            Some(count) => integers(count)?.iter().map(|n| n.max(&0) * 4).sum(),
            None => 0,
        },
        Estimate::ElementsAt1 => match args.get(1) {
            Some(count) => integers(count)?
                .iter()
                .map(|n| n.max(&0) * ELEMENT_BYTES)
                .sum(),
            None => 0,
        },
        Estimate::Series => series(args)?,
    };
    Ok(total)
}

/// Elements of `range`/`generate_series` over every row, times [`ELEMENT_BYTES`].
fn series(args: &[ArrayRef]) -> Result<i128> {
    let (start, stop, step) = match args {
        [stop] => (None, stop, None),
        [start, stop] => (Some(start), stop, None),
        [start, stop, step, ..] => (Some(start), stop, Some(step)),
        [] => return Ok(0),
    };
    let stops = positions(stop)?;
    let starts = match start {
        Some(start) => positions(start)?,
        None => vec![0; stops.len()],
    };
    let steps = match step {
        Some(step) => steps(step)?,
        // The default step: 1, or one day for dates and timestamps.
        None => match stop.data_type() {
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => {
                vec![NANOS_PER_DAY; stops.len()]
            }
            _ => vec![1; stops.len()],
        },
    };
    Ok(starts
        .iter()
        .zip(&stops)
        .zip(&steps)
        .map(|((a, b), s)| match s.abs() {
            0 => 0,
            s => ((b - a).abs() / s + 1) * ELEMENT_BYTES,
        })
        .sum())
}

const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;

/// Integers, dates (in nanoseconds) or timestamps (in nanoseconds), nulls as 0.
fn positions(array: &ArrayRef) -> Result<Vec<i128>> {
    match array.data_type() {
        DataType::Date32 | DataType::Date64 => {
            let days = cast(array, &DataType::Date32)?;
            Ok(days
                .as_primitive::<Date32Type>()
                .iter()
                .map(|d| i128::from(d.unwrap_or(0)) * NANOS_PER_DAY)
                .collect())
        }
        DataType::Timestamp(_, _) => {
            let nanos = cast(array, &DataType::Timestamp(TimeUnit::Nanosecond, None))?;
            integers(&cast(&nanos, &DataType::Int64)?)
        }
        _ => integers(array),
    }
}

/// Steps as integers, or intervals in nanoseconds (a month counted as 28 days: the most
/// elements a month-stepped series can have).
fn steps(array: &ArrayRef) -> Result<Vec<i128>> {
    match array.data_type() {
        DataType::Interval(_) => {
            let intervals = cast(
                array,
                &DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano),
            )?;
            Ok(intervals
                .as_primitive::<IntervalMonthDayNanoType>()
                .iter()
                .map(|i| {
                    i.map(|i| {
                        i128::from(i.months) * 28 * NANOS_PER_DAY
                            + i128::from(i.days) * NANOS_PER_DAY
                            + i128::from(i.nanoseconds)
                    })
                    .unwrap_or(0)
                })
                .collect())
        }
        _ => integers(array),
    }
}

/// Any integer (or integer-castable) array as i128, nulls as 0.
fn integers(array: &ArrayRef) -> Result<Vec<i128>> {
    let array: ArrayRef = if array.data_type() == &DataType::Int64 {
        Arc::clone(array)
    } else {
        cast(array, &DataType::Int64)?
    };
    Ok(array
        .as_primitive::<Int64Type>()
        .iter()
        .map(|v| i128::from(v.unwrap_or(0)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(context: &SessionContext, sql: &str) -> Result<()> {
        context.sql(sql).await?.collect().await.map(|_| ())
    }

    #[tokio::test]
    async fn building_calls_over_the_limit_are_refused_and_small_ones_answer() {
        let context = SessionContext::new();
        register(&context, 64 * 1024 * 1024);
        for huge in [
            "SELECT length(repeat('x', 2000000000))",
            "SELECT length(lpad('x', 2000000000))",
            "SELECT cardinality(array_repeat(1, 2000000000))",
            "SELECT cardinality(range(1, 10000000000))",
            "SELECT cardinality(array_resize([1], 2000000000))",
            "SELECT cardinality(range(TIMESTAMP '2000-01-01', TIMESTAMP '2100-01-01', \
             INTERVAL '1 second'))",
            "SELECT length(repeat(v, 100000)) FROM (VALUES (repeat('y', 1000))) AS t(v)",
        ] {
            let error = run(&context, huge).await.expect_err(huge).to_string();
            assert!(error.contains("more than the 64 MiB"), "{huge}: {error}");
        }
        for fine in [
            "SELECT repeat('-', 40), lpad('7', 18, '0'), rpad('a', 3)",
            "SELECT range(1, 100), generate_series(1, 10, 2), array_repeat('a', 3)",
            "SELECT range(DATE '2025-01-01', DATE '2025-12-31', INTERVAL '1 month')",
            // Every day of ten thousand years: 29 MB, under the limit.
            "SELECT cardinality(generate_series(DATE '0001-01-01', DATE '9999-01-01', \
             INTERVAL '1 day'))",
        ] {
            run(&context, fine).await.expect(fine);
        }
    }
}

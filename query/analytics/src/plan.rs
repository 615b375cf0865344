//! The sampling-plan checks in SQL (docs/domain.md: the six-month rule; licences and certificates):
//! the `licence_requirements` lookup table, the `holds_licence` function, and
//! [`Analytics::plan_check`], which runs the rules of the `warnings` view on samplings that are
//! planned or just accepted. Each rule is written once, in `views/six_month_repeats.sql` and
//! `views/licence_missing.sql`.

use crate::Analytics;
use crate::error::QueryError;
use crate::rows;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type};
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};
use spotcheck_schemas::plan::{LicenceKind, LicenceRequirement, REPEAT_MONTHS};
use spotcheck_schemas::unit::Licence;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The six-month rule between two relations with the columns of `results` (`{later}`,
/// `{earlier}`), one row per (later, earlier) pair that breaks it.
const SIX_MONTH_REPEATS: &str = include_str!("../views/six_month_repeats.sql");

/// The rule's SQL over `later` and `earlier`.
pub fn six_month_repeats(later: &str, earlier: &str) -> String {
    SIX_MONTH_REPEATS
        .replace("{later}", later)
        .replace("{earlier}", earlier)
        .replace("{repeat_months}", &REPEAT_MONTHS.to_string())
}

/// The licence rule over `sampled` (a relation with the columns of `results`), one row per
/// sampling whose producer lacks a licence its category needs.
const LICENCE_MISSING: &str = include_str!("../views/licence_missing.sql");

pub fn licence_missing(sampled: &str) -> String {
    LICENCE_MISSING.replace("{sampled}", sampled)
}

/// Which licence each category's producer must hold (configurable; shipped with
/// [`spotcheck_schemas::plan::default_licence_requirements`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRules {
    pub licences: Vec<LicenceRequirement>,
}

impl Default for PlanRules {
    fn default() -> Self {
        Self {
            licences: spotcheck_schemas::plan::default_licence_requirements(),
        }
    }
}

/// Registers `licence_requirements` and the rules' functions ([`register_functions`]) in
/// `context`.
pub fn register(context: &SessionContext, rules: &PlanRules) -> Result<()> {
    context.register_table("licence_requirements", Arc::new(requirements(rules)?))?;
    register_functions(context);
    Ok(())
}

/// Registers the functions the rules' SQL calls: `holds_licence`, `names_a_producer`,
/// `standards_key`, `name_key`, `product_key`, `batch_match_key` and `organiser_key`.
fn register_functions(context: &SessionContext) {
    context.register_udf(ScalarUDF::new_from_impl(HoldsLicence::new()));
    // `names_a_producer(producer_name)`: false for the `/`, `无`… of a 三无 product's label.
    context.register_udf(datafusion::logical_expr::create_udf(
        "names_a_producer",
        vec![DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let names = ColumnarValue::values_to_arrays(args)?;
            let names = cast(&names[0], &DataType::Utf8)?;
            let named: BooleanArray = names
                .as_string::<i32>()
                .iter()
                .map(|name| name.map(spotcheck_schemas::result::names_a_producer))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(named)))
        }),
    ));
    // `standards_key(standards)`: the standards' numbers however written, for comparing them;
    // `name_key(name)`: an enterprise's name however spelt (天津市… = 天津…, full-width…).
    context.register_udf(text_key(
        "standards_key",
        spotcheck_schemas::keys::standards_key,
    ));
    context.register_udf(text_key("name_key", spotcheck_schemas::keys::name_key));
    // `product_key(brand_or_model)`: a brand or model however written (`/` and `无` for none).
    context.register_udf(text_key(
        "product_key",
        spotcheck_schemas::keys::product_key,
    ));
    // `batch_match_key(batch_key)`: a batch however its producer and model are spelt.
    context.register_udf(text_key("batch_match_key", |key| {
        spotcheck_schemas::keys::BatchKey::parse(key)
            .map(|batch| batch.match_key())
            .unwrap_or_default()
    }));
    // `organiser_key(organiser)`: one authority however written (市场监管局 = 市场监督管理局…).
    context.register_udf(text_key(
        "organiser_key",
        spotcheck_schemas::keys::organiser_key,
    ));
}

/// How many texts a key function remembers before it starts again: a table's column repeats
/// few spellings over many rows (a batch's shipments, a producer's results).
const REMEMBERED_KEYS: usize = 1 << 16;

/// A SQL function `name(text)` giving `key(text)`, null for null. Each text's key is computed
/// once while remembered: the keys read names character by character, and a trace over a
/// million shipments repeats a few thousand spellings.
fn text_key(name: &str, key: fn(&str) -> String) -> ScalarUDF {
    let remembered: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    datafusion::logical_expr::create_udf(
        name,
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let texts = ColumnarValue::values_to_arrays(args)?;
            let texts = cast(&texts[0], &DataType::Utf8)?;
            let mut known = remembered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let keys: StringArray = texts
                .as_string::<i32>()
                .iter()
                .map(|text| {
                    let text = text?;
                    if let Some(found) = known.get(text) {
                        return Some(found.clone());
                    }
                    let computed = key(text);
                    if known.len() >= REMEMBERED_KEYS {
                        known.clear();
                    }
                    known.insert(text.to_owned(), computed.clone());
                    Some(computed)
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(keys)))
        }),
    )
}

/// A row of `licence_requirements`.
#[derive(Serialize, Deserialize)]
struct RequirementRow {
    category: &'static str,
    category_zh: &'static str,
    /// `;`-separated licence kind ids, for `holds_licence`.
    licence_kinds: String,
    licence_zh: String,
    basis: String,
}

fn requirements(rules: &PlanRules) -> Result<MemTable> {
    let kinds = |r: &LicenceRequirement, name: fn(LicenceKind) -> &'static str, sep: &str| {
        let names: Vec<&str> = r.kinds.iter().map(|k| name(*k)).collect();
        names.join(sep)
    };
    let rows: Vec<RequirementRow> = rules
        .licences
        .iter()
        .map(|r| RequirementRow {
            category: r.category.as_str(),
            category_zh: r.category.name_zh(),
            licence_kinds: kinds(r, LicenceKind::as_str, ";"),
            licence_zh: kinds(r, LicenceKind::name_zh, "或"),
            basis: r.basis.clone(),
        })
        .collect();
    rows::table(&rows, &[])
}

/// `holds_licence(licences_json, kinds, on)`: whether a unit's licences (the registry's JSON
/// list) include one of `kinds` (`;`-separated ids) valid on `on` (no end date, or ending on or
/// after it). No licences at all is false; a list that cannot be read is false too.
#[derive(Debug, PartialEq, Eq, Hash)]
struct HoldsLicence {
    signature: Signature,
}

impl HoldsLicence {
    fn new() -> Self {
        Self {
            signature: Signature::any(3, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for HoldsLicence {
    fn name(&self) -> &str {
        "holds_licence"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows.max(1);
        let arrays = args
            .args
            .iter()
            .map(|value| value.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let [licences, kinds, on] = arrays.as_slice() else {
            return Err(datafusion::error::DataFusionError::Plan(
                "holds_licence takes (licences_json, kinds, date)".into(),
            ));
        };
        let licences = cast(licences, &DataType::Utf8)?;
        let kinds = cast(kinds, &DataType::Utf8)?;
        let on = cast(on, &DataType::Date32)?;
        let (licences, kinds, on) = (
            licences.as_string::<i32>(),
            kinds.as_string::<i32>(),
            on.as_primitive::<Date32Type>(),
        );
        let held: BooleanArray = (0..licences.len())
            .map(|row| {
                if on.is_null(row) {
                    return None;
                }
                let day = Date32Type::to_naive_date_opt(on.value(row))?;
                let wanted: Vec<LicenceKind> = if kinds.is_null(row) {
                    Vec::new()
                } else {
                    kinds
                        .value(row)
                        .split(';')
                        .filter_map(|k| k.parse().ok())
                        .collect()
                };
                let list: Vec<Licence> = if licences.is_null(row) {
                    Vec::new()
                } else {
                    serde_json::from_str(licences.value(row)).unwrap_or_default()
                };
                Some(list.iter().any(|licence| {
                    LicenceKind::of_text(&licence.kind).is_some_and(|k| wanted.contains(&k))
                        && licence.valid_until.is_none_or(|until| until >= day)
                }))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(held)))
    }
}

/// A sampling an organiser plans, to check before anyone travels (or one just accepted).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedSampling {
    pub organiser: String,
    pub producer_name: String,
    /// With `category`, the producer's licences are checked too.
    #[serde(default)]
    pub producer_uscc: Option<String>,
    /// The category id (`e_bike`…).
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub brand: Option<String>,
    pub model: String,
    /// Standards the product is to be tested against; empty matches any.
    #[serde(default)]
    pub standards: Vec<String>,
    /// The planned sampling day.
    pub date: chrono::NaiveDate,
    #[serde(default)]
    pub follow_up: bool,
}

/// What a planned sampling would break: a six-month repeat of an earlier result, or a missing
/// licence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlanFinding {
    /// The planned sampling's position in the list (from 0).
    #[serde(skip)]
    pub index: usize,
    /// `six_month_repeat` or `licence_missing`, as in the `warnings` view.
    pub kind: String,
    /// The warning in words, as the `warnings` view has it.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earlier: Option<Earlier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence_required: Option<String>,
}

/// The earlier result a sampling repeats.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Earlier {
    pub report_no: String,
    pub lab_id: String,
    pub sampling_date: String,
    pub verdict: Option<String>,
}

impl Analytics {
    /// What the planned samplings would break — the rules of the `warnings` view, on the
    /// newest lake: six-month repeats of earlier results, and (for those naming a category and
    /// the producer's USCC) licences the producer lacks. Ordered by position in the list.
    pub async fn plan_check(
        &self,
        planned: &[PlannedSampling],
    ) -> Result<Vec<PlanFinding>, QueryError> {
        let memory = self.limits().memory_bytes;
        let error = move |e| QueryError::from_datafusion(e, memory);
        let context = crate::session::new_context(self.context().runtime_env());
        for name in [
            "results",
            "cases",
            "denied_labels",
            "units",
            "licence_requirements",
        ] {
            let provider = self.context().table_provider(name).await.map_err(error)?;
            context.register_table(name, provider).map_err(error)?;
        }
        register_functions(&context);
        let planned = planned_table(planned).map_err(error)?;
        context
            .register_table("planned", Arc::new(planned))
            .map_err(error)?;
        let sql = format!(
            "SELECT CAST(report_no AS BIGINT) AS plan_index, 'six_month_repeat' AS kind, message, \
                    earlier_report_no, earlier_lab_id, \
                    CAST(earlier_sampling_date AS VARCHAR) AS earlier_sampling_date, \
                    earlier_verdict, CAST(NULL AS VARCHAR) AS licence_required \
             FROM ({repeats}) \
             UNION ALL \
             SELECT CAST(report_no AS BIGINT), 'licence_missing', message, NULL, NULL, NULL, \
                    NULL, licence_required \
             FROM ({licences}) \
             ORDER BY plan_index, kind, earlier_sampling_date, earlier_report_no",
            repeats = six_month_repeats("planned", "results"),
            licences = licence_missing("planned"),
        );
        // On the query threads, under the session's time limit, like every other query.
        let timeout = self.limits().timeout;
        let run = async move {
            let collect = async { context.sql(&sql).await?.collect().await };
            match tokio::time::timeout(timeout, collect).await {
                Ok(batches) => batches,
                Err(_) => Err(datafusion::error::DataFusionError::ResourcesExhausted(
                    format!("the plan check took longer than {} s", timeout.as_secs()),
                )),
            }
        };
        let batches = self
            .executor()
            .spawn(run)
            .await
            .map_err(|e| error(datafusion::error::DataFusionError::External(Box::new(e))))?
            .map_err(error)?;
        let findings = rows::decode::<FindingRow>(&batches).map_err(error)?;
        Ok(findings.into_iter().map(FindingRow::finding).collect())
    }
}

/// A row of the plan check's answer.
#[derive(Deserialize)]
struct FindingRow {
    plan_index: i64,
    #[serde(deserialize_with = "rows::or_default")]
    kind: String,
    #[serde(deserialize_with = "rows::or_default")]
    message: String,
    earlier_report_no: Option<String>,
    earlier_lab_id: Option<String>,
    earlier_sampling_date: Option<String>,
    earlier_verdict: Option<String>,
    licence_required: Option<String>,
}

impl FindingRow {
    fn finding(self) -> PlanFinding {
        let earlier = self.earlier_report_no.map(|report_no| Earlier {
            report_no,
            lab_id: self.earlier_lab_id.unwrap_or_default(),
            sampling_date: self.earlier_sampling_date.unwrap_or_default(),
            verdict: self.earlier_verdict,
        });
        PlanFinding {
            index: usize::try_from(self.plan_index).unwrap_or(0),
            kind: self.kind,
            message: self.message,
            earlier,
            licence_required: self.licence_required,
        }
    }
}

/// A planned sampling as a row with the columns of `results` the rules read (`report_no` holds
/// its position in the list).
#[derive(Serialize, Deserialize)]
struct PlannedRow {
    report_no: String,
    lab_id: &'static str,
    organiser: String,
    category: Option<String>,
    producer_name: String,
    producer_uscc: Option<String>,
    brand: Option<String>,
    model: String,
    standards: String,
    sampling_date: String,
    follow_up: bool,
    verdict: Option<&'static str>,
}

fn planned_table(planned: &[PlannedSampling]) -> Result<MemTable> {
    let rows: Vec<PlannedRow> = planned
        .iter()
        .enumerate()
        .map(|(index, p)| PlannedRow {
            report_no: index.to_string(),
            lab_id: "",
            organiser: p.organiser.clone(),
            category: p.category.clone(),
            producer_name: p.producer_name.clone(),
            producer_uscc: p.producer_uscc.clone(),
            brand: p.brand.clone(),
            model: p.model.clone(),
            standards: p.standards.join("; "),
            sampling_date: p.date.to_string(),
            follow_up: p.follow_up,
            verdict: None,
        })
        .collect();
    rows::table(&rows, &["sampling_date"])
}

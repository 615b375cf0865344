//! The sampling result a lab posts (docs/contract.md §4), and its validation.

use crate::enums::{Category, Level, SamplingDomain, Severity, UnitRole, Verdict};
use crate::error::{Errors, FieldError};
use crate::keys::BatchKey;
use crate::reader::Obj;
use crate::uscc::Uscc;
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A validated sampling result. Built only by [`SamplingResult::parse`] at the edge; stages
/// downstream trust it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "Sampling result",
    description = "A lab's report on one sampled batch (docs/contract.md §4). Rules beyond this schema: a failing item implies verdict fail; a fail needs a failing item; USCC check characters; sampling.date <= tested_on <= today+1; production_date <= sampling.date; severity only for a fail."
)]
pub struct SamplingResult {
    pub report_no: String,
    pub lab_id: String,
    pub task_id: Option<String>,
    pub organiser: Option<String>,
    pub level: Option<Level>,
    pub category: Category,
    pub product: Product,
    pub producer: Producer,
    pub sampled_unit: SampledUnit,
    pub sampling: Sampling,
    pub tested_on: NaiveDate,
    pub served_on: Option<NaiveDate>,
    #[serde(default)]
    pub standards: Vec<String>,
    #[serde(default)]
    pub items: Vec<TestItem>,
    pub verdict: Verdict,
    pub severity: Option<Severity>,
    #[serde(default)]
    pub suspected_counterfeit: bool,
    /// A follow-up check (跟踪抽查) of a product that failed before: exempt from the rule that an
    /// organiser samples a producer's same product at most once in six months.
    #[serde(default)]
    pub follow_up: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Product {
    pub name: String,
    pub brand: Option<String>,
    pub model: String,
    pub batch: String,
    pub production_date: Option<NaiveDate>,
}

/// The nominal producer (标称生产企业) printed on the label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Producer {
    pub uscc: Option<Uscc>,
    pub name: String,
    pub address: Option<String>,
}

/// What a record writes where a label names no producer (a 三无 product): `/`, `无`, `——`…
const NO_PRODUCER: &[&str] = &[
    "/",
    "／",
    "\\",
    "-",
    "--",
    "—",
    "——",
    "无",
    "无标识",
    "无标注",
    "未标注",
    "未标明",
    "不详",
    "未知",
    "n/a",
    "none",
];

impl Producer {
    /// Whether the label names a producer at all: bulletins write `/` (or `无`, `——`) in the
    /// 标称生产企业 column of a 三无 product, which is no one to trace, identify or blame.
    pub fn is_named(&self) -> bool {
        names_a_producer(&self.name)
    }
}

/// How a record says in words that the label names no producer: 无厂名厂址, 未标注生产企业,
/// 无标称生产企业名称… Only at the start: 无锡, 无为 and 无极 begin real names.
const NO_PRODUCER_SAID: &[&str] = &[
    "无厂名",
    "无厂址",
    "无生产",
    "无标称",
    "无标识",
    "无标注",
    "无标签",
    "未标注",
    "未标明",
    "未标称",
    "未标识",
    "未注明",
    "标签无",
    "标签未",
];

/// Whether `name`, as a record gives it in the producer's place, names one ([`Producer::is_named`]).
/// A mark with a remark after it (`/（三无产品）`, `无（见备注）`) names none either.
pub fn names_a_producer(name: &str) -> bool {
    let name = name.trim();
    let mark = name
        .split(['（', '('])
        .next()
        .unwrap_or(name)
        .trim_end_matches(['，', ',', '；', ';', '。', ' '])
        .trim();
    // A name that opens with a bracket (（香港）某某集团…, （无）) is read without its brackets.
    let unbracketed: String;
    let mark = if mark.is_empty() {
        unbracketed = name.replace(['（', '）', '(', ')'], "");
        unbracketed.trim()
    } else {
        mark
    };
    !mark.is_empty()
        && !name.contains("三无")
        && !NO_PRODUCER
            .iter()
            .any(|none| mark.eq_ignore_ascii_case(none))
        && !NO_PRODUCER_SAID.iter().any(|said| mark.starts_with(said))
}

/// The unit where the sample was taken (被抽样单位).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SampledUnit {
    pub uscc: Option<Uscc>,
    pub name: String,
    pub address: Option<String>,
    /// GB/T 2260 division code, e.g. `120104`.
    #[schemars(pattern(r"^[0-9]{6}$"))]
    pub district: Option<String>,
    pub role: UnitRole,
}

impl SampledUnit {
    /// The district the record gives, else the one its address, name or credit code places it
    /// in ([`crate::columns::district_of_unit`]): where a result counts by district.
    pub fn placed_district(&self) -> Option<std::borrow::Cow<'_, str>> {
        match &self.district {
            Some(district) => Some(district.as_str().into()),
            None => crate::columns::district_of_unit(
                self.address.as_deref(),
                Some(&self.name),
                self.uscc.as_ref().map(Uscc::as_str),
            )
            .map(Into::into),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sampling {
    pub date: NaiveDate,
    pub domain: SamplingDomain,
    pub quantity: Option<String>,
}

/// One tested item of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TestItem {
    pub name: String,
    pub clause: Option<String>,
    pub required: Option<String>,
    pub measured: Option<String>,
    pub verdict: Verdict,
    /// How grave a failure of this item is, as the product's implementation rules (实施细则)
    /// class it: `serious` for an A类 (极重要) item, `general` for B类 or C类. A failing serious
    /// item makes the failure serious; after a re-test clears items, what stands is rated by
    /// the items left. Left out of the record when not given, so a record posted before this
    /// field keeps its content hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

const RESULT_FIELDS: &[&str] = &[
    "report_no",
    "lab_id",
    "task_id",
    "organiser",
    "level",
    "category",
    "product",
    "producer",
    "sampled_unit",
    "sampling",
    "tested_on",
    "served_on",
    "standards",
    "items",
    "verdict",
    "severity",
    "suspected_counterfeit",
    "follow_up",
];

impl SamplingResult {
    /// Validates an untrusted JSON value against every rule of docs/contract.md §4. `today` is the
    /// server's date (tests inject it); a test date may be at most one day after it.
    pub fn parse(value: &Value, today: NaiveDate) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::default();
        let root = Obj::root(value, &mut errors);
        root.reject_unknown(RESULT_FIELDS, &mut errors);
        let result = read_result(&root, today, &mut errors);
        errors.finish(result)
    }

    /// The batch this result is about: (nominal producer, model, batch code).
    pub fn batch_key(&self) -> BatchKey {
        BatchKey::new(
            &self.producer.name,
            &self.product.model,
            &self.product.batch,
        )
    }

    /// The items that failed, in report order.
    pub fn failed_items(&self) -> impl Iterator<Item = &TestItem> {
        self.items.iter().filter(|i| i.verdict == Verdict::Fail)
    }
}

/// Reads every field and checks the rules between fields, so that all problems are reported
/// together; `None` when anything is wrong (the errors are recorded).
fn read_result(root: &Obj, today: NaiveDate, errors: &mut Errors) -> Option<SamplingResult> {
    let report_no = root.required_text("report_no", errors);
    let lab_id = root.required_text("lab_id", errors);
    let task_id = root.text("task_id", errors);
    let organiser = root.text("organiser", errors);
    let level = root.choice("level", Level::ALL, Level::as_str, false, errors);
    let category = root.choice("category", Category::ALL, Category::as_str, true, errors);
    let product = read_product(&root.object("product", true, errors), errors);
    let producer = read_producer(&root.object("producer", true, errors), errors);
    let sampled_unit = read_sampled_unit(&root.object("sampled_unit", true, errors), errors);
    let sampling = read_sampling(&root.object("sampling", true, errors), errors);
    let tested_on = root.date("tested_on", true, errors);
    let served_on = root.date("served_on", false, errors);
    let standards = root.text_list("standards", errors);
    let items = read_items(root, errors);
    let verdict = root.choice("verdict", Verdict::ALL, Verdict::as_str, true, errors);
    let severity = root.choice("severity", Severity::ALL, Severity::as_str, false, errors);
    let suspected_counterfeit = root.flag("suspected_counterfeit", errors);
    let follow_up = root.flag("follow_up", errors);
    if let Some(verdict) = verdict {
        check_verdict_rules(verdict, items.as_deref(), severity, errors);
    }
    let severity = severity.or_else(|| severity_of_items(items.as_deref()?));
    let produced = product.as_ref().and_then(|p| p.production_date);
    let sampled = sampling.as_ref().map(|s| s.date);
    check_date_order(produced, sampled, tested_on, today, errors);
    check_service(tested_on, served_on, today, errors);
    Some(SamplingResult {
        report_no: report_no?,
        lab_id: lab_id?,
        task_id,
        organiser,
        level,
        category: category?,
        product: product?,
        producer: producer?,
        sampled_unit: sampled_unit?,
        sampling: sampling?,
        tested_on: tested_on?,
        served_on,
        standards,
        items: items?,
        verdict: verdict?,
        severity,
        suspected_counterfeit,
        follow_up,
    })
}

fn read_product(obj: &Obj, errors: &mut Errors) -> Option<Product> {
    obj.reject_unknown(
        &["name", "brand", "model", "batch", "production_date"],
        errors,
    );
    let name = obj.required_text("name", errors);
    let brand = obj.text("brand", errors);
    let model = obj.required_text("model", errors);
    let batch = obj.required_text("batch", errors);
    let production_date = obj.date("production_date", false, errors);
    Some(Product {
        name: name?,
        brand,
        model: model?,
        batch: batch?,
        production_date,
    })
}

pub(crate) fn read_producer(obj: &Obj, errors: &mut Errors) -> Option<Producer> {
    obj.reject_unknown(&["uscc", "name", "address"], errors);
    let uscc = obj.uscc("uscc", false, errors);
    let name = obj.required_text("name", errors);
    let address = obj.text("address", errors);
    Some(Producer {
        uscc,
        name: name?,
        address,
    })
}

pub(crate) fn read_sampled_unit(obj: &Obj, errors: &mut Errors) -> Option<SampledUnit> {
    obj.reject_unknown(&["uscc", "name", "address", "district", "role"], errors);
    let uscc = obj.uscc("uscc", false, errors);
    let name = obj.required_text("name", errors);
    let address = obj.text("address", errors);
    let district = crate::region::read_district(obj, "district", errors);
    let role = obj.choice("role", UnitRole::ALL, UnitRole::as_str, true, errors);
    Some(SampledUnit {
        uscc,
        name: name?,
        address,
        district,
        role: role?,
    })
}

fn read_sampling(obj: &Obj, errors: &mut Errors) -> Option<Sampling> {
    obj.reject_unknown(&["date", "domain", "quantity"], errors);
    let date = obj.date("date", true, errors);
    let domain = obj.choice(
        "domain",
        SamplingDomain::ALL,
        SamplingDomain::as_str,
        true,
        errors,
    );
    let quantity = obj.text("quantity", errors);
    Some(Sampling {
        date: date?,
        domain: domain?,
        quantity,
    })
}

/// Reads `items`; `None` when any item is unreadable (its errors are recorded).
fn read_items(root: &Obj, errors: &mut Errors) -> Option<Vec<TestItem>> {
    let mut items = Vec::new();
    let mut complete = true;
    for obj in root.objects("items", errors) {
        obj.reject_unknown(
            &[
                "name", "clause", "required", "measured", "verdict", "severity",
            ],
            errors,
        );
        let name = obj.required_text("name", errors).filter(|name| {
            let pointer = is_pointer(name);
            if pointer {
                errors.push(
                    obj.path_of("name"),
                    format!(
                        "'{name}' names no item but where the items are: write each item's \
                         name as the report lists it (the case, the notices and the disclosure \
                         show it)"
                    ),
                );
            }
            !pointer
        });
        let clause = obj.text("clause", errors);
        let required = obj.text("required", errors);
        let measured = obj.text("measured", errors);
        let verdict = obj.choice("verdict", Verdict::ALL, Verdict::as_str, true, errors);
        let severity = obj.choice("severity", Severity::ALL, Severity::as_str, false, errors);
        match (name, verdict) {
            (Some(name), Some(verdict)) => items.push(TestItem {
                name,
                clause,
                required,
                measured,
                verdict,
                severity,
            }),
            _ => complete = false,
        }
    }
    complete.then_some(items)
}

/// Whether an item's name only points to where the items are (详见检验报告, 见附件, 参见报告第3页).
fn is_pointer(name: &str) -> bool {
    ["见", "详见", "参见", "具体见", "具体详见"]
        .iter()
        .any(|lead| name.trim().starts_with(lead))
}

/// A failing item makes the result fail; a failure names what failed; severity is for failures.
fn check_verdict_rules(
    verdict: Verdict,
    items: Option<&[TestItem]>,
    severity: Option<Severity>,
    errors: &mut Errors,
) {
    let first_failure = items.and_then(|items| {
        items
            .iter()
            .enumerate()
            .find(|(_, item)| item.verdict == Verdict::Fail)
    });
    match (verdict, first_failure) {
        (Verdict::Pass, Some((index, item))) => errors.push(
            "verdict",
            format!(
                "is pass, but item {} ({}) failed: a failing item makes the whole result fail",
                index + 1,
                item.name
            ),
        ),
        // Unreadable items were reported already; only a readable list without a failure is wrong.
        (Verdict::Fail, None) if items.is_some() => errors.push(
            "items",
            "a failing result must list at least one item with verdict fail",
        ),
        _ => {}
    }
    if verdict == Verdict::Pass && severity.is_some() {
        errors.push(
            "severity",
            "applies only to a failing result; leave it out for a pass",
        );
    }
    let serious_item = items.and_then(|items| {
        items.iter().enumerate().find(|(_, item)| {
            item.verdict == Verdict::Fail && item.severity == Some(Severity::Serious)
        })
    });
    if let (Some(Severity::General), Some((index, item))) = (severity, serious_item) {
        errors.push(
            "severity",
            format!(
                "is general, but failing item {} ({}) is serious: a serious item makes the failure serious",
                index + 1,
                item.name
            ),
        );
    }
}

/// The severity a failure's items give it when the lab gave none for the whole: serious when a
/// failing item is, general when every failing item is rated general, else not known.
fn severity_of_items(items: &[TestItem]) -> Option<Severity> {
    let mut failing = items
        .iter()
        .filter(|i| i.verdict == Verdict::Fail)
        .peekable();
    failing.peek()?;
    let mut rated = Some(Severity::General);
    for item in failing {
        match item.severity {
            Some(Severity::Serious) => return Some(Severity::Serious),
            Some(Severity::General) => {}
            None => rated = None,
        }
    }
    rated
}

/// A result is served after it was tested, and not in the future (a day of clock skew allowed):
/// `served_on` starts the objection window, so a wrong one makes a case final too early.
fn check_service(
    tested: Option<NaiveDate>,
    served: Option<NaiveDate>,
    today: NaiveDate,
    errors: &mut Errors,
) {
    let Some(served) = served else { return };
    if let Some(tested) = tested
        && served < tested
    {
        errors.push(
            "served_on",
            format!("{served} is before the test date {tested}: a result is served after the test"),
        );
    }
    let tomorrow = today.succ_opt().unwrap_or(today);
    if served > tomorrow {
        errors.push(
            "served_on",
            format!("{served} is in the future (today is {today})"),
        );
    }
}

/// production ≤ sampling ≤ testing ≤ tomorrow; each check runs when its dates were readable.
fn check_date_order(
    produced: Option<NaiveDate>,
    sampled: Option<NaiveDate>,
    tested: Option<NaiveDate>,
    today: NaiveDate,
    errors: &mut Errors,
) {
    if let (Some(produced), Some(sampled)) = (produced, sampled)
        && produced > sampled
    {
        errors.push(
            "product.production_date",
            format!("{produced} is after the sampling date {sampled}: a product is made before it is sampled"),
        );
    }
    let Some(tested) = tested else { return };
    if let Some(sampled) = sampled
        && tested < sampled
    {
        errors.push(
            "tested_on",
            format!("{tested} is before the sampling date {sampled}: a sample is tested after it is taken"),
        );
    }
    let tomorrow = today.succ_opt().unwrap_or(today);
    if tested > tomorrow {
        errors.push(
            "tested_on",
            format!("{tested} is in the future (today is {today})"),
        );
    }
}

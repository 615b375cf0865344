//! The traceback case (docs/contract.md §4), the output of the traceback stage. Each revision replaces
//! the previous one; the topic is compacted on `case_id`.

use crate::enums::{
    Category, Direction, DispositionKind, FindingKind, NoticeCause, NoticeKind, StepKind,
    SubjectRole, UnitRole,
};
use crate::keys::record_id;
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Derives the case id from the report that opened it: the same (lab, report) always gives the
/// same case, on every instance.
pub fn case_id(lab_id: &str, report_no: &str) -> String {
    record_id("case", &[lab_id, report_no])
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "Traceback case",
    description = "A failing batch's case: its distribution graph, referrals, notices and deadlines. Newest revision wins."
)]
pub struct Case {
    pub case_id: String,
    /// Starts at 1; each change of the case adds one.
    #[schemars(range(min = 1))]
    pub revision: u64,
    pub report_no: String,
    pub lab_id: String,
    pub category: Option<Category>,
    pub batch: CaseBatch,
    pub status: CaseStatus,
    pub origin: CaseParty,
    #[serde(default)]
    pub units: Vec<CaseUnit>,
    #[serde(default)]
    pub referrals: Vec<Referral>,
    #[serde(default)]
    pub notices: Vec<Notice>,
    pub deadlines: Deadlines,
    /// What an official must check or complete before serving or disclosing ([`Gap`]), in
    /// words (e.g. no inbound shipment recorded).
    #[serde(default)]
    pub gaps: Vec<String>,
    /// The same, in Chinese, one for one, as the case page shows them.
    #[serde(default)]
    pub gaps_zh: Vec<String>,
    /// What the result said, so a case is enough to disclose it (the credit stage reads cases).
    #[serde(default)]
    pub facts: Option<CaseFacts>,
    /// The enterprises the failure belongs to (the sampled unit as seller, the nominal producer),
    /// how each was identified, and whether it is to be disclosed once the failure is final.
    #[serde(default)]
    pub subjects: Vec<CaseSubject>,
    /// Steps of the law besides the four notices: the stop of production and sale, the public
    /// notice, the re-checks after it and after suspension, the referral for licence revocation.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// The version of the rules that derived this revision; a new version re-derives every case.
    #[serde(default)]
    pub rules: u32,
    /// For a case opened by an on-site inspection's finding (not a lab's result): what was found,
    /// where and by whom. Such a case is addressed by `lab_id` `inspection`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspection: Option<CaseInspection>,
    pub updated_at: DateTime<Utc>,
}

/// What an official must check or complete before a case's notices are served or its failure
/// disclosed. A case carries each in English (`gaps`, its `Display`) and in Chinese (`gaps_zh`,
/// [`Gap::zh`] in `names.rs`).
#[derive(Debug, Clone, PartialEq)]
pub enum Gap {
    /// The sampled unit (not the producer) has no inbound shipment of the batch in the ledger.
    NoInbound { origin: String },
    /// Shipments reach the sampled unit, but none leads back to the producer.
    NoChain { producer: String, origin: String },
    /// The ledger has shipments of the batch, none from its producer.
    NoOutbound { producer: String },
    /// The producer has no credit code: downstream is traced from the sampled unit only.
    ProducerUnknown,
    /// An inspection recorded by one officer (行政处罚法 Art 42 asks for two).
    OneInspector,
    /// An inspection finding without evidence.
    NoEvidence,
    /// A 三无 product without a recorded supplier.
    NoSupplier,
    /// A 三无 product whose supplier has no credit code.
    SupplierWithoutCode { supplier: String },
    /// The ledger spells the producer otherwise than the result; matched on the code.
    LedgerNamesOtherwise {
        ledger: String,
        result: String,
        uscc: String,
    },
    /// The registry holds the code the result gives under another name.
    RegisteredOtherwise {
        role: SubjectRole,
        code: String,
        named: String,
        registered: String,
    },
    /// A subject without a confirmed credit code.
    IdentificationPending { role: SubjectRole, name: String },
    /// A final failure whose disclosure would no longer be visible.
    NotDisclosed {
        final_on: NaiveDate,
        until: NaiveDate,
    },
    /// A deadline in a year whose holiday notice the calendar lacks: only weekends skipped.
    HolidaysUnknown {
        term: Term,
        date: NaiveDate,
        year: i32,
    },
    /// A working-day deadline in a year the calendar lacks: not computed.
    NoCalendarYear { term: Term, year: i32 },
    /// An objection recorded after its window, and no re-test: the failure stands.
    ObjectionOutOfTime { filed: NaiveDate, until: NaiveDate },
    /// The result gives the producer the code of the seller it was sampled from, under another
    /// name: a code copied from the other column; the producer is identified by its name.
    ProducerGivenSellersCode {
        producer: String,
        seller: String,
        code: String,
    },
    /// Shipments whose ledger records the batch by its production date alone (`date`), not
    /// the code the result gives: taken as this batch, to be confirmed.
    BatchByProductionDate { date: NaiveDate, shipments: usize },
    /// A producer or sampled unit without a credit code whose address (the label's, for the
    /// producer) is in another province (`province`, its code): to be reported to that
    /// province's authority by name and address.
    Elsewhere {
        role: SubjectRole,
        name: String,
        province: String,
    },
    /// An official's record names a unit the case does not reach: a mistyped code, or a unit
    /// the ledger misses. It counts for that code alone.
    UnitNotInCase {
        kind: DispositionKind,
        on: NaiveDate,
        uscc: String,
    },
    /// A re-test's cleared item the lab did not fail (a mistyped name): it clears nothing.
    NotAFailedItem { on: NaiveDate, item: String },
    /// A re-test recorded upheld that clears every failed item: nothing of the failure is left,
    /// so it is not final (nor disclosed) until the record is corrected.
    RetestClearsEveryItem { on: NaiveDate },
    /// Two re-test conclusions that say different things: the first (by date, then id) counts.
    RetestsDisagree { counted: String, other: String },
    /// A serious failure whose upheld re-test cleared some items: the severity is the lab's word
    /// on the whole result, so listed supervision is still proposed; whether what stands is a
    /// major hidden danger is for an official to confirm.
    SeriousItemsCleared { on: NaiveDate, cleared: Vec<String> },
    /// A withdrawal naming no record of the case (or another withdrawal): nothing withdrawn.
    WithdrawsNothing { on: NaiveDate, id: String },
    /// A withdrawal of an identification: the name's code is corrected by a new identification.
    IdentificationNotWithdrawn { id: String },
}

/// The deadlines and steps whose dates a case computes, as its gaps name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    ObjectionEnd,
    Disclosure,
    Withdrawal,
    Rectification,
    Recheck,
    SecondRecheck,
    ListedSupervision,
    Interview,
    RecheckAfterSuspension,
    RevocationReferral,
}

impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Term::ObjectionEnd => "the objection window's end",
            Term::Disclosure => "the disclosure deadline",
            Term::Withdrawal => "the withdrawal deadline",
            Term::Rectification => "the rectification deadline",
            Term::Recheck => "the re-check deadline",
            Term::SecondRecheck => "the second re-check deadline",
            Term::ListedSupervision => "the listed-supervision notice",
            Term::Interview => "the interview",
            Term::RecheckAfterSuspension => "the re-check after suspension",
            Term::RevocationReferral => "the referral for licence revocation",
        })
    }
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let role = |role: &SubjectRole| match role {
            SubjectRole::Seller => "sampled unit",
            SubjectRole::Producer => "nominal producer",
        };
        match self {
            Gap::NoInbound { origin } => write!(
                f,
                "the sampled unit {origin} has no inbound shipment of this batch"
            ),
            Gap::NoChain { producer, origin } => write!(
                f,
                "no chain of shipments leads from the producer {producer} to the sampled unit {origin}"
            ),
            Gap::NoOutbound { producer } => write!(
                f,
                "no outbound shipment of this batch from the producer {producer} is recorded"
            ),
            Gap::ProducerUnknown => f.write_str(
                "the producer's USCC is unknown: downstream is traced from the sampled unit only",
            ),
            Gap::OneInspector => f.write_str(
                "only one inspector is recorded: an inspection is made by at least two law-enforcement officers (行政处罚法 Art 42)",
            ),
            Gap::NoEvidence => f.write_str(
                "no evidence is referenced for this finding (photos, the inspection record, samples)",
            ),
            Gap::NoSupplier => f.write_str(
                "三无 product: no producer on its label and no supplier recorded — ask the unit for its purchase records (进货查验记录, PQL Art 33)",
            ),
            Gap::SupplierWithoutCode { supplier } => write!(
                f,
                "三无 product: the supplier {supplier} is recorded without a credit code — it cannot be addressed until identified"
            ),
            Gap::LedgerNamesOtherwise {
                ledger,
                result,
                uscc,
            } => write!(
                f,
                "the ledger names the producer {ledger} where the result says {result}: the shipments were matched on the credit code {uscc}"
            ),
            Gap::RegisteredOtherwise {
                role: r,
                code,
                named,
                registered,
            } => write!(
                f,
                "the unit registry holds {code}, the code the result gives the {} {named}, under the name {registered}: check the code with the lab before serving or disclosing",
                role(r)
            ),
            Gap::IdentificationPending { role: r, name } => write!(
                f,
                "identification pending: {name} ({}) has no credit code the registry or an official confirms — no notice or disclosure until it is identified",
                role(r)
            ),
            Gap::NotDisclosed { final_on, until } => write!(
                f,
                "not disclosed: final on {final_on}, a disclosure of it would have been visible only until {until}, which has passed"
            ),
            Gap::HolidaysUnknown { term, date, year } => write!(
                f,
                "{term} ({date}) falls in {year}, whose holiday notice is not in the calendar: only weekends were skipped"
            ),
            Gap::NoCalendarYear { term, year } => write!(
                f,
                "{term} cannot be computed: the working-day calendar has no year {year}: add the State Council's holiday notice for {year} under [traceback.calendar.years.{year}] in the config file"
            ),
            Gap::ProducerGivenSellersCode {
                producer,
                seller,
                code,
            } => write!(
                f,
                "the result gives the producer {producer} the credit code of the sampled unit {seller} ({code}), though it was sampled from a seller: a code copied from the other column; the producer is identified by its name until the lab or an official gives its own"
            ),
            Gap::BatchByProductionDate { date, shipments } => write!(
                f,
                "{shipments} shipment(s) in the ledger record the batch by its production date ({date}) alone: taken as this batch; confirm with the units that it is"
            ),
            Gap::Elsewhere {
                role: r,
                name,
                province,
            } => write!(
                f,
                "the {} {name} has no credit code and its {}address is in {}: report the failure to {} by the name and address (Order 18 Art 44); once it is identified it is referred",
                role(r),
                if *r == SubjectRole::Producer { "label's " } else { "" },
                crate::names::province_of(province).map_or(province.as_str(), |(_, n)| n),
                crate::names::authority_of(province)
                    .unwrap_or_else(|| "its authority".to_owned())
            ),
            Gap::UnitNotInCase { kind, on, uscc } => write!(
                f,
                "the {kind} of {on} names {uscc}, a unit this case does not reach: check the code; if the unit did receive the batch, record its shipment in the ledger"
            ),
            Gap::NotAFailedItem { on, item } => write!(
                f,
                "the re-test of {on} clears '{item}', which is not among the items the lab failed: check the item's name"
            ),
            Gap::RetestClearsEveryItem { on } => write!(
                f,
                "the re-test of {on} is recorded as upholding the failure but clears every failed item: the record contradicts itself, and the failure is neither final nor disclosed until the organiser settles what the re-test concluded"
            ),
            Gap::RetestsDisagree { counted, other } => write!(
                f,
                "the re-test conclusions {counted} and {other} say different things: the first by date, {counted}, counts; withdraw the one entered by mistake (kind withdrawn)"
            ),
            Gap::SeriousItemsCleared { on, cleared } => write!(
                f,
                "the re-test of {on} cleared {}, but the lab found the failure serious as a whole: listed supervision is still proposed; confirm that the items that stand are a major hidden danger before serving it",
                cleared.join(", ")
            ),
            Gap::WithdrawsNothing { on, id } => write!(
                f,
                "the withdrawal of {on} names {id}, which is not a record of this case that can be withdrawn: nothing was withdrawn; check the disposition_id"
            ),
            Gap::IdentificationNotWithdrawn { id } => write!(
                f,
                "the identification {id} cannot be withdrawn (it names the unit for every case with its name): record the right code as a new identification"
            ),
            Gap::ObjectionOutOfTime { filed, until } => write!(
                f,
                "the objection of {filed} came after the window, which ended on {until}: no re-test, the failure stands (PQL Art 15); if it was filed in time, record the re-test's conclusion"
            ),
        }
    }
}

/// The finding of an on-site inspection that opened a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseInspection {
    pub kind: FindingKind,
    /// The inspection record the finding is in (the first refusal's, for a refusal case).
    pub inspection_id: String,
    pub inspected_on: NaiveDate,
    pub inspectors: Vec<String>,
    pub place: Option<String>,
    pub description: Option<String>,
    pub standard: Option<String>,
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Who supplied the product, from the inspected unit's purchase records.
    #[serde(default)]
    pub supplier: Option<crate::inspection::Supplier>,
    /// A refusal case: every refusal of the unit, in date order (inspection id, date).
    #[serde(default)]
    pub refusals: Vec<(String, NaiveDate)>,
}

/// One enterprise a failure is recorded under (记入相关生产销售单位名下).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseSubject {
    pub role: SubjectRole,
    /// The name the result gives (the registry's name once identified).
    pub name: String,
    /// `None` while identification is pending.
    pub uscc: Option<String>,
    /// How the credit code was found: `given` (in the result), `same_name` (the code the result
    /// gives its other party of the same name), `registry_name`, `registry_name_district`,
    /// `official` (an `identified` disposition), `ledger` (shipments).
    #[serde(default)]
    #[schemars(extend("enum" = ["given", "same_name", "official", "registry_name", "registry_name_district", "ledger", null]))]
    pub identified_by: Option<String>,
    /// Whether a final failure is disclosed under this subject.
    pub disclosure: SubjectDisclosure,
    /// Why not, or how it was matched, in words.
    #[serde(default)]
    pub reason: Option<String>,
}

/// What the credit feed is to do with a subject once the failure is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectDisclosure {
    /// Disclose (when final).
    Disclose,
    /// Identification pending: nothing served or disclosed until an official identifies it.
    IdentificationPending,
    /// Referred, not blamed (suspected counterfeit, producer denies the batch).
    Referred,
    /// Final too late: the three years a disclosure stays visible had passed already.
    Expired,
}

/// A step of the case's legal life other than a notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    pub kind: StepKind,
    /// When it is due (`None` while the event it counts from has not been recorded).
    pub due_on: Option<NaiveDate>,
    /// When an official recorded it done.
    pub done_on: Option<NaiveDate>,
    pub status: StepStatus,
    /// What it counts from, in words.
    #[serde(default)]
    pub basis: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Due by `due_on`.
    Due,
    /// Recorded done.
    Done,
    /// Waits for the event it counts from.
    Awaiting,
    /// Not needed any more: the case closed (every unit's re-check passed) before it was
    /// recorded done, and production may resume (Order 18 Art 49).
    Moot,
}

/// The batch of the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseBatch {
    /// The batch key, `producer/model/batch`.
    pub key: String,
    pub producer_name: String,
    #[schemars(with = "Option<crate::Uscc>")]
    pub producer_uscc: Option<String>,
    pub model: String,
    pub batch: String,
}

/// The sampled unit where the failure was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseParty {
    #[schemars(with = "Option<crate::Uscc>")]
    pub uscc: Option<String>,
    pub name: String,
    pub role: UnitRole,
}

/// One unit of the batch's distribution graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseUnit {
    #[schemars(with = "crate::Uscc")]
    pub uscc: String,
    pub name: String,
    pub role: Option<UnitRole>,
    pub direction: Direction,
    /// Shipments between this unit and the sampled unit for upstream units (0 for the origin),
    /// and between the producer and this unit for downstream receivers.
    pub hops: u32,
    pub quantity_received: Option<f64>,
    #[schemars(pattern(r"^[0-9]{6}$"))]
    pub district: Option<String>,
    pub in_region: bool,
    /// Whether the unit answers for the failure — the sampled unit, the producer, an
    /// inspection's supplier, unless referred elsewhere — and is ordered to rectify, report and
    /// be re-checked; the others only hold the batch (told to stop selling and recall it).
    /// False in revisions made before rules 31.
    #[serde(default)]
    pub responsible: bool,
}

/// A unit referred elsewhere instead of being handled here (移送).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Referral {
    #[schemars(with = "crate::Uscc")]
    pub uscc: String,
    /// Division code (or its province prefix) of the authority the unit is referred to.
    pub region: Option<String>,
    pub reason: Option<String>,
    /// `out_of_region`, or for the producer `suspected_counterfeit` / `producer_denied` (then it
    /// is not a party to blame: no notice, no credit disclosure).
    #[serde(default)]
    #[schemars(extend("enum" = ["out_of_region", "suspected_counterfeit", "producer_denied", null]))]
    pub kind: Option<String>,
}

/// The result's facts a disclosure shows (docs/contract.md §4, credit disclosure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseFacts {
    pub organiser: Option<String>,
    pub product: crate::result::Product,
    /// The failed items the failure stands on: the lab's, less those the re-test cleared.
    pub failed_items: Vec<crate::result::TestItem>,
    pub sampling_date: NaiveDate,
    pub sampled_unit_name: String,
    /// Failed items an upheld re-test found conforming (复检合格), as the lab named them: no
    /// longer part of the failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleared_items: Vec<String>,
}

/// A proposed or served notice (三书一函).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Notice {
    pub kind: NoticeKind,
    /// USCC of the unit it is addressed to.
    pub to: String,
    pub due_on: Option<NaiveDate>,
    pub status: NoticeStatus,
    /// Why an interview or a listed supervision is called for (none for the other kinds, and in
    /// revisions made before it was said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<NoticeCause>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Deadlines {
    pub objection_until: Option<NaiveDate>,
    pub rectify_by: Option<NaiveDate>,
    pub recheck_by: Option<NaiveDate>,
    /// The day the failure became final (no objection in time, or the re-test upheld it).
    #[serde(default)]
    pub final_on: Option<NaiveDate>,
    /// The second re-check's window after a failed re-check (Order 18 Art 48).
    #[serde(default)]
    pub second_recheck_from: Option<NaiveDate>,
    #[serde(default)]
    pub second_recheck_by: Option<NaiveDate>,
    /// Disclosure to the credit system is due by this day: 20 working days after finality.
    #[serde(default)]
    pub disclose_by: Option<NaiveDate>,
    /// A published disclosure revoked (overturned) must be withdrawn by this day: 3 working days.
    #[serde(default)]
    pub retract_by: Option<NaiveDate>,
    /// The provincial public notice (公告) after a failed re-check, as recorded.
    #[serde(default)]
    pub public_notice_on: Option<NaiveDate>,
    /// The last day of the 停业整顿 period, as recorded.
    #[serde(default)]
    pub suspension_until: Option<NaiveDate>,
}

/// Where a case stands in its legal life (docs/domain.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Failure found; objection window running.
    Open,
    /// An objection was filed; waiting for the re-test.
    Retest,
    /// The failure is final (no objection in time, or re-test upheld).
    Final,
    /// Rectification ordered; waiting for the report and the re-check.
    Rectifying,
    /// A re-check failed: escalated, public notice.
    Escalated,
    /// A second re-check failed: suspension; listing candidate.
    Suspended,
    /// Re-check passed.
    Closed,
    /// The re-test overturned the failure.
    Overturned,
    /// The result was revoked (administrative reconsideration, a court, or the organiser for an
    /// error in the testing): nothing of it stands, and nothing of it is published.
    Revoked,
    /// The re-check after suspension failed and the case was referred for licence revocation
    /// (PQL Art 17).
    RevocationReferred,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    Proposed,
    Served,
    Withdrawn,
}

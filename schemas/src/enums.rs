//! The closed vocabularies of docs/contract.md §4. Each enum serialises as its snake_case id and knows its
//! full list, so validators and the JSON Schemas can name every allowed value.

/// Declares a string enum with `as_str`, `ALL`, `FromStr` and serde as its snake_case id.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $id:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        pub enum $name {
            $(#[serde(rename = $id)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The id used on the wire and in the lake.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $id),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(text: &str) -> Result<Self, ()> {
                match text { $($id => Ok($name::$variant),)+ _ => Err(()) }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// The organiser's administrative level.
    Level { National => "national", Provincial => "provincial", Municipal => "municipal", District => "district" }
);

string_enum!(
    /// The key product categories of the plan (docs/domain.md), plus `other`.
    Category {
        GasAppliance => "gas_appliance",
        EBike => "e_bike",
        Fireworks => "fireworks",
        FireProduct => "fire_product",
        HazardousChemical => "hazardous_chemical",
        ExplosionProofElectrical => "explosion_proof_electrical",
        WireCable => "wire_cable",
        TankVehicle => "tank_vehicle",
        SafetyHelmet => "safety_helmet",
        Other => "other",
    }
);

string_enum!(
    /// 合格 / 不合格, for a whole result or one test item.
    Verdict { Pass => "pass", Fail => "fail" }
);

string_enum!(
    /// How grave a failure is; `serious` marks a major hidden danger (重大隐患).
    Severity { Serious => "serious", General => "general" }
);

string_enum!(
    /// What a unit does in the supply chain.
    UnitRole { Producer => "producer", Distributor => "distributor", Retailer => "retailer", Ecommerce => "ecommerce" }
);

string_enum!(
    /// Where the sample was taken: 生产 / 流通 / 电商.
    SamplingDomain { Production => "production", Circulation => "circulation", Ecommerce => "ecommerce" }
);

string_enum!(
    /// Case events reported by officials (docs/contract.md §4, Disposition).
    DispositionKind {
        ResultServed => "result_served",
        ObjectionFiled => "objection_filed",
        RetestConcluded => "retest_concluded",
        RectificationOrdered => "rectification_ordered",
        RectificationReported => "rectification_reported",
        RecheckConcluded => "recheck_concluded",
        NoticeServed => "notice_served",
        ProducerDenied => "producer_denied",
        PublicNotice => "public_notice",
        StopOrdered => "stop_ordered",
        Suspension => "suspension",
        RectificationPeriodEnded => "rectification_period_ended",
        LicenceRevocationReferred => "licence_revocation_referred",
        Identified => "identified",
        WarningIssued => "warning_issued",
        ResultRevoked => "result_revoked",
        Withdrawn => "withdrawn",
    }
);

string_enum!(
    /// The four notices (三书一函).
    NoticeKind {
        Rectification => "rectification",
        Reminder => "reminder",
        Interview => "interview",
        ListedSupervision => "listed_supervision",
    }
);

string_enum!(
    /// Why an interview (约谈) or a listed supervision (挂牌督办) is called for: the unit's
    /// rectification deadline passed without its report, a re-check of it (or naming no unit)
    /// failed, a serious failure (a major hidden danger), a second re-check failed.
    NoticeCause {
        Overdue => "overdue",
        RecheckFailed => "recheck_failed",
        Serious => "serious",
        SecondRecheckFailed => "second_recheck_failed",
    }
);

string_enum!(
    /// Steps of a case besides the four notices (docs/domain.md, the life of a case).
    StepKind {
        StopProductionAndSale => "stop_production_and_sale",
        PublicNotice => "public_notice",
        SecondRecheck => "second_recheck",
        RecheckAfterSuspension => "recheck_after_suspension",
        LicenceRevocationReferral => "licence_revocation_referral",
        Warning => "warning",
        SuspensionOrder => "suspension_order",
    }
);

string_enum!(
    /// What an on-site inspection (现场检查) found: a major hidden danger (重大隐患), a "三无"
    /// product (no producer name, no address or no certificate), a product below a mandatory
    /// standard, a product without its compulsory certification (CCC), or a refusal of the
    /// inspection itself (PQL Art 56).
    FindingKind {
        MajorHiddenDanger => "major_hidden_danger",
        SanwuProduct => "sanwu_product",
        BelowMandatoryStandard => "below_mandatory_standard",
        NoCcc => "no_ccc",
        RefusedInspection => "refused_inspection",
    }
);

string_enum!(
    /// Which way a unit sits from the sampled unit in a batch's distribution graph.
    Direction { Origin => "origin", Upstream => "upstream", Downstream => "downstream" }
);

string_enum!(
    /// A credit disclosure either publishes a failure or withdraws it.
    DisclosureAction { Publish => "publish", Retract => "retract" }
);

string_enum!(
    /// Where a unit trades (the registry's `area`): supervision looks harder at rural shops and
    /// the urban-rural fringe (城乡结合部).
    Area { Urban => "urban", UrbanRuralFringe => "urban_rural_fringe", Rural => "rural" }
);

string_enum!(
    /// Under which capacity an enterprise is disclosed.
    SubjectRole { Producer => "producer", Seller => "seller" }
);

/// Comma-separated list of every id of an enum, for error messages.
pub fn allowed_values<T: Copy>(all: &[T], id: fn(T) -> &'static str) -> String {
    all.iter().map(|v| id(*v)).collect::<Vec<_>>().join(", ")
}

//! What an organiser checks before and after sampling (docs/domain.md, the legal life of a case):
//! the six-month rule, and which licence or certificate a product's producer must hold.
//!
//! The checks themselves run in SQL over the lake (analytics' `warnings` view and
//! `POST /v1/plan/check`); this module holds their parameters and the licence vocabulary.

use crate::enums::Category;

/// An organiser may not spot-check the same producer's same product (brand, model, standard)
/// again within this many months, except as a follow-up check (跟踪抽查) of a failed product.
pub const REPEAT_MONTHS: u32 = 6;

/// A kind of licence or certificate a producer may need before selling a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LicenceKind {
    /// 强制性产品认证 (CCC).
    Ccc,
    /// 工业产品生产许可证.
    ProductionLicence,
    /// 烟花爆竹安全生产许可证.
    FireworksSafetyLicence,
}

impl LicenceKind {
    pub const ALL: &'static [LicenceKind] = &[
        LicenceKind::Ccc,
        LicenceKind::ProductionLicence,
        LicenceKind::FireworksSafetyLicence,
    ];

    /// The id used in configuration and SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenceKind::Ccc => "ccc",
            LicenceKind::ProductionLicence => "production_licence",
            LicenceKind::FireworksSafetyLicence => "fireworks_safety_licence",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            LicenceKind::Ccc => "强制性产品认证（CCC）",
            LicenceKind::ProductionLicence => "工业产品生产许可证",
            LicenceKind::FireworksSafetyLicence => "烟花爆竹安全生产许可证",
        }
    }

    /// The kind a registry entry's free-text `kind` names (`CCC`, `3C`, `工业产品生产许可证`…).
    pub fn of_text(text: &str) -> Option<LicenceKind> {
        let text: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        match text.as_str() {
            "ccc"
            | "3c"
            | "ccc认证"
            | "3c认证"
            | "强制性产品认证"
            | "强制性认证"
            | "中国强制性产品认证"
            | "强制性产品认证证书" => Some(LicenceKind::Ccc),
            "production_licence"
            | "production_license"
            | "生产许可证"
            | "工业产品生产许可证"
            | "全国工业产品生产许可证"
            | "qs" => Some(LicenceKind::ProductionLicence),
            "fireworks_safety_licence" | "烟花爆竹安全生产许可证" | "安全生产许可证" => {
                Some(LicenceKind::FireworksSafetyLicence)
            }
            _ => None,
        }
    }
}

impl std::str::FromStr for LicenceKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        LicenceKind::ALL
            .iter()
            .find(|k| k.as_str() == text)
            .copied()
            .ok_or_else(|| {
                format!("'{text}' is not a licence kind: use ccc, production_licence or fireworks_safety_licence")
            })
    }
}

/// What a category's producer must hold: any one of `kinds`, valid on the sampling date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceRequirement {
    pub category: Category,
    pub kinds: Vec<LicenceKind>,
    /// Where the requirement comes from, for the warning's reader.
    pub basis: String,
}

/// The requirements shipped by default, with their sources. Categories not listed need none
/// here (车载常压罐体 and 安全帽 are regulated by other means); configuration replaces a
/// category's entry (`[plan.licences]`).
pub fn default_licence_requirements() -> Vec<LicenceRequirement> {
    let requirement = |category, kinds: &[LicenceKind], basis: &str| LicenceRequirement {
        category,
        kinds: kinds.to_vec(),
        basis: basis.to_owned(),
    };
    vec![
        requirement(
            Category::EBike,
            &[LicenceKind::Ccc],
            "《强制性产品认证目录》：电动自行车自2019年4月15日起实施CCC认证（认监委公告2018年第10号）",
        ),
        requirement(
            Category::GasAppliance,
            &[LicenceKind::Ccc],
            "家用燃气器具自2020年10月1日起实施CCC认证（市场监管总局、认监委公告2019年第44号）",
        ),
        requirement(
            Category::ExplosionProofElectrical,
            &[LicenceKind::Ccc],
            "防爆电气自2020年10月1日起实施CCC认证（市场监管总局、认监委公告2019年第44号）",
        ),
        requirement(
            Category::FireProduct,
            &[LicenceKind::Ccc],
            "《消防法》第二十四条、《强制性产品认证目录》：列入目录的消防产品须经强制性产品认证",
        ),
        requirement(
            Category::WireCable,
            &[LicenceKind::ProductionLicence, LicenceKind::Ccc],
            "《工业产品生产许可证管理条例》及《实行生产许可证制度管理的产品目录》（电线电缆）；额定电压450/750V及以下电线电缆实施CCC认证",
        ),
        requirement(
            Category::HazardousChemical,
            &[LicenceKind::ProductionLicence],
            "《危险化学品安全管理条例》第十四条：危险化学品生产企业取得工业产品生产许可证",
        ),
        requirement(
            Category::Fireworks,
            &[LicenceKind::FireworksSafetyLicence],
            "《烟花爆竹安全管理条例》第八条：生产烟花爆竹的企业取得烟花爆竹安全生产许可证",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_kinds_in_their_usual_spellings_are_recognised() {
        assert_eq!(LicenceKind::of_text("CCC"), Some(LicenceKind::Ccc));
        assert_eq!(LicenceKind::of_text(" 3C "), Some(LicenceKind::Ccc));
        assert_eq!(
            LicenceKind::of_text("工业产品生产许可证"),
            Some(LicenceKind::ProductionLicence)
        );
        assert_eq!(LicenceKind::of_text("营业执照"), None);
        assert_eq!("ccc".parse::<LicenceKind>(), Ok(LicenceKind::Ccc));
    }

    #[test]
    fn each_category_has_at_most_one_default_requirement() {
        let requirements = default_licence_requirements();
        for category in Category::ALL {
            assert!(
                requirements
                    .iter()
                    .filter(|r| r.category == *category)
                    .count()
                    <= 1
            );
        }
    }
}

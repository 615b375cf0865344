//! The Chinese names officials read beside the stable English identifiers: product categories
//! (docs/domain.md, "The key products") and the administrative divisions of GB/T 2260 — Tianjin's
//! districts, and the provinces a case is referred to. Machine interfaces keep the ids; pages,
//! documents and the SQL lookup tables (`categories`, `districts`) show these names.

use crate::enums::{Category, SubjectRole};
use crate::region::TIANJIN_DISTRICTS;

impl Category {
    /// The category's name as bulletins print it (电动自行车, 电线电缆…).
    pub fn name_zh(self) -> &'static str {
        match self {
            Category::GasAppliance => "燃气用具",
            Category::EBike => "电动自行车",
            Category::Fireworks => "烟花爆竹",
            Category::FireProduct => "消防产品",
            Category::HazardousChemical => "危险化学品",
            Category::ExplosionProofElectrical => "防爆电气",
            Category::WireCable => "电线电缆",
            Category::TankVehicle => "车载常压罐体",
            Category::SafetyHelmet => "安全帽",
            Category::Other => "其他",
        }
    }

    /// The main national standards its products are tested against ("" for `other`).
    pub fn standards(self) -> &'static str {
        match self {
            Category::GasAppliance => "GB 16410, GB 30720",
            Category::EBike => "GB 17761-2024, GB 42295-2022",
            Category::Fireworks => "GB 10631-2013, GB 19593-2015",
            Category::FireProduct => "GB 4351-2023, GB 6246, GB 17945",
            Category::HazardousChemical => "GB/T 534 等产品标准",
            Category::ExplosionProofElectrical => "GB/T 3836.1–.4-2021",
            Category::WireCable => "GB/T 5023, GB/T 12706, GB/T 19666",
            Category::TankVehicle => "GB 18564.1, GB 18564.2",
            Category::SafetyHelmet => "GB 2811-2019",
            Category::Other => "",
        }
    }
}

/// The provincial-level divisions of GB/T 2260: (code, name).
pub const PROVINCES: &[(&str, &str)] = &[
    ("110000", "北京市"),
    ("120000", "天津市"),
    ("130000", "河北省"),
    ("140000", "山西省"),
    ("150000", "内蒙古自治区"),
    ("210000", "辽宁省"),
    ("220000", "吉林省"),
    ("230000", "黑龙江省"),
    ("310000", "上海市"),
    ("320000", "江苏省"),
    ("330000", "浙江省"),
    ("340000", "安徽省"),
    ("350000", "福建省"),
    ("360000", "江西省"),
    ("370000", "山东省"),
    ("410000", "河南省"),
    ("420000", "湖北省"),
    ("430000", "湖南省"),
    ("440000", "广东省"),
    ("450000", "广西壮族自治区"),
    ("460000", "海南省"),
    ("500000", "重庆市"),
    ("510000", "四川省"),
    ("520000", "贵州省"),
    ("530000", "云南省"),
    ("540000", "西藏自治区"),
    ("610000", "陕西省"),
    ("620000", "甘肃省"),
    ("630000", "青海省"),
    ("640000", "宁夏回族自治区"),
    ("650000", "新疆维吾尔自治区"),
    ("710000", "台湾省"),
    ("810000", "香港特别行政区"),
    ("820000", "澳门特别行政区"),
];

/// One row of the `districts` lookup: a Tianjin district or a province.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Division {
    pub code: &'static str,
    pub name_zh: &'static str,
    /// `district` (Tianjin's) or `province`.
    pub level: &'static str,
    pub province_code: &'static str,
    /// The market-supervision authority a case is referred to, for a province outside
    /// Tianjin's own (none for Hong Kong, Macao and Taiwan, outside SAMR's system).
    pub authority_zh: Option<String>,
}

/// The name of the province `code` lies in (its first two digits), if any.
pub fn province_of(code: &str) -> Option<(&'static str, &'static str)> {
    let prefix = code.get(..2)?;
    PROVINCES
        .iter()
        .find(|(province, _)| province.starts_with(prefix))
        .copied()
}

/// The cities of GB/T 2260 by province: each line a province's code and its cities.
const CITIES: &str = include_str!("../data/cities.txt");

/// The province an address begins with: by its full name (浙江省宁波市…), its city (永康市…,
/// 佛山市顺德区…), a district of Tianjin (河北区… is Tianjin's, not 河北省), or its short name
/// (浙江宁波…, 内蒙古…, 广西…): (code, name).
pub fn province_of_address(address: &str) -> Option<(&'static str, &'static str)> {
    let address = address.trim();
    let short = |name: &'static str| {
        [
            "壮族自治区",
            "回族自治区",
            "维吾尔自治区",
            "特别行政区",
            "自治区",
            "省",
            "市",
        ]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name)
    };
    let city = || {
        CITIES
            .lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let mut words = line.split_whitespace();
                let province = words.next()?;
                words
                    .any(|city| address.starts_with(city))
                    .then(|| province_of(province))
                    .flatten()
            })
    };
    PROVINCES
        .iter()
        .copied()
        .find(|(_, name)| address.starts_with(name))
        .or_else(city)
        .or_else(|| crate::columns::district_from_zh(address).and_then(|code| province_of(&code)))
        .or_else(|| {
            PROVINCES.iter().copied().find(|(_, name)| {
                short(name).chars().count() >= 2
                    && address
                        .strip_prefix(short(name))
                        .is_some_and(|rest| !is_street(rest))
            })
        })
}

/// Whether `rest`, after a province's short name, makes it a street's name: Tianjin's 山西路,
/// 湖北路, 新疆路 and 上海道 are streets in 和平区, not provinces.
fn is_street(rest: &str) -> bool {
    ["路", "道", "街", "大街", "里", "巷", "胡同", "桥"]
        .iter()
        .any(|word| rest.starts_with(word))
}

/// The Chinese name of a division code: a Tianjin district, else the province it lies in.
pub fn division_name(code: &str) -> Option<&'static str> {
    crate::region::district_name(code).or_else(|| province_of(code).map(|(_, name)| name))
}

/// The authority a case about a unit registered in `province_code`'s province is referred to
/// ("移送河北省市场监督管理局"); Tianjin's own is 天津市市场监督管理委员会.
pub fn authority_of(province_code: &str) -> Option<String> {
    let (code, name) = province_of(province_code)?;
    match code {
        "120000" => Some("天津市市场监督管理委员会".to_owned()),
        "710000" | "810000" | "820000" => None,
        _ => Some(format!("{name}市场监督管理局")),
    }
}

/// Every row of the `districts` lookup: Tianjin's 16 districts, then the provinces.
pub fn divisions() -> Vec<Division> {
    let districts = TIANJIN_DISTRICTS.iter().map(|(code, name)| Division {
        code,
        name_zh: name,
        level: "district",
        province_code: "120000",
        authority_zh: None,
    });
    let provinces = PROVINCES.iter().map(|(code, name)| Division {
        code,
        name_zh: name,
        level: "province",
        province_code: code,
        authority_zh: authority_of(code),
    });
    districts.chain(provinces).collect()
}

impl crate::case::SubjectDisclosure {
    /// What the credit record does with the subject, as the case page says it.
    pub fn name_zh(self) -> &'static str {
        use crate::case::SubjectDisclosure::*;
        match self {
            Disclose => "记入信用记录（结论确定后公示）",
            IdentificationPending => "待认定（尚无确认的统一社会信用代码：暂不送达、不公示）",
            Referred => "移送（不追究其责任，不公示）",
            Expired => "不公示（已超过公示期限）",
        }
    }
}

impl crate::enums::NoticeKind {
    /// The notice's title as served (三书一函).
    pub fn name_zh(self) -> &'static str {
        use crate::enums::NoticeKind::*;
        match self {
            Rectification => "整改通知书",
            Reminder => "提醒敦促函",
            Interview => "约谈通知书",
            ListedSupervision => "挂牌督办通知书",
        }
    }
}

impl crate::case::NoticeStatus {
    pub fn name_zh(self) -> &'static str {
        use crate::case::NoticeStatus::*;
        match self {
            Proposed => "待送达（系统建议）",
            Served => "已送达",
            Withdrawn => "已撤回",
        }
    }
}

impl crate::case::CaseStatus {
    pub fn name_zh(self) -> &'static str {
        use crate::case::CaseStatus::*;
        match self {
            Open => "异议期内",
            Retest => "复检中",
            Final => "不合格结论已确定",
            Rectifying => "整改中",
            Escalated => "复查不合格（已公告）",
            Suspended => "停业整顿",
            Closed => "复查合格，已结案",
            Overturned => "复检合格，结论撤销",
            Revoked => "检验结论已被撤销",
            RevocationReferred => "已移送吊销营业执照",
        }
    }
}

impl crate::enums::UnitRole {
    pub fn name_zh(self) -> &'static str {
        use crate::enums::UnitRole::*;
        match self {
            Producer => "生产企业",
            Distributor => "经销商",
            Retailer => "零售商",
            Ecommerce => "电商",
        }
    }
}

impl crate::enums::SamplingDomain {
    /// 抽查领域 as bulletins print it.
    pub fn name_zh(self) -> &'static str {
        use crate::enums::SamplingDomain::*;
        match self {
            Production => "生产",
            Circulation => "流通",
            Ecommerce => "电商",
        }
    }
}

impl crate::enums::Direction {
    pub fn name_zh(self) -> &'static str {
        use crate::enums::Direction::*;
        match self {
            Origin => "被抽样单位",
            Upstream => "上游",
            Downstream => "下游收货单位",
        }
    }
}

impl crate::enums::DisclosureAction {
    pub fn name_zh(self) -> &'static str {
        match self {
            crate::enums::DisclosureAction::Publish => "公示",
            crate::enums::DisclosureAction::Retract => "撤回公示",
        }
    }
}

impl crate::enums::Area {
    pub fn name_zh(self) -> &'static str {
        match self {
            crate::enums::Area::Urban => "城区",
            crate::enums::Area::UrbanRuralFringe => "城乡结合部",
            crate::enums::Area::Rural => "农村",
        }
    }
}

impl crate::enums::SubjectRole {
    pub fn name_zh(self) -> &'static str {
        match self {
            crate::enums::SubjectRole::Producer => "生产者",
            crate::enums::SubjectRole::Seller => "销售者",
        }
    }
}

impl crate::enums::Verdict {
    pub fn name_zh(self) -> &'static str {
        match self {
            crate::enums::Verdict::Pass => "合格",
            crate::enums::Verdict::Fail => "不合格",
        }
    }
}

impl crate::enums::Severity {
    /// As an item's class reads in a notice: 严重 (an A类 item's failure) or 一般.
    pub fn name_zh(self) -> &'static str {
        match self {
            crate::enums::Severity::Serious => "严重",
            crate::enums::Severity::General => "一般",
        }
    }
}

impl crate::enums::StepKind {
    pub fn name_zh(self) -> &'static str {
        use crate::enums::StepKind::*;
        match self {
            StopProductionAndSale => "责令停止生产销售",
            PublicNotice => "公告",
            SecondRecheck => "第二次复查",
            RecheckAfterSuspension => "停业整顿后复查",
            LicenceRevocationReferral => "移送吊销营业执照",
            Warning => "警告",
            SuspensionOrder => "责令停业整顿",
        }
    }
}

impl crate::case::StepStatus {
    pub fn name_zh(self) -> &'static str {
        use crate::case::StepStatus::*;
        match self {
            Due => "待办",
            Done => "已完成",
            Awaiting => "待前置事项发生后计算期限",
            Moot => "已结案，无需办理",
        }
    }
}

impl crate::enums::FindingKind {
    pub fn name_zh(self) -> &'static str {
        use crate::enums::FindingKind::*;
        match self {
            MajorHiddenDanger => "重大隐患",
            SanwuProduct => "“三无”产品",
            BelowMandatoryStandard => "不符合强制性标准",
            NoCcc => "未获强制性产品认证（CCC）",
            RefusedInspection => "拒绝接受监督检查",
        }
    }
}

/// The Chinese name of the English id of a value of `T` (its wire form), if `id` is one:
/// `zh("final", CaseStatus::name_zh)` is 不合格结论已确定.
pub fn zh<T: serde::de::DeserializeOwned>(
    id: &str,
    name: fn(T) -> &'static str,
) -> Option<&'static str> {
    serde_json::from_value::<T>(serde_json::Value::String(id.to_owned()))
        .ok()
        .map(name)
}

impl crate::enums::DispositionKind {
    pub fn name_zh(self) -> &'static str {
        use crate::enums::DispositionKind::*;
        match self {
            ResultServed => "检验结果送达",
            ObjectionFiled => "异议",
            RetestConcluded => "复检结论",
            RectificationOrdered => "责令整改",
            RectificationReported => "整改报告",
            RecheckConcluded => "复查结论",
            NoticeServed => "文书送达",
            ProducerDenied => "生产企业否认",
            PublicNotice => "公告",
            StopOrdered => "责令停止生产、销售",
            Suspension => "停业整顿",
            RectificationPeriodEnded => "整顿期满",
            LicenceRevocationReferred => "移送吊销营业执照",
            Identified => "单位认定",
            WarningIssued => "警告",
            ResultRevoked => "撤销检验结论",
            Withdrawn => "撤回误录记录",
        }
    }
}

impl crate::case::Term {
    pub fn name_zh(self) -> &'static str {
        use crate::case::Term::*;
        match self {
            ObjectionEnd => "异议期限",
            Disclosure => "信用信息公示期限",
            Withdrawal => "撤下公示期限",
            Rectification => "整改期限",
            Recheck => "复查期限",
            SecondRecheck => "第二次复查期限",
            ListedSupervision => "挂牌督办通知书",
            Interview => "约谈",
            RecheckAfterSuspension => "停业整顿后复查",
            RevocationReferral => "移送吊销营业执照",
        }
    }
}

impl crate::case::Gap {
    /// The gap as the case page says it to officials.
    pub fn zh(&self) -> String {
        use crate::case::Gap::*;
        use crate::days::date_zh;
        let role = |role: &SubjectRole| match role {
            SubjectRole::Seller => "被抽样单位",
            SubjectRole::Producer => "标称生产者",
        };
        match self {
            NoInbound { .. } => "进销货台账中没有被抽样单位购进该批次的记录：请核查其进货来源".into(),
            NoChain { .. } => {
                "台账中没有从生产者到被抽样单位的发货链条：请核查中间的经销环节".into()
            }
            NoOutbound { .. } => "台账中没有生产者发出该批次的记录：请核查生产者的销售去向".into(),
            ProducerUnknown => {
                "生产者的统一社会信用代码未知：下游只能从被抽样单位追溯".into()
            }
            OneInspector => "只记录了一名检查人员：执法检查应由两名以上执法人员进行（《行政处罚法》第四十二条）".into(),
            NoEvidence => "该问题没有引用证据（照片、现场检查笔录、样品）".into(),
            NoSupplier => "“三无”产品：标签上没有生产者，也没有记录供货单位——请调取该单位的进货查验记录（《产品质量法》第三十三条）".into(),
            SupplierWithoutCode { supplier } => format!(
                "“三无”产品：供货单位{supplier}没有记录统一社会信用代码——认定之前无法向其送达"
            ),
            LedgerNamesOtherwise {
                ledger,
                result,
                uscc,
            } => format!(
                "台账中的生产者名称为{ledger}，检验报告为{result}：发货记录按统一社会信用代码{uscc}匹配"
            ),
            RegisteredOtherwise {
                role: r,
                code,
                named,
                registered,
            } => format!(
                "检验报告给{}{named}的统一社会信用代码{code}，在单位登记中属于{registered}：送达或公示之前请与检验机构核实",
                role(r)
            ),
            IdentificationPending { role: r, name } => format!(
                "待认定：{}{name}尚无经单位登记或执法人员确认的统一社会信用代码——认定之前不送达、不公示",
                role(r)
            ),
            NotDisclosed { final_on, until } => format!(
                "不公示：结论于{}确定，公示期至{}，已经届满",
                date_zh(*final_on),
                date_zh(*until)
            ),
            HolidaysUnknown { term, date, year } => format!(
                "{}（{}）在{year}年，日历中还没有该年的节假日安排：只扣除了周末",
                term.name_zh(),
                date_zh(*date)
            ),
            NoCalendarYear { term, year } => format!(
                "{}无法计算：工作日日历中没有{year}年——请在配置文件的 [traceback.calendar.years.{year}] 中加入国务院办公厅该年的节假日安排",
                term.name_zh()
            ),
            ProducerGivenSellersCode {
                producer,
                seller,
                code,
            } => format!(
                "检验结果给标称生产者{producer}填写的统一社会信用代码与被抽样单位{seller}的相同（{code}），而该产品是在销售环节抽取的：疑为误填；在承检机构更正或执法人员认定之前，标称生产者按名称认定"
            ),
            BatchByProductionDate { date, shipments } => format!(
                "台账中有{shipments}笔进销货记录只记载了生产日期（{}），未记载批号：已按同一批次追查，请向有关单位核实",
                date_zh(*date)
            ),
            Elsewhere {
                role: r,
                name,
                province,
            } => format!(
                "{}{name}尚无统一社会信用代码，{}地址在{}：请按名称和地址向{}通报（《产品质量监督抽查管理暂行办法》第四十四条）；认定后列为移送",
                role(r),
                if *r == SubjectRole::Producer { "标称" } else { "" },
                province_of(province).map_or(province.as_str(), |(_, n)| n),
                authority_of(province).unwrap_or_else(|| "其所在地主管部门".to_owned())
            ),
            UnitNotInCase { kind, on, uscc } => format!(
                "{}录入的{}记录写明的单位（统一社会信用代码 {uscc}）不在本案追溯到的单位中：请核对代码；如该单位确实购进了该批次产品，请补录其进货台账",
                date_zh(*on),
                kind.name_zh()
            ),
            NotAFailedItem { on, item } => format!(
                "{}的复检结论所列复检合格项目“{item}”不在原检验的不合格项目中：请核对项目名称",
                date_zh(*on)
            ),
            RetestClearsEveryItem { on } => format!(
                "{}的复检结论录为维持原检验结论，但所列复检合格项目已包括全部不合格项目：记录自相矛盾；在组织抽查的部门核实复检结论前，本案不作为最终不合格结论，不予公示",
                date_zh(*on)
            ),
            RetestsDisagree { counted, other } => format!(
                "复检结论记录 {counted} 与 {other} 不一致：按日期在先的 {counted} 计；请撤回录错的一条（withdrawn）"
            ),
            SeriousItemsCleared { on, cleared } => format!(
                "{}的复检结论确认{}合格，而原检验结论整体判为严重不合格：挂牌督办仍按原结论提出，送达前请核实其余不合格项目是否仍属重大隐患",
                date_zh(*on),
                cleared
                    .iter()
                    .map(|item| format!("“{item}”"))
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            WithdrawsNothing { on, id } => format!(
                "{}录入的撤回记录所指的记录编号 {id} 不是本案可撤回的记录：未撤回任何记录，请核对编号",
                date_zh(*on)
            ),
            IdentificationNotWithdrawn { id } => format!(
                "单位认定记录 {id} 不能撤回（该认定适用于同名的所有案件）：请以新的单位认定录入正确的统一社会信用代码"
            ),
            ObjectionOutOfTime { filed, until } => format!(
                "异议于{}提出，异议期已于{}届满：不予复检，检验结论不变（《产品质量法》第十五条）；如异议实际在期限内提出，请录入复检结论",
                date_zh(*filed),
                date_zh(*until)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_has_a_chinese_name_of_its_own() {
        let mut names: Vec<&str> = Category::ALL.iter().map(|c| c.name_zh()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Category::ALL.len());
        assert_eq!(Category::EBike.name_zh(), "电动自行车");
        assert_eq!(Category::WireCable.name_zh(), "电线电缆");
    }

    #[test]
    fn an_address_names_its_province_in_full_or_short() {
        let province = |address| province_of_address(address).map(|(code, _)| code);
        assert_eq!(province("浙江省宁波市慈溪市"), Some("330000"));
        assert_eq!(province("浙江宁波慈溪"), Some("330000"));
        assert_eq!(province("内蒙古包头市"), Some("150000"));
        assert_eq!(province("广西南宁市"), Some("450000"));
        assert_eq!(province("天津市宁河区"), Some("120000"));
    }

    #[test]
    fn an_address_without_its_province_is_placed_by_its_city_or_tianjin_district() {
        let province = |address| province_of_address(address).map(|(code, _)| code);
        assert_eq!(province("宁波市慈溪市"), Some("330000"));
        assert_eq!(province("永康市经济开发区"), Some("330000"));
        assert_eq!(province("浏阳市大瑶镇"), Some("430000"));
        assert_eq!(province("佛山市顺德区北滘镇"), Some("440000"));
        assert_eq!(province("海南藏族自治州共和县"), Some("630000"));
        assert_eq!(province("吉林市船营区"), Some("220000"));
        // Tianjin's 河北区 is no 河北省; 河北省's cities are.
        assert_eq!(province("河北区中山路1号"), Some("120000"));
        assert_eq!(province("塘沽区新港路"), Some("120000"));
        assert_eq!(province("河北省保定市"), Some("130000"));
        assert_eq!(province("保定市白沟新城"), Some("130000"));
        assert_eq!(province("经济开发区1号"), None);
        // Tianjin's streets named after provinces and cities are no province.
        assert_eq!(province("山西路12号"), None);
        assert_eq!(province("湖北路与成都道交口"), None);
        assert_eq!(province("上海道88号"), None);
        assert_eq!(province("新疆路1号"), None);
        assert_eq!(province("山西太原市"), Some("140000"));
    }

    #[test]
    fn a_gap_is_said_in_chinese_with_what_the_official_acts_on() {
        use crate::case::{Gap, Term};
        let day = |text: &str| text.parse().unwrap();
        let holidays = Gap::HolidaysUnknown {
            term: Term::Rectification,
            date: day("2027-01-04"),
            year: 2027,
        };
        assert_eq!(
            holidays.zh(),
            "整改期限（2027年1月4日）在2027年，日历中还没有该年的节假日安排：只扣除了周末"
        );
        assert!(
            holidays
                .to_string()
                .starts_with("the rectification deadline (2027-01-04)")
        );
        let otherwise = Gap::RegisteredOtherwise {
            role: SubjectRole::Producer,
            code: "91120000MA05K0XX1X".into(),
            named: "天津津安燃气具有限公司".into(),
            registered: "天津市宏达电线有限公司".into(),
        };
        let said = otherwise.zh();
        for part in [
            "标称生产者天津津安燃气具有限公司",
            "91120000MA05K0XX1X",
            "天津市宏达电线有限公司",
        ] {
            assert!(said.contains(part), "{said}");
        }
        assert!(
            otherwise
                .to_string()
                .contains("the nominal producer 天津津安燃气具有限公司")
        );
    }

    #[test]
    fn a_code_is_named_by_its_district_or_else_its_province() {
        assert_eq!(division_name("120104"), Some("南开区"));
        assert_eq!(division_name("130102"), Some("河北省"));
        assert_eq!(division_name("990000"), None);
        assert_eq!(division_name(""), None);
    }

    #[test]
    fn a_referral_names_the_province_s_bureau() {
        assert_eq!(
            authority_of("130000").as_deref(),
            Some("河北省市场监督管理局")
        );
        assert_eq!(
            authority_of("110105").as_deref(),
            Some("北京市市场监督管理局")
        );
        assert_eq!(
            authority_of("120104").as_deref(),
            Some("天津市市场监督管理委员会")
        );
        assert_eq!(authority_of("810000"), None);
        assert_eq!(divisions().len(), 16 + PROVINCES.len());
    }
}

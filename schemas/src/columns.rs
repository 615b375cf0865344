//! A sampling result as a row of a spreadsheet: the Chinese column names that bulletins and lab
//! summary sheets use (序号, 产品名称, 被抽样单位, 统一社会信用代码…), each with its synonyms, the
//! JSON path it fills and how its cells are read; and the Chinese words of the closed
//! vocabularies (电动自行车 → `e_bike`, 南开区 → `120104`, 不合格 → `fail`).
//!
//! This is the one table the workbook intake, its template workbook and the documentation read;
//! a new synonym is one more string here.

use crate::enums::{Category, Level, SamplingDomain, Severity, UnitRole, Verdict};
use crate::keys::name_key;
use crate::region::{TIANJIN_DISTRICTS, is_division_code};

/// How the cells of a column are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Kept as written (numbers without a trailing `.0`).
    Text,
    /// A date: a date cell, `2026-03-05`, `2026/3/5`, `2026.3.5`, `2026年3月5日` or `20260305`.
    Date,
    /// 生产日期/批号: the batch as written; when it is a date, the production date as well.
    DateOrBatch,
    Category,
    /// A Tianjin district by name (南开区) or its GB/T 2260 code.
    District,
    Role,
    Domain,
    Verdict,
    Severity,
    Level,
    /// 是/否.
    Flag,
    /// Standards separated by `;`, `；`, `、` or line breaks.
    Standards,
    /// 主要不合格项目: failed items separated by `；` or line breaks, each
    /// `名称（标准条款：…，标准值：…，实测值：…）`.
    FailedItems,
    /// 标准值, 实测值, 标准条款 in columns of their own: a detail of the row's one failed item
    /// (bulletins that give each failed item a row, the product's cells merged over them); 检验项目
    /// the name of the row's item, where a lab's ledger gives each tested item a row.
    ItemDetail,
    /// 单项判定: whether the row's item (检验项目) passed or failed.
    ItemVerdict,
    /// 检验类别: a spot check (监督抽查, 跟踪抽查…), or a re-test, re-check or test of another
    /// kind (复检, 复查, 委托检验, 风险监测), whose row is refused: [`test_kind_from_zh`].
    CheckType,
    /// Read by people, not by the system (序号, 承检机构…).
    Ignored,
    /// 备注: read by people, but a bulletin writes a counterfeit there (涉嫌假冒, 经标称生产企业确认
    /// 非其生产): [`counterfeit_in_remarks`].
    Remarks,
}

/// One column of a result sheet.
#[derive(Debug)]
pub struct Column {
    /// The JSON path the column fills (`product.model`); `""` for an ignored column.
    pub path: &'static str,
    /// Its names; the first is the one the template uses.
    pub headers: &'static [&'static str],
    pub kind: CellKind,
    /// Every row needs it (the template marks it 必填).
    pub required: bool,
    /// How to fill it, for the template's 填写说明 sheet.
    pub note: &'static str,
}

const fn column(
    path: &'static str,
    headers: &'static [&'static str],
    kind: CellKind,
    required: bool,
    note: &'static str,
) -> Column {
    Column {
        path,
        headers,
        kind,
        required,
        note,
    }
}

/// The columns of a result sheet, in the template's order.
pub const RESULT_COLUMNS: &[Column] = &[
    column(
        "",
        &["序号"],
        CellKind::Ignored,
        false,
        "行号，仅供查阅，系统不读取",
    ),
    column(
        "report_no",
        &[
            "报告编号",
            "检验报告编号",
            "报告号",
            "检验报告号",
            "检测报告编号",
            "检测报告号",
            "报告编码",
            "检验报告编码",
        ],
        CellKind::Text,
        true,
        "本机构的检验报告编号，同一编号重复提交视为同一份报告",
    ),
    column(
        "task_id",
        &["任务编号", "抽查任务编号", "计划编号"],
        CellKind::Text,
        false,
        "抽查任务编号，发布结果公告时按此归集",
    ),
    column(
        "organiser",
        &[
            "组织抽查单位",
            "抽查组织单位",
            "组织单位",
            "组织机构",
            "组织抽查部门",
            "抽查组织部门",
            "组织抽查机关",
            "任务来源",
            "任务下达单位",
            "下达任务单位",
            "委托单位",
        ],
        CellKind::Text,
        false,
        "组织抽查的市场监管部门名称（检验台账的“委托单位”“任务来源”即是）",
    ),
    column(
        "level",
        &["抽查层级", "抽查级别"],
        CellKind::Level,
        false,
        "国家级、省级、市级或区级",
    ),
    column(
        "category",
        &[
            "产品类别",
            "产品种类",
            "产品大类",
            "产品类型",
            "样品类别",
            "产品分类",
        ],
        CellKind::Category,
        false,
        "燃气用具、电动自行车、烟花爆竹、消防产品、危险化学品、防爆电气、电线电缆、车载常压罐体、安全帽或其他；留空时按产品名称判断",
    ),
    column(
        "product.name",
        &["产品名称", "样品名称", "抽样产品名称"],
        CellKind::Text,
        true,
        "如：家用燃气灶具、电动自行车",
    ),
    column(
        "sampling.domain",
        &["抽查领域", "抽样领域", "抽样环节", "抽查环节"],
        CellKind::Domain,
        false,
        "生产、流通或电商；留空时按被抽样单位类型判断；没有本列和被抽样单位类型列时，按表格标题写明的领域判断，或被抽样单位即标称生产企业的为生产、名称表明是销售者的（车行、商店、经营部、商贸公司等）为流通",
    ),
    column(
        "sampled_unit.name",
        &[
            "被抽样单位",
            "受检单位",
            "被抽样单位名称",
            "受检单位名称",
            "被抽查单位",
            "被抽查单位名称",
            "受检企业",
            "受检企业名称",
            "被检单位",
            "被检企业",
            "被抽样企业",
            "被抽样企业名称",
            "被抽样单位名称及地址",
            "受检单位名称及地址",
            "销售者",
            "销售者名称",
            "销售单位",
            "销售单位名称",
        ],
        CellKind::Text,
        true,
        "抽样地点的单位名称",
    ),
    column(
        "sampled_unit.uscc",
        &[
            "统一社会信用代码",
            "被抽样单位统一社会信用代码",
            "受检单位统一社会信用代码",
            "被抽样单位信用代码",
            "社会信用代码",
            "信用代码",
            "统一社会信用代码/注册号",
            "统一社会信用代码(注册号)",
        ],
        CellKind::Text,
        false,
        "被抽样单位的18位统一社会信用代码；个体工商户等无代码时留空",
    ),
    column(
        "sampled_unit.address",
        &[
            "被抽样单位地址",
            "受检单位地址",
            "抽样地点",
            "抽样地址",
            "经营地址",
        ],
        CellKind::Text,
        false,
        "",
    ),
    column(
        "sampled_unit.district",
        &[
            "所在区",
            "所在地区",
            "所在区县",
            "被抽样单位所在区",
            "被抽样单位所在地",
            "受检单位所在地",
            "所在地",
            "区域",
            "所属区",
            "所属区域",
            "所属地区",
            "所属辖区",
            "辖区",
            "区县",
            "所属区县",
            "所在区域",
        ],
        CellKind::District,
        false,
        "天津市的区名（如：南开区，或以区名开头的地址）或六位行政区划代码（如：120104）；留空时按被抽样单位地址判断，地址也没写明的，按以区名开头的单位名称（如“天津市河西区某五金店”）判断",
    ),
    column(
        "sampled_unit.role",
        &[
            "被抽样单位类型",
            "受检单位类型",
            "单位类型",
            "被抽样单位性质",
        ],
        CellKind::Role,
        false,
        "生产企业、经销商、零售商或电商；留空时：生产领域为生产企业，流通领域为零售商，电商领域为电商",
    ),
    column(
        "producer.name",
        &[
            "标称生产企业",
            "标称生产企业名称",
            "标称生产者",
            "标称生产者名称",
            "标称生产单位",
            "标称生产单位名称",
            "标称生产企业/生产者",
            "生产企业",
            "生产企业名称",
            "生产单位",
            "生产者名称",
            "生产者",
            "生产厂家",
            "标称生产厂家",
            "生产厂商",
            "生产商",
            "制造商",
            "标称制造商",
            "标称生产企业名称及地址",
            "标称生产企业及地址",
            "生产企业名称及地址",
            "标称生产者名称及地址",
        ],
        CellKind::Text,
        true,
        "产品标签上标注的生产企业名称（名称及地址写在一格的，如“某公司（地址：…）”，地址另行读出）",
    ),
    column(
        "producer.address",
        &[
            "标称生产企业地址",
            "标称生产者地址",
            "标称生产单位地址",
            "生产企业地址",
        ],
        CellKind::Text,
        false,
        "",
    ),
    column(
        "producer.uscc",
        &[
            "标称生产企业统一社会信用代码",
            "生产企业统一社会信用代码",
            "标称生产者统一社会信用代码",
        ],
        CellKind::Text,
        false,
        "",
    ),
    column(
        "product.brand",
        &["商标", "品牌", "注册商标", "标称商标"],
        CellKind::Text,
        false,
        "无商标时留空或填“/”",
    ),
    column(
        "product.model",
        &["规格型号", "型号规格", "规格型号等级", "型号"],
        CellKind::Text,
        true,
        "",
    ),
    column(
        "product.batch",
        &[
            "生产日期/批号",
            "生产日期或批号",
            "生产日期(批号)",
            "批号/生产日期",
            "生产批号",
            "批号",
            "批次号",
            "生产批次",
        ],
        CellKind::DateOrBatch,
        true,
        "批号或生产日期；填写日期时同时作为生产日期",
    ),
    column(
        "product.production_date",
        &["生产日期"],
        CellKind::Date,
        false,
        "",
    ),
    column(
        "sampling.date",
        &["抽样日期", "抽查日期", "抽样时间"],
        CellKind::Date,
        true,
        "日期，如 2026-03-05 或 2026年3月5日",
    ),
    column(
        "sampling.quantity",
        &["抽样数量", "样品数量"],
        CellKind::Text,
        false,
        "",
    ),
    column(
        "tested_on",
        &[
            "检验日期",
            "检验完成日期",
            "报告日期",
            "签发日期",
            "报告签发日期",
        ],
        CellKind::Date,
        true,
        "检验报告签发日期",
    ),
    column(
        "served_on",
        &[
            "送达日期",
            "报告送达日期",
            "检验报告送达日期",
            "结果送达日期",
            "送达时间",
            "签收日期",
        ],
        CellKind::Date,
        false,
        "检验结果送达被抽样单位的日期，异议期自此起算；未送达时留空",
    ),
    column(
        "standards",
        &[
            "检验依据",
            "执行标准",
            "判定依据",
            "依据标准",
            "检验依据标准",
            "判定依据标准",
            "标称执行标准",
        ],
        CellKind::Standards,
        false,
        "多个标准用“；”分隔",
    ),
    column(
        "verdict",
        &[
            "检验结论",
            "抽查结果",
            "检验结果",
            "判定结果",
            "结论",
            "抽检结果",
            "抽检结论",
            "抽查结论",
            "判定结论",
            "检测结论",
            "检验结果判定",
            "结论判定",
        ],
        CellKind::Verdict,
        true,
        "合格或不合格",
    ),
    column(
        "items",
        &[
            "主要不合格项目",
            "不合格项目",
            "不合格项目及指标",
            "不合格项目名称",
            "主要不合格项目及指标",
            "不合格项",
            "不合格内容",
            "问题项目",
            "不合格项目及检测值",
            "不合格项目及实测值",
        ],
        CellKind::FailedItems,
        false,
        "不合格时必填；多项用“；”或换行分隔，每项可写明类别（A类、B类、C类，或严重、一般）、标准条款、标准值和实测值，如：热负荷准确度（B类，标准条款：5.3.1，标准值：±10%，实测值：-14%）",
    ),
    column(
        "item.name",
        &[
            "检验项目",
            "检测项目",
            "检验项目名称",
            "检测项目名称",
            "试验项目",
        ],
        CellKind::ItemDetail,
        false,
        "逐项填写检验项目时（每个检验项目一行，产品信息可合并单元格），该行的检验项目；须同时填写单项判定",
    ),
    column(
        "item.verdict",
        &[
            "单项判定",
            "单项结论",
            "单项评定",
            "单项判定结果",
            "项目判定",
            "项目结论",
        ],
        CellKind::ItemVerdict,
        false,
        "该行检验项目的判定：合格或不合格（也可写符合、不符合）；不适用的项目填“/”",
    ),
    column(
        "item.clause",
        &["标准条款", "检验条款", "条款号"],
        CellKind::ItemDetail,
        false,
        "逐行填写不合格项目时（每个不合格项目一行，产品信息可合并单元格），该行项目的标准条款",
    ),
    column(
        "item.required",
        &["标准值", "标准要求", "标准规定值", "标准要求值"],
        CellKind::ItemDetail,
        false,
        "逐行填写不合格项目时，该行项目的标准值",
    ),
    column(
        "item.measured",
        &["实测值", "检测值", "实测结果", "实测数据"],
        CellKind::ItemDetail,
        false,
        "逐行填写不合格项目时，该行项目的实测值",
    ),
    column(
        "severity",
        &["不合格程度", "严重程度", "不合格类别", "不合格项目类别"],
        CellKind::Severity,
        false,
        "严重不合格或一般不合格（A类不合格为严重，B类、C类为一般），仅不合格时填写；可逐项填写各不合格项目的类别（如“A类；B类”），以最严重者为准；不填而不合格项目标明了类别的，按项目类别判断",
    ),
    column(
        "suspected_counterfeit",
        &["涉嫌假冒", "是否涉嫌假冒"],
        CellKind::Flag,
        false,
        "经标称生产企业确认为假冒产品时填“是”",
    ),
    column(
        "follow_up",
        &["跟踪抽查", "是否跟踪抽查"],
        CellKind::Flag,
        false,
        "对此前不合格产品的跟踪抽查填“是”（不受六个月内不得重复抽查同一产品的限制）",
    ),
    column(
        "",
        &["检验类别", "检验类型", "检验性质", "抽查类型", "任务类型"],
        CellKind::CheckType,
        false,
        "监督抽查或跟踪抽查（可不填）；委托检验、风险监测等其他检验的结果不是监督抽查结果，所在行不予接收；复检、复查结论不另立案，由执法人员在原案件中录入",
    ),
    column(
        "",
        &["承检机构", "检验机构", "检验单位"],
        CellKind::Ignored,
        false,
        "承检机构以提交所用的令牌为准，本列仅供查阅",
    ),
    column(
        "",
        &["备注"],
        CellKind::Remarks,
        false,
        "仅供查阅；写明涉嫌假冒（如“涉嫌假冒”“经标称生产企业确认，该产品非其生产”）的，按涉嫌假冒处理（有“涉嫌假冒”列的，以该列为准）；以“跟踪抽查”开头的（如“跟踪抽查，原报告编号：…”），按跟踪抽查处理（有“跟踪抽查”列的，以该列为准）",
    ),
];

/// A header as compared: without spaces and line breaks, full-width brackets and slashes made
/// ASCII, a required-marker `*` and a trailing "(必填)" dropped.
/// Where `header` stands among `column`'s names, the first (the template's) best: of two
/// columns of one field, the row takes the better named one it fills. A name matched by its
/// last words only ranks after all.
pub fn header_rank(column: &Column, header: &str) -> usize {
    let wanted = normalize_header(header);
    column
        .headers
        .iter()
        .position(|h| normalize_header(h) == wanted)
        .unwrap_or(column.headers.len())
}

pub fn normalize_header(header: &str) -> String {
    let mut text: String = header
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '／' => '/',
            '＊' => '*',
            other => other,
        })
        .collect();
    for marker in ["(必填)", "(选填)", "*"] {
        text = text.replace(marker, "");
    }
    text
}

/// The part of a unit a sub-header names under a unit's merged header (被抽样单位 over 名称 |
/// 地址 | 统一社会信用代码): `name`, `address` or `uscc`.
pub fn unit_part(sub_header: &str) -> Option<&'static str> {
    match normalize_header(sub_header).as_str() {
        "名称" | "单位名称" | "企业名称" => Some("name"),
        "地址" | "详细地址" | "单位地址" | "企业地址" => Some("address"),
        // A code's header alone names the sampled unit's (统一社会信用代码, 信用代码…).
        _ => result_column(sub_header)
            .filter(|c| c.path == "sampled_unit.uscc")
            .map(|_| "uscc"),
    }
}

/// The header that names `part` of the unit whose name column `group` heads (生产单位, uscc →
/// 标称生产企业统一社会信用代码): how a merged header's sub-column is read under it.
pub fn unit_part_header(group: &str, part: &str) -> Option<&'static str> {
    // A group named for what it holds (被抽样单位信息, 生产企业基本情况, 样品信息).
    let group = normalize_header(group);
    let group = ["基本信息", "信息", "基本情况", "情况"]
        .iter()
        .find_map(|suffix| group.strip_suffix(suffix).filter(|g| !g.is_empty()))
        .unwrap_or(&group);
    if part == "name" && ["样品", "产品", "抽样产品", "受检产品"].contains(&group) {
        return Some("产品名称");
    }
    let unit = result_column(group)?.path.strip_suffix(".name")?;
    let path = format!("{unit}.{part}");
    RESULT_COLUMNS
        .iter()
        .find(|c| c.path == path)
        .map(|c| c.headers[0])
}

/// The column each of the columns' names (normalised) names, the first column's where two share
/// one: built once, as every cell of a sheet's rows is tried as a header when its tables are found.
fn by_name(wanted: &str) -> Option<&'static Column> {
    static NAMES: std::sync::LazyLock<std::collections::HashMap<String, &'static Column>> =
        std::sync::LazyLock::new(|| {
            let mut names = std::collections::HashMap::new();
            for column in RESULT_COLUMNS {
                for header in column.headers {
                    names.entry(normalize_header(header)).or_insert(column);
                }
            }
            names
        });
    NAMES.get(wanted).copied()
}

/// The column a header names, if any.
pub fn result_column(header: &str) -> Option<&'static Column> {
    let wanted = normalize_header(header);
    if wanted.is_empty() {
        return None;
    }
    let names = |c: &&Column| c.headers.iter().map(|h| normalize_header(h));
    by_name(&wanted)
        // A column that says a legal quality of the result (its severity, a counterfeit, a
        // follow-up, the day it was served, from which the objection window runs) is known by
        // its header's last words too (不合格项目严重程度, 是否为跟踪抽查, 结果通知书送达日期):
        // left out, it would change the case's decisions unseen. Not the service of another
        // document (整改通知书送达日期) or to the producer (生产企业送达日期: its own record).
        .or_else(|| {
            RESULT_COLUMNS
                .iter()
                .filter(|c| {
                    matches!(c.kind, CellKind::Severity | CellKind::Flag)
                        || (c.path == "served_on"
                            && ![
                                "整改", "责令", "约谈", "督办", "提醒", "复检", "复查", "生产",
                                "标称", "制造",
                            ]
                            .iter()
                            .any(|other| wanted.contains(other)))
                })
                .find(|c| names(c).any(|h| h.chars().count() >= 4 && wanted.ends_with(&h)))
        })
        .or_else(|| by_unit_and_part(&wanted))
        .or_else(|| by_parts(&wanted))
}

/// A unit's name header and a part of it in one header (生产单位地址, 生产厂家统一社会信用代码,
/// 被检单位地址): that unit's column for the part, as under a merged header ([`unit_part`]).
fn by_unit_and_part(wanted: &str) -> Option<&'static Column> {
    // The part's word ends the header: only then is a unit looked for (every data cell a
    // sheet's rows hold is tried as a header when tables are found).
    const PARTS: [(&str, &str); 11] = [
        ("名称", "name"),
        ("单位名称", "name"),
        ("企业名称", "name"),
        ("地址", "address"),
        ("详细地址", "address"),
        ("单位地址", "address"),
        ("企业地址", "address"),
        ("住所", "address"),
        ("统一社会信用代码", "uscc"),
        ("社会信用代码", "uscc"),
        ("信用代码", "uscc"),
    ];
    PARTS.iter().find_map(|(word, part)| {
        let unit = wanted.strip_suffix(word).filter(|unit| !unit.is_empty())?;
        let named = by_name(unit).filter(|c| c.path.ends_with(".name"))?;
        let path = format!("{}.{part}", named.path.strip_suffix(".name")?);
        RESULT_COLUMNS.iter().find(|c| c.path == path)
    })
}

/// A header of parts (商标（品牌）, 规格型号/等级, 受检单位（被抽样单位）, 抽样日期（年月日）,
/// 不合格项目（标准值/实测值）): the column its first part names, when no other part names
/// another column (a failed item's values are the items column's). A contract maker
/// (生产企业（受托方）) is not the label's producer: none.
fn by_parts(wanted: &str) -> Option<&'static Column> {
    let parts: Vec<&str> = wanted
        .split(['(', ')', '/'])
        .filter(|part| !part.is_empty())
        .collect();
    let [first, rest @ ..] = parts.as_slice() else {
        return None;
    };
    if rest.is_empty() || parts.iter().any(|part| part.contains("受托")) {
        return None;
    }
    let column = result_column(first)?;
    rest.iter()
        .all(|part| match result_column(part) {
            None => true,
            Some(other) => {
                std::ptr::eq(other, column)
                    || (column.kind == CellKind::FailedItems && other.kind == CellKind::ItemDetail)
            }
        })
        .then_some(column)
}

/// Other words for a category than its bulletin name, matched as parts of a product name too: the
/// product names of published bulletins (家用燃气快速热水器, 燃气用不锈钢波纹软管, 瓶装液化石油气调压器,
/// 小礼花, 室内消火栓, 点型感烟火灾探测器, 道路运输液体危险货物罐式车辆…). A name two categories
/// speak of (电动自行车乘员头盔) tells neither: the lab gives the category.
const CATEGORY_WORDS: &[(Category, &[&str])] = &[
    (
        Category::GasAppliance,
        &[
            "燃气器具",
            "燃气具",
            "燃气灶",
            "集成灶",
            "灶具",
            "燃气热水器",
            "燃气快速热水器",
            "燃气采暖",
            "燃气取暖",
            "燃气烧烤",
            "燃气烤",
            "燃气燃烧器具",
            "燃气用",
            "燃气输送用",
            "燃气软管",
            "燃气阀",
            "燃气自闭阀",
            "燃气调压器",
            "液化石油气调压器",
        ],
    ),
    (Category::EBike, &["电动自行车"]),
    (
        Category::Fireworks,
        &["烟花", "爆竹", "鞭炮", "礼花", "喷花", "吐珠"],
    ),
    (
        Category::FireProduct,
        &[
            "灭火",
            "消防",
            "消火栓",
            "火灾报警",
            "火灾探测",
            "洒水喷头",
            "防火门",
            "防火卷帘",
            "应急照明",
            "疏散指示",
        ],
    ),
    (Category::HazardousChemical, &["危化品", "化学品"]),
    (Category::ExplosionProofElectrical, &["防爆"]),
    (Category::WireCable, &["电线", "电缆", "软线", "绝缘线"]),
    (
        Category::TankVehicle,
        &["常压罐", "罐体", "罐车", "罐式车辆"],
    ),
    (Category::SafetyHelmet, &["安全帽", "头盔"]),
];

/// A category by its id, its bulletin name or another word for it (燃气器具, 灭火器…).
pub fn category_from_zh(text: &str) -> Option<Category> {
    let text = text.trim();
    if let Ok(category) = text.parse() {
        return Some(category);
    }
    if let Some(category) = Category::ALL.iter().find(|c| c.name_zh() == text) {
        return Some(*category);
    }
    CATEGORY_WORDS
        .iter()
        .find(|(_, words)| words.contains(&text))
        .map(|(category, _)| *category)
}

/// The category a product's name speaks of (家用燃气灶具 → 燃气用具), when exactly one does.
pub fn category_of_product(name: &str) -> Option<Category> {
    let mut found: Vec<Category> = Vec::new();
    for category in Category::ALL {
        let named = name.contains(category.name_zh()) && *category != Category::Other;
        let worded = CATEGORY_WORDS
            .iter()
            .any(|(c, words)| c == category && words.iter().any(|w| name.contains(w)));
        if (named || worded) && !found.contains(category) {
            found.push(*category);
        }
    }
    match found.as_slice() {
        [one] => Some(*one),
        // "防爆电缆" is both: explosion-proof electrical is the narrower.
        [_, _] if found.contains(&Category::ExplosionProofElectrical) => {
            Some(Category::ExplosionProofElectrical)
        }
        _ => None,
    }
}

/// Names addresses and labels still write for a district: the former districts merged into
/// 滨海新区 (2009), the former counties, and the development zones inside one. (code, name).
const FORMER_DISTRICTS: &[(&str, &str)] = &[
    ("120116", "塘沽区"),
    ("120116", "汉沽区"),
    ("120116", "大港区"),
    ("120119", "蓟县"),
    ("120118", "静海县"),
    ("120117", "宁河县"),
    ("120115", "宝坻县"),
    ("120114", "武清县"),
];

/// Zones named after 天津 that lie in one district (天津经济技术开发区, 天津港保税区).
const TIANJIN_ZONES: &[(&str, &str)] = &[
    ("120116", "经济技术开发区"),
    ("120116", "港保税区"),
    ("120116", "东疆保税港区"),
];

/// Functional zones of the 滨海新区 that records name in its place, with or without 天津 before
/// them (a 所在区 of 东疆保税港区, an address that begins 中新天津生态城…): names no other place
/// has. Not the 滨海高新区, whose 华苑 park lies among the districts of the city.
const BINHAI_ZONES: &[(&str, &str)] = &[
    ("120116", "东疆保税港区"),
    ("120116", "东疆综合保税区"),
    ("120116", "中新天津生态城"),
    ("120116", "中新生态城"),
    ("120116", "临港经济区"),
    ("120116", "南港工业区"),
];

/// A district's GB/T 2260 code from a Tianjin district's name (南开区, 南开, 天津市南开区, a former
/// name such as 静海县 or 塘沽区, or an address that begins with one: 天津市南开区红旗路1号,
/// 天津西青经济技术开发区…), or from a code as written (any province's).
pub fn district_from_zh(text: &str) -> Option<String> {
    let text = text.trim();
    if is_division_code(text) {
        return Some(text.to_owned());
    }
    let (in_tianjin, text) = match text
        .strip_prefix("天津市")
        .or_else(|| text.strip_prefix("天津"))
    {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    let short = |name: &'static str| name.strip_suffix(['区', '县']).unwrap_or(name);
    // Alone, 滨海新区 is 滨海 for short, as 南开区 is 南开 (not before more: 滨海高新区).
    let alone = |name: &'static str| name.strip_suffix("新区").unwrap_or(short(name));
    let names = || TIANJIN_DISTRICTS.iter().chain(FORMER_DISTRICTS);
    names()
        .find(|(_, name)| *name == text || short(name) == text || alone(name) == text)
        .or_else(|| names().find(|(_, name)| text.starts_with(name)))
        // After 天津, a district's short name begins the address too (天津市西青经济开发区), but
        // not alone: 河北省 is no 河北区.
        .or_else(|| {
            names()
                .filter(|_| in_tianjin)
                .find(|(_, name)| short(name).chars().count() >= 2 && text.starts_with(short(name)))
        })
        .or_else(|| {
            TIANJIN_ZONES
                .iter()
                .filter(|_| in_tianjin)
                .find(|(_, zone)| text.starts_with(zone))
        })
        .or_else(|| BINHAI_ZONES.iter().find(|(_, zone)| text.starts_with(zone)))
        .map(|(code, _)| (*code).to_owned())
}

/// The district a unit's name begins with, as the names of units registered in a district do
/// (天津市河西区某五金店, 南开区某车行, 天津市塘沽区…): by the district's full name only, since a
/// short one after 天津 (天津南开…) is as often a trade name.
pub fn district_in_name(name: &str) -> Option<String> {
    let name = name.trim();
    let rest = name
        .strip_prefix("天津市")
        .or_else(|| name.strip_prefix("天津"))
        .unwrap_or(name);
    TIANJIN_DISTRICTS
        .iter()
        .chain(FORMER_DISTRICTS)
        .find(|(_, district)| rest.starts_with(district))
        .map(|(code, _)| (*code).to_owned())
}

/// The district of Tianjin a unit is in when no record says it: the one its address begins
/// with, else the one its registered name begins with (天津市河西区某五金店), else the district
/// whose bureau registered its credit code (92120103… → `120103`; 120000, the city's, names
/// none).
pub fn district_of_unit(
    address: Option<&str>,
    name: Option<&str>,
    uscc: Option<&str>,
) -> Option<String> {
    address
        .and_then(district_from_zh)
        .or_else(|| name.and_then(district_in_name))
        .or_else(|| {
            uscc.and_then(|code| code.get(2..8))
                .filter(|code| crate::region::district_name(code).is_some())
                .map(str::to_owned)
        })
}

/// A sampled unit's role from the words of lab sheets.
pub fn role_from_zh(text: &str) -> Option<UnitRole> {
    let text = text.trim();
    if let Ok(role) = text.parse() {
        return Some(role);
    }
    let words: &[(UnitRole, &[&str])] = &[
        (
            UnitRole::Producer,
            &[
                "生产企业",
                "生产者",
                "生产商",
                "生产厂",
                "生产单位",
                "制造商",
                "生产",
            ],
        ),
        (
            UnitRole::Distributor,
            &["经销商", "经销", "批发商", "批发", "代理商"],
        ),
        (
            UnitRole::Retailer,
            &[
                "零售商",
                "零售",
                "销售者",
                "销售商",
                "销售",
                "商店",
                "超市",
                "门店",
                "商场",
            ],
        ),
        (
            UnitRole::Ecommerce,
            &[
                "电商",
                "电商平台",
                "网店",
                "网络销售",
                "电子商务",
                "平台内经营者",
            ],
        ),
    ];
    // What a bracket adds (生产企业（自产自销）) says no other role.
    let text = text.split(['（', '(']).next().unwrap_or(text).trim();
    words
        .iter()
        .find(|(_, names)| names.contains(&text))
        .map(|(role, _)| *role)
}

/// 抽查领域 from the words of bulletins.
pub fn domain_from_zh(text: &str) -> Option<SamplingDomain> {
    let text = text.trim();
    if let Ok(domain) = text.parse() {
        return Some(domain);
    }
    // What follows in brackets says where within it (流通领域（商场）, 电商（天猫）).
    let text = text.split(['（', '(']).next().unwrap_or(text).trim();
    let text = text
        .strip_suffix("领域")
        .or_else(|| text.strip_suffix("环节"))
        .unwrap_or(text);
    match text {
        "生产" => Some(SamplingDomain::Production),
        "流通" | "销售" | "市场" | "经营" | "线下" | "实体店" => {
            Some(SamplingDomain::Circulation)
        }
        "电商" | "电子商务" | "网络" | "网络销售" | "网售" | "网络交易" | "电商平台" | "网购"
        | "线上" | "网店" | "网上销售" | "线上销售" | "互联网销售" => {
            Some(SamplingDomain::Ecommerce)
        }
        _ => None,
    }
}

/// The sampling domain a sheet's name or title says of all its rows (2026年流通领域电动自行车产品质量
/// 监督抽查结果, 电子商务产品质量监督抽查): one domain named, not two.
pub fn domain_in_title(text: &str) -> Option<SamplingDomain> {
    let words: &[(SamplingDomain, &[&str])] = &[
        (SamplingDomain::Production, &["生产领域", "生产环节"]),
        (
            SamplingDomain::Circulation,
            &["流通", "销售领域", "销售环节"],
        ),
        (
            SamplingDomain::Ecommerce,
            &["电商", "电子商务", "网络交易", "网络销售", "网售", "网购"],
        ),
    ];
    // 网络销售领域 is online, not 销售领域 as well.
    let text = text.replace("网络销售", "网售");
    let mut named = words
        .iter()
        .filter(|(_, words)| words.iter().any(|w| text.contains(w)))
        .map(|(domain, _)| *domain);
    match (named.next(), named.next()) {
        (Some(domain), None) => Some(domain),
        _ => None,
    }
}

/// Whether a header is one only a sheet of online samples has: the shop (网店名称), the
/// platform it sells on (电商平台), the product's link.
pub fn names_an_online_shop(header: &str) -> bool {
    [
        "网店名称",
        "网店",
        "网店网址",
        "网店链接",
        "商品链接",
        "电商平台",
        "电商平台名称",
        "所在电商平台",
        "网络交易平台",
        "所在平台",
    ]
    .contains(&normalize_header(header).as_str())
}

/// The sampling domain a row's names tell when the sheet says none: a unit sampled that is the
/// producer the label names was sampled in production; one whose name says it sells (某车行,
/// 某五金店, 某消防器材经营部, 某商贸有限公司) in circulation. A shop type of the online
/// platforms (旗舰店, 专营店) does not say which, nor does any other name.
pub fn domain_of_names(sampled_unit: &str, producer: &str) -> Option<SamplingDomain> {
    if !producer.trim().is_empty() && name_key(sampled_unit) == name_key(producer) {
        return Some(SamplingDomain::Production);
    }
    // The name without a trailing form in brackets: 某五金店（个体工商户）.
    let name = sampled_unit.trim();
    let name = match name.strip_suffix([')', '）']) {
        Some(open) => open.rfind(['(', '（']).map_or(name, |at| &name[..at]),
        None => name,
    };
    let sells = [
        "商行",
        "车行",
        "商店",
        "超市",
        "经营部",
        "门市",
        "商场",
        "百货",
        "批发",
        "销售",
        "商贸",
        "贸易",
        "经销",
        "购物",
    ]
    .iter()
    .any(|word| name.contains(word))
        || ["店", "行", "部"].iter().any(|end| name.ends_with(end))
            && !["旗舰店", "专营店", "网店", "银行", "总部"]
                .iter()
                .any(|end| name.ends_with(end));
    sells.then_some(SamplingDomain::Circulation)
}

/// 检验结论: 合格/不合格 (and 符合/不符合), or the report's sentence as labs copy it into their
/// sheets: `经抽样检验，所检项目符合GB 2811-2019要求` is a pass, `…所检项目不符合…要求` a fail. A
/// sentence that says both, or qualifies what it says (未, 无, 但, 除, 复检), is not read: a
/// verdict is never guessed. A standard's title the sentence quotes (《…固定布线用无护套电缆》)
/// is no part of what it says.
pub fn verdict_from_zh(text: &str) -> Option<Verdict> {
    let text = text.trim();
    if let Ok(verdict) = text.parse() {
        return Some(verdict);
    }
    let text = without_titles(text);
    let text = text.trim_end_matches(['。', '.']);
    let failed = text.matches("不合格").count() + text.matches("不符合").count();
    let passed = text.matches("合格").count() + text.matches("符合").count() - failed;
    // A verdict qualified (基本合格, 部分符合) is none of the two the law knows.
    if text.contains(['未', '无', '非', '但', '除'])
        || text.contains("复检")
        || ["基本", "部分"].iter().any(|qualifier| {
            text.contains(&format!("{qualifier}合格")) || text.contains(&format!("{qualifier}符合"))
        })
    {
        return None;
    }
    match (passed, failed) {
        (0, 1..) => Some(Verdict::Fail),
        (1.., 0) => Some(Verdict::Pass),
        _ => None,
    }
}

/// `text` without the titles it quotes between 《》 or 〈〉, marks included; an unclosed mark
/// keeps the rest.
fn without_titles(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(['《', '〈']) {
        let close = rest[open..].find(['》', '〉']);
        let Some(close) = close else { break };
        out.push_str(&rest[..open]);
        rest = &rest[open + close..];
        rest = &rest[rest.chars().next().map_or(0, char::len_utf8)..];
    }
    out.push_str(rest);
    out
}

pub fn severity_from_zh(text: &str) -> Option<Severity> {
    let text = text.trim();
    if let Ok(severity) = text.parse() {
        return Some(severity);
    }
    // Implementation rules (实施细则) class each item A (极重要), B (重要) or C; a failure of
    // an A类 item is a serious one (严重不合格), of a B类 or C类 item a general one.
    let class: String = text
        .chars()
        .map(|c| match c {
            'Ａ'..='Ｚ' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c.to_ascii_uppercase(),
        })
        .collect();
    match class.trim_end_matches("项目").trim_end_matches("不合格") {
        "严重" | "A类" => Some(Severity::Serious),
        "一般" | "B类" | "C类" => Some(Severity::General),
        _ => None,
    }
}

/// A unit's name and address written in one cell, as bulletins with a 名称及地址 column do:
/// `某公司（地址：天津市西青区某路1号）`, `某公司，地址：…`, or the address on a line of its own
/// or after a `/` (名称/地址), beginning with a province or city. `None` when the cell holds a name alone.
pub fn name_and_address(text: &str) -> Option<(&str, &str)> {
    let text = text.trim();
    for marker in ["地址", "住所", "厂址"] {
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            let Some(address) = rest.strip_prefix([':', '：']) else {
                continue;
            };
            let name = text[..at].trim_end_matches(['（', '(', '，', ',', '；', ';', ' ', '\n']);
            let address = address.trim().trim_end_matches(['）', ')']).trim();
            if !name.is_empty() && !address.is_empty() {
                return Some((name.trim(), address));
            }
        }
    }
    let (name, address) = text.split_once(['\n', '/', '／'])?;
    let address = address.trim();
    // An address, not the rest of a name broken over two lines (某某集团 / 天津分公司).
    let places =
        crate::names::province_of_address(address).is_some() || address.starts_with("天津");
    let addressed = address.contains(['路', '街', '道', '号', '镇', '乡', '村', '区', '县']);
    let named = ["公司", "厂", "店", "部", "社", "中心"]
        .iter()
        .any(|end| address.ends_with(end));
    (places && addressed && !named)
        .then_some((name.trim(), address))
        .filter(|(name, _)| !name.is_empty())
}

/// The severity a 不合格程度 / 不合格类别 column gives: one class or severity
/// ([`severity_from_zh`]), a bare class letter (`A`, the column names what it is), or the classes
/// of several failed items (`A类；B类`, `B、C`), whose most serious is the result's; `None` when
/// any part says neither.
pub fn severity_of_classes(text: &str) -> Option<Severity> {
    let parts = text
        .split(['、', '；', ';', '，', ',', '/', '／', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty());
    let mut most = None;
    for part in parts {
        let severity = match part {
            "A" | "a" | "Ａ" => Severity::Serious,
            "B" | "b" | "C" | "c" | "Ｂ" | "Ｃ" => Severity::General,
            _ => severity_from_zh(part)?,
        };
        if most != Some(Severity::Serious) {
            most = Some(severity);
        }
    }
    most
}

/// The severity a verdict cell says beside the failure (严重不合格, 不合格（一般）, 不合格(A类));
/// `None` for a verdict that says none, or is not a failure.
pub fn severity_in_verdict(text: &str) -> Option<Severity> {
    if verdict_from_zh(text)? != Verdict::Fail {
        return None;
    }
    let rest: String = text
        .replace("不合格", "")
        .chars()
        .filter(|c| !"()（）[]【】 ，,、：:".contains(*c))
        .collect();
    severity_from_zh(&rest)
}

/// Whether a verdict cell marks the sampling a follow-up beside the result (不合格（跟踪抽查）).
pub fn follow_up_in_verdict(text: &str) -> bool {
    (text.contains("跟踪抽查") || text.contains("跟踪抽检")) && !text.contains("非跟踪")
}

pub fn level_from_zh(text: &str) -> Option<Level> {
    let text = text.trim();
    if let Ok(level) = text.parse() {
        return Some(level);
    }
    // 市级监督抽查, 省级抽查: the level before what kind of check it is.
    let text = ["监督抽查", "监督抽检", "抽查", "抽检"]
        .iter()
        .find_map(|kind| text.strip_suffix(kind).filter(|level| !level.is_empty()))
        .unwrap_or(text);
    match text {
        "国家" | "国家级" | "国抽" | "国家监督抽查" => Some(Level::National),
        "省" | "省级" | "省抽" => Some(Level::Provincial),
        "市" | "市级" | "市抽" => Some(Level::Municipal),
        "区" | "区级" | "县级" | "区县级" | "区抽" => Some(Level::District),
        _ => None,
    }
}

/// Whether a remark (备注) says the product is a suspected counterfeit, as bulletins write it:
/// 涉嫌假冒, 假冒产品, 冒用厂名厂址, or the nominal producer's denial (经标称生产企业确认，该批次
/// 产品非其生产; 标称生产企业否认生产该产品) — not when it denies it (不涉嫌假冒, 非假冒).
pub fn counterfeit_in_remarks(text: &str) -> bool {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let denied = [
        "不涉嫌假冒",
        "未涉嫌假冒",
        "非假冒",
        "不是假冒",
        "不属于假冒",
        "排除假冒",
    ];
    if denied.iter().any(|d| text.contains(d)) {
        return false;
    }
    // 非其生产, 非该企业生产, 不是本公司生产 — not 非本辖区生产企业.
    let not_made_by = ["非其", "非该", "非本", "不是其", "不是该", "不是本"];
    let maker = ["企业", "公司", "厂家", "工厂", "厂", "单位", ""];
    let denies = |after: &str| {
        maker.iter().any(|m| {
            after
                .strip_prefix(m)
                .is_some_and(|rest| rest.starts_with("生产"))
        })
    };
    let after = |marker: &'static str| {
        text.match_indices(marker)
            .map(|(at, _)| &text[at + marker.len()..])
    };
    // A forged maker's name or address (伪造厂名厂址, PQL Art 30) names no one who made it; a
    // forged origin (伪造产地) is the maker's own act.
    let forged = text.match_indices("伪造").any(|(at, word)| {
        let rest = &text[at + word.len()..];
        ["厂名", "厂址", "生产者", "生产企业", "生产厂"]
            .iter()
            .any(|what| rest.starts_with(what))
    }) || ["生产者系伪造", "生产企业系伪造", "厂名系伪造", "厂址系伪造"]
        .iter()
        .any(|said| text.contains(said));
    text.contains("假冒")
        || text.contains("冒用")
        || forged
        || not_made_by.iter().any(|marker| after(marker).any(denies))
        || after("否认").any(|rest| rest.chars().take(12).collect::<String>().contains("生产"))
}

/// Whether a remark (备注) says the sampling is a follow-up (跟踪抽查) of a failed product, as
/// bulletins mark it: the remark begins by saying so (跟踪抽查, 系跟踪抽查, 跟踪抽查，原报告编号…).
/// A remark that only mentions one (建议跟踪抽查, 非跟踪抽查) does not.
pub fn follow_up_in_remarks(text: &str) -> bool {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let text = text.trim_start_matches(['(', '（', '【', '[']);
    ["", "系", "属", "为", "属于", "此为", "本批次为"]
        .iter()
        .any(|lead| {
            text.strip_prefix(lead)
                .is_some_and(|rest| rest.starts_with("跟踪抽查") || rest.starts_with("跟踪抽检"))
        })
}

/// What a 检验类别 cell says the test was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKind {
    /// A spot check (监督抽查, 国家监督抽查, 专项抽查, 省抽…); `follow_up` for 跟踪抽查.
    SpotCheck { follow_up: bool },
    /// The re-test of an earlier spot check's backup sample after an objection (复检, PQL Art
    /// 15): its conclusion belongs to that spot check's case, it opens none.
    Retest,
    /// The re-check of an earlier failure after rectification (复查, 回头看; Order 18 Art 47–48):
    /// also that case's.
    Recheck,
    /// A test of another kind — 委托检验 (a client's own test), 风险监测 (monitoring, with no
    /// legal follow-up), 型式检验, 监督检验 — whose result is no spot check's and starts no case.
    Other,
}

/// What a 检验类别 cell says ([`TestKind`]). A second test of a spot check's sample or unit
/// (监督抽查复检, 抽查复查) is that test, not a spot check of its own.
pub fn test_kind_from_zh(text: &str) -> TestKind {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if text.contains("复检") {
        return TestKind::Retest;
    }
    if ["复查", "回头看"].iter().any(|word| text.contains(word)) {
        return TestKind::Recheck;
    }
    let spot = ["抽查", "抽检", "监督抽样", "国抽", "省抽", "市抽", "区抽"]
        .iter()
        .any(|word| text.contains(word))
        && !["非", "委托", "风险监测"]
            .iter()
            .any(|word| text.contains(word));
    if spot {
        TestKind::SpotCheck {
            follow_up: text.contains("跟踪"),
        }
    } else {
        TestKind::Other
    }
}

/// 是/否 and their usual marks, also with what a ledger adds after them (是（原报告编号：…）,
/// 否，首次抽查); `None` for anything else.
pub fn flag_from_zh(text: &str) -> Option<bool> {
    let text = text.trim();
    let said = ["是", "否"].iter().find_map(|word| {
        text.strip_prefix(word)
            .filter(|rest| rest.starts_with(['（', '(', '，', ',', '：', ':', '；', ';', ' ']))
            .map(|_| *word)
    });
    match said.unwrap_or(text).to_lowercase().as_str() {
        "是" | "y" | "yes" | "true" | "1" | "√" | "✓" | "涉嫌假冒" | "假冒" => {
            Some(true)
        }
        "否" | "n" | "no" | "false" | "0" | "/" | "-" | "无" => Some(false),
        _ => None,
    }
}

/// The sampled unit's role a sampling domain implies when the sheet does not say
/// (a circulation sample is taken at a seller: 零售商 unless the sheet says 经销商).
pub fn role_of_domain(domain: SamplingDomain) -> UnitRole {
    match domain {
        SamplingDomain::Production => UnitRole::Producer,
        SamplingDomain::Circulation => UnitRole::Retailer,
        SamplingDomain::Ecommerce => UnitRole::Ecommerce,
    }
}

/// The sampling domain a sampled unit's role implies.
pub fn domain_of_role(role: UnitRole) -> SamplingDomain {
    match role {
        UnitRole::Producer => SamplingDomain::Production,
        UnitRole::Distributor | UnitRole::Retailer => SamplingDomain::Circulation,
        UnitRole::Ecommerce => SamplingDomain::Ecommerce,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_names_one_column_only() {
        let mut seen = std::collections::BTreeMap::new();
        for column in RESULT_COLUMNS {
            for header in column.headers {
                let previous = seen.insert(normalize_header(header), column.path);
                assert!(previous.is_none(), "{header} names two columns");
            }
        }
    }

    #[test]
    fn headers_match_through_spaces_full_width_brackets_and_required_marks() {
        let batch = "product.batch";
        assert_eq!(result_column("生产日期／批号").map(|c| c.path), Some(batch));
        assert_eq!(
            result_column("生产日期（批号）").map(|c| c.path),
            Some(batch)
        );
        assert_eq!(
            result_column("标称生产单位名称").map(|c| c.path),
            Some("producer.name")
        );
        assert_eq!(
            result_column(" 生产日期\n/批号 ").map(|c| c.path),
            Some(batch)
        );
        assert_eq!(
            result_column("*报告编号").map(|c| c.path),
            Some("report_no")
        );
        assert_eq!(
            result_column("受检单位（必填）").map(|c| c.path),
            Some("sampled_unit.name")
        );
        assert!(result_column("联系电话").is_none());
    }

    /// Labs' ledgers name a unit and its part in one header (生产单位地址, 生产厂家统一社会信用代码,
    /// 被检单位地址) and use words of their own (检测报告编号, 制造商, 所属辖区, 不合格项). Before,
    /// these columns were left out: a producer's credit code (so the producer waited for
    /// identification), its address (so one elsewhere was not reported there), or the sheet
    /// was refused for want of 报告编号 or 标称生产企业.
    #[test]
    fn a_labs_ledger_names_its_columns_in_its_own_words() {
        let path = |header| result_column(header).map(|c| c.path);
        for (header, expected) in [
            ("生产单位地址", "producer.address"),
            ("生产厂家地址", "producer.address"),
            ("制造商地址", "producer.address"),
            ("生产单位统一社会信用代码", "producer.uscc"),
            ("生产企业信用代码", "producer.uscc"),
            ("生产厂家", "producer.name"),
            ("制造商", "producer.name"),
            ("被检单位地址", "sampled_unit.address"),
            ("受检企业统一社会信用代码", "sampled_unit.uscc"),
            ("销售者名称", "sampled_unit.name"),
            ("检测报告编号", "report_no"),
            ("所属辖区", "sampled_unit.district"),
            ("批次号", "product.batch"),
            ("检验依据标准", "standards"),
            ("不合格项", "items"),
            ("结论判定", "verdict"),
        ] {
            assert_eq!(path(header), Some(expected), "{header}");
        }
        // A unit and a part that is none of its own says nothing.
        assert_eq!(path("生产单位电话"), None);
    }

    /// Headers that say a column's name with another or a note in a bracket or after a `/`
    /// (商标（品牌）, 规格型号/等级): the column the first part names. Before, such a column was
    /// left out: the brand the six-month rule compares on, the model a batch is keyed on (the
    /// sheet refused for want of 规格型号).
    #[test]
    fn a_header_of_parts_names_the_column_its_first_part_does() {
        let path = |header| result_column(header).map(|c| c.path);
        assert_eq!(path("商标（品牌）"), Some("product.brand"));
        assert_eq!(path("规格型号/等级"), Some("product.model"));
        assert_eq!(path("受检单位（被抽样单位）"), Some("sampled_unit.name"));
        assert_eq!(path("被抽样单位名称（销售者）"), Some("sampled_unit.name"));
        assert_eq!(path("标称生产企业名称/地址"), Some("producer.name"));
        assert_eq!(path("抽样日期（年-月-日）"), Some("sampling.date"));
        assert_eq!(path("检验结论（合格/不合格）"), Some("verdict"));
        assert_eq!(path("不合格项目（标准值/实测值）"), Some("items"));
        // Parts naming two columns say neither; a contract maker is not the label's producer.
        assert_eq!(path("被抽样单位/标称生产企业"), None);
        assert_eq!(path("检验结果（不合格项目）"), None);
        assert_eq!(path("生产企业（受托方）"), None);
    }

    #[test]
    fn provincial_bulletins_headers_name_their_columns() {
        let path = |header| result_column(header).map(|c| c.path);
        for (header, field) in [
            ("抽检结果", "verdict"),
            ("判定结论", "verdict"),
            ("受检企业", "sampled_unit.name"),
            ("被检单位", "sampled_unit.name"),
            ("所属区", "sampled_unit.district"),
            ("生产者", "producer.name"),
            ("标称商标", "product.brand"),
            ("不合格项目名称", "items"),
            ("不合格项目类别", "severity"),
            ("社会信用代码", "sampled_unit.uscc"),
            ("统一社会信用代码（注册号）", "sampled_unit.uscc"),
        ] {
            assert_eq!(path(header), Some(field), "{header}");
        }
        // One that could be either unit names neither.
        assert_eq!(path("企业名称"), None);
    }

    #[test]
    fn a_labs_ledger_names_the_organiser_as_its_client_or_the_tasks_source() {
        let path = |header| result_column(header).map(|c| c.path);
        for header in ["委托单位", "任务来源", "任务下达单位", "组织抽查部门"] {
            assert_eq!(path(header), Some("organiser"), "{header}");
        }
        assert_eq!(path("检验类别"), Some(""));
    }

    #[test]
    fn a_result_s_legal_qualities_are_known_by_their_headers_last_words() {
        let path = |header| result_column(header).map(|c| c.path);
        assert_eq!(path("不合格项目严重程度"), Some("severity"));
        assert_eq!(path("是否为跟踪抽查"), Some("follow_up"));
        assert_eq!(path("产品是否涉嫌假冒"), Some("suspected_counterfeit"));
        // Others only by their own names: a producer's code is not the sampled unit's.
        assert_eq!(path("标称生产商统一社会信用代码"), None);
        assert_eq!(path("主要不合格项目"), Some("items"));
        // The day the result was served, however the document is named: before, these were
        // left out and the objection window ran from the report's date, ending too early.
        assert_eq!(path("结果通知书送达日期"), Some("served_on"));
        assert_eq!(path("检验结果通知书送达时间"), Some("served_on"));
        assert_eq!(path("企业签收日期"), Some("served_on"));
        assert_eq!(path("整改通知书送达日期"), None);
        // The producer's service is its own (a result_served naming it), not the result's.
        assert_eq!(path("生产企业送达日期"), None);
    }

    #[test]
    fn vocabulary_in_chinese_becomes_ids() {
        // A level written with the kind of check (市级监督抽查) was refused before, as was a role
        // with a bracket (生产企业（自产自销）) and 滨海 for 滨海新区.
        assert_eq!(level_from_zh("市级监督抽查"), Some(Level::Municipal));
        assert_eq!(level_from_zh("省级抽查"), Some(Level::Provincial));
        assert_eq!(level_from_zh("区级监督抽检"), Some(Level::District));
        assert_eq!(level_from_zh("国家监督抽查"), Some(Level::National));
        assert_eq!(level_from_zh("抽查"), None);
        assert_eq!(
            role_from_zh("生产企业（自产自销）"),
            Some(UnitRole::Producer)
        );
        assert_eq!(district_from_zh("滨海").as_deref(), Some("120116"));
        assert_eq!(district_from_zh("滨海高新区"), None);
        assert_eq!(category_from_zh("电动自行车"), Some(Category::EBike));
        assert_eq!(category_from_zh("燃气器具"), Some(Category::GasAppliance));
        assert_eq!(category_from_zh("wire_cable"), Some(Category::WireCable));
        assert_eq!(category_from_zh("电动车"), None);
        assert_eq!(
            category_of_product("家用燃气灶具"),
            Some(Category::GasAppliance)
        );
        assert_eq!(
            category_of_product("聚氯乙烯绝缘电缆"),
            Some(Category::WireCable)
        );
        assert_eq!(
            category_of_product("隔爆型防爆电缆引入装置"),
            Some(Category::ExplosionProofElectrical)
        );
        assert_eq!(category_of_product("保温杯"), None);
        assert_eq!(district_from_zh("南开区").as_deref(), Some("120104"));
        assert_eq!(
            district_from_zh("天津市滨海新区").as_deref(),
            Some("120116")
        );
        assert_eq!(district_from_zh("南开").as_deref(), Some("120104"));
        assert_eq!(
            district_from_zh("天津市滨海新区塘沽街道1号").as_deref(),
            Some("120116")
        );
        assert_eq!(district_from_zh("北京市朝阳区").as_deref(), None);
        assert_eq!(district_from_zh("130102").as_deref(), Some("130102"));
        assert_eq!(district_from_zh("朝阳区"), None);
    }

    #[test]
    fn addresses_name_districts_by_their_former_names_and_zones_too() {
        for (text, code) in [
            ("天津市静海县大邱庄镇百亿道1号", Some("120118")),
            ("静海县", Some("120118")),
            ("天津塘沽区新港路", Some("120116")),
            ("天津市蓟县", Some("120119")),
            ("天津南开区红旗路1号", Some("120104")),
            ("天津市西青经济技术开发区赛达大道", Some("120111")),
            ("天津经济技术开发区第三大街", Some("120116")),
            ("天津港保税区", Some("120116")),
            ("河北省石家庄市", None),
            ("天津市滨海高新区", None),
            ("东疆保税港区", Some("120116")),
            ("中新天津生态城中天大道2018号", Some("120116")),
            ("天津市临港经济区", Some("120116")),
            ("经济技术开发区", None),
        ] {
            assert_eq!(district_from_zh(text).as_deref(), code, "{text}");
        }
    }

    #[test]
    fn bulletin_words_and_report_sentences_are_read_and_no_verdict_guessed() {
        assert_eq!(verdict_from_zh("不合格"), Some(Verdict::Fail));
        assert_eq!(verdict_from_zh("合格"), Some(Verdict::Pass));
        assert_eq!(verdict_from_zh("待定"), None);
        // Not a verdict the law knows: the lab says which.
        for qualified in ["基本合格", "基本符合标准要求", "部分合格"] {
            assert_eq!(verdict_from_zh(qualified), None, "{qualified}");
        }
        assert_eq!(verdict_from_zh("部分项目不合格"), Some(Verdict::Fail));
        for (sentence, verdict) in [
            (
                "经抽样检验，所检项目符合GB 2811-2019《头部防护 安全帽》要求。",
                Some(Verdict::Pass),
            ),
            (
                "经抽样检验，所检项目不符合GB 16410-2020要求",
                Some(Verdict::Fail),
            ),
            ("该批次产品判定为不合格", Some(Verdict::Fail)),
            // The standard's title says 无; the sentence does not qualify its verdict.
            (
                "经抽样检验，所检项目符合GB/T 5023.3-2008《额定电压450/750V及以下聚氯乙烯绝缘电缆 \
                 第3部分：固定布线用无护套电缆》标准要求，检验结论为合格。",
                Some(Verdict::Pass),
            ),
            (
                "经抽样检验，导体电阻项目不符合GB/T 32129-2015《电线电缆用无卤低烟阻燃电缆料》要求",
                Some(Verdict::Fail),
            ),
            ("所检项目符合《标准》要求，但标志不符合要求", None),
            ("所检项目符合《无护套电缆》要求，未检标志", None),
            ("所检项目符合标准要求，但标志不符合要求", None),
            ("未发现不符合项", None),
            ("经复检合格", None),
        ] {
            assert_eq!(verdict_from_zh(sentence), verdict, "{sentence}");
        }
        assert_eq!(
            domain_from_zh("流通领域"),
            Some(SamplingDomain::Circulation)
        );
        assert_eq!(domain_from_zh("网络交易"), Some(SamplingDomain::Ecommerce));
        assert_eq!(domain_from_zh("使用领域"), None);
        for (written, domain) in [
            ("流通领域（商场）", SamplingDomain::Circulation),
            ("线下", SamplingDomain::Circulation),
            ("网店", SamplingDomain::Ecommerce),
            ("电商（天猫）", SamplingDomain::Ecommerce),
        ] {
            assert_eq!(domain_from_zh(written), Some(domain), "{written}");
        }
        assert_eq!(role_from_zh("经销商"), Some(UnitRole::Distributor));
        assert_eq!(severity_from_zh("严重不合格"), Some(Severity::Serious));
        assert_eq!(severity_from_zh("A类不合格"), Some(Severity::Serious));
        assert_eq!(severity_from_zh("Ａ类"), Some(Severity::Serious));
        assert_eq!(severity_from_zh("b类"), Some(Severity::General));
        assert_eq!(severity_from_zh("C类不合格项目"), Some(Severity::General));
        assert_eq!(severity_from_zh("A"), None);
        assert_eq!(severity_in_verdict("严重不合格"), Some(Severity::Serious));
        assert_eq!(
            severity_in_verdict("不合格（一般）"),
            Some(Severity::General)
        );
        assert_eq!(severity_in_verdict("不合格(A类)"), Some(Severity::Serious));
        assert_eq!(severity_in_verdict("不合格，一般"), Some(Severity::General));
        assert_eq!(severity_in_verdict("所检项目不合格"), None);
        assert_eq!(severity_in_verdict("不合格"), None);
        assert_eq!(severity_in_verdict("合格"), None);
    }

    #[test]
    fn a_remark_says_a_counterfeit_as_bulletins_write_it() {
        for remark in [
            "涉嫌假冒",
            "该批次产品涉嫌假冒，已移交属地市场监管部门处理",
            "经标称生产企业确认，该批次产品非其生产",
            "标称生产企业声明该产品非该公司生产",
            "标称生产企业否认生产该批次产品",
            "冒用他人厂名厂址",
            "涉嫌伪造厂名厂址",
            "标称生产者系伪造",
        ] {
            assert!(counterfeit_in_remarks(remark), "{remark}");
        }
        for remark in [
            "",
            "不涉嫌假冒",
            "经核实非假冒产品",
            "涉嫌无证生产",
            "非其所在地生产企业，已移送",
            "标称生产企业非本辖区生产企业",
            "跟踪抽查",
            // A false origin (PQL Art 30) is the producer's own act.
            "涉嫌伪造产地",
        ] {
            assert!(!counterfeit_in_remarks(remark), "{remark}");
        }
        assert_eq!(level_from_zh("市级"), Some(Level::Municipal));
        assert_eq!(flag_from_zh("是"), Some(true));
        // What ledgers add after the flag.
        assert_eq!(flag_from_zh("是（原报告编号：TJ-2025-0031）"), Some(true));
        assert_eq!(flag_from_zh("否，首次抽查"), Some(false));
        assert_eq!(flag_from_zh("是否"), None);
        assert_eq!(flag_from_zh("待定"), None);
    }

    #[test]
    fn a_remark_marks_a_follow_up_when_it_says_the_sampling_is_one() {
        for remark in [
            "跟踪抽查",
            "跟踪抽检",
            "系跟踪抽查",
            "（跟踪抽查）",
            "跟踪抽查，原不合格报告编号：R-2026-0001",
            "属于跟踪抽查 ",
        ] {
            assert!(follow_up_in_remarks(remark), "{remark}");
        }
        for remark in [
            "建议跟踪抽查",
            "非跟踪抽查",
            "不属于跟踪抽查",
            "需开展跟踪抽查",
            "涉嫌假冒",
            "",
        ] {
            assert!(!follow_up_in_remarks(remark), "{remark}");
        }
    }

    #[test]
    fn a_title_or_the_units_names_tell_the_sampling_domain() {
        use SamplingDomain::*;
        let title = domain_in_title;
        assert_eq!(
            title("2026年天津市流通领域电动自行车产品质量监督抽查结果"),
            Some(Circulation)
        );
        assert_eq!(title("生产领域安全帽抽查不合格产品名单"), Some(Production));
        assert_eq!(title("电子商务产品质量监督抽查结果"), Some(Ecommerce));
        assert_eq!(title("网络销售领域燃气灶抽查结果"), Some(Ecommerce));
        assert_eq!(title("生产领域和流通领域抽查结果"), None);
        assert_eq!(title("不合格产品及生产企业名单"), None);

        let names = domain_of_names;
        assert_eq!(
            names("天津市某某车业有限公司", "天津某某车业有限公司"),
            Some(Production)
        );
        for shop in [
            "天津市南开区某某车行",
            "天津市河西区某五金店（个体工商户）",
            "天津市北辰区某消防器材经营部",
            "天津某某商贸有限公司",
            "某某电器销售有限公司",
            "某某超市",
        ] {
            assert_eq!(names(shop, "某某电器有限公司"), Some(Circulation), "{shop}");
        }
        // A factory that is not the label's producer (a contract maker), or an online shop
        // type, does not say.
        assert_eq!(names("中山市某某燃具厂", "佛山市某某电器有限公司"), None);
        assert_eq!(names("某某旗舰店", "某某电器有限公司"), None);
        assert_eq!(names("某某电器有限公司", ""), None);
    }

    #[test]
    fn only_a_spot_check_is_one() {
        let spot = |follow_up| TestKind::SpotCheck { follow_up };
        for (text, read) in [
            ("监督抽查", spot(false)),
            ("国家监督抽查", spot(false)),
            ("省级专项抽查", spot(false)),
            ("产品质量监督抽检", spot(false)),
            ("跟踪抽查", spot(true)),
            ("委托检验", TestKind::Other),
            ("委托抽检", TestKind::Other),
            ("风险监测", TestKind::Other),
            ("风险监测抽查", TestKind::Other),
            ("型式检验", TestKind::Other),
            ("监督检验", TestKind::Other),
            // The second test of a spot check is not one of its own.
            ("监督抽查复检", TestKind::Retest),
            ("复检", TestKind::Retest),
            ("监督抽查（复查）", TestKind::Recheck),
            ("整改复查", TestKind::Recheck),
            ("抽查回头看", TestKind::Recheck),
        ] {
            assert_eq!(test_kind_from_zh(text), read, "{text}");
        }
    }

    #[test]
    fn a_units_name_places_it_by_its_districts_full_name() {
        assert_eq!(
            district_in_name("天津市河西区某五金店（个体工商户）").as_deref(),
            Some("120103")
        );
        assert_eq!(district_in_name("南开区某车行").as_deref(), Some("120104"));
        assert_eq!(
            district_in_name("天津市塘沽区某商店").as_deref(),
            Some("120116")
        );
        // A short name after 天津 is as often a trade name; a name without one says nothing.
        assert_eq!(district_in_name("天津南开某某商贸有限公司"), None);
        assert_eq!(district_in_name("天津某某商贸有限公司"), None);
    }

    #[test]
    fn the_product_names_bulletins_use_tell_their_category() {
        for (name, category) in [
            ("家用燃气快速热水器", Category::GasAppliance),
            ("燃气用不锈钢波纹软管", Category::GasAppliance),
            ("家用燃气用橡胶和塑料软管", Category::GasAppliance),
            ("瓶装液化石油气调压器", Category::GasAppliance),
            ("管道燃气自闭阀", Category::GasAppliance),
            ("集成灶", Category::GasAppliance),
            ("商用燃气燃烧器具", Category::GasAppliance),
            ("小礼花", Category::Fireworks),
            ("喷花类", Category::Fireworks),
            ("室内消火栓", Category::FireProduct),
            ("点型感烟火灾探测器", Category::FireProduct),
            ("手提式干粉灭火器", Category::FireProduct),
            ("道路运输液体危险货物罐式车辆", Category::TankVehicle),
        ] {
            assert_eq!(category_of_product(name), Some(category), "{name}");
        }
        // Two categories speak of it, or none: the lab says which.
        assert_eq!(category_of_product("电动自行车乘员头盔"), None);
        assert_eq!(category_of_product("液化石油气"), None);
        assert_eq!(category_of_product("家用可燃气体探测器"), None);
    }
}

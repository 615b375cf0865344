//! Keys that make records meet and make writes idempotent.
//!
//! - [`BatchKey`]: a batch is (nominal producer, model, batch code). Results and shipments meet on
//!   it, and it is the Kafka key of both topics, so they are co-partitioned.
//! - [`record_id`]: a stable id per logical record (e.g. one per `(lab_id, report_no)`), used as
//!   the CloudEvents `ce_id` and by every writer to ignore repeats.
//! - [`content_hash`]: tells a harmless repeat (same content) from a conflict (same id, new content).

use crate::days::WrittenDate;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// The identity of a production batch, normalised so that spelling noise does not split it:
/// full-width ASCII folded to half-width, whitespace collapsed, model and batch upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchKey {
    pub producer: String,
    pub model: String,
    pub batch: String,
}

impl BatchKey {
    pub fn new(producer: &str, model: &str, batch: &str) -> Self {
        Self {
            producer: normalise(producer),
            model: normalise(model).to_uppercase(),
            batch: normalise(batch).to_uppercase(),
        }
    }

    /// The key two spellings of one batch share: the producer by [`name_key`], the model by
    /// [`product_key`], the batch by [`batch_code_key`] (`天津津安…/ABS-V型/2026.3.1` =
    /// `天津市津安…/ABS-Ⅴ/20260301`). For matching only.
    pub fn match_key(&self) -> String {
        Self {
            producer: name_key(&self.producer),
            model: product_key(&self.model),
            batch: batch_code_key(&self.batch),
        }
        .to_string()
    }

    /// Parses the `producer/model/batch` form (with `%2F` for a slash inside a part).
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Vec<String> = text.split('/').map(unescape).collect();
        match parts.as_slice() {
            [producer, model, batch] if parts.iter().all(|p| !p.trim().is_empty()) => {
                Some(Self::new(producer, model, batch))
            }
            _ => None,
        }
    }
}

/// `producer/model/batch`, each part with `%` and `/` escaped: the Kafka key.
impl fmt::Display for BatchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            escape(&self.producer),
            escape(&self.model),
            escape(&self.batch)
        )
    }
}

fn escape(part: &str) -> String {
    part.replace('%', "%25").replace('/', "%2F")
}

fn unescape(part: &str) -> String {
    part.replace("%2F", "/")
        .replace("%2f", "/")
        .replace("%25", "%")
}

/// Folds full-width ASCII (Ａ-Ｚ, ０-９, ...) and the ideographic space to ASCII, trims, and
/// collapses runs of whitespace to one space.
pub fn normalise(text: &str) -> String {
    let folded = text.chars().map(|c| match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    });
    let mut out = String::with_capacity(text.len());
    for c in folded {
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// Province-level names as labels and ledgers write them with or without their suffix
/// (天津市津安… vs 天津津安…).
const PLACE_PREFIXES: &[&str] = &[
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
];

/// The key an enterprise's name is matched on when it has no credit code (docs/domain.md, "Subjects
/// without a credit code"): full-width folded to half-width, no whitespace, no brackets of any
/// width (their content kept), 有限责任公司 read as 有限公司, a leading province-level name
/// without its 省/市 suffix, and none before a Tianjin district's full name (天津市河西区某店 =
/// 河西区某店). A label that says who made the product for whom (委托生产) is the
/// entrusting enterprise's, the nominal producer who answers for it: `A公司（委托方）`,
/// `A公司（受托方：B公司）` and `委托方：A公司；受托方：B公司` are keyed as A公司; so is a seller
/// named with its form or keeper (`A店（个体工商户）`, `A店（经营者：张某）`), and a shop named
/// with the enterprise that runs it (`A公司（B旗舰店）`, `B旗舰店（A公司）`) is A公司. Two spellings
/// of one enterprise give the same key; the key is for matching only and is never shown as a name.
pub fn name_key(name: &str) -> String {
    let normal = normalise(name);
    let folded: String = enterprise_named(&normal)
        .chars()
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(
                    c,
                    '(' | ')' | '（' | '）' | '[' | ']' | '【' | '】' | '〔' | '〕'
                )
        })
        .collect();
    let key = folded.replace("有限责任公司", "有限公司");
    // A unit registered in a district of Tianjin is named with it (天津市河西区某五金店), and
    // written as often without the city (河西区某五金店): by its full name only, so that
    // 天津南开… (a trade name as often) stays what it is.
    if let Some(rest) = key
        .strip_prefix("天津市")
        .or_else(|| key.strip_prefix("天津"))
        && crate::columns::district_in_name(rest).is_some()
    {
        return rest.to_owned();
    }
    for place in PLACE_PREFIXES {
        if let Some(rest) = key
            .strip_prefix(place)
            .and_then(|rest| rest.strip_prefix(['省', '市']))
        {
            return format!("{place}{rest}");
        }
    }
    key
}

/// The enterprise a name names without what bulletins add in brackets about it: who made the
/// product for whom (the entrusting enterprise's, when it says so), a seller's form and
/// keeper (（个体工商户）, （经营者：张某）), its address (（地址：…）) or its former name
/// (（原…）; a bracket giving its new name, （现更名为…）, is the name). Other brackets are
/// part of the name (（滨海）, （有限合伙）). `name` is normalised (half-width brackets and
/// colons).
fn enterprise_named(name: &str) -> &str {
    // Not 受委托方 or 被委托方: the enterprise entrusted.
    let entrusting_at = name
        .match_indices("委托方:")
        .find(|(at, _)| !name[..*at].ends_with(['受', '被']))
        .map(|(at, word)| at + word.len());
    if let Some(rest) = entrusting_at.map(|at| &name[at..]) {
        let end = ["受托方", "被委托", ";", ",", "、", " "]
            .iter()
            .filter_map(|stop| rest.find(stop))
            .min()
            .unwrap_or(rest.len());
        return rest[..end].trim();
    }
    if let Some(enterprise) = running_a_shop(name) {
        return enterprise;
    }
    const SAID_ABOUT: [&str; 11] = [
        "委托",
        "受托",
        "受委托",
        "被委托",
        "个体",
        "经营者",
        "负责人",
        "业主",
        "地址",
        "住所",
        "厂址",
    ];
    // Renamed: the name the bracket gives now (（现更名为…）) is the one registered.
    for (open, _) in name.match_indices('(') {
        let inner = &name[open + 1..];
        if let Some(now) = ["现更名为", "已更名为", "更名为", "现名"]
            .iter()
            .find_map(|word| inner.strip_prefix(word))
        {
            let now = now.trim_start_matches(':');
            let now = now[..now.rfind(')').unwrap_or(now.len())].trim();
            if !now.is_empty() {
                return now;
            }
        }
    }
    // A former name (（原天津市某某厂）, （曾用名：…）), not a place (（原平）).
    let former = |inner: &str| {
        ["原名", "曾用名"]
            .iter()
            .any(|word| inner.starts_with(word))
            || (inner.starts_with('原')
                && inner.split(')').next().unwrap_or(inner).chars().count() >= 6)
    };
    let annotation = name.match_indices('(').find(|(open, _)| {
        let inner = &name[open + 1..];
        SAID_ABOUT.iter().any(|word| inner.starts_with(word)) || former(inner)
    });
    match annotation {
        Some((open, _)) => name[..open].trim(),
        None => name,
    }
}

/// The enterprise of a shop named with the enterprise that runs it, whichever way round, as
/// online samplings name them: `某某电子商务有限公司（某某旗舰店）`, `某某旗舰店（某某电子商务有限公司）`,
/// `某某专营店（经营者：某某贸易有限公司）`. The enterprise, not the shop's name, is on the credit
/// record. `None` when the name is no such pair.
fn running_a_shop(name: &str) -> Option<&str> {
    // The bracket that closes the name, whatever brackets it holds (某某（天津）有限公司).
    let body = name.strip_suffix(')')?;
    let mut depth = 0usize;
    let open = body.char_indices().rev().find_map(|(at, c)| match c {
        ')' => {
            depth += 1;
            None
        }
        '(' if depth == 0 => Some(at),
        '(' => {
            depth -= 1;
            None
        }
        _ => None,
    })?;
    let inner = body[open + 1..].trim();
    let inner = inner
        .split_once(':')
        .map_or(inner, |(_, named)| named.trim());
    let outer = name[..open].trim();
    let company = |part: &str| part.ends_with("公司");
    let shop = |part: &str| part.ends_with('店');
    if company(outer) && shop(inner) {
        Some(outer)
    } else if shop(outer) && company(inner) {
        Some(inner)
    } else {
        None
    }
}

/// The key a test item's name is matched on when an official names it (a re-test's cleared
/// items): full-width folded to half-width, no whitespace, no brackets (their content kept), so
/// `冲击吸收性能（高温）`, `冲击吸收性能(高温)` and `冲击吸收性能 (高温)` are one item.
pub fn item_key(name: &str) -> String {
    normalise(name)
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | '【' | '】'))
        .collect()
}

/// The key a product's brand (商标) or model (规格型号) is compared on (the six-month rule's
/// "the same product"): full-width folded, no whitespace, upper case, Roman numerals as letters
/// (`ABS-Ⅴ型` = `abs-v型`), a model's trailing 型 left out (`JZT-2型` = `JZT-2`), and what
/// records write for none (`/`, `无`, `——`, `无商标`, `未标注`…) the empty key, as a brand
/// left out is; a picture mark as [`graphic_mark`] reads it.
pub fn product_key(text: &str) -> String {
    let trimmed = text.trim();
    if !crate::result::names_a_producer(trimmed)
        || ["无商标", "无品牌", "无注册商标", "无型号", "未注册商标"]
            .iter()
            .any(|none| trimmed.starts_with(none))
    {
        return String::new();
    }
    let mut key = String::with_capacity(text.len());
    for c in normalise(trimmed).chars().filter(|c| !c.is_whitespace()) {
        match c {
            '—' | '–' | '－' => key.push('-'),
            'Ⅰ'..='Ⅻ' | 'ⅰ'..='ⅻ' => {
                let n = if c >= 'ⅰ' {
                    c as u32 - 'ⅰ' as u32
                } else {
                    c as u32 - 'Ⅰ' as u32
                };
                const ROMAN: [&str; 12] = [
                    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
                ];
                key.push_str(ROMAN.get(n as usize).copied().unwrap_or_default());
            }
            c => key.extend(c.to_uppercase()),
        }
    }
    if key.chars().count() > 1
        && let Some(rest) = key.strip_suffix('型')
    {
        key.truncate(rest.len());
    }
    graphic_mark(key)
}

/// A brand that is a picture, as bulletins write it: `图形`, `图形商标`, `图案` alone are one
/// key (`图形`), and a word with its picture (`火王及图形`, `火王+图形`, `图形+火王`,
/// `火王（图形）`) the word's.
fn graphic_mark(key: String) -> String {
    const PICTURE: [&str; 6] = ["图形商标", "图形标识", "图形标志", "图形", "图案", "图标"];
    // Every picture word begins with 图: most brands and every model are left as they are.
    if !key.contains('图') {
        return key;
    }
    if PICTURE.contains(&key.as_str()) {
        return "图形".to_owned();
    }
    for picture in PICTURE {
        for joined in [
            format!("及{picture}"),
            format!("和{picture}"),
            format!("+{picture}"),
            format!("({picture})"),
        ] {
            if let Some(word) = key.strip_suffix(joined.as_str()).filter(|w| !w.is_empty()) {
                return word.to_owned();
            }
        }
        if let Some(word) = key
            .strip_prefix(format!("{picture}+").as_str())
            .filter(|w| !w.is_empty())
        {
            return word.to_owned();
        }
    }
    key
}

/// The key a batch code is matched on: full-width folded, no whitespace, upper case, and a
/// production date or month used as the batch in any of the ways records write one
/// (`2026-03-01`, `2026.3.1`, `2026/03/01`, `2026年3月1日`, `20260301`; `2026-03`, `2026年3月`)
/// as `20260301` or `202603`, as ledgers and lab reports write one batch otherwise; and a batch
/// the label does not give (`/`, `无`, `无批号`, `未标注`…) as `无`.
pub fn batch_code_key(batch: &str) -> String {
    let key: String = normalise(batch)
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    // A label without a batch, however a record says so, is one "no batch" of the model.
    if NO_BATCH.contains(&key.trim_matches(['(', ')']))
        || ["无批号", "未标注", "未标明", "无生产日期"]
            .iter()
            .any(|none| key.starts_with(none))
    {
        return "无".to_owned();
    }
    match crate::days::written_date(&key) {
        Some(WrittenDate::Day(date)) => date.format("%Y%m%d").to_string(),
        Some(WrittenDate::Month { year, month }) => format!("{year:04}{month:02}"),
        None => key,
    }
}

/// What records write for a batch the label does not give.
const NO_BATCH: [&str; 8] = ["/", "-", "—", "——", "--", "无", "不详", "未知"];

/// The key organisers (组织抽查的部门) are compared on: one authority however it is written —
/// `天津市南开区市场监督管理局`, `南开区市场监管局`, `天津市南开区市监局`; `天津市市场监管委` and
/// `天津市市场监督管理委员会`; `国家市场监督管理总局` and `市场监管总局`. The name's key
/// ([`name_key`]) with the usual abbreviations written out, and a district's bureau without the
/// city before it.
pub fn organiser_key(organiser: &str) -> String {
    let mut key = name_key(organiser)
        .replace("市场监管", "市场监督管理")
        .replace("市监局", "市场监督管理局");
    if key.ends_with("市场监督管理委") {
        key.push_str("员会");
    }
    if let Some(rest) = key.strip_prefix("国家")
        && rest.starts_with("市场监督管理总局")
    {
        key = rest.to_owned();
    }
    // `天津南开区…` (the city's name, as name_key leaves it) is `南开区…`.
    for place in PLACE_PREFIXES {
        if let Some(rest) = key.strip_prefix(place)
            && let Some(at) = rest.find("市场监督管理")
            && rest[..at].ends_with(['区', '县', '旗'])
        {
            key = rest.to_owned();
            break;
        }
    }
    key
}

/// The key standards are compared on (the six-month rule's "the same standard"): each standard's
/// number as labs write it in any form — `GB 16410-2020《家用燃气灶具》`, `GB16410-2020`,
/// `ＧＢ 16410—2020` — in order, once. A list may be separated by `;`, `；`, `、`, `,`, `，` or
/// lines.
pub fn standards_key(standards: &str) -> String {
    let mut codes: Vec<String> = normalise(standards)
        .split([';', '；', '、', ',', '，', '\n'])
        .map(|standard| {
            let code = standard.split(['《', '(']).next().unwrap_or_default();
            code.chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| match c {
                    '—' | '–' | '－' => '-',
                    c => c.to_ascii_uppercase(),
                })
                .collect()
        })
        .filter(|code: &String| !code.is_empty())
        .collect();
    codes.sort();
    codes.dedup();
    codes.join(";")
}

/// A stable id for a logical record: the first 128 bits of SHA-256 over its kind and identifying
/// parts, in hex. The same parts always give the same id, on every machine and release.
pub fn record_id(kind: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    for part in parts {
        // A separator that cannot occur in text keeps ("ab","c") apart from ("a","bc").
        hasher.update([0u8]);
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

/// SHA-256 of a record's canonical JSON (serde field order), in hex.
pub fn content_hash<T: Serialize>(record: &T) -> String {
    let bytes = serde_json::to_vec(record).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_authority_written_otherwise_is_one_organiser() {
        let same = |written: &[&str]| {
            let keys: Vec<String> = written.iter().map(|w| organiser_key(w)).collect();
            assert!(keys.windows(2).all(|pair| pair[0] == pair[1]), "{keys:?}");
        };
        same(&[
            "天津市南开区市场监督管理局",
            "南开区市场监管局",
            "天津市南开区市监局",
            "天津 南开区 市场监督管理局",
        ]);
        same(&["天津市滨海新区市场监督管理局", "滨海新区市场监管局"]);
        same(&["天津市市场监督管理委员会", "天津市市场监管委"]);
        same(&["国家市场监督管理总局", "市场监管总局"]);
        // Different authorities stay different: the city's commission is not a district's bureau,
        // nor one district's bureau another's.
        assert_ne!(
            organiser_key("天津市市场监督管理委员会"),
            organiser_key("南开区市场监督管理局")
        );
        assert_ne!(
            organiser_key("南开区市场监督管理局"),
            organiser_key("河西区市场监督管理局")
        );
        assert_ne!(
            organiser_key("河北省市场监督管理局"),
            organiser_key("天津市市场监督管理委员会")
        );
    }

    #[test]
    fn spelling_noise_does_not_split_a_batch() {
        let a = BatchKey::new("天津市某某燃气具有限公司", "JZT-2", "20260301");
        let b = BatchKey::new(
            " 天津市某某燃气具有限公司\u{3000}",
            "ｊｚｔ－２",
            " 20260301",
        );
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "天津市某某燃气具有限公司/JZT-2/20260301");
        let c = BatchKey::new("天津某某燃气具有限责任公司", "JZT-2型", "2026.3.1");
        assert_ne!(a, c);
        assert_eq!(a.match_key(), c.match_key());
    }

    #[test]
    fn a_batch_written_as_a_date_is_one_batch_however_the_date_is_written() {
        for date in [
            "2026-03-01",
            "2026.3.1",
            "2026/03/01",
            "2026年3月1日",
            "20260301",
        ] {
            assert_eq!(batch_code_key(date), "20260301", "{date}");
        }
        for month in ["2026-03", "2026.3", "2026年3月", "２０２６－０３"] {
            assert_eq!(batch_code_key(month), "202603", "{month}");
        }
        // Codes that are no dates stay as written (upper case).
        for (code, key) in [
            ("b2026-03a", "B2026-03A"),
            ("20261345", "20261345"),
            ("A 123", "A123"),
            ("2026-02-30", "2026-02-30"),
        ] {
            assert_eq!(batch_code_key(code), key, "{code}");
        }
        // No batch on the label, however said, is one key: a ledger's `/` meets a report's 无.
        for none in [
            "/",
            "／",
            "无",
            "——",
            "（无）",
            "无批号",
            "未标注批号",
            "未标明生产日期",
        ] {
            assert_eq!(batch_code_key(none), "无", "{none}");
        }
        assert_ne!(batch_code_key("无锡1号"), "无");
    }

    #[test]
    fn a_brand_or_model_written_otherwise_is_the_same() {
        assert_eq!(product_key("ABS-Ⅴ型"), product_key(" abs－v "));
        assert_eq!(product_key("JZT-2型"), product_key("ＪＺＴ—２"));
        assert_eq!(product_key("火 王"), product_key("火王"));
        for none in ["/", "无", "——", "无商标", "未标注", " "] {
            assert_eq!(product_key(none), "", "{none}");
        }
        assert_ne!(product_key("JZT-2"), product_key("JZT-3"));
        assert_ne!(product_key("ABS-Ⅳ型"), product_key("ABS-Ⅴ型"));
        assert_eq!(product_key("型"), "型");
        // A brand that is a picture, alone or beside its word.
        assert_eq!(product_key("图形商标"), product_key("图形"));
        assert_eq!(product_key("图案"), product_key("图形"));
        for written in [
            "火王及图形",
            "火王＋图形",
            "图形+火王",
            "火王（图形）",
            "火王和图形商标",
        ] {
            assert_eq!(product_key(written), product_key("火王"), "{written}");
        }
        assert_ne!(product_key("图形"), product_key("火王"));
    }

    #[test]
    fn spellings_of_one_enterprise_share_a_name_key() {
        let key = name_key("天津市津安燃气具有限责任公司");
        assert_eq!(key, name_key("天津津安燃气具有限公司"));
        assert_eq!(key, name_key(" 天津津安燃气具 有限公司\u{3000}"));
        assert_eq!(
            name_key("天津津安（滨海）燃气具有限公司"),
            name_key("天津津安(滨海)燃气具有限公司")
        );
        assert_ne!(key, name_key("天津津安电器有限公司"));
        assert_eq!(name_key("河北省某厂"), name_key("河北某厂"));
        assert_eq!(
            name_key("天津津安燃气具有限公司（地址：天津市北辰区某路1号）"),
            key
        );
        assert_eq!(
            standards_key("GB 16410-2020《家用燃气灶具》；GB 30720-2014《家用燃气灶具能效限定值》"),
            standards_key("GB 30720-2014、ＧＢ16410—2020")
        );
        assert_ne!(
            standards_key("GB 16410-2020"),
            standards_key("GB 16410-2007")
        );
        // Made under contract (委托生产): the label's entrusting enterprise, as the ledger has it.
        let entrusting = name_key("宁波某某电器有限公司");
        for label in [
            "宁波某某电器有限公司（委托方）",
            "宁波某某电器有限公司(受托方:慈溪某某厨具厂)",
            "宁波某某电器有限公司（受委托生产企业：慈溪某某厨具厂）",
            "委托方：宁波某某电器有限公司；受托方：慈溪某某厨具厂",
            "委托方:宁波某某电器有限公司 受托方:慈溪某某厨具厂",
            "受委托方：慈溪某某厨具厂，委托方：宁波某某电器有限公司",
        ] {
            assert_eq!(name_key(label), entrusting, "{label}");
        }
        assert_ne!(name_key("受托方：慈溪某某厨具厂"), entrusting);
        assert_eq!(
            name_key("天津津安（滨海）燃气具有限公司（委托方）"),
            name_key("天津津安(滨海)燃气具有限公司")
        );
        // A unit registered in a district, named with the city or without it; not a trade
        // name that only begins like a district (天津南开…), nor 河北区 for 河北省.
        let shop = name_key("天津市河西区鑫盛五金店");
        assert_eq!(name_key("河西区鑫盛五金店"), shop);
        assert_eq!(name_key("天津河西区鑫盛五金店（个体工商户）"), shop);
        assert_ne!(name_key("鑫盛五金店"), shop);
        assert_ne!(
            name_key("天津南开某某电器有限公司"),
            name_key("南开某某电器有限公司")
        );
        assert_ne!(name_key("天津市河北区某某厂"), name_key("河北某某厂"));
        // An online shop named with the enterprise that runs it: the enterprise.
        let operator = name_key("天津某某电子商务有限公司");
        for named in [
            "天津某某电子商务有限公司（某某旗舰店）",
            "某某旗舰店（天津某某电子商务有限公司）",
            "某某专营店(经营者:天津某某电子商务有限公司)",
        ] {
            assert_eq!(name_key(named), operator, "{named}");
        }
        for named in [
            "某某（天津）有限公司（某某旗舰店）",
            "某某旗舰店（某某（天津）有限公司）",
        ] {
            assert_eq!(name_key(named), name_key("某某（天津）有限公司"), "{named}");
        }
        assert_ne!(name_key("某某旗舰店"), operator);
        // A former name in brackets is not the name; a bracket giving the new one is.
        let renamed = name_key("天津市某某科技发展有限公司");
        for named in [
            "天津市某某科技发展有限公司（原天津市某某电器有限公司）",
            "天津市某某科技发展有限公司(原名:天津市某某电器厂)",
            "天津市某某电器有限公司（现更名为天津市某某科技发展有限公司）",
            "天津市某某电器有限公司（已更名为：天津市某某科技发展有限公司）",
        ] {
            assert_eq!(name_key(named), renamed, "{named}");
        }
        assert_ne!(
            name_key("某某（原平）机械有限公司"),
            name_key("某某机械有限公司")
        );
        // A seller's form and keeper, as bulletins add them; a partnership's form is its name.
        let shop = name_key("南开区某某五金店");
        assert_eq!(name_key("南开区某某五金店（个体工商户）"), shop);
        assert_eq!(name_key("南开区某某五金店(经营者:张某某)"), shop);
        assert_ne!(
            name_key("天津某某科技中心（有限合伙）"),
            name_key("天津某某科技中心")
        );
    }

    #[test]
    fn a_slash_inside_a_part_survives_the_round_trip() {
        let key = BatchKey::new("A/B Co", "M-1", "2026/03");
        assert_eq!(key.to_string(), "A%2FB Co/M-1/2026%2F03");
        assert_eq!(BatchKey::parse(&key.to_string()), Some(key));
        assert_eq!(BatchKey::parse("only/two"), None);
    }

    #[test]
    fn record_ids_are_stable_and_separate_their_parts() {
        assert_eq!(
            record_id("result", &["lab", "1"]),
            record_id("result", &["lab", "1"])
        );
        assert_ne!(
            record_id("result", &["ab", "c"]),
            record_id("result", &["a", "bc"])
        );
        assert_eq!(record_id("result", &["lab", "1"]).len(), 32);
    }
}

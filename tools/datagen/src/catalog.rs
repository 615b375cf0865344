//! What each key product looks like in published bulletins (DOMAIN.md): names, standards,
//! models, test items (those that fail most first) and typical failure rates.

use spotcheck_schemas::Category;

pub struct ProductLine {
    pub category: Category,
    pub product: &'static str,
    pub standards: &'static [&'static str],
    pub model_prefixes: &'static [&'static str],
    /// Test items; the first ones fail most often in bulletins.
    pub items: &'static [&'static str],
    /// Share of batches that fail, 0..1.
    pub failure_rate: f64,
    pub brands: &'static [&'static str],
}

pub const LINES: &[ProductLine] = &[
    ProductLine {
        category: Category::GasAppliance,
        product: "家用燃气灶具",
        standards: &["GB 16410-2020", "GB 30720-2014"],
        model_prefixes: &["JZT", "JZY", "JZR"],
        items: &["干烟气中CO浓度", "熄火保护装置(闭阀时间)", "温升", "燃气导管", "热负荷", "热效率", "气密性"],
        failure_rate: 0.12,
        brands: &["火王", "津燃", "福泰", "顺家"],
    },
    ProductLine {
        category: Category::EBike,
        product: "电动自行车",
        standards: &["GB 17761-2024", "GB 42295-2022"],
        model_prefixes: &["TDT", "TDR", "TDZ"],
        items: &["最高车速", "整车质量", "蓄电池防篡改", "充电器与蓄电池", "布线", "标识与警示语", "互认协同充电"],
        failure_rate: 0.15,
        brands: &["飞鸽", "津骑", "绿源行", "速达"],
    },
    ProductLine {
        category: Category::Fireworks,
        product: "烟花爆竹(组合烟花)",
        standards: &["GB 10631-2013", "GB 19593-2015"],
        model_prefixes: &["C", "D", "E"],
        items: &["标志", "引火线", "引燃时间", "药量", "燃放性能", "禁用药物(氯酸盐)"],
        failure_rate: 0.08,
        brands: &["浏阳红", "庆丰", "喜临门"],
    },
    ProductLine {
        category: Category::FireProduct,
        product: "手提式干粉灭火器",
        standards: &["GB 4351-2023", "GB 6246-2011", "GB 17945-2010"],
        model_prefixes: &["MFZ/ABC", "MFT/ABC"],
        items: &["20℃喷射性能", "充装量误差", "灭火剂主要组分含量", "总质量", "喷射软管长度", "标志"],
        failure_rate: 0.10,
        brands: &["安消", "津安", "平安卫士"],
    },
    ProductLine {
        category: Category::HazardousChemical,
        product: "工业用碳酸钠",
        standards: &["GB/T 210.1-2022", "GB/T 534-2014"],
        model_prefixes: &["I类", "II类"],
        items: &["总碱量", "灰分", "氯化物", "铁含量", "水不溶物", "包装标志"],
        failure_rate: 0.06,
        brands: &["渤化", "天碱", "海晶"],
    },
    ProductLine {
        category: Category::ExplosionProofElectrical,
        product: "隔爆型电动机",
        standards: &["GB/T 3836.1-2021", "GB/T 3836.2-2021"],
        model_prefixes: &["YBX3", "YB3", "BAT"],
        items: &["隔爆接合面", "抗冲击试验", "外壳耐压试验", "电缆夹紧", "最高表面温度", "标志"],
        failure_rate: 0.09,
        brands: &["津防", "安隆", "华防"],
    },
    ProductLine {
        category: Category::WireCable,
        product: "聚氯乙烯绝缘电缆电线",
        standards: &["GB/T 5023.3-2008", "GB/T 12706.1-2020", "GB/T 19666-2019"],
        model_prefixes: &["BV", "BVR", "RVV", "YJV"],
        items: &["导体电阻", "绝缘厚度", "护套厚度", "老化前抗张强度", "热延伸", "护套失重", "单根垂直燃烧"],
        failure_rate: 0.22,
        brands: &["小猫", "津缆", "远东星", "宝胜源"],
    },
    ProductLine {
        category: Category::TankVehicle,
        product: "车载常压罐体",
        standards: &["GB 18564.1-2019", "GB 18564.2-2008"],
        model_prefixes: &["HZZ", "CLW"],
        items: &["紧急切断装置", "罐体结构", "标志标识", "安全附件", "罐体厚度"],
        failure_rate: 0.07,
        brands: &["通华", "津罐", "程力"],
    },
    ProductLine {
        category: Category::SafetyHelmet,
        product: "安全帽",
        standards: &["GB 2811-2019"],
        model_prefixes: &["ABS-", "PE-", "V型"],
        items: &["冲击吸收性能(高温)", "冲击吸收性能(低温)", "冲击吸收性能(浸水)", "耐穿刺性能", "质量", "标识"],
        failure_rate: 0.20,
        brands: &["安达", "津盔", "盾安", "蓝鹰"],
    },
];

/// Division codes of registering authorities outside Tianjin (for out-of-region units).
pub const OTHER_DIVISIONS: &[(&str, &str)] = &[
    ("110105", "北京"),
    ("130102", "石家庄"),
    ("130203", "唐山"),
    ("310115", "上海"),
    ("320506", "苏州"),
    ("330106", "杭州"),
    ("350102", "福州"),
    ("370102", "济南"),
    ("410105", "郑州"),
    ("440306", "深圳"),
    ("430181", "浏阳"),
];

/// Words that make plausible enterprise names.
pub const NAME_WORDS: &[&str] = &[
    "华盛", "恒通", "鑫源", "宏达", "永兴", "瑞丰", "金泰", "嘉和", "安信", "力拓", "新纪元",
    "海河", "津发", "博远", "众诚", "利民", "广进", "德润", "创新", "联合",
];

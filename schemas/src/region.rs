//! Administrative division codes (GB/T 2260) and the authority's region.

use crate::error::Errors;
use crate::reader::Obj;

/// Tianjin's 16 districts: (code, name).
pub const TIANJIN_DISTRICTS: &[(&str, &str)] = &[
    ("120101", "和平区"),
    ("120102", "河东区"),
    ("120103", "河西区"),
    ("120104", "南开区"),
    ("120105", "河北区"),
    ("120106", "红桥区"),
    ("120110", "东丽区"),
    ("120111", "西青区"),
    ("120112", "津南区"),
    ("120113", "北辰区"),
    ("120114", "武清区"),
    ("120115", "宝坻区"),
    ("120116", "滨海新区"),
    ("120117", "宁河区"),
    ("120118", "静海区"),
    ("120119", "蓟州区"),
];

/// The division-code prefix of the default authority, Tianjin.
pub const DEFAULT_REGION_PREFIX: &str = "12";

/// The name of a Tianjin district, if `code` is one.
pub fn district_name(code: &str) -> Option<&'static str> {
    TIANJIN_DISTRICTS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// True when `code` is six digits, the shape of a GB/T 2260 code.
pub fn is_division_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// Reads an optional division code field, reporting one that is not six digits.
pub fn read_district(obj: &Obj, key: &str, errors: &mut Errors) -> Option<String> {
    let code = obj.text(key, errors)?;
    if is_division_code(&code) {
        Some(code)
    } else {
        errors.push(
            obj.path_of(key),
            format!(
                "'{code}' is not a division code: use the six digits of GB/T 2260, e.g. 120104"
            ),
        );
        None
    }
}

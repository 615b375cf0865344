//! Where to sample next, as a workbook an officer can sort and print (sheet 抽查建议).

use crate::ReportError;
use rust_xlsxwriter::{Format, Workbook};
use spotcheck_analytics::Suggestion;
use spotcheck_schemas::Category;
use spotcheck_schemas::names::division_name;

/// The columns of the sheet.
pub const COLUMNS: [&str; 8] = [
    "排名",
    "单位名称",
    "统一社会信用代码",
    "所在区",
    "产品类别",
    "风险分值",
    "跟踪抽查",
    "理由",
];

/// The suggestions as XLSX.
pub fn suggestions_xlsx(suggestions: &[Suggestion]) -> Result<Vec<u8>, ReportError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let sheet = workbook.add_worksheet();
    sheet.set_name("抽查建议")?;
    for (column, title) in COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, column as u16, *title, &bold)?;
    }
    for (index, s) in suggestions.iter().enumerate() {
        let row = index as u32 + 1;
        let district = s.district.as_deref().unwrap_or_default();
        let category = s
            .category
            .as_deref()
            .map(|c| c.parse::<Category>().map(Category::name_zh).unwrap_or(c))
            .unwrap_or_default();
        sheet.write_number(row, 0, s.rank as f64)?;
        sheet.write_string(row, 1, &s.name)?;
        sheet.write_string(row, 2, &s.uscc)?;
        sheet.write_string(row, 3, division_name(district).unwrap_or(district))?;
        sheet.write_string(row, 4, category)?;
        sheet.write_number(row, 5, f64::from(s.score))?;
        sheet.write_string(row, 6, if s.follow_up { "是" } else { "" })?;
        sheet.write_string_with_format(row, 7, s.reasons.join("；"), &wrap)?;
    }
    sheet.set_column_width(1, 30)?;
    sheet.set_column_width(2, 22)?;
    sheet.set_column_width(7, 90)?;
    sheet.autofilter(0, 0, suggestions.len() as u32, COLUMNS.len() as u16 - 1)?;
    sheet.set_freeze_panes(1, 0)?;
    Ok(workbook.save_to_buffer()?)
}

//! The result workbook labs fill in (`GET /v1/results/template.xlsx`): the sheet 抽查结果 with the
//! columns of `spotcheck_schemas::columns` (required ones highlighted, lists as drop-downs, codes
//! and report numbers kept as text, dates as dates) and the sheet 填写说明 explaining each column
//! and its other accepted names. It holds no example row: a forgotten one would be posted.

use rust_xlsxwriter::{Color, DataValidation, Format, FormatAlign, Workbook, XlsxError};
use spotcheck_schemas::columns::{CellKind, RESULT_COLUMNS};
use spotcheck_schemas::region::TIANJIN_DISTRICTS;
use spotcheck_schemas::{Category, Verdict};

/// Rows of the data sheet that get the drop-downs and formats.
const ROWS: u32 = 5_000;

/// The template workbook's bytes.
pub fn result_template() -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_text_wrap()
        .set_background_color(Color::RGB(0xDDEBF7));
    let required = header.clone().set_background_color(Color::RGB(0xFCE4D6));
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = workbook.add_worksheet();
    sheet.set_name("抽查结果")?;
    for (index, column) in RESULT_COLUMNS.iter().enumerate() {
        let col = index as u16;
        let title = column.headers[0];
        let format = if column.required { &required } else { &header };
        sheet.write_string_with_format(0, col, title, format)?;
        let width = match column.kind {
            CellKind::FailedItems => 48.0,
            CellKind::Text if column.path.ends_with("name") || column.path.ends_with("address") => {
                28.0
            }
            CellKind::Text if column.path.ends_with("uscc") => 22.0,
            _ => 14.0,
        };
        sheet.set_column_width(col, width)?;
        match column.kind {
            CellKind::Date => {
                sheet.set_column_format(col, &date)?;
            }
            CellKind::Text
            | CellKind::DateOrBatch
            | CellKind::FailedItems
            | CellKind::ItemDetail
            | CellKind::Standards => {
                sheet.set_column_format(col, &text)?;
            }
            _ => {}
        }
        if let Some(choices) = choices(column.kind) {
            let validation = DataValidation::new()
                .allow_list_strings(&choices)?
                .ignore_blank(true)
                .set_input_message(column.note)?;
            sheet.add_data_validation(1, col, ROWS, col, &validation)?;
        }
    }
    sheet.set_row_height(0, 32)?;
    sheet.set_freeze_panes(1, 2)?;

    let notes = workbook.add_worksheet();
    notes.set_name("填写说明")?;
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    for (col, title) in ["列名", "是否必填", "也可写作", "填写说明"]
        .iter()
        .enumerate()
    {
        notes.write_string_with_format(0, col as u16, *title, &bold)?;
    }
    for (index, column) in RESULT_COLUMNS.iter().enumerate() {
        let row = index as u32 + 1;
        notes.write_string(row, 0, column.headers[0])?;
        notes.write_string(row, 1, if column.required { "必填" } else { "" })?;
        notes.write_string(row, 2, column.headers[1..].join("、"))?;
        notes.write_string_with_format(row, 3, column.note, &wrap)?;
    }
    let after = RESULT_COLUMNS.len() as u32 + 2;
    for (offset, line) in [
        "每行一份检验报告；表头可在前20行内，表头上方可有标题行。",
        "承检机构以提交所用的令牌为准；同一报告编号再次提交时答复“duplicate”（重复），内容不同则拒收为冲突，更正需新的报告编号。",
        "某行有误时，只有该行被拒收，答复中写明行号和列名；其余各行照常接收。",
        "也可提交带相同中文表头的CSV文件（UTF-8或GB18030编码）。",
    ]
    .iter()
    .enumerate()
    {
        notes.write_string(after + offset as u32, 0, *line)?;
    }
    notes.set_column_width(0, 22)?;
    notes.set_column_width(1, 10)?;
    notes.set_column_width(2, 40)?;
    notes.set_column_width(3, 80)?;
    workbook.save_to_buffer()
}

/// The drop-down of a column with a closed vocabulary.
fn choices(kind: CellKind) -> Option<Vec<String>> {
    let names = |all: &[&str]| Some(all.iter().map(|s| (*s).to_owned()).collect());
    match kind {
        CellKind::Category => Some(
            Category::ALL
                .iter()
                .map(|c| c.name_zh().to_owned())
                .collect(),
        ),
        CellKind::District => Some(
            TIANJIN_DISTRICTS
                .iter()
                .map(|(_, name)| (*name).to_owned())
                .collect(),
        ),
        CellKind::Verdict => Some(
            Verdict::ALL
                .iter()
                .map(|v| v.name_zh().to_owned())
                .collect(),
        ),
        CellKind::Role => names(&["生产企业", "经销商", "零售商", "电商"]),
        CellKind::Domain => names(&["生产", "流通", "电商"]),
        CellKind::Severity => names(&["严重不合格", "一般不合格"]),
        CellKind::Level => names(&["国家级", "省级", "市级", "区级"]),
        CellKind::Flag => names(&["是", "否"]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheet_input::{header_row, result_records, workbook_grids};

    #[test]
    fn the_template_is_read_back_as_a_result_sheet_with_no_record() {
        let bytes = result_template().unwrap();
        let mut sheets = workbook_grids(&bytes, 100).unwrap();
        // Its 填写说明 sheet is no sheet of results.
        assert_eq!(sheets.len(), 1);
        let (_, grid) = sheets.remove(0);
        let header = header_row(&grid).unwrap();
        let sheet = result_records(&grid, header, "lab", None).unwrap();
        assert!(sheet.records.is_empty());
        assert!(sheet.ignored.is_empty(), "{:?}", sheet.ignored);
    }
}

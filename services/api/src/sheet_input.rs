//! Results as lab staff keep them: a workbook (XLSX, or the XLS of Excel 97-2003) or a CSV whose
//! header row uses the Chinese column names of bulletins and lab summary sheets
//! (`spotcheck_schemas::columns`). Each row becomes a result in the JSON shape every other body
//! has, with the Chinese words of its cells turned into the stable ids (电动自行车 → `e_bike`,
//! 南开区 → `120104`); the lab is the caller's. A cell that cannot be read is an error of its row,
//! named by the row's number and the column's header as the sheet writes them.

use crate::csv_input::insert_path;
use crate::error::ApiError;
use crate::submitted::Submitted;
use crate::xls_extent;
use chrono::{Days, NaiveDate};
use serde_json::{Map, Value};
use spotcheck_schemas::FieldError;
use spotcheck_schemas::columns::{
    self, CellKind, Column, RESULT_COLUMNS, TestKind, category_of_product, domain_of_role,
    role_of_domain,
};
use spotcheck_schemas::days::{self, WrittenDate};
use spotcheck_schemas::uscc::UsccError;
use spotcheck_schemas::{Category, SamplingDomain, UnitRole, Verdict};
use std::borrow::Cow;
use std::io::Cursor;
use std::sync::Arc;

/// How many rows above the header a sheet may have (titles, the organiser's name, a date).
/// The path a cell's reading gives a note for the caller under ([`Submitted::notes`]), not a
/// field of the record.
const NOTES: &str = "notes";

pub const HEADER_SEARCH_ROWS: usize = 20;
/// A row is the header when at least this many of its cells are known column names.
const HEADER_MIN_COLUMNS: usize = 3;

/// One cell as the sheet holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Bool(bool),
}

/// The rows of one sheet with their numbers as the spreadsheet shows them (1-based).
#[derive(Debug, Default)]
pub struct Grid {
    pub rows: Vec<(usize, Vec<Cell>)>,
    /// Cells merged down over several rows, as (first row, last row, column): a bulletin
    /// writes a 产品名称, 被抽样单位 or 承检机构 once for the rows it covers, and the workbook holds
    /// the value in the first row only. Rows as the sheet shows them (1-based).
    pub merged_down: Vec<(usize, usize, usize)>,
}

/// The columns of a sheet that were read: (JSON path, header as written).
#[derive(Debug, Default)]
pub struct SheetColumns {
    read: Vec<(&'static str, String)>,
}

impl SheetColumns {
    /// Takes in another sheet's columns (a field's first header wins).
    pub fn add(&mut self, other: &Self) {
        for (path, header) in &other.read {
            if !self.read.iter().any(|(p, _)| p == path) {
                self.read.push((path, header.clone()));
            }
        }
    }

    /// The header of the column a field error is about (`items[1].measured` → 主要不合格项目).
    pub fn header_of(&self, field: &str) -> Option<&str> {
        self.read
            .iter()
            .filter(|(path, _)| {
                field == *path
                    || field
                        .strip_prefix(path)
                        .is_some_and(|rest| rest.starts_with(['.', '[']))
            })
            .max_by_key(|(path, _)| path.len())
            .map(|(_, header)| header.as_str())
    }

    /// Names each error's column, where the sheet has one.
    pub fn name_columns(&self, errors: &mut [FieldError]) {
        for error in errors {
            if error.column.is_none() {
                error.column = self.header_of(&error.field).map(str::to_owned);
            }
        }
    }
}

/// What a sheet of results became.
#[derive(Debug)]
pub struct Sheet {
    pub records: Vec<Submitted>,
    pub columns: Arc<SheetColumns>,
    /// Headers the sheet has that no result field takes (联系电话…), so a misspelt one is seen.
    pub ignored: Vec<String>,
}

/// How much a workbook may unpack to: lab sheets are a few MB; a ZIP can unpack a thousand
/// times its size, and the reader would hold it all.
pub const MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;
/// Columns read per row; cells further right are not read (a cell at column XFD would otherwise
/// make every row sixteen thousand cells wide).
pub const MAX_COLUMNS: u32 = 256;

/// True when the bytes are a ZIP (XLSX, ODS) or an OLE2 compound file (XLS).
pub fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

/// True when the bytes are markup (an HTML page, or XML such as Excel 2003's SpreadsheetML):
/// what many systems' "export to Excel" writes under an `.xls` name.
pub fn is_markup(bytes: &[u8]) -> bool {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    text.trim_ascii_start().starts_with(b"<")
}

/// Reads every sheet that has a header row of result columns (a bulletin's 不合格产品 and 合格产品
/// lists are two), keeping at most `max_rows` rows with content in all and [`MAX_COLUMNS`]
/// columns: a hostile workbook (a bomb, a cell at the last row and column) is refused or cut,
/// never unpacked into memory whole. An `.xlsx` is read cell by cell; an `.xls` (Excel 97-2003,
/// as many bureaus' systems still export), which is read whole, is measured first
/// ([`xls_extent`]). Sheets without a header row (a cover, notes) are passed over.
pub fn workbook_grids(bytes: &[u8], max_rows: usize) -> Result<Vec<(String, Grid)>, ApiError> {
    use calamine::Reader;
    let mut sheets = Sheets {
        max_rows,
        rows: 0,
        read: Vec::new(),
    };
    let names = if bytes.starts_with(b"PK\x03\x04") {
        check_unpacked_size(bytes, MAX_UNPACKED_BYTES)?;
        let unreadable = |e: calamine::XlsxError| {
            ApiError::bad_request(format!(
                "the workbook cannot be read ({e}): save it as .xlsx and post it again"
            ))
        };
        let mut workbook = calamine::Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
        let names = workbook.sheet_names();
        for name in &visible(workbook.sheets_metadata()) {
            let merged = workbook
                .merge_cells_by_sheet_name(name)
                .map_err(unreadable)?;
            let mut cells = workbook.worksheet_cells_reader(name).map_err(unreadable)?;
            let cells = std::iter::from_fn(|| {
                let cell = cells.next_cell().map_err(unreadable).transpose()?;
                Some(cell.map(|cell| {
                    let (row, column) = cell.get_position();
                    (row, column, cell.get_value().clone().into())
                }))
            });
            sheets.read(name, cells, &merged)?;
        }
        names
    } else {
        xls_extent::check(bytes, max_rows + HEADER_SEARCH_ROWS)?;
        // A reader of a binary format on a body from outside: a panic in it refuses the body.
        let mut workbook = std::panic::catch_unwind(|| calamine::Xls::new(Cursor::new(bytes)))
            .map_err(|_| xls_extent::unreadable("its records are malformed"))?
            .map_err(xls_extent::unreadable)?;
        let names = workbook.sheet_names();
        for name in &visible(workbook.sheets_metadata()) {
            let range = workbook
                .worksheet_range(name)
                .map_err(xls_extent::unreadable)?;
            let merged = workbook
                .merge_cells_by_sheet_name(name)
                .map_err(xls_extent::unreadable)?;
            let (top, left) = range.start().unwrap_or_default();
            let cells = range.used_cells().map(|(row, column, data)| {
                Ok((top + row as u32, left + column as u32, data.clone()))
            });
            sheets.read(name, cells, &merged)?;
        }
        names
    };
    if sheets.read.is_empty() {
        return Err(no_header(&format!(
            "no visible sheet of the workbook ({}; a hidden sheet is not read)",
            names.join(", ")
        )));
    }
    Ok(sheets.read)
}

/// The names of the sheets a person opening the workbook sees. A hidden sheet (a lab's old
/// template, last year's list kept out of sight) is not what the lab means to send.
fn visible(sheets: &[calamine::Sheet]) -> Vec<String> {
    sheets
        .iter()
        .filter(|sheet| sheet.visible == calamine::SheetVisible::Visible)
        .map(|sheet| sheet.name.clone())
        .collect()
}

/// The sheets of a workbook read so far, and the rows with content they hold in all.
struct Sheets {
    max_rows: usize,
    rows: usize,
    read: Vec<(String, Grid)>,
}

impl Sheets {
    /// Reads one sheet's cells, given row by row; keeps it when it has a header row.
    fn read(
        &mut self,
        name: &str,
        cells: impl Iterator<Item = Result<(u32, u32, calamine::Data), ApiError>>,
        merged: &[calamine::Dimensions],
    ) -> Result<(), ApiError> {
        let mut grid = Grid {
            rows: Vec::new(),
            merged_down: merged
                .iter()
                .filter(|m| m.end.0 > m.start.0 && m.start.1 < MAX_COLUMNS)
                .map(|m| {
                    (
                        m.start.0 as usize + 1,
                        m.end.0 as usize + 1,
                        m.start.1 as usize,
                    )
                })
                .collect(),
        };
        for cell in cells {
            let (row, column, data) = cell?;
            let value = cell_of(data);
            if column >= MAX_COLUMNS || value == Cell::Empty {
                continue;
            }
            let number = row as usize + 1;
            if grid.rows.last().is_none_or(|(last, _)| *last != number) {
                self.rows += 1;
                if self.rows > self.max_rows + HEADER_SEARCH_ROWS * (self.read.len() + 1) {
                    return Err(ApiError::new(
                        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "the workbook has more than {} rows (at sheet '{name}'): split it \
                             into workbooks of fewer rows",
                            self.max_rows
                        ),
                    ));
                }
                grid.rows.push((number, Vec::new()));
            }
            if let Some((_, values)) = grid.rows.last_mut() {
                let at = column as usize;
                if values.len() <= at {
                    values.resize(at + 1, Cell::Empty);
                }
                values[at] = value;
            }
        }
        if header_row(&grid).is_some() {
            self.read.push((name.to_owned(), grid));
        } else {
            self.rows -= grid.rows.len();
        }
        Ok(())
    }
}

/// Refuses a workbook whose parts unpack to more than `limit` bytes, counting what they really
/// unpack to (a ZIP's declared sizes can lie), and stopping at the limit.
fn check_unpacked_size(bytes: &[u8], limit: u64) -> Result<(), ApiError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        ApiError::bad_request(format!(
            "the workbook cannot be read ({e}): save it as .xlsx and post it again"
        ))
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let part = archive.by_index(index).map_err(|e| unreadable(&e))?;
        let left = limit.saturating_sub(total);
        let unpacked = std::io::copy(
            &mut std::io::Read::take(part, left + 1),
            &mut std::io::sink(),
        )
        .map_err(|e| unreadable(&e))?;
        total += unpacked;
        if total > limit {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the workbook unpacks to more than {} MB: a result sheet is far smaller; \
                     split it or remove what is not results",
                    limit / (1024 * 1024)
                ),
            ));
        }
    }
    Ok(())
}

fn cell_of(data: calamine::Data) -> Cell {
    use calamine::Data;
    match data {
        Data::Empty | Data::Error(_) => Cell::Empty,
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => Cell::Text(text),
        Data::Int(n) => Cell::Number(n as f64),
        Data::Float(n) => Cell::Number(n),
        Data::Bool(b) => Cell::Bool(b),
        Data::DateTime(moment) => {
            let (year, month, day, ..) = moment.to_ymd_hms_milli();
            NaiveDate::from_ymd_opt(year.into(), month.into(), day.into())
                .map_or(Cell::Number(moment.as_f64()), Cell::Date)
        }
    }
}

/// A CSV as a grid of text cells, at most `max_rows` rows; `None` when it cannot be read as CSV
/// at all.
pub fn csv_grid(text: &str, max_rows: usize) -> Option<Grid> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut rows = Vec::new();
    for row in reader.records().take(max_rows) {
        let row = row.ok()?;
        let line = row.position().map_or(rows.len() + 1, |p| p.line() as usize);
        rows.push((line, row.iter().map(|c| Cell::Text(c.to_owned())).collect()));
    }
    Some(Grid {
        rows,
        merged_down: Vec::new(),
    })
}

/// The index in `grid.rows` of the header row: the first of the top rows naming enough columns.
pub fn header_row(grid: &Grid) -> Option<usize> {
    grid.rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .position(|(_, cells)| column_names(cells) >= HEADER_MIN_COLUMNS)
}

/// How many of `cells` name a result column.
fn column_names(cells: &[Cell]) -> usize {
    cells
        .iter()
        .filter(|cell| {
            text_of(cell)
                .and_then(|t| columns::result_column(&t))
                .is_some()
        })
        .count()
}

pub fn no_header(place: &str) -> ApiError {
    let expected: Vec<&str> = RESULT_COLUMNS
        .iter()
        .filter(|c| c.required)
        .map(|c| c.headers[0])
        .collect();
    ApiError::bad_request(format!(
        "{place} has a header row of result columns within its first {HEADER_SEARCH_ROWS} rows: \
         name the columns as bulletins do ({}…), or download the template from \
         GET /v1/results/template.xlsx",
        expected.join("、")
    ))
}

/// The names of the header row at `header`, with a second header row under merged cells taken in
/// (被抽样单位 over 名称 | 地址 reads 被抽样单位名称, 被抽样单位地址), and how many rows they take.
/// The row below is a second header row only when each of its names, after the name above it (a
/// merged cell's is at its left) or alone, names a column.
fn header_names(grid: &Grid, header: usize) -> (Vec<String>, usize) {
    let top: Vec<String> = grid.rows[header]
        .1
        .iter()
        .map(|cell| text_of(cell).unwrap_or_default())
        .collect();
    let Some((_, below)) = grid.rows.get(header + 1) else {
        return (top, 1);
    };
    let mut names = top.clone();
    let mut above = String::new();
    let (mut joined, mut unknown) = (0, 0);
    for (at, cell) in below.iter().enumerate() {
        if let Some(over) = top.get(at).filter(|over| !over.is_empty()) {
            above.clone_from(over);
        }
        let Some(sub) = text_of(cell) else { continue };
        // The joined name (被抽样单位 + 名称), else the part of the unit the header above heads
        // (生产单位 over 统一社会信用代码 is the producer's code, not the sampled unit's that
        // 统一社会信用代码 alone names), else the sub-header alone.
        let under_unit = columns::unit_part(&sub)
            .and_then(|part| columns::unit_part_header(&above, part))
            .map(str::to_owned);
        // 不合格项目 over 项目名称 | 标准值 | 实测值: the item's name, its values.
        let whole = format!("{above}{sub}");
        let joined_once = whole.replace("项目项目", "项目");
        let name = [
            Some(whole.clone()),
            Some(joined_once),
            under_unit,
            Some(sub),
        ]
        .into_iter()
        .flatten()
        .find(|name| columns::result_column(name).is_some());
        if names.len() <= at {
            names.resize(at + 1, String::new());
        }
        match name {
            Some(name) => {
                names[at] = name;
                joined += 1;
            }
            // A sub-header the system does not read (联系电话 under 被抽样单位信息): a column
            // left out, under its whole name.
            None => {
                names[at] = whole;
                unknown += 1;
            }
        }
    }
    // A second header row names columns, most of them: a row of data names none or few.
    if joined >= 2 && unknown * 2 <= joined {
        (names, 2)
    } else {
        (top, 1)
    }
}

/// What a sheet's name and title say of all its rows: bulletins list 不合格产品 and 合格产品
/// apart, often without a 检验结论 column, and 跟踪抽查 (follow-up checks) on a list of their own.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct SheetList {
    verdict: Option<Verdict>,
    follow_up: bool,
    /// The domain the title names (2026年流通领域…抽查结果), for a sheet without a column saying it.
    domain: Option<SamplingDomain>,
    /// A list of products the label's producer denies making (涉嫌假冒产品名单, 经标称生产企业
    /// 确认非其生产的产品), not one that includes or leaves them out (含涉嫌假冒…).
    counterfeit: bool,
    /// A list of re-tests (复检) or re-checks (复查) of earlier spot checks (…不合格企业复查结果),
    /// whose rows open no case, for a sheet without a 检验类别 column saying otherwise.
    second_test: Option<TestKind>,
}

impl SheetList {
    fn of(name: Option<&str>, above_header: &[(usize, Vec<Cell>)]) -> Self {
        // The sheet's name and its title rows; not a note above the table (注：标*的为跟踪抽查,
        // 对检验结论有异议的，可…申请复检), which speaks of some rows or of what may follow.
        let titles: Vec<String> = name
            .into_iter()
            .map(str::to_owned)
            .chain(
                above_header
                    .iter()
                    .flat_map(|(_, cells)| cells.iter().filter_map(text_of)),
            )
            .filter(|text| !is_note(text))
            .collect();
        let text = titles.concat();
        // Each title's verdict; one naming both (抽查结果（合格及不合格）, over 一、不合格产品)
        // speaks of the whole bulletin and says neither.
        let (mut failing, mut passing) = (false, false);
        for title in &titles {
            let fails = title.contains("不合格");
            let passes = title.replace("不合格", "").contains("合格");
            failing |= fails && !passes;
            passing |= passes && !fails;
        }
        Self {
            verdict: match (failing, passing) {
                (true, false) => Some(Verdict::Fail),
                (false, true) => Some(Verdict::Pass),
                _ => None,
            },
            // A list of follow-ups, not one that includes them (含跟踪抽查).
            follow_up: text.contains("跟踪抽查") && !names_as_part(&text, "跟踪抽查"),
            domain: columns::domain_in_title(&text),
            // A list of counterfeits, not one that includes or leaves them out (不含涉嫌假冒).
            counterfeit: columns::counterfeit_in_remarks(&text) && !names_as_part(&text, "假冒"),
            // A list of re-tests or re-checks of earlier spot checks (…不合格企业整改复查结果).
            second_test: titles
                .iter()
                .map(|title| columns::test_kind_from_zh(title))
                .find(|kind| matches!(kind, TestKind::Retest | TestKind::Recheck)),
        }
    }
}

/// Whether a title names `what` only as a part of its list, included or left out (含跟踪抽查,
/// 及涉嫌假冒, 不含假冒, 除涉嫌假冒), not as the list it is.
fn names_as_part(text: &str, what: &str) -> bool {
    text.match_indices(what).any(|(at, _)| {
        let before = text[..at].trim_end_matches("涉嫌");
        before.ends_with(['含', '及', '和', '除'])
    })
}

/// Whether a cell above a table is a note rather than a title: it begins as notes do (注：,
/// 说明, 备注, *), or tells how to object (对检验结论有异议的，可…申请复检; not the title of a
/// list of 异议复检 results).
fn is_note(text: &str) -> bool {
    let text = text.trim_start();
    let marked = ["说明", "备注", "附注", "填表说明", "*", "※", "★"]
        .iter()
        .any(|mark| text.starts_with(mark))
        || text.strip_prefix('注').is_some_and(|rest| {
            rest.starts_with(['：', ':', '（', '(', ' ', '\u{3000}'])
                || rest.starts_with(|c: char| c.is_ascii_digit())
        });
    marked || text.contains("有异议") || (text.contains('可') && text.contains("申请"))
}

/// The results of a sheet (named `name`, for a workbook's) whose header row is
/// `grid.rows[header]`, posted by lab `lab_id`. A sheet without a 检验结论 column whose name or
/// title says which list it is (不合格产品 / 合格产品) gives its rows that verdict; one that says
/// 跟踪抽查, without a 跟踪抽查 column, marks its rows as follow-up checks.
pub fn result_records(
    grid: &Grid,
    header: usize,
    lab_id: &str,
    name: Option<&str>,
) -> Result<Sheet, ApiError> {
    let tables = tables_of(grid, header);
    let (Some(first), rest @ [_, ..]) = (tables.first(), tables.get(1..).unwrap_or_default())
    else {
        return table_records(grid, header, lab_id, name);
    };
    // One sheet, several lists (一、不合格产品 … 二、合格产品 …), each under a header of its own:
    // each list is read with the rows above its header only (its own title), never another's.
    let mut sheet = table_records(
        &Grid {
            rows: grid.rows[..first.end].to_vec(),
            merged_down: grid.merged_down.clone(),
        },
        header,
        lab_id,
        name,
    )?;
    let mut columns = SheetColumns::default();
    columns.add(&sheet.columns);
    for table in rest {
        let mut rows = grid.rows[table.titles.clone()].to_vec();
        rows.extend_from_slice(&grid.rows[table.header..table.end]);
        let part = table_records(
            &Grid {
                rows,
                merged_down: grid.merged_down.clone(),
            },
            table.titles.len(),
            lab_id,
            name,
        )?;
        sheet.records.extend(part.records);
        columns.add(&part.columns);
        for header in part.ignored {
            if !sheet.ignored.contains(&header) {
                sheet.ignored.push(header);
            }
        }
    }
    sheet.columns = Arc::new(columns);
    Ok(sheet)
}

/// One table of a sheet: its title rows, its header at `header`, its rows up to `end`.
struct Table {
    titles: std::ops::Range<usize>,
    header: usize,
    end: usize,
}

/// The tables of a sheet whose first header is at `header`: a row below that names as many
/// columns as a header does begins another, with the short rows right above it (二、合格产品) as
/// its title; a header repeated without such rows (at a page break) goes on with the list above
/// and its title.
fn tables_of(grid: &Grid, header: usize) -> Vec<Table> {
    let first_names = column_names(&grid.rows[header].1);
    let is_header = |cells: &[Cell]| column_names(cells) >= HEADER_MIN_COLUMNS.max(first_names / 2);
    let is_title = |cells: &[Cell]| cells.iter().filter(|c| text_of(c).is_some()).count() <= 2;
    let mut tables = vec![Table {
        titles: 0..header,
        header,
        end: grid.rows.len(),
    }];
    let (_, header_rows) = header_names(grid, header);
    let mut at = header + header_rows;
    while at < grid.rows.len() {
        if is_header(&grid.rows[at].1) {
            let previous = tables.last().map_or(0, |t| t.header);
            let mut first = at;
            while first > previous + 1 && is_title(&grid.rows[first - 1].1) {
                first -= 1;
            }
            let titles = match tables.last_mut() {
                Some(last) => {
                    last.end = first;
                    if first == at {
                        last.titles.clone()
                    } else {
                        first..at
                    }
                }
                None => first..at,
            };
            tables.push(Table {
                titles,
                header: at,
                end: grid.rows.len(),
            });
            let (_, header_rows) = header_names(grid, at);
            at += header_rows;
            continue;
        }
        at += 1;
    }
    tables
}

/// The results of one table: the sheet's name and the rows above `header` say what list it is.
fn table_records(
    grid: &Grid,
    header: usize,
    lab_id: &str,
    name: Option<&str>,
) -> Result<Sheet, ApiError> {
    let list = SheetList::of(name, &grid.rows[..header]);
    let header_line = grid.rows[header].0;
    let (header_names, header_rows) = header_names(grid, header);
    let mut layout: Vec<Option<&'static Column>> = Vec::with_capacity(header_names.len());
    let mut read = SheetColumns::default();
    let mut ignored = Vec::new();
    let mut ranks = Vec::with_capacity(header_names.len());
    // A ledger giving each tested item a row (检验项目, 单项判定) says its measured value in 检验结果.
    // Without a 单项判定, its 结论 or 判定 is each item's verdict.
    let names = |path: &str| {
        header_names
            .iter()
            .any(|h| columns::result_column(h).is_some_and(|c| c.path == path))
    };
    let (item_rows, item_verdicts) = (names("item.name"), names("item.verdict"));
    for header in header_names {
        let column = match columns::result_column(&header) {
            Some(column)
                if item_rows
                    && column.kind == CellKind::Verdict
                    && matches!(header.trim(), "检验结果" | "检测结果") =>
            {
                columns::result_column("实测值")
            }
            _ if item_rows
                && !item_verdicts
                && matches!(header.trim(), "结论" | "判定" | "判定结果") =>
            {
                columns::result_column("单项判定")
            }
            column => column,
        };
        // Two columns of one field under different names (检验日期 and 签发日期, 被抽样单位地址
        // and 抽样地点), as ledgers and sampling forms have: each row takes the one its
        // column's names prefer that it fills ([`row_record`]). The same name twice says
        // nothing of which is meant.
        ranks.push(column.map_or(0, |c| columns::header_rank(c, &header)));
        match column {
            Some(column) if !matches!(column.kind, CellKind::Ignored | CellKind::Remarks) => {
                if let Some((_, other)) = read.read.iter().find(|(path, _)| *path == column.path) {
                    if columns::normalize_header(other) == columns::normalize_header(&header) {
                        return Err(ApiError::bad_request(format!(
                            "row {header_line}: two columns are named {header}: keep one"
                        )));
                    }
                } else {
                    read.read.push((column.path, header.trim().to_owned()));
                }
            }
            None if !header.trim().is_empty() => ignored.push(header.trim().to_owned()),
            Some(_) | None => {}
        }
        layout.push(column.filter(|c| c.kind != CellKind::Ignored));
    }
    let has = |path: &str| read.read.iter().any(|(p, _)| *p == path);
    // What every row takes from the sheet: the caller's lab, and what the list says.
    let mut by_list = Map::new();
    by_list.insert("lab_id".into(), Value::String(lab_id.to_owned()));
    if let Some(verdict) = list.verdict.filter(|_| !has("verdict")) {
        by_list.insert("verdict".into(), Value::String(verdict.as_str().into()));
    }
    // The domain the title names, else online when the sheet has columns only an online
    // sampling has (网店名称, 电商平台).
    let online = ignored.iter().any(|h| columns::names_an_online_shop(h));
    if let Some(domain) = list
        .domain
        .or(online.then_some(SamplingDomain::Ecommerce))
        .filter(|_| !has("sampling.domain") && !has("sampled_unit.role"))
    {
        by_list.insert(
            "sampling.domain".into(),
            Value::String(domain.as_str().into()),
        );
    }
    if list.follow_up && !has("follow_up") {
        by_list.insert("follow_up".into(), Value::Bool(true));
    }
    if list.counterfeit && !has("suspected_counterfeit") {
        by_list.insert("suspected_counterfeit".into(), Value::Bool(true));
    }
    // Each tested item's verdict gives the result's when no column or title says it: one
    // failed item fails the product.
    let verdict_of_items =
        !has("verdict") && !by_list.contains_key("verdict") && has("item.verdict");
    if has("item.name") && !has("item.verdict") && !has("items") {
        return Err(ApiError::bad_request(format!(
            "the header row (row {header_line}) has a column of tested items ({}) but none saying \
             whether each passed: add 单项判定 (合格 or 不合格) beside it, or give the failed \
             items in 不合格项目",
            read.header_of("item.name").unwrap_or("检验项目")
        )));
    }
    let missing: Vec<String> = RESULT_COLUMNS
        .iter()
        .filter(|c| c.required && !has(c.path) && !by_list.contains_key(c.path))
        .filter(|c| !(verdict_of_items && c.path == "verdict"))
        // A ledger that keeps the production date alone: it is the batch.
        .filter(|c| !(c.path == "product.batch" && has("product.production_date")))
        .map(|c| {
            if c.headers.len() > 1 {
                format!("{}（或：{}）", c.headers[0], c.headers[1..].join("、"))
            } else {
                c.headers[0].to_owned()
            }
        })
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::bad_request(format!(
            "the header row (row {header_line}) has no column for: {}",
            missing.join("; ")
        )));
    }
    let mut rows: Vec<(usize, Cow<[Cell]>)> = grid.rows[header + header_rows..]
        .iter()
        .map(|(line, cells)| (*line, Cow::Borrowed(cells.as_slice())))
        .collect();
    fill_merged_down(&mut rows, &grid.merged_down);
    fill_item_rows(&mut rows, &layout);
    let records = rows
        .iter()
        .filter(|(_, cells)| {
            // Not a row of the table: empty, or a filler such as 以下空白 under the last one.
            cells.iter().zip(&layout).any(|(cell, column)| {
                column.is_some_and(|c| !matches!(c.kind, CellKind::Ignored | CellKind::Remarks))
                    && text_of(cell).is_some_and(|text| !is_none_mark(&text))
            })
        })
        .map(|(line, cells)| {
            let mut record = row_record(*line, cells, (&layout, &ranks), &read, &by_list);
            if let Some(kind) = list.second_test.filter(|_| !has("")) {
                let why = not_a_spot_check(kind, "the sheet's name or title");
                record.problems.push(FieldError::new("", why));
            }
            record
        })
        .collect();
    let mut records = merge_item_rows(records);
    if verdict_of_items {
        for record in &mut records {
            if let Ok(Value::Object(value)) = &mut record.value
                && let Some(verdict) = verdict_of(value.get("items"))
            {
                value
                    .entry("verdict")
                    .or_insert(Value::String(verdict.into()));
            }
        }
    }
    Ok(Sheet {
        records,
        columns: Arc::new(read),
        ignored,
    })
}

/// Adds `item` to a result's `items`, or what it says to the item of its name already there (a
/// name given twice in a row's columns, a row copied, 不合格项目 merged over the rows that give
/// each item's values). The same name under another clause is another item.
fn add_item(items: &mut Vec<Value>, item: Value) {
    let Value::Object(fields) = item else {
        items.push(item);
        return;
    };
    let same = items
        .iter_mut()
        .filter_map(Value::as_object_mut)
        .find(|seen| {
            seen.get("name") == fields.get("name")
                && match (seen.get("clause"), fields.get("clause")) {
                    (Some(one), Some(other)) => one == other,
                    _ => true,
                }
        });
    match same {
        Some(seen) => {
            for (field, value) in fields {
                seen.entry(field).or_insert(value);
            }
        }
        None => items.push(Value::Object(fields)),
    }
}

/// The verdict a result's tested items give: `fail` when one failed, `pass` when all passed.
fn verdict_of(items: Option<&Value>) -> Option<&'static str> {
    let verdicts: Vec<&str> = items?
        .as_array()?
        .iter()
        .filter_map(|item| item.get("verdict")?.as_str())
        .collect();
    if verdicts.contains(&"fail") {
        Some("fail")
    } else {
        (!verdicts.is_empty()).then_some("pass")
    }
}

/// Whether a column holds what a bulletin gives each failed item a row for: the item, its
/// values, its class.
fn is_item_column(column: Option<&Column>) -> bool {
    column.is_some_and(|c| {
        matches!(
            c.kind,
            CellKind::FailedItems
                | CellKind::ItemDetail
                | CellKind::ItemVerdict
                | CellKind::Severity
        )
    })
}

/// A row that holds a failed item and nothing else the table reads (the product's cells left
/// blank under the row that gives them, as exports of merged tables do, or only some repeated,
/// as the report number) takes those cells from the row above: it is that result's next item.
fn fill_item_rows(rows: &mut [(usize, Cow<[Cell]>)], layout: &[Option<&'static Column>]) {
    let filled = |cell: Option<&Cell>| cell.and_then(text_of).is_some();
    for at in 1..rows.len() {
        let cells = &rows[at].1;
        // A failed item, not a filler (以下空白) or a none (无不合格项目), or a tested item.
        let holds_item = layout.iter().enumerate().any(|(col, column)| {
            column.is_some_and(|c| c.kind == CellKind::FailedItems || c.path == "item.name")
                && cells
                    .get(col)
                    .and_then(text_of)
                    .is_some_and(|text| !is_none_mark(&text) && !says_none_failed(&text))
        });
        // Nothing of another result: the product's cells blank but for the report number the
        // row above has (written on each item's row).
        let above = rows[at - 1].1.clone().into_owned();
        let holds_more = layout.iter().enumerate().any(|(col, column)| {
            column.is_some_and(|c| c.kind != CellKind::Remarks)
                && !is_item_column(*column)
                && filled(cells.get(col))
                && !(column.is_some_and(|c| c.path == "report_no")
                    && cells.get(col).and_then(text_of) == above.get(col).and_then(text_of))
        });
        if !holds_item || holds_more {
            continue;
        }
        let row = rows[at].1.to_mut();
        for (col, column) in layout.iter().enumerate() {
            if column.is_some() && !is_item_column(*column) && !filled(row.get(col)) {
                if row.len() <= col {
                    row.resize(col + 1, Cell::Empty);
                }
                row[col] = above.get(col).cloned().unwrap_or(Cell::Empty);
            }
        }
    }
}

/// Rows of one result that differ only in their failed item (a bulletin gives each failed item
/// a row, the product's cells merged over them) are one result with every item. When the rows
/// give different classes (不合格项目类别 on each row), each is its row's item's and the most
/// serious is the result's; one class on every row is the result's.
fn merge_item_rows(records: Vec<Submitted>) -> Vec<Submitted> {
    /// The record without its items and class, when it is a result with failed items.
    fn rest(record: &Submitted) -> Option<Map<String, Value>> {
        let Ok(Value::Object(value)) = &record.value else {
            return None;
        };
        if !record.problems.is_empty() || !value.contains_key("items") {
            return None;
        }
        let mut rest = value.clone();
        rest.remove("items");
        rest.remove("severity");
        Some(rest)
    }
    let mut groups: Vec<Vec<Submitted>> = Vec::new();
    for record in records {
        let joins = groups
            .last()
            .and_then(|group| group.last())
            .is_some_and(|last| match (rest(last), rest(&record)) {
                (Some(above), Some(this)) => above == this && this.contains_key("report_no"),
                _ => false,
            });
        match groups.last_mut() {
            Some(group) if joins => group.push(record),
            _ => groups.push(vec![record]),
        }
    }
    groups
        .into_iter()
        .map(|mut group| {
            if group.len() == 1 {
                return group.remove(0);
            }
            let values: Vec<Map<String, Value>> = group
                .iter()
                .filter_map(|r| match &r.value {
                    Ok(Value::Object(value)) => Some(value.clone()),
                    _ => None,
                })
                .collect();
            let classes: Vec<Option<&Value>> = values.iter().map(|v| v.get("severity")).collect();
            let per_item = classes.windows(2).any(|pair| pair[0] != pair[1]);
            let mut items = Vec::new();
            for value in &values {
                let mut row_items = value
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if per_item
                    && let ([Value::Object(item)], Some(class)) =
                        (row_items.as_mut_slice(), value.get("severity"))
                {
                    item.entry("severity").or_insert(class.clone());
                }
                // A row repeated as it is (copied twice) adds nothing, nor an item named again
                // (不合格项目 merged over the rows that give each item's values): one item with
                // what each says of it. The same name under another clause is another item.
                for item in row_items {
                    add_item(&mut items, item);
                }
            }
            let mut first = group.remove(0);
            if let Ok(Value::Object(value)) = &mut first.value {
                value.insert("items".into(), Value::Array(items));
                if per_item {
                    // The items' classes give the result's (the most serious).
                    value.remove("severity");
                }
            }
            first
        })
        .collect()
}

/// Gives each of the table's `rows` what a cell merged down over it holds: the value in the
/// merge's first row. A merge that begins above the table (in the title or header rows) is the
/// header's own and is left out. Merges of one column that overlap (a valid workbook has none)
/// are taken first come, so the work stays one pass over the rows per column however many
/// merges a workbook lists.
fn fill_merged_down(rows: &mut [(usize, Cow<[Cell]>)], merges: &[(usize, usize, usize)]) {
    let mut merges = merges.to_vec();
    merges.sort_unstable_by_key(|&(first, _, column)| (column, first));
    let mut reach: Option<(usize, usize)> = None;
    for (first, last, column) in merges {
        if reach.is_some_and(|(col, end)| col == column && first <= end) {
            continue;
        }
        reach = Some((column, last));
        let Ok(top) = rows.binary_search_by_key(&first, |(line, _)| *line) else {
            continue;
        };
        let value = match rows[top].1.get(column) {
            Some(value) if *value != Cell::Empty => value.clone(),
            _ => continue,
        };
        let end = rows.partition_point(|(line, _)| *line <= last);
        for (_, cells) in &mut rows[top + 1..end] {
            if cells.get(column).is_some_and(|cell| *cell != Cell::Empty) {
                continue;
            }
            let row = cells.to_mut();
            if row.len() <= column {
                row.resize(column + 1, Cell::Empty);
            }
            row[column] = value.clone();
        }
    }
}

/// One row's record. `layout` is each column's field and the rank of its name among the
/// field's ([`columns::header_rank`]): of two columns of one field the row fills, the better
/// ranked gives the value (an equal rank: the later column, as one column's date and another's
/// production date), but of two dates of the report (检验日期, 签发日期) the later, from which
/// the objection window runs when the service is not known.
fn row_record(
    line: usize,
    cells: &[Cell],
    (layout, ranks): (&[Option<&'static Column>], &[usize]),
    columns: &SheetColumns,
    by_sheet: &Map<String, Value>,
) -> Submitted {
    let mut root = Map::new();
    let mut problems = Vec::new();
    let mut given: Vec<(&str, usize)> = Vec::new();
    let mut notes = Vec::new();
    for ((cell, column), &rank) in cells.iter().zip(layout).zip(ranks) {
        let Some(column) = column else { continue };
        if text_of(cell).is_none() {
            continue;
        }
        match read_cell(column, cell) {
            Ok(values) => {
                for (path, value) in values {
                    if path == NOTES {
                        notes.push(value);
                        continue;
                    }
                    let takes = match given.iter().find(|(p, _)| *p == path) {
                        None => true,
                        Some(_) if path == "tested_on" => {
                            root.get(path).and_then(Value::as_str) < value.as_str()
                        }
                        Some(&(_, before)) => rank <= before,
                    };
                    if takes {
                        insert_path(&mut root, path, value);
                        given.retain(|(p, _)| *p != path);
                        given.push((path, rank));
                    }
                }
            }
            Err(message) => problems.push(FieldError::new(column.path, message)),
        }
    }
    // A production date or month (labels print 2025年12月) is the batch where the row gives
    // no code: the batch key reads a date as one.
    if let Some(product) = root.get_mut("product").and_then(Value::as_object_mut) {
        let month = product.remove("month");
        let made = month.or_else(|| product.get("production_date").cloned());
        if let Some(made) = made
            && product
                .get("batch")
                .and_then(Value::as_str)
                .is_none_or(is_none_mark)
        {
            product.insert("batch".into(), made);
        }
    }
    let mut details = match root.remove("item") {
        Some(Value::Object(details)) => details,
        _ => Map::new(),
    };
    // A row of one tested item (检验项目 with its 单项判定, a lab's ledger giving each item a
    // row): that item, passed or failed, with its values; its class (不合格类别) is the item's.
    // An item not judged (单项判定 `/`, not applicable) adds nothing, and its values are no
    // failed item's.
    if details.contains_key("name") {
        let mut item = std::mem::take(&mut details);
        let class = root.remove("severity");
        let items = root
            .entry("items")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(verdict) = item.get("verdict").and_then(Value::as_str)
            && let Some(items) = items.as_array_mut()
        {
            if let Some(class) = class.filter(|_| verdict == "fail") {
                item.insert("severity".into(), class);
            }
            // The same item named in 不合格项目 too: one item, with the row's values.
            add_item(items, Value::Object(item));
        }
    }
    // 标准值, 实测值, 标准条款 in columns of their own are the row's failed item's; for several
    // items, one value each in the same order (≤60K；≥1250V), else they are left out as before.
    if !details.is_empty()
        && let Some(items) = root.get_mut("items").and_then(Value::as_array_mut)
    {
        for (field, value) in details {
            let text = value.as_str().unwrap_or_default();
            let parts: Vec<&str> = match items.len() {
                1 => vec![text],
                _ => text.split([';', '；', '\n']).map(str::trim).collect(),
            };
            if parts.len() != items.len() {
                continue;
            }
            for (item, part) in items.iter_mut().zip(parts) {
                if let Some(item) = item.as_object_mut()
                    && !part.is_empty()
                    && !is_none_mark(part)
                {
                    item.entry(field.clone())
                        .or_insert_with(|| Value::String(part.to_owned()));
                }
            }
        }
    }
    // 检验结论 written 严重不合格 or 不合格（一般） says the severity, unless a column of its own does.
    let in_column = |kind: CellKind| {
        cells
            .iter()
            .zip(layout)
            .filter(move |(_, column)| column.is_some_and(|c| c.kind == kind))
            .filter_map(|(cell, _)| text_of(cell))
    };
    if !root.contains_key("severity")
        && let Some(severity) =
            in_column(CellKind::Verdict).find_map(|verdict| columns::severity_in_verdict(&verdict))
    {
        root.insert("severity".into(), Value::String(severity.as_str().into()));
    }
    // A table without a column of failed items whose verdict names them (不合格（最高车速、
    // 制动性能）, 不合格：标识): those are the items.
    let tested_items = layout.iter().flatten().any(|c| c.path == "item.name");
    let items_column = tested_items
        || layout
            .iter()
            .flatten()
            .any(|c| c.kind == CellKind::FailedItems);
    // In a table of tested items, a row of the product alone (its items on the rows under it)
    // is a result whose items are yet to come.
    if tested_items && !root.contains_key("items") {
        root.insert("items".into(), Value::Array(Vec::new()));
    }
    if !items_column
        && !root.contains_key("items")
        && let Some(said) = in_column(CellKind::Verdict).find_map(|v| items_in_verdict(&v))
    {
        match failed_items(&said) {
            Ok(items) => {
                root.insert("items".into(), Value::Array(items));
            }
            Err(message) => problems.push(FieldError::new("verdict", message)),
        }
    }
    // A counterfeit written in 备注, as bulletins do, or beside the verdict (不合格（涉嫌假冒）),
    // unless a column of its own says.
    if !root.contains_key("suspected_counterfeit")
        && in_column(CellKind::Remarks)
            .chain(in_column(CellKind::Verdict))
            .any(|said| columns::counterfeit_in_remarks(&said))
    {
        root.insert("suspected_counterfeit".into(), Value::Bool(true));
    }
    // A follow-up (exempt from the six-month rule) marked in 备注, or beside the verdict
    // (不合格（跟踪抽查）), unless a column says.
    if !root.contains_key("follow_up")
        && (in_column(CellKind::Remarks).any(|remark| columns::follow_up_in_remarks(&remark))
            || in_column(CellKind::Verdict).any(|verdict| columns::follow_up_in_verdict(&verdict)))
    {
        root.insert("follow_up".into(), Value::Bool(true));
    }
    // What the sheet says of all its rows (`sampling.domain`: one level down at most), where
    // the row does not say otherwise.
    for (path, value) in by_sheet {
        let present = match path.split_once('.') {
            Some((object, field)) => root
                .get(object)
                .and_then(Value::as_object)
                .is_some_and(|object| object.contains_key(field)),
            None => root.contains_key(path),
        };
        if !present {
            insert_path(&mut root, path, value.clone());
        }
    }
    // A row refused as a whole (a test that is no spot check) says that alone.
    if !problems.iter().any(|p| p.field.is_empty()) {
        infer(&mut root, &mut problems);
    }
    columns.name_columns(&mut problems);
    Submitted {
        problems,
        notes,
        ..Submitted::new(line, Ok(Value::Object(root)))
    }
}

/// What the sheet leaves out but its other cells tell: the category from the product's name,
/// the sampled unit's district from its address, name or code ([`columns::district_of_unit`]),
/// the sampling domain from the unit's role and the role from the domain.
fn infer(root: &mut Map<String, Value>, problems: &mut Vec<FieldError>) {
    let failed = |path: &str, problems: &[FieldError]| problems.iter().any(|p| p.field == path);
    // A name cell that holds the address too: the name alone, and the address where the sheet
    // gives none of its own.
    for unit in ["producer", "sampled_unit"] {
        let Some(fields) = root.get_mut(unit).and_then(Value::as_object_mut) else {
            continue;
        };
        let written = fields
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some((name, address)) = columns::name_and_address(written) {
            let (name, address) = (name.to_owned(), address.to_owned());
            fields.insert("name".into(), Value::String(name));
            fields.entry("address").or_insert(Value::String(address));
        }
    }
    let unit = root.get("sampled_unit");
    let said = |field: &str| unit.and_then(|u| u.get(field)).and_then(Value::as_str);
    if said("district").is_none()
        && !failed("sampled_unit.district", problems)
        && let Some(district) =
            columns::district_of_unit(said("address"), said("name"), said("uscc"))
    {
        insert_path(root, "sampled_unit.district", Value::String(district));
    }
    if root.get("category").is_none() && !failed("category", problems) {
        let name = root
            .get("product")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        match name.as_deref().map(category_of_product) {
            Some(Some(category)) => {
                root.insert("category".into(), Value::String(category.as_str().into()));
            }
            Some(None) => problems.push(FieldError::new(
                "category",
                format!(
                    "产品类别 is not given and the product name '{}' does not tell it: add a \
                     产品类别 column with one of {}",
                    name.unwrap_or_default(),
                    category_names()
                ),
            )),
            // No product name: the validator reports that.
            None => {}
        }
    }
    let text_at = |root: &Map<String, Value>, object: &str, field: &str| {
        root.get(object)
            .and_then(|o| o.get(field))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let domain = text_at(root, "sampling", "domain").and_then(|d| d.parse::<SamplingDomain>().ok());
    let role = text_at(root, "sampled_unit", "role").and_then(|r| r.parse::<UnitRole>().ok());
    match (domain, role) {
        (Some(domain), None) if !failed("sampled_unit.role", problems) => insert_path(
            root,
            "sampled_unit.role",
            Value::String(role_of_domain(domain).as_str().into()),
        ),
        (None, Some(role)) if !failed("sampling.domain", problems) => insert_path(
            root,
            "sampling.domain",
            Value::String(domain_of_role(role).as_str().into()),
        ),
        (None, None)
            if !failed("sampling.domain", problems) && !failed("sampled_unit.role", problems) =>
        {
            let sampled = text_at(root, "sampled_unit", "name").unwrap_or_default();
            let producer = text_at(root, "producer", "name").unwrap_or_default();
            match columns::domain_of_names(&sampled, &producer) {
                Some(domain) => {
                    insert_path(
                        root,
                        "sampling.domain",
                        Value::String(domain.as_str().into()),
                    );
                    insert_path(
                        root,
                        "sampled_unit.role",
                        Value::String(role_of_domain(domain).as_str().into()),
                    );
                }
                None => problems.push(FieldError::new(
                    "sampling.domain",
                    "neither 抽查领域 nor 被抽样单位类型 is given, and the sampled unit's name does \
                     not say (it is not the producer, nor named as a shop): fill 抽查领域 with \
                     生产, 流通 or 电商",
                )),
            }
        }
        _ => {}
    }
}

fn category_names() -> String {
    Category::ALL
        .iter()
        .map(|c| c.name_zh())
        .collect::<Vec<_>>()
        .join("、")
}

/// The values a cell gives: (JSON path, value) pairs, or why it cannot be read.
fn read_cell(column: &Column, cell: &Cell) -> Result<Vec<(&'static str, Value)>, String> {
    let text = text_of(cell).unwrap_or_default();
    let one = |value: String| Ok(vec![(column.path, Value::String(value))]);
    let unknown = |allowed: String| {
        Err(format!(
            "'{text}' is not a value of {}: use {allowed}",
            column.headers[0]
        ))
    };
    // "/" or "—" in an optional cell means "none" in bulletins: a pass row's 不合格程度, a
    // 生产日期 where only the batch is known, a report not yet served. A flag's none is "no".
    if !column.required && is_none_mark(&text) {
        return Ok(match column.kind {
            CellKind::Flag => vec![(column.path, Value::Bool(false))],
            _ => Vec::new(),
        });
    }
    match column.kind {
        CellKind::Ignored | CellKind::Remarks => Ok(Vec::new()),
        CellKind::CheckType => match columns::test_kind_from_zh(&text) {
            TestKind::SpotCheck { follow_up: true } => Ok(vec![("follow_up", Value::Bool(true))]),
            TestKind::SpotCheck { follow_up: false } => Ok(Vec::new()),
            other => Err(not_a_spot_check(
                other,
                &format!("{} '{text}'", column.headers[0]),
            )),
        },
        // A code cell says in words that there is none (个体户无代码, 未提供), or says whose
        // it is after it (91…（经营者：张某）): no digit, no code; the bracket is no part of it.
        CellKind::Text if column.path.ends_with(".uscc") => {
            let code = text.split(['（', '(']).next().unwrap_or_default().trim();
            // A keeper's identity number or an old registration number where an individual
            // business has no credit code: no code (the unit is identified by its name), the
            // number not kept, and the caller told.
            let no_code = match spotcheck_schemas::Uscc::parse(code) {
                Err(UsccError::IdentityCardNumber) => Some("公民身份号码"),
                Err(UsccError::RegistrationNumber) => Some("注册号"),
                _ => None,
            };
            if let Some(number) = no_code {
                Ok(vec![(
                    NOTES,
                    serde_json::json!({
                        "kind": "code_left_out",
                        "field": column.path,
                        "message": format!(
                            "{} holds a {number}, not a 统一社会信用代码: left out (not kept); \
                             the unit is identified by its name and address",
                            column.headers[0]
                        ),
                    }),
                )])
            } else if code
                .chars()
                .any(|c| c.is_ascii_digit() || ('０'..='９').contains(&c))
            {
                one(code.to_owned())
            } else {
                Ok(Vec::new())
            }
        }
        CellKind::Text | CellKind::ItemDetail => one(text),
        CellKind::Date => match date_of(cell) {
            Some(date) => one(date.to_string()),
            None if column.path == "served_on" && not_served_yet(&text) => Err(format!(
                "'{text}': the report is not served yet, and the objection window runs from \
                 service: post this row once it is served, with the date (an empty 送达日期 is \
                 taken as not known, and the window counted from the report's date)"
            )),
            // A label's month (生产日期 2025年12月) is no day: it identifies the batch, where
            // the row gives no batch code ([`row_record`]).
            None if is_month(&text) && column.path == "product.production_date" => {
                Ok(vec![("product.month", Value::String(text.clone()))])
            }
            None => Err(format!(
                "'{text}' is not a date: write it as 2026-03-05 or 2026年3月5日"
            )),
        },
        CellKind::DateOrBatch => {
            let (batch, date) = match cell {
                Cell::Date(date) => (date.to_string(), Some(*date)),
                // A plain number here is a batch number (30123), not a date cell that lost its
                // format, as it may be in a column of dates only.
                Cell::Number(n) if n.abs() < 1e7 => (text.clone(), None),
                Cell::Text(written) => batch_and_date(written),
                _ => (text.clone(), date_of(cell)),
            };
            let mut values = vec![(column.path, Value::String(batch))];
            if let Some(date) = date {
                values.push(("product.production_date", Value::String(date.to_string())));
            }
            Ok(values)
        }
        CellKind::Category => match columns::category_from_zh(&text) {
            Some(category) => one(category.as_str().into()),
            None => unknown(category_names()),
        },
        CellKind::District => match columns::district_from_zh(&text) {
            Some(code) => one(code),
            // The city alone (天津市) names no district: the address, name or code may.
            None if matches!(text.trim(), "天津市" | "天津") => Ok(Vec::new()),
            None => Err(format!(
                "'{text}' is not a district of Tianjin: write the district's name (南开区) or its \
                 six-digit GB/T 2260 code"
            )),
        },
        CellKind::Role => match columns::role_from_zh(&text) {
            Some(role) => one(role.as_str().into()),
            // 单位类型 in a ledger is often the unit's legal form (个体工商户, 有限责任公司),
            // which says nothing of its role: the domain or the names tell it.
            None if is_legal_form(&text) => Ok(Vec::new()),
            None => unknown("生产企业、经销商、零售商 or 电商".into()),
        },
        CellKind::Domain => match columns::domain_from_zh(&text) {
            Some(domain) => one(domain.as_str().into()),
            None => unknown("生产、流通 or 电商".into()),
        },
        // An item's 符合 or 不符合 is its verdict (the result's is refused: 基本符合 hides there).
        CellKind::ItemVerdict => match columns::verdict_from_zh(&text) {
            Some(verdict) => one(verdict.as_str().into()),
            None => unknown("合格 or 不合格 (符合 or 不符合)".into()),
        },
        CellKind::Verdict => match columns::verdict_from_zh(&text) {
            Some(verdict) => one(verdict.as_str().into()),
            // 不合格（经复检维持原结论）, 复检合格: the re-test's conclusion is the case's.
            None if text.contains("复检") => Err(format!(
                "'{text}' speaks of a re-test (复检): write the first test's verdict here (合格 \
                 or 不合格); the re-test's conclusion goes on the result's case as a \
                 retest_concluded record (upheld or overturned), which the bureau enters"
            )),
            None => unknown("合格 or 不合格".into()),
        },
        CellKind::Severity => match columns::severity_of_classes(&text) {
            Some(severity) => one(severity.as_str().into()),
            None => unknown("严重不合格 or 一般不合格".into()),
        },
        CellKind::Level => match columns::level_from_zh(&text) {
            Some(level) => one(level.as_str().into()),
            None => unknown("国家级、省级、市级 or 区级".into()),
        },
        CellKind::Flag => match cell {
            Cell::Bool(flag) => Ok(vec![(column.path, Value::Bool(*flag))]),
            _ => match columns::flag_from_zh(&text) {
                Some(flag) => Ok(vec![(column.path, Value::Bool(flag))]),
                None => unknown("是 or 否".into()),
            },
        },
        CellKind::Standards => Ok(vec![(
            column.path,
            Value::Array(
                split_top_level(&text, &[';', '；', '\n', '、'])
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            ),
        )]),
        // A pass row's 无不合格项目 or 所检项目均合格: no failed item, as `/` says.
        CellKind::FailedItems if says_none_failed(&text) => Ok(Vec::new()),
        CellKind::FailedItems => Ok(vec![(column.path, Value::Array(failed_items(&text)?))]),
    }
}

/// Why a row is refused whose test (`kind`, as `said` says it: a 检验类别 cell, a sheet's title)
/// is no spot check: it opens no case, and a re-test's or re-check's conclusion is the earlier
/// case's, where the bureau records it.
fn not_a_spot_check(kind: TestKind, said: &str) -> String {
    match kind {
        TestKind::Retest => format!(
            "{said}: a re-test (复检) of an earlier spot check is no spot check: leave this row \
             out; its conclusion goes on that result's case as a retest_concluded record \
             (upheld or overturned), which the bureau enters"
        ),
        TestKind::Recheck => format!(
            "{said}: a re-check (复查) of an earlier failure after rectification is no spot \
             check: leave this row out; its conclusion goes on that result's case as a \
             recheck_concluded record (pass or fail), which the bureau enters"
        ),
        TestKind::SpotCheck { .. } | TestKind::Other => format!(
            "{said} is no spot check (监督抽查): only spot-check results are taken; leave this \
             row out (a 委托检验 or 风险监测 result starts no case and is not disclosed)"
        ),
    }
}

/// A mark bulletins put where there is nothing: `/`, `—`, `无`, or 以下空白 (blank below); what
/// clerks write for a value not known (不详, 暂无).
fn is_none_mark(text: &str) -> bool {
    matches!(
        text.trim_matches(['(', ')', '（', '）']),
        "/" | "／"
            | "—"
            | "-"
            | "－"
            | "–"
            | "——"
            | "无"
            | "以下空白"
            | "以下为空白"
            | "空白"
            | "不详"
            | "暂无"
            | "未知"
    )
}

/// Whether a 主要不合格项目 cell says that no item failed, as ledgers write it for a pass.
fn says_none_failed(text: &str) -> bool {
    let text: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !"。.，,；;（）()".contains(*c))
        .collect();
    [
        "无不合格项",
        "无不合格项目",
        "未发现不合格项",
        "未发现不合格项目",
        "未检出不合格项目",
        "所检项目均合格",
        "所检项目全部合格",
        "均合格",
        "全部合格",
    ]
    .contains(&text.as_str())
}

/// Whether a 送达日期 says the report is not served yet (未送达, 待送达): not an unknown date,
/// which the objection window would count from the report's, but no service at all.
fn not_served_yet(text: &str) -> bool {
    let text = text.trim_matches(['(', ')', '（', '）']);
    ["未送达", "待送达", "尚未送达", "暂未送达"].contains(&text)
}

/// The text of a cell as a person reads it; `None` when empty.
fn text_of(cell: &Cell) -> Option<String> {
    let text = match cell {
        Cell::Empty => return None,
        Cell::Text(text) => text.trim().to_owned(),
        Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
        Cell::Number(n) => n.to_string(),
        Cell::Date(date) => date.to_string(),
        Cell::Bool(true) => "是".into(),
        Cell::Bool(false) => "否".into(),
    };
    (!text.is_empty()).then_some(text)
}

/// A date from a date cell, an Excel serial number, `20260305` or the written forms.
fn date_of(cell: &Cell) -> Option<NaiveDate> {
    match cell {
        Cell::Date(date) => Some(*date),
        // A date cell whose format was lost: days since 1899-12-30 (Excel's 1900 system).
        Cell::Number(n) if (20_000.0..80_000.0).contains(n) && n.fract() == 0.0 => {
            NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(Days::new(*n as u64))
        }
        Cell::Number(n) if n.fract() == 0.0 => date_of_text(&format!("{}", *n as i64)),
        Cell::Text(text) => date_of_text(text),
        _ => None,
    }
}

fn date_of_text(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    // A span (检验日期 2026-07-03至2026-07-20, 2026.7.3—7.20, 2026年7月3日-2026年7月20日) is its
    // last day, in the first one's year when it gives none. A hyphen splits a span only where
    // the whole is not one date and both sides are dates.
    if let Some((first, last)) = text.split_once(['至', '~', '～', '—', '–', '－']) {
        return span_end(first, last);
    }
    one_date(text).or_else(|| {
        text.match_indices('-')
            .find_map(|(at, _)| span_end(&text[..at], &text[at + 1..]))
    })
}

/// A 生产日期/批号 cell as labels and ledgers write it: a batch code, a date (both the batch and
/// the production date), words naming what follows (`批号：A12`, `生产日期：2026-03-05`), or a
/// date and a batch code together (`2025-10-15/A123`, `2026/03/05 批号：A1`, `A123 2025.10.15`):
/// the code is the batch, the date the production date.
fn batch_and_date(written: &str) -> (String, Option<NaiveDate>) {
    let text = without_labels(written.trim());
    // The code named inside (2026/03/05 批号：A1, 2026-03-05（批号A1）).
    let named = ["批号", "批次"].iter().find_map(|label| {
        let at = text.find(label)?;
        let code = text[at + label.len()..]
            .trim_start_matches(['号', ':', '：', ' '])
            .trim_end_matches(['）', ')'])
            .trim();
        let before = text[..at].trim_end_matches(['/', '／', ',', '，', ';', '；', ' ', '（', '(']);
        (!code.is_empty()).then(|| (code.to_owned(), date_of_text(before)))
    });
    if let Some((code, date)) = named {
        return (code, date);
    }
    // A date and a code side by side; a time of day after the date (2026-03-05 0:00) is no code.
    let is_time =
        |part: &str| part.contains(':') && part.chars().all(|c| c.is_ascii_digit() || c == ':');
    for (at, separator) in text.match_indices(['/', '／', ' ', ',', '，', ';', '；']) {
        let (left, right) = (text[..at].trim(), text[at + separator.len()..].trim());
        if left.is_empty() || right.is_empty() {
            continue;
        }
        if is_time(right) {
            return (left.to_owned(), date_of_text(left));
        }
        match (date_of_text(left), date_of_text(right)) {
            (Some(date), None) => return (right.to_owned(), Some(date)),
            (None, Some(date)) => return (left.to_owned(), Some(date)),
            _ => {}
        }
    }
    let date = date_of_text(text);
    (text.to_owned(), date)
}

/// `text` without the words before a colon that say what it is (`批号：`, `生产日期/批号：`).
fn without_labels(text: &str) -> &str {
    const LABELS: [&str; 6] = ["生产日期", "生产批号", "批次号", "批号", "批次", "日期"];
    let mut rest = text;
    let mut labelled = false;
    while let Some(after) = LABELS.iter().find_map(|label| rest.strip_prefix(label)) {
        rest = after.trim_start_matches(['/', '／', '或']);
        labelled = true;
    }
    match rest.strip_prefix([':', '：']) {
        Some(after) if labelled => after.trim(),
        _ => text,
    }
}

/// The last day of the span `first`–`last`.
fn span_end(first: &str, last: &str) -> Option<NaiveDate> {
    let first = one_date(first.trim())?;
    let last = last.trim();
    one_date(last).or_else(|| {
        let year = chrono::Datelike::year(&first);
        one_date(&format!("{year}-{}", last.replace(['月', '.', '/'], "-")))
    })
}

fn one_date(text: &str) -> Option<NaiveDate> {
    match days::written_date(text) {
        Some(WrittenDate::Day(date)) => Some(date),
        _ => None,
    }
}

/// Whether `text` is a month as labels print one: 2025年12月, 2025-12, 2025.12, 2025/12.
fn is_month(text: &str) -> bool {
    matches!(days::written_date(text), Some(WrittenDate::Month { .. }))
}

/// How `c` changes the depth of brackets: an opening one by 1, a closing one by −1.
fn bracket_step(c: char) -> i32 {
    match c {
        '(' | '（' | '[' | '【' => 1,
        ')' | '）' | ']' | '】' => -1,
        _ => 0,
    }
}

/// Splits at `separators` outside brackets, trimming and dropping empty parts.
fn split_top_level(text: &str, separators: &[char]) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in text.chars() {
        depth += bracket_step(c);
        if depth <= 0 && separators.contains(&c) {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Whether `text` is a unit's legal form (个体工商户, 有限责任公司, 个人独资企业…), not its role.
fn is_legal_form(text: &str) -> bool {
    let text = text.trim();
    text.contains("个体")
        || text.contains("合伙")
        || text.contains("合作社")
        || text.ends_with("公司")
        || (text.ends_with("企业") && !text.starts_with("生产"))
}

/// 主要不合格项目: `温升（标准值：≤60K，实测值：75K）；电气强度` → items that failed. Bulletins often
/// number them (`1.温升 2.电气强度`, `1、温升；2、电气强度`, `①温升②电气强度`); the numbers are
/// not part of the names. They also group them by class (`A类：最高车速；B类：标识`,
/// `严重不合格项目：耐压试验、温升；一般不合格项目：标识`): a class heading is no part of the
/// names, and is the class of each item after it that gives none of its own.
fn failed_items(text: &str) -> Result<Vec<Value>, String> {
    let mut class = None;
    let mut items = Vec::new();
    for item in split_top_level(&unnumbered(text), &[';', '；', '\n', '、', ',', '，']) {
        let mut item = item.trim_end_matches('。');
        if let Some((head, rest)) = item.split_once([':', '：'])
            && let Some(severity) = columns::severity_from_zh(head)
        {
            class = Some(severity);
            item = rest.trim();
            if item.is_empty() {
                continue;
            }
        }
        let mut read = failed_item(item)?;
        if let (Some(class), Some(fields)) = (class, read.as_object_mut()) {
            fields
                .entry("severity")
                .or_insert_with(|| Value::String(class.as_str().into()));
        }
        items.push(read);
    }
    Ok(items)
}

/// The failed items a verdict names after its 不合格, in a bracket or after a colon (不合格（最高
/// 车速、制动性能）, 不合格：标识) — not its class, a counterfeit, a follow-up or what was done
/// about it (不合格（一般）, 不合格（涉嫌假冒）, 不合格（已整改）).
fn items_in_verdict(verdict: &str) -> Option<String> {
    if columns::verdict_from_zh(verdict) != Some(Verdict::Fail) {
        return None;
    }
    let (_, rest) = verdict.split_once("不合格")?;
    let rest = rest.trim_start_matches([':', '：', ',', '，', ' ']);
    let said = match rest.strip_prefix(['（', '(']) {
        Some(inner) => inner.trim_end().trim_end_matches(['）', ')']),
        None => rest,
    }
    .trim();
    let about_the_case = [
        "复检", "复查", "整改", "处理", "移送", "立案", "通知", "送达", "异议",
    ];
    (!said.is_empty()
        && columns::severity_of_classes(said).is_none()
        && columns::severity_from_zh(said).is_none()
        && !columns::counterfeit_in_remarks(said)
        && !columns::follow_up_in_verdict(said)
        && !about_the_case.iter().any(|word| said.contains(word)))
    .then(|| said.to_owned())
}

/// `text` with its items' numbers replaced by separators. Numbers count 1, 2, 3… and the first
/// opens the text, so a number in a name (`20℃喷射性能`, a clause `6.1.1`) is not taken for one.
fn unnumbered(text: &str) -> String {
    let chars: Vec<char> = text.trim().chars().collect();
    let mut out = String::with_capacity(text.len());
    let (mut next, mut depth, mut at) = (1, 0i32, 0);
    while at < chars.len() {
        if depth == 0
            && (next > 1 || at == 0)
            && let Some(len) = item_number(&chars[at..], next)
        {
            out.push('；');
            next += 1;
            at += len;
            continue;
        }
        depth += bracket_step(chars[at]);
        out.push(chars[at]);
        at += 1;
    }
    out
}

/// How many characters item number `n` takes at the start of `rest`: `1.`, `1、`, `1)`, `(1)`,
/// `①`; `None` when it does not stand there.
fn item_number(rest: &[char], n: u32) -> Option<usize> {
    // ① … ⑳ are U+2460 … U+2473.
    if n <= 20 && rest.first() == char::from_u32(0x245F + n).as_ref() {
        return Some(1);
    }
    let digits: Vec<char> = n.to_string().chars().collect();
    let opened = matches!(rest.first(), Some('(' | '（'));
    let start = usize::from(opened);
    let end = start + digits.len();
    if rest.get(start..end)? != digits.as_slice() {
        return None;
    }
    let closes = match rest.get(end)? {
        ')' | '）' => true,
        '.' | '．' | '、' => !opened,
        _ => false,
    };
    let then_digit = rest.get(end + 1).is_some_and(char::is_ascii_digit);
    (closes && !then_digit).then_some(end + 1)
}

fn failed_item(item: &str) -> Result<Value, String> {
    let mut fields = Map::new();
    // A clause before the name (6.2.1 最高车速), as some bulletins number items by it.
    let item = item.trim();
    if let Some((clause, rest)) = leading_clause(item) {
        return failed_item(rest).map(|mut read| {
            if let Some(read) = read.as_object_mut() {
                read.entry("clause")
                    .or_insert(Value::String(clause.to_owned()));
            }
            read
        });
    }
    // The value measured after a colon (最高车速：28.6km/h（≤25km/h）).
    let (item, measured) = match item.split_once([':', '：']) {
        Some((name, value))
            if !name.contains(['(', '（'])
                && is_figure(value.split(['(', '（']).next().unwrap_or_default()) =>
        {
            let (value, details) = name_and_details(value)?;
            let details = details.map(|d| format!("{d}，实测值：{value}"));
            (
                name.trim(),
                Some(details.unwrap_or_else(|| format!("实测值：{value}"))),
            )
        }
        // The value measured after a space (最高车速 28.6km/h).
        _ => match item.rsplit_once([' ', '\u{3000}']) {
            Some((name, value))
                if !name.trim().is_empty()
                    && !item.contains(['(', '（', ')', '）'])
                    && is_figure(value) =>
            {
                (name.trim(), Some(format!("实测值：{value}")))
            }
            _ => (item, None),
        },
    };
    let (name, details) = match &measured {
        Some(details) => (item, Some(details.as_str())),
        None => name_and_details(item)?,
    };
    if name.is_empty() {
        return Err(format!("'{item}' names no item before its bracket"));
    }
    fields.insert("name".into(), Value::String(name.to_owned()));
    fields.insert("verdict".into(), Value::String("fail".into()));
    for part in details
        .map(|d| split_top_level(d, &[',', '，', ';', '；']))
        .unwrap_or_default()
    {
        let (field, value) = match item_detail(&part) {
            Some(detail) => detail,
            None => match part.split_once([':', '：']) {
                Some((key, _)) => {
                    return Err(format!(
                        "in '{item}', '{}' is not 标准条款, 标准值, 实测值 or 类别",
                        columns::normalize_header(key)
                    ));
                }
                // An unnamed detail is the item's class (A类, 严重), a figure (≤25km/h what
                // is required, 28.6km/h what was measured), or else the clause of the standard
                // (GB 16410-2020 5.3.2).
                None if columns::severity_from_zh(&part).is_some() => ("severity", part.as_str()),
                None if is_figure(&part) && part.starts_with(BOUNDS) => ("required", part.as_str()),
                None if is_figure(&part) => ("measured", part.as_str()),
                None => ("clause", part.as_str()),
            },
        };
        if fields.contains_key(field) {
            return Err(format!("'{item}' gives its {field} twice"));
        }
        let value = if field == "severity" {
            columns::severity_from_zh(value)
                .ok_or_else(|| {
                    format!("in '{item}', '{value}' is not a class: A类, B类, C类, 严重 or 一般")
                })?
                .as_str()
        } else {
            value
        };
        fields.insert(field.into(), Value::String(value.to_owned()));
    }
    Ok(Value::Object(fields))
}

/// Whether `text` is a figure with its unit (28.6km/h, ≤25km/h, 75 s, -14%), not a clause
/// (5.3.2, GB 16410-2020 5.3.2): a letter, a sign or a unit after a digit, or a bound before it.
fn is_figure(text: &str) -> bool {
    let text = text.trim();
    // A clause with its sub-item's letter (5.3.2a, 6.1.1 b)) is no figure.
    let bare = text.trim_end_matches([')', '）', ' ']);
    let bare = bare
        .strip_suffix(|c: char| c.is_ascii_lowercase())
        .unwrap_or(bare)
        .trim_end();
    if bare.split('.').count() >= 2
        && bare
            .split('.')
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let mut seen_digit = false;
    let mut unit_after = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            seen_digit = true;
        } else if seen_digit && !matches!(c, '.' | ' ' | '-' | '—') {
            unit_after = true;
        }
    }
    seen_digit
        && text.starts_with(is_figure_start)
        && (unit_after || text.starts_with(BOUNDS))
        && !text.chars().any(is_han)
}

/// Whether a figure may begin with `c`: a digit, a bound or a sign.
fn is_figure_start(c: char) -> bool {
    c.is_ascii_digit() || BOUNDS.contains(&c) || "-+－".contains(c)
}

/// What a required value begins with (≤25km/h).
const BOUNDS: [char; 7] = ['≤', '≥', '<', '>', '±', '＜', '＞'];

/// Whether `c` is a Chinese character (words, not a figure or a code).
fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// A clause of the standard before an item's name (`6.2.1 最高车速`, `5.1最高车速`): two or more
/// numbers joined by dots, then the name.
fn leading_clause(item: &str) -> Option<(&str, &str)> {
    let end = item
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(item.len());
    let clause = item[..end].trim_end_matches('.');
    let rest = item[end..].trim_start();
    let numbers = clause.split('.').filter(|n| !n.is_empty()).count();
    (numbers >= 2 && !clause.contains("..") && rest.starts_with(is_han)).then_some((clause, rest))
}

/// The names bulletins give an item's details, by the field each fills. 明示值 and 标称值 (the
/// value the label declares) are what the item is held to, as a standard's value is.
const ITEM_DETAILS: &[(&str, &[&str])] = &[
    (
        "clause",
        &["标准条款", "条款", "检验条款", "标准条款号", "条款号"],
    ),
    (
        "required",
        &[
            "标准值",
            "标准要求",
            "要求",
            "技术要求",
            "标准规定值",
            "规定值",
            "标准要求值",
            "要求值",
            "标准指标",
            "指标值",
            "标准限值",
            "限值",
            "明示值",
            "标称值",
            "标示值",
            "标注值",
        ],
    ),
    (
        "measured",
        &[
            "实测值",
            "检验结果",
            "实测结果",
            "检测值",
            "实测",
            "检测结果",
            "检验值",
            "测定值",
            "测试值",
            "实测数据",
            "检测数据",
            "试验结果",
        ],
    ),
    (
        "severity",
        &[
            "类别",
            "项目类别",
            "不合格类别",
            "重要程度",
            "严重程度",
            "不合格程度",
        ],
    ),
];

/// A detail of a failed item, `标准值：≤25km/h` → (`required`, `≤25km/h`). A value's name
/// ending in 值, 要求 or 结果 (or 实测) may also stand without the colon when a figure follows
/// (`实测值28.6km/h`, `标准要求≤25km/h`, `实测值为28.6km/h`); words after it (`标称值偏差`) are
/// a condition, not a value.
fn item_detail(part: &str) -> Option<(&'static str, &str)> {
    if let Some((key, value)) = part.split_once([':', '：']) {
        let key = columns::normalize_header(key);
        return ITEM_DETAILS
            .iter()
            .find(|(_, names)| names.contains(&key.as_str()))
            .map(|(field, _)| (*field, value.trim()));
    }
    ITEM_DETAILS.iter().find_map(|(field, names)| {
        names
            .iter()
            .filter(|name| {
                name.ends_with('值')
                    || name.ends_with("要求")
                    || name.ends_with("结果")
                    || **name == "实测"
            })
            .find_map(|name| part.strip_prefix(name))
            .map(|rest| rest.strip_prefix('为').unwrap_or(rest).trim())
            .filter(|value| value.chars().next().is_some_and(|c| !is_han(c)))
            .map(|value| (*field, value))
    })
}

/// An item's name, and the details in the bracket that ends it when that bracket gives details
/// (`标准值：…`, or a clause: `6.1.1`, `GB 16410-2020 5.3.2`). Other brackets say the item's
/// condition and belong to its name: 熄火保护装置（闭阀时间）, 冲击吸收性能（高温）.
fn name_and_details(item: &str) -> Result<(&str, Option<&str>), String> {
    let item = item.trim();
    let mut depth = 0i32;
    let mut last_open = None;
    for (at, c) in item.char_indices() {
        match c {
            '(' | '（' => {
                if depth == 0 {
                    last_open = Some(at);
                }
                depth += 1;
            }
            ')' | '）' => depth -= 1,
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("'{item}': a bracket in it is not closed"));
    }
    let Some(open) = last_open.filter(|_| item.ends_with([')', '）'])) else {
        return Ok((item, None));
    };
    let bracket = item[open..].chars().next().map_or(1, char::len_utf8);
    let close = item.chars().next_back().map_or(1, char::len_utf8);
    let inner = &item[open + bracket..item.len() - close];
    let is_clause = inner.chars().any(|c| c.is_ascii_digit())
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " ./-—第条款项".contains(c));
    let is_figure = split_top_level(inner, &[',', '，', ';', '；'])
        .iter()
        .all(|part| is_figure(part));
    let is_class = split_top_level(inner, &[',', '，', ';', '；'])
        .iter()
        .any(|part| columns::severity_from_zh(part).is_some());
    let names_a_value = split_top_level(inner, &[',', '，', ';', '；'])
        .iter()
        .any(|part| item_detail(part).is_some());
    Ok(
        if inner.contains([':', '：']) || is_clause || is_figure || is_class || names_a_value {
            (item[..open].trim(), Some(inner))
        } else {
            (item, None)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_grid(rows: &[&[&str]]) -> Grid {
        Grid {
            merged_down: Vec::new(),
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, cells)| {
                    (
                        i + 1,
                        cells
                            .iter()
                            .map(|c| {
                                if c.is_empty() {
                                    Cell::Empty
                                } else {
                                    Cell::Text((*c).to_owned())
                                }
                            })
                            .collect(),
                    )
                })
                .collect(),
        }
    }

    const HEADER: &[&str] = &[
        "序号",
        "报告编号",
        "产品名称",
        "抽查领域",
        "受检单位",
        "统一社会信用代码",
        "所在区",
        "标称生产企业",
        "规格型号",
        "生产日期/批号",
        "抽样日期",
        "检验日期",
        "检验结论",
        "主要不合格项目",
        "联系电话",
    ];

    /// A failing row under [`HEADER`], as a bulletin writes it.
    const BULLETIN_ROW: &[&str] = &[
        "1",
        "R-1",
        "电动自行车",
        "流通",
        "某车行",
        "",
        "南开区",
        "某车业有限公司",
        "TDT-1",
        "2026年3月5日",
        "2026/4/1",
        "20260420",
        "不合格",
        "整车质量（标准条款：6.1.1，标准值：≤55kg，实测值：61.2kg）；制动性能",
        "022-1",
    ];

    #[test]
    fn a_bulletin_row_becomes_a_result_with_ids_and_the_callers_lab() {
        let grid = text_grid(&[
            &["2026年电动自行车产品质量监督抽查结果", "", ""],
            HEADER,
            BULLETIN_ROW,
        ]);
        let header = header_row(&grid).unwrap();
        assert_eq!(header, 1);
        let sheet = result_records(&grid, header, "tj-lab-01", None).unwrap();
        assert_eq!(sheet.ignored, ["联系电话"]);
        let record = &sheet.records[0];
        assert_eq!(record.line, 3);
        assert!(record.problems.is_empty(), "{:?}", record.problems);
        let value = record.value.as_ref().unwrap();
        assert_eq!(value["lab_id"], "tj-lab-01");
        assert_eq!(value["category"], "e_bike");
        assert_eq!(value["sampling"]["domain"], "circulation");
        assert_eq!(value["sampled_unit"]["role"], "retailer");
        assert_eq!(value["sampled_unit"]["district"], "120104");
        assert_eq!(value["product"]["batch"], "2026年3月5日");
        assert_eq!(value["product"]["production_date"], "2026-03-05");
        assert_eq!(value["sampling"]["date"], "2026-04-01");
        assert_eq!(value["tested_on"], "2026-04-20");
        assert_eq!(value["verdict"], "fail");
        assert_eq!(value["items"][0]["name"], "整车质量");
        assert_eq!(value["items"][0]["clause"], "6.1.1");
        assert_eq!(value["items"][0]["required"], "≤55kg");
        assert_eq!(value["items"][0]["measured"], "61.2kg");
        assert_eq!(value["items"][1]["name"], "制动性能");
        assert!(value["sampled_unit"].get("uscc").is_none());
    }

    #[test]
    fn a_verdict_written_with_its_severity_gives_it_unless_a_column_does() {
        let row = |verdict: &str, class: &str| {
            let mut header = HEADER.to_vec();
            header.push("不合格程度");
            let mut cells: Vec<&str> = BULLETIN_ROW.to_vec();
            cells[12] = verdict;
            cells.push(class);
            let grid = text_grid(&[&header, &cells]);
            let sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
            let record = &sheet.records[0];
            assert!(record.problems.is_empty(), "{:?}", record.problems);
            record.value.as_ref().unwrap()["severity"].clone()
        };
        assert_eq!(row("严重不合格", ""), "serious");
        assert_eq!(row("不合格（一般）", ""), "general");
        assert_eq!(row("不合格", ""), Value::Null);
        assert_eq!(row("不合格（严重）", "一般不合格"), "general");
    }

    #[test]
    fn a_bulletins_none_marks_and_item_classes_are_read_in_the_optional_columns() {
        let read = |verdict: &str, items: &str, extra: &[(&str, &str)]| {
            let mut header = HEADER.to_vec();
            let mut cells: Vec<&str> = BULLETIN_ROW.to_vec();
            cells[12] = verdict;
            cells[13] = items;
            for (column, cell) in extra {
                header.push(column);
                cells.push(cell);
            }
            let grid = text_grid(&[&header, &cells]);
            let mut sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
            let record = sheet.records.remove(0);
            (record.value.unwrap_or_default(), record.problems)
        };
        // A pass row of a bulletin: "/" or "—" wherever a failure's details or a date would be.
        let (pass, problems) = read(
            "合格",
            "/",
            &[
                ("不合格程度", "/"),
                ("生产日期", "/"),
                ("送达日期", "—"),
                ("抽查级别", "／"),
                ("涉嫌假冒", "—"),
                ("跟踪抽查", "——"),
            ],
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(pass["verdict"], "pass");
        // A ledger's words for no failed item are none too.
        for none in ["无不合格项目", "所检项目均合格。"] {
            let (value, problems) = read("合格", none, &[]);
            assert!(problems.is_empty(), "{none}: {problems:?}");
            assert_eq!(value["items"], Value::Null, "{none}");
        }
        assert_eq!(pass["severity"], Value::Null);
        assert_eq!(pass["served_on"], Value::Null);
        // 生产日期 "/" leaves the date the 生产日期/批号 column gave.
        assert_eq!(pass["product"]["production_date"], "2026-03-05");
        assert_eq!(pass["suspected_counterfeit"], false);
        // The classes of the failed items, one per item: the most serious is the result's.
        let severity = |classes: &str| {
            let (value, problems) = read("不合格", "标志；温升", &[("不合格项目类别", classes)]);
            (value["severity"].clone(), problems.len())
        };
        assert_eq!(severity("B类；A类"), (Value::from("serious"), 0));
        assert_eq!(severity("A"), (Value::from("serious"), 0));
        assert_eq!(severity("B、C"), (Value::from("general"), 0));
        assert_eq!(severity("一般，一般"), (Value::from("general"), 0));
        assert_eq!(severity("B类；D类"), (Value::Null, 1));
    }

    /// The `field` of [`BULLETIN_ROW`] with a 备注 `remark`, and a column of `field`'s own
    /// (`header`) when `column` gives its cell.
    fn with_remark(remark: &str, header: &'static str, column: Option<&str>, field: &str) -> Value {
        let mut headers = HEADER.to_vec();
        headers.push("备注");
        let mut cells: Vec<&str> = BULLETIN_ROW.to_vec();
        cells.push(remark);
        if let Some(flag) = column {
            headers.push(header);
            cells.push(flag);
        }
        let grid = text_grid(&[&headers, &cells]);
        let mut sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
        assert!(
            sheet.ignored.iter().all(|h| h != "备注"),
            "{:?}",
            sheet.ignored
        );
        let record = sheet.records.remove(0);
        assert!(record.problems.is_empty(), "{:?}", record.problems);
        record.value.unwrap_or_default()[field].clone()
    }

    #[test]
    fn a_counterfeit_written_in_the_remarks_is_one_unless_a_column_says_not() {
        let row = |remark, column| with_remark(remark, "涉嫌假冒", column, "suspected_counterfeit");
        assert_eq!(row("经标称生产企业确认，该批次产品非其生产", None), true);
        assert_eq!(row("涉嫌假冒", None), true);
        assert_eq!(row("不涉嫌假冒", None), Value::Null);
        assert_eq!(row("", None), Value::Null);
        assert_eq!(row("涉嫌假冒", Some("否")), false);
    }

    #[test]
    fn a_follow_up_written_in_the_remarks_is_one_unless_a_column_says_not() {
        let row = |remark, column| with_remark(remark, "跟踪抽查", column, "follow_up");
        assert_eq!(row("跟踪抽查，原报告编号：R-0", None), true);
        assert_eq!(row("建议跟踪抽查", None), Value::Null);
        assert_eq!(row("跟踪抽查", Some("否")), false);
    }

    #[test]
    fn a_batch_number_is_no_production_date() {
        let column = columns::result_column("生产日期/批号").unwrap();
        let read = |cell: Cell| read_cell(column, &cell).unwrap();
        assert_eq!(
            read(Cell::Number(30123.0)),
            [("product.batch", Value::from("30123"))]
        );
        // A date cell, or a batch written as a date, is the production date as well.
        assert_eq!(
            read(Cell::Number(20260301.0)),
            [
                ("product.batch", Value::from("20260301")),
                ("product.production_date", Value::from("2026-03-01"))
            ]
        );
        let date = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(read(Cell::Date(date))[1].1, "2026-03-01");
    }

    /// Bulletins with a 名称及地址 column write both in one cell: the name is the name alone (it
    /// is what the registry is searched by), and the address is read out of it.
    #[test]
    fn a_name_written_with_its_address_is_read_as_both() {
        assert_eq!(
            columns::result_column("标称生产企业名称及地址").map(|c| c.path),
            Some("producer.name")
        );
        let read = |producer: &str, unit: &str| {
            let mut cells: Vec<&str> = BULLETIN_ROW.to_vec();
            cells[7] = producer;
            cells[4] = unit;
            let grid = text_grid(&[HEADER, &cells]);
            let sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
            let value = sheet.records[0].value.as_ref().unwrap().clone();
            (
                value["producer"].clone(),
                value["sampled_unit"]["name"].clone(),
                value["sampled_unit"]["address"].clone(),
            )
        };
        assert_eq!(
            read(
                "某车业有限公司（地址：天津市西青区某路1号）",
                "某车行\n天津市南开区某路2号"
            ),
            (
                serde_json::json!({"name": "某车业有限公司", "address": "天津市西青区某路1号"}),
                serde_json::json!("某车行"),
                serde_json::json!("天津市南开区某路2号")
            )
        );
        // 名称/地址 (a header of both): the address after the slash.
        assert_eq!(
            read("某车业有限公司/天津市西青区某路1号", "某车行/南开区某路2号"),
            (
                serde_json::json!({"name": "某车业有限公司", "address": "天津市西青区某路1号"}),
                serde_json::json!("某车行"),
                serde_json::json!("南开区某路2号")
            )
        );
        assert_eq!(
            read("永康市某某工贸有限公司，地址：浙江省永康市某路", "某车行").0,
            serde_json::json!({"name": "永康市某某工贸有限公司", "address": "浙江省永康市某路"})
        );
        // A bracket that is part of the name stays, and so does a name broken over two lines.
        assert_eq!(
            read("某某（天津）车业有限公司", "某车行").0,
            serde_json::json!({"name": "某某（天津）车业有限公司"})
        );
        assert_eq!(
            read("某某车业集团\n天津分公司", "某车行").0,
            serde_json::json!({"name": "某某车业集团\n天津分公司"})
        );
    }

    /// Labels and ledgers write the batch with words before it, or a production date and a
    /// batch code in one cell: the code is the batch (the key ledgers meet on), the date the
    /// production date.
    #[test]
    fn a_batch_written_with_its_label_or_beside_a_date_is_the_code() {
        let column = columns::result_column("生产日期/批号").unwrap();
        let read = |text: &str| {
            let values = read_cell(column, &Cell::Text(text.into())).unwrap();
            let batch = values[0].1.as_str().unwrap().to_owned();
            let date = values
                .get(1)
                .map(|(_, date)| date.as_str().unwrap().to_owned());
            (batch, date)
        };
        let both = |batch: &str, date: &str| (batch.to_owned(), Some(date.to_owned()));
        assert_eq!(read("批号：A12"), ("A12".to_owned(), None));
        assert_eq!(
            read("生产日期：2026-03-05"),
            both("2026-03-05", "2026-03-05")
        );
        assert_eq!(read("2025-10-15/A123"), both("A123", "2025-10-15"));
        assert_eq!(read("A123 2025.10.15"), both("A123", "2025-10-15"));
        assert_eq!(read("2026/03/05 批号：A1"), both("A1", "2026-03-05"));
        assert_eq!(read("2026-03-05（批号A1）"), both("A1", "2026-03-05"));
        assert_eq!(read("批号/生产日期：20251015/L1"), both("L1", "2025-10-15"));
        assert_eq!(read("2026-03-05 0:00"), both("2026-03-05", "2026-03-05"));
        // A code alone, and a date alone, as before.
        assert_eq!(read("B2026-03"), ("B2026-03".to_owned(), None));
        assert_eq!(read("2026/03/05"), both("2026/03/05", "2026-03-05"));
    }

    /// A code cell that says in words there is none is none (the unit is identified by its
    /// name), and a bracket after a code says whose it is, no part of it.
    #[test]
    fn a_code_cell_that_says_there_is_none_or_whose_it_is_is_read() {
        let column = columns::result_column("统一社会信用代码").unwrap();
        let read = |text: &str| read_cell(column, &Cell::Text(text.into())).unwrap();
        for none in ["个体户无代码", "未提供", "无（个体工商户）"] {
            assert_eq!(read(none), [], "{none}");
        }
        assert_eq!(
            read("91110000802100433B（经营者：张三）"),
            [("sampled_unit.uscc", Value::from("91110000802100433B"))]
        );
        // A keeper's identity number or an old registration number where a shop has no code:
        // no code, the row kept (before, it was refused), the number neither kept nor repeated,
        // and the caller told beside the record.
        for (number, said) in [
            ("120104198001011233", "公民身份号码"),
            ("120104600123456", "注册号"),
        ] {
            let mut cells = BULLETIN_ROW.to_vec();
            cells[5] = number;
            let sheet = result_records(&text_grid(&[HEADER, &cells]), 0, "lab", None).unwrap();
            let record = &sheet.records[0];
            assert!(record.problems.is_empty(), "{:?}", record.problems);
            let value = record.value.as_ref().unwrap();
            assert!(value["sampled_unit"].get("uscc").is_none());
            assert!(!value.to_string().contains(number));
            let note = record.notes[0].to_string();
            assert!(
                note.contains("code_left_out") && note.contains(said),
                "{note}"
            );
            assert!(!note.contains(number), "{note}");
        }
    }

    #[test]
    fn a_follow_up_or_counterfeit_written_beside_the_verdict_is_one() {
        let read = |verdict: &str| {
            let mut cells: Vec<&str> = BULLETIN_ROW.to_vec();
            cells[12] = verdict;
            let grid = text_grid(&[HEADER, &cells]);
            let sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
            let value = sheet.records[0].value.as_ref().unwrap().clone();
            (
                value["verdict"].clone(),
                value["follow_up"].clone(),
                value["suspected_counterfeit"].clone(),
            )
        };
        let fail = Value::from("fail");
        assert_eq!(
            read("不合格（跟踪抽查）"),
            (fail.clone(), true.into(), Value::Null)
        );
        assert_eq!(read("不合格"), (fail.clone(), Value::Null, Value::Null));
        // The label's producer is not to be disclosed for a counterfeit.
        assert_eq!(
            read("不合格（涉嫌假冒）"),
            (fail.clone(), Value::Null, true.into())
        );
    }

    /// A 所在区 of the city alone (天津市) names no district: the row is taken, placed by the
    /// unit's address, name or code as when the cell is empty.
    /// A 单位类型 column that gives the unit's legal form says nothing of its role: the row is
    /// taken, its role from the domain.
    #[test]
    fn a_units_legal_form_in_the_type_column_is_no_role() {
        let column = columns::result_column("单位类型").unwrap();
        let read = |text: &str| read_cell(column, &Cell::Text(text.into()));
        for form in [
            "个体工商户",
            "有限责任公司",
            "个人独资企业",
            "农民专业合作社",
        ] {
            assert_eq!(read(form), Ok(Vec::new()), "{form}");
        }
        assert_eq!(
            read("生产企业"),
            Ok(vec![("sampled_unit.role", Value::from("producer"))])
        );
        assert!(read("其他").is_err());
    }

    #[test]
    fn a_district_cell_of_the_city_alone_is_no_district() {
        let mut cells: Vec<&str> = BULLETIN_ROW.to_vec();
        cells[4] = "天津市河西区某车行";
        cells[6] = "天津市";
        let grid = text_grid(&[HEADER, &cells]);
        let sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
        let record = &sheet.records[0];
        assert!(record.problems.is_empty(), "{:?}", record.problems);
        let value = record.value.as_ref().unwrap();
        assert_eq!(value["sampled_unit"]["district"], "120103");
    }

    #[test]
    fn a_sampled_unit_without_a_district_is_in_the_district_its_address_or_name_names() {
        let header: &[&str] = &[
            "报告编号",
            "产品名称",
            "抽查领域",
            "被抽样单位名称",
            "被抽样单位地址",
            "标称生产企业",
            "规格型号",
            "生产日期/批号",
            "抽样日期",
            "检验日期",
            "检验结论",
        ];
        let row = |no: &str, unit: &str, address: &str| -> Vec<String> {
            [no, "安全帽", "流通", unit, address, "某厂", "A", "B1"]
                .into_iter()
                .chain(["2026-04-01", "2026-04-20", "合格"])
                .map(str::to_owned)
                .collect()
        };
        let rows = [
            row("R-1", "某劳保用品店", "天津市南开区鞍山西道1号"),
            row("R-2", "某劳保用品店", "天津市静海县大邱庄镇"),
            row("R-3", "某劳保用品店", "河北省廊坊市某路"),
            // Without an address, the district a name registered there begins with; the
            // address says first.
            row("R-4", "天津市河西区某五金店", ""),
            row("R-5", "天津市河西区某五金店", "天津市南开区红旗路1号"),
        ];
        let mut grid: Vec<&[&str]> = vec![header];
        let cells: Vec<Vec<&str>> = rows
            .iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect();
        grid.extend(cells.iter().map(Vec::as_slice));
        let grid = text_grid(&grid);
        let sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
        let districts: Vec<Option<&str>> = sheet
            .records
            .iter()
            .map(|r| r.value.as_ref().unwrap()["sampled_unit"]["district"].as_str())
            .collect();
        assert_eq!(
            districts,
            [
                Some("120104"),
                Some("120118"),
                None,
                Some("120103"),
                Some("120104")
            ]
        );
    }

    #[test]
    fn unreadable_cells_are_errors_of_their_row_named_by_their_column() {
        let grid = text_grid(&[
            HEADER,
            &[
                "1",
                "R-2",
                "保温杯",
                "集市",
                "某店",
                "",
                "朝阳区",
                "某厂",
                "M",
                "B",
                "2026-02-30",
                "2026-04-20",
                "待定",
                "",
                "",
            ],
        ]);
        let sheet = result_records(&grid, 0, "lab", None).unwrap();
        let problems = &sheet.records[0].problems;
        let columns: Vec<Option<&str>> = problems.iter().map(|p| p.column.as_deref()).collect();
        for header in ["抽查领域", "所在区", "抽样日期", "检验结论"] {
            assert!(columns.contains(&Some(header)), "{header} in {problems:?}");
        }
        assert!(problems.iter().any(|p| p.field == "category"));
    }

    #[test]
    fn a_sheet_without_a_required_column_is_refused_whole_naming_it() {
        let grid = text_grid(&[&["报告编号", "产品名称", "受检单位", "检验结论"]]);
        let error = result_records(&grid, 0, "lab", None).unwrap_err();
        assert!(error.message.contains("规格型号"), "{}", error.message);
        assert!(error.message.contains("抽样日期"), "{}", error.message);
    }

    #[test]
    fn failed_items_read_their_details_and_refuse_unknown_ones() {
        let items =
            failed_items("温升(GB 16410-2020 5.3.2)、电气强度\n标志（实测值：无）").unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0]["clause"], "GB 16410-2020 5.3.2");
        assert_eq!(items[2]["measured"], "无");
        // Values written without their names, or the measured one after a colon, and a clause
        // before the name: the name alone, so a re-test clearing 最高车速 clears it (before,
        // `最高车速（28.6km/h）` took the figure for a clause, and the others kept it in the name).
        for (written, clause, required, measured) in [
            (
                "最高车速：28.6km/h（≤25km/h）",
                None,
                Some("≤25km/h"),
                Some("28.6km/h"),
            ),
            ("最高车速（28.6km/h）", None, None, Some("28.6km/h")),
            (
                "最高车速(标准要求≤25km/h,检验结果28.6km/h)",
                None,
                Some("≤25km/h"),
                Some("28.6km/h"),
            ),
            (
                "6.2.1最高车速（实测值：28km/h）",
                Some("6.2.1"),
                None,
                Some("28km/h"),
            ),
            ("5.1 最高车速", Some("5.1"), None, None),
            ("最高车速 28.6km/h", None, None, Some("28.6km/h")),
            ("最高车速（5.3.2a）", Some("5.3.2a"), None, None),
        ] {
            let item = &failed_items(written).unwrap()[0];
            let field = |name: &str| item.get(name).and_then(Value::as_str);
            assert_eq!(
                (
                    field("name"),
                    field("clause"),
                    field("required"),
                    field("measured")
                ),
                (Some("最高车速"), clause, required, measured),
                "{written}"
            );
        }
        // A condition after a colon is the name's.
        assert_eq!(
            failed_items("绝缘电阻：85℃时").unwrap()[0]["name"],
            "绝缘电阻：85℃时"
        );
        assert!(failed_items("温升（颜色：红）").is_err());
        assert!(failed_items("温升（实测值：1").is_err());
    }

    #[test]
    fn a_failed_items_class_is_its_severity() {
        let items = failed_items(
            "熄火保护装置（A类）；燃气导管（B类不合格，标准值：耐燃气）；\
             标志（类别：一般，实测值：无）；热负荷（严重，5.3.1）",
        )
        .unwrap();
        let read: Vec<(&str, &str)> = items
            .iter()
            .map(|i| (i["name"].as_str().unwrap(), i["severity"].as_str().unwrap()))
            .collect();
        assert_eq!(
            read,
            [
                ("熄火保护装置", "serious"),
                ("燃气导管", "general"),
                ("标志", "general"),
                ("热负荷", "serious")
            ]
        );
        assert_eq!(items[1]["required"], "耐燃气");
        assert_eq!(items[3]["clause"], "5.3.1");
        // Items grouped under a class heading are of that class, unless they give their own.
        let grouped = failed_items(
            "A类不合格项目：最高车速、制动性能；B类不合格项目：标识（严重）、脚蹬\n一般：鸣号",
        )
        .unwrap();
        let read: Vec<(&str, &str)> = grouped
            .iter()
            .map(|i| (i["name"].as_str().unwrap(), i["severity"].as_str().unwrap()))
            .collect();
        assert_eq!(
            read,
            [
                ("最高车速", "serious"),
                ("制动性能", "serious"),
                ("标识", "serious"),
                ("脚蹬", "general"),
                ("鸣号", "general")
            ]
        );
        // A class that is none of them is named, not taken for a clause.
        let error = failed_items("温升（类别：D类）").unwrap_err();
        assert!(error.contains("'D类' is not a class"), "{error}");
        assert!(
            failed_items("温升（A类，严重）").is_err(),
            "a class given twice"
        );
    }

    #[test]
    fn numbered_items_are_read_without_their_numbers() {
        let names = |text: &str| -> Vec<String> {
            failed_items(text)
                .unwrap()
                .iter()
                .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        let two = ["温升", "电气强度"];
        assert_eq!(names("1.温升 2.电气强度"), two);
        assert_eq!(names("1、温升；2、电气强度。"), two);
        assert_eq!(names("①温升②电气强度"), two);
        assert_eq!(names("(1)温升（2）电气强度"), two);
        assert_eq!(names("1.温升2.电气强度"), two);
        let items =
            failed_items("1.最高车速（6.1.1）；2.整车质量（标准值：≤55kg，实测值：61kg）").unwrap();
        assert_eq!(items[0]["clause"], "6.1.1");
        assert_eq!(items[1]["measured"], "61kg");
        // A name with a number in it keeps it.
        assert_eq!(
            names("20℃喷射性能、充装量误差"),
            ["20℃喷射性能", "充装量误差"]
        );
        // A clause before the name is the item's clause, not part of its name or a number.
        assert_eq!(names("6.1.1最高车速"), ["最高车速"]);
        assert_eq!(failed_items("6.1.1最高车速").unwrap()[0]["clause"], "6.1.1");
    }

    #[test]
    fn an_items_condition_in_brackets_stays_in_its_name() {
        let items = failed_items(
            "熄火保护装置（闭阀时间）（标准值：≤60s，实测值：85s）；冲击吸收性能（高温）；\
             干烟气中CO浓度（α=1）；整车质量（第6.1.3条）",
        )
        .unwrap();
        let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "熄火保护装置（闭阀时间）",
                "冲击吸收性能（高温）",
                "干烟气中CO浓度（α=1）",
                "整车质量"
            ]
        );
        assert_eq!(items[0]["required"], "≤60s");
        assert_eq!(items[0]["measured"], "85s");
        assert!(items[1].get("clause").is_none());
        assert_eq!(items[3]["clause"], "第6.1.3条");
    }

    #[test]
    fn an_items_values_are_read_under_the_names_bulletins_give_them() {
        let items = failed_items(
            "灭火剂主要组分含量（明示值：≥50%，检测结果：43.2%）；\
             最高车速（标准值≤25km/h，实测值为28.6km/h）；\
             导体电阻（标准指标：≤7.41Ω/km，测定值：7.89Ω/km）；\
             电阻（标称值偏差）",
        )
        .unwrap();
        let read: Vec<[&str; 3]> = items
            .iter()
            .map(|i| ["name", "required", "measured"].map(|f| i[f].as_str().unwrap_or_default()))
            .collect();
        assert_eq!(
            read,
            [
                ["灭火剂主要组分含量", "≥50%", "43.2%"],
                ["最高车速", "≤25km/h", "28.6km/h"],
                ["导体电阻", "≤7.41Ω/km", "7.89Ω/km"],
                ["电阻（标称值偏差）", "", ""],
            ]
        );
    }

    #[test]
    fn a_bulletin_without_a_domain_column_is_read_by_its_title_columns_or_names() {
        let header: &[&str] = &[
            "报告编号",
            "产品名称",
            "被抽样单位名称",
            "标称生产企业名称",
            "规格型号",
            "生产日期/批号",
            "抽样日期",
            "检验日期",
            "检验结论",
        ];
        let row = |report: &'static str, unit: &'static str| -> [&'static str; 9] {
            [
                report,
                "电动自行车",
                unit,
                "天津某某车业有限公司",
                "TDT-1",
                "20260301",
                "2026-04-02",
                "2026-04-20",
                "合格",
            ]
        };
        let read = |grid: &Grid, header_at: usize| -> Vec<(Value, Value, usize)> {
            result_records(grid, header_at, "tj-lab-01", None)
                .unwrap()
                .records
                .into_iter()
                .map(|r| {
                    let value = r.value.unwrap();
                    (
                        value["sampling"]["domain"].clone(),
                        value["sampled_unit"]["role"].clone(),
                        r.problems.len(),
                    )
                })
                .collect()
        };
        let titled = text_grid(&[
            &["2026年天津市流通领域电动自行车产品质量监督抽查结果"],
            header,
            &row("R-1", "天津市某某物流有限公司"),
        ]);
        assert_eq!(
            read(&titled, 1),
            [("circulation".into(), "retailer".into(), 0)]
        );
        let mut online_header = header.to_vec();
        online_header.push("电商平台");
        let mut online_row = row("R-1", "某某电器有限公司").to_vec();
        online_row.push("某东");
        let online = text_grid(&[&online_header, &online_row]);
        assert_eq!(
            read(&online, 0),
            [("ecommerce".into(), "ecommerce".into(), 0)]
        );
        let untitled = text_grid(&[
            header,
            &row("R-1", "天津市南开区某某车行"),
            &row("R-2", "天津市某某车业有限公司"),
            &row("R-3", "天津市某某物流有限公司"),
        ]);
        assert_eq!(
            read(&untitled, 0),
            [
                ("circulation".into(), "retailer".into(), 0),
                ("production".into(), "producer".into(), 0),
                (Value::Null, Value::Null, 1),
            ]
        );
    }

    #[test]
    fn a_row_of_a_test_that_is_no_spot_check_is_refused() {
        let mut headers = HEADER.to_vec();
        headers.push("检验类别");
        let rows: Vec<Vec<&str>> = [
            "监督抽查",
            "委托检验",
            "跟踪抽查",
            "风险监测",
            "",
            "监督抽查复检",
            "监督抽查（复查）",
        ]
        .iter()
        .map(|kind| {
            let mut cells = BULLETIN_ROW.to_vec();
            cells.push(kind);
            cells
        })
        .collect();
        let mut grid: Vec<&[&str]> = vec![&headers];
        grid.extend(rows.iter().map(Vec::as_slice));
        let sheet = result_records(&text_grid(&grid), 0, "tj-lab-01", None).unwrap();
        let read: Vec<(usize, Value)> = sheet
            .records
            .iter()
            .map(|r| {
                let follow_up = r
                    .value
                    .as_ref()
                    .map_or(Value::Null, |v| v["follow_up"].clone());
                (r.problems.len(), follow_up)
            })
            .collect();
        assert_eq!(
            read,
            [
                (0, Value::Null),
                (1, Value::Null),
                (0, Value::Bool(true)),
                (1, Value::Null),
                (0, Value::Null),
                (1, Value::Null),
                (1, Value::Null),
            ]
        );
        let refused = &sheet.records[1].problems[0];
        assert_eq!(refused.field, "");
        assert!(refused.message.contains("委托检验"), "{}", refused.message);
        // A re-test or re-check of an earlier spot check opens no case of its own: its
        // conclusion is that case's, and the answer says where it goes.
        for (row, record) in [(5, "retest_concluded"), (6, "recheck_concluded")] {
            let refused = &sheet.records[row].problems[0];
            assert_eq!(refused.field, "");
            assert!(refused.message.contains(record), "{}", refused.message);
        }
        // The column is read, not listed among those no field takes.
        assert!(
            !sheet.ignored.iter().any(|h| h == "检验类别"),
            "{:?}",
            sheet.ignored
        );
    }

    #[test]
    fn a_list_of_rechecks_or_retests_opens_no_case() {
        // A bureau's list of the re-checks of earlier failures, as published: its title says
        // 不合格 and 复查, its rows have no 检验类别.
        let refused = |title: &str| -> Vec<String> {
            let grid = text_grid(&[&[title], HEADER, BULLETIN_ROW]);
            let sheet = result_records(&grid, 1, "tj-lab-01", None).unwrap();
            sheet.records[0]
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect()
        };
        for (title, record) in [
            (
                "2026年电动自行车产品质量监督抽查不合格企业整改复查结果",
                "recheck_concluded",
            ),
            ("安全帽监督抽查复检结果", "retest_concluded"),
            (
                "2026年电动自行车产品质量监督抽查异议复检结果",
                "retest_concluded",
            ),
        ] {
            let problems = refused(title);
            assert_eq!(problems.len(), 1, "{title}: {problems:?}");
            assert!(problems[0].starts_with(": "), "{problems:?}");
            assert!(problems[0].contains(record), "{problems:?}");
        }
        assert_eq!(
            refused("2026年电动自行车产品质量监督抽查结果"),
            Vec::<String>::new()
        );
        // A note on how to object is no title.
        assert_eq!(
            refused("说明：对检验结论有异议的，可自收到检验结论之日起十五日内申请复检"),
            Vec::<String>::new()
        );
        // A 检验类别 column says what each row is.
        let mut headers = HEADER.to_vec();
        headers.push("检验类别");
        let mut row = BULLETIN_ROW.to_vec();
        row.push("监督抽查");
        let grid = text_grid(&[&["监督抽查及复查结果"], &headers, &row]);
        let sheet = result_records(&grid, 1, "tj-lab-01", None).unwrap();
        assert!(sheet.records[0].problems.is_empty());
        // A verdict that gives the re-test's conclusion says where that conclusion goes.
        let verdict = columns::result_column("检验结论").unwrap();
        let error = read_cell(verdict, &Cell::Text("不合格（经复检维持原结论）".into()));
        assert!(
            error
                .as_ref()
                .is_err_and(|e| e.contains("retest_concluded")),
            "{error:?}"
        );
    }

    #[test]
    fn a_date_not_known_is_none_and_a_report_not_served_waits() {
        let read = |header: &str, text: &str| {
            let column = columns::result_column(header).unwrap();
            read_cell(column, &Cell::Text(text.into()))
        };
        assert_eq!(read("送达日期", "不详"), Ok(Vec::new()));
        assert_eq!(read("生产日期", "不详"), Ok(Vec::new()));
        assert_eq!(read("不合格程度", "－"), Ok(Vec::new()));
        // The report's own date is required: a mark there is no date.
        assert!(read("检验日期", "不详").is_err());
        // Not served is no unknown date: the window has not begun, and the row waits.
        for text in ["未送达", "待送达", "（尚未送达）"] {
            let error = read("送达日期", text).unwrap_err();
            assert!(error.contains("not served yet"), "{text}: {error}");
        }
    }

    /// Labels print a production month (2025年12月). In a 生产日期 column it is no day: the
    /// batch, where the row gives no code (`/`), else left to the code. Before, the row was
    /// refused.
    #[test]
    fn a_month_in_the_production_date_says_where_it_goes() {
        let read = |batch: &str, made: &str| {
            let mut header = HEADER.to_vec();
            header[9] = "批号";
            header.push("生产日期");
            let mut cells = BULLETIN_ROW.to_vec();
            cells[9] = batch;
            cells.push(made);
            let mut sheet = result_records(&text_grid(&[&header, &cells]), 0, "lab", None).unwrap();
            let record = sheet.records.remove(0);
            assert!(record.problems.is_empty(), "{:?}", record.problems);
            record.value.unwrap()["product"].clone()
        };
        for month in ["2025年12月", "2025-12", "2025.12"] {
            assert_eq!(read("/", month)["batch"], month);
            assert_eq!(read("A12", month)["batch"], "A12");
            assert!(read("A12", month).get("production_date").is_none());
        }
        // A day is the batch too where no code is given, and the production date.
        let product = read("", "2025年12月5日");
        assert_eq!(
            (&product["batch"], &product["production_date"]),
            (&Value::from("2025-12-05"), &Value::from("2025-12-05"))
        );
        // A ledger without a batch column at all: its production dates are the batches.
        let mut header = HEADER.to_vec();
        header[9] = "生产日期";
        let mut cells = BULLETIN_ROW.to_vec();
        cells[9] = "2026-03-05";
        let sheet = result_records(&text_grid(&[&header, &cells]), 0, "lab", None).unwrap();
        let value = sheet.records[0].value.as_ref().unwrap();
        assert_eq!(value["product"]["batch"], "2026-03-05");
        let column = columns::result_column("生产日期").unwrap();
        let error = read_cell(column, &Cell::Text("2025年13月".into())).unwrap_err();
        assert!(error.contains("is not a date"), "{error}");
    }

    #[test]
    fn a_sheet_says_which_list_it_is_by_its_name_or_title() {
        let list = |name: &str, title: &str| {
            SheetList::of(Some(name), &[(1, vec![Cell::Text(title.into())])])
        };
        let fail = Some(Verdict::Fail);
        let pass = Some(Verdict::Pass);
        assert_eq!(list("不合格产品", "").verdict, fail);
        assert_eq!(list("Sheet1", "2026年安全帽抽查合格产品名单").verdict, pass);
        assert_eq!(list("Sheet1", "抽查结果（合格与不合格）").verdict, None);
        // The bulletin's title names both; the list's own title under it says which.
        let under = SheetList::of(
            Some("Sheet1"),
            &[
                (1, vec![Cell::Text("抽查结果（合格与不合格）".into())]),
                (2, vec![Cell::Text("一、不合格产品".into())]),
            ],
        );
        assert_eq!(under.verdict, fail);
        assert_eq!(
            list("合格产品", "不合格产品名单").verdict,
            None,
            "they disagree"
        );
        assert_eq!(
            list("Sheet1", "2026年安全帽产品质量监督抽查结果").verdict,
            None
        );
        assert!(list("跟踪抽查", "").follow_up);
        assert!(!list("Sheet1", "监督抽查（含跟踪抽查）结果").follow_up);
        // A list of the products the label's producer denies making; not one that names them.
        assert!(list("涉嫌假冒产品", "").counterfeit);
        assert!(list("Sheet1", "经标称生产企业确认非其生产的产品名单").counterfeit);
        assert!(!list("Sheet1", "不合格产品名单（不含涉嫌假冒产品）").counterfeit);
        assert!(!list("不合格产品", "").counterfeit);
        // A note above the table speaks of some rows, or of what may follow: no title.
        assert!(!list("Sheet1", "注：标*的为跟踪抽查").follow_up);
        assert!(!list("Sheet1", "注：标*的为涉嫌假冒产品").counterfeit);
        // Its rows are counterfeits: the label's producer is referred, not disclosed.
        let grid = text_grid(&[HEADER, BULLETIN_ROW]);
        let sheet = result_records(&grid, 0, "tj-lab-01", Some("涉嫌假冒产品")).unwrap();
        let value = sheet.records[0].value.as_ref().unwrap();
        assert_eq!(value["suspected_counterfeit"], true);
        assert_eq!(list("合格产品", "注：不合格产品见另表").verdict, pass);
        assert_eq!(list("合格产品", "说明：不合格产品见另表").verdict, pass);
    }

    #[test]
    fn a_second_header_row_under_merged_cells_names_its_columns() {
        let grid = text_grid(&[
            &["2026年电线电缆产品质量监督抽查结果"],
            &[
                "报告编号",
                "产品名称",
                "被抽样单位",
                "",
                "标称生产企业",
                "",
                "规格型号",
                "生产日期/批号",
                "抽样日期",
                "检验日期",
                "检验结论",
                "抽查领域",
            ],
            &["", "", "名称", "地址", "名称", "地址"],
            &[
                "R-1",
                "电线电缆",
                "某五金店",
                "天津市静海县大邱庄镇",
                "某线缆有限公司",
                "河北省",
                "BV 2.5",
                "20260301",
                "2026-04-02",
                "2026-04-20",
                "合格",
                "流通",
            ],
        ]);
        let header = header_row(&grid).unwrap();
        let sheet = result_records(&grid, header, "lab", None).unwrap();
        assert_eq!(sheet.records.len(), 1, "the second header row is no result");
        let record = &sheet.records[0];
        assert_eq!(record.line, 4);
        assert!(record.problems.is_empty(), "{:?}", record.problems);
        let value = record.value.as_ref().unwrap();
        assert_eq!(value["sampled_unit"]["name"], "某五金店");
        assert_eq!(value["sampled_unit"]["address"], "天津市静海县大邱庄镇");
        assert_eq!(value["producer"]["name"], "某线缆有限公司");
        assert_eq!(value["producer"]["address"], "河北省");
    }

    /// Ledgers group their columns under headers that say what they hold (样品信息,
    /// 被抽样单位信息, 生产企业基本情况) over 名称 | 地址 | …. Before, such a group named no unit,
    /// the second header row was left unread, and the sheet refused for want of 被抽样单位.
    #[test]
    fn columns_grouped_under_what_they_hold_are_read() {
        let grid = text_grid(&[
            &[
                "报告编号",
                "样品信息",
                "",
                "",
                "被抽样单位信息",
                "",
                "",
                "",
                "生产企业基本情况",
                "",
                "抽样日期",
                "检验日期",
                "检验结论",
                "抽查领域",
            ],
            &[
                "",
                "名称",
                "规格型号",
                "生产日期/批号",
                "名称",
                "地址",
                "统一社会信用代码",
                "联系电话",
                "名称",
                "地址",
            ],
            &[
                "R-1",
                "电线电缆",
                "BV 2.5",
                "20260301",
                "某五金店",
                "天津市南开区某路1号",
                "91110000802100433B",
                "022-1",
                "某线缆有限公司",
                "河北省宁晋县",
                "2026-04-02",
                "2026-04-20",
                "合格",
                "流通",
            ],
        ]);
        let sheet = result_records(&grid, 0, "lab", None).unwrap();
        // A sub-header not read is a column left out, said by its whole name.
        assert_eq!(sheet.ignored, ["被抽样单位信息联系电话"]);
        let record = &sheet.records[0];
        assert!(record.problems.is_empty(), "{:?}", record.problems);
        let value = record.value.as_ref().unwrap();
        assert_eq!(value["product"]["name"], "电线电缆");
        assert_eq!(value["product"]["model"], "BV 2.5");
        assert_eq!(value["sampled_unit"]["name"], "某五金店");
        assert_eq!(value["sampled_unit"]["address"], "天津市南开区某路1号");
        assert_eq!(value["sampled_unit"]["uscc"], "91110000802100433B");
        assert_eq!(value["producer"]["name"], "某线缆有限公司");
        assert_eq!(value["producer"]["address"], "河北省宁晋县");
    }

    #[test]
    fn a_code_under_the_producers_merged_header_is_the_producers() {
        let grid = text_grid(&[
            &[
                "报告编号",
                "产品名称",
                "被抽样单位",
                "",
                "生产单位",
                "",
                "",
                "规格型号",
                "生产日期/批号",
                "抽样日期",
                "检验日期",
                "检验结论",
                "抽查领域",
            ],
            &["", "", "名称", "地址", "名称", "地址", "统一社会信用代码"],
            &[
                "R-1",
                "电线电缆",
                "某五金店",
                "天津市南开区",
                "某线缆有限公司",
                "河北省宁晋县",
                "91350100M000100Y43",
                "BV 2.5",
                "20260301",
                "2026-04-02",
                "2026-04-20",
                "合格",
                "流通",
            ],
        ]);
        let sheet = result_records(&grid, 0, "lab", None).unwrap();
        let record = &sheet.records[0];
        assert!(record.problems.is_empty(), "{:?}", record.problems);
        let value = record.value.as_ref().unwrap();
        let read = [
            &value["producer"]["name"],
            &value["producer"]["address"],
            &value["producer"]["uscc"],
            &value["sampled_unit"]["uscc"],
        ];
        let expected = [
            Value::from("某线缆有限公司"),
            Value::from("河北省宁晋县"),
            Value::from("91350100M000100Y43"),
            Value::Null,
        ];
        assert_eq!(read, expected.each_ref());
    }

    #[test]
    fn blank_below_is_neither_an_item_nor_a_row() {
        let pass: &[&str] = &[
            "1",
            "R-1",
            "安全帽",
            "流通",
            "某店",
            "",
            "南开区",
            "某厂",
            "M",
            "B",
            "2026-04-01",
            "2026-04-20",
            "合格",
            "以下空白",
            "",
        ];
        let mut filler_as_item = vec![""; HEADER.len()];
        filler_as_item[13] = "以下空白";
        let rows = [HEADER, pass, &["（以下空白）"], &filler_as_item];
        let sheet = result_records(&text_grid(&rows), 0, "lab", None).unwrap();
        assert_eq!(sheet.records.len(), 1, "the filler rows are no results");
        assert!(
            sheet.records[0].problems.is_empty(),
            "{:?}",
            sheet.records[0].problems
        );
        let value = sheet.records[0].value.as_ref().unwrap();
        assert_eq!(value["verdict"], "pass");
        assert!(value.get("items").is_none());
    }

    fn workbook(write: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (col, title) in HEADER.iter().enumerate() {
            sheet.write_string(0, col as u16, *title).unwrap();
        }
        write(sheet);
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn a_value_merged_down_over_rows_is_each_rows() {
        // A bulletin writes the product once for its three rows and the shop (name and code)
        // once for its two batches; the workbook holds each value in the merge's first row.
        let plain = rust_xlsxwriter::Format::new();
        let bytes = workbook(|sheet| {
            for row in 1..=3u32 {
                for (col, cell) in BULLETIN_ROW.iter().enumerate() {
                    if ![2, 4, 5].contains(&col) {
                        sheet.write_string(row, col as u16, *cell).unwrap();
                    }
                }
                sheet.write_string(row, 1, format!("R-{row}")).unwrap();
            }
            sheet.merge_range(1, 2, 3, 2, "电动自行车", &plain).unwrap();
            sheet.merge_range(1, 4, 2, 4, "某车行", &plain).unwrap();
            sheet
                .merge_range(1, 5, 2, 5, "91350100M000100Y43", &plain)
                .unwrap();
            sheet.write_string(3, 4, "另一车行").unwrap();
        });
        let (_, grid) = workbook_grids(&bytes, 100).unwrap().remove(0);
        let header = header_row(&grid).unwrap();
        let sheet = result_records(&grid, header, "tj-lab-01", None).unwrap();
        let read: Vec<(String, String, String)> = sheet
            .records
            .iter()
            .map(|record| {
                assert!(record.problems.is_empty(), "{:?}", record.problems);
                let value = record.value.as_ref().unwrap();
                let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
                (
                    text(&value["product"]["name"]),
                    text(&value["sampled_unit"]["name"]),
                    text(&value["sampled_unit"]["uscc"]),
                )
            })
            .collect();
        let row =
            |unit: &str, code: &str| ("电动自行车".to_owned(), unit.to_owned(), code.to_owned());
        assert_eq!(
            read,
            [
                row("某车行", "91350100M000100Y43"),
                row("某车行", "91350100M000100Y43"),
                row("另一车行", ""),
            ]
        );
    }

    /// Bulletins give each failed item a row of its own, with its values and class in columns,
    /// the product's cells merged over the rows or left blank under the first: one result with
    /// every item, not a second row refused as a conflicting copy of the first.
    #[test]
    fn a_result_whose_failed_items_have_a_row_each_is_one_result() {
        let header: Vec<&str> = HEADER
            .iter()
            .copied()
            .chain(["标准值", "实测值", "不合格项目类别"])
            .collect();
        let mut first: Vec<&str> = BULLETIN_ROW.to_vec();
        first[13] = "熄火保护装置";
        first.extend(["≤60 s", "75 s", "A类"]);
        let mut second: Vec<&str> = vec![""; header.len()];
        second[13] = "热负荷";
        second[15..].copy_from_slice(&["±10%", "-14%", "B类"]);
        let expected = serde_json::json!([
            {"name": "熄火保护装置", "required": "≤60 s", "measured": "75 s",
             "severity": "serious", "verdict": "fail"},
            {"name": "热负荷", "required": "±10%", "measured": "-14%",
             "severity": "general", "verdict": "fail"}
        ]);
        // The product's cells left blank under the first row.
        let grid = text_grid(&[&header, &first, &second]);
        let sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
        assert_eq!(sheet.records.len(), 1);
        let value = sheet.records[0].value.as_ref().unwrap();
        assert!(
            sheet.records[0].problems.is_empty(),
            "{:?}",
            sheet.records[0].problems
        );
        assert_eq!(value["items"], expected);
        assert_eq!(value["severity"], Value::Null, "the items' classes give it");
        assert_eq!(value["report_no"], "R-1");
        // The product's cells merged over both rows.
        let plain = rust_xlsxwriter::Format::new();
        let bytes = workbook(|sheet| {
            for (col, title) in header.iter().enumerate().skip(HEADER.len()) {
                sheet.write_string(0, col as u16, *title).unwrap();
            }
            for (col, cell) in first.iter().enumerate() {
                if is_item_col(col) {
                    sheet.write_string(1, col as u16, *cell).unwrap();
                    sheet.write_string(2, col as u16, second[col]).unwrap();
                } else {
                    sheet
                        .merge_range(1, col as u16, 2, col as u16, cell, &plain)
                        .unwrap();
                }
            }
        });
        let (_, grid) = workbook_grids(&bytes, 100).unwrap().remove(0);
        let sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
        assert_eq!(sheet.records.len(), 1);
        assert_eq!(sheet.records[0].value.as_ref().unwrap()["items"], expected);
        // Several items in one row's cell take one value each, in order.
        let mut both = first.clone();
        both[13] = "熄火保护装置；热负荷";
        both[15..].copy_from_slice(&["≤60 s；±10%", "75 s；-14%", "A类；B类"]);
        let grid = text_grid(&[&header, &both]);
        let sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
        let items = &sheet.records[0].value.as_ref().unwrap()["items"];
        assert_eq!(items[1]["measured"], "-14%");
        assert_eq!(items[0]["required"], "≤60 s");
        // A row copied twice is one result with its items once.
        let grid = text_grid(&[&header, &first, &first]);
        let sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
        assert_eq!(sheet.records.len(), 1);
        let value = sheet.records[0].value.as_ref().unwrap();
        assert_eq!(value["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(value["severity"], "serious");
        // Two results (two report numbers) stay two.
        let mut other = first.clone();
        other[1] = "R-2";
        let grid = text_grid(&[&header, &first, &other]);
        assert_eq!(
            result_records(&grid, 0, "tj-lab-01", None)
                .unwrap()
                .records
                .len(),
            2
        );
    }

    fn is_item_col(col: usize) -> bool {
        col == 13 || col >= 15
    }

    /// One sheet with both lists, each under a title and a header of its own (一、不合格产品 …
    /// 二、合格产品 …), and no 检验结论 column: each list's rows take their own list's verdict,
    /// never the one above; a list without a title of its own says none.
    #[test]
    fn each_list_of_a_sheet_takes_its_own_title() {
        let header: Vec<&str> = HEADER
            .iter()
            .copied()
            .filter(|h| *h != "检验结论")
            .collect();
        let row = |report: &'static str| -> Vec<&'static str> {
            let mut cells: Vec<&str> = BULLETIN_ROW.to_vec();
            cells.remove(12);
            cells[1] = report;
            cells
        };
        let read = |rows: &[&[&str]]| -> Vec<(String, Value, usize)> {
            let grid = text_grid(rows);
            let sheet =
                result_records(&grid, header_row(&grid).unwrap(), "tj-lab-01", None).unwrap();
            sheet
                .records
                .iter()
                .map(|r| {
                    let value = r.value.as_ref().unwrap();
                    let report = value["report_no"].as_str().unwrap_or_default().to_owned();
                    (report, value["verdict"].clone(), r.problems.len())
                })
                .collect()
        };
        let (f1, f2, p1) = (row("F-1"), row("F-2"), row("P-1"));
        let title: &[&str] = &["2026年电动自行车产品质量监督抽查结果"];
        assert_eq!(
            read(&[
                title,
                &["一、不合格产品"],
                &header,
                &f1,
                &f2,
                &["二、合格产品"],
                &header,
                &p1
            ]),
            [
                ("F-1".to_owned(), Value::from("fail"), 0),
                ("F-2".to_owned(), Value::from("fail"), 0),
                ("P-1".to_owned(), Value::from("pass"), 0)
            ]
        );
        // A header repeated without a title of its own (a page break) goes on with the list
        // above: a list of counterfeits stays one on the next page.
        let grid = text_grid(&[
            &["涉嫌假冒产品名单"],
            HEADER,
            BULLETIN_ROW,
            HEADER,
            BULLETIN_ROW,
        ]);
        let sheet = result_records(&grid, 1, "tj-lab-01", None).unwrap();
        let marked: Vec<Value> = sheet
            .records
            .iter()
            .map(|r| r.value.as_ref().unwrap()["suspected_counterfeit"].clone())
            .collect();
        assert_eq!(marked, [Value::Bool(true), Value::Bool(true)]);
    }

    /// 不合格项目 merged over a second header row of 项目名称 | 标准值 | 实测值: the item's name and
    /// its values, not a row of its own refused and values left out.
    #[test]
    fn failed_item_columns_under_one_merged_header_are_read() {
        let mut top: Vec<&str> = HEADER.to_vec();
        top[13] = "不合格项目";
        top.extend(["", ""]);
        let mut sub: Vec<&str> = vec![""; top.len()];
        sub[15] = "标准值";
        sub[16] = "实测值";
        let mut row: Vec<&str> = BULLETIN_ROW.to_vec();
        row[13] = "整车质量";
        row.extend(["≤55kg", "61.2kg"]);
        for name in ["项目名称", "名称", "项目"] {
            sub[13] = name;
            let grid = text_grid(&[&top, &sub, &row]);
            let sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
            assert_eq!(sheet.records.len(), 1, "{name}");
            assert_eq!(
                sheet.records[0].value.as_ref().unwrap()["items"],
                serde_json::json!([{"name": "整车质量", "required": "≤55kg", "measured": "61.2kg",
                                    "verdict": "fail"}]),
                "{name}"
            );
        }
    }

    #[test]
    fn a_hidden_sheet_is_not_sent() {
        let mut book = rust_xlsxwriter::Workbook::new();
        for (name, report_no, hidden) in [("今年", "R-1", false), ("去年", "R-0", true)] {
            let sheet = book.add_worksheet().set_name(name).unwrap();
            for (col, title) in HEADER.iter().enumerate() {
                sheet.write_string(0, col as u16, *title).unwrap();
                sheet
                    .write_string(1, col as u16, BULLETIN_ROW[col])
                    .unwrap();
            }
            sheet.write_string(1, 1, report_no).unwrap();
            sheet.set_hidden(hidden);
        }
        let bytes = book.save_to_buffer().unwrap();
        let read: Vec<String> = workbook_grids(&bytes, 100)
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(read, ["今年"]);
    }

    #[test]
    fn a_cell_at_the_last_row_and_column_is_not_a_sheet_of_seventeen_billion_cells() {
        let bytes = workbook(|sheet| {
            sheet.write_string(1, 1, "R-1").unwrap();
            sheet.write_string(1_048_575, 16_383, "x").unwrap();
            sheet.write_string(1_048_575, 1, "R-2").unwrap();
        });
        let (_, grid) = workbook_grids(&bytes, 100).unwrap().remove(0);
        let numbers: Vec<usize> = grid.rows.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, [1, 2, 1_048_576]);
        assert!(
            grid.rows
                .iter()
                .all(|(_, cells)| cells.len() <= MAX_COLUMNS as usize)
        );
    }

    #[test]
    fn more_rows_than_a_request_may_carry_are_refused_while_reading() {
        let bytes = workbook(|sheet| {
            for row in 1..=200 {
                sheet.write_string(row, 1, format!("R-{row}")).unwrap();
            }
        });
        let error = workbook_grids(&bytes, 50).unwrap_err();
        assert_eq!(error.status, axum::http::StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn a_workbook_that_unpacks_past_the_limit_is_refused_before_it_is_read() {
        let mut packed = Vec::new();
        {
            let mut zip = zip::ZipWriter::new(Cursor::new(&mut packed));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("xl/sharedStrings.xml", options).unwrap();
            std::io::Write::write_all(&mut zip, &vec![b'a'; 3 * 1024 * 1024]).unwrap();
            zip.finish().unwrap();
        }
        assert!(packed.len() < 64 * 1024, "{} bytes", packed.len());
        let error = check_unpacked_size(&packed, 1024 * 1024).unwrap_err();
        assert_eq!(error.status, axum::http::StatusCode::PAYLOAD_TOO_LARGE);
        assert!(check_unpacked_size(&packed, 8 * 1024 * 1024).is_ok());
    }

    #[test]
    fn dates_in_the_forms_labs_write_them() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
        for text in [
            "2026-03-05",
            "2026/3/5",
            "2026.3.5",
            "2026年3月5日",
            "20260305",
        ] {
            assert_eq!(date_of(&Cell::Text(text.into())), Some(day), "{text}");
        }
        assert_eq!(date_of(&Cell::Number(46086.0)), Some(day));
        assert_eq!(date_of(&Cell::Text("3月5日".into())), None);
        // As a report's signature date is written, or typed in full width.
        for text in [
            "二〇二六年三月五日",
            "二零二六年三月五日",
            "２０２６年３月５日",
            "2026年3月5号",
        ] {
            assert_eq!(date_of(&Cell::Text(text.into())), Some(day), "{text}");
        }
        assert_eq!(
            date_of(&Cell::Text("二〇二六年十二月三十一日".into())),
            NaiveDate::from_ymd_opt(2026, 12, 31)
        );
        assert_eq!(
            date_of(&Cell::Text("二〇二六年十月二十日".into())),
            NaiveDate::from_ymd_opt(2026, 10, 20)
        );
        assert_eq!(date_of(&Cell::Text("二〇二六年十三月一日".into())), None);
        assert_eq!(date_of(&Cell::Text("二〇二六年三月".into())), None);
        assert_eq!(date_of(&Cell::Text("2026-03-05 08:30".into())), Some(day));
        assert_eq!(date_of(&Cell::Text("2026-03".into())), None);
        // A span of testing days is its last day.
        for span in [
            "2026-02-20至2026-03-05",
            "2026-02-20 至 2026-03-05",
            "2026.02.20~03.05",
            "2026年2月20日至3月5日",
            "2026.2.20—2026.3.5",
            "2026年2月20日-2026年3月5日",
            "2026-02-20-2026-03-05",
            "2026-02-20-03-05",
            "2026/2/20－3/5",
        ] {
            assert_eq!(date_of(&Cell::Text(span.into())), Some(day), "{span}");
        }
    }

    /// A lab's ledger that gives each tested item a row (检验项目, 标准要求, 检验结果, 单项判定),
    /// the product's cells merged over its rows and no 检验结论: one result per report, with
    /// every item judged, failed if one failed; an item's class is its own, and an item not
    /// judged (`/`) adds nothing. Before, the failing report had no item and was refused, and
    /// each further row was refused for want of a domain.
    #[test]
    fn a_ledger_giving_each_tested_item_a_row_is_one_result_with_every_item() {
        let header: &[&str] = &[
            "序号",
            "报告编号",
            "产品名称",
            "受检单位",
            "所在区",
            "标称生产企业",
            "规格型号",
            "生产日期/批号",
            "抽样日期",
            "检验日期",
            "检验项目",
            "标准要求",
            "检验结果",
            "单项判定",
            "不合格类别",
        ];
        let product = |n: &'static str, report: &'static str, model: &'static str| {
            [
                n,
                report,
                "电动自行车",
                "某车行",
                "南开区",
                "某车业有限公司",
                model,
                "A12",
                "2026-04-01",
                "2026-04-20",
            ]
        };
        let item =
            |name, required, measured, verdict, class| [name, required, measured, verdict, class];
        let row =
            |product: Option<[&'static str; 10]>, item: [&'static str; 5]| -> Vec<&'static str> {
                let mut cells = product.map_or_else(|| vec![""; 10], |p| p.to_vec());
                cells.extend(item);
                cells
            };
        let rows = [
            header.to_vec(),
            row(
                Some(product("1", "R-1", "TDT-1")),
                item("整车质量", "≤55kg", "61.2kg", "不符合", "B类"),
            ),
            row(None, item("制动性能", "≤7m", "5.1m", "符合", "A类")),
            row(None, item("标识", "符合要求", "/", "/", "")),
            row(None, item("最高车速", "≤25km/h", "28km/h", "不合格", "A类")),
            row(
                Some(product("2", "R-2", "TDT-2")),
                item("整车质量", "≤55kg", "51.2kg", "合格", "B类"),
            ),
            row(None, item("制动性能", "≤7m", "5.1m", "合格", "A类")),
        ];
        let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
        let sheet = result_records(&text_grid(&rows), 0, "tj-lab-01", None).unwrap();
        assert_eq!(sheet.records.len(), 2);
        for record in &sheet.records {
            assert!(record.problems.is_empty(), "{:?}", record.problems);
        }
        let failed = sheet.records[0].value.as_ref().unwrap();
        assert_eq!(failed["report_no"], "R-1");
        assert_eq!(failed["verdict"], "fail");
        assert_eq!(
            failed["items"],
            serde_json::json!([
                {"name": "整车质量", "required": "≤55kg", "measured": "61.2kg", "verdict": "fail",
                 "severity": "general"},
                {"name": "制动性能", "required": "≤7m", "measured": "5.1m", "verdict": "pass"},
                {"name": "最高车速", "required": "≤25km/h", "measured": "28km/h",
                 "verdict": "fail", "severity": "serious"},
            ])
        );
        assert!(failed.get("severity").is_none());
        let passed = sheet.records[1].value.as_ref().unwrap();
        assert_eq!(passed["report_no"], "R-2");
        assert_eq!(passed["verdict"], "pass");
        assert_eq!(passed["items"].as_array().map(Vec::len), Some(2));
        assert!(passed.get("severity").is_none());
        // Both pass the contract's rules: the serious item makes the failure serious.
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let result = spotcheck_schemas::SamplingResult::parse(failed, today).unwrap();
        assert_eq!(result.severity, Some(spotcheck_schemas::Severity::Serious));
        spotcheck_schemas::SamplingResult::parse(passed, today).unwrap();

        // The same sheet laid out otherwise reads as the same two results.
        let read_back = |rows: &[&[&str]]| -> Vec<Value> {
            result_records(&text_grid(rows), 0, "tj-lab-01", None)
                .unwrap()
                .records
                .into_iter()
                .map(|r| r.value.unwrap())
                .collect()
        };

        // The product on a row of its own above its items: the same two results.
        let mut headed: Vec<Vec<&str>> = rows.iter().map(|r| r.to_vec()).collect();
        for at in [5, 1] {
            let mut head = headed[at].clone();
            head[10..].fill("");
            for cell in &mut headed[at][..10] {
                *cell = "";
            }
            headed.insert(at, head);
        }
        let headed: Vec<&[&str]> = headed.iter().map(Vec::as_slice).collect();
        assert_eq!(read_back(&headed), [failed.clone(), passed.clone()]);

        // The report number written on each item's row, the rest blank: the same two results.
        let mut numbered: Vec<Vec<&str>> = rows.iter().map(|r| r.to_vec()).collect();
        for (at, report) in [(2, "R-1"), (3, "R-1"), (4, "R-1"), (6, "R-2")] {
            numbered[at][1] = report;
        }
        let numbered: Vec<&[&str]> = numbered.iter().map(Vec::as_slice).collect();
        assert_eq!(read_back(&numbered), [failed.clone(), passed.clone()]);

        // 结论 or 判定 beside the items, without 单项判定, is each item's.
        for said in ["结论", "判定"] {
            let renamed: Vec<Vec<&str>> = rows
                .iter()
                .map(|r| {
                    let mut r = r.to_vec();
                    if r[13] == "单项判定" {
                        r[13] = said;
                    }
                    r
                })
                .collect();
            let renamed: Vec<&[&str]> = renamed.iter().map(Vec::as_slice).collect();
            assert_eq!(
                read_back(&renamed),
                [failed.clone(), passed.clone()],
                "{said}"
            );
        }

        // Tested items without a verdict each are refused with what to add.
        let without: Vec<Vec<&str>> = rows.iter().map(|cells| cells[..13].to_vec()).collect();
        let without: Vec<&[&str]> = without.iter().map(Vec::as_slice).collect();
        let refused = result_records(&text_grid(&without), 0, "tj-lab-01", None).unwrap_err();
        assert!(refused.message.contains("单项判定"), "{}", refused.message);
    }

    /// Ledgers and sampling forms have two columns of one field under different names: 检验日期
    /// and 签发日期, 抽样数量 beside 抽样基数 (the lot, not the sample), 被抽样单位地址 and
    /// 抽样地点. Before, the whole sheet was refused ("the same field: keep one"). Each row takes
    /// the report's later date (the objection window runs from it when service is not known),
    /// else the better named column it fills; a name given twice is still refused.
    #[test]
    fn two_columns_of_one_field_are_read_not_refused() {
        let mut header = HEADER.to_vec();
        header.extend([
            "签发日期",
            "抽样基数",
            "抽样数量",
            "抽样地点",
            "被抽样单位地址",
        ]);
        let row = |issued: &'static str, place: &'static str, address: &'static str| {
            let mut cells = BULLETIN_ROW.to_vec();
            cells[6] = "";
            cells.extend([issued, "200台", "2台", place, address]);
            cells
        };
        let rows = [
            header.clone(),
            row("2026-04-25", "仓库", "天津市河西区某路1号"),
            row("", "天津市河东区某路2号", ""),
        ];
        let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
        let sheet = result_records(&text_grid(&rows), 0, "tj-lab-01", None).unwrap();
        let values: Vec<&Value> = sheet
            .records
            .iter()
            .map(|r| {
                assert!(r.problems.is_empty(), "{:?}", r.problems);
                r.value.as_ref().unwrap()
            })
            .collect();
        assert_eq!(values[0]["tested_on"], "2026-04-25");
        assert_eq!(values[1]["tested_on"], "2026-04-20");
        assert_eq!(values[0]["sampling"]["quantity"], "2台");
        assert_eq!(values[0]["sampled_unit"]["address"], "天津市河西区某路1号");
        assert_eq!(values[0]["sampled_unit"]["district"], "120103");
        assert_eq!(values[1]["sampled_unit"]["address"], "天津市河东区某路2号");
        assert_eq!(values[1]["sampled_unit"]["district"], "120102");
        assert!(sheet.ignored.contains(&"抽样基数".to_owned()));

        let mut twice = HEADER.to_vec();
        twice.push("检验日期");
        let mut cells = BULLETIN_ROW.to_vec();
        cells.push("2026-04-21");
        let refused =
            result_records(&text_grid(&[&twice, &cells]), 0, "tj-lab-01", None).unwrap_err();
        assert!(
            refused.message.contains("two columns are named 检验日期"),
            "{}",
            refused.message
        );
    }

    /// Ledgers without a column of failed items write them beside the verdict (不合格（最高车速、
    /// 制动性能）, 不合格：标识): those are the items. Before, the row had none and was refused,
    /// so the failure opened no case. A class, a counterfeit or what was done is no item, and a
    /// sheet with an items column keeps its own.
    #[test]
    fn a_verdict_that_names_the_failed_items_gives_them() {
        let read = |verdict: &str, with_items_column: bool| {
            let (mut header, mut cells) = (HEADER.to_vec(), BULLETIN_ROW.to_vec());
            cells[12] = verdict;
            if !with_items_column {
                header.remove(13);
                cells.remove(13);
            }
            let grid = text_grid(&[&header, &cells]);
            let mut sheet = result_records(&grid, 0, "tj-lab-01", None).unwrap();
            let value = sheet.records.remove(0).value.unwrap();
            let names: Vec<String> = value["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (names, value["severity"].clone())
        };
        assert_eq!(
            read("不合格（最高车速、制动性能）", false).0,
            ["最高车速", "制动性能"]
        );
        assert_eq!(read("不合格：标识", false).0, ["标识"]);
        assert_eq!(
            read("不合格（一般）", false),
            (Vec::<String>::new(), Value::String("general".into()))
        );
        assert!(read("不合格（已整改）", false).0.is_empty());
        assert!(read("不合格（涉嫌假冒）", false).0.is_empty());
        assert_eq!(read("不合格（最高车速）", true).0, ["整车质量", "制动性能"]);
    }

    /// 不合格项目 merged over the rows that give each tested item's values: the failed item once,
    /// with its values. Before, it was listed twice (once bare, once with the values), so the
    /// notices and the disclosure named it twice.
    #[test]
    fn an_item_named_in_both_columns_is_one_item() {
        let mut header = HEADER.to_vec();
        header.extend(["检验项目", "标准要求", "实测值", "单项判定"]);
        let mut first = BULLETIN_ROW.to_vec();
        first[13] = "整车质量";
        first.extend(["整车质量", "≤55kg", "61.2kg", "不合格"]);
        let mut second = vec![""; BULLETIN_ROW.len()];
        second[13] = "整车质量";
        second.extend(["制动性能", "≤7m", "5.1m", "合格"]);
        let sheet =
            result_records(&text_grid(&[&header, &first, &second]), 0, "lab", None).unwrap();
        assert_eq!(sheet.records.len(), 1);
        assert_eq!(
            sheet.records[0].value.as_ref().unwrap()["items"],
            serde_json::json!([
                {"name": "整车质量", "required": "≤55kg", "measured": "61.2kg", "verdict": "fail"},
                {"name": "制动性能", "required": "≤7m", "measured": "5.1m", "verdict": "pass"},
            ])
        );
    }
}

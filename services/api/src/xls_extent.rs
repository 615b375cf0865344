//! What an Excel 97-2003 workbook (`.xls`, BIFF8 in an OLE2 container) would take in memory once
//! read, measured before it is read. calamine reads an XLS whole: every sheet becomes the
//! rectangle from its first to its last cell (a cell at A1 and one at IV65536 make 16.7 million),
//! a sheet's declared dimensions are reserved up front, and a sheet entry may point anywhere in
//! the workbook stream, so that one sheet is read many times. A lab's sheet is a few thousand
//! cells; a hostile one could make the process take gigabytes, or panic on an entry pointing past
//! the stream. The container is opened with `cfb` (which refuses chains that loop), the records
//! are walked as calamine walks them, and the workbook is refused before calamine sees it when
//! what it spans passes the budget.

use crate::error::ApiError;
use axum::http::StatusCode;
use std::io::{Cursor, Read};

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const BOUND_SHEET: u16 = 0x0085;
const DIMENSIONS: u16 = 0x0200;
const FORMULA: u16 = 0x0006;
const MUL_RK: u16 = 0x00BD;
/// Number, Label, RString, BoolErr, RK, LabelSst: one cell each, row and column first.
const ONE_CELL: [u16; 6] = [0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD];

/// How many cells an XLS may span per row it may carry (a result sheet has some 30 columns).
pub const CELLS_PER_ROW: u64 = 64;

/// Refuses an XLS whose sheets, as calamine would read them, span more than [`CELLS_PER_ROW`]
/// cells per row a request may carry (the used rectangles of values and of formulas, and the
/// declared dimensions, over all sheets), or whose structure would make calamine fail unsafely.
pub fn check(bytes: &[u8], max_rows: usize) -> Result<(), ApiError> {
    let max_cells = (max_rows as u64).saturating_mul(CELLS_PER_ROW);
    let mut span = 0u64;
    for stream in workbook_streams(bytes)? {
        for at in sheet_positions(&stream) {
            let sheet = stream.get(at..).ok_or_else(|| {
                unreadable(format!(
                    "a sheet starts at byte {at}, past the workbook's end"
                ))
            })?;
            span = span.saturating_add(sheet_span(sheet)?);
            if span > max_cells {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the workbook's sheets span more than {max_cells} cells (from their \
                         first to their last cell): a result sheet is far smaller; remove what \
                         is not results, or save the workbook as .xlsx and post it again"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The refusal of an `.xls` that cannot be read, saying why and what the clerk can do.
pub fn unreadable(why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!(
        "the .xls workbook cannot be read ({why}): open it in Excel or WPS, save it as .xlsx and \
         post it again"
    ))
}

/// Every stream calamine may take as the workbook's (it takes the first entry named `Workbook`,
/// or else `Book`, in any storage and any case): all are measured.
fn workbook_streams(bytes: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(unreadable)?;
    let paths: Vec<_> = file
        .walk()
        .filter(|entry| {
            entry.is_stream()
                && ["workbook", "book"].contains(&entry.name().to_ascii_lowercase().as_str())
        })
        .map(|entry| entry.path().to_owned())
        .collect();
    if paths.is_empty() {
        return Err(unreadable("it holds no workbook stream"));
    }
    let mut streams = Vec::with_capacity(paths.len());
    for path in paths {
        let mut stream = Vec::new();
        file.open_stream(&path)
            .and_then(|s| s.take(bytes.len() as u64).read_to_end(&mut stream))
            .map_err(unreadable)?;
        streams.push(stream);
    }
    Ok(streams)
}

/// The BIFF records of a stream from its start: (type, data), up to the first that does not fit.
fn records(stream: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = stream;
    std::iter::from_fn(move || {
        let kind = u16::from_le_bytes([*rest.first()?, *rest.get(1)?]);
        let len = usize::from(u16::from_le_bytes([*rest.get(2)?, *rest.get(3)?]));
        let data = rest.get(4..4 + len)?;
        rest = &rest[4 + len..];
        Some((kind, data))
    })
}

fn u16_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u16::from_le_bytes([*data.get(at)?, *data.get(at + 1)?]).into())
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// Where each sheet entry (BoundSheet8) of the workbook's globals says its sheet starts.
fn sheet_positions(stream: &[u8]) -> Vec<usize> {
    records(stream)
        .take_while(|(kind, _)| *kind != EOF)
        .filter(|(kind, _)| *kind == BOUND_SHEET)
        .filter_map(|(_, data)| u32_at(data, 0))
        .map(|at| at as usize)
        .collect()
}

/// The smallest rectangle holding some cells: (first row, last row, first column, last column).
#[derive(Default)]
struct Rectangle(Option<(u32, u32, u32, u32)>);

impl Rectangle {
    fn add(&mut self, row: u32, first_column: u32, last_column: u32) {
        let (r0, r1, c0, c1) = self.0.get_or_insert((row, row, first_column, last_column));
        *r0 = (*r0).min(row);
        *r1 = (*r1).max(row);
        *c0 = (*c0).min(first_column);
        *c1 = (*c1).max(last_column);
    }

    fn cells(&self) -> u64 {
        self.0.map_or(0, |(r0, r1, c0, c1)| {
            u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1)
        })
    }
}

/// The cells one sheet takes once read: its values' rectangle, its formulas' rectangle and its
/// declared dimensions, walking its records from its start as calamine does (to its EOF, passing
/// over embedded charts' substreams).
fn sheet_span(sheet: &[u8]) -> Result<u64, ApiError> {
    let mut values = Rectangle::default();
    let mut formulas = Rectangle::default();
    let mut declared = 0u64;
    let (mut seen_bof, mut depth) = (false, 0usize);
    for (kind, data) in records(sheet) {
        if depth > 0 {
            match kind {
                BOF => depth += 1,
                EOF => depth -= 1,
                _ => {}
            }
            continue;
        }
        let cell = u16_at(data, 0).zip(u16_at(data, 2));
        match kind {
            BOF if seen_bof => depth += 1,
            BOF => seen_bof = true,
            EOF => break,
            DIMENSIONS => declared = declared.saturating_add(dimensions(data)?),
            FORMULA => {
                if let Some((row, column)) = cell {
                    values.add(row, column, column);
                    formulas.add(row, column, column);
                }
            }
            MUL_RK => {
                if let (Some((row, first)), Some(last)) = (
                    cell,
                    data.len().checked_sub(2).and_then(|at| u16_at(data, at)),
                ) {
                    if last < first {
                        return Err(unreadable("a row of numbers ends before it starts"));
                    }
                    values.add(row, first, last);
                }
            }
            _ if ONE_CELL.contains(&kind) => {
                if let Some((row, column)) = cell {
                    values.add(row, column, column);
                }
            }
            _ => {}
        }
    }
    Ok(values
        .cells()
        .saturating_add(formulas.cells())
        .saturating_add(declared))
}

/// The cells a sheet's Dimensions record declares (calamine reserves room for them all).
fn dimensions(data: &[u8]) -> Result<u64, ApiError> {
    let (first_row, end_row, first_column, end_column) = match data.len() {
        10 => (
            u16_at(data, 0),
            u16_at(data, 2),
            u16_at(data, 4),
            u16_at(data, 6),
        ),
        14 | 16 => (
            u32_at(data, 0),
            u32_at(data, 4),
            u16_at(data, 8),
            u16_at(data, 10),
        ),
        _ => return Ok(0),
    };
    let (Some(first_row), Some(end_row), Some(mut first_column), Some(end_column)) =
        (first_row, end_row, first_column, end_column)
    else {
        return Ok(0);
    };
    // As calamine reads them: a first column past IV, or after the end, counts from A; an end
    // of 0 is one cell.
    if first_column > 0xFF || end_column < first_column {
        first_column = 0;
    }
    if end_row == 0 || end_column == 0 {
        return Ok(1);
    }
    if end_row - 1 < first_row || end_column - 1 < first_column {
        return Err(unreadable("a sheet's dimensions end before they start"));
    }
    Ok(u64::from(end_row - first_row) * u64::from(end_column - first_column))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheet_input::{Cell, workbook_grids};

    fn record(kind: u16, data: &[u8]) -> Vec<u8> {
        let len = u16::try_from(data.len()).unwrap();
        [&kind.to_le_bytes()[..], &len.to_le_bytes(), data].concat()
    }

    fn bof(kind: u16) -> Vec<u8> {
        let mut data = vec![0u8; 16];
        data[..2].copy_from_slice(&0x0600u16.to_le_bytes());
        data[2..4].copy_from_slice(&kind.to_le_bytes());
        record(BOF, &data)
    }

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn label(row: u16, column: u16, text: &str) -> Vec<u8> {
        let chars = u16::try_from(text.encode_utf16().count()).unwrap();
        let head = [
            row.to_le_bytes(),
            column.to_le_bytes(),
            [0, 0],
            chars.to_le_bytes(),
        ];
        record(0x0204, &[&head.concat()[..], &[1], &utf16(text)].concat())
    }

    fn number(row: u16, column: u16, value: f64) -> Vec<u8> {
        let head = [row.to_le_bytes(), column.to_le_bytes(), [0, 0]].concat();
        record(0x0203, &[&head[..], &value.to_le_bytes()].concat())
    }

    fn dimensions(first_row: u32, end_row: u32, end_column: u16) -> Vec<u8> {
        let data = [
            &first_row.to_le_bytes()[..],
            &end_row.to_le_bytes(),
            &0u16.to_le_bytes(),
            &end_column.to_le_bytes(),
            &[0, 0],
        ]
        .concat();
        record(DIMENSIONS, &data)
    }

    /// An XLS as Excel lays it out: the globals (a BOF, one BoundSheet8 per entry, an EOF), then
    /// each sheet's records between its BOF and EOF, in an OLE2 container. Each entry names the
    /// sheet it points at, or `None` for a place past the stream's end.
    fn xls(entries: &[(&str, Option<usize>)], sheets: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let entry = |name: &str, at: u32| {
            let name_len = u8::try_from(name.encode_utf16().count()).unwrap();
            let head = [&at.to_le_bytes()[..], &[0, 0, name_len, 1]].concat();
            record(BOUND_SHEET, &[head, utf16(name)].concat())
        };
        let globals_len = bof(5).len()
            + entries
                .iter()
                .map(|(n, _)| entry(n, 0).len())
                .sum::<usize>()
            + record(EOF, &[]).len();
        let bodies: Vec<Vec<u8>> = sheets
            .iter()
            .map(|records| [vec![bof(0x10)], records.clone(), vec![record(EOF, &[])]].concat())
            .map(|records| records.concat())
            .collect();
        let mut starts = Vec::new();
        let mut at = globals_len;
        for body in &bodies {
            starts.push(u32::try_from(at).unwrap());
            at += body.len();
        }
        let mut stream = bof(5);
        for (name, sheet) in entries {
            stream.extend(entry(name, sheet.map_or(u32::MAX / 2, |s| starts[s])));
        }
        stream.extend(record(EOF, &[]));
        stream.extend(bodies.concat());
        container(&stream)
    }

    fn container(stream: &[u8]) -> Vec<u8> {
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        std::io::Write::write_all(&mut file.create_stream("/Workbook").unwrap(), stream).unwrap();
        file.into_inner().into_inner()
    }

    fn result_sheet() -> Vec<Vec<u8>> {
        let header = ["产品名称", "被抽样单位名称", "报告编号", "抽样日期"];
        let mut records: Vec<Vec<u8>> = header
            .iter()
            .zip(0..)
            .map(|(text, column)| label(0, column, text))
            .collect();
        records.extend([
            label(1, 0, "安全帽"),
            label(1, 1, "某店"),
            label(1, 2, "X1"),
        ]);
        records.push(number(1, 3, 46114.0));
        records
    }

    #[test]
    fn a_result_sheet_saved_by_an_old_excel_is_read_cell_by_cell() {
        let bytes = xls(
            &[("说明", Some(0)), ("结果", Some(1))],
            &[vec![label(0, 0, "本表仅对抽样产品负责")], result_sheet()],
        );
        let sheets = workbook_grids(&bytes, 100).unwrap();
        assert_eq!(sheets.len(), 1, "the cover sheet has no header row");
        let (name, grid) = &sheets[0];
        assert_eq!(name, "结果");
        assert_eq!(
            grid.rows[1].0, 2,
            "rows are numbered as the sheet shows them"
        );
        assert_eq!(grid.rows[1].1[2], Cell::Text("X1".into()));
        assert_eq!(grid.rows[1].1[3], Cell::Number(46114.0));
    }

    #[test]
    fn a_sheet_spanning_to_its_last_cell_is_refused_before_it_is_read() {
        let mut sheet = result_sheet();
        sheet.push(number(65535, 255, 1.0));
        let bytes = xls(&[("结果", Some(0))], &[sheet]);
        // Read, it would be a rectangle of 65,536 × 256 cells: 16.7 million, for five values.
        let error = workbook_grids(&bytes, 50_000).unwrap_err();
        assert_eq!(
            error.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}",
            error.message
        );
        assert!(error.message.contains(".xlsx"), "{}", error.message);
    }

    #[test]
    fn one_sheet_named_by_many_entries_counts_each_time_it_would_be_read() {
        // 100 rows × 40 columns: 4,000 cells, read once per entry naming it.
        let sheet = vec![number(0, 0, 1.0), number(99, 39, 1.0)];
        let once = xls(&[("结果", Some(0))], std::slice::from_ref(&sheet));
        assert!(check(&once, 50_000).is_ok());
        let names: Vec<String> = (0..1_000).map(|n| format!("表{n}")).collect();
        let entries: Vec<(&str, Option<usize>)> =
            names.iter().map(|n| (n.as_str(), Some(0))).collect();
        let many = xls(&entries, &[sheet]);
        let error = check(&many, 50_000).unwrap_err();
        assert_eq!(
            error.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}",
            error.message
        );
    }

    #[test]
    fn malformed_sheets_are_refused_as_unreadable_not_read() {
        let refused = |bytes: &[u8]| workbook_grids(bytes, 50_000).unwrap_err();
        // An entry pointing past the stream (calamine would slice past it and panic).
        let error = refused(&xls(&[("结果", None)], &[result_sheet()]));
        assert_eq!(error.status, StatusCode::BAD_REQUEST, "{}", error.message);
        // Dimensions ending before they start (calamine would subtract past zero).
        let mut backwards = result_sheet();
        backwards.insert(0, dimensions(10, 2, 4));
        let error = refused(&xls(&[("结果", Some(0))], &[backwards]));
        assert_eq!(error.status, StatusCode::BAD_REQUEST, "{}", error.message);
        // Dimensions of four billion rows (calamine would reserve room for them all).
        let mut huge = result_sheet();
        huge.insert(0, dimensions(0, u32::MAX, 256));
        let error = refused(&xls(&[("结果", Some(0))], &[huge]));
        assert_eq!(
            error.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}",
            error.message
        );
        // Not a compound file past its first bytes; a compound file holding no workbook.
        let error = refused(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
        assert!(error.message.contains(".xlsx"), "{}", error.message);
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        file.create_stream("/WordDocument").unwrap();
        let error = refused(&file.into_inner().into_inner());
        assert!(error.message.contains("no workbook"), "{}", error.message);
    }

    #[test]
    fn a_sheet_entry_too_short_to_read_refuses_the_workbook() {
        // A BoundSheet8 of its position alone: calamine reads its flags past the record's end.
        let stream = [bof(5), record(BOUND_SHEET, &[0, 0, 0, 0]), record(EOF, &[])].concat();
        let error = workbook_grids(&container(&stream), 100).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST, "{}", error.message);
    }
}

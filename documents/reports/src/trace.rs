//! The batch trace export: every hop of one batch — from, to, date, quantity, districts — with
//! where it stands in the batch's case, as CSV or as a sortable XLSX sheet, in the spirit of
//! the FDA FSMA 204 "sortable spreadsheet" rule: a regulator asking "who had this batch?" gets
//! the answer in seconds.

use crate::ReportError;
use crate::table::{TextRow, get, text_rows};
use rust_xlsxwriter::{Format, Workbook};
use spotcheck_analytics::Analytics;
use spotcheck_schemas::keys::BatchKey;
use std::collections::{BTreeMap, VecDeque};

/// One shipment of the batch, placed in the distribution tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    /// 1 for shipments leaving the tree's roots (normally the producer), 2 for the next, ...
    pub level: Option<u32>,
    pub shipped_on: String,
    pub from_uscc: String,
    pub from_name: String,
    pub from_district: String,
    pub to_uscc: String,
    pub to_name: String,
    pub to_district: String,
    pub quantity: Option<f64>,
    pub unit: String,
    pub shipment_id: String,
    /// Where the receiving unit stands in the batch's case: `origin`, `upstream`,
    /// `downstream`, `downstream (referred)`, or empty when no case names it.
    pub to_in_case: String,
    /// The batch's case(s) and their status, e.g. `C-1f2e: rectifying`.
    pub case_status: String,
}

/// The export of one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub batch: BatchKey,
    pub hops: Vec<Hop>,
}

/// The column titles, in order (the same for CSV and XLSX).
pub const COLUMNS: [&str; 13] = [
    "level",
    "shipped_on",
    "from_uscc",
    "from_name",
    "from_district",
    "to_uscc",
    "to_name",
    "to_district",
    "quantity",
    "unit",
    "shipment_id",
    "to_in_case",
    "case_status",
];

/// Reads every hop of `batch` from the lake.
pub async fn trace(analytics: &Analytics, batch: &BatchKey) -> Result<Trace, ReportError> {
    // Every spelling of the batch: ledgers write the producer's name and the model otherwise.
    let key = batch.match_key();
    let key = [("batch_key", key.as_str())];
    let shipments = text_rows(
        analytics,
        "SELECT DISTINCT shipment_id, CAST(shipped_on AS VARCHAR) AS shipped_on, from_uscc, \
         from_name, from_district, to_uscc, to_name, to_district, quantity, unit \
         FROM shipments WHERE batch_match_key(batch_key) = $batch_key",
        &key,
    )
    .await?;
    let cases = text_rows(
        analytics,
        "SELECT case_id, status FROM cases WHERE batch_match_key(batch_key) = $batch_key \
         ORDER BY case_id",
        &key,
    )
    .await?;
    if shipments.is_empty() && cases.is_empty() {
        return Err(ReportError::NotFound(format!(
            "the lake has no shipment and no case of batch {batch}"
        )));
    }
    let units = text_rows(
        analytics,
        "SELECT uscc, direction, referred FROM case_units WHERE case_id IN \
         (SELECT case_id FROM cases WHERE batch_match_key(batch_key) = $batch_key)",
        &key,
    )
    .await?;
    let case_status = cases
        .iter()
        .map(|c| format!("{}: {}", get(c, "case_id"), get(c, "status")))
        .collect::<Vec<_>>()
        .join("; ");
    let in_case: BTreeMap<&str, String> = units
        .iter()
        .map(|u| {
            let mut place = get(u, "direction").to_owned();
            if get(u, "referred") == "true" {
                place.push_str(" (referred)");
            }
            (get(u, "uscc"), place)
        })
        .collect();
    let levels = levels(&shipments);
    let mut hops: Vec<Hop> = shipments
        .iter()
        .map(|s| Hop {
            level: levels.get(get(s, "from_uscc")).map(|level| level + 1),
            shipped_on: get(s, "shipped_on").to_owned(),
            from_uscc: get(s, "from_uscc").to_owned(),
            from_name: get(s, "from_name").to_owned(),
            from_district: get(s, "from_district").to_owned(),
            to_uscc: get(s, "to_uscc").to_owned(),
            to_name: get(s, "to_name").to_owned(),
            to_district: get(s, "to_district").to_owned(),
            quantity: get(s, "quantity").parse().ok(),
            unit: get(s, "unit").to_owned(),
            shipment_id: get(s, "shipment_id").to_owned(),
            to_in_case: in_case.get(get(s, "to_uscc")).cloned().unwrap_or_default(),
            case_status: case_status.clone(),
        })
        .collect();
    hops.sort_by(|a, b| {
        (
            a.level.unwrap_or(u32::MAX),
            &a.shipped_on,
            &a.from_uscc,
            &a.to_uscc,
            &a.shipment_id,
        )
            .cmp(&(
                b.level.unwrap_or(u32::MAX),
                &b.shipped_on,
                &b.from_uscc,
                &b.to_uscc,
                &b.shipment_id,
            ))
    });
    Ok(Trace {
        batch: batch.clone(),
        hops,
    })
}

/// The depth of every sender: units nobody shipped to are the roots (depth 0); each shipment
/// leads one deeper. Units only on a cycle have no depth.
fn levels(shipments: &[TextRow]) -> BTreeMap<String, u32> {
    let mut receivers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut received: std::collections::BTreeSet<&str> = Default::default();
    for s in shipments {
        receivers
            .entry(get(s, "from_uscc"))
            .or_default()
            .push(get(s, "to_uscc"));
        received.insert(get(s, "to_uscc"));
    }
    let mut depth: BTreeMap<String, u32> = BTreeMap::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    for root in receivers.keys().filter(|u| !received.contains(*u)) {
        depth.insert((*root).to_owned(), 0);
        queue.push_back(root);
    }
    while let Some(unit) = queue.pop_front() {
        let next = depth[unit] + 1;
        for to in receivers.get(unit).into_iter().flatten() {
            if !depth.contains_key(*to) {
                depth.insert((*to).to_owned(), next);
                queue.push_back(to);
            }
        }
    }
    depth
}

impl Hop {
    fn cells(&self) -> [String; 13] {
        [
            self.level.map(|l| l.to_string()).unwrap_or_default(),
            self.shipped_on.clone(),
            self.from_uscc.clone(),
            self.from_name.clone(),
            self.from_district.clone(),
            self.to_uscc.clone(),
            self.to_name.clone(),
            self.to_district.clone(),
            self.quantity.map(|q| q.to_string()).unwrap_or_default(),
            self.unit.clone(),
            self.shipment_id.clone(),
            self.to_in_case.clone(),
            self.case_status.clone(),
        ]
    }
}

impl Trace {
    /// CSV with a header row, UTF-8, for people: a cell that a spreadsheet would take for a
    /// formula is written as text ([`crate::cells::spreadsheet_text`]).
    pub fn to_csv(&self) -> Result<Vec<u8>, ReportError> {
        self.csv(true)
    }

    /// CSV with every value exactly as recorded, for programs.
    pub fn to_csv_raw(&self) -> Result<Vec<u8>, ReportError> {
        self.csv(false)
    }

    fn csv(&self, for_people: bool) -> Result<Vec<u8>, ReportError> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let csv_error = |e: csv::Error| ReportError::Csv(e.to_string());
        writer.write_record(COLUMNS).map_err(csv_error)?;
        for hop in &self.hops {
            let cells = hop.cells();
            match for_people {
                true => writer.write_record(
                    cells
                        .iter()
                        .map(|c| crate::cells::spreadsheet_text(c).into_owned()),
                ),
                false => writer.write_record(&cells),
            }
            .map_err(csv_error)?;
        }
        writer
            .into_inner()
            .map_err(|e| ReportError::Csv(e.to_string()))
    }

    /// One XLSX sheet: a bold, frozen header row with filters on every column (so it sorts and
    /// filters in any spreadsheet program), levels and quantities as numbers.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, ReportError> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name("trace")?;
        let bold = Format::new().set_bold();
        for (column, title) in COLUMNS.iter().enumerate() {
            sheet.write_with_format(0, column as u16, *title, &bold)?;
        }
        for (index, hop) in self.hops.iter().enumerate() {
            let row = index as u32 + 1;
            for (column, cell) in hop.cells().iter().enumerate() {
                let column = column as u16;
                match (column, cell.parse::<f64>()) {
                    // level and quantity are numbers; USCCs and dates stay text.
                    (0 | 8, Ok(number)) => sheet.write_number(row, column, number)?,
                    _ => sheet.write_string(row, column, cell)?,
                };
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofilter(0, 0, self.hops.len() as u32, COLUMNS.len() as u16 - 1)?;
        sheet.autofit();
        Ok(workbook.save_to_buffer()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipment(from: &str, to: &str) -> TextRow {
        [("from_uscc", from), ("to_uscc", to)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn levels_count_hops_from_the_units_nobody_shipped_to() {
        let shipments = [
            shipment("P", "D1"),
            shipment("D1", "R1"),
            shipment("D1", "R2"),
            shipment("P", "R2"),
            shipment("X", "Y"),
            shipment("Y", "X"), // a cycle without a root
        ];
        let levels = levels(&shipments);
        assert_eq!(levels.get("P"), Some(&0));
        assert_eq!(levels.get("D1"), Some(&1));
        assert_eq!(levels.get("R1"), Some(&2));
        assert_eq!(levels.get("R2"), Some(&1), "the shortest path counts");
        assert_eq!(levels.get("X"), None);
    }
}

//! The case pages: a list of cases, and one case — its facts, deadlines and notices, and the
//! distribution graph of its batch drawn as SVG (producer at the root on the left, the upstream
//! path to the sampled unit in red, the sampled unit marked, units outside the region dashed and
//! labelled as referrals). Server-rendered HTML with inline SVG and CSS: nothing is fetched.

use crate::ReportError;
use crate::svg::escape;
use crate::table::{TextRow, get, literal, text_rows};
use crate::trace::{Hop, trace};
use spotcheck_analytics::Analytics;
use spotcheck_schemas::keys::BatchKey;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

const STYLE: &str = "body{font-family:\"Noto Sans CJK SC\",\"WenQuanYi Zen Hei\",sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}\
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f2f2f2}\
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dt{font-weight:bold}\
.legend span{display:inline-block;margin-right:1.5em}";

/// The newest cases, newest first (at most 500), as an HTML page linking each case.
pub async fn list_page(analytics: &Analytics) -> Result<String, ReportError> {
    let cases = text_rows(
        analytics,
        "SELECT case_id, report_no, producer_name, model, batch, status, units, updated_at \
         FROM cases ORDER BY updated_at DESC, case_id LIMIT 500",
    )
    .await?;
    let mut html = page_head("Cases");
    let _ = write!(
        html,
        "<h1>Cases</h1><p>{} shown, newest first.</p><table id=\"cases\"><tr><th>case</th>\
         <th>report</th><th>producer</th><th>model</th><th>batch</th><th>status</th>\
         <th>units</th><th>updated</th></tr>",
        cases.len()
    );
    for case in &cases {
        let id = get(case, "case_id");
        let _ = write!(
            html,
            "<tr><td><a href=\"/ui/cases/{}\">{}</a></td>",
            escape(id),
            escape(id)
        );
        for column in [
            "report_no",
            "producer_name",
            "model",
            "batch",
            "status",
            "units",
            "updated_at",
        ] {
            let _ = write!(html, "<td>{}</td>", escape(get(case, column)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table></body></html>");
    Ok(html)
}

/// The page of one case.
pub async fn case_page(analytics: &Analytics, case_id: &str) -> Result<String, ReportError> {
    let id = literal(case_id);
    let case = text_rows(
        analytics,
        &format!("SELECT * FROM cases WHERE case_id = {id}"),
    )
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| ReportError::NotFound(format!("no case {case_id} in the lake")))?;
    let units = text_rows(
        analytics,
        &format!("SELECT * FROM case_units WHERE case_id = {id} ORDER BY hops, name"),
    )
    .await?;
    let hops = match BatchKey::parse(get(&case, "batch_key")) {
        Some(batch) => match trace(analytics, &batch).await {
            Ok(trace) => trace.hops,
            Err(ReportError::NotFound(_)) => Vec::new(),
            Err(error) => return Err(error),
        },
        None => Vec::new(),
    };
    Ok(render_case(&case, &units, &hops))
}

fn page_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"zh\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body>",
        escape(title)
    )
}

fn render_case(case: &TextRow, units: &[TextRow], hops: &[Hop]) -> String {
    let case_id = get(case, "case_id");
    let mut html = page_head(&format!("Case {case_id}"));
    let _ = write!(
        html,
        "<p><a href=\"/ui/cases\">all cases</a></p><h1>Case {}</h1><dl id=\"facts\">",
        escape(case_id)
    );
    for (label, column) in [
        ("status", "status"),
        ("report", "report_no"),
        ("lab", "lab_id"),
        ("category", "category"),
        ("producer", "producer_name"),
        ("producer USCC", "producer_uscc"),
        ("model", "model"),
        ("batch", "batch"),
        ("sampled unit", "origin_name"),
        ("sampled unit's role", "origin_role"),
        ("revision", "revision"),
        ("updated", "updated_at"),
    ] {
        let _ = write!(
            html,
            "<dt>{label}</dt><dd>{}</dd>",
            escape(get(case, column))
        );
    }
    html.push_str(
        "</dl><h2>Deadlines</h2><table id=\"deadlines\"><tr><th>what</th><th>by</th></tr>",
    );
    for (label, column) in [
        ("objection window closes", "objection_until"),
        ("final on", "final_on"),
        ("rectify by", "rectify_by"),
        ("recheck by", "recheck_by"),
    ] {
        let _ = write!(
            html,
            "<tr><td>{label}</td><td>{}</td></tr>",
            escape(get(case, column))
        );
    }
    html.push_str("</table><h2>Notices</h2><table id=\"notices\"><tr><th>kind</th><th>to</th><th>due</th><th>status</th></tr>");
    let notices: Vec<serde_json::Value> =
        serde_json::from_str(get(case, "notices_json")).unwrap_or_default();
    for notice in &notices {
        let field = |name: &str| escape(notice[name].as_str().unwrap_or_default());
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            field("kind"),
            field("to"),
            field("due_on"),
            field("status")
        );
    }
    let batch = get(case, "batch_key");
    let _ = write!(
        html,
        "</table><h2>Distribution of the batch</h2>{}{}\
         <p><a href=\"/v1/trace-export?batch={}&amp;format=xlsx\">trace export (XLSX, admin)</a></p>\
         <h2>Units</h2><table id=\"units\"><tr><th>unit</th><th>USCC</th><th>role</th><th>direction</th>\
         <th>hops</th><th>received</th><th>district</th><th>in region</th></tr>",
        LEGEND,
        graph(units, hops),
        escape(&percent_encode(batch)),
    );
    for unit in units {
        html.push_str("<tr>");
        for column in [
            "name",
            "uscc",
            "role",
            "direction",
            "hops",
            "quantity_received",
            "district",
            "in_region",
        ] {
            let _ = write!(html, "<td>{}</td>", escape(get(unit, column)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table></body></html>");
    html
}

const LEGEND: &str = "<p class=\"legend\"><span>■ red border: the sampled unit</span>\
<span style=\"color:#c0392b\">— red: upstream path</span><span>▭ dashed: outside the region (referral)</span>\
<span style=\"color:#888\">grey: not part of the case</span></p>";

/// How a unit is drawn.
struct Node {
    name: String,
    direction: String,
    referred: bool,
}

/// The distribution graph: one column per level, the roots (the producer) on the left.
fn graph(units: &[TextRow], hops: &[Hop]) -> String {
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    for unit in units {
        nodes.insert(
            get(unit, "uscc").to_owned(),
            Node {
                name: get(unit, "name").to_owned(),
                direction: get(unit, "direction").to_owned(),
                referred: get(unit, "referred") == "true" || get(unit, "in_region") == "false",
            },
        );
    }
    let mut level: BTreeMap<String, u32> = BTreeMap::new();
    for hop in hops {
        for (uscc, name) in [
            (&hop.from_uscc, &hop.from_name),
            (&hop.to_uscc, &hop.to_name),
        ] {
            nodes.entry(uscc.clone()).or_insert_with(|| Node {
                name: name.clone(),
                direction: String::new(),
                referred: false,
            });
        }
        if let Some(l) = hop.level {
            let from = level.entry(hop.from_uscc.clone()).or_insert(l - 1);
            *from = (*from).min(l - 1);
            let to = level.entry(hop.to_uscc.clone()).or_insert(l);
            *to = (*to).min(l);
        }
    }
    // Units no shipment places (e.g. a case without ledger data) go by their hop count.
    for unit in units {
        let uscc = get(unit, "uscc");
        if !level.contains_key(uscc) {
            level.insert(uscc.to_owned(), get(unit, "hops").parse().unwrap_or(0));
        }
    }
    let mut columns: BTreeMap<u32, Vec<&String>> = BTreeMap::new();
    for uscc in nodes.keys() {
        // A unit only on a cycle of shipments has no level: draw it with the roots.
        let column = level.get(uscc).copied().unwrap_or(0);
        columns.entry(column).or_default().push(uscc);
    }
    const W: f64 = 180.0;
    const H: f64 = 44.0;
    let mut at: BTreeMap<&String, (f64, f64)> = BTreeMap::new();
    for (column, usccs) in &columns {
        for (row, uscc) in usccs.iter().enumerate() {
            at.insert(
                uscc,
                (
                    20.0 + *column as f64 * (W + 60.0),
                    20.0 + row as f64 * (H + 16.0),
                ),
            );
        }
    }
    let width = 40.0 + (columns.len().max(1) as f64) * (W + 60.0);
    let height = 40.0 + columns.values().map(Vec::len).max().unwrap_or(1) as f64 * (H + 16.0);
    let on_path: BTreeSet<&str> = nodes
        .iter()
        .filter(|(_, n)| n.direction == "upstream" || n.direction == "origin")
        .map(|(uscc, _)| uscc.as_str())
        .collect();
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="graph" viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    for hop in hops {
        let (Some(from), Some(to)) = (at.get(&hop.from_uscc), at.get(&hop.to_uscc)) else {
            continue;
        };
        let upstream = on_path.contains(hop.to_uscc.as_str())
            && (on_path.contains(hop.from_uscc.as_str()) || level.get(&hop.from_uscc) == Some(&0));
        let (colour, stroke) = if upstream {
            ("#c0392b", 3)
        } else {
            ("#999", 1)
        };
        let _ = write!(
            svg,
            r##"<line x1="{:.0}" y1="{:.0}" x2="{:.0}" y2="{:.0}" stroke="{colour}" stroke-width="{stroke}" data-upstream="{upstream}"/>"##,
            from.0 + W,
            from.1 + H / 2.0,
            to.0,
            to.1 + H / 2.0
        );
    }
    for (uscc, node) in &nodes {
        let (x, y) = at[uscc];
        let fill = match node.direction.as_str() {
            "origin" | "upstream" => "#fdebd0",
            "downstream" => "#d6eaf8",
            _ => "#eeeeee",
        };
        let border = if node.direction == "origin" {
            "stroke=\"#c0392b\" stroke-width=\"3\""
        } else {
            "stroke=\"#555\" stroke-width=\"1\""
        };
        let dash = if node.referred {
            " stroke-dasharray=\"5,3\""
        } else {
            ""
        };
        let mut note = match node.direction.as_str() {
            "origin" => "sampled unit".to_owned(),
            "" => "not in the case".to_owned(),
            other => other.to_owned(),
        };
        if node.referred {
            note.push_str(" · referral");
        }
        let name: String = node.name.chars().take(16).collect();
        let _ = write!(
            svg,
            r##"<g data-uscc="{u}" data-direction="{d}" data-referral="{r}"><title>{full} ({u})</title><rect x="{x}" y="{y}" width="{W}" height="{H}" rx="4" fill="{fill}" {border}{dash}/><text x="{tx}" y="{t1}">{name}</text><text x="{tx}" y="{t2}" fill="#555">{note}</text></g>"##,
            u = escape(uscc),
            d = escape(&node.direction),
            r = node.referred,
            full = escape(&node.name),
            tx = x + 6.0,
            t1 = y + 17.0,
            t2 = y + 33.0,
            name = escape(&name),
            note = escape(&note),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `text` for a URL query value.
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
    out
}

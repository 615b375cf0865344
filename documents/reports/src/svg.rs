//! Charts and graphs drawn as inline SVG text: no fonts to load, no script, nothing fetched, and
//! a browser, a Markdown viewer or a printer shows them the same.

use std::fmt::Write;

/// `text` safe inside HTML/SVG text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number as a chart label: no decimals for whole numbers, else one or two.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// Horizontal bars, one per `(label, value)`, the value written at the end of each bar.
/// `id` names the chart for readers and tests (`data-chart`).
pub fn bar_chart(id: &str, title: &str, bars: &[(String, f64)]) -> String {
    const LABEL: f64 = 220.0;
    const WIDTH: f64 = 720.0;
    const ROW: f64 = 24.0;
    let height = 40.0 + ROW * bars.len().max(1) as f64;
    let max = bars.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let scale = if max > 0.0 {
        (WIDTH - LABEL - 80.0) / max
    } else {
        0.0
    };
    let mut svg = open(id, title, WIDTH, height);
    if bars.is_empty() {
        let _ = write!(svg, r#"<text x="10" y="50">no data</text>"#);
    }
    for (index, (label, value)) in bars.iter().enumerate() {
        let y = 32.0 + ROW * index as f64;
        let width = (value * scale).max(1.0);
        let _ = write!(
            svg,
            r##"<text x="{lx}" y="{ty}" text-anchor="end">{label}</text><rect x="{LABEL}" y="{y}" width="{width:.1}" height="{h}" fill="#3b6ea5"><title>{label}: {v}</title></rect><text x="{vx:.1}" y="{ty}" data-value="{v}">{v}</text>"##,
            lx = LABEL - 8.0,
            ty = y + 14.0,
            h = ROW - 6.0,
            label = escape(label),
            v = number(*value),
            vx = LABEL + width + 6.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line over ordered `(label, value)` points, each point labelled with its value.
pub fn line_chart(id: &str, title: &str, points: &[(String, f64)]) -> String {
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 260.0;
    const LEFT: f64 = 50.0;
    const BOTTOM: f64 = 220.0;
    let mut svg = open(id, title, WIDTH, HEIGHT);
    if points.is_empty() {
        svg.push_str(r#"<text x="10" y="50">no data</text></svg>"#);
        return svg;
    }
    let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let step = (WIDTH - LEFT - 40.0) / (points.len().max(2) - 1) as f64;
    let y_of = |v: f64| {
        if max > 0.0 {
            BOTTOM - v / max * (BOTTOM - 50.0)
        } else {
            BOTTOM
        }
    };
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{BOTTOM}" x2="{x2}" y2="{BOTTOM}" stroke="#999"/>"##,
        x2 = WIDTH - 20.0
    );
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| format!("{:.1},{:.1}", LEFT + step * i as f64, y_of(*v)))
        .collect();
    let _ = write!(
        svg,
        r##"<polyline points="{}" fill="none" stroke="#c0392b" stroke-width="2"/>"##,
        path.join(" ")
    );
    for (i, (label, value)) in points.iter().enumerate() {
        let x = LEFT + step * i as f64;
        let y = y_of(*value);
        let _ = write!(
            svg,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="#c0392b"/><text x="{x:.1}" y="{ty:.1}" text-anchor="middle" data-value="{v}">{v}</text><text x="{x:.1}" y="{ly}" text-anchor="middle">{label}</text>"##,
            ty = y - 8.0,
            v = number(*value),
            ly = BOTTOM + 18.0,
            label = escape(label),
        );
    }
    svg.push_str("</svg>");
    svg
}

fn open(id: &str, title: &str, width: f64, height: f64) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" data-chart="{id}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif" font-size="12" role="img" aria-label="{t}"><text x="10" y="16" font-weight="bold">{t}</text>"#,
        id = escape(id),
        t = escape(title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_carry_their_values_and_escape_their_labels() {
        let bars = [("<gas>".to_owned(), 12.0), ("e_bike".to_owned(), 3.5)];
        let svg = bar_chart("rate", "Failure rate", &bars);
        assert!(svg.contains(r#"data-value="12""#));
        assert!(svg.contains(r#"data-value="3.50""#));
        assert!(svg.contains("&lt;gas&gt;") && !svg.contains("<gas>"));
        let line = line_chart(
            "q",
            "By quarter",
            &[("2026Q1".into(), 4.0), ("2026Q2".into(), 8.0)],
        );
        assert_eq!(line.matches("<circle").count(), 2);
        assert!(bar_chart("none", "Nothing", &[]).contains("no data"));
    }
}

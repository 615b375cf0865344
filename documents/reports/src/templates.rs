//! The templates of pages and documents (minijinja, `templates/`), compiled into the binary and
//! loaded once. HTML templates escape every value; the notices' text templates do not (their
//! paragraphs are escaped where a page shows them, and DOCX needs no escaping).

use crate::ReportError;
use minijinja::Environment;
use serde::Serialize;
use std::sync::OnceLock;

const SOURCES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("cases.html", include_str!("../templates/cases.html")),
    ("case.html", include_str!("../templates/case.html")),
    ("notice.html", include_str!("../templates/notice.html")),
    ("bulletin.html", include_str!("../templates/bulletin.html")),
    ("report.html", include_str!("../templates/report.html")),
    ("unit.html", include_str!("../templates/unit.html")),
    ("todo.html", include_str!("../templates/todo.html")),
    ("report.md", include_str!("../templates/report.md")),
    ("facts.txt", include_str!("../templates/notices/facts.txt")),
    (
        "rectification.txt",
        include_str!("../templates/notices/rectification.txt"),
    ),
    (
        "reminder.txt",
        include_str!("../templates/notices/reminder.txt"),
    ),
    (
        "interview.txt",
        include_str!("../templates/notices/interview.txt"),
    ),
    (
        "listed_supervision.txt",
        include_str!("../templates/notices/listed_supervision.txt"),
    ),
];

/// Every template. They are part of the binary (and tested), so an error here is a defect of
/// the build, reported as an error of the page rather than a panic.
fn environment() -> Result<&'static Environment<'static>, ReportError> {
    static TEMPLATES: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    TEMPLATES
        .get_or_init(|| {
            let mut env = Environment::new();
            env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
            // Markdown cells: `|`, `*`, `_`… escaped, lines joined (the report's .md).
            env.add_filter("md", |text: String| crate::cells::markdown_text(&text));
            for (name, source) in SOURCES {
                env.add_template(name, source)
                    .map_err(|error| format!("the built-in template {name} is broken: {error}"))?;
            }
            Ok(env)
        })
        .as_ref()
        .map_err(|error| ReportError::Write(error.clone()))
}

/// Renders the template `name` with `context`.
pub(crate) fn render(name: &str, context: impl Serialize) -> Result<String, ReportError> {
    environment()?
        .get_template(name)
        .and_then(|template| template.render(minijinja::value::Serde(&context)))
        .map_err(|error| ReportError::Write(format!("cannot render {name}: {error}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        let env = super::environment().expect("the templates parse");
        for (name, _) in super::SOURCES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }
}

//! Checks on a statement's text before DataFusion plans it: its size, and how deeply its
//! expressions nest.
//!
//! A chain such as `1+1+…+1` parses without recursion (so the parser's own recursion limit never
//! sees it) into a tree as deep as the chain is long; planning, optimising, printing and dropping
//! that tree all recurse once per level. 5,000 terms (10 KB) overflowed a query thread's stack
//! and aborted the whole process; 4,000 took 26 s of CPU. The bound on the statement's size
//! bounds how deep any tree can be, so the check itself (which recurses too) runs safely on the
//! query threads, whose stacks are sized for it ([`QUERY_THREAD_STACK`]).

use crate::QueryError;
use datafusion::sql::parser::{DFParserBuilder, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::{Expr, ObjectName, Query, Statement, Visit, Visitor};
use std::ops::ControlFlow;

/// Stack of every thread that parses, checks or plans analysts' SQL. The statement-size bound
/// (64 KiB by default) allows trees up to ~32,000 levels before the depth check refuses them;
/// checking such a tree takes a few MiB of stack. Only the pages a thread touches are resident.
pub const QUERY_THREAD_STACK: usize = 64 * 1024 * 1024;

/// How deep a statement's parser may recurse (nested parentheses, subqueries, function calls).
const PARSER_RECURSION_LIMIT: usize = 64;

/// The bounds on a statement's text.
#[derive(Debug, Clone, Copy)]
pub struct StatementLimits {
    /// Longest statement, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of expressions and subqueries.
    pub max_depth: usize,
}

impl Default for StatementLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024,
            max_depth: 256,
        }
    }
}

/// The statement's size, the only check cheap and safe on any thread: call it before the text
/// is parsed anywhere.
pub fn check_size(sql: &str, limits: StatementLimits) -> Result<(), QueryError> {
    if sql.len() > limits.max_bytes {
        return Err(QueryError::TooComplex(format!(
            "the statement is {} bytes, more than the {}-byte limit",
            sql.len(),
            limits.max_bytes
        )));
    }
    Ok(())
}

/// Size, parser recursion and expression depth. Run it on a query thread
/// ([`QUERY_THREAD_STACK`]): it parses, and walks the tree recursively.
pub fn check(sql: &str, limits: StatementLimits) -> Result<(), QueryError> {
    check_size(sql, limits)?;
    let statements = DFParserBuilder::new(sql)
        .with_recursion_limit(PARSER_RECURSION_LIMIT)
        .build()
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|e| {
            let message = e.to_string();
            if message.contains("RecursionLimitExceeded") || message.contains("recursion limit") {
                QueryError::TooComplex(format!(
                    "the statement nests deeper than the parser's limit of \
                     {PARSER_RECURSION_LIMIT} levels"
                ))
            } else {
                QueryError::Invalid(message)
            }
        })?;
    for statement in &statements {
        check_statement(statement, limits.max_depth)?;
    }
    Ok(())
}

fn check_statement(statement: &DfStatement, max_depth: usize) -> Result<(), QueryError> {
    match statement {
        DfStatement::Statement(statement) => check_depth(statement, max_depth),
        DfStatement::Explain(explain) => check_statement(&explain.statement, max_depth),
        // Refused when planned (not queries); nothing deep to plan.
        DfStatement::CreateExternalTable(_) | DfStatement::CopyTo(_) | DfStatement::Reset(_) => {
            Ok(())
        }
    }
}

/// The expression depth of a parsed statement, refused over `max_depth`; and its tables, of
/// which none may be a file path or a URL (`SELECT * FROM '/etc/passwd'`).
pub fn check_depth(statement: &Statement, max_depth: usize) -> Result<(), QueryError> {
    let mut depth = Depth {
        current: 0,
        max: max_depth,
    };
    match statement.visit(&mut depth) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(Refusal::TooDeep) => Err(QueryError::TooComplex(format!(
            "expressions nest deeper than the limit of {max_depth} levels \
             (a long chain such as a+b+c+… counts one level per term); \
             split it, or use IN (…) or a table"
        ))),
        ControlFlow::Break(Refusal::PathAsTable(name)) => Err(QueryError::NotAQuery(format!(
            "{name} is a file path or URL, not a table: only the lake's tables and views can be \
             queried (SHOW TABLES lists them)"
        ))),
    }
}

struct Depth {
    current: usize,
    max: usize,
}

enum Refusal {
    TooDeep,
    PathAsTable(String),
}

impl Depth {
    fn enter(&mut self) -> ControlFlow<Refusal> {
        self.current += 1;
        if self.current > self.max {
            ControlFlow::Break(Refusal::TooDeep)
        } else {
            ControlFlow::Continue(())
        }
    }

    fn leave(&mut self) -> ControlFlow<Refusal> {
        self.current = self.current.saturating_sub(1);
        ControlFlow::Continue(())
    }
}

impl Visitor for Depth {
    type Break = Refusal;

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<Refusal> {
        let path_like = relation.0.iter().any(|part| {
            let text = part.to_string();
            text.starts_with('\'') || text.contains('/') || text.contains("://")
        });
        match path_like {
            true => ControlFlow::Break(Refusal::PathAsTable(relation.to_string())),
            false => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<Refusal> {
        self.enter()
    }

    fn post_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<Refusal> {
        self.leave()
    }

    fn pre_visit_query(&mut self, _query: &Query) -> ControlFlow<Refusal> {
        self.enter()
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<Refusal> {
        self.leave()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(terms: usize) -> String {
        format!("SELECT {}", vec!["1"; terms].join("+"))
    }

    /// The checks recurse; tests run them as the query threads do, on a stack sized for them.
    fn on_query_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(QUERY_THREAD_STACK)
            .spawn(work)
            .expect("thread")
            .join()
            .expect("no panic")
    }

    #[test]
    fn a_long_chain_is_refused_by_depth_and_an_ordinary_query_passes() {
        let limits = StatementLimits::default();
        let refused = on_query_stack(move || check(&chain(5_000), limits));
        assert!(
            matches!(&refused, Err(QueryError::TooComplex(m)) if m.contains("256 levels")),
            "{refused:?}"
        );
        let fine = on_query_stack(move || check(&chain(100), limits));
        assert!(fine.is_ok(), "{fine:?}");
        let view = on_query_stack(move || {
            check(
                "SELECT district, count(*) FILTER (WHERE verdict = 'fail') AS failed \
                 FROM results WHERE category IN ('gas', 'e-bike') AND tested_on > '2025-01-01' \
                 GROUP BY district ORDER BY failed DESC LIMIT 10",
                limits,
            )
        });
        assert!(view.is_ok(), "{view:?}");
    }

    #[test]
    fn the_longest_chain_the_size_allows_is_checked_without_overflowing() {
        let limits = StatementLimits::default();
        // The deepest tree 64 KiB can spell: one level per two bytes.
        let sql = chain((limits.max_bytes - 10) / 2);
        let refused = on_query_stack(move || check(&sql, limits));
        assert!(matches!(refused, Err(QueryError::TooComplex(_))));
    }

    #[test]
    fn file_paths_and_urls_as_tables_are_refused_as_not_queries() {
        for sql in [
            "SELECT * FROM '/etc/passwd'",
            "SELECT * FROM 'data/lake/results/x.parquet'",
            "SELECT * FROM \"s3://bucket/x.csv\"",
            "SELECT * FROM results r JOIN '/etc/hosts' h ON true",
        ] {
            let refused = on_query_stack(move || check(sql, StatementLimits::default()));
            assert!(
                matches!(refused, Err(QueryError::NotAQuery(_))),
                "{sql}: {refused:?}"
            );
        }
        let fine =
            on_query_stack(|| check("SELECT * FROM public.results", StatementLimits::default()));
        assert!(fine.is_ok());
    }

    #[test]
    fn statements_over_the_size_limit_and_deep_parentheses_are_refused() {
        let limits = StatementLimits {
            max_bytes: 1_000,
            max_depth: 256,
        };
        assert!(matches!(
            check_size(&chain(1_000), limits),
            Err(QueryError::TooComplex(m)) if m.contains("1000-byte")
        ));
        let nested = format!("SELECT {}1{}", "(".repeat(200), ")".repeat(200));
        let refused = on_query_stack(move || check(&nested, StatementLimits::default()));
        assert!(
            matches!(refused, Err(QueryError::TooComplex(_))),
            "{refused:?}"
        );
    }
}

//! What a Postgres client may run: queries go through [`Analytics::query`]; session statements
//! (SET, SHOW, BEGIN, cursors) go on to the library's hooks; the rest is refused.

use crate::{Analytics, Answer, QueryError};
use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{Set, Statement};
use datafusion_postgres::arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch};
use datafusion_postgres::hooks::{HookClient, QueryHook};
use datafusion_postgres::pgwire::api::ClientInfo;
use datafusion_postgres::pgwire::api::portal::Format;
use datafusion_postgres::pgwire::api::results::{QueryResponse, Response};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::data::DataRow;
use datafusion_postgres::pgwire::types::format::FormatOptions;
use futures::StreamExt;
use std::sync::Arc;

/// How the sandbox treats one statement.
#[derive(Debug, PartialEq)]
pub(crate) enum Treatment {
    /// Read-only: run it through `Analytics::query`.
    Query,
    /// Client session housekeeping the library's hooks answer without touching the lake.
    Session,
    /// Anything that writes, reads files or changes the shared session: refused with the reason.
    Refuse(&'static str),
}

pub(crate) fn treat(statement: &Statement) -> Treatment {
    match statement {
        Statement::Query(_)
        | Statement::ExplainTable { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowFunctions { .. } => Treatment::Query,
        Statement::Explain { statement, .. } => match treat(statement) {
            Treatment::Query => Treatment::Query,
            _ => Treatment::Refuse("only queries can be explained"),
        },
        Statement::Set(set) => treat_set(set),
        Statement::ShowVariable { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowCatalogs { .. }
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Declare { .. }
        | Statement::Fetch { .. }
        | Statement::Close { .. } => Treatment::Session,
        _ => Treatment::Refuse(
            "only queries are allowed (SELECT, EXPLAIN, SHOW, DESCRIBE): the lake is read-only",
        ),
    }
}

/// Client settings stay with the connection; engine settings are shared by every analyst (and
/// include the memory limit), so they cannot be changed from a connection.
fn treat_set(set: &Set) -> Treatment {
    match set {
        Set::SetTimeZone { .. } => {
            Treatment::Refuse("the time zone is the server's and is shared by every connection")
        }
        other if other.to_string().to_lowercase().contains("datafusion.") => {
            Treatment::Refuse("engine settings are fixed by the server's configuration")
        }
        _ => Treatment::Session,
    }
}

pub struct SandboxHook {
    analytics: Arc<Analytics>,
}

impl SandboxHook {
    pub fn new(analytics: Arc<Analytics>) -> Self {
        Self { analytics }
    }

    async fn run_query(
        &self,
        statement: &Statement,
        client: &dyn HookClient,
    ) -> PgWireResult<Response> {
        let answer = self
            .analytics
            .stream(&statement.to_string())
            .await
            .map_err(query_error)?;
        let options = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
        Ok(Response::Query(respond(
            answer,
            &Format::UnifiedText,
            options,
        )?))
    }
}

/// An answer as Postgres rows, streamed; an error in the stream (the time or row limit) reaches
/// the client as an `ErrorResponse` after the rows already sent.
pub(crate) fn respond(
    answer: Answer,
    format: &Format,
    options: Arc<FormatOptions>,
) -> PgWireResult<QueryResponse> {
    let fields = Arc::new(arrow_schema_to_pg_fields(
        &answer.schema,
        format,
        Some(options),
    )?);
    let encode_with = fields.clone();
    let rows = answer
        .into_stream()
        .map(move |batch| {
            let rows: Box<dyn Iterator<Item = PgWireResult<DataRow>> + Send + Sync> = match batch {
                Ok(batch) => encode_recordbatch(encode_with.clone(), batch),
                Err(error) => Box::new(std::iter::once(Err(query_error(error)))),
            };
            futures::stream::iter(rows)
        })
        .flatten();
    Ok(QueryResponse::new(fields, rows))
}

#[async_trait]
impl QueryHook for SandboxHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        _context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        match treat(statement) {
            Treatment::Query => Some(self.run_query(statement, client).await),
            Treatment::Session => None,
            Treatment::Refuse(reason) => Some(Err(refused(reason))),
        }
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _context: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        match treat(statement) {
            Treatment::Refuse(reason) => Some(Err(refused(reason))),
            // Planned by the library, which cannot plan DDL or DML past this point; but first
            // the same bound on nesting as every query, so planning cannot overflow.
            Treatment::Query => {
                let depth = self.analytics.limits().statement.max_depth;
                match crate::guard::check_depth(statement, depth) {
                    Ok(()) => None,
                    Err(error) => Some(Err(query_error(error))),
                }
            }
            Treatment::Session => None,
        }
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _context: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        match treat(statement) {
            Treatment::Refuse(reason) => Some(Err(refused(reason))),
            Treatment::Query | Treatment::Session => None,
        }
    }
}

fn refused(reason: &str) -> PgWireError {
    // 42501: insufficient_privilege.
    user_error("42501", reason.to_owned())
}

pub(crate) fn query_error(error: QueryError) -> PgWireError {
    let code = match &error {
        QueryError::NotAQuery(_) => "42501",
        QueryError::Invalid(_) | QueryError::AsOf(_) => "42000",
        // statement_too_complex; program_limit_exceeded.
        QueryError::TooComplex(_) => "54001",
        QueryError::TooManyRows(_) => "54000",
        QueryError::TimedOut(_) => "57014",
        QueryError::OutOfMemory { .. } => "53200",
        QueryError::Lake { .. } => "58000",
    };
    user_error(code, error.to_string())
}

pub(crate) fn user_error(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        code.to_owned(),
        message,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn treatment(sql: &str) -> Treatment {
        let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).expect(sql);
        treat(&statements[0])
    }

    #[test]
    fn queries_run_and_writes_are_refused() {
        assert_eq!(treatment("SELECT 1"), Treatment::Query);
        assert_eq!(treatment("EXPLAIN SELECT 1"), Treatment::Query);
        assert_eq!(treatment("SHOW TABLES"), Treatment::Query);
        assert!(matches!(
            treatment("EXPLAIN ANALYZE INSERT INTO results VALUES (1)"),
            Treatment::Refuse(_)
        ));
        for escape in [
            "INSERT INTO results VALUES (1)",
            "COPY results TO '/tmp/out.csv'",
            "CREATE TABLE t (a INT)",
            "DROP VIEW lab_volume",
            "SET TIME ZONE 'Asia/Shanghai'",
            "SET datafusion.runtime.memory_limit = '100G'",
        ] {
            assert!(
                matches!(treatment(escape), Treatment::Refuse(_)),
                "{escape} must be refused"
            );
        }
    }

    #[test]
    fn client_housekeeping_passes_to_the_session_hooks() {
        for statement in [
            "SET application_name = 'psql'",
            "SET statement_timeout = 1000",
            "SHOW search_path",
            "BEGIN",
            "COMMIT",
        ] {
            assert_eq!(treatment(statement), Treatment::Session, "{statement}");
        }
    }
}

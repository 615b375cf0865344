//! The library's query handlers behind the limits every front end keeps: the statement's size
//! is checked before the library parses it (pgwire takes messages up to 1 GiB), and the rows of
//! prepared statements, which the library executes itself, are cut at the row limit and the
//! time limit like any answer, and streamed: pgwire 0.41 gathers every row of an `Execute` in a
//! `Vec` before sending the first (a 10M-row answer took 11 s to its first row, all of it in
//! memory outside the pool), so an `Execute` of a query for all its rows is sent as it comes.

use super::sandbox::query_error;
use crate::{QueryError, QueryLimits};
use async_trait::async_trait;
use datafusion_postgres::DfSessionService;
use datafusion_postgres::pgwire::api::portal::{Format, Portal, PortalExecutionState};
use datafusion_postgres::pgwire::api::query::{
    ExtendedQueryHandler, SimpleQueryHandler, send_query_response,
};
use datafusion_postgres::pgwire::api::results::{FieldInfo, QueryResponse, Response};
use datafusion_postgres::pgwire::api::stmt::QueryParser;
use datafusion_postgres::pgwire::api::store::{Entry, PortalStore};
use datafusion_postgres::pgwire::api::{
    ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState, Type,
};
use datafusion_postgres::pgwire::error::{PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::PgWireBackendMessage;
use datafusion_postgres::pgwire::messages::extendedquery::Execute;
use futures::{Sink, StreamExt};
use std::fmt::Debug;
use std::sync::Arc;
use tokio::time::Instant;

type Inner = DfSessionService;
type InnerStatement = <Inner as ExtendedQueryHandler>::Statement;
type InnerParser = <Inner as ExtendedQueryHandler>::QueryParser;

pub struct Guarded {
    inner: Arc<Inner>,
    parser: Arc<GuardedParser>,
    limits: QueryLimits,
}

impl Guarded {
    pub fn new(inner: Arc<Inner>, limits: QueryLimits) -> Self {
        let parser = Arc::new(GuardedParser {
            inner: inner.query_parser(),
            limits,
        });
        Self {
            inner,
            parser,
            limits,
        }
    }
}

fn check_size(sql: &str, limits: &QueryLimits) -> PgWireResult<()> {
    crate::guard::check_size(sql, limits.statement).map_err(query_error)
}

/// A prepared statement's rows under the row and time limits.
fn limited(response: Response, limits: QueryLimits, deadline: Instant) -> Response {
    let Response::Query(mut query) = response else {
        return response;
    };
    let rows = std::mem::replace(&mut query.data_rows, Box::pin(futures::stream::empty()));
    let state = (rows, 0u64, false);
    let limited = futures::stream::unfold(state, move |(mut rows, sent, ended)| async move {
        if ended {
            return None;
        }
        match tokio::time::timeout_at(deadline, rows.next()).await {
            Err(_) => Some((
                Err(query_error(QueryError::TimedOut(limits.timeout))),
                (rows, sent, true),
            )),
            Ok(None) => None,
            Ok(Some(_)) if sent >= limits.max_rows => Some((
                Err(query_error(QueryError::TooManyRows(limits.max_rows))),
                (rows, sent, true),
            )),
            Ok(Some(row)) => {
                let ended = row.is_err();
                Some((row, (rows, sent + 1, ended)))
            }
        }
    });
    let fields = query.row_schema();
    let mut cut = QueryResponse::new(fields, limited);
    cut.set_command_tag(query.command_tag());
    Response::Query(cut)
}

#[async_trait]
impl SimpleQueryHandler for Guarded {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        check_size(query, &self.limits)?;
        SimpleQueryHandler::do_query(self.inner.as_ref(), client, query).await
    }
}

#[async_trait]
impl ExtendedQueryHandler for Guarded {
    type Statement = InnerStatement;
    type QueryParser = GuardedParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.parser.clone()
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // Only a query asked for all its rows, in a portal not yet started, is streamed here;
        // fetches of some rows (cursors, `max_rows`) and other statements go the library's way.
        let ready = matches!(client.state(), PgWireConnectionState::ReadyForQuery);
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(portal)) if ready && message.max_rows == 0 => portal,
            _ => return self._on_execute(client, message).await,
        };
        let is_query = matches!(
            &portal.statement.statement,
            (_, Some((statement, _))) if super::sandbox::treat(statement) == super::sandbox::Treatment::Query
        );
        let initial = matches!(*portal.state().lock().await, PortalExecutionState::Initial);
        if !is_query || !initial {
            return self._on_execute(client, message).await;
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let response = ExtendedQueryHandler::do_query(self, client, portal.as_ref(), 0).await?;
        let Response::Query(results) = response else {
            return Err(PgWireError::ApiError(
                "a query answered without rows".to_owned().into(),
            ));
        };
        let schema = results.row_schema();
        let sent = send_query_response(client, results, false).await;
        // The portal is spent: a second Execute of it finds no more rows.
        portal
            .start(QueryResponse::new(schema, futures::stream::empty()))
            .await;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        sent
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let deadline = Instant::now() + self.limits.timeout;
        let started = ExtendedQueryHandler::do_query(self.inner.as_ref(), client, portal, max_rows);
        match tokio::time::timeout_at(deadline, started).await {
            Ok(response) => Ok(limited(response?, self.limits, deadline)),
            Err(_) => Err(query_error(QueryError::TimedOut(self.limits.timeout))),
        }
    }
}

pub struct GuardedParser {
    inner: Arc<InnerParser>,
    limits: QueryLimits,
}

#[async_trait]
impl QueryParser for GuardedParser {
    type Statement = InnerStatement;

    async fn parse_sql<C>(
        &self,
        client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        check_size(sql, &self.limits)?;
        self.inner.parse_sql(client, sql, types).await
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        self.inner.get_parameter_types(stmt)
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        self.inner.get_result_schema(stmt, column_format)
    }
}

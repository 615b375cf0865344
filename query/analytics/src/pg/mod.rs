//! The Postgres wire protocol over the lake, so psql, Grafana, DBeaver and Metabase connect with
//! user = token subject and password = token (docs/contract.md §6).
//!
//! The protocol itself is `pgwire` and `datafusion-postgres`; what is ours is the login (a
//! bearer token checked by the caller's [`LoginCheck`]) and the sandbox hook, which sends every
//! query through [`Analytics::query`] — the same read-only rules, time limit and memory pool as
//! `POST /v1/sql` — and refuses everything else before DataFusion sees it.

mod guarded;
mod login;
mod sandbox;

use crate::Analytics;
use datafusion_postgres::DfSessionService;
use datafusion_postgres::hooks::QueryHook;
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::pgwire::api::PgWireServerHandlers;
use datafusion_postgres::pgwire::api::auth::StartupHandler;
use datafusion_postgres::pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Decides whether (user, password) may query: the password is a token whose role is analyst and
/// whose subject is the user.
pub type LoginCheck = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// How many clients the listener serves at once and how long each has to log in.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// Connections one address may hold without sending a byte (see [`spotcheck_runtime::gate`]).
    pub max_silent_per_address: usize,
    pub login_timeout: Duration,
}

/// Serves the Postgres protocol on `listener` until `shutdown` resolves, at most
/// `max_connections` at once. Slots go by the gate's rules: connections that have not sent a
/// byte are shed (oldest first) for new ones, at most `max_silent_per_address` per address;
/// when every slot talks, one more is told "too many connections" (SQLSTATE 53300, as
/// PostgreSQL says it) and closed. A client not logged in within `login_timeout` is closed, so
/// connections that never finish their start-up cannot hold every slot. Connections already
/// open are dropped with the process.
pub async fn serve(
    listener: TcpListener,
    analytics: Arc<Analytics>,
    check: LoginCheck,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let ConnectionLimits {
        max_connections,
        max_silent_per_address,
        login_timeout,
    } = limits;
    let gate = spotcheck_runtime::gate::Gate::new(spotcheck_runtime::gate::GateLimits {
        max_connections,
        max_silent_per_address,
        silent_timeout: login_timeout,
    });
    let logged_in = LoggedIn::default();
    // Connections run on the query threads: the library parses and plans there, on stacks
    // sized for the statement limits, and nothing a session does runs where records are taken.
    let threads = analytics.executor().clone();
    let handlers = Arc::new(Handlers::new(analytics, check, logged_in.clone()));
    tokio::pin!(shutdown);
    loop {
        let (socket, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a Postgres connection");
                    continue;
                }
            },
        };
        spotcheck_runtime::gate::answer_without_delay(&socket);
        let Ok(ticket) = gate.admit(peer) else {
            tracing::warn!(%peer, max_connections, "Postgres connection refused: too many connections");
            tokio::spawn(refuse(socket));
            continue;
        };
        let handlers = handlers.clone();
        let logged_in = logged_in.clone();
        threads.spawn(async move {
            if !ticket.first_byte(&socket).await {
                return; // shed, or silent past the login deadline
            }
            let served = datafusion_postgres::pgwire::tokio::process_socket(socket, None, handlers);
            tokio::pin!(served);
            let outcome = tokio::select! {
                outcome = &mut served => Some(outcome),
                _ = tokio::time::sleep(login_timeout) => None,
            };
            let outcome = match outcome {
                Some(outcome) => outcome,
                None if logged_in.contains(peer) => served.await,
                None => {
                    tracing::info!(%peer, ?login_timeout, "Postgres client closed: not logged in in time");
                    return;
                }
            };
            logged_in.forget(peer);
            if let Err(error) = outcome {
                tracing::debug!(%peer, %error, "Postgres connection ended with an error");
            }
            drop(ticket); // the slot is held for the life of the connection
        });
    }
}

/// Answers with a FATAL `ErrorResponse` (53300 too_many_connections) and closes. Sent before
/// the client's startup message is read: libpq reports it as the server's error.
async fn refuse(mut socket: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let mut fields = Vec::new();
    for (code, text) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', "53300"),
        (
            b'M',
            "too many connections to spotcheck's SQL; try again later",
        ),
    ] {
        fields.push(code);
        fields.extend_from_slice(text.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut message = vec![b'E'];
    message.extend_from_slice(&(fields.len() as i32 + 4).to_be_bytes());
    message.extend_from_slice(&fields);
    let _ = socket.write_all(&message).await;
    let _ = socket.shutdown().await;
}

/// The peers that have logged in, so the accept loop can tell a slow login from a session.
#[derive(Clone, Default)]
pub(crate) struct LoggedIn(Arc<std::sync::Mutex<std::collections::HashSet<SocketAddr>>>);

impl LoggedIn {
    pub(crate) fn insert(&self, peer: SocketAddr) {
        self.peers().insert(peer);
    }

    fn contains(&self, peer: SocketAddr) -> bool {
        self.peers().contains(&peer)
    }

    fn forget(&self, peer: SocketAddr) {
        self.peers().remove(&peer);
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<SocketAddr>> {
        // A panic while holding this lock cannot leave the set half-changed: recover it.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct Handlers {
    session: Arc<guarded::Guarded>,
    login: Arc<login::TokenLogin>,
}

impl Handlers {
    fn new(analytics: Arc<Analytics>, check: LoginCheck, logged_in: LoggedIn) -> Self {
        let limits = analytics.limits();
        let timeout = limits.timeout;
        let context = Arc::new(analytics.context().clone());
        // The sandbox goes first: it answers queries itself and refuses what is not allowed, so
        // the library's hooks only ever see session statements (SET, SHOW, BEGIN, cursors).
        let hooks: Vec<Arc<dyn QueryHook>> = vec![
            Arc::new(sandbox::SandboxHook::new(analytics)),
            Arc::new(CursorStatementHook),
            Arc::new(SetShowHook),
            Arc::new(TransactionStatementHook),
        ];
        Self {
            session: Arc::new(guarded::Guarded::new(
                Arc::new(DfSessionService::new_with_hooks(context, hooks)),
                limits,
            )),
            login: Arc::new(login::TokenLogin::new(check, timeout, logged_in)),
        }
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.session.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.session.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.login.clone()
    }
}

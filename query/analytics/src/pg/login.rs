//! Login with a bearer token as the password (cleartext password authentication; put TLS or a
//! loopback-only address in front of it, as for the HTTP API).

use super::{LoggedIn, LoginCheck};
use async_trait::async_trait;
use datafusion_postgres::pgwire::api::auth::{
    DefaultServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use datafusion_postgres::pgwire::api::{ClientInfo, METADATA_USER, PgWireConnectionState};
use datafusion_postgres::pgwire::error::{PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::startup::Authentication;
use datafusion_postgres::pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use futures::{Sink, SinkExt};
use std::fmt::Debug;
use std::time::Duration;

/// The client metadata key `datafusion-postgres` reads the statement timeout from.
const STATEMENT_TIMEOUT_MS: &str = "statement_timeout_ms";

pub struct TokenLogin {
    check: LoginCheck,
    parameters: DefaultServerParameterProvider,
    statement_timeout: Duration,
    logged_in: LoggedIn,
}

impl TokenLogin {
    pub fn new(check: LoginCheck, statement_timeout: Duration, logged_in: LoggedIn) -> Self {
        let mut parameters = DefaultServerParameterProvider::default();
        parameters.is_superuser = false;
        parameters.default_transaction_read_only = true;
        Self {
            check,
            parameters,
            statement_timeout,
            logged_in,
        }
    }
}

#[async_trait]
impl StartupHandler for TokenLogin {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client
                    .send(PgWireBackendMessage::Authentication(
                        Authentication::CleartextPassword,
                    ))
                    .await?;
            }
            PgWireFrontendMessage::PasswordMessageFamily(password) => {
                let password = password.into_password()?;
                let user = client
                    .metadata()
                    .get(METADATA_USER)
                    .cloned()
                    .unwrap_or_default();
                if !(self.check)(&user, &password.password) {
                    tracing::info!(%user, "Postgres login refused");
                    return Err(PgWireError::InvalidPassword(user));
                }
                // Queries planned over the extended protocol are timed by the library from
                // this value; simple queries are timed by `Analytics::query` itself.
                client.metadata_mut().insert(
                    STATEMENT_TIMEOUT_MS.to_owned(),
                    self.statement_timeout.as_millis().to_string(),
                );
                finish_authentication(client, &self.parameters).await?;
                self.logged_in.insert(client.socket_addr());
            }
            _ => {}
        }
        Ok(())
    }
}

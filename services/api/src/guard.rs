//! Who may call a route, said where the route's handler is declared.
//!
//! Every handler's first argument is its guard: [`Require<P>`] for a route the [`Policy`] `P`
//! admits (the token's role must be one of `P::ROLES`: else 401 or 403 before anything else is
//! read), or [`Public`] for the few routes anyone may call (health, metrics, the API's
//! description). The router takes handlers only through [`get`], [`post`] and [`put`] here,
//! which accept a handler only when its first argument is a guard, so a route added without
//! one does not compile; axum's own routing functions are refused by clippy
//! (`disallowed-methods` in `clippy.toml`).
//!
//! ```
//! use axum::extract::State;
//! use spotcheck_api::App;
//! use spotcheck_api::guard::{self, Analysts, Require};
//!
//! async fn handler(Require(_caller, _): Require<Analysts>, State(_app): State<App>) -> &'static str {
//!     "ok"
//! }
//! let _route: axum::Router<App> = axum::Router::new().route("/v1/x", guard::get(handler));
//! ```
//!
//! The same handler without its guard is refused by the compiler:
//!
//! ```compile_fail
//! use axum::extract::State;
//! use spotcheck_api::App;
//! use spotcheck_api::guard;
//!
//! async fn handler(State(_app): State<App>) -> &'static str {
//!     "ok"
//! }
//! let _route: axum::Router<App> = axum::Router::new().route("/v1/x", guard::get(handler));
//! ```

use crate::access::{Caller, Role};
use crate::app::App;
use crate::error::ApiError;
use axum::extract::{FromRef, FromRequestParts};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::routing::MethodRouter;
use std::convert::Infallible;
use std::marker::PhantomData;

/// A set of roles a route admits.
pub trait Policy: Send + Sync + 'static {
    const ROLES: &'static [Role];

    /// Whether a caller's role is one this policy admits (also the Postgres-protocol login's
    /// check, with [`Analysts`]).
    fn admits(caller: &Caller) -> bool {
        Self::ROLES.contains(&caller.role)
    }
}

macro_rules! policies {
    ($($(#[$doc:meta])* $name:ident = [$($role:ident),+];)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Policy for $name {
            const ROLES: &'static [Role] = &[$(Role::$role),+];
        }
    )*};
}

policies! {
    /// Sampling labs (posting results as their own `lab_id`).
    Labs = [Lab];
    /// Labs and officials (the result template).
    LabsAndAdmins = [Lab, Admin];
    /// Ledgers and officials (shipments).
    LedgersAndAdmins = [Ledger, Admin];
    /// Inspectors and officials (on-site inspections).
    InspectorsAndAdmins = [Inspector, Admin];
    /// Officials only (units, dispositions, plans, notices).
    Admins = [Admin];
    /// Officials and analysts (cases, pages, archives, exports).
    AdminsAndAnalysts = [Admin, Analyst];
    /// Analysts only (SQL over the lake, on HTTP and on the Postgres protocol).
    Analysts = [Analyst];
    /// The credit system and officials (the disclosure feed).
    FeedsAndAdmins = [Feed, Admin];
}

/// The caller of a request whose bearer token has a role `P` admits; a request without such a
/// token is answered 401 (none, or unknown) or 403 (another role) before its handler runs.
pub struct Require<P: Policy>(pub Caller, pub PhantomData<P>);

impl<P: Policy, S: Send + Sync> FromRequestParts<S> for Require<P>
where
    App: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        App::from_ref(state)
            .authorize(&parts.headers, P::ROLES)
            .map(|caller| Require(caller, PhantomData))
    }
}

/// The guard of a route anyone may call: says so where the handler is declared.
#[derive(Debug, Clone, Copy)]
pub struct Public;

impl<S: Send + Sync> FromRequestParts<S> for Public {
    type Rejection = Infallible;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Public)
    }
}

/// A guard: the first argument of every handler.
pub trait Guard {}
impl<P: Policy> Guard for Require<P> {}
impl Guard for Public {}

/// The arguments of a handler whose first argument is a [`Guard`] (axum describes a handler's
/// arguments as a tuple: a marker, then each extractor in order).
pub trait Guarded {}

macro_rules! guarded {
    ($($rest:ident),*) => {
        impl<M, G: Guard, $($rest),*> Guarded for (M, G, $($rest),*) {}
    };
}
guarded!();
guarded!(T2);
guarded!(T2, T3);
guarded!(T2, T3, T4);
guarded!(T2, T3, T4, T5);
guarded!(T2, T3, T4, T5, T6);
guarded!(T2, T3, T4, T5, T6, T7);

/// `GET` by a guarded handler.
#[allow(clippy::disallowed_methods)] // the one place axum's routing functions are called
pub fn get<H, T, S>(handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: Guarded + 'static,
    S: Clone + Send + Sync + 'static,
{
    axum::routing::get(handler)
}

/// `POST` by a guarded handler.
#[allow(clippy::disallowed_methods)]
pub fn post<H, T, S>(handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: Guarded + 'static,
    S: Clone + Send + Sync + 'static,
{
    axum::routing::post(handler)
}

/// `PUT` by a guarded handler.
#[allow(clippy::disallowed_methods)]
pub fn put<H, T, S>(handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: Guarded + 'static,
    S: Clone + Send + Sync + 'static,
{
    axum::routing::put(handler)
}

//! The handlers of the HTTP API, one file per area, and the routes of each component: a process
//! merges the routers of the components it runs (`crate::router::api`), so a route is served
//! only where what it reads is, and each handler's state holds what it reads, not an `Option`.

pub mod cases;
pub mod disclosures;
pub mod plan;
pub mod records;
pub mod results;
pub mod sql;
pub mod system;
pub mod ui;

use crate::app::App;
use crate::guard::{get, post, put};
use crate::ledger::Ledger;
use crate::submit::Desk;
use axum::Router;
use axum::extract::FromRef;
use axum::routing::MethodRouter;
use spotcheck_analytics::Analytics;
use spotcheck_credit::CreditStore;
use spotcheck_traceback::Authority;
use std::sync::Arc;

/// The routes of one component, with the paths they serve (the process's `/openapi.json`
/// describes the paths of the components it runs).
pub struct Component {
    pub(crate) router: Router,
    pub(crate) paths: Vec<&'static str>,
}

/// A component's routes as they are declared: each path is said once, for the router and for
/// the description.
struct Routes<S> {
    router: Router<S>,
    paths: Vec<&'static str>,
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    fn new() -> Self {
        Self {
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    fn route(mut self, path: &'static str, method: MethodRouter<S>) -> Self {
        self.router = self.router.route(path, method);
        self.paths.push(path);
        self
    }

    fn with_state(self, state: S) -> Component {
        Component {
            router: self.router.with_state(state),
            paths: self.paths,
        }
    }
}

/// Taking records in (an ingest instance): results, shipments, inspections, units,
/// dispositions, and the result template. `lake` gives accepted results the plan's warnings.
pub fn intake(app: &App, ledger: Ledger, lake: Arc<Analytics>) -> Component {
    Routes::new()
        .route("/v1/results", post(results::post_results))
        .route("/v1/results/template.xlsx", get(results::result_template))
        .route("/v1/shipments", post(records::post_shipments))
        .route("/v1/inspections", post(records::post_inspections))
        .route("/v1/units/{uscc}", put(records::put_unit))
        .route("/v1/dispositions", post(records::post_dispositions))
        .with_state(Desk {
            app: app.clone(),
            ledger: Arc::new(ledger),
            lake,
        })
}

/// The traceback stage's reads: cases and the identification queue.
pub fn cases(app: &App, store: Arc<spotcheck_traceback::Store>) -> Component {
    #[derive(Clone, FromRef)]
    struct Cases {
        app: App,
        store: Arc<spotcheck_traceback::Store>,
    }
    Routes::new()
        .route("/v1/cases", get(cases::list_cases))
        .route("/v1/cases/{case_id}", get(cases::get_case))
        .route("/v1/identifications", get(cases::list_identifications))
        .with_state(Cases {
            app: app.clone(),
            store,
        })
}

/// The credit stage's feed of disclosures.
pub fn disclosures(app: &App, feed: Arc<CreditStore>) -> Component {
    #[derive(Clone, FromRef)]
    struct Feed {
        app: App,
        feed: Arc<CreditStore>,
    }
    Routes::new()
        .route("/v1/disclosures", get(disclosures::get_disclosures))
        .with_state(Feed {
            app: app.clone(),
            feed,
        })
}

/// What reads the lake: SQL, plan checks, the officials' pages, notices, archives, exports.
/// `authority` gives the periods and the calendar a notice printed now counts its limits by.
pub fn lake(app: &App, lake: Arc<Analytics>, authority: Arc<Authority>) -> Component {
    #[derive(Clone, FromRef)]
    struct Lake {
        app: App,
        lake: Arc<Analytics>,
        authority: Arc<Authority>,
    }
    Routes::new()
        .route("/v1/sql", post(sql::post_sql))
        .route("/v1/plan/check", post(plan::check_plan))
        .route("/v1/plan/suggest", get(plan::suggest))
        .route("/v1/trace-export", get(ui::trace_export))
        .route("/v1/units/{uscc}/archive", get(ui::unit_archive))
        .route("/v1/units/{uscc}/archive.docx", get(ui::unit_archive_docx))
        .route(
            "/v1/cases/{case_id}/notices/{file}",
            get(ui::notice_document),
        )
        .route("/ui/units/{uscc}", get(ui::unit_page))
        .route("/ui/cases", get(ui::cases_page))
        .route("/ui/todo", get(ui::todo_page))
        .route("/ui/cases/{case_id}", get(ui::case_page))
        .with_state(Lake {
            app: app.clone(),
            lake,
            authority,
        })
}

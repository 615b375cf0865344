//! The credit-disclosure feed: every final nonconformance, under each responsible enterprise's
//! name, published to `spotcheck.credit.v1` and the HTTP feed exactly once, and retracted with
//! the same id when a re-test overturns it. See [`stage`] for how exactly-once is kept.

pub mod decide;
pub mod stage;
pub mod store;
pub mod webhook;

pub use stage::{CreditStage, Now};
pub use store::{CreditStore, Page};
pub use webhook::Webhook;

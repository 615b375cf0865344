//! Bidirectional traceback (生产流通双向追查) and the legal life of each case.
//!
//! - [`graph`]: a batch's distribution graph, upstream to the producer and downstream to every
//!   receiver;
//! - [`lifecycle`]: the case's legal standing on a day, from the dispositions and the law's periods;
//! - [`calendar`]: which days count (working days per the State Council's yearly notice);
//! - [`identify`], [`names`]: who a subject named without a credit code is, and the alias table
//!   and trace keys that make results, shipments and the registry meet;
//! - [`onsite`]: the findings of on-site inspections, each opening a case of its own;
//! - [`withdrawals`]: the records that count, less those officials withdrew as mistaken;
//! - [`assemble`]: one case from its result, shipments, registry entries and dispositions;
//! - [`stage`]: the consumer-group stage that keeps cases current and publishes each revision;
//! - [`store`]: its durable state (redb), offsets in the same transaction;
//! - [`restore`]: a new instance's state seeded with the cases already published.

pub mod assemble;
pub mod calendar;
pub mod clock;
pub mod graph;
pub mod identify;
pub mod lifecycle;
pub mod names;
pub mod onsite;
pub mod restore;
pub mod stage;
pub mod store;
pub mod withdrawals;

pub use assemble::{Authority, RULES_VERSION};
pub use calendar::{Calendar, Deadline};
pub use clock::{Clock, ManualClock, SystemClock};
pub use lifecycle::Periods;
pub use stage::TracebackStage;
pub use store::Store;

//! The lake: every record that flows through Kafka lands once in a Delta Lake table under
//! `DATA_DIR/lake/<table>/` (or an object store), readable by any Delta reader. See [`writer`]
//! for the guarantee, [`delta`] for the tables and [`maintain`] for optimize and vacuum.

pub mod delta;
pub mod entities;
pub mod layout;
pub mod maintain;
pub mod tables;
pub mod writer;

pub use delta::{LakeError, LakeLocation};
pub use maintain::{MaintainSettings, Maintainer, Round, maintain_once, run_maintenance};
pub use writer::{CommitSignal, LakeMetrics, LakeSettings, LakeWriter};

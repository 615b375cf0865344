//! The Parquet lake: every record that flows through Kafka lands once under `DATA_DIR/lake/`,
//! Hive-partitioned, readable by any Parquet reader. See [`writer`] for the guarantee.

pub mod compact;
pub mod entities;
pub mod manifest;
pub mod parquet_file;
pub mod tables;
pub mod writer;

pub use writer::{LakeMetrics, LakeSettings, LakeWriter};

//! The command line of docs/contract.md §1.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "spotcheck",
    version,
    about = "Product-quality spot checks: from the labs' results to traceback, lake, SQL and the credit feed"
)]
pub struct Cli {
    /// Log lines as text (default) or as JSON objects, one per line, for log collectors
    #[arg(
        long,
        global = true,
        default_value = "text",
        env = "SPOTCHECK_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run every component in one process (with an embedded broker unless --brokers is given)
    Up(UpArgs),
    /// Run the HTTP ingest API alone, against existing brokers
    Ingest(ComponentArgs),
    /// Run the Parquet lake writer alone, against existing brokers
    Lake(ComponentArgs),
    /// Run the traceback stage alone, against existing brokers
    Traceback(ComponentArgs),
    /// Run the credit-disclosure stage alone, against existing brokers
    Credit(ComponentArgs),
    /// Run SQL over the data dir's lake alone (Postgres protocol and POST /v1/sql)
    Analytics(AnalyticsArgs),
    /// Run read-only SQL on the lake directly
    Sql(SqlArgs),
    /// Every hop of one batch as a sortable spreadsheet (CSV or XLSX), from the lake
    TraceExport(TraceExportArgs),
    /// The quarterly report (HTML with charts, Markdown, CSV tables), from the lake
    Report(ReportArgs),
    /// One of a case's four notices (三书一函) as a document to edit and serve (DOCX or HTML)
    Notice(NoticeArgs),
    /// The public result bulletin of a task (抽查结果公告) as XLSX and HTML, from the lake
    Bulletin(BulletinArgs),
    /// Where to sample next: the units of a district ranked by risk, with reasons
    Plan(PlanArgs),
    /// Write a realistic synthetic data set as NDJSON (units, shipments, results)
    Gen(GenArgs),
    /// Post NDJSON, JSON or CSV files to the API in batches
    Post(PostArgs),
    /// Manage API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Create the topics of the catalogue (partitions, compaction) on the brokers, then exit
    Topics(TopicsArgs),
    /// Run only the embedded Kafka-protocol broker (Tansu, its log under the data dir)
    Broker(BrokerArgs),
}

#[derive(Args)]
pub struct TopicsArgs {
    /// Kafka bootstrap servers, HOST:PORT,...
    #[arg(long, env = "SPOTCHECK_BROKERS")]
    pub brokers: String,
    /// Replicas of each partition (3 on a production cluster)
    #[arg(long, default_value_t = 1, env = "SPOTCHECK_REPLICATION_FACTOR")]
    pub replication_factor: i32,
}

#[derive(Args)]
pub struct BrokerArgs {
    /// Where the broker keeps its log (`DIR/broker/`)
    #[arg(long, default_value = "./spotcheck-data", env = "SPOTCHECK_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The TOML config file (its `[broker]` section); default: the data dir's dev config if any
    #[arg(long, env = "SPOTCHECK_CONFIG")]
    pub config: Option<PathBuf>,
    /// The storage engine for a new broker directory (`slatedb` or `sqlite`), instead of the
    /// config's `[broker] storage`; an existing log keeps its engine
    #[arg(long, value_parser = ["slatedb", "sqlite"], env = "SPOTCHECK_BROKER_STORAGE")]
    pub storage: Option<String>,
    /// Whether SlateDB's files are fsynced before acknowledging, instead of `[broker] fsync`
    #[arg(long, env = "SPOTCHECK_BROKER_FSYNC")]
    pub fsync: Option<bool>,
    /// Milliseconds between two writes of SlateDB's log, instead of `[broker] flush_ms`
    #[arg(long, env = "SPOTCHECK_BROKER_FLUSH_MS")]
    pub flush_ms: Option<u64>,
    /// Loopback port to listen on (default: the one used last, else a free one)
    #[arg(long)]
    pub port: Option<u16>,
}

/// Flags every long-running component shares.
#[derive(Args, Clone)]
pub struct CommonArgs {
    /// Where spotcheck keeps its state (broker log, ledgers, lake, dev config)
    #[arg(long, default_value = "./spotcheck-data", env = "SPOTCHECK_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Kafka bootstrap servers, HOST:PORT,...
    #[arg(long, env = "SPOTCHECK_BROKERS")]
    pub brokers: Option<String>,
    /// The TOML config file (tokens and settings); without it a dev config is made in the data dir
    #[arg(long, env = "SPOTCHECK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address of the HTTP API
    #[arg(long, default_value = "127.0.0.1:8080", env = "SPOTCHECK_HTTP")]
    pub http: SocketAddr,
    /// Where the lake's Delta tables are: a directory or s3://bucket/prefix (default: the
    /// config's [lake] location, else DATA_DIR/lake)
    #[arg(long, env = "SPOTCHECK_LAKE")]
    pub lake: Option<String>,
}

#[derive(Args, Clone)]
pub struct UpArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Address of the Postgres-protocol SQL front end
    #[arg(long, default_value = "127.0.0.1:5433", env = "SPOTCHECK_PG")]
    pub pg: SocketAddr,
    /// Port of the embedded broker (default: the one it used last, else a free one)
    #[arg(long)]
    pub broker_port: Option<u16>,
    /// The embedded broker's storage engine for a new data dir (`slatedb` or `sqlite`), instead
    /// of the config's `[broker] storage`; an existing broker log keeps its engine
    #[arg(long, value_parser = ["slatedb", "sqlite"], env = "SPOTCHECK_BROKER_STORAGE")]
    pub broker_storage: Option<String>,
    /// Whether the embedded broker fsyncs SlateDB's files before acknowledging, instead of the
    /// config's `[broker] fsync`
    #[arg(long, env = "SPOTCHECK_BROKER_FSYNC")]
    pub broker_fsync: Option<bool>,
    /// Milliseconds between two writes of the embedded broker's SlateDB log, instead of the
    /// config's `[broker] flush_ms`
    #[arg(long, env = "SPOTCHECK_BROKER_FLUSH_MS")]
    pub broker_flush_ms: Option<u64>,
    /// CPU priority (`nice`, 0–19) of the stages (lake, traceback, credit) below the threads
    /// that answer labs and run the broker; 0 runs them at the same priority
    #[arg(long, default_value_t = 10, env = "SPOTCHECK_STAGES_NICE")]
    pub stages_nice: i32,
    /// While a lab's large body is taken in, the stages hold their batches back for at most
    /// this long (milliseconds), so the lab is answered at ingest's pace; 0 never holds them
    #[arg(long, default_value_t = 3000, env = "SPOTCHECK_STAGES_HOLD_MS")]
    pub stages_hold_ms: u64,
}

#[derive(Args, Clone)]
pub struct AnalyticsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Address of the Postgres-protocol SQL front end
    #[arg(long, default_value = "127.0.0.1:5433", env = "SPOTCHECK_PG")]
    pub pg: SocketAddr,
}

#[derive(Args, Clone)]
pub struct ComponentArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args)]
pub struct GenArgs {
    /// Directory to write units.ndjson, shipments.ndjson and results.ndjson into
    #[arg(long)]
    pub out: PathBuf,
    /// Number of sampling results
    #[arg(long, default_value_t = 1000)]
    pub results: usize,
    /// Number of shipments (hops of distribution trees)
    #[arg(long, default_value_t = 10_000)]
    pub shipments: usize,
    /// Random seed: the same seed writes the same files
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Lab ids the results are spread over (comma-separated); `dev-lab` is the dev token's lab
    #[arg(long, default_value = "dev-lab", value_delimiter = ',')]
    pub labs: Vec<String>,
}

#[derive(Args)]
pub struct PostArgs {
    /// The API's base URL (the route is chosen by file name), or a full route such as .../v1/results
    #[arg(long)]
    pub url: String,
    /// Bearer token
    #[arg(long, env = "SPOTCHECK_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Records per request
    #[arg(long, default_value_t = 2000)]
    pub batch_size: usize,
    /// Requests in flight at once
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// NDJSON (.ndjson, .jsonl), JSON (.json) or CSV (.csv) files
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Args)]
pub struct SqlArgs {
    /// The data dir whose lake to query
    #[arg(long, default_value = "./spotcheck-data", env = "SPOTCHECK_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The lake to query, if not DATA_DIR/lake: a directory or s3://bucket/prefix
    #[arg(long, env = "SPOTCHECK_LAKE")]
    pub lake: Option<String>,
    /// Answer as the lake stood then: a table version (42), a date (2026-11-30, its end in
    /// China) or an RFC 3339 time
    #[arg(long)]
    pub as_of: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = SqlFormat::Table)]
    pub format: SqlFormat,
    /// One read-only statement (SELECT, EXPLAIN, SHOW, DESCRIBE)
    pub sql: String,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SqlFormat {
    Table,
    Csv,
    Json,
}

/// Where a command that makes documents from the lake reads it, and with which configuration.
#[derive(Args)]
pub struct LakeArgs {
    /// The data dir whose lake to read
    #[arg(long, default_value = "./spotcheck-data", env = "SPOTCHECK_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The config file: the lake's location, the labs' names, the plan's rules (default: the
    /// data dir's dev config if there is one)
    #[arg(long, env = "SPOTCHECK_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Args)]
pub struct TraceExportArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// The batch: producer/model/batch (a `/` inside a part written `%2F`)
    #[arg(long)]
    pub batch: String,
    /// Spreadsheet format
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// Where to write it (default: standard output)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// CSV for programs: values exactly as recorded (by default a value a spreadsheet would run
    /// as a formula, such as `=HYPERLINK(…)`, is written as text with a leading `'`)
    #[arg(long)]
    pub raw: bool,
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("period").required(true).args(["quarter", "year", "years"]))]
pub struct ReportArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// The quarter of sampling, e.g. 2026Q3: the quarterly report
    #[arg(long)]
    pub quarter: Option<String>,
    /// The year of sampling, e.g. 2026: the yearly report (due 10 January), the same sections
    /// over the year's four quarters
    #[arg(long)]
    pub year: Option<String>,
    /// Years of sampling, e.g. 2024-2026: the report over them (the three-year action's
    /// self-evaluation), each year and each category's years side by side, every quarter's rate
    #[arg(long)]
    pub years: Option<String>,
    /// Only units whose district code starts with this (e.g. 120104, or 12 for Tianjin)
    #[arg(long)]
    pub district: Option<String>,
    /// The directory to write report.html, report.md and the CSV and SVG files into
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct NoticeArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// The case
    #[arg(long = "case")]
    pub case_id: String,
    /// Which notice: rectification (整改通知书), reminder (提醒敦促函), interview (约谈通知书),
    /// listed_supervision (挂牌督办通知书); the case's newest of that kind
    #[arg(long)]
    pub kind: String,
    /// The recipient's USCC, when the case has several notices of that kind
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value = "docx")]
    pub format: DocumentFormat,
    /// The file to write (default: <kind>-<case>.<format> in the current directory)
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct BulletinArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// The spot-check task (the results' task_id)
    #[arg(long = "task")]
    pub task_id: String,
    /// Only the results of this organiser
    #[arg(long)]
    pub organiser: Option<String>,
    /// The directory to write bulletin.xlsx and bulletin.html into
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// The quarter planned, e.g. 2027Q1
    #[arg(long)]
    pub quarter: String,
    /// A division-code prefix, e.g. 120104 (every district when absent)
    #[arg(long)]
    pub district: Option<String>,
    /// The organiser planning: its samplings of the last six months are left out
    #[arg(long)]
    pub organiser: Option<String>,
    /// How many units to list
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Also write the list as a workbook
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DocumentFormat {
    Docx,
    Html,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Print a new random token and the config entry (with its SHA-256) that grants it
    New(TokenArgs),
}

#[derive(Args)]
pub struct TokenArgs {
    /// lab | ledger | admin | analyst | feed
    #[arg(long)]
    pub role: String,
    /// For a lab, the lab_id it posts as; otherwise a name
    #[arg(long)]
    pub subject: String,
}

//! The configuration file (docs/contract.md §2) and the dev config `up` makes when none is given.
//!
//! Every field is optional except the tokens; defaults are embedded here. Unknown keys are
//! refused, so a typo never silently falls back to a default.

use anyhow::{Context, Result};
use serde::Deserialize;
use spotcheck_api::access::{Role, TokenEntry, config_entry, new_token};
use spotcheck_api::body::BodyLimits;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The dev config's file name inside the data dir.
pub const DEV_CONFIG: &str = "config.toml";
/// The dev tokens, readable only by the owner.
pub const DEV_TOKENS: &str = "dev-tokens.toml";
/// The dev lab's id (its token's subject).
pub const DEV_LAB: &str = "dev-lab";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[[token]]` entries: who may call the API.
    #[serde(default)]
    pub token: Vec<TokenEntry>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub kafka: KafkaConfig,
    #[serde(default)]
    pub sql: SqlConfig,
    #[serde(default)]
    pub traceback: TracebackConfig,
    #[serde(default)]
    pub credit: CreditConfig,
    #[serde(default)]
    pub lake: LakeConfig,
    #[serde(default)]
    pub broker: BrokerConfig,
    #[serde(default)]
    pub plan: PlanConfig,
    /// `[labs]`: each lab's name (承检机构) by its lab id, `"tj-lab-01" = "天津市…研究院"`.
    /// Bulletins, notices and pages name the lab; a lab without an entry is shown by its id.
    #[serde(default)]
    pub labs: std::collections::BTreeMap<String, String>,
}

/// The sampling-plan checks: `[plan.licences]` maps a category id to the licence kinds
/// (`ccc`, `production_licence`, `fireworks_safety_licence`) one of which its producer must hold;
/// a listed category replaces the shipped requirement (`[]` drops it), others keep theirs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlanConfig {
    pub licences: std::collections::BTreeMap<String, Vec<String>>,
}

impl PlanConfig {
    pub fn rules(&self) -> Result<spotcheck_analytics::PlanRules> {
        use spotcheck_schemas::Category;
        use spotcheck_schemas::plan::{LicenceKind, LicenceRequirement};
        let mut rules = spotcheck_analytics::PlanRules::default();
        for (category, kinds) in &self.licences {
            let category: Category = category.parse().map_err(|()| {
                anyhow::anyhow!("[plan.licences]: '{category}' is not a category id")
            })?;
            let kinds = kinds
                .iter()
                .map(|k| k.parse::<LicenceKind>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("[plan.licences] {category}: {e}"))?;
            rules.licences.retain(|r| r.category != category);
            if !kinds.is_empty() {
                rules.licences.push(LicenceRequirement {
                    category,
                    kinds,
                    basis: "本地配置（[plan.licences]）".into(),
                });
            }
        }
        Ok(rules)
    }
}

/// How the embedded broker (`spotcheck up` without `--brokers`, `spotcheck broker`) keeps its log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerConfig {
    /// `"slatedb"` (default) or `"sqlite"`, for a new data dir; a data dir that holds a log
    /// already keeps its engine.
    pub storage: spotcheck_broker::Engine,
    /// SlateDB: milliseconds between two writes of the write-ahead log; each produce waits for
    /// the next one.
    pub flush_ms: u64,
    /// SlateDB: fsync each file before acknowledging (survives a power cut, not only a kill).
    pub fsync: bool,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        let defaults = spotcheck_broker::BrokerOptions::default();
        Self {
            storage: defaults.engine,
            flush_ms: defaults.flush_interval.as_millis() as u64,
            fsync: defaults.fsync,
        }
    }
}

impl BrokerConfig {
    pub fn options(&self) -> spotcheck_broker::BrokerOptions {
        spotcheck_broker::BrokerOptions {
            engine: self.storage,
            flush_interval: Duration::from_millis(self.flush_ms.max(1)),
            fsync: self.fsync,
            metrics: None,
        }
    }
}

/// Where the lake's Delta tables are and how they are kept in few large files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LakeConfig {
    /// A directory or an object-store URL (`s3://bucket/prefix`; credentials and endpoint from
    /// the `AWS_*` environment variables). Default: `DATA_DIR/lake`. `--lake` overrides it.
    pub location: Option<String>,
    /// Seconds between two rounds of optimize (bin-packing) and vacuum. 0: never.
    pub optimize_every_secs: u64,
    /// Seconds between two Z-orders of the result tables (each rewrites the whole table).
    pub zorder_every_secs: u64,
    /// Files optimize aims at, MiB.
    pub target_file_mib: u64,
    /// The minute's rounds merge only files up to this size, MiB; the hourly round merges the
    /// rest up to `target_file_mib`.
    pub small_file_mib: u64,
    /// Commits of the writer after which a quick round merges its newest small files (0: no
    /// quick rounds).
    pub quick_after_commits: u64,
    /// The quick rounds merge only files up to this size, MiB.
    pub quick_file_mib: u64,
    /// Hours a file no longer in the table is kept (queries that started on an older version
    /// and `as_of` queries within it still find it); vacuum removes it after.
    pub vacuum_retention_hours: u64,
}

impl Default for LakeConfig {
    fn default() -> Self {
        let defaults = spotcheck_lake::MaintainSettings::default();
        Self {
            location: None,
            optimize_every_secs: defaults.every.as_secs(),
            zorder_every_secs: defaults.zorder_every.as_secs(),
            target_file_mib: defaults.target_file_bytes / (1024 * 1024),
            small_file_mib: defaults.small_file_bytes / (1024 * 1024),
            vacuum_retention_hours: defaults.retention.as_secs() / 3600,
            quick_after_commits: defaults.quick_after_commits,
            quick_file_mib: (defaults.quick_file_bytes / (1024 * 1024)).max(1),
        }
    }
}

impl LakeConfig {
    /// The lake's location: `given` (`--lake`), else the configured one, else `DATA_DIR/lake`.
    pub fn location(
        &self,
        given: Option<&str>,
        data_dir: &Path,
    ) -> Result<spotcheck_lake::LakeLocation> {
        let text = match (given, &self.location) {
            (Some(given), _) => given.to_owned(),
            (None, Some(configured)) => configured.clone(),
            (None, None) => data_dir.join("lake").to_string_lossy().into_owned(),
        };
        spotcheck_lake::LakeLocation::parse(&text).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// `None` when maintenance is off.
    pub fn maintenance(&self) -> Option<spotcheck_lake::MaintainSettings> {
        (self.optimize_every_secs > 0).then(|| spotcheck_lake::MaintainSettings {
            every: Duration::from_secs(self.optimize_every_secs),
            zorder_every: Duration::from_secs(self.zorder_every_secs.max(1)),
            target_file_bytes: self.target_file_mib.max(1) * 1024 * 1024,
            small_file_bytes: self.small_file_mib.max(1) * 1024 * 1024,
            retention: Duration::from_secs(self.vacuum_retention_hours * 3600),
            quick_after_commits: self.quick_after_commits,
            quick_file_bytes: self.quick_file_mib.max(1) * 1024 * 1024,
        })
    }
}

/// The credit feed's receivers and the listing-candidate rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CreditConfig {
    /// `[[credit.webhook]]` entries: `url`, `secret`.
    pub webhook: Vec<spotcheck_credit::Webhook>,
    /// A unit with this many final failures within `listing_months` is a listing candidate.
    pub listing_failures: u32,
    pub listing_months: u32,
}

impl Default for CreditConfig {
    fn default() -> Self {
        let rule = spotcheck_analytics::ListingRule::default();
        Self {
            webhook: Vec::new(),
            listing_failures: rule.failures,
            listing_months: rule.months,
        }
    }
}

impl CreditConfig {
    pub fn listing_rule(&self) -> spotcheck_analytics::ListingRule {
        spotcheck_analytics::ListingRule {
            failures: self.listing_failures.max(1),
            months: self.listing_months.max(1),
        }
    }
}

/// The authority's region and the law's periods (docs/domain.md), for the traceback stage.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracebackConfig {
    /// Division-code prefix of the region; units outside it are referred (`12` = Tianjin).
    pub region_prefix: String,
    pub periods: spotcheck_traceback::Periods,
    /// Years added to (or replacing) the shipped working-day calendar (2024–2026):
    /// `[traceback.calendar.years.2027]` with `holidays = [...]` and `workdays = [...]`.
    pub calendar: spotcheck_traceback::Calendar,
}

impl Default for TracebackConfig {
    fn default() -> Self {
        let authority = spotcheck_traceback::Authority::default();
        Self {
            region_prefix: authority.region_prefix,
            periods: authority.periods,
            calendar: spotcheck_traceback::Calendar::default(),
        }
    }
}

impl TracebackConfig {
    /// The authority: the region, the periods and the shipped calendar with the configured years
    /// (checked when the file was read).
    pub fn authority(&self) -> spotcheck_traceback::Authority {
        spotcheck_traceback::Authority {
            region_prefix: self.region_prefix.clone(),
            periods: self.periods,
            calendar: spotcheck_traceback::Calendar::shipped().with(&self.calendar),
        }
    }
}

/// Limits of analysts' queries (HTTP, Postgres protocol and `spotcheck sql`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqlConfig {
    /// A query running longer is stopped with an error naming the limit.
    pub timeout_secs: f64,
    /// Memory all queries of the process may hold at once, in MiB.
    pub memory_mib: usize,
    /// Postgres-protocol connections open at once. When all are taken, the oldest connection
    /// that has not sent a byte yet is closed for a new one; with none such, the new one is
    /// refused (53300).
    pub max_connections: usize,
    /// Postgres-protocol connections one client address may hold open without sending a byte.
    pub max_silent_per_address: usize,
    /// Seconds a Postgres-protocol client has to log in; then its connection (and slot) is
    /// closed, so clients that connect and say nothing cannot use up `max_connections`.
    pub login_timeout_secs: u64,
    /// Most rows one answer carries; an answer reaching it ends with an error saying so.
    pub max_rows: u64,
    /// Longest statement, in bytes; a longer one is refused before it is parsed.
    pub max_statement_bytes: usize,
    /// Deepest nesting of expressions (a chain a+b+c… counts one level per term).
    pub max_expression_depth: usize,
    /// Most MiB one call of a value-building function (`repeat`, `lpad`, `range`…) may build.
    pub max_built_mib: usize,
}

impl Default for SqlConfig {
    fn default() -> Self {
        let defaults = spotcheck_analytics::QueryLimits::default();
        Self {
            timeout_secs: defaults.timeout.as_secs_f64(),
            memory_mib: defaults.memory_bytes / (1024 * 1024),
            max_connections: 64,
            max_silent_per_address: 16,
            login_timeout_secs: 10,
            max_rows: defaults.max_rows,
            max_statement_bytes: defaults.statement.max_bytes,
            max_expression_depth: defaults.statement.max_depth,
            max_built_mib: defaults.max_built_bytes / (1024 * 1024),
        }
    }
}

impl SqlConfig {
    pub fn limits(&self) -> Result<spotcheck_analytics::QueryLimits> {
        let timeout = Duration::try_from_secs_f64(self.timeout_secs)
            .ok()
            .filter(|t| !t.is_zero())
            .context("[sql] timeout_secs must be a positive number of seconds")?;
        anyhow::ensure!(self.memory_mib > 0, "[sql] memory_mib must be positive");
        anyhow::ensure!(self.max_rows > 0, "[sql] max_rows must be positive");
        anyhow::ensure!(
            self.max_statement_bytes > 0 && self.max_statement_bytes <= 1024 * 1024,
            "[sql] max_statement_bytes must be between 1 and 1048576 (the query threads' \
             stacks are sized for at most 1 MiB of statement)"
        );
        anyhow::ensure!(
            (1..=4096).contains(&self.max_expression_depth),
            "[sql] max_expression_depth must be between 1 and 4096"
        );
        anyhow::ensure!(
            self.max_built_mib > 0,
            "[sql] max_built_mib must be positive"
        );
        Ok(spotcheck_analytics::QueryLimits {
            timeout,
            memory_bytes: self.memory_mib.saturating_mul(1024 * 1024),
            max_rows: self.max_rows,
            statement: spotcheck_analytics::StatementLimits {
                max_bytes: self.max_statement_bytes,
                max_depth: self.max_expression_depth,
            },
            max_built_bytes: self.max_built_mib.saturating_mul(1024 * 1024),
        })
    }
}

/// What one request may carry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Most records in one request (413 above).
    pub max_records: usize,
    /// Seconds a request body may take to arrive (408 after).
    pub body_timeout_secs: u64,
    /// HTTP connections open at once. When all are taken, the oldest connection that has not
    /// sent a byte yet is closed for a new one; with none such, the new one is answered 503.
    pub max_connections: usize,
    /// Connections one client address may hold open without sending a byte.
    pub max_silent_per_address: usize,
    /// Seconds a connection may stay silent, and a request head may take to arrive; then the
    /// connection is closed.
    pub header_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        let defaults = BodyLimits::default();
        Self {
            max_body_bytes: defaults.max_bytes,
            max_records: defaults.max_records,
            body_timeout_secs: defaults.read_timeout.as_secs(),
            max_connections: 1024,
            max_silent_per_address: 64,
            header_timeout_secs: 10,
        }
    }
}

impl Limits {
    pub fn http_limits(&self) -> spotcheck_api::HttpLimits {
        let header_timeout = Duration::from_secs(self.header_timeout_secs.max(1));
        spotcheck_api::HttpLimits {
            gate: spotcheck_runtime::gate::GateLimits {
                max_connections: self.max_connections,
                max_silent_per_address: self.max_silent_per_address,
                silent_timeout: header_timeout,
            },
            header_timeout,
        }
    }

    pub fn body_limits(&self) -> BodyLimits {
        BodyLimits {
            max_bytes: self.max_body_bytes,
            max_records: self.max_records,
            read_timeout: Duration::from_secs(self.body_timeout_secs.max(1)),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// How long a request waits for the broker's acknowledgement before ingest answers 503 (a
    /// stage retries). The record stays queued and is delivered when the broker answers: the
    /// producer never times a record out, because the idempotent producer's epoch bump after
    /// such a timeout kills Tansu 0.6's storage (measured; docs/broker.md).
    pub delivery_timeout_ms: u64,
    /// Replication factor of created topics (1 on one broker, 3 on a production cluster).
    pub replication_factor: i32,
    /// Extra librdkafka properties (e.g. `security.protocol`), applied to every client.
    pub properties: BTreeMap<String, String>,
    /// Seconds an idle consumer of `spotcheck up` rests between fetches; it wakes at once when
    /// the process itself writes a record, so this only delays records written by other
    /// processes while idle. 0: never rest (fetch all the time).
    pub rest_when_idle_secs: u64,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            delivery_timeout_ms: 30_000,
            replication_factor: 1,
            properties: BTreeMap::new(),
            rest_when_idle_secs: 10,
        }
    }
}

impl KafkaConfig {
    pub fn rest_when_idle(&self) -> Option<Duration> {
        (self.rest_when_idle_secs > 0).then(|| Duration::from_secs(self.rest_when_idle_secs))
    }

    pub fn delivery_timeout(&self) -> Duration {
        Duration::from_millis(self.delivery_timeout_ms)
    }
}

/// The config of `spotcheck broker`: the given file, else the data dir's dev config if there is
/// one, else the defaults.
pub fn load_for_broker(given: Option<&Path>, data_dir: &Path) -> Result<BrokerConfig> {
    Ok(load_existing(given, data_dir)?.broker)
}

/// The config of a command that only reads: the given file, else the data dir's dev config if
/// there is one, else the defaults.
pub fn load_existing(given: Option<&Path>, data_dir: &Path) -> Result<Config> {
    let dev = data_dir.join(DEV_CONFIG);
    match given {
        Some(path) => read(path),
        None if dev.exists() => read(&dev),
        None => Ok(Config::default()),
    }
}

/// The config to run with: the given file, else the data dir's dev config (made if missing).
/// Returns it with the path of the dev tokens file when the dev config is used.
pub fn load_or_create(given: Option<&Path>, data_dir: &Path) -> Result<(Config, Option<PathBuf>)> {
    if let Some(path) = given {
        return Ok((read(path)?, None));
    }
    let path = data_dir.join(DEV_CONFIG);
    let tokens = data_dir.join(DEV_TOKENS);
    if !path.exists() {
        write_dev_config(&path, &tokens)?;
    }
    Ok((read(&path)?, Some(tokens)))
}

fn read(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let config: Config = toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "the config file {} is invalid: {}",
            path.display(),
            e.message()
        )
    })?;
    if config.token.is_empty() {
        anyhow::bail!(
            "the config file {} grants no token: add [[token]] entries",
            path.display()
        );
    }
    // Checked now, so a bad entry stops start-up before anything connects.
    spotcheck_api::access::Authenticator::new(&config.token)
        .map_err(|e| anyhow::anyhow!("the config file {}: {e}", path.display()))?;
    config
        .sql
        .limits()
        .with_context(|| format!("the config file {}", path.display()))?;
    Ok(config)
}

/// One random token per role; hashes into the config, tokens into an owner-only file.
fn write_dev_config(config_path: &Path, tokens_path: &Path) -> Result<()> {
    let mut config =
        String::from("# Dev config made by `spotcheck up`; the tokens are in dev-tokens.toml.\n\n");
    let mut tokens = String::from("# Dev tokens for this data dir. Keep them secret.\n");
    for role in Role::ALL {
        let (token, hash) = new_token();
        let subject = match role {
            Role::Lab => DEV_LAB.to_owned(),
            other => format!("dev-{other}"),
        };
        config.push_str(&config_entry(&hash, *role, &subject));
        config.push('\n');
        tokens.push_str(&format!("{role} = \"{token}\"\n"));
    }
    write_private(tokens_path, &tokens)?;
    config.push_str(&format!(
        "# Each lab's name (承检机构), as bulletins, notices and pages print it.\n[labs]\n\
         {DEV_LAB} = \"开发环境检验机构\"\n\n"
    ));
    std::fs::write(config_path, config)
        .with_context(|| format!("cannot write {}", config_path.display()))
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_config_grants_one_token_per_role_and_keeps_tokens_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (config, tokens) = load_or_create(None, dir.path()).unwrap();
        assert_eq!(config.token.len(), Role::ALL.len());
        let tokens = tokens.unwrap();
        let mode = std::fs::metadata(&tokens).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&tokens).unwrap();
        for role in ["lab", "ledger", "admin", "analyst", "feed", "inspector"] {
            assert!(text.contains(&format!("{role} = \"sc_")), "{text}");
        }
        let lab = config.token.iter().find(|t| t.role == Role::Lab).unwrap();
        assert_eq!(lab.subject, DEV_LAB);
    }

    #[test]
    fn the_dev_config_names_its_lab_and_a_document_command_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_existing(None, dir.path()).unwrap().labs.is_empty());
        load_or_create(None, dir.path()).unwrap();
        let config = load_existing(None, dir.path()).unwrap();
        assert_eq!(
            config.labs.get(DEV_LAB).map(String::as_str),
            Some("开发环境检验机构")
        );
    }

    #[test]
    fn a_typo_in_the_config_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[limits]\nmax_body_byte = 1\n").unwrap();
        let error = load_or_create(Some(&path), dir.path())
            .unwrap_err()
            .to_string();
        assert!(error.contains("max_body_byte"), "{error}");
    }
}

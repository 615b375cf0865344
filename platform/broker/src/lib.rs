//! The embedded broker of `spotcheck up` and `spotcheck broker`: Tansu, a Kafka-protocol broker,
//! running inside the spotcheck process with its log under the data directory, on SlateDB
//! (default) or SQLite.
//!
//! Guarantee: a record the broker acknowledged, and every committed consumer offset, is written
//! to the log's files before the acknowledgement leaves, so both survive a SIGKILL of the process
//! (SlateDB: each produce waits for its write-ahead log to be written, every
//! [`BrokerOptions::flush_interval`] while writes wait ([`group_commit`]); SQLite: each write is
//! a transaction). With
//! [`BrokerOptions::fsync`] (the default) SlateDB's files are also fsynced before the
//! acknowledgement, so they survive a power cut; SQLite runs with `synchronous=normal` and does
//! not promise that. A record is served to consumers only once it is written out ([`visible`]):
//! what a consumer has read is never taken away by a crash.
//! Limits (Tansu 0.6, measured in BROKERS.md and BENCHMARKS.md): no transactions; topic configs
//! such as `cleanup.policy=compact` are accepted but not enforced. Other clients (librdkafka 2.x,
//! `tansu cat`) can use it at the logged address.

pub mod conflicts;
pub mod durable;
pub mod group_commit;
pub mod visible;
pub mod watermarks;

use slatedb::object_store::ObjectStore;
use slatedb::object_store::local::LocalFileSystem;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tansu_broker::broker::Broker;
use tansu_broker::coordinator::group::administrator::Controller;
use tansu_storage::StorageContainer;
use tokio::task::JoinHandle;
use url::Url;

/// File under the broker directory remembering the port, so clients can reconnect after a restart.
const PORT_FILE: &str = "port";
/// The file a running broker holds locked, so that a second one on the directory stops before
/// it touches the log (SlateDB fences the first writer out, which then answers nothing).
const LOCK_FILE: &str = "lock";
/// The SQLite engine's log (spotcheck before SlateDB became the default).
const DATABASE_FILE: &str = "broker.db";
/// The SlateDB engine's directory (its object store) under the broker directory.
const SLATE_DIR: &str = "slatedb";
/// The database's path inside that object store.
const SLATE_DB: &str = "log";
const CLUSTER: &str = "spotcheck";

/// Which storage engine holds the broker's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// SlateDB on a local directory (an LSM tree of files written as objects).
    Slatedb,
    /// SQLite, one row per record and per header: spotcheck's engine before SlateDB.
    Sqlite,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Slatedb => "slatedb",
            Self::Sqlite => "sqlite",
        }
    }
}

/// How the embedded broker stores its log.
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    /// The engine for a new broker directory; a directory that holds a log already keeps its
    /// engine (see [`EmbeddedBroker::start`]).
    pub engine: Engine,
    /// SlateDB: how often the write-ahead log is written out. Every produce request waits for
    /// the next write, so this bounds both a single record's latency and, because Tansu handles
    /// a request's partitions one after another, the throughput of one producer. 2 ms by
    /// default: against 10 ms it gave 1.6× the ingest rate and half the single-POST latency
    /// (`benches/ingest.rs`, BENCHMARKS.md). The log is written out at this pace only while
    /// writes wait for it ([`group_commit`]): an idle broker does not wake for it.
    pub flush_interval: Duration,
    /// SlateDB: fsync every file it writes (and its directory) before the write counts as done.
    pub fsync: bool,
    /// What the broker counts, for the process embedding it to export.
    pub metrics: Option<BrokerMetrics>,
}

/// The broker's metrics (SlateDB only), made and registered by the process that embeds it.
#[derive(Debug, Clone)]
pub struct BrokerMetrics {
    /// Writes run again after a transaction conflict ([`conflicts`]); each costs the client one
    /// more write-out of the log.
    pub conflict_retries: prometheus::IntCounter,
    /// Each write-out of the log (its write and fsyncs) in seconds: the disk's part of every
    /// acknowledgement ([`group_commit`]).
    pub log_writes: prometheus::Histogram,
}

impl Default for BrokerOptions {
    fn default() -> Self {
        Self {
            engine: Engine::Slatedb,
            flush_interval: Duration::from_millis(2),
            fsync: true,
            metrics: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot prepare the broker directory {path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot find a free loopback port: {0}")]
    NoPort(std::io::Error),
    #[error("the embedded broker failed to start: {0}")]
    Start(String),
    #[error("the embedded broker did not accept connections on {0} within 30 s")]
    NotListening(SocketAddr),
    #[error(
        "the broker directory {0} is in use by another process (a spotcheck up or broker on the same data dir): stop it, or give this one another --data-dir"
    )]
    InUse(PathBuf),
}

type SqliteBroker = Broker<Controller<StorageContainer>, StorageContainer>;
type SlateStorage = conflicts::RetryConflicts<StorageContainer>;

/// A running embedded broker; stopped by [`EmbeddedBroker::stop`] or when dropped.
pub struct EmbeddedBroker {
    address: SocketAddr,
    engine: Engine,
    /// The SQLite file or the SlateDB directory.
    log: PathBuf,
    /// Why the engine differs from the one asked for (a directory of the other engine).
    kept: Option<String>,
    slate: Option<Arc<slatedb::Db>>,
    task: JoinHandle<()>,
    /// Held locked while the broker runs ([`LOCK_FILE`]); unlocked when closed.
    _lock: std::fs::File,
}

impl EmbeddedBroker {
    /// Starts the broker with its data under `dir` (created if missing), on `port` or, when
    /// `None`, on the port it used last time (or a free one), and waits until it accepts
    /// connections. A directory that already holds a log of one engine only keeps using that
    /// engine, whatever `options.engine` says ([`EmbeddedBroker::kept`] says why), so an upgrade
    /// never starts an empty broker beside the records of the old one.
    pub async fn start(
        dir: &Path,
        port: Option<u16>,
        options: &BrokerOptions,
    ) -> Result<Self, BrokerError> {
        std::fs::create_dir_all(dir).map_err(|source| BrokerError::Directory {
            path: dir.to_owned(),
            source,
        })?;
        let dir = std::path::absolute(dir).map_err(|source| BrokerError::Directory {
            path: dir.to_owned(),
            source,
        })?;
        let lock = lock(&dir)?;
        let (engine, kept) = engine_for(&dir, options.engine);
        let port = match port {
            Some(port) => port,
            None => remembered_or_free_port(&dir)?,
        };
        // Remembered however it was chosen: the next start without a port keeps it.
        let file = dir.join(PORT_FILE);
        std::fs::write(&file, port.to_string())
            .map_err(|source| BrokerError::Directory { path: file, source })?;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let (task, log, slate) = match engine {
            Engine::Sqlite => {
                let database = dir.join(DATABASE_FILE);
                let broker = build_sqlite(address, &database).await?;
                index_headers(&database).await?;
                (tokio::spawn(serve(broker)), database, None)
            }
            Engine::Slatedb => {
                let root = dir.join(SLATE_DIR);
                let db = open_slate(&root, options).await?;
                let writes = group_commit::Writes::default();
                let storage = conflicts::RetryConflicts::new(
                    StorageContainer::Slate(
                        tansu_storage::slate::Engine::builder()
                            .cluster(CLUSTER)
                            .node(tansu_broker::NODE_ID)
                            .advertised_listener(listener_url(address)?)
                            .db(db.clone())
                            .build(),
                    ),
                    writes.clone(),
                    options.metrics.as_ref().map(|m| m.conflict_retries.clone()),
                );
                let listener = tokio::net::TcpListener::bind(address)
                    .await
                    .map_err(|error| {
                        BrokerError::Start(format!("cannot listen on {address}: {error}"))
                    })?;
                // The log is written out while writes wait for it (the group commit), in the
                // same task as the connections: stopped together.
                // And the partitions' watermarks are kept small (`watermarks`).
                let flusher = group_commit::flush_while_writing(
                    db.clone(),
                    writes.clone(),
                    options.flush_interval,
                    options.metrics.as_ref().map(|m| m.log_writes.clone()),
                );
                let upkeep = watermarks::keep_small(db.clone(), writes);
                let task = tokio::spawn(async move {
                    tokio::select! {
                        () = serve_slate(listener, storage) => {}
                        () = flusher => {}
                        () = upkeep => {}
                    }
                });
                (task, root, Some(db))
            }
        };
        wait_until_listening(address, &task).await?;
        Ok(Self {
            address,
            engine,
            log,
            kept,
            slate,
            task,
            _lock: lock,
        })
    }

    /// The bootstrap address for Kafka clients, e.g. `127.0.0.1:40123`.
    pub fn bootstrap(&self) -> String {
        self.address.to_string()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The engine holding the log.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The SQLite file or the SlateDB directory holding the log and the committed offsets.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// When the directory's existing log decided the engine against the one asked for: one
    /// line saying so.
    pub fn kept(&self) -> Option<&str> {
        self.kept.as_deref()
    }

    /// Stops serving, then closes the log (SlateDB writes out what it holds in memory;
    /// acknowledged records are in its write-ahead log already).
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
        if let Some(db) = self.slate.take()
            && let Err(error) = db.close().await
        {
            tracing::warn!(%error, "closing the broker's SlateDB log");
        }
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The engine for `dir`: the one whose log it holds, else `wanted`; with a message when an
/// existing log overrules `wanted`.
fn engine_for(dir: &Path, wanted: Engine) -> (Engine, Option<String>) {
    let sqlite = dir.join(DATABASE_FILE).exists();
    let slate = dir.join(SLATE_DIR).exists();
    match (wanted, sqlite, slate) {
        (Engine::Slatedb, true, false) => (
            Engine::Sqlite,
            Some(format!(
                "{} holds the broker log of an earlier spotcheck (SQLite): keeping SQLite so no \
                 record is left behind; [broker] storage = \"sqlite\" silences this message",
                dir.display()
            )),
        ),
        (Engine::Sqlite, false, true) => (
            Engine::Slatedb,
            Some(format!(
                "{} holds a SlateDB broker log: keeping SlateDB although [broker] storage is \
                 \"sqlite\"",
                dir.display()
            )),
        ),
        _ => (wanted, None),
    }
}

/// Opens (or creates) the SlateDB database under `root`.
/// Locks the broker directory for this process, or says that another one holds it.
fn lock(dir: &Path) -> Result<std::fs::File, BrokerError> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| BrokerError::Directory {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(BrokerError::InUse(dir.to_owned())),
        Err(std::fs::TryLockError::Error(source)) => Err(BrokerError::Directory { path, source }),
    }
}

async fn open_slate(root: &Path, options: &BrokerOptions) -> Result<Arc<slatedb::Db>, BrokerError> {
    std::fs::create_dir_all(root).map_err(|source| BrokerError::Directory {
        path: root.to_owned(),
        source,
    })?;
    let local = LocalFileSystem::new_with_prefix(root).map_err(start_error)?;
    let store: Arc<dyn ObjectStore> = match options.fsync {
        true => Arc::new(durable::SyncedDir::new(local)),
        false => Arc::new(local),
    };
    let settings = slatedb::Settings {
        // The group commit writes the log out while writes wait; SlateDB's own ticker is the
        // backstop (`group_commit`).
        flush_interval: Some(
            options
                .flush_interval
                .max(group_commit::BACKSTOP)
                .max(Duration::from_millis(1)),
        ),
        // Without it, write-ahead-log files and compacted tables stay on disk for ever.
        garbage_collector_options: Some(slatedb::config::GarbageCollectorOptions::default()),
        ..slatedb::Settings::default()
    };
    slatedb::Db::builder(SLATE_DB, store)
        .with_settings(settings)
        .build()
        .await
        .map(Arc::new)
        .map_err(start_error)
}

fn listener_url(address: SocketAddr) -> Result<Url, BrokerError> {
    Url::parse(&format!("tcp://{address}")).map_err(start_error)
}

/// Tansu on SlateDB, served on `listener`: the broker registers itself in the storage, then
/// every accepted connection is handed to Tansu's Kafka-protocol handlers
/// (`tansu_broker::service::services`). Tansu's own `Broker` can only be given a SlateDB of ours
/// through a constructor that prints to stdout and draws console spinners (which broke
/// `--log-format json`), so spotcheck runs the accept loop itself.
async fn serve_slate(listener: tokio::net::TcpListener, storage: SlateStorage) {
    use rama::Service;
    use tansu_storage::Storage;
    let registration = tansu_storage::BrokerRegistrationRequest {
        broker_id: tansu_broker::NODE_ID,
        cluster_id: CLUSTER.into(),
        incarnation_id: uuid::Uuid::new_v4(),
        rack: None,
    };
    if let Err(error) = storage.register_broker(registration).await {
        tracing::error!(%error, "the embedded broker cannot register in its storage");
        return;
    }
    let groups = match Controller::with_storage(storage.clone()) {
        Ok(groups) => groups,
        Err(error) => {
            tracing::error!(%error, "the embedded broker cannot start its group coordinator");
            return;
        }
    };
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        tracing::warn!(%error, "the embedded broker could not accept a connection");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = match tansu_broker::service::services(
                    CLUSTER,
                    groups.clone(),
                    storage.clone(),
                    None,
                ) {
                    Ok(service) => service,
                    Err(error) => {
                        tracing::error!(%error, "the embedded broker cannot serve a connection");
                        continue;
                    }
                };
                connections.spawn(async move {
                    // A client that hangs up ends its connection with an error; nothing to do.
                    if let Err(error) = service.serve(rama::Context::default(), stream).await {
                        tracing::debug!(%error, "a broker connection ended");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn build_sqlite(address: SocketAddr, database: &Path) -> Result<SqliteBroker, BrokerError> {
    let listener = listener_url(address)?;
    // An absolute path gives the four slashes Tansu expects: sqlite:////abs/dir/broker.db
    let storage = Url::parse(&format!("sqlite:///{}", database.display())).map_err(start_error)?;
    SqliteBroker::builder()
        .node_id(tansu_broker::NODE_ID)
        .cluster_id(CLUSTER)
        .incarnation_id(uuid::Uuid::new_v4())
        .advertised_listener(listener.clone())
        .storage(storage)
        .listener(listener)
        .silent(true)
        .build()
        .await
        .map_err(start_error)
}

/// Tansu 0.6 creates its `header` table without an index, so fetching a record's headers scans
/// every header of the broker: consumption slows to a crawl as the log grows (measured: a fetch
/// of one partition of 100,000 records with CloudEvents headers did not return in 20 s; a
/// separate `tansu` process without the index took produce requests at ~220 records/s while
/// stages read, and stalled entirely under the benchmark's load). The index on the join key
/// makes each lookup a B-tree search. Idempotent; run after Tansu made its tables.
async fn index_headers(database: &Path) -> Result<(), BrokerError> {
    let db = libsql::Builder::new_local(database)
        .build()
        .await
        .map_err(start_error)?;
    let connection = db.connect().map_err(start_error)?;
    connection
        .execute(
            "create index if not exists header_topition_offset on header (topition, offset_id)",
            (),
        )
        .await
        .map_err(start_error)?;
    Ok(())
}

async fn serve(mut broker: SqliteBroker) {
    if let Err(error) = broker.serve(tokio::time::Instant::now()).await {
        tracing::error!(%error, "embedded broker stopped");
    }
}

fn start_error(error: impl std::fmt::Display) -> BrokerError {
    BrokerError::Start(error.to_string())
}

/// Reuses the port of the last run when it is free, so clients reconnect; else a free one.
fn remembered_or_free_port(dir: &Path) -> Result<u16, BrokerError> {
    let file = dir.join(PORT_FILE);
    let remembered = std::fs::read_to_string(&file)
        .ok()
        .and_then(|text| text.trim().parse::<u16>().ok())
        .filter(|port| TcpListener::bind((Ipv4Addr::LOCALHOST, *port)).is_ok());
    match remembered {
        Some(port) => Ok(port),
        None => Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .map_err(BrokerError::NoPort)?
            .port()),
    }
}

async fn wait_until_listening(
    address: SocketAddr,
    task: &JoinHandle<()>,
) -> Result<(), BrokerError> {
    for _ in 0..300 {
        if task.is_finished() {
            return Err(BrokerError::Start(
                "the broker task ended during start-up (see the log)".into(),
            ));
        }
        let probe = tokio::task::spawn_blocking(move || {
            TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_ok()
        });
        if probe.await.unwrap_or(false) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(BrokerError::NotListening(address))
}

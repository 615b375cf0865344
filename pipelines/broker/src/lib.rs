//! The embedded broker of `spotcheck up`: Tansu, a Kafka-protocol broker, running inside the
//! spotcheck process with its log in SQLite under the data directory.
//!
//! Guarantee: a record the broker acknowledged, and every committed consumer offset, is in the
//! SQLite file before the acknowledgement leaves, so both survive a SIGKILL of the process.
//! Limits (Tansu 0.6, measured in BROKERS.md): no transactions; a few tens of thousands of
//! records per second; topic configs such as `cleanup.policy=compact` are accepted but not
//! enforced. Other clients (librdkafka 2.x, `tansu cat`) can use it at the logged address.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tansu_broker::broker::Broker;
use tansu_broker::coordinator::group::administrator::Controller;
use tansu_storage::StorageContainer;
use tokio::task::JoinHandle;
use url::Url;

/// File under the broker directory remembering the port, so clients can reconnect after a restart.
const PORT_FILE: &str = "port";
const DATABASE_FILE: &str = "broker.db";

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
}

/// A running embedded broker; stopped by [`EmbeddedBroker::stop`] or when dropped.
pub struct EmbeddedBroker {
    address: SocketAddr,
    database: PathBuf,
    task: JoinHandle<()>,
}

impl EmbeddedBroker {
    /// Starts the broker with its data under `dir` (created if missing), on `port` or, when
    /// `None`, on the port it used last time (or a free one), and waits until it accepts
    /// connections.
    pub async fn start(dir: &Path, port: Option<u16>) -> Result<Self, BrokerError> {
        std::fs::create_dir_all(dir).map_err(|source| BrokerError::Directory {
            path: dir.to_owned(),
            source,
        })?;
        let dir = std::path::absolute(dir).map_err(|source| BrokerError::Directory {
            path: dir.to_owned(),
            source,
        })?;
        let port = match port {
            Some(port) => port,
            None => remembered_or_free_port(&dir)?,
        };
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let database = dir.join(DATABASE_FILE);
        let broker = build(address, &database).await?;
        index_headers(&database).await?;
        let task = tokio::spawn(serve(broker));
        wait_until_listening(address, &task).await?;
        Ok(Self {
            address,
            database,
            task,
        })
    }

    /// The bootstrap address for Kafka clients, e.g. `127.0.0.1:40123`.
    pub fn bootstrap(&self) -> String {
        self.address.to_string()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The SQLite file holding the log and the committed offsets.
    pub fn database(&self) -> &Path {
        &self.database
    }

    /// Stops serving. Acknowledged data is already on disk, so nothing needs flushing.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn build(
    address: SocketAddr,
    database: &Path,
) -> Result<Broker<Controller<StorageContainer>, StorageContainer>, BrokerError> {
    let listener = Url::parse(&format!("tcp://{address}")).map_err(start_error)?;
    // An absolute path gives the four slashes Tansu expects: sqlite:////abs/dir/broker.db
    let storage = Url::parse(&format!("sqlite:///{}", database.display())).map_err(start_error)?;
    Broker::<Controller<StorageContainer>, StorageContainer>::builder()
        .node_id(tansu_broker::NODE_ID)
        .cluster_id("spotcheck")
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

/// [`index_headers`] for a Tansu 0.6 run as its own process (the `tansu` binary with SQLite
/// storage at `database`): waits up to 30 s for Tansu to create its tables, then adds the index.
/// Call it only once that process accepts connections: Tansu registers itself in the database
/// before it listens and stops on a locked database (it sets no busy timeout), so an index built
/// during its start-up can kill it. Blocking; safe to call from inside or outside a Tokio runtime.
pub fn index_tansu_headers(database: &Path) -> Result<(), BrokerError> {
    let database = database.to_owned();
    let work = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(start_error)?;
        let started = std::time::Instant::now();
        loop {
            match runtime.block_on(index_headers(&database)) {
                Ok(()) => return Ok(()),
                Err(error) if started.elapsed() > Duration::from_secs(30) => return Err(error),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    });
    work.join()
        .unwrap_or_else(|_| Err(BrokerError::Start("indexing the headers panicked".into())))
}

async fn serve(mut broker: Broker<Controller<StorageContainer>, StorageContainer>) {
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
    let port = match remembered {
        Some(port) => port,
        None => TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .map_err(BrokerError::NoPort)?
            .port(),
    };
    std::fs::write(&file, port.to_string())
        .map_err(|source| BrokerError::Directory { path: file, source })?;
    Ok(port)
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

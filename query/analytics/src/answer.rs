//! A query's answer as it is computed: batches pass from the query threads to the front end
//! (HTTP, the Postgres protocol, the CLI) through a channel of two, so the first rows leave
//! while the query runs and what waits between the two sides is held in the session's memory
//! pool. The time limit covers the whole answer; the row limit ends it with an error that says
//! so, never silently.

use crate::error::QueryError;
use crate::session::{QueryLimits, Rows};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::prelude::SessionContext;
use futures::{Stream, StreamExt};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Batches computed but not yet taken by the front end.
const IN_FLIGHT_BATCHES: usize = 2;

/// The rows of one query, arriving.
pub struct Answer {
    pub schema: SchemaRef,
    batches: mpsc::Receiver<Result<InFlight, QueryError>>,
    deadline: Instant,
    timeout: Duration,
    /// Dropping the answer (a client that went away) stops the query.
    task: AbortOnDrop,
    /// The first batch, taken before the answer is handed out (see [`Answer::start`]).
    first: Option<RecordBatch>,
    ended: bool,
}

struct AbortOnDrop(JoinHandle<()>);

/// A batch in the channel, with its share of the memory pool (freed when the front end takes it).
struct InFlight {
    batch: RecordBatch,
    _held: MemoryReservation,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Answer {
    /// Plans (`plan` runs on `executor`) and starts executing; returns with the first batch in
    /// hand, so an error the first rows meet (a function refusing its arguments, memory) is
    /// still returned here, where front ends can answer it with a status.
    pub(crate) async fn start(
        executor: &tokio::runtime::Handle,
        context: &SessionContext,
        plan: impl Future<Output = Result<DataFrame, QueryError>> + Send + 'static,
        limits: QueryLimits,
    ) -> Result<Self, QueryError> {
        let deadline = Instant::now() + limits.timeout;
        let pool = Arc::clone(&context.runtime_env().memory_pool);
        let (schema_tx, schema_rx) = oneshot::channel();
        let (tx, rx) = mpsc::channel(IN_FLIGHT_BATCHES);
        let run = async move {
            let started = async {
                let frame = plan.await?;
                let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
                let stream = frame
                    .execute_stream()
                    .await
                    .map_err(|e| QueryError::from_datafusion(e, limits.memory_bytes))?;
                Ok::<_, QueryError>((schema, stream))
            };
            let mut stream = match started.await {
                Ok((schema, stream)) => {
                    if schema_tx.send(Ok(schema)).is_err() {
                        return;
                    }
                    stream
                }
                Err(error) => {
                    let _ = schema_tx.send(Err(error));
                    return;
                }
            };
            let held = MemoryConsumer::new("sql answer in flight").register(&pool);
            let mut rows: u64 = 0;
            while let Some(batch) = stream.next().await {
                let batch = match batch {
                    Ok(batch) => batch,
                    Err(e) => {
                        let _ = tx
                            .send(Err(QueryError::from_datafusion(e, limits.memory_bytes)))
                            .await;
                        return;
                    }
                };
                let cut = rows + batch.num_rows() as u64 > limits.max_rows;
                let batch = match cut {
                    true => batch.slice(0, (limits.max_rows - rows) as usize),
                    false => batch,
                };
                rows += batch.num_rows() as u64;
                // What waits in the channel counts against the pool like any operator's buffer.
                let size = batch.get_array_memory_size();
                if let Err(e) = held.try_grow(size) {
                    let _ = tx
                        .send(Err(QueryError::from_datafusion(e, limits.memory_bytes)))
                        .await;
                    return;
                }
                let in_flight = InFlight {
                    batch,
                    _held: held.split(size),
                };
                if tx.send(Ok(in_flight)).await.is_err() {
                    return;
                }
                if cut {
                    let _ = tx.send(Err(QueryError::TooManyRows(limits.max_rows))).await;
                    return;
                }
            }
        };
        let task = AbortOnDrop(executor.spawn(run));
        let schema = match tokio::time::timeout_at(deadline, schema_rx).await {
            Ok(Ok(Ok(schema))) => schema,
            Ok(Ok(Err(error))) => return Err(error),
            Ok(Err(_)) => {
                return Err(QueryError::Invalid(
                    "the query stopped before it answered (see the server's log)".into(),
                ));
            }
            Err(_) => return Err(QueryError::TimedOut(limits.timeout)),
        };
        let mut answer = Self {
            schema,
            batches: rx,
            deadline,
            timeout: limits.timeout,
            task,
            first: None,
            ended: false,
        };
        match answer.next().await {
            Some(Ok(batch)) => answer.first = Some(batch),
            Some(Err(error)) => return Err(error),
            None => {}
        }
        Ok(answer)
    }

    /// The next batch; `None` when the answer is complete. After an error, `None`.
    pub async fn next(&mut self) -> Option<Result<RecordBatch, QueryError>> {
        if let Some(first) = self.first.take() {
            return Some(Ok(first));
        }
        if self.ended {
            return None;
        }
        let item = match tokio::time::timeout_at(self.deadline, self.batches.recv()).await {
            Ok(item) => item.map(|item| item.map(|in_flight| in_flight.batch)),
            Err(_) => {
                self.task.0.abort();
                Some(Err(QueryError::TimedOut(self.timeout)))
            }
        };
        if !matches!(item, Some(Ok(_))) {
            self.ended = true;
        }
        item
    }

    /// The batches as a stream, for front ends that forward them.
    pub fn into_stream(self) -> impl Stream<Item = Result<RecordBatch, QueryError>> + Send {
        futures::stream::unfold(self, |mut answer| async move {
            answer.next().await.map(|item| (item, answer))
        })
    }

    /// Every batch, for callers that need the whole answer (reports, the table format).
    pub async fn collect(mut self) -> Result<Rows, QueryError> {
        let mut batches = Vec::new();
        while let Some(batch) = self.next().await {
            batches.push(batch?);
        }
        Ok(Rows {
            schema: self.schema,
            batches,
        })
    }
}

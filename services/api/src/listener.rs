//! The HTTP server: axum's router on hyper, with the connection rules of
//! [`spotcheck_runtime::gate`] and a deadline on every request head.
//!
//! axum's `serve` accepts every connection it is offered and never closes one that stays idle
//! or trickles its request head: 1,030 such sockets held every slot (≥ 95 s) and every client
//! got 503. Here a connection that stays silent, or takes longer than the header deadline to
//! send a request head, is closed; silent connections are shed for new ones (the gate); and a
//! connection refused because every slot is talking is told `503` with `Connection: close` in
//! the API's error shape.

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use spotcheck_runtime::gate::{Gate, GateLimits};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// How long a refused client gets to read its 503 before the socket is dropped.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a refused connection may take to send its request head before it is answered anyway.
const REQUEST_HEAD_WAIT: Duration = Duration::from_secs(1);
/// How long requests in flight may take to finish once shutdown began.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The connection rules of one HTTP server.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub gate: GateLimits,
    /// A request head (the first one, or the next one on a kept-alive connection) must arrive
    /// within this; else the connection is closed.
    pub header_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` fires, then lets requests in flight finish
/// (up to 30 s).
pub async fn serve(
    listener: TcpListener,
    limits: HttpLimits,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let gate = Gate::new(limits.gate);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: give closing connections a moment.
                    tracing::warn!(%error, "cannot accept an HTTP connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        spotcheck_runtime::gate::answer_without_delay(&stream);
        let Ok(ticket) = gate.admit(peer) else {
            tracing::warn!(%peer, max_connections = limits.gate.max_connections,
                "HTTP connection refused: every slot is in use");
            tokio::spawn(refuse(stream));
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            if !ticket.first_byte(&stream).await {
                return; // shed or silent too long: dropping the stream closes it
            }
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%peer, %error, "HTTP connection ended with an error");
            }
            drop(ticket);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after 30 s of shutdown; closing them");
    }
    Ok(())
}

async fn refuse(mut stream: TcpStream) {
    let body = r#"{"error":"too many connections to this server; try again shortly"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    // Answer the request, not the connection: an HTTP client that receives a response before
    // it has sent its request takes it for a protocol error (hyper: "unexpected message") and
    // never shows the 503. So wait for the end of the request head (briefly), then answer; then
    // read what the client sent until it closes: closing with unread input would reset the
    // connection, and the client might see the reset instead of the answer.
    let _ = tokio::time::timeout(REQUEST_HEAD_WAIT, read_request_head(&mut stream)).await;
    let answer_and_drain = async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        std::io::Result::Ok(())
    };
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, answer_and_drain).await;
}

/// Reads until the blank line that ends a request head (or 8 KiB, or the client's end).
async fn read_request_head(stream: &mut TcpStream) {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while head.len() < 8 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
}

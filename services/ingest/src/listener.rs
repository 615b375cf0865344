//! A TCP listener that holds at most N connections open at once.
//!
//! axum's `serve` accepts every connection it is offered, so a client that opens thousands of
//! idle connections (or many slow ones) would hold a file descriptor and a task each until the
//! process runs out. Here a connection over the limit is accepted, told `503` with
//! `Connection: close` in the API's error shape, and closed: the client learns why at once, and
//! the connections already open keep being served.

use axum::serve::Listener;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a refused client gets to read its 503 before the socket is dropped.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a refused connection may take to send its request head before it is answered anyway.
const REQUEST_HEAD_WAIT: Duration = Duration::from_secs(1);

pub struct LimitedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    max_connections: usize,
}

impl LimitedListener {
    pub fn new(inner: TcpListener, max_connections: usize) -> Self {
        let max_connections = max_connections.max(1);
        Self {
            inner,
            slots: Arc::new(Semaphore::new(max_connections)),
            max_connections,
        }
    }
}

impl Listener for LimitedListener {
    type Io = CountedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, peer) = Listener::accept(&mut self.inner).await;
            match self.slots.clone().try_acquire_owned() {
                Ok(slot) => {
                    return (
                        CountedStream {
                            stream,
                            _slot: slot,
                        },
                        peer,
                    );
                }
                Err(_) => {
                    tracing::warn!(%peer, max_connections = self.max_connections,
                        "HTTP connection refused: too many connections");
                    tokio::spawn(refuse(stream));
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
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

/// A connection that frees its slot when hyper drops it.
pub struct CountedStream {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

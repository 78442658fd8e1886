//! Accepting HTTP connections: the server's own accept loop over hyper, because a review server faces clients
//! it does not control. Each connection gets a header-read timeout, which also closes a kept-alive connection
//! that sends nothing (slowloris: thousands of connections that never finish their headers are dropped instead
//! of held until the file descriptors run out). A cap bounds connections open at once, WebSocket ones included
//! until they close; past it a new connection is closed at once rather than left waiting in the backlog. On
//! shutdown every connection finishes its request in flight and closes.

use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// How long to back off after `accept` fails for want of resources (file descriptors, memory).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until `shutdown` turns true, then waits for the open connections to close.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    max_connections: usize,
    header_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(max_connections.max(1)));
    // Every connection task holds a receiver; `closed()` resolves once the last one is gone.
    let (all_closed, connection_alive) = watch::channel(());
    let mut refused: u64 = 0;
    loop {
        let (stream, _remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    if !is_per_connection(&error) {
                        tracing::warn!(%error, "accepting a connection failed; backing off");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                    continue;
                }
            },
            () = stopping(&mut shutdown) => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // Closing it now frees the descriptor and tells the client at once.
            drop(stream);
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(
                    limit = max_connections,
                    refused,
                    "connection limit reached; refusing new connections"
                );
            }
            continue;
        };
        // Job events are small WebSocket frames: without TCP_NODELAY, Nagle's algorithm holds one back until
        // the client's delayed ACK (40 ms on Linux), which a one-file review feels.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        tokio::spawn(connection(
            Counted {
                stream,
                _permit: permit,
            },
            app.clone(),
            header_timeout,
            shutdown.clone(),
            connection_alive.clone(),
        ));
    }
    drop(listener);
    drop(connection_alive);
    all_closed.closed().await;
}

/// Resolves once `shutdown` turns true (or its sender is gone). The guard `wait_for` returns is not `Send`, so it
/// never lives in the caller's future.
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}

/// Errors that concern one connection (the peer reset it before it was accepted), not the listener.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

async fn connection(
    stream: Counted,
    app: Router,
    header_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
    _alive: watch::Receiver<()>,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let service = TowerToHyperService::new(app);
    let mut conn = pin!(
        builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
    );
    let mut draining = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::trace!(%error, "connection ended with an error");
                }
                break;
            }
            () = stopping(&mut shutdown), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// A connection's stream holding its place under the connection cap: the place is given back when the stream
/// is dropped, which for an upgraded WebSocket is when the socket closes.
struct Counted {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(context, buffer)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

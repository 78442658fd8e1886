//! Accepting HTTP connections: the server's own accept loop over hyper, because a review server faces clients
//! it does not control. Each connection gets a header-read timeout, which also closes a kept-alive connection
//! that sends nothing (slowloris: thousands of connections that never finish their headers are dropped instead
//! of held until the file descriptors run out). A cap bounds connections open at once, WebSocket ones included
//! until they close. At the cap, a new connection takes the place of the oldest one that is not serving a request
//! (idle, or still waiting for headers that may never come), so that holding thousands of half-open connections
//! cannot lock out a client that sends a real request; only when every connection is busy is a new one closed
//! at once. On shutdown every connection finishes its request in flight and closes.

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
    let registry = Arc::new(Registry::default());
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
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => Some(permit),
            // At the cap: the oldest connection that serves no request makes room.
            Err(_) if registry.evict_oldest_idle() => {
                tokio::time::timeout(EVICTION_WAIT, Arc::clone(&permits).acquire_owned())
                    .await
                    .ok()
                    .and_then(Result::ok)
            }
            Err(_) => None,
        };
        let Some(permit) = permit else {
            // Every connection is busy: closing this one now frees the descriptor and tells the client at once.
            drop(stream);
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(
                    limit = max_connections,
                    refused,
                    "connection limit reached with every connection busy; refusing new connections"
                );
            }
            continue;
        };
        // Job events are small WebSocket frames: without TCP_NODELAY, Nagle's algorithm holds one back until
        // the client's delayed ACK (40 ms on Linux), which a one-file review feels.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let tracked = registry.add();
        tokio::spawn(connection(
            Counted {
                stream,
                _permit: permit,
            },
            app.clone(),
            header_timeout,
            shutdown.clone(),
            connection_alive.clone(),
            tracked,
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
    tracked: Tracked,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let service = Marked {
        inner: TowerToHyperService::new(app),
        state: Arc::clone(&tracked.state),
    };
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
            // Evicted to make room: it was serving no request, so dropping it loses nothing.
            () = tracked.state.evict.notified() => break,
        }
    }
}

/// How long a new connection waits for the place of the connection evicted for it.
const EVICTION_WAIT: Duration = Duration::from_secs(1);

/// The connections being served (not WebSockets: an upgraded connection leaves hyper and this registry, and is
/// capped per token instead), oldest first.
#[derive(Default)]
struct Registry {
    next_id: std::sync::atomic::AtomicU64,
    open: std::sync::Mutex<std::collections::BTreeMap<u64, Arc<ConnectionState>>>,
}

/// What the accept loop knows of one connection.
#[derive(Default)]
struct ConnectionState {
    /// Requests being served now.
    requests: std::sync::atomic::AtomicUsize,
    /// Set once an eviction was asked for, so that one is not asked twice.
    evicting: std::sync::atomic::AtomicBool,
    evict: tokio::sync::Notify,
}

/// A connection's entry in the registry, removed when the connection ends.
struct Tracked {
    id: u64,
    state: Arc<ConnectionState>,
    registry: Arc<Registry>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.registry
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl Registry {
    fn add(self: &Arc<Self>) -> Tracked {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let state = Arc::new(ConnectionState::default());
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, Arc::clone(&state));
        Tracked {
            id,
            state,
            registry: Arc::clone(self),
        }
    }

    /// Asks the oldest connection that serves no request to close; false when every connection is busy.
    fn evict_oldest_idle(&self) -> bool {
        use std::sync::atomic::Ordering;
        let open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(state) = open.values().find(|state| {
            state.requests.load(Ordering::Acquire) == 0 && !state.evicting.load(Ordering::Acquire)
        }) else {
            return false;
        };
        state.evicting.store(true, Ordering::Release);
        state.evict.notify_one();
        true
    }
}

/// The router, counting the requests each connection is serving.
struct Marked {
    inner: TowerToHyperService<Router>,
    state: Arc<ConnectionState>,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Marked {
    type Response = <TowerToHyperService<Router> as hyper::service::Service<
        hyper::Request<hyper::body::Incoming>,
    >>::Response;
    type Error = <TowerToHyperService<Router> as hyper::service::Service<
        hyper::Request<hyper::body::Incoming>,
    >>::Error;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        use std::sync::atomic::Ordering;
        let state = Arc::clone(&self.state);
        state.requests.fetch_add(1, Ordering::AcqRel);
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            state.requests.fetch_sub(1, Ordering::AcqRel);
            response
        })
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

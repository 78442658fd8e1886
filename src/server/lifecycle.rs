//! Starting and stopping a server instance: open the store (migrations), compile the rules, requeue jobs of a
//! dead previous process, bind, spawn the pipeline and the HTTP server, and, on shutdown, stop accepting, close
//! sockets, let analyses in flight finish within the grace period and hand the rest back to the queue.

use axum::serve::ListenerExt as _;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::pipeline::{Pipeline, new_worker_id, reclaim_dead_workers};
use super::routes::router;
use super::{AppState, ServerConfig, ServerError};

/// How long a shutdown waits for HTTP requests in flight.
const HTTP_DRAIN: Duration = Duration::from_secs(10);

/// A started server; drop it only through [`RunningServer::shutdown`] to stop cleanly.
pub struct RunningServer {
    addr: SocketAddr,
    state: AppState,
    shutdown: watch::Sender<bool>,
    http: JoinHandle<()>,
    pipeline: Pipeline,
    grace: Duration,
}

/// Starts a server and returns as soon as it accepts connections (port 0 picks a free port).
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let state = AppState::open(&config).await?;
    reclaim_dead_workers(state.store()).await;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    let (shutdown, shutdown_receiver) = watch::channel(false);
    let pipeline = Pipeline::spawn(&state, new_worker_id());
    let app = router(state.clone(), shutdown_receiver.clone());
    let mut http_shutdown = shutdown_receiver;
    let http = tokio::spawn(async move {
        // Job events are small WebSocket frames: without TCP_NODELAY, Nagle's algorithm holds one back until the
        // client's delayed ACK (40 ms on Linux), which a one-file review feels.
        let listener = listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(error = %error, "could not set TCP_NODELAY");
            }
        });
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = http_shutdown.wait_for(|stopping| *stopping).await;
        });
        if let Err(error) = server.await {
            tracing::error!(error = %error, "the HTTP server failed");
        }
    });
    tracing::info!("listening on {addr}");
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        http,
        pipeline,
        grace: config.shutdown_grace,
    })
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (the loopback address when listening on all interfaces).
    pub fn base_url(&self) -> String {
        let host = if self.addr.ip().is_unspecified() {
            match self.addr {
                SocketAddr::V4(_) => "127.0.0.1".to_owned(),
                SocketAddr::V6(_) => "[::1]".to_owned(),
            }
        } else if self.addr.is_ipv6() {
            format!("[{}]", self.addr.ip())
        } else {
            self.addr.ip().to_string()
        };
        format!("http://{host}:{}", self.addr.port())
    }

    /// The shared state, e.g. to drive the same instance through [`crate::server::app`] in tests.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Stops accepting connections, closes `WebSocket`s, lets analyses in flight finish (bounded by the configured
    /// grace period) and returns unfinished jobs to the queue.
    pub async fn shutdown(self) {
        tracing::info!("shutting down");
        let _ = self.shutdown.send(true);
        let abort = self.http.abort_handle();
        if tokio::time::timeout(HTTP_DRAIN, self.http).await.is_err() {
            tracing::warn!("requests still running after {HTTP_DRAIN:?}; closing them");
            abort.abort();
        }
        self.pipeline.shutdown(self.grace).await;
        self.state.store().close().await;
        tracing::info!("stopped");
    }
}

/// `codeinsight serve`: starts the server and runs until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(config: ServerConfig) -> Result<(), ServerError> {
    let server = start(config).await?;
    wait_for_signal().await?;
    server.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> Result<(), ServerError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).map_err(ServerError::Signal)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(ServerError::Signal)?;
    tokio::select! {
        _ = terminate.recv() => tracing::info!("received SIGTERM"),
        _ = interrupt.recv() => tracing::info!("received SIGINT"),
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> Result<(), ServerError> {
    tokio::signal::ctrl_c().await.map_err(ServerError::Signal)?;
    tracing::info!("received Ctrl-C");
    Ok(())
}

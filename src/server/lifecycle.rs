//! Starting and stopping a server instance: open the store (migrations), compile the rules, requeue jobs of a
//! dead previous process, bind, spawn the pipeline and the HTTP server, and, on shutdown, stop accepting, close
//! sockets, let analyses in flight finish within the grace period and hand the rest back to the queue.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::bridge::Bridge;
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
    /// The relay to the other instances on a shared `PostgreSQL`.
    bridge: Option<Bridge>,
    revocations: JoinHandle<()>,
    grace: Duration,
}

/// Starts a server and returns as soon as it accepts connections (port 0 picks a free port).
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let state = AppState::open(&config).await?;
    // Only an `SQLite` database is always on this machine, where a dead owner's process can be looked up.
    if !state.store().shared() {
        reclaim_dead_workers(state.store()).await;
    }
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
    // The instance's id names its host, process and boot: its leases say who holds a job.
    let instance = new_worker_id();
    let bridge = Bridge::spawn(&state, &instance);
    let pipeline = Pipeline::spawn(&state, instance);
    let revocations = tokio::spawn(watch_revocations(state.clone()));
    let app = router(state.clone(), shutdown_receiver.clone());
    let http_shutdown = shutdown_receiver;
    let limits = config.limits;
    // Each connection is a file descriptor: raise the soft limit as far as allowed, and keep the cap under it
    // with room for the database, linters and their pipes.
    let descriptors = raise_open_file_limit();
    let max_connections = match descriptors {
        Some(descriptors) => limits
            .max_connections
            .min(usize::try_from(descriptors.saturating_sub(256)).unwrap_or(usize::MAX))
            .max(1),
        None => limits.max_connections,
    };
    let http = tokio::spawn(super::connections::serve(
        listener,
        app,
        max_connections,
        limits.header_read_timeout,
        http_shutdown,
    ));
    tracing::info!("listening on {addr}");
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        http,
        pipeline,
        bridge,
        revocations,
        grace: config.shutdown_grace,
    })
}

/// How often the database is asked for revoked tokens (`codeinsight token revoke` runs in another process).
const REVOCATION_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Publishes the ids of tokens revoked while the server runs, so that their open sockets close.
async fn watch_revocations(state: AppState) {
    let shared = &state.inner;
    let mut since = chrono::Utc::now().timestamp_micros();
    let mut ticker = tokio::time::interval(REVOCATION_POLL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let revoked = match shared.store.tokens_revoked_since(since).await {
            Ok(revoked) => revoked,
            Err(error) => {
                tracing::warn!(error = %error, "reading revoked tokens failed");
                continue;
            }
        };
        let fresh: Vec<(String, i64)> = revoked
            .into_iter()
            .filter(|(id, _)| !shared.revoked_tokens.borrow().contains(id))
            .collect();
        if fresh.is_empty() {
            continue;
        }
        since = fresh.iter().map(|(_, at)| *at).max().unwrap_or(since);
        shared.revoked_tokens.send_modify(|ids| {
            let ids = std::sync::Arc::make_mut(ids);
            for (id, _) in fresh {
                tracing::info!(token = %id, "token revoked; closing its sockets");
                ids.insert(id);
            }
        });
    }
}

/// Raises this process's soft limit on open files to its hard limit; returns the limit now in force.
#[cfg(unix)]
fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let current = getrlimit(Resource::Nofile);
    let target = current.maximum;
    if target != current.current {
        let raised = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: target,
                maximum: current.maximum,
            },
        );
        if raised.is_err() {
            return current.current;
        }
    }
    target.or(current.current)
}

#[cfg(not(unix))]
fn raise_open_file_limit() -> Option<u64> {
    None
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
        self.revocations.abort();
        let released = self.pipeline.shutdown(self.grace).await;
        if released > 0 {
            // Goodbye: the jobs handed back can be claimed by another instance now, not at its next poll.
            super::bridge::announce_work(self.state.store()).await;
        }
        if let Some(bridge) = self.bridge {
            bridge.stop().await;
        }
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
/// Waits for SIGTERM or SIGINT (Ctrl-C).
pub async fn wait_for_signal() -> Result<(), ServerError> {
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
/// Waits for Ctrl-C.
pub async fn wait_for_signal() -> Result<(), ServerError> {
    tokio::signal::ctrl_c().await.map_err(ServerError::Signal)?;
    tracing::info!("received Ctrl-C");
    Ok(())
}

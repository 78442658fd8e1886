//! `WS /ws/{user_id}`: the subscribe/unsubscribe/ping protocol over the hub. A socket only ever receives
//! its own user's events; it forwards those matching a subscribed job or run, each event once even when both
//! match. Subscribing replays where the job stands (a job that finished before the subscription still gets its
//! terminal event), and a socket that lagged behind the hub replays terminal events from the database, so a
//! client waiting on a terminal event never hangs.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, State};
use axum::response::Response;
use futures_util::SinkExt as _;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::watch;

use super::auth::AuthUser;
use super::events::current_update;
use super::hub::HubEvent;
use super::{ApiError, AppState, fields};
use crate::protocol::{ClientMessage, Job, JobUpdate, ServerMessage};

/// Server-initiated WebSocket pings keep proxies from closing idle sockets and detect dead peers.
const PING_INTERVAL: Duration = Duration::from_secs(20);

const READ_BUFFER: usize = 4 * 1024;
const WRITE_BUFFER: usize = 8 * 1024;
/// Most jobs and runs one socket may follow at once.
const MAX_SUBSCRIPTIONS: usize = 10_000;
/// Largest message a client may send (a subscription is under 200 bytes).
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// The shutdown signal sockets watch, so that a stopping server closes them cleanly.
pub(crate) type ShutdownSignal = watch::Receiver<bool>;

pub(crate) async fn upgrade(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<String>,
    axum::Extension(shutdown): axum::Extension<ShutdownSignal>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    if auth.user_id != user_id {
        return Err(ApiError::NotFound("User not found".into()));
    }
    let upgrade = upgrade.map_err(|rejection| ApiError::Rejected {
        status: rejection.status(),
        detail: rejection.body_text(),
    })?;
    let limit = state.inner.limits.max_sockets_per_token;
    if !state.inner.hub.claim_token(&auth.token_id, limit) {
        return Err(ApiError::TooManyRequests(format!(
            "this token already has {limit} open WebSockets (the limit): close one first"
        )));
    }
    let token = TokenSlot {
        state: state.clone(),
        token_id: auth.token_id,
    };
    // Clients send only small control messages: small buffers keep 1,000 idle sockets cheap (the 128 KiB
    // defaults cost about 200 KiB each), and the message limit stops a client from making the server buffer MiBs.
    Ok(upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| session(socket, state, user_id, token, shutdown)))
}

/// A socket's place in its token's count, given back when the session ends (or the upgrade never happens).
struct TokenSlot {
    state: AppState,
    token_id: String,
}

impl Drop for TokenSlot {
    fn drop(&mut self) {
        self.state.inner.hub.release_token(&self.token_id);
    }
}

/// One socket's subscriptions and what it has already been told.
#[derive(Default)]
struct Subscriptions {
    jobs: HashSet<String>,
    runs: HashSet<String>,
    /// Jobs whose terminal event this socket already got; later events about them are dropped.
    terminal_sent: HashSet<String>,
}

impl Subscriptions {
    fn wants(&self, job_id: &str, run_id: Option<&str>) -> bool {
        self.jobs.contains(job_id) || run_id.is_some_and(|run| self.runs.contains(run))
    }

    /// Whether an event about `job_id` should go out now, recording terminal ones.
    fn admit(&mut self, job_id: &str, terminal: bool) -> bool {
        if terminal {
            self.terminal_sent.insert(job_id.to_owned())
        } else {
            !self.terminal_sent.contains(job_id)
        }
    }
}

async fn session(
    mut socket: WebSocket,
    state: AppState,
    user_id: String,
    token: TokenSlot,
    mut shutdown: ShutdownSignal,
) {
    let hub = &state.inner.hub;
    let mut events = hub.join(&user_id);
    let mut subscriptions = Subscriptions::default();
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
    let mut revoked = state.inner.revoked_tokens.subscribe();
    let idle_limit = state.inner.limits.socket_idle_timeout;
    let mut last_heard = tokio::time::Instant::now();
    // A router built by `app` for tests has no shutdown signal: its sender is gone from the start.
    let mut shutdown_armed = true;
    loop {
        let keep_going = tokio::select! {
            changed = revoked.changed() => {
                if changed.is_err() || revoked.borrow_and_update().contains(&token.token_id) {
                    let _ = socket.send(Message::Close(Some(CloseFrame {
                        code: close_code::POLICY,
                        reason: Utf8Bytes::from_static("token revoked"),
                    }))).await;
                    false
                } else {
                    true
                }
            }
            changed = shutdown.changed(), if shutdown_armed => {
                if changed.is_ok() && *shutdown.borrow() {
                    let _ = socket.send(Message::Close(None)).await;
                    false
                } else {
                    shutdown_armed = changed.is_ok();
                    true
                }
            }
            incoming = socket.recv() => {
                last_heard = tokio::time::Instant::now();
                match incoming {
                Some(Ok(Message::Text(text))) => {
                    handle_client_message(&mut socket, &state, &user_id, &mut subscriptions, &text).await
                }
                Some(Ok(Message::Binary(_))) => {
                    send(&mut socket, &ServerMessage::Error {
                        message: "binary frames are not supported: send JSON text".into(),
                    }).await
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => true,
                Some(Ok(Message::Close(_)) | Err(_)) | None => false,
            }},
            event = events.recv() => match event {
                Ok(event) if event.resync => lagged(&mut socket, &state, &mut subscriptions, 0).await,
                Ok(event) => forward(&mut socket, &state, &mut subscriptions, &mut events, &event).await,
                Err(RecvError::Lagged(missed)) => lagged(&mut socket, &state, &mut subscriptions, missed).await,
                Err(RecvError::Closed) => false,
            },
            _ = ping.tick() => {
                // A client that answers neither pings nor anything else is gone, or holding a socket open.
                if last_heard.elapsed() > idle_limit {
                    let _ = socket.send(Message::Close(Some(CloseFrame {
                        code: close_code::AWAY,
                        reason: Utf8Bytes::from_static("idle"),
                    }))).await;
                    false
                } else {
                    socket.send(Message::Ping(axum::body::Bytes::new())).await.is_ok()
                }
            }
        };
        if !keep_going {
            break;
        }
    }
    drop(events);
    hub.leave(&user_id);
    drop(token);
}

/// Most events written to a socket before one flush. Under load several events wait in the hub by the time a
/// socket task runs; writing them together costs one `write` instead of one per event.
const FORWARD_BATCH: usize = 64;

/// Writes `first` and whatever else is already waiting for this socket, then flushes once.
async fn forward(
    socket: &mut WebSocket,
    state: &AppState,
    subscriptions: &mut Subscriptions,
    events: &mut broadcast::Receiver<Arc<HubEvent>>,
    first: &Arc<HubEvent>,
) -> bool {
    if !feed(socket, subscriptions, first).await {
        return false;
    }
    for _ in 1..FORWARD_BATCH {
        match events.try_recv() {
            Ok(event) if event.resync => {
                return socket.flush().await.is_ok()
                    && lagged(socket, state, subscriptions, 0).await;
            }
            Ok(event) => {
                if !feed(socket, subscriptions, &event).await {
                    return false;
                }
            }
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Lagged(missed)) => {
                return socket.flush().await.is_ok()
                    && lagged(socket, state, subscriptions, missed).await;
            }
            Err(TryRecvError::Closed) => {
                let _ = socket.flush().await;
                return false;
            }
        }
    }
    socket.flush().await.is_ok()
}

/// Queues `event` on the socket without flushing, if the socket is subscribed to it.
async fn feed(
    socket: &mut WebSocket,
    subscriptions: &mut Subscriptions,
    event: &Arc<HubEvent>,
) -> bool {
    if !subscriptions.wants(&event.job_id, event.run_id.as_deref())
        || !subscriptions.admit(&event.job_id, event.terminal)
    {
        return true;
    }
    socket.feed(Message::Text(event.text.clone())).await.is_ok()
}

/// A socket that fell behind the hub, or whose instance lost its link to the others, may have lost events: replay
/// its subscriptions' terminal events from the database.
async fn lagged(
    socket: &mut WebSocket,
    state: &AppState,
    subscriptions: &mut Subscriptions,
    missed: u64,
) -> bool {
    tracing::debug!(
        missed,
        "a WebSocket may have missed events (it lagged behind, or the link to the other instances dropped); replaying from the database"
    );
    state.inner.hub.record_resync();
    resync(socket, state, subscriptions).await
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> bool {
    match serde_json::to_string(message) {
        Ok(text) => socket
            .send(Message::Text(Utf8Bytes::from(text)))
            .await
            .is_ok(),
        Err(error) => {
            tracing::error!(error = %error, "serialising a WebSocket message failed");
            true
        }
    }
}

/// Sends the event describing `job`'s current state, unless this socket already got its terminal event.
async fn send_current(
    socket: &mut WebSocket,
    subscriptions: &mut Subscriptions,
    job: &Job,
) -> bool {
    if !subscriptions.admit(&job.job_id, job.status.is_terminal()) {
        return true;
    }
    let update: JobUpdate = current_update(job);
    send(socket, &ServerMessage::JobUpdate(update)).await
}

async fn handle_client_message(
    socket: &mut WebSocket,
    state: &AppState,
    user_id: &str,
    subscriptions: &mut Subscriptions,
    text: &str,
) -> bool {
    let message = match serde_json::from_str::<ClientMessage>(text) {
        Ok(message) => message,
        Err(error) => {
            return send(socket, &ServerMessage::Error {
                message: format!(
                    "invalid message ({error}): expected {{\"type\":\"subscribe\"|\"unsubscribe\",\"job_id\"|\"run_id\":...}} or {{\"type\":\"ping\"}}"
                ),
            })
            .await;
        }
    };
    match message {
        ClientMessage::Ping => send(socket, &ServerMessage::Pong).await,
        ClientMessage::Subscribe { job_id, run_id } => {
            if let Err(error) = fields::check_optional("job_id", job_id.as_deref(), fields::ID)
                .and_then(|()| fields::check_optional("run_id", run_id.as_deref(), fields::ID))
            {
                return send(
                    socket,
                    &ServerMessage::Error {
                        message: error.to_string(),
                    },
                )
                .await;
            }
            if subscriptions.jobs.len() + subscriptions.runs.len() >= MAX_SUBSCRIPTIONS {
                return send(
                    socket,
                    &ServerMessage::Error {
                        message: format!(
                            "too many subscriptions on this socket (limit {MAX_SUBSCRIPTIONS}): subscribe to the run instead of its jobs, or unsubscribe first"
                        ),
                    },
                )
                .await;
            }
            if job_id.as_deref().is_none_or(str::is_empty)
                && run_id.as_deref().is_none_or(str::is_empty)
            {
                return send(
                    socket,
                    &ServerMessage::Error {
                        message: "subscribe needs a `job_id` or a `run_id`".into(),
                    },
                )
                .await;
            }
            if let Some(job_id) = job_id.filter(|id| !id.is_empty())
                && !subscribe_job(socket, state, user_id, subscriptions, job_id).await
            {
                return false;
            }
            if let Some(run_id) = run_id.filter(|id| !id.is_empty())
                && !subscribe_run(socket, state, user_id, subscriptions, run_id).await
            {
                return false;
            }
            true
        }
        ClientMessage::Unsubscribe { job_id, run_id } => {
            if let Some(job_id) = &job_id {
                subscriptions.jobs.remove(job_id);
            }
            if let Some(run_id) = &run_id {
                subscriptions.runs.remove(run_id);
            }
            send(socket, &ServerMessage::Unsubscribed { job_id, run_id }).await
        }
    }
}

async fn subscribe_job(
    socket: &mut WebSocket,
    state: &AppState,
    user_id: &str,
    subscriptions: &mut Subscriptions,
    job_id: String,
) -> bool {
    // Subscribe before reading the job, so an event published meanwhile waits in the channel rather than being
    // missed; the socket only receives its own user's events, so this leaks nothing about other users' jobs.
    let newly = subscriptions.jobs.insert(job_id.clone());
    let job = match state.inner.store.get_job(&job_id).await {
        Ok(job) => job.filter(|job| job.user_id == user_id),
        Err(error) => {
            tracing::error!(error = %error, "reading a job for a subscription failed");
            if newly {
                subscriptions.jobs.remove(&job_id);
            }
            return send(
                socket,
                &ServerMessage::Error {
                    message: "internal error; try again".into(),
                },
            )
            .await;
        }
    };
    let Some(job) = job else {
        if newly {
            subscriptions.jobs.remove(&job_id);
        }
        return send(
            socket,
            &ServerMessage::Error {
                message: format!("job `{job_id}` not found"),
            },
        )
        .await;
    };
    if !send(
        socket,
        &ServerMessage::Subscribed {
            job_id: Some(job_id),
            run_id: None,
        },
    )
    .await
    {
        return false;
    }
    send_current(socket, subscriptions, &job).await
}

async fn subscribe_run(
    socket: &mut WebSocket,
    state: &AppState,
    user_id: &str,
    subscriptions: &mut Subscriptions,
    run_id: String,
) -> bool {
    let newly = subscriptions.runs.insert(run_id.clone());
    let owned = match state.inner.store.run_owner(&run_id).await {
        Ok(owner) => owner.as_deref() == Some(user_id),
        Err(error) => {
            tracing::error!(error = %error, "reading a run for a subscription failed");
            false
        }
    };
    if !owned {
        if newly {
            subscriptions.runs.remove(&run_id);
        }
        return send(
            socket,
            &ServerMessage::Error {
                message: format!("run `{run_id}` not found"),
            },
        )
        .await;
    }
    if !send(
        socket,
        &ServerMessage::Subscribed {
            job_id: None,
            run_id: Some(run_id.clone()),
        },
    )
    .await
    {
        return false;
    }
    // Jobs already finished get their terminal event now; the others will be followed live. The run is read a
    // page at a time, so a big run's results are never all in memory.
    let mut after = 0;
    loop {
        let page = state
            .inner
            .store
            .run_jobs_page(&run_id, after, SUBSCRIBE_PAGE_JOBS, SUBSCRIBE_PAGE_BYTES)
            .await;
        let (jobs, next) = match page {
            Ok(page) => page,
            Err(error) => {
                tracing::error!(error = %error, "reading a run's jobs failed");
                return true;
            }
        };
        for job in jobs.iter().filter(|job| job.status.is_terminal()) {
            if !send_current(socket, subscriptions, job).await {
                return false;
            }
        }
        match next {
            Some(next) => after = next,
            None => return true,
        }
    }
}

/// Jobs and stored result bytes read per page when a subscription replays a run.
const SUBSCRIBE_PAGE_JOBS: u32 = 200;
const SUBSCRIBE_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// After missing events, replays the terminal events of every subscribed job and run member that finished.
async fn resync(
    socket: &mut WebSocket,
    state: &AppState,
    subscriptions: &mut Subscriptions,
) -> bool {
    let store = &state.inner.store;
    // Only finished jobs whose terminal event this socket has not had are loaded: a socket that keeps falling
    // behind costs one id query per run, not its whole run's results each time.
    let mut missing = Vec::new();
    for run_id in subscriptions.runs.clone() {
        match store.finished_job_ids(&run_id).await {
            Ok(ids) => missing.extend(
                ids.into_iter()
                    .filter(|job_id| !subscriptions.terminal_sent.contains(job_id)),
            ),
            Err(error) => tracing::error!(error = %error, "replaying a run failed"),
        }
    }
    missing.extend(
        subscriptions
            .jobs
            .iter()
            .filter(|job_id| !subscriptions.terminal_sent.contains(*job_id))
            .cloned(),
    );
    for job_id in missing {
        match store.job_summary(&job_id).await {
            Ok(Some(job)) if job.status.is_terminal() => {
                if !send_current(socket, subscriptions, &job).await {
                    return false;
                }
            }
            Ok(_) => {}
            Err(error) => tracing::error!(error = %error, "replaying a job failed"),
        }
    }
    true
}

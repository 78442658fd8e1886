//! Following a run or a job to its end: subscribe over the WebSocket, re-fetch the document after subscribing so a
//! job that finished first is not missed, reconnect with backoff when the socket drops, and fall back to polling
//! `GET` when it cannot be re-established. Progress is reported as [`FollowEvent`]s on a channel; the caller owns
//! the terminal and the deadline.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header::AUTHORIZATION};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::protocol::{ClientMessage, Job, JobUpdate, RejectedFile, Run, ServerMessage};

use super::error::{ClientError, error_chain};
use super::http::ApiClient;

/// How many times a dropped socket is re-established before falling back to polling.
const RECONNECT_ATTEMPTS: u32 = 3;
/// With no event for this long, the document is re-fetched in case an event was lost.
const QUIET_REFETCH: Duration = Duration::from_secs(2);

/// What is being followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Run(String),
    Job(String),
}

impl Subject {
    pub fn id(&self) -> &str {
        match self {
            Subject::Run(id) | Subject::Job(id) => id,
        }
    }
}

/// The state of a run (or of a single job) at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub run_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub jobs: Vec<Job>,
    pub rejected: Vec<RejectedFile>,
}

impl Snapshot {
    pub fn from_run(run: Run) -> Self {
        Snapshot {
            run_id: Some(run.run_id),
            created_at: run.created_at,
            jobs: run.jobs,
            rejected: run.rejected,
        }
    }

    pub fn from_job(job: Job) -> Self {
        Snapshot {
            run_id: job.run_id.clone(),
            created_at: job.created_at,
            jobs: vec![job],
            rejected: Vec::new(),
        }
    }

    /// Jobs that reached `completed` or `failed`.
    pub fn done(&self) -> usize {
        self.jobs
            .iter()
            .filter(|job| job.status.is_terminal())
            .count()
    }

    pub fn is_finished(&self) -> bool {
        self.done() == self.jobs.len()
    }
}

/// Something the caller may want to show while waiting.
#[derive(Debug, Clone)]
pub enum FollowEvent {
    /// A fresh document was fetched.
    Snapshot { done: usize, total: usize },
    /// The server pushed a `job_update`.
    Update(Box<JobUpdate>),
    /// The socket dropped or could not be opened; trying again.
    Reconnecting { attempt: u32, error: String },
    /// The socket is given up on; polling from now on.
    Polling { reason: String },
}

/// Follows `subject` until every job is terminal and returns the final snapshot.
pub async fn follow(
    client: &ApiClient,
    user_id: &str,
    subject: &Subject,
    events: &UnboundedSender<FollowEvent>,
) -> Result<Snapshot, ClientError> {
    let mut failures = 0;
    let mut last_error = String::new();
    while failures <= RECONNECT_ATTEMPTS {
        match connect(client, user_id).await {
            Ok(socket) => match follow_socket(client, subject, socket, events).await? {
                SocketEnd::Finished(snapshot) => return Ok(snapshot),
                SocketEnd::Dropped(error) => last_error = error,
            },
            Err(ConnectError::Fatal(error)) => return Err(error),
            Err(ConnectError::Retry(error)) => last_error = error,
        }
        failures += 1;
        if failures <= RECONNECT_ATTEMPTS {
            let _ = events.send(FollowEvent::Reconnecting {
                attempt: failures,
                error: last_error.clone(),
            });
            tokio::time::sleep(Duration::from_millis(100 << failures)).await;
        }
    }
    let _ = events.send(FollowEvent::Polling { reason: last_error });
    poll(client, subject, events).await
}

/// Polls `GET` until every job is terminal.
pub async fn poll(
    client: &ApiClient,
    subject: &Subject,
    events: &UnboundedSender<FollowEvent>,
) -> Result<Snapshot, ClientError> {
    let mut interval = Duration::from_millis(100);
    loop {
        let snapshot = fetch(client, subject).await?;
        let _ = events.send(FollowEvent::Snapshot {
            done: snapshot.done(),
            total: snapshot.jobs.len(),
        });
        if snapshot.is_finished() {
            return Ok(snapshot);
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_secs(1));
    }
}

/// Fetches the current document of `subject`.
pub async fn fetch(client: &ApiClient, subject: &Subject) -> Result<Snapshot, ClientError> {
    match subject {
        Subject::Run(run_id) => client.run(run_id).await.map(Snapshot::from_run),
        Subject::Job(job_id) => client.job(job_id).await.map(Snapshot::from_job),
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

enum ConnectError {
    /// Not worth retrying: the token was refused.
    Fatal(ClientError),
    Retry(String),
}

enum SocketEnd {
    Finished(Snapshot),
    Dropped(String),
}

async fn connect(client: &ApiClient, user_id: &str) -> Result<Socket, ConnectError> {
    let base = client.base_url();
    let ws_base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    let url = format!("{ws_base}/ws/{user_id}");
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|error| ConnectError::Retry(error.to_string()))?;
    let header = HeaderValue::from_str(&format!("Bearer {}", client.token())).map_err(|_| {
        ConnectError::Fatal(ClientError::Unauthorized {
            url: base.to_owned(),
            detail: "the token contains characters not allowed in a header".into(),
        })
    })?;
    request.headers_mut().insert(AUTHORIZATION, header);
    // Nagle off: subscribe and ping frames are tiny and latency-bound.
    match tokio_tungstenite::connect_async_with_config(request, None, true).await {
        Ok((socket, _response)) => Ok(socket),
        Err(tungstenite::Error::Http(response))
            if matches!(response.status().as_u16(), 401 | 403) =>
        {
            Err(ConnectError::Fatal(ClientError::Unauthorized {
                url: base.to_owned(),
                detail: format!("the WebSocket upgrade was answered {}", response.status()),
            }))
        }
        Err(error) => Err(ConnectError::Retry(error_chain(&error))),
    }
}

async fn follow_socket(
    client: &ApiClient,
    subject: &Subject,
    mut socket: Socket,
    events: &UnboundedSender<FollowEvent>,
) -> Result<SocketEnd, ClientError> {
    let subscribe = match subject {
        Subject::Run(run_id) => ClientMessage::Subscribe {
            job_id: None,
            run_id: Some(run_id.clone()),
        },
        Subject::Job(job_id) => ClientMessage::Subscribe {
            job_id: Some(job_id.clone()),
            run_id: None,
        },
    };
    let text = serde_json::to_string(&subscribe).map_err(|error| ClientError::Protocol {
        url: client.base_url().to_owned(),
        detail: error.to_string(),
    })?;
    if let Err(error) = socket.send(Message::text(text)).await {
        return Ok(SocketEnd::Dropped(error_chain(&error)));
    }
    // Re-fetch after subscribing: anything that finished before the subscription is in this document, anything
    // after it arrives as an event.
    let snapshot = fetch(client, subject).await?;
    let _ = events.send(FollowEvent::Snapshot {
        done: snapshot.done(),
        total: snapshot.jobs.len(),
    });
    if snapshot.is_finished() {
        let _ = socket.close(None).await;
        return Ok(SocketEnd::Finished(snapshot));
    }
    let members: HashSet<String> = snapshot.jobs.iter().map(|job| job.job_id.clone()).collect();
    let mut pending: HashSet<String> = snapshot
        .jobs
        .iter()
        .filter(|job| !job.status.is_terminal())
        .map(|job| job.job_id.clone())
        .collect();
    loop {
        let refetch = tokio::select! {
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<ServerMessage>(text.as_str()) {
                        Ok(ServerMessage::JobUpdate(update)) if members.contains(&update.job_id) => {
                            if update.status.is_terminal() {
                                pending.remove(&update.job_id);
                            }
                            let _ = events.send(FollowEvent::Update(Box::new(update)));
                            pending.is_empty()
                        }
                        // Acknowledgements, pongs, other users' jobs and messages from a newer server are ignored.
                        _ => false,
                    }
                }
                Some(Ok(Message::Close(_))) | None => {
                    return Ok(SocketEnd::Dropped("the server closed the WebSocket".into()));
                }
                Some(Ok(_)) => false,
                Some(Err(error)) => return Ok(SocketEnd::Dropped(error_chain(&error))),
            },
            () = tokio::time::sleep(QUIET_REFETCH) => true,
        };
        if refetch {
            let snapshot = fetch(client, subject).await?;
            let _ = events.send(FollowEvent::Snapshot {
                done: snapshot.done(),
                total: snapshot.jobs.len(),
            });
            if snapshot.is_finished() {
                let _ = socket.close(None).await;
                return Ok(SocketEnd::Finished(snapshot));
            }
            pending = snapshot
                .jobs
                .iter()
                .filter(|job| !job.status.is_terminal())
                .map(|job| job.job_id.clone())
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::{FollowEvent, Subject, follow};
    use crate::client::ApiClient;
    use crate::protocol::{JobStatus, RunFile, RunOptions, RunRequest};
    use crate::server::{EphemeralToken, RunningServer, ServerConfig, start};

    const TOKEN: &str = "test-token-for-the-follower";

    async fn server(dir: &tempfile::TempDir) -> RunningServer {
        let mut config = ServerConfig::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            format!("sqlite://{}", dir.path().join("follow.db").display()),
        );
        config.ephemeral_tokens = vec![EphemeralToken {
            token: TOKEN.into(),
            user_id: "local".into(),
            admin: false,
        }];
        start(config).await.unwrap()
    }

    fn request() -> RunRequest {
        RunRequest {
            files: (0..5)
                .map(|index| RunFile {
                    path: format!("module_{index}.py"),
                    content: format!("def f{index}(x):\n    return x == None\n"),
                    language: None,
                })
                .collect(),
            options: RunOptions {
                no_cache: true,
                ..RunOptions::default()
            },
            ..RunRequest::default()
        }
    }

    #[tokio::test]
    async fn a_run_is_followed_to_its_end_over_the_websocket() {
        let dir = tempfile::tempdir().unwrap();
        let running = server(&dir).await;
        let client = ApiClient::new(&running.base_url(), TOKEN).unwrap();
        let created = client.create_run(&request()).await.unwrap();
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let snapshot = follow(&client, "local", &Subject::Run(created.run_id), &sender)
            .await
            .unwrap();
        assert_eq!(snapshot.jobs.len(), 5);
        assert!(
            snapshot
                .jobs
                .iter()
                .all(|job| job.status == JobStatus::Completed)
        );
        while let Ok(event) = receiver.try_recv() {
            assert!(
                !matches!(
                    event,
                    FollowEvent::Polling { .. } | FollowEvent::Reconnecting { .. }
                ),
                "the socket should have worked: {event:?}"
            );
        }
        running.shutdown().await;
    }

    #[tokio::test]
    async fn when_the_websocket_is_refused_the_follower_polls() {
        let dir = tempfile::tempdir().unwrap();
        let running = server(&dir).await;
        let client = ApiClient::new(&running.base_url(), TOKEN).unwrap();
        let created = client.create_run(&request()).await.unwrap();
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        // Another user's socket path is answered 404, so every connection attempt fails.
        let snapshot = follow(
            &client,
            "someone-else",
            &Subject::Run(created.run_id),
            &sender,
        )
        .await
        .unwrap();
        assert!(snapshot.is_finished());
        let mut reconnects = 0;
        let mut polled = false;
        while let Ok(event) = receiver.try_recv() {
            match event {
                FollowEvent::Reconnecting { .. } => reconnects += 1,
                FollowEvent::Polling { .. } => polled = true,
                _ => {}
            }
        }
        assert_eq!(reconnects, 3);
        assert!(polled);
        running.shutdown().await;
    }
}

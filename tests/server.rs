//! The review server at its boundaries: routes through the real router (`app(state).oneshot`), end-to-end runs
//! against a server on 127.0.0.1:0 driven by real HTTP (`reqwest`) and real `WebSocket`s (`tokio-tungstenite`), and a
//! crash test that SIGKILLs the real `codeinsight serve` process mid-run and restarts it on the same database.
//! Every file reviewed here is real source, and every finding asserted on comes from the real engine.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic message is the report"
)]

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use codeinsight::protocol::{
    Job, JobList, JobStatus, JobUpdate, Run, RunCreated, ServerMessage, Stage,
};
use codeinsight::server::{self, AppState, EphemeralToken, RunningServer, ServerConfig};
use common::{ServeProcess, run_pages};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};
use tower::ServiceExt;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const PYTHON_SHELL: &str = "import os\n\n\ndef run():\n    name = input(\"> \")\n    return os.system(\"ls \" + name)\n\n\nif __name__ == \"__main__\":\n    print(run())\n";
const RUST_DBG: &str = "use std::fs;\n\nfn main() {\n    let text = fs::read_to_string(\"config.toml\");\n    dbg!(&text);\n}\n";
const PYTHON_CLEAN: &str = "def add(left, right):\n    return left + right\n";
const WAIT: Duration = Duration::from_secs(60);

/// Every job of a run in one page, for tests that read a run straight from the store.
const WHOLE_RUN: codeinsight::store::RunPage = codeinsight::store::RunPage {
    after: 0,
    limit: 10_000,
    byte_budget: usize::MAX,
};

tokio::task_local! {
    /// The database of the running test when it runs on `PostgreSQL` (see `both_backends!`).
    static POSTGRES: String;
}

/// The test's database: a throwaway `PostgreSQL` cluster's when the test runs on `PostgreSQL`, else an `SQLite`
/// file in `dir`.
fn database_url(dir: &TempDir) -> String {
    POSTGRES
        .try_with(Clone::clone)
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("codeinsight.db").display()))
}

/// Every test of this file runs on both backends: `NAME::sqlite`, and `NAME::postgres` on a throwaway cluster
/// of its own (`common::postgres`).
macro_rules! both_backends {
    ($flavor:ident async fn $name:ident() $body:block) => {
        mod $name {
            use super::*;

            async fn body() $body

            both_backends!(@test $flavor sqlite {
                body().await;
            });

            both_backends!(@test $flavor postgres {
                let cluster = common::postgres::Cluster::start();
                POSTGRES.scope(cluster.url(), body()).await;
            });
        }
    };
    (@test multi_thread $backend:ident $run:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $backend() $run
    };
    (@test current_thread $backend:ident $run:block) => {
        #[tokio::test]
        async fn $backend() $run
    };
}

fn config(dir: &TempDir) -> ServerConfig {
    let mut config = ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), database_url(dir));
    config.workers = 2;
    config
}

/// A server on 127.0.0.1:0 with stored tokens for `alice`, `bob` and an admin.
struct TestServer {
    server: RunningServer,
    http: reqwest::Client,
    alice: String,
    bob: String,
    admin: String,
    _dir: TempDir,
}

impl TestServer {
    async fn start() -> TestServer {
        TestServer::start_configured(|_| {}).await
    }

    async fn start_configured(adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = TempDir::new().unwrap();
        let mut config = config(&dir);
        adjust(&mut config);
        let server = server::start(config).await.unwrap();
        let store = server.state().store().clone();
        let alice = store.create_token("alice", false).await.unwrap().token;
        let bob = store.create_token("bob", false).await.unwrap().token;
        let admin = store.create_token("root", true).await.unwrap().token;
        TestServer {
            server,
            http: reqwest::Client::new(),
            alice,
            bob,
            admin,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.json().await.unwrap())
    }

    async fn post(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.json().await.unwrap())
    }

    async fn submit(&self, token: &str, files: &[(&str, &str)], no_cache: bool) -> RunCreated {
        let files = files
            .iter()
            .map(|(path, content)| json!({"path": path, "content": content}))
            .collect::<Vec<_>>();
        let (status, body) = self
            .post(
                token,
                "/api/v1/runs",
                &json!({"files": files, "options": {"no_cache": no_cache}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        serde_json::from_value(body).unwrap()
    }

    async fn wait_for_run(&self, token: &str, run_id: &str) -> Run {
        let deadline = Instant::now() + WAIT;
        loop {
            let (status, body) = self.get(token, &format!("/api/v1/runs/{run_id}")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let run: Run = serde_json::from_value(body).unwrap();
            if run.completed + run.failed == run.total {
                return run;
            }
            assert!(Instant::now() < deadline, "run {run_id} did not finish");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn socket(&self, token: &str, user: &str) -> Socket {
        let addr = self.server.addr();
        let mut request = format!("ws://{addr}/ws/{user}")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        tokio_tungstenite::connect_async(request).await.unwrap().0
    }
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// The next server message, skipping protocol pings.
async fn receive(socket: &mut Socket) -> ServerMessage {
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("no WebSocket message in time")
            .expect("the WebSocket closed")
            .unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// Reads job updates until every job in `job_ids` got its terminal event, then keeps listening briefly to catch
/// duplicates; returns every update received.
async fn follow_to_terminal(
    socket: &mut Socket,
    job_ids: &HashSet<String>,
) -> Vec<codeinsight::protocol::JobUpdate> {
    let mut updates = Vec::new();
    let mut finished = HashSet::new();
    while finished.len() < job_ids.len() {
        match receive(socket).await {
            ServerMessage::JobUpdate(update) => {
                assert!(
                    job_ids.contains(&update.job_id),
                    "event for a job not followed: {update:?}"
                );
                if update.status.is_terminal() {
                    finished.insert(update.job_id.clone());
                }
                updates.push(update);
            }
            ServerMessage::Subscribed { .. } => {}
            other => panic!("unexpected message {other:?}"),
        }
    }
    // A duplicate would arrive right behind the original: ping and collect until the pong.
    send(socket, json!({"type": "ping"})).await;
    loop {
        match receive(socket).await {
            ServerMessage::Pong => break,
            ServerMessage::JobUpdate(update) => updates.push(update),
            other => panic!("unexpected message {other:?}"),
        }
    }
    updates
}

/// The ids of the jobs a run submission created.
fn job_ids(created: &RunCreated) -> HashSet<String> {
    created.jobs.iter().map(|job| job.job_id.clone()).collect()
}

/// Subscribes `socket` to the run and follows every one of its jobs to a terminal event.
async fn follow_run(socket: &mut Socket, created: &RunCreated) -> Vec<JobUpdate> {
    send(
        socket,
        json!({"type": "subscribe", "run_id": created.run_id}),
    )
    .await;
    follow_to_terminal(socket, &job_ids(created)).await
}

/// Each job's terminal event, asserting there is exactly one per job.
fn one_terminal_each<'a>(
    updates: &'a [JobUpdate],
    job_ids: &HashSet<String>,
) -> Vec<&'a JobUpdate> {
    job_ids
        .iter()
        .map(|job_id| {
            let terminal = updates
                .iter()
                .filter(|update| &update.job_id == job_id && update.status.is_terminal())
                .collect::<Vec<_>>();
            assert_eq!(
                terminal.len(),
                1,
                "terminal events for {job_id}: {updates:#?}"
            );
            terminal[0]
        })
        .collect()
}

fn rule_ids(job: &Job) -> HashSet<String> {
    job.results
        .as_ref()
        .map(|results| {
            results
                .findings
                .iter()
                .map(|finding| finding.rule_id.clone())
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------------------------
// Routes through the real router.

/// A state over a fresh database with in-memory tokens, no workers and no listener.
async fn router_state(dir: &TempDir, limits: Option<server::Limits>) -> AppState {
    let mut config = config(dir);
    config.ephemeral_tokens = vec![
        EphemeralToken {
            token: "alice-token".into(),
            user_id: "alice".into(),
            admin: false,
        },
        EphemeralToken {
            token: "root-token".into(),
            user_id: "root".into(),
            admin: true,
        },
    ];
    if let Some(limits) = limits {
        config.limits = limits;
    }
    AppState::open(&config).await.unwrap()
}

async fn call(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let response = server::app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, body)
}

fn request(method: &str, uri: &str, token: Option<&str>, body: Option<String>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

both_backends! {
    current_thread async fn every_route_but_health_needs_a_valid_bearer_token() {
        let dir = TempDir::new().unwrap();
        let state = router_state(&dir, None).await;
        for (method, uri) in [
            ("GET", "/jobs/user/alice"),
            ("GET", "/jobs/some-job"),
            ("POST", "/jobs/enqueue"),
            ("POST", "/api/v1/runs"),
            ("POST", "/api/v1/runs/some-run/files"),
            ("GET", "/api/v1/runs/some-run"),
            ("GET", "/stats"),
            ("GET", "/metrics"),
            ("GET", "/cache/stats"),
            ("POST", "/cache/clear"),
            ("GET", "/ws/alice"),
            ("GET", "/api/v1/whoami"),
            ("GET", "/api/v1/rules"),
        ] {
            let (status, body) = call(&state, request(method, uri, None, None)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {body}");
            assert!(
                body["detail"].as_str().unwrap().contains("bearer token"),
                "{body}"
            );
            let (status, body) = call(&state, request(method, uri, Some("ci_0000_forged"), None)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {body}");
            assert_eq!(body["detail"], "invalid or revoked token");
        }
        let (status, body) = call(&state, request("GET", "/health", None, None)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "healthy");
    }
}

both_backends! {
    current_thread async fn malformed_or_mistyped_json_is_answered_with_a_json_detail() {
        let dir = TempDir::new().unwrap();
        let state = router_state(&dir, None).await;
        let (status, body) = call(
            &state,
            request(
                "POST",
                "/api/v1/runs",
                Some("alice-token"),
                Some("{\"files\": [".into()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["detail"].is_string(), "{body}");
        let (status, body) = call(
            &state,
            request(
                "POST",
                "/api/v1/runs",
                Some("alice-token"),
                Some("{\"files\": 3}".into()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("files"), "{body}");
        let (status, body) = call(
            &state,
            request(
                "POST",
                "/api/v1/runs",
                Some("alice-token"),
                Some("{\"files\": []}".into()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = call(
            &state,
            request(
                "GET",
                "/jobs/user/alice?limit=many",
                Some("alice-token"),
                None,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("limit"), "{body}");
        let (status, body) = call(
            &state,
            request(
                "GET",
                "/jobs/user/alice?status=stuck",
                Some("alice-token"),
                None,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = call(
            &state,
            request("GET", "/no/such/route", Some("alice-token"), None),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert!(body["detail"].is_string());
    }
}

both_backends! {
    current_thread async fn oversized_bodies_and_too_many_files_are_refused_with_413() {
        let dir = TempDir::new().unwrap();
        let limits = server::Limits {
            max_file_bytes: 1024,
            max_run_bytes: 16 * 1024,
            max_files_per_run: 3,
            max_path_bytes: 256,
            ..server::Limits::default()
        };
        let state = router_state(&dir, Some(limits)).await;
        let big = "x = 1\n".repeat(4000);
        let body = json!({"files": [{"path": "big.py", "content": big}]}).to_string();
        let (status, response) = call(
            &state,
            request("POST", "/api/v1/runs", Some("alice-token"), Some(body)),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{response}");
        assert!(
            response["detail"].as_str().unwrap().contains("too large"),
            "{response}"
        );

        let files = (0..4)
            .map(|index| json!({"path": format!("f{index}.py"), "content": "x = 1\n"}))
            .collect::<Vec<_>>();
        let (status, response) = call(
            &state,
            request(
                "POST",
                "/api/v1/runs",
                Some("alice-token"),
                Some(json!({"files": files}).to_string()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{response}");
        assert!(
            response["detail"]
                .as_str()
                .unwrap()
                .contains("too many files"),
            "{response}"
        );

        // Within the request limit, a file over the per-file limit is rejected alone and the rest of the run goes on.
        let body = json!({"files": [
            {"path": "ok.py", "content": PYTHON_CLEAN},
            {"path": "large.py", "content": "y = 2\n".repeat(400)},
        ]});
        let (status, response) = call(
            &state,
            request(
                "POST",
                "/api/v1/runs",
                Some("alice-token"),
                Some(body.to_string()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{response}");
        let created: RunCreated = serde_json::from_value(response).unwrap();
        assert_eq!(created.jobs.len(), 1);
        assert_eq!(created.jobs[0].file_path, "ok.py");
        assert_eq!(created.rejected.len(), 1);
        assert_eq!(created.rejected[0].file_path, "large.py");
        assert!(
            created.rejected[0].reason.contains("too large"),
            "{:?}",
            created.rejected
        );

        let body = json!({"user_id": "alice", "job_type": "review", "file_path": "large.py", "file_content": "y = 2\n".repeat(400)});
        let (status, response) = call(
            &state,
            request(
                "POST",
                "/jobs/enqueue",
                Some("alice-token"),
                Some(body.to_string()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{response}");
    }
}

both_backends! {
    current_thread async fn enqueue_refuses_unsupported_job_types_and_foreign_user_ids() {
        let dir = TempDir::new().unwrap();
        let state = router_state(&dir, None).await;
        let body = json!({"user_id": "alice", "job_type": "architecture", "file_path": "a.py", "file_content": PYTHON_CLEAN, "language": "python"});
        let (status, response) = call(
            &state,
            request(
                "POST",
                "/jobs/enqueue",
                Some("alice-token"),
                Some(body.to_string()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
        assert!(
            response["detail"]
                .as_str()
                .unwrap()
                .contains("unsupported job_type"),
            "{response}"
        );

        let body = json!({"user_id": "mallory", "job_type": "review", "file_path": "a.py", "file_content": PYTHON_CLEAN, "language": "python"});
        let (status, response) = call(
            &state,
            request(
                "POST",
                "/jobs/enqueue",
                Some("alice-token"),
                Some(body.to_string()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{response}");

        let body = json!({"user_id": "alice", "job_type": "review", "file_path": "a.py", "file_content": "bin\u{0}ary"});
        let (status, response) = call(
            &state,
            request(
                "POST",
                "/jobs/enqueue",
                Some("alice-token"),
                Some(body.to_string()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
        assert!(
            response["detail"].as_str().unwrap().contains("binary"),
            "{response}"
        );

        // Nothing of the refused submissions was stored, so nothing can be stuck `pending`.
        let (status, response) = call(
            &state,
            request("GET", "/jobs/user/alice", Some("alice-token"), None),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(response["count"], 0, "{response}");

        let body = json!({"user_id": "alice", "job_type": "review", "file_path": "a.py", "file_content": PYTHON_CLEAN, "language": "python"});
        let (status, response) = call(
            &state,
            request(
                "POST",
                "/jobs/enqueue",
                Some("alice-token"),
                Some(body.to_string()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{response}");
        assert_eq!(response["success"], true);
        assert_eq!(response["status"], "pending");
        let job_id = response["job_id"].as_str().unwrap();
        let (status, job) = call(
            &state,
            request("GET", &format!("/jobs/{job_id}"), Some("alice-token"), None),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(job["type"], "review");
        assert_eq!(job["language"], "python");
        assert_eq!(job["file_content"], PYTHON_CLEAN);
    }
}

both_backends! {
    current_thread async fn only_admin_tokens_clear_the_cache() {
        let dir = TempDir::new().unwrap();
        let state = router_state(&dir, None).await;
        let (status, body) = call(
            &state,
            request("POST", "/cache/clear", Some("alice-token"), None),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = call(
            &state,
            request("POST", "/cache/clear", Some("root-token"), None),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["success"], true);
        assert_eq!(body["deleted_count"], 0);
    }
}

both_backends! {
    current_thread async fn revoked_stored_tokens_are_refused() {
        let dir = TempDir::new().unwrap();
        let url = database_url(&dir);
        let created = codeinsight::store::create_token(&url, "carol", false)
            .await
            .unwrap();
        assert!(created.token.starts_with("ci_"));
        let state = router_state(&dir, None).await;
        let (status, _) = call(
            &state,
            request("GET", "/jobs/user/carol", Some(&created.token), None),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let listed = codeinsight::store::list_tokens(&url).await.unwrap();
        assert!(listed.iter().any(|token| token.id == created.id
            && token.user_id == "carol"
            && token.revoked_at.is_none()));
        assert!(
            codeinsight::store::revoke_token(&url, &created.id)
                .await
                .unwrap()
        );
        assert!(
            !codeinsight::store::revoke_token(&url, &created.id)
                .await
                .unwrap()
        );
        let (status, _) = call(
            &state,
            request("GET", "/jobs/user/carol", Some(&created.token), None),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // A token whose secret is altered but id kept is refused too.
        let forged = format!("{}0", &created.token[..created.token.len() - 1]);
        let (status, _) = call(
            &state,
            request("GET", "/jobs/user/carol", Some(&forged), None),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// End to end over HTTP and WebSocket.

both_backends! {
    multi_thread async fn a_run_is_followed_over_websocket_to_its_findings() {
        let server = TestServer::start().await;
        let mut socket = server.socket(&server.alice, "alice").await;
        let created = server
            .submit(
                &server.alice,
                &[
                    ("app/main.py", PYTHON_SHELL),
                    ("src/main.rs", RUST_DBG),
                    ("logo.png", "PNG\u{0}\u{1}data"),
                ],
                false,
            )
            .await;
        assert_eq!(created.jobs.len(), 2);
        assert_eq!(created.rejected.len(), 1);
        assert_eq!(created.rejected[0].file_path, "logo.png");
        assert!(
            created.rejected[0].reason.contains("binary"),
            "{:?}",
            created.rejected
        );

        // Subscribed to the run and to one of its jobs: every event still arrives once.
        let first_job = created.jobs[0].job_id.clone();
        send(
            &mut socket,
            json!({"type": "subscribe", "run_id": created.run_id}),
        )
        .await;
        send(
            &mut socket,
            json!({"type": "subscribe", "job_id": first_job}),
        )
        .await;
        let updates = follow_to_terminal(&mut socket, &job_ids(&created)).await;
        one_terminal_each(&updates, &job_ids(&created));
        let texts = updates
            .iter()
            .map(|update| serde_json::to_string(update).unwrap())
            .collect::<Vec<_>>();
        assert_eq!(
            texts.len(),
            texts.iter().collect::<HashSet<_>>().len(),
            "duplicate events: {updates:#?}"
        );
        for update in updates.iter().filter(|update| update.status.is_terminal()) {
            assert_eq!(update.status, JobStatus::Completed);
            assert_eq!(update.data.stage, Stage::Done);
            assert_eq!(update.data.run_id.as_deref(), Some(created.run_id.as_str()));
            assert_eq!(update.data.cache_hit, Some(false));
            assert!(update.data.findings.unwrap() >= 1);
            assert!(update.timestamp.timestamp() > 0);
        }

        let (status, raw) = server
            .get(&server.alice, &format!("/jobs/{first_job}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(raw["created_at"].as_str().unwrap().ends_with('Z'), "{raw}");
        assert!(
            raw["completed_at"].as_str().unwrap().ends_with('Z'),
            "{raw}"
        );
        assert_eq!(raw["tokens_used"]["total_tokens"], 0);
        let python: Job = serde_json::from_value(raw).unwrap();
        assert_eq!(python.status, JobStatus::Completed);
        assert_eq!(python.language, "python");
        assert_eq!(python.file_content.as_deref(), Some(PYTHON_SHELL));
        assert!(
            rule_ids(&python).contains("python/os-system-dynamic"),
            "{:?}",
            rule_ids(&python)
        );
        let results = python.results.as_ref().unwrap();
        assert!(!results.cached);
        assert!(!python.cache_hit);
        assert!(
            results.content.contains("python/os-system-dynamic"),
            "{}",
            results.content
        );
        assert_eq!(results.lint_result.issues.len(), results.findings.len());
        assert!(
            results
                .lint_result
                .issues
                .iter()
                .any(|issue| issue.rule == "python/os-system-dynamic" && issue.line == 6)
        );
        assert!(results.stages.iter().any(|stage| stage.name == "rules"));
        assert!(results.stages.iter().any(|stage| stage.name == "secrets"));

        let run = server.wait_for_run(&server.alice, &created.run_id).await;
        assert_eq!((run.total, run.completed, run.failed), (2, 2, 0));
        assert_eq!(run.rejected, created.rejected);
        let rust = run
            .jobs
            .iter()
            .find(|job| job.file_path == "src/main.rs")
            .unwrap();
        assert_eq!(rust.language, "rust");
        assert!(rust.file_content.is_none());
        assert!(
            rule_ids(rust).contains("rust/dbg-macro"),
            "{:?}",
            rule_ids(rust)
        );

        server.server.shutdown().await;
    }
}

/// Rust source whose analysis takes seconds: `thread::sleep` calls nested `depth` deep inside an `async fn`, so
/// the blocking-sleep rule walks up every call's ancestors (quadratic in the depth).
fn slow_to_analyse(depth: usize) -> String {
    let mut source = String::from("async fn main() {\n");
    source.push_str(&"thread::sleep(\n".repeat(depth));
    source.push_str("1\n");
    source.push_str(&")\n".repeat(depth));
    source.push_str(";\n}\n");
    source
}

both_backends! {
    multi_thread async fn a_file_over_the_job_timeout_fails_and_the_worker_goes_on_with_the_next() {
        // One worker, so the second file is only analysed after the first one timed out.
        let server = TestServer::start_configured(|config| {
            config.workers = 1;
            config.job_timeout = Duration::from_secs(1);
        })
        .await;
        // About 20 s of analysis in a debug build (and more on a slower machine), against a 1 s timeout.
        let slow = slow_to_analyse(6000);
        let started = Instant::now();
        let created = server
            .submit(
                &server.alice,
                &[("slow.rs", slow.as_str()), ("app.py", PYTHON_SHELL)],
                true,
            )
            .await;
        let run = server.wait_for_run(&server.alice, &created.run_id).await;
        assert_eq!((run.completed, run.failed), (1, 1), "{run:?}");
        let jobs = run
            .jobs
            .iter()
            .map(|job| (job.file_path.as_str(), job))
            .collect::<HashMap<_, _>>();
        let slow_job = jobs["slow.rs"];
        assert_eq!(slow_job.status, JobStatus::Failed, "{slow_job:?}");
        assert_eq!(
            slow_job.error.as_deref(),
            Some("analysis timed out after 1 s"),
            "{slow_job:?}"
        );
        // The worker's thread was still busy with `slow.rs` when the run ended: the next file ran on a fresh thread
        // rather than waiting behind it.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the run took {:?}: the second file waited for the timed-out analysis",
            started.elapsed()
        );
        let python = jobs["app.py"];
        assert_eq!(python.status, JobStatus::Completed, "{python:?}");
        assert!(
            rule_ids(python).contains("python/os-system-dynamic"),
            "{python:?}"
        );
        // The timed-out analysis stopped itself at its deadline: its thread is gone, not left burning a core for
        // the ~20 s the file would take.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let analysing = analysis_threads();
            if analysing <= 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{analysing} analysis threads alive for one worker: the timed-out one kept running"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server.server.shutdown().await;
    }
}

/// Threads of this process running the engine (named `codeinsight-analysis-N`; the kernel keeps 15 bytes).
fn analysis_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.starts_with("codeinsight-ana"))
        })
        .count()
}

both_backends! {
    multi_thread async fn a_socket_that_falls_behind_replays_terminal_events_from_the_database_once_each() {
        // One buffered event per user: any socket that is not scheduled between two events lags behind the hub.
        let server = TestServer::start_configured(|config| config.event_buffer = 1).await;
        let mut socket = server.socket(&server.alice, "alice").await;
        let sources = (0..20)
            .map(|index| {
                (
                    format!("pkg/module_{index}.py"),
                    format!("{PYTHON_SHELL}\nVALUE_{index} = {index}\n"),
                )
            })
            .collect::<Vec<_>>();
        let files = sources
            .iter()
            .map(|(path, content)| (path.as_str(), content.as_str()))
            .collect::<Vec<_>>();
        let created = server.submit(&server.alice, &files, true).await;
        let updates = follow_run(&mut socket, &created).await;
        for terminal in one_terminal_each(&updates, &job_ids(&created)) {
            assert_eq!(terminal.status, JobStatus::Completed);
            assert!(terminal.data.findings.unwrap() >= 1, "{terminal:?}");
        }
        let (status, server_stats) = server.get(&server.admin, "/stats").await;
        assert_eq!(status, StatusCode::OK, "{server_stats}");
        assert!(
            server_stats["websocket"]["resyncs"].as_u64().unwrap() >= 1,
            "the socket never fell behind, so the replay was not exercised: {server_stats}"
        );
    }
}

both_backends! {
    multi_thread async fn a_resubmitted_file_is_served_from_the_cache_with_a_terminal_event() {
        let server = TestServer::start().await;
        let first = server
            .submit(&server.alice, &[("app/main.py", PYTHON_SHELL)], false)
            .await;
        server.wait_for_run(&server.alice, &first.run_id).await;

        // The same user resubmitting the same file is served from the cache, with its terminal event.
        let second = server
            .submit(&server.alice, &[("app/main.py", PYTHON_SHELL)], false)
            .await;
        let mut socket = server.socket(&server.alice, "alice").await;
        let updates = follow_run(&mut socket, &second).await;
        let terminal = one_terminal_each(&updates, &job_ids(&second));
        assert_eq!(terminal[0].status, JobStatus::Completed);
        assert_eq!(terminal[0].data.cache_hit, Some(true));

        let (_, raw) = server
            .get(&server.alice, &format!("/jobs/{}", second.jobs[0].job_id))
            .await;
        let cached: Job = serde_json::from_value(raw).unwrap();
        assert!(cached.cache_hit);
        assert!(cached.results.as_ref().unwrap().cached);
        assert!(rule_ids(&cached).contains("python/os-system-dynamic"));

        // Another user's identical file is not a hit: the cache is scoped to the user, so that nobody learns from
        // `cache_hit` that someone else submitted it. The findings are the same, computed again.
        let other = server
            .submit(&server.bob, &[("app/main.py", PYTHON_SHELL)], false)
            .await;
        let run = server.wait_for_run(&server.bob, &other.run_id).await;
        assert!(!run.jobs[0].cache_hit);
        assert_eq!(run.jobs[0].user_id, "bob");
        assert_eq!(rule_ids(&run.jobs[0]), rule_ids(&cached));

        // `no_cache` bypasses the lookup.
        let third = server
            .submit(&server.alice, &[("app/main.py", PYTHON_SHELL)], true)
            .await;
        let run = server.wait_for_run(&server.alice, &third.run_id).await;
        assert!(!run.jobs[0].cache_hit);

        let (status, cache_report) = server.get(&server.admin, "/cache/stats").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(cache_report["hits"], 1, "{cache_report}");
        assert_eq!(cache_report["misses"], 2, "{cache_report}");
        assert_eq!(cache_report["total_requests"], 3, "{cache_report}");
        assert_eq!(cache_report["hit_rate_percent"], 33.33, "{cache_report}");

        let (status, cleared) = server.post(&server.admin, "/cache/clear", &json!({})).await;
        assert_eq!(status, StatusCode::OK, "{cleared}");
        assert_eq!(cleared["deleted_count"], 2, "{cleared}");

        server.server.shutdown().await;
    }
}

both_backends! {
    multi_thread async fn users_cannot_see_each_others_jobs_runs_history_or_sockets() {
        let server = TestServer::start().await;
        let created = server
            .submit(&server.alice, &[("app/main.py", PYTHON_SHELL)], false)
            .await;
        server.wait_for_run(&server.alice, &created.run_id).await;
        let job_id = &created.jobs[0].job_id;

        for path in [
            format!("/jobs/{job_id}"),
            format!("/api/v1/runs/{}", created.run_id),
            "/jobs/user/alice".to_owned(),
            "/jobs/no-such-job".to_owned(),
        ] {
            let (status, body) = server.get(&server.bob, &path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
            assert!(body["detail"].is_string());
        }
        // The same answer for another user's job as for a job that does not exist.
        let (_, foreign) = server.get(&server.bob, &format!("/jobs/{job_id}")).await;
        let (_, missing) = server.get(&server.bob, "/jobs/no-such-job").await;
        assert_eq!(foreign, missing);

        // Nor can bob add files to alice's run: the same answer as for a run that does not exist.
        let batch = json!({"files": [{"path": "extra.py", "content": "print(1)\n"}]});
        let (status, foreign) = server
            .post(
                &server.bob,
                &format!("/api/v1/runs/{}/files", created.run_id),
                &batch,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{foreign}");
        let (_, missing) = server
            .post(&server.bob, "/api/v1/runs/no-such-run/files", &batch)
            .await;
        assert_eq!(foreign, missing);

        let mut request = format!("ws://{}/ws/alice", server.server.addr())
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {}", server.bob).parse().unwrap(),
        );
        match tokio_tungstenite::connect_async(request).await {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 404),
            other => panic!("bob opened alice's socket: {:?}", other.map(|_| ())),
        }

        let mut socket = server.socket(&server.bob, "bob").await;
        for subscription in [
            json!({"type": "subscribe", "job_id": job_id}),
            json!({"type": "subscribe", "run_id": created.run_id}),
        ] {
            send(&mut socket, subscription).await;
            match receive(&mut socket).await {
                ServerMessage::Error { message } => assert!(message.contains("not found"), "{message}"),
                other => panic!("subscription to alice's work not refused: {other:?}"),
            }
        }
        send(&mut socket, json!({"type": "ping"})).await;
        assert_eq!(receive(&mut socket).await, ServerMessage::Pong);

        server.server.shutdown().await;
    }
}

both_backends! {
    multi_thread async fn bad_websocket_messages_get_an_error_and_the_socket_stays_open() {
        let server = TestServer::start().await;
        // Browsers cannot set headers on an upgrade: the token may come as a query parameter on this route.
        let url = format!(
            "ws://{}/ws/alice?token={}",
            server.server.addr(),
            server.alice
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        for bad in [
            "not json",
            "{\"type\":\"dance\"}",
            "[1,2]",
            "{\"type\":\"subscribe\"}",
        ] {
            socket.send(Message::text(bad)).await.unwrap();
            match receive(&mut socket).await {
                ServerMessage::Error { message } => assert!(!message.is_empty()),
                other => panic!("`{bad}` was not answered with an error: {other:?}"),
            }
        }
        send(&mut socket, json!({"type": "ping"})).await;
        assert_eq!(receive(&mut socket).await, ServerMessage::Pong);

        // Subscribing to a job that finished before the subscription still yields its terminal event.
        let created = server
            .submit(&server.alice, &[("src/main.rs", RUST_DBG)], false)
            .await;
        server.wait_for_run(&server.alice, &created.run_id).await;
        let job_id = created.jobs[0].job_id.clone();
        send(&mut socket, json!({"type": "subscribe", "job_id": job_id})).await;
        assert_eq!(
            receive(&mut socket).await,
            ServerMessage::Subscribed {
                job_id: Some(job_id.clone()),
                run_id: None
            }
        );
        match receive(&mut socket).await {
            ServerMessage::JobUpdate(update) => {
                assert_eq!(update.job_id, job_id);
                assert_eq!(update.status, JobStatus::Completed);
            }
            other => panic!("no replayed terminal event: {other:?}"),
        }
        send(
            &mut socket,
            json!({"type": "unsubscribe", "job_id": job_id}),
        )
        .await;
        assert_eq!(
            receive(&mut socket).await,
            ServerMessage::Unsubscribed {
                job_id: Some(job_id),
                run_id: None
            }
        );

        server.server.shutdown().await;
    }
}

both_backends! {
    multi_thread async fn history_is_filtered_and_paginated_on_the_server() {
        let server = TestServer::start().await;
        let created = server
            .submit(
                &server.alice,
                &[
                    ("pkg/a.py", PYTHON_SHELL),
                    ("pkg/b.py", PYTHON_CLEAN),
                    ("pkg/c.py", "import os\nos.system('ls ' + input())\n"),
                    ("src/lib.rs", RUST_DBG),
                    ("web/app.js", "const value = eval(location.hash);\n"),
                    ("notes.txt", "plain words\n"),
                ],
                false,
            )
            .await;
        let body = json!({"user_id": "alice", "job_type": "debug", "file_path": "crash.py", "file_content": PYTHON_SHELL, "language": "python", "error_log": "Traceback"});
        let (status, enqueued) = server.post(&server.alice, "/jobs/enqueue", &body).await;
        assert_eq!(status, StatusCode::OK, "{enqueued}");
        server.wait_for_run(&server.alice, &created.run_id).await;
        let debug_id = enqueued["job_id"].as_str().unwrap().to_owned();
        let deadline = Instant::now() + WAIT;
        while server
            .get(&server.alice, &format!("/jobs/{debug_id}"))
            .await
            .1["status"]
            != "completed"
        {
            assert!(Instant::now() < deadline, "debug job did not finish");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Bob's work never shows in Alice's history.
        server
            .submit(&server.bob, &[("bob.py", PYTHON_CLEAN)], false)
            .await;

        let list = |query: &str| {
            let path = format!("/jobs/user/alice{query}");
            let server = &server;
            async move {
                let (status, body) = server.get(&server.alice, &path).await;
                assert_eq!(status, StatusCode::OK, "{path}: {body}");
                for job in body["jobs"].as_array().unwrap() {
                    assert!(
                        job.get("file_content").is_none(),
                        "list items carry no content: {job}"
                    );
                }
                serde_json::from_value::<JobList>(body).unwrap()
            }
        };

        let all = list("").await;
        assert_eq!(all.count, 7);
        assert!(all.next_cursor.is_none());
        assert!(
            all.jobs
                .windows(2)
                .all(|pair| pair[0].created_at >= pair[1].created_at)
        );
        assert_eq!(all.jobs[0].job_id, debug_id, "newest first");

        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = match &cursor {
                Some(cursor) => format!("?limit=3&cursor={cursor}"),
                None => "?limit=3".to_owned(),
            };
            let page = list(&query).await;
            assert!(page.count <= 3);
            seen.extend(page.jobs.iter().map(|job| job.job_id.clone()));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(
            seen,
            all.jobs
                .iter()
                .map(|job| job.job_id.clone())
                .collect::<Vec<_>>()
        );

        let python = list("?language=python").await;
        assert_eq!(python.count, 4);
        assert!(python.jobs.iter().all(|job| job.language == "python"));
        let debug = list("?type=debug").await;
        assert_eq!(debug.count, 1);
        assert_eq!(debug.jobs[0].job_id, debug_id);
        assert_eq!(list("?status=completed").await.count, 7);
        assert_eq!(list("?status=failed").await.count, 0);
        let search = list("?search=PKG/").await;
        assert_eq!(
            search.count, 3,
            "search is a case-insensitive substring of the path"
        );
        assert_eq!(
            list("?search=50%25").await.count,
            0,
            "LIKE wildcards are literal"
        );
        assert_eq!(list("?since=2999-01-01").await.count, 0);
        assert_eq!(list("?since=2000-01-01T00:00:00Z").await.count, 7);
        let unknown = list("?language=unknown").await;
        assert_eq!(unknown.count, 1);
        assert_eq!(unknown.jobs[0].file_path, "notes.txt");
        assert_eq!(
            list("?limit=100000").await.count,
            7,
            "limit is capped, not refused"
        );

        // Server-wide figures are for admins: they say what every user is doing.
        for route in ["/stats", "/metrics", "/cache/stats"] {
            let (status, body) = server.get(&server.alice, route).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{route}: {body}");
        }
        let (status, server_report) = server.get(&server.admin, "/stats").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            server_report["queue"]["completed"].as_i64().unwrap() >= 7,
            "{server_report}"
        );
        let metrics = server
            .http
            .get(server.url("/metrics"))
            .bearer_auth(&server.admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("codeinsight_jobs{status=\"completed\"}"),
            "{metrics}"
        );
        assert!(
            metrics.contains("# TYPE codeinsight_cache_requests_total counter"),
            "{metrics}"
        );

        server.server.shutdown().await;
    }
}

both_backends! {
    multi_thread async fn a_graceful_shutdown_hands_unfinished_jobs_back_and_a_restart_finishes_them() {
        let dir = TempDir::new().unwrap();
        let mut config = config(&dir);
        // The queue is under test here; the built-in rules are enough to check the results.
        config.linters.enabled = false;
        let first = server::start(config.clone()).await.unwrap();
        let token = first
            .state()
            .store()
            .create_token("alice", false)
            .await
            .unwrap()
            .token;
        let files = (0..400)
            .map(|index| json!({"path": format!("m{index}.py"), "content": format!("import os\n\n\ndef f{index}(text):\n    return os.system(text)\n")}))
            .collect::<Vec<_>>();
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/runs", first.base_url()))
            .bearer_auth(&token)
            .json(&json!({"files": files}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let created: RunCreated = response.json().await.unwrap();
        first.shutdown().await;

        // After a graceful stop no job is left claimed: each is finished or back in the queue.
        let store = codeinsight::store::Store::connect(&database_url(&dir))
            .await
            .unwrap();
        let (jobs, _) = store
            .run_jobs_page(&created.run_id, 0, 10_000, usize::MAX)
            .await
            .unwrap();
        assert_eq!(jobs.len(), 400);
        assert!(
            jobs.iter().all(|job| job.status != JobStatus::Processing),
            "jobs left processing after shutdown"
        );
        store.close().await;

        let second = server::start(config).await.unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            let run = second
                .state()
                .store()
                .get_run(&created.run_id, WHOLE_RUN)
                .await
                .unwrap()
                .unwrap();
            if run.completed == run.total {
                assert!(
                    run.jobs
                        .iter()
                        .all(|job| rule_ids(job).contains("python/os-system-dynamic"))
                );
                break;
            }
            assert_eq!(run.failed, 0);
            assert!(
                Instant::now() < deadline,
                "the run did not finish after the restart"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        second.shutdown().await;
    }
}

/// The test's database, opened beside the server to change it under the server's feet.
enum Beside {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Beside {
    async fn open(url: &str) -> Beside {
        if url.starts_with("postgres") {
            Beside::Postgres(sqlx::PgPool::connect(url).await.unwrap())
        } else {
            Beside::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap())
        }
    }

    async fn execute(&self, sql: String) {
        match self {
            Beside::Sqlite(pool) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(pool)
                .await
                .map(drop),
            Beside::Postgres(pool) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(pool)
                .await
                .map(drop),
        }
        .unwrap();
    }

    /// Makes every update that sets a job's status to one of `refused` fail, as a full disk would.
    async fn refuse(&self, refused: &[&str]) {
        let statuses = refused
            .iter()
            .map(|status| format!("'{status}'"))
            .collect::<Vec<_>>()
            .join(", ");
        self.execute(match self {
            Beside::Sqlite(_) => format!(
                "CREATE TRIGGER refuse_results BEFORE UPDATE OF status ON jobs \
                 WHEN NEW.status IN ({statuses}) BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
            ),
            Beside::Postgres(_) => format!(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 'disk quota exceeded'; END $$; \
                 CREATE TRIGGER refuse_results BEFORE UPDATE OF status ON jobs FOR EACH ROW \
                     WHEN (NEW.status IN ({statuses})) EXECUTE FUNCTION refuse()"
            ),
        })
        .await;
    }

    async fn accept(&self) {
        self.execute(match self {
            Beside::Sqlite(_) => "DROP TRIGGER refuse_results".to_owned(),
            Beside::Postgres(_) => "DROP TRIGGER refuse_results ON jobs".to_owned(),
        })
        .await;
    }

    /// The status, error, lease end and attempts of the database's only job.
    async fn only_job(&self) -> (String, Option<String>, Option<i64>, i64) {
        const QUERY: &str = "SELECT status, error, lease_until, attempts FROM jobs";
        match self {
            Beside::Sqlite(pool) => sqlx::query_as(QUERY).fetch_one(pool).await,
            Beside::Postgres(pool) => sqlx::query_as(QUERY).fetch_one(pool).await,
        }
        .unwrap()
    }
}

/// Starts a server (built-in rules only) whose database refuses to record a job as any of `refused` statuses;
/// returns it, the database opened beside it (to lift the refusal), and the run it submitted (one file).
async fn server_refusing(dir: &TempDir, refused: &[&str]) -> (RunningServer, Beside, RunCreated) {
    let mut config = config(dir);
    config.linters.enabled = false;
    let running = server::start(config).await.unwrap();
    let token = running
        .state()
        .store()
        .create_token("alice", false)
        .await
        .unwrap()
        .token;
    let beside = Beside::open(&database_url(dir)).await;
    beside.refuse(refused).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/runs", running.base_url()))
        .bearer_auth(&token)
        .json(&json!({"files": [{"path": "app.py", "content": "import os\n\n\ndef f(text):\n    return os.system(text)\n"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let created: RunCreated = response.json().await.unwrap();
    (running, beside, created)
}

both_backends! {
    multi_thread async fn a_job_whose_results_cannot_be_stored_ends_failed_with_the_reason() {
        let dir = TempDir::new().unwrap();
        let (running, beside, _created) = server_refusing(&dir, &["completed"]).await;
        let deadline = Instant::now() + WAIT;
        let (status, error) = loop {
            let (status, error, _, _) = beside.only_job().await;
            if status != "pending" && status != "processing" {
                break (status, error);
            }
            assert!(
                Instant::now() < deadline,
                "the job never ended: it is still {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(status, "failed");
        let error = error.unwrap_or_default();
        assert!(
            error.contains("could not store") && error.contains("disk quota exceeded"),
            "{error}"
        );
        running.shutdown().await;
    }
}

both_backends! {
    multi_thread async fn a_lease_is_renewed_only_while_its_job_is_in_flight_and_a_stranded_job_is_retried() {
        let dir = TempDir::new().unwrap();
        // Neither the results nor the failure can be written: the job is stranded in `processing`.
        let (running, beside, _created) = server_refusing(&dir, &["completed", "failed"]).await;
        let deadline = Instant::now() + WAIT;
        let lease = loop {
            let (status, _, lease, _) = beside.only_job().await;
            if status == "processing" {
                break lease.unwrap();
            }
            assert!(Instant::now() < deadline, "the job was never claimed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        // The heartbeat renews leases every 10 s; after a failed write this server no longer holds the job, so the
        // lease must not move.
        tokio::time::sleep(Duration::from_secs(13)).await;
        let (status, _, renewed, _) = beside.only_job().await;
        assert_eq!(status, "processing");
        assert_eq!(
            renewed,
            Some(lease),
            "a job whose write failed kept its lease renewed"
        );

        // Once the database accepts writes again, the expired lease brings the job back and it finishes.
        beside.accept().await;
        let deadline = Instant::now() + WAIT;
        let (status, attempts) = loop {
            let (status, _, _, attempts) = beside.only_job().await;
            if status == "completed" || status == "failed" {
                break (status, attempts);
            }
            assert!(
                Instant::now() < deadline,
                "the stranded job never came back: it is still {status}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(status, "completed");
        assert_eq!(attempts, 2, "the stranded claim counts as an attempt");
        running.shutdown().await;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The real binary, killed mid-run.

both_backends! {
    multi_thread async fn a_server_killed_mid_run_finishes_every_accepted_job_once_after_restart() {
        let dir = TempDir::new().unwrap();
        let database = database_url(&dir);
        let token = codeinsight::store::create_token(&database, "alice", false)
            .await
            .unwrap()
            .token;
        let http = reqwest::Client::new();

        // The queue is what this test is about: the built-in rules and secrets scan are the findings it checks.
        let no_linters = Some("[linters]\nenabled = false\n");
        let first = ServeProcess::start(&database, dir.path(), no_linters, &["--workers", "1"], &[]);
        // Distinct files, so that nothing is a cache hit, each with one known finding per language.
        let files = (0..1500)
            .map(|index| {
                if index % 2 == 0 {
                    json!({"path": format!("py/module_{index}.py"), "content": format!("import os\n\n\ndef handler_{index}(text):\n    return os.system(text)\n")})
                } else {
                    json!({"path": format!("rs/module_{index}.rs"), "content": format!("fn read_{index}() -> String {{\n    dbg!(std::fs::read_to_string(\"{index}.txt\").unwrap_or_default())\n}}\n")})
                }
            })
            .collect::<Vec<_>>();
        let response = http
            .post(first.url("/api/v1/runs"))
            .bearer_auth(&token)
            .json(&json!({"files": files, "options": {"no_cache": true}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let created: RunCreated = response.json().await.unwrap();
        assert_eq!(created.jobs.len(), 1500);

        // Kill it once it has finished some jobs but not all.
        let deadline = Instant::now() + WAIT;
        let done_before_kill = loop {
            let (run, _) = run_pages(&http, &first, &token, &created.run_id).await;
            let done = run.completed + run.failed;
            if done > 0 {
                assert!(
                    done < run.total,
                    "the run finished before the kill; make it larger"
                );
                break done;
            }
            assert!(Instant::now() < deadline, "no job finished");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let mut first = first;
        first.child.kill().unwrap();
        first.child.wait().unwrap();

        let second = ServeProcess::start(&database, dir.path(), no_linters, &["--workers", "1"], &[]);
        let deadline = Instant::now() + Duration::from_secs(180);
        let run = loop {
            let (run, _) = run_pages(&http, &second, &token, &created.run_id).await;
            if run.completed + run.failed == run.total {
                break run;
            }
            assert!(
                Instant::now() < deadline,
                "the run did not finish after the restart: {}/{}",
                run.completed,
                run.total
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };

        assert_eq!(run.total, 1500);
        assert_eq!(
            run.failed,
            0,
            "{:?}",
            run.jobs
                .iter()
                .filter(|job| job.status == JobStatus::Failed)
                .map(|job| &job.error)
                .collect::<Vec<_>>()
        );
        assert_eq!(run.completed, 1500);
        assert!(done_before_kill < 1500);
        let accepted = created
            .jobs
            .iter()
            .map(|job| job.job_id.clone())
            .collect::<HashSet<_>>();
        let stored = run
            .jobs
            .iter()
            .map(|job| job.job_id.clone())
            .collect::<HashSet<_>>();
        assert_eq!(
            accepted, stored,
            "every accepted job is stored, and only those"
        );
        let mut per_path: HashMap<&str, usize> = HashMap::new();
        for job in &run.jobs {
            *per_path.entry(job.file_path.as_str()).or_default() += 1;
            let expected = if job.language == "python" {
                "python/os-system-dynamic"
            } else {
                "rust/dbg-macro"
            };
            let results = job.results.as_ref().unwrap();
            let matching = results
                .findings
                .iter()
                .filter(|finding| finding.rule_id == expected)
                .count();
            assert_eq!(matching, 1, "{}: {:?}", job.file_path, rule_ids(job));
        }
        assert!(
            per_path.values().all(|count| *count == 1),
            "no file was stored twice"
        );
        let (status, history) = {
            let response = http
                .get(second.url("/jobs/user/alice?limit=500"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<JobList>().await.unwrap(),
            )
        };
        assert_eq!(status, 200);
        assert_eq!(history.count, 500);

        // A graceful stop on SIGTERM exits cleanly.
        let mut second = second;
        let terminated = Command::new("kill")
            .args(["-TERM", &second.child.id().to_string()])
            .status()
            .unwrap();
        assert!(terminated.success());
        let exit = second.child.wait().unwrap();
        assert!(exit.success(), "{exit:?}");
    }
}

both_backends! {
    multi_thread async fn the_rules_route_documents_the_rules_asked_for_and_leaves_out_unknown_ids() {
        let server = TestServer::start().await;
        let (status, body) = server
            .get(
                &server.alice,
                "/api/v1/rules?ids=python/yaml-unsafe-load,no/such-rule,python/yaml-unsafe-load",
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let docs = body.as_array().unwrap();
        assert_eq!(docs.len(), 1, "{body}");
        assert_eq!(docs[0]["id"], "python/yaml-unsafe-load");
        assert_eq!(docs[0]["severity"], "major");
        assert_eq!(docs[0]["cwe"], json!([502]));
        assert!(
            docs[0]["docs"].as_str().unwrap().contains("safe_load"),
            "{body}"
        );
        let (status, body) = server.get(&server.alice, "/api/v1/rules").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.as_array().unwrap().len() >= 50, "{body}");
    }
}

both_backends! {
    multi_thread async fn files_added_to_a_run_join_it_under_its_rule_selection() {
        let server = TestServer::start().await;
        let (status, body) = server.get(&server.alice, "/api/v1/whoami").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["limits"]["max_run_bytes"], 32 * 1024 * 1024);
        let created = server
            .submit(&server.alice, &[("app/main.py", PYTHON_SHELL)], false)
            .await;
        let path = format!("/api/v1/runs/{}/files", created.run_id);
        let (status, body) = server
            .post(
                &server.alice,
                &path,
                &json!({
                    "files": [{"path": "app/more.py", "content": PYTHON_SHELL}],
                    "skipped": [{"file_path": "static/app.min.js", "reason": "minified", "policy": true}],
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["run_id"], created.run_id.as_str());
        // A batch may carry only files the client left out, but not a different rule selection.
        let (status, body) = server
            .post(
                &server.alice,
                &path,
                &json!({"files": [], "skipped": [{"file_path": "vendor/x.py", "reason": "vendored", "policy": true}]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = server
            .post(
                &server.alice,
                &path,
                &json!({"files": [{"path": "b.py", "content": "x = 1\n"}], "options": {"rules": {"select": ["all"]}}}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains("options.rules"),
            "{body}"
        );

        let run = server.wait_for_run(&server.alice, &created.run_id).await;
        assert_eq!(run.total, 2);
        let paths: HashSet<&str> = run.jobs.iter().map(|job| job.file_path.as_str()).collect();
        assert_eq!(paths, HashSet::from(["app/main.py", "app/more.py"]));
        let left_out: Vec<&str> = run
            .rejected
            .iter()
            .map(|file| file.file_path.as_str())
            .collect();
        assert_eq!(left_out, ["static/app.min.js", "vendor/x.py"]);
        assert!(
            run.jobs
                .iter()
                .all(|job| rule_ids(job).contains("python/os-system-dynamic"))
        );
        server.server.shutdown().await;
    }
}

both_backends! {
    multi_thread async fn runs_are_listed_with_their_gate_counts_verdicts_and_refusals() {
        let server = TestServer::start().await;
        // A run judged with the default gate fails on its critical and major findings; the same files under
        // `fail_on: null` pass; a clean file passes.
        let (status, failing) = server
            .post(
                &server.alice,
                "/api/v1/runs",
                &json!({
                    "files": [{"path": "shell.py", "content": PYTHON_SHELL}, {"path": "main.rs", "content": RUST_DBG}],
                    "options": {"no_cache": true, "no_linters": true},
                    "context": {"commit": "0123456789abcdef", "branch": "feature/x", "ci_url": "javascript:alert(1)"},
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{failing}");
        let failing = failing["run_id"].as_str().unwrap().to_owned();
        let (_, never) = server
            .post(
                &server.alice,
                "/api/v1/runs",
                &json!({
                    "files": [{"path": "shell.py", "content": PYTHON_SHELL}],
                    "options": {"no_linters": true},
                    "gate": {"fail_on": null, "report_min": "minor"},
                }),
            )
            .await;
        let never = never["run_id"].as_str().unwrap().to_owned();
        let clean = server.submit(&server.alice, &[("add.py", PYTHON_CLEAN)], true).await.run_id;
        for run_id in [&failing, &never, &clean] {
            server.wait_for_run(&server.alice, run_id).await;
        }
        // The server refuses a run naming a rule it does not have: the refusal is answered and recorded.
        let (status, refusal) = server
            .post(
                &server.alice,
                "/api/v1/runs",
                &json!({"files": [{"path": "a.py", "content": "x = 1\n"}], "options": {"rules": {"select": ["no/such-rule"]}}}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refusal}");

        let (status, list) = server.get(&server.alice, "/api/v1/runs").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let runs = list["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 4, "{list}");
        let by_id = |id: &str| runs.iter().find(|run| run["run_id"] == id).unwrap().clone();
        let run = by_id(&failing);
        assert_eq!(run["verdict"], "failed", "{run}");
        assert_eq!(run["total"], 2);
        assert_eq!(run["completed"], 2);
        assert!(run["findings"]["critical"].as_u64().unwrap() + run["findings"]["major"].as_u64().unwrap() >= 1, "{run}");
        assert_eq!(run["gate"], json!({"fail_on": "major", "report_min": "info"}));
        assert_eq!(run["context"], json!({"commit": "0123456789abcdef", "branch": "feature/x"}), "a non-http link is dropped");
        assert!(run["finished_at"].is_string());
        let run = by_id(&never);
        assert_eq!(run["verdict"], "passed", "{run}");
        assert_eq!(run["gate"], json!({"fail_on": null, "report_min": "minor"}));
        assert_eq!(by_id(&clean)["verdict"], "passed");
        let refused = &runs[0];
        assert_eq!(refused["verdict"], "failed", "the newest run is the refused one: {refused}");
        assert_eq!(refused["total"], 0);
        assert!(refused["error"].as_str().unwrap().starts_with("refused by the server: `options.rules`"), "{refused}");

        // Filters run on the server; pages are keyset pages.
        let (_, failed) = server.get(&server.alice, "/api/v1/runs?status=failed").await;
        let failed: HashSet<&str> = failed["runs"].as_array().unwrap().iter().map(|run| run["run_id"].as_str().unwrap()).collect();
        assert_eq!(failed, HashSet::from([failing.as_str(), refused["run_id"].as_str().unwrap()]));
        let (_, found) = server.get(&server.alice, "/api/v1/runs?search=FEATURE%2Fx").await;
        assert_eq!(found["runs"].as_array().unwrap().len(), 1, "{found}");
        let (_, first) = server.get(&server.alice, "/api/v1/runs?limit=3").await;
        let cursor = first["next_cursor"].as_str().unwrap();
        let (_, second) = server.get(&server.alice, &format!("/api/v1/runs?limit=3&cursor={cursor}")).await;
        assert_eq!(second["runs"].as_array().unwrap().len(), 1);
        assert!(second["next_cursor"].is_null());
        let (status, _) = server.get(&server.alice, "/api/v1/runs?status=green").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Another user sees none of them, and cannot abort one; its owner can, and the run is failed from then on.
        let (_, theirs) = server.get(&server.bob, "/api/v1/runs").await;
        assert_eq!(theirs["runs"], json!([]));
        let (status, _) = server.post(&server.bob, &format!("/api/v1/runs/{clean}/abort"), &json!({"reason": "x"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, aborted) = server
            .post(&server.alice, &format!("/api/v1/runs/{clean}/abort"), &json!({"reason": "the connection dropped"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{aborted}");
        assert_eq!(aborted["verdict"], "failed");
        assert_eq!(aborted["error"], "failed to start: the connection dropped");

        // The run document carries the same summary.
        let (_, document) = server.get(&server.alice, &format!("/api/v1/runs/{failing}")).await;
        assert_eq!(document["summary"]["verdict"], "failed");
        assert_eq!(document["summary"]["findings"], by_id(&failing)["findings"]);
    }
}

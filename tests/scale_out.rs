//! Several `codeinsight serve` processes on one `PostgreSQL`, as a team deploys them behind a load balancer: the
//! real binary, a throwaway cluster (`common::postgres`), real HTTP and `WebSocket` clients. Runs are submitted
//! round-robin and followed on another instance than the one that took them; meanwhile one instance is killed
//! (SIGKILL) and started again, and `PostgreSQL` restarts once. Every accepted job must end exactly once, and
//! every client must hear every terminal event.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic message is the report"
)]

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codeinsight::protocol::{RunCreated, ServerMessage};
use common::ServeProcess;
use common::postgres::Cluster;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

/// Built-in rules only: the queue and the relay are under test, not the linters.
const CONFIG: &str = "[linters]\nenabled = false\n";
const INSTANCES: usize = 3;
const RUNS: usize = 30;
const FILES_PER_RUN: usize = 100;
/// Long enough for a killed instance's leases (30 s) to expire and its jobs to be claimed again.
const DEADLINE: Duration = Duration::from_secs(240);

/// Where each instance listens now (`None` while it is down).
type Addresses = Arc<Mutex<Vec<Option<SocketAddr>>>>;

fn start_instance(database: &str, dir: &TempDir) -> ServeProcess {
    ServeProcess::start(database, dir.path(), Some(CONFIG), &["--workers", "2"], &[])
}

/// One file with exactly one finding (`python/os-system-dynamic`).
fn file(run: usize, index: usize) -> serde_json::Value {
    json!({
        "path": format!("run{run}/m{index}.py"),
        "content": format!("import os\n\n\ndef f{run}_{index}(text):\n    return os.system(text)\n"),
    })
}

async fn submit(http: &reqwest::Client, addr: SocketAddr, token: &str, run: usize) -> RunCreated {
    let files: Vec<_> = (0..FILES_PER_RUN).map(|index| file(run, index)).collect();
    let response = http
        .post(format!("http://{addr}/api/v1/runs"))
        .bearer_auth(token)
        .json(&json!({ "files": files }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.unwrap()
}

/// Follows `run` over a `WebSocket` on instance `first` (then the next live one whenever its socket drops) until
/// every job of the run has had its terminal event; returns the jobs heard of and how many times it reconnected.
async fn follow(
    addresses: Addresses,
    first: usize,
    token: String,
    run: RunCreated,
) -> (HashSet<String>, usize) {
    let expected: HashSet<String> = run.jobs.iter().map(|job| job.job_id.clone()).collect();
    let mut finished = HashSet::new();
    let mut connections = 0;
    let mut instance = first;
    let started = Instant::now();
    while finished.len() < expected.len() {
        assert!(
            started.elapsed() < DEADLINE,
            "run {} was not followed to its end",
            run.run_id
        );
        let addr = addresses.lock().unwrap()[instance % INSTANCES];
        let Some(addr) = addr else {
            instance += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut request = format!("ws://{addr}/ws/alice")
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
            instance += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        connections += 1;
        let subscribe = json!({"type": "subscribe", "run_id": run.run_id}).to_string();
        if socket.send(Message::text(subscribe)).await.is_err() {
            instance += 1;
            continue;
        }
        // A subscription replays the terminal events of jobs that already finished, then follows the rest live.
        while finished.len() < expected.len() {
            // The instance died, or the socket was closed: follow from another one.
            let Ok(Some(Ok(frame))) = tokio::time::timeout(DEADLINE, socket.next()).await else {
                break;
            };
            let Message::Text(text) = frame else {
                continue;
            };
            if let Ok(ServerMessage::JobUpdate(update)) = serde_json::from_str(text.as_str()) {
                assert!(
                    expected.contains(&update.job_id),
                    "an event about another run's job"
                );
                if update.status.is_terminal() {
                    finished.insert(update.job_id);
                }
            }
        }
        instance += 1;
    }
    (finished, connections - 1)
}

fn count(cluster: &Cluster, sql: &str) -> usize {
    let output = cluster.psql(sql);
    output
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("`{sql}` answered {output:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_on_one_postgres_finish_every_job_once_through_a_kill_and_a_database_restart()
 {
    let cluster = Cluster::start();
    let database = cluster.url();
    let (_, token) = common::create_token(&database, "alice");
    let dirs: Vec<TempDir> = (0..INSTANCES).map(|_| TempDir::new().unwrap()).collect();
    let mut instances: Vec<Option<ServeProcess>> = dirs
        .iter()
        .map(|dir| Some(start_instance(&database, dir)))
        .collect();
    let addresses: Addresses = Arc::new(Mutex::new(
        instances
            .iter()
            .map(|instance| instance.as_ref().map(|instance| instance.addr))
            .collect(),
    ));

    // Runs go round-robin; each is followed on the next instance.
    let http = reqwest::Client::new();
    let mut followers = Vec::new();
    let mut runs = HashMap::new();
    for run in 0..RUNS {
        let addr = addresses.lock().unwrap()[run % INSTANCES].unwrap();
        let created = submit(&http, addr, &token, run).await;
        runs.insert(created.run_id.clone(), created.jobs.len());
        followers.push(tokio::spawn(follow(
            Arc::clone(&addresses),
            run + 1,
            token.clone(),
            created,
        )));
    }
    let total = RUNS * FILES_PER_RUN;
    assert_eq!(runs.values().sum::<usize>(), total);

    // Once a fifth of the work is done: kill an instance, restart PostgreSQL, start the instance again.
    let started = Instant::now();
    while count(
        &cluster,
        "SELECT count(*) FROM jobs WHERE status = 'completed'",
    ) < (total / 5)
    {
        assert!(
            started.elapsed() < DEADLINE,
            "the instances made no progress"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    addresses.lock().unwrap()[2] = None;
    let mut killed = instances[2].take().unwrap();
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();
    drop(killed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.restart();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restarted = start_instance(&database, &dirs[2]);
    addresses.lock().unwrap()[2] = Some(restarted.addr);
    instances[2] = Some(restarted);

    // Every client hears every terminal event of its run.
    let mut reconnections = 0;
    for follower in followers {
        let (finished, reconnected) = tokio::time::timeout(DEADLINE, follower)
            .await
            .expect("a client did not hear its run end")
            .unwrap();
        assert_eq!(finished.len(), FILES_PER_RUN);
        reconnections += reconnected;
    }
    // The killed instance's clients had to reconnect elsewhere.
    assert!(reconnections > 0);

    // Every accepted job ended once: all completed (a killed claim or a lost write is retried, at most three
    // attempts), and each one's finding is stored once (a run's count of stored findings would double otherwise).
    assert_eq!(count(&cluster, "SELECT count(*) FROM jobs"), total);
    assert_eq!(
        count(
            &cluster,
            "SELECT count(*) FROM jobs WHERE status = 'completed'"
        ),
        total,
        "{}",
        cluster
            .psql("SELECT status, error, attempts FROM jobs WHERE status <> 'completed' LIMIT 5")
    );
    assert!(count(&cluster, "SELECT max(attempts) FROM jobs") <= 3);
    assert_eq!(
        count(
            &cluster,
            "SELECT sum(json_array_length((results::json)->'findings')) FROM jobs"
        ),
        total
    );
    assert_eq!(
        count(&cluster, "SELECT sum(findings_kept) FROM runs"),
        total
    );
    for instance in instances.into_iter().flatten() {
        instance.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_submitted_to_one_instance_is_heard_live_on_another() {
    use codeinsight::server::{self, ServerConfig};
    let cluster = Cluster::start();
    let start = || async {
        let mut config = ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), cluster.url());
        config.workers = 2;
        config.linters.enabled = false;
        server::start(config).await.unwrap()
    };
    let first = start().await;
    let second = start().await;
    let first_state = first.state();
    let store = first_state.store();
    let token = store.create_token("alice", false).await.unwrap().token;
    let admin = store.create_token("root", true).await.unwrap().token;

    // The client listens on the second instance before the run exists, so what it hears about jobs the first
    // instance runs arrives live, through the relay.
    let mut request = format!("ws://{}/ws/alice", second.addr())
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let http = reqwest::Client::new();
    let files: Vec<_> = (0..400).map(|index| file(0, index)).collect();
    let response = http
        .post(format!("{}/api/v1/runs", first.base_url()))
        .bearer_auth(&token)
        .json(&json!({ "files": files }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let created: RunCreated = response.json().await.unwrap();
    let subscribe = json!({"type": "subscribe", "run_id": created.run_id}).to_string();
    socket.send(Message::text(subscribe)).await.unwrap();
    let mut finished = HashSet::new();
    while finished.len() < created.jobs.len() {
        let frame = tokio::time::timeout(DEADLINE, socket.next())
            .await
            .expect("the run's events stopped")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = frame
            && let Ok(ServerMessage::JobUpdate(update)) = serde_json::from_str(text.as_str())
            && update.status.is_terminal()
        {
            finished.insert(update.job_id);
        }
    }

    let stats = |server: &codeinsight::server::RunningServer| {
        let url = format!("{}/stats", server.base_url());
        let http = http.clone();
        let admin = admin.clone();
        async move {
            let stats: serde_json::Value = http
                .get(url)
                .bearer_auth(admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            stats
        }
    };
    let (on_first, on_second) = (stats(&first).await, stats(&second).await);
    // Both instances worked on the run, each relayed what it published, and the listening one heard the other's
    // updates live: it never had to resynchronise from the database.
    assert_eq!(on_first["instances"]["shared_database"], true);
    assert!(
        on_first["instances"]["events_relayed_out"]
            .as_u64()
            .unwrap()
            > 0,
        "{on_first}"
    );
    assert!(
        on_second["instances"]["events_relayed_in"]
            .as_u64()
            .unwrap()
            > 0,
        "{on_second}"
    );
    assert_eq!(on_second["websocket"]["resyncs"], 0, "{on_second}");
    first.shutdown().await;
    second.shutdown().await;
}

//! Server benchmark: starts the real `codeinsight serve` binary on a fresh database and measures (1) sustained
//! files per second through `POST /api/v1/runs` with small real source files (this repository's own sources and
//! the rule fixtures), followed to their terminal events over a `WebSocket`, and how long each terminal
//! `job_update` took from its commit to that socket; (2) how long one `job_update` takes to reach 1,000
//! subscribed sockets; (3) the server's resident memory idle, under load and with the sockets open.
//!
//! `--database postgres` runs on a throwaway `PostgreSQL` cluster, and `--instances N` starts N servers on it:
//! runs are submitted to them in turn and followed on the first, so a job another instance ran reaches the socket
//! through the relay between instances. `--queue-only` measures the queue alone (claim and complete, no analysis)
//! through the store. Run it through `scripts/bench-server.sh`, which builds the release binary first.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark's report is its standard output, its failure goes to standard error"
)]

mod common;

use std::error::Error;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use codeinsight::protocol::{RunCreated, ServerMessage};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[path = "../tests/common/postgres.rs"]
#[allow(
    dead_code,
    clippy::unwrap_used,
    reason = "the tests' throwaway cluster: the benchmark starts and stops one, and it panics with the reason when it cannot"
)]
mod postgres;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;
type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Largest input file used; the benchmark is about small files.
const MAX_INPUT_BYTES: u64 = 32 * 1024;
const EXTENSIONS: [&str; 6] = ["rs", "py", "js", "ts", "go", "tsx"];

struct Options {
    server_bin: PathBuf,
    files: usize,
    run_size: usize,
    submitters: usize,
    sockets: usize,
    workers: usize,
    /// `sqlite` or `postgres`.
    database: String,
    instances: usize,
    queue_only: bool,
}

fn options() -> BenchResult<Options> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut options = Options {
        server_bin: manifest.join("target/release/codeinsight"),
        files: 20_000,
        run_size: 500,
        submitters: 2,
        sockets: 1000,
        workers: 2,
        database: "sqlite".to_owned(),
        instances: 1,
        queue_only: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("`{arg}` needs a value"));
        match arg.as_str() {
            "--server-bin" => options.server_bin = PathBuf::from(value()?),
            "--files" => options.files = value()?.parse()?,
            "--run-size" => options.run_size = value()?.parse()?,
            "--submitters" => options.submitters = value()?.parse()?,
            "--sockets" => options.sockets = value()?.parse()?,
            "--workers" => options.workers = value()?.parse()?,
            "--database" => options.database = value()?,
            "--instances" => options.instances = value()?.parse()?,
            "--queue-only" => options.queue_only = true,
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    if !matches!(options.database.as_str(), "sqlite" | "postgres") {
        return Err("`--database` is `sqlite` or `postgres`".into());
    }
    if options.instances > 1 && options.database == "sqlite" {
        return Err("several instances need `--database postgres`".into());
    }
    // The server starts in a temporary directory, so its path must not be relative.
    options.server_bin = std::fs::canonicalize(&options.server_bin)
        .map_err(|error| format!("`{}`: {error}", options.server_bin.display()))?;
    Ok(options)
}

fn collect_inputs(dir: &Path, inputs: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_inputs(&path, inputs);
            continue;
        }
        let wanted = path
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| EXTENSIONS.contains(&ext));
        let small = entry
            .metadata()
            .is_ok_and(|meta| meta.len() <= MAX_INPUT_BYTES);
        if wanted
            && small
            && let Ok(content) = std::fs::read_to_string(&path)
        {
            inputs.push((path.display().to_string(), content));
        }
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .unwrap_or(0)
}

fn rss_mib(pid: u32) -> f64 {
    rss_kib(pid) as f64 / 1024.0
}

/// The value at `per_mille`/1000 of a sorted sample (nearest rank).
fn percentile(sorted: &[f64], per_mille: usize) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) * per_mille).div_ceil(1000);
    sorted[index.min(sorted.len() - 1)]
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    /// A benchmark that stops early (an error, a closed stdout) must not leave its server running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `codeinsight serve` in `dir`, whose `codeinsight.toml` turns external linters off: the figures are for
/// the built-in rules and the secrets scan.
fn start_server(bin: &Path, dir: &Path, database: &str, workers: usize) -> BenchResult<Server> {
    std::fs::write(dir.join("codeinsight.toml"), "[linters]\nenabled = false\n")?;
    let mut child = Command::new(bin)
        .current_dir(dir)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            database,
            "--workers",
            &workers.to_string(),
            // The fan-out round holds 1,000 sockets on one token.
            "--max-sockets-per-token",
            "4096",
        ])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("starting `{}`: {error}", bin.display()))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sender = Some(sender);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split("listening on ").nth(1)
                && let Some(addr) = rest.split_whitespace().next()
                && let (Some(sender), Ok(addr)) = (sender.take(), addr.parse::<SocketAddr>())
            {
                let _ = sender.send(addr);
            }
        }
    });
    let addr = receiver.recv_timeout(Duration::from_secs(30))?;
    Ok(Server { child, addr })
}

async fn socket(addr: SocketAddr, token: &str) -> BenchResult<Socket> {
    let url = format!("ws://{addr}/ws/bench?token={token}");
    Ok(tokio_tungstenite::connect_async(url).await?.0)
}

async fn submit(
    http: &reqwest::Client,
    addr: SocketAddr,
    token: &str,
    files: &[(String, String)],
) -> BenchResult<RunCreated> {
    let files = files
        .iter()
        .map(|(path, content)| json!({"path": path, "content": content}))
        .collect::<Vec<_>>();
    let response = http
        .post(format!("http://{addr}/api/v1/runs"))
        .bearer_auth(token)
        .json(&json!({"files": files, "options": {"no_cache": true}}))
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(format!("submission failed: {}", response.text().await?).into());
    }
    Ok(response.json().await?)
}

/// Subscribes `socket` to the runs arriving on `runs` and counts terminal events until `expected`; returns each
/// one's delay from the server's commit (its timestamp) to its arrival, in ms.
async fn count_terminal_events(
    mut socket: Socket,
    mut runs: tokio::sync::mpsc::UnboundedReceiver<String>,
    expected: usize,
    failed: Arc<AtomicU64>,
) -> BenchResult<Vec<f64>> {
    let mut done = 0;
    let mut latencies = Vec::with_capacity(expected);
    let mut runs_open = true;
    while done < expected {
        tokio::select! {
            run = runs.recv(), if runs_open => match run {
                Some(run_id) => socket.send(Message::text(json!({"type": "subscribe", "run_id": run_id}).to_string())).await?,
                None => runs_open = false,
            },
            frame = socket.next() => {
                let frame = frame.ok_or("socket closed")??;
                if let Message::Text(text) = frame
                    && let Ok(ServerMessage::JobUpdate(update)) = serde_json::from_str(text.as_str())
                    && update.status.is_terminal()
                {
                    done += 1;
                    latencies.push((Utc::now() - update.timestamp).as_seconds_f64() * 1000.0);
                    if update.status != codeinsight::protocol::JobStatus::Completed {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
    Ok(latencies)
}

/// Files per second, the peak RSS of the first server (MiB), and each terminal event's delay from its commit to
/// the socket on the first server (ms, sorted).
async fn throughput(
    options: &Options,
    servers: &[Server],
    token: &str,
    inputs: &Arc<Vec<(String, String)>>,
) -> BenchResult<(f64, f64, Vec<f64>)> {
    let server = &servers[0];
    let addresses: Vec<SocketAddr> = servers.iter().map(|server| server.addr).collect();
    let http = reqwest::Client::new();
    let socket = socket(server.addr, token).await?;
    let (runs_sender, runs_receiver) = tokio::sync::mpsc::unbounded_channel();
    let failed = Arc::new(AtomicU64::new(0));
    let runs = options.files.div_ceil(options.run_size);
    let total = runs * options.run_size;
    let peak_rss = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = Arc::clone(&peak_rss);
        let pid = server.child.id();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let started = Instant::now();
    let counter = tokio::spawn(count_terminal_events(
        socket,
        runs_receiver,
        total,
        Arc::clone(&failed),
    ));
    let mut submitters = Vec::new();
    for submitter in 0..options.submitters {
        let http = http.clone();
        let inputs = Arc::clone(inputs);
        let token = token.to_owned();
        let runs_sender = runs_sender.clone();
        let addresses = addresses.clone();
        let (run_size, count) = (options.run_size, options.submitters);
        submitters.push(tokio::spawn(async move {
            let mut run = submitter;
            while run < runs {
                let files = (0..run_size)
                    .map(|index| inputs[(run * run_size + index) % inputs.len()].clone())
                    .collect::<Vec<_>>();
                // Runs go to the instances in turn.
                let addr = addresses[run % addresses.len()];
                let created = submit(&http, addr, &token, &files).await?;
                let _ = runs_sender.send(created.run_id);
                run += count;
            }
            BenchResult::Ok(())
        }));
    }
    drop(runs_sender);
    for submitter in submitters {
        submitter.await??;
    }
    let mut latencies = counter.await??;
    latencies.sort_by(f64::total_cmp);
    let elapsed = started.elapsed().as_secs_f64();
    sampler.abort();
    let failures = failed.load(Ordering::Relaxed);
    if failures > 0 {
        return Err(format!("{failures} jobs failed").into());
    }
    Ok((
        total as f64 / elapsed,
        peak_rss.load(Ordering::Relaxed) as f64 / 1024.0,
        latencies,
    ))
}

/// Fan-out rounds: each round queues a probe job behind a blocker run, subscribes every socket to it, and times
/// its three `job_update`s (analysing, storing, completed) from the server's timestamp to their arrival.
const FANOUT_ROUNDS: usize = 5;

/// Latencies (ms) of one round's events at one socket, by stage name.
type StageLatencies = Vec<(String, f64)>;

/// Subscribes to each round's probe run when told, and reports that round's latencies.
async fn probe_listener(
    mut socket: Socket,
    mut rounds: tokio::sync::broadcast::Receiver<String>,
    subscribed: tokio::sync::mpsc::UnboundedSender<()>,
    results: tokio::sync::mpsc::UnboundedSender<(StageLatencies, usize)>,
) -> BenchResult<()> {
    while let Ok(run_id) = rounds.recv().await {
        socket
            .send(Message::text(
                json!({"type": "subscribe", "run_id": run_id}).to_string(),
            ))
            .await?;
        let mut latencies = Vec::new();
        let mut replayed = 0;
        let mut subscribed_at = None;
        loop {
            let frame = socket.next().await.ok_or("socket closed")??;
            let Message::Text(text) = frame else { continue };
            match serde_json::from_str::<ServerMessage>(text.as_str())? {
                ServerMessage::Subscribed { .. } => {
                    subscribed_at = Some(Utc::now());
                    let _ = subscribed.send(());
                }
                ServerMessage::JobUpdate(update) => {
                    let arrived = Utc::now();
                    let terminal = update.status.is_terminal();
                    if subscribed_at.is_none_or(|at| update.timestamp < at) {
                        // Replayed from the database on subscription, not a live fan-out.
                        replayed += 1;
                    } else {
                        let latency = (arrived - update.timestamp).num_microseconds().unwrap_or(0)
                            as f64
                            / 1000.0;
                        latencies.push((update.data.stage.as_str().to_owned(), latency));
                    }
                    if terminal {
                        break;
                    }
                }
                _ => {}
            }
        }
        let _ = results.send((latencies, replayed));
    }
    Ok(())
}

struct Fanout {
    /// Every live delivery, by stage, sorted.
    by_stage: Vec<(String, Vec<f64>)>,
    all: Vec<f64>,
    replayed: usize,
    rss_with_sockets: f64,
}

async fn fanout(
    options: &Options,
    server: &Server,
    token: &str,
    inputs: &Arc<Vec<(String, String)>>,
) -> BenchResult<Fanout> {
    let http = reqwest::Client::new();
    let (rounds, _) = tokio::sync::broadcast::channel::<String>(FANOUT_ROUNDS);
    let (subscribed_sender, mut subscribed) = tokio::sync::mpsc::unbounded_channel();
    let (results_sender, mut results) = tokio::sync::mpsc::unbounded_channel();
    let mut listeners = Vec::with_capacity(options.sockets);
    for _ in 0..options.sockets {
        let socket = socket(server.addr, token).await?;
        listeners.push(tokio::spawn(probe_listener(
            socket,
            rounds.subscribe(),
            subscribed_sender.clone(),
            results_sender.clone(),
        )));
    }
    let rss_with_sockets = rss_mib(server.child.id());
    let blocker = inputs.iter().take(500).cloned().collect::<Vec<_>>();
    let mut by_stage: std::collections::BTreeMap<String, Vec<f64>> =
        std::collections::BTreeMap::new();
    let mut replayed = 0;
    for round in 0..FANOUT_ROUNDS {
        // Keep the workers busy while the sockets subscribe, so the probe is still queued when they have.
        for _ in 0..2 {
            submit(&http, server.addr, token, &blocker).await?;
        }
        let probe = vec![(
            format!("probe_{round}.py"),
            format!("def probe_{round}(text):\n    return eval(text)\n"),
        )];
        let run_id = submit(&http, server.addr, token, &probe).await?.run_id;
        rounds.send(run_id)?;
        for _ in 0..options.sockets {
            subscribed.recv().await.ok_or("a listener stopped")?;
        }
        for _ in 0..options.sockets {
            let (latencies, socket_replayed) = results.recv().await.ok_or("a listener stopped")?;
            replayed += socket_replayed;
            for (stage, latency) in latencies {
                by_stage.entry(stage).or_default().push(latency);
            }
        }
    }
    drop(rounds);
    for listener in listeners {
        listener.await??;
    }
    let mut all = by_stage.values().flatten().copied().collect::<Vec<_>>();
    all.sort_by(f64::total_cmp);
    let by_stage = by_stage
        .into_iter()
        .map(|(stage, mut latencies)| {
            latencies.sort_by(f64::total_cmp);
            (stage, latencies)
        })
        .collect();
    Ok(Fanout {
        by_stage,
        all,
        replayed,
        rss_with_sockets,
    })
}

/// Seconds the server spent analysing and jobs it finished, from `/metrics`.
async fn analysis_metrics(server: &Server, token: &str) -> BenchResult<(f64, f64)> {
    let text = reqwest::Client::new()
        .get(format!("http://{}/metrics", server.addr))
        .bearer_auth(token)
        .send()
        .await?
        .text()
        .await?;
    let value = |prefix: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.trim().parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    Ok((
        value("codeinsight_analysis_seconds_total "),
        value("codeinsight_jobs_finished_total{status=\"completed\"} "),
    ))
}

async fn run() -> BenchResult<()> {
    let options = options()?;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut inputs = Vec::new();
    collect_inputs(&manifest.join("src"), &mut inputs);
    collect_inputs(&manifest.join("rules"), &mut inputs);
    collect_inputs(&manifest.join("demo"), &mut inputs);
    inputs.sort();
    if inputs.is_empty() {
        return Err("no input files found".into());
    }
    let average = inputs
        .iter()
        .map(|(_, content)| content.len())
        .sum::<usize>()
        / inputs.len();
    let inputs = Arc::new(inputs);
    let dir = std::env::temp_dir().join(format!("codeinsight-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cluster = (options.database == "postgres").then(postgres::Cluster::start);
    let database = match &cluster {
        Some(cluster) => cluster.url(),
        None => format!("sqlite://{}", dir.join("bench.db").display()),
    };
    if options.queue_only {
        let result = queue_only(&options, &database).await;
        let _ = std::fs::remove_dir_all(&dir);
        return result;
    }
    let token = codeinsight::store::create_token(&database, "bench", true)
        .await?
        .token;

    let started = Instant::now();
    let mut servers = Vec::new();
    for instance in 0..options.instances {
        let instance_dir = dir.join(format!("instance-{instance}"));
        std::fs::create_dir_all(&instance_dir)?;
        servers.push(start_server(
            &options.server_bin,
            &instance_dir,
            &database,
            options.workers,
        )?);
    }
    let server = &servers[0];
    let startup = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = rss_mib(server.child.id());
    println!(
        "inputs: {} files from src/, rules/ and demo/ (average {average} bytes)",
        inputs.len()
    );
    println!(
        "server: {} instance(s) on {}, {} workers each, started and listening in {:.0} ms, idle RSS {rss_idle:.1} MiB",
        options.instances,
        options.database,
        options.workers,
        startup.as_secs_f64() * 1000.0
    );

    let result = async {
        let (rate, peak, latencies) = throughput(&options, &servers, &token, &inputs).await?;
        println!(
            "throughput: {} files in runs of {} with {} concurrent submitters: {rate:.0} files/s (submission to terminal WebSocket event), peak RSS {peak:.1} MiB",
            options.files.div_ceil(options.run_size) * options.run_size,
            options.run_size,
            options.submitters
        );
        println!(
            "terminal job_update from commit to the socket on the first instance: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(&latencies, 500),
            percentile(&latencies, 990),
            latencies.last().copied().unwrap_or(f64::NAN)
        );
        if options.instances > 1 {
            // The fan-out round is about one instance's sockets.
            return BenchResult::Ok(());
        }
        let (analysis_seconds, finished) = analysis_metrics(server, &token).await?;
        println!(
            "engine share: {:.2} ms of analysis per file on average (wall time on the analysis threads; {} workers)",
            analysis_seconds * 1000.0 / finished,
            options.workers
        );
        let fanout = fanout(&options, server, &token, &inputs).await?;
        println!(
            "fan-out: {} sockets, {FANOUT_ROUNDS} rounds of one probe job, {} live job_update deliveries ({} replayed on subscribe, excluded), RSS with sockets open {:.1} MiB",
            options.sockets,
            fanout.all.len(),
            fanout.replayed,
            fanout.rss_with_sockets
        );
        for (stage, latencies) in fanout.by_stage.iter().map(|(stage, latencies)| (stage.as_str(), latencies)).chain([("all", &fanout.all)]) {
            println!(
                "  {stage:>9}: {} deliveries, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                latencies.len(),
                percentile(latencies, 500),
                percentile(latencies, 990),
                latencies.last().copied().unwrap_or(f64::NAN)
            );
        }
        BenchResult::Ok(())
    }
    .await;
    for server in &mut servers {
        let _ = Command::new("kill")
            .args(["-TERM", &server.child.id().to_string()])
            .status();
        let _ = server.child.wait();
    }
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The queue alone: `--files` jobs inserted, then claimed and completed by `--workers` concurrent claimers (each
/// as an instance of its own) through the store, batches of 64 as the server claims, with no analysis.
async fn queue_only(options: &Options, database: &str) -> BenchResult<()> {
    use codeinsight::protocol::{JobStatus, JobType, TokensUsed};
    use codeinsight::store::{JobOutcome, NewJob, NewRun, Store};
    let store = Store::connect(database).await?;
    let now = Utc::now().timestamp_micros();
    let runs = options.files.div_ceil(options.run_size);
    for run in 0..runs {
        let run_id = format!("run-{run}");
        let jobs: Vec<NewJob> = (0..options.run_size)
            .map(|index| NewJob {
                job_id: format!("job-{run}-{index}"),
                user_id: format!("user-{}", run % 4),
                run_id: Some(run_id.clone()),
                job_type: JobType::Review,
                file_path: format!("src/m{index}.py"),
                language: "python".to_owned(),
                repo_id: None,
                file_content: "x = 1\n".to_owned(),
                content_sha256: String::new(),
                error_log: None,
                no_cache: true,
                ai: None,
                no_linters: true,
                metadata: serde_json::Map::new(),
            })
            .collect();
        let new_run = NewRun {
            run_id,
            user_id: format!("user-{}", run % 4),
            repo_id: None,
            rejected: Vec::new(),
            rules: None,
            gate: codeinsight::protocol::RunGate::default(),
            context: codeinsight::protocol::RunContext::default(),
            error: None,
        };
        store.insert_run(&new_run, &jobs, now).await?;
    }
    let total = runs * options.run_size;
    let started = Instant::now();
    let mut claimers = Vec::new();
    for claimer in 0..options.workers {
        let store = store.clone();
        claimers.push(tokio::spawn(async move {
            let worker = format!("bench/pid-{claimer}/queue");
            let mut done = 0_usize;
            loop {
                let now = Utc::now().timestamp_micros();
                let claimed = store
                    .claim_jobs(&worker, now + 30_000_000, now, 64, None, &|_| usize::MAX)
                    .await?;
                if claimed.is_empty() {
                    break;
                }
                let outcomes: Vec<JobOutcome> = claimed
                    .iter()
                    .map(|job| JobOutcome {
                        job_id: job.job_id.clone(),
                        status: JobStatus::Completed,
                        results: None,
                        error: None,
                        cache_hit: false,
                        tokens_used: TokensUsed::default(),
                        estimated_cost: 0.0,
                        metadata: serde_json::Map::new(),
                        content_at_rest: None,
                        run_id: job.run_id.clone(),
                    })
                    .collect();
                let applied = store.finish_jobs(&worker, &outcomes, &[], now).await?;
                done += applied.iter().filter(|applied| **applied).count();
            }
            BenchResult::Ok(done)
        }));
    }
    let mut done = 0;
    for claimer in claimers {
        done += claimer.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if done != total {
        return Err(format!("{done} of {total} jobs completed").into());
    }
    println!(
        "queue only ({}): {total} jobs claimed and completed by {} concurrent claimers in {elapsed:.2} s: {:.0} jobs/s",
        options.database,
        options.workers,
        total as f64 / elapsed
    );
    store.close().await;
    Ok(())
}

fn main() -> ExitCode {
    common::run_main(run)
}

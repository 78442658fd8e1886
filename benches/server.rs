//! Server benchmark: starts the real `codeinsight serve` binary on a fresh `SQLite` database and measures (1)
//! sustained files per second through `POST /api/v1/runs` with small real source files (this repository's own
//! sources and the rule fixtures), followed to their terminal events over a `WebSocket`; (2) how long one
//! `job_update` takes to reach 1,000 subscribed sockets; (3) the server's resident memory idle, under load and
//! with the sockets open. Run it through `scripts/bench-server.sh`, which builds the release binary first.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark's report is its standard output, its failure goes to standard error"
)]

use std::collections::HashSet;
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
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            other => return Err(format!("unknown argument `{other}`").into()),
        }
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

/// Subscribes `socket` to the runs arriving on `runs` and counts terminal events until `expected`.
async fn count_terminal_events(
    mut socket: Socket,
    mut runs: tokio::sync::mpsc::UnboundedReceiver<String>,
    expected: usize,
    failed: Arc<AtomicU64>,
) -> BenchResult<()> {
    let mut done = 0;
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
                    if update.status != codeinsight::protocol::JobStatus::Completed {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
    Ok(())
}

async fn throughput(
    options: &Options,
    server: &Server,
    token: &str,
    inputs: &Arc<Vec<(String, String)>>,
) -> BenchResult<(f64, f64)> {
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
        let (addr, run_size, count) = (server.addr, options.run_size, options.submitters);
        submitters.push(tokio::spawn(async move {
            let mut run = submitter;
            while run < runs {
                let files = (0..run_size)
                    .map(|index| inputs[(run * run_size + index) % inputs.len()].clone())
                    .collect::<Vec<_>>();
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
    counter.await??;
    let elapsed = started.elapsed().as_secs_f64();
    sampler.abort();
    let failures = failed.load(Ordering::Relaxed);
    if failures > 0 {
        return Err(format!("{failures} jobs failed").into());
    }
    Ok((
        total as f64 / elapsed,
        peak_rss.load(Ordering::Relaxed) as f64 / 1024.0,
    ))
}

/// One subscribed socket: waits for every probe job's terminal event and returns each event's latency (ms)
/// from the server's timestamp to its arrival here.
async fn probe_listener(
    mut socket: Socket,
    probes: Vec<String>,
    ready: Arc<tokio::sync::Barrier>,
) -> BenchResult<(Vec<f64>, usize)> {
    for run_id in &probes {
        socket
            .send(Message::text(
                json!({"type": "subscribe", "run_id": run_id}).to_string(),
            ))
            .await?;
    }
    let mut acknowledged = 0;
    let mut latencies = Vec::new();
    let mut terminal = HashSet::new();
    let mut replayed = 0;
    let mut subscribed_at = Utc::now();
    let mut waited = false;
    while terminal.len() < probes.len() {
        let frame = socket.next().await.ok_or("socket closed")??;
        let Message::Text(text) = frame else { continue };
        match serde_json::from_str::<ServerMessage>(text.as_str())? {
            ServerMessage::Subscribed { .. } => {
                acknowledged += 1;
                if acknowledged == probes.len() && !waited {
                    waited = true;
                    ready.wait().await;
                    subscribed_at = Utc::now();
                }
            }
            ServerMessage::JobUpdate(update) => {
                let arrived = Utc::now();
                if update.status.is_terminal() {
                    terminal.insert(update.job_id.clone());
                }
                if update.timestamp < subscribed_at {
                    // Replayed from the database on subscription, not a live fan-out.
                    replayed += 1;
                    continue;
                }
                let latency =
                    (arrived - update.timestamp).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                latencies.push(latency);
            }
            _ => {}
        }
    }
    Ok((latencies, replayed))
}

async fn fanout(
    options: &Options,
    server: &Server,
    token: &str,
    inputs: &Arc<Vec<(String, String)>>,
) -> BenchResult<(Vec<f64>, usize, f64)> {
    let http = reqwest::Client::new();
    // Keep the workers busy while the sockets connect, so the probes are still queued when subscribed.
    let blocker = inputs.iter().take(500).cloned().collect::<Vec<_>>();
    for _ in 0..10 {
        submit(&http, server.addr, token, &blocker).await?;
    }
    let mut probes = Vec::new();
    for index in 0..3 {
        let file = vec![(
            format!("probe_{index}.py"),
            format!("def probe_{index}(text):\n    return eval(text)\n"),
        )];
        probes.push(submit(&http, server.addr, token, &file).await?.run_id);
    }
    let ready = Arc::new(tokio::sync::Barrier::new(options.sockets + 1));
    let mut listeners = Vec::with_capacity(options.sockets);
    for _ in 0..options.sockets {
        let socket = socket(server.addr, token).await?;
        listeners.push(tokio::spawn(probe_listener(
            socket,
            probes.clone(),
            Arc::clone(&ready),
        )));
    }
    ready.wait().await;
    let rss_with_sockets = rss_mib(server.child.id());
    let mut latencies = Vec::new();
    let mut replayed = 0;
    for listener in listeners {
        let (mut socket_latencies, socket_replayed) = listener.await??;
        latencies.append(&mut socket_latencies);
        replayed += socket_replayed;
    }
    latencies.sort_by(f64::total_cmp);
    Ok((latencies, replayed, rss_with_sockets))
}

async fn run() -> BenchResult<()> {
    let options = options()?;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut inputs = Vec::new();
    collect_inputs(&manifest.join("src"), &mut inputs);
    collect_inputs(&manifest.join("rules"), &mut inputs);
    collect_inputs(&manifest.join("examples"), &mut inputs);
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
    let database = format!("sqlite://{}", dir.join("bench.db").display());
    let token = codeinsight::store::create_token(&database, "bench", false)
        .await?
        .token;

    let started = Instant::now();
    let mut server = start_server(&options.server_bin, &dir, &database, options.workers)?;
    let startup = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = rss_mib(server.child.id());
    println!(
        "inputs: {} files from src/, rules/ and examples/ (average {average} bytes)",
        inputs.len()
    );
    println!(
        "server: {} workers, started and listening in {:.0} ms, idle RSS {rss_idle:.1} MiB",
        options.workers,
        startup.as_secs_f64() * 1000.0
    );

    let result = async {
        let (rate, peak) = throughput(&options, &server, &token, &inputs).await?;
        println!(
            "throughput: {} files in runs of {} with {} concurrent submitters: {rate:.0} files/s (submission to terminal WebSocket event), peak RSS {peak:.1} MiB",
            options.files.div_ceil(options.run_size) * options.run_size,
            options.run_size,
            options.submitters
        );
        let (latencies, replayed, rss_sockets) = fanout(&options, &server, &token, &inputs).await?;
        println!(
            "fan-out: {} sockets x 3 probe jobs, {} live job_update deliveries ({replayed} replayed on subscribe, excluded): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; RSS with sockets open {rss_sockets:.1} MiB",
            options.sockets,
            latencies.len(),
            percentile(&latencies, 500),
            percentile(&latencies, 990),
            latencies.last().copied().unwrap_or(f64::NAN),
        );
        BenchResult::Ok(())
    }
    .await;
    let _ = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status();
    let _ = server.child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

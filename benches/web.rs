//! Web view benchmark: a database with 100,000 reviewed files (2,000 runs of 50), results computed by the real
//! engine on this repository's demo and rule fixture files, then the real server in-process on 127.0.0.1:0 and a
//! signed-in HTTP client reading pages. For each page it reports the server's own time (`Server-Timing`, the
//! handler from request to rendered body) as p50/p99 over repeated reads, the wall time seen by the client, and
//! the page's weight with its script and stylesheet. History is read at several depths through keyset cursors
//! (page 1 to the very last page), with and without filters.
//!
//! `scripts/bench-web.sh` builds it in release and runs it; `--jobs N` changes the size, `--database URL` uses an
//! existing empty database (e.g. `postgres://...`) instead of a temporary SQLite file.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark's report is its standard output, its failure goes to standard error"
)]

mod common;

use std::error::Error;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use chrono::Utc;
use codeinsight::engine::{Language, RuleSet, SourceFile, analyze};
use codeinsight::protocol::{
    JobResults, JobStatus, JobType, LintResult, RunContext, RunGate, TokensUsed,
};
use codeinsight::store::{JobOutcome, NewJob, NewRun, Store};

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const RUN_SIZE: usize = 50;
const USER: &str = "bench";
/// Reads of each page measured (after one warm-up read).
const READS: usize = 40;

struct Sample {
    path: String,
    language: String,
    content: String,
    results: JobResults,
}

/// Real files and what the real engine finds in them.
fn samples() -> BenchResult<Vec<Sample>> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = RuleSet::builtin()?;
    let mut samples = Vec::new();
    let mut pending = vec![manifest.join("demo"), manifest.join("rules")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let Ok(content) = std::fs::read_to_string(&path) else {
                continue;
            };
            let relative = path.strip_prefix(manifest)?.display().to_string();
            let Some(language) = Language::detect(&relative, &content) else {
                continue;
            };
            let findings = analyze(
                &SourceFile {
                    path: &relative,
                    content: &content,
                    language: Some(language),
                },
                &rules,
            );
            samples.push(Sample {
                path: relative,
                language: language.name().to_owned(),
                content,
                results: JobResults {
                    content: String::new(),
                    lint_result: LintResult::from_findings(&findings),
                    findings,
                    stages: Vec::new(),
                    cached: false,
                    model: None,
                    elapsed_time: 0.01,
                    truncated: None,
                },
            });
        }
    }
    samples.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(samples)
}

/// `jobs` reviewed files in runs of [`RUN_SIZE`], completed through the queue as the server completes them.
async fn seed(store: &Store, jobs: usize, samples: &[Sample]) -> BenchResult<()> {
    let runs = jobs.div_ceil(RUN_SIZE);
    let start = Utc::now().timestamp_micros() - i64::try_from(runs)? * 60_000_000;
    for run in 0..runs {
        let run_id = uuid::Uuid::new_v4().to_string();
        let created = start + i64::try_from(run)? * 60_000_000;
        let new_jobs: Vec<NewJob> = (0..RUN_SIZE)
            .map(|index| {
                let sample = &samples[(run * RUN_SIZE + index) % samples.len()];
                NewJob {
                    job_id: uuid::Uuid::new_v4().to_string(),
                    user_id: USER.to_owned(),
                    run_id: Some(run_id.clone()),
                    job_type: JobType::Review,
                    file_path: format!("r{run}/{}", sample.path),
                    language: sample.language.clone(),
                    repo_id: None,
                    file_content: sample.content.clone(),
                    content_sha256: String::new(),
                    error_log: None,
                    no_cache: true,
                    ai: None,
                    no_linters: true,
                    metadata: serde_json::Map::new(),
                }
            })
            .collect();
        let new_run = NewRun {
            run_id,
            user_id: USER.to_owned(),
            repo_id: None,
            rejected: Vec::new(),
            rules: None,
            gate: RunGate::default(),
            context: RunContext {
                commit: Some(format!("{run:040x}")),
                branch: Some(format!("feature/{}", run % 17)),
                repository: Some("example.org/acme/shop".to_owned()),
                ci_url: None,
            },
            error: None,
        };
        store.insert_run(&new_run, &new_jobs, created).await?;
        // Complete them the way the server does: claimed under a lease, then finished in one batch.
        let claimed = store
            .claim_jobs(
                "bench/pid-1/seed",
                created + 60_000_000,
                created,
                64,
                None,
                &|_| usize::MAX,
            )
            .await?;
        let outcomes: Vec<JobOutcome> = claimed
            .iter()
            .map(|job| {
                let sample = samples
                    .iter()
                    .find(|sample| job.file_path.ends_with(&sample.path))
                    .unwrap_or(&samples[0]);
                let mut results = sample.results.clone();
                for finding in &mut results.findings {
                    finding.path.clone_from(&job.file_path);
                }
                JobOutcome {
                    job_id: job.job_id.clone(),
                    status: JobStatus::Completed,
                    results: Some(results),
                    error: None,
                    cache_hit: false,
                    tokens_used: TokensUsed::default(),
                    estimated_cost: 0.0,
                    metadata: serde_json::Map::new(),
                    content_at_rest: None,
                    run_id: job.run_id.clone(),
                }
            })
            .collect();
        store
            .finish_jobs("bench/pid-1/seed", &outcomes, &[], created + 1_000_000)
            .await?;
        if run % 200 == 199 {
            eprintln!("seeded {} jobs", (run + 1) * RUN_SIZE);
        }
    }
    Ok(())
}

struct Measured {
    server_ms: Vec<f64>,
    wall_ms: Vec<f64>,
    bytes: usize,
}

async fn measure(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    path: &str,
) -> BenchResult<Measured> {
    let mut server_ms = Vec::with_capacity(READS);
    let mut wall_ms = Vec::with_capacity(READS);
    let mut bytes = 0;
    for read in 0..=READS {
        let started = Instant::now();
        let response = http
            .get(format!("{base}{path}"))
            .header("cookie", cookie)
            .send()
            .await?;
        let status = response.status();
        let timing = response
            .headers()
            .get("server-timing")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("app;dur="))
            .and_then(|value| value.parse::<f64>().ok());
        let body = response.bytes().await?;
        let wall = started.elapsed().as_secs_f64() * 1000.0;
        if !status.is_success() {
            return Err(format!("{path}: HTTP {status}").into());
        }
        if read == 0 {
            continue;
        }
        server_ms.push(timing.ok_or("no Server-Timing header")?);
        wall_ms.push(wall);
        bytes = body.len();
    }
    Ok(Measured {
        server_ms,
        wall_ms,
        bytes,
    })
}

fn percentile(values: &[f64], fraction: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    // The nearest rank: `fraction` of the way through the sorted reads.
    let last = sorted.len() - 1;
    let index = (0..=last)
        .find(|index| *index as f64 >= last as f64 * fraction - 0.5)
        .unwrap_or(last);
    sorted[index]
}

async fn run() -> BenchResult<()> {
    let mut jobs = 100_000;
    let mut database = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--jobs" => jobs = args.next().ok_or("--jobs needs a value")?.parse()?,
            "--database" => database = Some(args.next().ok_or("--database needs a value")?),
            "--bench" => {}
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let dir = tempfile::tempdir()?;
    let database =
        database.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("web.db").display()));
    let samples = samples()?;
    let store = Store::connect(&database).await?;
    let seeding = Instant::now();
    seed(&store, jobs, &samples).await?;
    let token = store.create_token(USER, false).await?;
    store.close().await;
    eprintln!(
        "seeded {jobs} jobs from {} real files in {:.1} s",
        samples.len(),
        seeding.elapsed().as_secs_f64()
    );

    let mut config =
        codeinsight::server::ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), &database);
    config.workers = 1;
    let server = codeinsight::server::start(config).await?;
    let base = server.base_url();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = http
        .post(format!("{base}/login"))
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", token.token))
        .send()
        .await?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .ok_or("no session cookie")?
        .to_owned();
    let assets: usize = [
        codeinsight::render::html::STYLESHEET.len(),
        codeinsight::render::html::SCRIPT.len(),
    ]
    .iter()
    .sum();

    // Keyset cursors at several depths, read from the API the way a client pages.
    let mut cursors: Vec<(usize, String)> = Vec::new();
    for depth in [0_usize, 1_000, 10_000, 50_000, jobs.saturating_sub(50)] {
        if depth == 0 {
            cursors.push((0, String::new()));
        } else if depth < jobs {
            cursors.push((depth, cursor_at(&http, &base, &token.token, depth).await?));
        }
    }

    println!(
        "web view, {jobs} jobs in {} runs ({}), {READS} reads per page, {} build",
        jobs / RUN_SIZE,
        if database.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!("| page | server p50 | server p99 | client p50 | HTML | with script and stylesheet |");
    println!("|---|---|---|---|---|---|");
    let report = |name: String, measured: &Measured| {
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} KB | {:.1} KB |",
            percentile(&measured.server_ms, 0.5),
            percentile(&measured.server_ms, 0.99),
            percentile(&measured.wall_ms, 0.5),
            measured.bytes as f64 / 1024.0,
            (measured.bytes + assets) as f64 / 1024.0
        );
    };
    for (depth, cursor) in &cursors {
        let path = if cursor.is_empty() {
            "/history".to_owned()
        } else {
            format!("/history?cursor={cursor}")
        };
        report(
            format!("history, row {depth}"),
            &measure(&http, &base, &cookie, &path).await?,
        );
    }
    // The rule the samples find most often, searched for by id.
    let mut rule_counts = std::collections::HashMap::<&str, usize>::new();
    for sample in &samples {
        for finding in &sample.results.findings {
            *rule_counts.entry(finding.rule_id.as_str()).or_default() += 1;
        }
    }
    let rule = rule_counts
        .iter()
        .max_by_key(|(id, count)| (**count, std::cmp::Reverse(**id)))
        .map(|(id, _)| (*id).to_owned())
        .ok_or("the samples have no findings")?;
    let rule_query = format!("search={}", rule.replace('/', "%2F"));
    for (name, query) in [
        ("status=completed", "status=completed"),
        ("language=python", "language=python"),
        ("type=review, since a date", "type=review&since=2000-01-01"),
        ("search by path", "search=rust%2Fexpect"),
        ("search by rule id", rule_query.as_str()),
        ("search matching nothing", "search=no-such-thing"),
    ] {
        report(
            format!("history, {name}"),
            &measure(&http, &base, &cookie, &format!("/history?{query}")).await?,
        );
        if let Some((depth, cursor)) = cursors.get(3) {
            report(
                format!("history, {name}, from row {depth}"),
                &measure(
                    &http,
                    &base,
                    &cookie,
                    &format!("/history?{query}&cursor={cursor}"),
                )
                .await?,
            );
        }
    }
    report(
        "runs, page 1".to_owned(),
        &measure(&http, &base, &cookie, "/").await?,
    );
    report(
        "runs, status=failed".to_owned(),
        &measure(&http, &base, &cookie, "/?status=failed").await?,
    );
    let runs: serde_json::Value = http
        .get(format!("{base}/api/v1/runs"))
        .bearer_auth(&token.token)
        .send()
        .await?
        .json()
        .await?;
    let run_id = runs["runs"][0]["run_id"]
        .as_str()
        .ok_or("no run")?
        .to_owned();
    report(
        format!("run ({RUN_SIZE} files)"),
        &measure(&http, &base, &cookie, &format!("/runs/{run_id}")).await?,
    );
    let run: serde_json::Value = http
        .get(format!("{base}/api/v1/runs/{run_id}"))
        .bearer_auth(&token.token)
        .send()
        .await?
        .json()
        .await?;
    let job_id = run["jobs"]
        .as_array()
        .and_then(|jobs| {
            jobs.iter()
                .max_by_key(|job| job["results"]["findings"].as_array().map_or(0, Vec::len))
        })
        .and_then(|job| job["job_id"].as_str())
        .ok_or("no job")?
        .to_owned();
    report(
        "file with the most findings of that run".to_owned(),
        &measure(&http, &base, &cookie, &format!("/files/{job_id}")).await?,
    );
    server.shutdown().await;
    Ok(())
}

/// The keyset cursor after the first `depth` history rows, from API pages that end exactly there.
async fn cursor_at(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    depth: usize,
) -> BenchResult<String> {
    let mut cursor: Option<String> = None;
    let mut left = depth;
    while left > 0 {
        let take = left.min(500);
        let mut request = http
            .get(format!("{base}/jobs/user/{USER}"))
            .bearer_auth(token)
            .query(&[("limit", take.to_string())]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let page: serde_json::Value = request.send().await?.json().await?;
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        left -= take;
    }
    cursor.ok_or_else(|| "no cursor at that depth".into())
}

fn main() -> ExitCode {
    common::run_main(run)
}

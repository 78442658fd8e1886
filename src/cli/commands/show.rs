//! `codeinsight show JOB_ID|RUN_ID`: re-render a stored run or job exactly as `review` did, following it live
//! first if it is still running, with the same exit codes. A run is judged with the gate it was made with
//! (`--fail-on`, `--report-min` given here still win), and found by the start of its id too.

use std::collections::HashMap;
use std::path::Path;

use futures_util::{StreamExt, stream};

use crate::client::{ApiClient, ClientError, RunQuery, Snapshot, Subject};
use crate::protocol::RunSummary;
use crate::render::{Outcome, one_line};

use crate::cli::args::ShowArgs;
use crate::cli::config::Config;
use crate::cli::connection::Connection;
use crate::cli::exit_status::ExitStatus;
use crate::cli::failure::Failure;
use crate::cli::outcome::{Extras, attach_rule_docs, build_report};
use crate::cli::output::{Written, write_outputs};
use crate::cli::printer::Printer;
use crate::cli::progress::Progress;
use crate::cli::settings::{GateSettings, ServerChoice};
use crate::cli::waiting::wait_for;

/// Job documents fetched at once for their sources.
const PARALLEL_FETCHES: usize = 8;
/// The shortest start of a run id looked up as one.
const MIN_PREFIX: usize = 4;
/// Runs read when looking a run up by its id or the start of it.
const PREFIX_CANDIDATES: usize = 20;

pub async fn show(args: &ShowArgs, printer: Printer, cwd: &Path) -> Result<ExitStatus, Failure> {
    let deadline_base = tokio::time::Instant::now();
    let config = Config::discover(cwd)?;
    let settings = GateSettings::resolve(&args.gate, &config)?;
    let choice = ServerChoice::resolve(&args.server, &config)?;
    let connection = Connection::open(&choice).await?;
    let deadline = settings.timeout.map(|timeout| deadline_base + timeout);
    let result = run_show(args, printer, &settings, &connection, deadline).await;
    connection.close().await;
    result
}

async fn run_show(
    args: &ShowArgs,
    printer: Printer,
    settings: &GateSettings,
    connection: &Connection,
    deadline: Option<tokio::time::Instant>,
) -> Result<ExitStatus, Failure> {
    let client = &connection.client;
    let (subject, mut snapshot, summary) = find(client, &args.id).await?;
    // The run is judged with the gate it was made with, unless this command line names one.
    let mut settings = settings.clone();
    if let Some(summary) = &summary {
        settings.adopt_run_gate(&args.gate, summary.gate);
    }
    if !snapshot.is_finished() {
        let total = snapshot.jobs.len();
        let mut progress = Progress::new(printer, total, subject.id(), settings.quiet);
        snapshot = wait_for(
            connection,
            &subject,
            &mut progress,
            deadline,
            settings.timeout_seconds,
            total,
        )
        .await?;
        progress.finish();
    }
    let sources = sources(connection, &snapshot).await;
    let extras = Extras {
        sources,
        client_skipped: Vec::new(),
        elapsed: None,
        fixes: None,
    };
    let (mut report, mut status) = build_report(&snapshot, settings.threshold, extras);
    // A run that failed to start (refused by the server, or a request adding its files failed) was not reviewed
    // whole: it is at best incomplete, and its verdict says why.
    if let (Subject::Run(_), Some(error)) = (
        &subject,
        summary
            .as_ref()
            .and_then(|summary| summary.error.as_deref()),
    ) {
        if status == ExitStatus::Success {
            status = ExitStatus::Incomplete;
            report.verdict.outcome = Outcome::Incomplete;
            report.verdict.exit_code = status.code();
        }
        report.verdict.summary = format!(
            "the run failed to start ({}); {}",
            one_line(error),
            report.verdict.summary
        );
    }
    attach_rule_docs(&connection.client, &mut report).await;
    match write_outputs(&report, &settings, printer)? {
        Written::All => Ok(status),
        Written::BrokenPipe => Ok(ExitStatus::Success),
    }
}

/// The run or job `id` names, with the summary of its run (its gate, its context, why it failed to start) when
/// the server keeps one. A run is also found by the start of its id, as `history` shows it.
async fn find(
    client: &ApiClient,
    id: &str,
) -> Result<(Subject, Snapshot, Option<RunSummary>), Failure> {
    match client.run(id).await {
        Ok(mut run) => {
            let summary = run.summary.take();
            return Ok((
                Subject::Run(id.to_owned()),
                Snapshot::from_run(run),
                summary,
            ));
        }
        Err(ClientError::NotFound { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    match client.job(id).await {
        Ok(job) => {
            let summary = match job.run_id.as_deref() {
                Some(run_id) => run_summary(client, run_id).await,
                None => None,
            };
            return Ok((
                Subject::Job(id.to_owned()),
                Snapshot::from_job(job),
                summary,
            ));
        }
        Err(ClientError::NotFound { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    let not_found = || {
        Failure::usage(format!("no run or job `{id}`")).with_help(
            "list recent runs with `codeinsight history`, files with `codeinsight history --jobs`",
        )
    };
    if id.len() < MIN_PREFIX
        || !id
            .chars()
            .all(|character| character.is_ascii_hexdigit() || character == '-')
    {
        return Err(not_found());
    }
    let query = RunQuery {
        search: Some(id.to_owned()),
        limit: Some(PREFIX_CANDIDATES),
        ..RunQuery::default()
    };
    let candidates = match client.runs(&query).await {
        Ok(list) => list.runs,
        // A server without the runs list knows runs only by their whole id.
        Err(ClientError::NotFound { .. }) => return Err(not_found()),
        Err(error) => return Err(error.into()),
    };
    let mut matching: Vec<String> = candidates
        .into_iter()
        .map(|run| run.run_id)
        .filter(|run_id| run_id.starts_with(id))
        .collect();
    match matching.len() {
        0 => Err(not_found()),
        1 => {
            let run_id = matching.swap_remove(0);
            let mut run = client.run(&run_id).await?;
            let summary = run.summary.take();
            Ok((Subject::Run(run_id), Snapshot::from_run(run), summary))
        }
        _ => Err(Failure::usage(format!(
            "`{id}` starts more than one run id: {}",
            matching.join(", ")
        ))
        .with_help("give more of the id")),
    }
}

/// The summary of the run `run_id`, from the runs list (one small query, not the run's jobs); `None` when the
/// server does not keep one.
async fn run_summary(client: &ApiClient, run_id: &str) -> Option<RunSummary> {
    let query = RunQuery {
        search: Some(run_id.to_owned()),
        limit: Some(PREFIX_CANDIDATES),
        ..RunQuery::default()
    };
    match client.runs(&query).await {
        Ok(list) => list.runs.into_iter().find(|run| run.run_id == run_id),
        Err(error) => {
            tracing::debug!(error = %error, "reading the job's run summary failed");
            None
        }
    }
}

/// Run documents omit file contents; fetch each job for its source so that code frames can be drawn. A job that
/// cannot be fetched is framed from its findings' snippets instead.
async fn sources(connection: &Connection, snapshot: &Snapshot) -> HashMap<String, String> {
    let missing: Vec<&str> = snapshot
        .jobs
        .iter()
        .filter(|job| job.file_content.is_none())
        .filter(|job| {
            job.results
                .as_ref()
                .is_some_and(|results| !results.findings.is_empty())
        })
        .map(|job| job.job_id.as_str())
        .collect();
    stream::iter(missing)
        .map(|job_id| connection.client.job(job_id))
        .buffer_unordered(PARALLEL_FETCHES)
        .filter_map(|result| async move {
            result
                .ok()
                .and_then(|job| job.file_content.map(|content| (job.file_path, content)))
        })
        .collect()
        .await
}

//! `codeinsight show JOB_ID|RUN_ID`: re-render a stored run or job exactly as `review` did, following it live
//! first if it is still running, with the same exit codes.

use std::collections::HashMap;
use std::path::Path;

use futures_util::{StreamExt, stream};

use crate::client::{ClientError, Snapshot, Subject, fetch};

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
    let run_subject = Subject::Run(args.id.clone());
    let (subject, mut snapshot) = match fetch(client, &run_subject).await {
        Ok(snapshot) => (run_subject, snapshot),
        Err(ClientError::NotFound { .. }) => {
            let job_subject = Subject::Job(args.id.clone());
            match fetch(client, &job_subject).await {
                Ok(snapshot) => (job_subject, snapshot),
                Err(ClientError::NotFound { .. }) => {
                    return Err(Failure::usage(format!("no run or job `{}`", args.id))
                        .with_help("list recent jobs with `codeinsight history`"));
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(error) => return Err(error.into()),
    };
    if !snapshot.is_finished() {
        let total = snapshot.jobs.len();
        let mut progress = Progress::new(printer, total, &args.id, settings.quiet);
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
    let (mut report, status) = build_report(&snapshot, settings.threshold, extras);
    attach_rule_docs(&connection.client, &mut report).await;
    match write_outputs(&report, settings, printer)? {
        Written::All => Ok(status),
        Written::BrokenPipe => Ok(ExitStatus::Success),
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

//! `codeinsight review`: collect the files, submit them as one run, follow it live, build the report, apply or show
//! fixes, render every requested format and return the gate's exit status.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::client::{Snapshot, Subject};
use crate::protocol::{RejectedFile, RunContext, RunFile, RunGate, RunOptions, RunRequest};
use crate::render::plural;

use crate::cli::args::ReviewArgs;
use crate::cli::baseline::Baseline;
use crate::cli::batches;
use crate::cli::config::Config;
use crate::cli::connection::Connection;
use crate::cli::exit_status::ExitStatus;
use crate::cli::failure::Failure;
use crate::cli::fixes;
use crate::cli::inputs::{self, Inputs};
use crate::cli::outcome::{Extras, attach_rule_docs, build_report};
use crate::cli::output::{Written, write_outputs};
use crate::cli::printer::Printer;
use crate::cli::progress::Progress;
use crate::cli::scope::Scope;
use crate::cli::settings::{GateSettings, ServerChoice};
use crate::cli::waiting::wait_for;

pub async fn review(
    args: &ReviewArgs,
    printer: Printer,
    cwd: &Path,
) -> Result<ExitStatus, Failure> {
    review_with(args, printer, cwd, None).await
}

/// `review`, or with `write_baseline` (`baseline create`): every finding is written to that baseline file instead
/// of being gated and rendered.
pub async fn review_with(
    args: &ReviewArgs,
    printer: Printer,
    cwd: &Path,
    write_baseline: Option<&Path>,
) -> Result<ExitStatus, Failure> {
    let started = Instant::now();
    let deadline_base = tokio::time::Instant::now();
    let config = Config::discover(cwd)?;
    let mut settings = GateSettings::resolve(&args.gate, &config)?;
    settings.rules = rule_selection(args, &config);
    if write_baseline.is_some() {
        // A baseline records every finding, whatever the report would show.
        settings.threshold.report_min = crate::protocol::Severity::Info;
    }
    let scope = Scope::resolve(&args.scope, &config.root, cwd, printer)?;
    let choice = ServerChoice::resolve(&args.server, &config)?;
    if args
        .paths
        .iter()
        .filter(|path| path.as_str() == "-")
        .count()
        > 1
    {
        return Err(Failure::usage("`-` (stdin) can be given only once"));
    }
    let mut inputs = inputs::collect(&args.paths, args.stdin_filename.as_deref(), &config, cwd)?;
    scope.filter_inputs(&mut inputs);
    if inputs.files.is_empty() {
        // Nothing to send: no server is needed to say so, and skipped files still make the review incomplete.
        if inputs.skipped.is_empty() {
            printer.warn("no files to review in the given paths");
        }
        let snapshot = Snapshot {
            run_id: None,
            created_at: chrono::Utc::now(),
            jobs: Vec::new(),
            rejected: Vec::new(),
        };
        let extras = Extras {
            sources: HashMap::new(),
            client_skipped: inputs.skipped,
            elapsed: Some(started.elapsed()),
            fixes: None,
        };
        let (report, status) = build_report(&snapshot, settings.threshold, extras);
        return match write_outputs(&report, &settings, printer)? {
            Written::All => Ok(status),
            Written::BrokenPipe => Ok(ExitStatus::Success),
        };
    }
    let llm = crate::cli::llm::resolve(&args.llm, &config).await?;
    let connection = Connection::open_with_llm(&choice, llm).await?;
    let deadline = settings.timeout.map(|timeout| deadline_base + timeout);
    let result = run_review(
        args,
        printer,
        &settings,
        &connection,
        inputs,
        deadline,
        started,
        (&scope, write_baseline, cwd),
    )
    .await;
    connection.close().await;
    result
}

/// `[rules]` from the configuration, with `--select` replacing its `select` and `--ignore` adding to its
/// `ignore`; `None` when that leaves the server's default.
fn rule_selection(args: &ReviewArgs, config: &Config) -> Option<crate::protocol::RuleSelection> {
    let mut rules = config.file.rules.clone();
    let flags = |values: &[String]| -> Vec<String> {
        values
            .iter()
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .collect()
    };
    let select = flags(&args.select);
    if !select.is_empty() {
        rules.select = select;
    }
    rules.ignore.extend(flags(&args.ignore));
    (rules != crate::protocol::RuleSelection::default()).then_some(rules)
}

#[allow(
    clippy::too_many_arguments,
    reason = "the pieces `review` resolved, each used once, in order"
)]
async fn run_review(
    args: &ReviewArgs,
    printer: Printer,
    settings: &GateSettings,
    connection: &Connection,
    inputs: Inputs,
    deadline: Option<tokio::time::Instant>,
    started: Instant,
    (scope, write_baseline, cwd): (&Scope, Option<&Path>, &Path),
) -> Result<ExitStatus, Failure> {
    let Inputs { files, skipped } = inputs;
    let total = files.len();
    let options = RunOptions {
        no_cache: args.no_cache,
        ai: args.ai_choice(),
        no_linters: args.no_linters,
        rules: settings.rules.clone(),
    };
    let skipped_entries: Vec<RejectedFile> = skipped
        .iter()
        .map(|file| RejectedFile {
            file_path: file.path.clone(),
            reason: file.reason.clone(),
            policy: file.policy,
        })
        .collect();
    // One run whatever its size: the first request creates it, the others add to it, each within the server's
    // limits; the run is followed once everything is in.
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|file| (file.display_path.as_str(), file.content.as_str()))
        .collect();
    let batches = batches::split(&pairs, &skipped_entries, connection.limits);
    if batches.len() > 1 && !settings.quiet {
        printer.status(&format!(
            "codeinsight: sending {total} files in {} requests (the server takes {} MiB and {} files per request)",
            batches.len(),
            connection.limits.max_run_bytes / (1024 * 1024),
            connection.limits.max_files_per_run
        ));
    }
    let mut run_id: Option<String> = None;
    let mut job_count = 0;
    // The run carries its gate, so that `show` and the web view judge it as this command does, and where its
    // code came from.
    let gate = RunGate {
        fail_on: settings.threshold.fail_on,
        report_min: settings.threshold.report_min,
    };
    let context = crate::cli::provenance::run_context(cwd, &|name| std::env::var(name).ok());
    for batch in &batches {
        let first = run_id.is_none();
        let request = RunRequest {
            files: batch
                .files
                .iter()
                .map(|&index| RunFile {
                    path: files[index].display_path.clone(),
                    content: files[index].content.clone(),
                    language: None,
                })
                .collect(),
            options: options.clone(),
            repo_id: None,
            gate: first.then_some(gate),
            context: if first {
                context.clone()
            } else {
                RunContext::default()
            },
            skipped: batch
                .skipped
                .iter()
                .map(|&index| skipped_entries[index].clone())
                .collect(),
        };
        let submit = async {
            match &run_id {
                None => connection.client.create_run(&request).await,
                Some(run_id) => connection.client.append_run(run_id, &request).await,
            }
        };
        let created = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, submit).await {
                Ok(result) => result.map_err(Failure::from),
                Err(_) => Err(Failure::timed_out(
                    settings.timeout_seconds,
                    "the run to be accepted",
                    0,
                    total,
                )),
            },
            None => submit.await.map_err(Failure::from),
        };
        let created = match (created, &run_id) {
            (Ok(created), _) => created,
            // Part of the run is on the server: record there that it failed to start, so that its history says
            // so instead of showing a run that merely looks small.
            (Err(failure), Some(run_id)) => {
                let reason = format!("a request adding files failed: {failure}");
                if let Err(error) = connection.client.abort_run(run_id, &reason).await {
                    tracing::debug!(error = %error, "recording the run's failure failed");
                }
                return Err(failure);
            }
            (Err(failure), None) => return Err(failure),
        };
        job_count += created.jobs.len();
        run_id.get_or_insert(created.run_id);
    }
    let Some(run_id) = run_id else {
        return Err(Failure::server("the server accepted no request of the run"));
    };
    let subject = Subject::Run(run_id.clone());
    let hide_progress = settings.quiet || args.diff;
    let mut progress = Progress::new(printer, job_count, &format!("run {run_id}"), hide_progress);
    let waited = wait_for(
        connection,
        &subject,
        &mut progress,
        deadline,
        settings.timeout_seconds,
        job_count,
    )
    .await;
    let snapshot = match waited {
        Ok(snapshot) => {
            progress.finish();
            snapshot
        }
        Err(failure) => {
            drop(progress);
            return Err(failure);
        }
    };
    drop(progress);
    let sources: HashMap<String, String> = files
        .iter()
        .map(|file| (file.display_path.clone(), file.content.clone()))
        .collect();
    let disk_paths: HashMap<String, PathBuf> = files
        .iter()
        .filter_map(|file| {
            file.disk_path
                .as_ref()
                .map(|path| (file.display_path.clone(), path.clone()))
        })
        .collect();
    let mut extras = Extras {
        sources,
        client_skipped: skipped,
        elapsed: Some(started.elapsed()),
        fixes: None,
    };
    // `--fix` and `--diff` exclude each other: one plan serves either.
    let plan = if args.diff || args.fix {
        Some(fixes::plan(
            &snapshot,
            &disk_paths,
            settings.threshold.report_min,
            args.unsafe_fixes,
        )?)
    } else {
        None
    };
    if let Some(plan) = plan.as_ref().filter(|_| args.diff) {
        let (_, status) = build_report(&snapshot, settings.threshold, extras);
        let styles = printer.stdout_styles();
        let mut stdout = printer.stdout();
        let mut write = || -> std::io::Result<()> {
            for file in &plan.files {
                crate::render::render_file_diff(
                    &diff_path(file, cwd),
                    &file.original,
                    &file.fixed,
                    &styles,
                    &mut stdout,
                )?;
            }
            let kind = if args.unsafe_fixes {
                ("fix", "fixes")
            } else {
                ("safe fix", "safe fixes")
            };
            write!(
                stdout,
                "{} would be applied to {}",
                plural(plan.fix_count(), kind.0, kind.1),
                plural(plan.files.len(), "file", "files")
            )?;
            if plan.unsafe_left_out > 0 {
                write!(
                    stdout,
                    "; --unsafe-fixes adds {}",
                    plural(plan.unsafe_left_out, "unsafe fix", "unsafe fixes")
                )?;
            }
            writeln!(stdout)?;
            stdout.flush()
        };
        if let Err(error) = write() {
            if error.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(ExitStatus::Success);
            }
            return Err(Failure::usage(format!("cannot write to stdout: {error}")));
        }
        // Like `ruff --diff`: 1 when a fix would apply; otherwise clean, unless something was not reviewed.
        return Ok(if !plan.files.is_empty() {
            ExitStatus::GateFailed
        } else if status == ExitStatus::Incomplete {
            ExitStatus::Incomplete
        } else {
            ExitStatus::Success
        });
    }
    if let Some(plan) = plan.as_ref().filter(|_| args.fix) {
        extras.fixes = Some(fixes::apply(plan)?);
    }
    let mut snapshot = snapshot;
    let set_asides = scope.set_aside(&mut snapshot);
    let (mut report, status) = build_report(&snapshot, settings.threshold, extras);
    Scope::attach(set_asides, &mut report);
    if let Some(path) = write_baseline {
        let baseline = Baseline::from_report(&report);
        baseline.write(path)?;
        printer.status(&format!(
            "codeinsight: wrote {} to `{}`",
            plural(baseline.findings.len(), "finding", "findings"),
            path.display()
        ));
        // A baseline of a partial review would let unreviewed files' findings in later: say so by the exit code.
        return Ok(if status == ExitStatus::Incomplete {
            printer.warn(&format!(
                "not every file was reviewed: {}",
                report.verdict.summary
            ));
            ExitStatus::Incomplete
        } else {
            ExitStatus::Success
        });
    }
    attach_rule_docs(&connection.client, &mut report).await;
    match write_outputs(&report, settings, printer)? {
        Written::All => Ok(status),
        Written::BrokenPipe => Ok(ExitStatus::Success),
    }
}

/// The path a `--diff` header names: relative to the working directory when the file is under it, so that
/// `git apply` and `patch -p1` run there find it; otherwise the path as given, without its leading `/`.
fn diff_path(file: &fixes::FileFix, cwd: &Path) -> String {
    let under_cwd = |path: &Path, dir: &Path| {
        path.strip_prefix(dir)
            .ok()
            .filter(|relative| !relative.as_os_str().is_empty())
            .map(|relative| relative.to_string_lossy().into_owned())
    };
    under_cwd(&file.disk_path, cwd)
        .or_else(|| {
            under_cwd(
                &file.disk_path.canonicalize().ok()?,
                &cwd.canonicalize().ok()?,
            )
        })
        .unwrap_or_else(|| file.display_path.trim_start_matches('/').to_owned())
}

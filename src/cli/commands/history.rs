//! `codeinsight history`: past runs from the server, one row per run with its verdict, counts and source, or with
//! `--jobs` past files, one row per file; filtered by the server, as a table or a versioned JSON document.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::client::{JobQuery, RunQuery};
use crate::protocol::{Job, RunSummary, RunVerdict, Severity};
use crate::render::one_line;

use crate::cli::args::{HistoryArgs, HistoryFormat};
use crate::cli::config::Config;
use crate::cli::connection::Connection;
use crate::cli::exit_status::ExitStatus;
use crate::cli::failure::Failure;
use crate::cli::printer::Printer;
use crate::cli::settings::ServerChoice;

/// The `schema` of `history --format json`: one page of runs.
pub const RUNS_SCHEMA: &str = "codeinsight/history-runs/v1";
/// The `schema` of `history --jobs --format json`: one page of files.
pub const JOBS_SCHEMA: &str = "codeinsight/history-jobs/v1";

/// A file's statuses, as `--jobs --status` takes them.
const JOB_STATUSES: [&str; 4] = ["pending", "processing", "completed", "failed"];
/// Longest file path shown in the table; longer ones keep their end.
const MAX_PATH_WIDTH: usize = 48;
/// Longest branch shown in the runs table; longer ones keep their start.
const MAX_BRANCH_WIDTH: usize = 40;
/// Longest reason shown under a run that failed to start (the JSON document has all of it).
const MAX_REASON_WIDTH: usize = 200;
/// Characters of a run id shown in the table; `show` takes them as well as the whole id.
pub const SHORT_RUN_ID: usize = 8;

/// `history --format json` for runs. Fields are only added within a schema version.
#[derive(Serialize)]
struct RunsDocument<'a> {
    schema: &'static str,
    runs: &'a [RunSummary],
    /// Pass it to `--cursor` for the next page; `null` on the last one.
    next_cursor: Option<&'a str>,
}

/// `history --jobs --format json`. Fields are only added within a schema version.
#[derive(Serialize)]
struct JobsDocument<'a> {
    schema: &'static str,
    jobs: &'a [Job],
    next_cursor: Option<&'a str>,
}

/// One page read from the server, and the cursor of the page after it.
enum Page {
    Runs(Vec<RunSummary>, Option<String>),
    Jobs(Vec<Job>, Option<String>),
}

pub async fn history(
    args: &HistoryArgs,
    printer: Printer,
    cwd: &Path,
) -> Result<ExitStatus, Failure> {
    check(args)?;
    let config = Config::discover(cwd)?;
    let choice = ServerChoice::resolve(&args.server, &config)?;
    let connection = Connection::open(&choice).await?;
    let result = if args.jobs {
        list_jobs(args, &connection).await
    } else {
        list_runs(args, &connection).await
    };
    connection.close().await;
    let page = result?;
    let mut stdout = printer.stdout();
    let written = match (args.format, &page) {
        (HistoryFormat::Json, Page::Runs(runs, next)) => write_json(
            &mut stdout,
            &RunsDocument {
                schema: RUNS_SCHEMA,
                runs,
                next_cursor: next.as_deref(),
            },
        ),
        (HistoryFormat::Json, Page::Jobs(jobs, next)) => write_json(
            &mut stdout,
            &JobsDocument {
                schema: JOBS_SCHEMA,
                jobs,
                next_cursor: next.as_deref(),
            },
        ),
        (HistoryFormat::Table, Page::Runs(runs, _)) => write_runs_table(runs, &mut stdout),
        (HistoryFormat::Table, Page::Jobs(jobs, _)) => write_jobs_table(jobs, &mut stdout),
    };
    match written {
        Ok(()) => Ok(ExitStatus::Success),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitStatus::Success),
        Err(error) => Err(Failure::usage(format!("cannot write to stdout: {error}"))),
    }
}

/// The flags that do not fit the listing asked for, refused before any server is asked.
fn check(args: &HistoryArgs) -> Result<(), Failure> {
    if args.limit == 0 || args.page == 0 {
        return Err(Failure::usage("`--limit` and `--page` start at 1"));
    }
    if args.jobs {
        if let Some(status) = args.status.as_deref()
            && !JOB_STATUSES.contains(&status)
        {
            let failure = Failure::usage(format!(
                "invalid `--status {status}` with `--jobs`: a file's status is pending, processing, completed or failed"
            ));
            return Err(if status.parse::<RunVerdict>().is_ok() {
                failure.with_help(format!(
                    "`{status}` is a run's verdict: drop `--jobs` to list runs"
                ))
            } else {
                failure
            });
        }
        return Ok(());
    }
    let files_only = [
        ("--type", args.job_type.is_some()),
        ("--language", args.language.is_some()),
        ("--since", args.since.is_some()),
        ("--until", args.until.is_some()),
    ];
    if let Some((flag, _)) = files_only.iter().find(|(_, given)| *given) {
        return Err(Failure::usage(format!(
            "`{flag}` filters files, and `history` lists runs: add `--jobs` to list files"
        ))
        .with_help(format!(
            "`codeinsight history --jobs {flag} ...` lists files; runs are filtered by `--status` and `--search`"
        )));
    }
    if let Some(status) = args.status.as_deref()
        && status.parse::<RunVerdict>().is_err()
    {
        let failure = Failure::usage(format!(
            "invalid `--status {status}`: a run's status is running, passed, failed or incomplete"
        ));
        return Err(if JOB_STATUSES.contains(&status) {
            failure.with_help(format!(
                "`{status}` is a file's status: add `--jobs` to list files"
            ))
        } else {
            failure
        });
    }
    Ok(())
}

async fn list_runs(args: &HistoryArgs, connection: &Connection) -> Result<Page, Failure> {
    let mut query = RunQuery {
        status: args.status.clone(),
        search: args.search.clone(),
        limit: Some(args.limit),
        cursor: args.cursor.clone(),
    };
    // Pages are cursor-based on the server; walk to the requested one.
    for _ in 1..args.page {
        match connection.client.runs(&query).await?.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(Page::Runs(Vec::new(), None)),
        }
    }
    let page = connection.client.runs(&query).await?;
    Ok(Page::Runs(page.runs, page.next_cursor))
}

async fn list_jobs(args: &HistoryArgs, connection: &Connection) -> Result<Page, Failure> {
    let mut query = JobQuery {
        status: args.status.clone(),
        job_type: args.job_type.clone(),
        language: args.language.clone(),
        search: args.search.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
        limit: Some(args.limit),
        cursor: args.cursor.clone(),
    };
    for _ in 1..args.page {
        let page = connection.client.jobs(&connection.user_id, &query).await?;
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(Page::Jobs(Vec::new(), None)),
        }
    }
    let page = connection.client.jobs(&connection.user_id, &query).await?;
    Ok(Page::Jobs(page.jobs, page.next_cursor))
}

fn write_json(out: &mut dyn Write, document: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, document).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// Cells padded to their column's width, two spaces apart, without trailing blanks.
fn aligned<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> (String, Vec<String>) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| {
                let pad = width.saturating_sub(cell.chars().count());
                format!("{cell}{}", " ".repeat(pad))
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    (
        line(&header.map(str::to_owned)),
        rows.iter().map(|row| line(row)).collect(),
    )
}

fn write_runs_table(runs: &[RunSummary], out: &mut dyn Write) -> std::io::Result<()> {
    if runs.is_empty() {
        return writeln!(out, "no runs match");
    }
    let header = [
        "RUN", "STARTED", "VERDICT", "FILES", "CRIT", "MAJ", "MIN", "INFO", "DURATION", "SOURCE",
    ];
    let rows: Vec<[String; 10]> = runs.iter().map(run_row).collect();
    let (header, lines) = aligned(header, &rows);
    // A reason is written under its run, indented to the STARTED column.
    let indent = " ".repeat(SHORT_RUN_ID + 2);
    writeln!(out, "{header}")?;
    for (run, line) in runs.iter().zip(lines) {
        writeln!(out, "{line}")?;
        if let Some(error) = &run.error {
            writeln!(
                out,
                "{indent}{}",
                clip_end(&one_line(error), MAX_REASON_WIDTH)
            )?;
        }
    }
    Ok(())
}

fn run_row(run: &RunSummary) -> [String; 10] {
    let counts = &run.findings;
    [
        one_line(&run.run_id).chars().take(SHORT_RUN_ID).collect(),
        time(run.created_at),
        run.verdict.to_string(),
        run.total.to_string(),
        counts.critical.to_string(),
        counts.major.to_string(),
        counts.minor.to_string(),
        counts.info.to_string(),
        match (run.verdict, run.finished_at) {
            (RunVerdict::Running, _) => "running".to_owned(),
            (_, Some(finished)) => duration(run.created_at, finished),
            (_, None) => "-".to_owned(),
        },
        source(run),
    ]
}

/// `main (1a2b3c4)`: the branch and short commit the run was made from, as far as they are known.
fn source(run: &RunSummary) -> String {
    let branch = run
        .context
        .branch
        .as_deref()
        .map(|branch| clip_end(&one_line(branch), MAX_BRANCH_WIDTH));
    let commit = run
        .context
        .commit
        .as_deref()
        .map(|commit| one_line(commit).chars().take(7).collect::<String>());
    match (branch, commit) {
        (Some(branch), Some(commit)) => format!("{branch} ({commit})"),
        (Some(only), None) | (None, Some(only)) => only,
        (None, None) => "-".to_owned(),
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `0.8s`, `12.3s`, `4m05s`, `2h07m`.
fn duration(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let millis = (to - from).num_milliseconds().max(0);
    let seconds = millis / 1000;
    if seconds < 60 {
        format!("{:.1}s", millis as f64 / 1000.0)
    } else if seconds < 3600 {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60)
    }
}

/// `text` cut to `max` characters, `...` marking the cut.
fn clip_end(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max - 3).collect();
    format!("{kept}...")
}

fn write_jobs_table(jobs: &[Job], out: &mut dyn Write) -> std::io::Result<()> {
    if jobs.is_empty() {
        return writeln!(out, "no jobs match");
    }
    let header = [
        "ID", "CREATED", "FILE", "LANGUAGE", "STATUS", "CRIT", "MAJ", "MIN", "INFO", "TIME",
        "TOKENS", "COST", "CACHED",
    ];
    let rows: Vec<[String; 13]> = jobs.iter().map(job_row).collect();
    let (header, lines) = aligned(header, &rows);
    writeln!(out, "{header}")?;
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn job_row(job: &Job) -> [String; 13] {
    let count = |severity: Severity| {
        job.results.as_ref().map_or_else(
            || "-".to_owned(),
            |results| {
                results
                    .findings
                    .iter()
                    .filter(|finding| finding.severity == severity)
                    .count()
                    .to_string()
            },
        )
    };
    let file_path = one_line(&job.file_path);
    let path_chars = file_path.chars().count();
    let path = if path_chars > MAX_PATH_WIDTH {
        let tail: String = file_path
            .chars()
            .skip(path_chars - (MAX_PATH_WIDTH - 3))
            .collect();
        format!("...{tail}")
    } else {
        file_path.into_owned()
    };
    [
        one_line(&job.job_id).into_owned(),
        time(job.created_at),
        path,
        one_line(&job.language).into_owned(),
        job.status.to_string(),
        count(Severity::Critical),
        count(Severity::Major),
        count(Severity::Minor),
        count(Severity::Info),
        job.results.as_ref().map_or_else(
            || "-".to_owned(),
            |results| format!("{:.2}s", results.elapsed_time),
        ),
        // Only the AI stage uses tokens; a cache hit used none and cost nothing.
        if job.tokens_used.total_tokens == 0 {
            "-".to_owned()
        } else {
            job.tokens_used.total_tokens.to_string()
        },
        if job.tokens_used.total_tokens == 0 && job.estimated_cost == 0.0 {
            "-".to_owned()
        } else {
            format!("${:.4}", job.estimated_cost)
        },
        if job.cache_hit { "yes" } else { "no" }.to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        let start = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let after = |millis: i64| start + chrono::Duration::milliseconds(millis);
        assert_eq!(duration(start, after(840)), "0.8s");
        assert_eq!(duration(start, after(59_940)), "59.9s");
        assert_eq!(duration(start, after(245_000)), "4m05s");
        assert_eq!(duration(start, after(7_620_000)), "2h07m");
        assert_eq!(duration(after(10), start), "0.0s");
    }

    #[test]
    fn a_runs_row_keeps_control_characters_out_and_its_reason_goes_under_it() {
        let run: RunSummary = serde_json::from_value(serde_json::json!({
            "run_id": "0123456789abcdef",
            "user_id": "alice",
            "created_at": "2025-01-02T03:04:05Z",
            "finished_at": "2025-01-02T03:04:06Z",
            "verdict": "failed",
            "total": 0, "completed": 0, "failed": 0, "incomplete": 0,
            "findings": {"critical": 0, "major": 0, "minor": 0, "info": 0},
            "gate": {"fail_on": "major", "report_min": "info"},
            "context": {"branch": "feat\u{1b}[2K", "commit": "1a2b3c4d5e6f"},
            "error": "refused by the server: bad\nline"
        }))
        .unwrap();
        let mut out = Vec::new();
        write_runs_table(&[run], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\u{1b}'), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("RUN       STARTED"), "{text}");
        assert!(
            lines[1].starts_with("01234567  2025-01-02 03:04:05  failed"),
            "{text}"
        );
        assert!(lines[1].ends_with("feat\u{241b}[2K (1a2b3c4)"), "{text}");
        assert_eq!(lines[2], "          refused by the server: bad\u{240a}line");
    }
}

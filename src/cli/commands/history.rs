//! `codeinsight history`: past jobs from the server, filtered by the server, as a table or JSON.

use std::io::Write;
use std::path::Path;

use crate::client::JobQuery;
use crate::protocol::{Job, Severity};

use crate::cli::args::{HistoryArgs, HistoryFormat};
use crate::cli::config::Config;
use crate::cli::connection::Connection;
use crate::cli::exit_status::ExitStatus;
use crate::cli::failure::Failure;
use crate::cli::printer::Printer;
use crate::cli::settings::ServerChoice;

/// Longest file path shown in the table; longer ones keep their end.
const MAX_PATH_WIDTH: usize = 48;

pub async fn history(
    args: &HistoryArgs,
    printer: Printer,
    cwd: &Path,
) -> Result<ExitStatus, Failure> {
    let config = Config::discover(cwd)?;
    let choice = ServerChoice::resolve(&args.server, &config)?;
    if args.limit == 0 || args.page == 0 {
        return Err(Failure::usage("`--limit` and `--page` start at 1"));
    }
    let connection = Connection::open(&choice).await?;
    let result = list(args, &connection).await;
    connection.close().await;
    let jobs = result?;
    let mut stdout = printer.stdout();
    let written = match args.format {
        HistoryFormat::Json => serde_json::to_writer_pretty(&mut stdout, &jobs)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(stdout)),
        HistoryFormat::Table => write_table(&jobs, &mut stdout),
    };
    match written {
        Ok(()) => Ok(ExitStatus::Success),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitStatus::Success),
        Err(error) => Err(Failure::usage(format!("cannot write to stdout: {error}"))),
    }
}

async fn list(args: &HistoryArgs, connection: &Connection) -> Result<Vec<Job>, Failure> {
    let mut query = JobQuery {
        status: args.status.clone(),
        job_type: args.job_type.clone(),
        language: args.language.clone(),
        search: args.search.clone(),
        since: args.since.clone(),
        limit: Some(args.limit),
        cursor: None,
    };
    // Pages are cursor-based on the server; walk to the requested one.
    for _ in 1..args.page {
        let page = connection.client.jobs(&connection.user_id, &query).await?;
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(Vec::new()),
        }
    }
    Ok(connection
        .client
        .jobs(&connection.user_id, &query)
        .await?
        .jobs)
}

fn write_table(jobs: &[Job], out: &mut dyn Write) -> std::io::Result<()> {
    if jobs.is_empty() {
        return writeln!(out, "no jobs match");
    }
    let header = [
        "ID", "CREATED", "FILE", "LANGUAGE", "STATUS", "CRIT", "MAJ", "MIN", "INFO", "TIME",
        "TOKENS", "COST", "CACHED",
    ];
    let rows: Vec<[String; 13]> = jobs.iter().map(row).collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(out, "{}", line(&header.map(str::to_owned)))?;
    for row in &rows {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}

fn row(job: &Job) -> [String; 13] {
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
    let path_chars = job.file_path.chars().count();
    let path = if path_chars > MAX_PATH_WIDTH {
        let tail: String = job
            .file_path
            .chars()
            .skip(path_chars - (MAX_PATH_WIDTH - 3))
            .collect();
        format!("...{tail}")
    } else {
        job.file_path.clone()
    };
    [
        job.job_id.clone(),
        job.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        path,
        job.language.clone(),
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

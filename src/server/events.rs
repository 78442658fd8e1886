//! Builders of the `job_update` events a job emits as it moves through the pipeline. The live terminal event
//! and the one replayed from the database to a late subscriber come from the same function, so they agree.

use chrono::{DateTime, Utc};

use crate::protocol::{Job, JobEventData, JobStatus, JobUpdate, Stage};

/// Identifies the job an event is about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobRef<'a> {
    pub(crate) job_id: &'a str,
    pub(crate) run_id: Option<&'a str>,
    pub(crate) file_path: &'a str,
}

fn data(job: JobRef<'_>, stage: Stage, message: String, progress: f32) -> JobEventData {
    JobEventData {
        message,
        stage,
        progress: Some(progress),
        run_id: job.run_id.map(str::to_owned),
        file_path: Some(job.file_path.to_owned()),
        findings: None,
        cache_hit: None,
        error: None,
        tokens_used: None,
        estimated_cost: None,
        elapsed_time: None,
        linter: None,
    }
}

/// A non-terminal stage event: `queued` (pending) or `analysing`/`storing` (processing).
pub(crate) fn stage_update(job: JobRef<'_>, stage: Stage) -> JobUpdate {
    let (status, message, progress) = match stage {
        Stage::Queued => (JobStatus::Pending, "Queued for review", 0.0),
        Stage::Analysing => (
            JobStatus::Processing,
            "Analysing with built-in rules and secrets scan",
            0.1,
        ),
        Stage::Linting => (JobStatus::Processing, "Running linters", 0.5),
        Stage::Reviewing => (JobStatus::Processing, "Reviewing", 0.7),
        Stage::Storing | Stage::Done | Stage::Failed => {
            (JobStatus::Processing, "Storing results", 0.9)
        }
    };
    JobUpdate {
        job_id: job.job_id.to_owned(),
        status,
        timestamp: Utc::now(),
        data: data(job, stage, message.to_owned(), progress),
    }
}

/// A `linting` event naming the linter that starts on the file.
pub(crate) fn linter_update(job: JobRef<'_>, linter: &str) -> JobUpdate {
    let mut data = data(job, Stage::Linting, format!("Running {linter}"), 0.5);
    data.linter = Some(linter.to_owned());
    JobUpdate {
        job_id: job.job_id.to_owned(),
        status: JobStatus::Processing,
        timestamp: Utc::now(),
        data,
    }
}

/// What a terminal event reports.
#[derive(Debug, Clone)]
pub(crate) struct Terminal<'a> {
    pub(crate) job: JobRef<'a>,
    pub(crate) status: JobStatus,
    pub(crate) findings: usize,
    pub(crate) cache_hit: bool,
    pub(crate) error: Option<&'a str>,
    pub(crate) elapsed_time: f64,
    pub(crate) timestamp: DateTime<Utc>,
    /// Total tokens the AI stage used and its cost (zero without one, and on a cache hit).
    pub(crate) tokens_used: u64,
    pub(crate) estimated_cost: f64,
}

/// The `completed` or `failed` event every subscriber of a job gets exactly once.
pub(crate) fn terminal_update(terminal: &Terminal<'_>) -> JobUpdate {
    let completed = terminal.status == JobStatus::Completed;
    let message = if completed {
        let cached = if terminal.cache_hit { " (cached)" } else { "" };
        format!(
            "Code review completed: {} finding(s){cached}",
            terminal.findings
        )
    } else {
        format!(
            "Code review failed: {}",
            terminal.error.unwrap_or("unknown error")
        )
    };
    let stage = if completed {
        Stage::Done
    } else {
        Stage::Failed
    };
    let mut data = data(terminal.job, stage, message, 1.0);
    data.findings = completed.then_some(terminal.findings);
    data.cache_hit = Some(terminal.cache_hit);
    data.error = terminal.error.map(str::to_owned);
    data.tokens_used = Some(terminal.tokens_used);
    data.estimated_cost = Some(terminal.estimated_cost);
    data.elapsed_time = Some(terminal.elapsed_time);
    JobUpdate {
        job_id: terminal.job.job_id.to_owned(),
        status: terminal.status,
        timestamp: terminal.timestamp,
        data,
    }
}

/// The event that tells a subscriber where a stored job is now: its terminal event if it finished, else the
/// stage it is in.
pub(crate) fn current_update(job: &Job) -> JobUpdate {
    let reference = JobRef {
        job_id: &job.job_id,
        run_id: job.run_id.as_deref(),
        file_path: &job.file_path,
    };
    match job.status {
        JobStatus::Pending => stage_update(reference, Stage::Queued),
        JobStatus::Processing => stage_update(reference, Stage::Analysing),
        JobStatus::Completed | JobStatus::Failed => terminal_update(&Terminal {
            job: reference,
            status: job.status,
            findings: job
                .results
                .as_ref()
                .map_or(0, |results| results.findings.len()),
            cache_hit: job.cache_hit,
            error: job.error.as_deref(),
            elapsed_time: job
                .results
                .as_ref()
                .map_or(0.0, |results| results.elapsed_time),
            timestamp: job.completed_at.unwrap_or(job.updated_at),
            tokens_used: job.tokens_used.total_tokens,
            estimated_cost: job.estimated_cost,
        }),
    }
}

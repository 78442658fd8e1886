//! The writer: commits finished jobs and fresh cache entries in batches, stores a failure with its reason when
//! results cannot be stored, then publishes the terminal events, so a client that hears `completed` can read the
//! results.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use crate::engine::Language;
use crate::protocol::{JobStatus, LintResult};
use crate::server::AppState;
use crate::server::events::{JobRef, Terminal, terminal_update};
use crate::server::state::{Metrics, Shared};
use crate::store::{CacheEntry, JobOutcome, now_micros};

use super::{Finished, Held, bound_findings, per_file_reason};

/// Most finished jobs written per transaction.
pub(super) const WRITE_BATCH: usize = 256;

pub(super) async fn write_loop(
    state: AppState,
    worker_id: String,
    held: Arc<Held>,
    mut finished: mpsc::UnboundedReceiver<Finished>,
) {
    // Whatever arrives while a batch commits forms the next batch, so batches grow with load.
    while let Some(first) = finished.recv().await {
        let mut batch = vec![first];
        while batch.len() < WRITE_BATCH {
            match finished.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let job_ids: Vec<String> = batch
            .iter()
            .map(|item| item.outcome.job_id.clone())
            .collect();
        write_batch(&state, &worker_id, batch).await;
        // Written, or given up: either way this instance no longer works on them.
        held.remove(job_ids.iter().map(String::as_str));
    }
}

/// Bounds each job's findings (per file, then per run, in the order jobs finish) and writes the summaries that
/// depend on them: the markdown `content` and the `lint_result`.
pub(super) async fn bound_batch(shared: &Shared, batch: &mut [Finished]) {
    let per_file = per_file_reason(shared);
    let per_run = format!(
        "this server keeps at most {} findings per run",
        shared.limits.max_findings_per_run
    );
    for item in batch.iter_mut() {
        let Some(results) = item.outcome.results.as_mut() else {
            continue;
        };
        results.truncated = bound_findings(
            &mut results.findings,
            shared.limits.max_findings_per_file,
            results.truncated.take(),
            &per_file,
        );
    }
    // What each run has stored so far; this batch's findings are added in the transaction that stores them. The
    // writer is the only one adding to its runs' counts on this instance, so the bound holds (several instances
    // sharing one database may overshoot it by a batch each).
    let run_ids: Vec<&str> = batch
        .iter()
        .filter_map(|item| item.run_id.as_deref())
        .collect();
    let mut kept = if run_ids.is_empty() {
        std::collections::HashMap::new()
    } else {
        match shared.store.run_findings_kept(&run_ids).await {
            Ok(kept) => kept,
            Err(error) => {
                tracing::warn!(error = %error, "reading runs' finding counts failed; not bounding this batch");
                std::collections::HashMap::new()
            }
        }
    };
    for item in batch.iter_mut() {
        let (Some(results), Some(run_id)) = (item.outcome.results.as_mut(), item.run_id.as_deref())
        else {
            continue;
        };
        let Some(kept) = kept.get_mut(run_id) else {
            continue;
        };
        let room = shared.limits.max_findings_per_run.saturating_sub(*kept);
        if results.findings.len() > room {
            results.truncated = bound_findings(
                &mut results.findings,
                room,
                results.truncated.take(),
                &per_run,
            );
        }
        *kept += results.findings.len();
    }
    for item in batch.iter_mut() {
        let Some(results) = item.outcome.results.as_mut() else {
            continue;
        };
        results.lint_result = LintResult::from_findings(&results.findings);
        let mut content = crate::render::render_job_summary(
            &item.file_path,
            item.language.map(Language::name),
            &results.findings,
            results.truncated.as_ref(),
            results.cached,
        );
        content.push_str(&item.content_tail);
        results.content = content;
    }
}

pub(super) async fn write_batch(state: &AppState, worker_id: &str, mut batch: Vec<Finished>) {
    let shared = &state.inner;
    bound_batch(shared, &mut batch).await;
    let outcomes = batch
        .iter()
        .map(|item| item.outcome.clone())
        .collect::<Vec<_>>();
    let entries = batch
        .iter()
        .flat_map(|item| item.cache_entry.iter().chain(&item.ai_cache_entry).cloned())
        .collect::<Vec<_>>();
    let (applied, now) = match write_outcomes(shared, worker_id, &outcomes, &entries).await {
        Ok(written) => written,
        Err(error) if error.is_transient() => {
            // The database is unreachable or restarting: this instance lets the jobs go, and once their leases
            // expire they are claimed again (by whichever instance can reach the database), each claim counted.
            tracing::error!(error = %crate::error_chain(&error), jobs = batch.len(),
                "writing results failed; the jobs return to the queue when their leases expire");
            return;
        }
        Err(error) => {
            // The results cannot be stored (a full disk, a constraint, a payload the database refuses): store the
            // failure instead, so that each job ends with the reason rather than waiting for another attempt
            // that would meet the same wall.
            let reason = format!(
                "the server could not store this file's results: {}",
                crate::error_chain(&error)
            );
            for item in &mut batch {
                item.outcome = item.outcome.unwritten(&reason);
            }
            let outcomes = batch
                .iter()
                .map(|item| item.outcome.clone())
                .collect::<Vec<_>>();
            match write_outcomes(shared, worker_id, &outcomes, &[]).await {
                Ok(written) => written,
                Err(error) => {
                    tracing::error!(error = %crate::error_chain(&error), jobs = batch.len(),
                        "writing the jobs' failure failed too; they return to the queue when their leases expire");
                    return;
                }
            }
        }
    };
    for (item, applied) in batch.iter().zip(applied) {
        if !applied {
            tracing::warn!(job_id = %item.outcome.job_id, "lease lost before the result was written; discarded");
            continue;
        }
        let counter = if item.outcome.status == JobStatus::Completed {
            &shared.metrics.jobs_completed
        } else {
            &shared.metrics.jobs_failed
        };
        Metrics::add(counter, 1);
        let update = terminal_update(&Terminal {
            job: JobRef {
                job_id: &item.outcome.job_id,
                run_id: item.run_id.as_deref(),
                file_path: &item.file_path,
            },
            status: item.outcome.status,
            findings: item
                .outcome
                .results
                .as_ref()
                .map_or(0, |results| results.findings.len()),
            cache_hit: item.outcome.cache_hit,
            error: item.outcome.error.as_deref(),
            elapsed_time: item.elapsed_time,
            timestamp: now,
            tokens_used: item.outcome.tokens_used.total_tokens,
            estimated_cost: item.outcome.estimated_cost,
        });
        shared
            .hub
            .publish(&item.user_id, item.run_id.as_deref(), update);
    }
}

/// Writes outcomes (and cache entries) with a few retries; returns, per outcome, whether it was applied, and when.
pub(super) async fn write_outcomes(
    shared: &Shared,
    worker_id: &str,
    outcomes: &[JobOutcome],
    entries: &[CacheEntry],
) -> Result<(Vec<bool>, chrono::DateTime<Utc>), crate::store::StoreError> {
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match shared
            .store
            .finish_jobs(worker_id, outcomes, entries, now_micros())
            .await
        {
            // The jobs are completed once committed: that is when their terminal events happen.
            Ok(applied) => return Ok((applied, Utc::now())),
            Err(error) if attempt < 4 => {
                tracing::warn!(error = %error, attempt, "writing results failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 4;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

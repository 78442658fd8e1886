//! What happens to one job between its claim and its write: the cache entry and the bounds on its findings, the
//! linter and AI follow-up stages, and the outcome (`completed` or `failed`) handed to the writer.

use std::sync::Arc;

use crate::engine::{Language, LintTarget, Selection, merge_findings};
use crate::protocol::{
    Finding, JobResults, JobStatus, LintResult, SeverityCounts, Stage, StageOutcome, StageReport,
    TokensUsed, Truncation,
};
use crate::server::AppState;
use crate::server::ai_stage::{self, AiOutcome};
use crate::server::analysis::FollowUp;
use crate::server::events::{JobRef, linter_update, stage_update};
use crate::server::state::Shared;
use crate::store::{CacheEntry, ClaimedJob, JobOutcome, now_micros};

use super::claimer::linters_wanted;
use super::{Finished, Work, micros};

/// The cache entry for a job's rule and linter findings; none when a linter failed or timed out, so that the
/// next review retries it.
pub(in crate::server) fn cache_entry_for(
    work: &Work,
    findings: &[Finding],
    truncated: Option<&Truncation>,
    linter_stages: &[StageReport],
    expires_at: i64,
) -> Option<CacheEntry> {
    let complete = linter_stages
        .iter()
        .all(|stage| stage.outcome == StageOutcome::Ok);
    complete.then(|| CacheEntry {
        key: work.cache_key.clone(),
        findings: findings.to_vec(),
        stages: linter_stages.to_vec(),
        truncated: truncated.cloned(),
        expires_at,
    })
}

pub(in crate::server) fn per_file_reason(shared: &Shared) -> String {
    format!(
        "this server keeps at most {} findings per file",
        shared.limits.max_findings_per_file
    )
}

/// Keeps the `keep` most severe of `findings` (position order breaks ties, and the kept ones stay in position
/// order) and counts the rest, on top of what `earlier` already dropped. `None` when nothing was dropped now or
/// before.
pub(in crate::server) fn bound_findings(
    findings: &mut Vec<Finding>,
    keep: usize,
    earlier: Option<Truncation>,
    reason: &str,
) -> Option<Truncation> {
    if findings.len() <= keep {
        // Findings may have joined since an earlier bound (the linters'): the total counts them too.
        return earlier.map(|mut truncation| {
            truncation.total = findings.len() + truncation.dropped.total();
            truncation
        });
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| (a.line, a.column, &a.rule_id).cmp(&(b.line, b.column, &b.rule_id)))
    });
    let mut truncation = earlier.unwrap_or(Truncation {
        total: 0,
        dropped: SeverityCounts::default(),
        reason: String::new(),
    });
    for dropped in findings.drain(keep..) {
        truncation.dropped.add(dropped.severity, 1);
    }
    reason.clone_into(&mut truncation.reason);
    truncation.total = findings.len() + truncation.dropped.total();
    findings.sort_by(crate::engine::by_position);
    Some(truncation)
}

/// When a result written now expires from the cache.
pub(in crate::server) fn cache_expiry(shared: &Shared) -> i64 {
    now_micros() + micros(shared.cache_ttl)
}

/// The linter and AI stages of a job the engine is done with; publishes `storing` at the end.
pub(in crate::server) async fn run_follow_up(state: &AppState, item: FollowUp) -> Finished {
    let shared = &state.inner;
    let FollowUp {
        work,
        content,
        findings,
        truncated,
        started,
    } = item;
    let job = &work.job;
    let reference = JobRef {
        job_id: &job.job_id,
        run_id: job.run_id.as_deref(),
        file_path: &job.file_path,
    };
    let ai_content = ai_stage::wanted(shared, job).then(|| content.clone());
    let (mut findings, linter_stages) =
        lint_stage(state, job, &work.selection, content, findings).await;
    let truncated = bound_findings(
        &mut findings,
        shared.limits.max_findings_per_file,
        truncated,
        &per_file_reason(shared),
    );
    let expires_at = cache_expiry(shared);
    let entry = cache_entry_for(
        &work,
        &findings,
        truncated.as_ref(),
        &linter_stages,
        expires_at,
    );
    let ai = match ai_content {
        Some(content) => {
            shared.hub.publish(
                &job.user_id,
                job.run_id.as_deref(),
                stage_update(reference, Stage::Reviewing),
            );
            // At most `workers` AI reviews in flight.
            let _permit = Arc::clone(&shared.ai_permits).acquire_owned().await;
            Some(
                ai_stage::run(
                    shared,
                    job,
                    &content,
                    &work.cache_key,
                    &findings,
                    expires_at,
                )
                .await,
            )
        }
        None => None,
    };
    let cache_hit = ai.as_ref().is_some_and(|ai| ai.from_cache);
    let result = completed(
        job,
        Analysed {
            findings,
            linter_stages,
            truncated,
        },
        started.elapsed().as_secs_f64(),
        cache_hit,
        entry,
        ai,
    );
    shared.hub.publish(
        &job.user_id,
        job.run_id.as_deref(),
        stage_update(reference, Stage::Storing),
    );
    result
}

/// What the engine and the stages after it found for one job.
pub(in crate::server) struct Analysed {
    pub(in crate::server) findings: Vec<Finding>,
    pub(in crate::server) linter_stages: Vec<StageReport>,
    /// Findings a cached result had already dropped.
    pub(in crate::server) truncated: Option<Truncation>,
}

pub(in crate::server) fn completed(
    job: &ClaimedJob,
    analysed: Analysed,
    elapsed_time: f64,
    cache_hit: bool,
    cache_entry: Option<CacheEntry>,
    ai: Option<AiOutcome>,
) -> Finished {
    let language = Language::from_name(&job.language);
    let Analysed {
        findings,
        linter_stages,
        truncated,
    } = analysed;
    let mut content_tail = if linter_stages.is_empty() {
        String::new()
    } else {
        linter_summary(&linter_stages)
    };
    let mut results = review_results(language, findings, linter_stages, elapsed_time, cache_hit);
    results.truncated = truncated;
    let mut tokens_used = TokensUsed::default();
    let mut estimated_cost = 0.0;
    let mut metadata = serde_json::Map::new();
    let mut ai_cache_entry = None;
    if let Some(ai) = ai {
        let report = ai.report;
        content_tail.push_str(&report.markdown(ai.from_cache));
        results.stages.push(report.stage());
        metadata.insert("ai".to_owned(), report.metadata());
        if report.model != "none" {
            results.model = Some(report.model);
        }
        tokens_used = report.tokens;
        estimated_cost = report.estimated_cost;
        results.findings.extend(report.findings);
        ai_cache_entry = ai.cache_entry;
    }
    let content_at_rest = content_at_rest(job, Some(&results.findings));
    Finished {
        outcome: JobOutcome {
            job_id: job.job_id.clone(),
            status: JobStatus::Completed,
            results: Some(results),
            error: None,
            cache_hit,
            tokens_used,
            estimated_cost,
            metadata,
            content_at_rest,
            run_id: job.run_id.clone(),
        },
        cache_entry,
        ai_cache_entry,
        user_id: job.user_id.clone(),
        run_id: job.run_id.clone(),
        file_path: job.file_path.clone(),
        language,
        content_tail,
        elapsed_time,
    }
}

pub(in crate::server) fn failed(job: &ClaimedJob, reason: String, elapsed_time: f64) -> Finished {
    Finished {
        outcome: JobOutcome {
            job_id: job.job_id.clone(),
            status: JobStatus::Failed,
            results: None,
            error: Some(reason),
            cache_hit: false,
            tokens_used: TokensUsed::default(),
            estimated_cost: 0.0,
            metadata: serde_json::Map::new(),
            content_at_rest: content_at_rest(job, None),
            run_id: job.run_id.clone(),
        },
        cache_entry: None,
        ai_cache_entry: None,
        user_id: job.user_id.clone(),
        run_id: job.run_id.clone(),
        file_path: job.file_path.clone(),
        language: None,
        content_tail: String::new(),
        elapsed_time,
    }
}

/// The job's text as it stays in the database once the job is finished: with every secret masked in place (the
/// raw text was needed only while the job was open), or `None` when it holds none. With the job's `findings` in
/// hand the scan is skipped unless the secrets scan reported something or a suppression could have hidden it.
pub(super) fn content_at_rest(job: &ClaimedJob, findings: Option<&[Finding]>) -> Option<String> {
    let content = &job.file_content;
    let may_hold_secrets = findings.is_none_or(|findings| {
        findings
            .iter()
            .any(|finding| finding.rule_id.starts_with("secrets/"))
            || content.contains("codeinsight-ignore")
    });
    if !may_hold_secrets {
        return None;
    }
    match crate::engine::mask_secrets_in_place(content) {
        std::borrow::Cow::Owned(masked) => Some(masked),
        std::borrow::Cow::Borrowed(_) => None,
    }
}

/// The job document's `results` for a finished analysis.
pub(super) fn review_results(
    language: Option<Language>,
    findings: Vec<Finding>,
    linter_stages: Vec<StageReport>,
    elapsed_time: f64,
    cached: bool,
) -> JobResults {
    let rules_stage = match language {
        Some(_) => StageReport {
            name: "rules".to_owned(),
            outcome: StageOutcome::Ok,
            reason: None,
            required: false,
            elapsed_ms: None,
        },
        None => StageReport {
            name: "rules".to_owned(),
            outcome: StageOutcome::Skipped,
            reason: Some("no built-in rules for this file's language".to_owned()),
            required: false,
            elapsed_ms: None,
        },
    };
    let secrets_stage = StageReport {
        name: "secrets".to_owned(),
        outcome: StageOutcome::Ok,
        reason: None,
        required: true,
        elapsed_ms: None,
    };
    let mut stages = vec![rules_stage, secrets_stage];
    stages.extend(linter_stages);
    // `content` and `lint_result` are written by the writer, once the findings are bounded.
    JobResults {
        content: String::new(),
        lint_result: LintResult::from_findings(&[]),
        findings,
        stages,
        cached,
        model: None,
        elapsed_time,
        truncated: None,
    }
}

/// One markdown line per linter stage: which linters ran, and why any did not.
pub(super) fn linter_summary(stages: &[StageReport]) -> String {
    use std::fmt::Write;
    let mut text = String::from("\n## Linters\n\n");
    for stage in stages {
        let outcome = match stage.outcome {
            StageOutcome::Ok => "ran",
            StageOutcome::Skipped => "skipped",
            StageOutcome::Failed => "failed",
        };
        let _ = write!(text, "- `{}` {outcome}", stage.name);
        if let Some(reason) = &stage.reason {
            let _ = write!(text, ": {reason}");
        }
        text.push('\n');
    }
    text
}

/// The linter stage of one job: when the file's language has linters, publishes `linting`, waits for one of the
/// bounded linter slots, runs them on the blocking pool, and merges their findings into the engine's. Returns the
/// merged findings and one stage report per linter.
pub(super) async fn lint_stage(
    state: &AppState,
    job: &ClaimedJob,
    selection: &Arc<Selection>,
    content: String,
    findings: Vec<Finding>,
) -> (Vec<Finding>, Vec<StageReport>) {
    let shared = &state.inner;
    let Some(language) = linters_wanted(shared, job) else {
        return (findings, Vec::new());
    };
    shared.hub.publish(
        &job.user_id,
        job.run_id.as_deref(),
        stage_update(
            JobRef {
                job_id: &job.job_id,
                run_id: job.run_id.as_deref(),
                file_path: &job.file_path,
            },
            Stage::Linting,
        ),
    );
    // Linter slots go to users in turn: one user's slow files never hold another's back for long.
    let permit = shared.linter_permits.acquire(&job.user_id).await;
    let linters = Arc::clone(&shared.linters);
    let rules = Arc::clone(&shared.rules);
    let selection = Arc::clone(selection);
    let path = job.file_path.clone();
    let user = job.user_id.clone();
    let builtin = findings.clone();
    let observer = Arc::clone(&state.inner);
    let (job_id, run_id) = (job.job_id.clone(), job.run_id.clone());
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        // Each linter's start is published, so that a slow one (a cold Go build cache) is seen running.
        let mut starting = |linter: &str| {
            let job = JobRef {
                job_id: &job_id,
                run_id: run_id.as_deref(),
                file_path: &path,
            };
            observer
                .hub
                .publish(&user, run_id.as_deref(), linter_update(job, linter));
        };
        let outcome = linters.lint_observed(
            &LintTarget {
                path: &path,
                content: &content,
                language: Some(language),
                user: Some(&user),
            },
            &mut starting,
        );
        let mut merged = merge_findings(&rules, findings, outcome.findings, &content);
        // `ignore` may name linters' ids (`ruff/E501`, `clippy/`).
        let enabled = selection.for_path(&rules, &path);
        merged.retain(|finding| !enabled.ignores(&finding.rule_id));
        (merged, outcome.stages)
    });
    match task.await {
        Ok(result) => result,
        Err(error) => {
            tracing::error!(job_id = %job.job_id, error = %error, "the linter stage crashed");
            let stages = shared
                .linters
                .for_language(language)
                .map(|linter| StageReport {
                    name: linter.name.clone(),
                    outcome: StageOutcome::Failed,
                    reason: Some("the linter stage crashed on this file".to_owned()),
                    required: linter.required,
                    elapsed_ms: None,
                })
                .collect();
            (builtin, stages)
        }
    }
}

/// [`crate::engine::Linters::project_inputs`] for the job's directory, once per directory and language of a batch.
pub(super) fn project_inputs(
    shared: &Shared,
    projects: &mut std::collections::HashMap<(std::path::PathBuf, String), Option<String>>,
    job: &ClaimedJob,
) -> Option<String> {
    let language = crate::engine::Language::from_name(&job.language)?;
    let directory = std::path::Path::new(&job.file_path).parent()?.to_path_buf();
    let directory = if directory.as_os_str().is_empty() {
        std::path::PathBuf::from(".")
    } else {
        directory
    };
    projects
        .entry((directory, job.language.clone()))
        .or_insert_with_key(|(directory, _)| shared.linters.project_inputs(directory, language))
        .clone()
}

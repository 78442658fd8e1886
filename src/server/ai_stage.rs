//! The pipeline's AI review stage, run after rules and linters for jobs that ask for it (the run's `ai` option, or
//! the server's default when the run does not say). Its own cache entry is keyed by everything that changes the
//! model's answer: the rules' cache key (content, path, language, rule set), the findings already made, the model
//! and prompt version, the job type and the error log. A cache hit costs nothing and says so.

use crate::protocol::{Finding, JobType, sha256_hex};
use crate::reviewer::{AiReport, AiStatus, ReviewInput};
use crate::store::{CacheEntry, ClaimedJob};

use super::state::Shared;

/// What the stage produced for one job.
pub(crate) struct AiOutcome {
    pub(crate) report: AiReport,
    pub(crate) from_cache: bool,
    pub(crate) cache_entry: Option<CacheEntry>,
}

/// Whether `job` gets the AI review.
pub(crate) fn wanted(shared: &Shared, job: &ClaimedJob) -> bool {
    job.ai.unwrap_or_else(|| {
        shared
            .reviewer
            .as_ref()
            .is_some_and(|reviewer| reviewer.config().enabled_by_default)
    })
}

/// The AI cache key: the rules' key plus what the model saw and who answered.
fn cache_key(rules_key: &str, existing: &[Finding], identity: &str, job: &ClaimedJob) -> String {
    let findings: Vec<(&str, &str, u32, u32, &str)> = existing
        .iter()
        .map(|finding| {
            (
                finding.rule_id.as_str(),
                finding.severity.as_str(),
                finding.line,
                finding.end_line,
                finding.message.as_str(),
            )
        })
        .collect();
    let canonical = serde_json::json!({
        "stage": "ai",
        "rules_key": rules_key,
        "findings": findings,
        "model": identity,
        "job_type": job.job_type,
        "error_log_sha256": job.error_log.as_deref().map(|log| sha256_hex(log.as_bytes())),
    });
    sha256_hex(canonical.to_string().as_bytes())
}

/// Runs the stage: from the cache when allowed and present, else through the model.
pub(crate) async fn run(
    shared: &Shared,
    job: &ClaimedJob,
    content: &str,
    rules_key: &str,
    existing: &[Finding],
    expires_at: i64,
) -> AiOutcome {
    let Some(reviewer) = shared.reviewer.as_ref() else {
        return AiOutcome {
            report: AiReport::unavailable(
                "the AI review was requested, but this server has no LLM configured (`--llm-provider`, `--llm-url` or `[llm]` in codeinsight.toml)",
            ),
            from_cache: false,
            cache_entry: None,
        };
    };
    let input = ReviewInput {
        path: &job.file_path,
        content,
        language: &job.language,
        existing,
        job_type: job.job_type.parse().unwrap_or(JobType::Review),
        error_log: job.error_log.as_deref(),
    };
    let key = cache_key(rules_key, existing, &reviewer.config().identity(), job);
    if !job.no_cache {
        match shared
            .store
            .cache_lookup(
                std::slice::from_ref(&key),
                chrono::Utc::now().timestamp_micros(),
            )
            .await
        {
            Ok(mut hits) => {
                if let Some(cached) = hits.remove(&key) {
                    return AiOutcome {
                        report: reviewer.cached_report(&input, cached.findings),
                        from_cache: true,
                        cache_entry: None,
                    };
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "AI cache lookup failed; asking the model");
            }
        }
    }
    let report = reviewer.review(&input).await;
    match &report.status {
        AiStatus::Reviewed => tracing::info!(
            job_id = %job.job_id, model = %report.model, findings = report.findings.len(),
            dropped = report.dropped, tokens = report.tokens.total_tokens,
            elapsed_ms = report.elapsed.as_millis(), "AI review finished"
        ),
        AiStatus::Skipped { reason } | AiStatus::Failed { reason } => tracing::warn!(
            job_id = %job.job_id, model = %report.model, reason = %reason, "AI review did not complete"
        ),
    }
    let cache_entry = (report.status == AiStatus::Reviewed).then(|| CacheEntry {
        key,
        findings: report.findings.clone(),
        stages: Vec::new(),
        truncated: None,
        expires_at,
    });
    AiOutcome {
        report,
        from_cache: false,
        cache_entry,
    }
}

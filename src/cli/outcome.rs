//! From a finished run to a [`Report`] and its verdict: which files were reviewed, which were not and why, the
//! counts the gate reads, and the exit status. This is the only place the gate is decided, so `review` and `show`
//! agree by construction.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use crate::client::Snapshot;
use crate::protocol::{Finding, JobStatus, StageOutcome};
use crate::render::{
    Counts, FileReport, FileStatus, FixSummary, Outcome, Report, SkippedFile, Threshold, Timing,
    Verdict, plural,
};

use super::exit_status::ExitStatus;

/// What the report is built from besides the run itself.
pub struct Extras {
    /// Submitted text by path, for code frames and fix diffs.
    pub sources: HashMap<String, String>,
    /// Files skipped before submission.
    pub client_skipped: Vec<SkippedFile>,
    pub elapsed: Option<Duration>,
    /// Set when `--fix` ran: what was applied and the fingerprints it resolved.
    pub fixes: Option<(FixSummary, HashSet<String>)>,
}

pub fn build_report(
    snapshot: &Snapshot,
    threshold: Threshold,
    extras: Extras,
) -> (Report, ExitStatus) {
    let fixed = extras
        .fixes
        .as_ref()
        .map(|(_, fingerprints)| fingerprints.clone())
        .unwrap_or_default();
    let mut counts = Counts::default();
    let mut files = Vec::with_capacity(snapshot.jobs.len());
    let mut server_seconds = 0.0;
    let mut cache_hits = 0;
    let mut tokens_used = 0;
    let mut estimated_cost = 0.0;
    for job in &snapshot.jobs {
        let mut findings: Vec<Finding> = job
            .results
            .as_ref()
            .map(|results| results.findings.clone())
            .unwrap_or_default();
        findings.retain(|finding| !fixed.contains(&finding.fingerprint));
        findings
            .sort_by(|a, b| (a.line, a.column, &a.rule_id).cmp(&(b.line, b.column, &b.rule_id)));
        let stages = job
            .results
            .as_ref()
            .map(|results| results.stages.clone())
            .unwrap_or_default();
        let (status, problem) = file_status(job.status, job.error.as_deref(), &stages);
        let mut failing_here = 0;
        for finding in &findings {
            match finding.severity {
                crate::protocol::Severity::Critical => counts.critical += 1,
                crate::protocol::Severity::Major => counts.major += 1,
                crate::protocol::Severity::Minor => counts.minor += 1,
                crate::protocol::Severity::Info => counts.info += 1,
            }
            if threshold
                .fail_on
                .is_some_and(|fail_on| finding.severity >= fail_on)
            {
                failing_here += 1;
            }
        }
        // Findings the server counted but did not keep (over its bound) are still findings: they count, and
        // they gate.
        let truncated = job
            .results
            .as_ref()
            .and_then(|results| results.truncated.clone());
        if let Some(truncated) = &truncated {
            for severity in crate::protocol::Severity::ALL_DESCENDING {
                let dropped = truncated.dropped.get(severity);
                match severity {
                    crate::protocol::Severity::Critical => counts.critical += dropped,
                    crate::protocol::Severity::Major => counts.major += dropped,
                    crate::protocol::Severity::Minor => counts.minor += dropped,
                    crate::protocol::Severity::Info => counts.info += dropped,
                }
            }
            counts.not_listed += truncated.dropped.total();
            if let Some(fail_on) = threshold.fail_on {
                failing_here += truncated.dropped.at_least(fail_on);
            }
        }
        counts.failing += failing_here;
        if failing_here > 0 {
            counts.files_failing += 1;
        }
        if status == FileStatus::Reviewed {
            counts.files_reviewed += 1;
        }
        let total = findings.len();
        findings.retain(|finding| finding.severity >= threshold.report_min);
        counts.shown += findings.len();
        if let Some(results) = &job.results {
            server_seconds += results.elapsed_time;
        }
        if job.cache_hit {
            cache_hits += 1;
        }
        tokens_used += job.tokens_used.total_tokens;
        estimated_cost += job.estimated_cost;
        files.push(FileReport {
            path: job.file_path.clone(),
            language: job.language.clone(),
            job_id: job.job_id.clone(),
            status,
            problem,
            cache_hit: job.cache_hit,
            elapsed_seconds: job
                .results
                .as_ref()
                .map_or(0.0, |results| results.elapsed_time),
            stages,
            hidden_findings: total - findings.len(),
            findings,
            baselined: Vec::new(),
            outside_diff: Vec::new(),
            truncated,
            // Code frames and fix diffs are cut from this text: secrets in it are masked, byte for byte.
            source: extras
                .sources
                .get(&job.file_path)
                .or(job.file_content.as_ref())
                .map(|source| crate::engine::mask_secrets_in_place(source).into_owned()),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    // Client-side skips first; a server rejection of the same path (the client told it) is the same file.
    let mut skipped: BTreeMap<String, SkippedFile> = BTreeMap::new();
    for file in &extras.client_skipped {
        skipped.insert(file.path.clone(), file.clone());
    }
    for rejected in &snapshot.rejected {
        skipped
            .entry(rejected.file_path.clone())
            .or_insert_with(|| SkippedFile {
                path: rejected.file_path.clone(),
                reason: rejected.reason.clone(),
                policy: rejected.policy,
            });
    }
    let skipped: Vec<SkippedFile> = skipped.into_values().collect();
    counts.below_threshold = counts.total() - counts.failing;
    let left_out = skipped.iter().filter(|file| file.policy).count();
    counts.files_total = files.len() + skipped.len() - left_out;
    counts.left_out = left_out;
    counts.files_not_reviewed = counts.files_total - counts.files_reviewed;
    let elapsed_seconds = extras.elapsed.map_or_else(
        || {
            snapshot
                .jobs
                .iter()
                .filter_map(|job| job.completed_at)
                .max()
                .map_or(0.0, |end| {
                    (end - snapshot.created_at).num_milliseconds().max(0) as f64 / 1000.0
                })
        },
        |elapsed| elapsed.as_secs_f64(),
    );
    let not_reviewed: Vec<SkippedFile> = skipped
        .iter()
        .filter(|file| !file.policy)
        .cloned()
        .collect();
    let (status, mut verdict) = decide(&counts, threshold, &files, &not_reviewed);
    if left_out > 0 {
        let mut reasons: Vec<&str> = skipped
            .iter()
            .filter(|file| file.policy)
            .map(|file| file.reason.split(" (").next().unwrap_or(&file.reason))
            .collect();
        reasons.sort_unstable();
        reasons.dedup();
        verdict.summary = format!(
            "{}; {} left out by policy ({})",
            verdict.summary,
            plural(left_out, "file", "files"),
            reasons.join(", ")
        );
    }
    if counts.not_listed > 0 {
        verdict.summary = format!(
            "{}; {} not listed (over the server's bound)",
            verdict.summary,
            plural(counts.not_listed, "finding", "findings")
        );
    }
    let linters = linters_that_ran(&files);
    if !linters.is_empty() {
        verdict.summary = format!("{}; linters: {}", verdict.summary, linters.join(", "));
    }
    let report = Report {
        run_id: snapshot.run_id.clone(),
        files,
        skipped,
        counts,
        threshold,
        timing: Timing {
            elapsed_seconds,
            server_seconds,
        },
        cache_hits,
        tokens_used,
        estimated_cost,
        fixes: extras.fixes.map(|(summary, _)| summary),
        verdict,
        rules: Vec::new(),
    };
    (report, status)
}

/// The external linters that ran on at least one file: every stage but the engine's own and the AI review.
fn linters_that_ran(files: &[FileReport]) -> Vec<String> {
    let mut names: Vec<String> = files
        .iter()
        .flat_map(|file| &file.stages)
        .filter(|stage| stage.outcome == StageOutcome::Ok)
        .filter(|stage| {
            !["rules", "secrets", crate::reviewer::STAGE_NAME].contains(&stage.name.as_str())
        })
        .map(|stage| stage.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn file_status(
    status: JobStatus,
    error: Option<&str>,
    stages: &[crate::protocol::StageReport],
) -> (FileStatus, Option<String>) {
    match status {
        JobStatus::Failed => (
            FileStatus::Failed,
            Some(format!("failed: {}", error.unwrap_or("no reason given"))),
        ),
        JobStatus::Pending | JobStatus::Processing => (
            FileStatus::Incomplete,
            Some(format!("still {status} on the server")),
        ),
        JobStatus::Completed => {
            let problems: Vec<String> = stages
                .iter()
                .filter(|stage| stage.required && stage.outcome != StageOutcome::Ok)
                .map(|stage| {
                    let outcome = match stage.outcome {
                        StageOutcome::Skipped => "skipped",
                        StageOutcome::Failed | StageOutcome::Ok => "failed",
                    };
                    match &stage.reason {
                        Some(reason) => format!("stage `{}` {outcome}: {reason}", stage.name),
                        None => format!("stage `{}` {outcome}", stage.name),
                    }
                })
                .collect();
            if problems.is_empty() {
                (FileStatus::Reviewed, None)
            } else {
                (FileStatus::Incomplete, Some(problems.join("; ")))
            }
        }
    }
}

/// `1 file skipped: too large, 1 failed`.
fn not_reviewed_note(files: &[FileReport], skipped: &[SkippedFile]) -> Option<String> {
    let mut parts = Vec::new();
    if !skipped.is_empty() {
        let mut reasons: Vec<&str> = skipped
            .iter()
            .map(|file| file.reason.split(" (").next().unwrap_or(&file.reason))
            .collect();
        reasons.sort_unstable();
        reasons.dedup();
        parts.push(format!(
            "{} skipped: {}",
            plural(skipped.len(), "file", "files"),
            reasons.join(", ")
        ));
    }
    let failed = files
        .iter()
        .filter(|file| file.status == FileStatus::Failed)
        .count();
    if failed > 0 {
        parts.push(format!("{} failed", plural(failed, "file", "files")));
    }
    let incomplete = files
        .iter()
        .filter(|file| file.status == FileStatus::Incomplete)
        .count();
    if incomplete > 0 {
        parts.push(format!(
            "{} incomplete",
            plural(incomplete, "file", "files")
        ));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn decide(
    counts: &Counts,
    threshold: Threshold,
    files: &[FileReport],
    skipped: &[SkippedFile],
) -> (ExitStatus, Verdict) {
    let not_reviewed = not_reviewed_note(files, skipped);
    let of_files = plural(counts.files_total, "file", "files");
    let (status, outcome, summary) = match threshold.fail_on {
        Some(fail_on) if counts.failing > 0 => {
            let mut notes = vec![format!("{} below threshold", counts.below_threshold)];
            notes.extend(not_reviewed);
            (
                ExitStatus::GateFailed,
                Outcome::Fail,
                format!(
                    "{} >= {fail_on} in {} of {of_files} ({})",
                    plural(counts.failing, "finding", "findings"),
                    counts.files_failing,
                    notes.join(", ")
                ),
            )
        }
        _ => {
            let gate = match threshold.fail_on {
                Some(fail_on) => format!("no findings >= {fail_on}"),
                None => format!(
                    "{} (gate off: --fail-on never)",
                    plural(counts.total(), "finding", "findings")
                ),
            };
            if let Some(note) = not_reviewed {
                (
                    ExitStatus::Incomplete,
                    Outcome::Incomplete,
                    format!(
                        "{} of {of_files} not reviewed ({note}); {gate} in the rest",
                        counts.files_not_reviewed
                    ),
                )
            } else {
                let below = if threshold.fail_on.is_some() {
                    format!(" ({} below threshold)", counts.below_threshold)
                } else {
                    String::new()
                };
                (
                    ExitStatus::Success,
                    Outcome::Pass,
                    format!("{gate} in {of_files}{below}"),
                )
            }
        }
    };
    (
        status,
        Verdict {
            outcome,
            exit_code: status.code(),
            summary,
        },
    )
}

/// Asks the server that ran the review for the documentation of the rules the report names, so that it travels
/// with the report (SARIF's rule descriptors read it). A server that cannot say leaves the report without it.
pub async fn attach_rule_docs(client: &crate::client::ApiClient, report: &mut Report) {
    let ids = report.rule_ids();
    if ids.is_empty() {
        return;
    }
    match client.rule_docs(&ids).await {
        Ok(mut docs) => {
            docs.sort_by(|a, b| a.id.cmp(&b.id));
            report.rules = docs;
        }
        Err(error) => tracing::debug!("no rule documentation from the server: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::decide;
    use crate::cli::exit_status::ExitStatus;
    use crate::protocol::Severity;
    use crate::render::{Counts, SkippedFile, Threshold};

    const MAJOR: Threshold = Threshold {
        fail_on: Some(Severity::Major),
        report_min: Severity::Info,
    };

    #[test]
    fn findings_at_the_threshold_fail_and_say_what_else_happened() {
        let counts = Counts {
            major: 3,
            minor: 12,
            shown: 15,
            failing: 3,
            below_threshold: 12,
            files_total: 41,
            files_reviewed: 40,
            files_failing: 2,
            files_not_reviewed: 1,
            ..Counts::default()
        };
        let skipped = [SkippedFile {
            path: "big.js".into(),
            reason: "too large (2.0 MiB > 1 MiB)".into(),
            policy: false,
        }];
        let (status, verdict) = decide(&counts, MAJOR, &[], &skipped);
        assert_eq!(status, ExitStatus::GateFailed);
        assert_eq!(
            verdict.line(),
            "FAIL (exit 1): 3 findings >= major in 2 of 41 files (12 below threshold, 1 file skipped: too large)"
        );
    }

    #[test]
    fn a_skipped_file_is_never_clean() {
        let counts = Counts {
            minor: 1,
            shown: 1,
            below_threshold: 1,
            files_total: 2,
            files_reviewed: 1,
            files_not_reviewed: 1,
            ..Counts::default()
        };
        let skipped = [SkippedFile {
            path: "blob.py".into(),
            reason: "binary".into(),
            policy: false,
        }];
        let (status, verdict) = decide(&counts, MAJOR, &[], &skipped);
        assert_eq!(status, ExitStatus::Incomplete);
        assert_eq!(
            verdict.line(),
            "INCOMPLETE (exit 5): 1 of 2 files not reviewed (1 file skipped: binary); no findings >= major in the rest"
        );
    }

    #[test]
    fn below_the_threshold_passes_and_never_disables_the_gate() {
        let counts = Counts {
            minor: 2,
            shown: 2,
            below_threshold: 2,
            files_total: 1,
            files_reviewed: 1,
            ..Counts::default()
        };
        let (status, verdict) = decide(&counts, MAJOR, &[], &[]);
        assert_eq!(status, ExitStatus::Success);
        assert_eq!(
            verdict.line(),
            "PASS (exit 0): no findings >= major in 1 file (2 below threshold)"
        );
        let never = Threshold {
            fail_on: None,
            report_min: Severity::Info,
        };
        let (status, verdict) = decide(&counts, never, &[], &[]);
        assert_eq!(status, ExitStatus::Success);
        assert_eq!(
            verdict.line(),
            "PASS (exit 0): 2 findings (gate off: --fail-on never) in 1 file"
        );
    }
}

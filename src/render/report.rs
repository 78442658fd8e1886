//! The one model every renderer reads: a review's files with their findings, the files that could not be
//! reviewed and why, counts, timings, cache hits, the thresholds and the verdict. The CLI assembles it from a run
//! and decides the verdict; renderers only turn it into text.

use serde::Serialize;

use crate::protocol::{Finding, RuleDoc, Severity, StageReport, Truncation};

/// Bumped when a field is removed or changes meaning; adding fields keeps the version.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// A finished (or re-read) review.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The server's run id; `None` when a single job without a run is shown.
    pub run_id: Option<String>,
    /// Every file sent to the server, sorted by path.
    pub files: Vec<FileReport>,
    /// Files that were not reviewed at all: skipped by the client (by policy or not) or rejected by the server.
    pub skipped: Vec<SkippedFile>,
    pub counts: Counts,
    pub threshold: Threshold,
    pub timing: Timing,
    /// Files whose results came from the server's cache.
    pub cache_hits: usize,
    pub tokens_used: u64,
    pub estimated_cost: f64,
    /// Set when `--fix` ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixes: Option<FixSummary>,
    pub verdict: Verdict,
    /// The documentation of every rule the findings name, as the server that ran them gave it (user rules and a
    /// remote server's rules included), sorted by id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleDoc>,
}

/// One file the server was asked to review.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub language: String,
    pub job_id: String,
    /// `reviewed`, `failed` (the job failed) or `incomplete` (a required stage did not run).
    pub status: FileStatus,
    /// Why the file is not fully reviewed; `None` when `status` is `reviewed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub cache_hit: bool,
    pub elapsed_seconds: f64,
    pub stages: Vec<StageReport>,
    /// Findings at or above `--report-min`, sorted by line and column.
    pub findings: Vec<Finding>,
    /// Findings below `--report-min`, counted but not listed.
    pub hidden_findings: usize,
    /// Findings recorded in the `--baseline` file: listed apart, never gating (SARIF marks them `unchanged`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub baselined: Vec<Finding>,
    /// With `--new-only`: findings on lines the change did not touch, listed apart and never gating.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outside_diff: Vec<Finding>,
    /// Set when the server kept only the most severe findings of this file: how many there were, and the
    /// others by severity (they are in `counts` and gate like listed ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
    /// The submitted text, for code frames and fix diffs; never serialized.
    #[serde(skip)]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    Reviewed,
    Failed,
    Incomplete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedFile {
    pub path: String,
    /// Short and readable: `binary`, `too large (2.1 MiB > 1 MiB)`, `generated (@generated header)`.
    pub reason: String,
    /// Left out by policy while walking a directory (vendored, generated, minified, binary, too large, not
    /// UTF-8): listed and counted, but the review is not incomplete for it. A file named on the command line that
    /// cannot be reviewed is never left out by policy.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub policy: bool,
}

/// Finding and file counts. Severity counts include findings hidden by `--report-min`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub critical: usize,
    pub major: usize,
    pub minor: usize,
    pub info: usize,
    /// Findings listed (at or above `--report-min`).
    pub shown: usize,
    /// Findings at or above `--fail-on` (0 with `--fail-on never`).
    pub failing: usize,
    /// Findings below `--fail-on`.
    pub below_threshold: usize,
    /// Files requested: sent to the server plus skipped.
    pub files_total: usize,
    /// Files fully reviewed.
    pub files_reviewed: usize,
    /// Files with at least one finding at or above `--fail-on`.
    pub files_failing: usize,
    /// Files skipped, rejected, failed or incomplete.
    pub files_not_reviewed: usize,
    /// Findings matched by the `--baseline` file: not in the severity counts and never gating.
    pub baselined: usize,
    /// Findings outside added or modified lines with `--new-only`: not in the severity counts and never gating.
    pub outside_diff: usize,
    /// Findings the server counted but did not keep (over its bound per file or per run): in the severity
    /// counts, gating, not listed.
    pub not_listed: usize,
    /// Files a directory walk left out by policy: not in `files_total`, not making the review incomplete.
    pub left_out: usize,
}

impl Counts {
    pub fn of(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::Major => self.major,
            Severity::Minor => self.minor,
            Severity::Info => self.info,
        }
    }

    pub fn total(&self) -> usize {
        self.critical + self.major + self.minor + self.info
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Threshold {
    /// `None` means `--fail-on never`.
    pub fail_on: Option<Severity>,
    pub report_min: Severity,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timing {
    /// Wall time the client waited, or the run's span for a stored run.
    pub elapsed_seconds: f64,
    /// Sum of the server's per-file analysis times.
    pub server_seconds: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FixSummary {
    pub applied: usize,
    pub files: usize,
    /// Files whose fixes were not applied because they changed since submission.
    pub files_changed_since_review: usize,
    /// Unsafe fixes left out because `--unsafe-fixes` was not given.
    pub unsafe_left_out: usize,
}

/// The conclusion, decided by the CLI and printed last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub outcome: Outcome,
    pub exit_code: u8,
    /// Why, e.g. `3 findings >= major in 2 of 41 files (12 below threshold)`.
    pub summary: String,
}

impl Verdict {
    /// `FAIL (exit 1): 3 findings >= major in 2 of 41 files`.
    pub fn line(&self) -> String {
        format!(
            "{} (exit {}): {}",
            self.outcome.label(),
            self.exit_code,
            self.summary
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Incomplete,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Incomplete => "INCOMPLETE",
        }
    }
}

impl Report {
    /// Every rule id the report's findings name (listed, baselined or outside the diff), sorted.
    pub fn rule_ids(&self) -> Vec<&str> {
        let ids: std::collections::BTreeSet<&str> = self
            .files
            .iter()
            .flat_map(|file| {
                file.findings
                    .iter()
                    .chain(&file.baselined)
                    .chain(&file.outside_diff)
            })
            .map(|finding| finding.rule_id.as_str())
            .collect();
        ids.into_iter().collect()
    }

    /// The files that should have been reviewed and were not: they make the review incomplete.
    pub fn not_reviewed(&self) -> impl Iterator<Item = &SkippedFile> {
        self.skipped.iter().filter(|file| !file.policy)
    }

    /// The files a directory walk left out by policy.
    pub fn left_out(&self) -> impl Iterator<Item = &SkippedFile> {
        self.skipped.iter().filter(|file| file.policy)
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::{Counts, FileReport, FileStatus, Outcome, Report, Threshold, Timing, Verdict};
    use crate::protocol::{Finding, Severity};

    /// A one-file report of `findings` gated at major, for renderer unit tests.
    pub(crate) fn report_with(findings: Vec<Finding>) -> Report {
        Report {
            run_id: Some("run".into()),
            files: vec![FileReport {
                path: "app.py".into(),
                language: "python".into(),
                job_id: "job".into(),
                status: FileStatus::Reviewed,
                problem: None,
                cache_hit: false,
                elapsed_seconds: 0.0,
                stages: Vec::new(),
                findings,
                hidden_findings: 0,
                baselined: Vec::new(),
                outside_diff: Vec::new(),
                truncated: None,
                source: None,
            }],
            skipped: Vec::new(),
            counts: Counts::default(),
            threshold: Threshold {
                fail_on: Some(Severity::Major),
                report_min: Severity::Info,
            },
            timing: Timing::default(),
            cache_hits: 0,
            tokens_used: 0,
            estimated_cost: 0.0,
            fixes: None,
            verdict: Verdict {
                outcome: Outcome::Fail,
                exit_code: 1,
                summary: "findings".into(),
            },
            rules: Vec::new(),
        }
    }
}

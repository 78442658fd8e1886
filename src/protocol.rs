//! Wire and domain types shared by every layer: findings and fixes as the engine produces them, jobs and runs as
//! the server stores and serves them, and the WebSocket messages that follow them. This module depends on nothing
//! but serde and small value crates so that the client, the server and the renderers agree on one vocabulary.
//!
//! The job document's field names (`job_id`, `results.lint_result`, `tokens_used`, ...) are part of the protocol
//! in docs/design.md, which clients depend on: fields are added, never renamed.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One scale everywhere, lowest first so that `Ord` compares by importance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Minor,
    Major,
    Critical,
}

impl Severity {
    /// Every severity, most important first (the order reports use).
    pub const ALL_DESCENDING: [Severity; 4] = [
        Severity::Critical,
        Severity::Major,
        Severity::Minor,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }

    /// One step less important (info stays info): what a rule that downgrades in tests reports there.
    #[must_use]
    pub fn lower(self) -> Severity {
        match self {
            Severity::Critical => Severity::Major,
            Severity::Major => Severity::Minor,
            Severity::Minor | Severity::Info => Severity::Info,
        }
    }

    /// The three-level vocabulary of `lint_result`.
    pub fn lint_level(self) -> &'static str {
        match self {
            Severity::Critical | Severity::Major => "error",
            Severity::Minor => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "minor" => Ok(Severity::Minor),
            "major" => Ok(Severity::Major),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}` (expected critical, major, minor or info)"
            )),
        }
    }
}

/// How far a fix can be trusted without a human looking at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Preserves behaviour; `--fix` applies it.
    Safe,
    /// Likely right but may change behaviour; shown as a diff, never applied automatically.
    Unsafe,
    /// A proposal (for example from a model) that needs review.
    Suggestion,
}

/// One replacement of the byte range `start..end` of the original source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub replacement: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fix {
    /// What the fix does, e.g. "use `yaml.safe_load`".
    pub description: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
}

/// A problem found at one place in one file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// `python/subprocess-shell-true`, `secrets/aws-access-key`, `ruff/F401`.
    pub rule_id: String,
    /// Which engine produced it: `codeinsight` for built-in rules and the secrets scanner, `user` for a user's rule
    /// file, or the linter's name.
    pub source: String,
    pub severity: Severity,
    /// security, correctness, performance, maintainability or style.
    pub category: String,
    pub message: String,
    pub path: String,
    /// 1-based, inclusive start; `end_column` is exclusive (one past the last character), columns count characters.
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    /// The matched source text (secrets masked), at most a few lines.
    pub snippet: String,
    /// Stable across unrelated edits: rule + path + normalised snippet (+ an occurrence index for repeats).
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// For a data-flow (taint) finding: where the untrusted value came from and each step to the sink, the
    /// source first and the sink last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flow: Vec<FlowStep>,
}

/// One step of a data flow: what the value is called there and where.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FlowStep {
    /// `request.args.get("q")`, `query`, `cursor.execute`.
    pub label: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

/// Job kinds the server accepts. Anything else is refused at submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobType {
    Review,
    Debug,
}

impl JobType {
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Review => "review",
            JobType::Debug => "debug",
        }
    }
}

impl FromStr for JobType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "review" => Ok(JobType::Review),
            "debug" => Ok(JobType::Debug),
            other => Err(format!(
                "unsupported job_type `{other}` (expected review or debug)"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Pending,
    Processing,
    Completed,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Processing => "processing",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(JobStatus::Pending),
            "processing" => Ok(JobStatus::Processing),
            "completed" => Ok(JobStatus::Completed),
            "failed" => Ok(JobStatus::Failed),
            other => Err(format!(
                "unknown status `{other}` (expected pending, processing, completed or failed)"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensUsed {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// The original protocol's linter issue: kept for its web app, derived from `findings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintIssue {
    pub line: u32,
    pub column: u32,
    /// `error`, `warning` or `info`.
    pub severity: String,
    pub message: String,
    pub rule: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintSeverityCounts {
    pub error: u32,
    pub warning: u32,
    pub info: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintResult {
    pub success: bool,
    pub issues: Vec<LintIssue>,
    pub summary: String,
    pub severity_counts: LintSeverityCounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl LintResult {
    /// Builds the `lint_result` summary of a list of findings.
    pub fn from_findings(findings: &[Finding]) -> Self {
        let mut counts = LintSeverityCounts::default();
        let issues = findings
            .iter()
            .map(|finding| {
                let level = finding.severity.lint_level();
                match level {
                    "error" => counts.error += 1,
                    "warning" => counts.warning += 1,
                    _ => counts.info += 1,
                }
                LintIssue {
                    line: finding.line,
                    column: finding.column,
                    severity: level.to_owned(),
                    message: finding.message.clone(),
                    rule: finding.rule_id.clone(),
                }
            })
            .collect::<Vec<_>>();
        LintResult {
            success: true,
            summary: format!("Found {} issue(s)", issues.len()),
            issues,
            severity_counts: counts,
            skipped: None,
            error: None,
        }
    }
}

/// What happened to one stage of the pipeline for one file. A stage that did not run is never silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageOutcome {
    Ok,
    Skipped,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageReport {
    /// `rules`, `secrets`, or a linter or model name.
    pub name: String,
    pub outcome: StageOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether a non-`ok` outcome makes the review incomplete (exit 5).
    #[serde(default)]
    pub required: bool,
    /// How long the stage ran, in milliseconds (linters; absent for stages that were not timed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResults {
    /// A readable markdown summary of the review.
    pub content: String,
    pub lint_result: LintResult,
    pub findings: Vec<Finding>,
    #[serde(default)]
    pub stages: Vec<StageReport>,
    pub cached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub elapsed_time: f64,
    /// Set when the server kept only part of the findings (over its bound per file or per run): the rest are
    /// counted by severity, and still count toward a gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

impl JobResults {
    /// The findings by severity, those counted but not kept included (both gate).
    pub fn severity_counts(&self) -> SeverityCounts {
        let mut counts = SeverityCounts::default();
        for finding in &self.findings {
            counts.add(finding.severity, 1);
        }
        if let Some(truncated) = &self.truncated {
            for severity in Severity::ALL_DESCENDING {
                counts.add(severity, truncated.dropped.get(severity));
            }
        }
        counts
    }

    /// Whether a required stage did not run (the review is incomplete).
    pub fn missing_required_stage(&self) -> bool {
        self.stages
            .iter()
            .any(|stage| stage.required && stage.outcome != StageOutcome::Ok)
    }
}

/// Findings the server counted but did not keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// Findings there were; `findings` holds the most severe of them.
    pub total: usize,
    /// The ones not kept, by severity.
    pub dropped: SeverityCounts,
    /// Which bound applied, e.g. `at most 1000 findings per file`.
    pub reason: String,
}

/// A count per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    pub critical: usize,
    pub major: usize,
    pub minor: usize,
    pub info: usize,
}

impl SeverityCounts {
    pub fn add(&mut self, severity: Severity, count: usize) {
        match severity {
            Severity::Critical => self.critical += count,
            Severity::Major => self.major += count,
            Severity::Minor => self.minor += count,
            Severity::Info => self.info += count,
        }
    }

    pub fn get(&self, severity: Severity) -> usize {
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

    /// How many are at or above `severity`.
    pub fn at_least(&self, severity: Severity) -> usize {
        Severity::ALL_DESCENDING
            .iter()
            .filter(|candidate| **candidate >= severity)
            .map(|candidate| self.get(*candidate))
            .sum()
    }
}

/// The job document of `GET /jobs/{job_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub job_id: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(rename = "type")]
    pub job_type: JobType,
    pub status: JobStatus,
    pub file_path: String,
    pub language: String,
    #[serde(default)]
    pub repo_id: Option<String>,
    /// Omitted from list responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_content: Option<String>,
    /// SHA-256 of the submitted content, hex; lets a client check a file is unchanged before applying fixes.
    pub content_sha256: String,
    pub results: Option<JobResults>,
    pub error: Option<String>,
    pub tokens_used: TokensUsed,
    pub estimated_cost: f64,
    pub cache_hit: bool,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// `POST /jobs/enqueue`, the single-file submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnqueueRequest {
    pub user_id: String,
    pub job_type: String,
    #[serde(default)]
    pub file_path: Option<String>,
    #[serde(default)]
    pub file_content: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub repo_id: Option<String>,
    #[serde(default)]
    pub error_log: Option<String>,
    /// Ask for (`true`) or against (`false`) the AI review; absent takes the server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<bool>,
    /// Ignore cached results.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_cache: bool,
    /// Run only the built-in rules and the secrets scan, no external linter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_linters: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnqueueResponse {
    pub success: bool,
    pub job_id: String,
    pub status: JobStatus,
}

/// `GET /jobs/user/{user_id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobList {
    pub jobs: Vec<Job>,
    pub count: usize,
    /// Pass back as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One file of a run submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunFile {
    pub path: String,
    pub content: String,
    /// Overrides detection by extension and shebang.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunOptions {
    /// Ignore cached results (fresh results still refresh the cache).
    #[serde(default)]
    pub no_cache: bool,
    /// Ask for (`true`) or against (`false`) the AI review; absent takes the server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<bool>,
    /// Run only the built-in rules and the secrets scan, no external linter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_linters: bool,
    /// Which built-in rules run (`[rules]` in codeinsight.toml, `--select`, `--ignore`); absent runs the
    /// `default` group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RuleSelection>,
}

/// Which rules run, as ruff's `select`/`ignore`: selectors are a group (`default`, `pedantic`, `restriction`,
/// `all`), a rule id (`python/pickle-load`), or a prefix (`python/`, `secrets`). `ignore` also takes a linter's
/// rule ids (`ruff/E501`, `clippy/`). Per-path entries add to both for the files their globs match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSelection {
    /// Empty means `["default"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub select: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    #[serde(default, rename = "per-path", skip_serializing_if = "Vec::is_empty")]
    pub per_path: Vec<PathRules>,
}

/// `[[rules.per-path]]`: more selectors for the files whose path matches one of `paths` (globs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathRules {
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub select: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
}

/// `POST /api/v1/runs`: many files reviewed as one run, followed by one subscription.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRequest {
    pub files: Vec<RunFile>,
    #[serde(default)]
    pub options: RunOptions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_id: Option<String>,
    /// Files the client chose not to send (binary, generated, too large), with why. The server stores them with the
    /// run's `rejected` list so that `codeinsight show RUN_ID` reports them exactly as `review` did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<RejectedFile>,
    /// How the client judges the run, stored with it (first request only) so that `show` and the web view
    /// judge it the same way; absent is the default gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<RunGate>,
    /// Where the code came from (commit, branch, CI job), shown with the run (first request only).
    #[serde(default, skip_serializing_if = "RunContext::is_empty")]
    pub context: RunContext,
}

/// The gate and report settings a run was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunGate {
    /// The lowest severity that fails the run; `null` never fails on findings (`--fail-on never`).
    pub fail_on: Option<Severity>,
    /// The lowest severity the report lists.
    pub report_min: Severity,
}

impl Default for RunGate {
    fn default() -> RunGate {
        RunGate {
            fail_on: Some(Severity::Major),
            report_min: Severity::Info,
        }
    }
}

impl RunGate {
    /// Whether findings counted by severity fail this gate.
    pub fn fails(&self, counts: &SeverityCounts) -> bool {
        self.fail_on
            .is_some_and(|fail_on| counts.at_least(fail_on) > 0)
    }
}

/// Where a run's code came from, as the client knew it (CI variables, git). Every field is optional and
/// bounded; `ci_url` is kept only when it is an `http(s)` URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// `owner/name` or the remote's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The CI job or pipeline that made the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_url: Option<String>,
}

impl RunContext {
    pub fn is_empty(&self) -> bool {
        self.commit.is_none()
            && self.branch.is_none()
            && self.repository.is_none()
            && self.ci_url.is_none()
    }
}

/// Where a run stands as a whole, judged with its own gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunVerdict {
    /// Files are still pending or in review.
    Running,
    Passed,
    /// Findings at or above the gate, or the server refused the run (`error` says why).
    Failed,
    /// No finding fails the gate, but a file was refused or failed, or a required stage did not run.
    Incomplete,
}

impl RunVerdict {
    pub const ALL: [RunVerdict; 4] = [
        RunVerdict::Running,
        RunVerdict::Passed,
        RunVerdict::Failed,
        RunVerdict::Incomplete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunVerdict::Running => "running",
            RunVerdict::Passed => "passed",
            RunVerdict::Failed => "failed",
            RunVerdict::Incomplete => "incomplete",
        }
    }
}

impl fmt::Display for RunVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RunVerdict {
    type Err = String;

    fn from_str(text: &str) -> Result<RunVerdict, String> {
        RunVerdict::ALL
            .into_iter()
            .find(|verdict| verdict.as_str() == text)
            .ok_or_else(|| {
                format!("unknown run status `{text}` (running, passed, failed or incomplete)")
            })
    }
}

/// One run as the runs list shows it: the counts are kept up to date as its files finish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub user_id: String,
    pub created_at: DateTime<Utc>,
    /// When its last file finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    pub verdict: RunVerdict,
    /// Files accepted for review.
    pub total: usize,
    pub completed: usize,
    pub failed: usize,
    /// Files refused (by the server or the client's checks, not its policy) and files whose required stage did
    /// not run.
    pub incomplete: usize,
    /// Findings by severity over the run's files, including those counted but not kept.
    pub findings: SeverityCounts,
    pub gate: RunGate,
    #[serde(default, skip_serializing_if = "RunContext::is_empty")]
    pub context: RunContext,
    /// Why the server refused the run, or why it failed to start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /api/v1/runs`: newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunList {
    pub runs: Vec<RunSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunJobRef {
    pub job_id: String,
    pub file_path: String,
}

/// A file the server refused to review, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedFile {
    pub file_path: String,
    pub reason: String,
    /// Left out by the client's policy while walking a directory (vendored, generated, minified, ...): listed,
    /// but the review is not incomplete for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub policy: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunCreated {
    pub run_id: String,
    pub jobs: Vec<RunJobRef>,
    pub rejected: Vec<RejectedFile>,
}

/// `GET /api/v1/runs/{run_id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub run_id: String,
    pub user_id: String,
    pub created_at: DateTime<Utc>,
    pub total: usize,
    pub completed: usize,
    pub failed: usize,
    /// Refused at submission; stored with the run so that `show` reports them like `review` did.
    pub rejected: Vec<RejectedFile>,
    /// The run's gate and context as submitted, its verdict and counts (absent from servers before them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<RunSummary>,
    /// Full job documents without `file_content`: one page of them, in submission order.
    pub jobs: Vec<Job>,
    /// Set when more jobs follow: pass it as `cursor` to get the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Where a job is in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Queued,
    Analysing,
    Linting,
    Reviewing,
    Storing,
    Done,
    Failed,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Analysing => "analysing",
            Stage::Linting => "linting",
            Stage::Reviewing => "reviewing",
            Stage::Storing => "storing",
            Stage::Done => "done",
            Stage::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEventData {
    pub message: String,
    pub stage: Stage,
    /// 0.0 to 1.0 within this job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_hit: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_used: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_cost: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_time: Option<f64>,
    /// The linter that starts running on the file (`linting` events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linter: Option<String>,
}

/// The `job_update` push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobUpdate {
    pub job_id: String,
    pub status: JobStatus,
    pub timestamp: DateTime<Utc>,
    pub data: JobEventData,
}

/// Client → server WebSocket messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Subscribe {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_id: Option<String>,
    },
    Unsubscribe {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_id: Option<String>,
    },
    Ping,
}

/// Server → client WebSocket messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Subscribed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_id: Option<String>,
    },
    Unsubscribed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_id: Option<String>,
    },
    Pong,
    JobUpdate(JobUpdate),
    /// A message the server could not act on; the socket stays open.
    Error {
        message: String,
    },
}

/// `GET /api/v1/whoami`: who the bearer token belongs to, so that a client can build `/jobs/user/{user_id}` and
/// `/ws/{user_id}` paths without being told its user id separately.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoAmI {
    pub user_id: String,
    pub admin: bool,
    /// What one request may carry; absent from servers that predate it (the client then assumes the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ServerLimits>,
}

/// A rule as the server that ran it documents it (`GET /api/v1/rules`): a report carries the docs of the rules
/// its findings name, user rules and a remote server's rules included, for SARIF's rule descriptors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleDoc {
    pub id: String,
    pub severity: Severity,
    pub category: String,
    /// The rule's one-line message.
    pub message: String,
    /// Markdown: what it flags, why it matters, an example, the fix.
    pub docs: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwe: Vec<u32>,
    /// Measured on real projects by triage; absent when never measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<MeasuredPrecision>,
}

/// A rule's triaged sample: how many findings were read and what they were, with `CodeQL`'s word for the share
/// that was true (`very-high`, `high`, `medium`, `low`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasuredPrecision {
    pub level: String,
    pub sampled: u32,
    pub true_positives: u32,
    pub false_positives: u32,
    pub debatable: u32,
}

/// What one request may carry, so that a client can split a big review into batches the server accepts
/// (`POST /api/v1/runs`, then `POST /api/v1/runs/{run_id}/files` for the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerLimits {
    /// Largest file content reviewed, in bytes.
    pub max_file_bytes: usize,
    /// Largest request body of a run or of a batch added to it, in bytes.
    pub max_run_bytes: usize,
    /// Most files in one request.
    pub max_files_per_run: usize,
    /// Longest file path, in bytes.
    pub max_path_bytes: usize,
}

impl Default for ServerLimits {
    /// The server's defaults.
    fn default() -> Self {
        ServerLimits {
            max_file_bytes: 1024 * 1024,
            max_run_bytes: 32 * 1024 * 1024,
            max_files_per_run: 10_000,
            max_path_bytes: 4096,
        }
    }
}

/// The JSON body of every API error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub detail: String,
}

/// Hex SHA-256, the content hash used by jobs, the cache and `--fix`'s unchanged-file check.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    let digest = sha2::Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_by_importance() {
        assert!(Severity::Critical > Severity::Major);
        assert!(Severity::Major > Severity::Minor);
        assert!(Severity::Minor > Severity::Info);
        assert_eq!("MAJOR".parse::<Severity>(), Ok(Severity::Major));
        assert!("warning".parse::<Severity>().is_err());
    }

    #[test]
    fn client_messages_keep_their_wire_shape() {
        let message: ClientMessage =
            serde_json::from_str(r#"{"type":"subscribe","job_id":"j1"}"#).unwrap();
        assert_eq!(
            message,
            ClientMessage::Subscribe {
                job_id: Some("j1".into()),
                run_id: None
            }
        );
        let ping: ClientMessage = serde_json::from_str(r#"{"type":"ping"}"#).unwrap();
        assert_eq!(ping, ClientMessage::Ping);
        assert_eq!(
            serde_json::to_string(&ServerMessage::Pong).unwrap(),
            r#"{"type":"pong"}"#
        );
    }

    #[test]
    fn job_update_is_flat_with_a_type_tag() {
        let update = ServerMessage::JobUpdate(JobUpdate {
            job_id: "j1".into(),
            status: JobStatus::Completed,
            timestamp: DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
                .unwrap()
                .with_timezone(&Utc),
            data: JobEventData {
                message: "done".into(),
                stage: Stage::Done,
                progress: Some(1.0),
                run_id: None,
                file_path: None,
                findings: Some(2),
                cache_hit: Some(true),
                error: None,
                tokens_used: None,
                estimated_cost: None,
                elapsed_time: None,
                linter: None,
            },
        });
        let json: serde_json::Value = serde_json::to_value(&update).unwrap();
        assert_eq!(json["type"], "job_update");
        assert_eq!(json["job_id"], "j1");
        assert_eq!(json["status"], "completed");
        assert_eq!(json["timestamp"], "2026-01-02T03:04:05Z");
        assert_eq!(json["data"]["stage"], "done");
    }

    #[test]
    fn sha256_is_hex() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}

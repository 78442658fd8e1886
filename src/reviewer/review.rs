//! One file's AI review from start to end: redact, cut into windows, ask the model per window, validate the
//! answer (asking once more with the problems listed when something is invalid), drop what stays invalid with a
//! count, add up the provider's token counts and the cost, and report the stage as reviewed, skipped (too large)
//! or failed (the endpoint or the answer gave out) — never silently empty.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::answer::{AnswerContext, check, finalize};
use super::config::LlmConfig;
use super::error::ReviewerError;
use super::prompt::{DebugContext, PromptInput, SYSTEM_PROMPT, answer_schema, build_windows};
use super::provider::{ChatRequest, Provider, Role, Turn, provider};
use super::redact::{Redacted, RedactionSummary, redact};
use super::stacktrace::{StackTraceAnalysis, analyze as analyze_stack_trace};
use crate::engine::Language;
use crate::protocol::{Finding, JobType, Severity, StageOutcome, StageReport, TokensUsed};

/// The stage name in `results.stages`.
pub const STAGE_NAME: &str = "ai";

/// What to review.
#[derive(Debug, Clone, Copy)]
pub struct ReviewInput<'a> {
    pub path: &'a str,
    pub content: &'a str,
    /// The job's language name (`python`); parse checks of replacements need it to be one the engine knows.
    pub language: &'a str,
    /// Findings rules and linters already reported.
    pub existing: &'a [Finding],
    pub job_type: JobType,
    pub error_log: Option<&'a str>,
}

/// How the AI stage ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum AiStatus {
    Reviewed,
    Skipped { reason: String },
    Failed { reason: String },
}

/// Everything the AI stage produced, for the job document.
#[derive(Debug, Clone, Serialize)]
pub struct AiReport {
    pub status: AiStatus,
    pub model: String,
    pub findings: Vec<Finding>,
    /// Findings dropped because they stayed invalid after the retry.
    pub dropped: usize,
    pub tokens: TokensUsed,
    pub estimated_cost: f64,
    pub redactions: RedactionSummary,
    pub windows: usize,
    /// Model calls made (retries for invalid answers included; transport retries are not calls).
    pub calls: usize,
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<StackTraceAnalysis>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `serialize_with` passes a reference
fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

impl AiReport {
    /// The report of a stage that could not run at all (no model configured).
    pub fn unavailable(reason: impl Into<String>) -> AiReport {
        AiReport {
            status: AiStatus::Skipped {
                reason: reason.into(),
            },
            model: "none".to_owned(),
            findings: Vec::new(),
            dropped: 0,
            tokens: TokensUsed::default(),
            estimated_cost: 0.0,
            redactions: RedactionSummary::default(),
            windows: 0,
            calls: 0,
            elapsed: Duration::ZERO,
            stack_trace: None,
        }
    }

    /// The stage's entry in `results.stages`: required, so anything but `ok` makes the review incomplete.
    pub fn stage(&self) -> StageReport {
        let (outcome, reason) = match &self.status {
            AiStatus::Reviewed => (
                StageOutcome::Ok,
                (self.dropped > 0).then(|| {
                    format!(
                        "{} finding(s) from `{}` dropped: still invalid after a retry",
                        self.dropped, self.model
                    )
                }),
            ),
            AiStatus::Skipped { reason } => (StageOutcome::Skipped, Some(reason.clone())),
            AiStatus::Failed { reason } => (StageOutcome::Failed, Some(reason.clone())),
        };
        StageReport {
            name: STAGE_NAME.to_owned(),
            outcome,
            reason,
            required: true,
            elapsed_ms: None,
        }
    }

    /// The job metadata this stage records: model, counts, redactions (rule ids and counts, never values).
    pub fn metadata(&self) -> serde_json::Value {
        let mut value = serde_json::json!({
            "model": self.model,
            "outcome": self.stage().outcome,
            "findings": self.findings.len(),
            "dropped_invalid": self.dropped,
            "windows": self.windows,
            "calls": self.calls,
            "elapsed_time": self.elapsed.as_secs_f64(),
            "redactions": self.redactions,
        });
        if let Some(stack_trace) = &self.stack_trace {
            value["stack_trace_analysis"] = serde_json::to_value(stack_trace).unwrap_or_default();
        }
        value
    }

    /// The review's readable markdown section, appended to `results.content`.
    pub fn markdown(&self, cached: bool) -> String {
        let mut text = format!("\n## AI review ({})\n\n", self.model);
        match &self.status {
            AiStatus::Failed { reason } => {
                let _ = writeln!(
                    text,
                    "**Not completed**: {reason}. The review is incomplete."
                );
            }
            AiStatus::Skipped { reason } => {
                let _ = writeln!(text, "**Skipped**: {reason}. The review is incomplete.");
            }
            AiStatus::Reviewed if self.findings.is_empty() => {
                let _ = writeln!(text, "The model reported no further issues.");
            }
            AiStatus::Reviewed => {
                for severity in Severity::ALL_DESCENDING {
                    for finding in self
                        .findings
                        .iter()
                        .filter(|finding| finding.severity == severity)
                    {
                        let lines = if finding.line == finding.end_line {
                            format!("line {}", finding.line)
                        } else {
                            format!("lines {}-{}", finding.line, finding.end_line)
                        };
                        let _ = writeln!(
                            text,
                            "- **{severity}** ({lines}, `{}`): {}{}",
                            finding.rule_id,
                            finding.message,
                            if finding.fix.is_some() {
                                " _(suggested fix)_"
                            } else {
                                ""
                            }
                        );
                    }
                }
            }
        }
        if let Some(stack_trace) = &self.stack_trace {
            let error = match (&stack_trace.error_type, &stack_trace.error_message) {
                (Some(kind), Some(message)) => format!("{kind}: {message}"),
                (Some(kind), None) => kind.clone(),
                _ => "the error".to_owned(),
            };
            let lines = if stack_trace.error_lines.is_empty() {
                "no line of this file".to_owned()
            } else {
                stack_trace
                    .error_lines
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                text,
                "\nStack trace: {error} (failing lines here: {lines})."
            );
        }
        let mut notes = Vec::new();
        if self.dropped > 0 {
            notes.push(format!("{} invalid finding(s) dropped", self.dropped));
        }
        if self.redactions.count > 0 {
            notes.push(format!(
                "{} secret(s) redacted before sending",
                self.redactions.count
            ));
        }
        if cached {
            notes.push("served from the result cache: no tokens used, no cost".to_owned());
        } else if self.tokens.total_tokens > 0 {
            notes.push(format!(
                "{} tokens ({} prompt, {} completion), ${:.4}",
                self.tokens.total_tokens,
                self.tokens.prompt_tokens,
                self.tokens.completion_tokens,
                self.estimated_cost
            ));
        }
        if !notes.is_empty() {
            let _ = writeln!(text, "\n_{}._", notes.join("; "));
        }
        text
    }
}

/// A configured model, ready to review files. Cheap to share: one HTTP client inside.
pub struct Reviewer {
    config: LlmConfig,
    provider: Box<dyn Provider>,
}

impl std::fmt::Debug for Reviewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reviewer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Reviewer {
    pub fn new(config: LlmConfig) -> Result<Reviewer, ReviewerError> {
        let provider = provider(&config)?;
        Ok(Reviewer { config, provider })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    pub fn model(&self) -> &str {
        self.provider.model()
    }

    /// The report of a review served from the cache: the cached findings, no tokens, no cost. Redactions and
    /// the stack trace are recomputed (they depend only on the input) so the job records them like a fresh one.
    pub fn cached_report(&self, input: &ReviewInput<'_>, findings: Vec<Finding>) -> AiReport {
        let (redacted, redacted_log, stack_trace) = prepare(input);
        AiReport {
            status: AiStatus::Reviewed,
            model: self.model().to_owned(),
            findings,
            dropped: 0,
            tokens: TokensUsed::default(),
            estimated_cost: 0.0,
            redactions: combined(&redacted, redacted_log.as_ref()),
            windows: 0,
            calls: 0,
            elapsed: Duration::ZERO,
            stack_trace,
        }
    }

    /// Reviews one file. Never fails: a failure is an [`AiStatus::Failed`] report with the reason and the tokens
    /// spent so far.
    pub async fn review(&self, input: &ReviewInput<'_>) -> AiReport {
        let started = Instant::now();
        let (redacted, redacted_log, stack_trace) = prepare(input);
        let debug = stack_trace.as_ref().map(|analysis| DebugContext {
            error_log: redacted_log
                .as_ref()
                .map_or("(no error log was given)", |log| log.text.as_str()),
            failing_lines: analysis.error_lines.clone(),
        });
        let redactions = combined(&redacted, redacted_log.as_ref());
        let mut report = AiReport {
            status: AiStatus::Reviewed,
            model: self.model().to_owned(),
            findings: Vec::new(),
            dropped: 0,
            tokens: TokensUsed::default(),
            estimated_cost: 0.0,
            redactions,
            windows: 0,
            calls: 0,
            elapsed: Duration::ZERO,
            stack_trace,
        };
        let windows = build_windows(&PromptInput {
            path: input.path,
            language: input.language,
            content: &redacted.text,
            existing: input.existing,
            debug: debug.as_ref(),
            context_tokens: self.config.context_tokens as usize,
            max_output_tokens: self.config.max_output_tokens as usize,
            overlap_lines: self.config.window_overlap_lines,
            max_windows: self.config.max_windows,
        });
        let windows = match windows {
            Ok(windows) => windows,
            Err(too_large) => {
                report.status = AiStatus::Skipped {
                    reason: too_large.to_string(),
                };
                report.elapsed = started.elapsed();
                return report;
            }
        };
        report.windows = windows.len();
        let language = Language::from_name(input.language);
        for window in windows {
            let context = AnswerContext {
                path: input.path,
                content: input.content,
                language,
                window: window.lines.clone(),
                model: self.model(),
            };
            if let Err(reason) = self
                .review_window(window.user_message, &context, &mut report)
                .await
            {
                report.status = AiStatus::Failed { reason: reason.0 };
                break;
            }
        }
        finalize(&mut report.findings);
        // The model saw redacted code, but its answer is checked against the real file: mask what it quotes.
        let mask = crate::engine::SecretMask::of(input.content);
        for finding in &mut report.findings {
            mask.finding(finding, input.content);
        }
        if let AiStatus::Failed { reason } | AiStatus::Skipped { reason } = &mut report.status {
            *reason = mask.text(reason).into_owned();
        }
        let price = self.config.prices.price(self.model());
        report.estimated_cost =
            price.cost(report.tokens.prompt_tokens, report.tokens.completion_tokens);
        report.elapsed = started.elapsed();
        report
    }

    /// Asks about one window, once more if the answer had invalid parts, and keeps what is valid.
    async fn review_window(
        &self,
        user_message: String,
        context: &AnswerContext<'_>,
        report: &mut AiReport,
    ) -> Result<(), WindowFailure> {
        let mut request = ChatRequest {
            system: SYSTEM_PROMPT.to_owned(),
            turns: vec![Turn {
                role: Role::User,
                text: user_message,
            }],
            schema: answer_schema(self.config.max_findings, self.config.max_replacement_chars),
            max_output_tokens: self.config.max_output_tokens,
        };
        let mut last_problem = String::new();
        for attempt in 0..2 {
            report.calls += 1;
            let reply = match self.provider.complete(&request).await {
                Ok(reply) => reply,
                Err(failure) => {
                    add(&mut report.tokens, failure.usage);
                    return Err(WindowFailure(failure.reason));
                }
            };
            add(&mut report.tokens, reply.usage);
            let problems = match check(&reply.text, context) {
                Ok(checked) if checked.problems.is_empty() => {
                    report.findings.extend(checked.findings);
                    return Ok(());
                }
                Ok(checked) if attempt == 1 => {
                    report.dropped += checked.problems.len();
                    report.findings.extend(checked.findings);
                    return Ok(());
                }
                Ok(checked) => checked.problems,
                Err(problem) => vec![problem],
            };
            let problems: Vec<&str> = problems.iter().map(|problem| problem.0.as_str()).collect();
            last_problem = problems.join("; ");
            tracing::debug!(model = %self.model(), problems = %last_problem, "invalid model answer; asking again");
            request.turns.push(Turn {
                role: Role::Assistant,
                text: reply.text,
            });
            request.turns.push(Turn {
                role: Role::User,
                text: format!(
                    "Your answer had these problems:\n- {}\nAnswer again with the complete corrected JSON object, keeping the valid findings.",
                    problems.join("\n- ")
                ),
            });
        }
        Err(WindowFailure(
            ReviewerError::OutputInvalid(last_problem).to_string(),
        ))
    }
}

/// Why a window of the file could not be reviewed: the AI stage's `failed` reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct WindowFailure(String);

/// The redacted content and error log, and for a debug job what its stack trace says.
fn prepare(input: &ReviewInput<'_>) -> (Redacted, Option<Redacted>, Option<StackTraceAnalysis>) {
    let redacted = redact(input.content);
    let redacted_log = input.error_log.map(redact);
    let stack_trace = (input.job_type == JobType::Debug)
        .then(|| analyze_stack_trace(input.error_log.unwrap_or_default(), input.path));
    (redacted, redacted_log, stack_trace)
}

fn combined(content: &Redacted, log: Option<&Redacted>) -> RedactionSummary {
    let mut summary = content.summary.clone();
    if let Some(log) = log {
        summary.count += log.summary.count;
        for (rule, count) in &log.summary.rules {
            *summary.rules.entry(rule.clone()).or_insert(0) += count;
        }
    }
    summary
}

fn add(total: &mut TokensUsed, more: TokensUsed) {
    total.prompt_tokens += more.prompt_tokens;
    total.completion_tokens += more.completion_tokens;
    total.total_tokens += more.total_tokens;
}

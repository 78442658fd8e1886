//! Running the linters for one file: each in a fresh temporary directory holding a copy of the submitted content
//! (removed when the run ends, whatever happened), its output parsed by the tool's module into drafts, the drafts
//! turned into findings with 1-based character positions, and one stage report per linter that says honestly
//! whether it ran, was skipped, or failed and why.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::discovery::{Linter, Linters, Tool};
use super::positions::SourceIndex;
use super::process::{self, Invocation, ProcessError, ProcessOutput};
use super::sandbox::Confinement;
use super::{biome, clippy, custom, eslint, go, ruff, shellcheck};
use std::borrow::Cow;

use crate::engine::mask_secrets;
use crate::engine::secrets::SecretMask;
use crate::engine::{Language, clip_snippet};
use crate::protocol::{Finding, Fix, Severity, StageOutcome, StageReport};

/// One file to lint, as submitted.
#[derive(Debug, Clone, Copy)]
pub struct LintTarget<'a> {
    pub path: &'a str,
    pub content: &'a str,
    pub language: Option<Language>,
    /// Who submitted the file: a sandboxed run may use that user's tool caches, never another's.
    pub user: Option<&'a str>,
}

/// The linters' findings for one file (positions set, fingerprints not yet: see
/// [`crate::engine::merge_findings`]) and one stage report per linter that applies to the file's language.
#[derive(Debug, Clone, Default)]
pub struct LintOutcome {
    pub findings: Vec<Finding>,
    pub stages: Vec<StageReport>,
}

impl LintOutcome {
    /// Whether every linter ran: only then may the result be cached (a timeout must not be served again).
    pub fn complete(&self) -> bool {
        self.stages
            .iter()
            .all(|stage| stage.outcome == StageOutcome::Ok)
    }
}

/// A problem as a tool reported it, with its span already turned into byte offsets of the submitted content.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    /// Already prefixed: `ruff/F401`.
    pub(crate) rule_id: String,
    pub(crate) severity: Severity,
    pub(crate) category: &'static str,
    pub(crate) message: String,
    pub(crate) range: std::ops::Range<usize>,
    pub(crate) fix: Option<Fix>,
}

/// Why a linter produced no result for a file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LintError {
    #[error("{0}")]
    Unavailable(String),
    #[error("`{program}` {source}")]
    Process {
        program: String,
        #[source]
        source: ProcessError,
    },
    #[error("`{program}` exited with {status}{}", if tail.is_empty() { String::new() } else { format!(": {tail}") })]
    Crashed {
        program: String,
        status: String,
        tail: String,
    },
    #[error("`{program}` printed output that is not valid {expected}: {reason}")]
    InvalidOutput {
        program: String,
        expected: &'static str,
        reason: String,
    },
    #[error("cannot prepare a temporary directory")]
    TempDir(#[source] std::io::Error),
}

impl LintError {
    fn outcome(&self) -> StageOutcome {
        match self {
            LintError::Unavailable(_)
            | LintError::Process {
                source: ProcessError::NotFound { .. },
                ..
            } => StageOutcome::Skipped,
            _ => StageOutcome::Failed,
        }
    }

    /// What went wrong without anything the tool printed (which may quote the submitted code): for logs.
    fn summary(&self) -> String {
        match self {
            LintError::Unavailable(_) => "did not run".to_owned(),
            LintError::Process { program, source } => format!("`{program}` {source}"),
            LintError::Crashed {
                program, status, ..
            } => format!("`{program}` exited with {status}"),
            LintError::InvalidOutput {
                program, expected, ..
            } => format!("`{program}` printed output that is not valid {expected}"),
            LintError::TempDir(source) => format!("cannot prepare a temporary directory: {source}"),
        }
    }

    fn reason(&self) -> String {
        let mut reason = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        reason
    }
}

/// Everything a tool module needs to run and parse one linter on one file.
pub(crate) struct RunContext<'a> {
    pub(crate) linter: &'a Linter,
    pub(crate) program: &'a Path,
    /// The temporary directory, also the working directory.
    pub(crate) dir: &'a Path,
    /// The copy of the content inside `dir`.
    pub(crate) file: &'a Path,
    pub(crate) target: &'a LintTarget<'a>,
    pub(crate) index: &'a SourceIndex<'a>,
    /// The reviewed file itself, when it lies on this machine's disk with exactly the submitted content (a
    /// checkout the server can read): tools then honour the project's own configuration. Only ever set for the
    /// user's own files (the embedded server); a shared server never reads its disk at a client's path.
    pub(crate) on_disk: Option<&'a Path>,
    /// How the run is confined; `None` for the user's own files.
    pub(crate) confinement: Option<&'a Confinement>,
}

impl RunContext<'_> {
    pub(crate) fn program_name(&self) -> String {
        self.program.file_name().map_or_else(
            || self.program.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        )
    }

    /// Runs the linter's program with `args` (the configured extra arguments are the caller's to place).
    pub(crate) fn execute(
        &self,
        args: Vec<OsString>,
        env: Vec<(String, String)>,
        cwd: Option<&Path>,
        stdin: Option<Vec<u8>>,
    ) -> Result<ProcessOutput, LintError> {
        self.execute_program(self.program, args, env, cwd, stdin)
    }

    pub(crate) fn execute_program(
        &self,
        program: &Path,
        args: Vec<OsString>,
        env: Vec<(String, String)>,
        cwd: Option<&Path>,
        stdin: Option<Vec<u8>>,
    ) -> Result<ProcessOutput, LintError> {
        let invocation = Invocation {
            program: program.to_path_buf(),
            args,
            cwd: cwd.unwrap_or(self.dir).to_path_buf(),
            env,
            stdin,
            timeout: self.linter.timeout,
            confinement: self.confinement.cloned(),
        };
        let output = process::run(&invocation).map_err(|source| LintError::Process {
            program: self.program_name(),
            source,
        })?;
        tracing::debug!(linter = %self.linter.name, path = %self.target.path, code = ?output.code(),
            elapsed_ms = output.elapsed.as_millis(), "linter finished");
        Ok(output)
    }

    /// The configured extra arguments.
    pub(crate) fn extra_args(&self) -> impl Iterator<Item = OsString> + '_ {
        self.linter.args.iter().map(OsString::from)
    }

    /// Fails unless the process exited with one of `accepted` (most linters exit 1 when they find something).
    pub(crate) fn expect_exit(
        &self,
        output: &ProcessOutput,
        accepted: &[i32],
    ) -> Result<(), LintError> {
        match output.code() {
            Some(code) if accepted.contains(&code) => Ok(()),
            code => Err(LintError::Crashed {
                program: self.program_name(),
                status: code.map_or_else(|| "a signal".to_owned(), |code| format!("code {code}")),
                tail: output.tail(),
            }),
        }
    }

    pub(crate) fn invalid(
        &self,
        expected: &'static str,
        reason: impl std::fmt::Display,
    ) -> LintError {
        LintError::InvalidOutput {
            program: self.program_name(),
            expected,
            reason: reason.to_string(),
        }
    }

    /// A tool's message with the temporary copy's path replaced by the submitted path.
    pub(crate) fn clean_message(&self, message: &str) -> String {
        let temporary = self.file.display().to_string();
        message
            .replace(&temporary, self.target.path)
            .trim()
            .to_owned()
    }

    /// The closest file named one of `names` in the reviewed file's directory or above, when it is on disk.
    pub(crate) fn project_file(&self, names: &[&str]) -> Option<PathBuf> {
        let start = self.on_disk?.parent()?;
        start.ancestors().find_map(|directory| {
            names
                .iter()
                .map(|name| directory.join(name))
                .find(|candidate| candidate.is_file())
        })
    }
}

impl Linters {
    /// Runs every enabled linter for `target`'s language, one after the other, and reports each as a stage.
    pub fn lint(&self, target: &LintTarget<'_>) -> LintOutcome {
        self.lint_observed(target, &mut |_| {})
    }

    /// [`Linters::lint`], calling `starting` with each linter's name as it starts (for live progress).
    pub fn lint_observed(
        &self,
        target: &LintTarget<'_>,
        starting: &mut dyn FnMut(&str),
    ) -> LintOutcome {
        let Some(language) = target.language else {
            return LintOutcome::default();
        };
        let mut outcome = LintOutcome::default();
        let index = SourceIndex::new(target.content);
        let on_disk = if self.confiner.isolation.confined() {
            None
        } else {
            file_on_disk(target)
        };
        for linter in self.for_language(language) {
            starting(&linter.name);
            let started = std::time::Instant::now();
            let result = run_linter(self, linter, target, &index, on_disk.as_deref());
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let (stage_outcome, reason) = match result {
                Ok((drafts, note)) => {
                    outcome.findings.extend(
                        drafts
                            .into_iter()
                            .map(|draft| to_finding(draft, &linter.name, target, &index)),
                    );
                    (StageOutcome::Ok, note)
                }
                Err(error) => {
                    // The reason itself may quote the submitted code: it goes to the job, not the log.
                    tracing::warn!(linter = %linter.name, path = %target.path, summary = %error.summary(),
                        "a linter did not run");
                    (error.outcome(), Some(error.reason()))
                }
            };
            outcome.stages.push(StageReport {
                name: linter.name.clone(),
                outcome: stage_outcome,
                reason,
                required: linter.required,
                elapsed_ms: Some(elapsed_ms),
            });
        }
        // Tools quote the file in messages, fixes and errors: nothing leaves here with a secret in it. A tool can
        // also assemble one the file never spells out (`concat!("AK", "IA...")` in a compiler error), so their
        // text is scanned for secrets of its own too.
        let mask = SecretMask::of(target.content);
        for finding in &mut outcome.findings {
            mask.finding(finding, target.content);
            if let Cow::Owned(masked) = mask_secrets(&finding.message) {
                finding.message = masked;
            }
        }
        for stage in &mut outcome.stages {
            mask.stage(stage);
            if let Some(reason) = &mut stage.reason
                && let Cow::Owned(masked) = mask_secrets(reason)
            {
                *reason = masked;
            }
        }
        outcome
    }

    /// The stage reports of a cached result: only complete results are cached, so every linter that applies ran.
    pub fn cached_stages(&self, language: Option<Language>) -> Vec<StageReport> {
        let Some(language) = language else {
            return Vec::new();
        };
        self.for_language(language)
            .map(|linter| StageReport {
                name: linter.name.clone(),
                outcome: StageOutcome::Ok,
                reason: None,
                required: linter.required,
                elapsed_ms: None,
            })
            .collect()
    }
}

/// The reviewed file's path on this machine when it exists there with exactly the submitted content.
fn file_on_disk(target: &LintTarget<'_>) -> Option<PathBuf> {
    let path = Path::new(target.path);
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() || metadata.len() != target.content.len() as u64 {
        return None;
    }
    let on_disk = std::fs::read(path).ok()?;
    if on_disk != target.content.as_bytes() {
        return None;
    }
    std::fs::canonicalize(path).ok()
}

fn run_linter(
    linters: &Linters,
    linter: &Linter,
    target: &LintTarget<'_>,
    index: &SourceIndex<'_>,
    on_disk: Option<&Path>,
) -> Result<(Vec<super::run::Draft>, Option<String>), LintError> {
    if let Some(note) = &linter.note {
        return Err(LintError::Unavailable(format!("`{}` {note}", linter.name)));
    }
    let Some(program) = linter.program.as_deref() else {
        return Err(LintError::Unavailable(format!(
            "`{}` is not installed",
            linter.name
        )));
    };
    // Removed when dropped, on every path out of this function.
    let dir = tempfile::Builder::new()
        .prefix("codeinsight-lint-")
        .tempdir()
        .map_err(LintError::TempDir)?;
    let file = dir.path().join(temporary_name(target));
    std::fs::write(&file, target.content).map_err(LintError::TempDir)?;
    let confinement = linters
        .confiner
        .confine(&linter.sandbox_paths, dir.path(), target.user);
    let context = RunContext {
        linter,
        program,
        dir: dir.path(),
        file: &file,
        target,
        index,
        on_disk,
        confinement: confinement.as_ref(),
    };
    let result = match linter.tool {
        Tool::Ruff => ruff::lint(&context).map(|drafts| (drafts, None)),
        Tool::Clippy => clippy::lint(&context),
        Tool::Shellcheck => shellcheck::lint(&context).map(|drafts| (drafts, None)),
        Tool::Eslint => eslint::lint(&context).map(|drafts| (drafts, None)),
        Tool::Biome => biome::lint(&context).map(|drafts| (drafts, None)),
        Tool::GoVet => go::vet(&context).map(|drafts| (drafts, None)),
        Tool::Staticcheck => go::staticcheck(&context).map(|drafts| (drafts, None)),
        Tool::Custom => custom::lint(&context).map(|drafts| (drafts, None)),
    };
    if let Err(error) = dir.close() {
        tracing::warn!(%error, "removing a linter's temporary directory failed");
    }
    result
}

/// The copy's file name: the submitted base name made safe, with an extension the tool recognises.
fn temporary_name(target: &LintTarget<'_>) -> String {
    let base: String = Path::new(target.path)
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default()
        .chars()
        .filter(|character| character.is_ascii_alphanumeric() || "._-".contains(*character))
        .collect();
    let base = base.trim_start_matches('.');
    let (accepted, default): (&[&str], &str) = match target.language {
        Some(Language::Python) => (&["py", "pyi"], "py"),
        Some(Language::Rust) => (&["rs"], "rs"),
        Some(Language::JavaScript) => (&["js", "mjs", "cjs", "jsx"], "js"),
        Some(Language::TypeScript) => (&["ts", "mts", "cts"], "ts"),
        Some(Language::Tsx) => (&["tsx"], "tsx"),
        Some(Language::Go) => (&["go"], "go"),
        Some(Language::Bash) => (&["sh", "bash"], "sh"),
        _ => (&[], "txt"),
    };
    let extension = Path::new(base)
        .extension()
        .map(|extension| extension.to_string_lossy().into_owned());
    if base.is_empty() {
        return format!("input.{default}");
    }
    match extension {
        Some(extension) if accepted.is_empty() || accepted.contains(&extension.as_str()) => {
            base.to_owned()
        }
        _ => format!("{base}.{default}"),
    }
}

fn to_finding(
    draft: Draft,
    source: &str,
    target: &LintTarget<'_>,
    index: &SourceIndex<'_>,
) -> Finding {
    let content = index.content();
    let start = draft.range.start.min(content.len());
    let end = draft.range.end.clamp(start, content.len());
    let (line, column) = index.position(start);
    let (end_line, end_column) = index.position(end);
    let snippet_range = if start < end {
        start..end
    } else {
        index.line_range(line)
    };
    Finding {
        rule_id: draft.rule_id,
        source: source.to_owned(),
        severity: draft.severity,
        category: draft.category.to_owned(),
        message: draft.message,
        path: target.path.to_owned(),
        line,
        column,
        end_line,
        end_column,
        snippet: clip_snippet(content.get(snippet_range).unwrap_or_default().trim()),
        fingerprint: String::new(),
        fix: draft.fix.filter(|fix| {
            fix.edits.iter().all(|edit| {
                edit.start <= edit.end
                    && content.is_char_boundary(edit.start)
                    && content.is_char_boundary(edit.end)
            })
        }),
        flow: Vec::new(),
    }
}

/// Our scale for the level names linters use: error → major, warning → minor, everything softer → info.
pub(crate) fn severity_of_level(level: &str) -> Severity {
    match level.to_ascii_lowercase().as_str() {
        "critical" | "fatal" => Severity::Critical,
        "error" | "major" | "deny" | "forbid" => Severity::Major,
        "warning" | "warn" | "minor" => Severity::Minor,
        _ => Severity::Info,
    }
}

/// The category a finding gets when its tool does not say: serious findings are about correctness.
pub(crate) fn category_of(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::Major => "correctness",
        Severity::Minor => "maintainability",
        Severity::Info => "style",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_safe_and_keep_a_useful_extension() {
        let name = |path: &str, language| {
            temporary_name(&LintTarget {
                path,
                content: "",
                language: Some(language),
                user: None,
            })
        };
        assert_eq!(name("src/app.py", Language::Python), "app.py");
        assert_eq!(name("bin/deploy", Language::Bash), "deploy.sh");
        assert_eq!(name("../../etc/$(x).rs", Language::Rust), "x.rs");
        assert_eq!(name("", Language::Go), "input.go");
        assert_eq!(name("a/.hidden.js", Language::JavaScript), "hidden.js");
    }
}

//! Running inside GitHub Actions (`GITHUB_ACTIONS=true`): annotations on stdout within GitHub's caps, the human
//! report folded into a `::group::`, a markdown step summary appended to `$GITHUB_STEP_SUMMARY` under 1 MiB, and
//! step outputs appended to `$GITHUB_OUTPUT` in the multiline-safe heredoc form. The renderers produce the text; this
//! module only knows where GitHub wants it.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;

use crate::render::{Report, STEP_SUMMARY_BUDGET, render_markdown_within};

/// The GitHub Actions environment of this process, when there is one.
#[derive(Debug, Clone, Default)]
pub struct GithubActions {
    pub step_summary: Option<PathBuf>,
    pub output: Option<PathBuf>,
}

impl GithubActions {
    /// `Some` when `GITHUB_ACTIONS` is `true`.
    pub fn detect() -> Option<GithubActions> {
        if std::env::var("GITHUB_ACTIONS").ok().as_deref() != Some("true") {
            return None;
        }
        let path = |name: &str| {
            std::env::var_os(name)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        };
        Some(GithubActions {
            step_summary: path("GITHUB_STEP_SUMMARY"),
            output: path("GITHUB_OUTPUT"),
        })
    }
}

fn append(path: &PathBuf, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(bytes)?;
    file.flush()
}

/// Appends the markdown summary, within GitHub's size limit.
pub fn append_step_summary(path: &PathBuf, report: &Report) -> io::Result<()> {
    let mut buffer = Vec::new();
    render_markdown_within(report, STEP_SUMMARY_BUDGET, &mut buffer)?;
    append(path, &buffer)
}

/// The step outputs: `verdict`, `exit-code`, `findings`, one count per severity, `baselined` and `run-id`.
pub fn step_outputs(report: &Report) -> Vec<(&'static str, String)> {
    let counts = &report.counts;
    vec![
        (
            "verdict",
            report.verdict.outcome.label().to_ascii_lowercase(),
        ),
        ("exit-code", report.verdict.exit_code.to_string()),
        ("findings", counts.total().to_string()),
        ("critical", counts.critical.to_string()),
        ("major", counts.major.to_string()),
        ("minor", counts.minor.to_string()),
        ("info", counts.info.to_string()),
        ("failing", counts.failing.to_string()),
        ("baselined", counts.baselined.to_string()),
        ("run-id", report.run_id.clone().unwrap_or_default()),
        ("summary", report.verdict.line()),
    ]
}

/// Appends the step outputs in the `name<<DELIMITER` form, which no value can break out of: the delimiter is
/// random and checked against the value.
pub fn append_step_outputs(path: &PathBuf, report: &Report) -> io::Result<()> {
    let mut text = String::new();
    for (name, value) in step_outputs(report) {
        let mut delimiter = format!("codeinsight_{}", uuid::Uuid::new_v4().simple());
        while value.contains(&delimiter) {
            delimiter = format!("codeinsight_{}", uuid::Uuid::new_v4().simple());
        }
        let _ = write!(text, "{name}<<{delimiter}\n{value}\n{delimiter}\n");
    }
    append(path, text.as_bytes())
}

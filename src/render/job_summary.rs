//! The markdown summary the server stores with each finished job (`results.content`), readable wherever the job
//! is shown: `codeinsight show`, the API, a pull-request comment.

use std::fmt::Write as _;

use crate::protocol::{Finding, Severity, Truncation};

/// Findings listed in a job's markdown summary before "and N more".
const SUMMARY_MAX_FINDINGS: usize = 100;

/// The readable markdown summary of one reviewed file, a job's `results.content`: its findings by severity (at
/// most 100 listed per severity), what was left out, and whether the result came from the cache. `language` is
/// the name of the language whose built-in rules ran, if any.
pub fn render_job_summary(
    path: &str,
    language: Option<&str>,
    findings: &[Finding],
    truncated: Option<&Truncation>,
    cached: bool,
) -> String {
    let mut text = format!("# Review of `{path}`\n\n");
    let engines = match language {
        Some(language) => format!("the built-in {language} rules and the secrets scan"),
        None => "the secrets scan (no built-in rules for this file's language)".to_owned(),
    };
    if findings.is_empty() {
        let _ = writeln!(text, "No issues found by {engines}.");
    } else {
        let counts = Severity::ALL_DESCENDING
            .iter()
            .filter_map(|severity| {
                let count = findings
                    .iter()
                    .filter(|finding| finding.severity == *severity)
                    .count();
                (count > 0).then(|| format!("{count} {severity}"))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            text,
            "Found {} issue(s) ({counts}) with {engines}.",
            findings.len()
        );
        for severity in Severity::ALL_DESCENDING {
            let mut listed = findings
                .iter()
                .filter(|finding| finding.severity == severity)
                .peekable();
            if listed.peek().is_none() {
                continue;
            }
            let mut heading = severity.as_str().to_owned();
            heading[..1].make_ascii_uppercase();
            let _ = writeln!(text, "\n## {heading}\n");
            for finding in listed.by_ref().take(SUMMARY_MAX_FINDINGS) {
                let _ = writeln!(
                    text,
                    "- Line {}, column {}: `{}` {}",
                    finding.line, finding.column, finding.rule_id, finding.message
                );
            }
            let more = listed.count();
            if more > 0 {
                let _ = writeln!(text, "- and {more} more");
            }
        }
    }
    if let Some(truncated) = truncated {
        let _ = writeln!(
            text,
            "\n**{} of {} findings are not listed** ({}): {} critical, {} major, {} minor, {} info.",
            truncated.dropped.total(),
            truncated.total,
            truncated.reason,
            truncated.dropped.critical,
            truncated.dropped.major,
            truncated.dropped.minor,
            truncated.dropped.info
        );
    }
    if cached {
        let _ = writeln!(text, "\n_Served from the result cache._");
    }
    text
}

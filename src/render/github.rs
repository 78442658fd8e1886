//! GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` annotation per finding, most severe
//! first. GitHub shows at most 10 error and 10 warning annotations (and 10 notices) per step and silently drops the
//! rest, so the renderer stops at those caps itself and ends with one notice that says how many more findings there
//! are and where to find them, instead of letting them vanish.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::protocol::{Finding, Severity};

use super::ranking::ranked;
use super::report::{FileStatus, Report};

/// GitHub's per-step cap for each annotation level.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;

/// The workflow command for a severity.
fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::Major => "error",
        Severity::Minor => "warning",
        Severity::Info => "notice",
    }
}

/// Escapes a workflow command's message.
pub fn escape_data(text: &str) -> String {
    let escaped = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    // Any other control character (an escape sequence quoted from the code) is shown, not passed on.
    super::text::one_line(&escaped).into_owned()
}

/// Escapes a workflow command's property value, where `:` and `,` separate properties.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation line.
fn annotation(finding: &Finding, path: &str) -> String {
    let mut properties = format!(
        "file={},line={},col={}",
        escape_property(path),
        finding.line,
        finding.column
    );
    if finding.end_line >= finding.line {
        let _ = write!(properties, ",endLine={}", finding.end_line);
        // GitHub only honours `endColumn` on single-line annotations.
        if finding.end_line == finding.line && finding.end_column > finding.column {
            let _ = write!(properties, ",endColumn={}", finding.end_column);
        }
    }
    let title = format!("{} [{}]", finding.rule_id, finding.severity);
    let _ = write!(properties, ",title={}", escape_property(&title));
    let mut message = finding.message.clone();
    if let Some(fix) = &finding.fix {
        let _ = write!(message, "\nSuggested fix: {}", fix.description);
    }
    format!(
        "::{} {properties}::{}",
        command(finding.severity),
        escape_data(&message)
    )
}

/// Writes annotations for the report's findings within GitHub's caps, then a notice for what did not fit and a
/// warning per file that was not reviewed.
pub fn render_github(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut shown = [0usize; 3];
    let mut omitted = 0usize;
    for (file, finding) in ranked(report) {
        let slot = match command(finding.severity) {
            "error" => 0,
            "warning" => 1,
            _ => 2,
        };
        // One notice slot is kept for the closing notice, so that it is never the one GitHub drops.
        let cap = if slot == 2 {
            ANNOTATIONS_PER_LEVEL - 1
        } else {
            ANNOTATIONS_PER_LEVEL
        };
        if shown[slot] >= cap {
            omitted += 1;
            continue;
        }
        shown[slot] += 1;
        writeln!(out, "{}", annotation(finding, &file.path))?;
    }
    let not_reviewed = report.not_reviewed().count()
        + report
            .files
            .iter()
            .filter(|file| file.status != FileStatus::Reviewed)
            .count();
    // Omitted findings and unreviewed files share the one notice GitHub will still show; a per-file warning would
    // itself be dropped past the cap.
    if omitted > 0 || not_reviewed > 0 {
        let mut parts = Vec::new();
        if omitted > 0 {
            parts.push(format!(
                "{omitted} more {} not annotated (GitHub shows at most {ANNOTATIONS_PER_LEVEL} errors and {ANNOTATIONS_PER_LEVEL} warnings per step)",
                if omitted == 1 { "finding is" } else { "findings are" }
            ));
        }
        if not_reviewed > 0 {
            parts.push(format!(
                "{not_reviewed} {} not reviewed",
                if not_reviewed == 1 {
                    "file was"
                } else {
                    "files were"
                }
            ));
        }
        writeln!(
            out,
            "::notice title={}::{}",
            escape_property("CodeInsight: more in the step summary"),
            escape_data(&format!(
                "{}; see the job's step summary or the full report. {}",
                parts.join("; "),
                report.verdict.line()
            ))
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{escape_data, escape_property, render_github};
    use crate::protocol::{Finding, Severity};
    use crate::render::report::tests_support::report_with;

    #[test]
    fn messages_and_properties_are_escaped() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn annotations_stop_at_the_caps_and_one_notice_counts_the_rest() {
        let findings: Vec<Finding> = (1..=45)
            .map(|line| Finding {
                rule_id: "python/eval-input".into(),
                source: "codeinsight".into(),
                severity: [Severity::Critical, Severity::Minor, Severity::Info][line as usize % 3],
                category: "security".into(),
                message: "eval, of: input".into(),
                path: "app.py".into(),
                line,
                column: 1,
                end_line: line,
                end_column: 5,
                snippet: "eval".into(),
                fingerprint: format!("fp{line}"),
                fix: None,
                flow: Vec::new(),
            })
            .collect();
        let mut out = Vec::new();
        render_github(&report_with(findings), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().filter(|l| l.starts_with("::error ")).count(),
            10
        );
        assert_eq!(
            text.lines().filter(|l| l.starts_with("::warning ")).count(),
            10
        );
        let notices: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("::notice "))
            .collect();
        assert_eq!(notices.len(), 10);
        assert!(
            notices[9].contains("16 more findings are not annotated"),
            "{text}"
        );
        assert!(
            text.contains("title=python/eval-input [critical]::eval, of: input"),
            "{text}"
        );
    }
}

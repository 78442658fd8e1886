//! GitLab's Code Quality report (a subset of the Code Climate issue format): a JSON array with one issue per finding,
//! shown in merge request widgets and diffs. `fingerprint` must be unique per issue, which our fingerprints are
//! (they carry an occurrence index for repeats).

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::protocol::Severity;

use super::report::Report;

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::Major => "major",
        Severity::Minor => "minor",
        Severity::Info => "info",
    }
}

/// Code Climate's category for one of our categories.
fn category(category: &str) -> &'static str {
    match category {
        "security" => "Security",
        "correctness" => "Bug Risk",
        "performance" => "Performance",
        "style" => "Style",
        _ => "Clarity",
    }
}

/// Writes the report as a Code Quality JSON array.
pub fn render_gitlab(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let issues: Vec<Value> = report
        .files
        .iter()
        .flat_map(|file| {
            file.findings.iter().map(move |finding| {
                json!({
                    "type": "issue",
                    "description": finding.message,
                    "check_name": finding.rule_id,
                    "fingerprint": finding.fingerprint,
                    "severity": level(finding.severity),
                    "categories": [category(&finding.category)],
                    "location": {
                        "path": file.path,
                        "lines": { "begin": finding.line, "end": finding.end_line.max(finding.line) },
                    },
                })
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &issues).map_err(io::Error::other)?;
    writeln!(out)
}

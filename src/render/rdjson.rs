//! reviewdog's Diagnostic Format (`rdjson`), so `reviewdog -f=rdjson` can post findings as review comments with
//! suggested changes. Positions follow reviewdog's convention: 1-based lines and 1-based columns counted in UTF-8
//! bytes; fixes become `suggestions` whose ranges are computed from the submitted source.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::protocol::{Finding, Severity};

use super::locations::{byte_column, byte_position};
use super::report::{FileReport, Report};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::Major => "ERROR",
        Severity::Minor => "WARNING",
        Severity::Info => "INFO",
    }
}

fn diagnostic(file: &FileReport, finding: &Finding) -> Value {
    let source = file.source.as_deref();
    let end_line = finding.end_line.max(finding.line);
    let mut value = json!({
        "message": finding.message,
        "location": {
            "path": file.path,
            "range": {
                "start": { "line": finding.line, "column": byte_column(source, finding.line, finding.column) },
                "end": { "line": end_line, "column": byte_column(source, end_line, finding.end_column) },
            },
        },
        "severity": level(finding.severity),
        "source": { "name": finding.source },
        "code": { "value": finding.rule_id },
        "original_output": format!("{}:{}:{}: {} [{}]", file.path, finding.line, finding.column, finding.message, finding.rule_id),
    });
    if let (Some(fix), Some(source)) = (&finding.fix, source) {
        let suggestions: Vec<Value> = fix
            .edits
            .iter()
            .map(|edit| {
                let start = byte_position(source, edit.start);
                let end = byte_position(source, edit.end);
                json!({
                    "range": {
                        "start": { "line": start.line, "column": start.column },
                        "end": { "line": end.line, "column": end.column },
                    },
                    "text": edit.replacement,
                })
            })
            .collect();
        if !suggestions.is_empty() {
            value["suggestions"] = json!(suggestions);
        }
    }
    value
}

/// Writes the report as one `DiagnosticResult` JSON document.
pub fn render_rdjson(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let diagnostics: Vec<Value> = report
        .files
        .iter()
        .flat_map(|file| {
            file.findings
                .iter()
                .map(move |finding| diagnostic(file, finding))
        })
        .collect();
    let worst = report
        .files
        .iter()
        .flat_map(|file| &file.findings)
        .map(|finding| finding.severity)
        .max();
    let mut document = json!({
        "source": { "name": "codeinsight", "url": "https://github.com/codeinsight/codeinsight" },
        "diagnostics": diagnostics,
    });
    if let Some(worst) = worst {
        document["severity"] = json!(level(worst));
    }
    serde_json::to_writer_pretty(&mut *out, &document).map_err(io::Error::other)?;
    writeln!(out)
}

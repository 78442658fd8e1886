//! Checkstyle XML, the lingua franca of older CI plugins (Jenkins Warnings NG, reviewdog's `-f=checkstyle`,
//! Sonar importers): one `<file>` per reviewed file, one `<error>` per finding with its rule id as `source`.

use std::io::{self, Write};

use crate::protocol::Severity;

use super::report::Report;
use super::xml::escape;

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::Major => "error",
        Severity::Minor => "warning",
        Severity::Info => "info",
    }
}

/// Writes the report as a `<checkstyle>` document.
pub fn render_checkstyle(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(out, "<checkstyle version=\"4.3\">")?;
    for file in &report.files {
        if file.findings.is_empty() {
            writeln!(out, "  <file name=\"{}\"/>", escape(&file.path))?;
            continue;
        }
        writeln!(out, "  <file name=\"{}\">", escape(&file.path))?;
        for finding in &file.findings {
            writeln!(
                out,
                "    <error line=\"{}\" column=\"{}\" severity=\"{}\" message=\"{}\" source=\"{}\"/>",
                finding.line,
                finding.column,
                level(finding.severity),
                escape(&finding.message),
                escape(&finding.rule_id)
            )?;
        }
        writeln!(out, "  </file>")?;
    }
    writeln!(out, "</checkstyle>")
}

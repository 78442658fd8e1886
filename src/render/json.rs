//! The JSON report: the [`Report`] model under a `version` field, one document per run. The schema is documented in
//! README.md ("JSON output"); fields are only added within a version.

use std::io::{self, Write};

use serde::Serialize;

use super::report::{REPORT_SCHEMA_VERSION, Report};

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: &'static str,
    tool_version: &'static str,
    #[serde(flatten)]
    report: &'a Report,
}

/// Writes the report as pretty-printed JSON followed by a newline.
pub fn render_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let document = Document {
        version: REPORT_SCHEMA_VERSION,
        tool: "codeinsight",
        tool_version: env!("CARGO_PKG_VERSION"),
        report,
    };
    serde_json::to_writer_pretty(&mut *out, &document).map_err(io::Error::other)?;
    writeln!(out)
}

//! The output formats a report can be rendered to, and the one entry point that dispatches to each format's
//! renderer. A new format is a new file with a `render_<format>` function and a variant here.

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use super::human::{HumanOptions, render_human};
use super::json::render_json;
use super::report::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Human,
    Json,
}

impl Format {
    pub const NAMES: &'static str = "human, json";

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "human" => Ok(Format::Human),
            "json" => Ok(Format::Json),
            other => Err(format!(
                "unknown format `{other}` (expected one of: {})",
                Format::NAMES
            )),
        }
    }
}

/// Renders `report` in `format` to `out`.
pub fn render(
    format: Format,
    report: &Report,
    human: &HumanOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Human => render_human(report, human, out),
        Format::Json => render_json(report, out),
    }
}

//! The output formats a report can be rendered to, and the one entry point that dispatches to each format's
//! renderer. A new format is a new file with a `render_<format>` function and a variant here.

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use super::checkstyle::render_checkstyle;
use super::github::render_github;
use super::gitlab::render_gitlab;
use super::human::{HumanOptions, render_human};
use super::json::render_json;
use super::junit::render_junit;
use super::markdown::render_markdown;
use super::rdjson::render_rdjson;
use super::report::Report;
use super::sarif::render_sarif;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
    Junit,
    Checkstyle,
    Rdjson,
    Gitlab,
    Markdown,
}

impl Format {
    pub const NAMES: &'static str =
        "human, json, sarif, github, junit, checkstyle, rdjson, gitlab, markdown";

    pub const ALL: [Format; 9] = [
        Format::Human,
        Format::Json,
        Format::Sarif,
        Format::Github,
        Format::Junit,
        Format::Checkstyle,
        Format::Rdjson,
        Format::Gitlab,
        Format::Markdown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Github => "github",
            Format::Junit => "junit",
            Format::Checkstyle => "checkstyle",
            Format::Rdjson => "rdjson",
            Format::Gitlab => "gitlab",
            Format::Markdown => "markdown",
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
        Format::ALL
            .into_iter()
            .find(|format| format.as_str() == s)
            .ok_or_else(|| format!("unknown format `{s}` (expected one of: {})", Format::NAMES))
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
        Format::Sarif => render_sarif(report, out),
        Format::Github => render_github(report, out),
        Format::Junit => render_junit(report, out),
        Format::Checkstyle => render_checkstyle(report, out),
        Format::Rdjson => render_rdjson(report, out),
        Format::Gitlab => render_gitlab(report, out),
        Format::Markdown => render_markdown(report, out),
    }
}

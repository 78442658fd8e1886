//! Pure renderers from a [`Report`] to an output format, each writing to an injected `Write` so that tests render
//! into a buffer. Renderers never decide exit codes: the verdict arrives in the report.

mod checkstyle;
mod format;
mod github;
mod gitlab;
pub mod html;
mod human;
mod job_summary;
mod json;
mod junit;
mod locations;
mod markdown;
mod ranking;
mod rdjson;
mod report;
mod sarif;
mod statistics;
mod styles;
mod text;
mod xml;

pub use checkstyle::render_checkstyle;
pub use format::{Format, render};
pub use github::{ANNOTATIONS_PER_LEVEL, escape_data, escape_property, render_github};
pub use gitlab::render_gitlab;
pub use human::{
    DEFAULT_PER_RULE_CAP, HumanOptions, render_file_diff, render_human, render_verdict,
};
pub use job_summary::render_job_summary;
pub use json::render_json;
pub use junit::render_junit;
pub use markdown::{STEP_SUMMARY_BUDGET, render_markdown, render_markdown_within};
pub use rdjson::render_rdjson;
pub use report::{
    Counts, FileReport, FileStatus, FixSummary, Outcome, REPORT_SCHEMA_VERSION, Report,
    SkippedFile, Threshold, Timing, Verdict,
};
pub use sarif::{
    SarifLimits, SarifTruncation, render_sarif, render_sarif_within, sarif_level, sarif_truncation,
};
pub use statistics::{RuleStatistics, render_statistics_table, rule_statistics};
pub use styles::Styles;
pub use text::{one_line, plural};

//! Pure renderers from a [`Report`] to an output format, each writing to an injected `Write` so that tests render
//! into a buffer. Renderers never decide exit codes: the verdict arrives in the report.

mod format;
mod human;
mod json;
mod report;
mod styles;

pub use format::{Format, render};
pub use human::{HumanOptions, render_file_diff, render_human, render_verdict};
pub use json::render_json;
pub use report::{
    Counts, FileReport, FileStatus, FixSummary, Outcome, REPORT_SCHEMA_VERSION, Report,
    SkippedFile, Threshold, Timing, Verdict,
};
pub use styles::Styles;

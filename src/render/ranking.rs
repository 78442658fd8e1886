//! The order in which formats with a budget (annotations, the step summary, capped SARIF) spend it: the most severe
//! findings first, then by path and position, so that what is cut is always the least important.

use crate::protocol::Finding;

use super::report::{FileReport, Report};

/// Every listed finding of the report with its file, most severe first.
pub fn ranked(report: &Report) -> Vec<(&FileReport, &Finding)> {
    let mut all: Vec<(&FileReport, &Finding)> = report
        .files
        .iter()
        .flat_map(|file| file.findings.iter().map(move |finding| (file, finding)))
        .collect();
    all.sort_by(|(a_file, a), (b_file, b)| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a_file.path.cmp(&b_file.path))
            .then_with(|| (a.line, a.column, &a.rule_id).cmp(&(b.line, b.column, &b.rule_id)))
    });
    all
}

//! Findings counted per rule (`--statistics`, and the per-rule summary that ends a long human report): the rule,
//! how many findings, in how many files, the highest severity among them and how many carry a safe or unsafe fix.

use std::collections::HashMap;
use std::io::{self, Write};

use owo_colors::OwoColorize;
use serde::Serialize;

use crate::protocol::{Applicability, Severity};

use super::report::Report;
use super::styles::Styles;
use super::text::one_line;

/// One rule's share of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleStatistics {
    pub rule_id: String,
    pub count: usize,
    pub files: usize,
    /// The highest severity among the rule's findings (a configuration can raise or lower some of them).
    pub severity: Severity,
    /// Findings whose fix `--fix` applies.
    pub safe_fixes: usize,
    /// Findings whose fix `--fix --unsafe-fixes` applies.
    pub unsafe_fixes: usize,
}

/// The listed findings of `report` (those at or above `--report-min`; baselined and out-of-diff ones apart), per
/// rule, most frequent first, then by rule id.
pub fn rule_statistics(report: &Report) -> Vec<RuleStatistics> {
    let mut by_rule: HashMap<&str, (RuleStatistics, Option<usize>)> = HashMap::new();
    for (index, file) in report.files.iter().enumerate() {
        for finding in &file.findings {
            let (entry, last_file) = by_rule.entry(finding.rule_id.as_str()).or_insert_with(|| {
                (
                    RuleStatistics {
                        rule_id: finding.rule_id.clone(),
                        count: 0,
                        files: 0,
                        severity: finding.severity,
                        safe_fixes: 0,
                        unsafe_fixes: 0,
                    },
                    None,
                )
            });
            entry.count += 1;
            entry.severity = entry.severity.max(finding.severity);
            if *last_file != Some(index) {
                entry.files += 1;
                *last_file = Some(index);
            }
            match finding.fix.as_ref().map(|fix| fix.applicability) {
                Some(Applicability::Safe) => entry.safe_fixes += 1,
                Some(Applicability::Unsafe) => entry.unsafe_fixes += 1,
                Some(Applicability::Suggestion) | None => {}
            }
        }
    }
    let mut statistics: Vec<RuleStatistics> =
        by_rule.into_values().map(|(entry, _)| entry).collect();
    statistics.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    statistics
}

/// The statistics as an aligned table: count, rule, severity, files and what `--fix` can do about them.
pub fn render_statistics_table(
    statistics: &[RuleStatistics],
    styles: &Styles,
    out: &mut dyn Write,
) -> io::Result<()> {
    let count_width = statistics
        .iter()
        .map(|entry| entry.count.to_string().len())
        .max()
        .unwrap_or(1)
        .max("count".len());
    let rule_width = statistics
        .iter()
        .map(|entry| one_line(&entry.rule_id).chars().count())
        .max()
        .unwrap_or(0)
        .max("rule".len());
    writeln!(
        out,
        "{}",
        format!(
            "{:>count_width$}  {:<rule_width$}  {:<8}  {:>5}  fixable",
            "count", "rule", "severity", "files"
        )
        .style(styles.heading)
    )?;
    for entry in statistics {
        let fixable = match (entry.safe_fixes, entry.unsafe_fixes) {
            (0, 0) => "-".to_owned(),
            (safe, 0) => format!("{safe} safe"),
            (0, unsafe_fixes) => format!("{unsafe_fixes} unsafe"),
            (safe, unsafe_fixes) => format!("{safe} safe, {unsafe_fixes} unsafe"),
        };
        writeln!(
            out,
            "{:>count_width$}  {}  {}  {:>5}  {fixable}",
            entry.count,
            format!("{:<rule_width$}", one_line(&entry.rule_id)).style(styles.rule_id),
            format!("{:<8}", entry.severity.as_str()).style(styles.severity(entry.severity)),
            entry.files,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::rule_statistics;
    use crate::protocol::{Applicability, Edit, Finding, Fix, Severity};
    use crate::render::report::tests_support::report_with;

    fn finding(rule: &str, severity: Severity, fix: Option<Applicability>) -> Finding {
        Finding {
            rule_id: rule.into(),
            source: "codeinsight".into(),
            severity,
            category: "correctness".into(),
            message: "message".into(),
            path: "app.py".into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 2,
            snippet: "x".into(),
            fingerprint: format!("{rule}-{severity}"),
            fix: fix.map(|applicability| Fix {
                description: "fix".into(),
                applicability,
                edits: vec![Edit {
                    start: 0,
                    end: 1,
                    replacement: "y".into(),
                }],
            }),
            flow: Vec::new(),
        }
    }

    #[test]
    fn rules_are_counted_with_their_files_highest_severity_and_fixes_most_frequent_first() {
        let mut report = report_with(vec![
            finding("python/a", Severity::Minor, Some(Applicability::Safe)),
            finding("python/a", Severity::Major, Some(Applicability::Unsafe)),
            finding("python/b", Severity::Info, None),
        ]);
        let mut second = report.files[0].clone();
        second.path = "other.py".into();
        second.findings = vec![finding("python/a", Severity::Minor, None)];
        report.files.push(second);
        let statistics = rule_statistics(&report);
        assert_eq!(statistics.len(), 2);
        assert_eq!(statistics[0].rule_id, "python/a");
        assert_eq!(statistics[0].count, 3);
        assert_eq!(statistics[0].files, 2);
        assert_eq!(statistics[0].severity, Severity::Major);
        assert_eq!(
            (statistics[0].safe_fixes, statistics[0].unsafe_fixes),
            (1, 1)
        );
        assert_eq!(statistics[1].rule_id, "python/b");
        assert_eq!(statistics[1].files, 1);
    }
}

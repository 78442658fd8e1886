//! Markdown: the report as a pull-request comment or a GitHub step summary. Totals, the verdict with its reason,
//! the most severe findings in a table, each suggested fix as a collapsed diff, and the files that were not reviewed.
//! GitHub refuses step summaries over 1 MiB, so the renderer works within a byte budget: findings are added most
//! severe first until the budget is spent, and what did not fit is stated in an explicit truncation note.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::engine::{apply_fixes, unified_diff};
use crate::protocol::Severity;

use super::ranking::ranked;
use super::report::{FileStatus, Report};

/// GitHub's step summary limit is 1 MiB; this leaves room for other steps' summaries in the same job.
pub const STEP_SUMMARY_BUDGET: usize = 1024 * 1024 - 64 * 1024;

/// At most this many findings are listed in the table, however large the budget.
const MAX_TABLE_ROWS: usize = 1000;
/// At most this many fix diffs are shown.
const MAX_DIFFS: usize = 50;

/// Writes the report as markdown within the step summary budget.
pub fn render_markdown(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    render_markdown_within(report, STEP_SUMMARY_BUDGET, out)
}

fn icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "🔴 critical",
        Severity::Major => "🟠 major",
        Severity::Minor => "🟡 minor",
        Severity::Info => "🔵 info",
    }
}

/// Table cells cannot hold newlines or unescaped pipes.
fn cell(text: &str) -> String {
    let single: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let single = super::text::one_line(&single).into_owned();
    let mut escaped = single
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|");
    if escaped.chars().count() > 300 {
        escaped = escaped.chars().take(299).collect::<String>() + "…";
    }
    escaped
}

/// Writes the report as markdown in at most `budget` bytes (the header and verdict are always written).
pub fn render_markdown_within(
    report: &Report,
    budget: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let verdict = &report.verdict;
    let counts = &report.counts;
    let mut head = String::new();
    let _ = writeln!(head, "## CodeInsight review: {}\n", verdict.outcome.label());
    let _ = writeln!(head, "**{}**\n", cell(&verdict.line()));
    let _ = writeln!(
        head,
        "| critical | major | minor | info | baselined | outside diff | files reviewed | not reviewed |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} | {} | {} of {} | {} |\n",
        counts.critical,
        counts.major,
        counts.minor,
        counts.info,
        counts.baselined,
        counts.outside_diff,
        counts.files_reviewed,
        counts.files_total,
        counts.files_not_reviewed
    );
    let gate = report.threshold.fail_on.map_or_else(
        || "gate off (`--fail-on never`)".to_owned(),
        |fail_on| format!("gate: `--fail-on {fail_on}`"),
    );
    let _ = writeln!(
        head,
        "{gate}; shown: `--report-min {}`\n",
        report.threshold.report_min
    );

    let mut tail = String::new();
    let not_reviewed: Vec<String> = report
        .not_reviewed()
        .map(|file| format!("- `{}`: {}", file.path, cell(&file.reason)))
        .chain(
            report
                .files
                .iter()
                .filter(|file| file.status != FileStatus::Reviewed)
                .map(|file| {
                    format!(
                        "- `{}`: {}",
                        file.path,
                        cell(file.problem.as_deref().unwrap_or("not fully reviewed"))
                    )
                }),
        )
        .collect();
    if !not_reviewed.is_empty() {
        let _ = writeln!(tail, "### Not reviewed\n\n{}\n", not_reviewed.join("\n"));
    }

    let findings = ranked(report);
    // Reserve room for the tail and a truncation note; the rest is the findings' budget.
    let reserve = tail.len() + 512;
    let mut remaining = budget.saturating_sub(head.len() + reserve);
    let mut table = String::new();
    let mut rows = 0usize;
    if !findings.is_empty() {
        table.push_str(
            "### Findings\n\n| severity | rule | location | message |\n|---|---|---|---|\n",
        );
        remaining = remaining.saturating_sub(table.len());
        for (file, finding) in &findings {
            if rows >= MAX_TABLE_ROWS {
                break;
            }
            let row = format!(
                "| {} | `{}` | `{}:{}` | {} |\n",
                icon(finding.severity),
                cell(&finding.rule_id),
                cell(&file.path),
                finding.line,
                cell(&finding.message)
            );
            if row.len() > remaining {
                break;
            }
            remaining -= row.len();
            table.push_str(&row);
            rows += 1;
        }
        table.push('\n');
    }
    let mut diffs = String::new();
    let mut diff_count = 0usize;
    let mut fixable = 0usize;
    for (file, finding) in findings.iter().take(rows) {
        let (Some(fix), Some(source)) = (&finding.fix, file.source.as_deref()) else {
            continue;
        };
        fixable += 1;
        if diff_count >= MAX_DIFFS {
            continue;
        }
        let Ok(outcome) = apply_fixes(source, &[fix]) else {
            continue;
        };
        let diff = unified_diff(&file.path, source, &outcome.output);
        let block = format!(
            "<details><summary><code>{}:{}</code> {}</summary>\n\n```diff\n{}```\n\n</details>\n\n",
            cell(&file.path),
            finding.line,
            cell(&fix.description),
            super::text::code_line(&diff.replace("```", "`\u{200b}``")).replace('\u{240a}', "\n")
        );
        if block.len() > remaining {
            continue;
        }
        remaining -= block.len();
        diffs.push_str(&block);
        diff_count += 1;
    }
    out.write_all(head.as_bytes())?;
    out.write_all(table.as_bytes())?;
    if !diffs.is_empty() {
        writeln!(out, "### Suggested fixes\n")?;
        out.write_all(diffs.as_bytes())?;
    }
    out.write_all(tail.as_bytes())?;
    let omitted = findings.len() - rows;
    let hidden: usize = report.files.iter().map(|file| file.hidden_findings).sum();
    if omitted > 0 || fixable > diff_count {
        writeln!(
            out,
            "> [!NOTE]\n> Truncated: {omitted} of {} findings and {} of {fixable} fix diffs are not shown here (the summary is kept under 1 MiB). The full list is in the other report formats (e.g. `--format sarif=codeinsight.sarif`).\n",
            findings.len(),
            fixable - diff_count
        )?;
    }
    if hidden > 0 {
        writeln!(
            out,
            "{hidden} findings below `--report-min {}` are counted above but not listed.\n",
            report.threshold.report_min
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::render_markdown_within;
    use crate::protocol::{Finding, Severity};
    use crate::render::report::tests_support::report_with;

    #[test]
    fn findings_stop_at_the_byte_budget_and_the_cut_is_stated() {
        let findings: Vec<Finding> = (1..=200)
            .map(|line| Finding {
                rule_id: "python/eval-exec-dynamic".into(),
                source: "codeinsight".into(),
                severity: if line % 2 == 0 {
                    Severity::Major
                } else {
                    Severity::Minor
                },
                category: "security".into(),
                message: "eval | of <input>\nsecond line".into(),
                path: "app.py".into(),
                line,
                column: 1,
                end_line: line,
                end_column: 5,
                snippet: "eval".into(),
                fingerprint: format!("fp{line}"),
                fix: None,
                flow: Vec::new(),
            })
            .collect();
        let report = report_with(findings);
        let budget = 4_000;
        let mut out = Vec::new();
        render_markdown_within(&report, budget, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.len() <= budget, "{} bytes", text.len());
        assert!(text.contains("Truncated: "), "{text}");
        let rows: Vec<&str> = text
            .lines()
            .filter(|line| line.starts_with("| 🟠") || line.starts_with("| 🟡"))
            .collect();
        assert!(!rows.is_empty());
        // Most severe first, and cells cannot break the table.
        assert!(rows[0].starts_with("| 🟠 major"), "{}", rows[0]);
        assert!(
            rows[0].contains("eval \\| of &lt;input&gt; second line"),
            "{}",
            rows[0]
        );
    }
}

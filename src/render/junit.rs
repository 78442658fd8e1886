//! `JUnit` XML, for CI systems that show test results (GitLab, Jenkins, Azure Pipelines, GitHub test reporters). Each
//! reviewed file is a test suite; each finding is a test case that fails when it reaches `--fail-on` and passes
//! otherwise; a file without findings is one passing case; a file that was not reviewed is an error, never a pass.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::report::{FileStatus, Report};
use super::xml::escape;

/// Writes the report as one `<testsuites>` document.
pub fn render_junit(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let fail_on = report.threshold.fail_on;
    let mut suites = String::new();
    let (mut tests, mut failures, mut errors) = (0usize, 0usize, 0usize);
    for file in &report.files {
        let mut cases = String::new();
        let (mut suite_tests, mut suite_failures, mut suite_errors) = (0usize, 0usize, 0usize);
        for finding in &file.findings {
            suite_tests += 1;
            let name = format!(
                "{} at line {}:{}",
                finding.rule_id, finding.line, finding.column
            );
            let _ = write!(
                cases,
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\" time=\"0\">",
                escape(&name),
                escape(&file.path),
                escape(&file.path),
                finding.line
            );
            if fail_on.is_some_and(|fail_on| finding.severity >= fail_on) {
                suite_failures += 1;
                let body = format!(
                    "{}:{}:{}: {} [{}] {}\n{}",
                    file.path,
                    finding.line,
                    finding.column,
                    finding.severity,
                    finding.rule_id,
                    finding.message,
                    finding.snippet
                );
                let _ = write!(
                    cases,
                    "\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    ",
                    escape(&finding.message),
                    finding.severity,
                    escape(&body)
                );
            } else {
                let _ = write!(
                    cases,
                    "\n      <system-out>{}</system-out>\n    ",
                    escape(&format!(
                        "{} (below --fail-on): {}",
                        finding.severity, finding.message
                    ))
                );
            }
            cases.push_str("</testcase>\n");
        }
        if file.status == FileStatus::Reviewed {
            if file.findings.is_empty() {
                suite_tests += 1;
                let _ = writeln!(
                    cases,
                    "    <testcase name=\"review\" classname=\"{}\" file=\"{}\" time=\"{:.3}\"/>",
                    escape(&file.path),
                    escape(&file.path),
                    file.elapsed_seconds
                );
            }
        } else {
            suite_tests += 1;
            suite_errors += 1;
            let problem = file.problem.as_deref().unwrap_or("not fully reviewed");
            let _ = writeln!(
                cases,
                "    <testcase name=\"review\" classname=\"{}\" file=\"{}\" time=\"0\">\n      <error message=\"{}\" type=\"incomplete\"/>\n    </testcase>",
                escape(&file.path),
                escape(&file.path),
                escape(problem)
            );
        }
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{suite_tests}\" failures=\"{suite_failures}\" errors=\"{suite_errors}\" skipped=\"0\" time=\"{:.3}\">\n{cases}  </testsuite>\n",
            escape(&file.path),
            file.elapsed_seconds
        );
        tests += suite_tests;
        failures += suite_failures;
        errors += suite_errors;
    }
    let not_reviewed: Vec<_> = report.not_reviewed().collect();
    if !not_reviewed.is_empty() {
        let mut cases = String::new();
        for skipped in &not_reviewed {
            let _ = writeln!(
                cases,
                "    <testcase name=\"review\" classname=\"{}\" file=\"{}\" time=\"0\">\n      <error message=\"{}\" type=\"not-reviewed\"/>\n    </testcase>",
                escape(&skipped.path),
                escape(&skipped.path),
                escape(&format!("not reviewed: {}", skipped.reason))
            );
        }
        let count = not_reviewed.len();
        let _ = write!(
            suites,
            "  <testsuite name=\"not reviewed\" tests=\"{count}\" failures=\"0\" errors=\"{count}\" skipped=\"0\" time=\"0\">\n{cases}  </testsuite>\n"
        );
        tests += count;
        errors += count;
    }
    write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"codeinsight\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">\n{suites}</testsuites>\n",
        report.timing.elapsed_seconds
    )
}

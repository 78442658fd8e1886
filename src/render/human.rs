//! The human report: findings grouped by file and sorted by line, each with a severity badge, the rule id, the
//! message, a code frame with the span underlined and the suggested fix as a coloured diff with word-level
//! highlights; then the files that were not reviewed, a summary, and the verdict as the last line.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, Write};

use owo_colors::{OwoColorize, Style};
use similar::{ChangeTag, TextDiff};

use crate::engine::apply_fixes;
use crate::protocol::{Applicability, Finding, Severity, StageOutcome, StageReport};

use super::report::{FileReport, Outcome, Report};
use super::statistics::{render_statistics_table, rule_statistics};
use super::styles::Styles;
use super::text::{one_line, plural};

/// Lines of context shown around a finding's span.
const CONTEXT_LINES: usize = 1;
/// Longer spans show their first and last lines only.
const MAX_SPAN_LINES: usize = 6;
const TAB_WIDTH: usize = 4;

#[derive(Debug, Clone, Copy)]
pub struct HumanOptions {
    pub styles: Styles,
    /// Only findings and the verdict: no skipped list, no summary.
    pub quiet: bool,
    /// Findings listed per rule; the rest of a rule's findings are counted in one line. `None` lists every
    /// finding (`--show-all`).
    pub per_rule_cap: Option<usize>,
    /// A table of findings per rule in place of the findings themselves (`--statistics`).
    pub statistics: bool,
}

/// Findings of one rule listed before the others are summed up, unless `--show-all`.
pub const DEFAULT_PER_RULE_CAP: usize = 20;
/// A report listing more findings than this ends with the findings per rule.
const BY_RULE_SUMMARY_ABOVE: usize = 100;

impl HumanOptions {
    /// Everything listed, no statistics: for tests and for renderers that embed a human report.
    pub fn plain(styles: Styles, quiet: bool) -> HumanOptions {
        HumanOptions {
            styles,
            quiet,
            per_rule_cap: None,
            statistics: false,
        }
    }
}

/// Writes the human report.
pub fn render_human(
    report: &Report,
    options: &HumanOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let styles = &options.styles;
    if options.statistics {
        let statistics = rule_statistics(report);
        if statistics.is_empty() {
            writeln!(out, "No findings listed.")?;
        } else {
            render_statistics_table(&statistics, styles, out)?;
        }
        writeln!(out)?;
    } else {
        let capped = render_files(report, options, out)?;
        render_capped(&capped, options, out)?;
    }
    if !options.quiet {
        render_set_aside(report, styles, out)?;
        render_not_reviewed(report, styles, out)?;
        if !options.statistics && report.counts.shown > BY_RULE_SUMMARY_ABOVE {
            writeln!(out, "{}", "Findings by rule:".style(styles.heading))?;
            render_statistics_table(&rule_statistics(report), styles, out)?;
            writeln!(out)?;
        }
        render_summary(report, styles, out)?;
    }
    render_verdict(report, styles, out)
}

/// Findings of one rule left out of the listing by the cap per rule, and in how many files.
#[derive(Default)]
struct Capped {
    findings: usize,
    files: usize,
    last_file: Option<usize>,
}

/// Writes every file with something to show, each rule's findings up to the cap; returns what the cap left out.
fn render_files<'a>(
    report: &'a Report,
    options: &HumanOptions,
    out: &mut dyn Write,
) -> io::Result<BTreeMap<&'a str, Capped>> {
    let mut listed: HashMap<&str, usize> = HashMap::new();
    let mut capped: BTreeMap<&str, Capped> = BTreeMap::new();
    for (index, file) in report.files.iter().enumerate() {
        let shown: Vec<&Finding> = file
            .findings
            .iter()
            .filter(|finding| {
                let count = listed.entry(finding.rule_id.as_str()).or_default();
                *count += 1;
                if options.per_rule_cap.is_none_or(|cap| *count <= cap) {
                    return true;
                }
                let entry = capped.entry(finding.rule_id.as_str()).or_default();
                entry.findings += 1;
                if entry.last_file != Some(index) {
                    entry.files += 1;
                    entry.last_file = Some(index);
                }
                false
            })
            .collect();
        if shown.is_empty() && file.problem.is_none() && optional_problems(file).next().is_none() {
            continue;
        }
        render_file(file, &shown, &options.styles, out)?;
    }
    Ok(capped)
}

/// One line per rule over the cap: how many more findings, in how many files, and how to list them.
fn render_capped(
    capped: &BTreeMap<&str, Capped>,
    options: &HumanOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Some(cap) = options.per_rule_cap.filter(|_| !capped.is_empty()) else {
        return Ok(());
    };
    let styles = &options.styles;
    writeln!(
        out,
        "{}",
        format!(
            "Not listed (at most {cap} findings per rule are listed; --show-all lists them all):"
        )
        .style(styles.heading)
    )?;
    let mut rules: Vec<(&&str, &Capped)> = capped.iter().collect();
    rules.sort_by(|a, b| b.1.findings.cmp(&a.1.findings).then_with(|| a.0.cmp(b.0)));
    for (rule_id, entry) in rules {
        writeln!(
            out,
            "  ... and {} more `{}` in {}",
            entry.findings,
            one_line(rule_id).style(styles.rule_id),
            plural(entry.files, "file", "files")
        )?;
    }
    writeln!(out)
}

/// Writes only the verdict line (used when findings went elsewhere, e.g. with `--diff`).
pub fn render_verdict(report: &Report, styles: &Styles, out: &mut dyn Write) -> io::Result<()> {
    let style = match report.verdict.outcome {
        Outcome::Pass => styles.pass,
        Outcome::Fail => styles.fail,
        Outcome::Incomplete => styles.incomplete,
    };
    writeln!(out, "{}", report.verdict.line().style(style))
}

/// Stages that did not run but are not required (an auto-detected linter that crashed or timed out): shown as
/// warnings, while required ones make the file incomplete and appear as its `problem`.
fn optional_problems(file: &FileReport) -> impl Iterator<Item = &StageReport> {
    file.stages.iter().filter(|stage| {
        !stage.required && stage.outcome != StageOutcome::Ok && stage.name != "rules"
    })
}

fn render_file(
    file: &FileReport,
    findings: &[&Finding],
    styles: &Styles,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "{}", one_line(&file.path).style(styles.path))?;
    if let Some(problem) = &file.problem {
        writeln!(
            out,
            "  {} {}",
            "not fully reviewed:".style(styles.incomplete),
            one_line(problem)
        )?;
    }
    for stage in optional_problems(file) {
        let outcome = if stage.outcome == StageOutcome::Skipped {
            "skipped"
        } else {
            "failed"
        };
        writeln!(
            out,
            "  {} stage `{}` {outcome}{} (optional: the review still counts)",
            "warning:".style(styles.incomplete),
            stage.name,
            stage
                .reason
                .as_deref()
                .map(|reason| format!(": {}", one_line(reason)))
                .unwrap_or_default()
        )?;
    }
    if let Some(truncated) = &file.truncated {
        writeln!(
            out,
            "  {} only the {} most severe of {} findings are listed ({}); the other {} ({} critical, {} major, \
             {} minor, {} info) still count",
            "note:".style(styles.incomplete),
            truncated.total - truncated.dropped.total(),
            truncated.total,
            truncated.reason,
            truncated.dropped.total(),
            truncated.dropped.critical,
            truncated.dropped.major,
            truncated.dropped.minor,
            truncated.dropped.info,
        )?;
    }
    for finding in findings {
        render_finding(file, finding, styles, out)?;
    }
    if findings.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

fn badge(severity: Severity) -> String {
    format!(" {} ", severity.as_str().to_ascii_uppercase())
}

fn render_finding(
    file: &FileReport,
    finding: &Finding,
    styles: &Styles,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "{} {} {}",
        badge(finding.severity).style(styles.severity(finding.severity)),
        one_line(&finding.rule_id).style(styles.rule_id),
        one_line(&finding.message)
    )?;
    let location = format!(
        "{}:{}:{}",
        one_line(&file.path),
        finding.line,
        finding.column
    );
    let lines: Vec<&str> = file
        .source
        .as_deref()
        .map(|source| {
            source
                .split('\n')
                .map(|line| line.trim_end_matches('\r'))
                .collect()
        })
        .unwrap_or_default();
    let gutter_width = (finding.end_line as usize + CONTEXT_LINES)
        .min(lines.len().max(1))
        .to_string()
        .len()
        .max(finding.line.to_string().len());
    let pad = " ".repeat(gutter_width);
    writeln!(out, "{pad}{} {location}", "-->".style(styles.gutter))?;
    if lines.is_empty() || finding.line == 0 || finding.line as usize > lines.len() {
        // No source to frame: show the snippet the server kept.
        for line in finding.snippet.lines().take(MAX_SPAN_LINES) {
            writeln!(
                out,
                "{pad} {} {}",
                "|".style(styles.gutter),
                expand_tabs(line).0
            )?;
        }
    } else {
        render_code_frame(&lines, finding, gutter_width, styles, out)?;
    }
    if !finding.flow.is_empty() {
        let steps: Vec<String> = finding
            .flow
            .iter()
            .map(|step| format!("{} (line {})", one_line(&step.label), step.line))
            .collect();
        writeln!(
            out,
            "{pad} {} {}: {}",
            "=".style(styles.gutter),
            "flow".style(styles.heading),
            steps.join(" → ")
        )?;
    }
    if let (Some(fix), Some(source)) = (&finding.fix, file.source.as_deref()) {
        let safety = match fix.applicability {
            Applicability::Safe => "safe fix",
            Applicability::Unsafe => "unsafe fix",
            Applicability::Suggestion => "suggestion",
        };
        writeln!(
            out,
            "{pad} {} {}: {}",
            "=".style(styles.gutter),
            safety.style(styles.heading),
            one_line(&fix.description)
        )?;
        if let Ok(outcome) = apply_fixes(source, &[fix]) {
            render_diff(source, &outcome.output, &format!("{pad} "), styles, out)?;
        }
    }
    writeln!(out)
}

fn render_code_frame(
    lines: &[&str],
    finding: &Finding,
    gutter_width: usize,
    styles: &Styles,
    out: &mut dyn Write,
) -> io::Result<()> {
    let first = finding.line as usize;
    let mut last = (finding.end_line as usize).clamp(first, lines.len());
    // A span that ends at the very start of a line (its last character is a newline) ends on the line before.
    let ends_at_line_start = last > first && finding.end_column <= 1;
    if ends_at_line_start {
        last -= 1;
    }
    let start = first.saturating_sub(CONTEXT_LINES).max(1);
    let end = (last + CONTEXT_LINES).min(lines.len());
    let pad = " ".repeat(gutter_width);
    let gutter = |number: Option<usize>| match number {
        Some(number) => format!(
            "{} {}",
            format!("{number:>gutter_width$}").style(styles.gutter),
            "|".style(styles.gutter)
        ),
        None => format!("{pad} {}", "|".style(styles.gutter)),
    };
    // The characters of line `number` the span covers, as display columns `from..to`.
    let covered = |number: usize| {
        let line = lines[number - 1];
        let char_count = line.chars().count();
        let from = if number == first {
            (finding.column as usize).saturating_sub(1)
        } else {
            line.chars().take_while(|c| c.is_whitespace()).count()
        };
        let to = if number == last && !ends_at_line_start {
            (finding.end_column as usize).saturating_sub(1)
        } else {
            char_count
        };
        let from = from.min(char_count);
        let to = to.clamp(from, char_count);
        let offsets = expand_tabs(line).1;
        (offsets[from], offsets[to].max(offsets[from] + 1))
    };
    writeln!(out, "{}", gutter(None))?;
    if first == last {
        for number in start..=end {
            let (display, _) = expand_tabs(lines[number - 1]);
            if number != first && display.trim().is_empty() {
                continue;
            }
            writeln!(out, "{} {}", gutter(Some(number)), display.trim_end())?;
            if number == first {
                let (from, to) = covered(number);
                writeln!(
                    out,
                    "{} {}{}",
                    gutter(None),
                    " ".repeat(from),
                    "^".repeat(to - from).style(styles.underline)
                )?;
            }
        }
        return Ok(());
    }
    // A span over several lines is drawn as rustc does: a bar in its own column joins the start, marked with `/`
    // (or `_^` under its first character when the line starts before it), to `|_^` under its last character.
    let first_line = lines[first - 1];
    let starts_the_line =
        finding.column as usize <= first_line.chars().take_while(|c| c.is_whitespace()).count() + 1;
    let span_len = last - first + 1;
    let mut elided = false;
    for number in start..=end {
        let in_span = (first..=last).contains(&number);
        if in_span && span_len > MAX_SPAN_LINES && number > first + 2 && number + 2 <= last {
            if !elided {
                writeln!(out, "{}", "...".style(styles.gutter))?;
                elided = true;
            }
            continue;
        }
        let (display, _) = expand_tabs(lines[number - 1]);
        if !in_span && display.trim().is_empty() {
            continue;
        }
        let bar = if !in_span || (number == first && !starts_the_line) {
            "  "
        } else if number == first {
            "/ "
        } else {
            "| "
        };
        writeln!(
            out,
            "{} {}{}",
            gutter(Some(number)),
            bar.style(styles.underline),
            display.trim_end()
        )?;
        if number == first && !starts_the_line {
            let (from, _) = covered(number);
            writeln!(
                out,
                "{} {}",
                gutter(None),
                format!(" {}^", "_".repeat(from + 1)).style(styles.underline)
            )?;
        }
        if number == last {
            let (_, to) = covered(number);
            writeln!(
                out,
                "{} {}",
                gutter(None),
                format!("|{}^", "_".repeat(to)).style(styles.underline)
            )?;
        }
    }
    Ok(())
}

/// Expands tabs and returns, for every char index (plus one past the end), its display column.
fn expand_tabs(line: &str) -> (String, Vec<usize>) {
    let mut display = String::with_capacity(line.len());
    let mut offsets = Vec::with_capacity(line.len() + 1);
    let mut column = 0;
    for character in line.chars() {
        offsets.push(column);
        // Reviewed code is untrusted: its control characters are shown, never sent to the terminal.
        let character = if character == '\t' {
            character
        } else {
            super::text::visible(character)
        };
        if character == '\t' {
            let width = TAB_WIDTH - column % TAB_WIDTH;
            display.push_str(&" ".repeat(width));
            column += width;
        } else {
            display.push(character);
            column += 1;
        }
    }
    offsets.push(column);
    (display, offsets)
}

/// A whole file's fixes as a unified diff with `--- a/PATH` / `+++ b/PATH` headers (`review --diff`).
pub fn render_file_diff(
    path: &str,
    old: &str,
    new: &str,
    styles: &Styles,
    out: &mut dyn Write,
) -> io::Result<()> {
    let path = one_line(path);
    writeln!(out, "{}", format!("--- a/{path}").style(styles.diff_header))?;
    writeln!(out, "{}", format!("+++ b/{path}").style(styles.diff_header))?;
    // CI logs are often public: a diff shows secrets masked, like every code frame.
    let old = crate::engine::mask_secrets_in_place(old);
    let new = crate::engine::mask_secrets_in_place(new);
    render_diff(&old, &new, "", styles, out)
}

/// A unified diff of `old` to `new` with one line of context, changed words emphasised; every line starts with
/// `prefix`.
fn render_diff(
    old: &str,
    new: &str,
    prefix: &str,
    styles: &Styles,
    out: &mut dyn Write,
) -> io::Result<()> {
    let diff = TextDiff::from_lines(old, new);
    for group in diff.grouped_ops(1) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        writeln!(
            out,
            "{prefix}{}",
            format!(
                "@@ -{},{} +{},{} @@",
                old_range.start + 1,
                old_range.len(),
                new_range.start + 1,
                new_range.len()
            )
            .style(styles.diff_header)
        )?;
        for op in &group {
            for change in diff.iter_inline_changes(op) {
                let (sign, base, emphasis) = match change.tag() {
                    ChangeTag::Delete => ("-", styles.removed, styles.removed_emphasis),
                    ChangeTag::Insert => ("+", styles.added, styles.added_emphasis),
                    ChangeTag::Equal => (" ", styles.dimmed, styles.dimmed),
                };
                write!(out, "{prefix}{}", sign.style(base))?;
                for (emphasised, text) in change.iter_strings_lossy() {
                    let text = text.trim_end_matches(['\n', '\r']);
                    let style: Style = if emphasised { emphasis } else { base };
                    write!(out, "{}", super::text::code_line(text).style(style))?;
                }
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

/// Most set-aside findings listed before "and N more".
const SET_ASIDE_MAX_LINES: usize = 20;

/// Findings kept out of the gate by `--baseline` or `--new-only`: one line each, after the gating ones, so they
/// stay visible without burying what is new.
fn render_set_aside(report: &Report, styles: &Styles, out: &mut dyn Write) -> io::Result<()> {
    let set_aside = report
        .files
        .iter()
        .flat_map(|file| {
            let baselined = file
                .baselined
                .iter()
                .map(move |finding| (file, finding, "in the baseline"));
            let outside = file
                .outside_diff
                .iter()
                .map(move |finding| (file, finding, "outside the changed lines"));
            baselined.chain(outside)
        })
        .collect::<Vec<_>>();
    if set_aside.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{} {} (reported, not gating)",
        "Set aside:".style(styles.heading),
        set_aside.len()
    )?;
    for (file, finding, why) in set_aside.iter().take(SET_ASIDE_MAX_LINES) {
        writeln!(
            out,
            "  {}:{}:{} {} {} {} ({why})",
            one_line(&file.path).style(styles.path),
            finding.line,
            finding.column,
            finding
                .severity
                .as_str()
                .style(styles.severity(finding.severity)),
            one_line(&finding.rule_id).style(styles.rule_id),
            one_line(&finding.message)
        )?;
    }
    if set_aside.len() > SET_ASIDE_MAX_LINES {
        writeln!(
            out,
            "  and {} more (all of them are in `--format json` and SARIF)",
            set_aside.len() - SET_ASIDE_MAX_LINES
        )?;
    }
    writeln!(out)
}

/// Left-out files listed one by one before a count takes over.
const LEFT_OUT_LISTED: usize = 10;

fn render_not_reviewed(report: &Report, styles: &Styles, out: &mut dyn Write) -> io::Result<()> {
    let not_reviewed: Vec<_> = report.not_reviewed().collect();
    if !not_reviewed.is_empty() {
        writeln!(out, "{}", "Not reviewed:".style(styles.heading))?;
        for skipped in not_reviewed {
            writeln!(
                out,
                "  {}: {}",
                one_line(&skipped.path).style(styles.path),
                one_line(&skipped.reason)
            )?;
        }
        writeln!(out)?;
    }
    let left_out: Vec<_> = report.left_out().collect();
    if !left_out.is_empty() {
        writeln!(
            out,
            "{} {} (vendored, generated, minified or not text; name a file to review it anyway)",
            "Left out by policy:".style(styles.heading),
            left_out.len()
        )?;
        for skipped in left_out.iter().take(LEFT_OUT_LISTED) {
            writeln!(
                out,
                "  {}: {}",
                one_line(&skipped.path).style(styles.path),
                one_line(&skipped.reason)
            )?;
        }
        if left_out.len() > LEFT_OUT_LISTED {
            writeln!(out, "  ... and {} more", left_out.len() - LEFT_OUT_LISTED)?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn render_summary(report: &Report, styles: &Styles, out: &mut dyn Write) -> io::Result<()> {
    let counts = &report.counts;
    let by_severity = Severity::ALL_DESCENDING
        .iter()
        .map(|&severity| {
            let count = counts.of(severity);
            let text = format!("{count} {severity}");
            if count == 0 {
                text.style(styles.dimmed).to_string()
            } else {
                text.style(styles.severity(severity)).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let hidden = counts.total() - counts.shown;
    let hidden_note = if hidden > 0 {
        format!(
            " ({hidden} below --report-min {} not shown)",
            report.threshold.report_min
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "{} {by_severity}{hidden_note}",
        "Findings:".style(styles.heading)
    )?;
    writeln!(
        out,
        "{} {} reviewed, {} not reviewed, {} total",
        "Files:   ".style(styles.heading),
        counts.files_reviewed,
        counts.files_not_reviewed,
        counts.files_total
    )?;
    // The server's time is summed over files that ran side by side, so it can exceed the wall time: say so.
    let mut time = format!(
        "{} {:.2}s; {:.2}s of analysis summed over files; {}",
        "Time:    ".style(styles.heading),
        report.timing.elapsed_seconds,
        report.timing.server_seconds,
        plural(report.cache_hits, "cache hit", "cache hits"),
    );
    if report.tokens_used > 0 {
        let _ = write!(
            time,
            ", {} tokens (${:.4})",
            report.tokens_used, report.estimated_cost
        );
    }
    writeln!(out, "{time}")?;
    let fixable = |wanted: Applicability| {
        report
            .files
            .iter()
            .flat_map(|file| &file.findings)
            .filter(|finding| {
                finding
                    .fix
                    .as_ref()
                    .is_some_and(|fix| fix.applicability == wanted)
            })
            .count()
    };
    let (safe, unsafe_fixes) = (fixable(Applicability::Safe), fixable(Applicability::Unsafe));
    if report.fixes.is_none() && safe + unsafe_fixes > 0 {
        let mut parts = Vec::new();
        if safe > 0 {
            parts.push(format!(
                "{safe} safe (--fix applies them, --diff shows them)"
            ));
        }
        if unsafe_fixes > 0 {
            parts.push(format!(
                "{unsafe_fixes} unsafe (they may change behaviour: add --unsafe-fixes)"
            ));
        }
        writeln!(
            out,
            "{} {}",
            "Fixable: ".style(styles.heading),
            parts.join(", ")
        )?;
    }
    if let Some(fixes) = &report.fixes {
        let mut line = format!(
            "{} {} applied in {}",
            "Fixes:   ".style(styles.heading),
            fixes.applied,
            plural(fixes.files, "file", "files")
        );
        if fixes.files_changed_since_review > 0 {
            let _ = write!(
                line,
                ", {} changed since review and left alone",
                fixes.files_changed_since_review
            );
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{HumanOptions, expand_tabs, render_human};
    use crate::protocol::{Applicability, Edit, Finding, Fix, Severity};
    use crate::render::report::tests_support::report_with;
    use crate::render::{Report, Styles};

    /// `report_with` one finding, with the source the code frame is cut from.
    fn report(source: &str, finding: Finding) -> Report {
        let mut report = report_with(vec![finding]);
        report.files[0].source = Some(source.into());
        report.verdict.summary = "1 finding >= major in 1 of 1 file (0 below threshold)".into();
        report
    }

    #[test]
    fn a_finding_gets_a_code_frame_an_underline_and_its_fix_as_a_diff() {
        let source = "import yaml\n\ndef load(h):\n\treturn yaml.load(h)\n";
        let start = source.find("yaml.load").unwrap();
        let finding = Finding {
            rule_id: "python/yaml-unsafe-load".into(),
            source: "codeinsight".into(),
            severity: Severity::Major,
            category: "security".into(),
            message: "unsafe load".into(),
            path: "app.py".into(),
            line: 4,
            column: 9,
            end_line: 4,
            end_column: 21,
            snippet: "yaml.load(h)".into(),
            fingerprint: "f".into(),
            fix: Some(Fix {
                description: "use `yaml.safe_load`".into(),
                applicability: Applicability::Unsafe,
                edits: vec![Edit {
                    start,
                    end: start + "yaml.load".len(),
                    replacement: "yaml.safe_load".into(),
                }],
            }),
            flow: Vec::new(),
        };
        let mut out = Vec::new();
        let options = HumanOptions::plain(Styles::plain(), true);
        render_human(&report(source, finding), &options, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected = "\
app.py
 MAJOR  python/yaml-unsafe-load unsafe load
 --> app.py:4:9
  |
3 | def load(h):
4 |     return yaml.load(h)
  |            ^^^^^^^^^^^^
  = unsafe fix: use `yaml.safe_load`
  @@ -3,2 +3,2 @@
   def load(h):
  -\treturn yaml.load(h)
  +\treturn yaml.safe_load(h)

FAIL (exit 1): 1 finding >= major in 1 of 1 file (0 below threshold)
";
        assert_eq!(text, expected);
    }

    #[test]
    fn set_aside_findings_are_listed_one_line_each_after_the_gating_ones() {
        let finding = |line: u32, rule_id: &str| Finding {
            rule_id: rule_id.into(),
            source: "codeinsight".into(),
            severity: Severity::Major,
            category: "security".into(),
            message: "unsafe load".into(),
            path: "app.py".into(),
            line,
            column: 5,
            end_line: line,
            end_column: 9,
            snippet: "load".into(),
            fingerprint: format!("fp{line}"),
            fix: None,
            flow: Vec::new(),
        };
        let mut report = report("x = 1\n", finding(1, "python/new"));
        report.files[0].baselined = vec![finding(7, "python/old")];
        report.files[0].outside_diff = (10..35)
            .map(|line| finding(line, "python/untouched"))
            .collect();
        let mut out = Vec::new();
        render_human(
            &report,
            &HumanOptions::plain(Styles::plain(), false),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("Set aside: 26 (reported, not gating)\n"),
            "{text}"
        );
        assert!(
            text.contains("  app.py:7:5 major python/old unsafe load (in the baseline)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  app.py:10:5 major python/untouched unsafe load (outside the changed lines)\n"
            ),
            "{text}"
        );
        assert!(!text.contains("app.py:29:5"), "{text}");
        assert!(text.contains("  and 6 more (all of them"), "{text}");
        assert!(text.find("python/new").unwrap() < text.find("Set aside").unwrap());
    }

    /// A finding over `start..end` of `source`, with line and column positions computed from the offsets.
    fn spanning(source: &str, start: usize, end: usize) -> Finding {
        let position = |offset: usize| {
            let before = &source[..offset];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            (u32::try_from(line).unwrap(), u32::try_from(column).unwrap())
        };
        let (line, column) = position(start);
        let (end_line, end_column) = position(end);
        Finding {
            rule_id: "rust/x".into(),
            source: "codeinsight".into(),
            severity: Severity::Minor,
            category: "correctness".into(),
            message: "spans lines".into(),
            path: "app.py".into(),
            line,
            column,
            end_line,
            end_column,
            snippet: source[start..end].into(),
            fingerprint: "f".into(),
            fix: None,
            flow: Vec::new(),
        }
    }

    fn frame(source: &str, finding: Finding) -> String {
        let mut out = Vec::new();
        render_human(
            &report(source, finding),
            &HumanOptions::plain(Styles::plain(), true),
            &mut out,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_span_over_several_lines_gets_rustc_style_markers() {
        let source = "fn f() {\n    if ready {\n        go();\n    }\n}\n";
        let start = source.find("if ready").unwrap();
        let end = source.find("}\n}").unwrap() + 1;
        let text = frame(source, spanning(source, start, end));
        assert!(
            text.contains(
                "1 |   fn f() {\n2 | /     if ready {\n3 | |         go();\n4 | |     }\n  | |_____^\n5 |   }\n"
            ),
            "{text}"
        );

        // Starting inside a line: the start is marked under its first character.
        let source = "let x = call(\n    a,\n);\n";
        let start = source.find("call").unwrap();
        let end = source.find(");").unwrap() + 2;
        let text = frame(source, spanning(source, start, end));
        assert!(
            text.contains(
                "1 |   let x = call(\n  |  _________^\n2 | |     a,\n3 | | );\n  | |__^\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn each_rule_lists_its_first_findings_and_counts_the_rest() {
        let source = "x\n".repeat(30);
        let findings: Vec<Finding> = (0..25)
            .map(|index| {
                let mut finding = spanning(&source, index * 2, index * 2 + 1);
                finding.fingerprint = format!("f{index}");
                finding
            })
            .collect();
        let mut report = report_with(findings);
        report.files[0].source = Some(source.clone());
        let mut options = HumanOptions::plain(Styles::plain(), true);
        options.per_rule_cap = Some(20);
        let mut out = Vec::new();
        render_human(&report, &options, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("MINOR  rust/x").count(), 20, "{text}");
        assert!(
            text.contains("  ... and 5 more `rust/x` in 1 file\n"),
            "{text}"
        );
        options.per_rule_cap = None;
        let mut out = Vec::new();
        render_human(&report, &options, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("MINOR  rust/x").count(), 25, "{text}");
        assert!(!text.contains("more `rust/x`"), "{text}");
    }

    #[test]
    fn tabs_expand_to_the_next_stop() {
        let (display, offsets) = expand_tabs("\ta\tb");
        assert_eq!(display, "    a   b");
        assert_eq!(offsets, vec![0, 4, 5, 8, 9]);
    }
}

//! `analyze`: parse one file, run the compiled rules for its language in a single pass, run the secrets scanner,
//! apply suppressions, and return sorted, deduplicated findings with stable fingerprints.

use std::collections::HashMap;

use ast_grep_core::matcher::MatcherExt as _;
use ast_grep_language::LanguageExt;

use super::context::{self, FileKind};
use super::language::Language;
use super::rules::{RuleSet, TestPolicy};
use super::selection::{Enabled, Selection};
use super::{other_tools, secrets, suppression};
use crate::protocol::{Edit, Finding, Fix, FlowStep, Severity};

/// The most lines of matched source a finding carries as its snippet.
const SNIPPET_MAX_LINES: usize = 8;
const SNIPPET_MAX_BYTES: usize = 600;

/// One file to analyse. `language` is usually [`Language::detect`]'s answer; `None` runs only the secrets scan.
#[derive(Debug, Clone, Copy)]
pub struct SourceFile<'a> {
    pub path: &'a str,
    pub content: &'a str,
    pub language: Option<Language>,
}

/// Analyses one file with the `default` rules. Never fails: a file that does not parse is still scanned
/// (tree-sitter recovers from errors), and an unknown language still gets the secrets scan.
pub fn analyze(file: &SourceFile<'_>, rules: &RuleSet) -> Vec<Finding> {
    analyze_selected(file, rules, rules.default_selection())
}

/// Analyses one file with the rules `selection` turns on for its path. Rules that declare what they do in tests
/// (`metadata.tests`) skip or downgrade findings in test code, and other tools' suppressions of an equivalent
/// check are honoured.
pub fn analyze_selected(
    file: &SourceFile<'_>,
    rules: &RuleSet,
    selection: &Selection,
) -> Vec<Finding> {
    analyze_until(file, rules, selection, None).unwrap_or_default()
}

/// The analysis ran past its deadline and stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the analysis ran past its deadline")]
pub struct PastDeadline;

/// [`analyze_selected`] that gives up at `deadline`: the walk over the syntax tree checks the clock as it goes,
/// so a file built to make the rules slow costs at most its deadline, not the time it would take.
pub fn analyze_until(
    file: &SourceFile<'_>,
    rules: &RuleSet,
    selection: &Selection,
    deadline: Option<std::time::Instant>,
) -> Result<Vec<Finding>, PastDeadline> {
    let index = LineIndex::new(file.content);
    let enabled = selection.for_path(rules, file.path);
    let kind = context::classify(file.path, file.content);
    let mut findings = Vec::new();
    if let Some(language) = file.language {
        let comments = other_tools::Comments::of(file.content);
        let scope = Scope {
            file,
            language,
            rules,
            index: &index,
            enabled: &enabled,
            kind,
            comments: &comments,
            deadline,
        };
        run_rules(&scope, &mut findings)?;
    }
    let secrets_found = secrets::scan(file.content);
    let mask = secrets::SecretMask::from_matches(file.content, &secrets_found);
    for secret in secrets_found {
        let Some(rule_index) = rules.index_of(secret.rule_id) else {
            continue;
        };
        if !enabled.rule(rule_index)
            || kind.is_test_like() && rules.rules()[rule_index].tests == TestPolicy::Skip
        {
            continue;
        }
        let masked = secrets::mask(&file.content[secret.range.clone()]);
        findings.push(finding_at(
            file,
            &index,
            secret.range.clone(),
            FindingHead {
                rule_id: secret.rule_id.to_owned(),
                source: "codeinsight".to_owned(),
                severity: Severity::Critical,
                category: "security".to_owned(),
                message: format!("{} `{masked}` committed in source", secret.what),
            },
            None,
        ));
    }
    let suppressions = suppression::parse(file.content);
    let today = chrono::Utc::now().date_naive();
    let mut findings = suppression::apply(
        findings,
        &suppressions,
        |id| rules.get(id).is_some(),
        file.path,
        today,
    );
    // Messages, snippets and fixes quote the file, so only a file with a secret can leak one through them.
    for finding in &mut findings {
        mask.finding(finding, file.content);
        for step in &mut finding.flow {
            super::taint::clip_label(&mut step.label);
        }
    }
    finalize(&mut findings);
    Ok(findings)
}

/// One file's analysis: what the rules need besides the tree.
struct Scope<'a> {
    file: &'a SourceFile<'a>,
    language: Language,
    rules: &'a RuleSet,
    index: &'a LineIndex,
    enabled: &'a Enabled<'a>,
    kind: FileKind,
    comments: &'a other_tools::Comments<'a>,
    deadline: Option<std::time::Instant>,
}

/// Nodes visited between two looks at the clock.
const NODES_PER_CLOCK_CHECK: usize = 64;

fn run_rules(scope: &Scope<'_>, findings: &mut Vec<Finding>) -> Result<(), PastDeadline> {
    let Scope {
        file,
        language,
        rules,
        index,
        enabled,
        kind,
        comments,
        deadline,
    } = *scope;
    let Some(compiled) = rules.compiled_for(language) else {
        return Ok(());
    };
    if compiled.rules.is_empty() {
        return Ok(());
    }
    let root = language.grammar().ast_grep(file.content);
    // One walk over the tree, trying at each node only the rules indexed under its kind.
    for (visited, node) in root.root().dfs().enumerate() {
        if let Some(deadline) = deadline
            && visited % NODES_PER_CLOCK_CHECK == 0
            && std::time::Instant::now() > deadline
        {
            return Err(PastDeadline);
        }
        for &candidate in compiled.candidates(node.kind_id()) {
            let rule = &compiled.rules[candidate];
            if !enabled.rule(rule.info) {
                continue;
            }
            let Some(node_match) = rule.config.matcher.match_node(node.clone()) else {
                continue;
            };
            let config = &rule.config;
            let info = rules.info(rule.info);
            let in_tests = info.tests != TestPolicy::Apply
                && (kind.is_test_like()
                    || language == Language::Rust && other_tools::in_rust_test(&node));
            let Some(severity) = severity_where(info, in_tests) else {
                continue;
            };
            if !info.equivalents.is_empty() {
                let suppressed = if language == Language::Rust {
                    comments.rust_allows(&info.equivalents, &node)
                } else {
                    let line = index.position(file.content, node_match.range().start).0;
                    comments.suppress(language, &info.equivalents, line)
                };
                if suppressed {
                    continue;
                }
            }
            let fix = match (config.fixer.first(), info.fix_safety) {
                (Some(fixer), Some(applicability)) => {
                    let edit = node_match.make_edit(&config.matcher, fixer);
                    let (start, end) = whole_line_if_removed(
                        file.content,
                        edit.position,
                        edit.position + edit.deleted_length,
                        edit.inserted_text.is_empty(),
                    );
                    String::from_utf8(edit.inserted_text)
                        .ok()
                        .map(|replacement| Fix {
                            description: fixer.title().map_or_else(
                                || format!("apply the fix for `{}`", info.id),
                                str::to_owned,
                            ),
                            applicability,
                            edits: vec![Edit {
                                start,
                                end,
                                replacement,
                            }],
                        })
                }
                _ => None,
            };
            findings.push(finding_at(
                file,
                index,
                node_match.range(),
                FindingHead {
                    rule_id: info.id.clone(),
                    source: info.source.clone(),
                    severity,
                    category: info.category.clone(),
                    message: config.get_message(&node_match),
                },
                fix,
            ));
        }
    }
    let before_taint = findings.len();
    run_taint_rules(scope, compiled, &root.root(), findings);
    drop_reported_by_a_flow(rules, findings, before_taint);
    Ok(())
}

/// A pattern rule's finding that a data-flow finding already reports (same place, a CWE in common: `eval(x)` by
/// `javascript/eval` and by `javascript/code-injection` with its path) is dropped: one bug, one finding, the one
/// that shows where the value came from. Its fix, if any, moves to the data-flow finding.
fn drop_reported_by_a_flow(rules: &RuleSet, findings: &mut Vec<Finding>, flows_from: usize) {
    if findings.len() == flows_from {
        return;
    }
    let cwe_of = |finding: &Finding| {
        rules
            .get(&finding.rule_id)
            .map(|info| info.cwe.clone())
            .unwrap_or_default()
    };
    let flows: Vec<Vec<u32>> = findings[flows_from..].iter().map(cwe_of).collect();
    // For each pattern finding, the data-flow finding that reports the same bug.
    let mut reported_by: Vec<Option<usize>> = vec![None; flows_from];
    for (index, finding) in findings[..flows_from].iter().enumerate() {
        let cwe = cwe_of(finding);
        reported_by[index] = findings[flows_from..]
            .iter()
            .zip(&flows)
            .position(|(flow, flow_cwe)| {
                finding.line <= flow.end_line
                    && flow.line <= finding.end_line
                    && cwe.iter().any(|id| flow_cwe.contains(id))
            })
            .map(|position| flows_from + position);
    }
    for (index, flow) in reported_by.iter().enumerate() {
        if let Some(flow) = *flow
            && findings[flow].fix.is_none()
        {
            findings[flow].fix = findings[index].fix.take();
        }
    }
    let mut index = 0;
    findings.retain(|_| {
        index += 1;
        index > flows_from || reported_by[index - 1].is_none()
    });
}

/// The taint rules: each follows untrusted data through every function of the file to its sinks.
fn run_taint_rules(
    scope: &Scope<'_>,
    compiled: &super::rules::CompiledLanguage,
    root: &ast_grep_core::Node<
        '_,
        ast_grep_core::tree_sitter::StrDoc<ast_grep_language::SupportLang>,
    >,
    findings: &mut Vec<Finding>,
) {
    let Scope {
        file,
        language,
        rules,
        index,
        enabled,
        kind,
        comments,
        ..
    } = *scope;
    let mut sources_found: HashMap<&str, super::taint::Sources> = HashMap::new();
    let all_functions = std::cell::OnceCell::new();
    for &rule_index in &compiled.taint_rules {
        let rule = &compiled.rules[rule_index];
        let Some(taint) = &rule.taint else {
            continue;
        };
        if !enabled.rule(rule.info) {
            continue;
        }
        let info = rules.info(rule.info);
        let Some(severity) = severity_where(info, kind.is_test_like()) else {
            continue;
        };
        let sources = sources_found
            .entry(taint.sources_key.as_str())
            .or_insert_with(|| super::taint::Sources::find(root, file.content, language, taint));
        if !sources.may_hold() {
            continue;
        }
        let functions = all_functions.get_or_init(|| super::taint::functions_of(root));
        let mut hits = super::taint::find_flows(
            root,
            functions,
            language,
            &rule.config,
            taint,
            sources,
            file.path,
        );
        if !info.equivalents.is_empty() {
            hits.retain(|hit| {
                let line = index.position(file.content, hit.start).0;
                !comments.suppress(language, &info.equivalents, line)
            });
        }
        for (hit, also) in super::taint::merge_shared_flows(hits) {
            let mut message = info.message.clone();
            let line = index.position(file.content, hit.start).0;
            let mut lines: Vec<u32> = also
                .iter()
                .map(|&start| index.position(file.content, start).0)
                .filter(|&other| other != line)
                .collect();
            lines.dedup();
            if !lines.is_empty() {
                let lines: Vec<String> = lines.iter().map(u32::to_string).collect();
                message = format!(
                    "{message} (the same value also reaches line{} {})",
                    if lines.len() == 1 { "" } else { "s" },
                    lines.join(", ")
                );
            }
            let mut finding = finding_at(
                file,
                index,
                hit.start..hit.end,
                FindingHead {
                    rule_id: info.id.clone(),
                    source: info.source.clone(),
                    severity,
                    category: info.category.clone(),
                    message,
                },
                None,
            );
            finding.flow = hit
                .flow
                .iter()
                .map(|step| {
                    let (line, column) = index.position(file.content, step.start);
                    let (end_line, end_column) = index.position(file.content, step.end);
                    FlowStep {
                        label: step.label.clone(),
                        line,
                        column,
                        end_line,
                        end_column,
                    }
                })
                .collect();
            findings.push(finding);
        }
    }
}

/// A rule's severity at a finding, by what the rule does in test code (`metadata.tests`); `None` when it skips.
fn severity_where(info: &super::rules::RuleInfo, in_tests: bool) -> Option<Severity> {
    match info.tests {
        TestPolicy::Apply => Some(info.severity),
        _ if !in_tests => Some(info.severity),
        TestPolicy::Downgrade => Some(info.severity.lower()),
        TestPolicy::Skip => None,
    }
}

/// A fix that deletes everything on its line but indentation takes the line with it, so that removing a
/// statement leaves no blank line behind.
fn whole_line_if_removed(content: &str, start: usize, end: usize, removes: bool) -> (usize, usize) {
    if !removes {
        return (start, end);
    }
    let line_start = content[..start]
        .rfind('\n')
        .map_or(0, |newline| newline + 1);
    let line_end = content[end..]
        .find('\n')
        .map_or(content.len(), |newline| end + newline + 1);
    let blank = |text: &str| text.chars().all(char::is_whitespace);
    if blank(&content[line_start..start]) && blank(&content[end..line_end]) {
        (line_start, line_end)
    } else {
        (start, end)
    }
}

struct FindingHead {
    rule_id: String,
    /// `codeinsight` for built-in rules and scanners, `user` for a user's rule file.
    source: String,
    severity: Severity,
    category: String,
    message: String,
}

fn finding_at(
    file: &SourceFile<'_>,
    index: &LineIndex,
    range: std::ops::Range<usize>,
    head: FindingHead,
    fix: Option<Fix>,
) -> Finding {
    let (line, column) = index.position(file.content, range.start);
    let (end_line, end_column) = index.position(file.content, range.end);
    Finding {
        rule_id: head.rule_id,
        source: head.source,
        severity: head.severity,
        category: head.category,
        message: head.message,
        path: file.path.to_owned(),
        line,
        column,
        end_line,
        end_column,
        snippet: clip_snippet(&file.content[range]),
        fingerprint: String::new(),
        fix,
        flow: Vec::new(),
    }
}

/// Clips matched source to a snippet a finding can carry: at most a few lines and a few hundred bytes, with ` …`
/// when cut. Every engine (rules, linters, the AI reviewer) clips the same way so fingerprints agree.
pub fn clip_snippet(text: &str) -> String {
    let mut end = text.len().min(SNIPPET_MAX_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut clipped: String = text[..end]
        .lines()
        .take(SNIPPET_MAX_LINES)
        .collect::<Vec<_>>()
        .join("\n");
    if clipped.len() < text.trim_end().len() {
        clipped.push_str(" …");
    }
    clipped
}

/// The order findings are listed in: by position, then rule, then where they end.
pub(crate) fn by_position(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (a.line, a.column, &a.rule_id, a.end_line, a.end_column).cmp(&(
        b.line,
        b.column,
        &b.rule_id,
        b.end_line,
        b.end_column,
    ))
}

/// Sorts by position, drops exact duplicates (same rule, same span), and computes fingerprints. Also run on the
/// merged list of built-in and linter findings, so both get fingerprints the same way.
pub(crate) fn finalize(findings: &mut Vec<Finding>) {
    findings.sort_by(by_position);
    findings.dedup_by(|later, earlier| {
        later.rule_id == earlier.rule_id
            && later.line == earlier.line
            && later.column == earlier.column
            && later.end_line == earlier.end_line
            && later.end_column == earlier.end_column
    });
    assign_fingerprints(findings);
}

/// Sets each finding's fingerprint: SHA-256 over rule id, path, whitespace-normalised snippet (and a flow's source)
/// and the occurrence
/// index among findings with the same rule and snippet, so it survives unrelated lines moving. `findings` must be
/// sorted by position. The one definition every engine uses; baselines match on it.
pub fn assign_fingerprints(findings: &mut [Finding]) {
    let mut occurrences: HashMap<(String, String), u32> = HashMap::new();
    for finding in findings.iter_mut() {
        let mut normalised = finding
            .snippet
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        // A data flow is the same finding while its sink and its source are: the steps between may change.
        if let Some(source) = finding.flow.first() {
            normalised.push('\0');
            normalised.push_str(&source.label);
        }
        let occurrence = occurrences
            .entry((finding.rule_id.clone(), normalised.clone()))
            .or_insert(0);
        let key = format!(
            "{}\0{}\0{}\0{}",
            finding.rule_id, finding.path, normalised, occurrence
        );
        *occurrence += 1;
        finding.fingerprint.clear();
        finding
            .fingerprint
            .push_str(&crate::protocol::sha256_hex(key.as_bytes())[..32]);
    }
}

/// Byte offset → 1-based line and character column.
struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    fn new(content: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(content.match_indices('\n').map(|(at, _)| at + 1));
        LineIndex { line_starts }
    }

    fn position(&self, content: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(content.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = content
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        (line as u32 + 1, column as u32 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let content = "ab\né x\n";
        let index = LineIndex::new(content);
        assert_eq!(index.position(content, 0), (1, 1));
        assert_eq!(index.position(content, 3), (2, 1));
        // `x` sits after a two-byte `é` and a space.
        assert_eq!(index.position(content, 6), (2, 3));
    }

    #[test]
    fn unknown_languages_still_get_the_secrets_scan() {
        let rules = RuleSet::builtin().unwrap();
        let file = SourceFile {
            path: "config.ini",
            content: "[aws]\nkey = AKIAIOSFODNN7EXAMPLQ\n",
            language: None,
        };
        let findings = analyze(&file, &rules);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule_id, "secrets/aws-access-key");
        assert_eq!(findings[0].line, 2);
        assert!(!findings[0].snippet.contains("IOSFODNN"));
        assert!(!findings[0].message.contains("IOSFODNN"));
    }

    #[test]
    fn suppressions_remove_findings_and_report_unused_ones() {
        let rules = RuleSet::builtin().unwrap();
        let content = "k1 = 'AKIAIOSFODNN7EXAMPLQ' # codeinsight-ignore: secrets/aws-access-key reason=\"test key\"\n\
                       # codeinsight-ignore: secrets/jwt\nx = 1\n# codeinsight-ignore: no/such-rule\n";
        let file = SourceFile {
            path: "a.py",
            content,
            language: None,
        };
        let ids: Vec<_> = analyze(&file, &rules)
            .into_iter()
            .map(|finding| (finding.rule_id, finding.line))
            .collect();
        assert_eq!(
            ids,
            [
                ("codeinsight/unused-suppression".to_owned(), 2),
                ("codeinsight/unknown-rule-in-suppression".to_owned(), 4)
            ]
        );
    }

    #[test]
    fn fingerprints_survive_moved_lines() {
        let rules = RuleSet::builtin().unwrap();
        let before = "token = 'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789'\n";
        let after = format!("import os\n\n{before}");
        let fingerprint = |content: &str| {
            analyze(
                &SourceFile {
                    path: "a.py",
                    content,
                    language: None,
                },
                &rules,
            )[0]
            .fingerprint
            .clone()
        };
        assert_eq!(fingerprint(before), fingerprint(&after));
    }
}

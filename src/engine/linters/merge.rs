//! Folding linter findings into the built-in ones: `codeinsight-ignore` comments apply to linter rule ids too,
//! secrets are masked in whatever a linter quoted, and a linter finding that reports the same problem as a
//! built-in rule at the same place is merged into it (the built-in finding keeps its id and docs, takes the higher
//! severity, borrows the linter's fix when it has none, and says which linter agreed). Then the whole list is
//! sorted, deduplicated and fingerprinted exactly like the engine's own.

use crate::engine::{RuleSet, analyze, suppression};
use crate::protocol::Finding;

/// Whether built-in rule `builtin` and linter rule `linted` flag the same problem: the rule lists the linter's
/// id among its `metadata.equivalents`.
fn equivalent(rules: &RuleSet, builtin: &str, linted: &str) -> bool {
    rules
        .get(builtin)
        .is_some_and(|info| info.equivalents.iter().any(|id| id == linted))
}

/// Whether two findings sit at the same place: the same first line and touching or overlapping spans.
fn same_place(a: &Finding, b: &Finding) -> bool {
    a.line == b.line
        && (a.line, a.column) <= (b.end_line, b.end_column)
        && (b.line, b.column) <= (a.end_line, a.end_column)
}

/// Merges `linted` (from [`crate::engine::Linters::lint`]) into `builtin` (from [`crate::engine::analyze`]) for
/// the file whose text is `content`, and returns the combined, sorted, fingerprinted list.
pub fn merge_findings(
    rules: &RuleSet,
    builtin: Vec<Finding>,
    linted: Vec<Finding>,
    content: &str,
) -> Vec<Finding> {
    let mut combined = builtin;
    let builtin_count = combined.len();
    // Linter findings arrive masked from `Linters::lint`.
    for finding in suppression::suppress(linted, content) {
        let duplicate = combined[..builtin_count].iter_mut().find(|existing| {
            equivalent(rules, &existing.rule_id, &finding.rule_id) && same_place(existing, &finding)
        });
        match duplicate {
            Some(existing) => {
                existing.severity = existing.severity.max(finding.severity);
                if existing.fix.is_none() {
                    existing.fix = finding.fix;
                }
                let note = format!(" (also reported by `{}`)", finding.rule_id);
                if !existing.message.contains(&note) {
                    existing.message.push_str(&note);
                }
            }
            None => combined.push(finding),
        }
    }
    analyze::finalize(&mut combined);
    combined
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Severity;

    fn finding(rule_id: &str, line: u32, column: u32, end_column: u32) -> Finding {
        Finding {
            rule_id: rule_id.to_owned(),
            source: "test".to_owned(),
            severity: Severity::Minor,
            category: "correctness".to_owned(),
            message: "m".to_owned(),
            path: "a.py".to_owned(),
            line,
            column,
            end_line: line,
            end_column,
            snippet: "except:".to_owned(),
            fingerprint: String::new(),
            fix: None,
            flow: Vec::new(),
        }
    }

    #[test]
    fn the_same_problem_at_the_same_place_is_reported_once() {
        let builtin = vec![finding("python/bare-except", 3, 1, 8)];
        let linted = vec![
            finding("ruff/E722", 3, 1, 7),
            finding("ruff/E722", 9, 1, 7),
            finding("ruff/F401", 3, 1, 4),
        ];
        let rules = RuleSet::builtin().unwrap();
        let merged = merge_findings(&rules, builtin, linted, "");
        let ids: Vec<_> = merged
            .iter()
            .map(|f| (f.rule_id.as_str(), f.line))
            .collect();
        assert_eq!(
            ids,
            [
                ("python/bare-except", 3),
                ("ruff/F401", 3),
                ("ruff/E722", 9)
            ]
        );
        assert!(
            merged[0]
                .message
                .ends_with("(also reported by `ruff/E722`)")
        );
        assert!(merged.iter().all(|f| f.fingerprint.len() == 32));
    }

    #[test]
    fn suppression_comments_apply_to_linter_ids() {
        let content = "import os  # codeinsight-ignore: ruff/F401\n\n\nimport sys\n";
        let linted = vec![
            finding("ruff/F401", 1, 8, 10),
            finding("ruff/F401", 4, 8, 11),
        ];
        let rules = RuleSet::builtin().unwrap();
        let merged = merge_findings(&rules, Vec::new(), linted, content);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].line, 4);
    }
}

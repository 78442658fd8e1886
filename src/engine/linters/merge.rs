//! Folding linter findings into the built-in ones: `codeinsight-ignore` comments apply to linter rule ids too,
//! secrets are masked in whatever a linter quoted, and a linter finding that reports the same problem as a
//! built-in rule at the same place is merged into it (the built-in finding keeps its id and docs, takes the higher
//! severity, borrows the linter's fix when it has none, and says which linter agreed). Then the whole list is
//! sorted, deduplicated and fingerprinted exactly like the engine's own.

use crate::engine::{analyze, suppression};
use crate::protocol::Finding;

/// Built-in rules (by the part after the language, so JavaScript rules cover TypeScript too) and the linter rule
/// ids that flag the same problem.
const EQUIVALENT: &[(&str, &[&str])] = &[
    ("bare-except", &["ruff/E722"]),
    ("none-comparison", &["ruff/E711"]),
    ("type-equality-check", &["ruff/E721"]),
    ("mutable-default-argument", &["ruff/B006"]),
    ("swallowed-exception", &["ruff/S110", "ruff/S112"]),
    ("eval-exec-dynamic", &["ruff/S307", "ruff/S102"]),
    ("subprocess-shell-true", &["ruff/S602", "ruff/S604"]),
    ("pickle-load", &["ruff/S301"]),
    ("yaml-unsafe-load", &["ruff/S506"]),
    ("tempfile-mktemp", &["ruff/S306"]),
    ("tls-verify-disabled", &["ruff/S501"]),
    ("flask-debug-enabled", &["ruff/S201"]),
    ("os-system-dynamic", &["ruff/S605"]),
    ("sql-string-formatting", &["ruff/S608"]),
    (
        "debugger-statement",
        &["eslint/no-debugger", "biome/suspicious/noDebugger"],
    ),
    (
        "loose-equality",
        &["eslint/eqeqeq", "biome/suspicious/noDoubleEquals"],
    ),
    (
        "loose-inequality",
        &["eslint/eqeqeq", "biome/suspicious/noDoubleEquals"],
    ),
    ("no-var", &["eslint/no-var", "biome/style/noVar"]),
    ("eval", &["eslint/no-eval", "biome/security/noGlobalEval"]),
    ("new-function", &["eslint/no-new-func"]),
    (
        "nan-comparison",
        &[
            "eslint/use-isnan",
            "biome/correctness/useIsNan",
            "biome/suspicious/useIsNan",
        ],
    ),
    ("parseint-radix", &["eslint/radix"]),
    (
        "async-promise-executor",
        &[
            "eslint/no-async-promise-executor",
            "biome/suspicious/noAsyncPromiseExecutor",
        ],
    ),
    (
        "console-log",
        &["eslint/no-console", "biome/suspicious/noConsole"],
    ),
    ("explicit-any", &["biome/suspicious/noExplicitAny"]),
    ("non-null-assertion", &["biome/style/noNonNullAssertion"]),
    ("dbg-macro", &["clippy/dbg_macro"]),
    ("unwrap-used", &["clippy/unwrap_used"]),
    ("expect-used", &["clippy/expect_used"]),
    (
        "todo-unimplemented",
        &["clippy/todo", "clippy/unimplemented"],
    ),
    ("mem-forget", &["clippy/mem_forget"]),
    ("useless-format", &["clippy/useless_format"]),
    ("expect-format-eager", &["clippy/expect_fun_call"]),
    ("collect-then-len", &["clippy/needless_collect"]),
    ("panic-in-non-test", &["clippy/panic"]),
    ("deprecated-ioutil", &["staticcheck/SA1019"]),
];

/// Whether built-in rule `builtin` and linter rule `linted` flag the same problem.
fn equivalent(builtin: &str, linted: &str) -> bool {
    let Some((_, name)) = builtin.split_once('/') else {
        return false;
    };
    EQUIVALENT
        .iter()
        .any(|(rule, ids)| *rule == name && ids.contains(&linted))
}

/// Whether two findings sit at the same place: the same first line and touching or overlapping spans.
fn same_place(a: &Finding, b: &Finding) -> bool {
    a.line == b.line
        && (a.line, a.column) <= (b.end_line, b.end_column)
        && (b.line, b.column) <= (a.end_line, a.end_column)
}

/// Merges `linted` (from [`crate::engine::Linters::lint`]) into `builtin` (from [`crate::engine::analyze`]) for
/// the file whose text is `content`, and returns the combined, sorted, fingerprinted list.
pub fn merge_findings(builtin: Vec<Finding>, linted: Vec<Finding>, content: &str) -> Vec<Finding> {
    let mut combined = builtin;
    let builtin_count = combined.len();
    // Linter findings arrive masked from `Linters::lint`.
    for finding in suppression::suppress(linted, content) {
        let duplicate = combined[..builtin_count].iter_mut().find(|existing| {
            equivalent(&existing.rule_id, &finding.rule_id) && same_place(existing, &finding)
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
        let merged = merge_findings(builtin, linted, "");
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
        let merged = merge_findings(Vec::new(), linted, content);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].line, 4);
    }
}

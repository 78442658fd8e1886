//! `ESLint`: `eslint -f json`. When the file comes from a checkout on this machine that has a flat config
//! (`eslint.config.*`), `ESLint` runs in that project (the content on stdin, `--stdin-filename` set to the real path)
//! so the project's rules apply; otherwise it runs on the temporary copy with `--no-config-lookup` and `ESLint`'s
//! recommended rules (without `no-undef`, which cannot know a standalone file's globals). `ESLint` counts UTF-16
//! code units; its `fix` becomes a safe edit (what `eslint --fix` applies), its first suggestion a suggestion.

use std::ffi::OsString;
use std::fmt::Write as _;

use serde::Deserialize;

use super::positions::ColumnUnit;
use super::run::{Draft, LintError, RunContext};
use crate::protocol::{Applicability, Edit, Fix, Severity};

/// `ESLint`'s recommended rules that report definite bugs: errors (major) without a project configuration.
const ERROR_RULES: [&str; 20] = [
    "constructor-super",
    "getter-return",
    "no-class-assign",
    "no-const-assign",
    "no-dupe-args",
    "no-dupe-class-members",
    "no-dupe-keys",
    "no-duplicate-case",
    "no-func-assign",
    "no-import-assign",
    "no-invalid-regexp",
    "no-obj-calls",
    "no-self-assign",
    "no-setter-return",
    "no-this-before-super",
    "no-unreachable",
    "no-unsafe-finally",
    "no-unsafe-negation",
    "use-isnan",
    "valid-typeof",
];

/// The rest of `ESLint`'s recommended rules: warnings (minor) without a project configuration.
const WARNING_RULES: [&str; 38] = [
    "for-direction",
    "no-async-promise-executor",
    "no-case-declarations",
    "no-compare-neg-zero",
    "no-cond-assign",
    "no-constant-binary-expression",
    "no-constant-condition",
    "no-control-regex",
    "no-debugger",
    "no-delete-var",
    "no-dupe-else-if",
    "no-empty",
    "no-empty-character-class",
    "no-empty-pattern",
    "no-empty-static-block",
    "no-ex-assign",
    "no-extra-boolean-cast",
    "no-fallthrough",
    "no-global-assign",
    "no-irregular-whitespace",
    "no-loss-of-precision",
    "no-misleading-character-class",
    "no-new-native-nonconstructor",
    "no-nonoctal-decimal-escape",
    "no-octal",
    "no-prototype-builtins",
    "no-redeclare",
    "no-regex-spaces",
    "no-shadow-restricted-names",
    "no-sparse-arrays",
    "no-unexpected-multiline",
    "no-unsafe-optional-chaining",
    "no-unused-labels",
    "no-unused-private-class-members",
    "no-unused-vars",
    "no-useless-backreference",
    "no-useless-catch",
    "no-useless-escape",
];

pub(super) const CONFIG_NAMES: [&str; 6] = [
    "eslint.config.js",
    "eslint.config.mjs",
    "eslint.config.cjs",
    "eslint.config.ts",
    "eslint.config.mts",
    "eslint.config.cts",
];

#[derive(Deserialize)]
struct FileResult {
    messages: Vec<Problem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Problem {
    rule_id: Option<String>,
    severity: u8,
    message: String,
    #[serde(default)]
    fatal: bool,
    line: Option<u32>,
    column: Option<u32>,
    end_line: Option<u32>,
    end_column: Option<u32>,
    fix: Option<EslintFix>,
    #[serde(default)]
    suggestions: Vec<Suggestion>,
}

#[derive(Deserialize)]
struct EslintFix {
    range: [usize; 2],
    text: String,
}

#[derive(Deserialize)]
struct Suggestion {
    desc: String,
    fix: EslintFix,
}

pub(crate) fn lint(context: &RunContext<'_>) -> Result<Vec<Draft>, LintError> {
    let mut args: Vec<OsString> = vec!["-f".into(), "json".into()];
    let project = context
        .project_file(&CONFIG_NAMES)
        .zip(context.on_disk)
        .and_then(|(config, file)| Some((config.parent()?.to_path_buf(), file.to_path_buf())));
    let output = if let Some((root, file)) = project {
        args.extend(context.extra_args());
        args.push("--stdin".into());
        args.push("--stdin-filename".into());
        args.push(file.into_os_string());
        let stdin = context.target.content.as_bytes().to_vec();
        context.execute(args, Vec::new(), Some(&root), Some(stdin))?
    } else {
        let mut rules = String::from("{");
        for (index, rule) in ERROR_RULES.iter().chain(&WARNING_RULES).enumerate() {
            let level = if index < ERROR_RULES.len() {
                "error"
            } else {
                "warn"
            };
            let _ = write!(
                rules,
                "{}\"{rule}\":\"{level}\"",
                if index == 0 { "" } else { "," }
            );
        }
        rules.push('}');
        args.extend(["--no-config-lookup".into(), "--rule".into(), rules.into()]);
        args.extend(context.extra_args());
        args.push("--".into());
        args.push(context.file.as_os_str().to_owned());
        context.execute(args, Vec::new(), None, None)?
    };
    context.expect_exit(&output, &[0, 1])?;
    let results: Vec<FileResult> = serde_json::from_slice(&output.stdout)
        .map_err(|error| context.invalid("ESLint JSON", error))?;
    let index = context.index;
    let range = |fix: &EslintFix| {
        let start = index.utf16_offset(fix.range[0]);
        start..index.utf16_offset(fix.range[1]).max(start)
    };
    let mut drafts = Vec::new();
    for message in results.into_iter().flat_map(|result| result.messages) {
        let rule = match (&message.rule_id, message.fatal) {
            (Some(rule), _) => rule.clone(),
            (None, true) => "parse-error".to_owned(),
            // A file the project's configuration ignores, or a note about the run itself.
            (None, false) => continue,
        };
        let line = message.line.unwrap_or(1);
        let start = index.offset(line, message.column.unwrap_or(1), ColumnUnit::Utf16);
        let end = match (message.end_line, message.end_column) {
            (Some(end_line), Some(end_column)) => index
                .offset(end_line, end_column, ColumnUnit::Utf16)
                .max(start),
            _ => start,
        };
        let severity = if message.fatal || message.severity >= 2 {
            Severity::Major
        } else {
            Severity::Minor
        };
        let fix = if let Some(fix) = &message.fix {
            Some(Fix {
                description: format!("apply ESLint's fix for `{rule}`"),
                applicability: Applicability::Safe,
                edits: vec![Edit {
                    start: range(fix).start,
                    end: range(fix).end,
                    replacement: fix.text.clone(),
                }],
            })
        } else {
            message.suggestions.first().map(|suggestion| Fix {
                description: suggestion.desc.clone(),
                applicability: Applicability::Suggestion,
                edits: vec![Edit {
                    start: range(&suggestion.fix).start,
                    end: range(&suggestion.fix).end,
                    replacement: suggestion.fix.text.clone(),
                }],
            })
        };
        drafts.push(Draft {
            rule_id: format!("eslint/{rule}"),
            severity,
            category: if severity == Severity::Major {
                "correctness"
            } else {
                "maintainability"
            },
            message: context.clean_message(&message.message),
            range: start..end,
            fix,
        });
    }
    Ok(drafts)
}

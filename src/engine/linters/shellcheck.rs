//! `ShellCheck`: `shellcheck -f json1` (the format that counts a tab as one character). Its `fix.replacements`
//! become one edit each; the project's `.shellcheckrc` is copied next to the temporary copy when the file comes
//! from a checkout on this machine. A script without a shebang is checked as bash, which is how it was
//! detected.

use std::ffi::OsString;

use serde::Deserialize;

use super::positions::ColumnUnit;
use super::run::{Draft, LintError, RunContext, category_of, severity_of_level};
use crate::protocol::{Applicability, Edit, Fix};

#[derive(Deserialize)]
struct Report {
    comments: Vec<Comment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Comment {
    line: u32,
    end_line: u32,
    column: u32,
    end_column: u32,
    level: String,
    code: u32,
    message: String,
    fix: Option<CommentFix>,
}

#[derive(Deserialize)]
struct CommentFix {
    replacements: Vec<Change>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Change {
    line: u32,
    end_line: u32,
    column: u32,
    end_column: u32,
    replacement: String,
}

pub(crate) fn lint(context: &RunContext<'_>) -> Result<Vec<Draft>, LintError> {
    if let Some(rc) = context.project_file(&[".shellcheckrc", "shellcheckrc"]) {
        // ShellCheck 0.9 has no `--rcfile`; it reads `.shellcheckrc` from the script's directory.
        std::fs::copy(&rc, context.dir.join(".shellcheckrc")).map_err(LintError::TempDir)?;
    }
    let mut args: Vec<OsString> = vec!["-f".into(), "json1".into()];
    if context.confinement.is_some() {
        // No `.shellcheckrc` from above the temporary directory or from a home directory on untrusted code.
        args.push("--norc".into());
    }
    let has_shebang = context.target.content.starts_with("#!");
    let has_directive = context.target.content.contains("shellcheck shell=");
    let shell_given = context
        .linter
        .args
        .iter()
        .any(|arg| arg == "-s" || arg.starts_with("--shell"));
    if !has_shebang && !has_directive && !shell_given {
        args.push("--shell=bash".into());
    }
    args.extend(context.extra_args());
    args.push("--".into());
    args.push(context.file.as_os_str().to_owned());
    let output = context.execute(args, Vec::new(), None, None)?;
    context.expect_exit(&output, &[0, 1])?;
    let report: Report = serde_json::from_slice(&output.stdout)
        .map_err(|error| context.invalid("shellcheck json1", error))?;
    let index = context.index;
    Ok(report
        .comments
        .into_iter()
        .map(|comment| {
            let start = index.offset(comment.line, comment.column, ColumnUnit::Characters);
            let end = index
                .offset(comment.end_line, comment.end_column, ColumnUnit::Characters)
                .max(start);
            let severity = severity_of_level(&comment.level);
            let fix = comment
                .fix
                .filter(|fix| !fix.replacements.is_empty())
                .map(|fix| Fix {
                    description: "apply ShellCheck's suggested change".to_owned(),
                    // ShellCheck does not say whether a change keeps behaviour (quoting changes word splitting).
                    applicability: Applicability::Unsafe,
                    edits: fix
                        .replacements
                        .into_iter()
                        .map(|replacement| {
                            let from = index.offset(
                                replacement.line,
                                replacement.column,
                                ColumnUnit::Characters,
                            );
                            let to = index
                                .offset(
                                    replacement.end_line,
                                    replacement.end_column,
                                    ColumnUnit::Characters,
                                )
                                .max(from);
                            Edit {
                                start: from,
                                end: to,
                                replacement: replacement.replacement,
                            }
                        })
                        .collect(),
                });
            Draft {
                rule_id: format!("shellcheck/SC{}", comment.code),
                severity,
                category: category_of(severity),
                message: context.clean_message(&comment.message),
                range: start..end,
                fix,
            }
        })
        .collect())
}

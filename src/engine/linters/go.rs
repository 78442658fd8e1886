//! Go's `go vet -json` and staticcheck (`staticcheck -f json`, Debian's `go-staticcheck`), always with
//! `GOPROXY=off GOTOOLCHAIN=local`. A file that lies in a package directory on this machine (with exactly the
//! submitted content) is checked as part of that package (`.`), because Go analyses whole packages; otherwise the
//! temporary copy is checked alone. A file that does not type-check alone is reported as a skipped stage with the
//! compiler's reason rather than as findings. Go counts columns in bytes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::discovery::go_environment;
use super::positions::ColumnUnit;
use super::run::{Draft, LintError, RunContext};
use crate::protocol::Severity;

/// Where the Go tool runs and which of its reported paths is the reviewed file.
struct Scope {
    cwd: PathBuf,
    target: OsString,
    reviewed: PathBuf,
    env: Vec<(String, String)>,
}

fn scope(context: &RunContext<'_>) -> Scope {
    if let Some(file) = context.on_disk {
        if let Some(directory) = file.parent() {
            let siblings = std::fs::read_dir(directory).is_ok_and(|entries| {
                entries.filter_map(Result::ok).any(|entry| {
                    let path = entry.path();
                    path != file && path.extension().is_some_and(|extension| extension == "go")
                })
            });
            if siblings {
                let env = [
                    ("GOPROXY", "off"),
                    ("GOTOOLCHAIN", "local"),
                    ("GOFLAGS", "-mod=mod"),
                ]
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect();
                return Scope {
                    cwd: directory.to_path_buf(),
                    target: ".".into(),
                    reviewed: file.to_path_buf(),
                    env,
                };
            }
        }
    }
    Scope {
        cwd: context.dir.to_path_buf(),
        target: context.file.as_os_str().to_owned(),
        reviewed: context.file.to_path_buf(),
        env: go_environment(),
    }
}

fn same_file(scope: &Scope, reported: &str) -> bool {
    let reported = Path::new(reported);
    let absolute = if reported.is_absolute() {
        reported.to_path_buf()
    } else {
        scope.cwd.join(reported)
    };
    absolute == scope.reviewed
        || std::fs::canonicalize(&absolute).is_ok_and(|path| path == scope.reviewed)
}

/// `go vet -json`: a stream of `{package: {analyzer: [{posn, message}]}}` objects on stderr.
pub(crate) fn vet(context: &RunContext<'_>) -> Result<Vec<Draft>, LintError> {
    let scope = scope(context);
    let mut args: Vec<OsString> = vec!["vet".into(), "-json".into()];
    args.extend(context.extra_args());
    args.push(scope.target.clone());
    let output = context.execute(args, scope.env.clone(), Some(&scope.cwd), None)?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let compile_errors: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("vet: "))
        .collect();
    if !compile_errors.is_empty() {
        return Err(LintError::Unavailable(format!(
            "`go vet` skipped: the file does not type-check {} ({}){}",
            if scope.target == "." {
                "in its package"
            } else {
                "on its own"
            },
            compile_errors[0],
            if compile_errors.len() > 1 {
                ", ..."
            } else {
                ""
            }
        )));
    }
    context.expect_exit(&output, &[0, 1])?;
    let json: String = stderr
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut drafts = Vec::new();
    for document in serde_json::Deserializer::from_str(&json).into_iter::<Value>() {
        let document = document.map_err(|error| context.invalid("go vet JSON", error))?;
        let Some(packages) = document.as_object() else {
            continue;
        };
        for analyzers in packages.values().filter_map(Value::as_object) {
            for (analyzer, reports) in analyzers {
                for report in reports.as_array().into_iter().flatten() {
                    let (Some(position), Some(message)) = (
                        report.get("posn").and_then(Value::as_str),
                        report.get("message").and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    let Some((file, line, column)) = split_position(position) else {
                        continue;
                    };
                    if !same_file(&scope, file) {
                        continue;
                    }
                    let start = context.index.offset(line, column, ColumnUnit::Bytes);
                    drafts.push(Draft {
                        rule_id: format!("go-vet/{analyzer}"),
                        severity: Severity::Major,
                        category: "correctness",
                        message: context.clean_message(message),
                        range: start..start,
                        fix: None,
                    });
                }
            }
        }
    }
    Ok(drafts)
}

/// `path:line:column` (the path may itself contain colons).
fn split_position(position: &str) -> Option<(&str, u32, u32)> {
    let mut parts = position.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    Some((parts.next()?, line, column))
}

#[derive(Deserialize)]
struct Problem {
    code: String,
    severity: Option<String>,
    location: ProblemPosition,
    end: Option<ProblemPosition>,
    message: String,
}

#[derive(Deserialize)]
struct ProblemPosition {
    file: String,
    line: u32,
    column: u32,
}

/// `staticcheck -f json`: one JSON object per line on stdout; exit 1 when it found something.
pub(crate) fn staticcheck(context: &RunContext<'_>) -> Result<Vec<Draft>, LintError> {
    let scope = scope(context);
    let mut args: Vec<OsString> = vec!["-f".into(), "json".into()];
    args.extend(context.extra_args());
    args.push(scope.target.clone());
    let output = context.execute(args, scope.env.clone(), Some(&scope.cwd), None)?;
    context.expect_exit(&output, &[0, 1])?;
    let mut drafts = Vec::new();
    let mut compile_errors = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if line.trim().is_empty() {
            continue;
        }
        let problem: Problem = serde_json::from_str(line)
            .map_err(|error| context.invalid("staticcheck JSON", error))?;
        if problem.code == "compile" {
            compile_errors.push(problem.message);
            continue;
        }
        if !same_file(&scope, &problem.location.file) {
            continue;
        }
        let index = context.index;
        let start = index.offset(
            problem.location.line,
            problem.location.column,
            ColumnUnit::Bytes,
        );
        let end = problem
            .end
            .filter(|end| end.line > 0 && same_file(&scope, &end.file))
            .map_or(start, |end| {
                index.offset(end.line, end.column, ColumnUnit::Bytes)
            })
            .max(start);
        let (severity, category) = classify(&problem.code, problem.severity.as_deref());
        drafts.push(Draft {
            rule_id: format!("staticcheck/{}", problem.code),
            severity,
            category,
            message: context.clean_message(&problem.message),
            range: start..end,
            fix: None,
        });
    }
    if drafts.is_empty() && !compile_errors.is_empty() {
        return Err(LintError::Unavailable(format!(
            "`staticcheck` skipped: the file does not type-check {} ({})",
            if scope.target == "." {
                "in its package"
            } else {
                "on its own"
            },
            compile_errors[0]
        )));
    }
    Ok(drafts)
}

/// Staticcheck labels nearly everything "error", so the grade comes from the check's family: SA (bugs) → major,
/// S and QF (simplifications) and U1000 (unused) → minor, ST (style) → info.
fn classify(code: &str, severity: Option<&str>) -> (Severity, &'static str) {
    if code.starts_with("SA") {
        (Severity::Major, "correctness")
    } else if code.starts_with("ST") || severity == Some("ignored") {
        (Severity::Info, "style")
    } else {
        (Severity::Minor, "maintainability")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_split_from_the_right() {
        assert_eq!(
            split_position("/tmp/a:b/main.go:7:13"),
            Some(("/tmp/a:b/main.go", 7, 13))
        );
        assert_eq!(split_position("nonsense"), None);
        assert_eq!(classify("SA5009", Some("error")).0, Severity::Major);
        assert_eq!(classify("ST1003", Some("error")).0, Severity::Info);
    }
}

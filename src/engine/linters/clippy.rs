//! Clippy. A standalone file is compiled alone as a library with `clippy-driver --edition 2021 --crate-type lib
//! --error-format=json --emit=metadata`; a file of a Cargo package's targets on this machine (under `src/`, or
//! `build.rs`; `tests/`, `examples/`, `benches/` with `--all-targets`; with exactly the submitted content) is
//! checked with `cargo clippy --message-format=json` in that package, so its imports resolve and the package's
//! `clippy.toml` and lint levels apply. A file elsewhere in a package's tree is compiled alone. Rustc's diagnostics carry byte offsets, and every
//! suggestion carries an applicability: machine-applicable → safe, maybe-incorrect → unsafe, others → suggestion.
//!
//! Compiler errors are not findings: a standalone file that uses its crate cannot compile alone, and saying so
//! (in the stage's reason) is more honest than reporting "unresolved import" on every `use crate::...`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::run::{Draft, LintError, RunContext, category_of, severity_of_level};
use crate::protocol::{Applicability, Edit, Fix};

#[derive(Deserialize)]
struct Diagnostic {
    message: String,
    code: Option<Code>,
    level: String,
    spans: Vec<Span>,
    #[serde(default)]
    children: Vec<Diagnostic>,
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

#[derive(Deserialize)]
struct Span {
    file_name: String,
    byte_start: usize,
    byte_end: usize,
    is_primary: bool,
    suggested_replacement: Option<String>,
    suggestion_applicability: Option<String>,
}

/// One line of `cargo --message-format=json`.
#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    message: Option<Diagnostic>,
}

pub(crate) fn lint(context: &RunContext<'_>) -> Result<(Vec<Draft>, Option<String>), LintError> {
    if context.linter.cargo {
        if let Some(manifest) = context.project_file(&["Cargo.toml"]) {
            if let Some(targets) = package_targets(context, &manifest) {
                if let Some(cargo) = super::process::find_program("cargo") {
                    return lint_package(context, &cargo, &manifest, targets);
                }
            }
        }
    }
    lint_standalone(context)
}

/// Which of the package's targets hold the reviewed file, judged by where it is: `src/` and `build.rs` are built by
/// `cargo clippy`, `tests/`, `examples/` and `benches/` by `cargo clippy --all-targets`. A file elsewhere in the
/// package's tree (a `demo/` or fixture directory) is not compiled by cargo at all, and is linted alone.
fn package_targets(context: &RunContext<'_>, manifest: &Path) -> Option<Targets> {
    let relative = context.on_disk?.strip_prefix(manifest.parent()?).ok()?;
    let first = relative.components().next()?.as_os_str();
    if relative == Path::new("build.rs") || first == "src" {
        Some(Targets::Default)
    } else if first == "tests" || first == "examples" || first == "benches" {
        Some(Targets::All)
    } else {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Targets {
    Default,
    All,
}

fn lint_standalone(context: &RunContext<'_>) -> Result<(Vec<Draft>, Option<String>), LintError> {
    let mut args: Vec<OsString> = [
        "--edition",
        "2021",
        "--crate-type",
        "lib",
        "--error-format=json",
        "--emit=metadata",
        // A library compiled alone uses none of its private items; that is not worth a finding per item.
        "-A",
        "dead_code",
        "-o",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    args.push(context.dir.join("out.rmeta").into_os_string());
    args.extend(context.extra_args());
    args.push(context.file.as_os_str().to_owned());
    let mut env = Vec::new();
    if let Some(config) = context.project_file(&["clippy.toml", ".clippy.toml"]) {
        if let Some(directory) = config.parent() {
            env.push((
                "CLIPPY_CONF_DIR".to_owned(),
                directory.display().to_string(),
            ));
        }
    }
    let output = context.execute(args, env, None, None)?;
    context.expect_exit(&output, &[0, 1])?;
    let mut diagnostics = Vec::new();
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let diagnostic: Diagnostic = serde_json::from_str(line)
            .map_err(|error| context.invalid("rustc JSON diagnostics", error))?;
        diagnostics.push(diagnostic);
    }
    let is_ours = |span: &Span| Path::new(&span.file_name) == context.file;
    Ok(collect(context, diagnostics, &is_ours, "compiled alone"))
}

fn lint_package(
    context: &RunContext<'_>,
    cargo: &Path,
    manifest: &Path,
    targets: Targets,
) -> Result<(Vec<Draft>, Option<String>), LintError> {
    let package = manifest.parent().unwrap_or(Path::new("."));
    let mut args: Vec<OsString> = vec![
        "clippy".into(),
        "--message-format=json".into(),
        "--quiet".into(),
        "--manifest-path".into(),
        manifest.as_os_str().to_owned(),
    ];
    if targets == Targets::All {
        args.push("--all-targets".into());
    }
    args.extend(context.extra_args());
    let output = context.execute_program(cargo, args, Vec::new(), Some(package), None)?;
    let mut diagnostics = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<CargoMessage>(line.trim()) else {
            continue;
        };
        if message.reason == "compiler-message" {
            diagnostics.extend(message.message);
        }
    }
    // Cargo exits 101 when a crate does not compile or a lint is denied; that is a result, not a crash, as long
    // as it printed diagnostics.
    if !(output.status.success() || output.code() == Some(101) && !diagnostics.is_empty()) {
        context.expect_exit(&output, &[0])?;
    }
    let reviewed: Option<PathBuf> = context.on_disk.map(Path::to_path_buf);
    let is_ours = |span: &Span| {
        reviewed.as_deref().is_some_and(|reviewed| {
            let named = Path::new(&span.file_name);
            reviewed == named || reviewed.ends_with(named)
        })
    };
    let (mut drafts, note) = collect(context, diagnostics, &is_ours, "in its package");
    drafts.dedup_by(|a, b| a.rule_id == b.rule_id && a.range == b.range);
    Ok((drafts, note))
}

fn collect(
    context: &RunContext<'_>,
    diagnostics: Vec<Diagnostic>,
    is_ours: &dyn Fn(&Span) -> bool,
    how: &str,
) -> (Vec<Draft>, Option<String>) {
    let mut drafts = Vec::new();
    let mut errors = Vec::new();
    for diagnostic in diagnostics {
        let code = diagnostic.code.as_ref().map(|code| code.code.as_str());
        let lint = match code {
            Some(code) if code.starts_with("clippy::") => code.trim_start_matches("clippy::"),
            // Rustc's own lints (`unused_variables`); error codes (`E0432`) and uncoded errors are not lints.
            Some(code) if is_lint_name(code) => code,
            _ => {
                if diagnostic.level == "error" && !diagnostic.message.starts_with("aborting due to")
                {
                    errors.push(diagnostic.message.clone());
                }
                continue;
            }
        };
        let Some(primary) = diagnostic
            .spans
            .iter()
            .find(|span| span.is_primary && is_ours(span))
        else {
            continue;
        };
        let severity = severity_of_level(&diagnostic.level);
        drafts.push(Draft {
            rule_id: format!("clippy/{lint}"),
            severity,
            category: category_of(severity),
            message: context.clean_message(&diagnostic.message),
            range: primary.byte_start..primary.byte_end.max(primary.byte_start),
            fix: suggestion(&diagnostic, is_ours),
        });
    }
    let note = (!errors.is_empty()).then(|| {
        format!(
            "{how}, the file has {} compiler error(s) (first: {}); lints that need them resolved did not run",
            errors.len(),
            errors[0]
        )
    });
    (drafts, note)
}

fn is_lint_name(code: &str) -> bool {
    !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// The first child suggestion with replacements in the reviewed file, as one fix.
fn suggestion(diagnostic: &Diagnostic, is_ours: &dyn Fn(&Span) -> bool) -> Option<Fix> {
    diagnostic.children.iter().find_map(|child| {
        let spans: Vec<&Span> = child
            .spans
            .iter()
            .filter(|span| span.suggested_replacement.is_some())
            .collect();
        if spans.is_empty() || !spans.iter().all(|span| is_ours(span)) {
            return None;
        }
        let applicability = spans
            .iter()
            .map(|span| match span.suggestion_applicability.as_deref() {
                Some("MachineApplicable") => Applicability::Safe,
                Some("MaybeIncorrect") => Applicability::Unsafe,
                _ => Applicability::Suggestion,
            })
            .max()
            .unwrap_or(Applicability::Suggestion);
        Some(Fix {
            description: child.message.clone(),
            applicability,
            edits: spans
                .iter()
                .map(|span| Edit {
                    start: span.byte_start,
                    end: span.byte_end.max(span.byte_start),
                    replacement: span.suggested_replacement.clone().unwrap_or_default(),
                })
                .collect(),
        })
    })
}

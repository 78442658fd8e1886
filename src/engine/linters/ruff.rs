//! Ruff: `ruff check --no-cache --output-format json`, with the project's `ruff.toml`, `.ruff.toml` or
//! `pyproject.toml` (`[tool.ruff]`) when the file comes from a checkout on this machine. Ruff counts characters;
//! its `fix.edits` become our edits with ruff's own applicability (safe, unsafe, display-only).

use std::ffi::OsString;
use std::path::PathBuf;

use serde::Deserialize;

use super::positions::ColumnUnit;
use super::run::{Draft, LintError, RunContext};
use crate::protocol::{Applicability, Edit, Fix, Severity};

#[derive(Deserialize)]
struct Diagnostic {
    code: Option<String>,
    message: String,
    location: Option<Location>,
    end_location: Option<Location>,
    fix: Option<RuffFix>,
}

#[derive(Deserialize, Clone, Copy)]
struct Location {
    row: u32,
    column: u32,
}

#[derive(Deserialize)]
struct RuffFix {
    applicability: String,
    message: Option<String>,
    edits: Vec<RuffEdit>,
}

#[derive(Deserialize)]
struct RuffEdit {
    content: String,
    location: Location,
    end_location: Location,
}

pub(crate) fn lint(context: &RunContext<'_>) -> Result<Vec<Draft>, LintError> {
    let mut args: Vec<OsString> = ["check", "--no-cache", "--output-format", "json"]
        .into_iter()
        .map(OsString::from)
        .collect();
    if let Some(config) = project_config(context) {
        args.push("--config".into());
        args.push(config.into_os_string());
    } else if context.confinement.is_some() {
        // No configuration file at all on untrusted code, not even one above the temporary directory.
        args.push("--isolated".into());
    }
    args.extend(context.extra_args());
    args.push("--".into());
    args.push(context.file.as_os_str().to_owned());
    let output = context.execute(args, Vec::new(), None, None)?;
    context.expect_exit(&output, &[0, 1])?;
    let diagnostics: Vec<Diagnostic> = serde_json::from_slice(&output.stdout)
        .map_err(|error| context.invalid("ruff JSON", error))?;
    Ok(diagnostics
        .into_iter()
        .map(|diagnostic| draft(context, diagnostic))
        .collect())
}

fn draft(context: &RunContext<'_>, diagnostic: Diagnostic) -> Draft {
    let index = context.index;
    let offset =
        |location: Location| index.offset(location.row, location.column, ColumnUnit::Characters);
    let start = diagnostic.location.map_or(0, offset);
    let end = diagnostic.end_location.map_or(start, offset).max(start);
    let (severity, category) = classify(diagnostic.code.as_deref());
    let fix = diagnostic.fix.and_then(|fix| {
        let applicability = match fix.applicability.as_str() {
            "safe" => Applicability::Safe,
            "unsafe" => Applicability::Unsafe,
            _ => Applicability::Suggestion,
        };
        let edits: Vec<Edit> = fix
            .edits
            .into_iter()
            .map(|edit| Edit {
                start: offset(edit.location),
                end: offset(edit.end_location).max(offset(edit.location)),
                replacement: edit.content,
            })
            .collect();
        (!edits.is_empty()).then(|| Fix {
            description: fix.message.unwrap_or_else(|| "apply ruff's fix".to_owned()),
            applicability,
            edits,
        })
    });
    Draft {
        rule_id: format!(
            "ruff/{}",
            diagnostic.code.as_deref().unwrap_or("syntax-error")
        ),
        severity,
        category,
        message: context.clean_message(&diagnostic.message),
        range: start..end,
        fix,
    }
}

/// Ruff does not grade its rules (every violation is an "error"), so the grade comes from the rule's family.
fn classify(code: Option<&str>) -> (Severity, &'static str) {
    let Some(code) = code else {
        return (Severity::Major, "correctness");
    };
    let family: String = code.chars().take_while(char::is_ascii_alphabetic).collect();
    let number = &code[family.len()..];
    match family.as_str() {
        "E" if number.starts_with('9') => (Severity::Major, "correctness"),
        "F" if ["63", "7", "82"]
            .iter()
            .any(|prefix| number.starts_with(prefix)) =>
        {
            (Severity::Major, "correctness")
        }
        "PLE" => (Severity::Major, "correctness"),
        "S" => (Severity::Major, "security"),
        "F" | "B" | "PLW" => (Severity::Minor, "correctness"),
        _ => (Severity::Minor, "style"),
    }
}

/// Ruff's own configuration for the file, found the way ruff finds it: the closest directory with `.ruff.toml`,
/// `ruff.toml`, or a `pyproject.toml` that has a `[tool.ruff]` table.
fn project_config(context: &RunContext<'_>) -> Option<PathBuf> {
    let start = context.on_disk?.parent()?;
    start.ancestors().find_map(|directory| {
        for name in [".ruff.toml", "ruff.toml"] {
            let candidate = directory.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
        let pyproject = directory.join("pyproject.toml");
        std::fs::read_to_string(&pyproject)
            .ok()
            .filter(|text| text.contains("[tool.ruff"))
            .map(|_| pyproject)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_families_map_onto_our_scale() {
        assert_eq!(classify(None), (Severity::Major, "correctness"));
        assert_eq!(classify(Some("F821")), (Severity::Major, "correctness"));
        assert_eq!(classify(Some("F401")), (Severity::Minor, "correctness"));
        assert_eq!(classify(Some("S307")), (Severity::Major, "security"));
        assert_eq!(classify(Some("SIM108")), (Severity::Minor, "style"));
        assert_eq!(classify(Some("E722")), (Severity::Minor, "style"));
    }
}

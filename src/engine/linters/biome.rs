//! Biome: `biome lint --reporter=rdjson` (the reporter that carries Biome's suggested changes; its `json` reporter
//! is marked experimental and has none). Runs on the temporary copy with Biome's recommended rules, or with the
//! project's `biome.json`/`biome.jsonc` (`--config-path`) when the file comes from a checkout on this machine.
//! Positions count characters. Rule ids drop Biome's `lint/` prefix: `biome/suspicious/noDebugger`.

use std::ffi::OsString;

use serde::Deserialize;

use super::positions::ColumnUnit;
use super::run::{Draft, LintError, RunContext, category_of, severity_of_level};
use crate::protocol::{Applicability, Edit, Fix};

#[derive(Deserialize)]
struct Report {
    #[serde(default)]
    diagnostics: Vec<Diagnostic>,
}

#[derive(Deserialize)]
struct Diagnostic {
    code: Option<Code>,
    location: Option<Location>,
    message: String,
    severity: Option<String>,
    #[serde(default)]
    suggestions: Vec<Suggestion>,
}

#[derive(Deserialize)]
struct Code {
    value: String,
}

#[derive(Deserialize)]
struct Location {
    range: Option<Range>,
}

#[derive(Deserialize, Clone, Copy)]
struct Range {
    start: Position,
    end: Position,
}

#[derive(Deserialize, Clone, Copy)]
struct Position {
    line: u32,
    column: u32,
}

#[derive(Deserialize)]
struct Suggestion {
    range: Range,
    text: String,
}

/// The project configuration files Biome reads.
pub(super) const CONFIG_NAMES: [&str; 2] = ["biome.json", "biome.jsonc"];

pub(crate) fn lint(context: &RunContext<'_>) -> Result<Vec<Draft>, LintError> {
    let mut args: Vec<OsString> = vec!["lint".into(), "--reporter=rdjson".into()];
    let config_directory = match context.project_file(&CONFIG_NAMES) {
        Some(config) => config.parent().map(std::path::Path::to_path_buf),
        // On untrusted code, Biome's defaults from a configuration of our own: left to itself it would take
        // the first `biome.json` above the temporary directory, which anyone on the machine could plant.
        None if context.confinement.is_some() => {
            std::fs::write(context.dir.join("biome.json"), "{}\n").map_err(LintError::TempDir)?;
            Some(context.dir.to_path_buf())
        }
        None => None,
    };
    if let Some(directory) = config_directory {
        let mut flag = OsString::from("--config-path=");
        flag.push(directory.as_os_str());
        args.push(flag);
    }
    args.extend(context.extra_args());
    args.push(context.file.as_os_str().to_owned());
    let output = context.execute(args, Vec::new(), None, None)?;
    context.expect_exit(&output, &[0, 1])?;
    let report: Report = serde_json::from_slice(&output.stdout).map_err(|error| {
        if output.stdout.iter().all(u8::is_ascii_whitespace) {
            context.invalid(
                "Biome rdjson",
                format!("nothing on stdout ({})", output.tail()),
            )
        } else {
            context.invalid("Biome rdjson", error)
        }
    })?;
    let index = context.index;
    let span = |range: Range| {
        let start = index.offset(range.start.line, range.start.column, ColumnUnit::Characters);
        start
            ..index
                .offset(range.end.line, range.end.column, ColumnUnit::Characters)
                .max(start)
    };
    Ok(report
        .diagnostics
        .into_iter()
        .map(|diagnostic| {
            let code = diagnostic
                .code
                .map_or_else(|| "unknown".to_owned(), |code| code.value);
            let rule = code.strip_prefix("lint/").unwrap_or(&code).to_owned();
            let severity = severity_of_level(diagnostic.severity.as_deref().unwrap_or("warning"));
            let range = diagnostic
                .location
                .and_then(|location| location.range)
                .map_or(0..0, span);
            let edits: Vec<Edit> = diagnostic
                .suggestions
                .into_iter()
                .map(|suggestion| {
                    let replaced = span(suggestion.range);
                    Edit {
                        start: replaced.start,
                        end: replaced.end,
                        replacement: suggestion.text,
                    }
                })
                .collect();
            Draft {
                category: if rule.starts_with("security/") {
                    "security"
                } else {
                    category_of(severity)
                },
                rule_id: format!("biome/{rule}"),
                severity,
                message: context.clean_message(&diagnostic.message),
                range,
                fix: (!edits.is_empty()).then(|| Fix {
                    description: format!("apply Biome's suggested change for `{rule}`"),
                    // The rdjson report does not say whether Biome considers the change safe.
                    applicability: Applicability::Unsafe,
                    edits,
                }),
            }
        })
        .collect())
}

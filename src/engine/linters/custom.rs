//! Custom linters from `[linters.custom.NAME]`: a program and its arguments (`{file}` replaced by the temporary
//! copy's path, appended when absent; never a shell), and output read as SARIF 2.1.0 or as a JSON array whose
//! fields are located by JSON pointers. Rule ids are `NAME/RULE`.

use std::ffi::OsString;

use serde_json::Value;

use super::config::{CustomFormat, CustomLinterConfig, JsonShape};
use super::positions::{ColumnUnit, SourceIndex};
use super::run::{Draft, LintError, RunContext, category_of, severity_of_level};
use crate::protocol::{Applicability, Edit, Fix, Severity};

pub(crate) fn lint(context: &RunContext<'_>) -> Result<Vec<Draft>, LintError> {
    let Some(config) = context.linter.custom.as_ref() else {
        return Err(LintError::Unavailable(format!(
            "`{}` has no command",
            context.linter.name
        )));
    };
    let file = context.file.display().to_string();
    let mut args: Vec<OsString> = config
        .command
        .iter()
        .skip(1)
        .map(|arg| OsString::from(arg.replace("{file}", &file)))
        .collect();
    if !config.command.iter().any(|arg| arg.contains("{file}")) {
        args.push(context.file.as_os_str().to_owned());
    }
    let output = context.execute(args, Vec::new(), None, None)?;
    let mut accepted = vec![0];
    accepted.extend(config.finding_exit_codes.clone().unwrap_or_else(|| vec![1]));
    context.expect_exit(&output, &accepted)?;
    let document: Value = serde_json::from_slice(&output.stdout).map_err(|error| {
        let expected = match config.format {
            CustomFormat::Sarif => "SARIF",
            CustomFormat::Json => "JSON",
        };
        context.invalid(expected, error)
    })?;
    let drafts = match config.format {
        CustomFormat::Sarif => sarif(context, config, &document),
        CustomFormat::Json => json(context, config, &document),
    }
    .map_err(|reason| context.invalid("SARIF or JSON of the configured shape", reason))?;
    Ok(drafts)
}

/// Where a custom linter's document departs from the shape its configuration describes.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ShapeError(String);

impl From<&str> for ShapeError {
    fn from(message: &str) -> ShapeError {
        ShapeError(message.to_owned())
    }
}

impl From<String> for ShapeError {
    fn from(message: String) -> ShapeError {
        ShapeError(message)
    }
}

fn default_severity(config: &CustomLinterConfig) -> Severity {
    config.default_severity.unwrap_or(Severity::Minor)
}

fn sarif(
    context: &RunContext<'_>,
    config: &CustomLinterConfig,
    document: &Value,
) -> Result<Vec<Draft>, ShapeError> {
    let runs = document
        .get("runs")
        .and_then(Value::as_array)
        .ok_or("no `runs` array")?;
    let mut drafts = Vec::new();
    for run in runs {
        let unit = match run.get("columnKind").and_then(Value::as_str) {
            Some("unicodeCodePoints") => ColumnUnit::Characters,
            _ => ColumnUnit::Utf16,
        };
        for result in run
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let rule = result
                .get("ruleId")
                .or_else(|| result.pointer("/rule/id"))
                .and_then(Value::as_str)
                .unwrap_or("finding");
            let message = result
                .pointer("/message/text")
                .and_then(Value::as_str)
                .unwrap_or(rule);
            let severity = match result.get("level").and_then(Value::as_str) {
                Some("error") => Severity::Major,
                Some("warning") => Severity::Minor,
                Some("note" | "none") => Severity::Info,
                _ => default_severity(config),
            };
            let range = result
                .pointer("/locations/0/physicalLocation/region")
                .map_or(0..0, |region| region_range(context.index, region, unit));
            let edits: Vec<Edit> = result
                .pointer("/fixes/0/artifactChanges")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|change| {
                    change
                        .get("replacements")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .filter_map(|replacement| {
                    let deleted =
                        region_range(context.index, replacement.get("deletedRegion")?, unit);
                    Some(Edit {
                        start: deleted.start,
                        end: deleted.end,
                        replacement: replacement
                            .pointer("/insertedContent/text")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    })
                })
                .collect();
            drafts.push(Draft {
                rule_id: format!("{}/{rule}", context.linter.name),
                severity,
                category: category_of(severity),
                message: context.clean_message(message),
                range,
                fix: (!edits.is_empty()).then(|| Fix {
                    description: result
                        .pointer("/fixes/0/description/text")
                        .and_then(Value::as_str)
                        .unwrap_or("apply the linter's suggested change")
                        .to_owned(),
                    applicability: Applicability::Suggestion,
                    edits,
                }),
            });
        }
    }
    Ok(drafts)
}

/// A SARIF region as a byte range: byte offsets when given, else lines and columns (an absent end column
/// reaches the end of the end line).
fn region_range(
    index: &SourceIndex<'_>,
    region: &Value,
    unit: ColumnUnit,
) -> std::ops::Range<usize> {
    let number = |key: &str| {
        region
            .get(key)
            .and_then(Value::as_u64)
            .and_then(|value| u32::try_from(value).ok())
    };
    if let (Some(offset), Some(length)) = (
        region.get("byteOffset").and_then(Value::as_u64),
        region.get("byteLength").and_then(Value::as_u64),
    ) {
        let content = index.content();
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(content.len());
        let end = start
            .saturating_add(usize::try_from(length).unwrap_or(0))
            .min(content.len());
        return start..end;
    }
    let line = number("startLine").unwrap_or(1);
    let start = index.offset(line, number("startColumn").unwrap_or(1), unit);
    let end_line = number("endLine").unwrap_or(line);
    let end = match number("endColumn") {
        Some(column) => index.offset(end_line, column, unit),
        None => index.line_range(end_line).end,
    };
    start..end.max(start)
}

fn json(
    context: &RunContext<'_>,
    config: &CustomLinterConfig,
    document: &Value,
) -> Result<Vec<Draft>, ShapeError> {
    let shape: &JsonShape = &config.json;
    let results = if shape.results.is_empty() {
        Some(document)
    } else {
        document.pointer(&shape.results)
    }
    .and_then(Value::as_array)
    .ok_or_else(|| {
        format!(
            "no array at `{}`",
            if shape.results.is_empty() {
                "/"
            } else {
                &shape.results
            }
        )
    })?;
    let index = context.index;
    let mut drafts = Vec::new();
    for item in results {
        let text = |pointer: &str| {
            item.pointer(pointer).and_then(|value| match value {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                _ => None,
            })
        };
        let number = |pointer: &str| {
            item.pointer(pointer)
                .and_then(|value| value.as_u64().or_else(|| value.as_str()?.parse().ok()))
                .and_then(|value| u32::try_from(value).ok())
        };
        let line = number(&shape.line)
            .ok_or_else(|| format!("a result has no line at `{}`", shape.line))?;
        let start = index.offset(
            line,
            number(&shape.column).unwrap_or(1),
            ColumnUnit::Characters,
        );
        let end = match (number(&shape.end_line), number(&shape.end_column)) {
            (end_line, Some(end_column)) => {
                index.offset(end_line.unwrap_or(line), end_column, ColumnUnit::Characters)
            }
            _ => start,
        }
        .max(start);
        let rule = text(&shape.rule).unwrap_or_else(|| "finding".to_owned());
        let severity = text(&shape.severity).map_or_else(
            || default_severity(config),
            |level| severity_of_level(&level),
        );
        drafts.push(Draft {
            rule_id: format!("{}/{rule}", context.linter.name),
            severity,
            category: category_of(severity),
            message: context.clean_message(&text(&shape.message).unwrap_or_else(|| rule.clone())),
            range: start..end,
            fix: None,
        });
    }
    Ok(drafts)
}

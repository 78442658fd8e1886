//! Turning a model's answer into findings, trusting nothing: the answer must be the JSON object of the schema,
//! every line must lie inside the window that was sent, the severity must be on our scale, text fields must be
//! present and bounded, and a replacement must apply to the file and leave it parsing. What fails is reported per
//! finding, so the reviewer can ask once more and then drop what stays invalid with a count.

use std::ops::RangeInclusive;

use serde::Deserialize;

use super::redact::REDACTION_MARK;
use crate::engine::{self, Language, apply_fixes, mask_secrets, parses_cleanly};
use crate::protocol::{Applicability, Edit, Finding, Fix, Severity};

const MAX_TITLE_CHARS: usize = 100;
const MAX_EXPLANATION_CHARS: usize = 400;
const CATEGORIES: [&str; 5] = [
    "security",
    "correctness",
    "performance",
    "maintainability",
    "style",
];

/// One finding as the model wrote it; every field optional so that a missing one is reported, not a parse error.
#[derive(Debug, Clone, Deserialize)]
struct RawFinding {
    line_start: Option<serde_json::Value>,
    line_end: Option<serde_json::Value>,
    severity: Option<String>,
    category: Option<String>,
    title: Option<String>,
    explanation: Option<String>,
    replacement: Option<String>,
}

/// The file the answer is about.
pub(crate) struct AnswerContext<'a> {
    pub(crate) path: &'a str,
    /// The original, unredacted content: fixes are edits against it.
    pub(crate) content: &'a str,
    pub(crate) language: Option<Language>,
    /// The lines that were sent.
    pub(crate) window: RangeInclusive<u32>,
    pub(crate) model: &'a str,
}

/// The valid findings of one answer and what was wrong with the rest.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    pub(crate) findings: Vec<Finding>,
    pub(crate) problems: Vec<AnswerProblem>,
}

/// Extracts the JSON object from an answer's text (a bare object, or one inside a fenced block or prose).
fn json_object(text: &str) -> Option<serde_json::Value> {
    let trimmed = text.trim();
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) {
        return Some(value);
    }
    let start = trimmed.find('{')?;
    let end = trimmed.rfind('}')?;
    (start < end)
        .then(|| serde_json::from_str(&trimmed[start..=end]).ok())
        .flatten()
}

/// What makes an answer, or one finding of it, unusable: told back to the model when it is asked again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct AnswerProblem(pub(crate) String);

/// Parses and validates an answer. `Err` means the answer as a whole is unusable.
pub(crate) fn check(text: &str, context: &AnswerContext<'_>) -> Result<Checked, AnswerProblem> {
    let Some(value) = json_object(text) else {
        return Err(AnswerProblem(format!(
            "the answer is not a JSON object (it began `{}`)",
            text.chars().take(80).collect::<String>()
        )));
    };
    let Some(items) = value.get("findings").and_then(serde_json::Value::as_array) else {
        return Err(AnswerProblem("the answer has no `findings` array".into()));
    };
    let lines: Vec<&str> = context.content.split('\n').collect();
    let line_count = context.content.lines().count();
    let mut checked = Checked::default();
    for (index, item) in items.iter().enumerate() {
        let number = index + 1;
        let raw: RawFinding = match serde_json::from_value(item.clone()) {
            Ok(raw) => raw,
            Err(error) => {
                checked.problems.push(AnswerProblem(format!(
                    "finding {number}: not an object of the schema: {error}"
                )));
                continue;
            }
        };
        match finding(&raw, context, &lines, line_count) {
            Ok(finding) => checked.findings.push(finding),
            Err(problem) => checked
                .problems
                .push(AnswerProblem(format!("finding {number}: {problem}"))),
        }
    }
    Ok(checked)
}

fn line_number(value: Option<&serde_json::Value>, name: &str) -> Result<u32, AnswerProblem> {
    let value = value.ok_or_else(|| AnswerProblem(format!("`{name}` is missing")))?;
    value
        .as_u64()
        .and_then(|number| u32::try_from(number).ok())
        .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
        .ok_or_else(|| AnswerProblem(format!("`{name}` is `{value}`, not a line number")))
}

fn finding(
    raw: &RawFinding,
    context: &AnswerContext<'_>,
    lines: &[&str],
    line_count: usize,
) -> Result<Finding, AnswerProblem> {
    let start = line_number(raw.line_start.as_ref(), "line_start")?;
    let end = line_number(raw.line_end.as_ref(), "line_end")?;
    let last_line = u32::try_from(line_count.max(1)).unwrap_or(u32::MAX);
    if start == 0 || end < start {
        return Err(AnswerProblem(format!(
            "lines {start}-{end} are not a range of 1-based lines"
        )));
    }
    if end > last_line {
        return Err(AnswerProblem(format!(
            "line_end {end} is past the end of the file ({line_count} lines)"
        )));
    }
    if !context.window.contains(&start) || !context.window.contains(&end) {
        return Err(AnswerProblem(format!(
            "lines {start}-{end} lie outside the lines sent ({}-{})",
            context.window.start(),
            context.window.end()
        )));
    }
    let severity: Severity = raw
        .severity
        .as_deref()
        .ok_or(AnswerProblem("`severity` is missing".into()))?
        .parse()
        .map_err(AnswerProblem)?;
    let category = raw
        .category
        .as_deref()
        .map(str::to_ascii_lowercase)
        .filter(|category| CATEGORIES.contains(&category.as_str()))
        .unwrap_or_else(|| "correctness".to_owned());
    let title = clean(raw.title.as_deref().unwrap_or_default());
    if title.is_empty() {
        return Err(AnswerProblem("`title` is empty".into()));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(AnswerProblem(format!(
            "`title` is longer than {MAX_TITLE_CHARS} characters"
        )));
    }
    let explanation = clean(raw.explanation.as_deref().unwrap_or_default());
    if explanation.chars().count() > MAX_EXPLANATION_CHARS {
        return Err(AnswerProblem(format!(
            "`explanation` is longer than {MAX_EXPLANATION_CHARS} characters"
        )));
    }
    // Byte range of whole lines start..=end, without the last line's newline.
    let offset = |line: u32| -> usize {
        lines
            .iter()
            .take(line as usize - 1)
            .map(|text| text.len() + 1)
            .sum()
    };
    let range_start = offset(start);
    let range_end = offset(end) + lines.get(end as usize - 1).map_or(0, |text| text.len());
    let range_end = range_end.min(context.content.len());
    let original = &context.content[range_start..range_end];
    let fix = match raw.replacement.as_deref() {
        None => None,
        Some(replacement) => replacement_fix(
            replacement,
            original,
            range_start..range_end,
            &title,
            context,
        )?,
    };
    let end_text = lines.get(end as usize - 1).copied().unwrap_or_default();
    let message = if explanation.is_empty() {
        title.clone()
    } else {
        format!("{}: {explanation}", title.trim_end_matches('.'))
    };
    Ok(Finding {
        rule_id: format!("ai/{}", slug(&title)),
        source: context.model.to_owned(),
        severity,
        category,
        message,
        path: context.path.to_owned(),
        line: start,
        column: 1,
        end_line: end,
        end_column: u32::try_from(end_text.trim_end_matches('\r').chars().count() + 1)
            .unwrap_or(u32::MAX),
        snippet: clip_snippet(original),
        fingerprint: String::new(),
        fix,
        flow: Vec::new(),
    })
}

/// A replacement becomes a suggested fix only if it changes something, carries no redaction placeholder, applies
/// to the file, and leaves a file that parsed still parsing.
fn replacement_fix(
    replacement: &str,
    original: &str,
    range: std::ops::Range<usize>,
    title: &str,
    context: &AnswerContext<'_>,
) -> Result<Option<Fix>, AnswerProblem> {
    let replacement = replacement.trim_end_matches('\n');
    if replacement == original || replacement.trim().is_empty() && original.trim().is_empty() {
        return Ok(None);
    }
    if replacement.contains(REDACTION_MARK) {
        return Err(AnswerProblem(
            "the replacement contains a redaction placeholder".into(),
        ));
    }
    let fix = Fix {
        description: format!("AI suggestion: {}", title.trim_end_matches('.')),
        applicability: Applicability::Suggestion,
        edits: vec![Edit {
            start: range.start,
            end: range.end,
            replacement: replacement.to_owned(),
        }],
    };
    let applied = apply_fixes(context.content, &[&fix])
        .map_err(|error| AnswerProblem(format!("the replacement does not apply: {error}")))?;
    let Some(language) = context.language else {
        // Without a grammar the result cannot be checked, so it is not offered as a fix.
        return Ok(None);
    };
    if parses_cleanly(language, context.content) && !parses_cleanly(language, &applied.output) {
        return Err(AnswerProblem(format!(
            "the replacement leaves the file with {} syntax errors",
            language.name()
        )));
    }
    Ok(Some(fix))
}

/// Trims, removes control characters, and masks secrets the model may have echoed.
fn clean(text: &str) -> String {
    let text: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    mask_secrets(&text).into_owned()
}

/// `ai/<slug>`: lowercase words of the title, at most 48 characters.
fn slug(title: &str) -> String {
    let mut slug = String::new();
    for word in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
    {
        if slug.len() + word.len() + 1 > 48 {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word.to_ascii_lowercase());
    }
    if slug.is_empty() {
        "finding".to_owned()
    } else {
        slug
    }
}

fn clip_snippet(text: &str) -> String {
    mask_secrets(&engine::clip_snippet(text)).into_owned()
}

/// Drops repeats (overlapping windows report the same problem twice), sorts by position and sets fingerprints the
/// way the engine does: rule + path + normalised snippet + occurrence.
pub(crate) fn finalize(findings: &mut Vec<Finding>) {
    findings
        .sort_by(|a, b| (a.line, a.end_line, &a.rule_id).cmp(&(b.line, b.end_line, &b.rule_id)));
    findings.dedup_by(|later, earlier| {
        later.line == earlier.line
            && later.end_line == earlier.end_line
            && later.rule_id == earlier.rule_id
    });
    engine::assign_fingerprints(findings);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str =
        "def total(items):\n    return sum(item.price for item in items) / len(items)\n";

    fn context() -> AnswerContext<'static> {
        AnswerContext {
            path: "shop.py",
            content: SOURCE,
            language: Some(Language::Python),
            window: 1..=2,
            model: "test-model",
        }
    }

    #[test]
    fn a_valid_finding_with_a_replacement_becomes_a_suggested_fix() {
        let answer = r#"{"findings":[{"line_start":2,"line_end":2,"severity":"major","category":"correctness",
            "title":"Division by zero on an empty list","explanation":"len(items) is 0 for an empty list.",
            "replacement":"    return sum(item.price for item in items) / len(items) if items else 0"}]}"#;
        let checked = check(answer, &context()).unwrap();
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
        let finding = &checked.findings[0];
        assert_eq!(finding.rule_id, "ai/division-by-zero-on-an-empty-list");
        assert_eq!(finding.source, "test-model");
        assert_eq!(finding.severity, Severity::Major);
        let fix = finding.fix.as_ref().unwrap();
        assert_eq!(fix.applicability, Applicability::Suggestion);
        let applied = apply_fixes(SOURCE, &[fix]).unwrap().output;
        assert!(applied.contains("if items else 0\n"));
    }

    #[test]
    fn invalid_fields_are_reported_per_finding() {
        let answer = r#"Here you go: {"findings":[
            {"line_start":7,"line_end":9,"severity":"major","category":"style","title":"x","explanation":"","replacement":null},
            {"line_start":1,"line_end":1,"severity":"blocker","category":"style","title":"x","explanation":"","replacement":null},
            {"line_start":2,"line_end":2,"severity":"minor","category":"style","title":"broken","explanation":"","replacement":"    return (("},
            {"line_start":1,"line_end":1,"severity":"info","category":"style","title":"ok","explanation":"","replacement":null}]}"#;
        let checked = check(answer, &context()).unwrap();
        assert_eq!(checked.findings.len(), 1);
        assert_eq!(checked.problems.len(), 3, "{:?}", checked.problems);
        assert!(checked.problems[0].0.contains("past the end"));
        assert!(checked.problems[1].0.contains("unknown severity"));
        assert!(checked.problems[2].0.contains("syntax errors"));
        assert!(check("no json here", &context()).is_err());
    }

    #[test]
    fn placeholders_never_become_code() {
        let answer = r#"{"findings":[{"line_start":1,"line_end":1,"severity":"minor","category":"style","title":"t","explanation":"e","replacement":"key = '[REDACTED:secrets/aws-access-key]'"}]}"#;
        let checked = check(answer, &context()).unwrap();
        assert!(checked.problems[0].0.contains("redaction placeholder"));
    }
}

//! What the model is asked: a system prompt, and per window of the file a user message with the path, the
//! language, the findings rules and linters already reported (so the model adds rather than repeats), for debug
//! jobs the error log and the failing lines, and the code verbatim (secrets redacted) with line numbers. Files
//! larger than one prompt's budget are cut into overlapping windows of whole lines; a file needing too many
//! windows is not sent at all.

use std::fmt::Write as _;
use std::ops::RangeInclusive;

use crate::protocol::Finding;

/// Part of every AI cache key: a change to the prompts or the answer's schema must not serve old reviews.
pub const PROMPT_VERSION: &str = "ai-review-2";

/// Conservative characters per token for code (real tokenisers give 3-4); budgets use it so prompts fit.
const CHARS_PER_TOKEN: usize = 3;
/// Tokens reserved for chat-template wrapping and the message frame.
const FRAME_TOKENS: usize = 64;
/// Most existing findings listed in one prompt.
const MAX_LISTED_FINDINGS: usize = 40;
/// Most error-log characters sent with a debug job.
const MAX_ERROR_LOG_CHARS: usize = 6000;

pub(crate) const SYSTEM_PROMPT: &str = "\
You are a precise code reviewer. You receive one source file (or a part of it) with line numbers, and the \
findings that automated rules already reported. Report only real problems that those findings do not already \
cover: bugs, security issues, crashes, resource leaks, wrong error handling. Do not report style preferences.

Answer with a JSON object {\"findings\": [...]} and nothing else. Each finding has:
- line_start, line_end: the first and last line of the problem, inclusive, as numbered in the file.
- severity: critical (exploitable or breaks production), major (causes bugs), minor (code quality), or info.
- category: security, correctness, performance, maintainability or style.
- title: one short sentence naming the problem.
- explanation: why it is a problem and how to fix it, in at most three sentences.
- replacement: the corrected code for lines line_start to line_end (whole lines, without line numbers), or null \
when the fix is not a local edit.
If the code has no such problems, answer {\"findings\": []}.";

/// Tokens `text` is budgeted as.
pub(crate) fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(CHARS_PER_TOKEN)
}

/// The JSON schema every answer must satisfy (strict: every property required, nothing else allowed). The
/// length limits bound the answer; validation enforces them again.
pub(crate) fn answer_schema(max_findings: u32, max_replacement_chars: u32) -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "findings": {
                "type": "array",
                "maxItems": max_findings,
                "items": {
                    "type": "object",
                    "properties": {
                        "line_start": {"type": "integer"},
                        "line_end": {"type": "integer"},
                        "severity": {"type": "string", "enum": ["critical", "major", "minor", "info"]},
                        "category": {"type": "string", "enum": ["security", "correctness", "performance", "maintainability", "style"]},
                        "title": {"type": "string", "minLength": 1, "maxLength": 100},
                        "explanation": {"type": "string", "maxLength": 400},
                        "replacement": {"type": ["string", "null"], "maxLength": max_replacement_chars}
                    },
                    "required": ["line_start", "line_end", "severity", "category", "title", "explanation", "replacement"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["findings"],
        "additionalProperties": false
    })
}

/// The context of a debug job: its error log and the lines of this file the stack trace names.
#[derive(Debug, Clone, Default)]
pub(crate) struct DebugContext<'a> {
    pub(crate) error_log: &'a str,
    pub(crate) failing_lines: Vec<u32>,
}

/// What one prompt covers.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    /// 1-based, inclusive.
    pub(crate) lines: RangeInclusive<u32>,
    pub(crate) user_message: String,
}

/// Why a file was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooLarge {
    pub(crate) estimated_tokens: usize,
    pub(crate) windows: usize,
    pub(crate) max_windows: usize,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "too large for the AI review: about {} tokens would need {} windows (the limit is {}); raise `max_windows` or `context_tokens`",
            self.estimated_tokens, self.windows, self.max_windows
        )
    }
}

pub(crate) struct PromptInput<'a> {
    pub(crate) path: &'a str,
    pub(crate) language: &'a str,
    /// The redacted content.
    pub(crate) content: &'a str,
    pub(crate) existing: &'a [Finding],
    pub(crate) debug: Option<&'a DebugContext<'a>>,
    pub(crate) context_tokens: usize,
    pub(crate) max_output_tokens: usize,
    pub(crate) overlap_lines: usize,
    pub(crate) max_windows: usize,
}

/// Cuts the file into windows that each fit the budget, and writes their messages.
pub(crate) fn build_windows(input: &PromptInput<'_>) -> Result<Vec<Window>, TooLarge> {
    let numbered: Vec<String> = input
        .content
        .lines()
        .enumerate()
        .map(|(index, line)| format!("{}\t{line}\n", index + 1))
        .collect();
    let total_lines = numbered.len().max(1);
    let fixed = estimate_tokens(SYSTEM_PROMPT)
        + FRAME_TOKENS
        + estimate_tokens(&header(input, 1..=u32::MAX, total_lines))
        + input.debug.map_or(0, |debug| {
            estimate_tokens(&debug_section(debug, 1..=u32::MAX))
        });
    let code_budget = input
        .context_tokens
        .saturating_sub(input.max_output_tokens)
        .saturating_sub(fixed);
    let code_tokens: usize = numbered.iter().map(|line| estimate_tokens(line)).sum();
    let too_large = |windows| TooLarge {
        estimated_tokens: code_tokens + fixed,
        windows,
        max_windows: input.max_windows,
    };
    // A window needs room for a useful amount of code: 20 lines' worth at least.
    if code_budget < 200 {
        return Err(too_large(usize::MAX));
    }
    let mut ranges: Vec<RangeInclusive<usize>> = Vec::new();
    let mut start = 0;
    while start < numbered.len() || ranges.is_empty() {
        let mut end = start;
        let mut used = 0;
        while end < numbered.len() && used + estimate_tokens(&numbered[end]) <= code_budget {
            used += estimate_tokens(&numbered[end]);
            end += 1;
        }
        if end == start && start < numbered.len() {
            // One line longer than the whole budget: it cannot be sent whole.
            return Err(too_large(usize::MAX));
        }
        ranges.push(start..=end.saturating_sub(1).max(start));
        if end >= numbered.len() {
            break;
        }
        let window_len = end - start;
        let overlap = input.overlap_lines.min(window_len / 2);
        start = end - overlap;
        if ranges.len() > input.max_windows {
            break;
        }
    }
    if ranges.len() > input.max_windows {
        // Estimate how many windows the whole file would take for the message.
        let per_window = ranges
            .first()
            .map_or(1, |range| range.clone().count())
            .max(1);
        let step = per_window
            .saturating_sub(input.overlap_lines.min(per_window / 2))
            .max(1);
        return Err(too_large(numbered.len().div_ceil(step)));
    }
    Ok(ranges
        .into_iter()
        .map(|range| {
            let first = u32::try_from(*range.start() + 1).unwrap_or(u32::MAX);
            let last = u32::try_from(*range.end() + 1).unwrap_or(u32::MAX);
            let lines = first..=last;
            let mut message = header(input, lines.clone(), total_lines);
            if let Some(debug) = input.debug {
                message.push_str(&debug_section(debug, lines.clone()));
            }
            let fence = if input.content.contains("```") {
                "~~~~"
            } else {
                "```"
            };
            let _ = writeln!(message, "Code:\n{fence}{}", input.language);
            for line in numbered.get(range).unwrap_or_default() {
                message.push_str(line);
            }
            let _ = writeln!(message, "{fence}");
            Window {
                lines,
                user_message: message,
            }
        })
        .collect())
}

fn header(input: &PromptInput<'_>, lines: RangeInclusive<u32>, total_lines: usize) -> String {
    let mut text = format!("Path: {}\nLanguage: {}\n", input.path, input.language);
    let last = (*lines.end()).min(u32::try_from(total_lines).unwrap_or(u32::MAX));
    if *lines.start() == 1 && last as usize >= total_lines {
        let _ = writeln!(
            text,
            "The whole file follows ({total_lines} lines). Each line starts with its number and a tab; the numbers are not part of the code."
        );
    } else {
        let _ = writeln!(
            text,
            "Lines {} to {last} of {total_lines} follow (one window of a larger file; report only problems inside these lines). Each line starts with its number and a tab; the numbers are not part of the code.",
            lines.start()
        );
    }
    let listed: Vec<&Finding> = input
        .existing
        .iter()
        .filter(|finding| lines.contains(&finding.line) || lines.contains(&finding.end_line))
        .collect();
    if listed.is_empty() {
        text.push_str("\nAlready reported by rules and linters: nothing.\n\n");
    } else {
        text.push_str("\nAlready reported by rules and linters (do not repeat these):\n");
        for finding in listed.iter().take(MAX_LISTED_FINDINGS) {
            let _ = writeln!(
                text,
                "- line {}: {} ({}) {}",
                finding.line,
                finding.rule_id,
                finding.severity,
                crate::engine::mask_secrets(&finding.message)
            );
        }
        if listed.len() > MAX_LISTED_FINDINGS {
            let _ = writeln!(text, "- and {} more", listed.len() - MAX_LISTED_FINDINGS);
        }
        text.push('\n');
    }
    text
}

fn debug_section(debug: &DebugContext<'_>, lines: RangeInclusive<u32>) -> String {
    let mut log = debug.error_log.trim();
    if log.len() > MAX_ERROR_LOG_CHARS {
        let mut start = log.len() - MAX_ERROR_LOG_CHARS;
        while !log.is_char_boundary(start) {
            start += 1;
        }
        // The end of a log holds the error and the innermost frames.
        log = &log[start..];
    }
    let mut text =
        format!("This code failed. The error log (secrets redacted):\n~~~~\n{log}\n~~~~\n");
    let here: Vec<String> = debug
        .failing_lines
        .iter()
        .filter(|line| lines.contains(line))
        .map(ToString::to_string)
        .collect();
    if here.is_empty() {
        text.push_str(
            "The stack trace names no line of this part of the file; find the cause of the error in it.\n\n",
        );
    } else {
        let _ = writeln!(
            text,
            "The stack trace points at line(s) {} of this file. Explain why the error happens there and report it as a finding with a replacement that fixes it.\n",
            here.join(", ")
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(content: &str, context_tokens: usize) -> PromptInput<'_> {
        PromptInput {
            path: "src/app.py",
            language: "python",
            content,
            existing: &[],
            debug: None,
            context_tokens,
            max_output_tokens: 256,
            overlap_lines: 5,
            max_windows: 8,
        }
    }

    #[test]
    fn small_files_are_one_numbered_window() {
        let windows = build_windows(&input("import os\nprint(1)\n", 4096)).unwrap();
        assert_eq!(windows.len(), 1);
        assert_eq!(windows[0].lines, 1..=2);
        assert!(
            windows[0]
                .user_message
                .contains("1\timport os\n2\tprint(1)\n")
        );
        assert!(windows[0].user_message.contains("The whole file"));
    }

    #[test]
    fn large_files_get_overlapping_windows_or_are_refused() {
        let mut content = String::new();
        for index in 0..400 {
            let _ = writeln!(content, "value_{index} = compute({index}) + other_{index}");
        }
        let windows = build_windows(&input(&content, 2048)).unwrap();
        assert!(windows.len() > 1);
        for pair in windows.windows(2) {
            assert!(
                pair[1].lines.start() <= pair[0].lines.end(),
                "windows overlap"
            );
            assert!(pair[1].lines.start() > pair[0].lines.start());
        }
        assert_eq!(*windows.last().unwrap().lines.end(), 400);
        let mut strict = input(&content, 2048);
        strict.max_windows = 2;
        let refused = build_windows(&strict).unwrap_err();
        assert!(refused.windows > 2);
        assert!(refused.to_string().contains("too large"));
    }
}

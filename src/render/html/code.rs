//! Code for the web view: a file's lines highlighted on the server (the engine's tree-sitter grammars), code
//! frames cut from them, and fixes as unified diffs. Every byte of source goes through [`escape`]; the only markup
//! added is `<span class>` around tokens, so a file full of `<script>` stays text.

use std::fmt::Write as _;
use std::ops::Range;

use maud::{Markup, PreEscaped, html};
use similar::{ChangeTag, TextDiff};

use crate::engine::highlight::{Token, highlight};
use crate::engine::{Language, apply_fixes, mask_secrets_in_place};
use crate::protocol::{Finding, Fix};

/// Lines of context around a finding in a code frame.
const CONTEXT_LINES: usize = 2;
/// Longest line drawn; the rest is cut with `…` (a minified line must not weigh the page down).
const MAX_LINE_CHARS: usize = 400;

/// HTML-escapes `text` into `out`, with control characters (except tabs) made visible.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' => out.push('\t'),
            other => out.push(crate::render::text::visible(other)),
        }
    }
}

/// A file's lines as highlighted HTML, one string per line (without its newline).
pub struct HighlightedFile {
    lines: Vec<String>,
}

impl HighlightedFile {
    /// `source` in `language` (`None`: plain text), with its secrets masked byte for byte (a file still in
    /// review is stored as it was sent; a reviewed one is masked already).
    pub fn new(language: Option<Language>, source: &str) -> HighlightedFile {
        let masked = mask_secrets_in_place(source);
        let source = masked.as_ref();
        let spans = highlight(language, source);
        let mut lines = Vec::new();
        let mut spans = spans.into_iter().peekable();
        let mut current: Option<(Range<usize>, Token)> = None;
        let mut start = 0;
        for line in source.split_inclusive('\n') {
            let end = start + line.len();
            let text_end = start + line.trim_end_matches(['\n', '\r']).len();
            let mut html = String::new();
            let mut position = start;
            let mut chars_left = MAX_LINE_CHARS;
            while position < text_end && chars_left > 0 {
                // The span covering `position`, or the next one on this line.
                if current
                    .as_ref()
                    .is_none_or(|(range, _)| range.end <= position)
                {
                    current = None;
                    while let Some((range, _)) = spans.peek() {
                        if range.end <= position {
                            spans.next();
                        } else {
                            break;
                        }
                    }
                    if let Some((range, _)) = spans.peek()
                        && range.start < text_end
                    {
                        current = spans.next();
                    }
                }
                let (segment_end, class) = match &current {
                    Some((range, token)) if range.start <= position => {
                        (range.end.min(text_end), Some(token.class()))
                    }
                    Some((range, _)) => (range.start.min(text_end), None),
                    None => (text_end, None),
                };
                let segment = clip_chars(&source[position..segment_end], &mut chars_left);
                match class {
                    Some(class) => {
                        let _ = write!(html, "<span class=\"{class}\">");
                        escape_into(&mut html, segment);
                        html.push_str("</span>");
                    }
                    None => escape_into(&mut html, segment),
                }
                position += segment.len();
            }
            if position < text_end {
                html.push('…');
            }
            lines.push(html);
            start = end;
        }
        HighlightedFile { lines }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Line `number` (1-based) as HTML; empty past the end.
    pub fn line(&self, number: usize) -> &str {
        number
            .checked_sub(1)
            .and_then(|index| self.lines.get(index))
            .map_or("", String::as_str)
    }
}

/// The front of `text` up to `left` characters, counting them off.
fn clip_chars<'a>(text: &'a str, left: &mut usize) -> &'a str {
    if let Some((index, _)) = text.char_indices().nth(*left) {
        *left = 0;
        &text[..index]
    } else {
        *left -= text.chars().count();
        text
    }
}

/// The lines a finding spans, with [`CONTEXT_LINES`] around them, the finding's own lines marked.
pub fn code_frame(file: &HighlightedFile, finding: &Finding) -> Markup {
    let first = (finding.line as usize).max(1);
    let mut last = (finding.end_line as usize).clamp(first, file.len().max(first));
    if last > first && finding.end_column <= 1 {
        last -= 1;
    }
    let start = first.saturating_sub(CONTEXT_LINES).max(1);
    let end = (last + CONTEXT_LINES).min(file.len());
    html! {
        table.code {
            @for number in start..=end {
                tr class=[(number >= first && number <= last).then_some("hit")] {
                    td.ln { (number) }
                    td.src { code { (PreEscaped(file.line(number))) } }
                }
            }
        }
    }
}

/// A fix as a unified diff of the file (one line of context), both sides masked; `None` when it does not apply
/// to the stored text.
pub fn fix_diff(source: &str, fix: &Fix) -> Option<Markup> {
    let outcome = apply_fixes(source, &[fix]).ok()?;
    let old = mask_secrets_in_place(source);
    let new = mask_secrets_in_place(&outcome.output);
    let diff = TextDiff::from_lines(old.as_ref(), new.as_ref());
    let mut text = String::new();
    let mut body = String::new();
    for group in diff.grouped_ops(1) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let header = format!(
            "@@ -{},{} +{},{} @@",
            old_range.start + 1,
            old_range.len(),
            new_range.start + 1,
            new_range.len()
        );
        let _ = writeln!(text, "{header}");
        let _ = write!(body, "<span class=\"dh\">");
        escape_into(&mut body, &header);
        // Each line is a block of its own: no newline between them, or the copy of the page's text doubles them.
        body.push_str("</span>");
        for op in &group {
            for change in diff.iter_changes(op) {
                let (sign, class) = match change.tag() {
                    ChangeTag::Delete => ('-', "dd"),
                    ChangeTag::Insert => ('+', "da"),
                    ChangeTag::Equal => (' ', "dc"),
                };
                let line = change.value().trim_end_matches(['\n', '\r']);
                let _ = writeln!(text, "{sign}{line}");
                let _ = write!(body, "<span class=\"{class}\">{sign}");
                escape_into(&mut body, line);
                body.push_str("</span>");
            }
        }
    }
    if body.is_empty() {
        return None;
    }
    Some(html! {
        div.fix {
            pre.diff { (PreEscaped(body)) }
            // The patch text for the copy button (the page's script), kept in an attribute, escaped.
            button.copy type="button" data-copy=(text) hidden { "Copy diff" }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_source_is_escaped_and_tokens_are_wrapped() {
        let file = HighlightedFile::new(
            Some(Language::Python),
            "x = \"<script>alert(1)</script>\"  # <b>\nprint(x)\n",
        );
        assert_eq!(file.len(), 2);
        let first = file.line(1);
        assert!(!first.contains("<script>"), "{first}");
        assert!(first.contains("&lt;script&gt;"), "{first}");
        assert!(first.contains("<span class=\"s\">"), "{first}");
        assert!(
            first.contains("<span class=\"c\"># &lt;b&gt;</span>"),
            "{first}"
        );
        assert!(
            file.line(2).contains("<span class=\"f\">print</span>"),
            "{}",
            file.line(2)
        );
    }

    #[test]
    fn secrets_are_masked_in_the_page() {
        let key = "AKIAQ3EGUJ5ZRTY4HX2M";
        let file = HighlightedFile::new(Some(Language::Python), &format!("KEY = \"{key}\"\n"));
        assert!(!file.line(1).contains(key), "{}", file.line(1));
        assert!(file.line(1).contains("AKIA****"), "{}", file.line(1));
    }

    #[test]
    fn a_multiline_string_is_coloured_on_each_of_its_lines() {
        let file = HighlightedFile::new(Some(Language::Python), "s = '''a\nb\nc'''\nn = 1\n");
        assert!(
            file.line(2).starts_with("<span class=\"s\">b"),
            "{}",
            file.line(2)
        );
        assert!(
            file.line(4).contains("<span class=\"n\">1</span>"),
            "{}",
            file.line(4)
        );
    }

    #[test]
    fn long_lines_are_cut() {
        let file = HighlightedFile::new(None, &format!("{}\n", "a".repeat(5000)));
        assert!(file.line(1).len() < MAX_LINE_CHARS + 10);
        assert!(file.line(1).ends_with('…'));
    }
}

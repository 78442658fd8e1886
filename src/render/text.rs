//! Text from reviewed code (messages that quote it, file paths, code frames) made safe to print: control
//! characters become visible symbols, one character each, so that a file cannot move the cursor, retitle the
//! terminal, hide lines with escape sequences, or start a new line of its own in a CI log (where a line such as
//! `::error ...` would be read as a command).

use std::borrow::Cow;

/// What a control character shows as: its Unicode control picture (U+2400 block) for C0 and DEL, a replacement
/// character for C1; every other character as itself.
pub(crate) fn visible(character: char) -> char {
    match character {
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + u32::from(character)).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        '\u{80}'..='\u{9f}' => '\u{fffd}',
        other => other,
    }
}

/// `1 file`, `3 files`.
pub fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// `text` on one line with every control character (newlines included) made visible.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(visible).collect())
}

/// A line of code with its control characters made visible, tabs kept (the caller expands them).
pub(crate) fn code_line(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|character| character.is_control() && character != '\t')
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|character| {
                if character == '\t' {
                    character
                } else {
                    visible(character)
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_newlines_are_shown_not_obeyed() {
        assert_eq!(one_line("plain"), "plain");
        assert_eq!(
            one_line("x\n::error file=a::b\u{1b}[2K"),
            "x\u{240a}::error file=a::b\u{241b}[2K"
        );
        assert_eq!(code_line("\tx = '\u{7}'"), "\tx = '\u{2407}'");
        assert_eq!(one_line("\u{9b}31m").chars().count(), 4);
    }
}

//! Syntax highlighting for the web view with the tree-sitter grammars the rules already parse with: one walk of
//! the file's tree classifies comments, strings, numbers, keywords, literals, types and function names. The
//! result is byte ranges; turning them into markup (and escaping) is the renderer's job.

use std::ops::Range;

use ast_grep_core::tree_sitter::StrDoc;
use ast_grep_language::{LanguageExt as _, SupportLang};

use super::Language;

/// What a span of source is, as far as colouring goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Comment,
    String,
    Number,
    Keyword,
    /// `true`, `None`, `nil`, `self`.
    Constant,
    Type,
    Function,
}

impl Token {
    /// The short class name the page's stylesheet colours.
    pub fn class(self) -> &'static str {
        match self {
            Token::Comment => "c",
            Token::String => "s",
            Token::Number => "n",
            Token::Keyword => "k",
            Token::Constant => "o",
            Token::Type => "t",
            Token::Function => "f",
        }
    }
}

/// Files larger than this are shown without colour: the page must stay quick to render.
const MAX_HIGHLIGHT_BYTES: usize = 512 * 1024;

/// Coloured spans of `source`, in order and not overlapping; text between them is plain. Empty for a language
/// the engine does not parse or a very large file.
pub fn highlight(language: Option<Language>, source: &str) -> Vec<(Range<usize>, Token)> {
    let Some(language) = language else {
        return Vec::new();
    };
    if source.len() > MAX_HIGHLIGHT_BYTES {
        return Vec::new();
    }
    let root = language.grammar().ast_grep(source);
    let mut spans = Vec::new();
    let mut covered_until = 0;
    let top = root.root();
    for node in top.dfs() {
        let range = node.range();
        if range.start < covered_until || range.is_empty() {
            continue;
        }
        let kind = node.kind();
        let token = classify(&node, &kind, language);
        let Some(token) = token else {
            continue;
        };
        // A classified node is coloured whole (a string's escapes and interpolations included), so the walk
        // skips what is inside it.
        covered_until = range.end;
        spans.push((range, token));
    }
    spans
}

type Node<'a> = ast_grep_core::Node<'a, StrDoc<SupportLang>>;

fn classify(node: &Node<'_>, kind: &str, language: Language) -> Option<Token> {
    if kind.contains("comment") {
        return Some(Token::Comment);
    }
    if is_string(kind) {
        return Some(Token::String);
    }
    if is_number(kind) {
        return Some(Token::Number);
    }
    if !node.is_named() {
        // Anonymous nodes are punctuation and keywords: a keyword's kind is the word itself.
        let text = node.text();
        if kind == text
            && text.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
            && text.len() > 1
        {
            return Some(match text.as_ref() {
                "true" | "false" | "True" | "False" | "None" | "null" | "nil" | "undefined" => {
                    Token::Constant
                }
                _ => Token::Keyword,
            });
        }
        return None;
    }
    match kind {
        "true" | "false" | "none" | "null" | "nil" | "undefined" | "self" | "this" | "super"
        | "iota" => Some(Token::Constant),
        "type_identifier" | "primitive_type" | "predefined_type" | "builtin_type" => {
            Some(Token::Type)
        }
        "identifier" | "field_identifier" | "property_identifier" => {
            is_called_or_defined(node, language).then_some(Token::Function)
        }
        _ => None,
    }
}

fn is_string(kind: &str) -> bool {
    matches!(
        kind,
        "string"
            | "string_literal"
            | "raw_string_literal"
            | "char_literal"
            | "character_literal"
            | "interpreted_string_literal"
            | "rune_literal"
            | "template_string"
            | "concatenated_string"
            | "heredoc_body"
            | "raw_string"
            | "regex"
            | "string_content"
            | "text_block"
    )
}

fn is_number(kind: &str) -> bool {
    matches!(
        kind,
        "integer"
            | "float"
            | "number"
            | "integer_literal"
            | "float_literal"
            | "int_literal"
            | "imaginary_literal"
            | "decimal_integer_literal"
            | "hex_integer_literal"
            | "decimal_floating_point_literal"
            | "number_literal"
    )
}

/// Whether an identifier names a function: the callee of a call, or the name of a definition.
fn is_called_or_defined(node: &Node<'_>, language: Language) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    let parent_kind = parent.kind();
    let names_parent = |field: &str| {
        parent
            .field(field)
            .is_some_and(|child| child.range() == node.range())
    };
    match parent_kind.as_ref() {
        "function_definition"
        | "function_declaration"
        | "function_item"
        | "method_declaration"
        | "method_definition"
        | "method"
        | "function_signature_item" => names_parent("name"),
        "call_expression" | "call" | "method_invocation" => {
            names_parent("function") || names_parent("method") || names_parent("name")
        }
        // `a.b(...)`: the property of a member expression that is itself called.
        "member_expression" | "attribute" | "field_expression" | "selector_expression" => {
            let called = parent.parent().is_some_and(|grand| {
                matches!(grand.kind().as_ref(), "call_expression" | "call")
                    && grand
                        .field("function")
                        .is_some_and(|callee| callee.range() == parent.range())
            });
            let last = ["property", "attribute", "field"]
                .iter()
                .any(|field| names_parent(field));
            called && last && language != Language::Bash
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(language: Language, source: &str) -> Vec<(String, &'static str)> {
        highlight(Some(language), source)
            .into_iter()
            .map(|(range, token)| (source[range].to_owned(), token.class()))
            .collect()
    }

    #[test]
    fn python_keywords_strings_comments_numbers_and_calls_are_coloured() {
        let spans = classes(
            Language::Python,
            "def run(x):\n    # say it\n    return print(f\"{x}\", 42, None)\n",
        );
        for expected in [
            ("def", "k"),
            ("run", "f"),
            ("# say it", "c"),
            ("return", "k"),
            ("print", "f"),
            ("f\"{x}\"", "s"),
            ("42", "n"),
            ("None", "o"),
        ] {
            assert!(
                spans
                    .iter()
                    .any(|(text, class)| text == expected.0 && *class == expected.1),
                "{expected:?} missing from {spans:?}"
            );
        }
    }

    #[test]
    fn spans_are_ordered_and_do_not_overlap() {
        let source =
            "fn main() { let s = \"a // not a comment\"; // one\n    println!(\"{}\", 1u8); }\n";
        let spans = highlight(Some(Language::Rust), source);
        assert!(!spans.is_empty());
        for pair in spans.windows(2) {
            assert!(pair[0].0.end <= pair[1].0.start, "{spans:?}");
        }
        let texts: Vec<&str> = spans
            .iter()
            .map(|(range, _)| &source[range.clone()])
            .collect();
        assert!(texts.contains(&"\"a // not a comment\""), "{texts:?}");
        assert!(texts.contains(&"// one"), "{texts:?}");
    }

    #[test]
    fn unknown_languages_and_huge_files_are_plain() {
        assert!(highlight(None, "anything").is_empty());
        let huge = "x = 1\n".repeat(MAX_HIGHLIGHT_BYTES / 4);
        assert!(highlight(Some(Language::Python), &huge).is_empty());
    }
}

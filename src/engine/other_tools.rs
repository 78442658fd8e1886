//! Other tools' suppressions of the same check. A rule that declares `metadata.equivalents` (`ruff/S608`,
//! `bandit/B608`, `gosec/G201`, `eslint/no-eval`, `clippy/unwrap_used`) honours the comments and attributes those
//! tools honour, so that a codebase that already reviewed a spot with one of them is not told again:
//!
//! - Python: `# noqa` (all) or `# noqa: S608` on the line; `# nosec` (all of bandit's) or `# nosec B608`.
//! - Go: `//nosec` or `//nosec G201` (gosec), `//nolint` or `//nolint:gosec` (golangci-lint) on the line.
//! - JavaScript/TypeScript: `// eslint-disable-line RULE` on the line, `// eslint-disable-next-line RULE` on the
//!   line above, a `/* eslint-disable RULE */` block above with no `eslint-enable` between, and
//!   `// biome-ignore lint/GROUP/RULE: reason` on the line above.
//! - Rust: `#[allow(clippy::LINT)]` or `#[expect(clippy::LINT)]` on an enclosing item, `#![allow(...)]` in the file.

use super::language::Language;

/// A file's lines, split once, when it holds any other tool's suppression at all (most files hold none, and
/// then no finding pays for a look).
pub(crate) struct Comments<'a> {
    content: &'a str,
    lines: Option<Vec<&'a str>>,
}

/// Words every suppression above starts with.
const MARKERS: [&str; 7] = [
    "noqa",
    "nosec",
    "nolint",
    "eslint-disable",
    "biome-ignore",
    "allow(clippy::",
    "expect(clippy::",
];

impl<'a> Comments<'a> {
    pub(crate) fn of(content: &'a str) -> Comments<'a> {
        let any = MARKERS.iter().any(|marker| content.contains(marker));
        Comments {
            content,
            lines: any.then(|| content.lines().collect()),
        }
    }

    /// Whether a finding of a rule with `equivalents` on 1-based `line` is suppressed by another tool's comment.
    pub(crate) fn suppress(&self, language: Language, equivalents: &[String], line: u32) -> bool {
        match &self.lines {
            Some(lines) if !equivalents.is_empty() => {
                suppressed_in(language, equivalents, lines, line)
            }
            _ => false,
        }
    }

    /// Whether a Rust item enclosing `node`, or the file, allows a clippy lint among `equivalents`.
    pub(crate) fn rust_allows<D: ast_grep_core::Doc>(
        &self,
        equivalents: &[String],
        node: &ast_grep_core::Node<'_, D>,
    ) -> bool {
        self.lines.is_some() && rust_allows(equivalents, node, self.content)
    }
}

/// [`Comments::suppress`] on a one-off text (tests).
#[cfg(test)]
fn comment_suppresses(
    language: Language,
    equivalents: &[String],
    content: &str,
    line: u32,
) -> bool {
    Comments::of(content).suppress(language, equivalents, line)
}

fn suppressed_in(language: Language, equivalents: &[String], lines: &[&str], line: u32) -> bool {
    let index = line as usize - 1;
    let Some(current) = lines.get(index) else {
        return false;
    };
    let previous = index.checked_sub(1).and_then(|before| lines.get(before));
    match language {
        Language::Python => python(equivalents, current),
        Language::Go => go(equivalents, current),
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            javascript(equivalents, lines, index, current, previous.copied())
        }
        _ => false,
    }
}

/// The codes of the equivalents from `tool`: `ruff/S608` → `S608`.
fn codes<'a>(equivalents: &'a [String], tools: &[&str]) -> impl Iterator<Item = &'a str> {
    let tools: Vec<String> = tools.iter().map(|tool| format!("{tool}/")).collect();
    equivalents
        .iter()
        .filter_map(move |id| tools.iter().find_map(|tool| id.strip_prefix(tool.as_str())))
}

/// The words after a directive, up to the end of the comment: `# noqa: S608, E501  # why` → `S608, E501`.
fn after<'a>(line: &'a str, directive: &str) -> Option<&'a str> {
    let start = line.find(directive)? + directive.len();
    Some(line[start..].split('#').next().unwrap_or(""))
}

fn listed(list: &str, code: &str) -> bool {
    list.split(|c: char| c == ',' || c.is_whitespace() || c == ':')
        .any(|word| !word.is_empty() && word.eq_ignore_ascii_case(code))
}

fn python(equivalents: &[String], line: &str) -> bool {
    if let Some(rest) = after(line, "# noqa") {
        let rest = rest.trim_start();
        let Some(list) = rest.strip_prefix(':') else {
            return true;
        };
        if codes(equivalents, &["ruff", "flake8", "pylint", "bandit"])
            .any(|code| listed(list, code))
        {
            return true;
        }
    }
    if let Some(rest) = after(line, "# nosec") {
        let mut bandit = codes(equivalents, &["bandit"]).peekable();
        if bandit.peek().is_some() {
            let rest = rest.trim();
            return rest.is_empty() || bandit.any(|code| listed(rest, code));
        }
    }
    false
}

fn go(equivalents: &[String], line: &str) -> bool {
    let Some(comment) = line.find("//").map(|at| &line[at + 2..]) else {
        return false;
    };
    let comment = comment.trim_start();
    let comment = comment.strip_prefix('#').unwrap_or(comment);
    if let Some(rest) = comment.strip_prefix("nosec") {
        let mut gosec = codes(equivalents, &["gosec"]).peekable();
        if gosec.peek().is_some() {
            let rest = rest.trim();
            return rest.is_empty() || gosec.any(|code| listed(rest, code));
        }
    }
    if let Some(rest) = comment.strip_prefix("nolint") {
        let Some(list) = rest.strip_prefix(':') else {
            return true;
        };
        let linters: Vec<&str> = equivalents
            .iter()
            .map(|id| id.split('/').next().unwrap_or(id))
            .collect();
        return linters.iter().any(|linter| listed(list, linter));
    }
    false
}

fn javascript(
    equivalents: &[String],
    lines: &[&str],
    index: usize,
    current: &str,
    previous: Option<&str>,
) -> bool {
    let eslint: Vec<&str> = codes(equivalents, &["eslint"]).collect();
    let disables = |line: &str, directive: &str| -> bool {
        let Some(rest) = after_comment(line, directive) else {
            return false;
        };
        let rest = rest.split("--").next().unwrap_or("").trim();
        rest.is_empty() || eslint.iter().any(|rule| listed(rest, rule))
    };
    if !eslint.is_empty() {
        if disables(current, "eslint-disable-line") {
            return true;
        }
        if previous.is_some_and(|line| disables(line, "eslint-disable-next-line")) {
            return true;
        }
        // A block `/* eslint-disable RULE */` above, not ended by an `eslint-enable` for it.
        for line in lines[..index].iter().rev() {
            if line.contains("eslint-enable") {
                let rest = after_comment(line, "eslint-enable").unwrap_or("").trim();
                let rest = rest.trim_end_matches("*/").trim();
                if rest.is_empty() || eslint.iter().any(|rule| listed(rest, rule)) {
                    break;
                }
            }
            if line.contains("/* eslint-disable ") || line.trim() == "/* eslint-disable */" {
                let rest = after_comment(line, "eslint-disable").unwrap_or("");
                let rest = rest.trim().trim_end_matches("*/").trim();
                if rest.is_empty() || eslint.iter().any(|rule| listed(rest, rule)) {
                    return true;
                }
            }
        }
    }
    let biome: Vec<&str> = codes(equivalents, &["biome"]).collect();
    if let Some(previous) = previous
        && let Some(rest) = after_comment(previous, "biome-ignore")
    {
        return biome
            .iter()
            .any(|rule| rest.contains(&format!("lint/{rule}")));
    }
    false
}

/// The text after `directive` in a `//` or `/*` comment on `line`.
fn after_comment<'a>(line: &'a str, directive: &str) -> Option<&'a str> {
    let comment_start = line.find("//").or_else(|| line.find("/*"))?;
    let comment = &line[comment_start..];
    let at = comment.find(directive)?;
    let rest = &comment[at + directive.len()..];
    // `eslint-disable` must not match the start of `eslint-disable-line`.
    if rest.starts_with('-') {
        return None;
    }
    Some(rest)
}

/// Whether a Rust item enclosing `node`, or the file, allows one of the clippy lints among `equivalents`:
/// `#[allow(clippy::unwrap_used)]`, `#[expect(...)]`, `#![allow(...)]`.
fn rust_allows<D: ast_grep_core::Doc>(
    equivalents: &[String],
    node: &ast_grep_core::Node<'_, D>,
    content: &str,
) -> bool {
    let lints: Vec<String> = codes(equivalents, &["clippy"])
        .map(|lint| format!("clippy::{lint}"))
        .collect();
    if lints.is_empty() || !lints.iter().any(|lint| content.contains(lint.as_str())) {
        return false;
    }
    let allows = |attribute: &str| {
        (attribute.contains("allow(") || attribute.contains("expect("))
            && lints.iter().any(|lint| attribute.contains(lint.as_str()))
    };
    // Inner attributes anywhere at the top of the file (crate or module level).
    if content
        .lines()
        .take_while(|line| {
            let line = line.trim();
            line.is_empty()
                || line.starts_with("//")
                || line.starts_with("#!")
                || line.starts_with("#![")
        })
        .any(|line| line.trim_start().starts_with("#![") && allows(line))
    {
        return true;
    }
    node.ancestors().any(|ancestor| {
        let mut sibling = ancestor.prev();
        while let Some(previous) = sibling {
            let kind = previous.kind();
            if kind == "attribute_item" {
                if allows(&previous.text()) {
                    return true;
                }
            } else if !kind.contains("comment") {
                break;
            }
            sibling = previous.prev();
        }
        // Inner attributes at the top of an enclosing block or module.
        ancestor
            .children()
            .take_while(|child| {
                let kind = child.kind();
                kind == "inner_attribute_item" || kind.contains("comment") || kind == "{"
            })
            .any(|child| child.kind() == "inner_attribute_item" && allows(&child.text()))
    })
}

/// Whether `node` is inside Rust test code: a `#[cfg(test)]` module, or a function marked `#[test]`,
/// `#[tokio::test]` or any other `#[...::test]`/`#[...::test(...)]`.
pub(crate) fn in_rust_test<D: ast_grep_core::Doc>(node: &ast_grep_core::Node<'_, D>) -> bool {
    node.ancestors().any(|ancestor| {
        let kind = ancestor.kind();
        if kind != "function_item" && kind != "mod_item" && kind != "impl_item" {
            return false;
        }
        let mut sibling = ancestor.prev();
        while let Some(previous) = sibling {
            let previous_kind = previous.kind();
            if previous_kind == "attribute_item" {
                let text = previous.text();
                let inner: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                if inner.contains("cfg(test)")
                    || inner == "#[test]"
                    || inner.starts_with("#[test(")
                    || inner.contains("::test]")
                    || inner.contains("::test(")
                {
                    return true;
                }
            } else if !previous_kind.contains("comment") {
                break;
            }
            sibling = previous.prev();
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn equivalents(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    #[test]
    fn python_noqa_and_nosec() {
        let sql = equivalents(&["ruff/S608", "bandit/B608"]);
        let suppressed = |line: &str| comment_suppresses(Language::Python, &sql, line, 1);
        assert!(suppressed("cursor.execute(q)  # noqa: S608"));
        assert!(suppressed("cursor.execute(q)  # noqa"));
        assert!(suppressed("cursor.execute(q)  # nosec"));
        assert!(suppressed("cursor.execute(q)  # nosec B608"));
        assert!(!suppressed("cursor.execute(q)  # noqa: E501"));
        assert!(!suppressed("cursor.execute(q)  # nosec B101"));
        assert!(!suppressed("cursor.execute(q)"));
    }

    #[test]
    fn go_nosec_and_nolint() {
        let sql = equivalents(&["gosec/G201"]);
        let suppressed = |line: &str| comment_suppresses(Language::Go, &sql, line, 1);
        assert!(suppressed("db.Query(q) //nosec G201"));
        assert!(suppressed("db.Query(q) // #nosec"));
        assert!(suppressed("db.Query(q) //nolint:gosec"));
        assert!(!suppressed("db.Query(q) //nolint:errcheck"));
        assert!(!suppressed("db.Query(q) //nosec G104"));
    }

    #[test]
    fn eslint_and_biome_comments() {
        let eval = equivalents(&["eslint/no-eval", "biome/security/noGlobalEval"]);
        let suppressed =
            |content: &str, line| comment_suppresses(Language::JavaScript, &eval, content, line);
        assert!(suppressed(
            "// eslint-disable-next-line no-eval\neval(code);\n",
            2
        ));
        assert!(suppressed(
            "eval(code); // eslint-disable-line no-eval\n",
            1
        ));
        assert!(suppressed(
            "/* eslint-disable no-eval */\nrun();\neval(code);\n",
            3
        ));
        assert!(!suppressed(
            "/* eslint-disable no-eval */\n/* eslint-enable no-eval */\neval(code);\n",
            3
        ));
        assert!(suppressed(
            "// biome-ignore lint/security/noGlobalEval: trusted\neval(code);\n",
            2
        ));
        assert!(!suppressed(
            "// eslint-disable-next-line no-console\neval(code);\n",
            2
        ));
        assert!(!suppressed("eval(code);\n", 1));
    }
}

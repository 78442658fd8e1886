//! Language detection by file extension and shebang, and the mapping onto ast-grep's grammars.

use std::fmt;
use std::path::Path;

use ast_grep_language::SupportLang;

/// The languages CodeInsight can parse. Files in any other language still get the secrets scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    Java,
    C,
    Cpp,
    Bash,
    Ruby,
}

impl Language {
    pub const ALL: [Language; 11] = [
        Language::Rust,
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Go,
        Language::Java,
        Language::C,
        Language::Cpp,
        Language::Bash,
        Language::Ruby,
    ];

    /// The name used on the wire, in rule files and in directory names.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Go => "go",
            Language::Java => "java",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::Bash => "bash",
            Language::Ruby => "ruby",
        }
    }

    /// Accepts the wire names plus common aliases (`py`, `js`, `ts`, `golang`, `sh`, `c++`).
    pub fn from_name(name: &str) -> Option<Language> {
        let lower = name.trim().to_ascii_lowercase();
        Some(match lower.as_str() {
            "rust" | "rs" => Language::Rust,
            "python" | "py" | "python3" => Language::Python,
            "javascript" | "js" | "jsx" | "node" => Language::JavaScript,
            "typescript" | "ts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "go" | "golang" => Language::Go,
            "java" => Language::Java,
            "c" => Language::C,
            "cpp" | "c++" | "cxx" => Language::Cpp,
            "bash" | "sh" | "shell" | "zsh" => Language::Bash,
            "ruby" | "rb" => Language::Ruby,
            _ => return None,
        })
    }

    /// Detects the language of `path` from its extension, falling back to the shebang line of `content`.
    pub fn detect(path: &str, content: &str) -> Option<Language> {
        Self::from_extension(path).or_else(|| Self::from_shebang(content))
    }

    fn from_extension(path: &str) -> Option<Language> {
        let path = Path::new(path);
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "rs" => Language::Rust,
            "py" | "pyi" | "pyw" => Language::Python,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "go" => Language::Go,
            "java" => Language::Java,
            "c" | "h" => Language::C,
            "cc" | "cpp" | "cxx" | "hpp" | "hh" | "hxx" => Language::Cpp,
            "sh" | "bash" => Language::Bash,
            "rb" => Language::Ruby,
            _ => return None,
        })
    }

    fn from_shebang(content: &str) -> Option<Language> {
        let first = content.lines().next()?;
        let interpreter_line = first.strip_prefix("#!")?;
        let mut words = interpreter_line.split_whitespace();
        let mut program = words.next()?.rsplit('/').next()?;
        if program == "env" {
            // `#!/usr/bin/env -S python3 -u`: skip env's own flags.
            program = words.find(|word| !word.starts_with('-'))?;
        }
        let program = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        Some(match program {
            "python" | "pypy" => Language::Python,
            "node" | "nodejs" | "deno" | "bun" => Language::JavaScript,
            "ts-node" | "tsx" => Language::TypeScript,
            "sh" | "bash" | "dash" | "zsh" | "ksh" => Language::Bash,
            "ruby" => Language::Ruby,
            "rust-script" => Language::Rust,
            _ => return None,
        })
    }

    pub(crate) fn grammar(self) -> SupportLang {
        match self {
            Language::Rust => SupportLang::Rust,
            Language::Python => SupportLang::Python,
            Language::JavaScript => SupportLang::JavaScript,
            Language::TypeScript => SupportLang::TypeScript,
            Language::Tsx => SupportLang::Tsx,
            Language::Go => SupportLang::Go,
            Language::Java => SupportLang::Java,
            Language::C => SupportLang::C,
            Language::Cpp => SupportLang::Cpp,
            Language::Bash => SupportLang::Bash,
            Language::Ruby => SupportLang::Ruby,
        }
    }

    pub(crate) fn from_grammar(grammar: SupportLang) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|language| language.grammar() == grammar)
    }

    /// Other languages whose files a rule written for `self` also runs on: JavaScript rules apply to TypeScript
    /// and TSX, TypeScript rules to TSX, and C rules to C++.
    pub(crate) fn rule_also_applies_to(self) -> &'static [Language] {
        match self {
            Language::JavaScript => &[Language::TypeScript, Language::Tsx],
            Language::TypeScript => &[Language::Tsx],
            _ => &[],
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_extension() {
        assert_eq!(Language::detect("src/main.rs", ""), Some(Language::Rust));
        assert_eq!(Language::detect("a/b.tsx", ""), Some(Language::Tsx));
        assert_eq!(Language::detect("x.mjs", ""), Some(Language::JavaScript));
        assert_eq!(Language::detect("README", "hello"), None);
    }

    #[test]
    fn detects_by_shebang() {
        assert_eq!(
            Language::detect("tool", "#!/usr/bin/env python3\nprint(1)\n"),
            Some(Language::Python)
        );
        assert_eq!(
            Language::detect("run", "#!/bin/bash\necho hi\n"),
            Some(Language::Bash)
        );
        assert_eq!(
            Language::detect("x", "#!/usr/bin/env -S node --harmony\n"),
            Some(Language::JavaScript)
        );
        assert_eq!(Language::detect("x", "#!/usr/bin/perl\n"), None);
    }

    #[test]
    fn names_round_trip() {
        for language in Language::ALL {
            assert_eq!(Language::from_name(language.name()), Some(language));
            assert_eq!(Language::from_grammar(language.grammar()), Some(language));
        }
    }
}

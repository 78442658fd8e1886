//! Redaction before anything leaves the server: every match of the engine's secrets scanner, plus broader
//! credential shapes that are too noisy to report as findings but must never reach a model (credential-named
//! assignments of any literal, passwords in URLs, bearer tokens, private key bodies, long high-entropy strings).
//! A redacted span becomes `[REDACTED:rule]` with its newlines kept, so line numbers still match the file. What
//! was redacted is recorded as a count per rule id, never the values.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// Starts every placeholder; a model's replacement containing it would write the placeholder into the file.
pub const REDACTION_MARK: &str = "[REDACTED";

/// What was removed from a prompt: how many spans, by rule id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedactionSummary {
    pub count: usize,
    pub rules: BTreeMap<String, usize>,
}

/// A text with its secrets replaced.
#[derive(Debug, Clone)]
pub struct Redacted {
    pub text: String,
    pub summary: RedactionSummary,
}

struct Shape {
    rule_id: &'static str,
    regex: Regex,
    /// Capture group holding the credential (0 = the whole match).
    group: usize,
    check: fn(&str) -> bool,
}

fn any(_: &str) -> bool {
    true
}

static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    let shape = |rule_id, pattern: &str, group, check| Shape {
        rule_id,
        // Constant patterns covered by the tests below; a failure is a programming error.
        regex: Regex::new(pattern).unwrap_or_else(|error| panic!("{rule_id}: {error}")),
        group,
        check,
    };
    vec![
        shape(
            "redact/private-key-block",
            r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
            0,
            any as fn(&str) -> bool,
        ),
        shape(
            "redact/url-credentials",
            r#"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@"'`]+:([^\s@/"'`]+)@"#,
            1,
            any,
        ),
        shape(
            "redact/bearer-token",
            r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)",
            1,
            any,
        ),
        shape(
            "redact/credential-assignment",
            r#"(?i)\b[a-z0-9_.\-]*(?:password|passwd|pwd|passphrase|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|client[_\-]?secret|credentials?)[a-z0-9_\-]*["']?\s*(?::=|=>|[:=])\s*[rbuf]?["']([^"'\n]{6,})["']"#,
            1,
            not_a_placeholder,
        ),
        shape(
            "redact/high-entropy-string",
            r"[A-Za-z0-9+/=_\-]{32,}",
            0,
            looks_random,
        ),
    ]
});

fn not_a_placeholder(value: &str) -> bool {
    let distinct = value
        .chars()
        .collect::<std::collections::HashSet<_>>()
        .len();
    distinct > 2 && !value.contains("${") && !value.contains("{{") && !value.starts_with('<')
}

/// Three character classes and high entropy: random keys, not identifiers, hex digests or base64 of text.
fn looks_random(value: &str) -> bool {
    let classes = [
        value.chars().any(|c| c.is_ascii_lowercase()),
        value.chars().any(|c| c.is_ascii_uppercase()),
        value.chars().any(|c| c.is_ascii_digit()),
    ];
    classes.iter().all(|&present| present) && entropy(value) >= 4.3
}

fn entropy(text: &str) -> f64 {
    let mut counts = [0_u32; 256];
    for byte in text.bytes() {
        counts[usize::from(byte)] += 1;
    }
    let total = text.len() as f64;
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = f64::from(count) / total;
            -p * p.log2()
        })
        .sum()
}

/// Replaces every secret and credential-looking span of `text`.
pub fn redact(text: &str) -> Redacted {
    let mut spans: Vec<(&'static str, Range<usize>)> = crate::engine::secret_spans(text);
    for shape in SHAPES.iter() {
        for captures in shape.regex.captures_iter(text) {
            let Some(found) = captures.get(shape.group) else {
                continue;
            };
            if (shape.check)(found.as_str()) {
                spans.push((shape.rule_id, found.range()));
            }
        }
    }
    // The scanner's matches come first, so an overlap keeps the scanner's rule id.
    let mut kept: Vec<(&'static str, Range<usize>)> = Vec::new();
    for (rule_id, range) in spans {
        if let Some(existing) = kept
            .iter_mut()
            .find(|(_, other)| other.start < range.end && range.start < other.end)
        {
            existing.1 = existing.1.start.min(range.start)..existing.1.end.max(range.end);
        } else {
            kept.push((rule_id, range));
        }
    }
    kept.sort_by_key(|(_, range)| range.start);
    // Merging can make earlier spans overlap later ones; fold them together.
    let mut merged: Vec<(&'static str, Range<usize>)> = Vec::new();
    for (rule_id, range) in kept {
        match merged.last_mut() {
            Some((_, last)) if range.start < last.end => last.end = last.end.max(range.end),
            _ => merged.push((rule_id, range)),
        }
    }
    let mut summary = RedactionSummary::default();
    let mut output = String::with_capacity(text.len());
    let mut last = 0;
    for (rule_id, range) in merged {
        output.push_str(&text[last..range.start]);
        output.push_str(REDACTION_MARK);
        output.push(':');
        output.push_str(rule_id);
        output.push(']');
        for _ in text[range.clone()].matches('\n') {
            output.push('\n');
        }
        last = range.end;
        summary.count += 1;
        *summary.rules.entry(rule_id.to_owned()).or_insert(0) += 1;
    }
    output.push_str(&text[last..]);
    Redacted {
        text: output,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_matches_and_credential_shapes_are_removed_keeping_lines() {
        let source = "aws = 'AKIAIOSFODNN7EXAMPLQ'\n\
                      db_password = \"letmein1\"\n\
                      url = \"postgres://app:s3cr3tpw@db/prod\"\n\
                      -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n\
                      name = \"ordinary text\"\n";
        let redacted = redact(source);
        for secret in [
            "AKIAIOSFODNN7EXAMPLQ",
            "letmein1",
            "s3cr3tpw",
            "MIIEowIBAAKCAQEA",
        ] {
            assert!(!redacted.text.contains(secret), "{}", redacted.text);
        }
        assert_eq!(redacted.text.lines().count(), source.lines().count());
        assert!(redacted.text.contains("ordinary text"));
        assert_eq!(redacted.summary.count, 4, "{:?}", redacted.summary);
        assert_eq!(redacted.summary.rules["secrets/aws-access-key"], 1);
        assert_eq!(redacted.summary.rules["redact/credential-assignment"], 1);
    }

    #[test]
    fn identifiers_and_digests_are_kept() {
        let source = "digest = \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"\n\
                      fn very_long_function_name_that_is_not_a_secret_at_all() {}\n\
                      password = os.environ[\"PASSWORD\"]\n";
        let redacted = redact(source);
        assert_eq!(redacted.summary.count, 0, "{}", redacted.text);
    }
}

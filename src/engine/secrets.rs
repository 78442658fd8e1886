//! The language-agnostic secrets scanner: provider tokens with known shapes, private-key blocks, JWTs, and
//! credential-named assignments of high-entropy string literals. It runs on every file, whatever its language.
//! A secret is never echoed: messages and snippets show only a masked prefix.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::rules::RuleInfo;
use crate::protocol::Severity;

pub(crate) struct SecretMatch {
    pub(crate) rule_id: &'static str,
    pub(crate) what: &'static str,
    /// The byte range of the secret itself.
    pub(crate) range: Range<usize>,
}

struct Detector {
    rule_id: &'static str,
    what: &'static str,
    regex: Regex,
    /// Capture group holding the secret (0 = whole match); the group before it, when there is one, holds the
    /// name it is assigned to.
    group: usize,
    /// Extra check on the secret, given the name it is assigned to (empty when unknown): entropy,
    /// placeholders, names of fields rather than credentials.
    check: fn(&str, &str) -> bool,
}

/// Compiles a pattern written in this source. They are constants exercised by the unit tests, so a failure is a
/// programming error caught before release, not something input can cause.
pub(crate) fn constant_regex(pattern: &str) -> Regex {
    // codeinsight-ignore: rust/panic-in-non-test reason="constant patterns, covered by unit tests"
    Regex::new(pattern).unwrap_or_else(|error| panic!("bad pattern {pattern:?}: {error}"))
}

fn always(_: &str, _: &str) -> bool {
    true
}

/// Every JWT but the sample on jwt.io (`{"sub":"1234567890","name":"John Doe",...}`), which documentation and test
/// suites quote as an example.
fn not_the_sample_jwt(_: &str, token: &str) -> bool {
    !token.contains(".eyJzdWIiOiIxMjM0NTY3ODkwIi")
}

static DETECTORS: LazyLock<Vec<Detector>> = LazyLock::new(|| {
    let detector = |rule_id, what, pattern: &str, group, check| Detector {
        rule_id,
        what,
        // The patterns are constants covered by tests; a failure here is a programming error.
        regex: constant_regex(pattern),
        group,
        check,
    };
    vec![
        detector(
            "secrets/aws-access-key",
            "AWS access key id",
            r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
            0,
            always as fn(&str, &str) -> bool,
        ),
        detector(
            "secrets/github-token",
            "GitHub token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b",
            0,
            always,
        ),
        detector(
            "secrets/gitlab-token",
            "GitLab token",
            r"\bgl(?:pat|dt|rt|ptt)-[A-Za-z0-9_\-]{20,}",
            0,
            always,
        ),
        detector(
            "secrets/slack-token",
            "Slack token",
            r"\bxox[abposr]-[0-9A-Za-z]{8,}-[0-9A-Za-z\-]{8,}",
            0,
            always,
        ),
        detector(
            "secrets/slack-webhook",
            "Slack webhook URL",
            r"https://hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{16,}",
            0,
            always,
        ),
        detector(
            "secrets/stripe-key",
            "Stripe secret key",
            r"\b(?:sk|rk)_live_[0-9A-Za-z]{16,}\b",
            0,
            always,
        ),
        detector(
            "secrets/private-key",
            "private key block",
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----",
            0,
            always,
        ),
        detector(
            "secrets/jwt",
            "JSON Web Token",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
            0,
            not_the_sample_jwt,
        ),
        detector(
            "secrets/hardcoded-credential",
            "hard-coded credential",
            r#"(?i)((?:password|passwd|passphrase|secret|api[_\-]?key|access[_\-]?key|auth[_\-]?token|access[_\-]?token|private[_\-]?key|client[_\-]?secret)[a-z0-9_\-]*)["']?\s*(?::=|=>|[:=])\s*[rbuf]?["']([^"'\s]{8,200})["']"#,
            2,
            looks_like_a_real_secret,
        ),
    ]
});

/// Entropy and shape checks that keep `password = "changeme"` and `api_key = os.environ["KEY"]` quiet, and
/// names that hold the name of a credential rather than one (`usable_password_field_name = "usable_password"`,
/// `SECRET_KEY_INSECURE_PREFIX = "django-insecure-"`).
fn looks_like_a_real_secret(name: &str, candidate: &str) -> bool {
    const PLACEHOLDERS: [&str; 21] = [
        "change",
        "example",
        "placeholder",
        "xxxx",
        "dummy",
        "sample",
        "your",
        "redacted",
        "****",
        "<",
        "${",
        "{{",
        "test",
        "fake",
        "mock",
        "invalid",
        "wrong",
        "bogus",
        "forbidden",
        "insecure",
        "secret",
    ];
    const NAME_SUFFIXES: [&str; 9] = [
        "name", "field", "prefix", "suffix", "label", "header", "param", "key_name", "env",
    ];
    let lower = candidate.to_ascii_lowercase();
    if PLACEHOLDERS.iter().any(|word| lower.contains(word)) {
        return false;
    }
    let name = name.to_ascii_lowercase();
    let name = name.trim_end_matches(['_', '-']);
    if NAME_SUFFIXES.iter().any(|suffix| name.ends_with(suffix)) {
        return false;
    }
    // Words joined by separators (`usable_password`, `some:password`, `my-api-key`) name things; secrets do not
    // read like that.
    let wordy = candidate
        .split(['_', '-', ':', '.', ' '])
        .all(|word| word.chars().all(|c| c.is_ascii_lowercase()));
    // `ME_CONFIG_MONGODB_ADMINPASSWORD`: the name of the environment variable that holds the credential.
    let environment_name = candidate.contains('_')
        && candidate.split('_').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        });
    if wordy || environment_name {
        return false;
    }
    let classes = [
        candidate.chars().any(|c| c.is_ascii_lowercase()),
        candidate.chars().any(|c| c.is_ascii_uppercase()),
        candidate.chars().any(|c| c.is_ascii_digit()),
        candidate.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .into_iter()
    .filter(|&present| present)
    .count();
    classes >= 2 && shannon_entropy(candidate) >= 3.0
}

fn shannon_entropy(text: &str) -> f64 {
    let mut counts = [0_u32; 256];
    for byte in text.bytes() {
        counts[usize::from(byte)] += 1;
    }
    let total = f64::from(u32::try_from(text.len()).unwrap_or(u32::MAX));
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = f64::from(count) / total;
            -p * p.log2()
        })
        .sum()
}

/// Finds every secret in `content`, in order of position.
pub(crate) fn scan(content: &str) -> Vec<SecretMatch> {
    let mut found = Vec::new();
    for detector in DETECTORS.iter() {
        // Only the credential detector needs capture groups; the others take the whole match, which the regex
        // engine finds with its fast DFA without resolving captures.
        let spans: Box<dyn Iterator<Item = (&str, regex::Match<'_>)>> = if detector.group == 0 {
            Box::new(detector.regex.find_iter(content).map(|secret| ("", secret)))
        } else {
            Box::new(
                detector
                    .regex
                    .captures_iter(content)
                    .filter_map(|captures| {
                        let name = captures
                            .get(detector.group - 1)
                            .map_or("", |name| name.as_str());
                        Some((name, captures.get(detector.group)?))
                    }),
            )
        };
        for (name, secret) in spans {
            if !(detector.check)(name, secret.as_str()) {
                continue;
            }
            let overlaps = found.iter().any(|other: &SecretMatch| {
                other.range.start < secret.end() && secret.start() < other.range.end
            });
            if !overlaps {
                found.push(SecretMatch {
                    rule_id: detector.rule_id,
                    what: detector.what,
                    range: secret.range(),
                });
            }
        }
    }
    found.sort_by_key(|secret| secret.range.start);
    found
}

/// Shows the first four characters of a secret and hides the rest.
pub(crate) fn mask(secret: &str) -> String {
    let visible: String = secret.chars().take(4).collect();
    format!("{visible}****")
}

/// The rule id and byte range of every secret in `text`, in order of position, for callers that must remove
/// secrets rather than mask them (the AI reviewer redacts before a prompt leaves the server).
pub fn secret_spans(text: &str) -> Vec<(&'static str, Range<usize>)> {
    scan(text)
        .into_iter()
        .map(|secret| (secret.rule_id, secret.range))
        .collect()
}

/// Replaces every secret in `text` by its masked form. Used on snippets and on anything leaving the engine.
pub fn mask_secrets(text: &str) -> Cow<'_, str> {
    let secrets = scan(text);
    if secrets.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut masked = String::with_capacity(text.len());
    let mut last = 0;
    for secret in secrets {
        masked.push_str(&text[last..secret.range.start]);
        masked.push_str(&mask(&text[secret.range.clone()]));
        last = secret.range.end;
    }
    masked.push_str(&text[last..]);
    Cow::Owned(masked)
}

/// Shortest run of a secret's characters that counts as the secret showing (a clipped snippet, a message that
/// quotes part of a line).
const SHOWN_PREFIX: usize = 8;

/// The secrets of one file, to mask everything derived from it: every text field of a finding and of a stage
/// report goes through [`SecretMask::finding`] or [`SecretMask::stage`] where it leaves the engine (rules and
/// secrets scan, linters, AI reviewer), so that nothing built from them (the job's markdown, `lint_result`, the
/// database, the cache, every report format) can carry a raw secret.
#[derive(Debug, Clone, Default)]
pub struct SecretMask {
    /// The raw values, longest first.
    secrets: Vec<String>,
}

impl SecretMask {
    /// The mask for a file with `content`.
    pub fn of(content: &str) -> SecretMask {
        SecretMask::from_matches(content, &scan(content))
    }

    pub(crate) fn from_matches(content: &str, found: &[SecretMatch]) -> SecretMask {
        let mut secrets: Vec<String> = found
            .iter()
            .filter_map(|secret| content.get(secret.range.clone()))
            .map(str::to_owned)
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        SecretMask { secrets }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every appearance of a secret of the file (whole, or its first eight characters or more)
    /// masked, then anything else that looks like a secret.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.secrets.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut current = Cow::Borrowed(text);
        for secret in &self.secrets {
            if let Some(masked) = mask_appearances(&current, secret) {
                current = Cow::Owned(masked);
            }
        }
        match mask_secrets(&current) {
            Cow::Borrowed(_) => current,
            Cow::Owned(masked) => Cow::Owned(masked),
        }
    }

    fn shows_a_secret(&self, text: &str) -> bool {
        self.secrets
            .iter()
            .any(|secret| text.contains(shown_prefix(secret)))
    }

    /// Masks the message, snippet and fix description of `finding` (from a file with `content`). A fix whose
    /// replacement text would carry a secret is rewritten to leave the secret's bytes in place untouched, or
    /// dropped when it cannot be.
    pub fn finding(&self, finding: &mut crate::protocol::Finding, content: &str) {
        if self.secrets.is_empty() {
            return;
        }
        replace_if_masked(&mut finding.message, |text| self.text(text));
        replace_if_masked(&mut finding.snippet, |text| self.text(text));
        for step in &mut finding.flow {
            replace_if_masked(&mut step.label, |text| self.text(text));
        }
        let Some(fix) = &mut finding.fix else {
            return;
        };
        replace_if_masked(&mut fix.description, |text| self.text(text));
        if !fix
            .edits
            .iter()
            .any(|edit| self.shows_a_secret(&edit.replacement))
        {
            return;
        }
        let mut edits = Vec::with_capacity(fix.edits.len());
        for edit in &fix.edits {
            let Some(parts) = self.edit_around_secrets(edit, content) else {
                finding.fix = None;
                return;
            };
            edits.extend(parts);
        }
        fix.edits = edits;
    }

    /// Masks a stage report's reason (linter output can quote the file).
    pub fn stage(&self, stage: &mut crate::protocol::StageReport) {
        if let Some(reason) = &mut stage.reason {
            replace_if_masked(reason, |text| self.text(text));
        }
    }

    /// `edit` split into edits that leave every secret its replacement repeats from the original text where
    /// it is, so that no replacement carries it; `None` when a replacement has a secret the original lacks.
    fn edit_around_secrets(
        &self,
        edit: &crate::protocol::Edit,
        content: &str,
    ) -> Option<Vec<crate::protocol::Edit>> {
        let mut parts = Vec::new();
        let (mut start, end) = (edit.start, edit.end);
        let mut replacement = edit.replacement.as_str();
        loop {
            let next = self
                .secrets
                .iter()
                .filter_map(|secret| {
                    replacement
                        .find(shown_prefix(secret))
                        .map(|position| (position, secret))
                })
                .min_by_key(|(position, _)| *position);
            let Some((in_replacement, secret)) = next else {
                parts.push(crate::protocol::Edit {
                    start,
                    end,
                    replacement: replacement.to_owned(),
                });
                break;
            };
            // The whole secret must follow in the replacement and appear in what the edit replaces.
            if !replacement[in_replacement..].starts_with(secret.as_str()) {
                return None;
            }
            let original = content.get(start..end)?;
            let in_original = original.find(secret.as_str())?;
            parts.push(crate::protocol::Edit {
                start,
                end: start + in_original,
                replacement: replacement[..in_replacement].to_owned(),
            });
            start += in_original + secret.len();
            replacement = &replacement[in_replacement + secret.len()..];
        }
        parts.retain(|part| part.start != part.end || !part.replacement.is_empty());
        Some(parts)
    }
}

fn replace_if_masked(field: &mut String, mask: impl Fn(&str) -> Cow<'_, str>) {
    if let Cow::Owned(masked) = mask(field) {
        *field = masked;
    }
}

/// The part of a secret whose appearance counts as the secret showing: its first eight characters.
fn shown_prefix(secret: &str) -> &str {
    let mut end = secret.len().min(SHOWN_PREFIX);
    while !secret.is_char_boundary(end) {
        end += 1;
    }
    &secret[..end]
}

/// The part of a secret whose appearance at the end of a quote counts as the secret showing: its last eight
/// characters.
fn shown_suffix(secret: &str) -> &str {
    let mut start = secret.len().saturating_sub(SHOWN_PREFIX);
    while !secret.is_char_boundary(start) {
        start -= 1;
    }
    &secret[start..]
}

/// `text` with each appearance of `secret` (or of a run of at least its first eight characters, or of its last
/// eight) masked; `None` when it has none.
fn mask_appearances(text: &str, secret: &str) -> Option<String> {
    let prefix = shown_prefix(secret);
    let suffix = shown_suffix(secret);
    if !text.contains(prefix) {
        // A quote cut at its start can still hold the end of the secret.
        if suffix.len() < secret.len() && text.contains(suffix) {
            return Some(text.replace(suffix, "****"));
        }
        return None;
    }
    let mut masked = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find(prefix) {
        masked.push_str(&rest[..position]);
        let candidate = &rest[position..];
        let shown = candidate
            .char_indices()
            .zip(secret.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(prefix.len(), |((index, character), _)| {
                index + character.len_utf8()
            });
        masked.push_str(&mask(&candidate[..shown]));
        rest = &candidate[shown..];
    }
    masked.push_str(rest);
    Some(masked)
}

/// `content` with every secret's characters after its first four replaced by `*`, keeping every byte offset, so
/// that code frames, underlines and fix diffs drawn from it stay exact without showing the secret.
pub fn mask_secrets_in_place(content: &str) -> Cow<'_, str> {
    let found = scan(content);
    if found.is_empty() {
        return Cow::Borrowed(content);
    }
    let mut masked = String::with_capacity(content.len());
    let mut last = 0;
    for secret in found {
        masked.push_str(&content[last..secret.range.start]);
        for (index, character) in content[secret.range.clone()].chars().enumerate() {
            if index < 4 {
                masked.push(character);
            } else {
                masked.extend(std::iter::repeat_n('*', character.len_utf8()));
            }
        }
        last = secret.range.end;
    }
    masked.push_str(&content[last..]);
    Cow::Owned(masked)
}

pub(crate) fn rule_infos() -> Vec<RuleInfo> {
    DETECTORS
        .iter()
        .map(|detector| RuleInfo {
            id: detector.rule_id.to_owned(),
            language: None,
            severity: Severity::Critical,
            category: "security".to_owned(),
            message: format!("{} committed in source", detector.what),
            docs: format!(
                "**What it flags**: a {what} written into a source file.\n\n\
                 **Why it matters**: anyone who can read the repository, its history, a build log or a copy of the \
                 file can use the credential. Deleting it later does not remove it from version control history.\n\n\
                 **Example**: `aws_key = \"AKIA...\"`\n\n\
                 **Fix**: revoke and rotate the credential now, then load it at run time from the environment or a \
                 secret manager. The finding shows only the first four characters.",
                what = detector.what
            ),
            fix_safety: None,
            source: "codeinsight".to_owned(),
            origin: "built-in".to_owned(),
            group: super::rules::RuleGroup::Default,
            // A provider token has one shape and is live wherever it sits; a "credential-named string with some
            // entropy" in a test is a fixture far more often than a secret.
            tests: if detector.rule_id == "secrets/hardcoded-credential" || detector.rule_id == "secrets/jwt" {
                super::rules::TestPolicy::Skip
            } else {
                super::rules::TestPolicy::Apply
            },
            equivalents: Vec::new(),
            cwe: vec![798],
            precision: None,
            taint: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(content: &str) -> Vec<&'static str> {
        scan(content)
            .into_iter()
            .map(|secret| secret.rule_id)
            .collect()
    }

    #[test]
    fn finds_provider_tokens() {
        assert_eq!(
            ids("key = 'AKIAIOSFODNN7EXAMPLQ'"),
            ["secrets/aws-access-key"]
        );
        assert_eq!(
            ids("token: ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
            ["secrets/github-token"]
        );
        assert_eq!(
            ids("-----BEGIN RSA PRIVATE KEY-----"),
            ["secrets/private-key"]
        );
        assert_eq!(
            ids("stripe = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\""),
            ["secrets/stripe-key"]
        );
    }

    #[test]
    fn credential_assignments_need_entropy() {
        assert_eq!(
            ids(r#"DB_PASSWORD = "hunter2Xq9!vLz0pR""#),
            ["secrets/hardcoded-credential"]
        );
        assert!(ids(r#"password = "changeme123""#).is_empty());
        assert!(ids(r#"password = "aaaaaaaaaaaa""#).is_empty());
        assert!(ids(r#"api_key = os.environ["API_KEY"]"#).is_empty());
        // Near misses from real code: the name of a field, a prefix constant, words, test values.
        assert!(ids(r#"usable_password_field_name="usable_password""#).is_empty());
        assert!(ids(r#"SECRET_KEY_INSECURE_PREFIX = "django-insecure-""#).is_empty());
        assert!(ids(r#"password = "some:password""#).is_empty());
        assert!(ids(r#"password = "test_password9""#).is_empty());
        assert!(ids(r#"SECRET_KEY = "django_tests_secret_key""#).is_empty());
        // The name of the environment variable that holds it (mongo-express's config.default.js).
        assert!(ids(r"const adminPassword = 'ME_CONFIG_MONGODB_ADMINPASSWORD';").is_empty());
        assert_eq!(
            ids(r"const adminPassword = 'ME_CONFIG_9xQ2v';"),
            ["secrets/hardcoded-credential"]
        );
    }

    #[test]
    fn a_mask_covers_messages_snippets_clipped_secrets_and_fixes() {
        use crate::protocol::{Applicability, Edit, Finding, Fix};
        let content = "key = f\"AKIAIOSFODNN7EXAMPLQ\"\n";
        let mask = SecretMask::of(content);
        assert!(!mask.is_empty());
        assert_eq!(
            mask.text("default `[\"AKIAIOSFODNN7EXAMPLQ\"]` is shared"),
            "default `[\"AKIA****\"]` is shared"
        );
        // A snippet clipped in the middle of the secret still shows none of it past four characters.
        assert_eq!(mask.text("key = f\"AKIAIOSFODN …"), "key = f\"AKIA**** …");
        let start = content.find("f\"").unwrap();
        let end = content.find('\n').unwrap();
        let mut finding = Finding {
            rule_id: "ruff/F541".into(),
            source: "ruff".into(),
            severity: Severity::Minor,
            category: "style".into(),
            message: "f-string without any placeholders".into(),
            path: "a.py".into(),
            line: 1,
            column: 7,
            end_line: 1,
            end_column: 30,
            snippet: content[start..end].into(),
            fingerprint: String::new(),
            fix: Some(Fix {
                description: "Remove extraneous `f` prefix".into(),
                applicability: Applicability::Safe,
                edits: vec![Edit {
                    start,
                    end,
                    replacement: "\"AKIAIOSFODNN7EXAMPLQ\"".into(),
                }],
            }),
            flow: Vec::new(),
        };
        mask.finding(&mut finding, content);
        assert_eq!(finding.snippet, "f\"AKIA****\"");
        let fix = finding.fix.expect("the fix is kept, around the secret");
        assert!(
            fix.edits
                .iter()
                .all(|edit| !edit.replacement.contains("IOSFODNN"))
        );
        let applied = crate::engine::apply_fixes(content, &[&fix]).unwrap().output;
        assert_eq!(applied, "key = \"AKIAIOSFODNN7EXAMPLQ\"\n");
        assert_eq!(
            mask_secrets_in_place(content),
            "key = f\"AKIA****************\"\n"
        );
    }

    #[test]
    fn masking_never_echoes_the_secret() {
        let text = "aws = 'AKIAIOSFODNN7EXAMPLQ' # prod";
        let masked = mask_secrets(text);
        assert_eq!(masked, "aws = 'AKIA****' # prod");
        assert!(!masked.contains("IOSFODNN7"));
    }
}

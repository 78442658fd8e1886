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
    /// Capture group holding the secret (0 = whole match).
    group: usize,
    /// Extra check on the secret (entropy, placeholders).
    check: fn(&str) -> bool,
}

/// Compiles a pattern written in this source. They are constants exercised by the unit tests, so a failure is a
/// programming error caught before release, not something input can cause.
pub(crate) fn constant_regex(pattern: &str) -> Regex {
    // codeinsight-ignore: rust/panic-in-non-test reason="constant patterns, covered by unit tests"
    Regex::new(pattern).unwrap_or_else(|error| panic!("bad pattern {pattern:?}: {error}"))
}

fn always(_: &str) -> bool {
    true
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
            always as fn(&str) -> bool,
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
            always,
        ),
        detector(
            "secrets/hardcoded-credential",
            "hard-coded credential",
            r#"(?i)(?:password|passwd|passphrase|secret|api[_\-]?key|access[_\-]?key|auth[_\-]?token|access[_\-]?token|private[_\-]?key|client[_\-]?secret)[a-z0-9_\-]*["']?\s*(?::=|=>|[:=])\s*[rbuf]?["']([^"'\s]{8,200})["']"#,
            1,
            looks_like_a_real_secret,
        ),
    ]
});

/// Entropy and shape checks that keep `password = "changeme"` and `api_key = os.environ["KEY"]` quiet.
fn looks_like_a_real_secret(candidate: &str) -> bool {
    const PLACEHOLDERS: [&str; 12] = [
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
    ];
    let lower = candidate.to_ascii_lowercase();
    if PLACEHOLDERS.iter().any(|word| lower.contains(word)) {
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
        // Only the credential detector needs a capture group; the others take the whole match, which the regex
        // engine finds with its fast DFA without resolving captures.
        let spans: Box<dyn Iterator<Item = regex::Match<'_>>> = if detector.group == 0 {
            Box::new(detector.regex.find_iter(content))
        } else {
            Box::new(
                detector
                    .regex
                    .captures_iter(content)
                    .filter_map(|captures| captures.get(detector.group)),
            )
        };
        for secret in spans {
            if !(detector.check)(secret.as_str()) {
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
    }

    #[test]
    fn masking_never_echoes_the_secret() {
        let text = "aws = 'AKIAIOSFODNN7EXAMPLQ' # prod";
        let masked = mask_secrets(text);
        assert_eq!(masked, "aws = 'AKIA****' # prod");
        assert!(!masked.contains("IOSFODNN7"));
    }
}

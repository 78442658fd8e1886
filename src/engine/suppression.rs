//! Suppression comments: `codeinsight-ignore: rule-id[, rule-id] [reason="..."] [until=YYYY-MM-DD]` on the
//! finding's line or the line above. A suppression that names an unknown rule, suppresses nothing, or has expired
//! is itself reported (severity info), so stale suppressions do not pile up silently.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

use super::rules::RuleInfo;
use super::secrets::constant_regex;
use crate::protocol::{Finding, Severity};

pub(crate) const UNUSED_ID: &str = "codeinsight/unused-suppression";
pub(crate) const UNKNOWN_ID: &str = "codeinsight/unknown-rule-in-suppression";
pub(crate) const EXPIRED_ID: &str = "codeinsight/expired-suppression";
pub(crate) const MALFORMED_ID: &str = "codeinsight/malformed-suppression";

/// Rule-id prefixes of external tools. The engine cannot know their rule ids, so suppressions naming them are
/// neither checked nor reported as unused here.
const EXTERNAL_PREFIXES: [&str; 9] = [
    "ruff/",
    "clippy/",
    "shellcheck/",
    "eslint/",
    "biome/",
    "go-vet/",
    "staticcheck/",
    "ai/",
    "llm/",
];

pub(crate) struct Suppression {
    /// 1-based line of the comment.
    pub(crate) line: u32,
    pub(crate) column: u32,
    pub(crate) end_column: u32,
    pub(crate) snippet: String,
    pub(crate) rule_ids: Vec<String>,
    pub(crate) until: Option<NaiveDate>,
    pub(crate) problem: Option<String>,
}

static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    constant_regex(r"(?:#|//|/\*|--|;|<!--|\*)\s*codeinsight-ignore\b(?P<rest>.*)")
});
static REASON: LazyLock<Regex> = LazyLock::new(|| constant_regex(r#"reason\s*=\s*"[^"]*""#));
static UNTIL: LazyLock<Regex> = LazyLock::new(|| constant_regex(r"until\s*=\s*(?P<date>\S+)"));

pub(crate) fn parse(content: &str) -> Vec<Suppression> {
    if !content.contains("codeinsight-ignore") {
        return Vec::new();
    }
    let mut suppressions = Vec::new();
    for (index, line) in content.lines().enumerate() {
        let Some(captures) = DIRECTIVE.captures(line) else {
            continue;
        };
        let whole = captures.get(0).map_or(0..0, |m| m.range());
        let mut rest = captures.name("rest").map_or("", |m| m.as_str()).to_owned();
        for terminator in ["*/", "-->"] {
            if let Some(at) = rest.find(terminator) {
                rest.truncate(at);
            }
        }
        let mut problem = None;
        let mut until = None;
        if let Some(captures) = UNTIL.captures(&rest) {
            let date = captures.name("date").map_or("", |m| m.as_str());
            match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
                Ok(parsed) => until = Some(parsed),
                Err(_) => problem = Some(format!("`until={date}` is not a date (use YYYY-MM-DD)")),
            }
        }
        let without_options = UNTIL
            .replace_all(&REASON.replace_all(&rest, ""), "")
            .into_owned();
        let body = without_options.trim_start();
        let rule_ids = match body.strip_prefix(':') {
            Some(list) => list
                .split(|c: char| c == ',' || c.is_whitespace())
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>(),
            None => Vec::new(),
        };
        if rule_ids.is_empty() && problem.is_none() {
            problem = Some(
                "`codeinsight-ignore` must name the rules it suppresses, e.g. `codeinsight-ignore: python/eval-input`"
                    .to_owned(),
            );
        }
        let column = line[..whole.start].chars().count() as u32 + 1;
        suppressions.push(Suppression {
            line: index as u32 + 1,
            column,
            end_column: column + line[whole.clone()].chars().count() as u32,
            snippet: line[whole].trim_end().to_owned(),
            rule_ids,
            until,
            problem,
        });
    }
    suppressions
}

/// Removes suppressed findings and appends a finding for each suppression problem.
pub(crate) fn apply(
    findings: Vec<Finding>,
    suppressions: &[Suppression],
    is_known_rule: impl Fn(&str) -> bool,
    path: &str,
    today: NaiveDate,
) -> Vec<Finding> {
    if suppressions.is_empty() {
        return findings;
    }
    let mut used = vec![vec![false; 0]; suppressions.len()];
    for (index, suppression) in suppressions.iter().enumerate() {
        used[index] = vec![false; suppression.rule_ids.len()];
    }
    let active = |suppression: &Suppression| {
        suppression.problem.is_none() && suppression.until.is_none_or(|until| until >= today)
    };
    let mut kept = Vec::with_capacity(findings.len());
    'findings: for finding in findings {
        for (index, suppression) in suppressions.iter().enumerate() {
            if !active(suppression)
                || !(finding.line == suppression.line || finding.line == suppression.line + 1)
            {
                continue;
            }
            if let Some(position) = suppression
                .rule_ids
                .iter()
                .position(|id| *id == finding.rule_id)
            {
                used[index][position] = true;
                continue 'findings;
            }
        }
        kept.push(finding);
    }
    for (index, suppression) in suppressions.iter().enumerate() {
        let report = |rule_id: &str, message: String| Finding {
            rule_id: rule_id.to_owned(),
            source: "codeinsight".to_owned(),
            severity: Severity::Info,
            category: "maintainability".to_owned(),
            message,
            path: path.to_owned(),
            line: suppression.line,
            column: suppression.column,
            end_line: suppression.line,
            end_column: suppression.end_column,
            snippet: suppression.snippet.clone(),
            fingerprint: String::new(),
            fix: None,
            flow: Vec::new(),
        };
        if let Some(problem) = &suppression.problem {
            kept.push(report(
                MALFORMED_ID,
                format!("malformed suppression: {problem}"),
            ));
            continue;
        }
        if let Some(until) = suppression.until.filter(|&until| until < today) {
            kept.push(report(
                EXPIRED_ID,
                format!(
                    "suppression of `{}` expired on {until} and no longer applies",
                    suppression.rule_ids.join("`, `")
                ),
            ));
            continue;
        }
        for (position, id) in suppression.rule_ids.iter().enumerate() {
            let external = EXTERNAL_PREFIXES
                .iter()
                .any(|prefix| id.starts_with(prefix));
            if external {
                continue;
            }
            if !is_known_rule(id) {
                kept.push(report(
                    UNKNOWN_ID,
                    format!("suppression names unknown rule `{id}` (see `codeinsight rules`)"),
                ));
            } else if !used[index][position] {
                kept.push(report(
                    UNUSED_ID,
                    format!("suppression of `{id}` suppresses nothing on this line or the next; remove it"),
                ));
            }
        }
    }
    kept
}

/// How many `codeinsight-ignore` comments in `content` have an `until=` date before `today`: part of the result
/// cache's key, so that a cached result never outlives a suppression it applied.
pub fn expired_suppressions(content: &str, today: NaiveDate) -> usize {
    parse(content)
        .iter()
        .filter(|suppression| suppression.until.is_some_and(|until| until < today))
        .count()
}

/// Removes the findings that an active `codeinsight-ignore` comment in `content` names, and nothing else: used for
/// external linters' findings, whose suppressions [`apply`] (run by `analyze`) has already checked and reported on.
pub fn suppress(findings: Vec<Finding>, content: &str) -> Vec<Finding> {
    let suppressions = parse(content);
    if suppressions.is_empty() {
        return findings;
    }
    let today = chrono::Utc::now().date_naive();
    findings
        .into_iter()
        .filter(|finding| {
            !suppressions.iter().any(|suppression| {
                suppression.problem.is_none()
                    && suppression.until.is_none_or(|until| until >= today)
                    && (finding.line == suppression.line || finding.line == suppression.line + 1)
                    && suppression.rule_ids.contains(&finding.rule_id)
            })
        })
        .collect()
}

pub(crate) fn rule_infos() -> Vec<RuleInfo> {
    let info = |id: &str, message: &str, docs: &str| RuleInfo {
        id: id.to_owned(),
        language: None,
        severity: Severity::Info,
        category: "maintainability".to_owned(),
        message: message.to_owned(),
        docs: docs.to_owned(),
        fix_safety: None,
        source: "codeinsight".to_owned(),
        origin: "built-in".to_owned(),
        group: super::rules::RuleGroup::Default,
        tests: super::rules::TestPolicy::Apply,
        equivalents: Vec::new(),
        cwe: Vec::new(),
        precision: None,
        taint: false,
    };
    let syntax = "Syntax: `codeinsight-ignore: rule-id[, rule-id] [reason=\"...\"] [until=YYYY-MM-DD]` in a comment on \
                  the finding's line or the line above.";
    vec![
        info(
            UNUSED_ID,
            "suppression comment suppresses nothing",
            &format!(
                "**What it flags**: a `codeinsight-ignore` comment whose rule did not fire on that line or the next.\n\n\
                 **Why it matters**: stale suppressions hide future problems at that spot.\n\n**Fix**: remove it. {syntax}"
            ),
        ),
        info(
            UNKNOWN_ID,
            "suppression names a rule that does not exist",
            &format!(
                "**What it flags**: a `codeinsight-ignore` comment naming an id no rule has (often a typo).\n\n\
                 **Fix**: use an id from `codeinsight rules`. {syntax}"
            ),
        ),
        info(
            EXPIRED_ID,
            "suppression has expired",
            &format!(
                "**What it flags**: a suppression whose `until=` date has passed; it no longer suppresses.\n\n\
                 **Fix**: fix the finding, or extend the date with a reason. {syntax}"
            ),
        ),
        info(
            MALFORMED_ID,
            "suppression comment cannot be read",
            &format!(
                "**What it flags**: a `codeinsight-ignore` without rule ids or with a bad date.\n\n**Fix**: {syntax}"
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::expired_suppressions;

    #[test]
    fn the_count_of_expired_suppressions_changes_on_the_day_after_until() {
        let content = "x = eval(s)  # codeinsight-ignore: python/eval-exec-dynamic until=2026-12-01\n\
                       y = 1  # codeinsight-ignore: python/bare-except\n";
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        assert_eq!(expired_suppressions(content, day(1)), 0);
        assert_eq!(expired_suppressions(content, day(2)), 1);
        assert_eq!(expired_suppressions("no comments here", day(2)), 0);
    }
}

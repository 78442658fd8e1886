//! SARIF 2.1.0, the format GitHub code scanning and most security dashboards ingest. One run per report: the rules
//! that fired (with their documentation from the rule set), one result per finding with its level, fingerprint,
//! baseline state and fixes, and an invocation that says whether every file was reviewed. GitHub refuses uploads
//! over 25,000 results per run or 10 MB gzipped, so the most severe results are kept within both limits and the cut
//! is stated in the file itself (`run.properties` and a tool notification).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde_json::{Map, Value, json};

use crate::protocol::{Finding, RuleDoc, Severity};

use super::locations::char_position;
use super::ranking::ranked;
use super::report::{FileReport, FileStatus, Report};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/codeinsight/codeinsight";

/// Upload limits a SARIF file is kept within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SarifLimits {
    pub max_results: usize,
    pub max_gzipped_bytes: usize,
}

impl SarifLimits {
    /// GitHub code scanning's limits for one upload.
    pub const GITHUB: SarifLimits = SarifLimits {
        max_results: 25_000,
        max_gzipped_bytes: 10 * 1024 * 1024,
    };
}

/// What was left out to stay within [`SarifLimits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SarifTruncation {
    pub kept: usize,
    pub omitted: usize,
}

impl SarifTruncation {
    pub fn message(&self) -> String {
        format!(
            "SARIF truncated to the {} most severe results to stay within GitHub's upload limits (25,000 results, \
             10 MB gzipped); {} more are in the other report formats",
            self.kept, self.omitted
        )
    }
}

/// Writes the report as SARIF within GitHub's limits.
pub fn render_sarif(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    render_sarif_within(report, SarifLimits::GITHUB, out).map(|_| ())
}

/// Writes the report as SARIF within `limits` and says what, if anything, was cut.
pub fn render_sarif_within(
    report: &Report,
    limits: SarifLimits,
    out: &mut dyn Write,
) -> io::Result<Option<SarifTruncation>> {
    let results = all_results(report);
    let total = results.len();
    let mut keep = total.min(limits.max_results);
    loop {
        let truncation = (keep < total).then_some(SarifTruncation {
            kept: keep,
            omitted: total - keep,
        });
        let document = document(report, &results[..keep], truncation);
        let bytes = serde_json::to_vec_pretty(&document).map_err(io::Error::other)?;
        let gzipped = gzipped_size(&bytes)?;
        if gzipped <= limits.max_gzipped_bytes || keep == 0 {
            out.write_all(&bytes)?;
            writeln!(out)?;
            return Ok(truncation);
        }
        // Results are similar in size: shrink in proportion, with a margin, and at least by one.
        let ratio = limits.max_gzipped_bytes as f64 / gzipped as f64 * 0.9;
        #[allow(
            clippy::cast_sign_loss,
            reason = "the ratio is positive, and `as` saturates at zero anyway"
        )]
        let next = (keep as f64 * ratio) as usize;
        keep = next.min(keep - 1);
    }
}

/// The truncation [`render_sarif`] applies to this report, for a warning on stderr.
pub fn sarif_truncation(report: &Report) -> io::Result<Option<SarifTruncation>> {
    render_sarif_within(report, SarifLimits::GITHUB, &mut io::sink())
}

fn gzipped_size(bytes: &[u8]) -> io::Result<usize> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

/// A result before it is placed in the document: the finding and whether the baseline knew it.
struct Entry<'a> {
    file: &'a FileReport,
    finding: &'a Finding,
    baselined: bool,
}

/// New findings most severe first, then baselined ones (the first to go when the file is too large).
fn all_results(report: &Report) -> Vec<Entry<'_>> {
    let mut entries: Vec<Entry<'_>> = ranked(report)
        .into_iter()
        .map(|(file, finding)| Entry {
            file,
            finding,
            baselined: false,
        })
        .collect();
    for file in &report.files {
        entries.extend(
            file.baselined
                .iter()
                .chain(&file.outside_diff)
                .map(|finding| Entry {
                    file,
                    finding,
                    baselined: true,
                }),
        );
    }
    entries
}

/// SARIF's level for a severity: critical and major are errors, minor a warning, info a note.
pub fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::Major => "error",
        Severity::Minor => "warning",
        Severity::Info => "note",
    }
}

/// GitHub's `security-severity` score for a security rule of this severity.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.0",
        Severity::Major => "7.0",
        Severity::Minor => "4.0",
        Severity::Info => "1.0",
    }
}

fn document(report: &Report, entries: &[Entry<'_>], truncation: Option<SarifTruncation>) -> Value {
    // Rules in id order; a result points at its rule by index.
    let mut rules: BTreeMap<&str, &Finding> = BTreeMap::new();
    for entry in entries {
        rules.entry(&entry.finding.rule_id).or_insert(entry.finding);
    }
    let rule_index: BTreeMap<&str, usize> = rules
        .keys()
        .enumerate()
        .map(|(index, id)| (*id, index))
        .collect();
    let rule_descriptors: Vec<Value> = rules
        .iter()
        .map(|(id, first)| {
            let doc = report
                .rules
                .binary_search_by(|doc| doc.id.as_str().cmp(id))
                .ok()
                .map(|index| &report.rules[index]);
            rule_descriptor(id, first, doc)
        })
        .collect();
    let results: Vec<Value> = entries
        .iter()
        .map(|entry| {
            result(
                entry,
                rule_index.get(entry.finding.rule_id.as_str()).copied(),
            )
        })
        .collect();
    let mut notifications: Vec<Value> = Vec::new();
    for skipped in report.not_reviewed() {
        notifications.push(notification(
            "warning",
            &format!("`{}` was not reviewed: {}", skipped.path, skipped.reason),
            Some(&skipped.path),
        ));
    }
    for file in &report.files {
        if file.status != FileStatus::Reviewed {
            let problem = file.problem.as_deref().unwrap_or("not fully reviewed");
            notifications.push(notification(
                "warning",
                &format!("`{}` was not fully reviewed: {problem}", file.path),
                Some(&file.path),
            ));
        }
    }
    if let Some(truncation) = truncation {
        notifications.push(notification("warning", &truncation.message(), None));
    }
    let mut properties = Map::new();
    properties.insert("verdict".into(), json!(report.verdict.outcome));
    properties.insert("exitCode".into(), json!(report.verdict.exit_code));
    properties.insert("verdictSummary".into(), json!(report.verdict.summary));
    properties.insert("baselined".into(), json!(report.counts.baselined));
    properties.insert("truncated".into(), json!(truncation.is_some()));
    if let Some(truncation) = truncation {
        properties.insert("omittedResults".into(), json!(truncation.omitted));
    }
    let run_id = report.run_id.as_deref().unwrap_or("local");
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "CodeInsight",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": INFORMATION_URI,
                    "rules": rule_descriptors,
                }
            },
            "automationDetails": { "id": format!("codeinsight/{run_id}") },
            "invocations": [{
                "executionSuccessful": report.not_reviewed().next().is_none()
                    && report.files.iter().all(|file| file.status == FileStatus::Reviewed),
                "exitCode": report.verdict.exit_code,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": properties,
        }]
    })
}

fn notification(level: &str, text: &str, path: Option<&str>) -> Value {
    let mut value = json!({ "level": level, "message": { "text": text } });
    if let Some(path) = path {
        value["locations"] =
            json!([{ "physicalLocation": { "artifactLocation": { "uri": uri(path) } } }]);
    }
    value
}

fn rule_descriptor(id: &str, first: &Finding, doc: Option<&RuleDoc>) -> Value {
    let severity = doc.map_or(first.severity, |doc| doc.severity);
    let category = doc.map_or(first.category.as_str(), |doc| doc.category.as_str());
    let short = doc.map_or(first.message.as_str(), |doc| doc.message.as_str());
    let docs = doc
        .map(|doc| doc.docs.trim())
        .filter(|docs| !docs.is_empty())
        .map_or_else(|| format!("Reported by `{}`.", first.source), str::to_owned);
    let mut properties = Map::new();
    // Tags as GitHub code scanning reads them: `security` and `external/cwe/cwe-079` on security rules.
    let mut tags = vec![json!(category)];
    if let Some(doc) = doc {
        tags.extend(
            doc.cwe
                .iter()
                .map(|cwe| json!(format!("external/cwe/cwe-{cwe:03}"))),
        );
    }
    properties.insert("tags".into(), Value::Array(tags));
    if category == "security" {
        properties.insert(
            "security-severity".into(),
            json!(security_severity(severity)),
        );
    }
    // Precision as measured by triage on real projects, in CodeQL's words; absent when never measured.
    if let Some(precision) = doc.and_then(|doc| doc.precision.as_ref()) {
        properties.insert("precision".into(), json!(precision.level));
        properties.insert(
            "measuredPrecision".into(),
            json!({
                "sampled": precision.sampled,
                "true": precision.true_positives,
                "false": precision.false_positives,
                "debatable": precision.debatable,
            }),
        );
    }
    json!({
        "id": id,
        "name": rule_name(id),
        "shortDescription": { "text": first_line(short) },
        "fullDescription": { "text": first_paragraph(&docs) },
        "help": { "text": docs, "markdown": docs },
        "defaultConfiguration": { "level": sarif_level(severity) },
        "properties": properties,
    })
}

/// `python/yaml-unsafe-load` → `YamlUnsafeLoad`: SARIF names are identifiers.
fn rule_name(id: &str) -> String {
    id.rsplit('/')
        .next()
        .unwrap_or(id)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or(text).trim();
    if line.is_empty() {
        "CodeInsight finding".to_owned()
    } else {
        line.to_owned()
    }
}

fn first_paragraph(text: &str) -> String {
    let paragraph: Vec<&str> = text
        .lines()
        .skip_while(|line| line.trim().is_empty() || line.starts_with('#'))
        .take_while(|line| !line.trim().is_empty())
        .collect();
    if paragraph.is_empty() {
        first_line(text)
    } else {
        paragraph.join(" ")
    }
}

/// Paths are relative to the repository root, as code scanning expects; separators are always `/`.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.trim_start_matches("./");
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                encoded.push(byte as char);
            }
            _ => {
                let _ = write!(encoded, "%{byte:02X}");
            }
        }
    }
    encoded
}

fn result(entry: &Entry<'_>, rule_index: Option<usize>) -> Value {
    let finding = entry.finding;
    let mut region = json!({
        "startLine": finding.line.max(1),
        "startColumn": finding.column.max(1),
        "endLine": finding.end_line.max(finding.line).max(1),
        "endColumn": finding.end_column.max(1),
    });
    if region["endLine"] == region["startLine"] && finding.end_column <= finding.column {
        region["endColumn"] = json!(finding.column.max(1) + 1);
    }
    if !finding.snippet.is_empty() {
        region["snippet"] = json!({ "text": finding.snippet });
    }
    let mut value = json!({
        "ruleId": finding.rule_id,
        "level": sarif_level(finding.severity),
        "message": { "text": finding.message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri(&entry.file.path) },
                "region": region,
            }
        }],
        "partialFingerprints": { "codeinsightFingerprint/v1": finding.fingerprint },
        "baselineState": if entry.baselined { "unchanged" } else { "new" },
        "properties": {
            "severity": finding.severity,
            "category": finding.category,
            "source": finding.source,
        },
    });
    if let Some(index) = rule_index {
        value["ruleIndex"] = json!(index);
    }
    // A data-flow finding's path, from the source to the sink, as one thread flow.
    if !finding.flow.is_empty() {
        let locations: Vec<Value> = finding
            .flow
            .iter()
            .map(|step| {
                json!({
                    "location": {
                        "physicalLocation": {
                            "artifactLocation": { "uri": uri(&entry.file.path) },
                            "region": {
                                "startLine": step.line.max(1),
                                "startColumn": step.column.max(1),
                                "endLine": step.end_line.max(step.line).max(1),
                                "endColumn": step.end_column.max(1),
                            },
                        },
                        "message": { "text": step.label },
                    }
                })
            })
            .collect();
        value["codeFlows"] = json!([{ "threadFlows": [{ "locations": locations }] }]);
    }
    if let (Some(fix), Some(source)) = (&finding.fix, entry.file.source.as_deref()) {
        let replacements: Vec<Value> = fix
            .edits
            .iter()
            .map(|edit| {
                let start = char_position(source, edit.start);
                let end = char_position(source, edit.end);
                json!({
                    "deletedRegion": {
                        "startLine": start.line,
                        "startColumn": start.column,
                        "endLine": end.line,
                        "endColumn": end.column,
                    },
                    "insertedContent": { "text": edit.replacement },
                })
            })
            .collect();
        if !replacements.is_empty() {
            value["fixes"] = json!([{
                "description": { "text": fix.description },
                "artifactChanges": [{
                    "artifactLocation": { "uri": uri(&entry.file.path) },
                    "replacements": replacements,
                }],
            }]);
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::{SarifLimits, render_sarif_within, rule_name, uri};
    use crate::protocol::{Finding, Severity};
    use crate::render::report::tests_support::report_with;

    fn finding(line: u32, severity: Severity) -> Finding {
        Finding {
            rule_id: "python/eval-input".into(),
            source: "codeinsight".into(),
            severity,
            category: "security".into(),
            message: format!("eval of input number {}", line * 104_729),
            path: "app.py".into(),
            line,
            column: 1,
            end_line: line,
            end_column: 5,
            snippet: "eval".into(),
            fingerprint: format!("fp{line}-{}", line * 7919),
            fix: None,
            flow: Vec::new(),
        }
    }

    #[test]
    fn results_past_the_limit_are_cut_least_severe_first_and_the_cut_is_stated() {
        let findings: Vec<Finding> = (1..=30)
            .map(|line| {
                finding(
                    line,
                    if line % 3 == 0 {
                        Severity::Critical
                    } else {
                        Severity::Minor
                    },
                )
            })
            .collect();
        let report = report_with(findings);
        let limits = SarifLimits {
            max_results: 12,
            max_gzipped_bytes: 10 * 1024 * 1024,
        };
        let mut out = Vec::new();
        let truncation = render_sarif_within(&report, limits, &mut out).unwrap();
        assert_eq!(truncation.map(|t| (t.kept, t.omitted)), Some((12, 18)));
        let sarif: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 12);
        assert_eq!(results.iter().filter(|r| r["level"] == "error").count(), 10);
        assert_eq!(sarif["runs"][0]["properties"]["omittedResults"], 18);
        let notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"].to_string();
        assert!(notes.contains("truncated"), "{notes}");

        let mut full = Vec::new();
        render_sarif_within(&report, SarifLimits::GITHUB, &mut full).unwrap();
        let budget = super::gzipped_size(&full).unwrap() * 3 / 4;
        let tiny = SarifLimits {
            max_results: 25_000,
            max_gzipped_bytes: budget,
        };
        let mut out = Vec::new();
        let truncation = render_sarif_within(&report, tiny, &mut out)
            .unwrap()
            .unwrap();
        assert!(truncation.kept < 30 && truncation.omitted > 0);
        assert!(super::gzipped_size(&out).unwrap() <= budget);
    }

    #[test]
    fn rule_descriptors_tag_security_rules_with_their_cwe_and_score_only_them() {
        let mut security = finding(1, Severity::Critical);
        security.rule_id = "python/yaml-unsafe-load".into();
        let mut style = finding(2, Severity::Info);
        style.rule_id = "go/strings-replace-all".into();
        style.category = "maintainability".into();
        let builtin = crate::engine::RuleSet::builtin().unwrap();
        let mut report = report_with(vec![security, style]);
        // As the server gives them: the docs of the rules the findings name, sorted by id.
        report.rules = report
            .rule_ids()
            .into_iter()
            .filter_map(|id| builtin.get(id))
            .map(crate::engine::RuleInfo::doc)
            .collect();
        let mut out = Vec::new();
        render_sarif_within(&report, SarifLimits::GITHUB, &mut out).unwrap();
        let sarif: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        let rule =
            |id: &str| rules.iter().find(|rule| rule["id"] == id).unwrap()["properties"].clone();
        let yaml = rule("python/yaml-unsafe-load");
        assert_eq!(
            yaml["tags"],
            serde_json::json!(["security", "external/cwe/cwe-502"])
        );
        // The rule's own severity (major) scores it, not the finding's.
        assert_eq!(yaml["security-severity"], "7.0");
        let replace = rule("go/strings-replace-all");
        assert_eq!(replace["tags"], serde_json::json!(["maintainability"]));
        assert!(replace.get("security-severity").is_none(), "{replace}");
        // Precision is stated only as measured: the level matches the triage `codeinsight rules` reads.
        let measured = builtin
            .get("go/strings-replace-all")
            .and_then(|info| info.precision);
        assert_eq!(
            replace.get("precision").and_then(|p| p.as_str()),
            measured.map(|p| p.level())
        );
    }

    #[test]
    fn names_and_uris_are_sarif_safe() {
        assert_eq!(rule_name("python/yaml-unsafe-load"), "YamlUnsafeLoad");
        assert_eq!(uri("./src/a b#.py"), "src/a%20b%23.py");
    }
}

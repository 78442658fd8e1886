//! Baselines: the findings a project has accepted for now, recorded by fingerprint in `.codeinsight/baseline.json`
//! so that CI gates only on new ones. Fingerprints hash the rule, the path and the normalised snippet (not the line),
//! so a baselined finding stays baselined when code above it moves. Baselined findings are never hidden: they are
//! listed apart in the report, counted in the verdict and marked `unchanged` in SARIF.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::client::Snapshot;
use crate::protocol::{Finding, Severity};
use crate::render::Report;

use super::failure::Failure;
use super::fixes::write_atomically;

/// Bumped when an entry's meaning changes; a file with a newer version is refused rather than misread.
pub const BASELINE_VERSION: u32 = 1;

/// Where `baseline create` writes and where `review` looks when `--baseline` has no value.
pub const DEFAULT_BASELINE: &str = ".codeinsight/baseline.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub tool: String,
    pub tool_version: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub findings: Vec<BaselineEntry>,
}

/// One accepted finding. Only the fingerprint is matched; the rest lets people read and review the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule_id: String,
    pub path: String,
    pub severity: Severity,
    pub message: String,
}

impl Baseline {
    /// Every finding of the report, listed or hidden by `--report-min` (hidden ones are not in the report, so
    /// `baseline create` reviews with `--report-min info`).
    pub fn from_report(report: &Report) -> Baseline {
        let mut findings: Vec<BaselineEntry> = report
            .files
            .iter()
            .flat_map(|file| file.findings.iter().chain(&file.baselined))
            .map(|finding| BaselineEntry {
                fingerprint: finding.fingerprint.clone(),
                rule_id: finding.rule_id.clone(),
                path: finding.path.clone(),
                severity: finding.severity,
                message: finding.message.clone(),
            })
            .collect();
        findings.sort_by(|a, b| {
            (&a.path, &a.rule_id, &a.fingerprint).cmp(&(&b.path, &b.rule_id, &b.fingerprint))
        });
        findings.dedup_by(|a, b| a.fingerprint == b.fingerprint);
        Baseline {
            version: BASELINE_VERSION,
            tool: "codeinsight".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            created_at: chrono::Utc::now(),
            findings,
        }
    }

    pub fn load(path: &Path) -> Result<Baseline, Failure> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            Failure::usage(format!(
                "cannot read the baseline `{}`: {error}",
                path.display()
            ))
            .with_help("create one with `codeinsight baseline create`")
        })?;
        let baseline: Baseline = serde_json::from_str(&text).map_err(|error| {
            Failure::usage(format!("invalid baseline `{}`: {error}", path.display()))
                .with_help("recreate it with `codeinsight baseline create`")
        })?;
        if baseline.version > BASELINE_VERSION {
            return Err(Failure::usage(format!(
                "the baseline `{}` has version {}, newer than this codeinsight understands ({BASELINE_VERSION})",
                path.display(),
                baseline.version
            ))
            .with_help("upgrade codeinsight, or recreate the baseline"));
        }
        Ok(baseline)
    }

    /// Writes the baseline atomically, creating its directory.
    pub fn write(&self, path: &Path) -> Result<(), Failure> {
        let mut bytes = serde_json::to_vec_pretty(self)
            .map_err(|error| Failure::output(path, &std::io::Error::other(error)))?;
        bytes.push(b'\n');
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| Failure::output(path, &error))?;
        }
        write_atomically(path, &bytes).map_err(|error| Failure::output(path, &error))
    }

    fn fingerprints(&self) -> HashSet<&str> {
        self.findings
            .iter()
            .map(|entry| entry.fingerprint.as_str())
            .collect()
    }
}

/// Findings taken out of a run before the gate, by file path, to be put back into the report beside the gated ones.
#[derive(Debug, Default)]
pub struct SetAside {
    pub by_path: BTreeMap<String, Vec<Finding>>,
}

impl SetAside {
    pub fn count(&self) -> usize {
        self.by_path.values().map(Vec::len).sum()
    }

    /// Takes every finding `keep_out` selects out of the snapshot.
    pub fn take(snapshot: &mut Snapshot, mut keep_out: impl FnMut(&Finding) -> bool) -> SetAside {
        let mut set_aside = SetAside::default();
        for job in &mut snapshot.jobs {
            let Some(results) = job.results.as_mut() else {
                continue;
            };
            let (out, kept): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut results.findings)
                .into_iter()
                .partition(|finding| keep_out(finding));
            results.findings = kept;
            if !out.is_empty() {
                set_aside
                    .by_path
                    .entry(job.file_path.clone())
                    .or_default()
                    .extend(out);
            }
        }
        set_aside
    }
}

/// Takes the snapshot's baselined findings out, so the gate never sees them.
pub fn split_baselined(snapshot: &mut Snapshot, baseline: &Baseline) -> SetAside {
    let fingerprints = baseline.fingerprints();
    SetAside::take(snapshot, |finding| {
        fingerprints.contains(finding.fingerprint.as_str())
    })
}

/// Puts baselined findings back into the report, counted and named in the verdict.
pub fn attach_baselined(report: &mut Report, baselined: SetAside) {
    let count = baselined.count();
    if count == 0 {
        return;
    }
    for (path, mut findings) in baselined.by_path {
        if let Some(file) = report.files.iter_mut().find(|file| file.path == path) {
            findings.sort_by(|a, b| {
                (a.line, a.column, &a.rule_id).cmp(&(b.line, b.column, &b.rule_id))
            });
            file.baselined.extend(findings);
        }
    }
    report.counts.baselined += count;
    report.verdict.summary = format!(
        "{}; {} not gated",
        report.verdict.summary,
        crate::render::plural(count, "baselined finding", "baselined findings")
    );
}

/// `--baseline` without a value, or with one.
pub fn baseline_path(value: &str, root: &Path) -> PathBuf {
    if value.is_empty() {
        root.join(DEFAULT_BASELINE)
    } else {
        PathBuf::from(value)
    }
}

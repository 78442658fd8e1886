//! What a review covers and what it gates on, beyond the thresholds: `--changed` narrows the files to those changed
//! against a base, `--new-only` sets aside findings outside added or modified lines, and `--baseline` sets aside
//! findings the project has accepted. Set-aside findings are put back into the report, listed apart and counted in
//! the verdict, so nothing disappears silently. When git cannot say what changed (no repository, a shallow clone
//! without the base), the review falls back to every file and every finding, and says so on stderr.

use std::path::{Path, PathBuf};

use crate::client::Snapshot;
use crate::render::Report;

use super::args::ScopeArgs;
use super::baseline::{Baseline, SetAside, attach_baselined, baseline_path, split_baselined};
use super::changed::{ChangedCode, changed_code};
use super::failure::Failure;
use super::inputs::Inputs;
use super::printer::Printer;

pub struct Scope {
    cwd: PathBuf,
    changed: Option<ChangedCode>,
    changed_only: bool,
    new_only: bool,
    baseline: Option<Baseline>,
}

/// Findings taken out of the run before the gate.
pub struct SetAsides {
    baselined: SetAside,
    outside_diff: SetAside,
}

impl Scope {
    pub fn resolve(
        args: &ScopeArgs,
        root: &Path,
        cwd: &Path,
        printer: Printer,
    ) -> Result<Scope, Failure> {
        let baseline = match &args.baseline {
            Some(value) => Some(Baseline::load(&baseline_path(value, root))?),
            None => None,
        };
        let changed = if args.changed || args.new_only {
            match changed_code(cwd, args.base.as_deref()) {
                Ok(changed) => {
                    if let Some(note) = &changed.note {
                        printer.warn(note);
                    }
                    printer.status(&format!(
                        "codeinsight: {} against {}",
                        crate::render::plural(changed.files.len(), "changed file", "changed files"),
                        changed.base
                    ));
                    Some(changed)
                }
                Err(reason) => {
                    let flags = match (args.changed, args.new_only) {
                        (true, true) => "`--changed` and `--new-only`",
                        (true, false) => "`--changed`",
                        _ => "`--new-only`",
                    };
                    printer.warn(&format!(
                        "cannot tell what changed: {reason}; ignoring {flags}: reviewing every given file and gating on every finding"
                    ));
                    None
                }
            }
        } else {
            None
        };
        Ok(Scope {
            cwd: cwd.to_path_buf(),
            changed,
            changed_only: args.changed,
            new_only: args.new_only,
            baseline,
        })
    }

    /// `--changed`: keeps only changed files (and the skips among them).
    pub fn filter_inputs(&self, inputs: &mut Inputs) {
        let Some(changed) = self.changed.as_ref().filter(|_| self.changed_only) else {
            return;
        };
        inputs.files.retain(|file| {
            file.disk_path
                .as_ref()
                .is_none_or(|path| changed.contains_file(&self.cwd.join(path)))
        });
        inputs
            .skipped
            .retain(|file| changed.contains_file(&self.cwd.join(&file.path)));
    }

    /// Takes baselined findings and (with `--new-only`) findings outside the diff out of the run.
    pub fn set_aside(&self, snapshot: &mut Snapshot) -> SetAsides {
        let baselined = match &self.baseline {
            Some(baseline) => split_baselined(snapshot, baseline),
            None => SetAside::default(),
        };
        let outside_diff = match self.changed.as_ref().filter(|_| self.new_only) {
            Some(changed) => SetAside::take(snapshot, |finding| {
                !changed.touches(&self.cwd.join(&finding.path), finding)
            }),
            None => SetAside::default(),
        };
        SetAsides {
            baselined,
            outside_diff,
        }
    }

    /// Puts the set-aside findings back into the report beside the gated ones.
    pub fn attach(set_asides: SetAsides, report: &mut Report) {
        attach_baselined(report, set_asides.baselined);
        let count = set_asides.outside_diff.count();
        if count == 0 {
            return;
        }
        for (path, mut findings) in set_asides.outside_diff.by_path {
            if let Some(file) = report.files.iter_mut().find(|file| file.path == path) {
                findings.sort_by(|a, b| {
                    (a.line, a.column, &a.rule_id).cmp(&(b.line, b.column, &b.rule_id))
                });
                file.outside_diff.extend(findings);
            }
        }
        report.counts.outside_diff += count;
        report.verdict.summary = format!(
            "{}; {} outside changed lines not gated (--new-only)",
            report.verdict.summary,
            crate::render::plural(count, "finding", "findings")
        );
    }
}

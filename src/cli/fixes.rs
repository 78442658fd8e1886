//! `--fix` and `--diff`: safe fixes (and unsafe ones with `--unsafe-fixes`) from a finished run, applied to the
//! files that were reviewed and only when a file still has the content the server saw (its SHA-256 equals the job's `content_sha256`). Writes are atomic: a
//! temporary file beside the original, then a rename.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::client::Snapshot;
use crate::engine::apply_fixes;
use crate::protocol::{Applicability, Fix, JobStatus, Severity, sha256_hex};
use crate::render::FixSummary;

use super::failure::Failure;

/// The fixes for one file, already applied in memory.
pub struct FileFix {
    pub display_path: String,
    pub disk_path: PathBuf,
    pub original: String,
    pub fixed: String,
    /// Fingerprints of the findings these fixes resolve.
    pub fingerprints: Vec<String>,
}

pub struct FixPlan {
    pub files: Vec<FileFix>,
    pub changed_since_review: usize,
    /// Unsafe fixes of reported findings left out because `--unsafe-fixes` was not given.
    pub unsafe_left_out: usize,
}

impl FixPlan {
    pub fn fix_count(&self) -> usize {
        self.files.iter().map(|file| file.fingerprints.len()).sum()
    }
}

/// Works out which fixes would apply (safe ones, and unsafe ones too with `unsafe_fixes`), without writing
/// anything. Suggestions are never applied.
pub fn plan(
    snapshot: &Snapshot,
    disk_paths: &HashMap<String, PathBuf>,
    report_min: Severity,
    unsafe_fixes: bool,
) -> Result<FixPlan, Failure> {
    let mut plan = FixPlan {
        files: Vec::new(),
        changed_since_review: 0,
        unsafe_left_out: 0,
    };
    let wanted = |applicability: Applicability| match applicability {
        Applicability::Safe => true,
        Applicability::Unsafe => unsafe_fixes,
        Applicability::Suggestion => false,
    };
    for job in &snapshot.jobs {
        let (JobStatus::Completed, Some(results), Some(disk_path)) =
            (job.status, &job.results, disk_paths.get(&job.file_path))
        else {
            continue;
        };
        let reported = || {
            results
                .findings
                .iter()
                .filter(|finding| finding.severity >= report_min)
        };
        if !unsafe_fixes {
            plan.unsafe_left_out += reported()
                .filter(|finding| {
                    finding
                        .fix
                        .as_ref()
                        .is_some_and(|fix| fix.applicability == Applicability::Unsafe)
                })
                .count();
        }
        let mut candidates: Vec<(&Fix, &str)> = reported()
            .filter_map(|finding| {
                finding
                    .fix
                    .as_ref()
                    .filter(|fix| wanted(fix.applicability))
                    .map(|fix| (fix, finding.fingerprint.as_str()))
            })
            .collect();
        // Where fixes overlap, a safe one goes in before an unsafe one.
        candidates.sort_by_key(|(fix, _)| fix.applicability != Applicability::Safe);
        if candidates.is_empty() {
            continue;
        }
        let bytes =
            std::fs::read(disk_path).map_err(|error| Failure::unreadable(disk_path, &error))?;
        if sha256_hex(&bytes) != job.content_sha256 {
            plan.changed_since_review += 1;
            continue;
        }
        let Ok(original) = String::from_utf8(bytes) else {
            plan.changed_since_review += 1;
            continue;
        };
        // Accept fixes one by one so that we know exactly which findings are resolved; an overlapping fix is left
        // for the next run.
        let mut accepted: Vec<&Fix> = Vec::new();
        let mut fingerprints = Vec::new();
        let mut fixed = original.clone();
        for (fix, fingerprint) in candidates {
            let mut trial = accepted.clone();
            trial.push(fix);
            if let Ok(outcome) = apply_fixes(&original, &trial) {
                if outcome.applied == trial.len() {
                    accepted = trial;
                    fingerprints.push(fingerprint.to_owned());
                    fixed = outcome.output;
                }
            }
        }
        if fixed != original {
            plan.files.push(FileFix {
                display_path: job.file_path.clone(),
                disk_path: disk_path.clone(),
                original,
                fixed,
                fingerprints,
            });
        }
    }
    Ok(plan)
}

/// Writes every planned file atomically and says what was done.
pub fn apply(plan: &FixPlan) -> Result<(FixSummary, HashSet<String>), Failure> {
    let mut resolved = HashSet::new();
    for file in &plan.files {
        write_atomically(&file.disk_path, file.fixed.as_bytes())
            .map_err(|error| Failure::output(&file.disk_path, &error))?;
        resolved.extend(file.fingerprints.iter().cloned());
    }
    Ok((
        FixSummary {
            applied: plan.fix_count(),
            files: plan.files.len(),
            files_changed_since_review: plan.changed_since_review,
            unsafe_left_out: plan.unsafe_left_out,
        },
        resolved,
    ))
}

/// Writes `bytes` to a temporary file in `path`'s directory, keeps `path`'s permissions, then renames over it.
/// A path that is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO) is written to as it is: renaming over it
/// would replace the device or pipe with a plain file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|metadata| !metadata.is_file() && !metadata.is_dir()) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut file| std::io::Write::write_all(&mut file, bytes));
    }
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let name = path.file_name().map_or_else(
        || "output".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    let temporary = directory.join(format!(".{name}.codeinsight-{}.tmp", std::process::id()));
    let result = (|| {
        std::fs::write(&temporary, bytes)?;
        if let Ok(metadata) = std::fs::metadata(path) {
            std::fs::set_permissions(&temporary, metadata.permissions())?;
        }
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::path::Path;

    use super::{apply, plan};
    use crate::client::{ApiClient, Subject, follow};
    use crate::protocol::{RunFile, RunOptions, RunRequest, Severity};
    use crate::server::{EphemeralToken, ServerConfig, start};

    /// Reviews `path` on a real in-process server and returns the finished run.
    async fn review(dir: &std::path::Path, path: &std::path::Path) -> crate::client::Snapshot {
        let mut config = ServerConfig::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            format!("sqlite://{}", dir.join("fixes.db").display()),
        );
        config.ephemeral_tokens = vec![EphemeralToken {
            token: "fix-test".into(),
            user_id: "local".into(),
            admin: false,
        }];
        let running = start(config).await.unwrap();
        let client = ApiClient::new(&running.base_url(), "fix-test").unwrap();
        let created = client
            .create_run(&RunRequest {
                files: vec![RunFile {
                    path: "main.rs".into(),
                    content: std::fs::read_to_string(path).unwrap(),
                    language: None,
                }],
                options: RunOptions::default(),
                ..RunRequest::default()
            })
            .await
            .unwrap();
        let (sender, _receiver) = tokio::sync::mpsc::unbounded_channel();
        let snapshot = follow(&client, "local", &Subject::Run(created.run_id), &sender)
            .await
            .unwrap();
        running.shutdown().await;
        snapshot
    }

    #[test]
    fn a_device_or_pipe_is_written_to_not_replaced() {
        use std::os::unix::fs::FileTypeExt as _;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("report.pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        super::write_atomically(&fifo, b"report").unwrap();
        assert_eq!(reader.join().unwrap(), "report");
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        super::write_atomically(Path::new("/dev/null"), b"discarded").unwrap();
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }

    const SOURCE: &str = "fn main() {\n    let names = [String::new()];\n    let count = names.iter().collect::<Vec<_>>().len();\n    let _ = dbg!(count);\n}\n";

    #[tokio::test]
    async fn safe_fixes_apply_only_to_files_unchanged_since_the_review() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.rs");
        std::fs::write(&path, SOURCE).unwrap();
        let snapshot = review(dir.path(), &path).await;
        let disk_paths = HashMap::from([("main.rs".to_owned(), path.clone())]);

        let planned = plan(&snapshot, &disk_paths, Severity::Info, false).unwrap();
        assert_eq!(planned.files.len(), 1);
        assert_eq!(planned.fix_count(), 2);
        assert!(
            planned.files[0]
                .fixed
                .contains("let count = names.iter().count();")
        );

        // Edited after submission: left alone and counted.
        std::fs::write(&path, format!("{SOURCE}// edited\n")).unwrap();
        let planned = plan(&snapshot, &disk_paths, Severity::Info, false).unwrap();
        assert!(planned.files.is_empty());
        assert_eq!(planned.changed_since_review, 1);

        std::fs::write(&path, SOURCE).unwrap();
        let planned = plan(&snapshot, &disk_paths, Severity::Info, false).unwrap();
        let (summary, resolved) = apply(&planned).unwrap();
        assert_eq!((summary.applied, summary.files), (2, 1));
        assert_eq!(resolved.len(), 2);
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.contains("let _ = count;"), "{written}");
        // No temporary file is left behind.
        assert_eq!(
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|entry| {
                    entry
                        .as_ref()
                        .is_ok_and(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
                })
                .count(),
            0
        );
    }
}

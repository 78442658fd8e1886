//! Changed-code review: which files differ from a base revision and which of their lines were added or modified,
//! from `git` run as a subprocess (never through a shell). `--changed` reviews only those files; `--new-only` gates
//! only on findings that touch those lines. The base defaults to the merge-base with the default branch
//! (`origin/HEAD`, then `main`, then `master`). In a shallow clone the base may be missing or have no merge-base
//! with `HEAD`; the caller is told why, so it can fall back to reviewing and gating everything and say so.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::protocol::Finding;

/// Why the changed code could not be worked out; its text completes "cannot tell what changed: ...".
#[derive(Debug, thiserror::Error)]
pub enum ChangedCodeError {
    #[error("the working directory is not in a git repository")]
    NotARepository,
    #[error("the base `{reference}` is not in this clone{hint}")]
    BaseMissing {
        reference: String,
        hint: &'static str,
    },
    #[error("no default branch (`origin/HEAD`, `main` or `master`) is in this clone{hint}")]
    NoDefaultBranch { hint: &'static str },
    #[error("no merge-base between `{reference}` and HEAD: {source}")]
    NoMergeBase { reference: String, source: GitError },
    #[error(transparent)]
    Git(#[from] GitError),
}

/// A `git` command that could not run or failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run `git`: {0}")]
    Spawn(#[from] std::io::Error),
    /// Its standard error, trimmed.
    #[error("{0}")]
    Failed(String),
}

/// Lines of the new side of the diff, per file (absolute paths).
#[derive(Debug, Clone)]
pub struct ChangedCode {
    /// What the diff was taken against, for messages: `origin/main (merge-base 1a2b3c4d)`.
    pub base: String,
    pub files: HashSet<PathBuf>,
    /// Added or modified line ranges (1-based, inclusive) per file; `None` means the whole file is new.
    lines: HashMap<PathBuf, Option<Vec<(u32, u32)>>>,
    /// Set when the comparison is not against a merge-base (shallow clone): said on stderr.
    pub note: Option<String>,
}

impl ChangedCode {
    pub fn contains_file(&self, path: &Path) -> bool {
        self.files.contains(&normalise(path))
    }

    /// Whether any line of `finding` (in the file at `path`) was added or modified.
    pub fn touches(&self, path: &Path, finding: &Finding) -> bool {
        match self.lines.get(&normalise(path)) {
            None => false,
            Some(None) => true,
            Some(Some(ranges)) => {
                let (start, end) = (finding.line, finding.end_line.max(finding.line));
                ranges
                    .iter()
                    .any(|&(first, last)| start <= last && first <= end)
            }
        }
    }
}

fn normalise(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let output = Command::new("git")
        .args(["-c", "core.quotePath=false"])
        .args(args)
        .current_dir(dir)
        .output()?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(GitError::Failed(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ))
    }
}

fn commit_exists(root: &Path, reference: &str) -> bool {
    git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{reference}^{{commit}}"),
        ],
    )
    .is_ok()
}

/// The default branch to compare with: `origin/HEAD`'s target, then `origin/main`, `main`, `origin/master`, `master`.
fn default_base(root: &Path) -> Option<String> {
    if let Ok(head) = git(
        root,
        &["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"],
    ) {
        let head = head.trim().trim_start_matches("refs/remotes/").to_owned();
        if commit_exists(root, &head) {
            return Some(head);
        }
    }
    ["origin/main", "main", "origin/master", "master"]
        .into_iter()
        .find(|candidate| commit_exists(root, candidate))
        .map(str::to_owned)
}

/// Works out what changed against `base` (or the default branch) in the repository around `cwd`. The error says
/// why nothing could be compared, in a form that completes "cannot tell what changed: ...".
pub fn changed_code(cwd: &Path, base: Option<&str>) -> Result<ChangedCode, ChangedCodeError> {
    let root = git(cwd, &["rev-parse", "--show-toplevel"])
        .map_err(|_| ChangedCodeError::NotARepository)?;
    let root = PathBuf::from(root.trim());
    let shallow = git(&root, &["rev-parse", "--is-shallow-repository"])
        .is_ok_and(|answer| answer.trim() == "true");
    let shallow_hint = if shallow {
        " (this is a shallow clone: fetch the base, e.g. `git fetch --depth=1 origin main`, or check out with `fetch-depth: 0`)"
    } else {
        ""
    };
    let reference = match base {
        Some(reference) => {
            if !commit_exists(&root, reference) {
                return Err(ChangedCodeError::BaseMissing {
                    reference: reference.to_owned(),
                    hint: shallow_hint,
                });
            }
            reference.to_owned()
        }
        None => {
            default_base(&root).ok_or(ChangedCodeError::NoDefaultBranch { hint: shallow_hint })?
        }
    };
    let (compare_with, described, note) = match git(&root, &["merge-base", &reference, "HEAD"]) {
        Ok(merge_base) => {
            let merge_base = merge_base.trim().to_owned();
            let short: String = merge_base.chars().take(8).collect();
            (
                merge_base,
                format!("`{reference}` (merge-base {short})"),
                None,
            )
        }
        // Two shallow tips have no common history: comparing the trees directly is the best available answer.
        Err(_) if shallow => (
            reference.clone(),
            format!("`{reference}`"),
            Some(format!(
                "no merge-base between `{reference}` and HEAD in this shallow clone; comparing with `{reference}` directly, which may include changes made on `{reference}` since this branch started{shallow_hint}"
            )),
        ),
        Err(source) => {
            return Err(ChangedCodeError::NoMergeBase { reference, source });
        }
    };
    let names = git(
        &root,
        &[
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--diff-filter=ACMRT",
            &compare_with,
            "--",
        ],
    )?;
    let mut files = HashSet::new();
    let mut lines: HashMap<PathBuf, Option<Vec<(u32, u32)>>> = HashMap::new();
    for name in names.split('\0').filter(|name| !name.is_empty()) {
        let path = normalise(&root.join(name));
        files.insert(path.clone());
        lines.insert(path, Some(Vec::new()));
    }
    let untracked = git(&root, &["ls-files", "-z", "--others", "--exclude-standard"])?;
    for name in untracked.split('\0').filter(|name| !name.is_empty()) {
        let path = normalise(&root.join(name));
        files.insert(path.clone());
        lines.insert(path, None);
    }
    let diff = git(
        &root,
        &[
            "diff",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            &compare_with,
            "--",
        ],
    )?;
    for (name, ranges) in parse_hunks(&diff) {
        let path = normalise(&root.join(name));
        if let Some(Some(existing)) = lines.get_mut(&path) {
            existing.extend(ranges);
        }
    }
    Ok(ChangedCode {
        base: described,
        files,
        lines,
        note,
    })
}

/// The new-side line ranges of each file in a `git diff -U0`: `+++ b/PATH` names the file, `@@ -a,b +c,d @@`
/// gives `d` lines from `c` (`d` absent means 1, `d` = 0 is a pure deletion).
pub fn parse_hunks(diff: &str) -> Vec<(String, Vec<(u32, u32)>)> {
    let mut files: Vec<(String, Vec<(u32, u32)>)> = Vec::new();
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("+++ ") {
            let path = path.strip_prefix("b/").unwrap_or(path);
            files.push((path.to_owned(), Vec::new()));
        } else if let Some(hunk) = line.strip_prefix("@@ ") {
            let Some(new_side) = hunk.split_whitespace().find(|part| part.starts_with('+')) else {
                continue;
            };
            let mut numbers = new_side[1..].split(',');
            let start: u32 = numbers.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let count: u32 = numbers.next().and_then(|n| n.parse().ok()).unwrap_or(1);
            if count > 0 && start > 0 {
                if let Some((_, ranges)) = files.last_mut() {
                    ranges.push((start, start + count - 1));
                }
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::parse_hunks;

    #[test]
    fn hunks_give_the_added_and_modified_lines_of_the_new_side() {
        let diff = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -3 +3 @@ x\n-old\n+new\n@@ -10,0 +11,2 @@\n+a\n+b\n@@ -20,3 +22,0 @@\n-gone\n";
        assert_eq!(
            parse_hunks(diff),
            vec![("a.py".to_owned(), vec![(3, 3), (11, 12)])]
        );
    }
}

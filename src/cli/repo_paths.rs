//! Paths relative to the repository root for the formats a code host reads back: GitHub annotations, SARIF
//! (code scanning) and GitLab code quality resolve `src/app.py` against the checkout, not against the directory
//! `codeinsight` ran in. A review run from `services/api` names its files `app.py` for the user; for those
//! formats they become `services/api/app.py`.
//!
//! The root is `GITHUB_WORKSPACE` or `CI_PROJECT_DIR` when the working directory is inside it, else the git
//! work tree's (`git rev-parse --show-prefix`). Outside a repository, or at its root, paths stay as they are.

use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use crate::protocol::Finding;
use crate::render::Report;

/// The working directory relative to the repository root, with `/` separators and no trailing slash; `None`
/// at the root or outside any repository.
pub fn working_dir_prefix() -> Option<String> {
    let cwd = std::env::current_dir().ok()?;
    let cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
    for variable in ["GITHUB_WORKSPACE", "CI_PROJECT_DIR"] {
        let Some(root) = std::env::var_os(variable).filter(|root| !root.is_empty()) else {
            continue;
        };
        let root = PathBuf::from(root);
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        if let Ok(relative) = cwd.strip_prefix(&root) {
            return slash_path(relative);
        }
    }
    let output = Command::new("git")
        .args(["rev-parse", "--show-prefix"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let prefix = String::from_utf8(output.stdout).ok()?;
    let prefix = prefix.trim().trim_end_matches('/');
    (!prefix.is_empty()).then(|| prefix.to_owned())
}

fn slash_path(relative: &Path) -> Option<String> {
    let parts = relative
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect::<Vec<_>>();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// `path` (relative to the working directory) relative to the repository root instead. Absolute paths and paths
/// that climb out of the repository are left alone.
fn under(prefix: &str, path: &str) -> String {
    if Path::new(path).is_absolute() {
        return path.to_owned();
    }
    let mut parts = prefix.split('/').collect::<Vec<_>>();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return path.to_owned();
                }
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// A copy of `report` whose paths are relative to the repository root, `prefix` being the working directory's
/// place in it.
pub fn rooted(report: &Report, prefix: &str) -> Report {
    let mut report = report.clone();
    let move_finding = |finding: &mut Finding| finding.path = under(prefix, &finding.path);
    for file in &mut report.files {
        file.path = under(prefix, &file.path);
        file.findings.iter_mut().for_each(move_finding);
        file.baselined.iter_mut().for_each(move_finding);
        file.outside_diff.iter_mut().for_each(move_finding);
    }
    for skipped in &mut report.skipped {
        skipped.path = under(prefix, &skipped.path);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::under;

    #[test]
    fn paths_move_under_the_prefix_and_climbing_out_leaves_them_alone() {
        assert_eq!(under("services/api", "app.py"), "services/api/app.py");
        assert_eq!(
            under("services/api", "./src/app.py"),
            "services/api/src/app.py"
        );
        assert_eq!(under("services/api", "../web/ui.js"), "services/web/ui.js");
        assert_eq!(under("services", "../../outside.py"), "../../outside.py");
        assert_eq!(under("services", "/abs/app.py"), "/abs/app.py");
    }
}

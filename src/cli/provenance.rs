//! Where the reviewed code came from, sent with a run so that the server's history and web view can say which
//! commit, branch and CI job a run belongs to: the CI's own variables first (GitHub Actions, GitLab CI, and the
//! generic `CI_*` ones), then `git` in the working directory. A remote's address is reduced to host and path, so
//! credentials in it (`https://user:token@host/...`) are never sent.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::protocol::RunContext;

/// The context of a run started in `cwd`, from `env` (the process environment in production) and `git`.
pub fn run_context(cwd: &Path, env: &dyn Fn(&str) -> Option<String>) -> RunContext {
    let var = |name: &str| {
        env(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let mut context = RunContext::default();
    if var("GITHUB_ACTIONS").as_deref() == Some("true") {
        context.commit = var("GITHUB_SHA");
        // A pull request's head branch; a push's branch or tag.
        context.branch = var("GITHUB_HEAD_REF").or_else(|| var("GITHUB_REF_NAME"));
        context.repository = var("GITHUB_REPOSITORY");
        if let (Some(server), Some(repository), Some(run)) = (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_RUN_ID"),
        ) {
            context.ci_url = Some(format!(
                "{}/{repository}/actions/runs/{run}",
                server.trim_end_matches('/')
            ));
        }
    } else if var("GITLAB_CI").as_deref() == Some("true") || var("CI_PROJECT_PATH").is_some() {
        context.commit = var("CI_COMMIT_SHA");
        context.branch =
            var("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME").or_else(|| var("CI_COMMIT_REF_NAME"));
        context.repository = var("CI_PROJECT_PATH");
        context.ci_url = var("CI_JOB_URL").or_else(|| var("CI_PIPELINE_URL"));
    } else {
        context.commit = var("CI_COMMIT_SHA");
        context.branch = var("CI_COMMIT_REF_NAME").or_else(|| var("CI_BRANCH"));
        context.ci_url = var("CI_JOB_URL").or_else(|| var("CI_BUILD_URL"));
    }
    if context.commit.is_none() {
        context.commit = git(cwd, &["rev-parse", "--verify", "--quiet", "HEAD"]);
    }
    if context.branch.is_none() {
        // A detached HEAD has no branch to name.
        context.branch = git(cwd, &["symbolic-ref", "--quiet", "--short", "HEAD"]);
    }
    if context.repository.is_none() {
        context.repository =
            git(cwd, &["remote", "get-url", "origin"]).and_then(|url| repository_name(&url));
    }
    if context
        .ci_url
        .as_deref()
        .is_some_and(|url| !url.starts_with("https://") && !url.starts_with("http://"))
    {
        context.ci_url = None;
    }
    context
}

/// One line of `git`'s output in `cwd`, or `None` when git is missing, fails, or prints nothing.
fn git(cwd: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

/// `host/owner/name` from a remote's address, without scheme, credentials, port or `.git`; `None` for a local path.
fn repository_name(url: &str) -> Option<String> {
    let url = url.trim();
    let (host, path) = if let Some((_, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/')?;
        // Credentials and a port are not part of the name.
        let host = authority.rsplit('@').next()?;
        let host = host.split(':').next()?;
        (host, path)
    } else {
        // scp-like `git@host:owner/name.git`.
        let (authority, path) = url.split_once(':')?;
        if authority.contains('/') {
            return None;
        }
        (authority.rsplit('@').next()?, path)
    };
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    (!host.is_empty() && !path.is_empty()).then(|| format!("{host}/{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_is_named_by_host_and_path_without_credentials() {
        for (url, expected) in [
            (
                "https://github.com/acme/tool.git",
                Some("github.com/acme/tool"),
            ),
            (
                "https://ci:ghp_secret@github.com/acme/tool",
                Some("github.com/acme/tool"),
            ),
            (
                "ssh://git@gitlab.example.com:2222/group/sub/tool.git",
                Some("gitlab.example.com/group/sub/tool"),
            ),
            ("git@github.com:acme/tool.git", Some("github.com/acme/tool")),
            ("/srv/git/tool.git", None),
            ("../tool", None),
        ] {
            assert_eq!(repository_name(url).as_deref(), expected, "{url}");
        }
    }

    #[test]
    fn github_actions_variables_name_the_commit_branch_and_run() {
        let env = |name: &str| {
            match name {
                "GITHUB_ACTIONS" => Some("true"),
                "GITHUB_SHA" => Some("0123abcd"),
                "GITHUB_HEAD_REF" => Some(""),
                "GITHUB_REF_NAME" => Some("main"),
                "GITHUB_REPOSITORY" => Some("acme/tool"),
                "GITHUB_SERVER_URL" => Some("https://github.com"),
                "GITHUB_RUN_ID" => Some("42"),
                _ => None,
            }
            .map(str::to_owned)
        };
        let context = run_context(Path::new("/nonexistent-directory"), &env);
        assert_eq!(context.commit.as_deref(), Some("0123abcd"));
        assert_eq!(context.branch.as_deref(), Some("main"));
        assert_eq!(context.repository.as_deref(), Some("acme/tool"));
        assert_eq!(
            context.ci_url.as_deref(),
            Some("https://github.com/acme/tool/actions/runs/42")
        );
    }

    #[test]
    fn gitlab_variables_are_read_and_a_non_http_link_is_dropped() {
        let env = |name: &str| {
            match name {
                "GITLAB_CI" => Some("true"),
                "CI_COMMIT_SHA" => Some("feedbeef"),
                "CI_COMMIT_REF_NAME" => Some("feature/x"),
                "CI_PROJECT_PATH" => Some("group/tool"),
                "CI_JOB_URL" => Some("javascript:alert(1)"),
                _ => None,
            }
            .map(str::to_owned)
        };
        let context = run_context(Path::new("/nonexistent-directory"), &env);
        assert_eq!(context.commit.as_deref(), Some("feedbeef"));
        assert_eq!(context.branch.as_deref(), Some("feature/x"));
        assert_eq!(context.repository.as_deref(), Some("group/tool"));
        assert_eq!(context.ci_url, None);
    }
}

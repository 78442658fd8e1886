//! Whole-process tests of the `codeinsight` binary: the real executable, the real server (embedded in-process, or
//! a separate `codeinsight serve` process), temp directories for the project and the data directory. Every exit
//! code of the table in README.md is produced here by the situation it documents.

// Test helpers panic on setup failures on purpose: a panic is a test failure with a backtrace.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

mod common;

use assert_cmd::Command;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_codeinsight");
const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo");

/// A project directory with a copy of `demo/` and its own data directory for the embedded server.
struct Project {
    root: TempDir,
    data: TempDir,
}

impl Project {
    fn new() -> Project {
        let project = Project {
            root: tempfile::tempdir().unwrap(),
            data: tempfile::tempdir().unwrap(),
        };
        copy_tree(Path::new(DEMO), &project.root.path().join("demo"));
        // The tests pin the built-in rules' output; which external linters exist differs between machines.
        project.write("codeinsight.toml", "[linters]\nenabled = false\n");
        project
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    fn write(&self, relative: &str, content: impl AsRef<[u8]>) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// `codeinsight ARGS` in the project, isolated from the caller's environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .current_dir(self.root.path())
            .env("CODEINSIGHT_DATA_DIR", self.data.path())
            .env_remove("CODEINSIGHT_SERVER")
            .env_remove("CODEINSIGHT_TOKEN")
            .env_remove("CODEINSIGHT_USER")
            .env_remove("NO_COLOR")
            .env_remove("RUST_LOG")
            .timeout(Duration::from_secs(120));
        command
    }

    fn run(&self, args: &[&str]) -> Outcome {
        Outcome::of(&self.command(args).output().unwrap())
    }

    /// `codeinsight ARGS --server URL --token TOKEN --color never` in the project.
    fn remote(&self, url: &str, token: &str, args: &[&str]) -> Outcome {
        let mut all = args.to_vec();
        all.extend(["--server", url, "--token", token, "--color", "never"]);
        self.run(&all)
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn of(output: &std::process::Output) -> Outcome {
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }

    #[track_caller]
    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Filters for snapshots: durations, ids, hashes and versions change from run to run.
fn snapshot_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d+\.\d+s\b", "[TIME]s"),
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            "[ID]",
        ),
        (r"\b[0-9A-HJKMNP-TV-Z]{26}\b", "[ID]"),
        (
            r#""(elapsed_seconds|server_seconds)": [0-9.e-]+"#,
            r#""$1": "[TIME]""#,
        ),
        (
            r#""tool_version": "[^"]+""#,
            r#""tool_version": "[VERSION]""#,
        ),
        (r"\d+ cache hits?", "[N] cache hits"),
        (r#""cache_hit": (true|false)"#, r#""cache_hit": "[BOOL]""#),
        (r#""cache_hits": \d+"#, r#""cache_hits": "[N]""#),
    ]
}

fn assert_no_control_characters(text: &str) {
    assert!(
        !text.contains("\x1b["),
        "unexpected escape sequence in:\n{text}"
    );
    assert!(
        !text.contains('\r'),
        "unexpected carriage return in:\n{text}"
    );
}

// --- exit 1: findings at or above the gate ---------------------------------------------------------------------

#[test]
fn review_of_the_demo_in_embedded_mode_shows_findings_and_fails_the_gate() {
    let project = Project::new();
    let outcome = project.run(&["review", "demo", "--color", "never"]);
    outcome.expect_code(1);
    assert!(
        outcome.stdout.contains("python/subprocess-shell-true"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("demo/python/inventory.py:"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("^^^"),
        "code frame underline missing:\n{}",
        outcome.stdout
    );
    assert!(
        outcome.last_line().starts_with("FAIL (exit 1): "),
        "{}",
        outcome.last_line()
    );
    assert!(
        outcome.last_line().contains(">= major"),
        "{}",
        outcome.last_line()
    );
    assert_no_control_characters(&outcome.stdout);
    assert_no_control_characters(&outcome.stderr);
}

#[test]
fn human_output_snapshot_without_colour() {
    let project = Project::new();
    let outcome = project.run(&[
        "review",
        "demo/python/inventory.py",
        "demo/javascript/cart.js",
        "--color",
        "never",
    ]);
    outcome.expect_code(1);
    insta::with_settings!({ filters => snapshot_filters() }, {
        insta::assert_snapshot!("human_no_colour", outcome.stdout);
    });
}

#[test]
fn human_output_snapshot_with_colour() {
    let project = Project::new();
    let outcome = project.run(&["review", "demo/rust/report.rs", "--color", "always"]);
    assert!(matches!(outcome.code, 0 | 1), "{}", outcome.stderr);
    assert!(outcome.stdout.contains("\x1b["), "colours expected");
    insta::with_settings!({ filters => snapshot_filters() }, {
        insta::assert_snapshot!("human_colour", outcome.stdout);
    });
}

#[test]
fn no_color_turns_colours_off_even_when_forced_by_auto() {
    let project = Project::new();
    let outcome = Outcome::of(
        &project
            .command(&["review", "demo/python/inventory.py"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap(),
    );
    outcome.expect_code(1);
    assert_no_control_characters(&outcome.stdout);
}

#[test]
fn json_output_snapshot_and_file_target() {
    let project = Project::new();
    let outcome = project.run(&[
        "review",
        "demo/python/inventory.py",
        "--format",
        "json",
        "--format",
        "json=demo/clean/temperatures.py/report.json",
    ]);
    // A file where the directory should be: writing the report is an output error.
    outcome.expect_code(2);
    assert!(
        outcome.stderr.contains("cannot write"),
        "{}",
        outcome.stderr
    );
    // A missing directory is created.
    let outcome = project.run(&[
        "review",
        "demo/python/inventory.py",
        "--format",
        "json",
        "--format",
        "json=out/report.json",
    ]);
    outcome.expect_code(1);
    let stdout: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.path("out/report.json")).unwrap())
            .unwrap();
    assert_eq!(stdout, file);
    assert_eq!(stdout["version"], 1);
    assert_eq!(stdout["verdict"]["exit_code"], 1);
    assert_eq!(stdout["verdict"]["outcome"], "fail");
    insta::with_settings!({ filters => snapshot_filters() }, {
        insta::assert_snapshot!("json_report", outcome.stdout);
    });
}

#[test]
fn human_to_stdout_and_json_to_a_file() {
    let project = Project::new();
    let outcome = project.run(&[
        "review",
        "demo/python/inventory.py",
        "--format",
        "json=report.json",
        "--color",
        "never",
    ]);
    outcome.expect_code(1);
    assert!(outcome.last_line().starts_with("FAIL (exit 1)"));
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.path("report.json")).unwrap())
            .unwrap();
    assert_eq!(file["verdict"]["outcome"], "fail");
}

#[test]
fn report_min_hides_findings_without_changing_the_gate() {
    let project = Project::new();
    let outcome = project.run(&[
        "review",
        "demo/python/inventory.py",
        "--report-min",
        "critical",
        "--format",
        "json",
    ]);
    outcome.expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
    let shown: usize = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["findings"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        shown,
        report["counts"]["critical"].as_u64().unwrap() as usize
    );
    assert!(report["counts"]["failing"].as_u64().unwrap() > 0);
}

// --- exit 0 ------------------------------------------------------------------------------------------------------

#[test]
fn a_clean_file_passes() {
    let project = Project::new();
    let outcome = project.run(&["review", "demo/clean/temperatures.py", "--color", "never"]);
    outcome.expect_code(0);
    assert!(
        outcome
            .last_line()
            .starts_with("PASS (exit 0): no findings >= major in 1 file"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn fail_on_never_passes_with_findings() {
    let project = Project::new();
    let outcome = project.run(&[
        "review",
        "demo/python/inventory.py",
        "--fail-on",
        "never",
        "--color",
        "never",
    ]);
    outcome.expect_code(0);
    assert!(
        outcome.last_line().contains("--fail-on never"),
        "{}",
        outcome.last_line()
    );
}

#[test]
fn stdin_is_reviewed_under_its_stdin_filename() {
    let project = Project::new();
    let outcome = Outcome::of(
        &project
            .command(&[
                "review",
                "-",
                "--stdin-filename",
                "piped.py",
                "--color",
                "never",
            ])
            .write_stdin("import subprocess\nsubprocess.call(cmd, shell=True)\n")
            .output()
            .unwrap(),
    );
    outcome.expect_code(1);
    assert!(outcome.stdout.contains("piped.py:2:"), "{}", outcome.stdout);
}

// --- exit 2 ------------------------------------------------------------------------------------------------------

#[test]
fn a_missing_path_is_a_usage_error() {
    let project = Project::new();
    let outcome = project.run(&["review", "demo/nope.py"]);
    outcome.expect_code(2);
    assert!(
        outcome.stderr.contains("`demo/nope.py` does not exist"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("help:"), "{}", outcome.stderr);
}

#[test]
fn an_invalid_config_is_a_usage_error_naming_the_file() {
    let project = Project::new();
    project.write("codeinsight.toml", "fail_on = \"sometimes\"\n");
    let outcome = project.run(&["review", "demo/clean/temperatures.py"]);
    outcome.expect_code(2);
    assert!(
        outcome.stderr.contains("codeinsight.toml"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("fail_on"), "{}", outcome.stderr);
}

#[test]
fn config_file_sets_the_gate_and_flags_override_it() {
    let project = Project::new();
    project.write(
        "codeinsight.toml",
        "fail_on = \"never\"\n\n[linters]\nenabled = false\n",
    );
    project
        .run(&["review", "demo/python/inventory.py"])
        .expect_code(0);
    project
        .run(&["review", "demo/python/inventory.py", "--fail-on", "major"])
        .expect_code(1);
}

#[test]
fn a_bad_flag_is_a_usage_error() {
    let project = Project::new();
    project
        .run(&["review", "--fail-on", "sometimes"])
        .expect_code(2);
    project.run(&["frobnicate"]).expect_code(2);
}

// --- exit 3 ------------------------------------------------------------------------------------------------------

#[test]
fn an_unreachable_server_is_exit_3() {
    let project = Project::new();
    let outcome = project.run(&[
        "review",
        "demo/clean/temperatures.py",
        "--server",
        "http://127.0.0.1:1",
        "--token",
        "anything",
    ]);
    outcome.expect_code(3);
    assert!(
        outcome.stderr.contains("cannot reach the server"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn an_embedded_server_that_cannot_open_its_database_says_why() {
    let project = Project::new();
    // A directory where the database file belongs: SQLite cannot open it, and the message must say so rather than
    // stop at "opening the database".
    std::fs::create_dir_all(project.data.path().join("codeinsight.db")).unwrap();
    let outcome = project.run(&["review", "demo/clean/temperatures.py"]);
    outcome.expect_code(3);
    assert!(
        outcome
            .stderr
            .contains("cannot start the embedded server: opening the database: "),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .to_lowercase()
            .contains("unable to open database file"),
        "{}",
        outcome.stderr
    );
}

// --- exit 4 ------------------------------------------------------------------------------------------------------

#[test]
fn a_timeout_is_exit_4() {
    let project = Project::new();
    for index in 0..300 {
        project.write(
            &format!("many/module_{index}.py"),
            format!("import subprocess\n\ndef run_{index}(cmd):\n    return subprocess.run(cmd, shell=True)\n"),
        );
    }
    let outcome = project.run(&["review", "many", "--timeout", "0.001"]);
    outcome.expect_code(4);
    assert!(outcome.stderr.contains("timed out"), "{}", outcome.stderr);
}

// --- exit 5 ------------------------------------------------------------------------------------------------------

#[test]
fn a_walked_tree_leaves_out_minified_generated_and_vendored_files_and_still_passes() {
    let project = Project::new();
    project.write(
        "site/app.py",
        std::fs::read(project.path("demo/clean/temperatures.py")).unwrap(),
    );
    project.write(
        "site/static/jquery.min.js",
        "/*! jQuery v3.7.1 */!function(e,t){\"use strict\";e.exports=t}(this,function(){return 1});\n",
    );
    project.write(
        "site/api/api.pb.go",
        "// Code generated by protoc-gen-go. DO NOT EDIT.\n// source: api.proto\n\npackage api\n\ntype Empty struct{}\n",
    );
    project.write(
        "site/vendor/github.com/acme/util/util.go",
        "package util\n\nfunc Add(a, b int) int { return a + b }\n",
    );
    let outcome = project.run(&["review", "site", "--color", "never"]);
    outcome.expect_code(0);
    for listed in [
        "site/static/jquery.min.js: minified",
        "site/api/api.pb.go: generated",
        "site/vendor/github.com/acme/util/util.go: vendored",
    ] {
        assert!(
            outcome.stdout.contains(listed),
            "{listed}: {}",
            outcome.stdout
        );
    }
    assert_eq!(
        outcome.last_line(),
        "PASS (exit 0): no findings >= major in 1 file (0 below threshold); 3 files left out by policy \
         (generated, minified, vendored)"
    );
}

#[test]
fn a_named_binary_file_makes_an_otherwise_clean_review_incomplete() {
    let project = Project::new();
    project.write(
        "mixed/clean.py",
        std::fs::read(project.path("demo/clean/temperatures.py")).unwrap(),
    );
    project.write("mixed/blob.py", b"\x00\x01\x02binary\x00");
    // Walked, a binary file is left out by policy; named, it was asked for and could not be reviewed.
    project
        .run(&["review", "mixed", "--color", "never"])
        .expect_code(0);
    let outcome = project.run(&[
        "review",
        "mixed/clean.py",
        "mixed/blob.py",
        "--color",
        "never",
    ]);
    outcome.expect_code(5);
    assert!(
        outcome.stdout.contains("mixed/blob.py: binary"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome
            .last_line()
            .starts_with("INCOMPLETE (exit 5): 1 of 2 files not reviewed (1 file skipped: binary)"),
        "{}",
        outcome.last_line()
    );
}

#[test]
fn a_too_large_file_makes_an_otherwise_clean_review_incomplete() {
    let project = Project::new();
    let big: String = "x = 1\n".repeat(200_000);
    project.write("big/huge.py", big);
    project.write(
        "big/clean.py",
        std::fs::read(project.path("demo/clean/temperatures.py")).unwrap(),
    );
    let outcome = project.run(&["review", "big/clean.py", "big/huge.py", "--color", "never"]);
    outcome.expect_code(5);
    assert!(
        outcome.last_line().contains("too large"),
        "{}",
        outcome.last_line()
    );
}

#[test]
fn findings_still_fail_the_gate_when_a_file_is_skipped() {
    let project = Project::new();
    project.write("mixed/blob.py", b"\x00binary");
    let outcome = project.run(&[
        "review",
        "mixed/blob.py",
        "demo/python/inventory.py",
        "--color",
        "never",
    ]);
    outcome.expect_code(1);
    assert!(
        outcome.last_line().contains("1 file skipped: binary"),
        "{}",
        outcome.last_line()
    );
}

#[test]
fn only_unreviewable_files_is_incomplete_and_nothing_is_clean() {
    let project = Project::new();
    project.write("blobs/a.py", b"\x00binary");
    let outcome = project.run(&["review", "blobs/a.py", "--color", "never"]);
    outcome.expect_code(5);
    assert!(
        outcome
            .last_line()
            .starts_with("INCOMPLETE (exit 5): 1 of 1 file not reviewed"),
        "{}",
        outcome.last_line()
    );
    let empty = project.run(&["review", "demo/nothing-here", "--color", "never"]);
    empty.expect_code(2);
    std::fs::create_dir(project.path("empty")).unwrap();
    let empty = project.run(&["review", "empty", "--color", "never"]);
    empty.expect_code(0);
    assert!(
        empty.stderr.contains("no files to review"),
        "{}",
        empty.stderr
    );
}

// --- fixes -------------------------------------------------------------------------------------------------------

#[test]
fn diff_shows_safe_fixes_without_writing() {
    let project = Project::new();
    let before = std::fs::read_to_string(project.path("demo/rust/report.rs")).unwrap();
    let outcome = project.run(&[
        "review",
        "demo/rust/report.rs",
        "--diff",
        "--color",
        "never",
    ]);
    outcome.expect_code(1);
    assert!(
        outcome.stdout.contains("--- a/demo/rust/report.rs"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome
            .stdout
            .contains("+    let count = totals.keys().count();"),
        "{}",
        outcome.stdout
    );
    assert_eq!(
        std::fs::read_to_string(project.path("demo/rust/report.rs")).unwrap(),
        before
    );
}

#[test]
fn fix_applies_safe_fixes_only() {
    let project = Project::new();
    let outcome = project.run(&["review", "demo/rust/report.rs", "--fix", "--color", "never"]);
    let after = std::fs::read_to_string(project.path("demo/rust/report.rs")).unwrap();
    assert!(
        after.contains("let count = totals.keys().count();"),
        "{after}"
    );
    assert!(!after.contains("dbg!"), "{after}");
    // Unsafe or fix-less findings stay.
    assert!(after.contains(".unwrap()"), "{after}");
    assert!(outcome.stdout.contains("Fixes:"), "{}", outcome.stdout);
    // A second run has nothing left to fix.
    let again = project.run(&[
        "review",
        "demo/rust/report.rs",
        "--diff",
        "--color",
        "never",
    ]);
    assert!(!again.stdout.contains("--- a/"), "{}", again.stdout);
}

#[test]
fn diff_on_a_file_without_safe_fixes_exits_by_completeness() {
    let project = Project::new();
    project
        .run(&["review", "demo/clean/temperatures.py", "--diff"])
        .expect_code(0);
}

#[test]
fn unsafe_fixes_are_hinted_at_and_diffed_or_applied_only_when_asked() {
    let project = Project::new();
    let safe_only = project.run(&[
        "review",
        "demo/python/inventory.py",
        "--diff",
        "--color",
        "never",
    ]);
    // No safe fix here: nothing would change without --unsafe-fixes, which the last line offers.
    safe_only.expect_code(0);
    assert_eq!(
        safe_only.last_line(),
        "0 safe fixes would be applied to 0 files; --unsafe-fixes adds 2 unsafe fixes",
        "{}",
        safe_only.stdout
    );
    let with_unsafe = project.run(&[
        "review",
        "demo/python/inventory.py",
        "--diff",
        "--unsafe-fixes",
        "--color",
        "never",
    ]);
    with_unsafe.expect_code(1);
    insta::with_settings!({ filters => snapshot_filters() }, {
        insta::assert_snapshot!("diff_unsafe_fixes", with_unsafe.stdout);
    });
    let before = std::fs::read_to_string(project.path("demo/python/inventory.py")).unwrap();
    assert!(before.contains("yaml.load(handle)"), "{before}");
    let fixed = project.run(&[
        "review",
        "demo/python/inventory.py",
        "--fix",
        "--unsafe-fixes",
        "--color",
        "never",
    ]);
    assert!(fixed.stdout.contains("Fixes:"), "{}", fixed.stdout);
    let after = std::fs::read_to_string(project.path("demo/python/inventory.py")).unwrap();
    assert!(after.contains("yaml.safe_load(handle)"), "{after}");
    assert!(after.contains("except Exception:"), "{after}");
}

#[test]
fn a_diff_of_a_file_named_by_its_absolute_path_has_headers_relative_to_the_working_directory() {
    let project = Project::new();
    let absolute = project.path("demo/rust/report.rs");
    let outcome = project.run(&[
        "review",
        absolute.to_str().unwrap(),
        "--diff",
        "--color",
        "never",
    ]);
    outcome.expect_code(1);
    assert!(
        outcome
            .stdout
            .starts_with("--- a/demo/rust/report.rs\n+++ b/demo/rust/report.rs\n"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn sarif_rule_descriptors_carry_the_docs_of_user_rules_from_the_server_that_ran_them() {
    let project = Project::new();
    project.write(
        ".codeinsight/rules/no-print.yml",
        "id: team/no-print\nlanguage: python\nseverity: warning\nmessage: \"`print` left in code\"\n\
         note: \"Team rule: log through `logging` so that output reaches the collector.\"\n\
         metadata:\n  category: maintainability\nrule:\n  pattern: print($$$ARGS)\n",
    );
    project.write("app.py", "print('hi')\n");
    let outcome = project.run(&[
        "review",
        "app.py",
        "--format",
        "sarif=out.sarif",
        "--format",
        "json",
    ]);
    outcome.expect_code(0);
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.path("out.sarif")).unwrap()).unwrap();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let rule = rules
        .iter()
        .find(|rule| rule["id"] == "team/no-print")
        .unwrap();
    assert_eq!(
        rule["help"]["text"],
        "Team rule: log through `logging` so that output reaches the collector.",
        "{rule}"
    );
    assert_eq!(rule["shortDescription"]["text"], "`print` left in code");
    // The JSON report carries the same documentation.
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(report["rules"][0]["id"], "team/no-print", "{report}");
}

#[test]
fn a_data_flow_finding_shows_its_path_in_the_report_json_and_sarif() {
    let project = Project::new();
    project.write(
        "app/users.py",
        "from flask import request\n\n\ndef find(cursor):\n    name = request.args.get(\"name\")\n    query = f\"SELECT * FROM users WHERE name = '{name}'\"\n    cursor.execute(query)\n",
    );
    let outcome = project.run(&[
        "review",
        "app/users.py",
        "--color",
        "never",
        "--format",
        "human",
        "--format",
        "json=report.json",
        "--format",
        "sarif=report.sarif",
    ]);
    outcome.expect_code(1);
    assert!(
        outcome.stdout.contains(
            "= flow: request.args (line 5) → name (line 5) → query (line 6) → cursor.execute (line 7)"
        ),
        "{}",
        outcome.stdout
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.path("report.json")).unwrap())
            .unwrap();
    let finding = &report["files"][0]["findings"][0];
    assert_eq!(finding["rule_id"], "python/sql-injection", "{report}");
    assert_eq!(finding["line"], 7);
    let flow = finding["flow"].as_array().unwrap();
    assert_eq!(flow.len(), 4, "{finding}");
    assert_eq!(flow[0]["label"], "request.args");
    assert_eq!(flow[0]["line"], 5);
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.path("report.sarif")).unwrap())
            .unwrap();
    let locations = &sarif["runs"][0]["results"][0]["codeFlows"][0]["threadFlows"][0]["locations"];
    assert_eq!(locations.as_array().unwrap().len(), 4, "{sarif}");
    assert_eq!(
        locations[3]["location"]["physicalLocation"]["region"]["startLine"],
        7
    );
    // Parameterised, the same value is no finding.
    project.write(
        "app/users.py",
        "from flask import request\n\n\ndef find(cursor):\n    name = request.args.get(\"name\")\n    cursor.execute(\"SELECT * FROM users WHERE name = ?\", (name,))\n",
    );
    project
        .run(&["review", "app/users.py", "--color", "never"])
        .expect_code(0);
}

// --- output at repository scale ----------------------------------------------------------------------------------

#[test]
fn statistics_count_findings_per_rule_as_a_table_or_json() {
    let project = Project::new();
    let table = project.run(&[
        "review",
        "demo/python/inventory.py",
        "demo/javascript/cart.js",
        "--statistics",
        "--color",
        "never",
    ]);
    table.expect_code(1);
    insta::with_settings!({ filters => snapshot_filters() }, {
        insta::assert_snapshot!("statistics", table.stdout);
    });
    let json = project.run(&[
        "review",
        "demo/python/inventory.py",
        "demo/javascript/cart.js",
        "--statistics",
        "--format",
        "json",
    ]);
    json.expect_code(1);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let yaml = rows
        .iter()
        .find(|row| row["rule_id"] == "python/yaml-unsafe-load")
        .unwrap();
    assert_eq!(yaml["count"], 1);
    assert_eq!(yaml["files"], 1);
    assert_eq!(yaml["severity"], "major");
    assert_eq!(yaml["unsafe_fixes"], 1);
    assert_eq!(yaml["safe_fixes"], 0);
    let refused = project.run(&[
        "review",
        "demo/python/inventory.py",
        "--statistics",
        "--format",
        "sarif",
    ]);
    refused.expect_code(2);
    assert!(
        refused.stderr.contains("`--statistics` prints a table"),
        "{}",
        refused.stderr
    );
}

#[test]
fn a_rule_with_many_findings_lists_twenty_counts_the_rest_and_the_report_ends_with_findings_per_rule()
 {
    let project = Project::new();
    let body = (0..105)
        .map(|index| format!("  debugger; // {index}"))
        .collect::<Vec<_>>()
        .join("\n");
    let source = format!("export function step(n) {{\n{body}\n  return eval(n);\n}}\n");
    project.write("app/debugging.js", source);
    let outcome = project.run(&["review", "app", "--color", "never"]);
    outcome.expect_code(1);
    assert_eq!(
        outcome
            .stdout
            .matches(" MINOR  javascript/debugger-statement")
            .count(),
        20,
        "{}",
        outcome.stdout
    );
    let tail = &outcome.stdout[outcome.stdout.find("Not listed").unwrap()..];
    insta::with_settings!({ filters => snapshot_filters() }, {
        insta::assert_snapshot!("per_rule_cap", tail);
    });
    let all = project.run(&["review", "app", "--color", "never", "--show-all"]);
    all.expect_code(1);
    assert_eq!(
        all.stdout
            .matches(" MINOR  javascript/debugger-statement")
            .count(),
        105,
        "{}",
        all.stdout
    );
    assert!(!all.stdout.contains("Not listed"), "{}", all.stdout);
    assert!(all.stdout.contains("Findings by rule:"), "{}", all.stdout);
}

// --- history and show --------------------------------------------------------------------------------------------

fn run_id_of(project: &Project, args: &[&str]) -> (String, Outcome) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let outcome = project.run(&all);
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", outcome.stdout, outcome.stderr));
    (report["run_id"].as_str().unwrap().to_owned(), outcome)
}

/// `doc["jobs"]` of a `history --jobs --format json` page.
fn jobs_of(outcome: &Outcome) -> Vec<serde_json::Value> {
    let document: serde_json::Value = serde_json::from_str(&outcome.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", outcome.stdout, outcome.stderr));
    assert_eq!(document["schema"], "codeinsight/history-jobs/v1");
    document["jobs"].as_array().unwrap().clone()
}

#[test]
fn history_lists_jobs_with_server_side_filters() {
    let project = Project::new();
    project.run(&["review", "demo"]).expect_code(1);
    let table = project.run(&["history", "--jobs", "--color", "never"]);
    table.expect_code(0);
    assert!(table.stdout.starts_with("ID "), "{}", table.stdout);
    assert!(
        table.stdout.contains("demo/python/inventory.py"),
        "{}",
        table.stdout
    );
    let completed = project.run(&[
        "history",
        "--jobs",
        "--status",
        "completed",
        "--format",
        "json",
    ]);
    completed.expect_code(0);
    let jobs = jobs_of(&completed);
    assert!(!jobs.is_empty());
    assert!(jobs.iter().all(|job| job["status"] == "completed"));
    let failed = project.run(&[
        "history", "--jobs", "--status", "failed", "--format", "json",
    ]);
    failed.expect_code(0);
    assert!(jobs_of(&failed).iter().all(|job| job["status"] == "failed"));
    let python = project.run(&[
        "history",
        "--jobs",
        "--language",
        "python",
        "--format",
        "json",
    ]);
    let python = jobs_of(&python);
    assert!(!python.is_empty());
    assert!(python.iter().all(|job| job["language"] == "python"));
    // `--search` finds files by the rule ids of their findings too.
    let by_rule = project.run(&[
        "history",
        "--jobs",
        "--search",
        "python/subprocess-shell-true",
        "--format",
        "json",
    ]);
    let by_rule = jobs_of(&by_rule);
    assert_eq!(by_rule.len(), 1, "{by_rule:?}");
    assert_eq!(by_rule[0]["file_path"], "demo/python/inventory.py");
    // `--until` takes a date as a whole day.
    let before = project.run(&[
        "history",
        "--jobs",
        "--until",
        "2000-01-01",
        "--format",
        "json",
    ]);
    before.expect_code(0);
    assert!(jobs_of(&before).is_empty());
    let until = project.run(&[
        "history",
        "--jobs",
        "--until",
        "2999-12-31",
        "--format",
        "json",
    ]);
    assert_eq!(
        jobs_of(&until).len(),
        jobs_of(&completed).len() + jobs_of(&failed).len()
    );
    let bad_date = project.run(&["history", "--jobs", "--since", "last tuesday"]);
    bad_date.expect_code(2);
    assert!(bad_date.stderr.contains("since"), "{}", bad_date.stderr);
    let limited = project.run(&["history", "--jobs", "--limit", "2", "--format", "json"]);
    let limited_document: serde_json::Value = serde_json::from_str(&limited.stdout).unwrap();
    let limited = jobs_of(&limited);
    assert_eq!(limited.len(), 2);
    // `--page` walks the server's cursor: page 2 of 2 continues where page 1 stopped.
    let second = project.run(&[
        "history", "--jobs", "--limit", "2", "--page", "2", "--format", "json",
    ]);
    second.expect_code(0);
    let ids = |page: &[serde_json::Value]| -> Vec<String> {
        page.iter()
            .map(|job| job["job_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let second = jobs_of(&second);
    assert_eq!(ids(&second).len(), 2);
    assert!(ids(&second).iter().all(|id| !ids(&limited).contains(id)));
    // ... and so does `--cursor` with the `next_cursor` of page 1.
    let cursor = limited_document["next_cursor"].as_str().unwrap();
    let continued = project.run(&[
        "history", "--jobs", "--limit", "2", "--cursor", cursor, "--format", "json",
    ]);
    continued.expect_code(0);
    assert_eq!(ids(&jobs_of(&continued)), ids(&second));
}

#[test]
fn history_refuses_filters_that_do_not_fit_what_it_lists() {
    let project = Project::new();
    // Refused before any server is asked: no review ran, no server started.
    for flag in [
        ["--type", "review"],
        ["--language", "python"],
        ["--since", "2024-01-01"],
        ["--until", "2024-01-01"],
    ] {
        let refused = project.run(&["history", flag[0], flag[1]]);
        refused.expect_code(2);
        assert!(
            refused
                .stderr
                .contains(&format!("`{}` filters files", flag[0]))
                && refused.stderr.contains("add `--jobs`"),
            "{}",
            refused.stderr
        );
    }
    let file_status = project.run(&["history", "--status", "completed"]);
    file_status.expect_code(2);
    assert!(
        file_status.stderr.contains(
            "invalid `--status completed`: a run's status is running, passed, failed or incomplete"
        ),
        "{}",
        file_status.stderr
    );
    assert!(
        file_status.stderr.contains("add `--jobs`"),
        "{}",
        file_status.stderr
    );
    let run_status = project.run(&["history", "--jobs", "--status", "passed"]);
    run_status.expect_code(2);
    assert!(
        run_status.stderr.contains(
            "invalid `--status passed` with `--jobs`: a file's status is pending, processing, completed or failed"
        ),
        "{}",
        run_status.stderr
    );
    assert!(
        run_status.stderr.contains("drop `--jobs`"),
        "{}",
        run_status.stderr
    );
    let unknown = project.run(&["history", "--status", "done"]);
    unknown.expect_code(2);
    assert!(
        unknown
            .stderr
            .contains("running, passed, failed or incomplete"),
        "{}",
        unknown.stderr
    );
    project
        .run(&["history", "--page", "2", "--cursor", "abc"])
        .expect_code(2);
    assert!(
        !project.data.path().join("codeinsight.db").exists(),
        "a refused command started the embedded server"
    );
}

#[test]
fn show_re_renders_a_run_exactly_as_review_did() {
    let project = Project::new();
    let (run_id, _) = run_id_of(&project, &["review", "demo"]);
    let review = project.run(&["review", "demo", "--color", "never"]);
    let _ = review;
    let reviewed = project.run(&["show", &run_id, "--color", "never", "--format", "json"]);
    reviewed.expect_code(1);
    let shown: serde_json::Value = serde_json::from_str(&reviewed.stdout).unwrap();
    assert_eq!(shown["run_id"], run_id.as_str());
    let human = project.run(&["show", &run_id, "--color", "never"]);
    human.expect_code(1);
    assert!(
        human.last_line().starts_with("FAIL (exit 1): "),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("^^^"), "{}", human.stdout);
}

#[test]
fn show_of_a_skipped_file_run_keeps_the_verdict() {
    let project = Project::new();
    project.write(
        "mixed/clean.py",
        std::fs::read(project.path("demo/clean/temperatures.py")).unwrap(),
    );
    project.write("mixed/blob.py", b"\x00binary");
    // Named, the binary file makes the review incomplete; `show` says so again.
    let (run_id, review) = run_id_of(&project, &["review", "mixed/clean.py", "mixed/blob.py"]);
    review.expect_code(5);
    let shown = project.run(&["show", &run_id, "--color", "never"]);
    shown.expect_code(5);
    assert!(
        shown.stdout.contains("mixed/blob.py: binary"),
        "{}",
        shown.stdout
    );
    // Walked, it is left out by policy; `show` keeps that too.
    let (run_id, review) = run_id_of(&project, &["review", "mixed"]);
    review.expect_code(0);
    let shown = project.run(&["show", &run_id, "--color", "never"]);
    shown.expect_code(0);
    assert!(
        shown.stdout.contains("Left out by policy: 1")
            && shown.stdout.contains("mixed/blob.py: binary"),
        "{}",
        shown.stdout
    );
}

#[test]
fn show_of_a_job_and_of_an_unknown_id() {
    let project = Project::new();
    let (_, review) = run_id_of(&project, &["review", "demo/python/inventory.py"]);
    let report: serde_json::Value = serde_json::from_str(&review.stdout).unwrap();
    let job_id = report["files"][0]["job_id"].as_str().unwrap().to_owned();
    let shown = project.run(&["show", &job_id, "--color", "never"]);
    shown.expect_code(1);
    assert!(
        shown.stdout.contains("demo/python/inventory.py"),
        "{}",
        shown.stdout
    );
    let missing = project.run(&["show", "no-such-id"]);
    missing.expect_code(2);
}

// --- a real `codeinsight serve` process -------------------------------------------------------------------------

struct ServeProcess {
    child: Child,
    url: String,
    database: String,
    _dir: TempDir,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_serve() -> ServeProcess {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("server.db").display());
    start_serve_on(dir, database)
}

/// `codeinsight serve` on `database`, running in `dir`.
fn start_serve_on(dir: TempDir, database: String) -> ServeProcess {
    let port = free_port();
    // Built-in rules only, like the embedded tests: `serve` reads `[linters]` from codeinsight.toml in its directory.
    std::fs::write(
        dir.path().join("codeinsight.toml"),
        "[linters]\nenabled = false\n",
    )
    .unwrap();
    let child = std::process::Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database",
            &database,
            "--workers",
            "2",
        ])
        .env("CODEINSIGHT_DATA_DIR", dir.path())
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let started = Instant::now();
    loop {
        if let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) {
            let _ = stream.write_all(b"GET /health HTTP/1.0\r\n\r\n");
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            if response.starts_with("HTTP/1.") && response.contains(" 200 ") {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "`codeinsight serve` did not become healthy"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    ServeProcess {
        child,
        url: format!("http://127.0.0.1:{port}"),
        database,
        _dir: dir,
    }
}

#[test]
fn review_history_and_show_against_a_real_serve_process() {
    let server = start_serve();
    let project = Project::new();
    let created = project.run(&[
        "token",
        "create",
        "--user",
        "alice",
        "--database",
        &server.database,
    ]);
    created.expect_code(0);
    let token = created.stdout.trim().to_owned();
    assert!(!token.is_empty());
    let remote = |args: &[&str]| project.remote(&server.url, &token, args);
    let review = remote(&["review", "demo"]);
    review.expect_code(1);
    assert!(
        review.stdout.contains("python/subprocess-shell-true"),
        "{}",
        review.stdout
    );
    let history = remote(&["history", "--jobs", "--format", "json"]);
    history.expect_code(0);
    let jobs = jobs_of(&history);
    let first = jobs[0]["job_id"].as_str().unwrap().to_owned();
    assert!(jobs.iter().all(|job| job["user_id"] == "alice"));
    remote(&["history", "--status", "failed"]).expect_code(0);
    let shown = remote(&["show", &first]);
    assert!(matches!(shown.code, 0 | 1), "{}", shown.stderr);
    // A wrong token is refused: exit 3.
    let refused = project.run(&[
        "review",
        "demo/clean/temperatures.py",
        "--server",
        &server.url,
        "--token",
        "ci_bad_token",
    ]);
    refused.expect_code(3);
    assert!(
        refused.stderr.contains("refused the token"),
        "{}",
        refused.stderr
    );
}

/// Fails unless the JSON document at `document` is valid against `tests/schemas/{schema}` (Python's `jsonschema`).
#[track_caller]
fn assert_matches_schema(schema: &str, document: &Path) {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(schema);
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg("import json, sys, jsonschema\njsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))")
        .arg(&schema)
        .arg(document)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "a Python validator is missing: run `.ci/run` or `python3 -m pip install jsonschema`\n{stderr}"
    );
    assert!(
        output.status.success(),
        "{} does not match {}:\n{stderr}",
        document.display(),
        schema.display()
    );
}

/// `review ARGS` against `server` as if in a GitLab CI job on the branch `feature/history`.
fn review_in_ci(project: &Project, server: &ServeProcess, token: &str, args: &[&str]) -> Outcome {
    let mut all = vec!["review"];
    all.extend(args);
    all.extend([
        "--server",
        &server.url,
        "--token",
        token,
        "--color",
        "never",
    ]);
    let mut command = project.command(&all);
    for name in [
        "GITHUB_ACTIONS",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
        "CI_PIPELINE_URL",
    ] {
        command.env_remove(name);
    }
    command
        .env("GITLAB_CI", "true")
        .env("CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("CI_COMMIT_REF_NAME", "feature/history")
        .env("CI_PROJECT_PATH", "team/app")
        .env("CI_JOB_URL", "https://ci.example.com/team/app/-/jobs/42");
    Outcome::of(&command.output().unwrap())
}

/// The report `review --format json=PATH` wrote.
fn report_at(project: &Project, relative: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(project.path(relative)).unwrap()).unwrap()
}

#[test]
fn history_lists_runs_with_their_verdicts_and_show_judges_a_run_with_its_own_gate() {
    let server = start_serve();
    let project = Project::new();
    let created = project.run(&[
        "token",
        "create",
        "--user",
        "carol",
        "--database",
        &server.database,
    ]);
    created.expect_code(0);
    let token = created.stdout.trim().to_owned();
    let remote = |args: &[&str]| project.remote(&server.url, &token, args);

    // Two runs: one fails the default gate, one has findings but is made with `--fail-on never`.
    let gated = review_in_ci(
        &project,
        &server,
        &token,
        &["demo", "--format", "json=out/gated.json"],
    );
    gated.expect_code(1);
    let never = remote(&[
        "review",
        "demo/python/inventory.py",
        "--fail-on",
        "never",
        "--report-min",
        "major",
        "--format",
        "json=out/never.json",
    ]);
    never.expect_code(0);
    let gated_report = report_at(&project, "out/gated.json");
    let never_report = report_at(&project, "out/never.json");
    let gated_id = gated_report["run_id"].as_str().unwrap().to_owned();
    let never_id = never_report["run_id"].as_str().unwrap().to_owned();
    assert!(
        never_report["counts"]["major"].as_u64().unwrap() > 0,
        "{never_report}"
    );

    // The table: one row per run, newest first.
    let table = remote(&["history"]);
    table.expect_code(0);
    assert_no_control_characters(&table.stdout);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", table.stdout);
    for column in [
        "RUN", "STARTED", "VERDICT", "FILES", "CRIT", "MAJ", "MIN", "INFO", "DURATION", "SOURCE",
    ] {
        assert!(lines[0].contains(column), "{}", table.stdout);
    }
    let cells =
        |line: &str| -> Vec<String> { line.split_whitespace().map(str::to_owned).collect() };
    let never_row = cells(lines[1]);
    assert_eq!(never_row[0], never_id[..8], "{}", table.stdout);
    assert_eq!(never_row[3], "passed", "{}", table.stdout);
    assert_eq!(never_row[4], "1", "{}", table.stdout);
    let gated_row = cells(lines[2]);
    assert_eq!(gated_row[0], gated_id[..8], "{}", table.stdout);
    assert_eq!(gated_row[3], "failed", "{}", table.stdout);
    assert_eq!(
        gated_row[4],
        gated_report["files"].as_array().unwrap().len().to_string()
    );
    for (cell, severity) in gated_row[5..9]
        .iter()
        .zip(["critical", "major", "minor", "info"])
    {
        assert_eq!(
            *cell,
            gated_report["counts"][severity].to_string(),
            "{}",
            table.stdout
        );
    }
    assert!(
        lines[2].ends_with("feature/history (0123456)"),
        "{}",
        table.stdout
    );

    // The JSON document: the documented schema, and the runs with their gates, counts and source.
    let json = remote(&["history", "--format", "json"]);
    json.expect_code(0);
    project.write("out/runs.json", &json.stdout);
    assert_matches_schema(
        "codeinsight-history-runs-v1.json",
        &project.path("out/runs.json"),
    );
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["schema"], "codeinsight/history-runs/v1");
    assert!(document["next_cursor"].is_null(), "{document}");
    let runs = document["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{document}");
    assert_eq!(runs[0]["run_id"], never_id.as_str());
    assert_eq!(runs[0]["verdict"], "passed");
    assert!(runs[0]["gate"]["fail_on"].is_null(), "{document}");
    assert_eq!(runs[0]["gate"]["report_min"], "major");
    assert_eq!(runs[1]["run_id"], gated_id.as_str());
    assert_eq!(runs[1]["verdict"], "failed");
    assert_eq!(runs[1]["gate"]["fail_on"], "major");
    for severity in ["critical", "major", "minor", "info"] {
        assert_eq!(
            runs[1]["findings"][severity], gated_report["counts"][severity],
            "{document}"
        );
        assert_eq!(
            runs[0]["findings"][severity], never_report["counts"][severity],
            "{document}"
        );
    }
    assert_eq!(
        runs[1]["context"],
        serde_json::json!({
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "branch": "feature/history",
            "repository": "team/app",
            "ci_url": "https://ci.example.com/team/app/-/jobs/42",
        })
    );
    // `--search` looks in the source and the run id; `--status` is a run's verdict.
    let searched = remote(&["history", "--search", "feature/hist", "--format", "json"]);
    let searched: serde_json::Value = serde_json::from_str(&searched.stdout).unwrap();
    assert_eq!(searched["runs"].as_array().unwrap().len(), 1, "{searched}");
    assert_eq!(searched["runs"][0]["run_id"], gated_id.as_str());
    let by_id = remote(&["history", "--search", &never_id[..8], "--format", "json"]);
    let by_id: serde_json::Value = serde_json::from_str(&by_id.stdout).unwrap();
    assert_eq!(by_id["runs"][0]["run_id"], never_id.as_str(), "{by_id}");
    let passed = remote(&["history", "--status", "passed", "--format", "json"]);
    let passed: serde_json::Value = serde_json::from_str(&passed.stdout).unwrap();
    assert_eq!(passed["runs"].as_array().unwrap().len(), 1, "{passed}");
    assert_eq!(passed["runs"][0]["run_id"], never_id.as_str());
    // Pages: `--page 2` and the first page's `next_cursor` both give the older run.
    let first_page = remote(&["history", "--limit", "1", "--format", "json"]);
    let first_page: serde_json::Value = serde_json::from_str(&first_page.stdout).unwrap();
    assert_eq!(first_page["runs"][0]["run_id"], never_id.as_str());
    let cursor = first_page["next_cursor"].as_str().unwrap();
    for page in [
        remote(&["history", "--limit", "1", "--page", "2", "--format", "json"]),
        remote(&[
            "history", "--limit", "1", "--cursor", cursor, "--format", "json",
        ]),
    ] {
        page.expect_code(0);
        let page: serde_json::Value = serde_json::from_str(&page.stdout).unwrap();
        assert_eq!(page["runs"].as_array().unwrap().len(), 1, "{page}");
        assert_eq!(page["runs"][0]["run_id"], gated_id.as_str());
    }

    // `--jobs`: the files of both runs, in the documented schema.
    let jobs_table = remote(&["history", "--jobs", "--limit", "100"]);
    jobs_table.expect_code(0);
    assert!(
        jobs_table.stdout.starts_with("ID "),
        "{}",
        jobs_table.stdout
    );
    assert!(
        jobs_table.stdout.contains("demo/python/inventory.py")
            && jobs_table.stdout.contains("demo/go/server.go"),
        "{}",
        jobs_table.stdout
    );
    let jobs = remote(&["history", "--jobs", "--limit", "100", "--format", "json"]);
    jobs.expect_code(0);
    project.write("out/jobs.json", &jobs.stdout);
    assert_matches_schema(
        "codeinsight-history-jobs-v1.json",
        &project.path("out/jobs.json"),
    );
    let jobs = jobs_of(&jobs);
    assert_eq!(
        jobs.len(),
        gated_report["files"].as_array().unwrap().len() + 1
    );
    assert_eq!(
        jobs.iter()
            .filter(|job| job["run_id"] == never_id.as_str())
            .count(),
        1
    );

    // `show` judges a run with the gate it was made with: `--fail-on never` passes again, with the same verdict.
    let shown = remote(&["show", &never_id]);
    shown.expect_code(0);
    assert_eq!(shown.last_line(), never.last_line(), "{}", shown.stdout);
    assert!(
        shown.last_line().starts_with("PASS (exit 0): ")
            && shown.last_line().contains("(gate off: --fail-on never)"),
        "{}",
        shown.stdout
    );
    // Its `--report-min major` too: the minor finding stays hidden, as it was; without the run's own, it shows.
    assert_eq!(never_report["counts"]["minor"], 1, "{never_report}");
    assert!(
        shown.stdout.contains(" MAJOR ") && !shown.stdout.contains(" MINOR "),
        "{}",
        shown.stdout
    );
    let all = remote(&["show", &never_id, "--report-min", "info"]);
    all.expect_code(0);
    assert!(all.stdout.contains(" MINOR "), "{}", all.stdout);
    // The start of the id, as the table shows it, names the run too.
    let short = remote(&["show", &never_id[..8]]);
    short.expect_code(0);
    assert_eq!(short.last_line(), never.last_line());
    // A flag given to `show` wins over the run's gate.
    let strict = remote(&["show", &never_id, "--fail-on", "major"]);
    strict.expect_code(1);
    assert!(
        strict.last_line().starts_with("FAIL (exit 1): "),
        "{}",
        strict.stdout
    );
    // A job of the run is judged with the run's gate as well.
    let job_id = never_report["files"][0]["job_id"].as_str().unwrap();
    let job = remote(&["show", job_id]);
    job.expect_code(0);
    assert!(
        job.last_line().contains("(gate off: --fail-on never)"),
        "{}",
        job.stdout
    );
    let gated_shown = remote(&["show", &gated_id]);
    gated_shown.expect_code(1);
    assert_eq!(gated_shown.last_line(), gated.last_line());

    // A run the server refuses (a rule selection it does not know) is recorded as failed, with the reason.
    let refused = remote(&[
        "review",
        "demo/clean/temperatures.py",
        "--select",
        "no/such-rule",
    ]);
    refused.expect_code(2);
    assert!(
        refused.stderr.contains("no/such-rule"),
        "{}",
        refused.stderr
    );
    let failed = remote(&["history", "--status", "failed"]);
    failed.expect_code(0);
    assert_no_control_characters(&failed.stdout);
    let lines: Vec<&str> = failed.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", failed.stdout);
    assert!(cells(lines[1])[3] == "failed", "{}", failed.stdout);
    assert!(
        lines[2].starts_with("          refused by the server: `options.rules`: ")
            && lines[2].contains("no/such-rule"),
        "{}",
        failed.stdout
    );
    assert!(lines[3].starts_with(&gated_id[..8]), "{}", failed.stdout);
    let failed = remote(&["history", "--status", "failed", "--format", "json"]);
    project.write("out/failed.json", &failed.stdout);
    assert_matches_schema(
        "codeinsight-history-runs-v1.json",
        &project.path("out/failed.json"),
    );
    let failed: serde_json::Value = serde_json::from_str(&failed.stdout).unwrap();
    let failed = failed["runs"].as_array().unwrap();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|run| run["verdict"] == "failed"));
    let refused_run = &failed[0];
    assert_eq!(refused_run["total"], 0);
    assert!(
        refused_run["error"]
            .as_str()
            .unwrap()
            .starts_with("refused by the server: `options.rules`: "),
        "{refused_run}"
    );
    assert!(failed[1].get("error").is_none(), "{}", failed[1]);
    // `show` of it says it failed to start, and is not a pass.
    let refused_id = refused_run["run_id"].as_str().unwrap();
    let shown = remote(&["show", refused_id]);
    shown.expect_code(5);
    assert!(
        shown
            .last_line()
            .starts_with("INCOMPLETE (exit 5): the run failed to start (refused by the server: "),
        "{}",
        shown.stdout
    );
}

/// A TLS-terminating proxy on 127.0.0.1 in front of a plain server, with a certificate for `localhost` signed by a
/// throwaway CA (made with the `openssl` CLI), as a server behind nginx or a load balancer would be.
struct TlsProxy {
    port: u16,
    ca: PathBuf,
    _runtime: tokio::runtime::Runtime,
    _dir: TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn start_tls_proxy(upstream: SocketAddr) -> TlsProxy {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let dir = tempfile::tempdir().unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=codeinsight test CA",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(dir.path(), &ca);
    let mut request = vec!["req", "-subj", "/CN=localhost"];
    request.extend(ec);
    request.extend(["-keyout", "leaf.key", "-out", "leaf.csr"]);
    openssl(dir.path(), &request);
    std::fs::write(
        dir.path().join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir.path(),
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ],
    );
    let certificates = CertificateDer::pem_file_iter(dir.path().join("leaf.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.path().join("leaf.key")).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move {
        while let Ok((incoming, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(incoming).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    TlsProxy {
        port,
        ca: dir.path().join("ca.pem"),
        _runtime: runtime,
        _dir: dir,
    }
}

#[test]
fn token_commands_serve_and_review_work_on_postgresql() {
    let cluster = common::postgres::Cluster::start();
    let database = cluster.url();
    let project = Project::new();
    let created = project.run(&[
        "token",
        "create",
        "--user",
        "alice",
        "--database",
        &database,
    ]);
    created.expect_code(0);
    let token = created.stdout.trim().to_owned();
    let id = created.stderr.split('`').nth(1).unwrap().to_owned();
    let listed = project.run(&["token", "list", "--database", &database]);
    listed.expect_code(0);
    assert!(
        listed.stdout.contains(&id) && listed.stdout.contains("alice"),
        "{}",
        listed.stdout
    );

    let server = start_serve_on(tempfile::tempdir().unwrap(), database.clone());
    let remote = |args: &[&str]| project.remote(&server.url, &token, args);
    let review = remote(&["review", "demo"]);
    review.expect_code(1);
    assert!(
        review.stdout.contains("python/subprocess-shell-true"),
        "{}",
        review.stdout
    );
    let history = remote(&["history", "--jobs", "--format", "json"]);
    history.expect_code(0);
    assert!(!jobs_of(&history).is_empty());
    // The jobs are in PostgreSQL, not in a file of the server's.
    let stored = cluster.psql("SELECT count(*) FROM jobs WHERE user_id = 'alice'");
    assert!(stored.trim().parse::<usize>().unwrap() > 0, "{stored}");

    project
        .run(&["token", "revoke", &id, "--database", &database])
        .expect_code(0);
    // A revoked token is refused: exit 3.
    remote(&["review", "demo/clean/temperatures.py"]).expect_code(3);
}

#[test]
fn an_unreachable_postgresql_is_reported_at_once_with_its_cause_and_without_the_password() {
    let project = Project::new();
    let database = format!(
        "postgres://ci:hunter2@127.0.0.1:{}/codeinsight",
        free_port()
    );
    let started = Instant::now();
    let listed = project.run(&["token", "list", "--database", &database]);
    listed.expect_code(3);
    assert!(
        listed.stderr.contains("Connection refused"),
        "{}",
        listed.stderr
    );
    assert!(!listed.stderr.contains("hunter2"), "{}", listed.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_review_against_an_https_server_follows_its_jobs_over_a_tls_websocket() {
    let server = start_serve();
    let upstream: SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let proxy = start_tls_proxy(upstream);
    let project = Project::new();
    let created = project.run(&[
        "token",
        "create",
        "--user",
        "alice",
        "--database",
        &server.database,
    ]);
    created.expect_code(0);
    let token = created.stdout.trim().to_owned();
    let url = format!("https://localhost:{}", proxy.port);
    let review = Outcome::of(
        &project
            .command(&[
                "review",
                "demo/python",
                "--server",
                &url,
                "--token",
                &token,
                "--color",
                "never",
            ])
            // Trust the throwaway CA (and only it) for both HTTPS and the WebSocket.
            .env("SSL_CERT_FILE", &proxy.ca)
            .env_remove("SSL_CERT_DIR")
            .output()
            .unwrap(),
    );
    review.expect_code(1);
    assert!(
        review.stdout.contains("python/subprocess-shell-true"),
        "{}",
        review.stdout
    );
    // Events came over `wss://`: the follower never had to fall back to polling.
    assert!(
        !review.stderr.contains("WebSocket unavailable"),
        "{}",
        review.stderr
    );
}

// --- progress ----------------------------------------------------------------------------------------------------

#[test]
fn without_a_terminal_progress_is_plain_lines() {
    let project = Project::new();
    let outcome = project.run(&["review", "demo"]);
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains("codeinsight: reviewing 6 files"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("codeinsight: done: 6/6 files"),
        "{}",
        outcome.stderr
    );
    assert_no_control_characters(&outcome.stderr);
}

#[test]
fn quiet_leaves_only_findings_and_the_verdict() {
    let project = Project::new();
    let outcome = project.run(&["review", "demo", "--quiet", "--color", "never"]);
    outcome.expect_code(1);
    assert!(outcome.stderr.is_empty(), "{}", outcome.stderr);
    assert!(!outcome.stdout.contains("Findings:"), "{}", outcome.stdout);
    assert!(outcome.last_line().starts_with("FAIL (exit 1)"));
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[test]
fn on_a_terminal_progress_is_a_bar() {
    let project = Project::new();
    for index in 0..40 {
        project.write(
            &format!("many/m{index}.py"),
            format!("def f{index}(x):\n    return x == None\n"),
        );
    }
    let command = format!(
        "{} review many --color never --fail-on never",
        shell_quote(BIN)
    );
    let output = std::process::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .current_dir(project.root.path())
        .env("CODEINSIGHT_DATA_DIR", project.data.path())
        .env("TERM", "xterm-256color")
        .env_remove("CODEINSIGHT_SERVER")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("files"), "{text}");
    assert!(
        text.contains("\x1b[") || text.contains('\r'),
        "no bar drawn:\n{text:?}"
    );
    assert!(
        !text.contains("codeinsight: reviewing"),
        "plain lines on a terminal:\n{text}"
    );
}

// --- the rest of the surface -------------------------------------------------------------------------------------

#[test]
fn help_documents_the_exit_codes() {
    let project = Project::new();
    let outcome = project.run(&["review", "--help"]);
    outcome.expect_code(0);
    for code in [
        "0  every requested file",
        "1  gate failed",
        "2  usage",
        "3  server unreachable",
        "4  timed out",
        "5  review incomplete",
    ] {
        assert!(
            outcome.stdout.contains(code),
            "{code} missing from:\n{}",
            outcome.stdout
        );
    }
}

#[test]
fn rules_lists_and_explains() {
    let project = Project::new();
    let list = project.run(&["rules"]);
    list.expect_code(0);
    assert!(
        list.stdout.contains("python/subprocess-shell-true"),
        "{}",
        list.stdout
    );
    let one = project.run(&["rules", "python/subprocess-shell-true"]);
    one.expect_code(0);
    assert!(one.stdout.contains("shell"), "{}", one.stdout);
    project.run(&["rules", "no/such-rule"]).expect_code(2);
}

#[test]
fn completions_are_generated() {
    let project = Project::new();
    let outcome = project.run(&["completions", "bash"]);
    outcome.expect_code(0);
    assert!(outcome.stdout.contains("codeinsight"), "{}", outcome.stdout);
}

#[test]
fn gitignored_and_codeinsight_ignored_files_are_not_reviewed() {
    let project = Project::new();
    project.write("tree/.gitignore", "ignored.py\n");
    project.write(
        "tree/ignored.py",
        "import subprocess\nsubprocess.call(c, shell=True)\n",
    );
    project.write(".codeinsight/ignore", "tree/vendor/\n");
    project.write(
        "tree/vendor/lib.py",
        "import subprocess\nsubprocess.call(c, shell=True)\n",
    );
    project.write(
        "tree/ok.py",
        std::fs::read(project.path("demo/clean/temperatures.py")).unwrap(),
    );
    let outcome = project.run(&["review", "tree", "--format", "json"]);
    outcome.expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
    let paths: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["tree/ok.py"]);
}

#[test]
fn broken_pipe_is_success() {
    let project = Project::new();
    for index in 0..30 {
        project.write(
            &format!("many/m{index}.py"),
            format!("def f{index}(x):\n    return x == None\n").repeat(20),
        );
    }
    let script = format!(
        "{} review many --color never --quiet | head -n 1 >/dev/null; exit ${{PIPESTATUS[0]}}",
        shell_quote(BIN)
    );
    let output = std::process::Command::new("bash")
        .args(["-c", &script])
        .current_dir(project.root.path())
        .env("CODEINSIGHT_DATA_DIR", project.data.path())
        .env_remove("CODEINSIGHT_SERVER")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

// --- runs of any size ----------------------------------------------------------------------------------------------

/// About 100 kB of ordinary Python, different in every file (a service module of small functions).
fn python_module(index: usize) -> String {
    use std::fmt::Write as _;
    let mut text = format!(
        "\"\"\"Order service, part {index}: pricing, stock and invoices.\"\"\"\n\nimport logging\nfrom decimal import Decimal\n\nLOG = logging.getLogger(__name__)\n\n"
    );
    let mut function = 0;
    while text.len() < 100_000 {
        let _ = write!(
            text,
            "\n\ndef price_{index}_{function}(items, discount=Decimal(\"0.{function:02}\")):\n    \"\"\"Total of `items` after the discount, rounded to cents.\"\"\"\n    total = Decimal(0)\n    for item in items:\n        if item.quantity <= 0:\n            LOG.warning(\"skipping %s: quantity %d\", item.sku, item.quantity)\n            continue\n        total += item.unit_price * item.quantity\n    return (total * (1 - discount)).quantize(Decimal(\"0.01\"))\n",
        );
        function += 1;
    }
    text
}

#[test]
fn a_fifty_megabyte_tree_is_one_run_sent_in_batches_within_the_server_limits() {
    let project = Project::new();
    let files = 520;
    let mut bytes = 0;
    for index in 0..files {
        let module = python_module(index);
        bytes += module.len();
        project.write(&format!("big/pkg_{}/orders_{index}.py", index % 13), module);
    }
    assert!(bytes > 50_000_000, "{bytes}");
    let mut command = project.command(&["review", "big", "--format", "json", "--fail-on", "never"]);
    command.timeout(Duration::from_secs(900));
    let outcome = Outcome::of(&command.output().unwrap());
    outcome.expect_code(0);
    // More than one request (the server takes 32 MiB per request), said once.
    assert!(
        outcome
            .stderr
            .contains(&format!("sending {files} files in 2 requests")),
        "{}",
        outcome.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
    let reviewed = report["files"].as_array().unwrap();
    assert_eq!(reviewed.len(), files);
    assert!(
        reviewed.iter().all(|file| file["status"] == "reviewed"),
        "{}",
        outcome.stderr
    );
    // One logical run: every job of the history belongs to it, and `show` reads all of it back.
    let run_id = report["run_id"].as_str().unwrap();
    let history = project.run(&["history", "--jobs", "--limit", "100", "--format", "json"]);
    let jobs = jobs_of(&history);
    assert_eq!(jobs.len(), 100);
    assert!(
        jobs.iter().all(|job| job["run_id"] == run_id),
        "{}",
        history.stdout
    );
    // ... and the runs list has that one run, with every file.
    let runs = project.run(&["history", "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs.stdout).unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(runs["runs"][0]["run_id"], run_id);
    assert_eq!(runs["runs"][0]["total"], files);
    let shown = project.run(&["show", run_id, "--format", "json"]);
    shown.expect_code(0);
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown["files"].as_array().unwrap().len(), files);
}

// --- the result cache's key ---------------------------------------------------------------------------------------

fn rule_ids_of(outcome: &Outcome) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", outcome.stdout, outcome.stderr));
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|file| file["findings"].as_array().unwrap().iter())
        .map(|finding| finding["rule_id"].as_str().unwrap().to_owned())
        .collect()
}

fn cache_hits_of(outcome: &Outcome) -> Vec<bool> {
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["cache_hit"].as_bool().unwrap())
        .collect()
}

#[test]
fn editing_the_projects_ruff_toml_changes_the_findings_with_the_cache_on() {
    let project = Project::new();
    project.write(
        "codeinsight.toml",
        "[linters]\nenabled = true\nauto = false\n\n[linters.ruff]\nenabled = true\n",
    );
    project.write("app/ruff.toml", "[lint]\nselect = [\"F\"]\n");
    project.write("app/main.py", "import os\n\n\ndef main():\n    return 1\n");
    let args = [
        "review",
        "app/main.py",
        "--format",
        "json",
        "--fail-on",
        "never",
    ];
    let first = project.run(&args);
    first.expect_code(0);
    assert!(
        rule_ids_of(&first).contains(&"ruff/F401".to_owned()),
        "{}",
        first.stdout
    );
    let again = project.run(&args);
    assert_eq!(
        cache_hits_of(&again),
        [true],
        "the same inputs are served from the cache"
    );
    project.write(
        "app/ruff.toml",
        "[lint]\nselect = [\"F\"]\nignore = [\"F401\"]\n",
    );
    let edited = project.run(&args);
    edited.expect_code(0);
    assert_eq!(cache_hits_of(&edited), [false], "{}", edited.stdout);
    assert!(
        !rule_ids_of(&edited).contains(&"ruff/F401".to_owned()),
        "{}",
        edited.stdout
    );
}

#[test]
fn a_suppression_that_expired_yesterday_is_reported_as_expired_on_a_cache_hit_too() {
    let project = Project::new();
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).format("%Y-%m-%d");
    project.write(
        "app/tool.py",
        format!(
            "import os\n\n\ndef run(name):\n    # codeinsight-ignore: python/os-system-dynamic until={yesterday}\n    return os.system(\"ls \" + name)\n"
        ),
    );
    let args = [
        "review",
        "app/tool.py",
        "--format",
        "json",
        "--fail-on",
        "never",
    ];
    for (run, hit) in [(1, false), (2, true)] {
        let outcome = project.run(&args);
        outcome.expect_code(0);
        assert_eq!(cache_hits_of(&outcome), [hit], "run {run}");
        let ids = rule_ids_of(&outcome);
        assert!(
            ids.contains(&"python/os-system-dynamic".to_owned()),
            "run {run}: {ids:?}"
        );
        assert!(
            ids.iter().any(|id| id.contains("expired")),
            "run {run}: {ids:?}"
        );
    }
}

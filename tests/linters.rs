//! External linters for real: ruff, clippy, `ShellCheck`, `ESLint`, Biome, `go vet` and staticcheck run on fixture
//! files with known problems (`tests/fixtures/linters/`), and their normalised findings, positions, severities and
//! fixes are asserted, with the fixes applied through the engine's own `apply_fixes`. The failure paths use real
//! processes too: a program that does not exist, one that exits with an error, one that outlives its timeout, and
//! one that prints something that is not JSON. Last, a real server on 127.0.0.1:0 shows ruff's findings in a job.
//!
//! Nothing here is faked, so a tool that is not installed fails its test with a message saying so; `.ci/run`
//! installs every one of them (`ESLint` and Biome into `~/.cache/codeinsight-linters/npm`, or
//! `$CODEINSIGHT_NPM_BIN`).

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic message is the report"
)]
#![allow(
    clippy::items_after_statements,
    reason = "each test imports the severity names it asserts right where the table of expected rows starts"
)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use codeinsight::engine::linters::{
    CustomFormat, CustomLinterConfig, JsonShape, Origin, ToolConfig, Trust,
};
use codeinsight::engine::{
    Language, LintOutcome, LintTarget, Linters, LintersConfig, RuleSet, SourceFile, analyze,
    apply_fixes, merge_findings, parses_cleanly,
};
use codeinsight::protocol::{Applicability, Finding, Run, RunCreated, Severity, StageOutcome};
use codeinsight::server::{self, ServerConfig};
use serde_json::json;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/linters")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Where `.ci/run` installs the npm linters.
fn npm_bin() -> PathBuf {
    std::env::var_os("CODEINSIGHT_NPM_BIN").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/codeinsight-linters/npm/node_modules/.bin")
        },
        PathBuf::from,
    )
}

/// The program for `name`, or a failed test that says how to get it.
fn require(name: &str) -> String {
    let local = npm_bin().join(name);
    if local.is_file() {
        return local.display().to_string();
    }
    let on_path = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|directory| directory.join(name))
        .find(|candidate| candidate.is_file());
    match on_path {
        Some(path) => path.display().to_string(),
        None => panic!(
            "`{name}` is not installed, so this test cannot run it; `.ci/run` installs it (see its `tools` step)"
        ),
    }
}

/// Only the named built-in linter, configured (so required), with `command` found by [`require`].
fn only(name: &str, program: &str) -> LintersConfig {
    let tool = Some(ToolConfig {
        command: Some(require(program)),
        ..ToolConfig::default()
    });
    let mut config = LintersConfig {
        auto: false,
        ..LintersConfig::default()
    };
    match name {
        "ruff" => config.ruff = tool,
        "clippy" => config.clippy = tool,
        "shellcheck" => config.shellcheck = tool,
        "eslint" => config.eslint = tool,
        "biome" => config.biome = tool,
        "go-vet" => config.go_vet = tool,
        "staticcheck" => config.staticcheck = tool,
        other => panic!("no linter {other}"),
    }
    config
}

fn custom(
    name: &str,
    command: &[&str],
    format: CustomFormat,
    timeout: Option<f64>,
) -> LintersConfig {
    let mut linters = BTreeMap::new();
    linters.insert(
        name.to_owned(),
        CustomLinterConfig {
            command: command.iter().map(|part| (*part).to_owned()).collect(),
            languages: vec!["python".to_owned()],
            format,
            json: JsonShape::default(),
            required: None,
            timeout_seconds: timeout,
            finding_exit_codes: None,
            default_severity: None,
            read_only: Vec::new(),
        },
    );
    LintersConfig {
        auto: false,
        custom: linters,
        ..LintersConfig::default()
    }
}

/// Lints `content` as if submitted at `path` (a path that does not exist here, so the standalone mode runs).
fn lint(config: &LintersConfig, path: &str, content: &str, language: Language) -> LintOutcome {
    config.validate().unwrap();
    let linters = Linters::discover(config);
    linters.lint(&LintTarget {
        path,
        content,
        language: Some(language),
        user: Some("tester"),
    })
}

type Row = (
    String,
    Severity,
    (u32, u32),
    (u32, u32),
    Option<Applicability>,
);

/// Findings as sorted rows of rule, severity, start, end and fix applicability.
fn rows(findings: &[Finding]) -> Vec<Row> {
    let mut rows: Vec<Row> = findings
        .iter()
        .map(|finding| {
            (
                finding.rule_id.clone(),
                finding.severity,
                (finding.line, finding.column),
                (finding.end_line, finding.end_column),
                finding.fix.as_ref().map(|fix| fix.applicability),
            )
        })
        .collect();
    rows.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    rows
}

fn row(
    rule: &str,
    severity: Severity,
    start: (u32, u32),
    end: (u32, u32),
    fix: Option<Applicability>,
) -> Row {
    (rule.to_owned(), severity, start, end, fix)
}

fn assert_ran(outcome: &LintOutcome, name: &str) {
    assert_eq!(outcome.stages.len(), 1, "{:?}", outcome.stages);
    let stage = &outcome.stages[0];
    assert_eq!(stage.name, name);
    assert_eq!(stage.outcome, StageOutcome::Ok, "{stage:?}");
    assert!(stage.required, "a configured linter is required");
}

/// Applies the fixes of `findings` with at most `weakest` applicability.
fn fixed(content: &str, findings: &[Finding], weakest: Applicability) -> String {
    let fixes: Vec<_> = findings
        .iter()
        .filter_map(|finding| finding.fix.as_ref())
        .filter(|fix| fix.applicability <= weakest)
        .collect();
    let outcome = apply_fixes(content, &fixes).unwrap();
    assert_eq!(outcome.skipped_overlapping, 0);
    outcome.output
}

#[test]
fn ruff_findings_keep_character_columns_and_its_fixes() {
    let content = fixture("problems.py");
    let outcome = lint(
        &only("ruff", "ruff"),
        "app/problems.py",
        &content,
        Language::Python,
    );
    assert_ran(&outcome, "ruff");
    use Applicability::{Safe, Unsafe};
    use Severity::{Major, Minor};
    assert_eq!(
        rows(&outcome.findings),
        [
            row("ruff/F401", Minor, (2, 8), (2, 11), Some(Safe)),
            row("ruff/F841", Minor, (6, 5), (6, 11), Some(Unsafe)),
            row("ruff/E722", Minor, (9, 5), (9, 11), None),
            row("ruff/S110", Major, (9, 5), (10, 13), None),
        ]
    );
    let f401 = &outcome
        .findings
        .iter()
        .find(|f| f.rule_id == "ruff/F401")
        .unwrap();
    assert_eq!(f401.source, "ruff");
    assert_eq!(f401.path, "app/problems.py");
    assert_eq!(f401.snippet, "sys");
    assert_eq!(f401.message, "`sys` imported but unused");
    let safe = fixed(&content, &outcome.findings, Safe);
    assert_eq!(safe, content.replace("import sys\n", ""));
    let all = fixed(&content, &outcome.findings, Unsafe);
    assert_eq!(
        all,
        content
            .replace("import sys\n", "")
            .replace("    unused = \"héllo\"\n", "")
    );
    assert!(parses_cleanly(Language::Python, &all));
}

#[test]
fn ruff_findings_merge_with_built_in_rules_and_honour_suppressions() {
    let content =
        fixture("problems.py").replace("import sys", "import sys  # codeinsight-ignore: ruff/F401");
    let rules = RuleSet::builtin().unwrap();
    let file = SourceFile {
        path: "app/problems.py",
        content: &content,
        language: Some(Language::Python),
    };
    let builtin = analyze(&file, &rules);
    assert!(
        builtin.iter().any(|f| f.rule_id == "python/bare-except"),
        "{builtin:?}"
    );
    let outcome = lint(
        &only("ruff", "ruff"),
        "app/problems.py",
        &content,
        Language::Python,
    );
    let merged = merge_findings(&rules, builtin, outcome.findings, &content);
    let ids: Vec<&str> = merged.iter().map(|f| f.rule_id.as_str()).collect();
    assert!(!ids.contains(&"ruff/F401"), "suppressed: {ids:?}");
    assert!(
        !ids.contains(&"ruff/E722"),
        "merged into python/bare-except: {ids:?}"
    );
    assert!(ids.contains(&"ruff/F841"), "{ids:?}");
    assert!(
        !ids.contains(&"codeinsight/unknown-rule-in-suppression"),
        "{ids:?}"
    );
    let bare = merged
        .iter()
        .find(|f| f.rule_id == "python/bare-except")
        .unwrap();
    assert!(
        bare.message.ends_with("(also reported by `ruff/E722`)"),
        "{}",
        bare.message
    );
    assert!(merged.iter().all(|f| f.fingerprint.len() == 32));
}

#[test]
fn ruff_honours_the_projects_own_configuration() {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("ruff.toml"),
        "line-length = 20\n[lint]\nselect = [\"E501\"]\n",
    )
    .unwrap();
    std::fs::create_dir(project.path().join("pkg")).unwrap();
    let path = project.path().join("pkg/long.py");
    let content = "value = 'a line that is longer than twenty characters'\n";
    std::fs::write(&path, content).unwrap();
    // The embedded server reviews the user's own files, on disk: the project's configuration applies.
    let own_files = LintersConfig {
        trust: Trust::OwnFiles,
        ..only("ruff", "ruff")
    };
    let outcome = lint(
        &own_files,
        path.to_str().unwrap(),
        content,
        Language::Python,
    );
    assert_ran(&outcome, "ruff");
    let ids: Vec<_> = rows(&outcome.findings)
        .into_iter()
        .map(|row| row.0)
        .collect();
    assert_eq!(ids, ["ruff/E501"]);
    // A shared server never reads its own disk at a path a client names, even with the content matching.
    let untrusted = lint(
        &only("ruff", "ruff"),
        path.to_str().unwrap(),
        content,
        Language::Python,
    );
    assert_ran(&untrusted, "ruff");
    assert!(untrusted.findings.is_empty(), "{:?}", untrusted.findings);
    // The same content submitted from elsewhere gets ruff's defaults (no E501).
    let elsewhere = lint(
        &only("ruff", "ruff"),
        "elsewhere/long.py",
        content,
        Language::Python,
    );
    assert!(elsewhere.findings.is_empty(), "{:?}", elsewhere.findings);
}

#[test]
fn clippy_lints_a_standalone_file_with_rustc_applicabilities() {
    let content = fixture("problems.rs");
    let outcome = lint(
        &only("clippy", "clippy-driver"),
        "app/problems.rs",
        &content,
        Language::Rust,
    );
    assert_ran(&outcome, "clippy");
    use Applicability::{Safe, Suggestion};
    use Severity::Minor;
    assert_eq!(
        rows(&outcome.findings),
        [
            row("clippy/ptr_arg", Minor, (1, 22), (1, 31), Some(Suggestion)),
            row("clippy/len_zero", Minor, (3, 8), (3, 25), Some(Safe)),
            row("clippy/needless_return", Minor, (6, 5), (6, 38), Some(Safe)),
        ]
    );
    let safe = fixed(&content, &outcome.findings, Safe);
    assert_eq!(
        safe,
        content
            .replace("values.len() == 0", "values.is_empty()")
            .replace(
                "    return values.len() + label.len();",
                "    values.len() + label.len()"
            )
    );
    assert!(parses_cleanly(Language::Rust, &safe));
}

#[test]
fn clippy_says_when_a_file_does_not_compile_alone() {
    let content =
        "use crate::missing::Thing;\n\npub fn make() -> Thing {\n    return Thing::default();\n}\n";
    let outcome = lint(
        &only("clippy", "clippy-driver"),
        "app/uses_crate.rs",
        content,
        Language::Rust,
    );
    let stage = &outcome.stages[0];
    assert_eq!(stage.outcome, StageOutcome::Ok, "{stage:?}");
    let reason = stage.reason.as_deref().unwrap();
    assert!(
        reason.contains("compiled alone") && reason.contains("compiler error"),
        "{reason}"
    );
    assert!(
        outcome
            .findings
            .iter()
            .all(|f| f.rule_id.starts_with("clippy/"))
    );
}

#[test]
fn shellcheck_counts_a_tab_as_one_character_and_keeps_its_replacements() {
    let content = fixture("problems.sh");
    let outcome = lint(
        &only("shellcheck", "shellcheck"),
        "bin/problems.sh",
        &content,
        Language::Bash,
    );
    assert_ran(&outcome, "shellcheck");
    use Severity::{Info, Major};
    assert_eq!(
        rows(&outcome.findings),
        [
            row("shellcheck/SC2045", Major, (4, 10), (4, 21), None),
            row("shellcheck/SC2035", Info, (4, 15), (4, 16), None),
            row(
                "shellcheck/SC2086",
                Info,
                (5, 5),
                (5, 7),
                Some(Applicability::Unsafe)
            ),
        ]
    );
    let all = fixed(&content, &outcome.findings, Applicability::Unsafe);
    assert_eq!(all, content.replace("\tcp $f ", "\tcp \"$f\" "));
}

#[test]
fn eslint_converts_utf16_columns_and_keeps_fixes_and_suggestions() {
    let content = fixture("problems.js");
    let outcome = lint(
        &only("eslint", "eslint"),
        "web/problems.js",
        &content,
        Language::JavaScript,
    );
    assert_ran(&outcome, "eslint");
    use Severity::Minor;
    assert_eq!(
        rows(&outcome.findings),
        [
            row(
                "eslint/no-unused-vars",
                Minor,
                (2, 7),
                (2, 13),
                Some(Applicability::Suggestion)
            ),
            row(
                "eslint/no-extra-boolean-cast",
                Minor,
                (4, 7),
                (4, 14),
                Some(Applicability::Safe)
            ),
            row("eslint/no-debugger", Minor, (5, 5), (5, 14), None),
        ]
    );
    // The suggestion's range comes after an emoji (two UTF-16 units, four bytes) and must land on `const`.
    let all = fixed(&content, &outcome.findings, Applicability::Suggestion);
    assert_eq!(
        all,
        content
            .replace("const unused = 1;", "")
            .replace("!!value", "value")
    );
    assert!(parses_cleanly(Language::JavaScript, &all));
}

#[test]
fn biome_lints_javascript_and_typescript_with_its_suggested_changes() {
    let content = fixture("problems.ts");
    let outcome = lint(
        &only("biome", "biome"),
        "web/problems.ts",
        &content,
        Language::TypeScript,
    );
    assert_ran(&outcome, "biome");
    use Severity::Minor;
    assert_eq!(
        rows(&outcome.findings),
        [
            row(
                "biome/style/useConst",
                Minor,
                (1, 1),
                (1, 4),
                Some(Applicability::Unsafe)
            ),
            row(
                "biome/suspicious/noExplicitAny",
                Minor,
                (2, 31),
                (2, 34),
                None
            ),
        ]
    );
    let all = fixed(&content, &outcome.findings, Applicability::Unsafe);
    assert_eq!(all, content.replacen("let count", "const count", 1));

    let script = fixture("problems.js");
    let outcome = lint(
        &only("biome", "biome"),
        "web/problems.js",
        &script,
        Language::JavaScript,
    );
    assert_ran(&outcome, "biome");
    let ids: Vec<_> = rows(&outcome.findings)
        .into_iter()
        .map(|row| (row.0, row.1))
        .collect();
    assert_eq!(
        ids,
        [
            (
                "biome/correctness/noUnusedVariables".to_owned(),
                Severity::Minor
            ),
            (
                "biome/complexity/noExtraBooleanCast".to_owned(),
                Severity::Info
            ),
            ("biome/suspicious/noDebugger".to_owned(), Severity::Major),
        ]
    );
}

#[test]
fn go_vet_and_staticcheck_run_offline_on_a_standalone_file() {
    let content = fixture("problems.go");
    let vet = lint(
        &only("go-vet", "go"),
        "cmd/problems.go",
        &content,
        Language::Go,
    );
    assert_ran(&vet, "go-vet");
    assert_eq!(
        rows(&vet.findings),
        [row("go-vet/printf", Severity::Major, (7, 2), (7, 2), None)]
    );
    assert!(
        vet.findings[0].message.contains("wrong type string"),
        "{:?}",
        vet.findings[0]
    );
    let staticcheck = lint(
        &only("staticcheck", "go-staticcheck"),
        "cmd/problems.go",
        &content,
        Language::Go,
    );
    assert_ran(&staticcheck, "staticcheck");
    assert_eq!(
        rows(&staticcheck.findings),
        [
            row(
                "staticcheck/SA5009",
                Severity::Major,
                (7, 13),
                (7, 19),
                None
            ),
            row("staticcheck/SA5002", Severity::Major, (8, 2), (8, 5), None),
        ]
    );
}

#[test]
fn a_custom_linter_speaking_sarif_is_normalised() {
    let ruff = require("ruff");
    let config = custom(
        "ruff-sarif",
        &[
            &ruff,
            "check",
            "--no-cache",
            "--output-format",
            "sarif",
            "{file}",
        ],
        CustomFormat::Sarif,
        None,
    );
    let content = fixture("problems.py");
    let outcome = lint(&config, "app/problems.py", &content, Language::Python);
    assert_ran(&outcome, "ruff-sarif");
    let starts: Vec<_> = rows(&outcome.findings)
        .into_iter()
        .map(|row| (row.0, row.2, row.3))
        .collect();
    assert_eq!(
        starts,
        [
            ("ruff-sarif/F401".to_owned(), (2, 8), (2, 11)),
            ("ruff-sarif/F841".to_owned(), (6, 5), (6, 11)),
            ("ruff-sarif/E722".to_owned(), (9, 5), (9, 11)),
            ("ruff-sarif/S110".to_owned(), (9, 5), (10, 13)),
        ]
    );
    assert!(
        outcome
            .findings
            .iter()
            .all(|f| f.severity == Severity::Major),
        "SARIF `error` is major"
    );
}

#[test]
fn a_custom_linter_speaking_another_json_shape_is_normalised() {
    let shellcheck = require("shellcheck");
    let mut config = custom(
        "sc",
        &[&shellcheck, "-f", "json1", "{file}"],
        CustomFormat::Json,
        None,
    );
    let linter = config.custom.get_mut("sc").unwrap();
    linter.languages = vec!["bash".to_owned()];
    linter.json = JsonShape {
        results: "/comments".to_owned(),
        rule: "/code".to_owned(),
        message: "/message".to_owned(),
        line: "/line".to_owned(),
        column: "/column".to_owned(),
        end_line: "/endLine".to_owned(),
        end_column: "/endColumn".to_owned(),
        severity: "/level".to_owned(),
    };
    let content = fixture("problems.sh");
    let outcome = lint(&config, "bin/problems.sh", &content, Language::Bash);
    assert_ran(&outcome, "sc");
    let found: Vec<_> = rows(&outcome.findings)
        .into_iter()
        .map(|row| (row.0, row.1, row.2))
        .collect();
    assert_eq!(
        found,
        [
            ("sc/2045".to_owned(), Severity::Major, (4, 10)),
            ("sc/2035".to_owned(), Severity::Info, (4, 15)),
            ("sc/2086".to_owned(), Severity::Info, (5, 5)),
        ]
    );
}

/// The single stage of a failed or skipped run, with its reason.
fn failed_stage(config: &LintersConfig) -> (StageOutcome, String, bool) {
    let outcome = lint(
        config,
        "app/problems.py",
        &fixture("problems.py"),
        Language::Python,
    );
    assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
    assert!(!outcome.complete());
    let stage = &outcome.stages[0];
    (
        stage.outcome,
        stage.reason.clone().unwrap_or_default(),
        stage.required,
    )
}

#[test]
fn an_absent_linter_is_a_skipped_required_stage() {
    let config = custom(
        "ghost",
        &["/nonexistent/codeinsight-no-such-linter"],
        CustomFormat::Sarif,
        None,
    );
    let (outcome, reason, required) = failed_stage(&config);
    assert_eq!(outcome, StageOutcome::Skipped);
    assert!(reason.contains("was not found"), "{reason}");
    assert!(required);

    let mut config = LintersConfig {
        auto: false,
        ..LintersConfig::default()
    };
    config.ruff = Some(ToolConfig {
        command: Some("codeinsight-no-such-ruff".to_owned()),
        ..ToolConfig::default()
    });
    let (outcome, reason, required) = failed_stage(&config);
    assert_eq!(outcome, StageOutcome::Skipped);
    assert!(
        reason.contains("`codeinsight-no-such-ruff` was not found"),
        "{reason}"
    );
    assert!(required, "a linter named in the configuration is required");
}

#[test]
fn a_linter_that_exits_with_an_error_is_a_failed_stage_with_its_stderr() {
    let config = custom(
        "broken",
        &["sh", "-c", "echo 'cannot parse config' >&2; exit 3"],
        CustomFormat::Sarif,
        None,
    );
    let (outcome, reason, _) = failed_stage(&config);
    assert_eq!(outcome, StageOutcome::Failed);
    assert!(
        reason.contains("exited with code 3") && reason.contains("cannot parse config"),
        "{reason}"
    );
}

#[test]
fn a_linter_that_outlives_its_timeout_is_killed_and_its_directory_removed() {
    let log = tempfile::tempdir().unwrap();
    let seen = log.path().join("file");
    let script = format!("echo \"$1\" > '{}'; sleep 30", seen.display());
    // Own files, so that the script can leave a note outside its temporary directory (a sandbox would not let
    // it; tests/security.rs times a sandboxed run out too).
    let config = LintersConfig {
        trust: Trust::OwnFiles,
        ..custom(
            "slow",
            &["sh", "-c", &script, "sh", "{file}"],
            CustomFormat::Sarif,
            Some(1.0),
        )
    };
    let started = Instant::now();
    let (outcome, reason, _) = failed_stage(&config);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "not killed: {:?}",
        started.elapsed()
    );
    assert_eq!(outcome, StageOutcome::Failed);
    assert!(reason.contains("timed out after 1 s"), "{reason}");
    let copy = PathBuf::from(std::fs::read_to_string(&seen).unwrap().trim());
    assert!(copy.ends_with("problems.py"), "{}", copy.display());
    assert!(
        !copy.parent().unwrap().exists(),
        "temporary directory left behind: {}",
        copy.display()
    );
}

#[test]
fn output_that_is_not_json_is_a_failed_stage() {
    let config = custom(
        "chatty",
        &["echo", "this is not json"],
        CustomFormat::Sarif,
        None,
    );
    let (outcome, reason, _) = failed_stage(&config);
    assert_eq!(outcome, StageOutcome::Failed);
    assert!(reason.contains("not valid SARIF"), "{reason}");
}

#[test]
fn detected_linters_are_optional_and_versions_enter_the_fingerprint() {
    let linters = Linters::discover(&LintersConfig::default());
    let ruff = linters
        .all()
        .iter()
        .find(|linter| linter.name == "ruff")
        .unwrap();
    assert!(
        ruff.program.is_some(),
        "`ruff` is not on PATH; `.ci/run` installs it"
    );
    assert_eq!(ruff.origin, Origin::Detected);
    assert!(ruff.enabled && !ruff.required);
    let version = ruff.version.clone().unwrap();
    assert!(version.starts_with("ruff "), "{version}");
    assert!(
        linters.fingerprint().contains(&version),
        "{}",
        linters.fingerprint()
    );
    let none = Linters::none();
    assert!(none.all().iter().all(|linter| !linter.enabled));
    assert_ne!(none.fingerprint(), linters.fingerprint());
}

#[tokio::test]
async fn a_python_files_ruff_findings_reach_the_job_through_the_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("codeinsight.db").display());
    let mut config = ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), database);
    config.workers = 2;
    config.linters = only("ruff", "ruff");
    let server = server::start(config).await.unwrap();
    let token = server
        .state()
        .store()
        .create_token("alice", false)
        .await
        .unwrap()
        .token;
    let http = reqwest::Client::new();
    let content = fixture("problems.py");
    let submit = || async {
        let response = http
            .post(format!("{}/api/v1/runs", server.base_url()))
            .bearer_auth(&token)
            .json(&json!({"files": [{"path": "app/problems.py", "content": content}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let created: RunCreated = response.json().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let run: Run = http
                .get(format!(
                    "{}/api/v1/runs/{}",
                    server.base_url(),
                    created.run_id
                ))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if run.completed + run.failed == run.total {
                return run;
            }
            assert!(Instant::now() < deadline, "the run did not finish");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    for attempt in ["fresh", "cached"] {
        let run = submit().await;
        let job = &run.jobs[0];
        assert_eq!(job.cache_hit, attempt == "cached", "{attempt}");
        let results = job.results.as_ref().unwrap();
        let stage = results
            .stages
            .iter()
            .find(|stage| stage.name == "ruff")
            .unwrap();
        assert_eq!(stage.outcome, StageOutcome::Ok, "{attempt}: {stage:?}");
        assert!(stage.required);
        let f401 = results
            .findings
            .iter()
            .find(|f| f.rule_id == "ruff/F401")
            .unwrap();
        assert_eq!((f401.line, f401.column, f401.end_column), (2, 8, 11));
        assert_eq!(
            f401.fix.as_ref().unwrap().applicability,
            Applicability::Safe
        );
        assert!(
            results
                .findings
                .iter()
                .any(|f| f.rule_id == "python/bare-except")
        );
        assert!(
            !results.findings.iter().any(|f| f.rule_id == "ruff/E722"),
            "merged"
        );
        assert!(
            results
                .lint_result
                .issues
                .iter()
                .any(|issue| issue.rule == "ruff/F401")
        );
    }
    server.shutdown().await;
}

/// `codeinsight ARGS` in `dir` with its own data directory and no server from the environment.
fn codeinsight(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_codeinsight"))
        .args(args)
        .current_dir(dir)
        .env("CODEINSIGHT_DATA_DIR", dir.join(".data"))
        .env_remove("CODEINSIGHT_SERVER")
        .env_remove("CODEINSIGHT_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn doctor_lists_found_missing_and_disabled_linters_with_versions() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[linters]\nauto = false\n[linters.ruff]\ncommand = \"{}\"\n[linters.shellcheck]\nenabled = false\n\
         [linters.custom.ghost]\ncommand = [\"codeinsight-no-such-linter\"]\nlanguages = [\"python\"]\n",
        require("ruff")
    );
    std::fs::write(dir.path().join("codeinsight.toml"), config).unwrap();
    let output = codeinsight(dir.path(), &["doctor", "--format", "json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let entry = |name: &str| {
        report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|linter| linter["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(entry("ruff")["enabled"], true);
    assert_eq!(entry("ruff")["origin"], "configured");
    assert!(
        entry("ruff")["version"]
            .as_str()
            .unwrap()
            .starts_with("ruff ")
    );
    assert_eq!(entry("shellcheck")["enabled"], false);
    assert_eq!(entry("ghost")["enabled"], true);
    assert!(
        entry("ghost")["note"]
            .as_str()
            .unwrap()
            .contains("was not found")
    );
    let table = codeinsight(dir.path(), &["linters"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("ghost") && text.contains("missing"), "{text}");
}

#[test]
fn the_verdict_names_the_linters_and_a_missing_required_one_makes_the_review_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), fixture("problems.py")).unwrap();
    let ruff = format!(
        "[linters]\nauto = false\n[linters.ruff]\ncommand = \"{}\"\n",
        require("ruff")
    );
    std::fs::write(dir.path().join("codeinsight.toml"), &ruff).unwrap();
    let output = codeinsight(
        dir.path(),
        &["review", "app.py", "--fail-on", "never", "--no-cache"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("ruff/F401"), "{stdout}");
    assert!(
        stdout
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .ends_with("; linters: ruff"),
        "{stdout}"
    );

    let missing =
        "[linters]\nauto = false\n[linters.ruff]\ncommand = \"codeinsight-no-such-ruff\"\n";
    std::fs::write(dir.path().join("codeinsight.toml"), missing).unwrap();
    let output = codeinsight(
        dir.path(),
        &["review", "app.py", "--fail-on", "never", "--no-cache"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(5), "{stdout}");
    assert!(stdout.contains("stage `ruff` skipped"), "{stdout}");
}

#[test]
fn no_linters_runs_the_built_in_rules_only_and_is_not_incomplete_without_a_required_linter() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), fixture("problems.py")).unwrap();
    let ruff = format!(
        "[linters]\nauto = false\n[linters.ruff]\ncommand = \"{}\"\n",
        require("ruff")
    );
    std::fs::write(dir.path().join("codeinsight.toml"), &ruff).unwrap();
    let review = |extra: &[&str]| {
        let mut args = vec!["review", "app.py", "--fail-on", "never", "--format", "json"];
        args.extend_from_slice(extra);
        let output = codeinsight(dir.path(), &args);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let report: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"));
        let rule_ids = report["files"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|finding| finding["rule_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>();
        let stages = report["files"][0]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|stage| stage["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>();
        (output.status.code(), rule_ids, stages)
    };

    // The same file with ruff, then without: the second run is not served the first one's cached result.
    let (code, with_ruff, stages) = review(&[]);
    assert_eq!(code, Some(0));
    assert!(
        with_ruff.iter().any(|id| id.starts_with("ruff/")),
        "{with_ruff:?}"
    );
    assert!(stages.iter().any(|stage| stage == "ruff"), "{stages:?}");
    let (code, built_in, stages) = review(&["--no-linters"]);
    assert_eq!(code, Some(0));
    assert!(!built_in.is_empty());
    assert!(
        built_in.iter().all(|id| !id.starts_with("ruff/")),
        "{built_in:?}"
    );
    assert!(stages.iter().all(|stage| stage != "ruff"), "{stages:?}");

    // A required linter that is missing makes a review incomplete, unless the run leaves linters out.
    let missing =
        "[linters]\nauto = false\n[linters.ruff]\ncommand = \"codeinsight-no-such-ruff\"\n";
    std::fs::write(dir.path().join("codeinsight.toml"), missing).unwrap();
    assert_eq!(review(&[]).0, Some(5));
    let (code, rule_ids, _) = review(&["--no-linters"]);
    assert_eq!(code, Some(0));
    assert_eq!(rule_ids, built_in);
}

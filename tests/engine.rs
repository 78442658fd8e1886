//! Engine tests over fixture files: every built-in rule against its flagged and clean examples, its fix applied and
//! re-parsed, a snapshot of all findings, and a run over real code nobody wrote for this project.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use codeinsight::engine::{
    Language, RuleInfo, RuleSet, Selection, SourceFile, analyze, analyze_selected, apply_fixes,
    parses_cleanly,
};
use codeinsight::protocol::Finding;

const MARKER: &str = "ci:expect";

fn rules() -> RuleSet {
    RuleSet::builtin().expect("built-in rules load")
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `rules/<lang>/fixtures/<name>/` for a rule with id `<lang>/<name>`.
fn fixture_dir(info: &RuleInfo) -> PathBuf {
    let (language_dir, name) = info.id.split_once('/').expect("rule ids are lang/name");
    manifest()
        .join("rules")
        .join(language_dir)
        .join("fixtures")
        .join(name)
}

fn fixture_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.file_stem().is_some_and(|s| s == stem))
}

/// `clean-<case>.*` files beside `clean.*`.
fn extra_clean_fixtures(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| {
                    path.file_name()
                        .is_some_and(|name| name.to_string_lossy().starts_with("clean-"))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn analyze_path(path: &Path, rules: &RuleSet) -> (String, Vec<Finding>) {
    // Fixtures exercise every rule, whatever its group.
    analyze_path_with(path, rules, &Selection::all(rules))
}

/// `path` analysed with one rule alone: a rule's fixtures show what it does by itself (with every rule on, a
/// data-flow rule reporting the same bug with its path takes the place of a pattern rule's finding).
fn analyze_path_alone(path: &Path, rules: &RuleSet, rule_id: &str) -> (String, Vec<Finding>) {
    let alone = codeinsight::protocol::RuleSelection {
        select: vec![rule_id.to_owned()],
        ..Default::default()
    };
    let selection = Selection::resolve(&alone, rules).expect("the rule exists");
    analyze_path_with(path, rules, &selection)
}

fn analyze_path_with(
    path: &Path,
    rules: &RuleSet,
    selection: &Selection,
) -> (String, Vec<Finding>) {
    let content = fs::read_to_string(path).expect("fixture is UTF-8");
    let relative = path
        .strip_prefix(manifest())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    let language = Language::detect(&relative, &content);
    let findings = analyze_selected(
        &SourceFile {
            path: &relative,
            content: &content,
            language,
        },
        rules,
        selection,
    );
    (content, findings)
}

fn builtin_code_rules(rules: &RuleSet) -> Vec<&RuleInfo> {
    rules
        .rules()
        .iter()
        .filter(|info| info.source == "codeinsight" && info.language.is_some())
        .collect()
}

#[test]
fn every_builtin_rule_compiles_for_every_language_it_runs_on() {
    // Rules compile lazily per language at run time; this is where a broken one is caught.
    rules().compile_all().expect("every built-in rule compiles");
}

#[test]
fn every_required_language_has_at_least_ten_rules_and_fifty_in_all() {
    let rules = rules();
    let mut per_language: BTreeMap<&str, usize> = BTreeMap::new();
    for info in builtin_code_rules(&rules) {
        *per_language
            .entry(info.language.expect("code rule").name())
            .or_default() += 1;
    }
    for language in ["rust", "python", "javascript", "typescript", "go"] {
        let count = per_language.get(language).copied().unwrap_or(0);
        assert!(
            count >= 10,
            "{language} has {count} rules: {per_language:?}"
        );
    }
    let total: usize = per_language.values().sum();
    assert!(total >= 50, "{total} rules in all: {per_language:?}");
}

#[test]
fn every_rule_is_documented_and_categorised() {
    let rules = rules();
    for info in rules.rules() {
        assert!(
            !info.message.trim().is_empty(),
            "{} has no message",
            info.id
        );
        assert!(
            [
                "security",
                "correctness",
                "performance",
                "maintainability",
                "style"
            ]
            .contains(&info.category.as_str()),
            "{} has category {}",
            info.id,
            info.category
        );
        if info.language.is_some() {
            for heading in ["What it flags", "Why it matters", "Example", "Fix"] {
                assert!(
                    info.docs.contains(heading),
                    "{}: docs lack a `{heading}` section",
                    info.id
                );
            }
        }
    }
}

#[test]
fn every_rule_matches_exactly_its_marked_fixture_lines() {
    let rules = rules();
    let mut failures = Vec::new();
    for info in builtin_code_rules(&rules) {
        let dir = fixture_dir(info);
        let (Some(flagged), Some(clean)) =
            (fixture_file(&dir, "flagged"), fixture_file(&dir, "clean"))
        else {
            failures.push(format!(
                "{}: no flagged/clean fixtures in {}",
                info.id,
                dir.display()
            ));
            continue;
        };
        let (content, findings) = analyze_path_alone(&flagged, &rules, &info.id);
        let expected: BTreeSet<u32> = content
            .lines()
            .enumerate()
            .filter(|(_, line)| line.contains(MARKER))
            .map(|(index, _)| index as u32 + 1)
            .collect();
        let actual: BTreeSet<u32> = findings
            .iter()
            .filter(|finding| finding.rule_id == info.id)
            .map(|finding| finding.line)
            .collect();
        if expected.is_empty() {
            failures.push(format!(
                "{}: flagged fixture marks no line with `{MARKER}`",
                info.id
            ));
        }
        if expected != actual {
            failures.push(format!(
                "{}: flagged lines {actual:?}, marked {expected:?}",
                info.id
            ));
        }
        // `suppressed.*`: the rule's matches there carry another tool's suppression of the same check
        // (`# noqa: E722`, `// eslint-disable-next-line no-eval`, `#[allow(clippy::...)]`), so it stays quiet.
        if let Some(suppressed) = fixture_file(&dir, "suppressed") {
            let (_, findings) = analyze_path_alone(&suppressed, &rules, &info.id);
            let lines: Vec<u32> = findings
                .iter()
                .filter(|finding| finding.rule_id == info.id)
                .map(|finding| finding.line)
                .collect();
            if !lines.is_empty() {
                failures.push(format!(
                    "{}: fires despite other tools' suppressions at lines {lines:?}",
                    info.id
                ));
            }
        }
        // `clean.*` and any `clean-<case>.*`: near misses that must stay quiet.
        for clean in std::iter::once(clean).chain(extra_clean_fixtures(&dir)) {
            let (_, clean_findings) = analyze_path_alone(&clean, &rules, &info.id);
            let false_positives: Vec<u32> = clean_findings
                .iter()
                .filter(|finding| finding.rule_id == info.id)
                .map(|finding| finding.line)
                .collect();
            if !false_positives.is_empty() {
                failures.push(format!(
                    "{}: fires on {} at lines {false_positives:?}",
                    info.id,
                    clean.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fix_applies_and_leaves_code_that_parses_and_no_longer_matches() {
    let rules = rules();
    let mut failures = Vec::new();
    let mut fixed_rules = 0;
    for info in builtin_code_rules(&rules) {
        if info.fix_safety.is_none() {
            continue;
        }
        let Some(flagged) = fixture_file(&fixture_dir(info), "flagged") else {
            continue; // reported by the fixture test
        };
        let (content, findings) = analyze_path(&flagged, &rules);
        let fixes: Vec<_> = findings
            .iter()
            .filter(|finding| finding.rule_id == info.id)
            .filter_map(|finding| finding.fix.as_ref())
            .collect();
        if fixes.is_empty() {
            failures.push(format!("{}: declares a fix but produced none", info.id));
            continue;
        }
        let outcome = apply_fixes(&content, &fixes).expect("fix edits are in range");
        let language =
            Language::detect(&flagged.to_string_lossy(), &content).expect("known language");
        if parses_cleanly(language, &content) && !parses_cleanly(language, &outcome.output) {
            failures.push(format!(
                "{}: fixed code no longer parses:\n{}",
                info.id, outcome.output
            ));
        }
        let refixed = analyze_selected(
            &SourceFile {
                path: "fixed",
                content: &outcome.output,
                language: Some(language),
            },
            &rules,
            &Selection::all(&rules),
        );
        let remaining = refixed
            .iter()
            .filter(|finding| finding.rule_id == info.id)
            .count();
        // Findings without a fix (a form of the rule that has none) stay; overlapping fixes are applied one per
        // pass, so other remaining matches are only acceptable then.
        let fixless = findings
            .iter()
            .filter(|finding| finding.rule_id == info.id && finding.fix.is_none())
            .count();
        if remaining > fixless && outcome.skipped_overlapping == 0 {
            failures.push(format!(
                "{}: still fires {remaining} time(s) after its fix",
                info.id
            ));
        }
        fixed_rules += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(fixed_rules > 0, "no built-in rule has a fix");
}

#[test]
fn snapshot_of_findings_on_every_flagged_fixture() {
    let rules = rules();
    let mut listing = String::new();
    for info in builtin_code_rules(&rules) {
        let Some(flagged) = fixture_file(&fixture_dir(info), "flagged") else {
            continue;
        };
        let (_, findings) = analyze_path(&flagged, &rules);
        for finding in findings {
            let _ = writeln!(
                listing,
                "{}:{}:{}-{}:{} {} [{}] {}{}",
                finding.path,
                finding.line,
                finding.column,
                finding.end_line,
                finding.end_column,
                finding.rule_id,
                finding.severity,
                finding.message,
                finding.fix.as_ref().map_or(String::new(), |fix| format!(
                    " (fix: {:?})",
                    fix.applicability
                )),
            );
        }
    }
    insta::assert_snapshot!("flagged_fixture_findings", listing);
}

#[test]
fn user_rules_load_beside_the_builtins_and_bad_files_name_themselves() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("no-print.yml"),
        "id: team/no-print\nlanguage: python\nseverity: warning\nmessage: \"`print` left in code\"\n\
         metadata:\n  category: maintainability\nrule:\n  pattern: print($$$ARGS)\n",
    )
    .expect("write rule");
    let rules = RuleSet::with_user_rules(dir.path()).expect("user rules load");
    let info = rules.get("team/no-print").expect("user rule present");
    assert_eq!(info.source, "user");
    assert_eq!(info.severity.as_str(), "minor");
    let findings = analyze(
        &SourceFile {
            path: "app.py",
            content: "print('hi')\n",
            language: Some(Language::Python),
        },
        &rules,
    );
    assert!(
        findings
            .iter()
            .any(|finding| finding.rule_id == "team/no-print"
                && finding.source == "user"
                && finding.line == 1)
    );

    fs::write(
        dir.path().join("broken.yml"),
        "id: team/broken\nlanguage: python\nrule:\n  patern: print($A)\n",
    )
    .expect("write rule");
    let error = RuleSet::with_user_rules(dir.path())
        .err()
        .expect("invalid rule is an error");
    let message = error.to_string();
    assert!(message.contains("broken.yml"), "{message}");
    assert!(message.contains("patern"), "{message}");
}

/// Real code nobody wrote for this project: this package's own sources, the Rust crates cargo downloaded to build
/// it, the Python standard library and npm's JavaScript. No rule may panic, and no rule may fire on every file.
#[test]
fn rules_stay_quiet_enough_on_real_code() {
    let rules = rules();
    let mut corpora: Vec<(String, Vec<PathBuf>)> = Vec::new();
    let own: Vec<PathBuf> = collect(&manifest().join("src"), "rs", 200);
    corpora.push(("this package (rust)".into(), own));
    if let Some(home) = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
    {
        let registry = home.join("registry").join("src");
        corpora.push((
            "cargo registry (rust)".into(),
            collect(&registry, "rs", 150),
        ));
    }
    let python_lib = std::process::Command::new("python3")
        .args([
            "-c",
            "import os, sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|path| PathBuf::from(path.trim()));
    if let Some(lib) = python_lib {
        corpora.push(("python stdlib".into(), collect(&lib, "py", 150)));
    }
    for node_modules in ["/usr/lib/node_modules", "/usr/local/lib/node_modules"] {
        corpora.push((
            "npm (javascript)".into(),
            collect(Path::new(node_modules), "js", 150),
        ));
    }
    let mut total_files = 0;
    for (name, files) in corpora {
        if files.len() < 20 {
            continue;
        }
        total_files += files.len();
        let mut files_hit: BTreeMap<String, usize> = BTreeMap::new();
        for path in &files {
            let Ok(content) = fs::read_to_string(path) else {
                continue;
            };
            let display = path.to_string_lossy();
            let findings = analyze(
                &SourceFile {
                    path: &display,
                    content: &content,
                    language: Language::detect(&display, &content),
                },
                &rules,
            );
            let ids: BTreeSet<String> = findings
                .into_iter()
                .map(|finding| finding.rule_id)
                .collect();
            for id in ids {
                *files_hit.entry(id).or_default() += 1;
            }
        }
        for (id, hits) in files_hit {
            assert!(
                hits < files.len(),
                "{id} fired on every one of {} files in {name}",
                files.len()
            );
        }
    }
    assert!(
        total_files >= 200,
        "only {total_files} real files found to scan"
    );
}

fn collect(root: &Path, extension: &str, limit: usize) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == extension)
                && fs::metadata(&path).is_ok_and(|meta| meta.len() < 200_000)
            {
                found.push(path);
                if found.len() >= limit {
                    return found;
                }
            }
        }
    }
    found
}

#[test]
fn a_user_taint_rule_follows_its_own_propagators_and_reports_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rule = "id: team/report-injection\nlanguage: python\nmode: taint\nseverity: error\n\
                message: \"form data reaches the report query\"\nmetadata:\n  category: security\n\
                sources:\n  - pattern: form.value($$$)\nsinks:\n  - pattern: report.run($SINK)\n";
    let with_propagator = format!("{rule}propagators:\n  - pattern: $TO.absorb($FROM)\n");
    let content = "def build(form, report, query):\n    name = form.value(\"name\")\n    query.absorb(name)\n    report.run(query)\n";
    let findings_with = |yaml: &str| {
        fs::write(dir.path().join("report.yml"), yaml).expect("write rule");
        let rules = RuleSet::with_user_rules(dir.path()).expect("user rules load");
        analyze(
            &SourceFile {
                path: "report.py",
                content,
                language: Some(Language::Python),
            },
            &rules,
        )
        .into_iter()
        .filter(|finding| finding.rule_id == "team/report-injection")
        .collect::<Vec<_>>()
    };
    // Without the propagator, `absorb` is unknown and nothing reaches the sink.
    assert!(findings_with(rule).is_empty());
    let findings = findings_with(&with_propagator);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].line, 4);
    let labels: Vec<&str> = findings[0]
        .flow
        .iter()
        .map(|step| step.label.as_str())
        .collect();
    assert_eq!(
        labels,
        ["form.value(\"name\")", "name", "query", "report.run"]
    );
}

/// The lines of the findings of `rule_ids` in the Python file `content`, reviewed as `path`.
fn python_lines(rules: &RuleSet, path: &str, content: &str, rule_ids: &[&str]) -> Vec<u32> {
    analyze(
        &SourceFile {
            path,
            content,
            language: Some(Language::Python),
        },
        rules,
    )
    .into_iter()
    .filter(|finding| rule_ids.contains(&finding.rule_id.as_str()))
    .map(|finding| finding.line)
    .collect()
}

#[test]
fn a_django_views_url_parameters_are_sources_but_a_helper_taking_request_is_not_a_view() {
    let rules = rules();
    let content = "from django.db import connection\n\n\ndef article(request, slug, template=\"article.html\"):\n    with connection.cursor() as cursor:\n        cursor.execute(f\"SELECT * FROM articles WHERE slug = '{slug}'\")\n        cursor.execute(f\"SELECT * FROM templates WHERE name = '{template}'\")\n";
    let lines = |path: &str| python_lines(&rules, path, content, &["python/sql-injection"]);
    // In views.py the URL capture is a source; the defaulted parameter comes from the URLconf.
    assert_eq!(lines("blog/views.py"), [6]);
    assert_eq!(lines("blog/views/articles.py"), [6]);
    assert!(lines("blog/queries.py").is_empty());
}

#[test]
fn a_flow_never_quotes_a_secret_even_where_its_label_is_clipped() {
    let rules = rules();
    let secret = "AKIAIOSFODNN7EXAMPLQ";
    let content = format!(
        "from flask import request\n\n\ndef find(cursor):\n    payload = request.get_json(cache=\"14-characters-{secret}\", silent=True)\n    cursor.execute(\"SELECT * FROM t WHERE n = '\" + payload[\"n\"] + \"'\")\n"
    );
    let findings = analyze(
        &SourceFile {
            path: "app.py",
            content: &content,
            language: Some(Language::Python),
        },
        &rules,
    );
    let flow = findings
        .iter()
        .find(|finding| finding.rule_id == "python/sql-injection")
        .map(|finding| finding.flow.clone())
        .expect("the flow is reported");
    assert!(flow.len() >= 3, "{flow:?}");
    // The source is quoted (the call, the secret among its arguments) and clipped, but masked first.
    assert!(flow[0].label.starts_with("request.get_json("), "{flow:?}");
    // The clip falls inside the key: no character of it beyond the masked prefix may show.
    for step in &flow {
        assert!(!step.label.contains("IOSFO"), "{flow:?}");
        assert!(step.label.chars().count() <= 48, "{flow:?}");
    }
}

#[test]
fn one_value_reaching_several_sinks_of_a_rule_is_one_finding_that_names_the_others() {
    let rules = rules();
    let content = "import os\nfrom flask import request\n\n\ndef upload():\n    path = os.path.join(\"/srv/files\", request.args[\"name\"])\n    with open(path, \"wb\") as out:\n        out.write(request.data)\n    with open(path, \"rb\") as back:\n        data = back.read()\n    os.remove(path)\n    other = os.path.join(\"/srv/other\", request.args[\"other\"])\n    os.remove(other)\n    return data\n";
    let findings: Vec<Finding> = analyze(
        &SourceFile {
            path: "app.py",
            content,
            language: Some(Language::Python),
        },
        &rules,
    )
    .into_iter()
    .filter(|finding| finding.rule_id == "python/path-traversal")
    .collect();
    let lines: Vec<u32> = findings.iter().map(|finding| finding.line).collect();
    // `path` is written, read back and deleted: one finding at the first sink. `other` is a flow of its own.
    assert_eq!(lines, [7, 13], "{findings:#?}");
    assert!(
        findings[0]
            .message
            .ends_with("(the same value also reaches lines 9, 11)"),
        "{}",
        findings[0].message
    );
    assert!(
        !findings[1].message.contains("also reaches"),
        "{}",
        findings[1].message
    );
}

#[test]
fn decorated_views_are_views_but_helpers_they_call_and_command_line_options_are_not() {
    let rules = rules();
    let lines = |path: &str, content: &str| {
        python_lines(
            &rules,
            path,
            content,
            &[
                "python/sql-injection",
                "python/open-redirect",
                "python/path-traversal",
            ],
        )
    };
    // A decorated Django view takes its URL captures as parameters.
    let decorated = "from django.contrib.auth.decorators import login_required\nfrom django.db import connection\n\n\n@login_required\ndef article(request, slug):\n    with connection.cursor() as cursor:\n        cursor.execute(f\"SELECT * FROM articles WHERE slug = '{slug}'\")\n";
    assert_eq!(lines("blog/views.py", decorated), [8]);
    // A function of views.py that the file calls itself is a helper: its arguments are its callers'.
    let helper = "from django.shortcuts import redirect\n\n\ndef handle(request, next_url):\n    return redirect(next_url)\n\n\ndef view(request):\n    return handle(request, \"/home\")\n";
    assert!(lines("blog/views.py", helper).is_empty());
    // A command-line option whose default reads the environment is not a route.
    let command = "import click\nimport os\n\n\n@click.command()\n@click.option(\"--config\", default=os.environ.get(\"CONFIG\"))\ndef deploy(config):\n    with open(config) as f:\n        return f.read()\n";
    assert!(lines("serve/scripts.py", command).is_empty());
}

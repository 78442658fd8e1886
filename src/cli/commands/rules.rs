//! `codeinsight rules [ID]`: the rules the server runs, as a table, or one rule's documentation; and
//! `codeinsight completions SHELL`.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::engine::RuleSet;
use crate::protocol::Applicability;

use crate::cli::args::{Cli, CompletionsArgs, RulesArgs};
use crate::cli::config::Config;
use crate::cli::exit_status::ExitStatus;
use crate::cli::failure::Failure;
use crate::cli::printer::Printer;

pub fn rules(args: &RulesArgs, printer: Printer, cwd: &Path) -> Result<ExitStatus, Failure> {
    let config = Config::discover(cwd)?;
    let user_rules = config
        .file
        .rules_dir
        .as_ref()
        .map(|dir| config.root.join(dir))
        .or_else(|| {
            let default = config.root.join(".codeinsight").join("rules");
            default.is_dir().then_some(default)
        });
    let set = match &user_rules {
        Some(dir) => RuleSet::with_user_rules(dir),
        None => RuleSet::builtin(),
    }
    .map_err(|error| Failure::usage(format!("cannot load rules: {error}")))?;
    // Which rules `review` here would run: `[rules]` in codeinsight.toml.
    let selection =
        crate::engine::Selection::resolve(&config.file.rules, &set).map_err(|error| {
            Failure::usage(format!("invalid `[rules]` in codeinsight.toml: {error}"))
        })?;
    let mut stdout = printer.stdout();
    let written = match &args.id {
        Some(id) => {
            let Some(rule) = set.get(id) else {
                return Err(Failure::usage(format!("no rule `{id}`"))
                    .with_help("list the rules with `codeinsight rules`"));
            };
            let index = set
                .rules()
                .iter()
                .position(|candidate| candidate.id == rule.id)
                .unwrap_or(0);
            (|| {
                writeln!(stdout, "{}", rule.id)?;
                writeln!(
                    stdout,
                    "language: {}  severity: {}  category: {}  fix: {}  source: {}",
                    rule.language.map_or("any", |language| language.name()),
                    rule.severity,
                    rule.category,
                    fix_label(rule.fix_safety),
                    rule.origin
                )?;
                writeln!(
                    stdout,
                    "group: {}  {}  in tests: {}  precision: {}",
                    rule.group.as_str(),
                    if selection.selects_by_default(index) {
                        "on"
                    } else {
                        "off"
                    },
                    rule.tests.as_str(),
                    precision_label(rule.precision)
                )?;
                if rule.taint {
                    writeln!(
                        stdout,
                        "mode: taint (follows untrusted data from its sources to its sinks; docs/rules.md)"
                    )?;
                }
                if !rule.cwe.is_empty() {
                    let cwe: Vec<String> = rule.cwe.iter().map(|id| format!("CWE-{id}")).collect();
                    writeln!(stdout, "cwe: {}", cwe.join(", "))?;
                }
                if !rule.equivalents.is_empty() {
                    writeln!(
                        stdout,
                        "same check as: {} (their suppression comments apply)",
                        rule.equivalents.join(", ")
                    )?;
                }
                writeln!(stdout)?;
                writeln!(stdout, "{}", rule.message)?;
                writeln!(stdout)?;
                writeln!(stdout, "{}", rule.docs.trim_end())
            })()
        }
        None => (|| {
            let width = set
                .rules()
                .iter()
                .map(|rule| rule.id.len())
                .max()
                .unwrap_or(2)
                .max(2);
            writeln!(
                stdout,
                "{:<width$}  {:<10}  {:<8}  {:<15}  {:<11}  {:<3}  {:<10}  {:<17}  SAME CHECK AS",
                "ID", "LANGUAGE", "SEVERITY", "CATEGORY", "GROUP", "ON", "FIX", "PRECISION"
            )?;
            for (index, rule) in set.rules().iter().enumerate() {
                writeln!(
                    stdout,
                    "{:<width$}  {:<10}  {:<8}  {:<15}  {:<11}  {:<3}  {:<10}  {:<17}  {}",
                    rule.id,
                    rule.language.map_or("any", |language| language.name()),
                    rule.severity.as_str(),
                    rule.category,
                    rule.group.as_str(),
                    if selection.selects_by_default(index) {
                        "yes"
                    } else {
                        "no"
                    },
                    fix_label(rule.fix_safety),
                    precision_label(rule.precision),
                    rule.equivalents.join(", ")
                )?;
            }
            writeln!(
                stdout,
                "\nON: whether `review` here runs it (`[rules]` in codeinsight.toml, `--select`, `--ignore`). \
                 PRECISION: the share of sampled findings on real projects a reviewer confirmed (docs/precision.md)."
            )
        })(),
    };
    match written {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::usage(format!("cannot write to stdout: {error}")))
        }
        _ => Ok(ExitStatus::Success),
    }
}

/// `96% of 25 (very-high)`, or `-` for a rule never sampled.
fn precision_label(precision: Option<crate::engine::Precision>) -> String {
    precision.map_or_else(
        || "-".to_owned(),
        |precision| {
            format!(
                "{:.0}% of {} ({})",
                100.0 * precision.ratio(),
                precision.sampled,
                precision.level()
            )
        },
    )
}

fn fix_label(safety: Option<Applicability>) -> &'static str {
    match safety {
        None => "-",
        Some(Applicability::Safe) => "safe",
        Some(Applicability::Unsafe) => "unsafe",
        Some(Applicability::Suggestion) => "suggestion",
    }
}

pub fn completions(args: &CompletionsArgs, printer: Printer) -> ExitStatus {
    let mut command = Cli::command();
    let mut stdout = printer.stdout();
    clap_complete::generate(args.shell, &mut command, "codeinsight", &mut stdout);
    ExitStatus::Success
}

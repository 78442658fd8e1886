//! Writing a report to every `--format` target: files atomically, stdout through the printer. A closed stdout
//! (`codeinsight review | head`) is not an error. Inside GitHub Actions the same report also becomes annotations,
//! a grouped log, a step summary and step outputs (see [`super::github_actions`]).

use std::io::{self, Write};

use crate::render::{
    Format, HumanOptions, Report, SarifLimits, render, render_github, render_sarif_within,
    render_verdict, rule_statistics,
};

use super::failure::Failure;
use super::fixes::write_atomically;
use super::github_actions::{GithubActions, append_step_outputs, append_step_summary};
use super::printer::Printer;
use super::repo_paths::{rooted, working_dir_prefix};
use super::settings::GateSettings;

/// What writing the outputs came to.
pub enum Written {
    All,
    /// stdout was closed by the reader; the caller exits 0.
    BrokenPipe,
}

pub fn write_outputs(
    report: &Report,
    settings: &GateSettings,
    printer: Printer,
) -> Result<Written, Failure> {
    let human = HumanOptions {
        styles: printer.stdout_styles(),
        quiet: settings.quiet,
        per_rule_cap: settings.per_rule_cap,
        statistics: settings.statistics,
    };
    let github = GithubActions::detect();
    // Code hosts read these paths against the repository root, not against the directory we ran in.
    let wants_root = github.is_some()
        || settings
            .outputs
            .iter()
            .any(|target| read_by_code_host(target.format));
    let rooted_report = wants_root
        .then(working_dir_prefix)
        .flatten()
        .map(|prefix| rooted(report, &prefix));
    let host_report = rooted_report.as_ref().unwrap_or(report);
    let report_for = |format: Format| {
        if read_by_code_host(format) {
            host_report
        } else {
            report
        }
    };
    for target in &settings.outputs {
        let report = report_for(target.format);
        if let Some(path) = &target.path {
            // `--statistics` is about what is printed; a report file keeps its findings.
            let file_options = HumanOptions {
                styles: crate::render::Styles::plain(),
                quiet: settings.quiet,
                per_rule_cap: settings.per_rule_cap,
                statistics: false,
            };
            let mut buffer = Vec::new();
            if target.format == Format::Sarif {
                let truncation = render_sarif_within(report, SarifLimits::GITHUB, &mut buffer)
                    .map_err(|error| Failure::output(path, &error))?;
                if let Some(truncation) = truncation {
                    printer.warn(&format!("`{}`: {}", path.display(), truncation.message()));
                }
            } else {
                render(target.format, report, &file_options, &mut buffer)
                    .map_err(|error| Failure::output(path, &error))?;
            }
            // `--format sarif=reports/codeinsight.sarif` in CI: the directory usually does not exist yet.
            if let Some(parent) = path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).map_err(|error| Failure::output(path, &error))?;
            }
            write_atomically(path, &buffer).map_err(|error| Failure::output(path, &error))?;
        }
    }
    if let Some(github) = &github {
        if let Some(path) = &github.step_summary {
            append_step_summary(path, report).map_err(|error| Failure::output(path, &error))?;
        }
        if let Some(path) = &github.output {
            append_step_outputs(path, report).map_err(|error| Failure::output(path, &error))?;
        }
    }
    let result = write_stdout(
        report,
        host_report,
        settings,
        printer,
        &human,
        github.is_some(),
    );
    match result {
        Ok(()) => Ok(Written::All),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(Written::BrokenPipe),
        Err(error) => Err(Failure::usage(format!("cannot write to stdout: {error}"))),
    }
}

/// Formats a code host reads back against its checkout (see [`super::repo_paths`]).
fn read_by_code_host(format: Format) -> bool {
    matches!(format, Format::Sarif | Format::Github | Format::Gitlab)
}

/// The stdout target. In GitHub Actions, annotations come first (unless `--format github` is the stdout target
/// already), and a human report is folded into a group with its verdict repeated after it, so the log stays short
/// and the conclusion stays visible.
fn write_stdout(
    report: &Report,
    host_report: &Report,
    settings: &GateSettings,
    printer: Printer,
    human: &HumanOptions,
    in_github_actions: bool,
) -> io::Result<()> {
    let mut stdout = printer.stdout();
    let target = settings.outputs.iter().find(|target| target.path.is_none());
    let format = target.map(|target| target.format);
    if in_github_actions && format != Some(Format::Github) {
        render_github(host_report, &mut stdout)?;
    }
    if let Some(format) = format {
        let grouped = in_github_actions && format == Format::Human;
        // Inside the group, the report quotes reviewed code and file names: GitHub stops reading workflow commands
        // until the random token ends the pause, so a line of the code cannot act as one.
        let pause = grouped.then(random_pause_token);
        if grouped {
            writeln!(
                stdout,
                "::group::CodeInsight report ({} findings in {} files)",
                report.counts.shown, report.counts.files_total
            )?;
        }
        if let Some(token) = &pause {
            writeln!(stdout, "::stop-commands::{token}")?;
        }
        let shown = if read_by_code_host(format) {
            host_report
        } else {
            report
        };
        if settings.statistics && format == Format::Json {
            serde_json::to_writer_pretty(&mut stdout, &rule_statistics(shown))?;
            writeln!(stdout)?;
        } else {
            render(format, shown, human, &mut stdout)?;
        }
        if let Some(token) = &pause {
            writeln!(stdout, "::{token}::")?;
        }
        if grouped {
            writeln!(stdout, "::endgroup::")?;
            render_verdict(report, &human.styles, &mut stdout)?;
        }
    }
    stdout.flush()
}

/// A token nobody can guess, for `::stop-commands::`.
fn random_pause_token() -> String {
    let mut bytes = [0_u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Without randomness the time is the next best unguessable value for one run's log.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        bytes = nanos.to_le_bytes();
    }
    bytes
        .iter()
        .fold(String::from("codeinsight-"), |mut token, byte| {
            use std::fmt::Write as _;
            let _ = write!(token, "{byte:02x}");
            token
        })
}

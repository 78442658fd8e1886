//! `codeinsight doctor` (alias `linters`): which external linters `codeinsight serve` started in this directory
//! would run, with the same `[linters]` settings: found or not, their versions, whether each is enabled and why
//! not, whether its failure would make a review incomplete, and which isolation is in force (the sandbox for
//! other people's code, none for the embedded server reviewing your own files).

use std::io::Write;
use std::path::Path;

use crate::engine::Linters;
use crate::engine::linters::{Isolation, Linter, ResourceLimits};

use crate::cli::args::{DoctorArgs, DoctorFormat};
use crate::cli::config::Config;
use crate::cli::exit_status::ExitStatus;
use crate::cli::failure::Failure;
use crate::cli::printer::Printer;

pub fn doctor(args: &DoctorArgs, printer: Printer, cwd: &Path) -> Result<ExitStatus, Failure> {
    let config = Config::discover(cwd)?;
    let linters = Linters::discover(&config.file.linters);
    let mut stdout = printer.stdout();
    let written = match args.format {
        DoctorFormat::Json => serde_json::to_writer_pretty(&mut stdout, &linters)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout)),
        DoctorFormat::Table => (|| {
            writeln!(
                stdout,
                "{:<12}  {:<9}  {:<28}  {:<8}  {:<26}  PROGRAM OR REASON",
                "LINTER", "STATUS", "VERSION", "REQUIRED", "LANGUAGES"
            )?;
            for linter in linters.all() {
                let languages = linter
                    .languages
                    .iter()
                    .map(|language| language.name())
                    .collect::<Vec<_>>()
                    .join(",");
                let detail = match (&linter.note, &linter.program) {
                    (Some(note), _) => note.clone(),
                    (None, Some(program)) => program.display().to_string(),
                    (None, None) => String::new(),
                };
                writeln!(
                    stdout,
                    "{:<12}  {:<9}  {:<28}  {:<8}  {:<26}  {detail}",
                    linter.name,
                    status(linter),
                    linter.version.as_deref().unwrap_or("-"),
                    if linter.required { "yes" } else { "no" },
                    languages,
                )?;
            }
            writeln!(
                stdout,
                "\nAt most {} linter run(s) at once. Enabled linters run on every file of their languages; a \
                 required one that cannot run makes the review incomplete (exit 5), an optional one only warns.",
                linters.concurrency()
            )?;
            writeln!(
                stdout,
                "\nIsolation for `codeinsight serve` (other people's code): {}",
                linters.isolation().1
            )?;
            writeln!(
                stdout,
                "Isolation for `codeinsight review` without `--server` (your own files): {}",
                Isolation::OwnFiles.describe(&ResourceLimits::from_config(&config.file.linters))
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

/// `enabled` (runs), `missing` (configured, so its files report a skipped stage), `absent` (not installed and
/// not configured), or `disabled`.
fn status(linter: &Linter) -> &'static str {
    if linter.available() {
        "enabled"
    } else if linter.enabled {
        "missing"
    } else if linter.program.is_none()
        && linter
            .note
            .as_deref()
            .is_some_and(|note| note.starts_with("not installed"))
    {
        "absent"
    } else {
        "disabled"
    }
}

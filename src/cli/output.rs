//! Writing a report to every `--format` target: files atomically, stdout through the printer. A closed stdout
//! (`codeinsight review | head`) is not an error.

use std::io::{self, Write};

use crate::render::{HumanOptions, Report, render};

use super::failure::Failure;
use super::fixes::write_atomically;
use super::printer::Printer;
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
    };
    for target in &settings.outputs {
        if let Some(path) = &target.path {
            let file_options = HumanOptions {
                styles: crate::render::Styles::plain(),
                quiet: settings.quiet,
            };
            let mut buffer = Vec::new();
            render(target.format, report, &file_options, &mut buffer)
                .and_then(|()| write_atomically(path, &buffer))
                .map_err(|error| Failure::output(path, &error))?;
        }
    }
    for target in &settings.outputs {
        if target.path.is_none() {
            let mut stdout = printer.stdout();
            let result =
                render(target.format, report, &human, &mut stdout).and_then(|()| stdout.flush());
            match result {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                    return Ok(Written::BrokenPipe);
                }
                Err(error) => {
                    return Err(Failure::usage(format!("cannot write to stdout: {error}")));
                }
            }
        }
    }
    Ok(Written::All)
}

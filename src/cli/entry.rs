//! The CLI's entry point: parse the arguments, run the command on a tokio runtime, report a failure on stderr and
//! turn the outcome into the process exit code. Nothing below this prints or exits on its own.

use std::process::ExitCode;

use clap::Parser;

use super::args::{Cli, Command};
use super::commands;
use super::exit_status::ExitStatus;
use super::failure::Failure;
use super::printer::Printer;

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version itself; both are successes, everything else is a usage error.
            let status = if error.use_stderr() {
                ExitStatus::UsageError
            } else {
                ExitStatus::Success
            };
            let _ = error.print();
            return status.into();
        }
    };
    let printer = Printer::new(cli.color);
    let status = match run(&cli, printer) {
        Ok(status) => status,
        Err(failure) => {
            printer.error(&failure);
            failure.status
        }
    };
    status.into()
}

fn run(cli: &Cli, printer: Printer) -> Result<ExitStatus, Failure> {
    init_tracing(matches!(cli.command, Command::Serve(_)));
    let cwd = std::env::current_dir()
        .map_err(|error| Failure::usage(format!("cannot read the working directory: {error}")))?;
    match &cli.command {
        Command::Rules(args) => return commands::rules(args, printer, &cwd),
        Command::Doctor(args) => return commands::doctor(args, printer, &cwd),
        Command::Completions(args) => return Ok(commands::completions(args, printer)),
        _ => {}
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::server(format!("cannot start the async runtime: {error}")))?;
    runtime.block_on(async {
        match &cli.command {
            Command::Review(args) => commands::review(args, printer, &cwd).await,
            Command::History(args) => commands::history(args, printer, &cwd).await,
            Command::Show(args) => commands::show(args, printer, &cwd).await,
            Command::Serve(args) => commands::serve(args).await,
            Command::Dashboard(args) => commands::dashboard(args, printer, &cwd).await,
            Command::Debug(args) => commands::debug(args, printer, &cwd).await,
            Command::Token(command) => commands::token(command, printer).await,
            Command::Baseline(command) => commands::baseline(command, printer, &cwd).await,
            Command::Rules(_) | Command::Doctor(_) | Command::Completions(_) => {
                Ok(ExitStatus::Success)
            }
        }
    })
}

/// The server logs through `tracing`. `serve` logs at `info` by default; the client commands stay silent unless
/// `RUST_LOG` asks, so that an embedded server never interleaves with the report.
fn init_tracing(serving: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(filter) if !filter.is_empty() => filter,
        _ if serving => "info".to_owned(),
        _ => return,
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

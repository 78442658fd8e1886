//! `codeinsight baseline create [PATHS]`: review the paths like `review` does and record every finding's fingerprint
//! in `.codeinsight/baseline.json` (or `--output`), written atomically, for `review --baseline` to set aside.

use std::path::Path;

use crate::cli::args::{BaselineCommand, BaselineCreateArgs};
use crate::cli::baseline::DEFAULT_BASELINE;
use crate::cli::config::Config;
use crate::cli::exit_status::ExitStatus;
use crate::cli::failure::Failure;
use crate::cli::printer::Printer;

use super::review::review_with;

pub async fn baseline(
    command: &BaselineCommand,
    printer: Printer,
    cwd: &Path,
) -> Result<ExitStatus, Failure> {
    match command {
        BaselineCommand::Create(args) => create(args, printer, cwd).await,
    }
}

async fn create(
    args: &BaselineCreateArgs,
    printer: Printer,
    cwd: &Path,
) -> Result<ExitStatus, Failure> {
    if args.review.scope.baseline.is_some() {
        return Err(Failure::usage(
            "`baseline create` records every finding; `--baseline` would leave the old ones out",
        ));
    }
    let output = match &args.output {
        Some(path) => cwd.join(path),
        None => Config::discover(cwd)?.root.join(DEFAULT_BASELINE),
    };
    review_with(&args.review, printer, cwd, Some(&output)).await
}

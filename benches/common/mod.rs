//! What the benchmarks share: a two-thread runtime (the machine's cores) and the report of a failure.

#![allow(
    clippy::print_stderr,
    reason = "a benchmark's failure goes to standard error"
)]

use std::error::Error;
use std::future::Future;
use std::process::ExitCode;

/// Runs `benchmark` on a two-thread runtime; a failure is printed and exits non-zero.
pub fn run_main<F>(benchmark: impl FnOnce() -> F) -> ExitCode
where
    F: Future<Output = Result<(), Box<dyn Error + Send + Sync>>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(benchmark()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

//! The process exit codes, defined once. Every command returns an [`ExitStatus`]; `main` turns it into the process
//! exit code, and `--help` and README.md print the same table.

use std::process::ExitCode;

/// What a command concluded, as the exit code CI scripts branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExitStatus {
    /// Every requested file was reviewed and nothing reached `--fail-on`.
    Success,
    /// The gate failed: at least one finding at or above `--fail-on` (or `--diff` found fixes to apply).
    GateFailed,
    /// Usage, configuration or input error: a bad flag, an unreadable path, an invalid `codeinsight.toml`.
    UsageError,
    /// The server was unreachable, refused the token, or answered something the client could not understand.
    ServerError,
    /// `--timeout` elapsed before the review finished.
    TimedOut,
    /// A file or an engine failed or was skipped, and nothing else failed the gate.
    Incomplete,
}

impl ExitStatus {
    /// The numeric exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::GateFailed => 1,
            ExitStatus::UsageError => 2,
            ExitStatus::ServerError => 3,
            ExitStatus::TimedOut => 4,
            ExitStatus::Incomplete => 5,
        }
    }

    /// One line per code, for `--help` and the README.
    pub const TABLE: &'static str = "\
Exit codes:
  0  every requested file was reviewed and nothing reached --fail-on
  1  gate failed: at least one finding at or above --fail-on (--diff: fixes would apply)
  2  usage, configuration or input error (bad flag, unreadable path, invalid config)
  3  server unreachable, authentication refused, or protocol error
  4  timed out waiting for the review (--timeout)
  5  review incomplete: a named file or a required engine failed or was skipped, and nothing else
     failed the gate (files a directory walk leaves out by policy do not count)";
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitStatus;

    #[test]
    fn the_help_table_lists_every_code_in_order() {
        let all = [
            ExitStatus::Success,
            ExitStatus::GateFailed,
            ExitStatus::UsageError,
            ExitStatus::ServerError,
            ExitStatus::TimedOut,
            ExitStatus::Incomplete,
        ];
        for (expected, status) in all.into_iter().enumerate() {
            assert_eq!(usize::from(status.code()), expected);
            assert!(ExitStatus::TABLE.contains(&format!("\n  {expected}  ")));
        }
    }
}

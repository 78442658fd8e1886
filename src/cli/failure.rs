//! Expected failures as data: each carries the message shown to the user, an optional `help:` line and the exit
//! status it maps to. Errors of the layers below (client, store, server) are turned into one by `From`
//! conversions, each choosing the exit status its kind of failure means.

use std::fmt;
use std::path::Path;

use crate::client::ClientError;

use super::exit_status::ExitStatus;

/// A failure the user can act on.
#[derive(Debug)]
pub struct Failure {
    pub status: ExitStatus,
    pub message: String,
    pub help: Option<String>,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            status: ExitStatus::UsageError,
            message: message.into(),
            help: None,
        }
    }

    pub fn server(message: impl Into<String>) -> Self {
        Failure {
            status: ExitStatus::ServerError,
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn missing_path(path: &str) -> Self {
        Failure::usage(format!("path `{path}` does not exist")).with_help(
            "pass files, directories, globs such as `src/**/*.py`, or `-` with `--stdin-filename`",
        )
    }

    pub fn unreadable(path: &Path, error: &std::io::Error) -> Self {
        Failure::usage(format!("cannot read `{}`: {error}", path.display()))
    }

    pub fn invalid_config(path: &Path, error: impl fmt::Display) -> Self {
        Failure::usage(format!(
            "invalid configuration in `{}`: {error}",
            path.display()
        ))
        .with_help("see the Configuration section of README.md for the accepted keys")
    }

    pub fn timed_out(seconds: f64, what: &str, done: usize, total: usize) -> Self {
        Failure {
            status: ExitStatus::TimedOut,
            message: format!(
                "timed out after {seconds}s waiting for {what} ({done} of {total} files done)"
            ),
            help: Some(
                match what
                    .strip_prefix("run ")
                    .or_else(|| what.strip_prefix("job "))
                {
                    Some(id) => format!(
                        "raise `--timeout`, or look at it later with `codeinsight show {id}`"
                    ),
                    None => "raise `--timeout`".to_owned(),
                },
            ),
        }
    }

    pub fn output(path: &Path, error: &std::io::Error) -> Self {
        Failure::usage(format!("cannot write `{}`: {error}", path.display()))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        let help = match &error {
            ClientError::Unreachable { .. } => Some(
                "check `--server` / `CODEINSIGHT_SERVER`, or unset it to use the embedded server",
            ),
            ClientError::Unauthorized { .. } => {
                Some("pass a valid token with `--token` or `CODEINSIGHT_TOKEN`")
            }
            _ => None,
        };
        // The server refusing what the user asked for (an unknown id, a malformed filter, too many files) is an
        // input error; everything else about talking to it is a server error.
        let status = match &error {
            ClientError::NotFound { .. }
            | ClientError::Api {
                status: 400 | 413 | 422,
                ..
            } => ExitStatus::UsageError,
            _ => ExitStatus::ServerError,
        };
        Failure {
            status,
            message: error.to_string(),
            help: help.map(str::to_owned),
        }
    }
}

//! The one owner of stdout and stderr. Commands write reports through [`Printer::stdout`] and messages through the
//! `error`/`warn`/`status` methods, so colour, quietness and the progress target are decided in one place.

use std::io::{self, IsTerminal, Write};

use owo_colors::{OwoColorize, Style};

use crate::render::Styles;

use super::args::ColorChoice;
use super::failure::Failure;

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    stdout_color: bool,
    stderr_color: bool,
    stderr_is_terminal: bool,
}

impl Printer {
    /// Decides colours: `always` and `never` win; `auto` colours a terminal unless `NO_COLOR` is set and non-empty.
    pub fn new(choice: ColorChoice) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let stdout_is_terminal = io::stdout().is_terminal();
        let stderr_is_terminal = io::stderr().is_terminal();
        let (stdout_color, stderr_color) = match choice {
            ColorChoice::Always => (true, true),
            ColorChoice::Never => (false, false),
            ColorChoice::Auto => (
                stdout_is_terminal && !no_color,
                stderr_is_terminal && !no_color,
            ),
        };
        Printer {
            stdout_color,
            stderr_color,
            stderr_is_terminal,
        }
    }

    /// Styles for reports written to stdout.
    pub fn stdout_styles(self) -> Styles {
        if self.stdout_color {
            Styles::colored()
        } else {
            Styles::plain()
        }
    }

    /// Whether a progress bar may be drawn (stderr is a terminal).
    pub fn stderr_is_terminal(self) -> bool {
        self.stderr_is_terminal
    }

    // The stream methods take `self` although they need none of its fields, so that every write to the
    // terminal goes through the printer.
    #[allow(clippy::unused_self)]
    pub fn stdout(self) -> io::StdoutLock<'static> {
        io::stdout().lock()
    }

    /// `error: message` and `help: ...` on stderr.
    pub fn error(self, failure: &Failure) {
        self.message("error", Style::new().bold().red(), &failure.message);
        if let Some(help) = &failure.help {
            self.message("help", Style::new().bold().cyan(), help);
        }
    }

    pub fn warn(self, message: &str) {
        self.message("warning", Style::new().bold().yellow(), message);
    }

    /// A plain status line on stderr (progress in CI, notes).
    #[allow(clippy::unused_self)]
    pub fn status(self, line: &str) {
        let mut stderr = io::stderr().lock();
        let _ = writeln!(stderr, "{line}");
    }

    fn message(self, label: &str, style: Style, message: &str) {
        let mut stderr = io::stderr().lock();
        let label = if self.stderr_color {
            label.style(style).to_string()
        } else {
            label.to_owned()
        };
        let _ = writeln!(stderr, "{label}: {message}");
    }
}

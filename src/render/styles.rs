//! Every colour and emphasis the human renderer uses, in one place. `Styles::plain()` has no escape codes at all,
//! so `--color never` and `NO_COLOR` output is byte-for-byte free of them.

use owo_colors::Style;

use crate::protocol::Severity;

#[derive(Debug, Clone, Copy)]
pub struct Styles {
    pub critical: Style,
    pub major: Style,
    pub minor: Style,
    pub info: Style,
    pub path: Style,
    pub rule_id: Style,
    pub gutter: Style,
    pub underline: Style,
    pub diff_header: Style,
    pub removed: Style,
    pub removed_emphasis: Style,
    pub added: Style,
    pub added_emphasis: Style,
    pub dimmed: Style,
    pub pass: Style,
    pub fail: Style,
    pub incomplete: Style,
    pub heading: Style,
}

impl Styles {
    pub fn colored() -> Self {
        Styles {
            critical: Style::new().bold().white().on_red(),
            major: Style::new().bold().red(),
            minor: Style::new().bold().yellow(),
            info: Style::new().bold().blue(),
            path: Style::new().bold().underline(),
            rule_id: Style::new().cyan(),
            gutter: Style::new().blue(),
            underline: Style::new().bold().red(),
            diff_header: Style::new().cyan(),
            removed: Style::new().red(),
            removed_emphasis: Style::new().red().bold().underline(),
            added: Style::new().green(),
            added_emphasis: Style::new().green().bold().underline(),
            dimmed: Style::new().dimmed(),
            pass: Style::new().bold().green(),
            fail: Style::new().bold().red(),
            incomplete: Style::new().bold().yellow(),
            heading: Style::new().bold(),
        }
    }

    pub fn plain() -> Self {
        let none = Style::new();
        Styles {
            critical: none,
            major: none,
            minor: none,
            info: none,
            path: none,
            rule_id: none,
            gutter: none,
            underline: none,
            diff_header: none,
            removed: none,
            removed_emphasis: none,
            added: none,
            added_emphasis: none,
            dimmed: none,
            pass: none,
            fail: none,
            incomplete: none,
            heading: none,
        }
    }

    pub fn severity(&self, severity: Severity) -> Style {
        match severity {
            Severity::Critical => self.critical,
            Severity::Major => self.major,
            Severity::Minor => self.minor,
            Severity::Info => self.info,
        }
    }
}

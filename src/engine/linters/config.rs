//! The `[linters]` settings, shared by `codeinsight.toml` and the server's configuration: a master switch,
//! whether linters found on `PATH` run without being named, per-linter enable/required/command/arguments/timeout,
//! and custom linters declared by command and output format. Unknown keys are errors, like the rest of the file.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Used when neither the linter nor `[linters]` sets `timeout_seconds`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintersConfig {
    /// `false` turns the whole linter stage off.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Run the built-in linters found on `PATH` even when they have no table of their own (as optional stages).
    #[serde(default = "yes")]
    pub auto: bool,
    /// Per-run limit for every linter that does not set its own.
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    /// Most linter processes running at once across the server (default: half the cores, at least one).
    #[serde(default)]
    pub concurrency: Option<usize>,
    #[serde(default)]
    pub ruff: Option<ToolConfig>,
    #[serde(default)]
    pub clippy: Option<ToolConfig>,
    #[serde(default)]
    pub shellcheck: Option<ToolConfig>,
    #[serde(default)]
    pub eslint: Option<ToolConfig>,
    #[serde(default)]
    pub biome: Option<ToolConfig>,
    #[serde(default, rename = "go-vet")]
    pub go_vet: Option<ToolConfig>,
    #[serde(default)]
    pub staticcheck: Option<ToolConfig>,
    /// Custom linters by name; the name prefixes their rule ids (`NAME/RULE`).
    #[serde(default)]
    pub custom: BTreeMap<String, CustomLinterConfig>,
    /// How a server that reviews other people's code isolates each linter run (`auto`: bubblewrap when it
    /// works, otherwise the linters that run code at build time stay off; `bubblewrap`: required).
    #[serde(default)]
    pub sandbox: SandboxSetting,
    /// Largest address space of one linter process on such a server, in MiB (default 2048).
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// Whose code the linters run on. Set by the program, never by a configuration file: a shared server's
    /// configuration must not be able to turn its isolation off.
    #[serde(skip)]
    pub trust: Trust,
    /// Paths a sandboxed linter must never see even when they lie inside a directory it is given (the
    /// server's database directory).
    #[serde(skip)]
    pub protected: Vec<std::path::PathBuf>,
}

/// Whose code the linters run on, which decides how much of this machine they may see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// Code from any client of a shared server (`codeinsight serve`): each tool sees only the submitted file,
    /// in a sandbox with a cleared environment and resource limits, and the server never reads its own disk
    /// at a path a client named.
    #[default]
    Untrusted,
    /// The embedded server of `codeinsight review`, reviewing the user's own files as that user: a file that
    /// lies on disk with the submitted content is linted in its project (its configuration, its Cargo package
    /// or Go package) with the user's environment, as running the tool by hand would.
    OwnFiles,
}

/// `[linters] sandbox`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxSetting {
    /// Bubblewrap when it is installed and works here; otherwise the tools that run code at build time
    /// (clippy, `go vet`, staticcheck, custom linters) are left off and say why.
    #[default]
    Auto,
    /// Bubblewrap or nothing: without it no linter runs on untrusted code.
    Bubblewrap,
}

fn yes() -> bool {
    true
}

impl Default for LintersConfig {
    fn default() -> Self {
        LintersConfig {
            enabled: true,
            auto: true,
            timeout_seconds: None,
            concurrency: None,
            ruff: None,
            clippy: None,
            shellcheck: None,
            eslint: None,
            biome: None,
            go_vet: None,
            staticcheck: None,
            custom: BTreeMap::new(),
            sandbox: SandboxSetting::Auto,
            memory_mb: None,
            trust: Trust::Untrusted,
            protected: Vec::new(),
        }
    }
}

impl LintersConfig {
    /// The whole stage off: what tests of other stages and `--no-linters`-style callers use.
    pub fn disabled() -> Self {
        LintersConfig {
            enabled: false,
            ..LintersConfig::default()
        }
    }

    /// The table of built-in linter `name`, if the configuration has one.
    pub fn tool(&self, name: &str) -> Option<&ToolConfig> {
        match name {
            "ruff" => self.ruff.as_ref(),
            "clippy" => self.clippy.as_ref(),
            "shellcheck" => self.shellcheck.as_ref(),
            "eslint" => self.eslint.as_ref(),
            "biome" => self.biome.as_ref(),
            "go-vet" => self.go_vet.as_ref(),
            "staticcheck" => self.staticcheck.as_ref(),
            _ => None,
        }
    }

    /// Checks what serde cannot: positive timeouts, custom linters with a command and languages.
    pub fn validate(&self) -> Result<(), InvalidLinterConfig> {
        let check_timeout = |what: &str, seconds: Option<f64>| match seconds {
            Some(seconds) if !(seconds.is_finite() && seconds > 0.0) => Err(InvalidLinterConfig(
                format!("`{what}timeout_seconds` must be a positive number, not {seconds}"),
            )),
            _ => Ok(()),
        };
        check_timeout("linters.", self.timeout_seconds)?;
        if self.memory_mb.is_some_and(|memory| memory < 64) {
            return Err(InvalidLinterConfig(
                "`linters.memory_mb` must be at least 64".to_owned(),
            ));
        }
        if self.concurrency == Some(0) {
            return Err(InvalidLinterConfig(
                "`linters.concurrency` must be at least 1".to_owned(),
            ));
        }
        for name in super::BUILTIN_NAMES {
            if let Some(tool) = self.tool(name) {
                check_timeout(&format!("linters.{name}."), tool.timeout_seconds)?;
            }
        }
        for (name, custom) in &self.custom {
            if super::BUILTIN_NAMES.contains(&name.as_str())
                || name.is_empty()
                || name.contains('/')
            {
                return Err(InvalidLinterConfig(format!(
                    "custom linter `{name}` needs a name of its own without `/` (built-in names are taken)"
                )));
            }
            check_timeout(&format!("linters.custom.{name}."), custom.timeout_seconds)?;
            if custom.command.is_empty() {
                return Err(InvalidLinterConfig(format!(
                    "custom linter `{name}` needs a `command` (a list: program and arguments)"
                )));
            }
            if custom.languages.is_empty() {
                return Err(InvalidLinterConfig(format!(
                    "custom linter `{name}` needs `languages`, e.g. `[\"python\"]`"
                )));
            }
            for language in &custom.languages {
                if crate::engine::Language::from_name(language).is_none() {
                    return Err(InvalidLinterConfig(format!(
                        "custom linter `{name}`: unknown language `{language}`"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What is wrong with a `[linters]` table, in words that name the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidLinterConfig(pub String);

/// A built-in linter's table, e.g. `[linters.ruff]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolConfig {
    /// `false` never runs it; `true` (or a table without `enabled`) runs it and reports it when it is missing.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Whether a missing, crashed or timed-out run makes the review incomplete (exit 5). Default: `true` for a
    /// linter named in the configuration.
    #[serde(default)]
    pub required: Option<bool>,
    /// The program (a path, or a name looked up on `PATH`); default the tool's usual name.
    #[serde(default)]
    pub command: Option<String>,
    /// Extra arguments, placed before the file.
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    /// Clippy only: use `cargo clippy` when the file sits in a Cargo package on the server's disk (default true).
    #[serde(default)]
    pub cargo: Option<bool>,
    /// Files and directories the sandbox of a shared server holds read-only for this linter besides its own
    /// installation: what `args` name, such as a configuration file.
    #[serde(default)]
    pub read_only: Vec<std::path::PathBuf>,
}

/// `[linters.custom.NAME]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomLinterConfig {
    /// Program and arguments; `{file}` is replaced by the file's path (appended when absent). No shell.
    pub command: Vec<String>,
    /// Languages it runs on (`python`, `rust`, ...).
    pub languages: Vec<String>,
    #[serde(default)]
    pub format: CustomFormat,
    /// Where the fields are in `json` output.
    #[serde(default)]
    pub json: JsonShape,
    /// Default `true`: a custom linter is configured, so its failure makes the review incomplete.
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    /// Exit codes that mean "ran and found problems" besides 0 (default `[1]`).
    #[serde(default)]
    pub finding_exit_codes: Option<Vec<i32>>,
    /// Severity of findings whose output gives none (default `minor`).
    #[serde(default)]
    pub default_severity: Option<crate::protocol::Severity>,
    /// Files and directories the sandbox of a shared server holds read-only for this linter besides its own
    /// installation: what its command names, such as a rules file.
    #[serde(default)]
    pub read_only: Vec<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomFormat {
    /// SARIF 2.1.0 on stdout.
    #[default]
    Sarif,
    /// A JSON array of objects (or one found at `json.results`), fields located by `json.*` pointers.
    Json,
}

/// JSON pointers (RFC 6901) to each field, relative to one result object. Columns count characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JsonShape {
    /// Pointer from the document to the array of results; empty when the document is the array.
    pub results: String,
    pub rule: String,
    pub message: String,
    pub line: String,
    pub column: String,
    pub end_line: String,
    pub end_column: String,
    /// Values `error`/`warning`/`info`/`note`/`hint`/`style` or our own scale; absent means `default_severity`.
    pub severity: String,
}

impl Default for JsonShape {
    fn default() -> Self {
        JsonShape {
            results: String::new(),
            rule: "/rule".to_owned(),
            message: "/message".to_owned(),
            line: "/line".to_owned(),
            column: "/column".to_owned(),
            end_line: "/end_line".to_owned(),
            end_column: "/end_column".to_owned(),
            severity: "/severity".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_parses_and_unknown_keys_are_refused() {
        let config: LintersConfig = toml::from_str(
            "timeout_seconds = 5\n[ruff]\nargs = [\"--select\", \"F\"]\n[go-vet]\nenabled = false\n\
             [custom.slow]\ncommand = [\"sleep\", \"30\"]\nlanguages = [\"python\"]\nformat = \"json\"\n",
        )
        .unwrap();
        assert_eq!(config.ruff.as_ref().unwrap().args, ["--select", "F"]);
        assert_eq!(config.go_vet.as_ref().unwrap().enabled, Some(false));
        assert_eq!(config.custom["slow"].format, CustomFormat::Json);
        config.validate().unwrap();
        assert!(toml::from_str::<LintersConfig>("[ruff]\nargz = []\n").is_err());
        let bad: LintersConfig =
            toml::from_str("[custom.x]\ncommand = [\"x\"]\nlanguages = [\"cobol\"]\n").unwrap();
        assert!(bad.validate().unwrap_err().0.contains("cobol"));
    }
}

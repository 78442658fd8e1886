//! Raw flags, environment and `codeinsight.toml` resolved into the settings commands run with, in one step:
//! flags win over the environment (clap reads `CODEINSIGHT_SERVER` and `CODEINSIGHT_TOKEN` into the flags), which
//! wins over the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::protocol::{RunGate, Severity};
use crate::render::{Format, Threshold};

use super::args::{GateArgs, ServerArgs};
use super::config::Config;
use super::failure::Failure;

/// Where reviews run.
#[derive(Debug, Clone)]
pub enum ServerChoice {
    /// Start the server in-process.
    Embedded {
        data_dir: PathBuf,
        rules_dir: Option<PathBuf>,
        /// `[linters]` from `codeinsight.toml`.
        linters: Box<crate::engine::LintersConfig>,
    },
    Remote {
        url: String,
        token: String,
        /// The token's user id when configured; otherwise asked of the server.
        user: Option<String>,
    },
}

/// One `--format` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTarget {
    pub format: Format,
    /// `None` writes to stdout.
    pub path: Option<PathBuf>,
}

/// How a report is judged and shown.
#[derive(Debug, Clone)]
pub struct GateSettings {
    pub threshold: Threshold,
    pub outputs: Vec<OutputTarget>,
    pub quiet: bool,
    /// `--statistics`: findings per rule instead of the findings, on stdout.
    pub statistics: bool,
    /// Findings of one rule listed by the human report; `None` with `--show-all`.
    pub per_rule_cap: Option<usize>,
    pub timeout: Option<Duration>,
    pub timeout_seconds: f64,
    /// Which built-in rules run (`review` only); `None` is the server's default group.
    pub rules: Option<crate::protocol::RuleSelection>,
}

impl GateSettings {
    pub fn resolve(args: &GateArgs, config: &Config) -> Result<GateSettings, Failure> {
        let fail_on = args
            .fail_on
            .as_deref()
            .or(config.file.fail_on.as_deref())
            .unwrap_or("major");
        let fail_on = if fail_on == "never" {
            None
        } else {
            Some(fail_on.parse::<Severity>().map_err(Failure::usage)?)
        };
        let report_min = args
            .report_min
            .as_deref()
            .or(config.file.report_min.as_deref())
            .unwrap_or("info")
            .parse::<Severity>()
            .map_err(Failure::usage)?;
        let mut outputs = Vec::new();
        for spec in &args.format {
            let (name, path) = match spec.split_once('=') {
                Some((name, path)) if !path.is_empty() => (name, Some(PathBuf::from(path))),
                Some((name, _)) => (name, None),
                None => (spec.as_str(), None),
            };
            let format = name
                .parse::<Format>()
                .map_err(|error| Failure::usage(format!("invalid `--format {spec}`: {error}")))?;
            outputs.push(OutputTarget { format, path });
        }
        if !outputs.iter().any(|output| output.path.is_none()) {
            outputs.insert(
                0,
                OutputTarget {
                    format: Format::Human,
                    path: None,
                },
            );
        }
        if outputs
            .iter()
            .filter(|output| output.path.is_none())
            .count()
            > 1
        {
            return Err(Failure::usage("more than one `--format` writes to stdout")
                .with_help("give all but one a file, e.g. `--format json=report.json`"));
        }
        if args.statistics {
            let stdout_format = outputs
                .iter()
                .find(|output| output.path.is_none())
                .map(|output| output.format);
            if !matches!(stdout_format, Some(Format::Human | Format::Json)) {
                return Err(Failure::usage(
                    "`--statistics` prints a table (`--format human`) or a JSON array (`--format json`)",
                )
                .with_help("write the other format to a file, e.g. `--format sarif=report.sarif --statistics`"));
            }
        }
        let timeout = match args.timeout {
            None => None,
            Some(seconds) if seconds.is_finite() && seconds > 0.0 => {
                Some(Duration::from_secs_f64(seconds))
            }
            Some(seconds) => {
                return Err(Failure::usage(format!(
                    "`--timeout {seconds}` must be a positive number of seconds"
                )));
            }
        };
        Ok(GateSettings {
            threshold: Threshold {
                fail_on,
                report_min,
            },
            outputs,
            quiet: args.quiet,
            statistics: args.statistics,
            per_rule_cap: (!args.show_all).then_some(crate::render::DEFAULT_PER_RULE_CAP),
            timeout,
            timeout_seconds: args.timeout.unwrap_or(0.0),
            rules: None,
        })
    }
}

impl GateSettings {
    /// Judges a stored run with the gate it was made with: `gate` replaces what `codeinsight.toml` and the defaults
    /// gave, while `--fail-on` and `--report-min` given on this command line still win.
    pub fn adopt_run_gate(&mut self, args: &GateArgs, gate: RunGate) {
        if args.fail_on.is_none() {
            self.threshold.fail_on = gate.fail_on;
        }
        if args.report_min.is_none() {
            self.threshold.report_min = gate.report_min;
        }
    }
}

impl ServerChoice {
    pub fn resolve(args: &ServerArgs, config: &Config) -> Result<ServerChoice, Failure> {
        let url = args
            .server
            .clone()
            .filter(|url| !url.is_empty())
            .or_else(|| config.file.server.clone());
        let Some(url) = url else {
            let rules_dir = config
                .file
                .rules_dir
                .as_ref()
                .map(|dir| config.root.join(dir))
                .or_else(|| {
                    let default = config.root.join(".codeinsight").join("rules");
                    default.is_dir().then_some(default)
                });
            return Ok(ServerChoice::Embedded {
                data_dir: data_dir()?,
                rules_dir,
                linters: Box::new(config.file.linters.clone()),
            });
        };
        let token = args
            .token
            .clone()
            .filter(|token| !token.is_empty())
            .or_else(|| {
                config
                    .file
                    .token_env
                    .as_ref()
                    .and_then(|name| std::env::var(name).ok())
            })
            .or_else(|| config.file.token.clone());
        let Some(token) = token else {
            return Err(Failure::usage(format!("no API token for the server at `{url}`"))
                .with_help("pass `--token`, set `CODEINSIGHT_TOKEN`, or set `token_env` in codeinsight.toml; create one with `codeinsight token create --user NAME`"));
        };
        Ok(ServerChoice::Remote {
            url,
            token,
            user: std::env::var("CODEINSIGHT_USER")
                .ok()
                .or_else(|| config.file.user.clone()),
        })
    }
}

/// `CODEINSIGHT_DATA_DIR`, or the platform data directory's `codeinsight`.
pub fn data_dir() -> Result<PathBuf, Failure> {
    if let Some(dir) = std::env::var_os("CODEINSIGHT_DATA_DIR").filter(|dir| !dir.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|dir| dir.join("codeinsight"))
        .ok_or_else(|| {
            Failure::usage("cannot find a data directory for the embedded server's database")
                .with_help("set `CODEINSIGHT_DATA_DIR`")
        })
}

/// The `SQLite` URL of the database in `data_dir`.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("codeinsight.db").display())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Config, GateSettings};
    use crate::cli::args::GateArgs;
    use crate::cli::config::ConfigFile;
    use crate::protocol::{RunGate, Severity};

    #[derive(Parser)]
    struct Gate {
        #[command(flatten)]
        gate: GateArgs,
    }

    fn settings(flags: &[&str], file: &str) -> (GateArgs, GateSettings) {
        let args = Gate::parse_from(std::iter::once("gate").chain(flags.iter().copied())).gate;
        let config = Config {
            file: toml::from_str::<ConfigFile>(file).unwrap(),
            ..Config::default()
        };
        let settings = GateSettings::resolve(&args, &config).unwrap();
        (args, settings)
    }

    #[test]
    fn a_runs_gate_wins_over_the_file_and_the_defaults_and_flags_win_over_it() {
        let never = RunGate {
            fail_on: None,
            report_min: Severity::Minor,
        };
        let (args, mut from_file) =
            settings(&[], "fail_on = \"critical\"\nreport_min = \"major\"\n");
        from_file.adopt_run_gate(&args, never);
        assert_eq!(from_file.threshold.fail_on, None);
        assert_eq!(from_file.threshold.report_min, Severity::Minor);
        let (args, mut flagged) = settings(&["--fail-on", "info"], "fail_on = \"critical\"\n");
        flagged.adopt_run_gate(&args, never);
        assert_eq!(flagged.threshold.fail_on, Some(Severity::Info));
        assert_eq!(flagged.threshold.report_min, Severity::Minor);
        let (args, mut reported) = settings(&["--report-min", "critical"], "");
        reported.adopt_run_gate(&args, RunGate::default());
        assert_eq!(reported.threshold.fail_on, Some(Severity::Major));
        assert_eq!(reported.threshold.report_min, Severity::Critical);
    }
}

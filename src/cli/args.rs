//! The command line as clap sees it: raw flags, before configuration and environment are merged into settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = concat!(
    "Exit codes:\n",
    "  0  every requested file was reviewed and nothing reached --fail-on\n",
    "  1  gate failed: at least one finding at or above --fail-on (--diff: fixes would apply)\n",
    "  2  usage, configuration or input error (bad flag, unreadable path, invalid config)\n",
    "  3  server unreachable, authentication refused, or protocol error\n",
    "  4  timed out waiting for the review (--timeout)\n",
    "  5  review incomplete: a named file or a required engine failed or was skipped, and nothing else\n",
    "     failed the gate (files a directory walk leaves out by policy do not count)\n",
    "\n",
    "With no --server, CODEINSIGHT_SERVER or `server` in codeinsight.toml, review/history/show start the\n",
    "review server in-process on 127.0.0.1 with its database in CODEINSIGHT_DATA_DIR (default: the user's\n",
    "data directory)."
);

#[derive(Debug, Parser)]
#[command(
    name = "codeinsight",
    version,
    about = "Review source code with built-in rules, a review server and exit codes CI can trust",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// When to use colours: auto (a terminal without `NO_COLOR`), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Review files, directories, globs or stdin and exit by the gate.
    #[command(after_help = AFTER_HELP)]
    Review(ReviewArgs),
    /// List past runs stored on the server, with their verdicts; `--jobs` lists the reviewed files.
    History(HistoryArgs),
    /// Re-render a stored run or job with the gate it was made with, following it live if it is still running.
    #[command(after_help = AFTER_HELP)]
    Show(ShowArgs),
    /// Run the review server (REST + WebSocket).
    Serve(ServeArgs),
    /// Open the web view of the local reviews: the embedded server on a fixed port, with a sign-in link.
    Dashboard(DashboardArgs),
    /// Review a failing file with its error log: the AI reviewer explains the failure and suggests a fix.
    #[command(after_help = AFTER_HELP)]
    Debug(DebugArgs),
    /// Administer the server's API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// List the built-in rules, or explain one.
    Rules(RulesArgs),
    /// Show which external linters are found, their versions, and which are enabled.
    #[command(alias = "linters")]
    Doctor(DoctorArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Record the current findings so that CI gates only on new ones.
    #[command(subcommand)]
    Baseline(BaselineCommand),
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Review PATHS and write every finding's fingerprint to the baseline file (atomically).
    Create(BaselineCreateArgs),
}

#[derive(Debug, Args)]
pub struct BaselineCreateArgs {
    /// Where to write [default: .codeinsight/baseline.json at the project root].
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub review: ReviewArgs,
}

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Address to serve the web view on; keep it on 127.0.0.1 unless the machine is yours alone.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// Extra rules directory for the reviews this dashboard's server runs (as `review --rules-dir`).
    #[arg(long, value_name = "DIR")]
    pub rules_dir: Option<PathBuf>,
}

/// How to reach a server.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Review server URL; absent means the embedded server.
    #[arg(long, env = "CODEINSIGHT_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// API token for a remote server.
    #[arg(
        long,
        env = "CODEINSIGHT_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

/// How a report is judged and shown.
#[derive(Debug, Clone, Args)]
pub struct GateArgs {
    /// Fail (exit 1) when a finding at or above this severity is found [default: major].
    #[arg(long, value_name = "SEVERITY", value_parser = ["critical", "major", "minor", "info", "never"])]
    pub fail_on: Option<String>,
    /// Lowest severity shown; independent of --fail-on [default: info].
    #[arg(long, value_name = "SEVERITY", value_parser = ["critical", "major", "minor", "info"])]
    pub report_min: Option<String>,
    /// Output format, repeatable: human, json, sarif, github, junit, checkstyle, rdjson, gitlab or markdown,
    /// optionally `=PATH` to write a file (e.g. sarif=codeinsight.sarif).
    #[arg(long, value_name = "FORMAT[=PATH]")]
    pub format: Vec<String>,
    /// Show only findings and the verdict.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print findings per rule (count, rule, severity, files, fixable) instead of the findings: a table with
    /// `--format human`, a JSON array with `--format json`.
    #[arg(long)]
    pub statistics: bool,
    /// List every finding; by default the human report lists at most 20 per rule and counts the rest.
    #[arg(long)]
    pub show_all: bool,
    /// Give up waiting after this many seconds (exit 4).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
}

#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each bool is a command-line switch"
)]
pub struct ReviewArgs {
    /// Files, directories, globs, or `-` for stdin.
    #[arg(value_name = "PATHS", default_value = ".")]
    pub paths: Vec<String>,
    /// The path reported for content read from stdin (`-`); its extension selects the language.
    #[arg(long, value_name = "PATH")]
    pub stdin_filename: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    /// Apply safe fixes to the reviewed files.
    #[arg(long, conflicts_with = "diff")]
    pub fix: bool,
    /// Show safe fixes as a diff without writing; exit 1 if any would apply.
    #[arg(long)]
    pub diff: bool,
    /// With --fix or --diff, apply unsafe fixes too: they may change behaviour (e.g. `yaml.load` becomes
    /// `yaml.safe_load`), so read the diff first.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Ignore cached results.
    #[arg(long)]
    pub no_cache: bool,
    /// Ask for the AI review (needs an LLM configured on the server) [default: the server's setting].
    #[arg(long, overrides_with = "no_ai")]
    pub ai: bool,
    /// Skip the AI review for this run.
    #[arg(long, overrides_with = "ai")]
    pub no_ai: bool,
    /// Run only the built-in rules and the secrets scan: no external linter, even a required one.
    #[arg(long)]
    pub no_linters: bool,
    /// Rules to run instead of `[rules] select`: groups (`default`, `pedantic`, `restriction`, `all`), rule ids
    /// or prefixes (`python/`), comma-separated or repeated [default: default].
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub select: Vec<String>,
    /// Rules to leave out, added to `[rules] ignore`; also a linter's ids (`ruff/E501`, `clippy/`).
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub ignore: Vec<String>,
    #[command(flatten)]
    pub llm: LlmArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// Which files are reviewed and which findings gate: changed code and baselines.
#[derive(Debug, Clone, Default, Args)]
pub struct ScopeArgs {
    /// Review only files changed against `--base` (committed, staged, unstaged and untracked).
    #[arg(long)]
    pub changed: bool,
    /// The revision `--changed` and `--new-only` compare with [default: merge-base with origin/HEAD, main or master].
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Gate only on findings in added or modified lines; the others are reported but do not fail the review.
    #[arg(long)]
    pub new_only: bool,
    /// Report findings recorded in this baseline apart and gate only on new ones [default: .codeinsight/baseline.json].
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    pub baseline: Option<String>,
}

impl ReviewArgs {
    /// `Some(true)` for `--ai`, `Some(false)` for `--no-ai`, `None` for the server's default.
    pub fn ai_choice(&self) -> Option<bool> {
        match (self.ai, self.no_ai) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// The LLM the server reviews with (`serve`, and the embedded server of `review` and `debug`). Absent provider
/// and URL (here and in `[llm]` of codeinsight.toml) means no AI review.
#[derive(Debug, Clone, Default, Args)]
#[allow(
    clippy::struct_field_names,
    reason = "the fields are the `--llm-*` flags, named as the user types them"
)]
pub struct LlmArgs {
    /// `anthropic` (Claude; key from `ANTHROPIC_API_KEY`) or `openai` (any OpenAI-compatible endpoint).
    #[arg(long, env = "CODEINSIGHT_LLM_PROVIDER", value_name = "PROVIDER", value_parser = ["anthropic", "openai"])]
    pub llm_provider: Option<String>,
    /// Base URL of the model endpoint, e.g. `http://127.0.0.1:8080/v1` for an OpenAI-compatible server.
    #[arg(long, env = "CODEINSIGHT_LLM_URL", value_name = "URL")]
    pub llm_url: Option<String>,
    /// Model name [default: claude-sonnet-4-5 for anthropic].
    #[arg(long, env = "CODEINSIGHT_LLM_MODEL", value_name = "MODEL")]
    pub llm_model: Option<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// List the reviewed files, one row per file, instead of the runs.
    #[arg(long)]
    pub jobs: bool,
    /// A run's verdict: running, passed, failed or incomplete; with `--jobs`, a file's status: pending,
    /// processing, completed or failed.
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// With `--jobs`: review or debug.
    #[arg(long = "type", value_name = "TYPE", value_parser = ["review", "debug"])]
    pub job_type: Option<String>,
    /// With `--jobs`: the files' language.
    #[arg(long)]
    pub language: Option<String>,
    /// Text to look for: in a run's id, commit, branch or repository; with `--jobs`, in file paths and the rule
    /// ids of findings.
    #[arg(long)]
    pub search: Option<String>,
    /// With `--jobs`: files submitted at or after this date or time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// With `--jobs`: files submitted before this time, or by the end of this date (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Rows per page.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// 1-based page of `--limit` rows.
    #[arg(long, default_value_t = 1)]
    pub page: usize,
    /// Continue where a `--format json` page ended: its `next_cursor` (instead of `--page`).
    #[arg(long, value_name = "CURSOR", conflicts_with = "page")]
    pub cursor: Option<String>,
    /// `table`, or `json`: a versioned document (`codeinsight/history-runs/v1`, with `--jobs`
    /// `codeinsight/history-jobs/v1`).
    #[arg(long, value_enum, default_value_t = HistoryFormat::Table)]
    pub format: HistoryFormat,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A run id (or its start, as `history` shows it) or a job id.
    pub id: String,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// `sqlite://PATH` or `postgres://...` [default: the user's data directory].
    #[arg(long, env = "CODEINSIGHT_DATABASE", value_name = "URL")]
    pub database: Option<String>,
    /// Analysis threads: files whose rules run at the same time; also the most linter or AI stages in flight
    /// [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Extra rules directory (ast-grep YAML) loaded beside the built-in rules.
    #[arg(long, value_name = "DIR")]
    pub rules_dir: Option<PathBuf>,
    /// Most connections open at once, WebSockets included; past it new connections are closed at once
    /// [default: 8192, and never more than the open-file limit allows].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Most WebSockets one token may hold open at once [default: 256].
    #[arg(long, value_name = "N")]
    pub max_sockets_per_token: Option<usize>,
    /// Most findings kept per file; the most severe are kept and the rest counted [default: 1000].
    #[arg(long, value_name = "N")]
    pub max_findings_per_file: Option<usize>,
    #[command(flatten)]
    pub llm: LlmArgs,
}

#[derive(Debug, Args)]
pub struct DebugArgs {
    /// The file that failed.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The error output or stack trace (`-` reads stdin); its frames point the review at the failing lines.
    #[arg(long, value_name = "LOG")]
    pub error_log: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    /// Ignore cached results.
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub llm: LlmArgs,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        admin: bool,
        #[arg(long, env = "CODEINSIGHT_DATABASE", value_name = "URL")]
        database: Option<String>,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long, env = "CODEINSIGHT_DATABASE", value_name = "URL")]
        database: Option<String>,
    },
    /// Revoke a token by id.
    Revoke {
        id: String,
        #[arg(long, env = "CODEINSIGHT_DATABASE", value_name = "URL")]
        database: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Explain this rule.
    pub id: Option<String>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// `table` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = DoctorFormat::Table)]
    pub format: DoctorFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DoctorFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::{AFTER_HELP, Cli};
    use crate::cli::exit_status::ExitStatus;

    #[test]
    fn the_parser_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_carries_the_exit_code_table() {
        assert!(AFTER_HELP.starts_with(ExitStatus::TABLE));
    }
}

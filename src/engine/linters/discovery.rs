//! Which linters this server runs: the built-in ones found on `PATH` (or at a configured command) with their
//! versions, the ones the configuration names or disables, and custom linters. Resolved once when the server
//! starts, so that versions enter every cache key and `codeinsight doctor` can say exactly what will run.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::config::{CustomLinterConfig, DEFAULT_TIMEOUT, LintersConfig, SandboxSetting};
use super::process::{Invocation, find_program, run};
use super::sandbox::{self, Confiner, Isolation, ResourceLimits};
use crate::engine::Language;

/// The built-in linters, in the order they run and are listed.
pub const BUILTIN_NAMES: [&str; 7] = [
    "ruff",
    "clippy",
    "shellcheck",
    "eslint",
    "biome",
    "go-vet",
    "staticcheck",
];

/// How long `TOOL --version` may take before the tool counts as broken.
const VERSION_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    Ruff,
    Clippy,
    Shellcheck,
    Eslint,
    Biome,
    GoVet,
    Staticcheck,
    Custom,
}

/// Why a linter is in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Found on `PATH` without being named: runs as an optional stage.
    Detected,
    /// Named in the configuration: runs, and is reported when it cannot.
    Configured,
}

/// One linter as this server sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Linter {
    pub name: String,
    pub tool: Tool,
    #[serde(serialize_with = "language_names")]
    pub languages: Vec<Language>,
    /// The resolved program; `None` when it was not found.
    pub program: Option<PathBuf>,
    /// The first line of its version output, e.g. `ruff 0.17.6`.
    pub version: Option<String>,
    /// Whether it runs on matching files (its stage appears in their results).
    pub enabled: bool,
    /// Whether a stage that did not run makes the review incomplete.
    pub required: bool,
    pub origin: Origin,
    /// Why it is disabled or cannot run, for `codeinsight doctor` and stage reasons.
    pub note: Option<String>,
    #[serde(skip)]
    pub(crate) args: Vec<String>,
    #[serde(skip)]
    pub(crate) timeout: Duration,
    #[serde(skip)]
    pub(crate) cargo: bool,
    #[serde(skip)]
    pub(crate) custom: Option<CustomLinterConfig>,
    /// What a sandbox holds read-only for this tool to run: its installation outside `/usr`.
    pub sandbox_paths: Vec<PathBuf>,
}

impl Linter {
    /// Whether it can run right now: enabled, and its program found and answering `--version`.
    pub fn available(&self) -> bool {
        self.enabled && self.program.is_some() && self.note.is_none()
    }
}

/// Every linter this server knows about, resolved from a [`LintersConfig`].
#[derive(Debug, Clone, Serialize)]
pub struct Linters {
    entries: Vec<Linter>,
    concurrency: usize,
    isolation: Isolation,
    limits: ResourceLimits,
    #[serde(skip)]
    fingerprint: String,
    #[serde(skip)]
    pub(crate) confiner: Confiner,
}

impl Linters {
    /// No linters at all.
    pub fn none() -> Linters {
        Linters::discover(&LintersConfig::disabled())
    }

    /// Looks every linter up and asks each found one for its version (in parallel: node-based tools take a
    /// while to start).
    pub fn discover(config: &LintersConfig) -> Linters {
        let isolation = if config.enabled {
            sandbox::resolve(config)
        } else {
            Isolation::Unsandboxed {
                reason: "the linter stage is disabled".to_owned(),
            }
        };
        let default_timeout = config
            .timeout_seconds
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64);
        let mut linters = Vec::new();
        for (index, name) in BUILTIN_NAMES.iter().enumerate() {
            let tool = [
                Tool::Ruff,
                Tool::Clippy,
                Tool::Shellcheck,
                Tool::Eslint,
                Tool::Biome,
                Tool::GoVet,
                Tool::Staticcheck,
            ][index];
            let table = config.tool(name);
            let configured = table.is_some_and(|table| table.enabled != Some(false));
            let disabled_explicitly = table.is_some_and(|table| table.enabled == Some(false));
            let enabled = config.enabled && !disabled_explicitly && (configured || config.auto);
            let program = match table.and_then(|table| table.command.as_deref()) {
                Some(command) => find_program(command),
                None => default_programs(tool)
                    .iter()
                    .find_map(|name| find_program(name)),
            };
            // In a sandbox the program must be the tool itself, not a version manager's shim.
            let program = program.map(|program| {
                if isolation.confined() {
                    sandbox::real_program(&program)
                } else {
                    program
                }
            });
            let note = if !config.enabled {
                Some("the linter stage is disabled (`[linters] enabled = false`)".to_owned())
            } else if disabled_explicitly {
                Some(format!(
                    "disabled in the configuration (`[linters.{name}] enabled = false`)"
                ))
            } else if !configured && !config.auto {
                Some("not configured, and `[linters] auto = false`".to_owned())
            } else if program.is_none() {
                Some(match table.and_then(|table| table.command.as_deref()) {
                    Some(command) => format!("`{command}` was not found"),
                    None => format!(
                        "not installed (none of `{}` is on PATH)",
                        default_programs(tool).join("`, `")
                    ),
                })
            } else {
                None
            };
            linters.push(Linter {
                name: (*name).to_owned(),
                tool,
                languages: tool_languages(tool),
                program,
                version: None,
                // A detected linter that is missing simply is not there; a configured one is reported.
                enabled: enabled && (configured || note.is_none()),
                required: table.and_then(|table| table.required).unwrap_or(configured),
                origin: if configured {
                    Origin::Configured
                } else {
                    Origin::Detected
                },
                note,
                args: table.map(|table| table.args.clone()).unwrap_or_default(),
                timeout: table
                    .and_then(|table| table.timeout_seconds)
                    .map_or(default_timeout, Duration::from_secs_f64),
                cargo: table.and_then(|table| table.cargo).unwrap_or(true),
                custom: None,
                sandbox_paths: Vec::new(),
            });
        }
        for (name, custom) in &config.custom {
            let program = custom
                .command
                .first()
                .and_then(|program| find_program(program))
                .map(|program| {
                    if isolation.confined() {
                        sandbox::real_program(&program)
                    } else {
                        program
                    }
                });
            let note = if !config.enabled {
                Some("the linter stage is disabled (`[linters] enabled = false`)".to_owned())
            } else if program.is_none() {
                Some(format!(
                    "`{}` was not found",
                    custom.command.first().map_or("", String::as_str)
                ))
            } else {
                None
            };
            linters.push(Linter {
                name: name.clone(),
                tool: Tool::Custom,
                languages: custom
                    .languages
                    .iter()
                    .filter_map(|language| Language::from_name(language))
                    .collect(),
                program,
                version: Some(custom.command.join(" ")),
                enabled: config.enabled,
                required: custom.required.unwrap_or(true),
                origin: Origin::Configured,
                note,
                args: Vec::new(),
                timeout: custom
                    .timeout_seconds
                    .map_or(default_timeout, Duration::from_secs_f64),
                cargo: false,
                custom: Some(custom.clone()),
                sandbox_paths: Vec::new(),
            });
        }
        confine_linters(&mut linters, config, &isolation);
        std::thread::scope(|scope| {
            for linter in linters
                .iter_mut()
                .filter(|linter| linter.tool != Tool::Custom && linter.program.is_some())
                .filter(|linter| linter.enabled || linter.note.is_some())
            {
                scope.spawn(move || {
                    let Some(program) = linter.program.clone() else {
                        return;
                    };
                    match cached_version_of(linter.tool, &program) {
                        Ok(version) => linter.version = Some(version),
                        Err(reason) => {
                            if linter.note.is_none() {
                                linter.note = Some(reason.to_string());
                            }
                            linter.enabled &= linter.origin == Origin::Configured;
                        }
                    }
                });
            }
        });
        // Half the cores, but two at least where there are two: a slow linter (a cold Go build) then leaves room
        // for the other languages' linters.
        let concurrency = config.concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(1, |cores| (cores.get() / 2).max(2).min(cores.get()))
        });
        // The isolation changes results too: a sandboxed clippy cannot read the project, and a linter left off
        // for want of a sandbox finds nothing.
        let mut fingerprint = format!(
            "linters-v2;{}",
            match &isolation {
                Isolation::OwnFiles => "own-files",
                Isolation::Bubblewrap { .. } => "bubblewrap",
                Isolation::Unsandboxed { .. } => "unsandboxed",
            }
        );
        for linter in linters.iter().filter(|linter| linter.enabled) {
            let _ = write!(
                fingerprint,
                ";{}={}{}|{}|{}|{}",
                linter.name,
                if linter.note.is_some() { "off:" } else { "" },
                linter.version.as_deref().unwrap_or("missing"),
                linter.args.join("\u{1f}"),
                linter.cargo,
                linter
                    .custom
                    .as_ref()
                    .and_then(|custom| serde_json::to_string(custom).ok())
                    .unwrap_or_default()
            );
        }
        Linters {
            entries: linters,
            concurrency,
            limits: ResourceLimits::from_config(config),
            confiner: Confiner::new(config, isolation.clone()),
            isolation,
            fingerprint,
        }
    }

    /// The isolation linter runs get here, and one line saying so, for `codeinsight doctor`.
    pub fn isolation(&self) -> (&Isolation, String) {
        (&self.isolation, self.isolation.describe(&self.limits))
    }

    /// Every known linter, enabled or not, for `codeinsight doctor`.
    pub fn all(&self) -> &[Linter] {
        &self.entries
    }

    /// The linters that run on files of `language` (including configured ones that are missing, whose stage
    /// reports why they did not run).
    pub fn for_language(&self, language: Language) -> impl Iterator<Item = &Linter> {
        self.entries
            .iter()
            .filter(move |linter| linter.enabled && linter.languages.contains(&language))
    }

    /// Names, versions and options of the enabled linters: part of every cache key, so that a new linter version
    /// or a changed option never serves old results.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Most linter runs at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }
}

/// For untrusted code: the read-only paths each tool needs in its sandbox, and, where there is no sandbox, the
/// tools that may not run without one left off with the reason (their stages say it).
fn confine_linters(linters: &mut [Linter], config: &LintersConfig, isolation: &Isolation) {
    for linter in linters.iter_mut() {
        match isolation {
            Isolation::OwnFiles => {}
            Isolation::Bubblewrap { .. } => {
                if let Some(program) = &linter.program {
                    linter.sandbox_paths = sandbox::tool_paths(program);
                }
                let extra = match &linter.custom {
                    Some(custom) => custom.read_only.clone(),
                    None => config
                        .tool(&linter.name)
                        .map(|table| table.read_only.clone())
                        .unwrap_or_default(),
                };
                linter
                    .sandbox_paths
                    .extend(extra.into_iter().filter(|path| path.exists()));
            }
            Isolation::Unsandboxed { reason } => {
                let required = config.sandbox == SandboxSetting::Bubblewrap;
                if linter.note.is_none() && (required || sandbox::needs_sandbox(linter.tool)) {
                    linter.note = Some(format!(
                        "left off: it runs or includes code from the submitted file at build time, and this server \
                         has no sandbox ({reason})"
                    ));
                }
            }
        }
    }
}

fn language_names<S: serde::Serializer>(
    languages: &[Language],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(languages.iter().map(|language| language.name()))
}

/// Programs tried, in order, when the configuration names none.
fn default_programs(tool: Tool) -> &'static [&'static str] {
    match tool {
        Tool::Ruff => &["ruff"],
        Tool::Clippy => &["clippy-driver"],
        Tool::Shellcheck => &["shellcheck"],
        Tool::Eslint => &["eslint"],
        Tool::Biome => &["biome"],
        Tool::GoVet => &["go"],
        Tool::Staticcheck => &["staticcheck", "go-staticcheck"],
        Tool::Custom => &[],
    }
}

fn tool_languages(tool: Tool) -> Vec<Language> {
    match tool {
        Tool::Ruff => vec![Language::Python],
        Tool::Clippy => vec![Language::Rust],
        Tool::Shellcheck => vec![Language::Bash],
        Tool::Eslint => vec![Language::JavaScript],
        Tool::Biome => vec![Language::JavaScript, Language::TypeScript, Language::Tsx],
        Tool::GoVet | Tool::Staticcheck => vec![Language::Go],
        Tool::Custom => Vec::new(),
    }
}

/// The environment Go tools run with: never the network, never another toolchain, and the submitted file as a
/// package of its own (it is linted alone, outside any module).
pub(crate) fn go_environment() -> Vec<(String, String)> {
    [
        ("GOPROXY", "off"),
        ("GOTOOLCHAIN", "local"),
        ("GO111MODULE", "off"),
    ]
    .iter()
    .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
    .collect()
}

/// How long a remembered `--version` answer is trusted. Wrapper scripts (pyenv shims, npm bins) keep their size and
/// time when the tool behind them changes, so an answer must not live forever.
const VERSION_CACHE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(serde::Deserialize, Serialize)]
struct CachedVersion {
    version: String,
    probed_at: u64,
}

/// Serialises this process's reads and writes of the version cache (discovery probes tools in parallel).
static VERSION_CACHE_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `version_of`, remembered across processes in `CODEINSIGHT_CACHE_DIR` (default: the user's cache directory) and
/// keyed by the program's resolved path, size and modification time. Starting every linter on every run costs a
/// one-file review a few hundred milliseconds (node-based tools are slow to start); the answer rarely changes.
/// Failures are never remembered, and an unreadable or unwritable cache only means probing again.
fn cached_version_of(tool: Tool, program: &Path) -> Result<String, VersionProbeError> {
    let (Some(cache_file), Some(key)) = (version_cache_file(), version_cache_key(tool, program))
    else {
        return version_of(tool, program);
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let read_cache = || -> std::collections::BTreeMap<String, CachedVersion> {
        std::fs::read(&cache_file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    };
    {
        let _guard = VERSION_CACHE_LOCK.lock();
        if let Some(entry) = read_cache().get(&key)
            && now.saturating_sub(entry.probed_at) < VERSION_CACHE_TTL.as_secs()
        {
            return Ok(entry.version.clone());
        }
    }
    let version = version_of(tool, program)?;
    let _guard = VERSION_CACHE_LOCK.lock();
    let mut cache = read_cache();
    cache.retain(|_, entry| now.saturating_sub(entry.probed_at) < VERSION_CACHE_TTL.as_secs());
    cache.insert(
        key,
        CachedVersion {
            version: version.clone(),
            probed_at: now,
        },
    );
    if let (Some(dir), Ok(json)) = (cache_file.parent(), serde_json::to_vec(&cache)) {
        // Write a sibling temporary file and rename it over the cache, so no reader sees half a file.
        let written = std::fs::create_dir_all(dir).is_ok()
            && tempfile::NamedTempFile::new_in(dir).is_ok_and(|mut temporary| {
                std::io::Write::write_all(&mut temporary, &json).is_ok()
                    && temporary.persist(&cache_file).is_ok()
            });
        if !written {
            tracing::debug!(file = %cache_file.display(), "could not write the linter version cache");
        }
    }
    Ok(version)
}

fn version_cache_file() -> Option<PathBuf> {
    let dir = std::env::var_os("CODEINSIGHT_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|dir| dir.join("codeinsight")))?;
    Some(dir.join("linter-versions.json"))
}

fn version_cache_key(tool: Tool, program: &Path) -> Option<String> {
    let resolved = std::fs::canonicalize(program).ok()?;
    let metadata = std::fs::metadata(&resolved).ok()?;
    let modified = metadata
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!(
        "{tool:?}|{}|{}|{}|{modified}",
        program.display(),
        resolved.display(),
        metadata.len()
    ))
}

/// Why a linter's version could not be read: the tool is then reported unavailable with this reason.
#[derive(Debug, thiserror::Error)]
enum VersionProbeError {
    #[error("{command} failed: {detail}")]
    Failed { command: String, detail: String },
    #[error("{command} printed no version")]
    NoVersion { command: String },
}

fn version_of(tool: Tool, program: &Path) -> Result<String, VersionProbeError> {
    let args: &[&str] = match tool {
        Tool::GoVet => &["version"],
        Tool::Staticcheck => &["-version"],
        _ => &["--version"],
    };
    let invocation = Invocation {
        program: program.to_path_buf(),
        args: args.iter().map(OsString::from).collect(),
        cwd: std::env::temp_dir(),
        env: go_environment(),
        stdin: None,
        timeout: VERSION_TIMEOUT,
        confinement: None,
    };
    let command = format!("`{} {}`", program.display(), args.join(" "));
    let output = run(&invocation).map_err(|error| VersionProbeError::Failed {
        command: command.clone(),
        detail: error.to_string(),
    })?;
    if !output.status.success() {
        return Err(VersionProbeError::Failed {
            command,
            detail: output.tail(),
        });
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .map(str::trim)
        .find(|line| line.chars().any(|character| character.is_ascii_digit()))
        .map(|line| {
            line.trim_start_matches("Version:")
                .trim_start_matches("version:")
                .trim()
                .to_owned()
        })
        .ok_or(VersionProbeError::NoVersion { command })
}

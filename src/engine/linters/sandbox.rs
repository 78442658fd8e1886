//! Isolation for linter runs on code the server does not trust (`codeinsight serve`). Every run gets a cleared
//! environment (an allow-list: `PATH`, a temporary `HOME`, the locale and the tool's cache variables) and, set with
//! `setrlimit` in the child before it starts, bounds on address space, CPU time, processes, file size and open
//! files. Where bubblewrap works, the run also happens in fresh user, PID, network, IPC and UTS namespaces that
//! see only `/usr` and the tool's own installation (read-only), the job's temporary directory, the submitting
//! user's tool caches and a private `/tmp`: no network, no `/etc`, no home directory, no database.
//!
//! Where bubblewrap is missing or cannot create namespaces, the tools that execute or include code at build time
//! (clippy's `include_str!`/`env!`, cgo's `#include` under `go vet` and staticcheck, custom linters) stay off and
//! say why; the others run with the cleared environment and the limits. `codeinsight doctor` shows which isolation
//! is in force.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Serialize;

use super::config::{LintersConfig, SandboxSetting, Trust};
use super::discovery::Tool;
use super::process::find_program;

/// Address space of one linter process unless `[linters] memory_mb` says otherwise. Measured: staticcheck with a
/// cold cache peaks at 190 MB resident and needs about 1.5 GiB of address space; clippy on an ordinary file 200 MB.
pub const DEFAULT_MEMORY_MB: u64 = 2048;
/// Processes and threads of the user the server runs as (only enforced when that is not root; the PID namespace
/// and the timeout, which kills the whole group, bound the rest).
const MAX_PROCESSES: u64 = 1024;
/// Largest file a linter may write (Go's build cache holds the biggest).
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
const MAX_OPEN_FILES: u64 = 1024;
/// How long the start-up probe of bubblewrap may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The isolation linters run under, as `codeinsight doctor` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Isolation {
    /// The embedded server on the user's own files: tools run as the user, in the project when the file is on
    /// disk.
    OwnFiles,
    /// Every run in a bubblewrap sandbox with a cleared environment and resource limits.
    Bubblewrap { program: PathBuf, version: String },
    /// Untrusted code, but no sandbox could be set up: only tools that never run submitted code at build time
    /// run (with a cleared environment and resource limits).
    Unsandboxed { reason: String },
}

impl Isolation {
    /// Whether tool runs are confined at all (cleared environment and limits).
    pub fn confined(&self) -> bool {
        !matches!(self, Isolation::OwnFiles)
    }

    /// One line for `codeinsight doctor`.
    pub fn describe(&self, limits: &ResourceLimits) -> String {
        match self {
            Isolation::OwnFiles => {
                "none: the embedded server lints your own files as you, in their project \
                 (`codeinsight serve` sandboxes every linter)"
                    .to_owned()
            }
            Isolation::Bubblewrap { version, .. } => format!(
                "{version}: each linter sees only the submitted file and its own installation, with no network, \
                 a cleared environment and limits ({})",
                limits.describe()
            ),
            Isolation::Unsandboxed { reason } => format!(
                "no sandbox ({reason}): clippy, go vet, staticcheck and custom linters are off; the others run with \
                 a cleared environment and limits ({})",
                limits.describe()
            ),
        }
    }
}

/// Bounds set with `setrlimit` in each confined linter process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResourceLimits {
    pub memory_bytes: u64,
    pub processes: u64,
    pub file_bytes: u64,
    pub open_files: u64,
}

impl ResourceLimits {
    pub fn from_config(config: &LintersConfig) -> ResourceLimits {
        ResourceLimits {
            memory_bytes: config.memory_mb.unwrap_or(DEFAULT_MEMORY_MB) * 1024 * 1024,
            processes: MAX_PROCESSES,
            file_bytes: MAX_FILE_BYTES,
            open_files: MAX_OPEN_FILES,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} MiB address space, CPU time of the timeout, {} processes, {} MiB per file",
            self.memory_bytes / (1024 * 1024),
            self.processes,
            self.file_bytes / (1024 * 1024)
        )
    }
}

/// Whether a tool runs code or reads files named in the submitted code at build time, and so may only run on
/// untrusted code inside a sandbox.
pub(crate) fn needs_sandbox(tool: Tool) -> bool {
    matches!(
        tool,
        Tool::Clippy | Tool::GoVet | Tool::Staticcheck | Tool::Custom
    )
}

/// Decides the isolation for `config`: none for the user's own files, otherwise bubblewrap if it works here.
pub(crate) fn resolve(config: &LintersConfig) -> Isolation {
    if config.trust == Trust::OwnFiles {
        return Isolation::OwnFiles;
    }
    match probe_bubblewrap() {
        Ok((program, version)) => Isolation::Bubblewrap { program, version },
        Err(reason) => {
            let reason = match config.sandbox {
                SandboxSetting::Bubblewrap => {
                    format!("{reason}; `[linters] sandbox = \"bubblewrap\"` requires it")
                }
                SandboxSetting::Auto => reason.to_string(),
            };
            Isolation::Unsandboxed { reason }
        }
    }
}

/// Why bubblewrap cannot confine linters here: said by `doctor` and in the isolation a server reports.
#[derive(Debug, thiserror::Error)]
enum ProbeError {
    #[error("bubblewrap is not installed (`apt-get install bubblewrap`, or your system's package)")]
    NotInstalled,
    #[error("no `true` on PATH to probe bubblewrap with")]
    NoTrue,
    #[error("cannot create a temporary directory: {0}")]
    TempDir(std::io::Error),
    #[error("cannot start `{}`: {source}", .program.display())]
    Start {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("waiting for bubblewrap failed: {0}")]
    Wait(std::io::Error),
    #[error("bubblewrap did not answer within {} s", .0.as_secs())]
    Timeout(Duration),
    #[error("`{}` cannot create a sandbox here: {reason}", .program.display())]
    Refused { program: PathBuf, reason: String },
}

/// Finds `bwrap` and runs `true` inside the same layout every linter gets.
fn probe_bubblewrap() -> Result<(PathBuf, String), ProbeError> {
    let program = find_program("bwrap").ok_or(ProbeError::NotInstalled)?;
    let version = std::process::Command::new(&program)
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .filter(|version| !version.is_empty())
        .unwrap_or_else(|| "bubblewrap".to_owned());
    let truth = find_program("true").ok_or(ProbeError::NoTrue)?;
    let directory = tempfile::Builder::new()
        .prefix("codeinsight-probe-")
        .tempdir()
        .map_err(ProbeError::TempDir)?;
    let layout = Layout {
        bwrap: program.clone(),
        read_only: tool_paths(&truth),
        writable: vec![directory.path().to_path_buf()],
        hidden: Vec::new(),
    };
    let mut command = layout.command(&truth, &[], directory.path());
    command
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().map_err(|source| ProbeError::Start {
        program: program.clone(),
        source,
    })?;
    let output = wait_with_timeout(child, PROBE_TIMEOUT)?;
    if output.status.success() {
        Ok((program, version))
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr
            .lines()
            .next()
            .unwrap_or("no reason given")
            .trim()
            .to_owned();
        Err(ProbeError::Refused { program, reason })
    }
}

fn wait_with_timeout(
    mut child: std::process::Child,
    timeout: Duration,
) -> Result<std::process::Output, ProbeError> {
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().map_err(ProbeError::Wait),
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ProbeError::Timeout(timeout));
            }
            Err(error) => return Err(ProbeError::Wait(error)),
        }
    }
}

/// The real program behind a version manager's shim (`pyenv` shims, `rustup` proxies), so that the sandbox can
/// hold the program itself rather than the whole version manager. Other programs are returned as they are.
pub(crate) fn real_program(program: &Path) -> PathBuf {
    let Some(name) = program.file_name().and_then(|name| name.to_str()) else {
        return program.to_path_buf();
    };
    let directory = program.parent().unwrap_or(Path::new("/"));
    let manager = if directory.ends_with("shims") && directory.join("../bin/pyenv").exists()
        || is_pyenv_shim(program)
    {
        Some(("pyenv", vec!["which", name]))
    } else if find_program("rustup").is_some_and(|rustup| rustup.parent() == Some(directory))
        && name != "rustup"
    {
        Some(("rustup", vec!["which", name]))
    } else {
        None
    };
    let Some((manager, args)) = manager else {
        return program.to_path_buf();
    };
    let Some(manager) = find_program(manager) else {
        return program.to_path_buf();
    };
    std::process::Command::new(manager)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
        .filter(|path| path.is_absolute() && path.is_file())
        .unwrap_or_else(|| program.to_path_buf())
}

fn is_pyenv_shim(program: &Path) -> bool {
    let mut head = [0_u8; 512];
    let Ok(mut file) = std::fs::File::open(program) else {
        return false;
    };
    let read = std::io::Read::read(&mut file, &mut head).unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..read]);
    head.starts_with("#!") && head.contains("pyenv")
}

/// What a sandbox must hold, read-only, for `program` to run: nothing under `/usr` (always there), otherwise the
/// installation it belongs to (a `node_modules` tree, the prefix above its `bin/` directory) or the file alone, and
/// the same for the interpreter its `#!` line names.
pub(crate) fn tool_paths(program: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    add_tool_paths(program, &mut paths, 0);
    paths.sort();
    paths.dedup();
    paths
}

fn add_tool_paths(program: &Path, paths: &mut Vec<PathBuf>, depth: usize) {
    let Ok(real) = std::fs::canonicalize(program) else {
        return;
    };
    if !real.starts_with("/usr") {
        paths.push(installation_of(&real));
        // The name the tool was found under (a symlink in `node_modules/.bin`) must resolve inside too.
        if program.is_absolute() && program != real {
            if let Some(link_directory) = program.parent() {
                if !link_directory.starts_with("/usr") {
                    paths.push(installation_of(program));
                }
            }
        }
    }
    if depth > 2 {
        return;
    }
    if let Some(interpreter) = interpreter_of(&real) {
        add_tool_paths(&interpreter, paths, depth + 1);
    }
}

/// The directory to give a sandbox for a program at `real`: its outermost `node_modules`, the prefix above its
/// `bin/` directory when that prefix is a dedicated installation, or the file itself.
fn installation_of(real: &Path) -> PathBuf {
    let mut prefix = PathBuf::new();
    for component in real.components() {
        prefix.push(component);
        if component == Component::Normal("node_modules".as_ref()) {
            return prefix;
        }
    }
    let home = dirs::home_dir();
    let shared = |directory: &Path| {
        directory.parent().is_none()
            || home.as_deref().is_some_and(|home| {
                // The home directory, its ancestors, and shared trees inside it that hold credentials
                // (`~/.cargo/credentials.toml`) or other programs' data.
                [".local", ".cargo", "go", ".npm", ".config"]
                    .iter()
                    .any(|name| directory == home.join(name))
                    || home.starts_with(directory)
            })
            || ["/opt", "/var", "/srv", "/home", "/root", "/tmp"]
                .iter()
                .any(|shared| directory == Path::new(shared))
    };
    match real.parent() {
        Some(bin) if bin.ends_with("bin") => match bin.parent() {
            Some(installation) if !shared(installation) => installation.to_path_buf(),
            _ => real.to_path_buf(),
        },
        _ => real.to_path_buf(),
    }
}

/// The interpreter a script's `#!` line names (`#!/usr/bin/env node` → `node` on `PATH`).
fn interpreter_of(program: &Path) -> Option<PathBuf> {
    let mut head = [0_u8; 256];
    let mut file = std::fs::File::open(program).ok()?;
    let read = std::io::Read::read(&mut file, &mut head).ok()?;
    let line = head[..read].strip_prefix(b"#!")?;
    let line = String::from_utf8_lossy(line);
    let line = line.lines().next()?.trim();
    let mut words = line.split_whitespace();
    let first = words.next()?;
    if Path::new(first)
        .file_name()
        .is_some_and(|name| name == "env")
    {
        let name = words.find(|word| !word.starts_with('-'))?;
        find_program(name)
    } else {
        Some(PathBuf::from(first))
    }
}

/// The environment variables a confined tool gets besides those its module sets: nothing of the server's own
/// environment except `PATH` (restricted to what the sandbox holds) and the toolchain's location.
fn base_environment(
    path: &str,
    home: &Path,
    cache: Option<&Path>,
    temp: &str,
) -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".to_owned(), path.to_owned()),
        ("HOME".to_owned(), home.display().to_string()),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
        ("LC_ALL".to_owned(), "C.UTF-8".to_owned()),
        ("TMPDIR".to_owned(), temp.to_owned()),
    ];
    if let Some(cache) = cache {
        env.push((
            "XDG_CACHE_HOME".to_owned(),
            cache.join("xdg").display().to_string(),
        ));
        env.push((
            "GOCACHE".to_owned(),
            cache.join("go-build").display().to_string(),
        ));
    }
    env.push(("GOPATH".to_owned(), home.join("go").display().to_string()));
    if let Some(root) = std::env::var_os("GOROOT") {
        env.push(("GOROOT".to_owned(), root.to_string_lossy().into_owned()));
    }
    env
}

/// The layout of one bubblewrap sandbox.
#[derive(Debug, Clone)]
struct Layout {
    bwrap: PathBuf,
    read_only: Vec<PathBuf>,
    writable: Vec<PathBuf>,
    hidden: Vec<PathBuf>,
}

impl Layout {
    /// `bwrap ARGS -- PROGRAM ARGS`, with its working directory set.
    fn command(&self, program: &Path, args: &[OsString], cwd: &Path) -> Command {
        let mut command = Command::new(&self.bwrap);
        command
            .args([
                "--unshare-all",
                "--unshare-user",
                "--uid",
                "65534",
                "--gid",
                "65534",
                "--cap-drop",
                "ALL",
                "--die-with-parent",
                "--new-session",
                "--ro-bind",
                "/usr",
                "/usr",
            ])
            .current_dir(cwd);
        // Merged-/usr systems link these into /usr; others have real directories.
        for top in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            match std::fs::read_link(top) {
                Ok(target) => {
                    command.arg("--symlink").arg(target).arg(top);
                }
                Err(_) if Path::new(top).is_dir() => {
                    command.arg("--ro-bind").arg(top).arg(top);
                }
                Err(_) => {}
            }
        }
        for file in ["/etc/ld.so.cache", "/etc/alternatives"] {
            command.arg("--ro-bind-try").arg(file).arg(file);
        }
        command.args(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
        for path in &self.read_only {
            command.arg("--ro-bind").arg(path).arg(path);
        }
        for path in &self.writable {
            command.arg("--bind").arg(path).arg(path);
        }
        for path in &self.hidden {
            let covered = self
                .read_only
                .iter()
                .chain(&self.writable)
                .chain(std::iter::once(&PathBuf::from("/usr")))
                .any(|bound| path.starts_with(bound));
            if !covered {
                continue;
            }
            if path.is_dir() {
                command.arg("--tmpfs").arg(path);
            } else {
                command.arg("--ro-bind").arg("/dev/null").arg(path);
            }
        }
        command
            .arg("--chdir")
            .arg(cwd)
            .arg("--")
            .arg(program)
            .args(args);
        command
    }
}

/// How one confined run is set up: the sandbox (if any), its environment and its limits.
#[derive(Debug, Clone)]
pub(crate) struct Confinement {
    layout: Option<Layout>,
    env: Vec<(String, String)>,
    limits: ResourceLimits,
}

/// Everything a linter run on untrusted code needs to be confined, resolved once per server.
#[derive(Debug, Clone)]
pub(crate) struct Confiner {
    pub(crate) isolation: Isolation,
    pub(crate) limits: ResourceLimits,
    /// Where each user's tool caches live (`GOCACHE`, staticcheck's cache), one directory per user so that a
    /// user's runs never read what another user's code produced.
    cache_root: Option<PathBuf>,
    protected: Vec<PathBuf>,
}

impl Confiner {
    pub(crate) fn new(config: &LintersConfig, isolation: Isolation) -> Confiner {
        let cache_root = std::env::var_os("CODEINSIGHT_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| dirs::cache_dir().map(|dir| dir.join("codeinsight")))
            .map(|dir| dir.join("sandbox"));
        Confiner {
            isolation,
            limits: ResourceLimits::from_config(config),
            cache_root,
            protected: config.protected.clone(),
        }
    }

    /// The confinement of one run of a tool whose installation is `tool_paths`, in job directory `job_dir`, for
    /// `user` (whose caches it may use); `None` for the user's own files.
    pub(crate) fn confine(
        &self,
        tool_paths: &[PathBuf],
        job_dir: &Path,
        user: Option<&str>,
    ) -> Option<Confinement> {
        let home = job_dir.join(".home");
        // The home directory is created lazily by tools; an error surfaces when a tool needs it.
        let _ = std::fs::create_dir_all(&home);
        let cache = user.and_then(|user| self.user_cache(user));
        match &self.isolation {
            Isolation::OwnFiles => None,
            Isolation::Bubblewrap { program, .. } => {
                let mut writable = vec![job_dir.to_path_buf()];
                writable.extend(cache.clone());
                let layout = Layout {
                    bwrap: program.clone(),
                    read_only: tool_paths.to_vec(),
                    writable,
                    hidden: self.protected.clone(),
                };
                let path = sandbox_path(tool_paths);
                Some(Confinement {
                    env: base_environment(&path, &home, cache.as_deref(), "/tmp"),
                    layout: Some(layout),
                    limits: self.limits,
                })
            }
            Isolation::Unsandboxed { .. } => {
                let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_owned());
                let temp = job_dir.display().to_string();
                Some(Confinement {
                    env: base_environment(&path, &home, cache.as_deref(), &temp),
                    layout: None,
                    limits: self.limits,
                })
            }
        }
    }

    /// `CACHE_ROOT/<hash of the user>`, created with owner-only permissions; `None` when it cannot be. A cache
    /// that grew past [`USER_CACHE_BYTES`] is emptied (looked at most every [`USER_CACHE_CHECK`]): what a
    /// user's files make Go build must not fill the server's disk.
    fn user_cache(&self, user: &str) -> Option<PathBuf> {
        let root = self.cache_root.as_ref()?;
        let directory = root.join(&crate::protocol::sha256_hex(user.as_bytes())[..24]);
        bound_cache(&directory);
        std::fs::create_dir_all(&directory).ok()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700));
        }
        Some(directory)
    }
}

/// The most a user's tool caches may hold before they are emptied.
const USER_CACHE_BYTES: u64 = 512 * 1024 * 1024;
/// How often a user's cache is measured.
const USER_CACHE_CHECK: Duration = Duration::from_secs(300);

/// When each user cache was last measured.
static CACHE_CHECKS: std::sync::Mutex<
    Option<std::collections::HashMap<PathBuf, std::time::Instant>>,
> = std::sync::Mutex::new(None);

/// Empties `directory` when it holds more than [`USER_CACHE_BYTES`], measuring it at most every
/// [`USER_CACHE_CHECK`]. It is renamed away first, so that a run using it sees a whole cache or none.
fn bound_cache(directory: &Path) {
    {
        let mut checks = CACHE_CHECKS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let checks = checks.get_or_insert_with(std::collections::HashMap::new);
        let now = std::time::Instant::now();
        if checks
            .get(directory)
            .is_some_and(|last| now.duration_since(*last) < USER_CACHE_CHECK)
        {
            return;
        }
        checks.insert(directory.to_path_buf(), now);
    }
    if directory_size(directory) <= USER_CACHE_BYTES {
        return;
    }
    let mut retired = directory.as_os_str().to_owned();
    retired.push(format!(".retired-{}", std::process::id()));
    let retired = PathBuf::from(retired);
    if std::fs::rename(directory, &retired).is_ok() {
        if let Err(error) = std::fs::remove_dir_all(&retired) {
            tracing::warn!(%error, "removing a user's retired linter cache failed");
        }
        tracing::info!(cache = %directory.display(), "a user's linter cache passed its bound and was emptied");
    }
}

/// Bytes of the regular files under `directory` (symbolic links are not followed).
fn directory_size(directory: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![directory.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                total += entry.metadata().map_or(0, |metadata| metadata.len());
            }
        }
    }
    total
}

/// `PATH` inside the sandbox: the host's entries the sandbox holds, then the usual system directories.
fn sandbox_path(tool_paths: &[PathBuf]) -> String {
    let host = std::env::var_os("PATH").unwrap_or_default();
    let mut entries: Vec<PathBuf> = std::env::split_paths(&host)
        .filter(|entry| {
            entry.starts_with("/usr") || tool_paths.iter().any(|tool| entry.starts_with(tool))
        })
        .collect();
    for tool in tool_paths {
        let bin = tool.join("bin");
        if bin.is_dir() && !entries.contains(&bin) {
            entries.push(bin);
        }
    }
    for system in ["/usr/local/bin", "/usr/bin", "/bin"] {
        let system = PathBuf::from(system);
        if !entries.contains(&system) {
            entries.push(system);
        }
    }
    std::env::join_paths(entries).map_or_else(
        |_| "/usr/local/bin:/usr/bin:/bin".to_owned(),
        |joined| joined.to_string_lossy().into_owned(),
    )
}

impl Confinement {
    /// The command that runs `program` confined: through bubblewrap when there is a sandbox, with the cleared
    /// environment and the resource limits either way. `timeout` sets the CPU-time limit.
    pub(crate) fn command(
        &self,
        program: &Path,
        args: &[OsString],
        cwd: &Path,
        timeout: Duration,
    ) -> Command {
        let mut command = if let Some(layout) = &self.layout {
            layout.command(program, args, cwd)
        } else {
            let mut command = Command::new(program);
            command.args(args).current_dir(cwd);
            command
        };
        command
            .env_clear()
            .envs(self.env.iter().map(|(key, value)| (key, value)));
        apply_limits(&mut command, self.limits, timeout);
        command
    }
}

/// Sets the limits in the child between `fork` and `exec`.
#[cfg(unix)]
#[allow(unsafe_code)]
fn apply_limits(command: &mut Command, limits: ResourceLimits, timeout: Duration) {
    use rustix::process::{Resource, Rlimit, setrlimit};
    use std::os::unix::process::CommandExt as _;
    // CPU seconds: the wall-clock timeout kills the run first; this catches time spent where the clock cannot see
    // it (a process that escaped the group).
    let cpu = timeout.as_secs().saturating_add(5);
    let bounds = [
        (Resource::As, limits.memory_bytes),
        (Resource::Cpu, cpu),
        (Resource::Nproc, limits.processes),
        (Resource::Fsize, limits.file_bytes),
        (Resource::Nofile, limits.open_files),
        (Resource::Core, 0),
    ];
    // SAFETY: the closure runs in the child after `fork` and before `exec`. It only makes `setrlimit` system
    // calls on values computed before the fork: no allocation, no locks, nothing that is not async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            for (resource, value) in bounds {
                setrlimit(
                    resource,
                    Rlimit {
                        current: Some(value),
                        maximum: Some(value),
                    },
                )
                .map_err(std::io::Error::from)?;
            }
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn apply_limits(_command: &mut Command, _limits: ResourceLimits, _timeout: Duration) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_tool_gets_its_node_modules_tree_and_a_usr_tool_nothing() {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("node_modules/eslint/bin");
        std::fs::create_dir_all(&bin).unwrap();
        let script = bin.join("eslint.js");
        std::fs::write(&script, "#!/usr/bin/env true\n").unwrap();
        let paths = tool_paths(&script);
        let modules = std::fs::canonicalize(root.path().join("node_modules")).unwrap();
        assert!(paths.contains(&modules), "{paths:?}");
        assert!(
            paths.iter().all(|path| !path.starts_with("/usr")),
            "{paths:?}"
        );
    }

    #[test]
    fn a_home_directory_is_never_given_whole() {
        let Some(home) = dirs::home_dir() else {
            return;
        };
        let installation = installation_of(&home.join(".local/bin/ruff"));
        assert_eq!(installation, home.join(".local/bin/ruff"));
        let installation = installation_of(Path::new("/opt/bin/tool"));
        assert_eq!(installation, Path::new("/opt/bin/tool"));
        let installation = installation_of(Path::new("/opt/go/bin/go"));
        assert_eq!(installation, Path::new("/opt/go"));
    }
}

//! What a server instance is configured with: where it listens, its database, its worker count, in-memory tokens
//! for the embedded mode, user rules, timeouts and request limits.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Request limits; every refusal is a JSON error (whole request) or a `rejected` entry (one file of a run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file content accepted, in bytes (1 MiB).
    pub max_file_bytes: usize,
    /// Largest `POST /api/v1/runs` body, in bytes (32 MiB).
    pub max_run_bytes: usize,
    /// Most files in one run (10,000).
    pub max_files_per_run: usize,
    /// Longest file path, in bytes (4 KiB).
    pub max_path_bytes: usize,
    /// Most findings kept for one file (1,000): the most severe; the rest are counted by severity.
    pub max_findings_per_file: usize,
    /// Most findings kept for one run (50,000), so that one run cannot fill the database.
    pub max_findings_per_run: usize,
    /// Most connections open at once, WebSockets included (8,192; never more than the process may open).
    pub max_connections: usize,
    /// Most WebSockets open at once per token (256).
    pub max_sockets_per_token: usize,
    /// How long a client has to send a request's headers, and how long a kept-alive connection may sit idle
    /// (15 s).
    pub header_read_timeout: std::time::Duration,
    /// How long a WebSocket may go without a frame from its client, pongs included, before it is closed (60 s;
    /// the server pings every 20 s).
    pub socket_idle_timeout: std::time::Duration,
}

impl Limits {
    /// The part a client needs to split its requests, as `whoami` advertises it.
    pub fn advertised(&self) -> crate::protocol::ServerLimits {
        crate::protocol::ServerLimits {
            max_file_bytes: self.max_file_bytes,
            max_run_bytes: self.max_run_bytes,
            max_files_per_run: self.max_files_per_run,
            max_path_bytes: self.max_path_bytes,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        let advertised = crate::protocol::ServerLimits::default();
        Limits {
            max_file_bytes: advertised.max_file_bytes,
            max_run_bytes: advertised.max_run_bytes,
            max_files_per_run: advertised.max_files_per_run,
            max_path_bytes: advertised.max_path_bytes,
            max_findings_per_file: 1000,
            max_findings_per_run: 50_000,
            max_connections: 8192,
            max_sockets_per_token: 256,
            header_read_timeout: std::time::Duration::from_secs(15),
            socket_idle_timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// A token that lives only in this process's memory (the CLI's embedded server uses a random one per process).
#[derive(Clone)]
pub struct EphemeralToken {
    pub token: String,
    pub user_id: String,
    pub admin: bool,
}

impl fmt::Debug for EphemeralToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EphemeralToken")
            .field("token", &"<redacted>")
            .field("user_id", &self.user_id)
            .field("admin", &self.admin)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Port 0 picks a free port; [`crate::server::RunningServer::addr`] tells which.
    pub listen: SocketAddr,
    /// `sqlite://PATH`.
    pub database_url: String,
    /// Concurrent analyses.
    pub workers: usize,
    pub ephemeral_tokens: Vec<EphemeralToken>,
    /// User rules (`.codeinsight/rules`), added to the built-in ones.
    pub rules_dir: Option<PathBuf>,
    /// A job's analysis that takes longer fails with a reason.
    pub job_timeout: Duration,
    pub cache_ttl: Duration,
    pub limits: Limits,
    /// Job events buffered per user for its sockets; a socket that falls further behind replays its
    /// subscriptions' terminal events from the database instead.
    pub event_buffer: usize,
    /// How long a graceful shutdown waits for analyses in flight before handing their jobs back to the queue.
    pub shutdown_grace: Duration,
    /// Whether each commit waits for the disk (`SQLite` `synchronous=FULL`): a job acknowledged over HTTP then
    /// survives a power cut. The CLI's embedded server turns it off (`NORMAL`: still safe when the process is
    /// killed, and the database stays consistent), because its jobs live no longer than the command and every
    /// fsync is on the user's clock.
    pub durable_commits: bool,
    /// The model of the AI review stage; `None` runs no AI review (a run asking for one is then incomplete).
    pub llm: Option<crate::reviewer::LlmConfig>,
    /// External linters (`[linters]`): which run, their options, custom ones. The default runs those found on
    /// `PATH` as optional stages.
    pub linters: crate::engine::LintersConfig,
}

impl ServerConfig {
    /// Defaults: one worker per core, 60 s job timeout, 24 h cache, default limits, no ephemeral tokens.
    pub fn new(listen: SocketAddr, database_url: impl Into<String>) -> ServerConfig {
        ServerConfig {
            listen,
            database_url: database_url.into(),
            workers: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            ephemeral_tokens: Vec::new(),
            rules_dir: None,
            job_timeout: Duration::from_secs(60),
            cache_ttl: Duration::from_secs(24 * 60 * 60),
            limits: Limits::default(),
            event_buffer: 4096,
            shutdown_grace: Duration::from_secs(10),
            durable_commits: true,
            llm: None,
            linters: crate::engine::LintersConfig::default(),
        }
    }
}

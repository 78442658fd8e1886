//! The state every handler and worker shares: the store, the compiled rules, the event hub, the queue's wake-up
//! signal, limits and counters. Cloning an [`AppState`] clones one `Arc`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::ServerError;
use super::config::{Limits, ServerConfig};
use super::fairness::{FairPermits, InFlight};
use super::hub::Hub;
use crate::engine::{Linters, RuleSet};
use crate::protocol::sha256_hex;
use crate::store::Store;

/// Names everything besides the content, path, language and rules that changes the engine's findings; part of
/// every cache key, so a new engine never serves an old engine's results.
pub(crate) const ENGINE_CONFIG: &str =
    concat!("codeinsight-", env!("CARGO_PKG_VERSION"), ";rules+secrets");

#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) rules: Arc<RuleSet>,
    pub(crate) hub: Hub,
    /// Woken on every enqueue so that idle workers start at once instead of at their next poll.
    pub(crate) queue: Notify,
    pub(crate) limits: Limits,
    pub(crate) cache_ttl: Duration,
    pub(crate) job_timeout: Duration,
    pub(crate) workers: usize,
    /// SHA-256 of each in-memory token, with its owner.
    pub(crate) ephemeral_tokens: Vec<EphemeralTokenHash>,
    /// When each stored token's `last_used_at` was last written, to write it at most once a minute.
    pub(crate) token_touches: Mutex<HashMap<String, Instant>>,
    pub(crate) metrics: Metrics,
    pub(crate) started_at: Instant,
    /// The external linters this server runs, resolved (with versions) at start.
    pub(crate) linters: Arc<Linters>,
    /// Linter runs in flight are bounded so that they cannot starve the rule engine's threads of CPU; the
    /// slots go to users in turn.
    pub(crate) linter_permits: Arc<FairPermits>,
    /// AI reviews in flight, at most one per worker.
    pub(crate) ai_permits: Arc<tokio::sync::Semaphore>,
    /// Jobs claimed and not yet written, per user: what the claimer may still take.
    pub(crate) in_flight: InFlight,
    /// The AI review stage's model, when one is configured and its client could be built.
    pub(crate) reviewer: Option<Arc<crate::reviewer::Reviewer>>,
    /// The web view's login codes and the nonce that ties in-memory tokens' sessions to this process.
    pub(crate) web: super::web::WebState,
    /// Ids of the stored tokens revoked while this server runs: their sockets close within a second.
    pub(crate) revoked_tokens: tokio::sync::watch::Sender<Arc<std::collections::HashSet<String>>>,
}

impl Shared {
    /// Wakes this instance's claimer for new jobs and, on a shared `PostgreSQL`, the other instances' (without
    /// delaying the caller: their pollers find the jobs anyway within a couple of seconds).
    pub(crate) fn announce_work(&self) {
        self.queue.notify_one();
        if self.store.shared() {
            let store = self.store.clone();
            tokio::spawn(async move { super::bridge::announce_work(&store).await });
        }
    }
}

pub(crate) struct EphemeralTokenHash {
    pub(crate) token_sha256: String,
    pub(crate) user_id: String,
    pub(crate) admin: bool,
}

/// Counters since start, for `/stats`, `/cache/stats` and `/metrics`.
#[derive(Default)]
pub(crate) struct Metrics {
    pub(crate) jobs_submitted: AtomicU64,
    pub(crate) runs_submitted: AtomicU64,
    pub(crate) files_rejected: AtomicU64,
    pub(crate) jobs_completed: AtomicU64,
    pub(crate) jobs_failed: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) cache_misses: AtomicU64,
    pub(crate) analysis_micros: AtomicU64,
}

impl Metrics {
    pub(crate) fn add(counter: &AtomicU64, amount: u64) {
        counter.fetch_add(amount, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

impl AppState {
    /// Opens the database (applying migrations) and compiles the rules, without starting workers or a listener:
    /// enough for route tests through [`crate::server::app`]. [`crate::server::start`] builds its state this way.
    pub async fn open(config: &ServerConfig) -> Result<AppState, ServerError> {
        // Compiling the rules and probing linters take longer than opening the database: start them first, on
        // the blocking pool, and open the database meanwhile (embedded starts are on the user's clock).
        let rules_dir = config.rules_dir.clone();
        let rules = tokio::task::spawn_blocking(move || match rules_dir {
            Some(dir) => RuleSet::with_user_rules(&dir),
            None => RuleSet::builtin(),
        });
        let mut linters_config = config.linters.clone();
        // The database holds every user's code: no sandbox may see it, wherever it lies.
        if let Some(directory) = Store::database_file(&config.database_url)
            .and_then(|file| file.parent().map(Into::into))
        {
            linters_config.protected.push(directory);
        }
        let linters = tokio::task::spawn_blocking(move || Linters::discover(&linters_config));
        let store = Store::connect_with(&config.database_url, config.durable_commits).await?;
        let rules = rules.await.map_err(ServerError::RulesTask)??;
        let linters = linters.await.map_err(ServerError::RulesTask)?;
        for linter in linters.all().iter().filter(|linter| linter.enabled) {
            tracing::info!(linter = %linter.name, version = linter.version.as_deref().unwrap_or("-"),
                note = linter.note.as_deref().unwrap_or(""), "linter enabled");
        }
        Ok(AppState::new(
            store,
            Arc::new(rules),
            Arc::new(linters),
            config,
        ))
    }

    /// Assembles the state from an open store, compiled rules and discovered linters.
    pub fn new(
        store: Store,
        rules: Arc<RuleSet>,
        linters: Arc<Linters>,
        config: &ServerConfig,
    ) -> AppState {
        let ephemeral_tokens = config
            .ephemeral_tokens
            .iter()
            .map(|token| EphemeralTokenHash {
                token_sha256: sha256_hex(token.token.as_bytes()),
                user_id: token.user_id.clone(),
                admin: token.admin,
            })
            .collect();
        AppState {
            inner: Arc::new(Shared {
                store,
                rules,
                hub: Hub::new(config.event_buffer),
                queue: Notify::new(),
                limits: config.limits,
                cache_ttl: config.cache_ttl,
                job_timeout: config.job_timeout,
                workers: config.workers.max(1),
                ephemeral_tokens,
                token_touches: Mutex::new(HashMap::new()),
                metrics: Metrics::default(),
                started_at: Instant::now(),
                linter_permits: Arc::new(FairPermits::new(linters.concurrency())),
                ai_permits: Arc::new(tokio::sync::Semaphore::new(config.workers.max(1))),
                in_flight: InFlight::new(config.workers.max(1) * super::pipeline::QUEUE_PER_WORKER),
                linters,
                revoked_tokens: tokio::sync::watch::Sender::new(Arc::default()),
                web: super::web::WebState::new(),
                reviewer: config.llm.clone().and_then(|llm| {
                    crate::reviewer::Reviewer::new(llm)
                        .map(Arc::new)
                        .map_err(|error| {
                            tracing::error!(error = %error, "the AI reviewer is unavailable; runs asking for it are incomplete");
                        })
                        .ok()
                }),
            }),
        }
    }

    /// A one-time code that signs a browser in to the web view as `user_id` with the in-memory token at `index`
    /// of [`ServerConfig::ephemeral_tokens`] (`codeinsight dashboard` prints it as a link). Valid for 15
    /// minutes, once.
    pub fn login_code(&self, user_id: &str, index: usize) -> Option<String> {
        self.inner
            .web
            .issue_code(user_id, &format!("ephemeral:{index}"))
    }

    /// The database handle, for tests and tools that inspect what the server stored.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
}

//! The claimer: takes batches of pending jobs from the store under a lease (users in turn, within this instance's
//! room), fails jobs claimed too often, answers cache hits at once, and queues the rest for the analysis stage.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::engine::{Language, Selection};
use crate::protocol::JobType;
use crate::server::AppState;
use crate::server::ai_stage;
use crate::server::state::{ENGINE_CONFIG, Metrics, Shared};
use crate::store::{ClaimedJob, cache_key, now_micros};

use super::stages::project_inputs;
use super::{Analysed, Held, LEASE, ToWriter, Work, WorkQueue, completed, failed, micros};

/// How often an idle claimer looks for work nobody announced (expired leases, other instances).
pub(super) const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Most jobs claimed per statement.
pub(super) const CLAIM_BATCH: usize = 64;

/// A job claimed this many times without finishing (its server died each time) fails instead of looping.
pub(super) const MAX_ATTEMPTS: i64 = 3;

/// The rule selections of the runs this instance has claimed jobs of, resolved once per run.
pub(super) struct Selections {
    default: Arc<Selection>,
    by_run: HashMap<String, Arc<Selection>>,
}

impl Selections {
    /// Runs remembered before the map is emptied (a selection is cheap to resolve again).
    const CAPACITY: usize = 1024;

    fn new(shared: &Shared) -> Selections {
        Selections {
            default: Arc::new(shared.rules.default_selection().clone()),
            by_run: HashMap::new(),
        }
    }

    /// The selection of `job`'s run. A selection the rules no longer accept (they changed since the run was
    /// submitted) falls back to the default group, with a warning.
    async fn of(&mut self, shared: &Shared, job: &ClaimedJob) -> Arc<Selection> {
        let Some(run_id) = job.run_id.as_deref() else {
            return Arc::clone(&self.default);
        };
        if let Some(selection) = self.by_run.get(run_id) {
            return Arc::clone(selection);
        }
        let selection = match shared.store.run_rules(run_id).await {
            Ok(None) => Arc::clone(&self.default),
            Ok(Some(rules)) => match Selection::resolve(&rules, &shared.rules) {
                Ok(selection) => Arc::new(selection),
                Err(error) => {
                    tracing::warn!(run_id, error = %error, "a run's rule selection no longer resolves; using the default rules");
                    Arc::clone(&self.default)
                }
            },
            Err(error) => {
                tracing::warn!(run_id, error = %error, "reading a run's rule selection failed; using the default rules");
                return Arc::clone(&self.default);
            }
        };
        if self.by_run.len() >= Self::CAPACITY {
            self.by_run.clear();
        }
        self.by_run
            .insert(run_id.to_owned(), Arc::clone(&selection));
        selection
    }
}

pub(super) async fn claim_loop(
    state: AppState,
    worker_id: String,
    held: Arc<Held>,
    work: WorkQueue,
    finished: ToWriter,
    mut shutdown: watch::Receiver<bool>,
) {
    let shared = &state.inner;
    // The user served last, so that the next claim starts with the one after.
    let mut last_user: Option<String> = None;
    let mut selections = Selections::new(shared);
    loop {
        if *shutdown.borrow() {
            break;
        }
        // Claim only what this instance has room for, so leases are not held by jobs nobody is working on, and
        // no user more than their share (see `fairness.rs`).
        let (free, users) = shared.in_flight.room();
        if free == 0 {
            tokio::select! {
                _ = shutdown.changed() => break,
                () = shared.in_flight.wait_for_room() => continue,
                () = tokio::time::sleep(POLL_INTERVAL) => continue,
            }
        }
        let per_user = shared.in_flight.per_user();
        let room_for = |user: &str| users.get(user).copied().unwrap_or(per_user);
        let limit = u32::try_from(free.clamp(1, CLAIM_BATCH)).unwrap_or(1);
        let now = now_micros();
        let claimed = match shared
            .store
            .claim_jobs(
                &worker_id,
                now + micros(LEASE),
                now,
                limit,
                last_user.as_deref(),
                &room_for,
            )
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(error = %error, source = ?std::error::Error::source(&error), "claiming jobs failed");
                tokio::select! {
                    _ = shutdown.changed() => break,
                    () = tokio::time::sleep(POLL_INTERVAL) => continue,
                }
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                _ = shutdown.changed() => break,
                () = shared.queue.notified() => {}
                () = shared.in_flight.wait_for_room() => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
            continue;
        }
        if let Some(job) = claimed.last() {
            last_user = Some(job.user_id.clone());
        }
        held.add(claimed.iter().map(|job| job.job_id.as_str()));
        for job in &claimed {
            shared.in_flight.add(&job.user_id);
        }
        if dispatch(&state, claimed, &work, &finished, &mut selections)
            .await
            .is_err()
        {
            break;
        }
    }
}

/// Sends claimed jobs on: poisoned ones fail, cache hits finish at once, the rest go to the analysis workers.
pub(super) async fn dispatch(
    state: &AppState,
    claimed: Vec<ClaimedJob>,
    work: &WorkQueue,
    finished: &ToWriter,
    selections: &mut Selections,
) -> Result<(), ()> {
    let shared = &state.inner;
    let rules_version = shared.rules.version().to_owned();
    // The enabled linters, their versions and options change findings as much as the rules do; a run without
    // linters is cached apart.
    let with_linters = format!("{ENGINE_CONFIG};{}", shared.linters.fingerprint());
    let without_linters = format!("{ENGINE_CONFIG};no-linters");
    let mut pending = Vec::with_capacity(claimed.len());
    let mut projects = std::collections::HashMap::new();
    let today = chrono::Utc::now().date_naive();
    for job in claimed {
        let failure = if job.attempts > MAX_ATTEMPTS {
            Some(format!(
                "abandoned after {MAX_ATTEMPTS} attempts: the server stopped each time while reviewing this file"
            ))
        } else if job.job_type.parse::<JobType>().is_err() {
            Some(format!("unsupported job_type `{}`", job.job_type))
        } else {
            None
        };
        if let Some(reason) = failure {
            finished.send(failed(&job, reason, 0.0))?;
            continue;
        }
        let engine_config = if job.no_linters {
            &without_linters
        } else {
            &with_linters
        };
        let selection = selections.of(shared, &job).await;
        // Everything else that changes the findings: the rule selection, the project files linters read in the
        // user's own project, and which suppressions have expired by today.
        let project = if job.no_linters {
            None
        } else {
            project_inputs(shared, &mut projects, &job)
        };
        let expired = crate::engine::expired_suppressions(&job.file_content, today);
        let key = cache_key(
            &job.user_id,
            &job.content_sha256,
            &job.file_path,
            &job.language,
            &rules_version,
            &format!(
                "{engine_config};rules={};project={};expired={expired}",
                selection.fingerprint(),
                project.as_deref().unwrap_or("-")
            ),
        );
        pending.push(Work {
            job,
            cache_key: key,
            selection,
        });
    }
    let lookup_keys = pending
        .iter()
        .filter(|item| !item.job.no_cache)
        .map(|item| item.cache_key.clone())
        .collect::<Vec<_>>();
    let mut hits = if lookup_keys.is_empty() {
        std::collections::HashMap::new()
    } else {
        match shared.store.cache_lookup(&lookup_keys, now_micros()).await {
            Ok(hits) => hits,
            Err(error) => {
                tracing::warn!(error = %error, "cache lookup failed; analysing instead");
                std::collections::HashMap::new()
            }
        }
    };
    for item in pending {
        if !item.job.no_cache {
            if let Some(cached) = hits.remove(&item.cache_key) {
                Metrics::add(&shared.metrics.cache_hits, 1);
                if ai_stage::wanted(shared, &item.job) {
                    // The AI stage needs the content and its own cache; the analysis before it is cheap.
                    work.push(item);
                    continue;
                }
                let stages = cached.stages.unwrap_or_else(|| {
                    shared
                        .linters
                        .cached_stages(linters_wanted(shared, &item.job))
                });
                let analysed = Analysed {
                    findings: cached.findings,
                    linter_stages: stages,
                    truncated: cached.truncated,
                };
                finished
                    .send(completed(&item.job, analysed, 0.0, true, None, None))
                    .map_err(drop)?;
                continue;
            }
            Metrics::add(&shared.metrics.cache_misses, 1);
        }
        work.push(item);
    }
    Ok(())
}

/// Whether a job has stages after the engine: a linter for its language, or the AI review.
pub(in crate::server) fn needs_follow_up(shared: &Shared, job: &ClaimedJob) -> bool {
    linters_wanted(shared, job).is_some() || ai_stage::wanted(shared, job)
}

/// The job's language when the server has linters for it and the run did not leave them out.
pub(super) fn linters_wanted(shared: &Shared, job: &ClaimedJob) -> Option<Language> {
    if job.no_linters {
        return None;
    }
    Language::from_name(&job.language)
        .filter(|language| shared.linters.for_language(*language).next().is_some())
}

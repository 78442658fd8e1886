//! The queue's consumers. One claimer takes batches of jobs from the store (one atomic statement per batch),
//! answers cache hits straight away and queues the rest for the analysis stage (`analysis.rs`): `workers` threads
//! that run the engine under a per-job timeout and hand jobs with linter or AI stages to async follow-ups. One
//! writer commits finished jobs (and fresh cache entries) in batches, then publishes their terminal events, so a
//! client that hears `completed` can already read the results; when results cannot be stored, the writer stores
//! each job's failure with the reason instead. A heartbeat renews the leases of the jobs this instance is still
//! working on (claimed and not yet written or given up), so a job is never kept `processing` by a live server that
//! no longer works on it; a killed instance's jobs are claimed again once their lease expires, or at once on the
//! next start if its process is gone.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::AppState;
use super::ai_stage::{self, AiOutcome};
use super::analysis::{AnalysisStage, FollowUp};
use super::events::{JobRef, Terminal, linter_update, stage_update, terminal_update};
use super::fairness::FairQueue;
use super::state::{ENGINE_CONFIG, Metrics, Shared};
use crate::engine::{Language, LintTarget, Selection, merge_findings};
use crate::protocol::{
    Finding, JobResults, JobStatus, JobType, LintResult, Severity, SeverityCounts, Stage,
    StageOutcome, StageReport, TokensUsed, Truncation,
};
use crate::store::{CacheEntry, ClaimedJob, JobOutcome, Store, cache_key, now_micros};

/// How long a claim holds without renewal; the heartbeat renews it every third of that.
const LEASE: Duration = Duration::from_secs(30);
/// How often an idle claimer looks for work nobody announced (expired leases, other instances).
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Most jobs claimed per statement.
const CLAIM_BATCH: usize = 64;
/// Jobs this instance may have claimed and not yet written, per analysis thread.
pub(crate) const QUEUE_PER_WORKER: usize = 64;
/// Most finished jobs written per transaction.
const WRITE_BATCH: usize = 256;
/// A job claimed this many times without finishing (its server died each time) fails instead of looping.
const MAX_ATTEMPTS: i64 = 3;
/// Findings listed in a job's markdown summary before "and N more".
const SUMMARY_MAX_FINDINGS: usize = 100;

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// A claimed job on its way to an analysis worker.
pub(super) struct Work {
    pub(super) job: ClaimedJob,
    pub(super) cache_key: String,
    /// The rules the job's run selected.
    pub(super) selection: Arc<Selection>,
}

/// The claimer's end of the analysis threads' fair queue; dropping it (the claimer stopped) closes the queue.
pub(super) struct WorkQueue(Arc<FairQueue<Work>>);

impl WorkQueue {
    fn push(&self, item: Work) {
        let user = item.job.user_id.clone();
        self.0.push(&user, item);
    }
}

impl Drop for WorkQueue {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The rule selections of the runs this instance has claimed jobs of, resolved once per run.
struct Selections {
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

/// Hands finished jobs to the writer. A job leaves this instance's in-flight count here: waiting for the
/// writer holds no linter slot and no analysis thread, and counting it until its commit would tie the claimer's
/// pace to the disk's.
#[derive(Clone)]
pub(super) struct ToWriter {
    sender: mpsc::UnboundedSender<Finished>,
    state: AppState,
}

impl ToWriter {
    pub(super) fn send(&self, item: Finished) -> Result<(), ()> {
        self.state.inner.in_flight.remove(&item.user_id);
        self.sender.send(item).map_err(drop)
    }
}

/// The jobs this instance has claimed and not yet written, or given up writing: the only leases its heartbeat
/// renews. A job leaves when its outcome is committed, or when no outcome could be, so that a job whose write
/// failed for good is not kept `processing` by a live server: its lease expires and another claim retries it.
#[derive(Default)]
pub(super) struct Held(std::sync::Mutex<std::collections::HashSet<String>>);

impl Held {
    fn add<'a>(&self, job_ids: impl IntoIterator<Item = &'a str>) {
        let mut held = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.extend(job_ids.into_iter().map(str::to_owned));
    }

    fn remove<'a>(&self, job_ids: impl IntoIterator<Item = &'a str>) {
        let mut held = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for job_id in job_ids {
            held.remove(job_id);
        }
    }

    fn job_ids(&self) -> Vec<String> {
        let held = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.iter().cloned().collect()
    }
}

/// A job that reached its end, on its way to the writer.
pub(super) struct Finished {
    outcome: JobOutcome,
    cache_entry: Option<CacheEntry>,
    /// The AI stage's own cache entry, when it reviewed the file.
    ai_cache_entry: Option<CacheEntry>,
    user_id: String,
    run_id: Option<String>,
    file_path: String,
    language: Option<Language>,
    /// The markdown after the summary (linter stages, the AI review); the summary itself is written once the
    /// findings are bounded, by the writer.
    content_tail: String,
    elapsed_time: f64,
}

/// The running consumer tasks of one server instance.
pub(crate) struct Pipeline {
    worker_id: String,
    store: Store,
    shutdown: watch::Sender<bool>,
    claimer: JoinHandle<()>,
    analysis: AnalysisStage,
    writer: JoinHandle<()>,
    heartbeat: JoinHandle<()>,
}

/// A worker id names its process so that a restarted server can tell a dead owner's leases from a live one's.
pub(crate) fn new_worker_id() -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("pid-{}-{}", std::process::id(), &suffix[..12])
}

fn worker_pid(worker_id: &str) -> Option<u32> {
    worker_id
        .strip_prefix("pid-")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// Whether process `pid` exists on this machine. Where `/proc` is unavailable, every owner counts as alive and
/// only lease expiry reclaims its jobs.
fn process_alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Puts back in the queue the jobs held by workers whose process is gone (a killed server), so they restart
/// now rather than when their leases expire. A `SQLite` database is only shared by processes on one machine.
pub(crate) async fn reclaim_dead_workers(store: &Store) {
    let holders = match store.lease_holders().await {
        Ok(holders) => holders,
        Err(error) => {
            tracing::warn!(error = %error, "listing lease holders failed");
            return;
        }
    };
    for holder in holders {
        let Some(pid) = worker_pid(&holder) else {
            continue;
        };
        if process_alive(pid) {
            continue;
        }
        match store.reclaim_from(&holder, now_micros()).await {
            Ok(count) => {
                tracing::info!(worker = %holder, jobs = count, "requeued jobs of a stopped server");
            }
            Err(error) => {
                tracing::warn!(error = %error, worker = %holder, "requeueing jobs failed");
            }
        }
    }
}

impl Pipeline {
    pub(crate) fn spawn(state: &AppState, worker_id: String) -> Pipeline {
        let (shutdown, shutdown_receiver) = watch::channel(false);
        // Unbounded (claims are bounded by the in-flight count), so that handing a claimed job on never waits.
        let queue = Arc::new(FairQueue::new());
        let work_sender = WorkQueue(Arc::clone(&queue));
        let (finished_sender, finished_receiver) = mpsc::unbounded_channel::<Finished>();
        let finished_sender = ToWriter {
            sender: finished_sender,
            state: state.clone(),
        };

        let held = Arc::new(Held::default());
        let claimer = tokio::spawn(claim_loop(
            state.clone(),
            worker_id.clone(),
            Arc::clone(&held),
            work_sender,
            finished_sender.clone(),
            shutdown_receiver.clone(),
        ));
        let analysis = AnalysisStage::spawn(state, queue, finished_sender, shutdown_receiver);
        let writer = tokio::spawn(write_loop(
            state.clone(),
            worker_id.clone(),
            Arc::clone(&held),
            finished_receiver,
        ));
        let heartbeat = tokio::spawn(heartbeat_loop(
            state.inner.store.clone(),
            worker_id.clone(),
            held,
        ));
        Pipeline {
            worker_id,
            store: state.inner.store.clone(),
            shutdown,
            claimer,
            analysis,
            writer,
            heartbeat,
        }
    }

    /// Stops claiming, lets analyses in flight finish within `grace` and writes them, then hands every job this
    /// instance still holds back to the queue.
    pub(crate) async fn shutdown(self, grace: Duration) {
        let _ = self.shutdown.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        if tokio::time::timeout_at(deadline, self.claimer)
            .await
            .is_err()
        {
            tracing::warn!("the claimer did not stop in time");
        }
        self.analysis.stop(deadline).await;
        let abort = self.writer.abort_handle();
        if tokio::time::timeout_at(deadline + Duration::from_secs(5), self.writer)
            .await
            .is_err()
        {
            tracing::warn!("writing the last results did not finish in time");
            abort.abort();
        }
        self.heartbeat.abort();
        match self
            .store
            .release_leases(&self.worker_id, now_micros())
            .await
        {
            Ok(0) => {}
            Ok(count) => tracing::info!(jobs = count, "handed unfinished jobs back to the queue"),
            Err(error) => {
                tracing::warn!(error = %error, "releasing leases failed; they will expire");
            }
        }
    }
}

async fn claim_loop(
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
async fn dispatch(
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
pub(super) fn needs_follow_up(shared: &Shared, job: &ClaimedJob) -> bool {
    linters_wanted(shared, job).is_some() || ai_stage::wanted(shared, job)
}

/// The job's language when the server has linters for it and the run did not leave them out.
fn linters_wanted(shared: &Shared, job: &ClaimedJob) -> Option<Language> {
    if job.no_linters {
        return None;
    }
    Language::from_name(&job.language)
        .filter(|language| shared.linters.for_language(*language).next().is_some())
}

/// The cache entry for a job's rule and linter findings; none when a linter failed or timed out, so that the
/// next review retries it.
pub(super) fn cache_entry_for(
    work: &Work,
    findings: &[Finding],
    truncated: Option<&Truncation>,
    linter_stages: &[StageReport],
    expires_at: i64,
) -> Option<CacheEntry> {
    let complete = linter_stages
        .iter()
        .all(|stage| stage.outcome == StageOutcome::Ok);
    complete.then(|| CacheEntry {
        key: work.cache_key.clone(),
        findings: findings.to_vec(),
        stages: linter_stages.to_vec(),
        truncated: truncated.cloned(),
        expires_at,
    })
}

pub(super) fn per_file_reason(shared: &Shared) -> String {
    format!(
        "this server keeps at most {} findings per file",
        shared.limits.max_findings_per_file
    )
}

/// Keeps the `keep` most severe of `findings` (position order breaks ties, and the kept ones stay in position
/// order) and counts the rest, on top of what `earlier` already dropped. `None` when nothing was dropped now or
/// before.
pub(super) fn bound_findings(
    findings: &mut Vec<Finding>,
    keep: usize,
    earlier: Option<Truncation>,
    reason: &str,
) -> Option<Truncation> {
    if findings.len() <= keep {
        // Findings may have joined since an earlier bound (the linters'): the total counts them too.
        return earlier.map(|mut truncation| {
            truncation.total = findings.len() + truncation.dropped.total();
            truncation
        });
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| (a.line, a.column, &a.rule_id).cmp(&(b.line, b.column, &b.rule_id)))
    });
    let mut truncation = earlier.unwrap_or(Truncation {
        total: 0,
        dropped: SeverityCounts::default(),
        reason: String::new(),
    });
    for dropped in findings.drain(keep..) {
        truncation.dropped.add(dropped.severity, 1);
    }
    reason.clone_into(&mut truncation.reason);
    truncation.total = findings.len() + truncation.dropped.total();
    findings.sort_by(|a, b| {
        (a.line, a.column, &a.rule_id, a.end_line, a.end_column).cmp(&(
            b.line,
            b.column,
            &b.rule_id,
            b.end_line,
            b.end_column,
        ))
    });
    Some(truncation)
}

/// When a result written now expires from the cache.
pub(super) fn cache_expiry(shared: &Shared) -> i64 {
    now_micros() + micros(shared.cache_ttl)
}

/// The linter and AI stages of a job the engine is done with; publishes `storing` at the end.
pub(super) async fn run_follow_up(state: &AppState, item: FollowUp) -> Finished {
    let shared = &state.inner;
    let FollowUp {
        work,
        content,
        findings,
        truncated,
        started,
    } = item;
    let job = &work.job;
    let reference = JobRef {
        job_id: &job.job_id,
        run_id: job.run_id.as_deref(),
        file_path: &job.file_path,
    };
    let ai_content = ai_stage::wanted(shared, job).then(|| content.clone());
    let (mut findings, linter_stages) =
        lint_stage(state, job, &work.selection, content, findings).await;
    let truncated = bound_findings(
        &mut findings,
        shared.limits.max_findings_per_file,
        truncated,
        &per_file_reason(shared),
    );
    let expires_at = cache_expiry(shared);
    let entry = cache_entry_for(
        &work,
        &findings,
        truncated.as_ref(),
        &linter_stages,
        expires_at,
    );
    let ai = match ai_content {
        Some(content) => {
            shared.hub.publish(
                &job.user_id,
                job.run_id.as_deref(),
                stage_update(reference, Stage::Reviewing),
            );
            // At most `workers` AI reviews in flight.
            let _permit = Arc::clone(&shared.ai_permits).acquire_owned().await;
            Some(
                ai_stage::run(
                    shared,
                    job,
                    &content,
                    &work.cache_key,
                    &findings,
                    expires_at,
                )
                .await,
            )
        }
        None => None,
    };
    let cache_hit = ai.as_ref().is_some_and(|ai| ai.from_cache);
    let result = completed(
        job,
        Analysed {
            findings,
            linter_stages,
            truncated,
        },
        started.elapsed().as_secs_f64(),
        cache_hit,
        entry,
        ai,
    );
    shared.hub.publish(
        &job.user_id,
        job.run_id.as_deref(),
        stage_update(reference, Stage::Storing),
    );
    result
}

/// What the engine and the stages after it found for one job.
pub(super) struct Analysed {
    pub(super) findings: Vec<Finding>,
    pub(super) linter_stages: Vec<StageReport>,
    /// Findings a cached result had already dropped.
    pub(super) truncated: Option<Truncation>,
}

pub(super) fn completed(
    job: &ClaimedJob,
    analysed: Analysed,
    elapsed_time: f64,
    cache_hit: bool,
    cache_entry: Option<CacheEntry>,
    ai: Option<AiOutcome>,
) -> Finished {
    let language = Language::from_name(&job.language);
    let Analysed {
        findings,
        linter_stages,
        truncated,
    } = analysed;
    let mut content_tail = if linter_stages.is_empty() {
        String::new()
    } else {
        linter_summary(&linter_stages)
    };
    let mut results = review_results(language, findings, linter_stages, elapsed_time, cache_hit);
    results.truncated = truncated;
    let mut tokens_used = TokensUsed::default();
    let mut estimated_cost = 0.0;
    let mut metadata = serde_json::Map::new();
    let mut ai_cache_entry = None;
    if let Some(ai) = ai {
        let report = ai.report;
        content_tail.push_str(&report.markdown(ai.from_cache));
        results.stages.push(report.stage());
        metadata.insert("ai".to_owned(), report.metadata());
        if report.model != "none" {
            results.model = Some(report.model);
        }
        tokens_used = report.tokens;
        estimated_cost = report.estimated_cost;
        results.findings.extend(report.findings);
        ai_cache_entry = ai.cache_entry;
    }
    let content_at_rest = content_at_rest(job, Some(&results.findings));
    Finished {
        outcome: JobOutcome {
            job_id: job.job_id.clone(),
            status: JobStatus::Completed,
            results: Some(results),
            error: None,
            cache_hit,
            tokens_used,
            estimated_cost,
            metadata,
            content_at_rest,
            run_id: job.run_id.clone(),
        },
        cache_entry,
        ai_cache_entry,
        user_id: job.user_id.clone(),
        run_id: job.run_id.clone(),
        file_path: job.file_path.clone(),
        language,
        content_tail,
        elapsed_time,
    }
}

pub(super) fn failed(job: &ClaimedJob, reason: String, elapsed_time: f64) -> Finished {
    Finished {
        outcome: JobOutcome {
            job_id: job.job_id.clone(),
            status: JobStatus::Failed,
            results: None,
            error: Some(reason),
            cache_hit: false,
            tokens_used: TokensUsed::default(),
            estimated_cost: 0.0,
            metadata: serde_json::Map::new(),
            content_at_rest: content_at_rest(job, None),
            run_id: job.run_id.clone(),
        },
        cache_entry: None,
        ai_cache_entry: None,
        user_id: job.user_id.clone(),
        run_id: job.run_id.clone(),
        file_path: job.file_path.clone(),
        language: None,
        content_tail: String::new(),
        elapsed_time,
    }
}

/// The job's text as it stays in the database once the job is finished: with every secret masked in place (the
/// raw text was needed only while the job was open), or `None` when it holds none. With the job's `findings` in
/// hand the scan is skipped unless the secrets scan reported something or a suppression could have hidden it.
fn content_at_rest(job: &ClaimedJob, findings: Option<&[Finding]>) -> Option<String> {
    let content = &job.file_content;
    let may_hold_secrets = findings.is_none_or(|findings| {
        findings
            .iter()
            .any(|finding| finding.rule_id.starts_with("secrets/"))
            || content.contains("codeinsight-ignore")
    });
    if !may_hold_secrets {
        return None;
    }
    match crate::engine::mask_secrets_in_place(content) {
        std::borrow::Cow::Owned(masked) => Some(masked),
        std::borrow::Cow::Borrowed(_) => None,
    }
}

async fn write_loop(
    state: AppState,
    worker_id: String,
    held: Arc<Held>,
    mut finished: mpsc::UnboundedReceiver<Finished>,
) {
    // Whatever arrives while a batch commits forms the next batch, so batches grow with load.
    while let Some(first) = finished.recv().await {
        let mut batch = vec![first];
        while batch.len() < WRITE_BATCH {
            match finished.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let job_ids: Vec<String> = batch
            .iter()
            .map(|item| item.outcome.job_id.clone())
            .collect();
        write_batch(&state, &worker_id, batch).await;
        // Written, or given up: either way this instance no longer works on them.
        held.remove(job_ids.iter().map(String::as_str));
    }
}

/// Bounds each job's findings (per file, then per run, in the order jobs finish) and writes the summaries that
/// depend on them: the markdown `content` and the `lint_result`.
async fn bound_batch(shared: &Shared, batch: &mut [Finished]) {
    let per_file = per_file_reason(shared);
    let per_run = format!(
        "this server keeps at most {} findings per run",
        shared.limits.max_findings_per_run
    );
    for item in batch.iter_mut() {
        let Some(results) = item.outcome.results.as_mut() else {
            continue;
        };
        results.truncated = bound_findings(
            &mut results.findings,
            shared.limits.max_findings_per_file,
            results.truncated.take(),
            &per_file,
        );
    }
    // What each run has stored so far; this batch's findings are added in the transaction that stores them. The
    // writer is the only one adding to its runs' counts on this instance, so the bound holds (several instances
    // sharing one database may overshoot it by a batch each).
    let run_ids: Vec<&str> = batch
        .iter()
        .filter_map(|item| item.run_id.as_deref())
        .collect();
    let mut kept = if run_ids.is_empty() {
        std::collections::HashMap::new()
    } else {
        match shared.store.run_findings_kept(&run_ids).await {
            Ok(kept) => kept,
            Err(error) => {
                tracing::warn!(error = %error, "reading runs' finding counts failed; not bounding this batch");
                std::collections::HashMap::new()
            }
        }
    };
    for item in batch.iter_mut() {
        let (Some(results), Some(run_id)) = (item.outcome.results.as_mut(), item.run_id.as_deref())
        else {
            continue;
        };
        let Some(kept) = kept.get_mut(run_id) else {
            continue;
        };
        let room = shared.limits.max_findings_per_run.saturating_sub(*kept);
        if results.findings.len() > room {
            results.truncated = bound_findings(
                &mut results.findings,
                room,
                results.truncated.take(),
                &per_run,
            );
        }
        *kept += results.findings.len();
    }
    for item in batch.iter_mut() {
        let Some(results) = item.outcome.results.as_mut() else {
            continue;
        };
        results.lint_result = LintResult::from_findings(&results.findings);
        let mut content = summary_markdown(
            &item.file_path,
            item.language,
            &results.findings,
            results.truncated.as_ref(),
            results.cached,
        );
        content.push_str(&item.content_tail);
        results.content = content;
    }
}

async fn write_batch(state: &AppState, worker_id: &str, mut batch: Vec<Finished>) {
    let shared = &state.inner;
    bound_batch(shared, &mut batch).await;
    let outcomes = batch
        .iter()
        .map(|item| item.outcome.clone())
        .collect::<Vec<_>>();
    let entries = batch
        .iter()
        .flat_map(|item| item.cache_entry.iter().chain(&item.ai_cache_entry).cloned())
        .collect::<Vec<_>>();
    let (applied, now) = match write_outcomes(shared, worker_id, &outcomes, &entries).await {
        Ok(written) => written,
        Err(error) => {
            // The results cannot be stored (a full disk, a constraint, a payload the database refuses): store the
            // failure instead, so that each job ends with the reason rather than waiting for another attempt
            // that would meet the same wall.
            let reason = format!(
                "the server could not store this file's results: {}",
                crate::error_chain(&error)
            );
            for item in &mut batch {
                item.outcome = item.outcome.unwritten(&reason);
            }
            let outcomes = batch
                .iter()
                .map(|item| item.outcome.clone())
                .collect::<Vec<_>>();
            match write_outcomes(shared, worker_id, &outcomes, &[]).await {
                Ok(written) => written,
                Err(error) => {
                    tracing::error!(error = %crate::error_chain(&error), jobs = batch.len(),
                        "writing the jobs' failure failed too; they return to the queue when their leases expire");
                    return;
                }
            }
        }
    };
    for (item, applied) in batch.iter().zip(applied) {
        if !applied {
            tracing::warn!(job_id = %item.outcome.job_id, "lease lost before the result was written; discarded");
            continue;
        }
        let counter = if item.outcome.status == JobStatus::Completed {
            &shared.metrics.jobs_completed
        } else {
            &shared.metrics.jobs_failed
        };
        Metrics::add(counter, 1);
        let update = terminal_update(&Terminal {
            job: JobRef {
                job_id: &item.outcome.job_id,
                run_id: item.run_id.as_deref(),
                file_path: &item.file_path,
            },
            status: item.outcome.status,
            findings: item
                .outcome
                .results
                .as_ref()
                .map_or(0, |results| results.findings.len()),
            cache_hit: item.outcome.cache_hit,
            error: item.outcome.error.as_deref(),
            elapsed_time: item.elapsed_time,
            timestamp: now,
            tokens_used: item.outcome.tokens_used.total_tokens,
            estimated_cost: item.outcome.estimated_cost,
        });
        shared
            .hub
            .publish(&item.user_id, item.run_id.as_deref(), update);
    }
}

/// Writes outcomes (and cache entries) with a few retries; returns, per outcome, whether it was applied, and when.
async fn write_outcomes(
    shared: &Shared,
    worker_id: &str,
    outcomes: &[JobOutcome],
    entries: &[CacheEntry],
) -> Result<(Vec<bool>, chrono::DateTime<Utc>), crate::store::StoreError> {
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match shared
            .store
            .finish_jobs(worker_id, outcomes, entries, now_micros())
            .await
        {
            // The jobs are completed once committed: that is when their terminal events happen.
            Ok(applied) => return Ok((applied, Utc::now())),
            Err(error) if attempt < 4 => {
                tracing::warn!(error = %error, attempt, "writing results failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 4;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

async fn heartbeat_loop(store: Store, worker_id: String, held: Arc<Held>) {
    const PURGE_EVERY: Duration = Duration::from_secs(600);
    let mut ticker = tokio::time::interval(LEASE / 3);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge = Instant::now();
    loop {
        ticker.tick().await;
        let job_ids = held.job_ids();
        if !job_ids.is_empty()
            && let Err(error) = store
                .renew_leases(&worker_id, &job_ids, now_micros() + micros(LEASE))
                .await
        {
            tracing::warn!(error = %error, "renewing leases failed");
        }
        if last_purge.elapsed() >= PURGE_EVERY {
            last_purge = Instant::now();
            match store.cache_purge_expired(now_micros()).await {
                Ok(0) => {}
                Ok(count) => tracing::debug!(entries = count, "purged expired cache entries"),
                Err(error) => tracing::warn!(error = %error, "purging the cache failed"),
            }
        }
    }
}

/// The job document's `results` for a finished analysis.
fn review_results(
    language: Option<Language>,
    findings: Vec<Finding>,
    linter_stages: Vec<StageReport>,
    elapsed_time: f64,
    cached: bool,
) -> JobResults {
    let rules_stage = match language {
        Some(_) => StageReport {
            name: "rules".to_owned(),
            outcome: StageOutcome::Ok,
            reason: None,
            required: false,
            elapsed_ms: None,
        },
        None => StageReport {
            name: "rules".to_owned(),
            outcome: StageOutcome::Skipped,
            reason: Some("no built-in rules for this file's language".to_owned()),
            required: false,
            elapsed_ms: None,
        },
    };
    let secrets_stage = StageReport {
        name: "secrets".to_owned(),
        outcome: StageOutcome::Ok,
        reason: None,
        required: true,
        elapsed_ms: None,
    };
    let mut stages = vec![rules_stage, secrets_stage];
    stages.extend(linter_stages);
    // `content` and `lint_result` are written by the writer, once the findings are bounded.
    JobResults {
        content: String::new(),
        lint_result: LintResult::from_findings(&[]),
        findings,
        stages,
        cached,
        model: None,
        elapsed_time,
        truncated: None,
    }
}

/// One markdown line per linter stage: which linters ran, and why any did not.
fn linter_summary(stages: &[StageReport]) -> String {
    use std::fmt::Write;
    let mut text = String::from("\n## Linters\n\n");
    for stage in stages {
        let outcome = match stage.outcome {
            StageOutcome::Ok => "ran",
            StageOutcome::Skipped => "skipped",
            StageOutcome::Failed => "failed",
        };
        let _ = write!(text, "- `{}` {outcome}", stage.name);
        if let Some(reason) = &stage.reason {
            let _ = write!(text, ": {reason}");
        }
        text.push('\n');
    }
    text
}

/// The linter stage of one job: when the file's language has linters, publishes `linting`, waits for one of the
/// bounded linter slots, runs them on the blocking pool, and merges their findings into the engine's. Returns the
/// merged findings and one stage report per linter.
async fn lint_stage(
    state: &AppState,
    job: &ClaimedJob,
    selection: &Arc<Selection>,
    content: String,
    findings: Vec<Finding>,
) -> (Vec<Finding>, Vec<StageReport>) {
    let shared = &state.inner;
    let Some(language) = linters_wanted(shared, job) else {
        return (findings, Vec::new());
    };
    shared.hub.publish(
        &job.user_id,
        job.run_id.as_deref(),
        stage_update(
            JobRef {
                job_id: &job.job_id,
                run_id: job.run_id.as_deref(),
                file_path: &job.file_path,
            },
            Stage::Linting,
        ),
    );
    // Linter slots go to users in turn: one user's slow files never hold another's back for long.
    let permit = shared.linter_permits.acquire(&job.user_id).await;
    let linters = Arc::clone(&shared.linters);
    let rules = Arc::clone(&shared.rules);
    let selection = Arc::clone(selection);
    let path = job.file_path.clone();
    let user = job.user_id.clone();
    let builtin = findings.clone();
    let observer = Arc::clone(&state.inner);
    let (job_id, run_id) = (job.job_id.clone(), job.run_id.clone());
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        // Each linter's start is published, so that a slow one (a cold Go build cache) is seen running.
        let mut starting = |linter: &str| {
            let job = JobRef {
                job_id: &job_id,
                run_id: run_id.as_deref(),
                file_path: &path,
            };
            observer
                .hub
                .publish(&user, run_id.as_deref(), linter_update(job, linter));
        };
        let outcome = linters.lint_observed(
            &LintTarget {
                path: &path,
                content: &content,
                language: Some(language),
                user: Some(&user),
            },
            &mut starting,
        );
        let mut merged = merge_findings(&rules, findings, outcome.findings, &content);
        // `ignore` may name linters' ids (`ruff/E501`, `clippy/`).
        let enabled = selection.for_path(&rules, &path);
        merged.retain(|finding| !enabled.ignores(&finding.rule_id));
        (merged, outcome.stages)
    });
    match task.await {
        Ok(result) => result,
        Err(error) => {
            tracing::error!(job_id = %job.job_id, error = %error, "the linter stage crashed");
            let stages = shared
                .linters
                .for_language(language)
                .map(|linter| StageReport {
                    name: linter.name.clone(),
                    outcome: StageOutcome::Failed,
                    reason: Some("the linter stage crashed on this file".to_owned()),
                    required: linter.required,
                    elapsed_ms: None,
                })
                .collect();
            (builtin, stages)
        }
    }
}

/// The readable markdown summary of a job, `results.content`.
fn summary_markdown(
    path: &str,
    language: Option<Language>,
    findings: &[Finding],
    truncated: Option<&Truncation>,
    cached: bool,
) -> String {
    use std::fmt::Write;
    let mut text = format!("# Review of `{path}`\n\n");
    let engines = match language {
        Some(language) => format!(
            "the built-in {} rules and the secrets scan",
            language.name()
        ),
        None => "the secrets scan (no built-in rules for this file's language)".to_owned(),
    };
    if findings.is_empty() {
        let _ = writeln!(text, "No issues found by {engines}.");
    } else {
        let counts = Severity::ALL_DESCENDING
            .iter()
            .filter_map(|severity| {
                let count = findings
                    .iter()
                    .filter(|finding| finding.severity == *severity)
                    .count();
                (count > 0).then(|| format!("{count} {severity}"))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            text,
            "Found {} issue(s) ({counts}) with {engines}.",
            findings.len()
        );
        for severity in Severity::ALL_DESCENDING {
            let mut listed = findings
                .iter()
                .filter(|finding| finding.severity == severity)
                .peekable();
            if listed.peek().is_none() {
                continue;
            }
            let mut heading = severity.as_str().to_owned();
            heading[..1].make_ascii_uppercase();
            let _ = writeln!(text, "\n## {heading}\n");
            for finding in listed.by_ref().take(SUMMARY_MAX_FINDINGS) {
                let _ = writeln!(
                    text,
                    "- Line {}, column {}: `{}` {}",
                    finding.line, finding.column, finding.rule_id, finding.message
                );
            }
            let more = listed.count();
            if more > 0 {
                let _ = writeln!(text, "- and {more} more");
            }
        }
    }
    if let Some(truncated) = truncated {
        let _ = writeln!(
            text,
            "\n**{} of {} findings are not listed** ({}): {} critical, {} major, {} minor, {} info.",
            truncated.dropped.total(),
            truncated.total,
            truncated.reason,
            truncated.dropped.critical,
            truncated.dropped.major,
            truncated.dropped.minor,
            truncated.dropped.info
        );
    }
    if cached {
        let _ = writeln!(text, "\n_Served from the result cache._");
    }
    text
}

/// [`crate::engine::Linters::project_inputs`] for the job's directory, once per directory and language of a batch.
fn project_inputs(
    shared: &Shared,
    projects: &mut std::collections::HashMap<(std::path::PathBuf, String), Option<String>>,
    job: &ClaimedJob,
) -> Option<String> {
    let language = crate::engine::Language::from_name(&job.language)?;
    let directory = std::path::Path::new(&job.file_path).parent()?.to_path_buf();
    let directory = if directory.as_os_str().is_empty() {
        std::path::PathBuf::from(".")
    } else {
        directory
    };
    projects
        .entry((directory, job.language.clone()))
        .or_insert_with_key(|(directory, _)| shared.linters.project_inputs(directory, language))
        .clone()
}

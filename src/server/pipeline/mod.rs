//! The queue's consumers. One claimer takes batches of jobs from the store (one atomic statement per batch),
//! answers cache hits straight away and queues the rest for the analysis stage (`analysis.rs`): `workers` threads
//! that run the engine under a per-job timeout and hand jobs with linter or AI stages to async follow-ups. One
//! writer commits finished jobs (and fresh cache entries) in batches, then publishes their terminal events, so a
//! client that hears `completed` can already read the results; when results cannot be stored, the writer stores
//! each job's failure with the reason instead. A heartbeat renews the leases of the jobs this instance is still
//! working on (claimed and not yet written or given up), so a job is never kept `processing` by a live server that
//! no longer works on it; a killed instance's jobs are claimed again once their lease expires, or at once on the
//! next start if its process is gone.
//!
//! `claimer.rs` claims and dispatches, `stages.rs` takes one job from its analysis to its outcome (linter and AI
//! follow-ups included), `writer.rs` commits outcomes, `heartbeat.rs` keeps leases; this file holds what they
//! pass to each other and starts and stops them. The job's markdown summary is rendered by
//! [`crate::render::render_job_summary`].

mod claimer;
mod heartbeat;
mod stages;
mod writer;

use claimer::claim_loop;
pub(super) use claimer::needs_follow_up;
use heartbeat::heartbeat_loop;
pub(crate) use heartbeat::{new_worker_id, reclaim_dead_workers};
pub(super) use stages::{
    Analysed, bound_findings, cache_entry_for, cache_expiry, completed, failed, per_file_reason,
    run_follow_up,
};
use writer::write_loop;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::AppState;
use super::analysis::AnalysisStage;
use super::fairness::FairQueue;
use crate::engine::{Language, Selection};
use crate::store::{CacheEntry, ClaimedJob, JobOutcome, Store, now_micros};

/// How long a claim holds without renewal; the heartbeat renews it every third of that.
const LEASE: Duration = Duration::from_secs(30);

/// Jobs this instance may have claimed and not yet written, per analysis thread.
pub(crate) const QUEUE_PER_WORKER: usize = 64;

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
    /// Returns how many jobs were handed back.
    pub(crate) async fn shutdown(self, grace: Duration) -> u64 {
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
            Ok(0) => 0,
            Ok(count) => {
                tracing::info!(jobs = count, "handed unfinished jobs back to the queue");
                count
            }
            Err(error) => {
                tracing::warn!(error = %error, "releasing leases failed; they will expire");
                0
            }
        }
    }
}

//! The analysis stage: `workers` long-lived OS threads take claimed jobs from the pipeline's queue and run the
//! engine on them. A job that needs nothing else (no linter for its language, no AI review) is finished on the
//! thread and handed to the writer; one that does is handed to an async follow-up task for those stages.
//!
//! Why threads of our own: the engine is CPU-bound and synchronous. On tokio's blocking pool each file hopped
//! between an async task and one of a dozen pool threads, each with its own tree-sitter parser and malloc arena;
//! on the 2-core benchmark that hand-off doubled the engine's time per file (1.2 ms against 0.6 ms) and cost a
//! fifth of the server's CPU in scheduling. A thread that pulls the next job itself stays warm and wakes nobody.
//!
//! Timeouts: the engine cannot be interrupted, so each thread reports the job it is working on in a [`Slot`],
//! and a watchdog fails a job that outlives the job timeout, marks its slot abandoned and starts a replacement
//! thread. The stuck thread finishes the file, finds its slot abandoned, drops the result and exits.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::AppState;
use super::events::{JobRef, stage_update};
use super::fairness::FairQueue;
use super::pipeline::{
    Analysed, Finished, ToWriter, Work, bound_findings, cache_entry_for, cache_expiry, completed,
    failed, needs_follow_up, per_file_reason, run_follow_up,
};
use super::state::Metrics;
use crate::engine::{Language, PastDeadline, SourceFile, analyze_until};
use crate::protocol::{Finding, Stage, Truncation};
use crate::store::ClaimedJob;

/// A job whose engine findings are in and whose linter or AI stage is still to run.
pub(crate) struct FollowUp {
    pub(crate) work: Work,
    pub(crate) content: String,
    pub(crate) findings: Vec<Finding>,
    /// Findings over the per-file bound, already dropped.
    pub(crate) truncated: Option<Truncation>,
    pub(crate) started: Instant,
}

/// What one analysis thread is doing, shared with the watchdog.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
}

#[derive(Default)]
enum SlotState {
    #[default]
    Idle,
    Busy {
        work: Box<Work>,
        started: Instant,
    },
    /// The watchdog failed the job this thread was stuck on; the thread exits when it comes back.
    Abandoned,
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn begin(&self, work: Work, started: Instant) {
        *self.lock() = SlotState::Busy {
            work: Box::new(work),
            started,
        };
    }

    /// Takes the job back after the engine returned; `None` when the watchdog gave up on it meanwhile.
    fn end(&self) -> Option<Work> {
        let mut state = self.lock();
        match std::mem::take(&mut *state) {
            SlotState::Busy { work, .. } => Some(*work),
            SlotState::Abandoned => {
                *state = SlotState::Abandoned;
                None
            }
            SlotState::Idle => None,
        }
    }

    /// Abandons the slot if its job has run longer than `limit`, returning the job and how long it ran.
    fn abandon_if_over(&self, limit: Duration) -> Option<(Work, Duration)> {
        let mut state = self.lock();
        let SlotState::Busy { started, .. } = &*state else {
            return None;
        };
        let elapsed = started.elapsed();
        if elapsed <= limit {
            return None;
        }
        match std::mem::replace(&mut *state, SlotState::Abandoned) {
            SlotState::Busy { work, .. } => Some((*work, elapsed)),
            _ => None,
        }
    }
}

/// Everything an analysis thread needs, shared by the threads and the watchdog.
struct Context {
    state: AppState,
    queue: Arc<FairQueue<Work>>,
    finished: ToWriter,
    follow_ups: mpsc::UnboundedSender<FollowUp>,
    shutdown: watch::Receiver<bool>,
    /// Never sent on: its receiver sees the channel close when the last holder of this context (a thread, or
    /// the watchdog) is gone.
    _alive: mpsc::Sender<()>,
}

/// The running analysis stage of one server instance.
pub(crate) struct AnalysisStage {
    watchdog: JoinHandle<()>,
    follow_up: JoinHandle<()>,
    stopped: mpsc::Receiver<()>,
}

impl AnalysisStage {
    pub(crate) fn spawn(
        state: &AppState,
        queue: Arc<FairQueue<Work>>,
        finished: ToWriter,
        shutdown: watch::Receiver<bool>,
    ) -> AnalysisStage {
        let workers = state.inner.workers;
        // Unbounded: what is in flight is bounded when jobs are claimed, and an analysis thread must never wait
        // on a slow linter (that would hold back every user's files behind one user's).
        let (follow_ups, follow_up_queue) = mpsc::unbounded_channel();
        let (alive, stopped) = mpsc::channel(1);
        let context = Arc::new(Context {
            state: state.clone(),
            queue,
            finished: finished.clone(),
            follow_ups,
            shutdown,
            _alive: alive,
        });
        let slots = (0..workers)
            .map(|index| start_thread(&context, index))
            .collect::<Vec<_>>();
        let follow_up = tokio::spawn(follow_up_loop(state.clone(), follow_up_queue, finished));
        let watchdog = tokio::spawn(watchdog(context, slots));
        AnalysisStage {
            watchdog,
            follow_up,
            stopped,
        }
    }

    /// Waits until `deadline` for the threads to finish the jobs they hold and for the follow-ups to end; what is
    /// still running then is left behind (its jobs' leases are released by the caller).
    pub(crate) async fn stop(mut self, deadline: tokio::time::Instant) {
        // The watchdog holds the threads' context; without it, the context goes with the last thread.
        self.watchdog.abort();
        let _ = self.watchdog.await;
        if tokio::time::timeout_at(deadline, self.stopped.recv())
            .await
            .is_err()
        {
            tracing::warn!(
                "an analysis did not finish before the shutdown deadline; its job goes back to the queue"
            );
        }
        let abort = self.follow_up.abort_handle();
        if tokio::time::timeout_at(deadline, self.follow_up)
            .await
            .is_err()
        {
            tracing::warn!("a linter or AI stage did not finish before the shutdown deadline");
            abort.abort();
        }
    }
}

/// Starts analysis thread `index` on a fresh slot; a thread that cannot be started is logged, and the watchdog
/// tries again on its next tick.
fn start_thread(context: &Arc<Context>, index: usize) -> Option<Arc<Slot>> {
    let slot = Arc::new(Slot::default());
    let thread_context = Arc::clone(context);
    let thread_slot = Arc::clone(&slot);
    match std::thread::Builder::new()
        .name(format!("codeinsight-analysis-{index}"))
        .spawn(move || analysis_thread(&thread_context, &thread_slot))
    {
        Ok(_) => Some(slot),
        Err(error) => {
            tracing::error!(error = %error, "starting an analysis thread failed");
            None
        }
    }
}

fn analysis_thread(context: &Context, slot: &Slot) {
    let shared = &context.state.inner;
    loop {
        if *context.shutdown.borrow() {
            break;
        }
        // Users in turn: one user's slow files hold at most the threads already working for them.
        let next = context.queue.pop_blocking();
        // A job taken during shutdown is left alone: its lease is released and another start claims it.
        let Some(work) = next else { break };
        if *context.shutdown.borrow() {
            break;
        }
        // A copy: the job keeps its text so that whoever finishes it (this thread, a follow-up, the watchdog)
        // can store it with its secrets masked.
        let source = work.job.file_content.clone();
        let path = work.job.file_path.clone();
        let language = Language::from_name(&work.job.language);
        publish(context, &work.job, Stage::Analysing);
        let started = Instant::now();
        let selection = std::sync::Arc::clone(&work.selection);
        slot.begin(work, started);
        let file = SourceFile {
            path: &path,
            content: &source,
            language,
        };
        // A panicking rule must not take the thread down: the job fails and the thread goes on.
        // The engine stops itself at the job timeout: a file built to be slow must not keep a core busy after
        // its job has failed.
        let deadline = started + shared.job_timeout;
        let findings = std::panic::catch_unwind(AssertUnwindSafe(|| {
            analyze_until(&file, &shared.rules, &selection, Some(deadline))
        }));
        let Some(work) = slot.end() else {
            // The watchdog failed this job and started a replacement thread.
            break;
        };
        Metrics::add(
            &shared.metrics.analysis_micros,
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        );
        let mut findings = match findings {
            Ok(Ok(findings)) => findings,
            // Past the deadline before the watchdog looked: the same failure it would report.
            Ok(Err(PastDeadline)) => {
                tracing::warn!(job_id = %work.job.job_id, file = %work.job.file_path,
                    "analysis timed out; the file is failed");
                let result = failed(
                    &work.job,
                    format!(
                        "analysis timed out after {} s",
                        shared.job_timeout.as_secs_f64()
                    ),
                    started.elapsed().as_secs_f64(),
                );
                if !finish(context, &work.job, result) {
                    break;
                }
                continue;
            }
            Err(_) => {
                tracing::error!(job_id = %work.job.job_id, "the analysis engine crashed");
                let result = failed(
                    &work.job,
                    "the analysis engine crashed on this file".to_owned(),
                    started.elapsed().as_secs_f64(),
                );
                if !finish(context, &work.job, result) {
                    break;
                }
                continue;
            }
        };
        // Bound the findings here, before they are copied, cached or queued: a file of 80,000 findings must
        // not cost its 80,000 findings' memory all the way to the writer.
        let truncated = bound_findings(
            &mut findings,
            shared.limits.max_findings_per_file,
            None,
            &per_file_reason(shared),
        );
        if needs_follow_up(shared, &work.job) {
            let follow_up = FollowUp {
                work,
                content: source,
                findings,
                truncated,
                started,
            };
            if context.follow_ups.send(follow_up).is_err() {
                break;
            }
            continue;
        }
        let entry = cache_entry_for(
            &work,
            &findings,
            truncated.as_ref(),
            &[],
            cache_expiry(shared),
        );
        let result = completed(
            &work.job,
            Analysed {
                findings,
                linter_stages: Vec::new(),
                truncated,
            },
            started.elapsed().as_secs_f64(),
            false,
            entry,
            None,
        );
        if !finish(context, &work.job, result) {
            break;
        }
    }
}

/// Publishes `storing` and hands a finished job to the writer; false once the writer is gone.
fn finish(context: &Context, job: &ClaimedJob, result: Finished) -> bool {
    publish(context, job, Stage::Storing);
    context.finished.send(result).is_ok()
}

fn publish(context: &Context, job: &ClaimedJob, stage: Stage) {
    let reference = JobRef {
        job_id: &job.job_id,
        run_id: job.run_id.as_deref(),
        file_path: &job.file_path,
    };
    context.state.inner.hub.publish(
        &job.user_id,
        job.run_id.as_deref(),
        stage_update(reference, stage),
    );
}

/// Fails jobs that outlive the job timeout and replaces their threads.
async fn watchdog(context: Arc<Context>, mut slots: Vec<Option<Arc<Slot>>>) {
    let limit = context.state.inner.job_timeout;
    let period = (limit / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        for (index, slot) in slots.iter_mut().enumerate() {
            let Some(current) = slot else {
                *slot = start_thread(&context, index);
                continue;
            };
            let Some((work, elapsed)) = current.abandon_if_over(limit) else {
                continue;
            };
            tracing::warn!(job_id = %work.job.job_id, file = %work.job.file_path,
                "analysis timed out; the file is failed and its thread replaced");
            let result = failed(
                &work.job,
                format!("analysis timed out after {} s", limit.as_secs_f64()),
                elapsed.as_secs_f64(),
            );
            finish(&context, &work.job, result);
            *slot = start_thread(&context, index);
        }
    }
}

/// Runs the linter and AI stages of the jobs that need them, each as soon as it arrives (the linter slots and
/// the AI permits bound what runs at once, fairly between users); returns once the analysis threads are gone and
/// every follow-up has finished.
async fn follow_up_loop(
    state: AppState,
    mut queue: mpsc::UnboundedReceiver<FollowUp>,
    finished: ToWriter,
) {
    let mut running = JoinSet::new();
    while let Some(item) = queue.recv().await {
        let state = state.clone();
        let finished = finished.clone();
        running.spawn(async move {
            let result = run_follow_up(&state, item).await;
            let _ = finished.send(result);
        });
        // Reap what has finished, so the set does not grow with the run.
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

//! Live status while a review runs, on stderr. On a terminal: an indicatif bar with files done / total, the
//! current stage and the elapsed time. Anywhere else (CI logs, pipes): one plain line each time the run reaches a
//! new stage, a line per failed file, and a heartbeat at most every 30 seconds, never a control character.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::client::FollowEvent;
use crate::protocol::{JobStatus, Stage};

use super::printer::Printer;

const HEARTBEAT: Duration = Duration::from_secs(30);

enum Mode {
    Bar(ProgressBar),
    Plain,
    Hidden,
}

pub struct Progress {
    mode: Mode,
    printer: Printer,
    total: usize,
    done: HashSet<String>,
    snapshot_done: usize,
    stage: Option<Stage>,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    /// `label` names what is followed, e.g. `run 0192…`.
    pub fn new(printer: Printer, total: usize, label: &str, hidden: bool) -> Self {
        let mode = if hidden {
            Mode::Hidden
        } else if printer.stderr_is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner:.cyan} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} files  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message("submitted");
            bar.enable_steady_tick(Duration::from_millis(100));
            Mode::Bar(bar)
        } else {
            printer.status(&format!("codeinsight: reviewing {total} files ({label})"));
            Mode::Plain
        };
        let now = Instant::now();
        Progress {
            mode,
            printer,
            total,
            done: HashSet::new(),
            snapshot_done: 0,
            stage: None,
            started: now,
            last_line: now,
        }
    }

    fn done_count(&self) -> usize {
        self.done.len().max(self.snapshot_done).min(self.total)
    }

    pub fn on_event(&mut self, event: &FollowEvent) {
        match event {
            FollowEvent::Snapshot { done, total } => {
                self.total = *total;
                self.snapshot_done = *done;
            }
            FollowEvent::Update(update) => {
                if update.status.is_terminal() {
                    self.done.insert(update.job_id.clone());
                }
                if update.status == JobStatus::Failed {
                    let path = update.data.file_path.as_deref().unwrap_or(&update.job_id);
                    let error = update.data.error.as_deref().unwrap_or(&update.data.message);
                    self.line(&format!("codeinsight: failed: {path}: {error}"));
                }
                let stage = update.data.stage;
                if stage != Stage::Failed
                    && self
                        .stage
                        .is_none_or(|current| order(stage) > order(current))
                {
                    self.stage = Some(stage);
                    if matches!(self.mode, Mode::Plain) {
                        let line = format!(
                            "codeinsight: {} ({}/{} files done, {:.1}s)",
                            stage.as_str(),
                            self.done_count(),
                            self.total,
                            self.started.elapsed().as_secs_f64()
                        );
                        self.line(&line);
                    }
                }
                if let Mode::Bar(bar) = &self.mode {
                    let path = update.data.file_path.as_deref().unwrap_or("");
                    bar.set_message(format!("{} {path}", update.data.stage.as_str()));
                }
            }
            FollowEvent::Reconnecting { attempt, error } => {
                self.line(&format!(
                    "codeinsight: connection lost ({error}); reconnecting (attempt {attempt})"
                ));
            }
            FollowEvent::Polling { reason } => {
                self.line(&format!(
                    "codeinsight: WebSocket unavailable ({reason}); polling for results"
                ));
            }
        }
        if let Mode::Bar(bar) = &self.mode {
            bar.set_length(self.total as u64);
            bar.set_position(self.done_count() as u64);
        }
    }

    /// Called about once a second: prints the heartbeat when the log has been quiet for too long.
    pub fn tick(&mut self) {
        if matches!(self.mode, Mode::Plain) && self.last_line.elapsed() >= HEARTBEAT {
            let line = format!(
                "codeinsight: still waiting: {}/{} files done, stage {}, {:.0}s elapsed",
                self.done_count(),
                self.total,
                self.stage.map_or("queued", Stage::as_str),
                self.started.elapsed().as_secs_f64()
            );
            self.line(&line);
        }
    }

    pub fn finish(&mut self) {
        match &self.mode {
            Mode::Bar(bar) => bar.finish_and_clear(),
            Mode::Plain => {
                let line = format!(
                    "codeinsight: done: {}/{} files in {:.1}s",
                    self.done_count(),
                    self.total,
                    self.started.elapsed().as_secs_f64()
                );
                self.line(&line);
            }
            Mode::Hidden => {}
        }
    }

    fn line(&mut self, line: &str) {
        match &self.mode {
            Mode::Bar(bar) => bar.println(line),
            Mode::Plain => self.printer.status(line),
            Mode::Hidden => {}
        }
        self.last_line = Instant::now();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}

/// Stages in pipeline order, so the plain log only ever moves forward.
fn order(stage: Stage) -> u8 {
    match stage {
        Stage::Queued => 0,
        Stage::Analysing => 1,
        Stage::Linting => 2,
        Stage::Reviewing => 3,
        Stage::Storing => 4,
        Stage::Done | Stage::Failed => 5,
    }
}

//! Live status while a review runs, on stderr. On a terminal: an indicatif bar with files done / total and what is
//! running now (the slowest linter at work, with its time). Anywhere else (CI logs, pipes): plain lines, never a
//! control character: one for each linter run that took a second or more (with its time), one per failed file,
//! and a heartbeat every few seconds with the counts and what is still running.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::client::FollowEvent;
use crate::protocol::{JobStatus, JobUpdate, Stage};
use crate::render::plural;

use super::printer::Printer;

/// A quiet log gets a line this often.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A linter run this long or longer gets its own line when it ends.
const SLOW_LINTER: Duration = Duration::from_secs(1);

enum Mode {
    Bar(ProgressBar),
    Plain,
    Hidden,
}

/// A linter at work on one file.
struct Running {
    linter: String,
    path: String,
    since: Instant,
}

pub struct Progress {
    mode: Mode,
    printer: Printer,
    total: usize,
    done: HashSet<String>,
    snapshot_done: usize,
    /// By job id: the linter each file is in now.
    running: HashMap<String, Running>,
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
            printer.status(&format!(
                "codeinsight: reviewing {} ({label})",
                plural(total, "file", "files")
            ));
            Mode::Plain
        };
        let now = Instant::now();
        Progress {
            mode,
            printer,
            total,
            done: HashSet::new(),
            snapshot_done: 0,
            running: HashMap::new(),
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
            FollowEvent::Update(update) => self.on_update(update),
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
        self.redraw();
    }

    fn on_update(&mut self, update: &JobUpdate) {
        // Whatever the job does next, the linter it was in has finished.
        if let Some(finished) = self.running.remove(&update.job_id) {
            let elapsed = finished.since.elapsed();
            if elapsed >= SLOW_LINTER && matches!(self.mode, Mode::Plain) {
                self.line(&format!(
                    "codeinsight: {} on {}: {:.1}s",
                    finished.linter,
                    finished.path,
                    elapsed.as_secs_f64()
                ));
            }
        }
        if update.status.is_terminal() {
            self.done.insert(update.job_id.clone());
        }
        if update.status == JobStatus::Failed {
            let path = update.data.file_path.as_deref().unwrap_or(&update.job_id);
            let error = update.data.error.as_deref().unwrap_or(&update.data.message);
            self.line(&format!("codeinsight: failed: {path}: {error}"));
        }
        if let (Stage::Linting, Some(linter)) = (update.data.stage, &update.data.linter) {
            self.running.insert(
                update.job_id.clone(),
                Running {
                    linter: linter.clone(),
                    path: update.data.file_path.clone().unwrap_or_default(),
                    since: Instant::now(),
                },
            );
        }
        if let Mode::Bar(bar) = &self.mode
            && self.running.is_empty()
        {
            let path = update.data.file_path.as_deref().unwrap_or("");
            bar.set_message(format!("{} {path}", update.data.stage.as_str()));
        }
    }

    /// The linter that has been running longest, as `go-vet on app/server.go (9s)`.
    fn slowest(&self) -> Option<String> {
        let running = self.running.values().min_by_key(|running| running.since)?;
        let seconds = running.since.elapsed().as_secs();
        let hint = match running.linter.as_str() {
            "go-vet" | "staticcheck" if seconds >= 5 => {
                "; it builds the package, and a first run fills Go's build cache"
            }
            "clippy" if seconds >= 5 => "; it compiles the crate",
            _ => "",
        };
        let others = self.running.len() - 1;
        let others = if others > 0 {
            format!(" and {} more", plural(others, "linter run", "linter runs"))
        } else {
            String::new()
        };
        Some(format!(
            "{} on {} ({seconds}s{hint}){others}",
            running.linter, running.path
        ))
    }

    fn redraw(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.set_length(self.total as u64);
            bar.set_position(self.done_count() as u64);
            if let Some(slowest) = self.slowest() {
                bar.set_message(slowest);
            }
        }
    }

    /// Called about once a second: keeps the bar's times current and prints the heartbeat in a quiet log.
    pub fn tick(&mut self) {
        self.redraw();
        if matches!(self.mode, Mode::Plain) && self.last_line.elapsed() >= HEARTBEAT {
            let running = self
                .slowest()
                .map_or_else(String::new, |slowest| format!("; running {slowest}"));
            let line = format!(
                "codeinsight: {}/{} files done, {:.0}s{running}",
                self.done_count(),
                self.total,
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

//! Waiting for a run or job to finish: drives the client's follower, feeds its events to the progress display,
//! ticks the heartbeat and enforces the `--timeout` deadline.

use std::time::Duration;

use tokio::time::Instant;

use crate::client::{Snapshot, Subject, follow};

use super::connection::Connection;
use super::failure::Failure;
use super::progress::Progress;

/// Follows `subject` until it finishes or `deadline` passes.
pub async fn wait_for(
    connection: &Connection,
    subject: &Subject,
    progress: &mut Progress,
    deadline: Option<Instant>,
    timeout_seconds: f64,
    total: usize,
) -> Result<Snapshot, Failure> {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let following = follow(&connection.client, &connection.user_id, subject, &sender);
    tokio::pin!(following);
    let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
    let mut done = 0;
    let expired = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expired);
    let result = loop {
        tokio::select! {
            result = &mut following => break result.map_err(Failure::from),
            Some(event) = receiver.recv() => {
                if let crate::client::FollowEvent::Snapshot { done: now_done, .. } = &event {
                    done = *now_done;
                }
                progress.on_event(&event);
            }
            _ = heartbeat.tick() => progress.tick(),
            () = &mut expired => {
                let what = match subject {
                    Subject::Run(id) => format!("run {id}"),
                    Subject::Job(id) => format!("job {id}"),
                };
                break Err(Failure::timed_out(timeout_seconds, &what, done, total));
            }
        }
    };
    while let Ok(event) = receiver.try_recv() {
        progress.on_event(&event);
    }
    result
}

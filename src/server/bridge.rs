//! Instances that share one `PostgreSQL` hear each other through `LISTEN`/`NOTIFY`:
//!
//! - **events**: every `job_update` an instance publishes is relayed on [`EVENTS_CHANNEL`], in batches of
//!   notifications under 8,000 bytes, and published by the others to their own sockets; an update too large for a
//!   notification travels as its job id, and the receiver reads the job from the database;
//! - **work**: new jobs, and jobs handed back by an instance that stopped, are announced on [`QUEUE_CHANNEL`], so
//!   an idle instance claims them at once instead of at its next poll.
//!
//! A notification is lost when no connection listens, so whenever this instance (re)starts listening every socket
//! resynchronises from the database: a client that waits for a terminal event gets it whichever instance ran
//! the job and whatever dropped in between.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::AppState;
use super::events::current_update;
use super::hub::Relayed;
use crate::protocol::JobUpdate;
use crate::store::Store;

/// Job updates relayed between instances.
pub(crate) const EVENTS_CHANNEL: &str = "codeinsight_events";
/// Work any instance may claim now.
pub(crate) const QUEUE_CHANNEL: &str = "codeinsight_queue";
/// A notification's payload stays under `PostgreSQL`'s limit of 8,000 bytes.
const PAYLOAD_BYTES: usize = 7_600;
/// Most updates taken from the relay queue per round of notifications.
const RELAY_BATCH: usize = 1024;
/// How long a listener that lost its connection waits before connecting again.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// One notification: the updates an instance relays, with its id so that it skips its own.
#[derive(Serialize, Deserialize)]
struct Envelope {
    from: String,
    events: Vec<Wire>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run_id: Option<String>,
    job_id: String,
    /// Absent when the update is too large for a notification: the receiver reads the job instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    update: Option<JobUpdate>,
}

/// The running relay of one instance, when its store is shared.
pub(crate) struct Bridge {
    stop: watch::Sender<bool>,
    notifier: JoinHandle<()>,
    listener: JoinHandle<()>,
}

impl Bridge {
    /// Starts relaying when the store is `PostgreSQL`; `None` on `SQLite`, which one instance serves.
    pub(crate) fn spawn(state: &AppState, instance: &str) -> Option<Bridge> {
        if !state.inner.store.shared() {
            return None;
        }
        let (relay, relayed) = mpsc::unbounded_channel();
        state.inner.hub.relay_to(relay);
        let (stop, stopped) = watch::channel(false);
        let notifier = tokio::spawn(notify_loop(
            state.clone(),
            instance.to_owned(),
            relayed,
            stopped,
        ));
        let listener = tokio::spawn(listen_loop(state.clone(), instance.to_owned()));
        Some(Bridge {
            stop,
            notifier,
            listener,
        })
    }

    /// Stops listening, and relays what is still queued (the last jobs' terminal events) before returning.
    pub(crate) async fn stop(self) {
        self.listener.abort();
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(5), self.notifier)
            .await
            .is_err()
        {
            tracing::warn!(
                "relaying the last events to the other instances did not finish in time"
            );
        }
    }
}

/// Tells the other instances that there is work to claim (new jobs, or jobs handed back); nothing on `SQLite`.
pub(crate) async fn announce_work(store: &Store) {
    if let Err(error) = store.notify(QUEUE_CHANNEL, &["work".to_owned()]).await {
        tracing::warn!(error = %crate::error_chain(&error), "announcing work to the other instances failed");
    }
}

async fn notify_loop(
    state: AppState,
    instance: String,
    mut relayed: mpsc::UnboundedReceiver<Relayed>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let first = tokio::select! {
            item = relayed.recv() => item,
            _ = stopped.changed() => None,
        };
        let Some(first) = first else {
            break;
        };
        let mut batch = vec![first];
        while batch.len() < RELAY_BATCH {
            match relayed.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        relay(&state, &instance, batch).await;
    }
    let mut rest = Vec::new();
    while let Ok(item) = relayed.try_recv() {
        rest.push(item);
    }
    relay(&state, &instance, rest).await;
}

/// Sends `batch` as few notifications as fit.
async fn relay(state: &AppState, instance: &str, batch: Vec<Relayed>) {
    if batch.is_empty() {
        return;
    }
    let payloads = payloads(instance, batch);
    if let Err(error) = state.inner.store.notify(EVENTS_CHANNEL, &payloads).await {
        // The other instances' sockets resynchronise when their link drops; a lone failure loses progress
        // events at worst, and terminal ones are replayed from the database to any socket that asks.
        tracing::warn!(error = %crate::error_chain(&error), "relaying events to the other instances failed");
    }
}

/// Packs updates into payloads under [`PAYLOAD_BYTES`].
fn payloads(instance: &str, batch: Vec<Relayed>) -> Vec<String> {
    let head = format!(
        "{{\"from\":{},\"events\":[",
        serde_json::Value::from(instance)
    );
    let budget = PAYLOAD_BYTES.saturating_sub(head.len() + 2);
    let mut payloads = Vec::new();
    let mut current = String::new();
    for item in batch {
        let job_id = item.update.job_id.clone();
        let mut wire = Wire {
            user_id: item.user_id,
            run_id: item.run_id,
            job_id,
            update: Some(item.update),
        };
        let mut text = serde_json::to_string(&wire).unwrap_or_default();
        if text.len() > budget {
            wire.update = None;
            text = serde_json::to_string(&wire).unwrap_or_default();
        }
        if text.is_empty() || text.len() > budget {
            continue;
        }
        if !current.is_empty() && current.len() + 1 + text.len() > budget {
            payloads.push(format!("{head}{current}]}}"));
            current.clear();
        }
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(&text);
    }
    if !current.is_empty() {
        payloads.push(format!("{head}{current}]}}"));
    }
    payloads
}

async fn listen_loop(state: AppState, instance: String) {
    let shared = &state.inner;
    loop {
        let mut listener = match shared
            .store
            .listener(&[EVENTS_CHANNEL, QUEUE_CHANNEL])
            .await
        {
            Ok(Some(listener)) => listener,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(error = %crate::error_chain(&error), "listening to the other instances failed; retrying");
                tokio::time::sleep(RECONNECT_DELAY).await;
                continue;
            }
        };
        // Whatever was published while nobody here listened is in the database: every socket replays it, and
        // the claimer looks for work.
        shared.hub.resync_all();
        shared.queue.notify_one();
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if notification.channel() == QUEUE_CHANNEL {
                        shared.queue.notify_one();
                    } else {
                        receive(&state, &instance, notification.payload()).await;
                    }
                }
                // The connection dropped: listen again on a new one, then resynchronise.
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(error = %crate::error_chain(&error), "the link to the other instances dropped; reconnecting");
                    tokio::time::sleep(RECONNECT_DELAY).await;
                    break;
                }
            }
        }
    }
}

/// Publishes here what another instance relayed.
async fn receive(state: &AppState, instance: &str, payload: &str) {
    let envelope: Envelope = match serde_json::from_str(payload) {
        Ok(envelope) => envelope,
        Err(error) => {
            tracing::warn!(error = %error, "an event relayed by another instance is malformed; ignored");
            return;
        }
    };
    if envelope.from == instance {
        return;
    }
    let hub = &state.inner.hub;
    hub.record_relayed_in(envelope.events.len() as u64);
    for wire in envelope.events {
        match wire.update {
            Some(update) => hub.publish_here(&wire.user_id, wire.run_id.as_deref(), update),
            None => match state.inner.store.job_summary(&wire.job_id).await {
                Ok(Some(job)) => {
                    hub.publish_here(&wire.user_id, wire.run_id.as_deref(), current_update(&job));
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(error = %crate::error_chain(&error), job_id = %wire.job_id,
                        "reading a job another instance updated failed");
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Stage;
    use crate::server::events::{JobRef, stage_update};

    fn update(job_id: &str, message: &str) -> JobUpdate {
        let job = JobRef {
            job_id,
            run_id: None,
            file_path: "app.py",
        };
        let mut update = stage_update(job, Stage::Analysing);
        message.clone_into(&mut update.data.message);
        update
    }

    #[test]
    fn updates_are_packed_under_the_notification_limit_and_an_oversized_one_travels_as_its_id() {
        let mut batch: Vec<Relayed> = (0..200)
            .map(|index| Relayed {
                user_id: "alice".into(),
                run_id: Some("run".into()),
                update: update(&format!("job-{index}"), "Analysing"),
            })
            .collect();
        batch.push(Relayed {
            user_id: "alice".into(),
            run_id: None,
            update: update("huge", &"x".repeat(20_000)),
        });
        let payloads = payloads("instance-a", batch);
        assert!(payloads.len() > 1);
        let mut seen = Vec::new();
        for payload in &payloads {
            assert!(payload.len() < 8_000, "{}", payload.len());
            let envelope: Envelope = serde_json::from_str(payload).unwrap();
            assert_eq!(envelope.from, "instance-a");
            for wire in envelope.events {
                seen.push((wire.job_id, wire.update.is_some()));
            }
        }
        assert_eq!(seen.len(), 201);
        assert!(seen[..200].iter().all(|(_, whole)| *whole));
        assert_eq!(seen[200], ("huge".to_owned(), false));
    }
}

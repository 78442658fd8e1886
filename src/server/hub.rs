//! The WebSocket event hub: one broadcast channel per user with open sockets. An event is serialised once and
//! shared by every socket of its user; each socket filters by its own subscriptions. Events for users with no
//! open socket cost nothing (not even serialisation). A socket that falls behind the channel is told by
//! `Lagged` and resynchronises from the database (see `websocket.rs`), so terminal events are never lost.
//!
//! On a shared `PostgreSQL`, what this instance publishes is also relayed to the other instances, and what they
//! relay is published here (see `bridge.rs`); when the relay may have missed events, every socket resynchronises.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{broadcast, mpsc};

use crate::protocol::{JobUpdate, ServerMessage};

/// One published `job_update`, already serialised; or, with `resync`, word that events may have been missed.
#[derive(Debug)]
pub(crate) struct HubEvent {
    pub(crate) job_id: String,
    pub(crate) run_id: Option<String>,
    pub(crate) terminal: bool,
    pub(crate) text: Utf8Bytes,
    /// Every socket that gets this replays its subscriptions from the database, as one that lagged does.
    pub(crate) resync: bool,
}

/// An update this instance published, on its way to the other instances.
#[derive(Debug)]
pub(crate) struct Relayed {
    pub(crate) user_id: String,
    pub(crate) run_id: Option<String>,
    pub(crate) update: JobUpdate,
}

pub(crate) struct Hub {
    users: Mutex<HashMap<String, broadcast::Sender<Arc<HubEvent>>>>,
    /// Open sockets per token.
    tokens: Mutex<HashMap<String, usize>>,
    /// Events buffered per user before a slow socket lags and resynchronises.
    capacity: usize,
    connections: AtomicUsize,
    resyncs: AtomicU64,
    /// Where published updates go for the other instances, when the store is shared.
    relay: OnceLock<mpsc::UnboundedSender<Relayed>>,
    relayed_out: AtomicU64,
    relayed_in: AtomicU64,
}

impl Hub {
    pub(crate) fn new(capacity: usize) -> Hub {
        Hub {
            users: Mutex::default(),
            tokens: Mutex::default(),
            capacity: capacity.max(1),
            connections: AtomicUsize::new(0),
            resyncs: AtomicU64::new(0),
            relay: OnceLock::new(),
            relayed_out: AtomicU64::new(0),
            relayed_in: AtomicU64::new(0),
        }
    }

    /// Updates sent to the other instances, and received from them, since start.
    pub(crate) fn relayed(&self) -> (u64, u64) {
        (
            self.relayed_out.load(Ordering::Relaxed),
            self.relayed_in.load(Ordering::Relaxed),
        )
    }

    pub(crate) fn record_relayed_in(&self, count: u64) {
        self.relayed_in.fetch_add(count, Ordering::Relaxed);
    }

    /// Relays every update published from now on to `relay` too (a shared store's other instances).
    pub(crate) fn relay_to(&self, relay: mpsc::UnboundedSender<Relayed>) {
        let _ = self.relay.set(relay);
    }

    /// Tells every socket that events may have been missed (the link to the other instances dropped): each
    /// replays its subscriptions from the database.
    pub(crate) fn resync_all(&self) {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        for sender in users.values() {
            let _ = sender.send(Arc::new(HubEvent {
                job_id: String::new(),
                run_id: None,
                terminal: false,
                text: Utf8Bytes::from_static(""),
                resync: true,
            }));
        }
    }

    /// Registers a socket of `user_id` and returns its receiver; pair with [`Hub::leave`].
    pub(crate) fn join(&self, user_id: &str) -> broadcast::Receiver<Arc<HubEvent>> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users
            .entry(user_id.to_owned())
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }

    /// Unregisters a socket whose receiver has been dropped.
    pub(crate) fn leave(&self, user_id: &str) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if users
            .get(user_id)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            users.remove(user_id);
        }
    }

    /// Counts one more socket for `token_id` unless it already has `limit`; pair a `true` with
    /// [`Hub::release_token`].
    pub(crate) fn claim_token(&self, token_id: &str, limit: usize) -> bool {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let open = tokens.entry(token_id.to_owned()).or_insert(0);
        if *open >= limit {
            return false;
        }
        *open += 1;
        true
    }

    pub(crate) fn release_token(&self, token_id: &str) {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = tokens.get_mut(token_id) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                tokens.remove(token_id);
            }
        }
    }

    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Counts a socket that fell behind and replayed its subscriptions from the database.
    pub(crate) fn record_resync(&self) {
        self.resyncs.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn resyncs(&self) -> u64 {
        self.resyncs.load(Ordering::Relaxed)
    }

    /// Sends `update` to the sockets of `user_id` on this instance and, when the store is shared, on the others.
    pub(crate) fn publish(&self, user_id: &str, run_id: Option<&str>, update: JobUpdate) {
        if let Some(relay) = self.relay.get() {
            self.relayed_out.fetch_add(1, Ordering::Relaxed);
            let _ = relay.send(Relayed {
                user_id: user_id.to_owned(),
                run_id: run_id.map(str::to_owned),
                update: update.clone(),
            });
        }
        self.publish_here(user_id, run_id, update);
    }

    /// Sends `update` to the sockets of `user_id` on this instance only (an update another instance relayed).
    pub(crate) fn publish_here(&self, user_id: &str, run_id: Option<&str>, update: JobUpdate) {
        let sender = {
            let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
            match users.get(user_id) {
                Some(sender) if sender.receiver_count() > 0 => sender.clone(),
                _ => return,
            }
        };
        let terminal = update.status.is_terminal();
        let job_id = update.job_id.clone();
        let text = match serde_json::to_string(&ServerMessage::JobUpdate(update)) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(error = %error, "serialising a job update failed");
                return;
            }
        };
        // A send error only means every socket closed meanwhile.
        let _ = sender.send(Arc::new(HubEvent {
            job_id,
            run_id: run_id.map(str::to_owned),
            terminal,
            text: text.into(),
            resync: false,
        }));
    }
}

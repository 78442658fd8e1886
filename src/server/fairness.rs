//! Sharing one server fairly between users. Two places decide who goes next:
//!
//! - [`InFlight`] counts the jobs this instance has claimed and not yet written, per user. The claimer takes
//!   users in turn and never gives one user more than three quarters of the instance's room, so a user who queued
//!   thousands of slow files cannot keep another user's job from being claimed.
//! - [`FairPermits`] hands out the linter slots. Waiters queue per user, and a freed slot goes to the next user
//!   in turn, not to the oldest waiter: however many slow files one user has waiting, another user's file waits
//!   at most for the runs already going, each bounded by the linter timeout.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, oneshot};

/// Jobs claimed by this instance and not yet written, per user.
pub(crate) struct InFlight {
    counts: Mutex<Counts>,
    /// Woken whenever a job leaves, so that a claimer waiting for room tries again.
    freed: Notify,
    /// Most jobs in flight on this instance.
    capacity: usize,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_user: HashMap<String, usize>,
}

impl InFlight {
    pub(crate) fn new(capacity: usize) -> InFlight {
        InFlight {
            counts: Mutex::default(),
            freed: Notify::new(),
            capacity: capacity.max(2),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Most jobs one user may have in flight: three quarters of the room, so that another user always finds
    /// some, while a user alone on the server still keeps every analysis thread busy.
    pub(crate) fn per_user(&self) -> usize {
        (self.capacity * 3 / 4).max(1)
    }

    /// How many more jobs may be claimed now, and how many more each user who has some in flight may get.
    pub(crate) fn room(&self) -> (usize, HashMap<String, usize>) {
        let counts = self.lock();
        let per_user = self.per_user();
        let users = counts
            .per_user
            .iter()
            .map(|(user, count)| (user.clone(), per_user.saturating_sub(*count)))
            .collect();
        (self.capacity.saturating_sub(counts.total), users)
    }

    pub(crate) fn add(&self, user: &str) {
        let mut counts = self.lock();
        counts.total += 1;
        *counts.per_user.entry(user.to_owned()).or_insert(0) += 1;
    }

    pub(crate) fn remove(&self, user: &str) {
        {
            let mut counts = self.lock();
            counts.total = counts.total.saturating_sub(1);
            if let Some(count) = counts.per_user.get_mut(user) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    counts.per_user.remove(user);
                }
            }
        }
        self.freed.notify_one();
    }

    /// Resolves after the next job leaves.
    pub(crate) async fn wait_for_room(&self) {
        self.freed.notified().await;
    }
}

/// A counting semaphore whose waiters are served one user at a time, in turn.
pub(crate) struct FairPermits {
    state: Mutex<PermitState>,
}

#[derive(Default)]
struct PermitState {
    available: usize,
    /// Waiters per user, oldest first; a user with none waiting has no entry. A slot is handed over as the
    /// permit itself, so that a waiter that gives up after being served gives the slot back when the unread
    /// permit is dropped with its channel.
    waiting: BTreeMap<String, VecDeque<oneshot::Sender<FairPermit>>>,
    /// The user the last permit went to, so that the next one goes to whoever comes after.
    last: Option<String>,
}

/// One slot; given back (to the next user in turn) when dropped.
pub(crate) struct FairPermit {
    permits: Arc<FairPermits>,
    /// False for a permit that came back undelivered: its slot is being handed on already.
    armed: bool,
}

impl Drop for FairPermit {
    fn drop(&mut self) {
        if self.armed {
            self.permits.release();
        }
    }
}

impl FairPermits {
    pub(crate) fn new(permits: usize) -> FairPermits {
        FairPermits {
            state: Mutex::new(PermitState {
                available: permits.max(1),
                ..PermitState::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PermitState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a slot for `user`.
    pub(crate) async fn acquire(self: &Arc<Self>, user: &str) -> FairPermit {
        loop {
            let waiter = {
                let mut state = self.lock();
                if state.available > 0 && state.waiting.is_empty() {
                    state.available -= 1;
                    state.last = Some(user.to_owned());
                    return FairPermit {
                        permits: Arc::clone(self),
                        armed: true,
                    };
                }
                let (sender, receiver) = oneshot::channel();
                state
                    .waiting
                    .entry(user.to_owned())
                    .or_default()
                    .push_back(sender);
                receiver
            };
            // A sender leaves `waiting` only to hand over a permit, so this ends with one.
            if let Ok(permit) = waiter.await {
                return permit;
            }
        }
    }

    /// Hands a freed slot to the first waiter of the next user in turn (skipping waiters that gave up), or
    /// keeps it.
    fn release(self: &Arc<Self>) {
        let mut state = self.lock();
        loop {
            let next = {
                let after = state.last.clone();
                let later = after.as_ref().and_then(|last| {
                    state
                        .waiting
                        .range::<String, _>((
                            std::ops::Bound::Excluded(last),
                            std::ops::Bound::Unbounded,
                        ))
                        .next()
                        .map(|(user, _)| user.clone())
                });
                later.or_else(|| state.waiting.keys().next().cloned())
            };
            let Some(user) = next else {
                state.available += 1;
                return;
            };
            let (sender, emptied) = match state.waiting.get_mut(&user) {
                Some(queue) => (queue.pop_front(), queue.is_empty()),
                None => (None, true),
            };
            if emptied {
                state.waiting.remove(&user);
            }
            state.last = Some(user);
            let Some(sender) = sender else {
                continue;
            };
            let permit = FairPermit {
                permits: Arc::clone(self),
                armed: true,
            };
            match sender.send(permit) {
                Ok(()) => return,
                // That waiter gave up: the same slot goes on to the next one, so the returned permit must not
                // release it again (under this lock) when dropped.
                Err(mut permit) => permit.armed = false,
            }
        }
    }
}

/// A queue the analysis threads take work from one user at a time, in turn: a user whose files are slow to
/// analyse holds at most the threads already working for them, and another user's file is next.
pub(crate) struct FairQueue<T> {
    state: Mutex<QueueState<T>>,
    ready: std::sync::Condvar,
}

struct QueueState<T> {
    waiting: BTreeMap<String, VecDeque<T>>,
    /// The user whose item was taken last.
    last: Option<String>,
    closed: bool,
}

impl<T> FairQueue<T> {
    pub(crate) fn new() -> FairQueue<T> {
        FairQueue {
            state: Mutex::new(QueueState {
                waiting: BTreeMap::new(),
                last: None,
                closed: false,
            }),
            ready: std::sync::Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `item` for `user`; never waits (what is in flight is bounded when jobs are claimed).
    pub(crate) fn push(&self, user: &str, item: T) {
        self.lock()
            .waiting
            .entry(user.to_owned())
            .or_default()
            .push_back(item);
        self.ready.notify_one();
    }

    /// Takes the next item of the next user in turn, waiting for one; `None` once the queue is closed and empty.
    /// For OS threads: this blocks.
    pub(crate) fn pop_blocking(&self) -> Option<T> {
        let mut state = self.lock();
        loop {
            let next = {
                let later = state.last.as_ref().and_then(|last| {
                    state
                        .waiting
                        .range::<String, _>((
                            std::ops::Bound::Excluded(last),
                            std::ops::Bound::Unbounded,
                        ))
                        .next()
                        .map(|(user, _)| user.clone())
                });
                later.or_else(|| state.waiting.keys().next().cloned())
            };
            if let Some(user) = next {
                let (item, emptied) = match state.waiting.get_mut(&user) {
                    Some(queue) => (queue.pop_front(), queue.is_empty()),
                    None => (None, true),
                };
                if emptied {
                    state.waiting.remove(&user);
                }
                state.last = Some(user);
                if let Some(item) = item {
                    return Some(item);
                }
                continue;
            }
            if state.closed {
                return None;
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// No more items will come: threads waiting on an empty queue return.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_next_user_not_the_oldest_waiter() {
        let permits = Arc::new(FairPermits::new(1));
        let held = permits.acquire("alice").await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Alice queues three more before Bob queues one.
        for (user, index) in [("alice", 1), ("alice", 2), ("alice", 3), ("bob", 1)] {
            let permits = Arc::clone(&permits);
            let order = Arc::clone(&order);
            tasks.push(tokio::spawn(async move {
                let permit = permits.acquire(user).await;
                order.lock().unwrap().push(format!("{user}{index}"));
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                drop(permit);
            }));
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        drop(held);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["bob1", "alice1", "alice2", "alice3"],
            "Bob goes right after Alice's running job"
        );
    }

    #[test]
    fn the_analysis_queue_serves_users_in_turn() {
        let queue = FairQueue::new();
        for index in 0..3 {
            queue.push("alice", format!("alice{index}"));
        }
        queue.push("bob", "bob0".to_owned());
        queue.close();
        let order: Vec<String> = std::iter::from_fn(|| queue.pop_blocking()).collect();
        assert_eq!(order, ["alice0", "bob0", "alice1", "alice2"]);
    }

    #[test]
    fn one_user_never_takes_the_whole_room() {
        let in_flight = InFlight::new(8);
        for _ in 0..6 {
            in_flight.add("alice");
        }
        let (room, users) = in_flight.room();
        assert_eq!(room, 2, "Bob can still be claimed");
        assert_eq!(users["alice"], 0);
        in_flight.remove("alice");
        assert_eq!(in_flight.room().1["alice"], 1);
    }
}

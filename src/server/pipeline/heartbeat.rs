//! Leases over time: worker ids that name their process, the heartbeat that renews the leases of the jobs this
//! instance still works on (and purges the expired cache), and the start-up reclaim of a dead process's jobs.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::store::{Store, now_micros};

use super::{Held, LEASE, micros};

/// An instance id names its host, its process and this boot (`HOST/pid-PID/BOOT`), so that a lease says who holds
/// a job, and a restarted server on the same machine can tell a dead owner's leases from a live one's.
pub(crate) fn new_worker_id() -> String {
    let boot = uuid::Uuid::new_v4().simple().to_string();
    format!("{}/pid-{}/{}", host_name(), std::process::id(), &boot[..12])
}

/// This machine's name, as a lease can carry it.
fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(64)
        .collect();
    if name.is_empty() {
        "host".to_owned()
    } else {
        name
    }
}

/// The process and host named by an instance id (`HOST/pid-PID/BOOT`, or `pid-PID-BOOT` from older versions).
pub(super) fn worker_process(worker_id: &str) -> Option<(Option<&str>, u32)> {
    let mut parts = worker_id.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(host), Some(pid), Some(_)) => {
            Some((Some(host), pid.strip_prefix("pid-")?.parse().ok()?))
        }
        (Some(old), None, None) => Some((
            None,
            old.strip_prefix("pid-")?.split('-').next()?.parse().ok()?,
        )),
        _ => None,
    }
}

/// Whether process `pid` exists on this machine. Where `/proc` is unavailable, every owner counts as alive and
/// only lease expiry reclaims its jobs.
pub(super) fn process_alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Puts back in the queue the jobs held by workers whose process is gone (a killed server), so they restart
/// now rather than when their leases expire. Only for `SQLite`, which processes on one machine share; on a shared
/// `PostgreSQL` a dead instance's leases expire, and one that stops cleanly hands its jobs back itself.
pub(crate) async fn reclaim_dead_workers(store: &Store) {
    let holders = match store.lease_holders().await {
        Ok(holders) => holders,
        Err(error) => {
            tracing::warn!(error = %error, "listing lease holders failed");
            return;
        }
    };
    let here = host_name();
    for holder in holders {
        let Some((host, pid)) = worker_process(&holder) else {
            continue;
        };
        if host.is_some_and(|host| host != here) || process_alive(pid) {
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

pub(super) async fn heartbeat_loop(store: Store, worker_id: String, held: Arc<Held>) {
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

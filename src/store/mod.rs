//! Persistence for the review server: jobs and their queue leases, runs, API tokens and the result cache, behind
//! one [`Store`] interface. `SQLite` (WAL) is the backend today; every statement is written so that a `PostgreSQL`
//! backend can join it (`$N` placeholders, `RETURNING`, one atomic statement per claim, integer timestamps).

mod cache;
mod database;
mod error;
mod jobs;
mod runs;
mod tokens;

pub use cache::{CacheEntry, CachedResult, cache_key};
pub use database::Store;
pub(crate) use database::now_micros;
pub use error::StoreError;
pub use jobs::{ClaimedJob, HistoryCursor, HistoryFilter, JobOutcome, NewJob, QueueCounts};
pub use runs::{NewRun, RunPage};
pub use tokens::{
    AuthenticatedToken, NewToken, TokenInfo, create_token, list_tokens, revoke_token,
};

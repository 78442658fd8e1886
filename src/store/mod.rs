//! Persistence for the review server: jobs and their queue leases, runs, API tokens and the result cache, behind
//! one [`Store`] interface over two backends: `SQLite` (WAL; one machine) and `PostgreSQL` (several instances
//! sharing one database). See `backend.rs` for how one method serves both.

mod backend;
mod cache;
mod database;
mod error;
mod jobs;
mod runs;
mod sessions;
mod tokens;

pub use cache::{CacheEntry, CachedResult, cache_key};
pub(crate) use database::now_micros;
pub use database::{POSTGRES_POOL_SIZE, Store};
pub use error::StoreError;
pub use jobs::{ClaimedJob, HistoryCursor, HistoryFilter, JobOutcome, NewJob, QueueCounts};
pub use runs::{NewRun, RunCursor, RunFilter, RunPage, verdict_of};
pub use sessions::SessionUser;
pub use tokens::{
    AuthenticatedToken, NewToken, TokenInfo, create_token, list_tokens, revoke_token,
};

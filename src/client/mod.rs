//! The typed client of a `CodeInsight` server: REST calls and the WebSocket follower with its reconnect and polling
//! fallback. Used by the CLI in both embedded and remote mode, so both take the same code path.

mod error;
mod follow;
mod http;

pub use error::ClientError;
pub use follow::{FollowEvent, Snapshot, Subject, fetch, follow, poll};
pub use http::{ApiClient, JobQuery, RunQuery};

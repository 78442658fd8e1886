//! What can go wrong talking to a server, as data the CLI maps to exit codes: unreachable, refused, not found, an
//! API error with the server's `detail`, or a protocol mismatch.

/// A failed request or subscription.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the server at `{url}`: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("the server at `{url}` refused the token: {detail}")]
    Unauthorized { url: String, detail: String },
    #[error("{what} not found on the server")]
    NotFound { what: String },
    #[error("the server answered {status} to `{route}`: {detail}")]
    Api {
        route: String,
        status: u16,
        detail: String,
    },
    #[error("protocol error talking to `{url}`: {detail}")]
    Protocol { url: String, detail: String },
    #[error("invalid server address `{url}`: {detail}")]
    InvalidUrl { url: String, detail: String },
}

pub(crate) use crate::error_chain;

//! CodeInsight: one binary that reviews source code. The modules are layers, and data flows one way:
//! `cli` → `client` → (HTTP/WebSocket) → `server` → `engine` → `store` → events → `client` → `render`.
//! `protocol` holds the types they share. See ARCHITECTURE.md for the map and its invariants.

pub mod cli;
pub mod client;
pub mod engine;
pub mod protocol;
pub mod render;
pub mod reviewer;
pub mod server;
pub mod store;

/// Joins an error and its sources into one line, because a top-level message often hides the useful part
/// (`reqwest`'s "error sending request" → "connection refused", a store's "database error" → the database's
/// words, ast-grep's "Fail to parse yaml as Rule." → why).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

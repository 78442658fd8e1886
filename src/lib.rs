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

//! The review server behind `codeinsight serve` and the CLI's embedded mode: axum routes with per-user bearer
//! tokens, the WebSocket hub, and the durable queue's workers that run the engine and publish job events.

mod ai_stage;
mod analysis;
mod auth;
mod bridge;
mod config;
mod connections;
mod error;
mod events;
mod extract;
mod fairness;
mod fields;
mod hub;
mod lifecycle;
mod pipeline;
mod routes;
mod state;
mod web;
mod websocket;

pub use config::{EphemeralToken, Limits, ServerConfig};
pub use error::{ApiError, ServerError};
pub use lifecycle::{RunningServer, serve, start, wait_for_signal};
pub use routes::app;
pub use state::AppState;

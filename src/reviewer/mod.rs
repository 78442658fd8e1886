//! The AI reviewer: a pipeline stage that sends one file (secrets redacted, line-numbered, with the findings rules
//! and linters already made) to Claude through the Anthropic Messages API or to any OpenAI-compatible model, and
//! turns its structured answer into validated findings with suggested fixes, token counts and a cost. It is the
//! only layer that talks to a model; the engine stays free of network.

mod answer;
mod anthropic;
mod config;
mod error;
mod openai;
mod prompt;
mod provider;
mod redact;
mod review;
mod stacktrace;
mod transport;

pub use config::{
    ApiKey, DEFAULT_ANTHROPIC_MODEL, DEFAULT_ANTHROPIC_URL, LlmConfig, OutputMode, Price,
    PriceTable, ProviderKind,
};
pub use error::ReviewerError;
pub use openai::discover_model;
pub use prompt::PROMPT_VERSION;
pub use provider::{CallFailure, ChatReply, ChatRequest, Provider, Role, Turn};
pub use redact::{REDACTION_MARK, Redacted, RedactionSummary, redact};
pub use review::{AiReport, AiStatus, ReviewInput, Reviewer, STAGE_NAME};
pub use stacktrace::{Frame, StackTraceAnalysis, analyze as analyze_stack_trace, frames};

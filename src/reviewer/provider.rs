//! One interface over the model APIs: a chat of a system prompt and alternating user/assistant turns in, the
//! answer's text, the token usage the provider reported and why the answer stopped out. The Anthropic Messages and
//! OpenAI-compatible chat-completions implementations live beside this file.

use futures_util::future::BoxFuture;

use super::anthropic::AnthropicProvider;
use super::config::{LlmConfig, ProviderKind};
use super::error::ReviewerError;
use super::openai::OpenAiProvider;
use super::transport::Exhausted;
use crate::protocol::TokensUsed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone)]
pub struct Turn {
    pub role: Role,
    pub text: String,
}

/// One request to a model.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub system: String,
    pub turns: Vec<Turn>,
    /// The JSON schema the answer must satisfy.
    pub schema: serde_json::Value,
    pub max_output_tokens: u32,
}

/// One answer, complete: truncated or refused answers are errors.
#[derive(Debug, Clone)]
pub struct ChatReply {
    /// The structured answer as JSON text (a tool call's input is serialised).
    pub text: String,
    /// As the provider counted them; prompt tokens include prompt-cache reads.
    pub usage: TokensUsed,
}

/// A call that failed, with what it had consumed (a truncated answer still costs its tokens).
#[derive(Debug)]
pub struct CallFailure {
    pub reason: String,
    pub usage: TokensUsed,
}

impl From<Exhausted> for CallFailure {
    fn from(exhausted: Exhausted) -> Self {
        CallFailure {
            reason: exhausted.to_string(),
            usage: TokensUsed::default(),
        }
    }
}

impl From<ReviewerError> for CallFailure {
    fn from(error: ReviewerError) -> Self {
        CallFailure {
            reason: error.to_string(),
            usage: TokensUsed::default(),
        }
    }
}

/// A model API.
pub trait Provider: Send + Sync {
    /// The model name findings are attributed to.
    fn model(&self) -> &str;
    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatReply, CallFailure>>;
}

/// The provider `config` names.
pub fn provider(config: &LlmConfig) -> Result<Box<dyn Provider>, ReviewerError> {
    Ok(match config.provider {
        ProviderKind::Anthropic => Box::new(AnthropicProvider::new(config)?),
        ProviderKind::OpenAi => Box::new(OpenAiProvider::new(config)?),
    })
}

pub(crate) fn usage(prompt_tokens: u64, completion_tokens: u64) -> TokensUsed {
    TokensUsed {
        prompt_tokens,
        completion_tokens,
        total_tokens: prompt_tokens + completion_tokens,
    }
}

/// A number field of a usage object, 0 when absent.
pub(crate) fn count(value: &serde_json::Value, field: &str) -> u64 {
    value
        .get(field)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

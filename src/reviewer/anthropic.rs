//! The Anthropic Messages API provider (Claude). For real Claude the answer is a forced call of one
//! `report_findings` tool whose input schema is the findings schema; servers that ignore tools (llama.cpp's
//! `/v1/messages`) use the JSON-text mode instead: the schema is in the system prompt and the assistant's turn is
//! prefilled with the start of the JSON object. Nothing constrains that answer, so validation matters most here.
//! Usage is `input_tokens` plus prompt-cache reads and writes, and
//! `output_tokens`; `stop_reason: "max_tokens"` is a truncated answer.

use futures_util::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::config::{ApiKey, LlmConfig, OutputMode};
use super::error::ReviewerError;
use super::provider::{CallFailure, ChatReply, ChatRequest, Provider, Role, count, usage};
use super::transport::Transport;

const API_VERSION: &str = "2023-06-01";
const TOOL_NAME: &str = "report_findings";
/// The start of the answer in JSON-text mode, written as the assistant's turn for the model to continue (Claude's
/// prefill); keeps a model that ignores instructions on the JSON track.
const PREFILL: &str = "{\"findings\": [";

pub(crate) struct AnthropicProvider {
    transport: Transport,
    url: String,
    model: String,
    api_key: Option<ApiKey>,
    mode: OutputMode,
}

impl AnthropicProvider {
    pub(crate) fn new(config: &LlmConfig) -> Result<AnthropicProvider, ReviewerError> {
        Ok(AnthropicProvider {
            transport: Transport::new(config)?,
            url: format!("{}/v1/messages", config.base_url),
            model: config.model.clone(),
            api_key: config.api_key.clone(),
            mode: config.output_mode.resolve(config.provider),
        })
    }

    fn body(&self, request: &ChatRequest) -> serde_json::Value {
        let mut messages: Vec<serde_json::Value> = request
            .turns
            .iter()
            .map(|turn| {
                let role = match turn.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                serde_json::json!({"role": role, "content": turn.text})
            })
            .collect();
        let mut body = serde_json::json!({
            "model": self.model,
            "max_tokens": request.max_output_tokens,
            "temperature": 0,
        });
        if self.mode == OutputMode::Tool {
            body["system"] = serde_json::Value::String(request.system.clone());
            body["tools"] = serde_json::json!([{
                "name": TOOL_NAME,
                "description": "Report the review's findings.",
                "input_schema": request.schema,
            }]);
            body["tool_choice"] = serde_json::json!({"type": "tool", "name": TOOL_NAME});
        } else {
            messages.push(serde_json::json!({"role": "assistant", "content": PREFILL}));
            body["system"] = serde_json::Value::String(format!(
                "{}\n\nThe answer must be one JSON object matching this JSON schema:\n{}",
                request.system, request.schema
            ));
        }
        body["messages"] = serde_json::Value::Array(messages);
        body
    }

    fn headers(&self) -> Result<HeaderMap, ReviewerError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        if let Some(key) = &self.api_key {
            let mut value = HeaderValue::from_str(key.expose()).map_err(|_| {
                ReviewerError::Client("the API key is not a valid header value".to_owned())
            })?;
            value.set_sensitive(true);
            headers.insert(HeaderName::from_static("x-api-key"), value);
        }
        Ok(headers)
    }

    async fn call(&self, request: &ChatRequest) -> Result<ChatReply, CallFailure> {
        let answer = self
            .transport
            .post_json(&self.url, self.headers()?, &self.body(request))
            .await?;
        // A server's prompt cache moves prompt tokens into the cache fields; they were still processed.
        let used = answer
            .get("usage")
            .map(|value| {
                usage(
                    count(value, "input_tokens")
                        + count(value, "cache_read_input_tokens")
                        + count(value, "cache_creation_input_tokens"),
                    count(value, "output_tokens"),
                )
            })
            .unwrap_or_default();
        let fail = |error: ReviewerError| CallFailure {
            reason: error.to_string(),
            usage: used,
        };
        match answer
            .get("stop_reason")
            .and_then(serde_json::Value::as_str)
        {
            Some("max_tokens") => {
                return Err(fail(ReviewerError::Truncated {
                    limit: request.max_output_tokens,
                }));
            }
            Some("refusal") => {
                return Err(fail(ReviewerError::Refused(
                    "stop_reason is `refusal`".to_owned(),
                )));
            }
            _ => {}
        }
        let blocks = answer
            .get("content")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| {
                fail(ReviewerError::InvalidResponse(
                    "no `content` array in the answer".to_owned(),
                ))
            })?;
        let tool_input = blocks.iter().find_map(|block| {
            (block.get("type").and_then(serde_json::Value::as_str) == Some("tool_use")
                && block.get("name").and_then(serde_json::Value::as_str) == Some(TOOL_NAME))
            .then(|| block.get("input"))
            .flatten()
        });
        let text = if let Some(input) = tool_input {
            input.to_string()
        } else {
            {
                let text = blocks
                    .iter()
                    .filter(|block| {
                        block.get("type").and_then(serde_json::Value::as_str) == Some("text")
                    })
                    .filter_map(|block| block.get("text").and_then(serde_json::Value::as_str))
                    .collect::<Vec<_>>()
                    .join("");
                // Claude answers with the continuation of the prefill; some servers repeat the prefill first.
                if self.mode == OutputMode::Tool || text.trim_start().starts_with(PREFILL) {
                    text
                } else {
                    format!("{PREFILL}{text}")
                }
            }
        };
        Ok(ChatReply { text, usage: used })
    }
}

impl Provider for AnthropicProvider {
    fn model(&self) -> &str {
        &self.model
    }

    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatReply, CallFailure>> {
        Box::pin(self.call(request))
    }
}

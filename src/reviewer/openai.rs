//! The OpenAI-compatible chat-completions provider (`OpenAI`, Ollama, llama.cpp's server, vLLM): the answer is
//! constrained by `response_format: {type: "json_schema"}` (llama.cpp turns the schema into a grammar), usage comes
//! from `usage.prompt_tokens`/`completion_tokens`, and `finish_reason: "length"` is a truncated answer.

use futures_util::future::BoxFuture;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use super::config::{ApiKey, LlmConfig, OutputMode};
use super::error::ReviewerError;
use super::provider::{CallFailure, ChatReply, ChatRequest, Provider, Role, count, usage};
use super::transport::Transport;

pub(crate) struct OpenAiProvider {
    transport: Transport,
    url: String,
    model: String,
    api_key: Option<ApiKey>,
    mode: OutputMode,
}

impl OpenAiProvider {
    pub(crate) fn new(config: &LlmConfig) -> Result<OpenAiProvider, ReviewerError> {
        Ok(OpenAiProvider {
            transport: Transport::new(config)?,
            url: format!("{}/chat/completions", config.base_url),
            model: config.model.clone(),
            api_key: config.api_key.clone(),
            mode: config.output_mode.resolve(config.provider),
        })
    }

    fn body(&self, request: &ChatRequest) -> serde_json::Value {
        let mut messages = vec![serde_json::json!({"role": "system", "content": request.system})];
        for turn in &request.turns {
            let role = match turn.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            messages.push(serde_json::json!({"role": role, "content": turn.text}));
        }
        let mut body = serde_json::json!({
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": request.max_output_tokens,
            "stream": false,
        });
        if self.mode != OutputMode::JsonText {
            body["response_format"] = serde_json::json!({
                "type": "json_schema",
                "json_schema": {"name": "review_findings", "strict": true, "schema": request.schema},
            });
        }
        body
    }

    fn headers(&self) -> Result<HeaderMap, ReviewerError> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &self.api_key {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
                    ReviewerError::Client("the API key is not a valid header value".to_owned())
                })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(headers)
    }

    async fn call(&self, request: &ChatRequest) -> Result<ChatReply, CallFailure> {
        let answer = self
            .transport
            .post_json(&self.url, self.headers()?, &self.body(request))
            .await?;
        let used = answer
            .get("usage")
            .map(|value| {
                usage(
                    count(value, "prompt_tokens"),
                    count(value, "completion_tokens"),
                )
            })
            .unwrap_or_default();
        let fail = |error: ReviewerError| CallFailure {
            reason: error.to_string(),
            usage: used,
        };
        let choice = answer
            .get("choices")
            .and_then(|choices| choices.get(0))
            .ok_or_else(|| {
                fail(ReviewerError::InvalidResponse(
                    "no `choices[0]` in the answer".to_owned(),
                ))
            })?;
        match choice
            .get("finish_reason")
            .and_then(serde_json::Value::as_str)
        {
            Some("length") => {
                return Err(fail(ReviewerError::Truncated {
                    limit: request.max_output_tokens,
                }));
            }
            Some("content_filter") => {
                return Err(fail(ReviewerError::Refused(
                    "the content filter stopped the answer".to_owned(),
                )));
            }
            _ => {}
        }
        let message = choice.get("message");
        if let Some(refusal) = message
            .and_then(|message| message.get("refusal"))
            .and_then(serde_json::Value::as_str)
        {
            return Err(fail(ReviewerError::Refused(refusal.to_owned())));
        }
        let text = message
            .and_then(|message| message.get("content"))
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                fail(ReviewerError::InvalidResponse(
                    "no `message.content` text in the answer".to_owned(),
                ))
            })?;
        Ok(ChatReply {
            text: text.to_owned(),
            usage: used,
        })
    }
}

impl Provider for OpenAiProvider {
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

/// Asks an OpenAI-compatible endpoint which models it serves (`GET {base_url}/models`) and returns the one it
/// serves. A local llama-server, or Ollama with one model pulled, needs no model name this way. Several models or
/// none are a [`ReviewerError::ModelChoice`] that names what was found.
pub async fn discover_model(
    base_url: &str,
    api_key: Option<&ApiKey>,
    timeout: std::time::Duration,
) -> Result<String, ReviewerError> {
    let url = format!("{}/models", base_url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("codeinsight/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| ReviewerError::Client(error.to_string()))?;
    let mut request = client.get(&url);
    if let Some(key) = api_key {
        request = request.bearer_auth(key.expose());
    }
    let response = request
        .send()
        .await
        .map_err(|error| ReviewerError::Unreachable {
            url: url.clone(),
            detail: error.to_string(),
        })?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        let body: String = body.chars().take(300).collect();
        return Err(if status.is_server_error() {
            ReviewerError::Server {
                status: status.as_u16(),
                body,
            }
        } else {
            ReviewerError::Rejected {
                status: status.as_u16(),
                body,
            }
        });
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|error| ReviewerError::InvalidResponse(format!("`{url}`: {error}")))?;
    let mut models: Vec<String> = body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|model| model["id"].as_str())
        .map(str::to_owned)
        .collect();
    models.dedup();
    match models.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ReviewerError::ModelChoice(format!(
            "`{url}` lists no model"
        ))),
        several => Err(ReviewerError::ModelChoice(format!(
            "`{url}` serves {} models: {}",
            several.len(),
            several.join(", ")
        ))),
    }
}

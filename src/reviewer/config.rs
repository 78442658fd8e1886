//! How the AI reviewer is configured: which provider and model, where the endpoint is, the API key (kept out of
//! every `Debug` and log line), the token budget, the retry policy and the price table that turns the provider's
//! token counts into an estimated cost.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The model Claude reviews use when none is configured.
pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";
/// The Anthropic Messages API's base URL.
pub const DEFAULT_ANTHROPIC_URL: &str = "https://api.anthropic.com";

/// Which wire protocol the endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// The Anthropic Messages API (`POST {base}/v1/messages`).
    Anthropic,
    /// Any OpenAI-compatible chat-completions endpoint (`POST {base}/chat/completions`, base usually ending `/v1`):
    /// `OpenAI`, Ollama, llama.cpp's server, vLLM.
    OpenAi,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::OpenAi => "openai",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "anthropic" | "claude" => Ok(ProviderKind::Anthropic),
            "openai" | "openai-compatible" | "ollama" | "llama.cpp" | "vllm" => {
                Ok(ProviderKind::OpenAi)
            }
            other => Err(format!(
                "unknown LLM provider `{other}` (expected anthropic or openai)"
            )),
        }
    }
}

/// How the model is made to answer structured findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputMode {
    /// The provider's best: a forced tool call on Anthropic, a JSON schema `response_format` elsewhere.
    Auto,
    /// OpenAI-compatible `response_format: {type: "json_schema"}` (grammar-constrained on llama.cpp).
    JsonSchema,
    /// Anthropic tool use with `tool_choice` forcing the one `report_findings` tool (real Claude).
    Tool,
    /// A JSON object in the answer's text, with the schema in the prompt (and on Anthropic the answer prefilled
    /// with the object's start): for endpoints that ignore tools, such as llama.cpp's `/v1/messages`.
    JsonText,
}

impl OutputMode {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputMode::Auto => "auto",
            OutputMode::JsonSchema => "json-schema",
            OutputMode::Tool => "tool",
            OutputMode::JsonText => "json-text",
        }
    }

    /// What `Auto` means for `provider`.
    #[must_use]
    pub fn resolve(self, provider: ProviderKind) -> OutputMode {
        match (self, provider) {
            (OutputMode::Auto, ProviderKind::Anthropic) => OutputMode::Tool,
            (OutputMode::Auto, ProviderKind::OpenAi) => OutputMode::JsonSchema,
            (mode, _) => mode,
        }
    }
}

impl FromStr for OutputMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "auto" => Ok(OutputMode::Auto),
            "json-schema" | "schema" => Ok(OutputMode::JsonSchema),
            "tool" | "tool-use" => Ok(OutputMode::Tool),
            "json-text" | "json" | "text" => Ok(OutputMode::JsonText),
            other => Err(format!(
                "unknown LLM output mode `{other}` (expected auto, json-schema, tool or json-text)"
            )),
        }
    }
}

/// An API key. It is sent only in the provider's auth header: `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for the auth header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input_per_million: f64,
    pub output_per_million: f64,
}

impl Price {
    pub const FREE: Price = Price {
        input_per_million: 0.0,
        output_per_million: 0.0,
    };

    /// The cost of one call in dollars.
    pub fn cost(self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.input_per_million
            + completion_tokens as f64 * self.output_per_million)
            / 1_000_000.0
    }
}

/// Prices by model name. A model matches the longest configured name it starts with (so `claude-sonnet-4-5`
/// matches `claude-sonnet`); configured entries win over the built-in Claude prices; anything else is a local
/// model and costs nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    configured: BTreeMap<String, Price>,
}

impl PriceTable {
    /// Claude list prices per million tokens, input/output.
    const BUILT_IN: [(&'static str, Price); 3] = [
        (
            "claude-sonnet",
            Price {
                input_per_million: 3.0,
                output_per_million: 15.0,
            },
        ),
        (
            "claude-haiku",
            Price {
                input_per_million: 1.0,
                output_per_million: 5.0,
            },
        ),
        (
            "claude-opus",
            Price {
                input_per_million: 15.0,
                output_per_million: 75.0,
            },
        ),
    ];

    pub fn insert(&mut self, model_prefix: impl Into<String>, price: Price) {
        self.configured.insert(model_prefix.into(), price);
    }

    /// The price of `model`.
    pub fn price(&self, model: &str) -> Price {
        let longest = |entries: &mut dyn Iterator<Item = (&str, Price)>| {
            entries
                .filter(|(prefix, _)| model.starts_with(prefix))
                .max_by_key(|(prefix, _)| prefix.len())
                .map(|(_, price)| price)
        };
        longest(
            &mut self
                .configured
                .iter()
                .map(|(prefix, price)| (prefix.as_str(), *price)),
        )
        .or_else(|| longest(&mut Self::BUILT_IN.iter().copied()))
        .unwrap_or(Price::FREE)
    }
}

/// Everything the reviewer needs to reach a model and judge its answers.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub provider: ProviderKind,
    /// Anthropic: `https://api.anthropic.com`; OpenAI-compatible: the base including `/v1`, e.g.
    /// `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<ApiKey>,
    pub output_mode: OutputMode,
    /// One HTTP request's limit, connection and answer included.
    pub request_timeout: Duration,
    /// Retries after a timeout, a connection error, a 429, a 5xx or an unreadable answer (so `2` means at most
    /// three requests).
    pub max_retries: u32,
    /// The first retry waits about this long (with jitter); each further one twice as long.
    pub backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the stage fails at once with the reason.
    pub max_retry_after: Duration,
    /// The answer's limit; an answer cut off there fails the stage (it would be half a JSON document).
    pub max_output_tokens: u32,
    /// The model's context window; a prompt plus `max_output_tokens` must fit.
    pub context_tokens: u32,
    /// Lines repeated between consecutive windows of a file too large for one prompt.
    pub window_overlap_lines: usize,
    /// A file needing more windows than this is skipped with the reason instead.
    pub max_windows: usize,
    /// Most findings one answer may hold (the schema's `maxItems`): bounds the answer so a small model that
    /// repeats itself stops instead of running into `max_output_tokens`.
    pub max_findings: u32,
    /// Longest replacement the schema allows, in characters (bounds the answer like `max_findings`).
    pub max_replacement_chars: u32,
    pub prices: PriceTable,
    /// Whether a run that does not say (`RunOptions::ai` absent) gets the AI review.
    pub enabled_by_default: bool,
}

impl LlmConfig {
    /// Claude through the Anthropic Messages API.
    pub fn anthropic(api_key: Option<ApiKey>) -> LlmConfig {
        LlmConfig::new(
            ProviderKind::Anthropic,
            DEFAULT_ANTHROPIC_URL,
            DEFAULT_ANTHROPIC_MODEL,
            api_key,
        )
    }

    /// Any OpenAI-compatible endpoint.
    pub fn openai(base_url: impl Into<String>, model: impl Into<String>) -> LlmConfig {
        LlmConfig::new(ProviderKind::OpenAi, base_url, model, None)
    }

    pub fn new(
        provider: ProviderKind,
        base_url: impl Into<String>,
        model: impl Into<String>,
        api_key: Option<ApiKey>,
    ) -> LlmConfig {
        let context_tokens = match provider {
            ProviderKind::Anthropic => 200_000,
            ProviderKind::OpenAi => 8192,
        };
        LlmConfig {
            provider,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            model: model.into(),
            api_key,
            output_mode: OutputMode::Auto,
            request_timeout: Duration::from_secs(120),
            max_retries: 2,
            backoff: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(60),
            max_output_tokens: 4096,
            context_tokens,
            window_overlap_lines: 20,
            max_windows: 8,
            max_findings: 20,
            max_replacement_chars: 2000,
            prices: PriceTable::default(),
            enabled_by_default: true,
        }
    }

    /// Names everything about this configuration that changes a review's findings, for cache keys. The key and
    /// the retry policy change nothing the model answers, so they are left out.
    pub fn identity(&self) -> String {
        format!(
            "{};{};{};{};out={};ctx={};max={};repl={}",
            self.provider,
            self.model,
            self.output_mode.resolve(self.provider).as_str(),
            super::prompt::PROMPT_VERSION,
            self.max_output_tokens,
            self.context_tokens,
            self.max_findings,
            self.max_replacement_chars,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_match_the_longest_prefix_and_local_models_are_free() {
        let mut table = PriceTable::default();
        let sonnet = table.price("claude-sonnet-4-5-20250929");
        assert!((sonnet.cost(1_000_000, 1_000_000) - 18.0).abs() < 1e-9);
        assert_eq!(table.price("smollm2-135m"), Price::FREE);
        table.insert(
            "claude-sonnet-4-5",
            Price {
                input_per_million: 1.0,
                output_per_million: 2.0,
            },
        );
        assert!((table.price("claude-sonnet-4-5-x").cost(1_000_000, 0) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn keys_never_show_in_debug_output() {
        let config = LlmConfig::anthropic(Some(ApiKey::new("sk-ant-secret-value")));
        let shown = format!("{config:?}");
        assert!(!shown.contains("sk-ant-secret-value"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}

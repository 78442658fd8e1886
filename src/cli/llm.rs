//! The LLM settings of `codeinsight serve` and of the embedded server behind `review` and `debug`: flags over
//! environment (`--llm-provider`/`CODEINSIGHT_LLM_PROVIDER`, `--llm-url`/`CODEINSIGHT_LLM_URL`,
//! `--llm-model`/`CODEINSIGHT_LLM_MODEL`) over `[llm]` in codeinsight.toml. The API key comes only from the
//! environment (`ANTHROPIC_API_KEY` for Claude, `CODEINSIGHT_LLM_KEY` for either, or the variable `key_env`
//! names), never from a file or a flag, so it does not land in shell history or a repository.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::reviewer::{ApiKey, LlmConfig, OutputMode, Price, ProviderKind};

use super::args::LlmArgs;
use super::config::Config;
use super::failure::Failure;

/// `[llm]` in codeinsight.toml. Every key is optional; unknown keys are errors.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmFile {
    /// `anthropic` or `openai`.
    pub provider: Option<String>,
    /// Base URL of the endpoint.
    pub url: Option<String>,
    pub model: Option<String>,
    /// Name of the environment variable holding the API key.
    pub key_env: Option<String>,
    /// `auto`, `json-schema`, `tool` or `json-text`.
    pub output_mode: Option<String>,
    /// Whether runs that do not say `--ai`/`--no-ai` get the AI review (default true).
    pub default: Option<bool>,
    pub timeout_secs: Option<f64>,
    pub max_retries: Option<u32>,
    pub backoff_ms: Option<u64>,
    pub max_output_tokens: Option<u32>,
    pub context_tokens: Option<u32>,
    pub max_windows: Option<usize>,
    pub max_findings: Option<u32>,
    pub window_overlap_lines: Option<usize>,
    /// Dollars per million tokens by model-name prefix: `prices."my-model" = { input = 1.0, output = 2.0 }`.
    #[serde(default)]
    pub prices: BTreeMap<String, PriceEntry>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceEntry {
    pub input: f64,
    pub output: f64,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// The LLM configuration, or `None` when no provider or URL is configured anywhere. An OpenAI-compatible endpoint
/// without a configured model is asked for the one it serves.
pub async fn resolve(args: &LlmArgs, config: &Config) -> Result<Option<LlmConfig>, Failure> {
    let file = config.file.llm.clone().unwrap_or_default();
    let invalid = |message: String| match &config.path {
        Some(path) => Failure::invalid_config(path, message),
        None => Failure::usage(message),
    };
    let provider = args.llm_provider.clone().or(file.provider.clone());
    let url = args.llm_url.clone().or(file.url.clone());
    if provider.is_none() && url.is_none() {
        return Ok(None);
    }
    let provider = match provider {
        Some(name) => name.parse::<ProviderKind>().map_err(invalid)?,
        None => ProviderKind::OpenAi,
    };
    let api_key = file
        .key_env
        .as_deref()
        .and_then(env)
        .or_else(|| env("CODEINSIGHT_LLM_KEY"))
        .or_else(|| {
            (provider == ProviderKind::Anthropic)
                .then(|| env("ANTHROPIC_API_KEY"))
                .flatten()
        })
        .map(ApiKey::new);
    let model = args.llm_model.clone().or(file.model.clone());
    let mut llm = match provider {
        ProviderKind::Anthropic => {
            if api_key.is_none() && url.is_none() {
                return Err(
                    Failure::usage("the `anthropic` LLM provider needs an API key").with_help(
                        "set `ANTHROPIC_API_KEY` (or `CODEINSIGHT_LLM_KEY`) in the environment",
                    ),
                );
            }
            let mut llm = LlmConfig::anthropic(api_key);
            if let Some(url) = url {
                url.trim_end_matches('/').clone_into(&mut llm.base_url);
            }
            if let Some(model) = model {
                llm.model = model;
            }
            llm
        }
        ProviderKind::OpenAi => {
            let Some(url) = url else {
                return Err(
                    Failure::usage("the `openai` LLM provider needs the endpoint's URL").with_help(
                        "pass `--llm-url http://HOST:PORT/v1` or set `CODEINSIGHT_LLM_URL`",
                    ),
                );
            };
            let model = match model {
                Some(model) => model,
                None => crate::reviewer::discover_model(
                    url.trim_end_matches('/'),
                    api_key.as_ref(),
                    Duration::from_secs(10),
                )
                .await
                .map_err(|error| {
                    Failure::usage(format!(
                        "no model is configured for the `openai` LLM provider and none could be chosen: {error}"
                    ))
                    .with_help("pass `--llm-model NAME` or set `CODEINSIGHT_LLM_MODEL`")
                })?,
            };
            let mut llm = LlmConfig::openai(url, model);
            llm.api_key = api_key;
            llm
        }
    };
    if let Some(mode) = &file.output_mode {
        llm.output_mode = mode.parse::<OutputMode>().map_err(invalid)?;
    }
    if let Some(default) = file.default {
        llm.enabled_by_default = default;
    }
    if let Some(seconds) = file.timeout_secs {
        if !(seconds.is_finite() && seconds > 0.0) {
            return Err(invalid(format!(
                "`llm.timeout_secs` is {seconds}, expected a positive number"
            )));
        }
        llm.request_timeout = Duration::from_secs_f64(seconds);
    }
    if let Some(retries) = file.max_retries {
        llm.max_retries = retries.min(10);
    }
    if let Some(backoff) = file.backoff_ms {
        llm.backoff = Duration::from_millis(backoff);
    }
    if let Some(tokens) = file.max_output_tokens {
        llm.max_output_tokens = tokens.max(16);
    }
    if let Some(tokens) = file.context_tokens {
        llm.context_tokens = tokens;
    }
    if let Some(windows) = file.max_windows {
        llm.max_windows = windows.max(1);
    }
    if let Some(findings) = file.max_findings {
        llm.max_findings = findings.max(1);
    }
    if let Some(lines) = file.window_overlap_lines {
        llm.window_overlap_lines = lines;
    }
    for (model, price) in &file.prices {
        llm.prices.insert(
            model.clone(),
            Price {
                input_per_million: price.input,
                output_per_million: price.output,
            },
        );
    }
    Ok(Some(llm))
}

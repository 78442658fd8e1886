//! Why a call to a model failed. Each variant says whether another attempt could help; the transport retries
//! those within its bounds, and whatever is left becomes the AI stage's `failed` reason.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ReviewerError {
    #[error("cannot reach the model endpoint `{url}`: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("the model endpoint did not answer within {} s", .after.as_secs_f64())]
    Timeout { after: Duration },
    #[error("the model endpoint is rate limiting (HTTP 429){}", retry_after_note(*.retry_after))]
    RateLimited { retry_after: Option<Duration> },
    #[error("the model endpoint failed with HTTP {status}: {body}")]
    Server { status: u16, body: String },
    #[error("the model endpoint refused the request with HTTP {status}: {body}")]
    Rejected { status: u16, body: String },
    #[error("the model endpoint answered something that is not the expected JSON: {0}")]
    InvalidResponse(String),
    #[error(
        "the model's answer was cut off at the output limit ({limit} tokens); raise `max_output_tokens` or review smaller files"
    )]
    Truncated { limit: u32 },
    #[error("the model declined to answer: {0}")]
    Refused(String),
    #[error("the model's answer was not valid structured findings after a retry: {0}")]
    OutputInvalid(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// No model was configured and the endpoint does not serve exactly one.
    #[error("{0}")]
    ModelChoice(String),
}

fn retry_after_note(retry_after: Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |after| {
        format!("; it asked to retry after {} s", after.as_secs_f64())
    })
}

impl ReviewerError {
    /// Whether the same request could succeed if sent again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ReviewerError::Unreachable { .. }
                | ReviewerError::Timeout { .. }
                | ReviewerError::RateLimited { .. }
                | ReviewerError::Server { .. }
                | ReviewerError::InvalidResponse(_)
        )
    }
}

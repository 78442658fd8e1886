//! One JSON POST to a model endpoint with bounded retries: timeouts, connection errors, 429 (honouring
//! `Retry-After` up to a cap), 5xx and unreadable answers are retried with exponential backoff and jitter;
//! anything else fails at once. The caller gets the parsed body or the last error with the attempt count.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::config::LlmConfig;
use super::error::ReviewerError;

/// Most bytes of an error body quoted in a reason.
const BODY_EXCERPT: usize = 300;

pub(crate) struct Transport {
    client: reqwest::Client,
    request_timeout: Duration,
    max_retries: u32,
    backoff: Duration,
    max_retry_after: Duration,
}

/// A failure after every allowed attempt.
#[derive(Debug)]
pub(crate) struct Exhausted {
    pub(crate) error: ReviewerError,
    pub(crate) attempts: u32,
}

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.attempts > 1 {
            write!(f, "{} (after {} attempts)", self.error, self.attempts)
        } else {
            write!(f, "{}", self.error)
        }
    }
}

impl Transport {
    pub(crate) fn new(config: &LlmConfig) -> Result<Transport, ReviewerError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("codeinsight/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ReviewerError::Client(error.to_string()))?;
        Ok(Transport {
            client,
            request_timeout: config.request_timeout,
            max_retries: config.max_retries,
            backoff: config.backoff,
            max_retry_after: config.max_retry_after,
        })
    }

    /// POSTs `body` to `url` with `headers` and returns the answer's JSON.
    pub(crate) async fn post_json(
        &self,
        url: &str,
        headers: HeaderMap,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, Exhausted> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (error, retry_after) = match self.attempt(url, headers.clone(), body).await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if !error.is_retryable() || attempt > self.max_retries {
                return Err(Exhausted {
                    error,
                    attempts: attempt,
                });
            }
            let delay = match retry_after {
                Some(asked) if asked > self.max_retry_after => {
                    return Err(Exhausted {
                        error,
                        attempts: attempt,
                    });
                }
                Some(asked) => asked,
                None => with_jitter(self.backoff.saturating_mul(1 << (attempt - 1).min(16))),
            };
            tracing::warn!(%url, attempt, error = %error, delay_ms = delay.as_millis(), "model request failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        url: &str,
        headers: HeaderMap,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, (ReviewerError, Option<Duration>)> {
        let sent = self
            .client
            .post(url)
            .headers(headers)
            .json(body)
            .timeout(self.request_timeout)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return Err((self.transport_error(url, &error), None)),
        };
        let status = response.status();
        let retry_after = parse_retry_after(response.headers());
        let text = match response.text().await {
            Ok(text) => text,
            Err(error) => return Err((self.transport_error(url, &error), None)),
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err((ReviewerError::RateLimited { retry_after }, retry_after));
        }
        // 529 is Anthropic's "overloaded"; 408 a proxy's request timeout.
        if status.is_server_error()
            || status.as_u16() == 529
            || status == StatusCode::REQUEST_TIMEOUT
        {
            return Err((
                ReviewerError::Server {
                    status: status.as_u16(),
                    body: excerpt(&text),
                },
                retry_after,
            ));
        }
        if !status.is_success() {
            return Err((
                ReviewerError::Rejected {
                    status: status.as_u16(),
                    body: excerpt(&text),
                },
                None,
            ));
        }
        serde_json::from_str(&text).map_err(|error| {
            (
                ReviewerError::InvalidResponse(format!(
                    "{error}; the answer began `{}`",
                    excerpt(&text)
                )),
                None,
            )
        })
    }

    fn transport_error(&self, url: &str, error: &reqwest::Error) -> ReviewerError {
        if error.is_timeout() {
            return ReviewerError::Timeout {
                after: self.request_timeout,
            };
        }
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            detail = format!("{detail}: {cause}");
            source = cause.source();
        }
        ReviewerError::Unreachable {
            url: url.to_owned(),
            detail,
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// `delay` scaled by a random factor in [0.5, 1.5), so that many clients backing off do not retry in step.
fn with_jitter(delay: Duration) -> Duration {
    let random = getrandom::u32().unwrap_or(u32::MAX / 2);
    let factor = 0.5 + f64::from(random) / f64::from(u32::MAX);
    delay.mul_f64(factor)
}

/// The start of a body for an error message, with secrets masked in case the endpoint echoed the request.
fn excerpt(text: &str) -> String {
    let masked = crate::engine::mask_secrets(text.trim());
    let mut end = masked.len().min(BODY_EXCERPT);
    while !masked.is_char_boundary(end) {
        end -= 1;
    }
    let mut short = masked[..end].replace(['\n', '\r'], " ");
    if end < masked.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&headers), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), None);
    }

    #[test]
    fn jitter_stays_within_half_and_one_and_a_half() {
        for _ in 0..100 {
            let delay = with_jitter(Duration::from_secs(1));
            assert!(delay >= Duration::from_millis(500) && delay < Duration::from_millis(1500));
        }
    }
}

//! Errors: [`ApiError`] is what a request can fail with, answered as `{"detail": ...}` with a status code (internal
//! errors are logged and answered without detail); [`ServerError`] is what starting a server can fail with.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use thiserror::Error;

use crate::engine::RuleLoadError;
use crate::protocol::ApiErrorBody;
use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// A rejection from an axum extractor (malformed JSON, wrong content type, body too large), with its status.
    #[error("{detail}")]
    Rejected { status: StatusCode, detail: String },
    #[error("internal error")]
    Internal(#[from] StoreError),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Rejected { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(error) = &self {
            tracing::error!(error = %error, source = ?std::error::Error::source(error), "request failed");
        }
        let body = ApiErrorBody {
            detail: self.to_string(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let detail = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "request body too large".to_owned()
        } else {
            rejection.body_text()
        };
        ApiError::Rejected { status, detail }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::Rejected {
            status: StatusCode::BAD_REQUEST,
            detail: rejection.body_text(),
        }
    }
}

/// Why a server could not start.
#[derive(Debug, Error)]
pub enum ServerError {
    #[error("opening the database")]
    Store(#[from] StoreError),
    #[error("loading rules")]
    Rules(#[from] RuleLoadError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("waiting for a shutdown signal")]
    Signal(#[source] std::io::Error),
    #[error("loading rules was interrupted")]
    RulesTask(#[source] tokio::task::JoinError),
}

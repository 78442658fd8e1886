//! Bearer-token authentication. Every route except `GET /health` takes an [`AuthUser`], which reads
//! `Authorization: Bearer <token>` (or, on the WebSocket route only, a `?token=` query parameter, because
//! browsers cannot set headers on a WebSocket upgrade). A signed-in browser's session cookie (the web view)
//! stands for its token on `GET` routes and the WebSocket only, and the WebSocket then also requires the page's
//! `Origin` to be this server: no cookie can change state through the API. The user id always comes from the
//! token, never from the request.

use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};
use crate::protocol::sha256_hex;

/// `last_used_at` is written at most this often per token.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// The authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct AuthUser {
    pub(crate) user_id: String,
    pub(crate) admin: bool,
    /// Which token authenticated: the stored token's id, or `ephemeral:N` for an in-memory one. Sockets are
    /// counted per token and closed when it is revoked.
    pub(crate) token_id: String,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer_token(parts) else {
            if let Some(user) = browser_session(parts, state).await {
                return Ok(user);
            }
            return Err(ApiError::Unauthorized(
                "missing bearer token: send `Authorization: Bearer <token>`".into(),
            ));
        };
        authenticate(state, &token)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("invalid or revoked token".into()))
    }
}

/// The web view's session, on the requests a cookie may authenticate: reads (`GET`), and the WebSocket upgrade
/// from one of this server's own pages (a cross-site page must not open a socket with the user's cookie).
async fn browser_session(parts: &Parts, state: &AppState) -> Option<AuthUser> {
    if parts.method != axum::http::Method::GET {
        return None;
    }
    let upgrade = parts.headers.contains_key(header::UPGRADE);
    if (upgrade || parts.uri.path().starts_with("/ws/")) && !super::web::same_origin(&parts.headers)
    {
        return None;
    }
    super::web::session_user(state, &parts.headers).await
}

fn bearer_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?.trim();
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
            .filter(|token| !token.is_empty());
    }
    if parts.uri.path().starts_with("/ws/") {
        let query = parts.uri.query()?;
        return query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == "token" && !value.is_empty()).then(|| value.to_owned())
        });
    }
    None
}

pub(crate) async fn authenticate(
    state: &AppState,
    token: &str,
) -> Result<Option<AuthUser>, ApiError> {
    let shared = &state.inner;
    if !shared.ephemeral_tokens.is_empty() {
        let presented = sha256_hex(token.as_bytes());
        // Compare against every in-memory token without stopping early, so timing says nothing about which one
        // (or whether any) matched.
        let mut found = None;
        for (index, candidate) in shared.ephemeral_tokens.iter().enumerate() {
            if bool::from(
                presented
                    .as_bytes()
                    .ct_eq(candidate.token_sha256.as_bytes()),
            ) {
                found = Some(AuthUser {
                    user_id: candidate.user_id.clone(),
                    admin: candidate.admin,
                    token_id: format!("ephemeral:{index}"),
                });
            }
        }
        if found.is_some() {
            return Ok(found);
        }
    }
    let Some(stored) = shared.store.authenticate(token).await? else {
        return Ok(None);
    };
    let touch = {
        let now = Instant::now();
        let mut touches = shared
            .token_touches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match touches.get(&stored.id) {
            Some(last) if now.duration_since(*last) < TOUCH_INTERVAL => false,
            _ => {
                touches.insert(stored.id.clone(), now);
                true
            }
        }
    };
    if touch {
        let store = shared.store.clone();
        let id = stored.id.clone();
        tokio::spawn(async move {
            if let Err(error) = store
                .touch_token(&id, chrono::Utc::now().timestamp_micros())
                .await
            {
                tracing::warn!(error = %error, "recording token use failed");
            }
        });
    }
    Ok(Some(AuthUser {
        user_id: stored.user_id,
        admin: stored.admin,
        token_id: stored.id,
    }))
}

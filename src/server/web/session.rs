//! Signing in to the web view. A token (or a one-time code from `codeinsight dashboard`) posted to `/login` opens
//! a server-side session; the browser keeps only its cookie: `HttpOnly`, `SameSite=Strict`, `Secure` when the
//! page came over HTTPS. State changes are POST only and must come from the server's own pages (`Origin`, or
//! `Referer`, names this host). A session of an in-memory token (the embedded server's) is valid only in the
//! process that opened it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::AppState;
use super::super::auth::{AuthUser, authenticate};
use super::html_response;
use crate::protocol::sha256_hex;
use crate::render::html::{LoginView, login_page};

const COOKIE: &str = "codeinsight_session";
/// How long a session lasts.
const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a one-time login code from `codeinsight dashboard` can be used.
const CODE_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// What this process keeps for the web view: a nonce naming this process in its in-memory tokens' sessions, and
/// the one-time login codes it handed out.
pub(crate) struct WebState {
    nonce: String,
    codes: Mutex<HashMap<String, LoginCode>>,
}

struct LoginCode {
    user_id: String,
    token_id: String,
    expires: Instant,
}

impl WebState {
    pub(crate) fn new() -> WebState {
        let mut bytes = [0_u8; 12];
        // Without OS randomness the nonce is still unique per process start, which is all it must be.
        if getrandom::fill(&mut bytes).is_err() {
            bytes[..8].copy_from_slice(&u64::from(std::process::id()).to_le_bytes());
        }
        WebState {
            nonce: sha256_hex(&bytes)[..16].to_owned(),
            codes: Mutex::new(HashMap::new()),
        }
    }

    /// A one-time code that signs `user_id` in with its in-memory token `token_id` (the dashboard's link).
    pub(crate) fn issue_code(&self, user_id: &str, token_id: &str) -> Option<String> {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes).ok()?;
        let code = sha256_hex(&bytes);
        let mut codes = self
            .codes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        codes.retain(|_, code| code.expires > now);
        codes.insert(
            sha256_hex(code.as_bytes()),
            LoginCode {
                user_id: user_id.to_owned(),
                token_id: token_id.to_owned(),
                expires: now + CODE_LIFETIME,
            },
        );
        Some(code)
    }

    fn redeem(&self, code: &str) -> Option<(String, String)> {
        let mut codes = self
            .codes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let found = codes.remove(&sha256_hex(code.as_bytes()))?;
        (found.expires > Instant::now()).then_some((found.user_id, found.token_id))
    }

    /// The token id stored with a session: an in-memory token's is tied to this process.
    fn stored_token_id(&self, token_id: &str) -> String {
        if token_id.starts_with("ephemeral:") {
            format!("{token_id}@{}", self.nonce)
        } else {
            token_id.to_owned()
        }
    }

    /// The token id a stored session stands for here, or `None` for another process's in-memory token.
    fn live_token_id(&self, stored: &str) -> Option<String> {
        if !stored.starts_with("ephemeral:") {
            return Some(stored.to_owned());
        }
        let (token_id, nonce) = stored.rsplit_once('@')?;
        (nonce == self.nonce).then(|| token_id.to_owned())
    }
}

/// The session cookie's value in `headers`, if any.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE && !value.is_empty()).then_some(value)
        })
}

/// The signed-in user of a request carrying a session cookie, if the session is valid.
pub(crate) async fn session_user(state: &AppState, headers: &HeaderMap) -> Option<AuthUser> {
    let secret = session_cookie(headers)?;
    let now = chrono::Utc::now().timestamp_micros();
    let session = match state.inner.store.session(secret, now).await {
        Ok(session) => session?,
        Err(error) => {
            tracing::warn!(error = %error, "reading a session failed");
            return None;
        }
    };
    let token_id = state.inner.web.live_token_id(&session.token_id)?;
    Some(AuthUser {
        user_id: session.user_id,
        admin: false,
        token_id,
    })
}

/// A signed-in browser. Pages take it; without a valid session the browser is sent to the login form, which
/// brings it back.
pub(crate) struct WebUser(pub(crate) AuthUser);

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(user) = session_user(state, &parts.headers).await {
            return Ok(WebUser(user));
        }
        let next = parts.uri.path_and_query().map_or("/", |path| path.as_str());
        Err(Redirect::to(&format!("/login?next={}", super::encode(next))).into_response())
    }
}

/// Whether a state-changing request comes from this server's own pages: its `Origin` (or, without one, its
/// `Referer`) names the host the request was sent to.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let authority_of = |url: &str| -> Option<String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))?;
        Some(
            rest.split('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase(),
        )
    };
    let claimed = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok())
        .and_then(authority_of);
    claimed.is_some_and(|authority| authority == host.trim().to_ascii_lowercase())
}

/// Whether the browser reached us over HTTPS (directly, or through a proxy that says so).
fn over_https(headers: &HeaderMap) -> bool {
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|origin| origin.starts_with("https://"));
    forwarded || origin
}

/// `next` if it is a path on this server, else `/`: a login link cannot send the browser elsewhere.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.contains('\\')
                && !next.chars().any(char::is_control) =>
        {
            next.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
    code: Option<String>,
}

/// `GET /login`: the form (with a one-time code from the dashboard's link already in it).
pub(crate) async fn login_form(Query(query): Query<LoginQuery>) -> Response {
    let next = local_path(query.next.as_deref());
    html_response(
        StatusCode::OK,
        login_page(&LoginView {
            next: &next,
            code: query.code.as_deref().filter(|code| code.len() <= 128),
            error: None,
        }),
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    token: Option<String>,
    code: Option<String>,
    next: Option<String>,
}

/// `POST /login`: a valid token or code opens a session and sets its cookie.
pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = local_path(form.next.as_deref());
    let refuse = |status: StatusCode, message: &str| {
        html_response(
            status,
            login_page(&LoginView {
                next: &next,
                code: None,
                error: Some(message),
            }),
        )
    };
    if !same_origin(&headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "This sign-in did not come from this server's own page.",
        );
    }
    let signed_in = if let Some(code) = form.code.as_deref().filter(|code| !code.is_empty()) {
        state.inner.web.redeem(code)
    } else if let Some(token) = form
        .token
        .as_deref()
        .map(str::trim)
        .filter(|token| !token.is_empty())
    {
        match authenticate(&state, token).await {
            Ok(user) => user.map(|user| (user.user_id, user.token_id)),
            Err(error) => {
                tracing::error!(error = %error, "checking a token at login failed");
                return refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The server could not check the token.",
                );
            }
        }
    } else {
        None
    };
    let Some((user_id, token_id)) = signed_in else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "That token (or link) is not valid: it may be mistyped, revoked or already used.",
        );
    };
    let now = chrono::Utc::now();
    let lifetime = chrono::Duration::from_std(SESSION_LIFETIME).unwrap_or_default();
    let secret = match state
        .inner
        .store
        .create_session(
            &user_id,
            &state.inner.web.stored_token_id(&token_id),
            now.timestamp_micros(),
            (now + lifetime).timestamp_micros(),
        )
        .await
    {
        Ok(secret) => secret,
        Err(error) => {
            tracing::error!(error = %error, "opening a session failed");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server could not open a session.",
            );
        }
    };
    let secure = if over_https(&headers) { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_LIFETIME.as_secs()
    );
    let mut response = Redirect::to(&next).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `POST /logout`: ends the session on the server and clears the cookie.
pub(crate) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site logout refused").into_response();
    }
    if let Some(secret) = session_cookie(&headers)
        && let Err(error) = state.inner.store.delete_session(secret).await
    {
        tracing::error!(error = %error, "ending a session failed");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the session could not be ended",
        )
            .into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "codeinsight_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn only_requests_from_this_host_change_state() {
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "ci.example"),
            ("referer", "https://ci.example/login?next=/")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:8080")])));
    }

    #[test]
    fn a_login_link_only_leads_to_this_server() {
        assert_eq!(local_path(Some("/runs/abc?x=1")), "/runs/abc?x=1");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "runs",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let found = headers(&[("cookie", "a=1; codeinsight_session=abc; b=2")]);
        assert_eq!(session_cookie(&found), Some("abc"));
        assert_eq!(
            session_cookie(&headers(&[("cookie", "codeinsight_session=")])),
            None
        );
    }

    #[test]
    fn a_code_works_once_and_in_memory_sessions_stay_in_their_process() {
        let web = WebState::new();
        let code = web.issue_code("local", "ephemeral:0").unwrap();
        assert_eq!(
            web.redeem(&code),
            Some(("local".to_owned(), "ephemeral:0".to_owned()))
        );
        assert_eq!(web.redeem(&code), None);
        let stored = web.stored_token_id("ephemeral:0");
        assert_eq!(web.live_token_id(&stored).as_deref(), Some("ephemeral:0"));
        assert_eq!(WebState::new().live_token_id(&stored), None);
        assert_eq!(web.live_token_id("abcdef").as_deref(), Some("abcdef"));
    }
}

//! Browser sessions of the web view. The cookie holds 32 random bytes; only their SHA-256 is stored, so a copy
//! of the database opens no session. A session belongs to the token it was opened with: revoking the token ends
//! it, and so do logout and its expiry.

use super::backend::{StoreRow, on_pool};
use super::tokens::random_hex;
use super::{Store, StoreError};
use crate::protocol::sha256_hex;

/// Who a valid session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub user_id: String,
    /// The token the session was opened with (a stored token's id, or an in-memory token's).
    pub token_id: String,
}

const SESSION_BYTES: usize = 32;

impl Store {
    /// Opens a session for `user_id` signed in with `token_id` until `expires_at`, and returns the cookie's value
    /// (shown once). Expired sessions are removed on the way.
    pub async fn create_session(
        &self,
        user_id: &str,
        token_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<String, StoreError> {
        let secret = random_hex(SESSION_BYTES)?;
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query(
                "INSERT INTO sessions (secret_hash, user_id, token_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(sha256_hex(secret.as_bytes()))
            .bind(user_id)
            .bind(token_id)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(secret)
    }

    /// The session a cookie's value opens at `now`: unexpired, and opened with a token that is not revoked (an
    /// in-memory token's sessions are checked by the caller, which knows its tokens).
    pub async fn session(&self, secret: &str, now: i64) -> Result<Option<SessionUser>, StoreError> {
        let row = on_pool!(self, pool => sqlx::query(
            "SELECT sessions.user_id, sessions.token_id FROM sessions \
             LEFT JOIN tokens ON tokens.id = sessions.token_id \
             WHERE sessions.secret_hash = $1 AND sessions.expires_at > $2 \
               AND (tokens.id IS NULL OR tokens.revoked_at IS NULL)",
        )
        .bind(sha256_hex(secret.as_bytes()))
        .bind(now)
        .fetch_optional(pool)
        .await?
        .map(|row| -> Result<_, sqlx::Error> {
            Ok(SessionUser {
                user_id: row.text("user_id")?,
                token_id: row.text("token_id")?,
            })
        })
        .transpose()?);
        Ok(row)
    }

    /// Ends the session a cookie's value opens (logout); ending an unknown one is not an error.
    pub async fn delete_session(&self, secret: &str) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE secret_hash = $1")
            .bind(sha256_hex(secret.as_bytes()))
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }
}

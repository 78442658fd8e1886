//! API tokens: `ci_<id>_<secret>`, where the id finds the row and only the SHA-256 of the secret is stored. A
//! presented secret is hashed and compared in constant time. The free functions at the bottom are what
//! `codeinsight token create|list|revoke` call: they open the database directly, with no server running.

use chrono::{DateTime, Utc};
use serde::Serialize;

use subtle::ConstantTimeEq;

use super::backend::{StoreRow, on_pool};
use super::database::{from_micros, now_micros};
use super::{Store, StoreError};
use crate::protocol::sha256_hex;

const TOKEN_PREFIX: &str = "ci_";
const ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;

/// A freshly created token; `token` is shown once and cannot be recovered later.
#[derive(Debug, Clone, Serialize)]
pub struct NewToken {
    pub id: String,
    pub token: String,
    pub user_id: String,
    pub admin: bool,
}

/// A stored token as `token list` shows it (never the secret).
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub user_id: String,
    pub admin: bool,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Who a valid token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedToken {
    pub id: String,
    pub user_id: String,
    pub admin: bool,
}

/// Splits `ci_<id>_<secret>` into its id and secret.
fn parse_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix(TOKEN_PREFIX)?.split_once('_')?;
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

pub(super) fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buffer = vec![0_u8; bytes];
    getrandom::fill(&mut buffer).map_err(|error| StoreError::Random(error.to_string()))?;
    Ok(buffer
        .iter()
        .fold(String::with_capacity(bytes * 2), |mut hex, byte| {
            use std::fmt::Write;
            let _ = write!(hex, "{byte:02x}");
            hex
        }))
}

/// Hashes a secret the way tokens are stored and compares it with `stored_hash` in constant time.
fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    let presented = sha256_hex(secret.as_bytes());
    bool::from(presented.as_bytes().ct_eq(stored_hash.as_bytes()))
}

impl Store {
    pub async fn create_token(&self, user_id: &str, admin: bool) -> Result<NewToken, StoreError> {
        let id = random_hex(ID_BYTES)?;
        let secret = random_hex(SECRET_BYTES)?;
        let secret_hash = sha256_hex(secret.as_bytes());
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO tokens (id, user_id, admin, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(admin)
        .bind(&secret_hash)
        .bind(now_micros())
        .execute(pool)
        .await
        .map(drop))?;
        Ok(NewToken {
            token: format!("{TOKEN_PREFIX}{id}_{secret}"),
            id,
            user_id: user_id.to_owned(),
            admin,
        })
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, user_id, admin, created_at, revoked_at, last_used_at FROM tokens ORDER BY created_at",
            )
            .fetch_all(pool)
            .await?;
            rows.iter().map(token_info).collect()
        })
    }

    /// Revokes token `id`; `false` if no such unrevoked token exists.
    pub async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        let revoked = on_pool!(self, pool => sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_micros())
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(revoked == 1)
    }

    /// The ids of tokens revoked at or after `since` (Unix µs), with when, so that a server can close the
    /// sockets they opened.
    pub async fn tokens_revoked_since(&self, since: i64) -> Result<Vec<(String, i64)>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, revoked_at FROM tokens WHERE revoked_at IS NOT NULL AND revoked_at >= $1",
            )
            .bind(since)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| Ok((row.text("id")?, row.int("revoked_at")?)))
                .collect()
        })
    }

    /// The owner of `token` if it is a valid, unrevoked stored token.
    pub async fn authenticate(
        &self,
        token: &str,
    ) -> Result<Option<AuthenticatedToken>, StoreError> {
        let Some((id, secret)) = parse_token(token) else {
            return Ok(None);
        };
        let found = on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT user_id, admin, secret_hash FROM tokens WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?;
            row.map(|row| -> Result<_, sqlx::Error> {
                Ok((row.text("user_id")?, row.flag("admin")?, row.text("secret_hash")?))
            })
            .transpose()?
        });
        let Some((user_id, admin, stored_hash)) = found else {
            return Ok(None);
        };
        if !secret_matches(secret, &stored_hash) {
            return Ok(None);
        }
        Ok(Some(AuthenticatedToken {
            id: id.to_owned(),
            user_id,
            admin,
        }))
    }

    /// Records that token `id` was used at `now`.
    pub async fn touch_token(&self, id: &str, now: i64) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }
}

fn token_info(row: &impl StoreRow) -> Result<TokenInfo, StoreError> {
    Ok(TokenInfo {
        id: row.text("id")?,
        user_id: row.text("user_id")?,
        admin: row.flag("admin")?,
        created_at: from_micros(row.int("created_at")?)?,
        revoked_at: row
            .optional_int("revoked_at")?
            .map(from_micros)
            .transpose()?,
        last_used_at: row
            .optional_int("last_used_at")?
            .map(from_micros)
            .transpose()?,
    })
}

/// `codeinsight token create`: creates a token for `user_id` directly in the database.
pub async fn create_token(
    database_url: &str,
    user_id: &str,
    admin: bool,
) -> Result<NewToken, StoreError> {
    let store = Store::connect(database_url).await?;
    let token = store.create_token(user_id, admin).await;
    store.close().await;
    token
}

/// `codeinsight token list`.
pub async fn list_tokens(database_url: &str) -> Result<Vec<TokenInfo>, StoreError> {
    let store = Store::connect(database_url).await?;
    let tokens = store.list_tokens().await;
    store.close().await;
    tokens
}

/// `codeinsight token revoke`: `false` if no such unrevoked token exists.
pub async fn revoke_token(database_url: &str, id: &str) -> Result<bool, StoreError> {
    let store = Store::connect(database_url).await?;
    let revoked = store.revoke_token(id).await;
    store.close().await;
    revoked
}

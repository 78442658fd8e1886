//! The result cache: findings and stage reports keyed by SHA-256 over everything that determines them (the
//! content's hash, its path and language, the rule set's version and the engine configuration) and over the user
//! who submitted it. Entries are scoped to the user: a shared entry would answer `cache_hit: true` to anyone who
//! resubmits another user's exact file and path, which tells them that someone did. A team's CI reruns are one
//! user's (one token's) repeated submissions, which is where the hit rate comes from.

use std::collections::HashMap;

use sqlx::QueryBuilder;

use super::backend::{StoreRow, on_pool};
use super::{Store, StoreError};
use crate::protocol::{Finding, StageReport, Truncation, sha256_hex};

/// Findings (and the stage reports that went with them) to cache under `key` until `expires_at` (Unix µs).
#[derive(Debug, Clone)]
pub struct CacheEntry {
    pub key: String,
    pub findings: Vec<Finding>,
    pub stages: Vec<StageReport>,
    /// Findings over the per-file bound, counted.
    pub truncated: Option<Truncation>,
    pub expires_at: i64,
}

/// The `details` column.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct CacheDetails {
    pub(super) stages: Vec<StageReport>,
    #[serde(default)]
    pub(super) truncated: Option<Truncation>,
}

/// What a cache hit gives back.
#[derive(Debug, Clone)]
pub struct CachedResult {
    pub findings: Vec<Finding>,
    /// `None` for entries written before stage reports were cached.
    pub stages: Option<Vec<StageReport>>,
    pub truncated: Option<Truncation>,
}

/// The cache key of one file's analysis. The path is part of it because findings carry the path and a
/// path-derived fingerprint; `engine_config` names everything else that changes results (engine version,
/// enabled stages; later the model and prompt version).
pub fn cache_key(
    user_id: &str,
    content_sha256: &str,
    path: &str,
    language: &str,
    rules_version: &str,
    engine_config: &str,
) -> String {
    let canonical = serde_json::json!({
        "user": user_id,
        "content_sha256": content_sha256,
        "path": path,
        "language": language,
        "rules_version": rules_version,
        "engine": engine_config,
    });
    sha256_hex(canonical.to_string().as_bytes())
}

/// Keys per `SELECT ... IN (...)`.
const LOOKUP_CHUNK: usize = 500;

impl Store {
    /// The unexpired cached findings for each of `keys` that has some.
    pub async fn cache_lookup(
        &self,
        keys: &[String],
        now: i64,
    ) -> Result<HashMap<String, CachedResult>, StoreError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(LOOKUP_CHUNK) {
            let rows: Vec<(String, String, Option<String>)> = on_pool!(self, pool => {
                let mut query = QueryBuilder::new(
                    "SELECT cache_key, findings, details FROM cache_entries WHERE expires_at > ",
                );
                query.push_bind(now).push(" AND cache_key IN (");
                let mut separated = query.separated(", ");
                for key in chunk {
                    separated.push_bind(key);
                }
                query.push(")");
                query
                    .build()
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|row| Ok((row.text("cache_key")?, row.text("findings")?, row.optional_text("details")?)))
                    .collect::<Result<_, sqlx::Error>>()?
            });
            for (key, findings, details) in rows {
                let details = details
                    .map(|details| serde_json::from_str::<CacheDetails>(&details))
                    .transpose()?;
                let (stages, truncated) = match details {
                    Some(details) => (Some(details.stages), details.truncated),
                    None => (None, None),
                };
                found.insert(
                    key,
                    CachedResult {
                        findings: serde_json::from_str(&findings)?,
                        stages,
                        truncated,
                    },
                );
            }
        }
        Ok(found)
    }

    /// Deletes every cache entry; returns how many there were.
    pub async fn cache_clear(&self) -> Result<u64, StoreError> {
        Ok(
            on_pool!(self, pool => sqlx::query("DELETE FROM cache_entries")
            .execute(pool)
            .await?
            .rows_affected()),
        )
    }

    /// Deletes expired entries; returns how many.
    pub async fn cache_purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        Ok(
            on_pool!(self, pool => sqlx::query("DELETE FROM cache_entries WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()),
        )
    }

    /// How many entries the cache holds (expired ones not yet purged included).
    pub async fn cache_entry_count(&self) -> Result<i64, StoreError> {
        Ok(
            on_pool!(self, pool => sqlx::query("SELECT COUNT(*) AS n FROM cache_entries")
            .fetch_one(pool)
            .await?
            .int("n")?),
        )
    }
}

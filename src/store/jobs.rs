//! Jobs and the durable queue. A job is inserted `pending`; a worker claims a batch with one atomic
//! `UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING` that sets a lease (`worker`, `lease_until`); the owner
//! renews its leases while it works and finishes the job with a guarded update (`status = 'processing' AND
//! worker = me`), so a job reclaimed by someone else after its lease expired is never written twice.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, QueryBuilder};

use super::backend::{Dialect as _, StoreRow, on_pool};
use super::cache::CacheEntry;
use super::database::from_micros;
use super::{Store, StoreError};
use crate::protocol::{Job, JobResults, JobStatus, JobType, TokensUsed};

/// A job to insert, already validated by the server.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub job_id: String,
    pub user_id: String,
    pub run_id: Option<String>,
    pub job_type: JobType,
    pub file_path: String,
    pub language: String,
    pub repo_id: Option<String>,
    pub file_content: String,
    pub content_sha256: String,
    pub error_log: Option<String>,
    pub no_cache: bool,
    /// Whether the run asked for the AI review; `None` takes the server's default.
    pub ai: Option<bool>,
    /// The run left the external linters out.
    pub no_linters: bool,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// A job a worker holds a lease on.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub job_id: String,
    pub user_id: String,
    pub run_id: Option<String>,
    pub job_type: String,
    pub file_path: String,
    pub language: String,
    pub file_content: String,
    pub content_sha256: String,
    pub error_log: Option<String>,
    pub no_cache: bool,
    pub ai: Option<bool>,
    pub no_linters: bool,
    /// How many times the job has been claimed, this claim included.
    pub attempts: i64,
}

/// How a claimed job ended.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    pub job_id: String,
    /// `Completed` or `Failed`.
    pub status: JobStatus,
    pub results: Option<JobResults>,
    pub error: Option<String>,
    pub cache_hit: bool,
    /// What the AI stage consumed (zero without one, and on a cache hit).
    pub tokens_used: TokensUsed,
    pub estimated_cost: f64,
    /// Merged into the job's metadata (the AI stage records its model, counts and redactions here).
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Replaces the stored `file_content` when set: the submitted text with its secrets masked, once the job no
    /// longer needs the raw text.
    pub content_at_rest: Option<String>,
    /// The job's run, whose count of stored findings grows by this job's.
    pub run_id: Option<String>,
}

impl JobOutcome {
    /// This outcome as a failure whose results could not be stored, for `reason`: no results, the same masked
    /// content at rest (a failed job keeps no unmasked secret either), usage and metadata.
    #[must_use]
    pub fn unwritten(&self, reason: &str) -> JobOutcome {
        JobOutcome {
            status: JobStatus::Failed,
            results: None,
            error: Some(reason.to_owned()),
            cache_hit: false,
            ..self.clone()
        }
    }
}

/// Position after the last item of a history page: `created_at` (µs) and the queue id break ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryCursor {
    pub created_at: i64,
    pub id: i64,
}

impl HistoryCursor {
    /// The opaque string clients pass back as `cursor`.
    pub fn encode(self) -> String {
        format!("{}-{}", self.created_at, self.id)
    }

    pub fn decode(text: &str) -> Option<HistoryCursor> {
        let (created_at, id) = text.split_once('-')?;
        Some(HistoryCursor {
            created_at: created_at.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// Server-side filters of `GET /jobs/user/{user_id}`.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub status: Option<JobStatus>,
    pub job_type: Option<JobType>,
    pub language: Option<String>,
    /// Case-insensitive substring of the file path, job id, language or a finding's rule id.
    pub search: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// Only jobs created before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Only the jobs of this run.
    pub run_id: Option<String>,
    pub cursor: Option<HistoryCursor>,
    pub limit: u32,
}

/// Number of jobs in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueCounts {
    pub pending: i64,
    pub processing: i64,
    pub completed: i64,
    pub failed: i64,
}

const SUMMARY_COLUMNS: &str = "id, job_id, user_id, run_id, job_type, status, file_path, language, repo_id, \
     content_sha256, results, error, cache_hit, metadata, created_at, updated_at, completed_at, \
     prompt_tokens, completion_tokens, estimated_cost";

/// Most users considered by one claim; the rest wait for the next one (each claim starts after the last user
/// served, so every user comes up in turn).
const USERS_PER_CLAIM: i64 = 64;

/// Rows per multi-row `INSERT` (18 parameters each, well under `SQLite`'s limit of 32,766 and `PostgreSQL`'s of
/// 65,535).
pub(super) const INSERT_CHUNK: usize = 500;

impl Store {
    /// Inserts one job (`POST /jobs/enqueue`), committed before this returns.
    pub async fn insert_job(&self, job: &NewJob, now: i64) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut transaction = pool.begin().await?;
            insert_jobs!(transaction, std::slice::from_ref(job), now);
            transaction.commit().await?;
        });
        Ok(())
    }

    /// Claims up to `limit` pending jobs for `worker` until `lease_until`, taking users in turn: starting with
    /// the first user after `after_user` (in id order, wrapping around), each gets a share per round, never more
    /// than `room_for(user)` in all. Jobs whose lease expired before `now` are put back in the queue first.
    /// Claimed jobs come back in queue order.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        lease_until: i64,
        now: i64,
        limit: u32,
        after_user: Option<&str>,
        room_for: &(dyn Fn(&str) -> usize + Sync),
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        on_pool!(self, pool => {
            let mut transaction = pool.begin_write().await?;
            // Expired leases (their server died or stalled) go back to the queue, to be claimed in turn like the
            // rest. On PostgreSQL, rows another instance is reclaiming or finishing right now are skipped.
            sqlx::query(pool.sql(
                "UPDATE jobs SET status = 'pending', worker = NULL, lease_until = NULL \
                 WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_open \
                     WHERE status IN ('pending', 'processing') AND status = 'processing' \
                       AND lease_until < $1)",
                "UPDATE jobs SET status = 'pending', worker = NULL, lease_until = NULL \
                 WHERE id IN (SELECT id FROM jobs WHERE status = 'processing' AND lease_until < $1 \
                     FOR UPDATE SKIP LOCKED)",
            ))
            .bind(now)
            .execute(&mut *transaction)
            .await?;
            // The users with pending jobs, each found by one seek in the pending index (a skip scan), at most
            // `USERS_PER_CLAIM` of them.
            let rows = sqlx::query(pool.sql(
                "WITH RECURSIVE queued(user_id) AS ( \
                     SELECT MIN(user_id) FROM jobs INDEXED BY jobs_pending_by_user WHERE status = 'pending' \
                     UNION ALL \
                     SELECT (SELECT MIN(user_id) FROM jobs INDEXED BY jobs_pending_by_user \
                             WHERE status = 'pending' AND user_id > queued.user_id) \
                     FROM queued WHERE queued.user_id IS NOT NULL \
                 ) SELECT user_id FROM queued WHERE user_id IS NOT NULL LIMIT $1",
                "WITH RECURSIVE queued(user_id) AS ( \
                     SELECT MIN(user_id) FROM jobs WHERE status = 'pending' \
                     UNION ALL \
                     SELECT (SELECT MIN(user_id) FROM jobs \
                             WHERE status = 'pending' AND user_id > queued.user_id) \
                     FROM queued WHERE queued.user_id IS NOT NULL \
                 ) SELECT user_id FROM queued WHERE user_id IS NOT NULL LIMIT $1",
            ))
            .bind(USERS_PER_CLAIM)
            .fetch_all(&mut *transaction)
            .await?;
            let mut users: Vec<String> = rows
                .iter()
                .map(|row| row.text("user_id"))
                .collect::<Result<_, _>>()?;
            // Rotate so that the user after the last one served comes first.
            if let Some(after) = after_user {
                let start = users.partition_point(|user| user.as_str() <= after);
                users.rotate_left(start);
            }
            let mut room: Vec<usize> = users.iter().map(|user| room_for(user)).collect();
            let mut left = limit as usize;
            let mut jobs = Vec::new();
            while left > 0 && room.iter().any(|room| *room > 0) {
                let eligible = room.iter().filter(|room| **room > 0).count();
                let share = left.div_ceil(eligible).max(1);
                let mut claimed_this_round = 0;
                for (user, room) in users.iter().zip(room.iter_mut()) {
                    let take = share.min(*room).min(left);
                    if take == 0 {
                        continue;
                    }
                    // PostgreSQL: `SKIP LOCKED` lets instances claim side by side, each taking rows no other
                    // claim holds; a job is claimed by one of them only.
                    let rows = sqlx::query(pool.sql(
                        "UPDATE jobs SET status = 'processing', worker = $1, lease_until = $2, \
                             attempts = attempts + 1, updated_at = $3 \
                         WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_pending_by_user \
                             WHERE status = 'pending' AND user_id = $4 ORDER BY id LIMIT $5) \
                         RETURNING id, job_id, user_id, run_id, job_type, file_path, language, file_content, \
                             content_sha256, error_log, no_cache, ai, no_linters, attempts",
                        "UPDATE jobs SET status = 'processing', worker = $1, lease_until = $2, \
                             attempts = attempts + 1, updated_at = $3 \
                         WHERE id IN (SELECT id FROM jobs \
                             WHERE status = 'pending' AND user_id = $4 ORDER BY id LIMIT $5 \
                             FOR UPDATE SKIP LOCKED) \
                         RETURNING id, job_id, user_id, run_id, job_type, file_path, language, file_content, \
                             content_sha256, error_log, no_cache, ai, no_linters, attempts",
                    ))
                    .bind(worker)
                    .bind(lease_until)
                    .bind(now)
                    .bind(user)
                    .bind(i64::try_from(take).unwrap_or(i64::MAX))
                    .fetch_all(&mut *transaction)
                    .await?;
                    let got = rows.len();
                    for row in &rows {
                        jobs.push(claimed_from_row(row)?);
                    }
                    claimed_this_round += got;
                    left -= got;
                    // A user who had fewer than asked has nothing more pending (or nothing unlocked).
                    *room = if got < take { 0 } else { *room - got };
                    if left == 0 {
                        break;
                    }
                }
                if claimed_this_round == 0 {
                    break;
                }
            }
            transaction.commit().await?;
            jobs.sort_by_key(|job| job.id);
            Ok(jobs)
        })
    }

    /// Extends the leases `worker` holds on `job_ids` (the jobs it is still working on); returns how many it
    /// extended. A job `worker` claimed but no longer works on keeps its lease until it expires.
    pub async fn renew_leases(
        &self,
        worker: &str,
        job_ids: &[String],
        lease_until: i64,
    ) -> Result<u64, StoreError> {
        let ids = serde_json::to_string(job_ids)?;
        Ok(on_pool!(self, pool => {
            let query = sqlx::query(pool.sql(
                "UPDATE jobs SET lease_until = $1 WHERE status = 'processing' AND worker = $2 \
                     AND job_id IN (SELECT value FROM json_each($3))",
                "UPDATE jobs SET lease_until = $1 WHERE status = 'processing' AND worker = $2 \
                     AND job_id IN (SELECT jsonb_array_elements_text($3::jsonb))",
            ))
            .bind(lease_until)
            .bind(worker)
            .bind(&ids);
            query.execute(pool).await?.rows_affected()
        }))
    }

    /// Gives the jobs `worker` still holds back to the queue (graceful shutdown). The claim did not finish, so
    /// it does not count as an attempt.
    pub async fn release_leases(&self, worker: &str, now: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, pool => sqlx::query(pool.sql(
            "UPDATE jobs SET status = 'pending', worker = NULL, lease_until = NULL, \
                 attempts = MAX(attempts - 1, 0), updated_at = $1 \
             WHERE status = 'processing' AND worker = $2",
            "UPDATE jobs SET status = 'pending', worker = NULL, lease_until = NULL, \
                 attempts = GREATEST(attempts - 1, 0), updated_at = $1 \
             WHERE status = 'processing' AND worker = $2",
        ))
        .bind(now)
        .bind(worker)
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// The workers that currently hold leases, to find those whose process is gone.
    pub async fn lease_holders(&self) -> Result<Vec<String>, StoreError> {
        Ok(on_pool!(self, pool => sqlx::query(
            "SELECT DISTINCT worker FROM jobs WHERE status = 'processing' AND worker IS NOT NULL",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| row.text("worker"))
        .collect::<Result<Vec<String>, sqlx::Error>>()?))
    }

    /// Puts the jobs of a dead `worker` back in the queue at once instead of waiting for their leases to expire.
    /// The interrupted claim counts as an attempt, so a job that kills its server cannot loop forever.
    pub async fn reclaim_from(&self, worker: &str, now: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, pool => sqlx::query(
            "UPDATE jobs SET status = 'pending', worker = NULL, lease_until = NULL, updated_at = $1 \
             WHERE status = 'processing' AND worker = $2",
        )
        .bind(now)
        .bind(worker)
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// Writes the outcomes of claimed jobs and the cache entries they produced in one transaction. Returns, per
    /// outcome, whether it was applied: `false` means `worker` had lost the lease and someone else owns the job.
    pub async fn finish_jobs(
        &self,
        worker: &str,
        outcomes: &[JobOutcome],
        cache_entries: &[CacheEntry],
        now: i64,
    ) -> Result<Vec<bool>, StoreError> {
        on_pool!(self, pool => {
            let mut transaction = pool.begin_write().await?;
            let mut applied = Vec::with_capacity(outcomes.len());
            for outcome in outcomes {
                let results = outcome
                    .results
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()?;
                let result = sqlx::query(pool.sql(
                    "UPDATE jobs SET status = $1, results = $2, error = $3, cache_hit = $4, updated_at = $5, \
                         completed_at = $5, worker = NULL, lease_until = NULL, prompt_tokens = $8, \
                         completion_tokens = $9, estimated_cost = $10, metadata = json_patch(metadata, $11), \
                         file_content = COALESCE($12, file_content), rules = $13, \
                         search = lower(file_path || ' ' || job_id || ' ' || language || ' ' || COALESCE($13, '')) \
                     WHERE job_id = $6 AND status = 'processing' AND worker = $7",
                    "UPDATE jobs SET status = $1, results = $2, error = $3, cache_hit = $4, updated_at = $5, \
                         completed_at = $5, worker = NULL, lease_until = NULL, prompt_tokens = $8, \
                         completion_tokens = $9, estimated_cost = $10, \
                         metadata = (metadata::jsonb || $11::jsonb)::text, \
                         file_content = COALESCE($12, file_content), rules = $13, \
                         search = lower(file_path || ' ' || job_id || ' ' || language || ' ' || COALESCE($13, '')) \
                     WHERE job_id = $6 AND status = 'processing' AND worker = $7",
                ))
                .bind(outcome.status.as_str())
                .bind(results)
                .bind(outcome.error.as_deref())
                .bind(outcome.cache_hit)
                .bind(now)
                .bind(&outcome.job_id)
                .bind(worker)
                .bind(i64::try_from(outcome.tokens_used.prompt_tokens).unwrap_or(i64::MAX))
                .bind(i64::try_from(outcome.tokens_used.completion_tokens).unwrap_or(i64::MAX))
                .bind(outcome.estimated_cost)
                .bind(serde_json::to_string(&outcome.metadata)?)
                .bind(outcome.content_at_rest.as_deref())
                .bind(outcome.results.as_ref().map(rules_column))
                .execute(&mut *transaction)
                .await?;
                let done = result.rows_affected() == 1;
                if let (true, Some(run_id)) = (done, outcome.run_id.as_deref()) {
                    let tally = RunTally::of(outcome);
                    sqlx::query(
                        "UPDATE runs SET findings_kept = findings_kept + $1, \
                             jobs_completed = jobs_completed + $2, jobs_failed = jobs_failed + $3, \
                             jobs_incomplete = jobs_incomplete + $4, critical = critical + $5, \
                             major = major + $6, minor = minor + $7, info = info + $8, \
                             finished_at = CASE WHEN jobs_completed + jobs_failed + 1 >= total \
                                 THEN $9 ELSE finished_at END \
                         WHERE run_id = $10",
                    )
                    .bind(tally.kept)
                    .bind(tally.completed)
                    .bind(tally.failed)
                    .bind(tally.incomplete)
                    .bind(tally.findings[0])
                    .bind(tally.findings[1])
                    .bind(tally.findings[2])
                    .bind(tally.findings[3])
                    .bind(now)
                    .bind(run_id)
                    .execute(&mut *transaction)
                    .await?;
                }
                applied.push(done);
            }
            for entry in cache_entries {
                sqlx::query(
                    "INSERT INTO cache_entries (cache_key, findings, details, created_at, expires_at) \
                     VALUES ($1, $2, $5, $3, $4) \
                     ON CONFLICT (cache_key) DO UPDATE SET findings = excluded.findings, details = excluded.details, \
                         created_at = excluded.created_at, expires_at = excluded.expires_at",
                )
                .bind(&entry.key)
                .bind(serde_json::to_string(&entry.findings)?)
                .bind(now)
                .bind(entry.expires_at)
                .bind(serde_json::to_string(&super::cache::CacheDetails {
                    stages: entry.stages.clone(),
                    truncated: entry.truncated.clone(),
                })?)
                .execute(&mut *transaction)
                .await?;
            }
            transaction.commit().await?;
            Ok(applied)
        })
    }

    /// The stored text of each of `job_ids` (masked at rest once reviewed), for code frames; jobs that do not
    /// exist are left out.
    pub async fn job_contents(
        &self,
        job_ids: &[&str],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let mut contents = std::collections::HashMap::new();
        for chunk in job_ids.chunks(INSERT_CHUNK) {
            on_pool!(self, pool => {
                let mut query = QueryBuilder::new("SELECT job_id, file_content FROM jobs WHERE job_id IN (");
                let mut ids = query.separated(", ");
                for id in chunk {
                    ids.push_bind(*id);
                }
                query.push(")");
                for row in query.build().fetch_all(pool).await? {
                    contents.insert(row.text("job_id")?, row.text("file_content")?);
                }
            });
        }
        Ok(contents)
    }

    /// The full job document, `file_content` included.
    pub async fn get_job(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        on_pool!(self, pool => sqlx::query(AssertSqlSafe(format!(
            "SELECT {SUMMARY_COLUMNS}, file_content FROM jobs WHERE job_id = $1"
        )))
        .bind(job_id)
        .fetch_optional(pool)
        .await?
        .map(|row| job_from_row(&row, true))
        .transpose())
    }

    /// Who owns `job_id`, if it exists.
    pub async fn job_owner(&self, job_id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            on_pool!(self, pool => sqlx::query("SELECT user_id FROM jobs WHERE job_id = $1")
            .bind(job_id)
            .fetch_optional(pool)
            .await?
            .map(|row| row.text("user_id"))
            .transpose()?),
        )
    }

    /// One page of a user's jobs, newest first, without `file_content`; the cursor of the next page if any.
    pub async fn list_jobs(
        &self,
        user_id: &str,
        filter: &HistoryFilter,
    ) -> Result<(Vec<Job>, Option<HistoryCursor>), StoreError> {
        on_pool!(self, pool => {
            // The page's ids are found in `jobs_history` alone (it holds every column a filter reads), then only
            // those rows are read: a search never reads the stored files and results of the rows it skips.
            let mut query = QueryBuilder::new(format!(
                "SELECT {SUMMARY_COLUMNS} FROM jobs WHERE id IN (SELECT id FROM jobs WHERE user_id = "
            ));
            query.push_bind(user_id);
            if let Some(status) = filter.status {
                query.push(" AND status = ").push_bind(status.as_str());
            }
            if let Some(job_type) = filter.job_type {
                query.push(" AND job_type = ").push_bind(job_type.as_str());
            }
            if let Some(language) = &filter.language {
                query
                    .push(" AND language = ")
                    .push_bind(language.to_ascii_lowercase());
            }
            if let Some(search) = filter.search.as_deref().filter(|search| !search.is_empty()) {
                // Paths, job ids, languages and rule ids, lower-cased in the `search` column.
                query
                    .push(" AND search LIKE ")
                    .push_bind(format!("%{}%", escape_like(&search.to_lowercase())))
                    .push(" ESCAPE '\\'");
            }
            if let Some(since) = filter.since {
                query
                    .push(" AND created_at >= ")
                    .push_bind(since.timestamp_micros());
            }
            if let Some(run_id) = &filter.run_id {
                query.push(" AND run_id = ").push_bind(run_id.clone());
            }
            if let Some(until) = filter.until {
                query
                    .push(" AND created_at < ")
                    .push_bind(until.timestamp_micros());
            }
            if let Some(cursor) = filter.cursor {
                // `created_at <= c` bounds the index range, so a deep page seeks to its start instead of
                // skipping every row before it.
                query
                    .push(" AND created_at <= ")
                    .push_bind(cursor.created_at)
                    .push(" AND (created_at < ")
                    .push_bind(cursor.created_at)
                    .push(" OR id < ")
                    .push_bind(cursor.id)
                    .push(")");
            }
            query
                .push(" ORDER BY created_at DESC, id DESC LIMIT ")
                .push_bind(i64::from(filter.limit) + 1)
                .push(") ORDER BY created_at DESC, id DESC");
            let rows = query.build().fetch_all(pool).await?;
            let mut jobs = Vec::with_capacity(rows.len());
            let mut positions = Vec::with_capacity(rows.len());
            for row in &rows {
                positions.push(HistoryCursor {
                    created_at: row.int("created_at")?,
                    id: row.int("id")?,
                });
                jobs.push(job_from_row(row, false)?);
            }
            Ok(page(jobs, &positions, filter.limit))
        })
    }
}

/// What one finished job adds to its run's counters.
struct RunTally {
    kept: i64,
    completed: i64,
    failed: i64,
    /// Completed, but a required stage did not run.
    incomplete: i64,
    /// Critical, major, minor, info: kept and counted-but-dropped findings alike, since both gate.
    findings: [i64; 4],
}

impl RunTally {
    fn of(outcome: &JobOutcome) -> RunTally {
        let count = |count: usize| i64::try_from(count).unwrap_or(i64::MAX);
        let completed = outcome.status == JobStatus::Completed;
        let results = outcome.results.as_ref();
        let counts = results.map(JobResults::severity_counts).unwrap_or_default();
        let kept = results.map_or(0, |results| results.findings.len());
        let incomplete = results.is_some_and(JobResults::missing_required_stage);
        RunTally {
            kept: count(kept),
            completed: i64::from(completed),
            failed: i64::from(!completed),
            incomplete: i64::from(completed && incomplete),
            findings: crate::protocol::Severity::ALL_DESCENDING
                .map(|severity| count(counts.get(severity))),
        }
    }
}

/// The `rules` column of a finished job: its findings' rule ids, each once, space-separated with a space at
/// each end so that a search for ` id ` matches whole ids.
fn rules_column(results: &JobResults) -> String {
    let ids: std::collections::BTreeSet<&str> = results
        .findings
        .iter()
        .map(|finding| finding.rule_id.as_str())
        .collect();
    let mut column = String::from(" ");
    for id in ids {
        column.push_str(id);
        column.push(' ');
    }
    column
}

/// A history page of at most `limit` jobs (one more was read), and the cursor of the next page when there is one.
fn page(
    mut jobs: Vec<Job>,
    positions: &[HistoryCursor],
    limit: u32,
) -> (Vec<Job>, Option<HistoryCursor>) {
    let limit = limit as usize;
    let next = if jobs.len() > limit {
        jobs.truncate(limit);
        positions.get(limit.saturating_sub(1)).copied()
    } else {
        None
    };
    (jobs, next)
}

impl Store {
    /// One page of a run's jobs in submission order, without `file_content`: those after queue id `after`, at
    /// most `limit` of them, and no more once their stored results add up to `byte_budget` (at least one job is
    /// always returned, so a page never comes back empty while jobs remain). Also returns the queue id to
    /// continue after, when more jobs may follow.
    pub async fn run_jobs_page(
        &self,
        run_id: &str,
        after: i64,
        limit: u32,
        byte_budget: usize,
    ) -> Result<(Vec<Job>, Option<i64>), StoreError> {
        use futures_util::TryStreamExt as _;
        on_pool!(self, pool => {
            let query = AssertSqlSafe(format!(
                "SELECT {SUMMARY_COLUMNS}, CAST(length(results) AS BIGINT) AS results_bytes FROM jobs \
                 WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3"
            ));
            let mut rows = sqlx::query(query)
                .bind(run_id)
                .bind(after)
                // One more than a page: whether it exists says whether another page follows.
                .bind(i64::from(limit) + 1)
                .fetch(pool);
            let mut jobs = Vec::new();
            let mut bytes = 0_usize;
            let mut last = None;
            let mut more = false;
            while let Some(row) = rows.try_next().await? {
                let size = row.optional_int("results_bytes")?;
                let size = usize::try_from(size.unwrap_or(0)).unwrap_or(usize::MAX);
                if jobs.len() == limit as usize
                    || !jobs.is_empty() && bytes.saturating_add(size) > byte_budget
                {
                    more = true;
                    break;
                }
                bytes = bytes.saturating_add(size);
                last = Some(row.int("id")?);
                jobs.push(job_from_row(&row, false)?);
            }
            Ok((jobs, last.filter(|_| more)))
        })
    }

    /// How many of a run's jobs are in each status.
    pub async fn run_status_counts(
        &self,
        run_id: &str,
    ) -> Result<std::collections::HashMap<String, usize>, StoreError> {
        on_pool!(self, pool => sqlx::query(
            "SELECT status, COUNT(*) AS n FROM jobs WHERE run_id = $1 GROUP BY status",
        )
        .bind(run_id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| Ok((row.text("status")?, usize::try_from(row.int("n")?).unwrap_or(0))))
        .collect())
    }

    /// The ids of a run's completed and failed jobs, in submission order.
    pub async fn finished_job_ids(&self, run_id: &str) -> Result<Vec<String>, StoreError> {
        on_pool!(self, pool => sqlx::query(
            "SELECT job_id FROM jobs WHERE run_id = $1 AND status IN ('completed', 'failed') ORDER BY id",
        )
        .bind(run_id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| row.text("job_id").map_err(StoreError::from))
        .collect())
    }

    /// One job without `file_content`.
    pub async fn job_summary(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        on_pool!(self, pool => sqlx::query(AssertSqlSafe(format!(
            "SELECT {SUMMARY_COLUMNS} FROM jobs WHERE job_id = $1"
        )))
        .bind(job_id)
        .fetch_optional(pool)
        .await?
        .map(|row| job_from_row(&row, false))
        .transpose())
    }

    /// How many jobs are in each status.
    pub async fn queue_counts(&self) -> Result<QueueCounts, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self, pool => sqlx::query(
            "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| Ok((row.text("status")?, row.int("n")?)))
        .collect::<Result<_, sqlx::Error>>()?);
        let mut counts = QueueCounts::default();
        for (status, n) in rows {
            match status.as_str() {
                "pending" => counts.pending = n,
                "processing" => counts.processing = n,
                "completed" => counts.completed = n,
                "failed" => counts.failed = n,
                _ => {}
            }
        }
        Ok(counts)
    }
}

/// Inserts jobs inside the open transaction `$transaction` with multi-row statements (a macro: its body is
/// compiled for the backend of the transaction it is given).
macro_rules! insert_jobs {
    ($transaction:ident, $jobs:expr, $now:expr) => {
        for chunk in $jobs.chunks($crate::store::jobs::INSERT_CHUNK) {
            let mut metadata = Vec::with_capacity(chunk.len());
            for job in chunk {
                metadata.push(serde_json::to_string(&job.metadata)?);
            }
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO jobs (job_id, user_id, run_id, job_type, status, file_path, language, repo_id, \
                 file_content, content_sha256, error_log, no_cache, ai, no_linters, metadata, created_at, updated_at, \
                 search) ",
            );
            query.push_values(chunk.iter().zip(metadata), |mut row, (job, metadata)| {
                row.push_bind(&job.job_id)
                    .push_bind(&job.user_id)
                    .push_bind(job.run_id.as_deref())
                    .push_bind(job.job_type.as_str())
                    .push_bind("pending")
                    .push_bind(&job.file_path)
                    .push_bind(&job.language)
                    .push_bind(job.repo_id.as_deref())
                    .push_bind(&job.file_content)
                    .push_bind(&job.content_sha256)
                    .push_bind(job.error_log.as_deref())
                    .push_bind(job.no_cache)
                    .push_bind(job.ai)
                    .push_bind(job.no_linters)
                    .push_bind(metadata)
                    .push_bind($now)
                    .push_bind($now)
                    .push_bind($crate::store::jobs::search_text(&job.file_path, &job.job_id, &job.language));
            });
            query.build().execute(&mut *$transaction).await?;
        }
    };
}
pub(super) use insert_jobs;

/// The `search` column of a job before it has findings: what a history search matches, lower-cased once at
/// write time so that a search is one `LIKE` on one column. The rule ids of its findings are added when it
/// finishes (`finish_jobs`).
pub(super) fn search_text(path: &str, job_id: &str, language: &str) -> String {
    format!("{path} {job_id} {language} ").to_lowercase()
}

pub(super) fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

fn claimed_from_row(row: &impl StoreRow) -> Result<ClaimedJob, sqlx::Error> {
    Ok(ClaimedJob {
        id: row.int("id")?,
        job_id: row.text("job_id")?,
        user_id: row.text("user_id")?,
        run_id: row.optional_text("run_id")?,
        job_type: row.text("job_type")?,
        file_path: row.text("file_path")?,
        language: row.text("language")?,
        file_content: row.text("file_content")?,
        content_sha256: row.text("content_sha256")?,
        error_log: row.optional_text("error_log")?,
        no_cache: row.flag("no_cache")?,
        ai: row.optional_flag("ai")?,
        no_linters: row.flag("no_linters")?,
        attempts: row.int("attempts")?,
    })
}

fn job_from_row(row: &impl StoreRow, with_content: bool) -> Result<Job, StoreError> {
    let results = row
        .optional_text("results")?
        .map(|text| serde_json::from_str::<JobResults>(&text))
        .transpose()?;
    let prompt_tokens = u64::try_from(row.int("prompt_tokens")?).unwrap_or(0);
    let completion_tokens = u64::try_from(row.int("completion_tokens")?).unwrap_or(0);
    Ok(Job {
        job_id: row.text("job_id")?,
        user_id: row.text("user_id")?,
        run_id: row.optional_text("run_id")?,
        job_type: row.text("job_type")?.parse().map_err(StoreError::Corrupt)?,
        status: row.text("status")?.parse().map_err(StoreError::Corrupt)?,
        file_path: row.text("file_path")?,
        language: row.text("language")?,
        repo_id: row.optional_text("repo_id")?,
        file_content: if with_content {
            Some(row.text("file_content")?)
        } else {
            None
        },
        content_sha256: row.text("content_sha256")?,
        results,
        error: row.optional_text("error")?,
        tokens_used: TokensUsed {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        },
        estimated_cost: row.real("estimated_cost")?,
        cache_hit: row.flag("cache_hit")?,
        metadata: serde_json::from_str(&row.text("metadata")?)?,
        created_at: from_micros(row.int("created_at")?)?,
        updated_at: from_micros(row.int("updated_at")?)?,
        completed_at: row
            .optional_int("completed_at")?
            .map(from_micros)
            .transpose()?,
    })
}

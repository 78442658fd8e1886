//! Runs: many files submitted in one request and followed with one subscription. A run and all its jobs are
//! inserted in one transaction, so a client never sees half a run.

use super::backend::{Dialect as _, StoreRow, on_pool};
use super::database::from_micros;
use super::jobs::{NewJob, insert_jobs};
use super::{Store, StoreError};
use crate::protocol::{JobStatus, RejectedFile, Run};

/// A run to insert with its accepted jobs.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub run_id: String,
    pub user_id: String,
    pub repo_id: Option<String>,
    /// Files refused at submission, kept with the run so that `show` reports them.
    pub rejected: Vec<RejectedFile>,
    /// The rule selection the run asked for; `None` for the default group.
    pub rules: Option<crate::protocol::RuleSelection>,
}

impl Store {
    /// Inserts the run and its jobs atomically; committed before this returns.
    pub async fn insert_run(
        &self,
        run: &NewRun,
        jobs: &[NewJob],
        now: i64,
    ) -> Result<(), StoreError> {
        let rejected = serde_json::to_string(&run.rejected)?;
        let rules = run.rules.as_ref().map(serde_json::to_string).transpose()?;
        on_pool!(self, pool => {
            let mut transaction = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO runs (run_id, user_id, repo_id, total, rejected, created_at, rules) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&run.run_id)
            .bind(&run.user_id)
            .bind(run.repo_id.as_deref())
            .bind(i64::try_from(jobs.len()).unwrap_or(i64::MAX))
            .bind(&rejected)
            .bind(now)
            .bind(rules.as_deref())
            .execute(&mut *transaction)
            .await?;
            insert_jobs!(transaction, jobs, now);
            transaction.commit().await?;
        });
        Ok(())
    }

    /// Adds `jobs` and `rejected` to the run `run_id` of `user_id`, in one transaction; `false` when there is no
    /// such run of that user.
    pub async fn append_to_run(
        &self,
        run_id: &str,
        user_id: &str,
        rejected: &[RejectedFile],
        jobs: &[NewJob],
        now: i64,
    ) -> Result<bool, StoreError> {
        on_pool!(self, pool => {
            let mut transaction = pool.begin_write().await?;
            // `FOR UPDATE` (PostgreSQL): two additions to one run are applied one after the other.
            let row = sqlx::query(pool.sql(
                "SELECT rejected FROM runs WHERE run_id = $1 AND user_id = $2",
                "SELECT rejected FROM runs WHERE run_id = $1 AND user_id = $2 FOR UPDATE",
            ))
            .bind(run_id)
            .bind(user_id)
            .fetch_optional(&mut *transaction)
            .await?;
            let Some(row) = row else {
                return Ok(false);
            };
            let mut stored: Vec<RejectedFile> = serde_json::from_str(&row.text("rejected")?)?;
            stored.extend_from_slice(rejected);
            sqlx::query("UPDATE runs SET total = total + $1, rejected = $2 WHERE run_id = $3")
                .bind(i64::try_from(jobs.len()).unwrap_or(i64::MAX))
                .bind(serde_json::to_string(&stored)?)
                .bind(run_id)
                .execute(&mut *transaction)
                .await?;
            insert_jobs!(transaction, jobs, now);
            transaction.commit().await?;
        });
        Ok(true)
    }

    /// How many findings each of `run_ids` has stored so far (runs that do not exist are left out). A job's
    /// findings are added to its run's count by [`Store::finish_jobs`], in the transaction that stores them.
    pub async fn run_findings_kept(
        &self,
        run_ids: &[&str],
    ) -> Result<std::collections::HashMap<String, usize>, StoreError> {
        let mut kept = std::collections::HashMap::new();
        for run_id in run_ids {
            if kept.contains_key(*run_id) {
                continue;
            }
            let count = on_pool!(self, pool => sqlx::query("SELECT findings_kept FROM runs WHERE run_id = $1")
                .bind(run_id)
                .fetch_optional(pool)
                .await?
                .map(|row| row.int("findings_kept"))
                .transpose()?);
            if let Some(count) = count {
                kept.insert((*run_id).to_owned(), usize::try_from(count).unwrap_or(0));
            }
        }
        Ok(kept)
    }

    /// The rule selection run `run_id` asked for; `None` for the default group or a missing run.
    pub async fn run_rules(
        &self,
        run_id: &str,
    ) -> Result<Option<crate::protocol::RuleSelection>, StoreError> {
        let rules = on_pool!(self, pool => sqlx::query("SELECT rules FROM runs WHERE run_id = $1")
            .bind(run_id)
            .fetch_optional(pool)
            .await?
            .map(|row| row.optional_text("rules"))
            .transpose()?);
        Ok(rules
            .flatten()
            .map(|rules| serde_json::from_str(&rules))
            .transpose()?)
    }

    /// Who owns `run_id`, if it exists.
    pub async fn run_owner(&self, run_id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            on_pool!(self, pool => sqlx::query("SELECT user_id FROM runs WHERE run_id = $1")
            .bind(run_id)
            .fetch_optional(pool)
            .await?
            .map(|row| row.text("user_id"))
            .transpose()?),
        )
    }

    /// The run with one page of its jobs (without `file_content`; see [`Store::run_jobs_page`]) and progress
    /// counts over all of them.
    pub async fn get_run(&self, run_id: &str, page: RunPage) -> Result<Option<Run>, StoreError> {
        let found = on_pool!(self, pool => sqlx::query(
            "SELECT run_id, user_id, rejected, created_at FROM runs WHERE run_id = $1",
        )
        .bind(run_id)
        .fetch_optional(pool)
        .await?
        .map(|row| -> Result<_, sqlx::Error> {
            Ok((row.text("run_id")?, row.text("user_id")?, row.text("rejected")?, row.int("created_at")?))
        })
        .transpose()?);
        let Some((found_run_id, owner, rejected, created_at)) = found else {
            return Ok(None);
        };
        let counts = self.run_status_counts(run_id).await?;
        let count = |status: JobStatus| counts.get(status.as_str()).copied().unwrap_or(0);
        let (jobs, next) = self
            .run_jobs_page(run_id, page.after, page.limit, page.byte_budget)
            .await?;
        Ok(Some(Run {
            run_id: found_run_id,
            user_id: owner,
            created_at: from_micros(created_at)?,
            total: counts.values().sum(),
            completed: count(JobStatus::Completed),
            failed: count(JobStatus::Failed),
            rejected: serde_json::from_str(&rejected)?,
            jobs,
            next_cursor: next.map(|id| id.to_string()),
        }))
    }
}

/// Which page of a run's jobs to read.
#[derive(Debug, Clone, Copy)]
pub struct RunPage {
    /// The queue id to continue after (0: from the start).
    pub after: i64,
    pub limit: u32,
    /// Stop once the page's stored results add up to this many bytes.
    pub byte_budget: usize,
}

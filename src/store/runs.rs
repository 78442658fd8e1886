//! Runs: many files submitted in one request and followed with one subscription. A run and all its jobs are
//! inserted in one transaction, so a client never sees half a run.

use sqlx::Row;

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
}

impl Store {
    /// Inserts the run and its jobs atomically; committed before this returns.
    pub async fn insert_run(
        &self,
        run: &NewRun,
        jobs: &[NewJob],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut transaction = self.sqlite().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO runs (run_id, user_id, repo_id, total, rejected, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&run.run_id)
        .bind(&run.user_id)
        .bind(run.repo_id.as_deref())
        .bind(i64::try_from(jobs.len()).unwrap_or(i64::MAX))
        .bind(serde_json::to_string(&run.rejected)?)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        insert_jobs(&mut transaction, jobs, now).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Who owns `run_id`, if it exists.
    pub async fn run_owner(&self, run_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT user_id FROM runs WHERE run_id = $1")
            .bind(run_id)
            .fetch_optional(self.sqlite())
            .await?;
        Ok(row.map(|row| row.try_get("user_id")).transpose()?)
    }

    /// The run with its jobs (without `file_content`) and progress counts.
    pub async fn get_run(&self, run_id: &str) -> Result<Option<Run>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT run_id, user_id, rejected, created_at FROM runs WHERE run_id = $1")
                .bind(run_id)
                .fetch_optional(self.sqlite())
                .await?
        else {
            return Ok(None);
        };
        let rejected: String = row.try_get("rejected")?;
        let jobs = self.run_jobs(run_id).await?;
        let completed = jobs
            .iter()
            .filter(|job| job.status == JobStatus::Completed)
            .count();
        let failed = jobs
            .iter()
            .filter(|job| job.status == JobStatus::Failed)
            .count();
        Ok(Some(Run {
            run_id: row.try_get("run_id")?,
            user_id: row.try_get("user_id")?,
            created_at: from_micros(row.try_get("created_at")?)?,
            total: jobs.len(),
            completed,
            failed,
            rejected: serde_json::from_str(&rejected)?,
            jobs,
        }))
    }
}

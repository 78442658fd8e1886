//! Runs: many files submitted in one request and followed with one subscription. A run and all its jobs are
//! inserted in one transaction, so a client never sees half a run.

use sqlx::QueryBuilder;

use super::backend::{Dialect as _, StoreRow, on_pool};
use super::database::from_micros;
use super::jobs::{NewJob, escape_like, insert_jobs};
use super::{Store, StoreError};
use crate::protocol::{
    JobStatus, RejectedFile, Run, RunContext, RunGate, RunSummary, RunVerdict, Severity,
    SeverityCounts,
};

/// A run's verdict in SQL, from its counters and its gate's rank (see the `runs` migration); the same judgement
/// as [`RunVerdict`]'s in Rust ([`verdict_of`]), so that `--status failed` filters on the server.
const VERDICT_SQL: &str = "(CASE WHEN error IS NOT NULL THEN 'failed' \
     WHEN jobs_completed + jobs_failed < total THEN 'running' \
     WHEN (fail_rank >= 1 AND critical > 0) OR (fail_rank >= 2 AND major > 0) \
       OR (fail_rank >= 3 AND minor > 0) OR (fail_rank >= 4 AND info > 0) THEN 'failed' \
     WHEN jobs_failed > 0 OR jobs_incomplete > 0 OR refused > 0 THEN 'incomplete' \
     ELSE 'passed' END)";

const RUN_SUMMARY_COLUMNS: &str = "run_id, user_id, created_at, finished_at, total, jobs_completed, \
     jobs_failed, jobs_incomplete, refused, critical, major, minor, info, gate, context, error";

/// The gate as the rank `VERDICT_SQL` compares: 0 never fails on findings, 1 critical … 4 info.
fn fail_rank(gate: RunGate) -> i64 {
    match gate.fail_on {
        None => 0,
        Some(Severity::Critical) => 1,
        Some(Severity::Major) => 2,
        Some(Severity::Minor) => 3,
        Some(Severity::Info) => 4,
    }
}

/// Files refused at submission that make a run incomplete: all but those left out by the client's policy.
fn refused_count(rejected: &[RejectedFile]) -> i64 {
    i64::try_from(rejected.iter().filter(|file| !file.policy).count()).unwrap_or(i64::MAX)
}

/// The verdict of a run with these counts, as `VERDICT_SQL` judges it.
pub fn verdict_of(summary: &RunSummary) -> RunVerdict {
    if summary.error.is_some() {
        RunVerdict::Failed
    } else if summary.completed + summary.failed < summary.total {
        RunVerdict::Running
    } else if summary.gate.fails(&summary.findings) {
        RunVerdict::Failed
    } else if summary.failed > 0 || summary.incomplete > 0 {
        RunVerdict::Incomplete
    } else {
        RunVerdict::Passed
    }
}

/// Position after the last run of a page: `created_at` (µs), then the run id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCursor {
    pub created_at: i64,
    pub run_id: String,
}

impl RunCursor {
    /// The opaque string clients pass back as `cursor`.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.created_at, self.run_id)
    }

    pub fn decode(text: &str) -> Option<RunCursor> {
        let (created_at, run_id) = text.split_once('_')?;
        Some(RunCursor {
            created_at: created_at.parse().ok()?,
            run_id: run_id.to_owned(),
        })
    }
}

/// Server-side filters of `GET /api/v1/runs`.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub verdict: Option<RunVerdict>,
    /// Case-insensitive substring of the run id, commit, branch or repository.
    pub search: Option<String>,
    pub cursor: Option<RunCursor>,
    pub limit: u32,
}

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
    pub gate: RunGate,
    pub context: RunContext,
    /// Why the server refused the run: it is recorded, failed, with no jobs.
    pub error: Option<String>,
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
        let gate = serde_json::to_string(&run.gate)?;
        let context = (!run.context.is_empty())
            .then(|| serde_json::to_string(&run.context))
            .transpose()?;
        // A run with nothing to review (refused, or every file left out) is finished as it is created.
        let finished_at = jobs.is_empty().then_some(now);
        on_pool!(self, pool => {
            let mut transaction = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO runs (run_id, user_id, repo_id, total, rejected, created_at, rules, gate, \
                     fail_rank, context, error, refused, finished_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&run.run_id)
            .bind(&run.user_id)
            .bind(run.repo_id.as_deref())
            .bind(i64::try_from(jobs.len()).unwrap_or(i64::MAX))
            .bind(&rejected)
            .bind(now)
            .bind(rules.as_deref())
            .bind(&gate)
            .bind(fail_rank(run.gate))
            .bind(context.as_deref())
            .bind(run.error.as_deref())
            .bind(refused_count(&run.rejected))
            .bind(finished_at)
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
            // New jobs reopen a run whose earlier files had all finished.
            sqlx::query(
                "UPDATE runs SET total = total + $1, rejected = $2, refused = refused + $4, \
                     finished_at = CASE WHEN $1 > 0 THEN NULL ELSE finished_at END \
                 WHERE run_id = $3",
            )
                .bind(i64::try_from(jobs.len()).unwrap_or(i64::MAX))
                .bind(serde_json::to_string(&stored)?)
                .bind(run_id)
                .bind(refused_count(rejected))
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
        let summary = self.run_summary(run_id).await?;
        Ok(Some(Run {
            run_id: found_run_id,
            user_id: owner,
            created_at: from_micros(created_at)?,
            total: counts.values().sum(),
            completed: count(JobStatus::Completed),
            failed: count(JobStatus::Failed),
            rejected: serde_json::from_str(&rejected)?,
            summary,
            jobs,
            next_cursor: next.map(|id| id.to_string()),
        }))
    }
}

impl Store {
    /// Records that run `run_id` of `user_id` failed to start, with `reason` (the first reason stays); `false`
    /// when there is no such run of that user.
    pub async fn fail_run(
        &self,
        run_id: &str,
        user_id: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        Ok(on_pool!(self, pool => sqlx::query(
            "UPDATE runs SET error = COALESCE(error, $1) WHERE run_id = $2 AND user_id = $3",
        )
        .bind(format!("failed to start: {reason}"))
        .bind(run_id)
        .bind(user_id)
        .execute(pool)
        .await?
        .rows_affected())
            == 1)
    }

    /// One run's summary: its gate, context, counts and verdict.
    pub async fn run_summary(&self, run_id: &str) -> Result<Option<RunSummary>, StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {RUN_SUMMARY_COLUMNS} FROM runs WHERE run_id = $1"
            )))
            .bind(run_id)
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(summary_from_row).transpose()
        })
    }

    /// One page of `user_id`'s runs, newest first, and the cursor of the next page when there is one.
    pub async fn list_runs(
        &self,
        user_id: &str,
        filter: &RunFilter,
    ) -> Result<(Vec<RunSummary>, Option<RunCursor>), StoreError> {
        on_pool!(self, pool => {
            let mut query = QueryBuilder::new(format!(
                "SELECT {RUN_SUMMARY_COLUMNS} FROM runs WHERE user_id = "
            ));
            query.push_bind(user_id);
            if let Some(verdict) = filter.verdict {
                query.push(format!(" AND {VERDICT_SQL} = ")).push_bind(verdict.as_str());
            }
            if let Some(search) = filter.search.as_deref().filter(|search| !search.is_empty()) {
                let pattern = format!("%{}%", escape_like(search));
                let like = pool.sql(" LIKE ", " ILIKE ");
                query
                    .push(" AND (run_id")
                    .push(like)
                    .push_bind(pattern.clone())
                    .push(" ESCAPE '\\' OR context")
                    .push(like)
                    .push_bind(pattern)
                    .push(" ESCAPE '\\')");
            }
            if let Some(cursor) = &filter.cursor {
                // `created_at <= c` bounds the index range: a deep page seeks to its start.
                query
                    .push(" AND created_at <= ")
                    .push_bind(cursor.created_at)
                    .push(" AND (created_at < ")
                    .push_bind(cursor.created_at)
                    .push(" OR run_id < ")
                    .push_bind(cursor.run_id.clone())
                    .push(")");
            }
            query
                .push(" ORDER BY created_at DESC, run_id DESC LIMIT ")
                .push_bind(i64::from(filter.limit) + 1);
            let rows = query.build().fetch_all(pool).await?;
            let mut runs = Vec::with_capacity(rows.len());
            let mut positions = Vec::with_capacity(rows.len());
            for row in &rows {
                positions.push(RunCursor {
                    created_at: row.int("created_at")?,
                    run_id: row.text("run_id")?,
                });
                runs.push(summary_from_row(row)?);
            }
            let limit = filter.limit as usize;
            let next = (runs.len() > limit).then(|| positions.swap_remove(limit - 1));
            runs.truncate(limit);
            Ok((runs, next))
        })
    }
}

fn summary_from_row(row: &impl StoreRow) -> Result<RunSummary, StoreError> {
    let count = |column: &str| -> Result<usize, StoreError> {
        Ok(usize::try_from(row.int(column)?).unwrap_or(0))
    };
    let gate = match row.optional_text("gate")? {
        Some(gate) => serde_json::from_str(&gate)?,
        None => RunGate::default(),
    };
    let context = match row.optional_text("context")? {
        Some(context) => serde_json::from_str(&context)?,
        None => RunContext::default(),
    };
    let mut summary = RunSummary {
        run_id: row.text("run_id")?,
        user_id: row.text("user_id")?,
        created_at: from_micros(row.int("created_at")?)?,
        finished_at: row
            .optional_int("finished_at")?
            .map(from_micros)
            .transpose()?,
        verdict: RunVerdict::Running,
        total: count("total")?,
        completed: count("jobs_completed")?,
        failed: count("jobs_failed")?,
        incomplete: count("jobs_incomplete")? + count("refused")?,
        findings: SeverityCounts {
            critical: count("critical")?,
            major: count("major")?,
            minor: count("minor")?,
            info: count("info")?,
        },
        gate,
        context,
        error: row.optional_text("error")?,
    };
    summary.verdict = verdict_of(&summary);
    Ok(summary)
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

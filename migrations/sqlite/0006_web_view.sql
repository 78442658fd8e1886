-- The web view and run-level history. A run keeps its gate, its context (commit, branch, CI job), why the server
-- refused it, and counts kept up to date in the transaction that stores each of its jobs' results, so that a
-- list of runs reads one row per run.
ALTER TABLE runs ADD COLUMN gate TEXT;
-- The gate as a rank for SQL: 0 never fails on findings, 1 critical, 2 major (the default), 3 minor, 4 info.
ALTER TABLE runs ADD COLUMN fail_rank INTEGER NOT NULL DEFAULT 2;
ALTER TABLE runs ADD COLUMN context TEXT;
ALTER TABLE runs ADD COLUMN error TEXT;
ALTER TABLE runs ADD COLUMN jobs_completed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN jobs_failed BIGINT NOT NULL DEFAULT 0;
-- Completed jobs whose required stage did not run.
ALTER TABLE runs ADD COLUMN jobs_incomplete BIGINT NOT NULL DEFAULT 0;
-- Files refused at submission, by the server or the client's checks (not those left out by policy).
ALTER TABLE runs ADD COLUMN refused BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN critical BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN major BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN info BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN finished_at BIGINT;
-- The rule ids of a finished job's findings, space-separated with a space at each end, for searching history
-- by rule.
ALTER TABLE jobs ADD COLUMN rules TEXT;

UPDATE jobs SET rules = (
    SELECT ' ' || group_concat(rule_id, ' ') || ' '
    FROM (SELECT DISTINCT json_extract(finding.value, '$.rule_id') AS rule_id
          FROM json_each(jobs.results, '$.findings') AS finding)
) WHERE results IS NOT NULL;

UPDATE runs SET
    jobs_completed = (SELECT COUNT(*) FROM jobs WHERE jobs.run_id = runs.run_id AND status = 'completed'),
    jobs_failed = (SELECT COUNT(*) FROM jobs WHERE jobs.run_id = runs.run_id AND status = 'failed'),
    jobs_incomplete = (SELECT COUNT(*) FROM jobs WHERE jobs.run_id = runs.run_id AND status = 'completed'
        AND EXISTS (SELECT 1 FROM json_each(jobs.results, '$.stages') AS stage
                    WHERE json_extract(stage.value, '$.required') = 1
                      AND json_extract(stage.value, '$.outcome') <> 'ok')),
    refused = (SELECT COUNT(*) FROM json_each(runs.rejected) AS file
               WHERE COALESCE(json_extract(file.value, '$.policy'), 0) = 0);

UPDATE runs SET
    critical = (SELECT COUNT(*) FROM jobs, json_each(jobs.results, '$.findings') AS finding
                WHERE jobs.run_id = runs.run_id AND json_extract(finding.value, '$.severity') = 'critical')
        + (SELECT COALESCE(SUM(json_extract(results, '$.truncated.dropped.critical')), 0) FROM jobs
           WHERE jobs.run_id = runs.run_id),
    major = (SELECT COUNT(*) FROM jobs, json_each(jobs.results, '$.findings') AS finding
             WHERE jobs.run_id = runs.run_id AND json_extract(finding.value, '$.severity') = 'major')
        + (SELECT COALESCE(SUM(json_extract(results, '$.truncated.dropped.major')), 0) FROM jobs
           WHERE jobs.run_id = runs.run_id),
    minor = (SELECT COUNT(*) FROM jobs, json_each(jobs.results, '$.findings') AS finding
             WHERE jobs.run_id = runs.run_id AND json_extract(finding.value, '$.severity') = 'minor')
        + (SELECT COALESCE(SUM(json_extract(results, '$.truncated.dropped.minor')), 0) FROM jobs
           WHERE jobs.run_id = runs.run_id),
    info = (SELECT COUNT(*) FROM jobs, json_each(jobs.results, '$.findings') AS finding
            WHERE jobs.run_id = runs.run_id AND json_extract(finding.value, '$.severity') = 'info')
        + (SELECT COALESCE(SUM(json_extract(results, '$.truncated.dropped.info')), 0) FROM jobs
           WHERE jobs.run_id = runs.run_id),
    finished_at = CASE WHEN jobs_completed + jobs_failed >= total
        THEN COALESCE((SELECT MAX(completed_at) FROM jobs WHERE jobs.run_id = runs.run_id), created_at) END;

-- What a history search matches, lower-cased: path, job id, language and the rule ids of the job's findings.
ALTER TABLE jobs ADD COLUMN search TEXT;
UPDATE jobs SET search = lower(file_path || ' ' || job_id || ' ' || language || ' ' || COALESCE(rules, ''));

-- History pages are filtered from this index alone (every column a filter or search reads is in it), so a search
-- never reads the stored files and results of the rows it skips; only the page's rows are read from the table.
DROP INDEX jobs_history;
CREATE INDEX jobs_history ON jobs (user_id, created_at DESC, id DESC, status, job_type, language, run_id,
    search);

-- Runs newest first per user, with the run id as the tie-break of the keyset.
DROP INDEX runs_by_user;
CREATE INDEX runs_history ON runs (user_id, created_at DESC, run_id DESC);

-- Browser sessions: a cookie's value is shown once to the browser and stored here hashed. A session ends at
-- `expires_at`, at logout, or when the token it was opened with is revoked.
CREATE TABLE sessions (
    secret_hash TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    token_id    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_by_token ON sessions (token_id);

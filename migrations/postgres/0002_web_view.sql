-- The web view and run-level history (the SQLite schema's 0006): a run's gate, context, refusal and counts kept
-- up to date as its jobs finish; the rule ids of each job's findings; browser sessions.
ALTER TABLE runs ADD COLUMN gate TEXT;
-- 0 never fails on findings, 1 critical, 2 major (the default), 3 minor, 4 info.
ALTER TABLE runs ADD COLUMN fail_rank INTEGER NOT NULL DEFAULT 2;
ALTER TABLE runs ADD COLUMN context TEXT;
ALTER TABLE runs ADD COLUMN error TEXT;
ALTER TABLE runs ADD COLUMN jobs_completed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN jobs_failed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN jobs_incomplete BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN refused BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN critical BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN major BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN info BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN finished_at BIGINT;
ALTER TABLE jobs ADD COLUMN rules TEXT;

UPDATE jobs SET rules = (
    SELECT ' ' || string_agg(DISTINCT finding ->> 'rule_id', ' ') || ' '
    FROM jsonb_array_elements(jobs.results::jsonb -> 'findings') AS finding
) WHERE results IS NOT NULL;

UPDATE runs SET
    jobs_completed = (SELECT COUNT(*) FROM jobs WHERE jobs.run_id = runs.run_id AND status = 'completed'),
    jobs_failed = (SELECT COUNT(*) FROM jobs WHERE jobs.run_id = runs.run_id AND status = 'failed'),
    jobs_incomplete = (SELECT COUNT(*) FROM jobs WHERE jobs.run_id = runs.run_id AND status = 'completed'
        AND EXISTS (SELECT 1 FROM jsonb_array_elements(jobs.results::jsonb -> 'stages') AS stage
                    WHERE (stage ->> 'required')::boolean AND stage ->> 'outcome' <> 'ok')),
    refused = (SELECT COUNT(*) FROM jsonb_array_elements(runs.rejected::jsonb) AS file
               WHERE NOT COALESCE((file ->> 'policy')::boolean, FALSE));

UPDATE runs SET
    critical = (SELECT COUNT(*) FROM jobs, jsonb_array_elements(jobs.results::jsonb -> 'findings') AS finding
                WHERE jobs.run_id = runs.run_id AND finding ->> 'severity' = 'critical')
        + (SELECT COALESCE(SUM((results::jsonb #>> '{truncated,dropped,critical}')::bigint), 0) FROM jobs
           WHERE jobs.run_id = runs.run_id),
    major = (SELECT COUNT(*) FROM jobs, jsonb_array_elements(jobs.results::jsonb -> 'findings') AS finding
             WHERE jobs.run_id = runs.run_id AND finding ->> 'severity' = 'major')
        + (SELECT COALESCE(SUM((results::jsonb #>> '{truncated,dropped,major}')::bigint), 0) FROM jobs
           WHERE jobs.run_id = runs.run_id),
    minor = (SELECT COUNT(*) FROM jobs, jsonb_array_elements(jobs.results::jsonb -> 'findings') AS finding
             WHERE jobs.run_id = runs.run_id AND finding ->> 'severity' = 'minor')
        + (SELECT COALESCE(SUM((results::jsonb #>> '{truncated,dropped,minor}')::bigint), 0) FROM jobs
           WHERE jobs.run_id = runs.run_id),
    info = (SELECT COUNT(*) FROM jobs, jsonb_array_elements(jobs.results::jsonb -> 'findings') AS finding
            WHERE jobs.run_id = runs.run_id AND finding ->> 'severity' = 'info')
        + (SELECT COALESCE(SUM((results::jsonb #>> '{truncated,dropped,info}')::bigint), 0) FROM jobs
           WHERE jobs.run_id = runs.run_id),
    finished_at = CASE WHEN jobs_completed + jobs_failed >= total
        THEN COALESCE((SELECT MAX(completed_at) FROM jobs WHERE jobs.run_id = runs.run_id), created_at) END;

-- What a history search matches, lower-cased: path, job id, language and the rule ids of the job's findings.
ALTER TABLE jobs ADD COLUMN search TEXT;
UPDATE jobs SET search = lower(file_path || ' ' || job_id || ' ' || language || ' ' || COALESCE(rules, ''));

-- History pages are filtered from this index alone.
DROP INDEX jobs_history;
CREATE INDEX jobs_history ON jobs (user_id, created_at DESC, id DESC)
    INCLUDE (status, job_type, language, run_id, search);

-- A search that matches few rows is answered from a trigram index instead of a scan of every row of the user
-- (PostgreSQL picks it by its statistics). `pg_trgm` ships with PostgreSQL and is a trusted extension (13+); where
-- it cannot be created, searches still work, by scanning.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX jobs_search_trigrams ON jobs USING gin (search gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is unavailable (%): history searches scan the user''s rows', SQLERRM;
END
$$;

DROP INDEX runs_by_user;
CREATE INDEX runs_history ON runs (user_id, created_at DESC, run_id DESC);

CREATE TABLE sessions (
    secret_hash TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    token_id    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_by_token ON sessions (token_id);

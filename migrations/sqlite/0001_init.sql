-- CodeInsight review server schema (SQLite). Timestamps are Unix microseconds (BIGINT) so that ordering, cursors
-- and `since` filters compare integers, and the same schema translates to PostgreSQL without type gymnastics.

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    admin        BOOLEAN NOT NULL DEFAULT FALSE,
    -- Hex SHA-256 of the token's secret part; the token itself is shown once and never stored.
    secret_hash  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);

CREATE TABLE runs (
    run_id     TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    repo_id    TEXT,
    total      BIGINT NOT NULL,
    -- JSON array of protocol::RejectedFile.
    rejected   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX runs_by_user ON runs (user_id, created_at);

CREATE TABLE jobs (
    -- Queue order; PostgreSQL: BIGSERIAL.
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id         TEXT NOT NULL UNIQUE,
    user_id        TEXT NOT NULL,
    run_id         TEXT REFERENCES runs (run_id),
    job_type       TEXT NOT NULL,
    status         TEXT NOT NULL,
    file_path      TEXT NOT NULL,
    language       TEXT NOT NULL,
    repo_id        TEXT,
    file_content   TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    error_log      TEXT,
    no_cache       BOOLEAN NOT NULL DEFAULT FALSE,
    -- JSON protocol::JobResults once completed.
    results        TEXT,
    error          TEXT,
    cache_hit      BOOLEAN NOT NULL DEFAULT FALSE,
    -- JSON object.
    metadata       TEXT NOT NULL DEFAULT '{}',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    completed_at   BIGINT,
    -- Lease: the worker that claimed the job and until when the claim holds.
    worker         TEXT,
    lease_until    BIGINT,
    attempts       INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX jobs_history ON jobs (user_id, created_at DESC, id DESC);
CREATE INDEX jobs_by_run ON jobs (run_id, id);
-- Only open jobs are in this index, so a claim scans the queue, not the history.
CREATE INDEX jobs_open ON jobs (id) WHERE status IN ('pending', 'processing');
CREATE INDEX jobs_by_status ON jobs (status);

CREATE TABLE cache_entries (
    cache_key  TEXT PRIMARY KEY,
    -- JSON array of protocol::Finding.
    findings   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX cache_entries_expiry ON cache_entries (expires_at);

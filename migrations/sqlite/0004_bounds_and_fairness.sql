-- A cached result keeps the stage reports it was computed with (JSON `{"stages": [...], "truncated": ...}`), so
-- that a cache hit says what each linter said (a note such as "the file has compiler errors") instead of a bare
-- `ok`, and how many findings were over the bound. NULL for entries written before.
ALTER TABLE cache_entries ADD COLUMN details TEXT;
-- Findings stored so far for each run, so that a run's findings stay under the server's per-run bound.
ALTER TABLE runs ADD COLUMN findings_kept BIGINT NOT NULL DEFAULT 0;
-- Claims take users in turn: the oldest pending job of each user is found through this index.
CREATE INDEX jobs_pending_by_user ON jobs (user_id, id) WHERE status = 'pending';

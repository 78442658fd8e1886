-- The AI review stage: whether a job asked for it (NULL = the server's default), and what it consumed, as the
-- provider counted it. A cache hit records zero tokens and zero cost.
ALTER TABLE jobs ADD COLUMN ai BOOLEAN;
ALTER TABLE jobs ADD COLUMN prompt_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN completion_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN estimated_cost DOUBLE PRECISION NOT NULL DEFAULT 0;

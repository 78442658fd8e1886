-- The rule selection a run asked for (JSON `RuleSelection`: `select`, `ignore`, `per-path`); NULL runs the
-- default group. Kept on the run, not on each of its jobs.
ALTER TABLE runs ADD COLUMN rules TEXT;

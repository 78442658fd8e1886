-- A run can leave the external linters out (`review --no-linters`): its jobs then run the built-in rules and the
-- secrets scan only, and are cached apart from results that include linters.
ALTER TABLE jobs ADD COLUMN no_linters BOOLEAN NOT NULL DEFAULT FALSE;

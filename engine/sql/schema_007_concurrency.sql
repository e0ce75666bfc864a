-- Migration 007: one run per set of inputs, ids from sequences (issue 10).
-- Reads: nothing. Writes: creates run_keys. The sequences (run_ids) are made by the store after
-- this file, starting past the highest id already stored (engine/store.py, SEQUENCES).

-- A run's inputs (register, rules, scenario and gazetteer versions, as-of date, the clients and
-- their exposure versions) digested into one key. Two callers starting the same run at once
-- insert the same key: the database keeps one, and the second caller reuses the first's run.
CREATE TABLE IF NOT EXISTS run_keys (
    run_key VARCHAR PRIMARY KEY,
    run_id INTEGER NOT NULL
);

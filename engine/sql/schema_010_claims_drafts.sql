-- Migration 010: a run's key is claimed before the run is scored; scenario drafts (issue 10).
-- Reads: nothing. Writes: creates run_claims; adds scenario_versions.status.
-- A caller about to score a run first claims the run's key in a short transaction of its own:
-- one row per key being scored, naming the run id it will take, who scores it and when it last
-- said it still does (its heartbeat, in seconds since 1970). A second caller with the same key,
-- in this process or another, finds the claim and waits for run_keys to hold the run, then reuses
-- it; a claim whose heartbeat is older than the bound (its process was killed mid-run) is taken
-- over (engine/runs.py, CLAIM_TTL_S). The row is removed once the run is stored or given up.
CREATE TABLE IF NOT EXISTS run_claims (
    run_key VARCHAR PRIMARY KEY,
    run_id INTEGER NOT NULL,
    owner VARCHAR NOT NULL,
    heartbeat DOUBLE NOT NULL
);

-- Scenario versions get the publication workflow's status (engine/publication.py): 'draft'
-- (saved by an analyst: never current, never a roll-back target) or 'published' (made current
-- once, so a roll-back target). Every version stored before this migration was made current
-- when it was stored: 'published'.
ALTER TABLE scenario_versions ADD COLUMN status VARCHAR DEFAULT 'published';

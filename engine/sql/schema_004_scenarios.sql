-- Migration 004: scenarios and the gazetteer become versioned documents, and every run records
-- the versions of both it used.
-- Reads: nothing. Writes: creates scenario_versions, scenario_events, gazetteer_versions; adds
-- runs.scenario_version and runs.gazetteer_version (NULL for runs scored before this migration).
-- A scenario version is never updated in place: an edit inserts the next version. Which version is
-- current (or that the scenario is retired) is the latest event of that scenario; every event
-- records who, when and why.

CREATE TABLE IF NOT EXISTS scenario_versions (
    scenario_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by VARCHAR NOT NULL,
    note VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    source_yaml VARCHAR NOT NULL,       -- the text the analyst wrote (comments kept), for `show --yaml`
    document JSON NOT NULL,             -- the validated scenario, what runs apply
    sha256 VARCHAR NOT NULL,            -- of the document
    PRIMARY KEY (scenario_id, version)
);

CREATE TABLE IF NOT EXISTS scenario_events (
    event_id INTEGER PRIMARY KEY,       -- order of events; the latest per scenario decides
    scenario_id VARCHAR NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    by_user VARCHAR NOT NULL,
    action VARCHAR NOT NULL CHECK (action IN ('create', 'edit', 'rollback', 'retire')),
    version INTEGER NOT NULL,           -- the version current after the event (retire: the last one)
    note VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS gazetteer_versions (
    version INTEGER PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    sha256 VARCHAR NOT NULL UNIQUE,     -- of scoring_rules/data/gazetteer.yaml as loaded
    document VARCHAR NOT NULL           -- that file's text, for reproduction
);

ALTER TABLE runs ADD COLUMN scenario_version INTEGER;
ALTER TABLE runs ADD COLUMN gazetteer_version INTEGER;

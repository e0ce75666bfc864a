-- Migration 009: publications, watchlists and alerts (issue 14).
-- Reads: pointers, runs, register_versions. Writes: creates publications, follows,
-- alert_addresses, notifications;
-- backfills one 'baseline' publication from the latest run on the current versions, if any.
-- A publication is a moment the published picture changed (a register, rules, scenario or
-- exposure list was published or rolled back) and the run that scored the book right after it:
-- a client's rating history is its rating in these runs, and the cause of each move is read from
-- what the two runs record (register, rules, exposure, scenario and gazetteer versions, date).
-- A follow says who wants to hear when a client's rating moves, and by how much; a notification
-- is one such message, with the email's fate. Rows are never updated except notifications.read_at.

CREATE TABLE IF NOT EXISTS publications (
    pub_id INTEGER PRIMARY KEY,
    published_at TIMESTAMP NOT NULL,
    by_user VARCHAR NOT NULL,
    document VARCHAR NOT NULL,          -- baseline | register | rules | scenario | exposures
    subject VARCHAR,                    -- the scenario id or the client id, else NULL
    version INTEGER,                    -- the version made current
    note VARCHAR NOT NULL,
    run_id INTEGER NOT NULL             -- the baseline run on the published versions
);

CREATE TABLE IF NOT EXISTS follows (
    username VARCHAR NOT NULL,
    client_id VARCHAR NOT NULL,
    min_points DOUBLE,                  -- NULL: tell me when the band changes; else a score move
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (username, client_id)
);

-- where a user's alert emails go (no row: in the app only)
CREATE TABLE IF NOT EXISTS alert_addresses (
    username VARCHAR PRIMARY KEY,
    email VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS notifications (
    notification_id INTEGER PRIMARY KEY,
    username VARCHAR NOT NULL,
    client_id VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    pub_id INTEGER NOT NULL,
    run_before INTEGER NOT NULL,
    run_after INTEGER NOT NULL,
    band_before VARCHAR NOT NULL,
    band_after VARCHAR NOT NULL,
    score_before DOUBLE NOT NULL,
    score_after DOUBLE NOT NULL,
    cause VARCHAR NOT NULL,             -- in words, from the two runs' records
    email_status VARCHAR NOT NULL,      -- sent to ... | in-app only: ... | not sent: ...
    read_at TIMESTAMP
);

INSERT INTO publications
SELECT 1, r.created_at, 'system', 'baseline', NULL, NULL, 'ratings before history was kept',
       r.run_id
FROM runs r
JOIN register_versions v ON v.version = r.register_version
WHERE r.scenario_id IS NULL AND r.as_of = v.as_of AND r.n_clients > 0
  AND r.register_version = (SELECT version FROM pointers WHERE name = 'register')
  AND r.rules_version = (SELECT version FROM pointers WHERE name = 'rules')
  AND NOT EXISTS (SELECT 1 FROM publications)
ORDER BY r.run_id DESC
LIMIT 1;

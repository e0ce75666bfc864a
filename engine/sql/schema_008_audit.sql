-- Migration 008: one audit log for every publication, roll-back and account change, and a
-- status for preview versions.
-- Reads: register_versions, rules_versions, pointers. Writes: creates audit_events; marks 'published' the register or rules version a pointer names (versions made
-- current by an earlier roll-back kept the status 'draft'), and 'preview' the versions stored only
-- to score a preview.
-- audit_events is written in the same transaction as the change it records and is never updated
-- or deleted. A version's status is 'preview' (stored to score a preview, never a roll-back
-- target), 'draft' (saved by an analyst) or 'published' (once current, so a roll-back target).

CREATE TABLE IF NOT EXISTS audit_events (
    entry_id BIGINT PRIMARY KEY,        -- a unique, time-ordered id (engine/audit.py, entry_id)
    logged_at TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL,          -- the signed-in user, or the CLI's (OS user or --as)
    action VARCHAR NOT NULL,            -- publish | rollback | retire | client.* | user.*
    kind VARCHAR NOT NULL,              -- register | rules | scenario | exposures | client | user
    subject VARCHAR NOT NULL,           -- the scenario, client or user id ('' for register, rules)
    version INTEGER,                    -- the version made current (NULL when none)
    note VARCHAR NOT NULL,              -- why
    detail VARCHAR NOT NULL             -- JSON: anything else worth keeping
);

UPDATE register_versions SET status = 'published'
WHERE version IN (SELECT version FROM pointers WHERE name = 'register');
UPDATE rules_versions SET status = 'published'
WHERE version IN (SELECT version FROM pointers WHERE name = 'rules');
UPDATE register_versions SET status = 'preview'
WHERE status = 'draft' AND note LIKE 'draft for preview%';
UPDATE rules_versions SET status = 'preview'
WHERE status = 'draft' AND note LIKE 'draft for preview%';

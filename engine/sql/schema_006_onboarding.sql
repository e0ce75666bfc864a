-- Migration 006: client onboarding.
-- Reads: nothing. Writes: creates audit_log and mapping_templates.
-- audit_log records who created, changed or removed a client (and its data), when and why; it
-- is never updated or deleted. mapping_templates keeps a client's saved upload mappings (header
-- -> column, and value -> accepted value) by name and kind.

CREATE TABLE IF NOT EXISTS audit_log (
    entry_id INTEGER PRIMARY KEY,
    logged_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,             -- a username, or 'cli:<os user>' from the command line
    action VARCHAR NOT NULL,            -- client.add | client.edit | client.remove
    client_id VARCHAR NOT NULL,
    detail VARCHAR NOT NULL             -- JSON: what changed, or what was removed
);

CREATE TABLE IF NOT EXISTS mapping_templates (
    client_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL CHECK (kind IN ('assets', 'routes')),
    columns VARCHAR NOT NULL,           -- JSON object: user header -> canonical column or null
    "values" VARCHAR NOT NULL,          -- JSON object: column -> {user value: accepted value}
    saved_at TIMESTAMP NOT NULL,
    PRIMARY KEY (client_id, name, kind)
);

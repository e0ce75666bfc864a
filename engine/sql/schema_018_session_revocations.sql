-- Migration 018: signing out revokes the session in every app process of the store (issue 10).
-- Reads: nothing. Writes: creates revoked_sessions.
-- A row per signed-out browser session: the SHA-256 of its random session id (the id itself is
-- never stored), who it was, when it was revoked and until when its token could still be
-- presented (its idle lapse); rows past that are of no use and are removed as new ones come.
CREATE TABLE IF NOT EXISTS revoked_sessions (
    sid_hash VARCHAR PRIMARY KEY,
    username VARCHAR NOT NULL,
    revoked_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

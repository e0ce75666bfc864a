-- Migration 005: an optional second factor (TOTP, RFC 6238) for analysts and admins.
-- Reads: nothing. Writes: creates user_totp.
-- One row per user who turned it on (`resilience users totp NAME`); last_step is the time step of
-- the last code accepted, so a code cannot be used twice.

CREATE TABLE IF NOT EXISTS user_totp (
    username VARCHAR PRIMARY KEY,
    secret VARCHAR NOT NULL,            -- base32, as the authenticator app holds it
    created_at TIMESTAMP NOT NULL,
    last_step BIGINT NOT NULL DEFAULT 0
);

-- Migration 002: people who sign in to the app, and the clients each account manager looks after.
-- Reads: nothing. Writes: creates users and user_clients.
-- A user's role and client come from here, never from what a browser sends. Passwords are stored
-- only as argon2id hashes (engine/auth.py).

CREATE TABLE IF NOT EXISTS users (
    username VARCHAR PRIMARY KEY,
    password_hash VARCHAR NOT NULL,
    role VARCHAR NOT NULL CHECK (role IN ('client', 'account_manager', 'analyst', 'admin')),
    client_id VARCHAR,                  -- the one client a 'client' user belongs to; else NULL
    created_at TIMESTAMP NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT false,
    CHECK ((role = 'client') = (client_id IS NOT NULL))
);

-- An account manager's book: the clients they may see.
CREATE TABLE IF NOT EXISTS user_clients (
    username VARCHAR NOT NULL,
    client_id VARCHAR NOT NULL,
    PRIMARY KEY (username, client_id)
);

-- State that every process on this file must share: ended admin sessions, failed logins,
-- and leases so a singleton job (the daily purge) runs in one process at a time.
CREATE TABLE ended_sessions (session_id TEXT PRIMARY KEY, until FLOAT NOT NULL);
CREATE INDEX idx_ended_sessions_until ON ended_sessions (until);
CREATE TABLE login_failures (
    key TEXT PRIMARY KEY, failures INTEGER NOT NULL, first_at FLOAT NOT NULL,
    last_at FLOAT NOT NULL
);
CREATE INDEX idx_login_failures_last_at ON login_failures (last_at);
CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until FLOAT NOT NULL);
CREATE INDEX idx_conversations_updated_at ON conversations (updated_at);

-- Authorization server additions (docs/spec.md §4): what a client may ask for, and browser sessions.

-- Grant types a client registered (a client that never asked for refresh tokens gets none).
ALTER TABLE oauth_clients ADD COLUMN grant_types TEXT NOT NULL
    DEFAULT '["authorization_code","refresh_token"]'
    CHECK (json_valid(grant_types) AND json_type(grant_types) = 'array');
-- RFC 7591 / MCP 2026-07-28 `application_type` ("native" for desktop and CLI clients).
ALTER TABLE oauth_clients ADD COLUMN application_type TEXT
    CHECK (application_type IS NULL OR application_type IN ('native', 'web'));
-- When a Client ID Metadata Document stops being served from cache.
ALTER TABLE oauth_clients ADD COLUMN document_expires_at TEXT;

-- Signed-in browser sessions, stored only as SHA-256 hashes of the cookie value.
CREATE TABLE auth_sessions (
    session_hash TEXT PRIMARY KEY CHECK (length(session_hash) = 64),
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX auth_sessions_user ON auth_sessions(user_id);

-- API keys for servers (docs/spec.md §7, issue 8): a key acts for one organization with REST scopes.
-- Only the SHA-256 hex digest of the key is stored; `prefix` (the key's first 15 characters,
-- `pl_key_` and 8 of the random body) identifies it in listings and logs without revealing it.
-- `scopes` is the canonical space-separated list of REST scopes (no MCP scope: keys are for
-- servers calling the REST API); the CHECK removes every known scope with its own spaces and
-- requires nothing to remain, so an empty, unknown or badly spaced list is refused. A new scope
-- needs a migration that widens the check.
-- `rate_limit_per_minute` NULL means the server's default limit. Revoked keys keep their row
-- (revoked_at set) so listings show them; deleting an organization deletes its keys.
CREATE TABLE api_keys (
    id                    INTEGER PRIMARY KEY,
    prefix                TEXT NOT NULL CHECK (length(prefix) = 15 AND prefix GLOB 'pl_key_[0-9A-Za-z][0-9A-Za-z][0-9A-Za-z][0-9A-Za-z][0-9A-Za-z][0-9A-Za-z][0-9A-Za-z][0-9A-Za-z]'),
    secret_hash           TEXT NOT NULL UNIQUE CHECK (length(secret_hash) = 64 AND secret_hash NOT GLOB '*[^0-9a-f]*'),
    name                  TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200),
    organization_id       INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    scopes                TEXT NOT NULL CHECK (
        replace(replace(replace(replace(' ' || replace(scopes, ' ', '  ') || ' ',
            ' products:read ', ''), ' products:write ', ''), ' rules:write ', ''), ' accounts:read ', '') = ''
        AND scopes <> ''
    ),
    rate_limit_per_minute INTEGER CHECK (rate_limit_per_minute IS NULL OR rate_limit_per_minute BETWEEN 1 AND 1000000),
    created_by_user_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at            TEXT NOT NULL,
    last_used_at          TEXT,
    revoked_at            TEXT
);
CREATE INDEX api_keys_organization ON api_keys(organization_id);

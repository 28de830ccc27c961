-- The remaining entities of docs/spec.md §2: resolver rules (§5), users, OAuth clients, grants, codes
-- and tokens (§4), and the append-only audit log. The services that use them arrive with the
-- resolver and authorization issues; the constraints are here from the start.

-- Resolver rules (docs/spec.md §5). A rule belongs to exactly one scope instance:
--   SERIAL       scope_gtin + scope_qualifier (the serial)    BATCH  scope_gtin + scope_qualifier (the lot)
--   PRODUCT      scope_gtin                                   BRAND  brand_id
--   ORGANIZATION organization_id                              GLOBAL nothing
-- scope_key spells that instance as text so `order_index` can be unique within it.
CREATE TABLE resolver_rules (
    id                 INTEGER PRIMARY KEY,
    scope              TEXT NOT NULL CHECK (scope IN ('SERIAL', 'BATCH', 'PRODUCT', 'BRAND', 'ORGANIZATION', 'GLOBAL')),
    -- a GTIN-14 with a valid check digit (rules cannot be registered against invalid identifiers)
    scope_gtin         TEXT CHECK (scope_gtin IS NULL OR (length(scope_gtin) = 14 AND scope_gtin NOT GLOB '*[^0-9]*'
        AND (10 - (((substr(scope_gtin,1,1)+substr(scope_gtin,3,1)+substr(scope_gtin,5,1)+substr(scope_gtin,7,1)+substr(scope_gtin,9,1)+substr(scope_gtin,11,1)+substr(scope_gtin,13,1)) * 3 + (substr(scope_gtin,2,1)+substr(scope_gtin,4,1)+substr(scope_gtin,6,1)+substr(scope_gtin,8,1)+substr(scope_gtin,10,1)+substr(scope_gtin,12,1))) % 10)) % 10 = CAST(substr(scope_gtin,14,1) AS INTEGER))),
    scope_qualifier    TEXT CHECK (scope_qualifier IS NULL OR length(scope_qualifier) BETWEEN 1 AND 20),
    brand_id           INTEGER REFERENCES brands(id) ON DELETE CASCADE,
    organization_id    INTEGER REFERENCES organizations(id) ON DELETE CASCADE,
    scope_key          TEXT NOT NULL,
    order_index        INTEGER NOT NULL CHECK (order_index >= 0),
    enabled            INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    -- a GS1 Web Vocabulary link type as a CURIE; NULL = the default link
    link_type          TEXT CHECK (link_type IS NULL OR link_type GLOB 'gs1:[a-zA-Z]*'),
    destination_type   TEXT NOT NULL CHECK (destination_type IN ('HOSTED_PAGE', 'CUSTOM_URL')),
    custom_url         TEXT CHECK (custom_url IS NULL OR ((custom_url GLOB 'https://?*' OR custom_url GLOB 'http://?*') AND length(custom_url) <= 2000)),
    on_custom_url_dead TEXT NOT NULL DEFAULT 'FALLBACK_TO_HOSTED' CHECK (on_custom_url_dead IN ('SKIP_RULE', 'FALLBACK_TO_HOSTED')),
    -- criteria, combined with AND; NULL = no constraint
    starts_at          TEXT,
    ends_at            TEXT,
    annual_start       TEXT CHECK (annual_start IS NULL OR annual_start GLOB '[01][0-9]-[0-3][0-9]'),
    annual_end         TEXT CHECK (annual_end IS NULL OR annual_end GLOB '[01][0-9]-[0-3][0-9]'),
    -- ISO weekdays as bits: Monday = 1, Tuesday = 2, … Sunday = 64
    days_of_week       INTEGER CHECK (days_of_week IS NULL OR days_of_week BETWEEN 1 AND 127),
    time_start         TEXT CHECK (time_start IS NULL OR time_start GLOB '[0-2][0-9]:[0-5][0-9]'),
    time_end           TEXT CHECK (time_end IS NULL OR time_end GLOB '[0-2][0-9]:[0-5][0-9]'),
    time_zone          TEXT CHECK (time_zone IS NULL OR length(time_zone) BETWEEN 1 AND 64),
    countries          TEXT CHECK (countries IS NULL OR (json_valid(countries) AND json_type(countries) = 'array' AND json_array_length(countries) > 0)),
    languages          TEXT CHECK (languages IS NULL OR (json_valid(languages) AND json_type(languages) = 'array' AND json_array_length(languages) > 0)),
    -- custom-URL health, maintained by the background checker
    url_status         TEXT NOT NULL DEFAULT 'unknown' CHECK (url_status IN ('unknown', 'alive', 'dead')),
    url_failures       INTEGER NOT NULL DEFAULT 0 CHECK (url_failures >= 0),
    url_checked_at     TEXT,
    metadata           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK ((destination_type = 'CUSTOM_URL') = (custom_url IS NOT NULL)),
    CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at),
    CHECK ((annual_start IS NULL) = (annual_end IS NULL)),
    CHECK ((time_start IS NULL) = (time_end IS NULL) AND (time_start IS NULL OR time_zone IS NOT NULL)),
    CHECK (CASE scope
        WHEN 'SERIAL' THEN scope_gtin IS NOT NULL AND scope_qualifier IS NOT NULL AND brand_id IS NULL AND organization_id IS NULL
        WHEN 'BATCH' THEN scope_gtin IS NOT NULL AND scope_qualifier IS NOT NULL AND brand_id IS NULL AND organization_id IS NULL
        WHEN 'PRODUCT' THEN scope_gtin IS NOT NULL AND scope_qualifier IS NULL AND brand_id IS NULL AND organization_id IS NULL
        WHEN 'BRAND' THEN brand_id IS NOT NULL AND scope_gtin IS NULL AND scope_qualifier IS NULL AND organization_id IS NULL
        WHEN 'ORGANIZATION' THEN organization_id IS NOT NULL AND scope_gtin IS NULL AND scope_qualifier IS NULL AND brand_id IS NULL
        ELSE scope_gtin IS NULL AND scope_qualifier IS NULL AND brand_id IS NULL AND organization_id IS NULL
    END),
    CHECK (scope_key = CASE scope
        WHEN 'SERIAL' THEN scope_gtin || '/21/' || scope_qualifier
        WHEN 'BATCH' THEN scope_gtin || '/10/' || scope_qualifier
        WHEN 'PRODUCT' THEN scope_gtin
        WHEN 'BRAND' THEN 'brand:' || brand_id
        WHEN 'ORGANIZATION' THEN 'organization:' || organization_id
        ELSE ''
    END),
    UNIQUE (scope, scope_key, order_index)
);
CREATE INDEX resolver_rules_gtin ON resolver_rules(scope_gtin) WHERE scope_gtin IS NOT NULL;
CREATE INDEX resolver_rules_brand ON resolver_rules(brand_id) WHERE brand_id IS NOT NULL;
CREATE INDEX resolver_rules_organization ON resolver_rules(organization_id) WHERE organization_id IS NOT NULL;

CREATE TRIGGER resolver_rules_metadata_insert BEFORE INSERT ON resolver_rules
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'resolver_rules.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

CREATE TRIGGER resolver_rules_metadata_update BEFORE UPDATE OF metadata ON resolver_rules
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'resolver_rules.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

-- Users (docs/spec.md §4): email is stored lower-cased; passwords only as Argon2id PHC strings.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254 AND email GLOB '?*@?*'),
    password_hash TEXT NOT NULL CHECK (password_hash GLOB '$argon2id$*'),
    display_name  TEXT CHECK (display_name IS NULL OR length(display_name) BETWEEN 1 AND 200),
    organization_id INTEGER REFERENCES organizations(id) ON DELETE SET NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- OAuth clients (docs/spec.md §4): pre-registered (static), dynamically registered (dcr, RFC 7591) or
-- known by their Client ID Metadata Document (cimd, client_id is the document's https URL).
CREATE TABLE oauth_clients (
    client_id                  TEXT PRIMARY KEY CHECK (length(client_id) BETWEEN 1 AND 2000),
    kind                       TEXT NOT NULL CHECK (kind IN ('static', 'dcr', 'cimd')),
    client_name                TEXT CHECK (client_name IS NULL OR length(client_name) <= 200),
    redirect_uris              TEXT NOT NULL CHECK (json_valid(redirect_uris) AND json_type(redirect_uris) = 'array'),
    token_endpoint_auth_method TEXT NOT NULL CHECK (token_endpoint_auth_method IN ('none', 'client_secret_basic', 'client_secret_post')),
    -- only a hash of the secret is stored; public clients have none
    secret_hash                TEXT,
    scope                      TEXT NOT NULL DEFAULT '',
    -- the fetched metadata document (cimd), kept with its fetch time for bounded caching
    document                   TEXT CHECK (document IS NULL OR json_valid(document)),
    fetched_at                 TEXT,
    last_used_at               TEXT,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL,
    CHECK ((token_endpoint_auth_method = 'none') = (secret_hash IS NULL)),
    CHECK (kind <> 'cimd' OR client_id GLOB 'https://?*')
);

-- A user's consent to a client for some scopes; revocable by the user.
CREATE TABLE oauth_consents (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    revoked_at TEXT,
    PRIMARY KEY (user_id, client_id)
) WITHOUT ROWID;

-- One authorization (a code exchange and the refresh-token family that follows it). Revoking
-- the grant revokes every token of the family.
CREATE TABLE oauth_grants (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    -- RFC 8707 resource the tokens are bound to (their audience)
    resource   TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX oauth_grants_user ON oauth_grants(user_id);
CREATE INDEX oauth_grants_client ON oauth_grants(client_id);

-- Authorization codes: single use (used_at set atomically), short-lived, PKCE S256 only.
CREATE TABLE oauth_codes (
    code_hash      TEXT PRIMARY KEY CHECK (length(code_hash) = 64),
    grant_id       INTEGER NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL CHECK (length(code_challenge) = 43),
    expires_at     TEXT NOT NULL,
    used_at        TEXT
) WITHOUT ROWID;

-- Access and refresh tokens, stored only as SHA-256 hashes. A rotated refresh token keeps its
-- row (rotated_at set) so its reuse can be detected and the whole grant revoked.
CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY CHECK (length(token_hash) = 64),
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id   INTEGER NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    audience   TEXT,
    expires_at TEXT NOT NULL,
    rotated_at TEXT CHECK (rotated_at IS NULL OR kind = 'refresh'),
    revoked_at TEXT,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX oauth_tokens_grant ON oauth_tokens(grant_id);

-- The durable audit log (docs/spec.md §4 "queryable forever"): append-only.
CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY,
    occurred_at   TEXT NOT NULL,
    request_id    TEXT,
    action        TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    outcome       TEXT NOT NULL CHECK (length(outcome) BETWEEN 1 AND 100),
    -- users with audit history are disabled, never deleted (no ON DELETE action)
    user_id       INTEGER REFERENCES users(id),
    client_id     TEXT,
    target        TEXT,
    arguments     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(arguments)),
    before_state  TEXT CHECK (before_state IS NULL OR json_valid(before_state)),
    after_state   TEXT CHECK (after_state IS NULL OR json_valid(after_state))
);
CREATE INDEX audit_events_time ON audit_events(occurred_at);
CREATE INDEX audit_events_user ON audit_events(user_id) WHERE user_id IS NOT NULL;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events are append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events are append-only');
END;

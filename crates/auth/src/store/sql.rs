//! Every SQL statement of the auth store, written once for both backends.
//!
//! The text is the common dialect of SQLite and PostgreSQL: `$1`, `$2`… placeholders (sqlx's
//! SQLite driver binds `$N` to the N-th argument, as PostgreSQL does, so a placeholder may be
//! used twice), booleans tested with `NOT col` (SQLite stores them as 0/1, PostgreSQL as
//! BOOLEAN; both decode as `bool`), `CAST(… AS BIGINT)` rather than PostgreSQL's `::`, and
//! `ON CONFLICT … DO UPDATE/NOTHING` and `RETURNING`, which both accept. Single-use and
//! rotation steps are one `UPDATE … WHERE … IS NULL RETURNING …` each: on SQLite the statement
//! runs under the database's write lock, and on PostgreSQL under READ COMMITTED the second of
//! two concurrent updates waits for the first, re-checks the condition on the committed row
//! and matches nothing, so only one use succeeds on either.
//!
//! The only statement of one backend alone is PostgreSQL's revocation `NOTIFY`
//! ([`PG_NOTIFY`]).

/// `SELECT` of a user's columns from `users` (aliased `u` where joined), for `user` rows.
macro_rules! user_columns {
    () => {
        "SELECT u.id, u.email, u.password_hash, u.disabled, u.organization_id FROM "
    };
}

/// `SELECT` of API key rows for [`super::api_key_row`]: the key's columns, its organization's
/// name and the stored hash; the statement appends `WHERE …`.
macro_rules! api_key_select {
    () => {
        "SELECT k.id, k.prefix, k.name, k.organization_id, o.name AS organization_name, k.scopes, \
                k.rate_limit_per_minute, k.created_by_user_id, k.created_at, k.last_used_at, \
                k.revoked_at, k.secret_hash \
         FROM api_keys k JOIN organizations o ON o.id = k.organization_id "
    };
}

/// `SELECT` of organizations' columns, for `organization` rows.
macro_rules! organization_select {
    () => {
        "SELECT id, name, created_at FROM organizations "
    };
}

// Users and sessions.

pub(crate) const CREATE_USER: &str = "INSERT INTO users (email, password_hash, created_at, updated_at) \
     VALUES ($1, $2, $3, $3) RETURNING id";
pub(crate) const USER_BY_EMAIL: &str = concat!(user_columns!(), "users u WHERE u.email = $1");
pub(crate) const USER_BY_ID: &str = concat!(user_columns!(), "users u WHERE u.id = $1");
pub(crate) const CREATE_SESSION: &str = "INSERT INTO auth_sessions (session_hash, user_id, created_at, expires_at) \
     VALUES ($1, $2, $3, $4)";
pub(crate) const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM auth_sessions WHERE expires_at < $1";
pub(crate) const SESSION_USER: &str = concat!(
    user_columns!(),
    "auth_sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.session_hash = $1 AND s.expires_at > $2 AND NOT u.disabled"
);
pub(crate) const DELETE_SESSION: &str = "DELETE FROM auth_sessions WHERE session_hash = $1";

// Clients.

pub(crate) const CLIENT: &str = "SELECT client_id, kind, client_name, redirect_uris, token_endpoint_auth_method, \
            secret_hash, scope, grant_types, application_type, document, document_expires_at \
     FROM oauth_clients WHERE client_id = $1";
/// Binds: client_id, kind, client_name, redirect_uris, auth method, secret_hash, scope,
/// grant_types, application_type, document, fetched_at, document_expires_at, now.
pub(crate) const SAVE_CLIENT: &str = "INSERT INTO oauth_clients (client_id, kind, client_name, redirect_uris, \
         token_endpoint_auth_method, secret_hash, scope, grant_types, application_type, document, \
         fetched_at, document_expires_at, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
     ON CONFLICT(client_id) DO UPDATE SET kind = excluded.kind, client_name = excluded.client_name, \
         redirect_uris = excluded.redirect_uris, \
         token_endpoint_auth_method = excluded.token_endpoint_auth_method, \
         secret_hash = excluded.secret_hash, scope = excluded.scope, grant_types = excluded.grant_types, \
         application_type = excluded.application_type, document = excluded.document, \
         fetched_at = excluded.fetched_at, document_expires_at = excluded.document_expires_at, \
         updated_at = excluded.updated_at";
pub(crate) const TOUCH_CLIENT: &str =
    "UPDATE oauth_clients SET last_used_at = $1 WHERE client_id = $2";
pub(crate) const DELETE_STALE_CLIENTS: &str = "DELETE FROM oauth_clients \
     WHERE kind = 'dcr' AND last_used_at IS NULL AND created_at < $1 \
       AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_id = oauth_clients.client_id)";

// Consents and grants.

pub(crate) const CONSENT: &str = "SELECT scope FROM oauth_consents \
     WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL";
pub(crate) const SAVE_CONSENT: &str = "INSERT INTO oauth_consents (user_id, client_id, scope, granted_at) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT(user_id, client_id) DO UPDATE SET scope = excluded.scope, \
         granted_at = excluded.granted_at, revoked_at = NULL";
pub(crate) const CONSENTS: &str = "SELECT c.client_id, k.client_name, c.scope, c.granted_at FROM oauth_consents c \
     JOIN oauth_clients k ON k.client_id = c.client_id \
     WHERE c.user_id = $1 AND c.revoked_at IS NULL ORDER BY c.granted_at DESC";
pub(crate) const REVOKE_CONSENT: &str = "UPDATE oauth_consents SET revoked_at = $1 \
     WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL";
pub(crate) const REVOKE_CONSENT_GRANTS: &str = "UPDATE oauth_grants SET revoked_at = $1 \
     WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL";
pub(crate) const CREATE_GRANT: &str = "INSERT INTO oauth_grants (user_id, client_id, scope, resource, created_at) \
     VALUES ($1, $2, $3, $4, $5) RETURNING id";
pub(crate) const REVOKE_GRANT: &str =
    "UPDATE oauth_grants SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2";
pub(crate) const REVOKE_GRANT_TOKENS: &str =
    "UPDATE oauth_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE grant_id = $2";

// Codes and tokens.

pub(crate) const CREATE_CODE: &str = "INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, code_challenge, expires_at) \
     VALUES ($1, $2, $3, $4, $5)";
pub(crate) const CODE: &str = "SELECT c.redirect_uri, c.code_challenge, c.expires_at, c.used_at, g.id AS grant_id, \
            g.user_id, g.client_id, g.scope AS grant_scope, g.resource, g.revoked_at AS grant_revoked_at \
     FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id WHERE c.code_hash = $1";
pub(crate) const USE_CODE: &str = "UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL \
     RETURNING code_hash";
pub(crate) const CREATE_TOKEN: &str = "INSERT INTO oauth_tokens (token_hash, kind, grant_id, scope, audience, expires_at, \
         created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(crate) const TOKEN: &str = "SELECT t.token_hash, t.kind, t.grant_id, t.scope, t.audience, t.expires_at, t.rotated_at, \
            t.revoked_at, t.created_at, g.user_id, g.client_id, g.scope AS grant_scope, g.resource, \
            g.revoked_at AS grant_revoked_at \
     FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.token_hash = $1";
pub(crate) const ROTATE_REFRESH: &str = "UPDATE oauth_tokens SET rotated_at = $1 WHERE token_hash = $2 AND kind = 'refresh' \
       AND rotated_at IS NULL AND revoked_at IS NULL \
     RETURNING token_hash";
pub(crate) const REVOKE_TOKEN: &str =
    "UPDATE oauth_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE token_hash = $2";

// Audit and the server secret.

pub(crate) const AUDIT: &str = "INSERT INTO audit_events (occurred_at, request_id, action, outcome, user_id, client_id, \
         target, arguments) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub(crate) const COUNT_AUDIT: &str = "SELECT count(*) FROM audit_events \
     WHERE user_id = $1 AND action = $2 AND outcome = $3 AND occurred_at >= $4";
/// The first process to get here decides; a concurrent insert of the same key waits for the
/// first to commit and then does nothing, so [`SERVER_SECRET`] always reads the one secret.
pub(crate) const SAVE_SERVER_SECRET: &str = "INSERT INTO prodlink_meta (key, value, updated_at) \
     VALUES ('auth_secret', $1, $2) ON CONFLICT(key) DO NOTHING";
pub(crate) const SERVER_SECRET: &str = "SELECT value FROM prodlink_meta WHERE key = 'auth_secret'";

// Organizations.

pub(crate) const CREATE_ORGANIZATION: &str = "INSERT INTO organizations (name, created_at, updated_at) \
     VALUES ($1, $2, $2) RETURNING id";
pub(crate) const ORGANIZATION_BY_NAME: &str = concat!(organization_select!(), "WHERE name = $1");
pub(crate) const ORGANIZATION_BY_ID: &str = concat!(organization_select!(), "WHERE id = $1");
pub(crate) const ORGANIZATIONS: &str = concat!(organization_select!(), "ORDER BY name, id");
pub(crate) const SET_USER_ORGANIZATION: &str =
    "UPDATE users SET organization_id = $1, updated_at = $2 WHERE id = $3";

// API keys.

pub(crate) const CREATE_API_KEY: &str = "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, \
         rate_limit_per_minute, created_by_user_id, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
pub(crate) const API_KEY_BY_HASH: &str = concat!(api_key_select!(), "WHERE k.secret_hash = $1");
/// `$1` is an optional organization id; the cast gives PostgreSQL the type of a NULL.
pub(crate) const API_KEYS: &str = concat!(
    api_key_select!(),
    "WHERE CAST($1 AS BIGINT) IS NULL OR k.organization_id = $1 ORDER BY k.id"
);
pub(crate) const REVOKE_API_KEY: &str = "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
     RETURNING id";
/// Never moves the time back.
pub(crate) const TOUCH_API_KEY: &str = "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 \
       AND (last_used_at IS NULL OR last_used_at < $1)";

// PostgreSQL alone.

/// Announces a revocation on the channel bound as `$1` when the transaction commits.
pub(crate) const PG_NOTIFY: &str = "SELECT pg_notify($1, '')";

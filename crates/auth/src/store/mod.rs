//! Storage of accounts and their organizations, clients, consents, grants, codes, tokens,
//! sessions, API keys and audit rows.
//! [`AuthStore`] is what the authorization server uses; [`SqliteAuthStore`] implements it on
//! the catalog's SQLite database and [`PgAuthStore`] on its PostgreSQL database (the tables
//! are in the catalog migrations, one schema per backend). Both are one implementation
//! (`impl_sql.rs`, generated per backend) of one set of statements (`sql.rs`); `sqlite.rs` and
//! `postgres.rs` hold only the types and what the backends do their own way (transactions,
//! read retries, revocation announcements). Both behave identically:
//! single-use and rotation steps are atomic `UPDATE … WHERE … IS NULL RETURNING` statements, so two
//! concurrent uses of one code or refresh token cannot both succeed, and the server secret is
//! created once per database (`INSERT … ON CONFLICT DO NOTHING`, then read back).

#[macro_use]
mod impl_sql;
mod sql;

mod postgres;
mod sqlite;

use async_trait::async_trait;
use serde_json::Value;

/// The PostgreSQL notification channel on which revocations are announced to every process
/// (the store sends it in the revoking transaction; [`crate::AuthServer`] listens).
pub const REVOCATION_CHANNEL: &str = "prodlink_revocations";

pub use postgres::PgAuthStore;
pub use sqlite::SqliteAuthStore;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum AuthStoreError {
    /// A row with the same key exists.
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Id.
    pub id: i64,
    /// Lower-cased email.
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Disabled accounts cannot sign in or use tokens.
    pub disabled: bool,
    /// The organization the user acts for (whose brands and products they manage), if any.
    pub organization_id: Option<i64>,
}

/// An organization: a brand owner whose users and API keys act on its brands and products.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationRecord {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// When it was created.
    pub created_at: String,
}

/// An API key to store: only the hash of the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// The public prefix shown in listings (`pl_key_` and 8 characters).
    pub prefix: String,
    /// SHA-256 hex of the whole key.
    pub secret_hash: String,
    /// What the key is for, as its creator named it.
    pub name: String,
    /// The organization it acts for.
    pub organization_id: i64,
    /// REST scopes, canonical: sorted, unique, space-separated.
    pub scopes: String,
    /// Requests per minute; `None` = the server's default.
    pub rate_limit_per_minute: Option<u32>,
    /// The user who created it (none from the command line).
    pub created_by_user_id: Option<i64>,
    /// Creation time.
    pub created_at: String,
}

/// A stored API key, without its secret or hash (what listings show).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Id.
    pub id: i64,
    /// The public prefix (`pl_key_` and 8 characters of the key).
    pub prefix: String,
    /// What the key is for.
    pub name: String,
    /// The organization it acts for.
    pub organization_id: i64,
    /// That organization's name.
    pub organization_name: String,
    /// REST scopes.
    pub scopes: Vec<String>,
    /// Requests per minute; `None` = the server's default.
    pub rate_limit_per_minute: Option<u32>,
    /// The user who created it.
    pub created_by_user_id: Option<i64>,
    /// Creation time.
    pub created_at: String,
    /// Last time it was accepted (written at most about once a minute).
    pub last_used_at: Option<String>,
    /// Set when revoked.
    pub revoked_at: Option<String>,
}

/// How a client was registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// Pre-registered by the operator.
    Static,
    /// Dynamic Client Registration (RFC 7591).
    Dcr,
    /// Client ID Metadata Document.
    Cimd,
}

impl ClientKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Static => "static",
            Self::Dcr => "dcr",
            Self::Cimd => "cimd",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "static" => Self::Static,
            "cimd" => Self::Cimd,
            _ => Self::Dcr,
        }
    }
}

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client id.
    pub client_id: String,
    /// How it was registered.
    pub kind: ClientKind,
    /// Display name.
    pub client_name: Option<String>,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub auth_method: String,
    /// Hash of the client secret (confidential clients).
    pub secret_hash: Option<String>,
    /// Scopes the client may ask for (space-separated).
    pub scope: String,
    /// Grant types it may use.
    pub grant_types: Vec<String>,
    /// `native` or `web`, when the client said.
    pub application_type: Option<String>,
    /// The fetched document (CIMD).
    pub document: Option<String>,
    /// Until when the cached document is used (CIMD).
    pub document_expires_at: Option<String>,
}

/// A grant (one authorization and its token family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// Id.
    pub id: i64,
    /// The user who authorized.
    pub user_id: Option<i64>,
    /// The client.
    pub client_id: String,
    /// Granted scope.
    pub scope: String,
    /// Bound resource (token audience).
    pub resource: Option<String>,
    /// Set when the whole family is revoked.
    pub revoked_at: Option<String>,
}

/// An authorization code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// Its grant.
    pub grant: GrantRecord,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// Expiry.
    pub expires_at: String,
    /// Set once exchanged.
    pub used_at: Option<String>,
}

/// An access or refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// SHA-256 of the token.
    pub token_hash: String,
    /// `access` or `refresh`.
    pub kind: String,
    /// Its grant.
    pub grant_id: i64,
    /// Scope.
    pub scope: String,
    /// Audience (resource).
    pub audience: Option<String>,
    /// Expiry.
    pub expires_at: String,
    /// Set when a refresh token was exchanged for a new one.
    pub rotated_at: Option<String>,
    /// Set when revoked.
    pub revoked_at: Option<String>,
    /// Issue time.
    pub created_at: String,
}

/// A consent a user gave a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The client.
    pub client_id: String,
    /// Its display name.
    pub client_name: Option<String>,
    /// Consented scope.
    pub scope: String,
    /// When.
    pub granted_at: String,
}

/// A durable audit row.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// When.
    pub occurred_at: String,
    /// The HTTP request id.
    pub request_id: Option<String>,
    /// What (`generate_qr_url`, …).
    pub action: String,
    /// `ok` or an error code.
    pub outcome: String,
    /// The end user.
    pub user_id: Option<i64>,
    /// The client (agent).
    pub client_id: Option<String>,
    /// The object acted on (a GTIN, …).
    pub target: Option<String>,
    /// The arguments.
    pub arguments: Value,
}

/// Storage of the authorization server.
#[async_trait]
pub trait AuthStore: Send + Sync + 'static {
    /// Creates a user; `Conflict` if the email is taken.
    async fn create_user(
        &self,
        email: &str,
        password_hash: &str,
        now: &str,
    ) -> Result<i64, AuthStoreError>;
    /// A user by (lower-cased) email.
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, AuthStoreError>;
    /// A user by id.
    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, AuthStoreError>;

    /// Stores a session.
    async fn create_session(
        &self,
        hash: &str,
        user_id: i64,
        now: &str,
        expires: &str,
    ) -> Result<(), AuthStoreError>;
    /// The user of a live session.
    async fn session_user(
        &self,
        hash: &str,
        now: &str,
    ) -> Result<Option<UserRecord>, AuthStoreError>;
    /// Ends a session.
    async fn delete_session(&self, hash: &str) -> Result<(), AuthStoreError>;

    /// A client by id.
    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, AuthStoreError>;
    /// Creates or replaces a client.
    async fn save_client(&self, client: &ClientRecord, now: &str) -> Result<(), AuthStoreError>;
    /// Records that a client was used.
    async fn touch_client(&self, client_id: &str, now: &str) -> Result<(), AuthStoreError>;
    /// Deletes dynamically registered clients never used and created before `before`.
    async fn delete_stale_clients(&self, before: &str) -> Result<u64, AuthStoreError>;

    /// A user's live consent to a client: its scope.
    async fn consent(
        &self,
        user_id: i64,
        client_id: &str,
    ) -> Result<Option<String>, AuthStoreError>;
    /// Records a consent.
    async fn save_consent(
        &self,
        user_id: i64,
        client_id: &str,
        scope: &str,
        now: &str,
    ) -> Result<(), AuthStoreError>;
    /// A user's live consents.
    async fn consents(&self, user_id: i64) -> Result<Vec<ConsentRecord>, AuthStoreError>;
    /// Revokes a consent and every grant of that user to that client.
    async fn revoke_consent(
        &self,
        user_id: i64,
        client_id: &str,
        now: &str,
    ) -> Result<bool, AuthStoreError>;

    /// Creates a grant.
    async fn create_grant(
        &self,
        user_id: Option<i64>,
        client_id: &str,
        scope: &str,
        resource: Option<&str>,
        now: &str,
    ) -> Result<i64, AuthStoreError>;
    /// Revokes a grant and so its whole token family.
    async fn revoke_grant(&self, grant_id: i64, now: &str) -> Result<(), AuthStoreError>;
    /// Stores a code.
    async fn create_code(
        &self,
        hash: &str,
        grant_id: i64,
        redirect_uri: &str,
        challenge: &str,
        expires: &str,
    ) -> Result<(), AuthStoreError>;
    /// A code with its grant.
    async fn code(&self, hash: &str) -> Result<Option<CodeRecord>, AuthStoreError>;
    /// Marks a code used; `false` if it already was (atomic).
    async fn use_code(&self, hash: &str, now: &str) -> Result<bool, AuthStoreError>;
    /// Stores a token.
    async fn create_token(&self, token: &TokenRecord) -> Result<(), AuthStoreError>;
    /// A token with its grant.
    async fn token(&self, hash: &str)
    -> Result<Option<(TokenRecord, GrantRecord)>, AuthStoreError>;
    /// Marks a refresh token rotated; `false` if it already was or is revoked (atomic).
    async fn rotate_refresh(&self, hash: &str, now: &str) -> Result<bool, AuthStoreError>;
    /// Revokes one token.
    async fn revoke_token(&self, hash: &str, now: &str) -> Result<(), AuthStoreError>;

    /// Appends an audit row.
    async fn audit(&self, row: &AuditRecord) -> Result<(), AuthStoreError>;
    /// Counts a user's audit rows with an action and outcome since a time.
    async fn count_audit(
        &self,
        user_id: i64,
        action: &str,
        outcome: &str,
        since: &str,
    ) -> Result<u64, AuthStoreError>;

    /// The server's secret key (created on first use, shared by every process on the database).
    async fn server_secret(&self) -> Result<Vec<u8>, AuthStoreError>;

    /// Creates an organization; `Conflict` if the name is taken.
    async fn create_organization(&self, name: &str, now: &str) -> Result<i64, AuthStoreError>;
    /// An organization by its exact name.
    async fn organization_by_name(
        &self,
        name: &str,
    ) -> Result<Option<OrganizationRecord>, AuthStoreError>;
    /// An organization by id.
    async fn organization_by_id(
        &self,
        id: i64,
    ) -> Result<Option<OrganizationRecord>, AuthStoreError>;
    /// Every organization, by name.
    async fn organizations(&self) -> Result<Vec<OrganizationRecord>, AuthStoreError>;
    /// Puts a user in an organization (or none); `false` if there is no such user. On
    /// PostgreSQL every process is told (as for revocations), since it changes what the user
    /// may do.
    async fn set_user_organization(
        &self,
        user_id: i64,
        organization_id: Option<i64>,
        now: &str,
    ) -> Result<bool, AuthStoreError>;

    /// Stores an API key; returns its id.
    async fn create_api_key(&self, key: &NewApiKey) -> Result<i64, AuthStoreError>;
    /// The API key with this SHA-256 hash, and the stored hash.
    async fn api_key_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<(ApiKeyRecord, String)>, AuthStoreError>;
    /// API keys, revoked ones included, by id: one organization's or (`None`) all.
    async fn api_keys(
        &self,
        organization_id: Option<i64>,
    ) -> Result<Vec<ApiKeyRecord>, AuthStoreError>;
    /// Revokes an API key; `false` if there is no such key or it was revoked already. On
    /// PostgreSQL every process is told, as for token revocations.
    async fn revoke_api_key(&self, id: i64, now: &str) -> Result<bool, AuthStoreError>;
    /// Records that an API key was used at `now` (never moves the time back).
    async fn touch_api_key(&self, id: i64, now: &str) -> Result<(), AuthStoreError>;
}

/// A JSON array of strings stored as text (an unreadable value reads as empty).
pub(crate) fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

/// A list as JSON text.
pub(crate) fn json_text(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

/// Whether a database error is a duplicate key (SQLite `SQLITE_CONSTRAINT_UNIQUE` or
/// `_PRIMARYKEY`, PostgreSQL SQLSTATE 23505).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// An API key row of either backend (selected by [`sql::API_KEY_BY_HASH`] or [`sql::API_KEYS`])
/// with its stored hash.
pub(crate) fn api_key_row<'r, R>(r: &'r R) -> Result<(ApiKeyRecord, String), sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let rate: Option<i64> = r.try_get("rate_limit_per_minute")?;
    let scopes: String = r.try_get("scopes")?;
    Ok((
        ApiKeyRecord {
            id: r.try_get("id")?,
            prefix: r.try_get("prefix")?,
            name: r.try_get("name")?,
            organization_id: r.try_get("organization_id")?,
            organization_name: r.try_get("organization_name")?,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            rate_limit_per_minute: rate.and_then(|n| u32::try_from(n).ok()),
            created_by_user_id: r.try_get("created_by_user_id")?,
            created_at: r.try_get("created_at")?,
            last_used_at: r.try_get("last_used_at")?,
            revoked_at: r.try_get("revoked_at")?,
        },
        r.try_get("secret_hash")?,
    ))
}

/// A hex-encoded random secret for [`AuthStore::server_secret`] and the time it is written.
pub(crate) fn new_secret() -> (String, String) {
    (
        hex::encode(crate::secrets::random_bytes()),
        crate::clock::stamp(time::OffsetDateTime::now_utc()),
    )
}

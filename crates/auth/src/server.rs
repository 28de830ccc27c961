//! The authorization server (OAuth 2.1 with RFC 8414, 8707, 7591, 7009, 7662, 9207, 9728 and
//! Client ID Metadata Documents) and the resource server's bearer validation, without HTTP
//! types: the `web` crate turns requests into calls here and results into responses.
//!
//! Rules that matter most (OAuth 2.1's security considerations and RFC 9700, the OAuth security
//! best current practice): exact redirect matching with the loopback
//! port exception, and no redirect at all until client and redirect URI are known good; PKCE
//! S256 only; codes single-use for 60 s, bound to client, redirect URI, challenge, scope and
//! resource, a replay revoking the grant; refresh tokens rotated, reuse revoking the family,
//! scope only narrowing; `iss` and `state` on every authorization response; the `resource`
//! bound into the token audience and checked by the resource server.
//!
//! Also the REST API's other credentials and tenancy: API keys for servers (made, validated
//! with a cache that revocations clear, revoked, listed) and the organization each user and
//! key acts for.

use std::collections::BTreeSet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use quick_cache::sync::Cache;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

use crate::apikey::{self, ApiKeyError};
use crate::cimd::{self, FetchPolicy, Fetcher};
use crate::clock::{Clock, stamp};
use crate::params::Params;
use crate::password::{self, Passwords};
use crate::redirect;
use crate::secrets::{self, SecretKind};
use crate::store::{
    ApiKeyRecord, AuditRecord, AuthStore, AuthStoreError, ClientKind, ClientRecord, ConsentRecord,
    NewApiKey, OrganizationRecord, TokenRecord, UserRecord,
};

/// The MCP scope that unlocks `generate_qr_url`.
pub const QR_SCOPE: &str = "qr:generate";
/// Every scope the authorization server knows: the MCP one and the REST API's (docs/spec.md §4).
pub const SCOPES: &[&str] =
    &[QR_SCOPE, "products:read", "products:write", "rules:write", "accounts:read"];
/// The REST API's scopes (docs/spec.md §4, §7): what API keys may carry.
pub const REST_SCOPES: &[&str] =
    &["products:read", "products:write", "rules:write", "accounts:read"];
/// Scopes a dynamically registered or metadata-document client may obtain.
pub const PUBLIC_CLIENT_SCOPES: &[&str] = &[QR_SCOPE];
/// The client `prodlink token mint` issues tokens to.
pub const CLI_CLIENT_ID: &str = "prodlink-cli";

/// Settings of the authorization server.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Issuer: the site URL, byte-identical in every document and `iss`.
    pub issuer: String,
    /// The MCP resource (token audience): `{issuer}/mcp/http`.
    pub resource: String,
    /// Other names of the same resource (`{issuer}/mcp`, the second MCP endpoint), accepted
    /// as `resource` and as audience.
    pub resource_aliases: Vec<String>,
    /// Access token lifetime.
    pub access_ttl: Duration,
    /// Refresh token lifetime.
    pub refresh_ttl: Duration,
    /// Authorization code lifetime.
    pub code_ttl: Duration,
    /// Browser session lifetime.
    pub session_ttl: Duration,
    /// Whether people may create their own accounts.
    pub allow_signup: bool,
    /// Client metadata document fetching rules.
    pub fetch_policy: FetchPolicy,
    /// QR URLs a user may generate per UTC day.
    pub qr_per_day: u32,
    /// QR URLs a user may generate per UTC month.
    pub qr_per_month: u32,
    /// How long a validated token is trusted without asking the database again.
    pub token_cache_ttl: Duration,
}

impl AuthConfig {
    /// Defaults for a site URL (docs/spec.md §4 lifetimes: access 24 h, refresh 90 d).
    pub fn new(site_url: &str) -> Self {
        let issuer = site_url.trim_end_matches('/').to_owned();
        Self {
            resource: format!("{issuer}/mcp/http"),
            resource_aliases: vec![format!("{issuer}/mcp")],
            issuer,
            access_ttl: Duration::from_secs(24 * 3600),
            refresh_ttl: Duration::from_secs(90 * 24 * 3600),
            code_ttl: Duration::from_secs(60),
            session_ttl: Duration::from_secs(12 * 3600),
            allow_signup: false,
            fetch_policy: FetchPolicy::default(),
            qr_per_day: 100,
            qr_per_month: 1000,
            token_cache_ttl: Duration::from_secs(5),
        }
    }

    /// Whether cookies get `Secure`.
    pub fn https(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

/// Why the authorization server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Reading or creating the server secret failed.
    #[error("authorization server storage: {0}")]
    Store(#[from] AuthStoreError),
    /// The metadata-document HTTP client could not be built (e.g. a bad test CA file).
    #[error("client metadata fetcher: {0}")]
    Fetcher(String),
}

/// An OAuth error for the token, revocation, introspection and registration endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The RFC error code.
    pub error: &'static str,
    /// What was wrong.
    pub description: String,
    /// HTTP status.
    pub status: u16,
    /// Answer with `WWW-Authenticate: Basic` (client authentication with the header failed).
    pub basic_challenge: bool,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self { error, description: description.into(), status: 400, basic_challenge: false }
    }

    fn server(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "authorization server storage failed");
        Self {
            error: "server_error",
            description: "the server failed; retry later".into(),
            status: 500,
            basic_challenge: false,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
}

impl From<AuthStoreError> for OAuthError {
    fn from(e: AuthStoreError) -> Self {
        Self::server(e)
    }
}

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The client.
    pub client: ClientRecord,
    /// The redirect URI as requested.
    pub redirect_uri: String,
    /// Requested scope, normalized (sorted, space-separated).
    pub scope: String,
    /// The client's state, echoed back.
    pub state: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// The resource the token is for.
    pub resource: String,
}

impl AuthorizeRequest {
    /// The parameters that reproduce this request (for the consent form).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![
            ("response_type", "code".to_owned()),
            ("client_id", self.client.client_id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("scope", self.scope.clone()),
            ("code_challenge", self.code_challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
            ("resource", self.resource.clone()),
        ];
        if let Some(s) = &self.state {
            p.push(("state", s.clone()));
        }
        p
    }

    /// Host of the client id (what the consent page shows besides the self-asserted name).
    pub fn client_host(&self) -> Option<String> {
        Url::parse(&self.client.client_id).ok().and_then(|u| u.host_str().map(str::to_owned))
    }

    /// Host of the redirect URI.
    pub fn redirect_host(&self) -> String {
        Url::parse(&self.redirect_uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Whether every redirect URI of the client is on loopback (any local program could be
    /// the receiver, so consent is asked again each time).
    pub fn loopback_only(&self) -> bool {
        self.client.redirect_uris.iter().all(|u| {
            Url::parse(u)
                .ok()
                .is_some_and(|u| matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")))
        })
    }
}

/// Why an authorization request cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Client or redirect URI unusable: show an error page, never redirect (400).
    Page(String),
    /// Send the user back to the client with this URL (error, `state`, `iss`).
    Redirect(String),
}

/// A token endpoint success.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Granted scope.
    pub scope: String,
    /// A new refresh token, when the client uses them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// What a valid bearer token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The client (agent).
    pub client_id: String,
    /// The end user.
    pub user_id: Option<i64>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Expiry (unix seconds).
    pub expires_at: i64,
}

/// Why a bearer token is refused (always 401 `invalid_token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidToken(pub String);

/// What a valid API key grants: the organization it acts for, its scopes and rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// The key's id.
    pub id: i64,
    /// Its public prefix (`pl_key_` and 8 characters), for logs.
    pub prefix: String,
    /// Its name.
    pub name: String,
    /// The organization it acts for.
    pub organization_id: i64,
    /// Granted REST scopes.
    pub scopes: Vec<String>,
    /// Requests per minute; `None` = the server's default.
    pub rate_limit_per_minute: Option<u32>,
}

/// Why an API key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidApiKey {
    /// Not a well-formed key (not one at all, malformed, or a checksum mismatch), found
    /// without a lookup.
    #[error(transparent)]
    Format(#[from] ApiKeyError),
    /// Well-formed, but no such key exists.
    #[error("unknown API key")]
    Unknown,
    /// The key was revoked.
    #[error("the API key was revoked")]
    Revoked,
    /// The database failed; not the key's fault (never cached).
    #[error("the API key could not be checked; retry later")]
    Unavailable,
}

/// Why managing organizations, their users or API keys failed.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// The request is wrong (an unknown scope, an empty name, no such organization or user, a
    /// name taken); the message says what to change.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Store(AuthStoreError),
}

impl From<AuthStoreError> for ManageError {
    fn from(e: AuthStoreError) -> Self {
        match e {
            AuthStoreError::Conflict(m) => Self::Invalid(m),
            other => Self::Store(other),
        }
    }
}

/// Why a sign-in failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong email or password (the same message for both).
    BadCredentials,
    /// Too many attempts; retry after this many seconds.
    Throttled(u64),
    /// The server failed.
    Server,
}

/// A signed-in session: the cookie value and the user.
#[derive(Debug, Clone)]
pub struct Session {
    /// The cookie value (only its hash is stored).
    pub cookie: String,
    /// The user.
    pub user: UserRecord,
}

type Limiter = DefaultKeyedRateLimiter<String>;

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

/// Validated bearer tokens by hash, with the time they were read from the database.
type TokenCache = Cache<String, (Instant, Result<TokenInfo, InvalidToken>)>;

/// Validated API keys by hash, with the time they were read from the database.
type ApiKeyCache = Cache<String, (Instant, Result<ApiKeyInfo, InvalidApiKey>)>;

/// How often at most a key's `last_used_at` is written.
const API_KEY_TOUCH_INTERVAL: time::Duration = time::Duration::seconds(60);

/// What the resource server remembers between requests, each entry for `token_cache_ttl`; all
/// of it is dropped when anything is revoked (here, or, on PostgreSQL, by another process).
struct Caches {
    /// Bearer token validations.
    tokens: TokenCache,
    /// API key validations.
    api_keys: ApiKeyCache,
    /// Users' organizations.
    user_organizations: Cache<i64, (Instant, Option<i64>)>,
    /// Counts clears of `api_keys` and `user_organizations`: a lookup that started before a
    /// clear does not store its (possibly stale) answer.
    generation: AtomicU64,
}

impl Caches {
    fn new() -> Self {
        Self {
            tokens: Cache::new(100_000),
            api_keys: Cache::new(100_000),
            user_organizations: Cache::new(100_000),
            generation: AtomicU64::new(0),
        }
    }

    /// Forgets everything.
    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.tokens.clear();
        self.api_keys.clear();
        self.user_organizations.clear();
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

/// The PostgreSQL notification channel on which revocations are announced to every process.
pub const REVOCATION_CHANNEL: &str = "prodlink_revocations";

/// The authorization server.
pub struct AuthServer {
    config: AuthConfig,
    store: Arc<dyn AuthStore>,
    clock: Arc<dyn Clock>,
    fetcher: Arc<dyn Fetcher>,
    passwords: Passwords,
    secret: Vec<u8>,
    caches: Arc<Caches>,
    /// When this process last wrote each API key's `last_used_at`.
    api_key_touches: Mutex<HashMap<i64, OffsetDateTime>>,
    login_limiter: Limiter,
    register_limiter: Limiter,
}

impl std::fmt::Debug for AuthServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthServer").field("issuer", &self.config.issuer).finish()
    }
}

/// Listens for revocations other processes announce and clears the token and API key caches
/// on each one, and whenever the listening connection had to be re-established. Ends when the
/// server is dropped.
fn spawn_revocation_listener(pool: sqlx::PgPool, caches: std::sync::Weak<Caches>) {
    use sqlx::postgres::PgListener;
    /// Clears the caches; `false` once the server is gone.
    fn clear(caches: &std::sync::Weak<Caches>) -> bool {
        caches.upgrade().map(|c| c.clear()).is_some()
    }
    tokio::spawn(async move {
        let mut alive = tokio::time::interval(Duration::from_secs(5));
        loop {
            let listening = async {
                let mut l = PgListener::connect_with(&pool).await?;
                l.listen(REVOCATION_CHANNEL).await?;
                Ok::<_, sqlx::Error>(l)
            };
            let mut listener = match listening.await {
                Ok(l) => l,
                Err(e) => {
                    // A server gone (a command that closed its database) needs no warning.
                    if !clear(&caches) {
                        return;
                    }
                    tracing::warn!(error = %e, "cannot listen for revocations; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            // Whatever was revoked before we listened is in no announcement we will get.
            if !clear(&caches) {
                return;
            }
            loop {
                tokio::select! {
                    note = listener.try_recv() => match note {
                        // An announcement, or `None`: the connection dropped and is
                        // re-established on the next call, with announcements possibly lost.
                        Ok(_) => {
                            if !clear(&caches) {
                                return;
                            }
                        }
                        Err(e) => {
                            if caches.strong_count() == 0 {
                                return;
                            }
                            tracing::warn!(error = %e, "lost the revocation listener; reconnecting");
                            break;
                        }
                    },
                    _ = alive.tick() => {
                        if caches.strong_count() == 0 {
                            return;
                        }
                    }
                }
            }
        }
    });
}

fn normalize_email(email: &str) -> Result<String, String> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid { Ok(e) } else { Err(format!("{email:?} is not an email address")) }
}

/// A name people gave (an organization's, an API key's): trimmed, 1–200 characters, no
/// control characters.
fn display_name<'a>(name: &'a str, what: &str) -> Result<&'a str, ManageError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > 200 {
        return Err(ManageError::Invalid(format!("the {what} must have 1 to 200 characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(ManageError::Invalid(format!(
            "the {what} cannot contain control characters (tabs, line breaks)"
        )));
    }
    Ok(name)
}

/// The scopes of a new API key, canonical (sorted, unique, space-separated): REST scopes only.
fn api_key_scopes(scope: &str) -> Result<String, ManageError> {
    let set = scope_set(scope);
    let allowed = REST_SCOPES.join(" ");
    if set.is_empty() {
        return Err(ManageError::Invalid(format!(
            "give the API key at least one scope (space-separated) of: {allowed}"
        )));
    }
    if let Some(x) = set.iter().find(|x| !REST_SCOPES.contains(x)) {
        let why = if *x == QR_SCOPE {
            "is an MCP scope, and API keys are for servers calling the REST API"
        } else {
            "is not a scope"
        };
        return Err(ManageError::Invalid(format!("{x:?} {why}; API keys may have: {allowed}")));
    }
    Ok(join_scope(&set))
}

fn scope_set(scope: &str) -> BTreeSet<&str> {
    scope.split_whitespace().collect()
}

fn join_scope(set: &BTreeSet<&str>) -> String {
    set.iter().copied().collect::<Vec<_>>().join(" ")
}

/// Appends query parameters to a redirect URI (which may carry its own query).
fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let mut out = base.to_owned();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        out.push(sep);
        sep = '&';
        out.push_str(k);
        out.push('=');
        out.extend(url::form_urlencoded::byte_serialize(v.as_bytes()));
    }
    out
}

impl AuthServer {
    /// An authorization server.
    pub async fn new(
        config: AuthConfig,
        store: Arc<dyn AuthStore>,
        clock: Arc<dyn Clock>,
        fetcher: Arc<dyn Fetcher>,
    ) -> Result<Self, AuthStoreError> {
        let secret = store.server_secret().await?;
        Ok(Self {
            caches: Arc::new(Caches::new()),
            api_key_touches: Mutex::new(HashMap::new()),
            login_limiter: RateLimiter::keyed(
                per_minute(10).allow_burst(NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN)),
            ),
            register_limiter: RateLimiter::keyed(per_minute(10)),
            passwords: Passwords::new(2),
            config,
            store,
            clock,
            fetcher,
            secret,
        })
    }

    /// The production wiring over a SQLite database: the system clock and the SSRF-guarded
    /// HTTP fetcher for client metadata documents (with `config.fetch_policy`).
    pub async fn on_sqlite(config: AuthConfig, pool: sqlx::SqlitePool) -> Result<Self, StartError> {
        let fetcher =
            crate::cimd::HttpFetcher::new(&config.fetch_policy).map_err(StartError::Fetcher)?;
        let store = Arc::new(crate::store::SqliteAuthStore::new(pool));
        Ok(Self::new(config, store, Arc::new(crate::clock::SystemClock), Arc::new(fetcher)).await?)
    }

    /// The production wiring over a PostgreSQL database (see [`AuthServer::on_sqlite`]). Every
    /// process on the database shares its state and server secret. Revocations are announced
    /// with `NOTIFY` on [`REVOCATION_CHANNEL`]; every process listens and forgets its cached
    /// token and API key validations at once, so a token or key revoked through one process is
    /// refused by all (after a lost listening connection the caches are cleared as well, since
    /// announcements may have been missed; `config.token_cache_ttl` bounds the rest).
    pub async fn on_postgres(config: AuthConfig, pool: sqlx::PgPool) -> Result<Self, StartError> {
        let fetcher =
            crate::cimd::HttpFetcher::new(&config.fetch_policy).map_err(StartError::Fetcher)?;
        let store = Arc::new(crate::store::PgAuthStore::new(pool.clone()));
        let server =
            Self::new(config, store, Arc::new(crate::clock::SystemClock), Arc::new(fetcher))
                .await?;
        server.listen_for_revocations(pool);
        Ok(server)
    }

    /// Listens on the PostgreSQL database of `pool` for revocations announced by any process
    /// and drops this server's cached token and API key validations on each (see
    /// [`AuthServer::on_postgres`], which calls it). Stops when the server is dropped.
    pub fn listen_for_revocations(&self, pool: sqlx::PgPool) {
        spawn_revocation_listener(pool, Arc::downgrade(&self.caches));
    }

    /// The settings.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn later(&self, d: Duration) -> String {
        stamp(self.now() + d)
    }

    // -----------------------------------------------------------------------------------------
    // Discovery (RFC 8414, RFC 9728).

    /// Authorization server metadata (also served as `openid-configuration`).
    pub fn metadata(&self) -> Value {
        let i = &self.config.issuer;
        json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/o/authorize/"),
            "token_endpoint": format!("{i}/o/token/"),
            "registration_endpoint": format!("{i}/o/register/"),
            "revocation_endpoint": format!("{i}/o/revoke/"),
            "introspection_endpoint": format!("{i}/o/introspect/"),
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "client_id_metadata_document_supported": true,
            "authorization_response_iss_parameter_supported": true,
            "subject_types_supported": ["public"],
            "service_documentation": format!("{i}/"),
        })
    }

    /// Protected resource metadata for the MCP endpoint.
    pub fn resource_metadata(&self) -> Value {
        self.resource_metadata_for(&self.config.resource)
    }

    /// Protected resource metadata naming one of the resource's URLs (the path-suffixed
    /// well-known document of `/mcp` names `{issuer}/mcp`, RFC 9728 §3.3).
    pub fn resource_metadata_for(&self, resource: &str) -> Value {
        json!({
            "resource": resource,
            "authorization_servers": [self.config.issuer],
            "scopes_supported": [QR_SCOPE],
            "bearer_methods_supported": ["header"],
            "resource_name": "prodlink MCP server",
            "resource_documentation": format!("{}/", self.config.issuer),
        })
    }

    /// The URL of the protected resource metadata (for `resource_metadata=` challenges).
    pub fn resource_metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource", self.config.issuer)
    }

    // -----------------------------------------------------------------------------------------
    // Clients.

    /// Finds a client: registered ones from the database, URL-shaped ids from their metadata
    /// document (fetched, or from the bounded cache).
    pub async fn resolve_client(&self, client_id: &str) -> Result<ClientRecord, String> {
        let stored = self.store.client(client_id).await.map_err(|e| {
            tracing::error!(error = %e, "client lookup failed");
            "the server failed to look the client up".to_owned()
        })?;
        let url_shaped = client_id.starts_with("https://")
            || (self.config.fetch_policy.allow_http && client_id.starts_with("http://"));
        if !url_shaped {
            return stored.ok_or_else(|| format!("unknown client {client_id:?}"));
        }
        let now = stamp(self.now());
        if let Some(c) = stored.filter(|c| {
            c.kind == ClientKind::Cimd
                && c.document_expires_at.as_deref().is_some_and(|e| e > now.as_str())
        }) {
            return Ok(c);
        }
        let url = cimd::check_client_id_url(client_id, &self.config.fetch_policy)?;
        let fetched = self.fetcher.fetch(&url).await?;
        let doc = cimd::parse_document(client_id, &fetched.body)?;
        let scope = match &doc.scope {
            Some(s) => join_scope(
                &scope_set(s).into_iter().filter(|s| PUBLIC_CLIENT_SCOPES.contains(s)).collect(),
            ),
            None => QR_SCOPE.to_owned(),
        };
        let client = ClientRecord {
            client_id: client_id.to_owned(),
            kind: ClientKind::Cimd,
            client_name: Some(doc.client_name),
            redirect_uris: doc.redirect_uris,
            auth_method: "none".into(),
            secret_hash: None,
            scope: if scope.is_empty() { QR_SCOPE.to_owned() } else { scope },
            grant_types: doc.grant_types,
            application_type: None,
            document: Some(String::from_utf8_lossy(&fetched.body).into_owned()),
            document_expires_at: Some(self.later(fetched.max_age)),
        };
        self.store.save_client(&client, &now).await.map_err(|e| {
            tracing::error!(error = %e, "saving a client document failed");
            "the server failed to store the client".to_owned()
        })?;
        Ok(client)
    }

    /// Registers a client for the operator (`prodlink client add`, configuration). Returns the
    /// client id and, for confidential clients, the secret (shown once).
    pub async fn add_static_client(
        &self,
        client_id: Option<&str>,
        name: &str,
        redirect_uris: &[String],
        confidential: bool,
        secret: Option<&str>,
        scope: &str,
    ) -> Result<(String, Option<String>), String> {
        for u in redirect_uris {
            redirect::check_registrable(u)?;
        }
        for s in scope_set(scope) {
            if !SCOPES.contains(&s) {
                return Err(format!("unknown scope {s:?}; known: {}", SCOPES.join(" ")));
            }
        }
        let id = match client_id {
            Some(id) if id.starts_with("http") => return Err(
                "pre-registered client ids must not be URLs (URLs are metadata-document clients)"
                    .into(),
            ),
            Some(id) if !id.trim().is_empty() => id.trim().to_owned(),
            _ => secrets::generate(SecretKind::ClientId),
        };
        let secret = match (confidential, secret) {
            (false, _) => None,
            (true, Some(s)) => Some(s.to_owned()),
            (true, None) => Some(secrets::generate(SecretKind::ClientSecret)),
        };
        let client = ClientRecord {
            client_id: id.clone(),
            kind: ClientKind::Static,
            client_name: Some(name.to_owned()),
            redirect_uris: redirect_uris.to_vec(),
            auth_method: if secret.is_some() {
                "client_secret_basic".into()
            } else {
                "none".into()
            },
            secret_hash: secret.as_deref().map(secrets::hash),
            scope: scope.to_owned(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            application_type: None,
            document: None,
            document_expires_at: None,
        };
        self.store.save_client(&client, &stamp(self.now())).await.map_err(|e| e.to_string())?;
        Ok((id, secret))
    }

    /// Dynamic Client Registration (RFC 7591). Returns the 201 body.
    pub async fn register(&self, metadata: &Value, ip: IpAddr) -> Result<Value, OAuthError> {
        if self.register_limiter.check_key(&ip.to_string()).is_err() {
            return Err(OAuthError {
                status: 429,
                ..OAuthError::new(
                    "invalid_request",
                    "too many registrations from this address; retry in a minute",
                )
            });
        }
        let bad = |d: String| OAuthError::new("invalid_client_metadata", d);
        let Value::Object(m) = metadata else {
            return Err(bad("the body must be a JSON object".into()));
        };
        let uris: Vec<String> = m
            .get("redirect_uris")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                OAuthError::new(
                    "invalid_redirect_uri",
                    "redirect_uris is required: a list of 1 to 5 URIs",
                )
            })?
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                OAuthError::new("invalid_redirect_uri", "redirect_uris must be strings")
            })?;
        if uris.is_empty() || uris.len() > 5 {
            return Err(OAuthError::new("invalid_redirect_uri", "register 1 to 5 redirect URIs"));
        }
        for u in &uris {
            redirect::check_registrable(u)
                .map_err(|e| OAuthError::new("invalid_redirect_uri", e))?;
        }
        let method = m
            .get("token_endpoint_auth_method")
            .and_then(Value::as_str)
            .unwrap_or("client_secret_basic");
        if !matches!(method, "none" | "client_secret_basic" | "client_secret_post") {
            return Err(bad(format!(
                "token_endpoint_auth_method {method:?} is not supported (none, client_secret_basic, client_secret_post)"
            )));
        }
        let grant_types: Vec<String> = match m.get("grant_types").and_then(Value::as_array) {
            None => vec!["authorization_code".into(), "refresh_token".into()],
            Some(g) => g.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        };
        if !grant_types.iter().any(|g| g == "authorization_code")
            || grant_types
                .iter()
                .any(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
        {
            return Err(bad(
                "grant_types must be authorization_code, optionally with refresh_token".into(),
            ));
        }
        if let Some(r) = m.get("response_types").and_then(Value::as_array)
            && r.iter().any(|t| t.as_str() != Some("code"))
        {
            return Err(bad("response_types may only contain \"code\"".into()));
        }
        let scope = match m.get("scope").and_then(Value::as_str) {
            None => QR_SCOPE.to_owned(),
            Some(s) => {
                let set = scope_set(s);
                if let Some(x) = set.iter().find(|x| !PUBLIC_CLIENT_SCOPES.contains(x)) {
                    return Err(bad(format!(
                        "scope {x:?} cannot be registered; allowed: {}",
                        PUBLIC_CLIENT_SCOPES.join(" ")
                    )));
                }
                if set.is_empty() { QR_SCOPE.to_owned() } else { join_scope(&set) }
            }
        };
        let name = m
            .get("client_name")
            .and_then(Value::as_str)
            .map(|n| n.trim().chars().take(100).collect::<String>());
        let application_type = m
            .get("application_type")
            .and_then(Value::as_str)
            .filter(|t| matches!(*t, "native" | "web"))
            .map(str::to_owned);
        let client_id = secrets::generate(SecretKind::ClientId);
        let secret = (method != "none").then(|| secrets::generate(SecretKind::ClientSecret));
        let client = ClientRecord {
            client_id: client_id.clone(),
            kind: ClientKind::Dcr,
            client_name: name.clone(),
            redirect_uris: uris.clone(),
            auth_method: method.to_owned(),
            secret_hash: secret.as_deref().map(secrets::hash),
            scope: scope.clone(),
            grant_types: grant_types.clone(),
            application_type: application_type.clone(),
            document: None,
            document_expires_at: None,
        };
        let now = self.now();
        self.store.save_client(&client, &stamp(now)).await?;
        // Clients registered and never used for 14 days are removed.
        let _ = self
            .store
            .delete_stale_clients(&stamp(now - Duration::from_secs(14 * 24 * 3600)))
            .await;
        let mut body = json!({
            "client_id": client_id,
            "client_id_issued_at": now.unix_timestamp(),
            "redirect_uris": uris,
            "token_endpoint_auth_method": method,
            "grant_types": grant_types,
            "response_types": ["code"],
            "scope": scope,
        });
        if let Some(n) = name {
            body["client_name"] = n.into();
        }
        if let Some(t) = application_type {
            body["application_type"] = t.into();
        }
        if let Some(s) = secret {
            body["client_secret"] = s.into();
            body["client_secret_expires_at"] = 0.into();
        }
        Ok(body)
    }

    // -----------------------------------------------------------------------------------------
    // Authorization endpoint.

    /// Validates an authorization request. Until client and redirect URI are known good every
    /// problem is a page (never a redirect); after that, errors go back to the client with
    /// `error`, `state` and `iss`.
    pub async fn authorize(&self, p: &Params) -> Result<AuthorizeRequest, AuthorizeError> {
        let page = |m: String| AuthorizeError::Page(m);
        let client_id = p
            .get("client_id")
            .map_err(page)?
            .ok_or_else(|| page("the request has no client_id".into()))?;
        let client = self
            .resolve_client(client_id)
            .await
            .map_err(|e| page(format!("the client cannot be used: {e}")))?;
        let redirect_uri = p
            .get("redirect_uri")
            .map_err(page)?
            .ok_or_else(|| page("the request has no redirect_uri".into()))?;
        if !client.redirect_uris.iter().any(|r| redirect::matches(r, redirect_uri)) {
            return Err(page(format!(
                "the redirect_uri {redirect_uri:?} is not registered for this client"
            )));
        }
        // From here on, errors can be redirected safely. `state` itself may be repeated.
        let state = p.get("state").ok().flatten().map(str::to_owned);
        let fail = |error: &str, description: &str| {
            let mut q: Vec<(&str, &str)> =
                vec![("error", error), ("error_description", description)];
            if let Some(s) = &state {
                q.push(("state", s));
            }
            q.push(("iss", &self.config.issuer));
            AuthorizeError::Redirect(with_query(redirect_uri, &q))
        };
        if let Some(dup) = p.repeated(&[
            "response_type",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
            "resource",
            "redirect_uri",
            "client_id",
        ]) {
            return Err(fail("invalid_request", &dup));
        }
        match p.get("response_type").ok().flatten() {
            Some("code") => {}
            None => return Err(fail("invalid_request", "response_type is required (code)")),
            Some(_) => {
                return Err(fail(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ));
            }
        }
        let challenge = p.get("code_challenge").ok().flatten().ok_or_else(|| {
            fail(
                "invalid_request",
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            )
        })?;
        match p.get("code_challenge_method").ok().flatten() {
            Some("S256") => {}
            None => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method=S256 is required (plain is not allowed)",
                ));
            }
            Some(m) => {
                return Err(fail(
                    "invalid_request",
                    &format!("code_challenge_method {m} is not supported; use S256"),
                ));
            }
        }
        if !secrets::valid_challenge(challenge) {
            return Err(fail(
                "invalid_request",
                "code_challenge must be 43 characters of base64url (the S256 of the verifier)",
            ));
        }
        let allowed = scope_set(&client.scope);
        let scope = match p.get("scope").ok().flatten() {
            None => client.scope.clone(),
            Some(s) => {
                let requested = scope_set(s);
                if let Some(x) = requested.iter().find(|x| !allowed.contains(*x)) {
                    return Err(fail(
                        "invalid_scope",
                        &format!(
                            "scope {x} is not available to this client (allowed: {})",
                            client.scope
                        ),
                    ));
                }
                join_scope(&requested)
            }
        };
        if scope.is_empty() {
            return Err(fail("invalid_scope", "no scope was requested"));
        }
        let resource = match p.get("resource").ok().flatten() {
            None => self.config.resource.clone(),
            Some(r) => match self.canonical_resource(r) {
                Some(known) => known,
                None => {
                    return Err(fail(
                        "invalid_target",
                        &format!(
                            "unknown resource {r}; this server protects {}",
                            self.config.resource
                        ),
                    ));
                }
            },
        };
        Ok(AuthorizeRequest {
            client,
            redirect_uri: redirect_uri.to_owned(),
            scope,
            state,
            code_challenge: challenge.to_owned(),
            resource,
        })
    }

    /// Whether `r` names this server's resource (scheme and host compared case-insensitively,
    /// one trailing slash tolerated).
    fn same_resource(&self, r: &str) -> bool {
        self.canonical_resource(r).is_some()
    }

    /// The configured name (primary or alias) that `r` denotes, if any.
    fn canonical_resource(&self, r: &str) -> Option<String> {
        let norm = |s: &str| {
            Url::parse(s.trim_end_matches('/'))
                .ok()
                .map(|u| u.as_str().trim_end_matches('/').to_owned())
        };
        let wanted = norm(r)?;
        std::iter::once(&self.config.resource)
            .chain(&self.config.resource_aliases)
            .find(|known| norm(known).as_deref() == Some(wanted.as_str()))
            .cloned()
    }

    /// Whether the user must be asked: always for clients that only redirect to loopback (any
    /// local program could claim them), else when the user has not consented to these scopes.
    pub async fn needs_consent(&self, user: &UserRecord, req: &AuthorizeRequest) -> bool {
        if req.loopback_only() {
            return true;
        }
        match self.store.consent(user.id, &req.client.client_id).await {
            Ok(Some(scope)) => !scope_set(&req.scope).is_subset(&scope_set(&scope)),
            _ => true,
        }
    }

    /// The CSRF token of a consent form: bound to the session and to every parameter of the
    /// pending request.
    pub fn consent_token(&self, session_cookie: &str, req: &AuthorizeRequest) -> String {
        let mut msg = secrets::hash(session_cookie);
        for (k, v) in req.params() {
            msg.push('\u{1f}');
            msg.push_str(k);
            msg.push('=');
            msg.push_str(&v);
        }
        secrets::mac(&self.secret, msg.as_bytes())
    }

    /// Checks a consent form's CSRF token.
    pub fn check_consent_token(
        &self,
        session_cookie: &str,
        req: &AuthorizeRequest,
        token: &str,
    ) -> bool {
        secrets::ct_eq(self.consent_token(session_cookie, req).as_bytes(), token.as_bytes())
    }

    /// The user approved: records consent, issues a code, returns where to send the browser.
    pub async fn approve(
        &self,
        user: &UserRecord,
        req: &AuthorizeRequest,
    ) -> Result<String, AuthStoreError> {
        let now = stamp(self.now());
        self.store.save_consent(user.id, &req.client.client_id, &req.scope, &now).await?;
        let grant = self
            .store
            .create_grant(
                Some(user.id),
                &req.client.client_id,
                &req.scope,
                Some(&req.resource),
                &now,
            )
            .await?;
        let code = secrets::generate(SecretKind::Code);
        self.store
            .create_code(
                &secrets::hash(&code),
                grant,
                &req.redirect_uri,
                &req.code_challenge,
                &self.later(self.config.code_ttl),
            )
            .await?;
        self.store.touch_client(&req.client.client_id, &now).await?;
        let mut q: Vec<(&str, &str)> = vec![("code", &code)];
        if let Some(s) = &req.state {
            q.push(("state", s));
        }
        q.push(("iss", &self.config.issuer));
        Ok(with_query(&req.redirect_uri, &q))
    }

    /// The user declined.
    pub fn deny(&self, req: &AuthorizeRequest) -> String {
        let mut q: Vec<(&str, &str)> =
            vec![("error", "access_denied"), ("error_description", "the user declined")];
        if let Some(s) = &req.state {
            q.push(("state", s));
        }
        q.push(("iss", &self.config.issuer));
        with_query(&req.redirect_uri, &q)
    }

    // -----------------------------------------------------------------------------------------
    // Token endpoint.

    /// Authenticates the client of a token, revocation or introspection request.
    async fn authenticate_client(
        &self,
        p: &Params,
        basic: Option<(String, String)>,
    ) -> Result<ClientRecord, OAuthError> {
        let form_id = p.get("client_id").map_err(|e| OAuthError::new("invalid_request", e))?;
        let form_secret =
            p.get("client_secret").map_err(|e| OAuthError::new("invalid_request", e))?;
        let invalid = |header: bool, d: &str| OAuthError {
            status: 401,
            basic_challenge: header,
            ..OAuthError::new("invalid_client", d)
        };
        match (basic, form_secret) {
            (Some(_), Some(_)) => Err(OAuthError::new(
                "invalid_request",
                "use one client authentication method, not two",
            )),
            (Some((id, secret)), None) => {
                if form_id.is_some_and(|f| f != id) {
                    return Err(OAuthError::new(
                        "invalid_request",
                        "client_id differs from the Authorization header",
                    ));
                }
                let c = self
                    .store
                    .client(&id)
                    .await?
                    .ok_or_else(|| invalid(true, "client authentication failed"))?;
                match &c.secret_hash {
                    Some(h) if secrets::verify(&secret, h) => Ok(c),
                    _ => Err(invalid(true, "client authentication failed")),
                }
            }
            (None, Some(secret)) => {
                let id = form_id.ok_or_else(|| {
                    OAuthError::new("invalid_request", "client_secret without client_id")
                })?;
                let c = self
                    .store
                    .client(id)
                    .await?
                    .ok_or_else(|| invalid(false, "client authentication failed"))?;
                match &c.secret_hash {
                    Some(h) if secrets::verify(secret, h) => Ok(c),
                    _ => Err(invalid(false, "client authentication failed")),
                }
            }
            (None, None) => {
                let id = form_id.ok_or_else(|| invalid(false, "client_id is required"))?;
                let c = self.resolve_client(id).await.map_err(|e| invalid(false, &e))?;
                if c.secret_hash.is_some() {
                    return Err(invalid(
                        false,
                        "this client must authenticate (client_secret_basic or client_secret_post)",
                    ));
                }
                Ok(c)
            }
        }
    }

    async fn issue(
        &self,
        grant_id: i64,
        scope: &str,
        audience: &str,
        refresh: bool,
    ) -> Result<TokenResponse, AuthStoreError> {
        let now = self.now();
        let access = secrets::generate(SecretKind::AccessToken);
        self.store
            .create_token(&TokenRecord {
                token_hash: secrets::hash(&access),
                kind: "access".into(),
                grant_id,
                scope: scope.to_owned(),
                audience: Some(audience.to_owned()),
                expires_at: stamp(now + self.config.access_ttl),
                rotated_at: None,
                revoked_at: None,
                created_at: stamp(now),
            })
            .await?;
        let refresh_token = if refresh {
            let rt = secrets::generate(SecretKind::RefreshToken);
            self.store
                .create_token(&TokenRecord {
                    token_hash: secrets::hash(&rt),
                    kind: "refresh".into(),
                    grant_id,
                    scope: scope.to_owned(),
                    audience: Some(audience.to_owned()),
                    expires_at: stamp(now + self.config.refresh_ttl),
                    rotated_at: None,
                    revoked_at: None,
                    created_at: stamp(now),
                })
                .await?;
            Some(rt)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token: access,
            token_type: "Bearer",
            expires_in: self.config.access_ttl.as_secs(),
            scope: scope.to_owned(),
            refresh_token,
        })
    }

    /// The token endpoint (`authorization_code` and `refresh_token` grants).
    pub async fn token(
        &self,
        p: &Params,
        basic: Option<(String, String)>,
    ) -> Result<TokenResponse, OAuthError> {
        if let Some(dup) = p.repeated(&[
            "grant_type",
            "code",
            "redirect_uri",
            "code_verifier",
            "refresh_token",
            "scope",
            "resource",
            "client_id",
            "client_secret",
        ]) {
            return Err(OAuthError::new("invalid_request", dup));
        }
        let client = self.authenticate_client(p, basic).await?;
        let get = |n: &str| p.get(n).ok().flatten();
        let resource_ok = |bound: &Option<String>| match (get("resource"), bound) {
            (None, _) => Ok(()),
            (Some(r), Some(b)) if self.same_resource(r) && self.same_resource(b) => Ok(()),
            (Some(r), _) => Err(OAuthError::new(
                "invalid_target",
                format!("the resource {r} is not the one this grant was issued for"),
            )),
        };
        let now = stamp(self.now());
        match get("grant_type") {
            Some("authorization_code") => {
                let code = get("code")
                    .ok_or_else(|| OAuthError::new("invalid_request", "code is required"))?;
                let verifier = get("code_verifier").ok_or_else(|| {
                    OAuthError::new("invalid_request", "code_verifier is required (PKCE)")
                })?;
                let redirect_uri = get("redirect_uri").ok_or_else(|| {
                    OAuthError::new("invalid_request", "redirect_uri is required")
                })?;
                let hash = secrets::hash(code);
                let rec = self.store.code(&hash).await?.ok_or_else(|| {
                    OAuthError::new("invalid_grant", "unknown authorization code")
                })?;
                if rec.grant.client_id != client.client_id {
                    return Err(OAuthError::new(
                        "invalid_grant",
                        "the code was issued to another client",
                    ));
                }
                if rec.redirect_uri != redirect_uri {
                    return Err(OAuthError::new(
                        "invalid_grant",
                        "redirect_uri differs from the authorization request",
                    ));
                }
                if !secrets::valid_verifier(verifier)
                    || !secrets::ct_eq(
                        secrets::pkce_challenge(verifier).as_bytes(),
                        rec.code_challenge.as_bytes(),
                    )
                {
                    return Err(OAuthError::new(
                        "invalid_grant",
                        "the code_verifier does not match the code_challenge",
                    ));
                }
                resource_ok(&rec.grant.resource)?;
                if rec.expires_at.as_str() <= now.as_str() {
                    return Err(OAuthError::new("invalid_grant", "the authorization code expired"));
                }
                // A second valid use of a code: deny and revoke everything issued from it.
                if rec.used_at.is_some() || !self.store.use_code(&hash, &now).await? {
                    self.revoke_grant(rec.grant.id).await?;
                    return Err(OAuthError::new(
                        "invalid_grant",
                        "the authorization code was already used; its tokens are revoked",
                    ));
                }
                if rec.grant.revoked_at.is_some() {
                    return Err(OAuthError::new("invalid_grant", "the grant was revoked"));
                }
                let refresh = client.grant_types.iter().any(|g| g == "refresh_token");
                let audience =
                    rec.grant.resource.clone().unwrap_or_else(|| self.config.resource.clone());
                Ok(self.issue(rec.grant.id, &rec.grant.scope, &audience, refresh).await?)
            }
            Some("refresh_token") => {
                let token = get("refresh_token").ok_or_else(|| {
                    OAuthError::new("invalid_request", "refresh_token is required")
                })?;
                let hash = secrets::hash(token);
                let (t, grant) = self
                    .store
                    .token(&hash)
                    .await?
                    .filter(|(t, _)| t.kind == "refresh")
                    .ok_or_else(|| OAuthError::new("invalid_grant", "unknown refresh token"))?;
                if grant.client_id != client.client_id {
                    return Err(OAuthError::new(
                        "invalid_grant",
                        "the refresh token was issued to another client",
                    ));
                }
                if t.revoked_at.is_some() || grant.revoked_at.is_some() {
                    return Err(OAuthError::new("invalid_grant", "the refresh token was revoked"));
                }
                if t.rotated_at.is_some() {
                    // Reuse of a rotated token: someone holds a stolen copy. Revoke the family.
                    self.revoke_grant(grant.id).await?;
                    return Err(OAuthError::new(
                        "invalid_grant",
                        "the refresh token was already used; the whole grant is revoked",
                    ));
                }
                if t.expires_at.as_str() <= now.as_str() {
                    return Err(OAuthError::new("invalid_grant", "the refresh token expired"));
                }
                resource_ok(&grant.resource)?;
                let scope = match get("scope") {
                    None => t.scope.clone(),
                    Some(s) => {
                        let (asked, had) = (scope_set(s), scope_set(&t.scope));
                        if !asked.is_subset(&had) {
                            return Err(OAuthError::new(
                                "invalid_scope",
                                format!("a refresh can only narrow the scope ({})", t.scope),
                            ));
                        }
                        join_scope(&asked)
                    }
                };
                if !self.store.rotate_refresh(&hash, &now).await? {
                    self.revoke_grant(grant.id).await?;
                    return Err(OAuthError::new(
                        "invalid_grant",
                        "the refresh token was already used; the whole grant is revoked",
                    ));
                }
                let audience =
                    grant.resource.clone().unwrap_or_else(|| self.config.resource.clone());
                Ok(self.issue(grant.id, &scope, &audience, true).await?)
            }
            None => Err(OAuthError::new("invalid_request", "grant_type is required")),
            Some(g) => Err(OAuthError::new(
                "unsupported_grant_type",
                format!("grant_type {g} is not supported (authorization_code, refresh_token)"),
            )),
        }
    }

    async fn revoke_grant(&self, grant_id: i64) -> Result<(), AuthStoreError> {
        self.store.revoke_grant(grant_id, &stamp(self.now())).await?;
        // Tokens of this process's cache die at once; on PostgreSQL other processes hear of it.
        self.caches.tokens.clear();
        Ok(())
    }

    /// Token revocation (RFC 7009): 200 for anything, revoked or not; revoking a refresh
    /// token revokes its whole grant.
    pub async fn revoke(
        &self,
        p: &Params,
        basic: Option<(String, String)>,
    ) -> Result<(), OAuthError> {
        if let Some(dup) = p.repeated(&["token", "token_type_hint"]) {
            return Err(OAuthError::new("invalid_request", dup));
        }
        let client = self.authenticate_client(p, basic).await?;
        let token = p
            .get("token")
            .ok()
            .flatten()
            .ok_or_else(|| OAuthError::new("invalid_request", "token is required"))?;
        let hash = secrets::hash(token);
        if let Some((t, grant)) = self.store.token(&hash).await?
            && grant.client_id == client.client_id
        {
            if t.kind == "refresh" {
                self.revoke_grant(grant.id).await?;
            } else {
                self.store.revoke_token(&hash, &stamp(self.now())).await?;
                self.caches.tokens.remove(&hash);
            }
        }
        Ok(())
    }

    /// Token introspection (RFC 7662) for authenticated confidential clients.
    pub async fn introspect(
        &self,
        p: &Params,
        basic: Option<(String, String)>,
    ) -> Result<Value, OAuthError> {
        let client = self.authenticate_client(p, basic).await?;
        if client.secret_hash.is_none() {
            return Err(OAuthError {
                status: 401,
                ..OAuthError::new(
                    "invalid_client",
                    "introspection is for authenticated (confidential) clients",
                )
            });
        }
        let token = p
            .get("token")
            .map_err(|e| OAuthError::new("invalid_request", e))?
            .ok_or_else(|| OAuthError::new("invalid_request", "token is required"))?;
        let inactive = json!({"active": false});
        let Some((t, grant)) = self.store.token(&secrets::hash(token)).await? else {
            return Ok(inactive);
        };
        let now = self.now();
        let expires = crate::clock::parse(&t.expires_at);
        let live = t.revoked_at.is_none()
            && grant.revoked_at.is_none()
            && (t.kind == "access" || t.rotated_at.is_none())
            && expires.is_some_and(|e| e > now);
        if !live {
            return Ok(inactive);
        }
        let user = match grant.user_id {
            Some(id) => self.store.user_by_id(id).await?,
            None => None,
        };
        if user.as_ref().is_some_and(|u| u.disabled) {
            return Ok(inactive);
        }
        let mut v = json!({
            "active": true,
            "scope": t.scope,
            "client_id": grant.client_id,
            "token_type": if t.kind == "access" { "Bearer" } else { "refresh_token" },
            "exp": expires.map(|e| e.unix_timestamp()),
            "iat": crate::clock::parse(&t.created_at).map(|e| e.unix_timestamp()),
            "iss": self.config.issuer,
        });
        if let Some(a) = t.audience {
            v["aud"] = a.into();
        }
        if let Some(u) = user {
            v["sub"] = u.id.to_string().into();
            v["username"] = u.email.into();
        }
        Ok(v)
    }

    // -----------------------------------------------------------------------------------------
    // Resource server.

    /// Validates a bearer token for the MCP resource: known, an access token, not expired, not
    /// revoked (token or grant), audience = this resource, user not disabled. Results are
    /// cached for `token_cache_ttl`, so a valid token costs a hash and a map lookup.
    pub async fn validate_bearer(&self, token: &str) -> Result<TokenInfo, InvalidToken> {
        let hash = secrets::hash(token);
        if let Some((at, result)) = self.caches.tokens.get(&hash)
            && at.elapsed() < self.config.token_cache_ttl
        {
            return match result {
                Ok(info) if info.expires_at > self.now().unix_timestamp() => Ok(info),
                Ok(_) => Err(InvalidToken("the access token expired".into())),
                Err(e) => Err(e),
            };
        }
        let fetched = Instant::now();
        let result = self.check_token(&hash).await;
        if !matches!(&result, Err(e) if e.0.starts_with("server:")) {
            self.caches.tokens.insert(hash, (fetched, result.clone()));
        }
        result.map_err(|e| InvalidToken(e.0.trim_start_matches("server: ").to_owned()))
    }

    async fn check_token(&self, hash: &str) -> Result<TokenInfo, InvalidToken> {
        let server = |e: AuthStoreError| {
            tracing::error!(error = %e, "token lookup failed");
            InvalidToken("server: the token could not be checked".into())
        };
        let (t, grant) = self
            .store
            .token(hash)
            .await
            .map_err(server)?
            .ok_or_else(|| InvalidToken("unknown access token".into()))?;
        if t.kind != "access" {
            return Err(InvalidToken("a refresh token is not an access token".into()));
        }
        if t.revoked_at.is_some() || grant.revoked_at.is_some() {
            return Err(InvalidToken("the access token was revoked".into()));
        }
        let expires = crate::clock::parse(&t.expires_at).map(|e| e.unix_timestamp()).unwrap_or(0);
        if expires <= self.now().unix_timestamp() {
            return Err(InvalidToken("the access token expired".into()));
        }
        if !t.audience.as_deref().is_some_and(|a| self.same_resource(a)) {
            return Err(InvalidToken(format!(
                "the access token is not for this resource ({})",
                self.config.resource
            )));
        }
        if let Some(uid) = grant.user_id {
            let user = self.store.user_by_id(uid).await.map_err(server)?;
            if user.is_none_or(|u| u.disabled) {
                return Err(InvalidToken("the user of this token is disabled".into()));
            }
        }
        Ok(TokenInfo {
            client_id: grant.client_id,
            user_id: grant.user_id,
            scopes: t.scope.split_whitespace().map(str::to_owned).collect(),
            expires_at: expires,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Users and sessions.

    /// Creates an account.
    pub async fn create_user(&self, email: &str, password: &str) -> Result<i64, String> {
        let email = normalize_email(email)?;
        password::check_new(password)?;
        let hash = self.passwords.hash(password).await?;
        self.store.create_user(&email, &hash, &stamp(self.now())).await.map_err(|e| match e {
            AuthStoreError::Conflict(m) => m,
            other => {
                tracing::error!(error = %other, "creating a user failed");
                "the server failed to create the account".into()
            }
        })
    }

    /// Signs a user in; throttled per email and per address.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        ip: IpAddr,
    ) -> Result<Session, LoginError> {
        let email = normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
        for key in [format!("email:{email}"), format!("ip:{ip}")] {
            if let Err(not_until) = self.login_limiter.check_key(&key) {
                let wait = not_until
                    .wait_time_from(governor::clock::Clock::now(self.login_limiter.clock()));
                return Err(LoginError::Throttled(wait.as_secs().max(1)));
            }
        }
        let user = self.store.user_by_email(&email).await.map_err(|_| LoginError::Server)?;
        let Some(user) = user.filter(|u| !u.disabled) else {
            self.passwords.verify_dummy(password).await;
            return Err(LoginError::BadCredentials);
        };
        if !self.passwords.verify(password, &user.password_hash).await {
            return Err(LoginError::BadCredentials);
        }
        let cookie = secrets::generate(SecretKind::Session);
        let now = self.now();
        self.store
            .create_session(
                &secrets::hash(&cookie),
                user.id,
                &stamp(now),
                &stamp(now + self.config.session_ttl),
            )
            .await
            .map_err(|_| LoginError::Server)?;
        Ok(Session { cookie, user })
    }

    /// The user of a session cookie, if the session is live.
    pub async fn session_user(&self, cookie: &str) -> Option<UserRecord> {
        self.store.session_user(&secrets::hash(cookie), &stamp(self.now())).await.ok().flatten()
    }

    /// Ends a session.
    pub async fn logout(&self, cookie: &str) {
        let _ = self.store.delete_session(&secrets::hash(cookie)).await;
    }

    /// A user's consented clients.
    pub async fn consents(&self, user_id: i64) -> Result<Vec<ConsentRecord>, AuthStoreError> {
        self.store.consents(user_id).await
    }

    /// Revokes a consent and every token the client holds for the user.
    pub async fn revoke_consent(
        &self,
        user_id: i64,
        client_id: &str,
    ) -> Result<bool, AuthStoreError> {
        let r = self.store.revoke_consent(user_id, client_id, &stamp(self.now())).await?;
        self.caches.tokens.clear();
        Ok(r)
    }

    /// A CSRF token for a form of a signed-in user (account page, sign-out).
    pub fn form_token(&self, session_cookie: &str, form: &str) -> String {
        secrets::mac(
            &self.secret,
            format!("{}\u{1f}{form}", secrets::hash(session_cookie)).as_bytes(),
        )
    }

    /// Checks a [`AuthServer::form_token`].
    pub fn check_form_token(&self, session_cookie: &str, form: &str, token: &str) -> bool {
        secrets::ct_eq(self.form_token(session_cookie, form).as_bytes(), token.as_bytes())
    }

    /// Issues an access token for local development (`prodlink token mint`), to the built-in
    /// `prodlink-cli` client, for the MCP resource.
    pub async fn mint_token(&self, email: &str, scope: &str) -> Result<TokenResponse, String> {
        let email = normalize_email(email)?;
        let user = self
            .store
            .user_by_email(&email)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no user {email}"))?;
        let set = scope_set(scope);
        if set.is_empty() {
            return Err("give at least one scope".into());
        }
        if let Some(x) = set.iter().find(|x| !SCOPES.contains(x)) {
            return Err(format!("unknown scope {x:?}; known: {}", SCOPES.join(" ")));
        }
        let now = stamp(self.now());
        if self.store.client(CLI_CLIENT_ID).await.map_err(|e| e.to_string())?.is_none() {
            self.store
                .save_client(
                    &ClientRecord {
                        client_id: CLI_CLIENT_ID.into(),
                        kind: ClientKind::Static,
                        client_name: Some("prodlink command line".into()),
                        redirect_uris: Vec::new(),
                        auth_method: "none".into(),
                        secret_hash: None,
                        scope: SCOPES.join(" "),
                        grant_types: vec!["authorization_code".into()],
                        application_type: Some("native".into()),
                        document: None,
                        document_expires_at: None,
                    },
                    &now,
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        let scope = join_scope(&set);
        let grant = self
            .store
            .create_grant(Some(user.id), CLI_CLIENT_ID, &scope, Some(&self.config.resource), &now)
            .await
            .map_err(|e| e.to_string())?;
        self.issue(grant, &scope, &self.config.resource, false).await.map_err(|e| e.to_string())
    }

    // -----------------------------------------------------------------------------------------
    // Organizations and API keys (the REST API's tenancy and server credentials).

    /// A user by email (normalized as at sign-in).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, AuthStoreError> {
        match normalize_email(email) {
            Ok(email) => self.store.user_by_email(&email).await,
            Err(_) => Ok(None),
        }
    }

    /// Creates an organization; its name (trimmed, 1–200 characters) must be unused.
    pub async fn create_organization(&self, name: &str) -> Result<i64, ManageError> {
        let name = display_name(name, "organization name")?;
        Ok(self.store.create_organization(name, &stamp(self.now())).await?)
    }

    /// An organization by its exact name (surrounding spaces ignored).
    pub async fn organization_by_name(
        &self,
        name: &str,
    ) -> Result<Option<OrganizationRecord>, AuthStoreError> {
        self.store.organization_by_name(name.trim()).await
    }

    /// An organization by id.
    pub async fn organization(
        &self,
        id: i64,
    ) -> Result<Option<OrganizationRecord>, AuthStoreError> {
        self.store.organization_by_id(id).await
    }

    /// Every organization, by name.
    pub async fn organizations(&self) -> Result<Vec<OrganizationRecord>, AuthStoreError> {
        self.store.organizations().await
    }

    /// Puts a user in an organization, or (`None`) in none. Takes effect at once in this
    /// process and, on PostgreSQL, in every other.
    pub async fn set_user_organization(
        &self,
        user_id: i64,
        organization_id: Option<i64>,
    ) -> Result<(), ManageError> {
        if let Some(org) = organization_id
            && self.store.organization_by_id(org).await?.is_none()
        {
            return Err(ManageError::Invalid(format!("no organization with id {org}")));
        }
        let found =
            self.store.set_user_organization(user_id, organization_id, &stamp(self.now())).await;
        self.caches.clear();
        if !found? {
            return Err(ManageError::Invalid(format!("no user with id {user_id}")));
        }
        Ok(())
    }

    /// The organization a user acts for (`None`: none, or no such user). Cached for
    /// `token_cache_ttl`; changes through [`AuthServer::set_user_organization`] apply at once.
    pub async fn user_organization(&self, user_id: i64) -> Result<Option<i64>, AuthStoreError> {
        if let Some((at, org)) = self.caches.user_organizations.get(&user_id)
            && at.elapsed() < self.config.token_cache_ttl
        {
            return Ok(org);
        }
        let (generation, fetched) = (self.caches.generation(), Instant::now());
        let org = self.store.user_by_id(user_id).await?.and_then(|u| u.organization_id);
        if self.caches.generation() == generation {
            self.caches.user_organizations.insert(user_id, (fetched, org));
        }
        Ok(org)
    }

    /// Makes an API key for a server acting for an organization: `scopes` is a space-separated
    /// list of REST scopes ([`REST_SCOPES`]), `rate_limit_per_minute` `None` means the server's
    /// default. Returns the stored record and the key itself, which is not stored (only its
    /// hash) and so cannot be shown again.
    pub async fn create_api_key(
        &self,
        organization_id: i64,
        name: &str,
        scopes: &str,
        rate_limit_per_minute: Option<u32>,
        created_by: Option<i64>,
    ) -> Result<(ApiKeyRecord, String), ManageError> {
        let name = display_name(name, "API key name")?;
        let scopes = api_key_scopes(scopes)?;
        if let Some(n) = rate_limit_per_minute
            && !(1..=1_000_000).contains(&n)
        {
            return Err(ManageError::Invalid(format!(
                "a rate limit of {n} requests per minute is out of range: give 1 to 1000000, or \
                 none for the server's default"
            )));
        }
        if self.store.organization_by_id(organization_id).await?.is_none() {
            return Err(ManageError::Invalid(format!("no organization with id {organization_id}")));
        }
        let key = apikey::generate();
        let hash = secrets::hash(&key);
        let prefix = apikey::public_prefix(&key).unwrap_or_default().to_owned();
        self.store
            .create_api_key(&NewApiKey {
                prefix,
                secret_hash: hash.clone(),
                name: name.to_owned(),
                organization_id,
                scopes,
                rate_limit_per_minute,
                created_by_user_id: created_by,
                created_at: stamp(self.now()),
            })
            .await?;
        let (record, _) = self.store.api_key_by_hash(&hash).await?.ok_or_else(|| {
            ManageError::Store(AuthStoreError::Conflict("the new API key was not stored".into()))
        })?;
        Ok((record, key))
    }

    /// Validates an API key: its form and checksum first (no lookup for a mistyped one), then
    /// the stored hash (compared in constant time); revoked keys are refused. Results are
    /// cached for `token_cache_ttl` and dropped on any revocation. Accepting a key records its
    /// last use in the background, at most once a minute per key.
    pub async fn validate_api_key(&self, key: &str) -> Result<ApiKeyInfo, InvalidApiKey> {
        apikey::check_format(key)?;
        let hash = secrets::hash(key);
        let result = match self.caches.api_keys.get(&hash) {
            Some((at, cached)) if at.elapsed() < self.config.token_cache_ttl => cached,
            _ => {
                let (generation, fetched) = (self.caches.generation(), Instant::now());
                let result = self.check_api_key(&hash).await;
                if result != Err(InvalidApiKey::Unavailable)
                    && self.caches.generation() == generation
                {
                    self.caches.api_keys.insert(hash, (fetched, result.clone()));
                }
                result
            }
        };
        if let Ok(info) = &result {
            self.touch_api_key(info.id);
        }
        result
    }

    async fn check_api_key(&self, hash: &str) -> Result<ApiKeyInfo, InvalidApiKey> {
        let found = self.store.api_key_by_hash(hash).await.map_err(|e| {
            tracing::error!(error = %e, "API key lookup failed");
            InvalidApiKey::Unavailable
        })?;
        let Some((key, stored)) = found else { return Err(InvalidApiKey::Unknown) };
        if !secrets::ct_eq(stored.as_bytes(), hash.as_bytes()) {
            return Err(InvalidApiKey::Unknown);
        }
        if key.revoked_at.is_some() {
            return Err(InvalidApiKey::Revoked);
        }
        Ok(ApiKeyInfo {
            id: key.id,
            prefix: key.prefix,
            name: key.name,
            organization_id: key.organization_id,
            scopes: key.scopes,
            rate_limit_per_minute: key.rate_limit_per_minute,
        })
    }

    /// Writes a key's `last_used_at` off the request path, unless this process did so less
    /// than a minute ago.
    fn touch_api_key(&self, id: i64) {
        let now = self.now();
        {
            let mut touched = self.api_key_touches.lock().unwrap_or_else(PoisonError::into_inner);
            if touched.get(&id).is_some_and(|at| now - *at < API_KEY_TOUCH_INTERVAL) {
                return;
            }
            touched.insert(id, now);
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let store = self.store.clone();
        runtime.spawn(async move {
            if let Err(e) = store.touch_api_key(id, &stamp(now)).await {
                tracing::warn!(error = %e, api_key = id, "recording an API key's last use failed");
            }
        });
    }

    /// Revokes an API key; `false` if there is no such key or it was revoked already. This
    /// process refuses it at once; on PostgreSQL every other process is told.
    pub async fn revoke_api_key(&self, id: i64) -> Result<bool, AuthStoreError> {
        let revoked = self.store.revoke_api_key(id, &stamp(self.now())).await;
        self.caches.clear();
        revoked
    }

    /// API keys, revoked ones included, without secrets: one organization's or (`None`) all.
    pub async fn list_api_keys(
        &self,
        organization_id: Option<i64>,
    ) -> Result<Vec<ApiKeyRecord>, AuthStoreError> {
        self.store.api_keys(organization_id).await
    }

    // -----------------------------------------------------------------------------------------
    // Quota and audit.

    /// Checks a user's QR quota; `Err(seconds)` until the next allowance when exhausted.
    pub async fn check_qr_quota(&self, user_id: i64) -> Result<(), u64> {
        let now = self.now();
        let day = now.replace_time(time::Time::MIDNIGHT);
        let month = day.replace_day(1).unwrap_or(day);
        let used = |since: OffsetDateTime| {
            let since = stamp(since);
            async move {
                self.store.count_audit(user_id, "generate_qr_url", "ok", &since).await.unwrap_or(0)
            }
        };
        if used(month).await >= u64::from(self.config.qr_per_month) {
            let next = if month.month() == time::Month::December {
                month
                    .replace_year(month.year() + 1)
                    .and_then(|m| m.replace_month(time::Month::January))
            } else {
                month.replace_month(month.month().next())
            }
            .unwrap_or(month + Duration::from_secs(31 * 86400));
            return Err((next - now).whole_seconds().max(1) as u64);
        }
        if used(day).await >= u64::from(self.config.qr_per_day) {
            return Err(((day + Duration::from_secs(86400)) - now).whole_seconds().max(1) as u64);
        }
        Ok(())
    }

    /// Appends a durable audit row.
    pub async fn audit(&self, row: AuditRecord) {
        let row = AuditRecord {
            occurred_at: if row.occurred_at.is_empty() {
                stamp(self.now())
            } else {
                row.occurred_at
            },
            ..row
        };
        if let Err(e) = self.store.audit(&row).await {
            tracing::error!(error = %e, action = row.action, "writing an audit row failed");
        }
    }

    /// Whether self sign-up is on.
    pub fn signup_allowed(&self) -> bool {
        self.config.allow_signup
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_queries() {
        assert_eq!(normalize_email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        assert!(normalize_email("ann").is_err());
        assert!(normalize_email("ann@localhost").is_err());
        assert!(normalize_email("a b@x.example").is_err());
        assert_eq!(
            with_query("http://l/cb", &[("code", "a b"), ("iss", "http://h")]),
            "http://l/cb?code=a+b&iss=http%3A%2F%2Fh"
        );
        assert_eq!(with_query("http://l/cb?x=1", &[("state", "s")]), "http://l/cb?x=1&state=s");
    }

    #[test]
    fn api_key_scopes_are_rest_scopes_only() {
        assert_eq!(
            api_key_scopes(" products:write  products:read products:write").unwrap(),
            "products:read products:write"
        );
        let qr = api_key_scopes("products:read qr:generate").unwrap_err().to_string();
        assert!(
            qr.contains("MCP scope")
                && qr.contains("products:read products:write rules:write accounts:read"),
            "{qr}"
        );
        let unknown = api_key_scopes("products:delete").unwrap_err().to_string();
        assert!(unknown.contains("\"products:delete\" is not a scope"), "{unknown}");
        assert!(api_key_scopes("  ").unwrap_err().to_string().contains("at least one scope"));
        // Every scope the server knows is the MCP one or a REST one.
        let mut known: Vec<&str> = REST_SCOPES.to_vec();
        known.insert(0, QR_SCOPE);
        assert_eq!(known, SCOPES);
        assert_eq!(display_name("  Acme  ", "x").unwrap(), "Acme");
        assert!(display_name("a\tb", "x").is_err());
        assert!(display_name(&"x".repeat(201), "x").is_err());
    }
}

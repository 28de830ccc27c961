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
//!
//! One file per concern, each adding its own `impl AuthServer` block: this one holds the
//! shared state (settings, caches, the revocation listener), construction and the helpers the
//! others use; `discovery.rs` (RFC 8414 and RFC 9728 metadata), `clients.rs` (client lookup,
//! operator-added clients, Dynamic Client Registration), `authorize.rs` (the authorization
//! endpoint and consent), `token.rs` (the token endpoint, revocation, introspection, minted
//! tokens), `bearer.rs` (the resource server's bearer validation), `accounts.rs` (users and
//! sessions), `organizations.rs` (organizations and their users), `api_keys.rs` (API keys)
//! and `audit.rs` (the QR quota and the audit log).

mod accounts;
mod api_keys;
mod audit;
mod authorize;
mod bearer;
mod clients;
mod discovery;
mod organizations;
mod token;

use std::collections::BTreeSet;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use quick_cache::sync::Cache;
use time::OffsetDateTime;

use crate::cimd::{FetchPolicy, Fetcher};
use crate::clock::{Clock, stamp};
use crate::password::Passwords;
use crate::store::{AuthStore, AuthStoreError};

pub use self::accounts::{LoginError, Session};
pub use self::api_keys::{ApiKeyInfo, InvalidApiKey};
pub use self::authorize::{AuthorizeError, AuthorizeRequest};
pub use self::bearer::{InvalidToken, TokenInfo};
pub use self::organizations::ManageError;
pub use self::token::{OAuthError, TokenResponse};

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

type Limiter = DefaultKeyedRateLimiter<String>;

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

/// Validated bearer tokens by hash, with the time they were read from the database.
type TokenCache = Cache<String, (Instant, Result<TokenInfo, InvalidToken>)>;

/// Validated API keys by hash, with the time they were read from the database.
type ApiKeyCache = Cache<String, (Instant, Result<ApiKeyInfo, InvalidApiKey>)>;

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

pub use crate::store::REVOCATION_CHANNEL;

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
}

#[cfg(test)]
mod tests {
    use super::api_keys::api_key_scopes;
    use super::organizations::display_name;
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

//! API keys for servers calling the REST API: made, validated (with a cache that revocations
//! clear), revoked, listed.

use std::sync::PoisonError;
use std::time::Instant;

use crate::clock::stamp;
use crate::secrets;
use crate::secrets::apikey::{self, ApiKeyError};
use crate::store::{ApiKeyRecord, AuthStoreError, NewApiKey};

use super::organizations::display_name;
use super::{AuthServer, ManageError, QR_SCOPE, REST_SCOPES, join_scope, scope_set};

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

/// How often at most a key's `last_used_at` is written.
const API_KEY_TOUCH_INTERVAL: time::Duration = time::Duration::seconds(60);

/// The scopes of a new API key, canonical (sorted, unique, space-separated): REST scopes only.
pub(super) fn api_key_scopes(scope: &str) -> Result<String, ManageError> {
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

impl AuthServer {
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
}

//! The resource server: bearer token validation for the MCP resource (and the REST API),
//! cached for `token_cache_ttl`.

use std::time::Instant;

use crate::secrets;
use crate::store::AuthStoreError;

use super::AuthServer;

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

impl AuthServer {
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
}

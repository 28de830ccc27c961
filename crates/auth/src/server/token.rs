//! The token endpoint (`authorization_code` and `refresh_token` grants) with client
//! authentication, token revocation (RFC 7009), introspection (RFC 7662), and the tokens
//! `prodlink token mint` issues.

use serde::Serialize;
use serde_json::{Value, json};

use crate::clock::stamp;
use crate::params::Params;
use crate::secrets::{self, SecretKind};
use crate::store::{AuthStoreError, ClientKind, ClientRecord, TokenRecord};

use super::{AuthServer, CLI_CLIENT_ID, SCOPES, join_scope, normalize_email, scope_set};

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
    pub(super) fn new(error: &'static str, description: impl Into<String>) -> Self {
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

impl AuthServer {
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
}

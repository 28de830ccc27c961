//! Clients: lookup (registered ones from the database, URL-shaped ids from their Client ID
//! Metadata Document), clients the operator adds, and Dynamic Client Registration (RFC 7591).

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cimd;
use crate::clock::stamp;
use crate::redirect;
use crate::secrets::{self, SecretKind};
use crate::store::{ClientKind, ClientRecord};

use super::{
    AuthServer, OAuthError, PUBLIC_CLIENT_SCOPES, QR_SCOPE, SCOPES, join_scope, scope_set,
};

impl AuthServer {
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
}

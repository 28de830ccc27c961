//! The authorization endpoint: validating the request, consent (asking, its CSRF token,
//! approval with an authorization code, denial).

use url::Url;

use crate::clock::stamp;
use crate::params::Params;
use crate::redirect;
use crate::secrets::{self, SecretKind};
use crate::store::{AuthStoreError, ClientRecord, UserRecord};

use super::{AuthServer, join_scope, scope_set, with_query};

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

impl AuthServer {
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
    pub(super) fn same_resource(&self, r: &str) -> bool {
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
}

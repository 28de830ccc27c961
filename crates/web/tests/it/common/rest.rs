//! A live REST test server: a [`TestDb`] served by the real app on 127.0.0.1, with
//! organizations and their users set up, tokens minted by the real authorization server, and
//! helpers to send requests and check problem documents.

use std::sync::Arc;

use auth::AuthServer;
use reqwest::Method;
use serde_json::Value;
use web::HttpSettings;

use super::TestDb;

/// The site URL the test servers run under.
pub const SITE: &str = "http://localhost:8080";
/// Every test user's password.
pub const PASSWORD: &str = "a long enough password";

/// A running server over a test database.
pub struct RestServer {
    /// The database it serves.
    pub db: TestDb,
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The authorization server (mints tokens, manages API keys).
    pub auth: Arc<AuthServer>,
    /// The client.
    pub http: reqwest::Client,
    /// The ids of the organizations created by [`RestServer::start`], in its order.
    pub orgs: Vec<i64>,
}

impl RestServer {
    /// Serves `db` with an organization per `(organization, user email)` pair (the user its
    /// member) and users without organization (`loners`).
    pub async fn start(db: TestDb, members: &[(&str, &str)], loners: &[&str]) -> Self {
        let auth = Arc::new(db.auth(auth::AuthConfig::new(SITE)).await);
        let mut orgs = Vec::new();
        for (org, email) in members {
            auth.create_user(email, PASSWORD).await.unwrap();
            db.execute(
                "INSERT INTO organizations (name, created_at, updated_at) VALUES ($1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
                &[(*org).into()],
            )
            .await;
            let (id,): (i64,) =
                db.row("SELECT id FROM organizations WHERE name = $1", &[(*org).into()]).await;
            db.execute(
                "UPDATE users SET organization_id = $1 WHERE email = $2",
                &[id.into(), (*email).into()],
            )
            .await;
            orgs.push(id);
        }
        for email in loners {
            auth.create_user(email, PASSWORD).await.unwrap();
        }
        let base = super::serve(&db, auth.clone(), HttpSettings::default()).await;
        Self { db, base, auth, http: reqwest::Client::new(), orgs }
    }

    /// The management fixture: an empty catalog on `backend` with two organizations, Acme
    /// (`owner@example.com`) and Rival (`rival@example.com`, whose brand "Rival Foods" has the
    /// product 00614141000005, "Their tea"), a user with no organization
    /// (`loner@example.com`), and a brand of no organization ("Nobody").
    pub async fn two_organizations(backend: super::Backend) -> Self {
        let db = TestDb::new(backend).await;
        let s = Self::start(
            db,
            &[("Acme", "owner@example.com"), ("Rival", "rival@example.com")],
            &["loner@example.com"],
        )
        .await;
        let rival = s.token("rival@example.com", "products:write").await;
        let body = serde_json::json!({"gtin": "00614141000005", "name": "Their tea", "brand": "Rival Foods"});
        let r = s.request(Method::POST, "/api/v1/products", Some(&rival), Some(&body), &[]).await;
        assert_eq!(r.status(), 201);
        s.db.execute(
            "INSERT INTO brands (name, name_key, created_at, updated_at) VALUES ('Nobody', 'nobody', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
            &[],
        )
        .await;
        s
    }

    /// A bearer token of `scope` for the user `email`.
    pub async fn token(&self, email: &str, scope: &str) -> String {
        self.auth.mint_token(email, scope).await.unwrap().access_token
    }

    /// Sends a request, with the bearer token, JSON body and headers given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.header("content-type", "application/json").body(b.to_string());
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send().await.unwrap()
    }

    /// A request with a bearer token; the method as `Method` or as text ("PATCH").
    pub async fn call<M>(
        &self,
        method: M,
        path: &str,
        token: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response
    where
        M: TryInto<Method>,
        M::Error: std::fmt::Debug,
    {
        self.request(method.try_into().unwrap(), path, Some(token), body.as_ref(), headers).await
    }

    /// A request with an API key (`X-API-Key`); the method as in [`Self::call`].
    pub async fn with_key<M>(
        &self,
        method: M,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> reqwest::Response
    where
        M: TryInto<Method>,
        M::Error: std::fmt::Debug,
    {
        let method = method.try_into().unwrap();
        self.request(method, path, None, body.as_ref(), &[("x-api-key", key)]).await
    }

    /// An anonymous `GET`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).send().await.unwrap()
    }
}

/// The response's `ETag`.
pub fn etag(r: &reqwest::Response) -> String {
    r.headers()["etag"].to_str().unwrap().to_owned()
}

/// Checks that `r` is a problem document of `status` and `code`; the document.
pub async fn problem(r: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], code, "{v}");
    v
}

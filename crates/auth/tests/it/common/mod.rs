//! Fixtures of the auth tests on top of the workspace's test kit (`testkit`: the backends,
//! [`on_both_backends!`], the test databases): the authorization store on a test database, a
//! manual clock, a scripted metadata document fetcher and helpers that walk the authorization
//! code flow.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use auth::cimd::{Fetched, Fetcher};
use auth::clock::ManualClock;
use auth::params::Params;
use auth::secrets;
use auth::store::{AuthStore, PgAuthStore, SqliteAuthStore, UserRecord};
use auth::{AuthConfig, AuthServer, AuthorizeRequest};
use catalog::postgres::{PgOptions, PgStore};
use catalog::sqlite::{SqliteOptions, SqliteStore};
use url::Url;

pub use testkit::*;

/// The authorization server's store on `db`'s pool.
pub fn auth_store(db: &TestDb) -> Arc<dyn AuthStore> {
    match &db.db {
        Db::Sqlite(s) => Arc::new(SqliteAuthStore::new(s.pool().clone())),
        Db::Postgres(s) => Arc::new(PgAuthStore::new(s.pool().clone())),
    }
}

/// An auth store over a new pool on `db`'s database, as another process would have.
pub async fn other_process_auth_store(db: &TestDb) -> Arc<dyn AuthStore> {
    match &db.db {
        Db::Sqlite(_) => {
            let s = SqliteStore::open(&db.url, &SqliteOptions::default()).await.unwrap();
            Arc::new(SqliteAuthStore::new(s.pool().clone()))
        }
        Db::Postgres(_) => {
            let options =
                PgOptions { max_connections: 4, min_connections: 0, ..PgOptions::default() };
            let s = PgStore::open(&db.url, &options).await.unwrap();
            Arc::new(PgAuthStore::new(s.pool().clone()))
        }
    }
}

/// The PostgreSQL pool, when `db` is PostgreSQL.
pub fn pg_pool(db: &TestDb) -> Option<sqlx::PgPool> {
    match &db.db {
        Db::Sqlite(_) => None,
        Db::Postgres(s) => Some(s.pool().clone()),
    }
}

pub const SITE: &str = "https://prodlink.test";
pub const RESOURCE: &str = "https://prodlink.test/mcp/http";
pub const PASSWORD: &str = "correct horse battery";
pub const LOOPBACK_CB: &str = "http://localhost/callback";

/// Documents the fake fetcher serves, by URL.
#[derive(Default)]
pub struct FakeFetcher {
    pub docs: Mutex<HashMap<String, Result<Fetched, String>>>,
    pub calls: Mutex<u32>,
}

#[async_trait]
impl Fetcher for FakeFetcher {
    async fn fetch(&self, url: &Url) -> Result<Fetched, String> {
        *self.calls.lock().unwrap() += 1;
        self.docs.lock().unwrap().get(url.as_str()).cloned().unwrap_or_else(|| Err("404".into()))
    }
}

impl FakeFetcher {
    pub fn serve(&self, url: &str, body: &str, max_age: Duration) {
        self.docs
            .lock()
            .unwrap()
            .insert(url.to_owned(), Ok(Fetched { body: body.as_bytes().to_vec(), max_age }));
    }
}

pub struct Harness {
    pub server: AuthServer,
    pub clock: ManualClock,
    pub fetcher: Arc<FakeFetcher>,
    pub store: Arc<dyn AuthStore>,
    pub user: UserRecord,
    pub session: String,
    pub db: Arc<TestDb>,
}

pub async fn harness(backend: Backend) -> Harness {
    harness_with(backend, |_| {}).await
}

pub async fn harness_with(backend: Backend, configure: impl FnOnce(&mut AuthConfig)) -> Harness {
    let db = Arc::new(TestDb::new(backend).await);
    let store = auth_store(&db);
    let clock = ManualClock::new();
    let fetcher = Arc::new(FakeFetcher::default());
    let mut config = AuthConfig::new(SITE);
    configure(&mut config);
    let server = AuthServer::new(config, store.clone(), Arc::new(clock.clone()), fetcher.clone())
        .await
        .unwrap();
    server.create_user("ann@example.com", PASSWORD).await.unwrap();
    let session = server.login("ann@example.com", PASSWORD, ip()).await.unwrap();
    Harness { server, clock, fetcher, store, user: session.user, session: session.cookie, db }
}

impl Harness {
    /// The same site served by another process: a second server with the same settings, clock
    /// and fetcher over a pool of its own on the same database (same user and session).
    pub async fn other_process(&self) -> Harness {
        let store = other_process_auth_store(&self.db).await;
        let server = AuthServer::new(
            self.server.config().clone(),
            store.clone(),
            Arc::new(self.clock.clone()),
            self.fetcher.clone(),
        )
        .await
        .unwrap();
        // As `AuthServer::on_postgres` does: hear of revocations made by other processes.
        if let Some(pool) = pg_pool(&self.db) {
            server.listen_for_revocations(pool);
        }
        Harness {
            server,
            clock: self.clock.clone(),
            fetcher: self.fetcher.clone(),
            store,
            user: self.user.clone(),
            session: self.session.clone(),
            db: self.db.clone(),
        }
    }
}

pub fn ip() -> IpAddr {
    "203.0.113.7".parse().unwrap()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = format!("v{}", secrets::generate(secrets::SecretKind::Code).replace('_', "-"));
    let challenge = secrets::pkce_challenge(&verifier);
    (verifier, challenge)
}

pub fn params(pairs: &[(&str, &str)]) -> Params {
    Params::from_pairs(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

/// An authorization request of the code flow with PKCE (S256): `response_type`, `client_id`,
/// `redirect_uri`, `code_challenge` and its method, then `extra` in order.
pub fn code_request(
    client_id: &str,
    redirect_uri: &str,
    challenge: &str,
    extra: &[(&str, &str)],
) -> Params {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend_from_slice(extra);
    params(&pairs)
}

/// The query parameters of a redirect.
pub fn query(url: &str) -> HashMap<String, String> {
    Url::parse(url).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

impl Harness {
    /// Registers a public DCR client with a loopback redirect.
    pub async fn public_client(&self) -> String {
        let body = serde_json::json!({"redirect_uris": [LOOPBACK_CB], "token_endpoint_auth_method": "none", "client_name": "Test agent"});
        self.server.register(&body, ip()).await.unwrap()["client_id"].as_str().unwrap().to_owned()
    }

    /// Registers a confidential DCR client; returns (id, secret).
    pub async fn confidential_client(&self) -> (String, String) {
        let body = serde_json::json!({"redirect_uris": ["https://app.example.com/cb"], "client_name": "Web app"});
        let r = self.server.register(&body, ip()).await.unwrap();
        (
            r["client_id"].as_str().unwrap().to_owned(),
            r["client_secret"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn authorize(
        &self,
        client_id: &str,
        redirect: &str,
        challenge: &str,
    ) -> AuthorizeRequest {
        let p = code_request(
            client_id,
            redirect,
            challenge,
            &[("scope", "qr:generate"), ("state", "st-1"), ("resource", RESOURCE)],
        );
        self.server.authorize(&p).await.unwrap()
    }

    /// Walks authorize + approve; returns (code, verifier).
    pub async fn code(&self, client_id: &str, redirect: &str) -> (String, String) {
        let (verifier, challenge) = pkce();
        let req = self.authorize(client_id, redirect, &challenge).await;
        let back = self.server.approve(&self.user, &req).await.unwrap();
        let q = query(&back);
        assert_eq!(q["state"], "st-1");
        assert_eq!(q["iss"], SITE);
        (q["code"].clone(), verifier)
    }

    pub async fn exchange(
        &self,
        client_id: &str,
        code: &str,
        verifier: &str,
        redirect: &str,
    ) -> Result<auth::server::TokenResponse, auth::OAuthError> {
        let p = params(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect),
            ("resource", RESOURCE),
        ]);
        self.server.token(&p, None).await
    }

    pub async fn refresh(
        &self,
        client_id: &str,
        token: &str,
        scope: Option<&str>,
    ) -> Result<auth::server::TokenResponse, auth::OAuthError> {
        let mut pairs = vec![
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", token),
        ];
        if let Some(s) = scope {
            pairs.push(("scope", s));
        }
        self.server.token(&params(&pairs), None).await
    }

    /// A full flow for a public client: (client id, tokens).
    pub async fn tokens(&self) -> (String, auth::server::TokenResponse) {
        let client = self.public_client().await;
        let (code, verifier) = self.code(&client, LOOPBACK_CB).await;
        let t = self.exchange(&client, &code, &verifier, LOOPBACK_CB).await.unwrap();
        (client, t)
    }
}

//! Shared fixtures of the auth tests: a fresh database on either backend (a real SQLite file,
//! or a PostgreSQL database of its own when `PRODLINK_TEST_PG` holds an admin URL), a manual
//! clock, a scripted metadata document fetcher, helpers that walk the authorization code flow,
//! and [`on_both_backends!`], which runs one test body on each backend.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
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
use sqlx::{PgPool, SqlitePool};
use url::Url;

/// The variable holding a PostgreSQL admin URL (a database the user may connect to and create
/// databases from, e.g. `postgres://prodlink@127.0.0.1:54329/postgres`).
pub const PG_ENV: &str = "PRODLINK_TEST_PG";

/// Declares, for each named `async fn NAME(b: Backend)` of the test file, the tests
/// `sqlite::NAME` and `postgres::NAME`. The PostgreSQL one says it was skipped and passes when
/// `PRODLINK_TEST_PG` is unset.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(b) = $crate::common::Backend::postgres(stringify!($name)) {
                        super::$name(b).await;
                    }
                }
            )*
        }
    };
}

/// Binds [`Arg`]s to a query of either backend.
macro_rules! bind {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args {
            q = match *a {
                Arg::Text(t) => q.bind(t.to_owned()),
                Arg::Int(i) => q.bind(i),
            };
        }
        q
    }};
}

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A PostgreSQL database made for the named test.
    Postgres(&'static str),
}

impl Backend {
    /// PostgreSQL for `test`, or `None` (after saying so) when `PRODLINK_TEST_PG` is unset.
    pub fn postgres(test: &'static str) -> Option<Self> {
        if std::env::var(PG_ENV).is_ok_and(|v| !v.is_empty()) {
            Some(Self::Postgres(test))
        } else {
            eprintln!("skipped postgres::{test}: {PG_ENV} is not set");
            None
        }
    }
}

/// A fresh, migrated database. A PostgreSQL one is dropped when the value is (unless
/// `PRODLINK_TEST_PG_KEEP` is set, to look at it after a failure).
pub enum TestDb {
    Sqlite { url: String, pool: SqlitePool, _dir: tempfile::TempDir },
    Postgres { url: String, pool: PgPool, admin: String, name: String },
}

/// The database name of a PostgreSQL test: `auth_<test>_<pid>`, shortened (with a hash of the
/// full name) to PostgreSQL's 63-character limit.
fn pg_database_name(test: &str) -> String {
    let pid = std::process::id();
    let name = format!("auth_{test}_{pid}");
    if name.len() <= 63 {
        return name;
    }
    let mut h = DefaultHasher::new();
    test.hash(&mut h);
    format!("auth_{}_{:08x}_{pid}", &test[..40], h.finish() as u32)
}

fn pg_options() -> PgOptions {
    PgOptions { max_connections: 4, min_connections: 0, ..PgOptions::default() }
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("auth.db").display());
                let db =
                    SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await.unwrap();
                Self::Sqlite { url, pool: db.pool().clone(), _dir: dir }
            }
            Backend::Postgres(test) => {
                let admin = std::env::var(PG_ENV).unwrap();
                let name = pg_database_name(test);
                let url = PgStore::create_database(&admin, &name).await.unwrap();
                let db = PgStore::open_and_migrate(&url, &pg_options()).await.unwrap();
                Self::Postgres { url, pool: db.pool().clone(), admin, name }
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }

    /// An auth store over this database's pool.
    pub fn store(&self) -> Arc<dyn AuthStore> {
        match self {
            Self::Sqlite { pool, .. } => Arc::new(SqliteAuthStore::new(pool.clone())),
            Self::Postgres { pool, .. } => Arc::new(PgAuthStore::new(pool.clone())),
        }
    }

    /// The PostgreSQL pool, when this is PostgreSQL.
    pub fn pg_pool(&self) -> Option<sqlx::PgPool> {
        match self {
            Self::Sqlite { .. } => None,
            Self::Postgres { pool, .. } => Some(pool.clone()),
        }
    }

    /// An auth store over a new pool on the same database, as another process would have.
    pub async fn other_process_store(&self) -> Arc<dyn AuthStore> {
        match self {
            Self::Sqlite { url, .. } => {
                let db = SqliteStore::open(url, &SqliteOptions::default()).await.unwrap();
                Arc::new(SqliteAuthStore::new(db.pool().clone()))
            }
            Self::Postgres { url, .. } => {
                let db = PgStore::open(url, &pg_options()).await.unwrap();
                Arc::new(PgAuthStore::new(db.pool().clone()))
            }
        }
    }

    /// Runs a statement written to work on both backends (`$1`… placeholders, `TRUE`/`FALSE`)
    /// with text and integer arguments; returns the number of rows changed.
    pub async fn execute(&self, sql: &'static str, args: &[Arg<'_>]) -> u64 {
        match self {
            Self::Sqlite { pool, .. } => {
                bind!(sqlx::query(sql), args).execute(pool).await.unwrap().rows_affected()
            }
            Self::Postgres { pool, .. } => {
                bind!(sqlx::query(sql), args).execute(pool).await.unwrap().rows_affected()
            }
        }
    }

    /// The text in the first column of the only row of a query written for both backends.
    pub async fn text(&self, sql: &'static str, args: &[Arg<'_>]) -> String {
        match self {
            Self::Sqlite { pool, .. } => {
                bind!(sqlx::query_scalar(sql), args).fetch_one(pool).await.unwrap()
            }
            Self::Postgres { pool, .. } => {
                bind!(sqlx::query_scalar(sql), args).fetch_one(pool).await.unwrap()
            }
        }
    }

    /// The integer (a BIGINT on PostgreSQL, e.g. `count(*)`) in the first column of the only
    /// row of a query written for both backends.
    pub async fn int(&self, sql: &'static str, args: &[Arg<'_>]) -> i64 {
        match self {
            Self::Sqlite { pool, .. } => {
                bind!(sqlx::query_scalar(sql), args).fetch_one(pool).await.unwrap()
            }
            Self::Postgres { pool, .. } => {
                bind!(sqlx::query_scalar(sql), args).fetch_one(pool).await.unwrap()
            }
        }
    }
}

/// An argument of [`TestDb::execute`] and friends.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Self::Postgres { admin, name, .. } = self else { return };
        if std::env::var_os("PRODLINK_TEST_PG_KEEP").is_some() {
            eprintln!("kept PostgreSQL database {name}");
            return;
        }
        // Drop is synchronous: drop the database from a thread with a runtime of its own.
        let (admin, name) = (admin.clone(), name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async {
                use sqlx::{ConnectOptions as _, Connection as _};
                let options: sqlx::postgres::PgConnectOptions = admin.parse()?;
                let mut conn = options.connect().await?;
                // `name` is `auth_` + a test name + digits: a plain identifier.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await?;
                conn.close().await
            })
            .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database: {dropped:?}");
        }
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
    let store = db.store();
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
        let store = self.db.other_process_store().await;
        let server = AuthServer::new(
            self.server.config().clone(),
            store.clone(),
            Arc::new(self.clock.clone()),
            self.fetcher.clone(),
        )
        .await
        .unwrap();
        // As `AuthServer::on_postgres` does: hear of revocations made by other processes.
        if let Some(pool) = self.db.pg_pool() {
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
        let p = params(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("scope", "qr:generate"),
            ("state", "st-1"),
            ("resource", RESOURCE),
        ]);
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

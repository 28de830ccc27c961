//! Shared fixtures of the web HTTP tests: a fresh, migrated database per test on either backend
//! (a SQLite file in a temporary directory, or a PostgreSQL database of its own on the server
//! named by `PRODLINK_TEST_PG`), copies of a template database built once per test binary, raw
//! SQL with bound arguments on either pool, and [`on_both_backends!`], which runs one test body
//! on each backend.
//!
//! PostgreSQL databases are named `webtest_<test>_<hash>_<pid>_<n>` and dropped when their
//! [`TestDb`] is (keep them with `PRODLINK_TEST_PG_KEEP=1`). Each test process holds one idle
//! "anchor" connection named after its pid for its whole life; a process starting up drops the
//! `webtest_…` databases of processes whose anchor is gone (a run that was killed).

#![allow(dead_code, clippy::unwrap_used)]

pub mod rest;

use std::collections::HashSet;
use std::future::Future;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use catalog::CatalogStore;
use catalog::postgres::{PgOptions, PgStore};
use catalog::sqlite::{SqliteOptions, SqliteStore};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::sqlite::SqliteRow;
use sqlx::{ConnectOptions as _, Connection as _};

/// The variable holding a PostgreSQL admin URL (a database the user may connect to and create
/// databases from, e.g. `postgres://prodlink@127.0.0.1:54329/postgres`).
pub const PG_ENV: &str = "PRODLINK_TEST_PG";

/// Declares, for each named `async fn NAME(backend: Backend)` of the test file, the tests
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
                    let test = concat!(module_path!(), "::", stringify!($name));
                    if let Some(backend) = $crate::common::Backend::postgres(test) {
                        super::$name(backend).await;
                    }
                }
            )*
        }
    };
}

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A PostgreSQL database made for the named test (`module::path::test`).
    Postgres(&'static str),
}

impl Backend {
    /// PostgreSQL for `test`, or `None` (after saying so) when `PRODLINK_TEST_PG` is unset.
    pub fn postgres(test: &'static str) -> Option<Self> {
        if admin_url().is_some() {
            Some(Self::Postgres(test))
        } else {
            eprintln!("skipped {test}: {PG_ENV} is not set (scripts/test.sh sets it)");
            None
        }
    }

    pub fn is_postgres(self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

fn admin_url() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|v| !v.is_empty())
}

/// The store under a test.
#[derive(Clone)]
pub enum Db {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// A migrated database of a test's own. Keep it alive for the test: a PostgreSQL one is
/// dropped with it.
pub struct TestDb {
    /// The database URL (`sqlite://…` or `postgres://…`).
    pub url: String,
    /// The SQLite file's name or the PostgreSQL database's name.
    pub name: String,
    pub db: Db,
    dir: tempfile::TempDir,
    /// The admin URL to drop the PostgreSQL database with, `None` to keep it.
    drop_with: Option<String>,
}

/// A per-process counter: every PostgreSQL database of a process has its own name, even two
/// of one test.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// The name of a new PostgreSQL database for `test`: `webtest_<test>_<hash>_<pid>_<n>`, lower
/// case `[a-z0-9_]`, at most 63 bytes.
fn database_name(test: &str) -> String {
    let mut h = DefaultHasher::new();
    test.hash(&mut h);
    let short: String = test
        .rsplit("::")
        .next()
        .unwrap_or(test)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .take(28)
        .collect();
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("webtest_{short}_{:08x}_{}_{n}", h.finish() as u32, std::process::id())
}

/// The pid in a name made by [`database_name`].
fn pid_of(name: &str) -> Option<u32> {
    name.rsplit('_').nth(1)?.parse().ok()
}

const ANCHOR_PREFIX: &str = "prodlink-web-tests-";

/// This process's anchor connection: open while the process lives, so other processes know
/// its databases are in use. Opened before the first database is made; never used again.
static ANCHOR: tokio::sync::OnceCell<Mutex<PgConnection>> = tokio::sync::OnceCell::const_new();

async fn anchor(admin: &str) {
    ANCHOR
        .get_or_init(|| async {
            let me = format!("{ANCHOR_PREFIX}{}", std::process::id());
            let options: PgConnectOptions = admin.parse().unwrap();
            let mut conn = options.application_name(&me).connect().await.unwrap();
            drop_leftovers(&mut conn).await;
            Mutex::new(conn)
        })
        .await;
}

/// Drops the `webtest_…` databases of test processes that are gone (no anchor connection).
async fn drop_leftovers(conn: &mut PgConnection) {
    let live: HashSet<u32> = sqlx::query_scalar::<_, String>(
        "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE $1",
    )
    .bind(format!("{ANCHOR_PREFIX}%"))
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .filter_map(|a| a.strip_prefix(ANCHOR_PREFIX)?.parse().ok())
    .collect();
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'webtest\\_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    for name in names {
        if pid_of(&name).is_some_and(|pid| !live.contains(&pid)) && is_plain(&name) {
            let dropped =
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
                    .execute(&mut *conn)
                    .await;
            if let Err(e) = dropped {
                eprintln!("could not drop the leftover test database {name}: {e}");
            }
        }
    }
}

/// Whether `name` is a plain identifier (safe to put in SQL text).
fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Creates the PostgreSQL database `name` (a copy of `template` when given) and returns its URL.
async fn create_pg_database(admin: &str, name: &str, template: Option<&str>) -> String {
    assert!(is_plain(name) && template.is_none_or(is_plain), "{name} {template:?}");
    anchor(admin).await;
    let Some(template) = template else {
        return PgStore::create_database(admin, name).await.unwrap();
    };
    let options: PgConnectOptions = admin.parse().unwrap();
    let mut conn = options.connect().await.unwrap();
    // Both names are checked above to be plain identifiers.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name} TEMPLATE {template}")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn pg_options() -> PgOptions {
    PgOptions { max_connections: 4, min_connections: 0, ..PgOptions::default() }
}

impl TestDb {
    /// A new, empty (migrated) database.
    pub async fn new(backend: Backend) -> Self {
        Self::create(backend, None).await
    }

    /// A new database holding a copy of `template`'s data.
    pub async fn from_template(backend: Backend, template: &Template) -> Self {
        Self::create(backend, Some(template)).await
    }

    async fn create(backend: Backend, template: Option<&Template>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => {
                let name = "web.db".to_owned();
                let path = dir.path().join(&name);
                match template {
                    Some(Template::Sqlite { path: from, .. }) => {
                        std::fs::copy(from, &path).unwrap();
                    }
                    Some(Template::Postgres { .. }) => panic!("a PostgreSQL template for SQLite"),
                    None => {}
                }
                let url = format!("sqlite://{}", path.display());
                let db =
                    SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await.unwrap();
                Self { url, name, db: Db::Sqlite(db), dir, drop_with: None }
            }
            Backend::Postgres(test) => {
                let admin = admin_url().unwrap();
                let name = database_name(test);
                let from = match template {
                    Some(Template::Postgres { name, .. }) => Some(name.as_str()),
                    Some(Template::Sqlite { .. }) => panic!("a SQLite template for PostgreSQL"),
                    None => None,
                };
                let url = create_pg_database(&admin, &name, from).await;
                let db = PgStore::open_and_migrate(&url, &pg_options()).await.unwrap();
                let keep = std::env::var_os("PRODLINK_TEST_PG_KEEP").is_some();
                Self { url, name, db: Db::Postgres(db), dir, drop_with: (!keep).then_some(admin) }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }

    /// The catalog store on this database.
    pub fn store(&self) -> Arc<dyn CatalogStore> {
        match &self.db {
            Db::Sqlite(s) => Arc::new(s.clone()),
            Db::Postgres(s) => Arc::new(s.clone()),
        }
    }

    /// The production authorization server on this database (on PostgreSQL it also listens
    /// for revocations announced by other processes).
    pub async fn auth(&self, config: auth::AuthConfig) -> auth::AuthServer {
        match &self.db {
            Db::Sqlite(s) => auth::AuthServer::on_sqlite(config, s.pool().clone()).await.unwrap(),
            Db::Postgres(s) => {
                auth::AuthServer::on_postgres(config, s.pool().clone()).await.unwrap()
            }
        }
    }

    /// Closes every connection of the store (and of everything sharing its pool).
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(s) => s.close().await,
            Db::Postgres(s) => s.close().await,
        }
    }

    /// Runs one statement with `args` bound to `$1`, `$2`, … (SQLite reads `$N` as the N-th
    /// argument too); the number of rows it changed.
    pub async fn execute(&self, sql: &'static str, args: &[Arg<'_>]) -> u64 {
        match &self.db {
            Db::Sqlite(s) => {
                bind(sqlx::query(sql), args).execute(s.pool()).await.unwrap().rows_affected()
            }
            Db::Postgres(s) => {
                bind(sqlx::query(sql), args).execute(s.pool()).await.unwrap().rows_affected()
            }
        }
    }

    /// The one row of a query (a tuple), with `args` bound as in [`TestDb::execute`].
    pub async fn row<T>(&self, sql: &'static str, args: &[Arg<'_>]) -> T
    where
        T: Send + Unpin + for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow>,
    {
        match &self.db {
            Db::Sqlite(s) => bind_as(sqlx::query_as(sql), args).fetch_one(s.pool()).await.unwrap(),
            Db::Postgres(s) => {
                bind_as(sqlx::query_as(sql), args).fetch_one(s.pool()).await.unwrap()
            }
        }
    }

    /// Every row of a query (tuples), with `args` bound as in [`TestDb::execute`].
    pub async fn rows<T>(&self, sql: &'static str, args: &[Arg<'_>]) -> Vec<T>
    where
        T: Send + Unpin + for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow>,
    {
        match &self.db {
            Db::Sqlite(s) => bind_as(sqlx::query_as(sql), args).fetch_all(s.pool()).await.unwrap(),
            Db::Postgres(s) => {
                bind_as(sqlx::query_as(sql), args).fetch_all(s.pool()).await.unwrap()
            }
        }
    }

    /// Keeps the database (no drop with this value) and closes its connections: for a
    /// template, which others copy.
    async fn keep(mut self) -> (String, tempfile::TempDir) {
        self.close().await;
        self.drop_with = None;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (std::mem::take(&mut self.name), dir)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(admin) = self.drop_with.take() else { return };
        let name = self.name.clone();
        // Drop is synchronous: drop the database from a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async {
                let options: PgConnectOptions = admin.parse()?;
                let mut conn = options.connect().await?;
                // `name` is a plain identifier (checked when the database was made).
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
            eprintln!("could not drop the test database {}: {dropped:?}", self.name);
        }
    }
}

/// An argument bound to a raw SQL statement of either backend.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(Option<&'a str>),
    Int(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Self::Text(Some(s))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Self::Text(Some(s))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(s: Option<&'a str>) -> Self {
        Self::Text(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

fn bind<'q, DB>(
    mut q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    args: &[Arg<'_>],
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for a in args {
        q = match *a {
            Arg::Text(t) => q.bind(t.map(str::to_owned)),
            Arg::Int(i) => q.bind(i),
        };
    }
    q
}

fn bind_as<'q, DB, T>(
    mut q: sqlx::query::QueryAs<'q, DB, T, <DB as sqlx::Database>::Arguments>,
    args: &[Arg<'_>],
) -> sqlx::query::QueryAs<'q, DB, T, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for a in args {
        q = match *a {
            Arg::Text(t) => q.bind(t.map(str::to_owned)),
            Arg::Int(i) => q.bind(i),
        };
    }
    q
}

/// A database filled once per test binary and backend, which tests copy
/// ([`TestDb::from_template`]): a SQLite file, or a PostgreSQL database copied with
/// `CREATE DATABASE … TEMPLATE`. Lives as long as the process (in a `static`); a PostgreSQL
/// one is dropped by the next test process to start (see the module documentation).
pub enum Template {
    Sqlite { _dir: tempfile::TempDir, path: PathBuf },
    Postgres { name: String },
}

impl Template {
    /// Makes a database on `backend` and fills it with `fill`, on a runtime of its own in
    /// another thread (the template outlives each test's runtime).
    pub fn build<F, Fut>(backend: Backend, fill: F) -> Self
    where
        F: FnOnce(Arc<dyn CatalogStore>) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let test = match backend {
            Backend::Sqlite => Backend::Sqlite,
            Backend::Postgres(test) => {
                Backend::Postgres(Box::leak(format!("{test}::template").into_boxed_str()))
            }
        };
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let db = TestDb::new(test).await;
                fill(db.store()).await;
                if let Db::Sqlite(s) = &db.db {
                    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(s.pool()).await.unwrap();
                }
                let sqlite = !db.is_postgres();
                let path = db.dir.path().join(&db.name);
                let (name, dir) = db.keep().await;
                if sqlite { Self::Sqlite { _dir: dir, path } } else { Self::Postgres { name } }
            })
        })
        .join()
        .unwrap()
    }
}

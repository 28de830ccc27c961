//! A migrated catalog store on a test database of its own ([`TestDb`]), raw SQL with bound
//! arguments on either backend, and [`Template`]: a database filled once per test binary that
//! tests copy.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use catalog::CatalogStore;
use catalog::postgres::{PgOptions, PgStore};
use catalog::sqlite::{SqliteOptions, SqliteStore};
use sqlx::Row as _;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::Backend;
use crate::database::{Database, Start, on_own_runtime};

/// The store under a test.
#[derive(Clone)]
pub enum Db {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// A migrated store on a new database: a SQLite file in a temporary directory, or a PostgreSQL
/// database of its own. Keep it alive for the test: a PostgreSQL one is dropped with it.
pub struct TestDb {
    /// The backend it was made on.
    pub backend: Backend,
    /// The database URL (`sqlite://…` or `postgres://…`).
    pub url: String,
    /// The SQLite file's name or the PostgreSQL database's name.
    pub name: String,
    /// The store.
    pub db: Db,
    /// The same store as a trait object.
    pub store: Arc<dyn CatalogStore>,
    /// A temporary directory of the test's own (the SQLite file lives here).
    pub dir: tempfile::TempDir,
    database: Database,
}

/// The pool size of a test's PostgreSQL store.
fn pg_options() -> PgOptions {
    PgOptions { max_connections: 4, min_connections: 0, ..PgOptions::default() }
}

impl TestDb {
    /// A new, empty (migrated) database.
    pub async fn new(backend: Backend) -> Self {
        Self::create(backend, Start::Migrated, &pg_options()).await
    }

    /// A new SQLite file.
    pub async fn sqlite() -> Self {
        Self::new(Backend::Sqlite).await
    }

    /// A new database opened with `options` on PostgreSQL (SQLite ignores them).
    pub async fn with_pg_options(backend: Backend, options: PgOptions) -> Self {
        Self::create(backend, Start::Migrated, &options).await
    }

    /// A new database holding a copy of `template`'s data.
    pub async fn from_template(backend: Backend, template: &Template) -> Self {
        let start = match (backend, template) {
            (Backend::Sqlite, Template::Sqlite { path, .. }) => path.to_str().unwrap(),
            (Backend::Postgres(_), Template::Postgres { name }) => name.as_str(),
            _ => panic!("a template of the other backend"),
        };
        Self::create(backend, Start::CopyOf(start), &pg_options()).await
    }

    async fn create(backend: Backend, start: Start<'_>, options: &PgOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::create(backend, dir.path(), "catalog", start).await;
        let db = match backend {
            Backend::Sqlite => Db::Sqlite(
                SqliteStore::open_and_migrate(&database.url, &SqliteOptions::default())
                    .await
                    .unwrap(),
            ),
            Backend::Postgres(_) => {
                Db::Postgres(PgStore::open_and_migrate(&database.url, options).await.unwrap())
            }
        };
        let store: Arc<dyn CatalogStore> = match &db {
            Db::Sqlite(s) => Arc::new(s.clone()),
            Db::Postgres(s) => Arc::new(s.clone()),
        };
        let (url, name) = (database.url.clone(), database.name.clone());
        Self { backend, url, name, db, store, dir, database }
    }

    /// A new database on PostgreSQL for the test `name`, or `None` (after saying so) when
    /// `PRODLINK_TEST_PG` is unset.
    pub async fn postgres(name: &'static str) -> Option<Self> {
        Some(Self::new(Backend::postgres(name)?).await)
    }

    /// [`TestDb::postgres`] opened with `options`.
    pub async fn postgres_with(name: &'static str, options: PgOptions) -> Option<Self> {
        Some(Self::with_pg_options(Backend::postgres(name)?, options).await)
    }

    /// A second, empty database on the same backend.
    pub async fn another(&self) -> Self {
        Self::new(self.backend).await
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }

    /// A path in the test's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The catalog store on this database (a clone of [`TestDb::store`]'s `Arc`).
    pub fn store(&self) -> Arc<dyn CatalogStore> {
        self.store.clone()
    }

    /// The SQLite store (for tests of SQLite itself).
    pub fn sqlite_store(&self) -> &SqliteStore {
        match &self.db {
            Db::Sqlite(s) => s,
            Db::Postgres(_) => panic!("this test runs on SQLite only"),
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
    /// argument too); the number of rows it changed, or the database's error.
    pub async fn try_execute(
        &self,
        sql: impl Into<String>,
        args: &[Arg<'_>],
    ) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.into());
        Ok(match &self.db {
            Db::Sqlite(s) => bind(sqlx::query(sql), args).execute(s.pool()).await?.rows_affected(),
            Db::Postgres(s) => {
                bind(sqlx::query(sql), args).execute(s.pool()).await?.rows_affected()
            }
        })
    }

    /// [`TestDb::try_execute`] that must succeed.
    pub async fn execute(&self, sql: impl Into<String>, args: &[Arg<'_>]) -> u64 {
        let sql = sql.into();
        self.try_execute(sql.clone(), args).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The one row of a query (a tuple), with `args` bound as in [`TestDb::execute`].
    pub async fn row<T>(&self, sql: impl Into<String>, args: &[Arg<'_>]) -> T
    where
        T: Send + Unpin + for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow>,
    {
        let sql = sqlx::AssertSqlSafe(sql.into());
        match &self.db {
            Db::Sqlite(s) => bind_as(sqlx::query_as(sql), args).fetch_one(s.pool()).await.unwrap(),
            Db::Postgres(s) => {
                bind_as(sqlx::query_as(sql), args).fetch_one(s.pool()).await.unwrap()
            }
        }
    }

    /// Every row of a query (tuples), with `args` bound as in [`TestDb::execute`].
    pub async fn rows<T>(&self, sql: impl Into<String>, args: &[Arg<'_>]) -> Vec<T>
    where
        T: Send + Unpin + for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow>,
    {
        let sql = sqlx::AssertSqlSafe(sql.into());
        match &self.db {
            Db::Sqlite(s) => bind_as(sqlx::query_as(sql), args).fetch_all(s.pool()).await.unwrap(),
            Db::Postgres(s) => {
                bind_as(sqlx::query_as(sql), args).fetch_all(s.pool()).await.unwrap()
            }
        }
    }

    /// The integer (a BIGINT on PostgreSQL: `count(*)`, an id…) in the one row of a query.
    pub async fn int(&self, sql: impl Into<String>, args: &[Arg<'_>]) -> i64 {
        self.row::<(i64,)>(sql, args).await.0
    }

    /// The text (or NULL) in the one row of a query.
    pub async fn text(&self, sql: impl Into<String>, args: &[Arg<'_>]) -> Option<String> {
        self.row::<(Option<String>,)>(sql, args).await.0
    }

    /// Every row of a query, each column as text (NULL as `None`); cast non-text columns in the
    /// query (`CAST(x AS TEXT)`).
    pub async fn text_rows(&self, sql: impl Into<String>) -> Vec<Vec<Option<String>>> {
        let sql = sqlx::AssertSqlSafe(sql.into());
        match &self.db {
            Db::Sqlite(s) => sqlx::query(sql)
                .fetch_all(s.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| (0..r.len()).map(|i| r.try_get(i).unwrap()).collect())
                .collect(),
            Db::Postgres(s) => sqlx::query(sql)
                .fetch_all(s.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| (0..r.len()).map(|i| r.try_get(i).unwrap()).collect())
                .collect(),
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
/// one is dropped by the next test process to start (see [`crate::database`]).
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
        on_own_runtime(move || async move {
            let db = TestDb::new(backend).await;
            fill(db.store()).await;
            if let Db::Sqlite(s) = &db.db {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(s.pool()).await.unwrap();
            }
            db.close().await;
            let path = db.path(&db.name);
            let postgres = db.is_postgres();
            let TestDb { dir, mut database, .. } = db;
            let name = database.keep();
            if postgres { Self::Postgres { name } } else { Self::Sqlite { _dir: dir, path } }
        })
    }
}

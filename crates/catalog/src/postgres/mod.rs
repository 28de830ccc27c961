//! The PostgreSQL backend of [`CatalogStore`](crate::store::CatalogStore) for running many
//! stateless prodlink processes on one database: schema from the embedded migrations in
//! `migrations/postgres` (applied under sqlx's advisory lock, so processes starting together
//! migrate once), a connection pool sized by [`PgOptions`], lexical search on a weighted
//! tsvector with a GIN index, and stores found through an indexed bounding
//! box. Connections are checked before use, so a pool survives a database restart.

mod embeddings;
mod manage;
mod orgs;
mod read;
mod retail;
mod rules_admin;
mod search;
pub(crate) mod vector;
mod write;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _};

use crate::store::StoreError;

/// Connection settings for [`PgStore::open`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Largest number of pooled connections per process.
    pub max_connections: u32,
    /// Connections kept open while idle.
    pub min_connections: u32,
    /// How long a request waits for a free connection (or for the database to come back).
    pub acquire_timeout: Duration,
    /// Longest time one statement may run.
    pub statement_timeout: Duration,
    /// Rank semantic search in the database with pgvector's HNSW index (when the server has
    /// the extension) instead of in each process's memory. Off by default: on catalogs of
    /// up to a few hundred thousand products the exact in-memory scan is several times faster
    /// (docs/benchmarks.md) for a few tens of MB per process.
    pub vector_index: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30),
            vector_index: false,
        }
    }
}

/// The PostgreSQL catalog store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Length of the vectors pgvector indexes (0: no vector column; ranked in memory).
    vector_dims: Arc<AtomicUsize>,
    /// [`PgOptions::vector_index`].
    vector_index: bool,
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    PgConnectOptions::from_str(url).map_err(|e| {
        StoreError::Config(format!(
            "invalid PostgreSQL database URL (expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE): {e}"
        ))
    })
}

impl PgStore {
    /// Connects a pool to `url` (`postgres://…`). Does not migrate; call [`PgStore::migrate`].
    pub async fn open(url: &str, options: &PgOptions) -> Result<Self, StoreError> {
        let statement_ms = options.statement_timeout.as_millis().to_string();
        let connect = connect_options(url)?.application_name("prodlink").options([
            ("statement_timeout", statement_ms.as_str()),
            // pgvector's search settings (placeholders when the extension is absent):
            // walk far enough for the largest candidate pool, and keep walking past rows a
            // filter rejects.
            ("hnsw.ef_search", vector::EF_SEARCH),
            ("hnsw.iterative_scan", "relaxed_order"),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .min_connections(options.min_connections.min(options.max_connections))
            .acquire_timeout(options.acquire_timeout)
            // A connection broken by a database restart is noticed and replaced before use.
            .test_before_acquire(true)
            .idle_timeout(Some(Duration::from_secs(600)))
            .max_lifetime(Some(Duration::from_secs(1800)))
            .connect_with(connect)
            .await?;
        let dims = if options.vector_index { vector::detect(&pool).await?.unwrap_or(0) } else { 0 };
        Ok(Self {
            pool,
            vector_dims: Arc::new(AtomicUsize::new(dims)),
            vector_index: options.vector_index,
        })
    }

    /// Applies the embedded migrations that have not run yet. (The pgvector column is set up
    /// when a model is loaded: [`CatalogStore::prepare_vector_index`].)
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrations::POSTGRES.run(&self.pool).await?;
        if self.vector_index {
            let dims = vector::detect(&self.pool).await?.unwrap_or(0);
            self.vector_dims.store(dims, Ordering::Release);
        }
        Ok(())
    }

    /// The vector length pgvector indexes here, `None` when vectors are ranked in memory.
    pub fn vector_index_dims(&self) -> Option<usize> {
        Some(self.vector_dims.load(Ordering::Acquire)).filter(|d| *d > 0)
    }

    /// Opens and migrates in one step.
    pub async fn open_and_migrate(url: &str, options: &PgOptions) -> Result<Self, StoreError> {
        let store = Self::open(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// The underlying pool (for the authorization server's store on the same database).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Creates an empty database `name` on the server of `admin_url` (a database the user may
    /// connect to, e.g. `postgres://user@host/postgres`) and returns its URL. For tests and
    /// benchmarks: each gets a database of its own. `name` must be a plain identifier.
    pub async fn create_database(admin_url: &str, name: &str) -> Result<String, StoreError> {
        if name.is_empty()
            || name.len() > 63
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::Config(format!(
                "database name {name:?} must be 1-63 characters of a-z, 0-9 and _"
            )));
        }
        let options = connect_options(admin_url)?;
        let mut conn = options.connect().await?;
        // `name` is checked above to be a plain identifier.
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut conn)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let mut url = url::Url::parse(admin_url)
            .map_err(|e| StoreError::Config(format!("invalid PostgreSQL database URL: {e}")))?;
        url.set_path(&format!("/{name}"));
        Ok(url.to_string())
    }
}

/// Attempts a read gets when the connection is lost under it.
const READ_ATTEMPTS: u32 = 3;

/// Whether `e` means the connection or the server went away under a statement (a restart, a
/// failover, a network cut): the statement did not complete, and a read can run again on a new
/// connection. SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, crash, not yet
/// accepting connections), or an I/O error.
pub fn is_connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// An error that may carry the database driver's error.
pub trait DriverError {
    /// The driver's error, if this is one.
    fn driver(&self) -> Option<&sqlx::Error>;
}

impl DriverError for sqlx::Error {
    fn driver(&self) -> Option<&sqlx::Error> {
        Some(self)
    }
}

impl DriverError for StoreError {
    fn driver(&self) -> Option<&sqlx::Error> {
        match self {
            StoreError::Database(e) => Some(e),
            _ => None,
        }
    }
}

/// Runs `read` again (at most [`READ_ATTEMPTS`] times in all) when the connection was lost
/// under it. The next attempt's connection waits for the server to be back, up to the pool's
/// acquire timeout, so a read caught by a database restart is answered late rather than failed.
pub async fn reading<T, E, F, Fut>(what: &'static str, mut read: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: DriverError,
{
    let mut attempt = 1;
    loop {
        match read().await {
            Err(e) if attempt < READ_ATTEMPTS && e.driver().is_some_and(is_connection_lost) => {
                tracing::warn!(what, attempt, "database connection lost during a read; retrying");
            }
            other => return other,
        }
        attempt += 1;
    }
}

/// A write transaction (rows it reads are locked by the statements that need it).
async fn begin_write(
    pool: &PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    pool.begin().await
}

/// Whether a database error is a constraint violation (the data's fault, not the system's):
/// SQLSTATE class 23 (integrity constraint violation).
pub(crate) fn is_constraint_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("23")),
        _ => false,
    }
}

/// The database's message for a constraint violation, for import reject reports.
pub(crate) fn constraint_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let detail = db.constraint().map(|c| format!(" (constraint {c})")).unwrap_or_default();
            format!("the database refused the record: {}{detail}", db.message())
        }
        other => format!("the database refused the record: {other}"),
    }
}

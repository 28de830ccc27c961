//! The embedded SQLite backend of [`CatalogStore`](crate::store::CatalogStore): one database
//! file in WAL mode with foreign keys on, schema from the embedded migrations in
//! `migrations/sqlite`, reads through a small connection pool, writes in `BEGIN IMMEDIATE`
//! transactions (so concurrent writers queue on the busy timeout instead of failing).

mod embeddings;
mod manage;
mod orgs;
mod read;
mod retail;
mod rules_admin;
mod search;
mod write;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::store::StoreError;

/// Connection settings for [`SqliteStore::open`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Largest number of pooled connections (readers run in parallel; writes serialize).
    pub max_connections: u32,
    /// How long a connection waits for a lock before failing.
    pub busy_timeout: Duration,
    /// Create the file when it does not exist.
    pub create_if_missing: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self { max_connections: 8, busy_timeout: Duration::from_secs(10), create_if_missing: true }
    }
}

/// The SQLite catalog store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if allowed) the database at `url` (`sqlite://PATH`, `sqlite:PATH` or
    /// `sqlite::memory:`). Does not migrate; call [`SqliteStore::migrate`].
    pub async fn open(url: &str, options: &SqliteOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid SQLite database URL {url:?}: {e}")))?
            .create_if_missing(options.create_if_missing)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout)
            .pragma("cache_size", "-32000")
            .pragma("temp_store", "memory");
        let in_memory = url.contains(":memory:");
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists once per connection: keep exactly one.
            .max_connections(if in_memory { 1 } else { options.max_connections.max(1) })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory { None } else { Some(Duration::from_secs(600)) })
            .max_lifetime(None)
            .connect_with(connect)
            .await?;
        Ok(Self { pool })
    }

    /// Applies the embedded migrations that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrations::SQLITE.run(&self.pool).await?;
        Ok(())
    }

    /// Opens and migrates in one step.
    pub async fn open_and_migrate(url: &str, options: &SqliteOptions) -> Result<Self, StoreError> {
        let store = Self::open(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// The underlying pool (for sibling modules of later layers such as search indexes).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A write transaction holding the database's write lock from its first statement, so what it
/// reads stays true until it commits.
async fn begin_write(
    pool: &SqlitePool,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Whether a database error is a constraint violation (the data's fault, not the system's).
fn is_constraint_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            // SQLITE_CONSTRAINT = 19; extended codes keep it in the low byte.
            .is_some_and(|c| c & 0xff == 19),
        _ => false,
    }
}

/// The database's message for a constraint violation, for import reject reports.
fn constraint_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => format!("the database refused the record: {}", db.message()),
        other => format!("the database refused the record: {other}"),
    }
}

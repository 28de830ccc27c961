//! [`AuthStore`](super::AuthStore) on the catalog's SQLite database: the type, its constructor
//! and what SQLite does its own way (write transactions taken with `BEGIN IMMEDIATE`, reads run
//! once, no revocation announcements: one process owns the file's caches). The body is
//! [`auth_store_impl!`].

use std::future::Future;

use sqlx::Transaction;
use sqlx::sqlite::{Sqlite, SqliteConnection, SqlitePool, SqliteRow};

use super::AuthStoreError;

/// [`AuthStore`](super::AuthStore) on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteAuthStore {
    pool: SqlitePool,
}

impl SqliteAuthStore {
    /// Over the catalog's pool (the auth tables are part of the catalog schema).
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

/// A write transaction holding the database's write lock from its start, so two writers never
/// both read and then fail to upgrade.
async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Runs a read once (a local file has no connection to lose).
async fn read_once<T, E, F, Fut>(_what: &'static str, mut read: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    read().await
}

/// Nothing to announce.
async fn no_notify(_tx: &mut SqliteConnection) -> Result<(), AuthStoreError> {
    Ok(())
}

auth_store_impl! {
    store: SqliteAuthStore,
    row: SqliteRow,
    begin: begin_write,
    read: read_once,
    notify: no_notify,
}

//! Organizations and brands on SQLite (see [`crate::orgs`]): the shared statements of
//! [`crate::orgs_store`], with transactions begun `BEGIN IMMEDIATE` (so no row locks are
//! needed) and nothing to announce: a single process's caches are cleared by the caller.

use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};

/// Nothing to tell other processes: an SQLite catalog is served by one.
async fn announce(_: &mut SqliteConnection) -> Result<(), crate::store::StoreError> {
    Ok(())
}

crate::orgs_store::orgs_store! {
    pool: SqlitePool,
    conn: SqliteConnection,
    row: SqliteRow,
    begin: super::begin_write,
    lock: "",
    announce: announce,
}

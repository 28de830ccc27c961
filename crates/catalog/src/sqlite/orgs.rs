//! [`OrgsDb`](crate::store::OrgsDb) on SQLite (see [`crate::orgs`]): the statements and body
//! of [`crate::sql::orgs`], with transactions begun `BEGIN IMMEDIATE` (so rows are read
//! without locks), reads run once, and nothing to announce: a single process's caches are
//! cleared by the caller.

use sqlx::sqlite::SqliteConnection;

use super::SqliteStore;

/// Nothing to tell other processes: an SQLite catalog is served by one.
async fn announce(_: &mut SqliteConnection) -> Result<(), crate::store::StoreError> {
    Ok(())
}

crate::sql::orgs::orgs_db_impl! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    begin: super::begin_write,
    read: crate::sql::read_once,
    change_reads: crate::sql::orgs::PLAIN_READS,
    announce: announce,
}

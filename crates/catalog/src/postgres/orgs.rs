//! [`OrgsDb`](crate::store::OrgsDb) on PostgreSQL (see [`crate::orgs`]): the statements and
//! body of [`crate::sql::orgs`], locking the rows a change reads (`FOR UPDATE`), retrying
//! reads whose connection was lost, and announcing membership changes: creating and deleting
//! an organization change which organization users and API keys act for, so both notify (as
//! the auth store does for revocations) in their transaction, and every process drops its
//! cached credential checks.

use sqlx::postgres::PgConnection;

use super::PgStore;

/// Tells every process, when the transaction commits, to drop its cached credential checks
/// (a user's organization, API keys).
async fn announce(conn: &mut PgConnection) -> Result<(), crate::store::StoreError> {
    sqlx::query(crate::sql::orgs::PG_NOTIFY)
        .bind(crate::orgs::REVOCATION_CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

crate::sql::orgs::orgs_db_impl! {
    store: PgStore,
    db: sqlx::Postgres,
    begin: super::begin_write,
    read: super::reading,
    change_reads: crate::sql::orgs::LOCKING_READS,
    announce: announce,
}

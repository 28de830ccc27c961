//! Organizations and brands on PostgreSQL (see [`crate::orgs`]): the shared statements of
//! [`crate::orgs_store`], locking the member's row while an organization is created, and
//! announcing membership changes: creating and deleting an organization change which
//! organization users and API keys act for, so both notify (as the auth store does for
//! revocations) in their transaction, and every process drops its cached credential checks.

use sqlx::postgres::{PgConnection, PgPool, PgRow};

/// Tells every process, when the transaction commits, to drop its cached credential checks
/// (a user's organization, API keys).
async fn announce(conn: &mut PgConnection) -> Result<(), crate::store::StoreError> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(crate::orgs::REVOCATION_CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

crate::orgs_store::orgs_store! {
    pool: PgPool,
    conn: PgConnection,
    row: PgRow,
    begin: super::begin_write,
    lock: " FOR UPDATE",
    announce: announce,
}

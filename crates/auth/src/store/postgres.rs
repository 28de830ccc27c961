//! [`AuthStore`](super::AuthStore) on the catalog's PostgreSQL database, shared by every
//! prodlink process on it: the type, its constructor and what PostgreSQL does its own way
//! (reads retried when the connection was lost, revocations announced with `NOTIFY`). The body
//! is [`auth_store_impl!`]; decoding is strict (BIGINT as `i64`, BOOLEAN as `bool`, TEXT as
//! `String`; timestamps and JSON are RFC 3339 / JSON text written by the application, as on
//! SQLite).

use catalog::postgres::reading;
use sqlx::Transaction;
use sqlx::postgres::{PgConnection, PgPool, PgRow, Postgres};

use super::{AuthStoreError, sql};

/// [`AuthStore`](super::AuthStore) on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgAuthStore {
    pool: PgPool,
}

impl PgAuthStore {
    /// Over the catalog's PostgreSQL pool (the auth tables are part of the catalog schema).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// A write transaction (READ COMMITTED).
async fn begin_write(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin().await
}

/// Announces a revocation (of tokens, grants, consents or API keys, or a change of a user's
/// organization) to every process on the database, delivered when the transaction commits:
/// each drops its cached token and API key validations (see `AuthServer::on_postgres`).
async fn notify_revocation(tx: &mut PgConnection) -> Result<(), AuthStoreError> {
    sqlx::query(sql::PG_NOTIFY).bind(super::REVOCATION_CHANNEL).execute(tx).await?;
    Ok(())
}

auth_store_impl! {
    store: PgAuthStore,
    row: PgRow,
    begin: begin_write,
    read: reading,
    notify: notify_revocation,
}

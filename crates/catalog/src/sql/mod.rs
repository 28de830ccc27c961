//! The SQL of the catalog store's roles, written once for both backends: one module per role
//! with its statements as `pub(crate) const` strings and the macro that generates the role's
//! `impl` for a backend's store from them. The backend files (`sqlite/`, `postgres/`) invoke
//! that macro with only what differs between the two (how a write transaction begins, which
//! statements lock rows, how a read is retried, what is announced).
//!
//! The statements are in the common dialect of SQLite and PostgreSQL: `$1`, `$2`…
//! placeholders (sqlx's SQLite driver binds `$N` to the N-th argument, as PostgreSQL does, so
//! a placeholder may be used twice), `CAST(… AS …)` rather than PostgreSQL's `::`, and
//! `ON CONFLICT … DO NOTHING/UPDATE` and `RETURNING`, which both accept. Where the backends
//! need different text, the role's module holds both, named for their backend (`SQLITE_…`,
//! `PG_…`), or the backend's role file defines the statement under the name the body uses
//! (reads, search documents and embeddings, where most differing statements are whole queries
//! of one backend: full-text search, vector search, list binding).

pub(crate) mod embeddings;
pub(crate) mod manage;
pub(crate) mod orgs;
pub(crate) mod read;
pub(crate) mod retail;
pub(crate) mod rules;
pub(crate) mod search;

use std::future::Future;

/// Runs a read once: the `read` hook of a backend whose reads need no retry (SQLite: a local
/// file has no connection to lose). PostgreSQL passes [`crate::postgres::reading`], which
/// retries a read whose connection was lost.
pub(crate) async fn read_once<T, E, F, Fut>(_what: &'static str, mut read: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    read().await
}

/// A page size or offset as SQL binds it (saturating: no page is that large).
pub(crate) fn page_bound(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One page of an organization's records, inside a role macro's async fn whose errors convert
/// from `sqlx::Error`: `$count` counts them and `$page` lists one page (`$1` the organization,
/// `$2` the limit, `$3` the offset). Evaluates to the page's rows and the total.
macro_rules! organization_page {
    ($pool:expr, $count:expr, $page:expr, $organization:expr, $offset:expr, $limit:expr) => {{
        let total: i64 = sqlx::query_scalar($count).bind($organization).fetch_one($pool).await?;
        let rows = sqlx::query($page)
            .bind($organization)
            .bind($crate::sql::page_bound($limit))
            .bind($crate::sql::page_bound($offset))
            .fetch_all($pool)
            .await?;
        (rows, u64::try_from(total).unwrap_or(0))
    }};
}
pub(crate) use organization_page;

/// Whether the database refused a row because a unique key is taken.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

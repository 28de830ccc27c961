//! [`RetailDb`](crate::store::RetailDb) on PostgreSQL (see [`crate::retail`]): the statements
//! and body of [`crate::sql::retail`], with reads retried when their connection was lost and
//! retailers looked up by an array of names.

use super::PgStore;

/// The names as they are, bound as a `text[]`.
fn name_array(names: &[String]) -> &[String] {
    names
}

crate::sql::retail::retail_db_impl! {
    store: PgStore,
    db: sqlx::Postgres,
    read: super::reading,
    retailers_named: crate::sql::retail::PG_RETAILERS_NAMED,
    names: name_array,
}

//! Product management on SQLite (the REST API's writes beyond batch upserts): the statements
//! and functions of [`crate::sql::manage`], called by this backend's `CatalogWrites`.

crate::sql::manage::manage_store! { db: sqlx::Sqlite }

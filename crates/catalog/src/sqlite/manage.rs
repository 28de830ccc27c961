//! Product management on SQLite (the REST API's writes beyond batch upserts): the statements
//! of [`crate::manage::manage_store`].

use sqlx::SqlitePool;

crate::manage::manage_store! { pool: SqlitePool, text: "" }

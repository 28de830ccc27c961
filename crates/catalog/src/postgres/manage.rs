//! Product management on PostgreSQL (the REST API's writes beyond batch upserts): the
//! statements of [`crate::manage::manage_store`].

use sqlx::PgPool;

crate::manage::manage_store! { pool: PgPool, text: "::text" }

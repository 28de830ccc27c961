//! Resolver-rule management on SQLite (see [`crate::rules_admin`]): the shared transactions of
//! [`crate::rules_admin_store`], each begun `BEGIN IMMEDIATE` so it holds the write lock from
//! its first read.

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};

crate::rules_admin_store::rules_admin_store! {
    pool: SqlitePool,
    conn: SqliteConnection,
    row: SqliteRow,
    db: Sqlite,
    begin: super::begin_write,
    rule_in_change: sql::RULE,
    scope_in_change: sql::SCOPE_RULES,
}

//! [`RulesDb`](crate::store::RulesDb) on SQLite (see [`crate::rules_admin`]): the statements
//! and body of [`crate::sql::rules`], each change begun `BEGIN IMMEDIATE` so it holds the
//! write lock from its first read (no row locks needed), reads run once, and the custom URLs
//! due claimed under that same lock.

use super::SqliteStore;

crate::sql::rules::rules_db_impl! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    begin: super::begin_write,
    read: crate::sql::read_once,
    change_reads: crate::sql::rules::PLAIN_READS,
    custom_urls_due: crate::sql::rules::SQLITE_CUSTOM_URLS_DUE,
    is_constraint_violation: super::is_constraint_violation,
    constraint_message: super::constraint_message,
    upsert_rules: super::write::upsert_rules,
    rules_for: super::read::rules_for,
}

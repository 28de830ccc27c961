//! [`RulesDb`](crate::store::RulesDb) on PostgreSQL (see [`crate::rules_admin`]): the
//! statements and body of [`crate::sql::rules`], locking the rules a change reads
//! (`FOR UPDATE`) so concurrent changes from any process serialize on them, retrying reads
//! whose connection was lost, and claiming the custom URLs due with `SKIP LOCKED`.

use super::PgStore;

crate::sql::rules::rules_db_impl! {
    store: PgStore,
    db: sqlx::Postgres,
    begin: super::begin_write,
    read: super::reading,
    change_reads: crate::sql::rules::LOCKING_READS,
    custom_urls_due: crate::sql::rules::PG_CUSTOM_URLS_DUE,
    is_constraint_violation: super::is_constraint_violation,
    constraint_message: super::constraint_message,
    upsert_rules: super::write::upsert_rules,
    rules_for: super::read::rules_for,
}

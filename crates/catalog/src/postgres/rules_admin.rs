//! Resolver-rule management on PostgreSQL (see [`crate::rules_admin`]): the shared
//! transactions of [`crate::rules_admin_store`], which lock the rules a change reads
//! (`FOR UPDATE`) so concurrent changes from any process serialize on them.

use sqlx::Postgres;
use sqlx::postgres::{PgConnection, PgPool, PgRow};

crate::rules_admin_store::rules_admin_store! {
    pool: PgPool,
    conn: PgConnection,
    row: PgRow,
    db: Postgres,
    begin: super::begin_write,
    rule_in_change: sql::RULE_FOR_UPDATE,
    scope_in_change: sql::SCOPE_RULES_FOR_UPDATE,
}

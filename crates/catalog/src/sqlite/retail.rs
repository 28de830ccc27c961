//! Store and offer management on SQLite (see [`crate::retail`]): retailer ownership, an
//! organization's stores, deleting a store or an offer — the statements of
//! [`crate::retail_store`] but for looking up retailers by name, which differs per backend.

use std::collections::HashMap;

use sqlx::{Row, SqlitePool};

use crate::write_plan::json_string_list;

pub(super) async fn retailer_organizations(
    pool: &SqlitePool,
    names: &[String],
) -> Result<HashMap<String, Option<i64>>, crate::store::StoreError> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT name, organization_id FROM retailers WHERE name IN (SELECT value FROM json_each(?))",
    )
    .bind(json_string_list(names.iter().map(String::as_str)))
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("organization_id")?))).collect()
}

crate::retail_store::retail_store! { pool: SqlitePool }

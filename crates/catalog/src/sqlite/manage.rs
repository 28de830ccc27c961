//! Product management on SQLite (the REST API's writes beyond batch upserts): who owns a
//! product or brand, creating an owned brand, deleting a product.

use gs1::Gtin14;
use sqlx::SqlitePool;

use crate::model::{fold_name, now_rfc3339};
use crate::store::StoreError;

pub(super) async fn product_organization(
    pool: &SqlitePool,
    gtin: Gtin14,
) -> Result<Option<Option<i64>>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT b.organization_id FROM products p LEFT JOIN brands b ON b.id = p.brand_id \
         WHERE p.gtin = ?",
    )
    .bind(gtin.as_str())
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn brand_organization(
    pool: &SqlitePool,
    name: &str,
) -> Result<Option<Option<i64>>, StoreError> {
    Ok(sqlx::query_scalar("SELECT organization_id FROM brands WHERE name_key = ?")
        .bind(fold_name(name))
        .fetch_optional(pool)
        .await?)
}

pub(super) async fn create_brand(
    pool: &SqlitePool,
    name: &str,
    organization_id: i64,
) -> Result<bool, StoreError> {
    let now = now_rfc3339();
    let done = sqlx::query(
        "INSERT INTO brands (name, name_key, organization_id, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?) ON CONFLICT(name_key) DO NOTHING",
    )
    .bind(name.trim())
    .bind(fold_name(name))
    .bind(organization_id)
    .bind(&now)
    .bind(&now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn delete_product(
    pool: &SqlitePool,
    gtin: Gtin14,
    if_updated_at: Option<&str>,
) -> Result<bool, StoreError> {
    // Children go by ON DELETE CASCADE, the full-text row by trigger.
    let done =
        sqlx::query("DELETE FROM products WHERE gtin = ?1 AND (?2 IS NULL OR updated_at = ?2)")
            .bind(gtin.as_str())
            .bind(if_updated_at)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

//! Product management's storage (see [`crate::manage`]), written once for both backends: who
//! owns a product or brand, creating an owned brand, deleting a product (conditionally on its
//! version), and [`manage_store!`], which generates those functions for a backend. They are
//! methods of [`CatalogWrites`](crate::store::CatalogWrites), whose `impl` in each backend's
//! `write.rs` calls them.

/// The organization owning product `$1` (GTIN-14) through its brand: no row when there is no
/// such product, a NULL when it (or its brand) belongs to no organization.
pub(crate) const PRODUCT_ORGANIZATION: &str = "SELECT b.organization_id FROM products p LEFT JOIN brands b ON b.id = p.brand_id \
     WHERE p.gtin = $1";
/// The organization owning the brand of folded name `$1`.
pub(crate) const BRAND_ORGANIZATION: &str =
    "SELECT organization_id FROM brands WHERE name_key = $1";
/// A brand (`$1` name, `$2` folded name) owned by organization `$3` (`$4` now); nothing when
/// the folded name is taken.
pub(crate) const CREATE_BRAND: &str = "INSERT INTO brands (name, name_key, organization_id, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name_key) DO NOTHING";
/// Deletes product `$1` (GTIN-14) when `$2` is NULL or its `updated_at`. Its children go by ON
/// DELETE CASCADE, the search document and embedding too (by trigger on SQLite).
pub(crate) const DELETE_PRODUCT: &str =
    "DELETE FROM products WHERE gtin = $1 AND (CAST($2 AS TEXT) IS NULL OR updated_at = $2)";

/// Generates the store side of product management for one backend, from the statements of
/// this module.
///
/// Input: `db`, the sqlx database type (`Sqlite`, `Postgres`); nothing else differs.
///
/// Output, in the invoking module: `pub(crate) async fn`s taking the backend's pool, which its
/// `impl CatalogWrites` (in `write.rs`, with its reads retried where the backend retries them)
/// calls: `product_organization(pool, gtin)`, `brand_organization(pool, name)` (by folded
/// name), `create_brand(pool, name, organization_id)` (`false` when the folded name is taken)
/// and `delete_product(pool, gtin, if_updated_at)` (`false` when there was none, or it is no
/// longer that version).
macro_rules! manage_store {
    (db: $db:ty $(,)?) => {
        use gs1::Gtin14;

        use $crate::model::{fold_name, now_rfc3339};
        use $crate::sql::manage as sql;
        use $crate::store::StoreError;

        type Pool = sqlx::Pool<$db>;

        pub(crate) async fn product_organization(
            pool: &Pool,
            gtin: Gtin14,
        ) -> Result<Option<Option<i64>>, StoreError> {
            Ok(sqlx::query_scalar(sql::PRODUCT_ORGANIZATION)
                .bind(gtin.as_str())
                .fetch_optional(pool)
                .await?)
        }

        pub(crate) async fn brand_organization(
            pool: &Pool,
            name: &str,
        ) -> Result<Option<Option<i64>>, StoreError> {
            Ok(sqlx::query_scalar(sql::BRAND_ORGANIZATION)
                .bind(fold_name(name))
                .fetch_optional(pool)
                .await?)
        }

        pub(crate) async fn create_brand(
            pool: &Pool,
            name: &str,
            organization_id: i64,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(sql::CREATE_BRAND)
                .bind(name.trim())
                .bind(fold_name(name))
                .bind(organization_id)
                .bind(now_rfc3339())
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        pub(crate) async fn delete_product(
            pool: &Pool,
            gtin: Gtin14,
            if_updated_at: Option<&str>,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(sql::DELETE_PRODUCT)
                .bind(gtin.as_str())
                .bind(if_updated_at)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        }
    };
}
pub(crate) use manage_store;

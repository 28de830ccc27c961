//! Store and offer management on PostgreSQL (see [`crate::retail`]): retailer ownership, an
//! organization's stores, deleting a store or an offer — the statements of
//! [`crate::retail_store`] but for looking up retailers by name, which differs per backend.

use std::collections::HashMap;

use super::*;
use sqlx::{PgPool, Row};

pub(super) async fn retailer_organizations(
    pool: &PgPool,
    names: &[String],
) -> Result<HashMap<String, Option<i64>>, crate::store::StoreError> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let rows =
        sqlx::query("SELECT name, organization_id FROM retailers WHERE name = ANY($1::text[])")
            .bind(names)
            .fetch_all(pool)
            .await?;
    rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("organization_id")?))).collect()
}

crate::retail_store::retail_store! { pool: PgPool }

#[async_trait::async_trait]
impl crate::store::RetailDb for PgStore {
    // Store and offer management

    async fn retailer_organizations(
        &self,
        names: &[String],
    ) -> Result<std::collections::HashMap<String, Option<i64>>, StoreError> {
        reading("retailer_organizations", || retailer_organizations(&self.pool, names)).await
    }

    async fn create_retailer(&self, name: &str, organization_id: i64) -> Result<bool, StoreError> {
        create_retailer(&self.pool, name, organization_id).await
    }

    async fn organization_stores(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::retail::ManagedStore>, u64), StoreError> {
        reading("stores", || organization_stores(&self.pool, organization, offset, limit)).await
    }

    async fn managed_store(
        &self,
        retailer: &str,
        store_ref: &str,
    ) -> Result<Option<crate::retail::ManagedStore>, StoreError> {
        reading("store", || managed_store(&self.pool, retailer, store_ref)).await
    }

    async fn delete_store(&self, retailer: &str, store_ref: &str) -> Result<bool, StoreError> {
        delete_store(&self.pool, retailer, store_ref).await
    }

    async fn delete_offer(
        &self,
        gtin: gs1::Gtin14,
        retailer: &str,
        store_ref: &str,
    ) -> Result<bool, StoreError> {
        delete_offer(&self.pool, gtin, retailer, store_ref).await
    }
}

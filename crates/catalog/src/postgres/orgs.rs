//! Organizations and brands on PostgreSQL (see [`crate::orgs`]): the shared statements of
//! [`crate::orgs_store`], locking the member's row while an organization is created, and
//! announcing membership changes: creating and deleting an organization change which
//! organization users and API keys act for, so both notify (as the auth store does for
//! revocations) in their transaction, and every process drops its cached credential checks.

use super::*;
use sqlx::postgres::{PgConnection, PgPool, PgRow};

/// Tells every process, when the transaction commits, to drop its cached credential checks
/// (a user's organization, API keys).
async fn announce(conn: &mut PgConnection) -> Result<(), crate::store::StoreError> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(crate::orgs::REVOCATION_CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

crate::orgs_store::orgs_store! {
    pool: PgPool,
    conn: PgConnection,
    row: PgRow,
    begin: super::begin_write,
    lock: " FOR UPDATE",
    announce: announce,
}

#[async_trait::async_trait]
impl crate::store::OrgsDb for PgStore {
    // Organizations and brands (crate::orgs)

    async fn organization_record(
        &self,
        id: i64,
    ) -> Result<Option<crate::orgs::Organization>, StoreError> {
        reading("organization_record", || organization_record(&self.pool, id)).await
    }

    async fn create_organization(
        &self,
        name: &str,
        metadata: &crate::model::Metadata,
        member: i64,
    ) -> Result<crate::orgs::OrganizationCreation, StoreError> {
        create_organization(&self.pool, name, metadata, member).await
    }

    async fn update_organization(
        &self,
        expected: &crate::orgs::Organization,
        name: &str,
        metadata: &crate::model::Metadata,
    ) -> Result<crate::orgs::RecordUpdate, StoreError> {
        update_organization(&self.pool, expected, name, metadata).await
    }

    async fn delete_organization(&self, id: i64) -> Result<crate::orgs::Removal, StoreError> {
        delete_organization(&self.pool, id).await
    }

    async fn assign_owner(
        &self,
        kind: crate::orgs::Owned,
        name: &str,
        organization: i64,
        reassign: bool,
    ) -> Result<crate::orgs::Assignment, StoreError> {
        assign_owner(&self.pool, kind, name, organization, reassign).await
    }

    async fn organization_brands(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::orgs::Brand>, u64), StoreError> {
        reading("organization_brands", || {
            organization_brands(&self.pool, organization, offset, limit)
        })
        .await
    }

    async fn brand_record(&self, id: i64) -> Result<Option<crate::orgs::Brand>, StoreError> {
        reading("brand_record", || brand_record(&self.pool, id)).await
    }

    async fn insert_brand(
        &self,
        organization: i64,
        name: &str,
        metadata: &crate::model::Metadata,
    ) -> Result<Option<i64>, StoreError> {
        insert_brand(&self.pool, organization, name, metadata).await
    }

    async fn update_brand(
        &self,
        expected: &crate::orgs::Brand,
        name: &str,
        metadata: &crate::model::Metadata,
    ) -> Result<crate::orgs::RecordUpdate, StoreError> {
        update_brand(&self.pool, expected, name, metadata).await
    }

    async fn delete_brand(
        &self,
        id: i64,
        organization: i64,
    ) -> Result<crate::orgs::Removal, StoreError> {
        delete_brand(&self.pool, id, organization).await
    }

    async fn organization_products(
        &self,
        organization: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<crate::orgs::OrganizationProduct>, u64), StoreError> {
        reading("organization_products", || {
            organization_products(&self.pool, organization, offset, limit)
        })
        .await
    }

    async fn account_user(&self, id: i64) -> Result<Option<crate::orgs::AccountUser>, StoreError> {
        reading("account_user", || account_user(&self.pool, id)).await
    }
}

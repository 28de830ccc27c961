//! Organizations and brands on SQLite (see [`crate::orgs`]): the shared statements of
//! [`crate::orgs_store`], with transactions begun `BEGIN IMMEDIATE` (so no row locks are
//! needed) and nothing to announce: a single process's caches are cleared by the caller.

use super::*;
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};

/// Nothing to tell other processes: an SQLite catalog is served by one.
async fn announce(_: &mut SqliteConnection) -> Result<(), crate::store::StoreError> {
    Ok(())
}

crate::orgs_store::orgs_store! {
    pool: SqlitePool,
    conn: SqliteConnection,
    row: SqliteRow,
    begin: super::begin_write,
    lock: "",
    announce: announce,
}

#[async_trait::async_trait]
impl crate::store::OrgsDb for SqliteStore {
    // Organizations and brands (crate::orgs)

    async fn organization_record(
        &self,
        id: i64,
    ) -> Result<Option<crate::orgs::Organization>, StoreError> {
        organization_record(&self.pool, id).await
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
        organization_brands(&self.pool, organization, offset, limit).await
    }

    async fn brand_record(&self, id: i64) -> Result<Option<crate::orgs::Brand>, StoreError> {
        brand_record(&self.pool, id).await
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
        organization_products(&self.pool, organization, offset, limit).await
    }

    async fn account_user(&self, id: i64) -> Result<Option<crate::orgs::AccountUser>, StoreError> {
        account_user(&self.pool, id).await
    }
}

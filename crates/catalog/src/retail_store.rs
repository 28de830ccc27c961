//! Store and offer management statements (see [`crate::retail`]) that read the same on both
//! backends, written once: [`retail_store!`] expands them in `sqlite::retail` and
//! `postgres::retail` for the backend's pool type (the SQL is in [`crate::retail::sql`]).

/// Expands creating a retailer, listing and reading an organization's stores, and deleting a
/// store or an offer, for one backend's pool type.
macro_rules! retail_store {
    (pool: $Pool:ty $(,)?) => {
        use gs1::Gtin14;

        use $crate::model::now_rfc3339;
        use $crate::retail::{self, ManagedStore, sql};
        use $crate::store::StoreError;

        pub(crate) async fn create_retailer(
            pool: &$Pool,
            name: &str,
            organization_id: i64,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(sql::CREATE_RETAILER)
                .bind(name)
                .bind(organization_id)
                .bind(now_rfc3339())
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        pub(crate) async fn organization_stores(
            pool: &$Pool,
            organization: i64,
            offset: u64,
            limit: u64,
        ) -> Result<(Vec<ManagedStore>, u64), StoreError> {
            let total: i64 =
                sqlx::query_scalar(sql::COUNT).bind(organization).fetch_one(pool).await?;
            let rows = sqlx::query(sql::PAGE)
                .bind(organization)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                .fetch_all(pool)
                .await?;
            let items = rows.iter().map(retail::decode_store).collect::<Result<_, _>>()?;
            Ok((items, u64::try_from(total).unwrap_or(0)))
        }

        pub(crate) async fn managed_store(
            pool: &$Pool,
            retailer: &str,
            store_ref: &str,
        ) -> Result<Option<ManagedStore>, StoreError> {
            let row =
                sqlx::query(sql::ONE).bind(retailer).bind(store_ref).fetch_optional(pool).await?;
            row.as_ref().map(retail::decode_store).transpose()
        }

        pub(crate) async fn delete_store(
            pool: &$Pool,
            retailer: &str,
            store_ref: &str,
        ) -> Result<bool, StoreError> {
            let done =
                sqlx::query(sql::DELETE_STORE).bind(retailer).bind(store_ref).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        }

        pub(crate) async fn delete_offer(
            pool: &$Pool,
            gtin: Gtin14,
            retailer: &str,
            store_ref: &str,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(sql::DELETE_OFFER)
                .bind(gtin.as_str())
                .bind(retailer)
                .bind(store_ref)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        }
    };
}
pub(crate) use retail_store;

//! Store and offer management (see [`crate::retail`]), written once for both backends: every
//! statement of [`RetailDb`](crate::store::RetailDb), the store row it reads
//! ([`decode_store`]), and [`retail_db_impl!`], which generates the role's `impl` for a
//! backend's store. Only the lookup of retailers by a list of names differs per backend.

use crate::model::Metadata;
use crate::retail::ManagedStore;
use crate::store::StoreError;
use crate::write_plan::StoredRow;

/// The columns of a managed store with its retailer and offer count.
macro_rules! store_select {
    () => {
        "SELECT s.ref, r.name AS retailer, s.name, s.address, s.city, s.region, \
         s.postal_code, s.country, s.lat, s.lng, s.metadata, s.created_at, s.updated_at, \
         (SELECT count(*) FROM offers o WHERE o.store_id = s.id) AS offers \
         FROM stores s JOIN retailers r ON r.id = s.retailer_id "
    };
}
/// A page of an organization's stores (`$1` organization, `$2` limit, `$3` offset).
pub(crate) const PAGE: &str =
    concat!(store_select!(), "WHERE r.organization_id = $1 ORDER BY s.id LIMIT $2 OFFSET $3");
/// How many stores an organization has (`$1`).
pub(crate) const COUNT: &str = "SELECT count(*) FROM stores s \
     JOIN retailers r ON r.id = s.retailer_id WHERE r.organization_id = $1";
/// One store (`$1` retailer name, `$2` ref).
pub(crate) const ONE: &str = concat!(store_select!(), "WHERE r.name = $1 AND s.ref = $2");
/// A retailer owned by an organization (`$1` name, `$2` organization, `$3` now); nothing
/// when the name is taken.
pub(crate) const CREATE_RETAILER: &str = "INSERT INTO retailers (name, organization_id, created_at, updated_at) \
     VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO NOTHING";
/// Deletes a store (`$1` retailer name, `$2` ref); its offers go by ON DELETE CASCADE.
pub(crate) const DELETE_STORE: &str = "DELETE FROM stores WHERE ref = $2 AND retailer_id = (SELECT id FROM retailers WHERE name = $1)";
/// Deletes an offer (`$1` GTIN-14, `$2` retailer name, `$3` store ref).
pub(crate) const DELETE_OFFER: &str = "DELETE FROM offers \
     WHERE product_id = (SELECT id FROM products WHERE gtin = $1) \
       AND store_id = (SELECT s.id FROM stores s JOIN retailers r ON r.id = s.retailer_id \
                       WHERE r.name = $2 AND s.ref = $3)";

/// The owner of each retailer named in `$1`, a JSON array of names: `(name,
/// organization_id)` rows. SQLite.
pub(crate) const SQLITE_RETAILERS_NAMED: &str =
    "SELECT name, organization_id FROM retailers WHERE name IN (SELECT value FROM json_each($1))";
/// [`SQLITE_RETAILERS_NAMED`] on PostgreSQL, with `$1` a `text[]`.
pub(crate) const PG_RETAILERS_NAMED: &str =
    "SELECT name, organization_id FROM retailers WHERE name = ANY(CAST($1 AS text[]))";

/// A [`ManagedStore`] from a row of [`PAGE`] or [`ONE`], on either backend.
pub(crate) fn decode_store(r: &impl StoredRow) -> Result<ManagedStore, StoreError> {
    let metadata_text = r.text("metadata")?;
    let metadata = Metadata::from_json(&metadata_text)
        .map_err(|e| StoreError::Corrupt(format!("store metadata {metadata_text:?}: {e}")))?;
    Ok(ManagedStore {
        retailer: r.text("retailer")?,
        store_ref: r.text("ref")?,
        name: r.text("name")?,
        address: r.opt_text("address")?,
        city: r.opt_text("city")?,
        region: r.opt_text("region")?,
        postal_code: r.opt_text("postal_code")?,
        country: r.text("country")?,
        lat: r.float("lat")?,
        lng: r.float("lng")?,
        metadata,
        offers: u64::try_from(r.int("offers")?).unwrap_or(0),
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    })
}

/// Generates `impl RetailDb for $store` from the statements of this module.
///
/// Input: only what differs between the backends:
/// - `store`: the store type, a struct with a `pool` field of type `sqlx::Pool<$db>`;
/// - `db`: the sqlx database type (`Sqlite`, `Postgres`);
/// - `read`: how a read is run, with the signature of [`crate::postgres::reading`]
///   (`(what, || future) -> future`): PostgreSQL retries a read whose connection was lost,
///   SQLite runs it once ([`crate::sql::read_once`]);
/// - `retailers_named`: the statement reading the owners of a list of retailers
///   ([`SQLITE_RETAILERS_NAMED`], [`PG_RETAILERS_NAMED`]);
/// - `names`: a `fn(&[String]) -> T` making that statement's `$1` of the names (SQLite: a JSON
///   array; PostgreSQL: the array itself).
///
/// Output, in the invoking module: private functions, one per method of the role (taking the
/// pool), and the `#[async_trait] impl RetailDb for $store` calling them: reads through
/// `read`, writes (one statement each) directly.
macro_rules! retail_db_impl {
    (
        store: $store:ty,
        db: $db:ty,
        read: $read:path,
        retailers_named: $named:path,
        names: $names:path $(,)?
    ) => {
        use std::collections::HashMap;

        use gs1::Gtin14;
        use sqlx::Row as _;

        use $crate::model::now_rfc3339;
        use $crate::retail::ManagedStore;
        use $crate::sql::retail::{self as sql, decode_store};
        use $crate::store::StoreError;

        type Pool = sqlx::Pool<$db>;

        async fn retailer_organizations(
            pool: &Pool,
            names: &[String],
        ) -> Result<HashMap<String, Option<i64>>, StoreError> {
            if names.is_empty() {
                return Ok(HashMap::new());
            }
            let rows = sqlx::query($named).bind($names(names)).fetch_all(pool).await?;
            rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("organization_id")?))).collect()
        }

        async fn organization_stores(
            pool: &Pool,
            organization: i64,
            offset: u64,
            limit: u64,
        ) -> Result<(Vec<ManagedStore>, u64), StoreError> {
            let (rows, total) = $crate::sql::organization_page!(
                pool,
                sql::COUNT,
                sql::PAGE,
                organization,
                offset,
                limit
            );
            let items = rows.iter().map(decode_store).collect::<Result<_, _>>()?;
            Ok((items, total))
        }

        async fn managed_store(
            pool: &Pool,
            retailer: &str,
            store_ref: &str,
        ) -> Result<Option<ManagedStore>, StoreError> {
            let row =
                sqlx::query(sql::ONE).bind(retailer).bind(store_ref).fetch_optional(pool).await?;
            row.as_ref().map(decode_store).transpose()
        }

        #[async_trait::async_trait]
        impl $crate::store::RetailDb for $store {
            async fn retailer_organizations(
                &self,
                names: &[String],
            ) -> Result<HashMap<String, Option<i64>>, StoreError> {
                $read("retailer_organizations", || retailer_organizations(&self.pool, names)).await
            }

            async fn create_retailer(
                &self,
                name: &str,
                organization_id: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::CREATE_RETAILER)
                    .bind(name)
                    .bind(organization_id)
                    .bind(now_rfc3339())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn organization_stores(
                &self,
                organization: i64,
                offset: u64,
                limit: u64,
            ) -> Result<(Vec<ManagedStore>, u64), StoreError> {
                $read("stores", || organization_stores(&self.pool, organization, offset, limit))
                    .await
            }

            async fn managed_store(
                &self,
                retailer: &str,
                store_ref: &str,
            ) -> Result<Option<ManagedStore>, StoreError> {
                $read("store", || managed_store(&self.pool, retailer, store_ref)).await
            }

            async fn delete_store(
                &self,
                retailer: &str,
                store_ref: &str,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::DELETE_STORE)
                    .bind(retailer)
                    .bind(store_ref)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_offer(
                &self,
                gtin: Gtin14,
                retailer: &str,
                store_ref: &str,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::DELETE_OFFER)
                    .bind(gtin.as_str())
                    .bind(retailer)
                    .bind(store_ref)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
pub(crate) use retail_db_impl;

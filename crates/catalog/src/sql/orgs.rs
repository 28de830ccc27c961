//! Organizations and brands (see [`crate::orgs`]), written once for both backends: every
//! statement of [`OrgsDb`](crate::store::OrgsDb), and [`orgs_db_impl!`], which generates the
//! role's `impl` for a backend's store from them. Reads come with their counts; updates are
//! compare-and-set (the row must still have the name and `updated_at` it was read with);
//! deletes refuse in the same statement while brands (organizations) or products (brands)
//! remain; an organization is created with its first member in one transaction; handing a
//! brand or retailer to an organization writes its `audit_events` row in the same transaction.

/// The columns of an organization with its brand and product counts (`o` is
/// `organizations`).
macro_rules! organization_select {
    () => {
        "SELECT o.id, o.name, o.metadata, o.created_at, o.updated_at, \
         (SELECT COUNT(*) FROM brands b WHERE b.organization_id = o.id) AS brand_count, \
         (SELECT COUNT(*) FROM products p JOIN brands b ON b.id = p.brand_id \
          WHERE b.organization_id = o.id) AS product_count \
         FROM organizations o "
    };
}

/// The columns of a brand with its product count (`b` is `brands`).
macro_rules! brand_select {
    () => {
        "SELECT b.id, b.name, b.organization_id, b.metadata, b.created_at, b.updated_at, \
         (SELECT COUNT(*) FROM products p WHERE p.brand_id = b.id) AS product_count \
         FROM brands b "
    };
}

/// A user's organization, read by the transaction creating an organization (`$1` user).
macro_rules! member_organization {
    () => {
        "SELECT organization_id FROM users WHERE id = $1"
    };
}

/// A brand's id, stored name and owner by folded name (`$1`).
macro_rules! brand_owner {
    () => {
        "SELECT id, name, organization_id FROM brands WHERE name_key = $1"
    };
}

/// A retailer's id, name and owner by exact name (`$1`).
macro_rules! retailer_owner {
    () => {
        "SELECT id, name, organization_id FROM retailers WHERE name = $1"
    };
}

// Organizations.

/// Organization `$1` with its counts.
pub(crate) const ORGANIZATION: &str = concat!(organization_select!(), "WHERE o.id = $1");
/// A new organization (`$1` name, `$2` metadata, `$3` created, `$4` updated); returns its id.
pub(crate) const CREATE_ORGANIZATION: &str = "INSERT INTO organizations (name, metadata, created_at, updated_at) \
     VALUES ($1, $2, $3, $4) RETURNING id";
/// Makes user `$3` a member of organization `$1` (`$2` now).
pub(crate) const JOIN_ORGANIZATION: &str =
    "UPDATE users SET organization_id = $1, updated_at = $2 WHERE id = $3";
/// Sets organization `$4`'s name `$1`, metadata `$2` and `updated_at` `$3`, provided it still
/// has name `$5` and `updated_at` `$6`.
pub(crate) const UPDATE_ORGANIZATION: &str = "UPDATE organizations SET name = $1, metadata = $2, updated_at = $3 \
     WHERE id = $4 AND name = $5 AND updated_at = $6";
/// Deletes organization `$1` unless it (`$2`, the same id) owns brands.
pub(crate) const DELETE_ORGANIZATION: &str = "DELETE FROM organizations WHERE id = $1 \
     AND NOT EXISTS (SELECT 1 FROM brands WHERE organization_id = $2)";
/// Tells every process on the database, when the transaction commits, to drop its cached
/// credential checks (`$1` the channel). PostgreSQL only.
pub(crate) const PG_NOTIFY: &str = "SELECT pg_notify($1, '')";

// Brands.

/// How many brands organization `$1` owns.
pub(crate) const BRAND_COUNT: &str = "SELECT COUNT(*) FROM brands WHERE organization_id = $1";
/// A page of organization `$1`'s brands by name (`$2` limit, `$3` offset).
pub(crate) const BRAND_PAGE: &str = concat!(
    brand_select!(),
    "WHERE b.organization_id = $1 ORDER BY b.name_key, b.id LIMIT $2 OFFSET $3"
);
/// Brand `$1` with its product count.
pub(crate) const BRAND: &str = concat!(brand_select!(), "WHERE b.id = $1");
/// A new brand (`$1` name, `$2` folded name, `$3` organization, `$4` metadata, `$5` created,
/// `$6` updated); returns its id, or nothing when the folded name is taken.
pub(crate) const INSERT_BRAND: &str = "INSERT INTO brands (name, name_key, organization_id, metadata, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name_key) DO NOTHING RETURNING id";
/// Sets brand `$5`'s name `$1`, folded name `$2`, metadata `$3` and `updated_at` `$4`,
/// provided it still has organization `$6`, name `$7` and `updated_at` `$8`.
pub(crate) const UPDATE_BRAND: &str = "UPDATE brands SET name = $1, name_key = $2, metadata = $3, updated_at = $4 \
     WHERE id = $5 AND organization_id IS NOT DISTINCT FROM $6 AND name = $7 AND updated_at = $8";
/// Deletes brand `$1` of organization `$2` unless it (`$3`, the same id) has products.
pub(crate) const DELETE_BRAND: &str = "DELETE FROM brands WHERE id = $1 AND organization_id = $2 \
     AND NOT EXISTS (SELECT 1 FROM products WHERE brand_id = $3)";

// Handing brands and retailers to an organization.

/// Gives brand `$3` to organization `$1` (`$2` now).
pub(crate) const SET_BRAND_OWNER: &str =
    "UPDATE brands SET organization_id = $1, updated_at = $2 WHERE id = $3";
/// Gives retailer `$3` to organization `$1` (`$2` now).
pub(crate) const SET_RETAILER_OWNER: &str =
    "UPDATE retailers SET organization_id = $1, updated_at = $2 WHERE id = $3";
/// The audit row of an assignment (`$1` now, `$2` action, `$3` target, `$4` arguments, `$5`
/// before, `$6` after).
pub(crate) const AUDIT_ASSIGN: &str = "INSERT INTO audit_events (occurred_at, action, outcome, client_id, target, \
     arguments, before_state, after_state) VALUES ($1, $2, 'ok', 'prodlink-cli', $3, $4, $5, $6)";

/// The statements a change reads its rows with, as the backend needs them: [`LOCKING_READS`]
/// lock the rows read until the transaction ends (PostgreSQL: concurrent changes from any
/// process serialize on them); [`PLAIN_READS`] do not (SQLite: the write transaction holds
/// the database's write lock from its start).
pub(crate) struct ChangeReads {
    /// A user's organization (`$1` user), when creating an organization for them.
    pub(crate) member: &'static str,
    /// A brand's id, stored name and owner by folded name (`$1`), when assigning it.
    pub(crate) brand: &'static str,
    /// A retailer's id, name and owner by exact name (`$1`), when assigning it.
    pub(crate) retailer: &'static str,
}

/// [`ChangeReads`] without row locks.
pub(crate) const PLAIN_READS: ChangeReads = ChangeReads {
    member: member_organization!(),
    brand: brand_owner!(),
    retailer: retailer_owner!(),
};

/// [`ChangeReads`] locking the rows read (`FOR UPDATE`).
pub(crate) const LOCKING_READS: ChangeReads = ChangeReads {
    member: concat!(member_organization!(), " FOR UPDATE"),
    brand: concat!(brand_owner!(), " FOR UPDATE"),
    retailer: concat!(retailer_owner!(), " FOR UPDATE"),
};

// Products and members.

/// How many products the brands of organization `$1` have.
pub(crate) const PRODUCT_COUNT: &str = "SELECT COUNT(*) FROM products p JOIN brands b ON b.id = p.brand_id \
     WHERE b.organization_id = $1";
/// A page of the products of organization `$1`'s brands by GTIN (`$2` limit, `$3` offset).
pub(crate) const PRODUCT_PAGE: &str = "SELECT p.gtin, p.name, b.name AS brand, p.updated_at FROM products p \
     JOIN brands b ON b.id = p.brand_id WHERE b.organization_id = $1 \
     ORDER BY p.gtin LIMIT $2 OFFSET $3";
/// User `$1`'s email and display name.
pub(crate) const ACCOUNT_USER: &str = "SELECT id, email, display_name FROM users WHERE id = $1";

/// Generates `impl OrgsDb for $store` from the statements of this module.
///
/// Input: only what differs between the backends:
/// - `store`: the store type, a struct with a `pool` field of type `sqlx::Pool<$db>`;
/// - `db`: the sqlx database type (`Sqlite`, `Postgres`);
/// - `begin`: an `async fn(&Pool<$db>) -> Result<Transaction<'static, $db>, sqlx::Error>`
///   opening a write transaction (SQLite: `BEGIN IMMEDIATE`, taking the write lock at once);
/// - `read`: how a read is run, with the signature of [`crate::postgres::reading`]
///   (`(what, || future) -> future`): PostgreSQL retries a read whose connection was lost,
///   SQLite runs it once ([`crate::sql::read_once`]);
/// - `change_reads`: the [`ChangeReads`] the transactions read rows with ([`LOCKING_READS`] or
///   [`PLAIN_READS`]);
/// - `announce`: an `async fn(&mut <$db as Database>::Connection) -> Result<(), StoreError>`
///   run inside the transactions that create and delete an organization, which change what
///   organization users and API keys act for (PostgreSQL notifies every process to drop its
///   cached credential checks; SQLite, served by one process, does nothing).
///
/// Output, in the invoking module: private functions, one per method of the role (taking the
/// pool), the row decoders `organization` and `brand`, and the `#[async_trait] impl OrgsDb for
/// $store` calling them: reads through `read`, writes directly. `create_organization`,
/// `delete_organization` and `assign_owner` run in one `begin` transaction each; the rest are
/// single statements.
macro_rules! orgs_db_impl {
    (
        store: $store:ty,
        db: $db:ty,
        begin: $begin:path,
        read: $read:path,
        change_reads: $reads:path,
        announce: $announce:path $(,)?
    ) => {
        use sqlx::Row as _;

        use $crate::model::{Metadata, fold_name, now_rfc3339};
        use $crate::orgs::{
            AccountUser, Assignment, Brand, Organization, OrganizationCreation,
            OrganizationProduct, Owned, RecordUpdate, Removal, count, stored_metadata,
        };
        use $crate::sql::orgs as sql;
        use $crate::sql::is_unique_violation;
        use $crate::store::StoreError;

        type Pool = sqlx::Pool<$db>;
        type Row = <$db as sqlx::Database>::Row;

        const READS: sql::ChangeReads = $reads;

        fn organization(r: &Row) -> Result<Organization, StoreError> {
            Ok(Organization {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                metadata: stored_metadata(r.try_get("metadata")?)?,
                brand_count: count(r.try_get("brand_count")?),
                product_count: count(r.try_get("product_count")?),
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        fn brand(r: &Row) -> Result<Brand, StoreError> {
            Ok(Brand {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                organization_id: r.try_get("organization_id")?,
                metadata: stored_metadata(r.try_get("metadata")?)?,
                product_count: count(r.try_get("product_count")?),
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        /// What a compare-and-set update of a name and metadata did.
        fn record_update(
            done: Result<<$db as sqlx::Database>::QueryResult, sqlx::Error>,
        ) -> Result<RecordUpdate, StoreError> {
            match done {
                Ok(d) if d.rows_affected() == 1 => Ok(RecordUpdate::Done),
                Ok(_) => Ok(RecordUpdate::Stale),
                Err(e) if is_unique_violation(&e) => Ok(RecordUpdate::NameTaken),
                Err(e) => Err(e.into()),
            }
        }

        async fn organization_record(pool: &Pool, id: i64) -> Result<Option<Organization>, StoreError> {
            let row = sqlx::query(sql::ORGANIZATION).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(organization).transpose()
        }

        async fn create_organization(
            pool: &Pool,
            name: &str,
            metadata: &Metadata,
            member: i64,
        ) -> Result<OrganizationCreation, StoreError> {
            let now = now_rfc3339();
            let mut tx = $begin(pool).await?;
            let current: Option<Option<i64>> =
                sqlx::query_scalar(READS.member).bind(member).fetch_optional(&mut *tx).await?;
            match current {
                None => return Ok(OrganizationCreation::NoSuchUser),
                Some(Some(org)) => return Ok(OrganizationCreation::AlreadyMember(org)),
                Some(None) => {}
            }
            let inserted = sqlx::query_scalar::<_, i64>(sql::CREATE_ORGANIZATION)
                .bind(name)
                .bind(metadata.to_json())
                .bind(&now)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await;
            let id = match inserted {
                Ok(id) => id,
                Err(e) if is_unique_violation(&e) => return Ok(OrganizationCreation::NameTaken),
                Err(e) => return Err(e.into()),
            };
            sqlx::query(sql::JOIN_ORGANIZATION)
                .bind(id)
                .bind(&now)
                .bind(member)
                .execute(&mut *tx)
                .await?;
            $announce(&mut tx).await?;
            tx.commit().await?;
            Ok(OrganizationCreation::Created(id))
        }

        async fn update_organization(
            pool: &Pool,
            expected: &Organization,
            name: &str,
            metadata: &Metadata,
        ) -> Result<RecordUpdate, StoreError> {
            record_update(
                sqlx::query(sql::UPDATE_ORGANIZATION)
                    .bind(name)
                    .bind(metadata.to_json())
                    .bind(now_rfc3339())
                    .bind(expected.id)
                    .bind(&expected.name)
                    .bind(&expected.updated_at)
                    .execute(pool)
                    .await,
            )
        }

        async fn delete_organization(pool: &Pool, id: i64) -> Result<Removal, StoreError> {
            let mut tx = $begin(pool).await?;
            let done =
                sqlx::query(sql::DELETE_ORGANIZATION).bind(id).bind(id).execute(&mut *tx).await?;
            if done.rows_affected() == 1 {
                $announce(&mut tx).await?;
                tx.commit().await?;
                return Ok(Removal::Done);
            }
            tx.rollback().await?;
            Ok(match organization_record(pool, id).await? {
                None => Removal::Missing,
                Some(o) => Removal::InUse(o.brand_count),
            })
        }

        async fn assign_owner(
            pool: &Pool,
            kind: Owned,
            name: &str,
            organization: i64,
            reassign: bool,
        ) -> Result<Assignment, StoreError> {
            let (select, update) = match kind {
                Owned::Brand => (READS.brand, sql::SET_BRAND_OWNER),
                Owned::Retailer => (READS.retailer, sql::SET_RETAILER_OWNER),
            };
            let mut tx = $begin(pool).await?;
            let Some(row) =
                sqlx::query(select).bind(kind.key(name)).fetch_optional(&mut *tx).await?
            else {
                return Ok(Assignment::NotFound);
            };
            let id: i64 = row.try_get("id")?;
            let name: String = row.try_get("name")?;
            let previous: Option<i64> = row.try_get("organization_id")?;
            match previous {
                Some(owner) if owner == organization => return Ok(Assignment::Unchanged { name }),
                Some(owner) if !reassign => return Ok(Assignment::OwnedByOther { name, owner }),
                _ => {}
            }
            let now = now_rfc3339();
            sqlx::query(update).bind(organization).bind(&now).bind(id).execute(&mut *tx).await?;
            let state =
                |owner: Option<i64>| serde_json::json!({ "organization_id": owner }).to_string();
            let arguments =
                serde_json::json!({ "name": name, "organization_id": organization, "reassign": reassign });
            sqlx::query(sql::AUDIT_ASSIGN)
                .bind(&now)
                .bind(format!("{}.assign", kind.noun()))
                .bind(format!("{}:{id}", kind.noun()))
                .bind(arguments.to_string())
                .bind(state(previous))
                .bind(state(Some(organization)))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Assignment::Assigned { name, previous })
        }

        async fn organization_brands(
            pool: &Pool,
            organization: i64,
            offset: u64,
            limit: u64,
        ) -> Result<(Vec<Brand>, u64), StoreError> {
            let (rows, total) = $crate::sql::organization_page!(
                pool, sql::BRAND_COUNT, sql::BRAND_PAGE, organization, offset, limit
            );
            Ok((rows.iter().map(brand).collect::<Result<_, _>>()?, total))
        }

        async fn brand_record(pool: &Pool, id: i64) -> Result<Option<Brand>, StoreError> {
            let row = sqlx::query(sql::BRAND).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(brand).transpose()
        }

        async fn insert_brand(
            pool: &Pool,
            organization: i64,
            name: &str,
            metadata: &Metadata,
        ) -> Result<Option<i64>, StoreError> {
            let now = now_rfc3339();
            Ok(sqlx::query_scalar(sql::INSERT_BRAND)
                .bind(name)
                .bind(fold_name(name))
                .bind(organization)
                .bind(metadata.to_json())
                .bind(&now)
                .bind(&now)
                .fetch_optional(pool)
                .await?)
        }

        async fn update_brand(
            pool: &Pool,
            expected: &Brand,
            name: &str,
            metadata: &Metadata,
        ) -> Result<RecordUpdate, StoreError> {
            record_update(
                sqlx::query(sql::UPDATE_BRAND)
                    .bind(name)
                    .bind(fold_name(name))
                    .bind(metadata.to_json())
                    .bind(now_rfc3339())
                    .bind(expected.id)
                    .bind(expected.organization_id)
                    .bind(&expected.name)
                    .bind(&expected.updated_at)
                    .execute(pool)
                    .await,
            )
        }

        async fn delete_brand(pool: &Pool, id: i64, organization: i64) -> Result<Removal, StoreError> {
            let done = sqlx::query(sql::DELETE_BRAND)
                .bind(id)
                .bind(organization)
                .bind(id)
                .execute(pool)
                .await?;
            if done.rows_affected() == 1 {
                return Ok(Removal::Done);
            }
            Ok(match brand_record(pool, id).await? {
                Some(b) if b.organization_id == Some(organization) => Removal::InUse(b.product_count),
                _ => Removal::Missing,
            })
        }

        async fn organization_products(
            pool: &Pool,
            organization: i64,
            offset: u64,
            limit: u64,
        ) -> Result<(Vec<OrganizationProduct>, u64), StoreError> {
            let (rows, total) = $crate::sql::organization_page!(
                pool, sql::PRODUCT_COUNT, sql::PRODUCT_PAGE, organization, offset, limit
            );
            let items = rows
                .iter()
                .map(|r| {
                    Ok(OrganizationProduct {
                        gtin: r.try_get("gtin")?,
                        name: r.try_get("name")?,
                        brand: r.try_get("brand")?,
                        updated_at: r.try_get("updated_at")?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()?;
            Ok((items, total))
        }

        async fn account_user(pool: &Pool, id: i64) -> Result<Option<AccountUser>, StoreError> {
            let row = sqlx::query(sql::ACCOUNT_USER).bind(id).fetch_optional(pool).await?;
            Ok(row
                .map(|r| {
                    Ok::<_, sqlx::Error>(AccountUser {
                        id: r.try_get("id")?,
                        email: r.try_get("email")?,
                        display_name: r.try_get("display_name")?,
                    })
                })
                .transpose()?)
        }

        #[async_trait::async_trait]
        impl $crate::store::OrgsDb for $store {
            async fn organization_record(&self, id: i64) -> Result<Option<Organization>, StoreError> {
                $read("organization_record", || organization_record(&self.pool, id)).await
            }

            async fn create_organization(
                &self,
                name: &str,
                metadata: &Metadata,
                member: i64,
            ) -> Result<OrganizationCreation, StoreError> {
                create_organization(&self.pool, name, metadata, member).await
            }

            async fn update_organization(
                &self,
                expected: &Organization,
                name: &str,
                metadata: &Metadata,
            ) -> Result<RecordUpdate, StoreError> {
                update_organization(&self.pool, expected, name, metadata).await
            }

            async fn delete_organization(&self, id: i64) -> Result<Removal, StoreError> {
                delete_organization(&self.pool, id).await
            }

            async fn assign_owner(
                &self,
                kind: Owned,
                name: &str,
                organization: i64,
                reassign: bool,
            ) -> Result<Assignment, StoreError> {
                assign_owner(&self.pool, kind, name, organization, reassign).await
            }

            async fn organization_brands(
                &self,
                organization: i64,
                offset: u64,
                limit: u64,
            ) -> Result<(Vec<Brand>, u64), StoreError> {
                $read("organization_brands", || {
                    organization_brands(&self.pool, organization, offset, limit)
                })
                .await
            }

            async fn brand_record(&self, id: i64) -> Result<Option<Brand>, StoreError> {
                $read("brand_record", || brand_record(&self.pool, id)).await
            }

            async fn insert_brand(
                &self,
                organization: i64,
                name: &str,
                metadata: &Metadata,
            ) -> Result<Option<i64>, StoreError> {
                insert_brand(&self.pool, organization, name, metadata).await
            }

            async fn update_brand(
                &self,
                expected: &Brand,
                name: &str,
                metadata: &Metadata,
            ) -> Result<RecordUpdate, StoreError> {
                update_brand(&self.pool, expected, name, metadata).await
            }

            async fn delete_brand(&self, id: i64, organization: i64) -> Result<Removal, StoreError> {
                delete_brand(&self.pool, id, organization).await
            }

            async fn organization_products(
                &self,
                organization: i64,
                offset: u64,
                limit: u64,
            ) -> Result<(Vec<OrganizationProduct>, u64), StoreError> {
                $read("organization_products", || {
                    organization_products(&self.pool, organization, offset, limit)
                })
                .await
            }

            async fn account_user(&self, id: i64) -> Result<Option<AccountUser>, StoreError> {
                $read("account_user", || account_user(&self.pool, id)).await
            }
        }
    };
}
pub(crate) use orgs_db_impl;

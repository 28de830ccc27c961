//! Organizations and brands (see [`crate::orgs`]), written once for both backends:
//! [`orgs_store!`] expands the statements in `sqlite::orgs` and `postgres::orgs`. Reads come
//! with their counts; updates are compare-and-set (the row must still have the name and
//! `updated_at` it was read with); deletes refuse in the same statement while brands
//! (organizations) or products (brands) remain; an organization is created with its first
//! member in one transaction. Creating and deleting an organization change which
//! organization users and API keys act for, so the backend's `announce` runs in those
//! transactions (PostgreSQL notifies every process to drop its cached credential checks).

/// Expands the organization and brand functions for one backend. Arguments: the pool,
/// connection and row types; an async fn `begin(&Pool)` opening a write transaction; the
/// clause locking a selected row (`""` where the transaction already holds the write lock);
/// and an async fn `announce(&mut Conn)` run in transactions that change memberships.
macro_rules! orgs_store {
    (
        pool: $Pool:ty,
        conn: $Conn:ty,
        row: $Row:ty,
        begin: $begin:path,
        lock: $lock:literal,
        announce: $announce:path $(,)?
    ) => {
        use sqlx::Row as _;

        use $crate::model::{Metadata, fold_name, now_rfc3339};
        use $crate::orgs::{
            AccountUser, Brand, Organization, OrganizationCreation, OrganizationProduct,
            RecordUpdate, Removal, count, stored_metadata,
        };
        use $crate::store::StoreError;

        const ORGANIZATION: &str = "SELECT o.id, o.name, o.metadata, o.created_at, o.updated_at, \
             (SELECT COUNT(*) FROM brands b WHERE b.organization_id = o.id) AS brand_count, \
             (SELECT COUNT(*) FROM products p JOIN brands b ON b.id = p.brand_id \
              WHERE b.organization_id = o.id) AS product_count \
             FROM organizations o WHERE o.id = $1";

        const BRAND_COLUMNS: &str = "SELECT b.id, b.name, b.organization_id, b.metadata, b.created_at, \
             b.updated_at, (SELECT COUNT(*) FROM products p WHERE p.brand_id = b.id) AS product_count \
             FROM brands b";

        fn organization(r: &$Row) -> Result<Organization, StoreError> {
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

        fn brand(r: &$Row) -> Result<Brand, StoreError> {
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

        fn is_unique_violation(e: &sqlx::Error) -> bool {
            matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
        }

        fn limit(n: u64) -> i64 {
            i64::try_from(n).unwrap_or(i64::MAX)
        }

        pub(crate) async fn organization_record(
            pool: &$Pool,
            id: i64,
        ) -> Result<Option<Organization>, StoreError> {
            let row = sqlx::query(ORGANIZATION).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(organization).transpose()
        }

        pub(crate) async fn create_organization(
            pool: &$Pool,
            name: &str,
            metadata: &Metadata,
            member: i64,
        ) -> Result<OrganizationCreation, StoreError> {
            let now = now_rfc3339();
            let mut tx = $begin(pool).await?;
            let current: Option<Option<i64>> =
                sqlx::query_scalar(concat!("SELECT organization_id FROM users WHERE id = $1", $lock))
                    .bind(member)
                    .fetch_optional(&mut *tx)
                    .await?;
            match current {
                None => return Ok(OrganizationCreation::NoSuchUser),
                Some(Some(org)) => return Ok(OrganizationCreation::AlreadyMember(org)),
                Some(None) => {}
            }
            let inserted = sqlx::query_scalar::<_, i64>(
                "INSERT INTO organizations (name, metadata, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
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
            join(&mut tx, member, id, &now).await?;
            $announce(&mut tx).await?;
            tx.commit().await?;
            Ok(OrganizationCreation::Created(id))
        }

        async fn join(
            conn: &mut $Conn,
            member: i64,
            organization: i64,
            now: &str,
        ) -> Result<(), StoreError> {
            sqlx::query("UPDATE users SET organization_id = $1, updated_at = $2 WHERE id = $3")
                .bind(organization)
                .bind(now)
                .bind(member)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }

        pub(crate) async fn update_organization(
            pool: &$Pool,
            expected: &Organization,
            name: &str,
            metadata: &Metadata,
        ) -> Result<RecordUpdate, StoreError> {
            let done = sqlx::query(
                "UPDATE organizations SET name = $1, metadata = $2, updated_at = $3 \
                 WHERE id = $4 AND name = $5 AND updated_at = $6",
            )
            .bind(name)
            .bind(metadata.to_json())
            .bind(now_rfc3339())
            .bind(expected.id)
            .bind(&expected.name)
            .bind(&expected.updated_at)
            .execute(pool)
            .await;
            match done {
                Ok(d) if d.rows_affected() == 1 => Ok(RecordUpdate::Done),
                Ok(_) => Ok(RecordUpdate::Stale),
                Err(e) if is_unique_violation(&e) => Ok(RecordUpdate::NameTaken),
                Err(e) => Err(e.into()),
            }
        }

        pub(crate) async fn delete_organization(pool: &$Pool, id: i64) -> Result<Removal, StoreError> {
            let mut tx = $begin(pool).await?;
            let done = sqlx::query(
                "DELETE FROM organizations WHERE id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM brands WHERE organization_id = $2)",
            )
            .bind(id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
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

        pub(crate) async fn organization_brands(
            pool: &$Pool,
            organization: i64,
            offset: u64,
            page: u64,
        ) -> Result<(Vec<Brand>, u64), StoreError> {
            let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM brands WHERE organization_id = $1")
                .bind(organization)
                .fetch_one(pool)
                .await?;
            let sql = format!(
                "{BRAND_COLUMNS} WHERE b.organization_id = $1 ORDER BY b.name_key, b.id LIMIT $2 OFFSET $3"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(organization)
                .bind(limit(page))
                .bind(limit(offset))
                .fetch_all(pool)
                .await?;
            Ok((rows.iter().map(brand).collect::<Result<_, _>>()?, count(total)))
        }

        pub(crate) async fn brand_record(pool: &$Pool, id: i64) -> Result<Option<Brand>, StoreError> {
            let sql = format!("{BRAND_COLUMNS} WHERE b.id = $1");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(brand).transpose()
        }

        pub(crate) async fn insert_brand(
            pool: &$Pool,
            organization: i64,
            name: &str,
            metadata: &Metadata,
        ) -> Result<Option<i64>, StoreError> {
            let now = now_rfc3339();
            Ok(sqlx::query_scalar(
                "INSERT INTO brands (name, name_key, organization_id, metadata, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name_key) DO NOTHING RETURNING id",
            )
            .bind(name)
            .bind(fold_name(name))
            .bind(organization)
            .bind(metadata.to_json())
            .bind(&now)
            .bind(&now)
            .fetch_optional(pool)
            .await?)
        }

        pub(crate) async fn update_brand(
            pool: &$Pool,
            expected: &Brand,
            name: &str,
            metadata: &Metadata,
        ) -> Result<RecordUpdate, StoreError> {
            let done = sqlx::query(
                "UPDATE brands SET name = $1, name_key = $2, metadata = $3, updated_at = $4 \
                 WHERE id = $5 AND organization_id IS NOT DISTINCT FROM $6 AND name = $7 AND updated_at = $8",
            )
            .bind(name)
            .bind(fold_name(name))
            .bind(metadata.to_json())
            .bind(now_rfc3339())
            .bind(expected.id)
            .bind(expected.organization_id)
            .bind(&expected.name)
            .bind(&expected.updated_at)
            .execute(pool)
            .await;
            match done {
                Ok(d) if d.rows_affected() == 1 => Ok(RecordUpdate::Done),
                Ok(_) => Ok(RecordUpdate::Stale),
                Err(e) if is_unique_violation(&e) => Ok(RecordUpdate::NameTaken),
                Err(e) => Err(e.into()),
            }
        }

        pub(crate) async fn delete_brand(
            pool: &$Pool,
            id: i64,
            organization: i64,
        ) -> Result<Removal, StoreError> {
            let done = sqlx::query(
                "DELETE FROM brands WHERE id = $1 AND organization_id = $2 \
                 AND NOT EXISTS (SELECT 1 FROM products WHERE brand_id = $3)",
            )
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

        /// Hands a brand or retailer to `organization` (from nobody, or from another
        /// organization when `reassign`), with its `audit_events` row, in one transaction.
        pub(crate) async fn assign_owner(
            pool: &$Pool,
            kind: $crate::orgs::Owned,
            name: &str,
            organization: i64,
            reassign: bool,
        ) -> Result<$crate::orgs::Assignment, StoreError> {
            use $crate::orgs::Assignment;
            let (table, key) = kind.table();
            let mut tx = $begin(pool).await?;
            let select = format!(
                "SELECT id, name, organization_id FROM {table} WHERE {key} = $1{}",
                $lock
            );
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(select))
                .bind(kind.key(name))
                .fetch_optional(&mut *tx)
                .await?
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
            let update =
                format!("UPDATE {table} SET organization_id = $1, updated_at = $2 WHERE id = $3");
            let now = now_rfc3339();
            sqlx::query(sqlx::AssertSqlSafe(update))
                .bind(organization)
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let state = |owner: Option<i64>| serde_json::json!({ "organization_id": owner }).to_string();
            sqlx::query(
                "INSERT INTO audit_events (occurred_at, action, outcome, client_id, target, \
                 arguments, before_state, after_state) VALUES ($1, $2, 'ok', 'prodlink-cli', $3, $4, $5, $6)",
            )
            .bind(&now)
            .bind(format!("{}.assign", kind.noun()))
            .bind(format!("{}:{id}", kind.noun()))
            .bind(serde_json::json!({ "name": name, "organization_id": organization, "reassign": reassign }).to_string())
            .bind(state(previous))
            .bind(state(Some(organization)))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Assignment::Assigned { name, previous })
        }

        pub(crate) async fn organization_products(
            pool: &$Pool,
            organization: i64,
            offset: u64,
            page: u64,
        ) -> Result<(Vec<OrganizationProduct>, u64), StoreError> {
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM products p JOIN brands b ON b.id = p.brand_id \
                 WHERE b.organization_id = $1",
            )
            .bind(organization)
            .fetch_one(pool)
            .await?;
            let rows = sqlx::query(
                "SELECT p.gtin, p.name, b.name AS brand, p.updated_at FROM products p \
                 JOIN brands b ON b.id = p.brand_id WHERE b.organization_id = $1 \
                 ORDER BY p.gtin LIMIT $2 OFFSET $3",
            )
            .bind(organization)
            .bind(limit(page))
            .bind(limit(offset))
            .fetch_all(pool)
            .await?;
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
            Ok((items, count(total)))
        }

        pub(crate) async fn account_user(
            pool: &$Pool,
            id: i64,
        ) -> Result<Option<AccountUser>, StoreError> {
            let row = sqlx::query("SELECT id, email, display_name FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?;
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
    };
}
pub(crate) use orgs_store;

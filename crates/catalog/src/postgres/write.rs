//! Batch writes of the PostgreSQL store: products (with brands, categories, images, ingredients
//! and nutrition), stores (with retailers), offers and resolver rules.
//!
//! What to write is planned by [`crate::write_plan`] (validation, merge, outcomes); this module
//! reads the stored rows and runs the SQL. Each batch is one transaction. Rows are validated in Rust first, so the schema's constraints
//! are a backstop; if the database still refuses a batch (a constraint violation, or a value
//! PostgreSQL cannot store such as a NUL character in text), the batch is retried row by row,
//! each row in its own transaction, so only the offending rows are rejected. Every table is
//! written with one `INSERT … SELECT … FROM unnest($1::…[], …)` per batch: one fixed statement
//! text (prepared once) whatever the batch size.
//!
//! SQLite serializes writers (`BEGIN IMMEDIATE`); here several processes may write at once, so
//! a batch locks the stored rows it merges into (`FOR NO KEY UPDATE`) before it writes them:
//! products and stores when it reads them (products whose write is unchanged are found first,
//! without locking), offers (the most numerous) after an unlocked read, checking that the ones
//! about to change are still as read. Upserts only touch stored rows by the id read (`… DO UPDATE
//! … WHERE t.id = excluded.id`), so a row taken for new that another writer created meanwhile
//! is not written; the batch notices (fewer rows returned) and runs again, as it does when
//! chosen as a deadlock victim.

use std::collections::HashMap;
use std::future::Future;

use sqlx::postgres::{PgBindIterExt as _, PgConnection};
use sqlx::{PgPool, Row};

use super::{constraint_message, is_constraint_violation};
use crate::model::{OfferWrite, ProductWrite, RuleWrite, StoreWrite, WriteOutcome, now_rfc3339};
use crate::store::StoreError;
use crate::write_plan::{
    self as plan, ChildRows, ProductPlan, RuleLookup, RuleRow, RuleScope, StoredOffer,
    StoredProduct, StoredStore, write_in_runs,
};

/// How many times a batch runs when it keeps losing races with concurrent writers.
const ATTEMPTS: u32 = 4;

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// Whether a failed statement is the data's fault rather than the system's: a constraint
/// violation (SQLSTATE class 23) or a value PostgreSQL cannot store (class 22, data exception,
/// e.g. a NUL character in text, which SQLite would have stored).
fn is_row_error(e: &sqlx::Error) -> bool {
    is_constraint_violation(e) || sqlstate(e).is_some_and(|c| c.starts_with("22"))
}

/// The reject message for a row the database refused.
fn row_error_message(e: &sqlx::Error) -> String {
    if is_constraint_violation(e) {
        return constraint_message(e);
    }
    match e {
        sqlx::Error::Database(db) => {
            let hint = if db.code().as_deref() == Some("22021") {
                " (text must not contain NUL characters)"
            } else {
                ""
            };
            format!("the database refused the record: {}{hint}", db.message())
        }
        other => format!("the database refused the record: {other}"),
    }
}

/// Deadlock victim or serialization failure: running the transaction again can succeed.
fn is_transient(e: &sqlx::Error) -> bool {
    sqlstate(e).is_some_and(|c| c == "40P01" || c == "40001")
}

/// Runs `attempt` (one transaction) until it completes: again when it lost a race with another
/// writer (`Ok(None)`) or was a deadlock victim, at most [`ATTEMPTS`] times.
async fn retrying<T, F, Fut>(what: &'static str, mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, sqlx::Error>>,
{
    let mut n = 1;
    loop {
        match attempt().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) if n < ATTEMPTS => {
                tracing::debug!(what, attempt = n, "rows changed by a concurrent writer; retrying")
            }
            Err(e) if n < ATTEMPTS && is_transient(&e) => {
                tracing::debug!(what, attempt = n, error = %e, "transaction aborted; retrying")
            }
            Ok(None) => {
                return Err(sqlx::Error::Protocol(format!(
                    "{what}: concurrent writers kept changing the same rows; gave up after \
                     {ATTEMPTS} attempts"
                )));
            }
            Err(e) => return Err(e),
        }
        n += 1;
    }
}

/// A refused write's reject reason: a constraint violation or a value PostgreSQL cannot store.
fn refused(e: &sqlx::Error) -> Option<String> {
    is_row_error(e).then(|| row_error_message(e))
}

// ---------------------------------------------------------------------------------------------
// Products.

pub(super) async fn upsert_products(
    pool: &PgPool,
    batch: &[ProductWrite],
) -> Result<Vec<WriteOutcome>, StoreError> {
    write_in_runs(batch, plan::product_key, |run| try_upsert_products(pool, run), refused).await
}

async fn try_upsert_products(
    pool: &PgPool,
    batch: &[ProductWrite],
) -> Result<Vec<WriteOutcome>, sqlx::Error> {
    retrying("products", || attempt_products(pool, batch)).await
}

/// One transaction writing a batch of products; `Ok(None)` when a concurrent writer created
/// one of the products it took for new (the transaction is rolled back).
async fn attempt_products(
    pool: &PgPool,
    batch: &[ProductWrite],
) -> Result<Option<Vec<WriteOutcome>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let now = now_rfc3339();

    // Writes identical to the last one applied change nothing: found without locking, so a
    // re-import of unchanged products only reads.
    let mut stored_hashes: HashMap<String, Option<String>> = HashMap::with_capacity(batch.len());
    for r in sqlx::query("SELECT gtin, source_hash FROM products WHERE gtin = ANY($1::text[])")
        .bind(batch.iter().map(|w| w.gtin.as_str()).bind_iter())
        .fetch_all(&mut *tx)
        .await?
    {
        stored_hashes.insert(r.try_get("gtin")?, r.try_get("source_hash")?);
    }
    let mut plan = ProductPlan::new(batch);
    plan.skip_unchanged(&stored_hashes);

    // The stored rows the other writes merge into, locked until commit (in id order, the same
    // in every writer).
    let mut existing: HashMap<String, StoredProduct> = HashMap::new();
    let pending: Vec<&str> = plan.pending().map(|w| w.gtin.as_str()).collect();
    if !pending.is_empty() {
        for r in sqlx::query(concat!(
            "SELECT ",
            crate::write_plan::stored_product_columns!(),
            ", (SELECT string_agg(category_id, chr(10) ORDER BY position) FROM product_categories \
                 WHERE product_id = products.id) AS category_path, \
               (SELECT string_agg(label_id, chr(10) ORDER BY position) FROM product_labels \
                 WHERE product_id = products.id) AS label_ids \
             FROM products WHERE gtin = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE"
        ))
        .bind(pending.iter().copied().bind_iter())
        .fetch_all(&mut *tx)
        .await?
        {
            let (gtin, stored) = StoredProduct::from_row(&r)?;
            existing.insert(gtin, stored);
        }
    }

    plan.check(&existing);
    let refs = plan.references();
    let brand_ids = ensure_brands(&mut tx, &refs.brands, &now).await?;
    let rows = plan.merge(&existing, &brand_ids);

    let categories = &refs.categories;
    if !categories.is_empty() {
        sqlx::query(
            "INSERT INTO categories (id, name, parent_id) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(categories.iter().map(|c| c.0).bind_iter())
        .bind(categories.iter().map(|c| c.1).bind_iter())
        .bind(categories.iter().map(|c| c.2).bind_iter())
        .execute(&mut *tx)
        .await?;
    }

    let labels = &refs.labels;
    if !labels.is_empty() {
        sqlx::query(
            "INSERT INTO labels (id, name) SELECT * FROM unnest($1::text[], $2::text[]) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(labels.iter().map(|l| l.0).bind_iter())
        .bind(labels.iter().map(|l| l.1).bind_iter())
        .execute(&mut *tx)
        .await?;
    }

    if !rows.is_empty() {
        // New products take their ids from the identity sequence; stored ones are updated only
        // when they are still the row that was read (a product another writer created after
        // the read is skipped, and not returned).
        let written = sqlx::query(
            "INSERT INTO products (id, gtin, name, brand_id, category_id, description, \
                 net_content, country_of_origin, image_url, data_source, metadata, source_hash, \
                 created_at, updated_at) \
             SELECT coalesce(u.id, nextval(pg_get_serial_sequence('products', 'id')::regclass)), \
                 u.gtin, u.name, u.brand_id, u.category_id, u.description, u.net_content, \
                 u.country_of_origin, u.image_url, u.data_source, u.metadata, u.source_hash, \
                 $13, $13 \
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
                 $12::text[]) \
                 AS u(id, gtin, name, brand_id, category_id, description, net_content, \
                      country_of_origin, image_url, data_source, metadata, source_hash) \
             ON CONFLICT (gtin) DO UPDATE SET name = excluded.name, brand_id = excluded.brand_id, \
                 category_id = excluded.category_id, description = excluded.description, \
                 net_content = excluded.net_content, country_of_origin = excluded.country_of_origin, \
                 image_url = excluded.image_url, data_source = excluded.data_source, \
                 metadata = excluded.metadata, source_hash = excluded.source_hash, \
                 updated_at = excluded.updated_at \
             WHERE products.id = excluded.id \
             RETURNING id, gtin",
        )
        .bind(rows.iter().map(|r| r.stored_id).bind_iter())
        .bind(rows.iter().map(|r| r.write.gtin.as_str()).bind_iter())
        .bind(rows.iter().map(|r| r.name.as_str()).bind_iter())
        .bind(rows.iter().map(|r| r.brand_id).bind_iter())
        .bind(rows.iter().map(|r| r.category_id.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.description.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.net_content.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.country_of_origin.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.image_url.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.write.data_source.as_str()).bind_iter())
        .bind(rows.iter().map(|r| r.metadata.as_str()).bind_iter())
        .bind(rows.iter().map(|r| r.source_hash).bind_iter())
        .bind(now.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(written.len());
        for r in written {
            ids.insert(r.try_get("gtin")?, r.try_get("id")?);
        }
        let Some(ids) = rows
            .iter()
            .map(|r| ids.get(r.write.gtin.as_str()).copied())
            .collect::<Option<Vec<i64>>>()
        else {
            return Ok(None);
        };

        write_children(&mut tx, &ChildRows::collect(&rows, &ids), &now).await?;

        // Written products need their search entries and embeddings rebuilt (by the background
        // indexer and embedder).
        sqlx::query(
            "INSERT INTO search_dirty (product_id) SELECT unnest($1::bigint[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO embed_dirty (product_id) SELECT unnest($1::bigint[]) \
             ON CONFLICT (product_id) DO UPDATE SET version = embed_dirty.version + 1",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Some(plan.outcomes()))
}

/// The ids of the brands with these name keys (those that exist).
async fn brand_ids<'a>(
    conn: &mut PgConnection,
    keys: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, name_key FROM brands WHERE name_key = ANY($1::text[])")
        .bind(keys.bind_iter())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("name_key")?, r.try_get("id")?))).collect()
}

/// The ids of brands by name key (`fold_name`) → display name, creating the missing ones.
async fn ensure_brands(
    conn: &mut PgConnection,
    brands: &HashMap<String, String>,
    now: &str,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    if brands.is_empty() {
        return Ok(HashMap::new());
    }
    let mut ids = brand_ids(conn, brands.keys().map(String::as_str)).await?;
    // Only the missing ones are inserted (a conflicting insert would still use up an id), in
    // key order so that concurrent writers creating the same brands wait instead of deadlocking.
    let mut missing: Vec<(&str, &str)> = brands
        .iter()
        .filter(|(k, _)| !ids.contains_key(k.as_str()))
        .map(|(k, n)| (k.as_str(), n.as_str()))
        .collect();
    if missing.is_empty() {
        return Ok(ids);
    }
    missing.sort_unstable();
    let rows = sqlx::query(
        "INSERT INTO brands (name, name_key, created_at, updated_at) \
         SELECT u.name, u.name_key, $3, $3 FROM unnest($1::text[], $2::text[]) AS u(name, name_key) \
         ON CONFLICT (name_key) DO NOTHING RETURNING id, name_key",
    )
    .bind(missing.iter().map(|(_, name)| *name).bind_iter())
    .bind(missing.iter().map(|(key, _)| *key).bind_iter())
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        ids.insert(r.try_get("name_key")?, r.try_get("id")?);
    }
    // Brands another writer created since the first look.
    let late: Vec<&str> =
        missing.iter().map(|(k, _)| *k).filter(|k| !ids.contains_key(*k)).collect();
    if !late.is_empty() {
        ids.extend(brand_ids(conn, late.into_iter()).await?);
    }
    Ok(ids)
}

/// Replaces the child rows of a product batch.
async fn write_children(
    conn: &mut PgConnection,
    c: &ChildRows<'_>,
    now: &str,
) -> Result<(), sqlx::Error> {
    if !c.gone_categories.is_empty() {
        sqlx::query("DELETE FROM product_categories WHERE product_id = ANY($1::bigint[])")
            .bind(&c.gone_categories)
            .execute(&mut *conn)
            .await?;
    }
    if !c.categories.is_empty() {
        sqlx::query(
            "INSERT INTO product_categories (product_id, position, category_id) \
             SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[])",
        )
        .bind(c.categories.iter().map(|(id, _, _)| *id).bind_iter())
        .bind(
            c.categories
                .iter()
                .map(|(_, pos, _)| i32::try_from(*pos).unwrap_or(i32::MAX))
                .bind_iter(),
        )
        .bind(c.categories.iter().map(|(_, _, cat)| *cat).bind_iter())
        .execute(&mut *conn)
        .await?;
    }
    if !c.gone_labels.is_empty() {
        sqlx::query("DELETE FROM product_labels WHERE product_id = ANY($1::bigint[])")
            .bind(&c.gone_labels)
            .execute(&mut *conn)
            .await?;
    }
    if !c.labels.is_empty() {
        sqlx::query(
            "INSERT INTO product_labels (product_id, position, label_id) \
             SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[])",
        )
        .bind(c.labels.iter().map(|(id, _, _)| *id).bind_iter())
        .bind(
            c.labels.iter().map(|(_, pos, _)| i32::try_from(*pos).unwrap_or(i32::MAX)).bind_iter(),
        )
        .bind(c.labels.iter().map(|(_, _, l)| *l).bind_iter())
        .execute(&mut *conn)
        .await?;
    }
    if !c.gone_images.is_empty() {
        sqlx::query("DELETE FROM product_images WHERE product_id = ANY($1::bigint[])")
            .bind(&c.gone_images)
            .execute(&mut *conn)
            .await?;
    }
    if !c.images.is_empty() {
        // In input order (ORDINALITY): images of equal priority are listed by id.
        sqlx::query(
            "INSERT INTO product_images (product_id, url, title, description, priority, \
                 is_primary, created_at) \
             SELECT u.product_id, u.url, u.title, u.description, u.priority, u.is_primary, $7 \
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], \
                 $6::boolean[]) WITH ORDINALITY \
                 AS u(product_id, url, title, description, priority, is_primary, n) \
             ORDER BY u.n",
        )
        .bind(c.images.iter().map(|(id, _)| *id).bind_iter())
        .bind(c.images.iter().map(|(_, i)| i.url.as_str()).bind_iter())
        .bind(c.images.iter().map(|(_, i)| i.title.as_deref()).bind_iter())
        .bind(c.images.iter().map(|(_, i)| i.description.as_deref()).bind_iter())
        .bind(c.images.iter().map(|(_, i)| i64::from(i.priority)).bind_iter())
        .bind(c.images.iter().map(|(_, i)| i.is_primary).bind_iter())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    if !c.gone_ingredients.is_empty() {
        sqlx::query("DELETE FROM ingredients WHERE product_id = ANY($1::bigint[])")
            .bind(&c.gone_ingredients)
            .execute(&mut *conn)
            .await?;
    }
    if !c.ingredients.is_empty() {
        sqlx::query(
            "INSERT INTO ingredients (product_id, priority, name, percentage_of_weight) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::float8[])",
        )
        .bind(c.ingredients.iter().map(|(id, _, _)| *id).bind_iter())
        .bind(c.ingredients.iter().map(|(_, pos, _)| *pos).bind_iter())
        .bind(c.ingredients.iter().map(|(_, _, i)| i.name.trim()).bind_iter())
        .bind(c.ingredients.iter().map(|(_, _, i)| i.percentage_of_weight).bind_iter())
        .execute(&mut *conn)
        .await?;
    }
    if !c.gone_nutrition.is_empty() {
        // Nutrients go with their panel (ON DELETE CASCADE).
        sqlx::query("DELETE FROM nutrition WHERE product_id = ANY($1::bigint[])")
            .bind(&c.gone_nutrition)
            .execute(&mut *conn)
            .await?;
    }
    if !c.panels.is_empty() {
        sqlx::query(
            "INSERT INTO nutrition (product_id, serving_size, servings_per_container, \
                 label_format) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::float8[], $4::text[])",
        )
        .bind(c.panels.iter().map(|(id, _)| *id).bind_iter())
        .bind(c.panels.iter().map(|(_, n)| n.serving_size.as_deref()).bind_iter())
        .bind(c.panels.iter().map(|(_, n)| n.servings_per_container).bind_iter())
        .bind(c.panels.iter().map(|(_, n)| n.label_format.as_str()).bind_iter())
        .execute(&mut *conn)
        .await?;
    }
    if !c.nutrients.is_empty() {
        sqlx::query(
            "INSERT INTO nutrients (product_id, name, position, amount, unit, daily_value_pct) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::float8[], \
                 $5::text[], $6::float8[])",
        )
        .bind(c.nutrients.iter().map(|(id, _, _)| *id).bind_iter())
        .bind(c.nutrients.iter().map(|(_, _, n)| n.name.as_str()).bind_iter())
        .bind(c.nutrients.iter().map(|(_, pos, _)| *pos).bind_iter())
        .bind(c.nutrients.iter().map(|(_, _, n)| n.amount).bind_iter())
        .bind(c.nutrients.iter().map(|(_, _, n)| n.unit.as_str()).bind_iter())
        .bind(c.nutrients.iter().map(|(_, _, n)| n.daily_value_pct).bind_iter())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Retailers and stores.

/// The ids of retailers by trimmed name; with `create`, the unknown ones are created.
async fn ensure_retailers<'a>(
    conn: &mut PgConnection,
    names: impl IntoIterator<Item = &'a str>,
    create: bool,
    now: &str,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let list = plan::distinct_names(names);
    if list.is_empty() {
        return Ok(HashMap::new());
    }
    let mut ids = retailer_ids(conn, &list).await?;
    if !create {
        return Ok(ids);
    }
    // Only the missing ones, in name order (see `ensure_brands`).
    let missing: Vec<&str> = list.iter().copied().filter(|n| !ids.contains_key(*n)).collect();
    if missing.is_empty() {
        return Ok(ids);
    }
    let rows = sqlx::query(
        "INSERT INTO retailers (name, created_at, updated_at) \
         SELECT u.name, $2, $2 FROM unnest($1::text[]) AS u(name) \
         ON CONFLICT (name) DO NOTHING RETURNING id, name",
    )
    .bind(&missing)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        ids.insert(r.try_get("name")?, r.try_get("id")?);
    }
    let late: Vec<&str> = missing.into_iter().filter(|n| !ids.contains_key(*n)).collect();
    if !late.is_empty() {
        ids.extend(retailer_ids(conn, &late).await?);
    }
    Ok(ids)
}

async fn retailer_ids(
    conn: &mut PgConnection,
    names: &[&str],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, name FROM retailers WHERE name = ANY($1::text[])")
        .bind(names)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("id")?))).collect()
}

/// Stored stores of one retailer by ref, locked until commit (stores are few and rarely
/// re-imported, so they are locked when read).
async fn existing_stores(
    conn: &mut PgConnection,
    retailer_id: i64,
    refs: &[&str],
) -> Result<Vec<(String, StoredStore)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, ref, name, address, city, region, postal_code, country, lat, lng, metadata \
         FROM stores WHERE retailer_id = $1 AND ref = ANY($2::text[]) \
         ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(retailer_id)
    .bind(refs)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(StoredStore::from_row).collect()
}

pub(super) async fn upsert_stores(
    pool: &PgPool,
    batch: &[StoreWrite],
) -> Result<Vec<WriteOutcome>, StoreError> {
    write_in_runs(batch, plan::store_key, |run| try_upsert_stores(pool, run), refused).await
}

async fn try_upsert_stores(
    pool: &PgPool,
    batch: &[StoreWrite],
) -> Result<Vec<WriteOutcome>, sqlx::Error> {
    retrying("stores", || attempt_stores(pool, batch)).await
}

async fn attempt_stores(
    pool: &PgPool,
    batch: &[StoreWrite],
) -> Result<Option<Vec<WriteOutcome>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let now = now_rfc3339();
    let retailers =
        ensure_retailers(&mut tx, batch.iter().map(|s| s.retailer.as_str()), true, &now).await?;
    // By retailer id: stores are locked in the same order by every writer.
    let by_retailer = plan::refs_by_retailer(
        batch.iter().map(|s| (s.retailer.as_str(), s.store_ref.as_str())),
        &retailers,
    );
    let mut existing = HashMap::new();
    for (rid, refs) in &by_retailer {
        for (k, v) in existing_stores(&mut tx, *rid, refs).await? {
            existing.insert((*rid, k), v);
        }
    }
    let (outcomes, rows) = plan::plan_stores(batch, &retailers, &existing);
    if !rows.is_empty() {
        let written = sqlx::query(
            "INSERT INTO stores (id, retailer_id, ref, name, address, city, region, postal_code, \
                 country, lat, lng, metadata, created_at, updated_at) \
             SELECT coalesce(u.id, nextval(pg_get_serial_sequence('stores', 'id')::regclass)), \
                 u.retailer_id, u.ref, u.name, u.address, u.city, u.region, u.postal_code, \
                 u.country, u.lat, u.lng, u.metadata, $13, $13 \
             FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::float8[], $11::float8[], \
                 $12::text[]) \
                 AS u(id, retailer_id, ref, name, address, city, region, postal_code, country, \
                      lat, lng, metadata) \
             ON CONFLICT (retailer_id, ref) DO UPDATE SET name = excluded.name, \
                 address = excluded.address, city = excluded.city, region = excluded.region, \
                 postal_code = excluded.postal_code, country = excluded.country, \
                 lat = excluded.lat, lng = excluded.lng, metadata = excluded.metadata, \
                 updated_at = excluded.updated_at \
             WHERE stores.id = excluded.id \
             RETURNING id",
        )
        .bind(rows.iter().map(|r| r.stored_id).bind_iter())
        .bind(rows.iter().map(|r| r.retailer_id).bind_iter())
        .bind(rows.iter().map(|r| r.write.store_ref.as_str()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.name.as_str()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.address.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.city.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.region.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.postal_code.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.country.as_str()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.lat).bind_iter())
        .bind(rows.iter().map(|r| r.fields.lng).bind_iter())
        .bind(rows.iter().map(|r| r.metadata.as_str()).bind_iter())
        .bind(now.as_str())
        .fetch_all(&mut *tx)
        .await?;
        if written.len() != rows.len() {
            return Ok(None);
        }
    }
    tx.commit().await?;
    Ok(Some(outcomes))
}

// ---------------------------------------------------------------------------------------------
// Offers.

pub(super) async fn upsert_offers(
    pool: &PgPool,
    batch: &[OfferWrite],
) -> Result<Vec<WriteOutcome>, StoreError> {
    write_in_runs(batch, plan::offer_key, |run| try_upsert_offers(pool, run), refused).await
}

async fn try_upsert_offers(
    pool: &PgPool,
    batch: &[OfferWrite],
) -> Result<Vec<WriteOutcome>, sqlx::Error> {
    retrying("offers", || attempt_offers(pool, batch)).await
}

async fn attempt_offers(
    pool: &PgPool,
    batch: &[OfferWrite],
) -> Result<Option<Vec<WriteOutcome>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let now = now_rfc3339();
    let retailers =
        ensure_retailers(&mut tx, batch.iter().map(|o| o.retailer.as_str()), false, &now).await?;
    let refs = plan::refs_by_retailer(
        batch.iter().map(|o| (o.retailer.as_str(), o.store_ref.as_str())),
        &retailers,
    );
    let mut store_ids: HashMap<(i64, String), i64> = HashMap::new();
    for (rid, list) in &refs {
        let rows = sqlx::query(
            "SELECT id, ref FROM stores WHERE retailer_id = $1 AND ref = ANY($2::text[])",
        )
        .bind(*rid)
        .bind(list)
        .fetch_all(&mut *tx)
        .await?;
        for r in rows {
            store_ids.insert((*rid, r.try_get("ref")?), r.try_get("id")?);
        }
    }
    let mut known: HashMap<String, i64> = HashMap::new();
    for r in sqlx::query("SELECT id, gtin FROM products WHERE gtin = ANY($1::text[])")
        .bind(batch.iter().map(|o| o.gtin.as_str()).bind_iter())
        .fetch_all(&mut *tx)
        .await?
    {
        known.insert(r.try_get("gtin")?, r.try_get("id")?);
    }
    // Stored offers, read without locking (a re-import of unchanged offers only reads); the
    // ones about to change are locked and checked below.
    let ids: Vec<i64> = store_ids.values().copied().collect();
    let product_ids: Vec<i64> = known.values().copied().collect();
    let mut existing: HashMap<(i64, i64), StoredOffer> = HashMap::new();
    if !ids.is_empty() && !product_ids.is_empty() {
        let rows = sqlx::query(
            "SELECT id, product_id, store_id, price_minor, currency, inventory_status, active, \
                    metadata \
             FROM offers WHERE product_id = ANY($1::bigint[]) AND store_id = ANY($2::bigint[])",
        )
        .bind(&product_ids)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        for r in rows {
            existing.insert(
                (r.try_get("product_id")?, r.try_get("store_id")?),
                StoredOffer::from_row(&r)?,
            );
        }
    }

    let (outcomes, rows) = plan::plan_offers(batch, &retailers, &store_ids, &known, &existing);
    if !rows.is_empty() {
        // Lock the stored offers about to change; if one changed since it was read, the merge
        // above is stale: start over.
        let changing: Vec<i64> = rows.iter().filter_map(|r| r.stored_id).collect();
        if !changing.is_empty() {
            let locked = sqlx::query(
                "SELECT id, price_minor, currency, inventory_status, active, metadata \
                 FROM offers WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE",
            )
            .bind(&changing)
            .fetch_all(&mut *tx)
            .await?;
            let read: HashMap<i64, &StoredOffer> = existing.values().map(|e| (e.id, e)).collect();
            let mut same = locked.len() == changing.len();
            for r in &locked {
                let now_stored = StoredOffer::from_row(r)?;
                same &= read.get(&now_stored.id).is_some_and(|e| **e == now_stored);
            }
            if !same {
                return Ok(None);
            }
        }
        let written = sqlx::query(
            "INSERT INTO offers (id, product_id, store_id, price_minor, currency, \
                 inventory_status, active, metadata, created_at, updated_at) \
             SELECT coalesce(u.id, nextval(pg_get_serial_sequence('offers', 'id')::regclass)), \
                 u.product_id, u.store_id, u.price_minor, u.currency, u.inventory_status, \
                 u.active, u.metadata, $9, $9 \
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], \
                 $6::text[], $7::boolean[], $8::text[]) \
                 AS u(id, product_id, store_id, price_minor, currency, inventory_status, active, \
                      metadata) \
             ON CONFLICT (product_id, store_id) DO UPDATE SET price_minor = excluded.price_minor, \
                 currency = excluded.currency, inventory_status = excluded.inventory_status, \
                 active = excluded.active, metadata = excluded.metadata, \
                 updated_at = excluded.updated_at \
             WHERE offers.id = excluded.id \
             RETURNING id",
        )
        .bind(rows.iter().map(|r| r.stored_id).bind_iter())
        .bind(rows.iter().map(|r| r.product_id).bind_iter())
        .bind(rows.iter().map(|r| r.store_id).bind_iter())
        .bind(rows.iter().map(|r| r.write.price_minor).bind_iter())
        .bind(rows.iter().map(|r| r.write.currency.as_str()).bind_iter())
        .bind(rows.iter().map(|r| r.status).bind_iter())
        .bind(rows.iter().map(|r| r.active).bind_iter())
        .bind(rows.iter().map(|r| r.metadata.as_str()).bind_iter())
        .bind(now.as_str())
        .fetch_all(&mut *tx)
        .await?;
        if written.len() != rows.len() {
            return Ok(None);
        }
    }
    tx.commit().await?;
    Ok(Some(outcomes))
}

// ---------------------------------------------------------------------------------------------
// Resolver rules.

/// Creates or updates resolver rules, keyed by (scope, target, order_index); one outcome per
/// rule. A BRAND or ORGANIZATION rule naming an unknown brand or organization is rejected.
pub(super) async fn upsert_rules(
    pool: &PgPool,
    batch: &[RuleWrite],
) -> Result<Vec<WriteOutcome>, StoreError> {
    let attempt = |rule| async move {
        let outcome =
            retrying("resolver rule", || async { try_upsert_rule(pool, rule).await.map(Some) })
                .await?;
        Ok(vec![outcome])
    };
    plan::each_row(batch, attempt, refused).await
}

async fn try_upsert_rule(pool: &PgPool, r: &RuleWrite) -> Result<WriteOutcome, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let lookup = RuleScope::of(&r.target);
    let scope = match &lookup {
        RuleLookup::Ready(scope) => Some(scope.clone()),
        RuleLookup::Brand { name_key, .. } => {
            sqlx::query_scalar("SELECT id FROM brands WHERE name_key = $1")
                .bind(name_key)
                .fetch_optional(&mut *tx)
                .await?
                .map(RuleScope::brand)
        }
        RuleLookup::Organization { trimmed, .. } => {
            sqlx::query_scalar("SELECT id FROM organizations WHERE name = $1")
                .bind(*trimmed)
                .fetch_optional(&mut *tx)
                .await?
                .map(RuleScope::organization)
        }
    };
    let Some(scope) = scope else { return Ok(lookup.unknown()) };
    let row = RuleRow::new(r, scope);
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM resolver_rules WHERE scope = $1 AND scope_key = $2 AND order_index = $3 \
         FOR NO KEY UPDATE",
    )
    .bind(row.scope_name)
    .bind(&row.scope.key)
    .bind(row.order_index)
    .fetch_optional(&mut *tx)
    .await?;
    let now = now_rfc3339();
    let changed = sqlx::query(
        "INSERT INTO resolver_rules (scope, scope_gtin, scope_qualifier, brand_id, organization_id, scope_key, order_index, \
             enabled, link_type, destination_type, custom_url, on_custom_url_dead, starts_at, ends_at, annual_start, annual_end, \
             days_of_week, time_start, time_end, time_zone, countries, languages, metadata, created_at, updated_at, title) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $24, $25) \
         ON CONFLICT (scope, scope_key, order_index) DO UPDATE SET \
             enabled = excluded.enabled, link_type = excluded.link_type, destination_type = excluded.destination_type, \
             custom_url = excluded.custom_url, on_custom_url_dead = excluded.on_custom_url_dead, starts_at = excluded.starts_at, \
             ends_at = excluded.ends_at, annual_start = excluded.annual_start, annual_end = excluded.annual_end, \
             days_of_week = excluded.days_of_week, time_start = excluded.time_start, time_end = excluded.time_end, \
             time_zone = excluded.time_zone, countries = excluded.countries, languages = excluded.languages, \
             metadata = excluded.metadata, title = excluded.title, updated_at = excluded.updated_at, \
             url_status = CASE WHEN resolver_rules.custom_url IS NOT DISTINCT FROM excluded.custom_url THEN resolver_rules.url_status ELSE 'unknown' END, \
             url_failures = CASE WHEN resolver_rules.custom_url IS NOT DISTINCT FROM excluded.custom_url THEN resolver_rules.url_failures ELSE 0 END, \
             url_checked_at = CASE WHEN resolver_rules.custom_url IS NOT DISTINCT FROM excluded.custom_url THEN resolver_rules.url_checked_at ELSE NULL END \
         WHERE resolver_rules.enabled IS DISTINCT FROM excluded.enabled OR resolver_rules.link_type IS DISTINCT FROM excluded.link_type \
             OR resolver_rules.destination_type IS DISTINCT FROM excluded.destination_type OR resolver_rules.custom_url IS DISTINCT FROM excluded.custom_url \
             OR resolver_rules.on_custom_url_dead IS DISTINCT FROM excluded.on_custom_url_dead OR resolver_rules.starts_at IS DISTINCT FROM excluded.starts_at \
             OR resolver_rules.ends_at IS DISTINCT FROM excluded.ends_at OR resolver_rules.annual_start IS DISTINCT FROM excluded.annual_start \
             OR resolver_rules.annual_end IS DISTINCT FROM excluded.annual_end OR resolver_rules.days_of_week IS DISTINCT FROM excluded.days_of_week \
             OR resolver_rules.time_start IS DISTINCT FROM excluded.time_start OR resolver_rules.time_end IS DISTINCT FROM excluded.time_end \
             OR resolver_rules.time_zone IS DISTINCT FROM excluded.time_zone OR resolver_rules.countries IS DISTINCT FROM excluded.countries \
             OR resolver_rules.languages IS DISTINCT FROM excluded.languages OR resolver_rules.metadata IS DISTINCT FROM excluded.metadata \
             OR resolver_rules.title IS DISTINCT FROM excluded.title",
    )
    .bind(row.scope_name)
    .bind(&row.scope.gtin)
    .bind(&row.scope.qualifier)
    .bind(row.scope.brand_id)
    .bind(row.scope.organization_id)
    .bind(&row.scope.key)
    .bind(row.order_index)
    .bind(r.enabled)
    .bind(&r.link_type)
    .bind(row.destination_type)
    .bind(&r.custom_url)
    .bind(&r.on_custom_url_dead)
    .bind(&r.starts_at)
    .bind(&r.ends_at)
    .bind(row.annual_start)
    .bind(row.annual_end)
    .bind(row.days_of_week)
    .bind(row.time_start)
    .bind(row.time_end)
    .bind(&r.time_zone)
    .bind(&row.countries)
    .bind(&row.languages)
    .bind(&row.metadata)
    .bind(&now)
    .bind(&r.title)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(RuleRow::outcome(existing.is_some(), changed))
}

#[cfg(test)]
mod tests {
    //! Against a real PostgreSQL server: set `PRODLINK_TEST_PG` to an admin URL (e.g.
    //! `postgres://prodlink@127.0.0.1:54329/postgres`, see `scripts/pg.sh`); each test creates
    //! a database of its own. Without it the tests are skipped.

    use std::time::Duration;

    use gs1::Gtin14;
    use sqlx::Connection as _;

    use super::*;
    use crate::geo::{BoundingBox, Point};
    use crate::iso::{CountryCode, CurrencyCode};
    use crate::model::{
        CategoryRef, DataSource, ImageWrite, IngredientWrite, InventoryStatus, LabelFormat,
        MetadataPatch, NutrientWrite, NutritionWrite, Patch, PriceRange, RuleTarget,
    };
    use crate::postgres::{PgOptions, PgStore, read};

    /// A migrated database for one test, dropped by [`TestDb::finish`].
    struct TestDb {
        admin: String,
        name: String,
        url: String,
        store: PgStore,
    }

    impl TestDb {
        /// `None` (and a line saying so) when `PRODLINK_TEST_PG` is unset.
        async fn new(test: &str) -> Option<Self> {
            let Ok(admin) = std::env::var("PRODLINK_TEST_PG") else {
                eprintln!("skipped {test}: PRODLINK_TEST_PG (a PostgreSQL admin URL) is not set");
                return None;
            };
            let name = format!("catalog_write_{test}_{}", std::process::id());
            let url = PgStore::create_database(&admin, &name).await.unwrap();
            let store = PgStore::open_and_migrate(&url, &PgOptions::default()).await.unwrap();
            Some(Self { admin, name, url, store })
        }

        fn pool(&self) -> &PgPool {
            self.store.pool()
        }

        async fn finish(self) {
            self.store.close().await;
            let mut conn = sqlx::PgConnection::connect(&self.admin).await.unwrap();
            // `name` is made of the test name and the process id only.
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await.unwrap();
        }

        async fn queued(&self, table: &str) -> Vec<String> {
            let sql = format!(
                "SELECT p.gtin FROM {table} d JOIN products p ON p.id = d.product_id ORDER BY p.gtin"
            );
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await.unwrap()
        }

        async fn clear_queues(&self) {
            sqlx::query("DELETE FROM search_dirty").execute(self.pool()).await.unwrap();
            sqlx::query("DELETE FROM embed_dirty").execute(self.pool()).await.unwrap();
        }
    }

    fn gtin(s: &str) -> Gtin14 {
        Gtin14::parse(s).unwrap()
    }

    fn product(g: &str, name: &str) -> ProductWrite {
        let mut w = ProductWrite::new(gtin(g), DataSource::Manual);
        w.name = Patch::Set(name.to_owned());
        w
    }

    fn metadata(pairs: &[(&str, &str)]) -> MetadataPatch {
        MetadataPatch::new(pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()).unwrap()
    }

    fn store_write(retailer: &str, store_ref: &str, lat: f64, lng: f64) -> StoreWrite {
        StoreWrite {
            retailer: retailer.into(),
            store_ref: store_ref.into(),
            name: format!("{retailer} {store_ref}"),
            address: Patch::Set(format!("{store_ref} Main St")),
            city: Patch::Set("Springfield".into()),
            region: Patch::Set("IL".into()),
            postal_code: Patch::Set("62701".into()),
            country: CountryCode::parse("US").unwrap(),
            lat,
            lng,
            metadata: MetadataPatch::default(),
        }
    }

    fn offer(g: &str, retailer: &str, store_ref: &str, cents: i64) -> OfferWrite {
        OfferWrite {
            gtin: gtin(g),
            retailer: retailer.into(),
            store_ref: store_ref.into(),
            price_minor: cents,
            currency: CurrencyCode::parse("USD").unwrap(),
            inventory_status: Some(InventoryStatus::InStock),
            active: Some(true),
            metadata: MetadataPatch::default(),
        }
    }

    /// The store's futures must be `Send` (the trait is `async_trait`).
    fn futures_are_send(
        pool: &PgPool,
        p: &[ProductWrite],
        s: &[StoreWrite],
        o: &[OfferWrite],
        r: &[RuleWrite],
    ) {
        fn send<T: Send>(_: T) {}
        send(upsert_products(pool, p));
        send(upsert_stores(pool, s));
        send(upsert_offers(pool, o));
        send(upsert_rules(pool, r));
        send(read::product_children(pool, gtin("95012346")));
        send(read::rules_for(pool, gtin("95012346"), None, None));
    }

    #[tokio::test]
    async fn products_insert_update_and_recognize_unchanged_rows() {
        let _ = futures_are_send;
        let Some(db) = TestDb::new("products").await else { return };
        let pool = db.pool();
        let mut a = product("4012345000009", "Dark chocolate");
        a.brand = Patch::Set("Lindt".into());
        a.category = Patch::Set(vec![
            CategoryRef { id: "en:snacks".into(), name: "Snacks".into() },
            CategoryRef { id: "en:chocolates".into(), name: "Chocolates".into() },
        ]);
        a.description = Patch::Set("  Bitter  ".into());
        a.net_content = Patch::Set("100 g".into());
        a.country_of_origin = Patch::Set(CountryCode::parse("CH").unwrap());
        a.image_url = Patch::Set("https://img.example/front.jpg".into());
        a.metadata = metadata(&[("sku", "A-1"), ("tmp", "x")]);
        a.images = Some(vec![
            ImageWrite {
                url: "https://img.example/back.jpg".into(),
                title: Some("Back".into()),
                description: Some("The back".into()),
                priority: 2,
                is_primary: false,
            },
            ImageWrite {
                url: "https://img.example/front.jpg".into(),
                title: Some("Front".into()),
                description: None,
                priority: 1,
                is_primary: true,
            },
            ImageWrite {
                url: "https://img.example/side.jpg".into(),
                title: Some("Side".into()),
                description: Some("tab\there, back\\slash \\N, \"quoted\"\r\nnext line\\.".into()),
                priority: 2,
                is_primary: false,
            },
        ]);
        a.ingredients = Some(vec![
            IngredientWrite { name: " sugar ".into(), percentage_of_weight: Some(0.1 + 0.2) },
            IngredientWrite { name: "cocoa".into(), percentage_of_weight: None },
        ]);
        a.nutrition = Patch::Set(NutritionWrite {
            serving_size: Some("25 g".into()),
            servings_per_container: Some(4.0),
            label_format: LabelFormat::Per100g,
            nutrients: vec![
                NutrientWrite {
                    name: "fat".into(),
                    amount: 30.0,
                    unit: "g".into(),
                    daily_value_pct: None,
                },
                NutrientWrite {
                    name: "energy-kcal".into(),
                    amount: 530.0 + 1.0 / 3.0,
                    unit: "kcal".into(),
                    daily_value_pct: Some(26.5),
                },
            ],
        });
        let b = product("95012346", "Sample 8");
        let out = upsert_products(pool, &[a.clone(), b.clone()]).await.unwrap();
        assert_eq!(out, vec![WriteOutcome::Inserted, WriteOutcome::Inserted]);

        let p = read::product(pool, gtin("4012345000009")).await.unwrap().unwrap();
        assert_eq!(p.name, "Dark chocolate");
        assert_eq!(p.brand.as_deref(), Some("Lindt"));
        assert_eq!(p.category_id.as_deref(), Some("en:chocolates"));
        assert_eq!(p.category.as_deref(), Some("Chocolates"));
        assert_eq!(p.description.as_deref(), Some("Bitter"));
        assert_eq!(p.net_content.as_deref(), Some("100 g"));
        assert_eq!(p.country_of_origin.as_deref(), Some("CH"));
        assert_eq!(p.image_url.as_deref(), Some("https://img.example/front.jpg"));
        assert_eq!(p.data_source, DataSource::Manual);
        assert_eq!(p.metadata.to_json(), r#"{"sku":"A-1","tmp":"x"}"#);
        assert_eq!(p.created_at, p.updated_at);
        let c = read::product_children(pool, gtin("4012345000009")).await.unwrap();
        let images: Vec<_> = c
            .images
            .iter()
            .map(|i| (i.title.as_deref().unwrap(), i.priority, i.is_primary, i.description.clone()))
            .collect();
        assert_eq!(
            images,
            [
                ("Front", 1, true, None),
                ("Back", 2, false, Some("The back".to_owned())),
                (
                    "Side",
                    2,
                    false,
                    Some("tab\there, back\\slash \\N, \"quoted\"\r\nnext line\\.".to_owned())
                ),
            ]
        );
        let ingredients: Vec<_> = c
            .ingredients
            .iter()
            .map(|i| (i.name.as_str(), i.percentage_of_weight, i.priority))
            .collect();
        assert_eq!(ingredients, [("sugar", Some(0.1 + 0.2), 0), ("cocoa", None, 1)]);
        let n = c.nutrition.unwrap();
        assert_eq!(n.serving_size.as_deref(), Some("25 g"));
        assert_eq!(n.servings_per_container, Some(4.0));
        assert_eq!(n.label_format, LabelFormat::Per100g);
        let nutrients: Vec<_> = n
            .nutrients
            .iter()
            .map(|n| (n.name.as_str(), n.amount, n.unit.as_str(), n.daily_value_pct))
            .collect();
        assert_eq!(
            nutrients,
            [("fat", 30.0, "g", None), ("energy-kcal", 530.0 + 1.0 / 3.0, "kcal", Some(26.5))]
        );
        let both =
            read::products(pool, &[gtin("95012346"), gtin("4012345000009"), gtin("40123455")])
                .await
                .unwrap();
        assert_eq!(both.len(), 2);
        assert_eq!(db.queued("search_dirty").await, ["00000095012346", "04012345000009"]);
        assert_eq!(db.queued("embed_dirty").await, ["00000095012346", "04012345000009"]);

        // The same writes again change nothing and queue nothing.
        db.clear_queues().await;
        let out = upsert_products(pool, &[a.clone(), b.clone()]).await.unwrap();
        assert_eq!(out, vec![WriteOutcome::Unchanged, WriteOutcome::Unchanged]);
        assert!(db.queued("search_dirty").await.is_empty());
        assert!(db.queued("embed_dirty").await.is_empty());
        assert_eq!(read::product(pool, gtin("4012345000009")).await.unwrap().unwrap(), p);

        // A partial update keeps what it does not mention, merges metadata, replaces the
        // children it names, and queues the product again.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let mut upd = ProductWrite::new(gtin("04012345000009"), DataSource::Api);
        upd.description = Patch::Set("70% cocoa".into());
        upd.metadata = metadata(&[("tmp", ""), ("new", "y")]);
        upd.ingredients =
            Some(vec![IngredientWrite { name: "salt".into(), percentage_of_weight: None }]);
        upd.nutrition = Patch::Clear;
        upd.net_content = Patch::Clear;
        assert_eq!(upsert_products(pool, &[upd]).await.unwrap(), vec![WriteOutcome::Updated]);
        let q = read::product(pool, gtin("4012345000009")).await.unwrap().unwrap();
        assert_eq!(q.name, "Dark chocolate");
        assert_eq!(q.brand.as_deref(), Some("Lindt"));
        assert_eq!(q.category.as_deref(), Some("Chocolates"));
        assert_eq!(q.description.as_deref(), Some("70% cocoa"));
        assert_eq!(q.net_content, None);
        assert_eq!(q.country_of_origin.as_deref(), Some("CH"));
        assert_eq!(q.metadata.to_json(), r#"{"new":"y","sku":"A-1"}"#);
        assert_eq!(q.data_source, DataSource::Api);
        assert_eq!(q.created_at, p.created_at);
        assert!(q.updated_at > p.updated_at, "{} > {}", q.updated_at, p.updated_at);
        let c = read::product_children(pool, gtin("4012345000009")).await.unwrap();
        assert_eq!(c.images.len(), 3);
        assert_eq!(c.ingredients.len(), 1);
        assert_eq!(c.ingredients[0].name, "salt");
        assert!(c.nutrition.is_none());
        let orphans: i64 =
            sqlx::query_scalar("SELECT count(*) FROM nutrients").fetch_one(pool).await.unwrap();
        assert_eq!(orphans, 0);
        assert_eq!(db.queued("search_dirty").await, ["04012345000009"]);
        assert_eq!(db.queued("embed_dirty").await, ["04012345000009"]);

        // Brands match case-insensitively: no second "LINDT" brand.
        let mut c = product("9506000134352", "Milk chocolate");
        c.brand = Patch::Set("  LINDT ".into());
        c.category = Patch::Set(vec![CategoryRef { id: "en:snacks".into(), name: "x".into() }]);
        assert_eq!(upsert_products(pool, &[c]).await.unwrap(), vec![WriteOutcome::Inserted]);
        let counts = read::counts(pool).await.unwrap();
        assert_eq!((counts.products, counts.brands, counts.categories), (3, 1, 2));
        let parent: Option<String> =
            sqlx::query_scalar("SELECT parent_id FROM categories WHERE id = 'en:chocolates'")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(parent.as_deref(), Some("en:snacks"));
        let c = read::product(pool, gtin("9506000134352")).await.unwrap().unwrap();
        assert_eq!((c.brand.as_deref(), c.category.as_deref()), (Some("Lindt"), Some("Snacks")));
        assert_eq!(
            read::product_gtins(pool).await.unwrap(),
            [gtin("95012346"), gtin("4012345000009"), gtin("9506000134352")]
        );
        db.finish().await;
    }

    #[tokio::test]
    async fn bad_rows_are_rejected_and_the_rest_of_the_batch_lands() {
        let Some(db) = TestDb::new("rejects").await else { return };
        let pool = db.pool();
        // A constraint the application does not check: only the database refuses this name.
        sqlx::query(
            "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.name = 'refuse me' THEN \
                 RAISE EXCEPTION 'refused by the test trigger' USING ERRCODE = 'check_violation'; \
             END IF; RETURN NEW; END $$",
        )
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "CREATE TRIGGER test_refuse BEFORE INSERT OR UPDATE ON products \
             FOR EACH ROW EXECUTE FUNCTION test_refuse()",
        )
        .execute(pool)
        .await
        .unwrap();
        let mut nameless = ProductWrite::new(gtin("96385074"), DataSource::Off);
        nameless.description = Patch::Set("no name".into());
        let mut bad_pct = product("40123455", "Bad share");
        bad_pct.ingredients =
            Some(vec![IngredientWrite { name: "x".into(), percentage_of_weight: Some(120.0) }]);
        let mut nul_metadata = product("4006381333931", "NUL in metadata");
        nul_metadata.metadata = metadata(&[("note", "a\u{0}b")]);
        let mut nul_ingredient = product("0012345678905", "NUL in an ingredient");
        nul_ingredient.ingredients =
            Some(vec![IngredientWrite { name: "salt\u{0}".into(), percentage_of_weight: None }]);
        let mut last = product("95012346", "Last");
        last.brand = Patch::Set("Acme".into());
        last.images = Some(vec![ImageWrite {
            url: "https://img.example/last.jpg".into(),
            title: None,
            description: None,
            priority: 0,
            is_primary: true,
        }]);
        let batch = vec![
            product("4012345000009", "First"),
            product("9506000134352", "refuse me"),
            nameless,
            bad_pct,
            product("5901234123457", "NUL\u{0} in the name"),
            nul_metadata,
            nul_ingredient,
            last,
            product("4012345000009", "First, renamed"), // same GTIN again in one batch
        ];
        let out = upsert_products(pool, &batch).await.unwrap();
        assert_eq!(out.len(), batch.len());
        assert_eq!(out[0], WriteOutcome::Inserted);
        let rejected = |o: &WriteOutcome, needle: &str| {
            assert!(matches!(o, WriteOutcome::Rejected(r) if r.contains(needle)), "{o:?}");
        };
        rejected(&out[1], "refused by the test trigger");
        rejected(&out[2], "name: a new product needs a name");
        rejected(&out[3], "percentage_of_weight");
        rejected(&out[4], "NUL");
        rejected(&out[5], "the database refused the record");
        rejected(&out[6], "NUL");
        assert_eq!(out[7], WriteOutcome::Inserted);
        assert_eq!(out[8], WriteOutcome::Updated);
        for o in &out {
            eprintln!("{o:?}");
        }
        let p = read::product(pool, gtin("4012345000009")).await.unwrap().unwrap();
        assert_eq!(p.name, "First, renamed");
        let last = read::product(pool, gtin("95012346")).await.unwrap().unwrap();
        assert_eq!(last.brand.as_deref(), Some("Acme"));
        assert_eq!(read::product_children(pool, gtin("95012346")).await.unwrap().images.len(), 1);
        assert_eq!(read::counts(pool).await.unwrap().products, 2);
        assert_eq!(db.queued("search_dirty").await, ["00000095012346", "04012345000009"]);
        assert_eq!(db.queued("embed_dirty").await, ["00000095012346", "04012345000009"]);

        // A refused update leaves the stored product as it was.
        let mut refuse = product("4012345000009", "refuse me");
        refuse.description = Patch::Set("never stored".into());
        let out = upsert_products(pool, &[refuse]).await.unwrap();
        rejected(&out[0], "refused by the test trigger");
        let q = read::product(pool, gtin("4012345000009")).await.unwrap().unwrap();
        assert_eq!(q, p);
        db.finish().await;
    }

    #[tokio::test]
    async fn a_product_created_by_a_concurrent_writer_is_merged_not_overwritten() {
        let Some(db) = TestDb::new("race").await else { return };
        let pool = db.pool().clone();
        // Another writer creates the product and has not committed yet.
        let mut other = pool.begin().await.unwrap();
        sqlx::query(
            "INSERT INTO products (gtin, name, description, data_source, created_at, updated_at) \
             VALUES ('04012345000009', 'From the other writer', 'kept', 'import', 't', 't')",
        )
        .execute(&mut *other)
        .await
        .unwrap();
        let write = tokio::spawn({
            let pool = pool.clone();
            async move { upsert_products(&pool, &[product("4012345000009", "Ours")]).await }
        });
        // Wait until our insert waits for the other transaction, then let it commit.
        let mut waited = 0;
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            if waiting > 0 {
                break;
            }
            waited += 1;
            assert!(waited < 500, "the write never waited for the other transaction");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        other.commit().await.unwrap();
        let out = write.await.unwrap().unwrap();
        assert_eq!(out, vec![WriteOutcome::Updated]);
        let p = read::product(&pool, gtin("4012345000009")).await.unwrap().unwrap();
        assert_eq!(p.name, "Ours");
        assert_eq!(p.description.as_deref(), Some("kept"));
        assert_eq!(p.created_at, "t");
        assert_eq!(read::counts(&pool).await.unwrap().products, 1);
        db.finish().await;
    }

    #[tokio::test]
    async fn stores_and_offers_upsert_by_their_keys_and_read_back() {
        let Some(db) = TestDb::new("stores_offers").await else { return };
        let pool = db.pool();
        upsert_products(pool, &[product("4012345000009", "Bar"), product("95012346", "Gum")])
            .await
            .unwrap();
        let s = vec![
            store_write("Acme", "s2", 40.1, -74.0),
            store_write("Acme", "s1", 40.0, -74.0),
            StoreWrite { name: "Acme s3".into(), ..store_write(" Acme ", "s3", 40.01, -74.01) },
        ];
        assert_eq!(upsert_stores(pool, &s).await.unwrap(), vec![WriteOutcome::Inserted; 3]);
        assert_eq!(upsert_stores(pool, &s).await.unwrap(), vec![WriteOutcome::Unchanged; 3]);
        let mut moved = s[0].clone();
        moved.lat = 40.2;
        moved.address = Patch::Keep;
        moved.metadata = metadata(&[("hours", "24/7")]);
        let mut bad = store_write("Acme", "s9", 95.0, 0.0);
        bad.name = "Out of range".into();
        let out = upsert_stores(pool, &[moved, bad]).await.unwrap();
        assert_eq!(out[0], WriteOutcome::Updated);
        assert!(matches!(&out[1], WriteOutcome::Rejected(r) if r.starts_with("lat:")), "{out:?}");
        let (address, lat, meta): (Option<String>, f64, String) =
            sqlx::query_as("SELECT address, lat, metadata FROM stores WHERE ref = 's2'")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(
            (address.as_deref(), lat, meta.as_str()),
            (Some("s2 Main St"), 40.2, r#"{"hours":"24/7"}"#)
        );
        let listed: Vec<_> = read::stores(pool)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.retailer, s.store_ref, s.lat, s.lng))
            .collect();
        assert_eq!(
            listed,
            [
                ("Acme".to_owned(), "s1".to_owned(), 40.0, -74.0),
                ("Acme".to_owned(), "s2".to_owned(), 40.2, -74.0),
                ("Acme".to_owned(), "s3".to_owned(), 40.01, -74.01),
            ]
        );

        let o = vec![
            offer("4012345000009", "Acme", "s1", 349),
            offer("4012345000009", "Acme", "nope", 349),
            offer("9506000134352", "Acme", "s1", 349),
            offer("4012345000009", "Nobody", "s1", 349),
            offer("4012345000009", "Acme", "s2", 499),
            offer("95012346", "Acme", "s1", -1),
        ];
        let out = upsert_offers(pool, &o).await.unwrap();
        assert_eq!(out[0], WriteOutcome::Inserted);
        let rejected = |o: &WriteOutcome, needle: &str| {
            assert!(matches!(o, WriteOutcome::Rejected(r) if r.contains(needle)), "{o:?}");
        };
        rejected(&out[1], "has no store \"nope\"");
        rejected(&out[2], "no product 09506000134352");
        rejected(&out[3], "unknown retailer");
        assert_eq!(out[4], WriteOutcome::Inserted);
        rejected(&out[5], "price: must not be negative");
        let mut cheaper = o[0].clone();
        cheaper.price_minor = 299;
        assert_eq!(upsert_offers(pool, &[cheaper.clone()]).await.unwrap(), [WriteOutcome::Updated]);
        assert_eq!(
            upsert_offers(pool, &[cheaper.clone()]).await.unwrap(),
            [WriteOutcome::Unchanged]
        );
        // Left-out fields keep their stored values.
        let mut partial = cheaper.clone();
        partial.inventory_status = None;
        partial.active = None;
        assert_eq!(upsert_offers(pool, &[partial]).await.unwrap(), [WriteOutcome::Unchanged]);
        // Another currency with fewer offers does not win the price range; inactive offers
        // do not count.
        let mut euro = offer("4012345000009", "Acme", "s3", 100);
        euro.currency = CurrencyCode::parse("EUR").unwrap();
        euro.inventory_status = Some(InventoryStatus::LowStock);
        let mut off = offer("95012346", "Acme", "s2", 50);
        off.active = Some(false);
        assert_eq!(
            upsert_offers(pool, &[euro, off]).await.unwrap(),
            [WriteOutcome::Inserted, WriteOutcome::Inserted]
        );
        let ranges =
            read::price_ranges(pool, &[gtin("4012345000009"), gtin("95012346")]).await.unwrap();
        assert_eq!(ranges.len(), 1);
        assert_eq!(ranges[&gtin("4012345000009")], PriceRange { min: 2.99, max: 4.99 });

        let area = BoundingBox::around(Point { lat: 40.0, lng: -74.0 }, 5.0);
        let mut near = read::offers_in_box(pool, gtin("4012345000009"), &area).await.unwrap();
        near.sort_by(|a, b| a.store_name.cmp(&b.store_name));
        assert_eq!(near.len(), 2, "{near:?}");
        let s1 = &near[0];
        assert_eq!(
            (s1.retailer.as_str(), s1.store_name.as_str(), s1.address.as_deref()),
            ("Acme", "Acme s1", Some("s1 Main St"))
        );
        assert_eq!(
            (s1.city.as_deref(), s1.region.as_deref(), s1.postal_code.as_deref()),
            (Some("Springfield"), Some("IL"), Some("62701"))
        );
        assert_eq!((s1.lat, s1.lng, s1.price, s1.currency.as_str()), (40.0, -74.0, 2.99, "USD"));
        assert_eq!(s1.inventory_status, InventoryStatus::InStock);
        assert_eq!((near[1].price, near[1].currency.as_str()), (1.0, "EUR"));
        assert_eq!(near[1].inventory_status, InventoryStatus::LowStock);
        assert!(read::offers_in_box(pool, gtin("95012346"), &area).await.unwrap().is_empty());

        let counts = read::counts(pool).await.unwrap();
        assert_eq!((counts.products, counts.retailers, counts.stores, counts.offers), (2, 1, 3, 4));
        db.finish().await;
    }

    #[tokio::test]
    async fn rules_upsert_and_read_back() {
        let Some(db) = TestDb::new("rules").await else { return };
        let pool = db.pool();
        let g = gtin("4012345000009");
        let mut p = product("4012345000009", "Bar");
        p.brand = Patch::Set("Acme Foods".into());
        upsert_products(pool, &[p]).await.unwrap();
        let rule = |target: RuleTarget, order_index: u32, url: Option<&str>| RuleWrite {
            target,
            order_index,
            enabled: true,
            link_type: None,
            custom_url: url.map(str::to_owned),
            on_custom_url_dead: "FALLBACK_TO_HOSTED".into(),
            starts_at: None,
            ends_at: None,
            annual: None,
            days_of_week: None,
            daily: None,
            time_zone: None,
            countries: None,
            languages: None,
            title: None,
            metadata: MetadataPatch::default(),
        };
        let mut brand = rule(RuleTarget::Brand("  acme FOODS".into()), 1, None);
        brand.link_type = Some("gs1:pip".into());
        brand.starts_at = Some("2026-01-01T00:00:00Z".into());
        brand.ends_at = Some("2027-01-01T00:00:00Z".into());
        brand.annual = Some(("12-01".into(), "01-31".into()));
        brand.days_of_week = Some(31);
        brand.daily = Some(("08:00".into(), "18:00".into()));
        brand.time_zone = Some("Europe/Zurich".into());
        brand.countries = Some(vec!["CH".into(), "DE".into()]);
        brand.languages = Some(vec!["de".into()]);
        brand.title = Some("Produktinfo".into());
        brand.on_custom_url_dead = "SKIP_RULE".into();
        brand.metadata = metadata(&[("owner", "marketing")]);
        let mut disabled = rule(RuleTarget::Product(g), 5, None);
        disabled.enabled = false;
        let mut bad = rule(RuleTarget::Product(g), 6, None);
        bad.daily = Some(("8am".into(), "6pm".into()));
        bad.time_zone = Some("UTC".into());
        let batch = vec![
            rule(RuleTarget::Product(g), 0, Some("https://a.example/")),
            rule(RuleTarget::Global, 0, None),
            brand.clone(),
            rule(RuleTarget::Brand("Nobody".into()), 0, None),
            rule(RuleTarget::Organization("Nobody Inc".into()), 0, None),
            rule(RuleTarget::Serial(g, "S1".into()), 0, None),
            rule(RuleTarget::Batch(g, "L1".into()), 0, None),
            disabled,
            bad,
        ];
        let out = upsert_rules(pool, &batch).await.unwrap();
        let rejected = |o: &WriteOutcome, needle: &str| {
            assert!(matches!(o, WriteOutcome::Rejected(r) if r.contains(needle)), "{o:?}");
        };
        assert_eq!(
            out[..3],
            [WriteOutcome::Inserted, WriteOutcome::Inserted, WriteOutcome::Inserted]
        );
        rejected(&out[3], "brand: no brand named \"Nobody\"");
        rejected(&out[4], "organization: no organization named \"Nobody Inc\"");
        assert_eq!(
            out[5..8],
            [WriteOutcome::Inserted, WriteOutcome::Inserted, WriteOutcome::Inserted]
        );
        rejected(&out[8], "the database refused the record");

        let again = upsert_rules(pool, &batch).await.unwrap();
        assert_eq!(
            again[..3],
            [WriteOutcome::Unchanged, WriteOutcome::Unchanged, WriteOutcome::Unchanged]
        );
        assert_eq!(
            again[5..8],
            [WriteOutcome::Unchanged, WriteOutcome::Unchanged, WriteOutcome::Unchanged]
        );

        // A changed URL resets the URL health; other changes keep it.
        sqlx::query("UPDATE resolver_rules SET url_status = 'alive', url_failures = 2")
            .execute(pool)
            .await
            .unwrap();
        let mut titled = brand.clone();
        titled.title = Some("Infos".into());
        let moved = rule(RuleTarget::Product(g), 0, Some("https://b.example/"));
        assert_eq!(
            upsert_rules(pool, &[titled, moved]).await.unwrap(),
            [WriteOutcome::Updated, WriteOutcome::Updated]
        );

        let all = read::rules_for(pool, g, Some("L1"), Some("S1")).await.unwrap();
        let scopes: Vec<_> = all.iter().map(|r| r.scope.as_str()).collect();
        assert_eq!(scopes, ["PRODUCT", "GLOBAL", "BRAND", "SERIAL", "BATCH"]);
        let product_rule = &all[0];
        assert_eq!(product_rule.custom_url.as_deref(), Some("https://b.example/"));
        assert_eq!(product_rule.destination_type, "CUSTOM_URL");
        assert_eq!(product_rule.url_status, "unknown");
        let b = &all[2];
        assert_eq!((b.order_index, b.enabled), (1, true));
        assert_eq!(b.url_status, "alive");
        assert_eq!(b.link_type.as_deref(), Some("gs1:pip"));
        assert_eq!(b.destination_type, "HOSTED_PAGE");
        assert_eq!(b.custom_url, None);
        assert_eq!(b.on_custom_url_dead, "SKIP_RULE");
        assert_eq!(b.starts_at.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(b.ends_at.as_deref(), Some("2027-01-01T00:00:00Z"));
        assert_eq!(
            (b.annual_start.as_deref(), b.annual_end.as_deref()),
            (Some("12-01"), Some("01-31"))
        );
        assert_eq!(b.days_of_week, Some(31));
        assert_eq!(
            (b.time_start.as_deref(), b.time_end.as_deref()),
            (Some("08:00"), Some("18:00"))
        );
        assert_eq!(b.time_zone.as_deref(), Some("Europe/Zurich"));
        assert_eq!(b.countries.as_deref(), Some(r#"["CH","DE"]"#));
        assert_eq!(b.languages.as_deref(), Some(r#"["de"]"#));
        assert_eq!(b.title.as_deref(), Some("Infos"));
        let (key, meta): (String, String) =
            sqlx::query_as("SELECT scope_key, metadata FROM resolver_rules WHERE id = $1")
                .bind(b.id)
                .fetch_one(pool)
                .await
                .unwrap();
        assert!(key.starts_with("brand:"), "{key}");
        assert_eq!(meta, r#"{"owner":"marketing"}"#);

        let plain = read::rules_for(pool, g, None, None).await.unwrap();
        let scopes: Vec<_> = plain.iter().map(|r| r.scope.as_str()).collect();
        assert_eq!(scopes, ["PRODUCT", "GLOBAL", "BRAND"]);
        let other = read::rules_for(pool, gtin("95012346"), None, None).await.unwrap();
        assert_eq!(other.iter().map(|r| r.scope.as_str()).collect::<Vec<_>>(), ["GLOBAL"]);
        db.finish().await;
    }

    /// A synthetic product with the children an Open Food Facts import writes.
    fn bulk_product(i: usize, variant: &str) -> ProductWrite {
        let body = format!("{:012}", 400_000_000_000usize + i);
        let digits: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 =
            digits.iter().rev().enumerate().map(|(k, d)| d * if k % 2 == 0 { 3 } else { 1 }).sum();
        let mut w =
            product(&format!("{body}{}", (10 - sum % 10) % 10), &format!("Product {i} {variant}"));
        w.brand = Patch::Set(format!("Brand {}", i % 700));
        w.category = Patch::Set(vec![
            CategoryRef { id: format!("en:group-{}", i % 20), name: format!("Group {}", i % 20) },
            CategoryRef {
                id: format!("en:cat-{}", i % 300),
                name: format!("Category {}", i % 300),
            },
        ]);
        w.description = Patch::Set(format!("A description of product {i}, {variant}."));
        w.net_content = Patch::Set("250 g".into());
        w.image_url = Patch::Set(format!("https://img.example/{i}/front.jpg"));
        w.images = Some(
            (0..3)
                .map(|k| ImageWrite {
                    url: format!("https://img.example/{i}/{k}.jpg"),
                    title: Some(format!("Image {k}")),
                    description: None,
                    priority: k,
                    is_primary: k == 0,
                })
                .collect(),
        );
        w.ingredients = Some(
            (0..10)
                .map(|k| IngredientWrite {
                    name: format!("ingredient {k}"),
                    percentage_of_weight: (k < 3).then_some(10.0),
                })
                .collect(),
        );
        w.nutrition = Patch::Set(NutritionWrite {
            serving_size: Some("30 g".into()),
            servings_per_container: None,
            label_format: LabelFormat::Per100g,
            nutrients: (0..8)
                .map(|k| NutrientWrite {
                    name: format!("nutrient-{k}"),
                    amount: f64::from(k),
                    unit: "g".into(),
                    daily_value_pct: None,
                })
                .collect(),
        });
        w
    }

    /// Import speed against SQLite on the same synthetic catalog:
    /// `PRODLINK_TEST_PG=… cargo test -p catalog --lib bulk_import_speed -- --ignored --nocapture`
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "benchmark"]
    async fn bulk_import_speed() {
        use crate::store::CatalogStore as _;
        let Some(db) = TestDb::new("bulk").await else { return };
        let n: usize = std::env::var("PRODLINK_BENCH_PRODUCTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(85_000);
        let first: Vec<ProductWrite> = (0..n).map(|i| bulk_product(i, "first")).collect();
        let second: Vec<ProductWrite> =
            (0..n).map(|i| bulk_product(i, if i % 10 == 0 { "second" } else { "first" })).collect();
        for w in first.iter().chain(&second) {
            w.check();
        }
        let mut pool = db.pool().clone();
        if std::env::var_os("PRODLINK_BENCH_LOG").is_some() {
            // Every statement's duration in the server log, for a breakdown.
            let alter = format!("ALTER DATABASE {} SET log_min_duration_statement = 0", db.name);
            sqlx::query(sqlx::AssertSqlSafe(alter)).execute(&pool).await.unwrap();
            pool = PgStore::open(&db.url, &PgOptions::default()).await.unwrap().pool().clone();
        }
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let sqlite =
            crate::sqlite::SqliteStore::open_and_migrate(&url, &Default::default()).await.unwrap();
        for (label, batch) in [("new", &first), ("unchanged", &first), ("10% changed", &second)] {
            let t = std::time::Instant::now();
            for chunk in batch.chunks(1000) {
                let out = upsert_products(&pool, chunk).await.unwrap();
                assert!(!out.iter().any(|o| matches!(o, WriteOutcome::Rejected(_))), "{out:?}");
            }
            let pg = t.elapsed();
            let t = std::time::Instant::now();
            for chunk in batch.chunks(1000) {
                sqlite.upsert_products(chunk).await.unwrap();
            }
            let lite = t.elapsed();
            eprintln!("{n} products, {label}: PostgreSQL {pg:.2?}, SQLite {lite:.2?}");
        }
        assert_eq!(read::counts(db.pool()).await.unwrap(), sqlite.counts().await.unwrap());
        let g = first[7].gtin;
        assert_eq!(
            read::product_children(db.pool(), g).await.unwrap(),
            sqlite.product_children(g).await.unwrap()
        );
        let (a, b) = (
            read::product(db.pool(), g).await.unwrap().unwrap(),
            sqlite.product(g).await.unwrap().unwrap(),
        );
        assert_eq!(
            (a.name, a.brand, a.category, a.description),
            (b.name, b.brand, b.category, b.description)
        );
        sqlite.close().await;
        db.finish().await;
    }
}

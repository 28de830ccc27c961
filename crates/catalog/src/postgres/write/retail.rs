//! Store and offer writes on PostgreSQL: the retailers they name, the stored rows they merge
//! into, and the batched upserts (see [`super`] for the retry and refusal rules they share).

use std::collections::HashMap;

use sqlx::postgres::{PgBindIterExt as _, PgConnection};
use sqlx::{PgPool, Row};

use super::*;
use crate::model::{OfferWrite, StoreWrite, WriteOutcome, now_rfc3339};
use crate::store::StoreError;
use crate::write_plan::{self as plan, StoredOffer, StoredStore, write_in_runs};

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

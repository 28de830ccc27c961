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

use super::*;
use super::{constraint_message, is_constraint_violation};
use crate::model::{ProductWrite, RuleWrite, WriteOutcome, now_rfc3339};
use crate::store::StoreError;
use crate::write_plan::{
    self as plan, ChildRows, FromStoredRow as _, ProductPlan, RuleLookup, RuleRow, RuleScope,
    StoredProduct, write_in_runs,
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
        .bind(rows.iter().map(|r| r.fields.name.as_str()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.brand_id).bind_iter())
        .bind(rows.iter().map(|r| r.fields.category_id.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.description.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.net_content.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.country_of_origin.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.image_url.as_deref()).bind_iter())
        .bind(rows.iter().map(|r| r.write.data_source.as_str()).bind_iter())
        .bind(rows.iter().map(|r| r.fields.metadata.as_str()).bind_iter())
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

#[async_trait::async_trait]
impl crate::store::CatalogWrites for PgStore {
    async fn upsert_products(
        &self,
        batch: &[crate::model::ProductWrite],
    ) -> Result<Vec<crate::model::WriteOutcome>, StoreError> {
        upsert_products(&self.pool, batch).await
    }

    async fn upsert_stores(
        &self,
        batch: &[crate::model::StoreWrite],
    ) -> Result<Vec<crate::model::WriteOutcome>, StoreError> {
        upsert_stores(&self.pool, batch).await
    }

    async fn product_organization(
        &self,
        gtin: gs1::Gtin14,
    ) -> Result<Option<Option<i64>>, StoreError> {
        reading("product_organization", || manage::product_organization(&self.pool, gtin)).await
    }

    async fn brand_organization(&self, name: &str) -> Result<Option<Option<i64>>, StoreError> {
        reading("brand_organization", || manage::brand_organization(&self.pool, name)).await
    }

    async fn create_brand(&self, name: &str, organization_id: i64) -> Result<bool, StoreError> {
        manage::create_brand(&self.pool, name, organization_id).await
    }

    async fn delete_product(
        &self,
        gtin: gs1::Gtin14,
        if_updated_at: Option<&str>,
    ) -> Result<bool, StoreError> {
        manage::delete_product(&self.pool, gtin, if_updated_at).await
    }

    async fn upsert_offers(
        &self,
        batch: &[crate::model::OfferWrite],
    ) -> Result<Vec<crate::model::WriteOutcome>, StoreError> {
        upsert_offers(&self.pool, batch).await
    }
}

mod retail;
#[cfg(test)]
mod tests;

use retail::{upsert_offers, upsert_stores};

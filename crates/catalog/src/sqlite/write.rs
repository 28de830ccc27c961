//! Batch writes of the SQLite store: products (with brands, categories, images, ingredients and
//! nutrition), stores (with retailers), offers and resolver rules.
//!
//! What to write is planned by [`crate::write_plan`] (validation, merge, outcomes); this module
//! reads the stored rows and runs the SQL. Each batch is one `BEGIN IMMEDIATE` transaction. Rows
//! are validated in Rust first, so the schema's constraints are a backstop; if the database still
//! refuses a batch, the batch is retried row by row so only the offending rows are rejected.
//! Multi-row `INSERT … VALUES` in fixed-size chunks keeps the number of statements (and their
//! preparation) low, which is what makes imports fast through an async driver.

use std::collections::HashMap;

use gs1::Gtin14;
use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use super::read::gtin_list_json;
use super::*;
use super::{constraint_message, is_constraint_violation};
use crate::model::{OfferWrite, ProductWrite, RuleWrite, StoreWrite, WriteOutcome, now_rfc3339};
use crate::store::StoreError;
use crate::write_plan::{
    self as plan, ChildRows, FromStoredRow as _, ProductPlan, ProductRow, RuleLookup, RuleRow,
    RuleScope, StoredOffer, StoredProduct, StoredStore, json_string_list, write_in_runs,
};

/// Rows per multi-row INSERT. Measured (docs/benchmarks.md): 64 beats 16, 32, 200 and 500 —
/// larger statements cost the driver more per bound value, smaller ones more round trips.
const CHUNK: usize = 64;

/// Builds one statement: its query builder and whether to keep it prepared.
type StmtBuilder<'a> = Box<dyn FnOnce() -> (QueryBuilder<Sqlite>, bool) + Send + 'a>;

/// A queue of statements for one transaction, executed in order with the encoding of each
/// statement (binding its values) overlapped with SQLite executing the previous one on its
/// worker thread. Encoding and executing are the two halves of a bulk write's cost; doing them
/// side by side uses both cores.
#[derive(Default)]
struct Pipeline<'a> {
    stmts: Vec<StmtBuilder<'a>>,
}

impl<'a> Pipeline<'a> {
    /// Multi-row `INSERT … VALUES` of `rows` in chunks of [`CHUNK`].
    fn insert<T, F>(&mut self, head: &'static str, tail: &'static str, rows: &'a [T], push: F)
    where
        T: Sync,
        F: Fn(&mut Separated<'_, Sqlite, &'static str>, &T) + Copy + Send + 'a,
    {
        for chunk in rows.chunks(CHUNK) {
            self.stmts.push(Box::new(move || {
                let mut qb = QueryBuilder::<Sqlite>::new(head);
                qb.push_values(chunk, |mut b, row| push(&mut b, row));
                qb.push(tail);
                // Full chunks share one statement text: keep it prepared; tails vary: don't.
                (qb, chunk.len() == CHUNK)
            }));
        }
    }

    /// `{head}?{tail}` with one bound text parameter (a JSON list for `json_each`).
    fn with_list(&mut self, head: &'static str, list: String, tail: &'static str) {
        self.stmts.push(Box::new(move || {
            let mut qb = QueryBuilder::<Sqlite>::new(head);
            qb.push_bind(list);
            qb.push(tail);
            (qb, true)
        }));
    }

    async fn run(self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        let mut stmts = self.stmts.into_iter();
        let Some(first) = stmts.next() else { return Ok(()) };
        let mut current = first();
        loop {
            let next = stmts.next();
            let (mut qb, persistent) = current;
            let execute = qb.build().persistent(persistent).execute(&mut *conn);
            // Encode the next statement while SQLite (on its worker thread) runs this one.
            let prepare = async { next.map(|build| build()) };
            let (done, next) = tokio::join!(biased; execute, prepare);
            done?;
            match next {
                Some(n) => current = n,
                None => return Ok(()),
            }
        }
    }
}

async fn insert_chunked<T, F>(
    conn: &mut SqliteConnection,
    head: &'static str,
    tail: &'static str,
    rows: &[T],
    push: F,
) -> Result<(), sqlx::Error>
where
    T: Sync,
    F: Fn(&mut Separated<'_, Sqlite, &'static str>, &T) + Copy + Send,
{
    let mut p = Pipeline::default();
    p.insert(head, tail, rows, push);
    p.run(conn).await
}

/// A refused write's reject reason: SQLite refuses data only by a constraint violation.
fn refused(e: &sqlx::Error) -> Option<String> {
    is_constraint_violation(e).then(|| constraint_message(e))
}

// ---------------------------------------------------------------------------------------------
// Products.

pub(super) async fn upsert_products(
    pool: &SqlitePool,
    batch: &[ProductWrite],
) -> Result<Vec<WriteOutcome>, StoreError> {
    write_in_runs(batch, plan::product_key, |run| try_upsert_products(pool, run), refused).await
}

async fn try_upsert_products(
    pool: &SqlitePool,
    batch: &[ProductWrite],
) -> Result<Vec<WriteOutcome>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let now = now_rfc3339();
    let gtins: Vec<Gtin14> = batch.iter().map(|w| w.gtin).collect();

    let mut existing: HashMap<String, StoredProduct> = HashMap::with_capacity(batch.len());
    for r in sqlx::query(concat!(
        "SELECT ",
        crate::write_plan::stored_product_columns!(),
        ", (SELECT group_concat(category_id, char(10) ORDER BY position) FROM product_categories \
             WHERE product_id = products.id) AS category_path, \
           (SELECT group_concat(label_id, char(10) ORDER BY position) FROM product_labels \
             WHERE product_id = products.id) AS label_ids \
         FROM products WHERE gtin IN (SELECT value FROM json_each(?))"
    ))
    .bind(gtin_list_json(&gtins))
    .fetch_all(&mut *tx)
    .await?
    {
        let (gtin, stored) = StoredProduct::from_row(&r)?;
        existing.insert(gtin, stored);
    }

    let mut plan = ProductPlan::new(batch);
    plan.check(&existing);
    let refs = plan.references();
    let brand_ids = ensure_brands(&mut tx, &refs.brands, &now).await?;
    let rows = plan.merge(&existing, &brand_ids);

    // New products get ids above the current maximum. This transaction holds SQLite's write
    // lock (BEGIN IMMEDIATE), so nobody else can take them; explicit ids let the child rows be
    // encoded before the product rows are executed.
    let mut next_id: i64 =
        sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM products").fetch_one(&mut *tx).await?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| {
            r.stored_id.unwrap_or_else(|| {
                next_id += 1;
                next_id
            })
        })
        .collect();
    let products: Vec<(i64, &ProductRow<'_>)> = ids.iter().copied().zip(&rows).collect();

    let children = ChildRows::collect(&rows, &ids);
    let gone = GoneChildren::of(&children);
    let mut p = Pipeline::default();
    if !refs.categories.is_empty() {
        p.insert(
            "INSERT INTO categories (id, name, parent_id) ",
            " ON CONFLICT(id) DO NOTHING",
            &refs.categories,
            |b, (id, name, parent)| {
                b.push_bind(*id).push_bind(*name).push_bind(*parent);
            },
        );
    }
    if !refs.labels.is_empty() {
        p.insert(
            "INSERT INTO labels (id, name) ",
            " ON CONFLICT(id) DO NOTHING",
            &refs.labels,
            |b, (id, name)| {
                b.push_bind(*id).push_bind(*name);
            },
        );
    }
    let now = now.as_str();
    p.insert(
        "INSERT INTO products (id, gtin, name, brand_id, category_id, description, net_content, \
         country_of_origin, image_url, data_source, metadata, source_hash, created_at, updated_at) ",
        " ON CONFLICT(gtin) DO UPDATE SET name = excluded.name, brand_id = excluded.brand_id, \
         category_id = excluded.category_id, description = excluded.description, \
         net_content = excluded.net_content, country_of_origin = excluded.country_of_origin, \
         image_url = excluded.image_url, data_source = excluded.data_source, \
         metadata = excluded.metadata, source_hash = excluded.source_hash, \
         updated_at = excluded.updated_at",
        &products,
        move |b, (id, r)| {
            b.push_bind(*id)
                .push_bind(r.write.gtin.as_str())
                .push_bind(r.fields.name.as_str())
                .push_bind(r.fields.brand_id)
                .push_bind(r.fields.category_id.as_deref())
                .push_bind(r.fields.description.as_deref())
                .push_bind(r.fields.net_content.as_deref())
                .push_bind(r.fields.country_of_origin.as_deref())
                .push_bind(r.fields.image_url.as_deref())
                .push_bind(r.write.data_source.as_str())
                .push_bind(r.fields.metadata.as_str())
                .push_bind(r.source_hash)
                .push_bind(now)
                .push_bind(now);
        },
    );
    queue_children(&mut p, &children, &gone, now);
    // Written products need their search entries rebuilt (by the background indexer).
    p.insert("INSERT OR IGNORE INTO search_dirty (product_id) ", "", &ids, |b, id| {
        b.push_bind(*id);
    });
    p.insert(
        "INSERT INTO embed_dirty (product_id) ",
        " ON CONFLICT (product_id) DO UPDATE SET version = version + 1",
        &ids,
        |b, id| {
            b.push_bind(*id);
        },
    );
    p.run(&mut tx).await?;
    tx.commit().await?;
    Ok(plan.outcomes())
}

async fn ensure_brands(
    conn: &mut SqliteConnection,
    brands: &HashMap<String, String>,
    now: &str,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    if brands.is_empty() {
        return Ok(HashMap::new());
    }
    let list: Vec<(&String, &String)> = brands.iter().collect();
    insert_chunked(
        conn,
        "INSERT INTO brands (name, name_key, created_at, updated_at) ",
        " ON CONFLICT(name_key) DO NOTHING",
        &list,
        |b, (key, name)| {
            b.push_bind(name.as_str()).push_bind(key.as_str()).push_bind(now).push_bind(now);
        },
    )
    .await?;
    let rows = sqlx::query(
        "SELECT id, name_key FROM brands WHERE name_key IN (SELECT value FROM json_each(?))",
    )
    .bind(json_string_list(brands.keys().map(String::as_str)))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("name_key")?, r.try_get("id")?))).collect()
}

/// The JSON lists (for `json_each`) of the products whose images / ingredients / nutrition /
/// category path / labels are replaced, when there are any.
struct GoneChildren {
    images: Option<String>,
    ingredients: Option<String>,
    nutrition: Option<String>,
    categories: Option<String>,
    labels: Option<String>,
}

impl GoneChildren {
    fn of(c: &ChildRows<'_>) -> Self {
        let list = |ids: &[i64]| (!ids.is_empty()).then(|| json_id_list(ids));
        Self {
            images: list(&c.gone_images),
            ingredients: list(&c.gone_ingredients),
            nutrition: list(&c.gone_nutrition),
            categories: list(&c.gone_categories),
            labels: list(&c.gone_labels),
        }
    }
}

/// Queues the statements replacing the child rows of a product batch.
fn queue_children<'a>(
    p: &mut Pipeline<'a>,
    c: &'a ChildRows<'a>,
    gone: &GoneChildren,
    now: &'a str,
) {
    if let Some(list) = &gone.categories {
        p.with_list(
            "DELETE FROM product_categories WHERE product_id IN (SELECT value FROM json_each(",
            list.clone(),
            "))",
        );
    }
    p.insert(
        "INSERT INTO product_categories (product_id, position, category_id) ",
        "",
        &c.categories,
        |b, (id, pos, category)| {
            b.push_bind(*id).push_bind(*pos).push_bind(*category);
        },
    );
    if let Some(list) = &gone.labels {
        p.with_list(
            "DELETE FROM product_labels WHERE product_id IN (SELECT value FROM json_each(",
            list.clone(),
            "))",
        );
    }
    p.insert(
        "INSERT INTO product_labels (product_id, position, label_id) ",
        "",
        &c.labels,
        |b, (id, pos, label)| {
            b.push_bind(*id).push_bind(*pos).push_bind(*label);
        },
    );
    if let Some(list) = &gone.images {
        p.with_list(
            "DELETE FROM product_images WHERE product_id IN (SELECT value FROM json_each(",
            list.clone(),
            "))",
        );
    }
    p.insert(
        "INSERT INTO product_images (product_id, url, title, description, priority, \
         is_primary, created_at) ",
        "",
        &c.images,
        move |b, (id, img)| {
            b.push_bind(*id)
                .push_bind(img.url.as_str())
                .push_bind(img.title.as_deref())
                .push_bind(img.description.as_deref())
                .push_bind(i64::from(img.priority))
                .push_bind(img.is_primary)
                .push_bind(now);
        },
    );
    if let Some(list) = &gone.ingredients {
        p.with_list(
            "DELETE FROM ingredients WHERE product_id IN (SELECT value FROM json_each(",
            list.clone(),
            "))",
        );
    }
    p.insert(
        "INSERT INTO ingredients (product_id, priority, name, percentage_of_weight) ",
        "",
        &c.ingredients,
        |b, (id, pos, ing)| {
            b.push_bind(*id)
                .push_bind(*pos)
                .push_bind(ing.name.trim())
                .push_bind(ing.percentage_of_weight);
        },
    );
    if let Some(list) = &gone.nutrition {
        p.with_list(
            "DELETE FROM nutrition WHERE product_id IN (SELECT value FROM json_each(",
            list.clone(),
            "))",
        );
    }
    p.insert(
        "INSERT INTO nutrition (product_id, serving_size, servings_per_container, \
         label_format) ",
        "",
        &c.panels,
        |b, (id, n)| {
            b.push_bind(*id)
                .push_bind(n.serving_size.as_deref())
                .push_bind(n.servings_per_container)
                .push_bind(n.label_format.as_str());
        },
    );
    p.insert(
        "INSERT INTO nutrients (product_id, name, position, amount, unit, daily_value_pct) ",
        "",
        &c.nutrients,
        |b, (id, pos, nu)| {
            b.push_bind(*id)
                .push_bind(nu.name.as_str())
                .push_bind(*pos)
                .push_bind(nu.amount)
                .push_bind(nu.unit.as_str())
                .push_bind(nu.daily_value_pct);
        },
    );
}

fn json_id_list(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

// ---------------------------------------------------------------------------------------------
// Retailers and stores.

async fn ensure_retailers<'a>(
    conn: &mut SqliteConnection,
    names: impl IntoIterator<Item = &'a str>,
    create: bool,
    now: &str,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let list = plan::distinct_names(names);
    if list.is_empty() {
        return Ok(HashMap::new());
    }
    if create {
        insert_chunked(
            conn,
            "INSERT INTO retailers (name, created_at, updated_at) ",
            " ON CONFLICT(name) DO NOTHING",
            &list,
            |b, name| {
                b.push_bind(*name).push_bind(now).push_bind(now);
            },
        )
        .await?;
    }
    let rows = sqlx::query(
        "SELECT id, name FROM retailers WHERE name IN (SELECT value FROM json_each(?))",
    )
    .bind(json_string_list(list))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("id")?))).collect()
}

/// Stored stores of one retailer by ref.
async fn existing_stores(
    conn: &mut SqliteConnection,
    retailer_id: i64,
    refs: &[&str],
) -> Result<Vec<(String, StoredStore)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, ref, name, address, city, region, postal_code, country, lat, lng, metadata \
         FROM stores WHERE retailer_id = ? AND ref IN (SELECT value FROM json_each(?))",
    )
    .bind(retailer_id)
    .bind(json_string_list(refs.iter().copied()))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(StoredStore::from_row).collect()
}

pub(super) async fn upsert_stores(
    pool: &SqlitePool,
    batch: &[StoreWrite],
) -> Result<Vec<WriteOutcome>, StoreError> {
    write_in_runs(batch, plan::store_key, |run| try_upsert_stores(pool, run), refused).await
}

async fn try_upsert_stores(
    pool: &SqlitePool,
    batch: &[StoreWrite],
) -> Result<Vec<WriteOutcome>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let now = now_rfc3339();
    let retailers =
        ensure_retailers(&mut tx, batch.iter().map(|s| s.retailer.as_str()), true, &now).await?;
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
        insert_chunked(
            &mut tx,
            "INSERT INTO stores (retailer_id, ref, name, address, city, region, postal_code, \
             country, lat, lng, metadata, created_at, updated_at) ",
            " ON CONFLICT(retailer_id, ref) DO UPDATE SET name = excluded.name, \
             address = excluded.address, city = excluded.city, region = excluded.region, \
             postal_code = excluded.postal_code, country = excluded.country, lat = excluded.lat, \
             lng = excluded.lng, metadata = excluded.metadata, updated_at = excluded.updated_at",
            &rows,
            |b, r| {
                let f = &r.fields;
                b.push_bind(r.retailer_id)
                    .push_bind(r.write.store_ref.as_str())
                    .push_bind(f.name.as_str())
                    .push_bind(f.address.as_deref())
                    .push_bind(f.city.as_deref())
                    .push_bind(f.region.as_deref())
                    .push_bind(f.postal_code.as_deref())
                    .push_bind(f.country.as_str())
                    .push_bind(f.lat)
                    .push_bind(f.lng)
                    .push_bind(r.metadata.as_str())
                    .push_bind(now.as_str())
                    .push_bind(now.as_str());
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

// ---------------------------------------------------------------------------------------------
// Offers.

pub(super) async fn upsert_offers(
    pool: &SqlitePool,
    batch: &[OfferWrite],
) -> Result<Vec<WriteOutcome>, StoreError> {
    write_in_runs(batch, plan::offer_key, |run| try_upsert_offers(pool, run), refused).await
}

async fn try_upsert_offers(
    pool: &SqlitePool,
    batch: &[OfferWrite],
) -> Result<Vec<WriteOutcome>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
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
            "SELECT id, ref FROM stores WHERE retailer_id = ? AND ref IN (SELECT value FROM json_each(?))",
        )
        .bind(*rid)
        .bind(json_string_list(list.iter().copied()))
        .fetch_all(&mut *tx)
        .await?;
        for r in rows {
            store_ids.insert((*rid, r.try_get("ref")?), r.try_get("id")?);
        }
    }
    let gtins: Vec<Gtin14> = batch.iter().map(|o| o.gtin).collect();
    let mut known: HashMap<String, i64> = HashMap::new();
    for r in
        sqlx::query("SELECT id, gtin FROM products WHERE gtin IN (SELECT value FROM json_each(?))")
            .bind(gtin_list_json(&gtins))
            .fetch_all(&mut *tx)
            .await?
    {
        known.insert(r.try_get("gtin")?, r.try_get("id")?);
    }
    let ids: Vec<i64> = store_ids.values().copied().collect();
    let mut existing: HashMap<(i64, i64), StoredOffer> = HashMap::new();
    let product_ids: Vec<i64> = known.values().copied().collect();
    if !ids.is_empty() && !product_ids.is_empty() {
        let rows = sqlx::query(
            "SELECT id, product_id, store_id, price_minor, currency, inventory_status, active, \
                    metadata \
             FROM offers WHERE product_id IN (SELECT value FROM json_each(?)) \
               AND store_id IN (SELECT value FROM json_each(?))",
        )
        .bind(json_id_list(&product_ids))
        .bind(json_id_list(&ids))
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
        insert_chunked(
            &mut tx,
            "INSERT INTO offers (product_id, store_id, price_minor, currency, inventory_status, active, \
             metadata, created_at, updated_at) ",
            " ON CONFLICT(product_id, store_id) DO UPDATE SET price_minor = excluded.price_minor, \
             currency = excluded.currency, inventory_status = excluded.inventory_status, \
             active = excluded.active, metadata = excluded.metadata, \
             updated_at = excluded.updated_at",
            &rows,
            |b, r| {
                b.push_bind(r.product_id)
                    .push_bind(r.store_id)
                    .push_bind(r.write.price_minor)
                    .push_bind(r.write.currency.as_str())
                    .push_bind(r.status)
                    .push_bind(r.active)
                    .push_bind(r.metadata.as_str())
                    .push_bind(now.as_str())
                    .push_bind(now.as_str());
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

// ---------------------------------------------------------------------------------------------
// Resolver rules.

/// Creates or updates resolver rules, keyed by (scope, target, order_index); one outcome per
/// rule. A BRAND or ORGANIZATION rule naming an unknown brand or organization is rejected.
pub(super) async fn upsert_rules(
    pool: &SqlitePool,
    batch: &[RuleWrite],
) -> Result<Vec<WriteOutcome>, StoreError> {
    plan::each_row(
        batch,
        |rule| async move { Ok(vec![try_upsert_rule(pool, rule).await?]) },
        refused,
    )
    .await
}

async fn try_upsert_rule(pool: &SqlitePool, r: &RuleWrite) -> Result<WriteOutcome, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let lookup = RuleScope::of(&r.target);
    let scope = match &lookup {
        RuleLookup::Ready(scope) => Some(scope.clone()),
        RuleLookup::Brand { name_key, .. } => {
            sqlx::query_scalar("SELECT id FROM brands WHERE name_key = ?")
                .bind(name_key)
                .fetch_optional(&mut *tx)
                .await?
                .map(RuleScope::brand)
        }
        RuleLookup::Organization { trimmed, .. } => {
            sqlx::query_scalar("SELECT id FROM organizations WHERE name = ?")
                .bind(*trimmed)
                .fetch_optional(&mut *tx)
                .await?
                .map(RuleScope::organization)
        }
    };
    let Some(scope) = scope else { return Ok(lookup.unknown()) };
    let row = RuleRow::new(r, scope);
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM resolver_rules WHERE scope = ? AND scope_key = ? AND order_index = ?",
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
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?24, ?25) \
         ON CONFLICT(scope, scope_key, order_index) DO UPDATE SET \
             enabled = excluded.enabled, link_type = excluded.link_type, destination_type = excluded.destination_type, \
             custom_url = excluded.custom_url, on_custom_url_dead = excluded.on_custom_url_dead, starts_at = excluded.starts_at, \
             ends_at = excluded.ends_at, annual_start = excluded.annual_start, annual_end = excluded.annual_end, \
             days_of_week = excluded.days_of_week, time_start = excluded.time_start, time_end = excluded.time_end, \
             time_zone = excluded.time_zone, countries = excluded.countries, languages = excluded.languages, \
             metadata = excluded.metadata, title = excluded.title, updated_at = excluded.updated_at, \
             url_status = CASE WHEN resolver_rules.custom_url IS excluded.custom_url THEN resolver_rules.url_status ELSE 'unknown' END, \
             url_failures = CASE WHEN resolver_rules.custom_url IS excluded.custom_url THEN resolver_rules.url_failures ELSE 0 END, \
             url_checked_at = CASE WHEN resolver_rules.custom_url IS excluded.custom_url THEN resolver_rules.url_checked_at ELSE NULL END \
         WHERE resolver_rules.enabled IS NOT excluded.enabled OR resolver_rules.link_type IS NOT excluded.link_type \
             OR resolver_rules.destination_type IS NOT excluded.destination_type OR resolver_rules.custom_url IS NOT excluded.custom_url \
             OR resolver_rules.on_custom_url_dead IS NOT excluded.on_custom_url_dead OR resolver_rules.starts_at IS NOT excluded.starts_at \
             OR resolver_rules.ends_at IS NOT excluded.ends_at OR resolver_rules.annual_start IS NOT excluded.annual_start \
             OR resolver_rules.annual_end IS NOT excluded.annual_end OR resolver_rules.days_of_week IS NOT excluded.days_of_week \
             OR resolver_rules.time_start IS NOT excluded.time_start OR resolver_rules.time_end IS NOT excluded.time_end \
             OR resolver_rules.time_zone IS NOT excluded.time_zone OR resolver_rules.countries IS NOT excluded.countries \
             OR resolver_rules.languages IS NOT excluded.languages OR resolver_rules.metadata IS NOT excluded.metadata \
             OR resolver_rules.title IS NOT excluded.title",
    )
    .bind(row.scope_name)
    .bind(&row.scope.gtin)
    .bind(&row.scope.qualifier)
    .bind(row.scope.brand_id)
    .bind(row.scope.organization_id)
    .bind(&row.scope.key)
    .bind(row.order_index)
    .bind(i64::from(r.enabled))
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
impl crate::store::CatalogWrites for SqliteStore {
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
        manage::product_organization(&self.pool, gtin).await
    }

    async fn brand_organization(&self, name: &str) -> Result<Option<Option<i64>>, StoreError> {
        manage::brand_organization(&self.pool, name).await
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

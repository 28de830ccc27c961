//! Batch writes of the SQLite store: products (with brands, categories, images, ingredients and
//! nutrition), stores (with retailers) and offers.
//!
//! Each batch is one `BEGIN IMMEDIATE` transaction. Rows are validated in Rust first, so the
//! schema's constraints are a backstop; if the database still refuses a batch, the batch is
//! retried row by row so only the offending rows are rejected. Multi-row `INSERT … VALUES` in
//! fixed-size chunks keeps the number of statements (and their preparation) low, which is what
//! makes imports fast through an async driver.

use std::collections::{HashMap, HashSet};

use gs1::Gtin14;
use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use super::read::gtin_list_json;
use super::{constraint_message, is_constraint_violation};
use crate::model::{
    ImageWrite, IngredientWrite, InventoryStatus, Metadata, NutrientWrite, NutritionWrite,
    OfferWrite, Patch, ProductWrite, StoreWrite, WriteOutcome, fold_name, now_rfc3339,
};
use crate::store::StoreError;

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

fn json_string_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::to_string(&items.into_iter().collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
}

/// Runs `attempt` on the whole batch; on a constraint violation, retries each row alone so the
/// outcome of every other row is kept.
macro_rules! with_row_isolation {
    ($pool:expr, $batch:expr, $attempt:path) => {{
        match $attempt($pool, $batch).await {
            Ok(outcomes) => Ok(outcomes),
            Err(e) if is_constraint_violation(&e) => {
                let mut out = Vec::with_capacity($batch.len());
                if $batch.len() == 1 {
                    out.push(WriteOutcome::Rejected(constraint_message(&e)));
                } else {
                    for row in $batch {
                        match $attempt($pool, std::slice::from_ref(row)).await {
                            Ok(mut o) => out.append(&mut o),
                            Err(e) if is_constraint_violation(&e) => {
                                out.push(WriteOutcome::Rejected(constraint_message(&e)))
                            }
                            Err(e) => return Err(StoreError::from(e)),
                        }
                    }
                }
                Ok(out)
            }
            Err(e) => Err(StoreError::from(e)),
        }
    }};
}

// ---------------------------------------------------------------------------------------------
// Products.

struct ExistingProduct {
    id: i64,
    source_hash: Option<String>,
    name: String,
    brand_id: Option<i64>,
    category_id: Option<String>,
    description: Option<String>,
    net_content: Option<String>,
    country_of_origin: Option<String>,
    image_url: Option<String>,
    metadata: String,
}

struct ProductRow<'a> {
    write: &'a ProductWrite,
    id: i64,
    inserted: bool,
    name: String,
    brand_id: Option<i64>,
    category_id: Option<String>,
    description: Option<String>,
    net_content: Option<String>,
    country_of_origin: Option<String>,
    image_url: Option<String>,
    metadata: String,
    source_hash: &'a str,
}

/// Splits a batch into runs in which no key repeats, and writes the runs in order: a record
/// listed twice in one batch is written twice, in input order, as if the batches had been
/// separate (the same as when the repeats fall into different batches).
async fn in_runs<'a, T, K, F, Fut>(
    batch: &'a [T],
    key: impl Fn(&T) -> K,
    mut write: F,
) -> Result<Vec<WriteOutcome>, StoreError>
where
    K: Eq + std::hash::Hash,
    F: FnMut(&'a [T]) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<WriteOutcome>, StoreError>>,
{
    let mut out = Vec::with_capacity(batch.len());
    let mut start = 0;
    let mut seen = HashSet::new();
    for (i, item) in batch.iter().enumerate() {
        if !seen.insert(key(item)) {
            out.extend(write(&batch[start..i]).await?);
            start = i;
            seen.clear();
            seen.insert(key(item));
        }
    }
    if start < batch.len() {
        out.extend(write(&batch[start..]).await?);
    }
    Ok(out)
}

pub(super) async fn upsert_products(
    pool: &SqlitePool,
    batch: &[ProductWrite],
) -> Result<Vec<WriteOutcome>, StoreError> {
    in_runs(
        batch,
        |w| w.gtin,
        |run| async move { with_row_isolation!(pool, run, try_upsert_products) },
    )
    .await
}

async fn try_upsert_products(
    pool: &SqlitePool,
    batch: &[ProductWrite],
) -> Result<Vec<WriteOutcome>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let now = now_rfc3339();
    let gtins: Vec<Gtin14> = batch.iter().map(|w| w.gtin).collect();

    let mut existing: HashMap<String, ExistingProduct> = HashMap::with_capacity(batch.len());
    for r in sqlx::query(
        "SELECT id, gtin, source_hash, name, brand_id, category_id, description, net_content, \
                country_of_origin, image_url, metadata \
         FROM products WHERE gtin IN (SELECT value FROM json_each(?))",
    )
    .bind(gtin_list_json(&gtins))
    .fetch_all(&mut *tx)
    .await?
    {
        existing.insert(
            r.try_get("gtin")?,
            ExistingProduct {
                id: r.try_get("id")?,
                source_hash: r.try_get("source_hash")?,
                name: r.try_get("name")?,
                brand_id: r.try_get("brand_id")?,
                category_id: r.try_get("category_id")?,
                description: r.try_get("description")?,
                net_content: r.try_get("net_content")?,
                country_of_origin: r.try_get("country_of_origin")?,
                image_url: r.try_get("image_url")?,
                metadata: r.try_get("metadata")?,
            },
        );
    }

    // Decide per row: unchanged, rejected, or to write.
    let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; batch.len()];
    let mut digests = Vec::with_capacity(batch.len());
    for (i, w) in batch.iter().enumerate() {
        let (digest, valid) = w.check();
        let ex = existing.get(w.gtin.as_str());
        if ex.is_some_and(|e| e.source_hash.as_deref() == Some(digest.as_str())) {
            outcomes[i] = Some(WriteOutcome::Unchanged);
        } else if let Err(e) = valid {
            outcomes[i] = Some(WriteOutcome::Rejected(format!("{}: {}", e.field, e.message)));
        } else if ex.is_none() && !matches!(w.name, Patch::Set(_)) {
            outcomes[i] =
                Some(WriteOutcome::Rejected("name: a new product needs a name".to_owned()));
        }
        digests.push(digest.as_str());
    }

    // Brands and categories referenced by the rows to write.
    let mut brand_keys: HashMap<String, String> = HashMap::new();
    let mut categories: Vec<(&str, &str, Option<&str>)> = Vec::new();
    let mut category_seen: HashSet<&str> = HashSet::new();
    for (i, w) in batch.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        if let Patch::Set(name) = &w.brand {
            brand_keys.entry(fold_name(name)).or_insert_with(|| name.trim().to_owned());
        }
        if let Patch::Set(path) = &w.category {
            let mut parent: Option<&str> = None;
            for c in path {
                if category_seen.insert(c.id.as_str()) {
                    categories.push((c.id.as_str(), c.name.as_str(), parent));
                }
                parent = Some(c.id.as_str());
            }
        }
    }
    let brand_ids = ensure_brands(&mut tx, &brand_keys, &now).await?;

    // New products get ids above the current maximum. This transaction holds SQLite's write
    // lock (BEGIN IMMEDIATE), so nobody else can take them; explicit ids let the child rows be
    // encoded before the product rows are executed.
    let mut next_id: i64 =
        sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM products").fetch_one(&mut *tx).await?;

    // Merge each row with what is stored.
    let mut rows: Vec<ProductRow<'_>> = Vec::new();
    for (i, w) in batch.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        let ex = existing.get(w.gtin.as_str());
        let stored_metadata = match ex.map(|e| Metadata::from_json(&e.metadata)).transpose() {
            Ok(m) => m.unwrap_or_default(),
            Err(e) => {
                outcomes[i] = Some(WriteOutcome::Rejected(format!("stored metadata: {e}")));
                continue;
            }
        };
        let metadata = match stored_metadata.merged(&w.metadata) {
            Ok(m) => m,
            Err(e) => {
                outcomes[i] = Some(WriteOutcome::Rejected(format!("metadata: {e}")));
                continue;
            }
        };
        let brand_id = match &w.brand {
            Patch::Keep => ex.and_then(|e| e.brand_id),
            Patch::Clear => None,
            Patch::Set(name) => brand_ids.get(&fold_name(name)).copied(),
        };
        let category_id = match &w.category {
            Patch::Keep => ex.and_then(|e| e.category_id.clone()),
            Patch::Clear => None,
            Patch::Set(path) => path.last().map(|c| c.id.clone()),
        };
        let name = match (&w.name, ex) {
            (Patch::Set(n), _) => n.trim().to_owned(),
            (_, Some(e)) => e.name.clone(),
            (_, None) => String::new(), // unreachable: rejected above
        };
        let keep = |p: &Patch<String>, cur: Option<&Option<String>>| {
            p.apply(cur.cloned().flatten()).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
        };
        outcomes[i] =
            Some(if ex.is_some() { WriteOutcome::Updated } else { WriteOutcome::Inserted });
        let id = match ex {
            Some(e) => e.id,
            None => {
                next_id += 1;
                next_id
            }
        };
        rows.push(ProductRow {
            write: w,
            id,
            inserted: ex.is_none(),
            name,
            brand_id,
            category_id,
            description: keep(&w.description, ex.map(|e| &e.description)),
            net_content: keep(&w.net_content, ex.map(|e| &e.net_content)),
            country_of_origin: match &w.country_of_origin {
                Patch::Keep => ex.and_then(|e| e.country_of_origin.clone()),
                Patch::Clear => None,
                Patch::Set(c) => Some(c.as_str().to_owned()),
            },
            image_url: keep(&w.image_url, ex.map(|e| &e.image_url)),
            metadata: metadata.to_json(),
            source_hash: digests[i],
        });
    }

    let children = ChildRows::collect(&rows);
    let mut p = Pipeline::default();
    if !categories.is_empty() {
        p.insert(
            "INSERT INTO categories (id, name, parent_id) ",
            " ON CONFLICT(id) DO NOTHING",
            &categories,
            |b, (id, name, parent)| {
                b.push_bind(*id).push_bind(*name).push_bind(*parent);
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
        &rows,
        move |b, r| {
            b.push_bind(r.id)
                .push_bind(r.write.gtin.as_str())
                .push_bind(r.name.as_str())
                .push_bind(r.brand_id)
                .push_bind(r.category_id.as_deref())
                .push_bind(r.description.as_deref())
                .push_bind(r.net_content.as_deref())
                .push_bind(r.country_of_origin.as_deref())
                .push_bind(r.image_url.as_deref())
                .push_bind(r.write.data_source.as_str())
                .push_bind(r.metadata.as_str())
                .push_bind(r.source_hash)
                .push_bind(now)
                .push_bind(now);
        },
    );
    children.queue(&mut p, now);
    // Written products need their search entries rebuilt (by the background indexer).
    p.insert("INSERT OR IGNORE INTO search_dirty (product_id) ", "", &rows, |b, r| {
        b.push_bind(r.id);
    });
    p.insert(
        "INSERT INTO embed_dirty (product_id) ",
        " ON CONFLICT (product_id) DO UPDATE SET version = version + 1",
        &rows,
        |b, r| {
            b.push_bind(r.id);
        },
    );
    p.run(&mut tx).await?;
    tx.commit().await?;
    Ok(outcomes.into_iter().map(|o| o.unwrap_or(WriteOutcome::Unchanged)).collect())
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

/// The child rows of a product batch, borrowed from the writes and keyed by product id.
struct ChildRows<'a> {
    /// JSON lists of product ids whose images / ingredients / nutrition are replaced (updates
    /// only: new products have no children yet).
    gone_images: Option<String>,
    gone_ingredients: Option<String>,
    gone_nutrition: Option<String>,
    images: Vec<(i64, &'a ImageWrite)>,
    ingredients: Vec<(i64, i64, &'a IngredientWrite)>,
    panels: Vec<(i64, &'a NutritionWrite)>,
    nutrients: Vec<(i64, i64, &'a NutrientWrite)>,
}

impl<'a> ChildRows<'a> {
    fn collect(rows: &[ProductRow<'a>]) -> Self {
        let replaced = |pick: fn(&ProductWrite) -> bool| -> Option<String> {
            let ids: Vec<i64> =
                rows.iter().filter(|r| !r.inserted && pick(r.write)).map(|r| r.id).collect();
            (!ids.is_empty()).then(|| json_id_list(&ids))
        };
        let mut c = ChildRows {
            gone_images: replaced(|w| w.images.is_some()),
            gone_ingredients: replaced(|w| w.ingredients.is_some()),
            gone_nutrition: replaced(|w| !matches!(w.nutrition, Patch::Keep)),
            images: Vec::new(),
            ingredients: Vec::new(),
            panels: Vec::new(),
            nutrients: Vec::new(),
        };
        for r in rows {
            let (w, id) = (r.write, r.id);
            c.images.extend(w.images.iter().flatten().map(|img| (id, img)));
            c.ingredients.extend(
                w.ingredients.iter().flatten().enumerate().map(|(i, ing)| (id, i as i64, ing)),
            );
            if let Patch::Set(n) = &w.nutrition {
                c.panels.push((id, n));
                c.nutrients
                    .extend(n.nutrients.iter().enumerate().map(|(i, nu)| (id, i as i64, nu)));
            }
        }
        c
    }

    fn queue(&'a self, p: &mut Pipeline<'a>, now: &'a str) {
        if let Some(list) = &self.gone_images {
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
            &self.images,
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
        if let Some(list) = &self.gone_ingredients {
            p.with_list(
                "DELETE FROM ingredients WHERE product_id IN (SELECT value FROM json_each(",
                list.clone(),
                "))",
            );
        }
        p.insert(
            "INSERT INTO ingredients (product_id, priority, name, percentage_of_weight) ",
            "",
            &self.ingredients,
            |b, (id, pos, ing)| {
                b.push_bind(*id)
                    .push_bind(*pos)
                    .push_bind(ing.name.trim())
                    .push_bind(ing.percentage_of_weight);
            },
        );
        if let Some(list) = &self.gone_nutrition {
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
            &self.panels,
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
            &self.nutrients,
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
    let mut list: Vec<&str> = names.into_iter().map(str::trim).collect();
    list.sort_unstable();
    list.dedup();
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

/// Stored stores of one retailer by ref: `(id, comparable fields, metadata)`.
async fn existing_stores(
    conn: &mut SqliteConnection,
    retailer_id: i64,
    refs: &[&str],
) -> Result<HashMap<String, (i64, StoreFields, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, ref, name, address, city, region, postal_code, country, lat, lng, metadata \
         FROM stores WHERE retailer_id = ? AND ref IN (SELECT value FROM json_each(?))",
    )
    .bind(retailer_id)
    .bind(json_string_list(refs.iter().copied()))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("ref")?,
                (
                    r.try_get("id")?,
                    StoreFields {
                        name: r.try_get("name")?,
                        address: r.try_get("address")?,
                        city: r.try_get("city")?,
                        region: r.try_get("region")?,
                        postal_code: r.try_get("postal_code")?,
                        country: r.try_get("country")?,
                        lat: r.try_get("lat")?,
                        lng: r.try_get("lng")?,
                    },
                    r.try_get("metadata")?,
                ),
            ))
        })
        .collect()
}

#[derive(PartialEq)]
struct StoreFields {
    name: String,
    address: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: String,
    lat: f64,
    lng: f64,
}

pub(super) async fn upsert_stores(
    pool: &SqlitePool,
    batch: &[StoreWrite],
) -> Result<Vec<WriteOutcome>, StoreError> {
    in_runs(
        batch,
        |s| (s.retailer.trim().to_owned(), s.store_ref.clone()),
        |run| async move { with_row_isolation!(pool, run, try_upsert_stores) },
    )
    .await
}

async fn try_upsert_stores(
    pool: &SqlitePool,
    batch: &[StoreWrite],
) -> Result<Vec<WriteOutcome>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let now = now_rfc3339();
    let retailers =
        ensure_retailers(&mut tx, batch.iter().map(|s| s.retailer.as_str()), true, &now).await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut rows: Vec<(i64, &StoreWrite, StoreFields, String)> = Vec::new();
    let mut by_retailer: HashMap<i64, Vec<&str>> = HashMap::new();
    for s in batch {
        if let Some(id) = retailers.get(s.retailer.trim()) {
            by_retailer.entry(*id).or_default().push(s.store_ref.as_str());
        }
    }
    let mut existing = HashMap::new();
    for (rid, refs) in &by_retailer {
        for (k, v) in existing_stores(&mut tx, *rid, refs).await? {
            existing.insert((*rid, k), v);
        }
    }
    for s in batch {
        if let Err(e) = s.validate() {
            outcomes.push(WriteOutcome::Rejected(format!("{}: {}", e.field, e.message)));
            continue;
        }
        let Some(rid) = retailers.get(s.retailer.trim()).copied() else {
            outcomes.push(WriteOutcome::Rejected(format!(
                "retailer {:?} could not be created",
                s.retailer
            )));
            continue;
        };
        let ex = existing.get(&(rid, s.store_ref.clone()));
        let stored = match ex.map(|(_, _, m)| Metadata::from_json(m)).transpose() {
            Ok(m) => m.unwrap_or_default(),
            Err(e) => {
                outcomes.push(WriteOutcome::Rejected(format!("stored metadata: {e}")));
                continue;
            }
        };
        let metadata = match stored.merged(&s.metadata) {
            Ok(m) => m,
            Err(e) => {
                outcomes.push(WriteOutcome::Rejected(format!("metadata: {e}")));
                continue;
            }
        };
        let stored = ex.map(|(_, f, _)| f);
        let fields = StoreFields {
            name: s.name.trim().to_owned(),
            address: s.address.apply(stored.and_then(|f| f.address.clone())),
            city: s.city.apply(stored.and_then(|f| f.city.clone())),
            region: s.region.apply(stored.and_then(|f| f.region.clone())),
            postal_code: s.postal_code.apply(stored.and_then(|f| f.postal_code.clone())),
            country: s.country.as_str().to_owned(),
            lat: s.lat,
            lng: s.lng,
        };
        let metadata = metadata.to_json();
        match ex {
            Some((_, f, m)) if *f == fields && *m == metadata => {
                outcomes.push(WriteOutcome::Unchanged);
                continue;
            }
            Some(_) => outcomes.push(WriteOutcome::Updated),
            None => outcomes.push(WriteOutcome::Inserted),
        }
        rows.push((rid, s, fields, metadata));
    }
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
            |b, (rid, s, f, metadata)| {
                b.push_bind(*rid)
                    .push_bind(s.store_ref.as_str())
                    .push_bind(f.name.as_str())
                    .push_bind(f.address.as_deref())
                    .push_bind(f.city.as_deref())
                    .push_bind(f.region.as_deref())
                    .push_bind(f.postal_code.as_deref())
                    .push_bind(f.country.as_str())
                    .push_bind(f.lat)
                    .push_bind(f.lng)
                    .push_bind(metadata.as_str())
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

/// A stored offer: price, currency, inventory status, active, metadata.
type ExistingOffer = (i64, String, String, bool, String);

pub(super) async fn upsert_offers(
    pool: &SqlitePool,
    batch: &[OfferWrite],
) -> Result<Vec<WriteOutcome>, StoreError> {
    in_runs(
        batch,
        |o| (o.gtin, o.retailer.trim().to_owned(), o.store_ref.clone()),
        |run| async move { with_row_isolation!(pool, run, try_upsert_offers) },
    )
    .await
}

async fn try_upsert_offers(
    pool: &SqlitePool,
    batch: &[OfferWrite],
) -> Result<Vec<WriteOutcome>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let now = now_rfc3339();
    let retailers =
        ensure_retailers(&mut tx, batch.iter().map(|o| o.retailer.as_str()), false, &now).await?;
    let mut refs: HashMap<i64, Vec<&str>> = HashMap::new();
    for o in batch {
        if let Some(id) = retailers.get(o.retailer.trim()) {
            refs.entry(*id).or_default().push(o.store_ref.as_str());
        }
    }
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
    let mut existing: HashMap<(i64, i64), ExistingOffer> = HashMap::new();
    let product_ids: Vec<i64> = known.values().copied().collect();
    if !ids.is_empty() && !product_ids.is_empty() {
        let rows = sqlx::query(
            "SELECT product_id, store_id, price_minor, currency, inventory_status, active, \
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
                (
                    r.try_get("price_minor")?,
                    r.try_get("currency")?,
                    r.try_get("inventory_status")?,
                    r.try_get("active")?,
                    r.try_get("metadata")?,
                ),
            );
        }
    }

    let mut outcomes = Vec::with_capacity(batch.len());
    let mut rows: Vec<(i64, i64, &OfferWrite, &str, bool, String)> = Vec::new();
    for o in batch {
        let Some(rid) = retailers.get(o.retailer.trim()).copied() else {
            outcomes.push(WriteOutcome::Rejected(format!(
                "retailer: unknown retailer {:?}; import its stores first",
                o.retailer
            )));
            continue;
        };
        let Some(sid) = store_ids.get(&(rid, o.store_ref.clone())).copied() else {
            outcomes.push(WriteOutcome::Rejected(format!(
                "store_ref: retailer {:?} has no store {:?}",
                o.retailer, o.store_ref
            )));
            continue;
        };
        let Some(pid) = known.get(o.gtin.as_str()).copied() else {
            outcomes.push(WriteOutcome::Rejected(format!(
                "gtin: no product {} in the catalog; import the product first",
                o.gtin
            )));
            continue;
        };
        if o.price_minor < 0 {
            outcomes.push(WriteOutcome::Rejected("price: must not be negative".to_owned()));
            continue;
        }
        let ex = existing.get(&(pid, sid));
        let stored = match ex.map(|e| Metadata::from_json(&e.4)).transpose() {
            Ok(m) => m.unwrap_or_default(),
            Err(e) => {
                outcomes.push(WriteOutcome::Rejected(format!("stored metadata: {e}")));
                continue;
            }
        };
        let metadata = match stored.merged(&o.metadata) {
            Ok(m) => m.to_json(),
            Err(e) => {
                outcomes.push(WriteOutcome::Rejected(format!("metadata: {e}")));
                continue;
            }
        };
        // Fields the write leaves out keep their stored values (defaults for a new offer).
        let status = match (o.inventory_status, ex) {
            (Some(s), _) => s.as_str(),
            (None, Some(e)) => {
                InventoryStatus::parse(&e.2).map_or("unknown", InventoryStatus::as_str)
            }
            (None, None) => InventoryStatus::Unknown.as_str(),
        };
        let active = o.active.or(ex.map(|e| e.3)).unwrap_or(true);
        match ex {
            Some((price, currency, s, a, m))
                if *price == o.price_minor
                    && currency == o.currency.as_str()
                    && s == status
                    && *a == active
                    && *m == metadata =>
            {
                outcomes.push(WriteOutcome::Unchanged);
                continue;
            }
            Some(_) => outcomes.push(WriteOutcome::Updated),
            None => outcomes.push(WriteOutcome::Inserted),
        }
        rows.push((pid, sid, o, status, active, metadata));
    }
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
            |b, (pid, sid, o, status, active, metadata)| {
                b.push_bind(*pid)
                    .push_bind(*sid)
                    .push_bind(o.price_minor)
                    .push_bind(o.currency.as_str())
                    .push_bind(*status)
                    .push_bind(*active)
                    .push_bind(metadata.as_str())
                    .push_bind(now.as_str())
                    .push_bind(now.as_str());
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// Creates or updates resolver rules, keyed by (scope, target, order_index); one outcome per
/// rule. A BRAND or ORGANIZATION rule naming an unknown brand or organization is rejected.
pub(super) async fn upsert_rules(
    pool: &SqlitePool,
    batch: &[crate::model::RuleWrite],
) -> Result<Vec<WriteOutcome>, StoreError> {
    let mut out = Vec::with_capacity(batch.len());
    for rule in batch {
        match try_upsert_rule(pool, rule).await {
            Ok(o) => out.push(o),
            Err(e) if is_constraint_violation(&e) => {
                out.push(WriteOutcome::Rejected(constraint_message(&e)))
            }
            Err(e) => return Err(StoreError::from(e)),
        }
    }
    Ok(out)
}

async fn try_upsert_rule(
    pool: &SqlitePool,
    r: &crate::model::RuleWrite,
) -> Result<WriteOutcome, sqlx::Error> {
    use crate::model::RuleTarget;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let (gtin, qualifier, brand_id, org_id, key) = match &r.target {
        RuleTarget::Serial(g, s) => (
            Some(g.as_str().to_owned()),
            Some(s.clone()),
            None,
            None,
            format!("{}/21/{s}", g.as_str()),
        ),
        RuleTarget::Batch(g, b) => (
            Some(g.as_str().to_owned()),
            Some(b.clone()),
            None,
            None,
            format!("{}/10/{b}", g.as_str()),
        ),
        RuleTarget::Product(g) => {
            (Some(g.as_str().to_owned()), None, None, None, g.as_str().to_owned())
        }
        RuleTarget::Brand(name) => {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM brands WHERE name_key = ?")
                .bind(crate::model::fold_name(name))
                .fetch_optional(&mut *tx)
                .await?;
            let Some(id) = id else {
                return Ok(WriteOutcome::Rejected(format!(
                    "brand: no brand named {name:?} in the catalog"
                )));
            };
            (None, None, Some(id), None, format!("brand:{id}"))
        }
        RuleTarget::Organization(name) => {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM organizations WHERE name = ?")
                .bind(name.trim())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(id) = id else {
                return Ok(WriteOutcome::Rejected(format!(
                    "organization: no organization named {name:?}"
                )));
            };
            (None, None, None, Some(id), format!("organization:{id}"))
        }
        RuleTarget::Global => (None, None, None, None, String::new()),
    };
    let scope = r.target.scope();
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM resolver_rules WHERE scope = ? AND scope_key = ? AND order_index = ?",
    )
    .bind(scope)
    .bind(&key)
    .bind(i64::from(r.order_index))
    .fetch_optional(&mut *tx)
    .await?;
    let now = now_rfc3339();
    let list = |v: &Option<Vec<String>>| {
        v.as_ref().map(|l| json_string_list(l.iter().map(String::as_str)))
    };
    let metadata = serde_json::to_string(&r.metadata.entries).unwrap_or_else(|_| "{}".into());
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
    .bind(scope)
    .bind(gtin)
    .bind(qualifier)
    .bind(brand_id)
    .bind(org_id)
    .bind(&key)
    .bind(i64::from(r.order_index))
    .bind(i64::from(r.enabled))
    .bind(&r.link_type)
    .bind(if r.custom_url.is_some() { "CUSTOM_URL" } else { "HOSTED_PAGE" })
    .bind(&r.custom_url)
    .bind(&r.on_custom_url_dead)
    .bind(&r.starts_at)
    .bind(&r.ends_at)
    .bind(r.annual.as_ref().map(|a| a.0.clone()))
    .bind(r.annual.as_ref().map(|a| a.1.clone()))
    .bind(r.days_of_week.map(i64::from))
    .bind(r.daily.as_ref().map(|d| d.0.clone()))
    .bind(r.daily.as_ref().map(|d| d.1.clone()))
    .bind(&r.time_zone)
    .bind(list(&r.countries))
    .bind(list(&r.languages))
    .bind(metadata)
    .bind(&now)
    .bind(&r.title)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(match (existing, changed) {
        (None, _) => WriteOutcome::Inserted,
        (Some(_), 0) => WriteOutcome::Unchanged,
        (Some(_), _) => WriteOutcome::Updated,
    })
}

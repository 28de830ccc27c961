//! Search storage on PostgreSQL: the search documents (each product's six searchable fields as
//! text, written by the background indexer from the `search_dirty` queue — safe with many
//! processes: each takes queued rows with `SKIP LOCKED` and writes its batch under an advisory
//! lock, so batches commit in sequence order — and read in that order by every serving
//! process's in-memory lexical index), the filters of the search service, and the offer
//! locations of its geo ranking.

use gs1::Gtin14;
use sqlx::{AssertSqlSafe, PgPool, Row};

use crate::geo::{BoundingBox, Point};
use crate::search::SearchFilters;
use crate::store::{SearchCursor, SearchDocument, SearchDocumentPage, StoreError};

use super::*;
pub(super) use crate::store::stored_gtin as parse_gtin;

/// Key of the transaction-scoped advisory lock under which search documents are written
/// ("prodsrch"; the tombstone trigger of migration 0007 takes the same one).
const INDEX_LOCK: i64 = 0x7072_6f64_7372_6368;

/// The filters of [`SearchFilters`] over `products p` as a condition, bound as `$2` brand key,
/// `$3` category id (the product holds it, or one of its subcategories, anywhere in its path),
/// `$4` country, `$5` metadata as a JSON object, and the label id as `$label` (all always
/// bound; NULL when unset). Only the filters that are set appear in the text: a
/// `$2 IS NULL OR …` form would let a cached generic plan estimate one matching row and scan
/// every product instead of using an index.
pub(super) fn filters_sql(filters: &SearchFilters, label: usize) -> String {
    let mut parts: Vec<String> = vec!["true".into()];
    if filters.brand.is_some() {
        parts.push("p.brand_id = (SELECT id FROM brands WHERE name_key = $2::text)".into());
    }
    if filters.category_id.is_some() {
        parts.push(
            "p.id IN (SELECT pc.product_id FROM product_categories pc WHERE pc.category_id IN ( \
               WITH RECURSIVE sub(id) AS ( \
                 SELECT $3::text UNION SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id) \
               SELECT id FROM sub))"
                .into(),
        );
    }
    if filters.country_of_origin.is_some() {
        parts.push("p.country_of_origin = $4::text".into());
    }
    if !filters.metadata.is_empty() {
        parts.push(
            "NOT EXISTS (SELECT 1 FROM jsonb_each_text($5::jsonb) f \
               WHERE (p.metadata::jsonb ->> f.key) IS DISTINCT FROM f.value)"
                .into(),
        );
    }
    if filters.label.is_some() {
        parts.push(format!(
            "p.id IN (SELECT product_id FROM product_labels WHERE label_id = ${label}::text)"
        ));
    }
    parts.join(" AND ")
}

pub(super) fn metadata_json(filters: &SearchFilters) -> Option<String> {
    if filters.metadata.is_empty() {
        return None;
    }
    let m: serde_json::Map<String, serde_json::Value> = filters
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    Some(serde_json::Value::Object(m).to_string())
}

fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Products passing the filters (at most `limit`).
pub(super) async fn matching_products(
    pool: &PgPool,
    filters: &SearchFilters,
    limit: usize,
) -> Result<Vec<Gtin14>, StoreError> {
    let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT p.gtin FROM products p WHERE {} ORDER BY p.id LIMIT $1",
        filters_sql(filters, 6)
    )))
    .bind(limit_i64(limit))
    .bind(filters.brand.as_deref())
    .bind(filters.category_id.as_deref())
    .bind(filters.country_of_origin.as_deref())
    .bind(metadata_json(filters))
    .bind(filters.label.as_deref())
    .fetch_all(pool)
    .await?;
    rows.iter().map(|g| parse_gtin(g)).collect()
}

fn locations(rows: &[sqlx::postgres::PgRow]) -> Result<Vec<(Gtin14, Point)>, StoreError> {
    rows.iter()
        .map(|r| {
            Ok((
                parse_gtin(&r.try_get::<String, _>("gtin")?)?,
                Point { lat: r.try_get("lat")?, lng: r.try_get("lng")? },
            ))
        })
        .collect()
}

pub(super) async fn offer_locations(
    pool: &PgPool,
    gtins: &[Gtin14],
    area: &BoundingBox,
) -> Result<Vec<(Gtin14, Point)>, StoreError> {
    if gtins.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<&str> = gtins.iter().map(Gtin14::as_str).collect();
    let [(lo1, hi1), (lo2, hi2)] = area.lng_ranges;
    let rows = sqlx::query(
        "SELECT p.gtin, s.lat, s.lng FROM products p \
         JOIN offers o ON o.product_id = p.id AND o.active \
         JOIN stores s ON s.id = o.store_id \
         WHERE p.gtin = ANY($1) \
           AND s.lat BETWEEN $2 AND $3 AND (s.lng BETWEEN $4 AND $5 OR s.lng BETWEEN $6 AND $7)",
    )
    .bind(&list)
    .bind(area.min_lat)
    .bind(area.max_lat)
    .bind(lo1)
    .bind(hi1)
    .bind(lo2)
    .bind(hi2)
    .fetch_all(pool)
    .await?;
    locations(&rows)
}

/// Every product with an active offer at a store inside `area`, with the store's location
/// (one row per offer, at most `limit`).
pub(super) async fn offers_in_area(
    pool: &PgPool,
    area: &BoundingBox,
    limit: usize,
) -> Result<Vec<(Gtin14, Point)>, StoreError> {
    let [(lo1, hi1), (lo2, hi2)] = area.lng_ranges;
    let rows = sqlx::query(
        "SELECT p.gtin, s.lat, s.lng FROM stores s \
         JOIN offers o ON o.store_id = s.id AND o.active \
         JOIN products p ON p.id = o.product_id \
         WHERE s.lat BETWEEN $1 AND $2 AND (s.lng BETWEEN $3 AND $4 OR s.lng BETWEEN $5 AND $6) \
         LIMIT $7",
    )
    .bind(area.min_lat)
    .bind(area.max_lat)
    .bind(lo1)
    .bind(hi1)
    .bind(lo2)
    .bind(hi2)
    .bind(limit_i64(limit))
    .fetch_all(pool)
    .await?;
    locations(&rows)
}

/// The searchable text of `products p` as six columns: name, brand, the category path
/// (general to specific), labels, description and ingredients in label order — the same text
/// as on SQLite, read by both the search documents and the embeddings.
pub(super) const TEXT_COLUMNS: &str = "p.name, b.name, \
    (SELECT string_agg(c.name, ', ' ORDER BY pc.position) FROM product_categories pc \
       JOIN categories c ON c.id = pc.category_id WHERE pc.product_id = p.id), \
    (SELECT string_agg(l.name, ', ' ORDER BY pl.position) FROM product_labels pl \
       JOIN labels l ON l.id = pl.label_id WHERE pl.product_id = p.id), \
    p.description, \
    (SELECT string_agg(i.name, ', ' ORDER BY i.priority) FROM ingredients i \
       WHERE i.product_id = p.id)";
/// The joins [`TEXT_COLUMNS`] needs.
pub(super) const TEXT_JOINS: &str = "products p LEFT JOIN brands b ON b.id = p.brand_id";

pub(super) async fn index_search(pool: &PgPool, max: usize) -> Result<usize, StoreError> {
    // A cheap read first, so an idle indexer takes no locks.
    let queued: Option<i64> = sqlx::query_scalar("SELECT product_id FROM search_dirty LIMIT 1")
        .fetch_optional(pool)
        .await?;
    if queued.is_none() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    // Take the queued rows first (other processes' indexers skip them), then read the products:
    // a write committed after this statement queues its product again, so it is never lost.
    let ids: Vec<i64> = sqlx::query_scalar(
        "DELETE FROM search_dirty WHERE product_id IN ( \
           SELECT product_id FROM search_dirty ORDER BY product_id LIMIT $1 \
           FOR UPDATE SKIP LOCKED) \
         RETURNING product_id",
    )
    .bind(limit_i64(max))
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    // Batches are written one at a time, so the commit order is the sequence order.
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(INDEX_LOCK).execute(&mut *tx).await?;
    let seq: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) + 1 FROM search_documents")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO search_documents (gtin, seq, lang, name, brand, categories, labels, \
             description, ingredients, deleted) \
         SELECT t.gtin, $2, t.lang, coalesce(t.name, ''), coalesce(t.brand, ''), \
             coalesce(t.categories, ''), coalesce(t.labels, ''), coalesce(t.description, ''), \
             coalesce(t.ingredients, ''), false \
         FROM (SELECT p.gtin, p.metadata::jsonb ->> 'lang', {TEXT_COLUMNS} FROM {TEXT_JOINS} \
               WHERE p.id = ANY($1)) \
              AS t(gtin, lang, name, brand, categories, labels, description, ingredients) \
         ON CONFLICT (gtin) DO UPDATE SET seq = excluded.seq, lang = excluded.lang, \
             name = excluded.name, brand = excluded.brand, categories = excluded.categories, \
             labels = excluded.labels, description = excluded.description, \
             ingredients = excluded.ingredients, deleted = false"
    )))
    .bind(&ids)
    .bind(seq)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids.len())
}

pub(super) async fn search_backlog(pool: &PgPool) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM search_dirty").fetch_one(pool).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn documents(
    pool: &PgPool,
    after: &SearchCursor,
    limit: usize,
) -> Result<SearchDocumentPage, StoreError> {
    let rows = sqlx::query(
        "SELECT gtin, seq, lang, name, brand, categories, labels, description, ingredients, \
             deleted \
         FROM search_documents WHERE (seq, gtin) > ($1, $2) ORDER BY seq, gtin LIMIT $3",
    )
    .bind(after.0)
    .bind(after.1.as_str())
    .bind(limit_i64(limit))
    .fetch_all(pool)
    .await?;
    let mut docs = Vec::with_capacity(rows.len());
    let mut last = None;
    for r in &rows {
        let gtin: String = r.try_get("gtin")?;
        let seq: i64 = r.try_get("seq")?;
        docs.push(SearchDocument {
            gtin: parse_gtin(&gtin)?,
            lang: r.try_get("lang")?,
            fields: [
                r.try_get("name")?,
                r.try_get("brand")?,
                r.try_get("categories")?,
                r.try_get("labels")?,
                r.try_get("description")?,
                r.try_get("ingredients")?,
            ],
            deleted: r.try_get("deleted")?,
        });
        last = Some((seq, gtin));
    }
    Ok((docs, last))
}

pub(super) async fn document_count(pool: &PgPool) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM search_documents WHERE NOT deleted")
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[async_trait::async_trait]
impl crate::store::SearchIndexDb for PgStore {
    async fn index_search(&self, max_products: usize) -> Result<usize, StoreError> {
        index_search(&self.pool, max_products).await
    }

    async fn search_documents(
        &self,
        after: &crate::store::SearchCursor,
        limit: usize,
    ) -> Result<crate::store::SearchDocumentPage, StoreError> {
        reading("search documents", || documents(&self.pool, after, limit)).await
    }

    async fn search_document_count(&self) -> Result<u64, StoreError> {
        reading("search documents", || document_count(&self.pool)).await
    }

    async fn search_backlog(&self) -> Result<u64, StoreError> {
        search_backlog(&self.pool).await
    }

    async fn matching_products(
        &self,
        filters: &crate::search::SearchFilters,
        limit: usize,
    ) -> Result<Vec<gs1::Gtin14>, StoreError> {
        reading("filter", || matching_products(&self.pool, filters, limit)).await
    }
}

//! Search storage on SQLite: the search documents (each product's six searchable fields as
//! text, written by the background indexer from the `search_dirty` queue and read in write
//! order by every serving process's in-memory lexical index), the filters of the search
//! service, and the offer locations of its geo ranking.

use gs1::Gtin14;
use sqlx::{AssertSqlSafe, Row, SqlitePool};

use super::read::{bind_area, gtin_list_json, parse_gtin};
use super::*;
use crate::geo::{BoundingBox, Point};
use crate::search::SearchFilters;
use crate::store::{SearchCursor, SearchDocument, SearchDocumentPage, StoreError};

/// The filters of [`SearchFilters`] over `products p`, bound as `?2` brand key, `?3` category
/// id (the product holds it, or one of its subcategories, anywhere in its path), `?4` country,
/// `?5` metadata as a JSON object, `?6` label id.
const FILTERS: &str = "(?2 IS NULL OR p.brand_id = (SELECT id FROM brands WHERE name_key = ?2)) \
    AND (?3 IS NULL OR p.id IN ( \
          SELECT pc.product_id FROM product_categories pc WHERE pc.category_id IN ( \
            WITH RECURSIVE sub(id) AS ( \
              SELECT ?3 UNION SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id) \
            SELECT id FROM sub))) \
    AND (?4 IS NULL OR p.country_of_origin = ?4) \
    AND (?5 IS NULL OR NOT EXISTS ( \
          SELECT 1 FROM json_each(?5) f WHERE (p.metadata ->> f.key) IS NOT f.value)) \
    AND (?6 IS NULL OR p.id IN (SELECT product_id FROM product_labels WHERE label_id = ?6))";

fn metadata_json(filters: &SearchFilters) -> Option<String> {
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

/// Products passing the filters (at most `limit`).
pub(super) async fn matching_products(
    pool: &SqlitePool,
    filters: &SearchFilters,
    limit: usize,
) -> Result<Vec<Gtin14>, StoreError> {
    let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT p.gtin FROM products p WHERE {FILTERS} LIMIT ?1"
    )))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .bind(filters.brand.as_deref())
    .bind(filters.category_id.as_deref())
    .bind(filters.country_of_origin.as_deref())
    .bind(metadata_json(filters))
    .bind(filters.label.as_deref())
    .fetch_all(pool)
    .await?;
    rows.iter().map(|g| parse_gtin(g)).collect()
}

pub(super) async fn offer_locations(
    pool: &SqlitePool,
    gtins: &[Gtin14],
    area: &BoundingBox,
) -> Result<Vec<(Gtin14, Point)>, StoreError> {
    if gtins.is_empty() {
        return Ok(Vec::new());
    }
    let rows = bind_area(
        sqlx::query(
            "SELECT p.gtin, s.lat, s.lng FROM products p \
         JOIN offers o ON o.product_id = p.id AND o.active = 1 \
         JOIN stores s ON s.id = o.store_id \
         WHERE p.gtin IN (SELECT value FROM json_each(?)) \
           AND s.lat BETWEEN ? AND ? AND (s.lng BETWEEN ? AND ? OR s.lng BETWEEN ? AND ?)",
        )
        .bind(gtin_list_json(gtins)),
        area,
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                parse_gtin(&r.try_get::<String, _>("gtin")?)?,
                Point { lat: r.try_get("lat")?, lng: r.try_get("lng")? },
            ))
        })
        .collect()
}

/// Every product with an active offer at a store inside `area`, with the store's location
/// (one row per offer, at most `limit`).
pub(super) async fn offers_in_area(
    pool: &SqlitePool,
    area: &BoundingBox,
    limit: usize,
) -> Result<Vec<(Gtin14, Point)>, StoreError> {
    let rows = bind_area(
        sqlx::query(
            "SELECT p.gtin, s.lat, s.lng FROM stores s \
             JOIN offers o ON o.store_id = s.id AND o.active = 1 \
             JOIN products p ON p.id = o.product_id \
             WHERE s.lat BETWEEN ? AND ? AND (s.lng BETWEEN ? AND ? OR s.lng BETWEEN ? AND ?) \
             LIMIT ?",
        ),
        area,
    )
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                parse_gtin(&r.try_get::<String, _>("gtin")?)?,
                Point { lat: r.try_get("lat")?, lng: r.try_get("lng")? },
            ))
        })
        .collect()
}

/// The searchable text of `products p` as six columns: name, brand, the category path
/// (general to specific), labels, description and ingredients in label order. The search
/// documents and the embeddings both read it, so both legs see the same product.
pub(super) const TEXT_COLUMNS: &str = "p.name, b.name, \
    (SELECT group_concat(c.name, ', ' ORDER BY pc.position) FROM product_categories pc \
       JOIN categories c ON c.id = pc.category_id WHERE pc.product_id = p.id), \
    (SELECT group_concat(l.name, ', ' ORDER BY pl.position) FROM product_labels pl \
       JOIN labels l ON l.id = pl.label_id WHERE pl.product_id = p.id), \
    p.description, \
    (SELECT group_concat(i.name, ', ' ORDER BY i.priority) FROM ingredients i \
       WHERE i.product_id = p.id)";
/// The joins [`TEXT_COLUMNS`] needs.
pub(super) const TEXT_JOINS: &str = "products p LEFT JOIN brands b ON b.id = p.brand_id";

pub(super) async fn index_search(pool: &SqlitePool, max: usize) -> Result<usize, StoreError> {
    // A read first, so an idle indexer never takes the write lock.
    let queued: Option<i64> = sqlx::query_scalar("SELECT product_id FROM search_dirty LIMIT 1")
        .fetch_optional(pool)
        .await?;
    if queued.is_none() {
        return Ok(0);
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT product_id FROM search_dirty ORDER BY product_id LIMIT ?")
            .bind(i64::try_from(max).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let list = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    // The batch's sequence: after every one before it, whichever process wrote them (the
    // write lock of BEGIN IMMEDIATE orders them).
    let seq: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) + 1 FROM search_documents")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(AssertSqlSafe(format!(
        "WITH t(gtin, lang, name, brand, categories, labels, description, ingredients) AS ( \
           SELECT p.gtin, p.metadata ->> 'lang', {TEXT_COLUMNS} FROM {TEXT_JOINS} \
           WHERE p.id IN (SELECT value FROM json_each(?1))) \
         INSERT INTO search_documents (gtin, seq, lang, name, brand, categories, labels, \
             description, ingredients, deleted) \
         SELECT t.gtin, ?2, t.lang, coalesce(t.name, ''), coalesce(t.brand, ''), \
             coalesce(t.categories, ''), coalesce(t.labels, ''), coalesce(t.description, ''), \
             coalesce(t.ingredients, ''), 0 \
         FROM t WHERE true \
         ON CONFLICT (gtin) DO UPDATE SET seq = excluded.seq, lang = excluded.lang, \
             name = excluded.name, brand = excluded.brand, categories = excluded.categories, \
             labels = excluded.labels, description = excluded.description, \
             ingredients = excluded.ingredients, deleted = 0"
    )))
    .bind(&list)
    .bind(seq)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM search_dirty WHERE product_id IN (SELECT value FROM json_each(?))")
        .bind(&list)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids.len())
}

pub(super) async fn search_backlog(pool: &SqlitePool) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM search_dirty").fetch_one(pool).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn documents(
    pool: &SqlitePool,
    after: &SearchCursor,
    limit: usize,
) -> Result<SearchDocumentPage, StoreError> {
    let rows = sqlx::query(
        "SELECT gtin, seq, lang, name, brand, categories, labels, description, ingredients, \
             deleted \
         FROM search_documents WHERE (seq, gtin) > (?1, ?2) ORDER BY seq, gtin LIMIT ?3",
    )
    .bind(after.0)
    .bind(after.1.as_str())
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
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
            deleted: r.try_get::<i64, _>("deleted")? != 0,
        });
        last = Some((seq, gtin));
    }
    Ok((docs, last))
}

pub(super) async fn document_count(pool: &SqlitePool) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM search_documents WHERE deleted = 0")
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[async_trait::async_trait]
impl crate::store::SearchIndexDb for SqliteStore {
    async fn index_search(&self, max_products: usize) -> Result<usize, StoreError> {
        index_search(&self.pool, max_products).await
    }

    async fn search_documents(
        &self,
        after: &crate::store::SearchCursor,
        limit: usize,
    ) -> Result<crate::store::SearchDocumentPage, StoreError> {
        documents(&self.pool, after, limit).await
    }

    async fn search_document_count(&self) -> Result<u64, StoreError> {
        document_count(&self.pool).await
    }

    async fn search_backlog(&self) -> Result<u64, StoreError> {
        search_backlog(&self.pool).await
    }

    async fn matching_products(
        &self,
        filters: &crate::search::SearchFilters,
        limit: usize,
    ) -> Result<Vec<gs1::Gtin14>, StoreError> {
        matching_products(&self.pool, filters, limit).await
    }
}

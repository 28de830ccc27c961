//! Full-text search on PostgreSQL: one weighted tsvector per product (English stemming) in
//! `product_search` with a GIN index, ranked with `ts_rank`; the background indexer that keeps
//! it in step with `search_dirty` (safe with many processes: each takes queued rows with
//! `SKIP LOCKED`); the filters and offer locations of the search service.

use gs1::Gtin14;
use sqlx::{AssertSqlSafe, PgPool, Row};

use crate::geo::{BoundingBox, Point};
use crate::search::{LexicalHit, SearchFilters};
use crate::store::StoreError;

/// Most query words used (longer queries add little and cost a lot).
const MAX_TERMS: usize = 32;

pub(super) use crate::store::stored_gtin as parse_gtin;

/// The distinct words of a query (letters and digits only, so no user text is tsquery syntax),
/// lower-cased, at most [`MAX_TERMS`].
fn query_words(text: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let w = word.to_lowercase();
        if !terms.contains(&w) {
            terms.push(w);
        }
        if terms.len() == MAX_TERMS {
            break;
        }
    }
    terms
}

/// The filters of [`SearchFilters`] over `products p` as a condition, bound as `$2` brand key,
/// `$3` category id (its subcategories match too), `$4` country, `$5` metadata as a JSON object
/// (all four are always bound; NULL when unset). Only the filters that are set appear in the
/// text: a `$2 IS NULL OR …` form would let a cached generic plan estimate one matching row and
/// scan every product instead of walking the full-text or vector index.
pub(super) fn filters_sql(filters: &SearchFilters) -> String {
    let mut parts: Vec<&str> = vec!["true"];
    if filters.brand.is_some() {
        parts.push("p.brand_id = (SELECT id FROM brands WHERE name_key = $2::text)");
    }
    if filters.category_id.is_some() {
        parts.push(
            "p.category_id IN ( \
               WITH RECURSIVE sub(id) AS ( \
                 SELECT $3::text UNION SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id) \
               SELECT id FROM sub)",
        );
    }
    if filters.country_of_origin.is_some() {
        parts.push("p.country_of_origin = $4::text");
    }
    if !filters.metadata.is_empty() {
        parts.push(
            "NOT EXISTS (SELECT 1 FROM jsonb_each_text($5::jsonb) f \
               WHERE (p.metadata::jsonb ->> f.key) IS DISTINCT FROM f.value)",
        );
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

/// Products passing the filters (at most `limit`), for the semantic leg.
pub(super) async fn matching_products(
    pool: &PgPool,
    filters: &SearchFilters,
    limit: usize,
) -> Result<Vec<Gtin14>, StoreError> {
    let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT p.gtin FROM products p WHERE {} ORDER BY p.id LIMIT $1",
        filters_sql(filters)
    )))
    .bind(limit_i64(limit))
    .bind(filters.brand.as_deref())
    .bind(filters.category_id.as_deref())
    .bind(filters.country_of_origin.as_deref())
    .bind(metadata_json(filters))
    .fetch_all(pool)
    .await?;
    rows.iter().map(|g| parse_gtin(g)).collect()
}

/// Ranked matches of a tsquery text (`word | word …` or `word & word …`, words only).
async fn ranked(
    pool: &PgPool,
    tsquery: &str,
    filters: &SearchFilters,
    limit: usize,
) -> Result<Vec<sqlx::postgres::PgRow>, StoreError> {
    // Weights {D, C, B, A}: ingredients 0.1, description and category 0.3, brand 0.6, name 1.
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT p.gtin, ts_rank('{{0.1, 0.3, 0.6, 1.0}}', s.document, q.query) AS rank \
         FROM to_tsquery('english', $1) AS q(query) \
         JOIN product_search s ON s.document @@ q.query \
         JOIN products p ON p.id = s.product_id \
         WHERE {} ORDER BY rank DESC, p.id LIMIT $6",
        filters_sql(filters)
    )))
    .bind(tsquery)
    .bind(filters.brand.as_deref())
    .bind(filters.category_id.as_deref())
    .bind(filters.country_of_origin.as_deref())
    .bind(metadata_json(filters))
    .bind(limit_i64(limit))
    .fetch_all(pool)
    .await?)
}

pub(super) async fn search_lexical(
    pool: &PgPool,
    query: &str,
    filters: &SearchFilters,
    limit: usize,
) -> Result<Vec<LexicalHit>, StoreError> {
    let words = query_words(query);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    // Any word may match; products matching more words rank higher.
    let rows = ranked(pool, &words.join(" | "), filters, limit).await?;
    rows.iter()
        .map(|r| {
            let rank: f32 = r.try_get("rank")?;
            Ok(LexicalHit {
                gtin: parse_gtin(&r.try_get::<String, _>("gtin")?)?,
                score: f64::from(rank),
            })
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
    rows.iter()
        .map(|r| {
            Ok((
                parse_gtin(&r.try_get::<String, _>("gtin")?)?,
                Point { lat: r.try_get("lat")?, lng: r.try_get("lng")? },
            ))
        })
        .collect()
}

/// The searchable text of `products p` as five columns: name, brand, category (with its
/// parent), description and ingredients in label order — the same text as on SQLite, read by
/// both the full-text index and the embeddings.
pub(super) const TEXT_COLUMNS: &str = "p.name, b.name, \
    btrim(coalesce(c.name, '') || ' ' || coalesce(parent.name, '')), p.description, \
    (SELECT string_agg(i.name, ', ' ORDER BY i.priority) FROM ingredients i \
     WHERE i.product_id = p.id)";
/// The joins [`TEXT_COLUMNS`] needs.
pub(super) const TEXT_JOINS: &str = "products p \
    LEFT JOIN brands b ON b.id = p.brand_id \
    LEFT JOIN categories c ON c.id = p.category_id \
    LEFT JOIN categories parent ON parent.id = c.parent_id";

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
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO product_search (product_id, document) \
         SELECT t.id, \
                setweight(to_tsvector('english', coalesce(t.name, '')), 'A') || \
                setweight(to_tsvector('english', coalesce(t.brand, '')), 'B') || \
                setweight(to_tsvector('english', coalesce(t.category, '')), 'C') || \
                setweight(to_tsvector('english', coalesce(t.description, '')), 'C') || \
                setweight(to_tsvector('english', coalesce(t.ingredients, '')), 'D') \
         FROM (SELECT p.id, {TEXT_COLUMNS} FROM {TEXT_JOINS} WHERE p.id = ANY($1)) \
              AS t(id, name, brand, category, description, ingredients) \
         ON CONFLICT (product_id) DO UPDATE SET document = excluded.document"
    )))
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids.len())
}

pub(super) async fn search_backlog(pool: &PgPool) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM search_dirty").fetch_one(pool).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_are_plain_words() {
        assert_eq!(query_words("Gluten-free pasta!"), ["gluten", "free", "pasta"]);
        assert_eq!(query_words("'a' & !b | c:*"), ["a", "b", "c"]);
        assert!(query_words("  --  ").is_empty());
        assert_eq!(query_words("Crème brûlée crème"), ["crème", "brûlée"]);
    }
}

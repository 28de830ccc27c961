//! Full-text search on SQLite: FTS5 with the Porter stemmer over name, brand, category (and its
//! parent), description and ingredients, ranked by BM25 with per-column weights; and the
//! background indexer that keeps the index in step with `search_dirty`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use gs1::Gtin14;
use sqlx::{AssertSqlSafe, Row, SqlitePool};

use super::read::{bind_area, gtin_list_json, parse_gtin};
use crate::geo::{BoundingBox, Point};
use crate::search::{LexicalHit, SearchFilters};
use crate::store::StoreError;

/// Most query words used (longer queries add little and cost a lot).
const MAX_TERMS: usize = 32;

/// A term is common when more than this share of products hold it…
const COMMON_SHARE: f64 = 0.05;
/// …and at least this many (small catalogs never drop a term).
const COMMON_MIN_DOCS: i64 = 1_000;
/// How long the set of common terms is reused before it is read again.
const COMMON_TTL: Duration = Duration::from_secs(600);

/// The index's common terms, read from `products_fts_vocab` now and then (a scan of every
/// term: ~75 ms for 85k products) and shared by every search.
#[derive(Debug, Default)]
pub(super) struct CommonTerms {
    set: RwLock<Option<(Instant, Arc<HashSet<String>>)>>,
    refreshing: AtomicBool,
}

impl CommonTerms {
    /// The current set; read again when older than [`COMMON_TTL`] (by one search, while the
    /// others keep using the old set).
    pub(super) async fn get(&self, pool: &SqlitePool) -> Result<Arc<HashSet<String>>, StoreError> {
        let current = self.set.read().ok().and_then(|s| s.clone());
        if let Some((at, set)) = &current
            && at.elapsed() < COMMON_TTL
        {
            return Ok(Arc::clone(set));
        }
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return Ok(current.map(|(_, s)| s).unwrap_or_default());
        }
        let read = async {
            let terms: Vec<String> = sqlx::query_scalar(
                "SELECT term FROM products_fts_vocab WHERE doc > max(?1, \
                   ?2 * (SELECT count(*) FROM products))",
            )
            .bind(COMMON_MIN_DOCS)
            .bind(COMMON_SHARE)
            .fetch_all(pool)
            .await?;
            Ok::<_, StoreError>(Arc::new(terms.into_iter().collect::<HashSet<String>>()))
        };
        let result = read.await;
        self.refreshing.store(false, Ordering::Release);
        let set = result?;
        if let Ok(mut slot) = self.set.write() {
            *slot = Some((Instant::now(), Arc::clone(&set)));
        }
        Ok(set)
    }
}

/// A word as the index's tokenizer sees it before stemming: lower case, diacritics removed.
fn fold(word: &str) -> String {
    use unicode_normalization::{UnicodeNormalization as _, char::is_combining_mark};
    word.nfd().filter(|c| !is_combining_mark(*c)).collect::<String>().to_lowercase()
}

/// Whether a query word is one of the index's common terms. The index holds Porter stems,
/// which are the word cut short in nearly every case ("natural" → "natur", "farine" →
/// "farin"), so a common term of three letters or more that starts the word and is at most
/// four letters shorter counts as the word's stem.
fn is_common(word: &str, common: &HashSet<String>) -> bool {
    let w = fold(word);
    if common.contains(&w) {
        return true;
    }
    let n = w.chars().count();
    w.char_indices().map(|(i, _)| i).skip(3).chain([w.len()]).any(|end| {
        let len = w[..end].chars().count();
        len + 4 >= n && common.contains(&w[..end])
    })
}

/// Turns free text into an FTS5 query: every word quoted (so no user text is FTS syntax),
/// joined with OR so any word can match; BM25 ranks documents matching more words higher.
/// Words in `common` (mostly function words and staple ingredients) are left out when the
/// query has other words: ranking every product holding "de" or "sugar" costs tens of
/// milliseconds and BM25 gives such words almost no weight anyway.
pub(super) fn fts_query(text: &str, common: &HashSet<String>) -> Option<FtsQuery> {
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
    let quoted = |terms: &[String], op: &str| {
        terms.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(op)
    };
    if terms.is_empty() {
        return None;
    }
    if terms.iter().all(|t| is_common(t, common)) && terms.len() > 1 {
        // Only common words ("farine de"): products holding all of them, which are far
        // fewer than those holding any; if there are none, any of them after all.
        return Some(FtsQuery {
            first: quoted(&terms, " AND "),
            otherwise: Some(quoted(&terms, " OR ")),
        });
    }
    let rare: Vec<String> = terms.iter().filter(|t| !is_common(t, common)).cloned().collect();
    let terms = if rare.is_empty() { terms } else { rare };
    Some(FtsQuery { first: quoted(&terms, " OR "), otherwise: None })
}

/// An FTS5 query, and the one to run when it finds nothing.
#[derive(Debug, PartialEq)]
pub(super) struct FtsQuery {
    first: String,
    otherwise: Option<String>,
}

/// The filters of [`SearchFilters`] over `products p`, bound as `?2` brand key, `?3` category
/// id (its subcategories match too), `?4` country, `?5` metadata as a JSON object.
const FILTERS: &str = "(?2 IS NULL OR p.brand_id = (SELECT id FROM brands WHERE name_key = ?2)) \
    AND (?3 IS NULL OR p.category_id IN ( \
          WITH RECURSIVE sub(id) AS ( \
            SELECT ?3 UNION SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id) \
          SELECT id FROM sub)) \
    AND (?4 IS NULL OR p.country_of_origin = ?4) \
    AND (?5 IS NULL OR NOT EXISTS ( \
          SELECT 1 FROM json_each(?5) f WHERE (p.metadata ->> f.key) IS NOT f.value))";

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

/// Products passing the filters (at most `limit`), for the semantic leg.
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
    .fetch_all(pool)
    .await?;
    rows.iter().map(|g| parse_gtin(g)).collect()
}

async fn ranked(
    pool: &SqlitePool,
    fts: &str,
    filters: &SearchFilters,
    limit: usize,
) -> Result<Vec<sqlx::sqlite::SqliteRow>, StoreError> {
    // Column weights: name 10, brand 6, category 3, description 2, ingredients 1.
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT p.gtin, bm25(products_fts, 10.0, 6.0, 3.0, 2.0, 1.0) AS rank \
         FROM products_fts JOIN products p ON p.id = products_fts.rowid \
         WHERE products_fts MATCH ?1 AND {FILTERS} ORDER BY rank LIMIT ?6"
    )))
    .bind(fts)
    .bind(filters.brand.as_deref())
    .bind(filters.category_id.as_deref())
    .bind(filters.country_of_origin.as_deref())
    .bind(metadata_json(filters))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?)
}

pub(super) async fn search_lexical(
    pool: &SqlitePool,
    common: &CommonTerms,
    query: &str,
    filters: &SearchFilters,
    limit: usize,
) -> Result<Vec<LexicalHit>, StoreError> {
    let common = common.get(pool).await?;
    let Some(fts) = fts_query(query, &common) else { return Ok(Vec::new()) };
    let mut rows = ranked(pool, &fts.first, filters, limit).await?;
    if rows.is_empty()
        && let Some(otherwise) = &fts.otherwise
    {
        rows = ranked(pool, otherwise, filters, limit).await?;
    }
    rows.iter()
        .map(|r| {
            let rank: f64 = r.try_get("rank")?;
            Ok(LexicalHit { gtin: parse_gtin(&r.try_get::<String, _>("gtin")?)?, score: -rank })
        })
        .collect()
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

/// The searchable text of `products p` as five columns: name, brand, category (with its
/// parent), description and ingredients in label order. The full-text index and the
/// embeddings both read it, so both legs see the same product.
pub(super) const TEXT_COLUMNS: &str = "p.name, b.name, \
    trim(coalesce(c.name, '') || ' ' || coalesce(parent.name, '')), p.description, \
    (SELECT group_concat(i.name, ', ') FROM \
       (SELECT name FROM ingredients WHERE product_id = p.id ORDER BY priority) i)";
/// The joins [`TEXT_COLUMNS`] needs.
pub(super) const TEXT_JOINS: &str = "products p \
    LEFT JOIN brands b ON b.id = p.brand_id \
    LEFT JOIN categories c ON c.id = p.category_id \
    LEFT JOIN categories parent ON parent.id = c.parent_id";

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
    sqlx::query("DELETE FROM products_fts WHERE rowid IN (SELECT value FROM json_each(?))")
        .bind(&list)
        .execute(&mut *tx)
        .await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO products_fts (rowid, name, brand, category, description, ingredients) \
         SELECT p.id, {TEXT_COLUMNS} FROM {TEXT_JOINS} \
         WHERE p.id IN (SELECT value FROM json_each(?))"
    )))
    .bind(&list)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str, common: &HashSet<String>) -> Option<String> {
        fts_query(text, common).map(|f| f.first)
    }

    #[test]
    fn queries_are_quoted_words() {
        let none = HashSet::new();
        assert_eq!(q("Gluten-free pasta!", &none).unwrap(), "\"gluten\" OR \"free\" OR \"pasta\"");
        assert_eq!(q("\"a\" NEAR(b) OR *", &none).unwrap(), "\"a\" OR \"near\" OR \"b\" OR \"or\"");
        assert_eq!(q("  --  ", &none), None);
        assert_eq!(q("Crème brûlée crème", &none).unwrap(), "\"crème\" OR \"brûlée\"");
        assert_eq!(fts_query("pasta", &none).unwrap().otherwise, None);
    }

    #[test]
    fn common_words_are_dropped_unless_nothing_else_is_left() {
        let common: HashSet<String> = ["de", "ble", "sugar"].map(String::from).into();
        assert_eq!(q("Farine de blé", &common).unwrap(), "\"farine\"");
        assert_eq!(q("sugar-free cola", &common).unwrap(), "\"free\" OR \"cola\"");
        assert_eq!(q("sugar", &common).unwrap(), "\"sugar\"");
        // Only common words: all of them first, any of them if no product has all.
        assert_eq!(
            fts_query("DE Sugar", &common).unwrap(),
            FtsQuery {
                first: "\"de\" AND \"sugar\"".into(),
                otherwise: Some("\"de\" OR \"sugar\"".into())
            }
        );
        // Stems: "farin" and "natur" stand for "farine" and "natural", not for longer words.
        let common: HashSet<String> = ["farin", "natur", "a"].map(String::from).into();
        assert_eq!(q("Farines natural bio", &common).unwrap(), "\"bio\"");
        assert_eq!(q("naturopathy almonds", &common).unwrap(), "\"naturopathy\" OR \"almonds\"");
    }
}

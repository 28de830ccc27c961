//! Search storage on PostgreSQL: [`search_index_impl!`] over the statements of
//! [`crate::sql::search`], with what PostgreSQL does its own way. The search documents (each
//! product's six searchable fields as text) are written by the background indexer from the
//! `search_dirty` queue — safe with many processes: each takes queued rows with `SKIP LOCKED`
//! and writes its batch under an advisory lock, so batches commit in sequence order — and read
//! in that order by every serving process's in-memory lexical index. Lists of ids are one
//! array parameter; the filters of the search service are written per set of filters
//! ([`filters_sql`], also used by the pgvector query); reads are retried when the connection
//! was lost.
//!
//! [`search_index_impl!`]: crate::sql::search::search_index_impl

use std::borrow::Cow;

use sqlx::PgConnection;

use super::{PgStore, begin_write, reading};
use crate::search::SearchFilters;

/// Key of the transaction-scoped advisory lock under which search documents are written
/// ("prodsrch"; the tombstone trigger of migration 0007 takes the same one).
const INDEX_LOCK: i64 = 0x7072_6f64_7372_6368;

/// The statements of the search documents: [`crate::sql::search`]'s and PostgreSQL's text of
/// the others.
mod sql {
    pub(super) use crate::sql::search::*;

    pub(super) const CLAIM_SEARCH_BATCH: &str = "DELETE FROM search_dirty WHERE product_id IN ( \
           SELECT product_id FROM search_dirty ORDER BY product_id LIMIT $1 \
           FOR UPDATE SKIP LOCKED) \
         RETURNING product_id";
    pub(super) const INDEX_DOCUMENTS: &str =
        index_documents!(lang: "p.metadata::jsonb ->> 'lang'", ids: "= ANY($1)");
    pub(super) const ADVISORY_XACT_LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
}

/// Takes [`INDEX_LOCK`]: batches are written one at a time, so the commit order is the
/// sequence order.
async fn index_lock(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(sql::ADVISORY_XACT_LOCK).bind(INDEX_LOCK).execute(tx).await?;
    Ok(())
}

/// A list of product ids as the one array parameter `= ANY($1)` takes.
fn id_array(ids: &[i64]) -> &[i64] {
    ids
}

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

/// The products passing the filters, at most `$1`, by id.
fn matching_sql(filters: &SearchFilters) -> Cow<'static, str> {
    Cow::Owned(format!(
        "SELECT p.gtin FROM products p WHERE {} ORDER BY p.id LIMIT $1",
        filters_sql(filters, 6)
    ))
}

crate::sql::search::search_index_impl! {
    store: PgStore,
    read: reading,
    begin: begin_write,
    order_writes: index_lock,
    id_list: id_array,
    matching_sql: matching_sql,
}

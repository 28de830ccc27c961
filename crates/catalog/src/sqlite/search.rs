//! Search storage on SQLite: [`search_index_impl!`] over the statements of
//! [`crate::sql::search`], with what SQLite does its own way. The search documents (each
//! product's six searchable fields as text) are written by the background indexer from the
//! `search_dirty` queue in `BEGIN IMMEDIATE` transactions, whose write lock orders the batches,
//! and read in write order by every serving process's in-memory lexical index. Lists of ids
//! are one JSON array parameter expanded with `json_each`; the filters of the search service
//! are one fixed statement.
//!
//! [`search_index_impl!`]: crate::sql::search::search_index_impl

use std::borrow::Cow;

use sqlx::SqliteConnection;

use super::read::read_once;
use super::{SqliteStore, begin_write};
use crate::search::SearchFilters;

/// The statements of the search documents: [`crate::sql::search`]'s and SQLite's text of the
/// others.
mod sql {
    pub(super) use crate::sql::search::*;

    pub(super) const CLAIM_SEARCH_BATCH: &str = "DELETE FROM search_dirty WHERE product_id IN ( \
           SELECT product_id FROM search_dirty ORDER BY product_id LIMIT $1) \
         RETURNING product_id";
    pub(super) const INDEX_DOCUMENTS: &str = index_documents!(
        lang: "p.metadata ->> 'lang'",
        ids: "IN (SELECT value FROM json_each($1))"
    );
    /// The products passing the filters of [`SearchFilters`](crate::search::SearchFilters),
    /// bound as `$2` brand key, `$3` category id (the product holds it, or one of its
    /// subcategories, anywhere in its path), `$4` country, `$5` metadata as a JSON object, `$6`
    /// label id (each NULL when unset), at most `$1`.
    pub(super) const MATCHING_PRODUCTS: &str = "SELECT p.gtin FROM products p \
         WHERE ($2 IS NULL OR p.brand_id = (SELECT id FROM brands WHERE name_key = $2)) \
         AND ($3 IS NULL OR p.id IN ( \
               SELECT pc.product_id FROM product_categories pc WHERE pc.category_id IN ( \
                 WITH RECURSIVE sub(id) AS ( \
                   SELECT $3 UNION SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id) \
                 SELECT id FROM sub))) \
         AND ($4 IS NULL OR p.country_of_origin = $4) \
         AND ($5 IS NULL OR NOT EXISTS ( \
               SELECT 1 FROM json_each($5) f WHERE (p.metadata ->> f.key) IS NOT f.value)) \
         AND ($6 IS NULL OR p.id IN (SELECT product_id FROM product_labels WHERE label_id = $6)) \
         LIMIT $1";
}

/// Nothing to do: the write lock of `BEGIN IMMEDIATE` already orders the batches.
async fn write_lock_orders(_tx: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    Ok(())
}

/// A list of product ids as the one JSON array parameter `json_each` expands.
fn id_list_json(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// One statement for every set of filters.
fn matching_sql(_filters: &SearchFilters) -> Cow<'static, str> {
    Cow::Borrowed(sql::MATCHING_PRODUCTS)
}

crate::sql::search::search_index_impl! {
    store: SqliteStore,
    read: read_once,
    begin: begin_write,
    order_writes: write_lock_orders,
    id_list: id_list_json,
    matching_sql: matching_sql,
}

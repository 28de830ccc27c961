//! The lexical search documents ([`SearchIndexDb`]), written once for both backends: the
//! statements that read the same on both, the searchable text of a product (shared with the
//! embeddings), and the macro [`search_index_impl!`] that generates each backend's
//! implementation from one body.
//!
//! The dialect is [`crate::sql::read`]'s. Each backend's `search.rs` has a module `sql` that
//! re-exports these and adds its own text of the statements it writes differently:
//! `CLAIM_SEARCH_BATCH` (PostgreSQL takes the queued rows `FOR UPDATE SKIP LOCKED`, so the
//! indexers of several processes never take the same ones), `INDEX_DOCUMENTS` (built by
//! [`index_documents!`] from the backend's test of a list of product ids and its reading of the
//! `lang` metadata key) and `MATCHING_PRODUCTS` on SQLite (PostgreSQL writes that statement per
//! set of filters, see `postgres::search::filters_sql`).
//!
//! [`SearchIndexDb`]: crate::store::SearchIndexDb

use crate::search::SearchFilters;

/// The searchable text of `products p` as six columns: name, brand, the category path
/// (general to specific), labels, description and ingredients in label order. The search
/// documents and the embeddings both read it, so both legs see the same product.
macro_rules! text_columns {
    () => {
        "p.name, b.name, \
         (SELECT string_agg(c.name, ', ' ORDER BY pc.position) FROM product_categories pc \
            JOIN categories c ON c.id = pc.category_id WHERE pc.product_id = p.id), \
         (SELECT string_agg(l.name, ', ' ORDER BY pl.position) FROM product_labels pl \
            JOIN labels l ON l.id = pl.label_id WHERE pl.product_id = p.id), \
         p.description, \
         (SELECT string_agg(i.name, ', ' ORDER BY i.priority) FROM ingredients i \
            WHERE i.product_id = p.id)"
    };
}
pub(crate) use text_columns;

/// The joins [`text_columns!`] needs.
macro_rules! text_joins {
    () => {
        "products p LEFT JOIN brands b ON b.id = p.brand_id"
    };
}
pub(crate) use text_joins;

/// Writes the search documents of the products whose ids are the list bound as `$1` at the
/// write sequence `$2`: `$lang` is the backend's expression of `p.metadata`'s `lang` key and
/// `$ids` its test of `p.id` against the list.
macro_rules! index_documents {
    (lang: $lang:literal, ids: $ids:literal) => {
        concat!(
            "WITH t(gtin, lang, name, brand, categories, labels, description, ingredients) AS ( \
               SELECT p.gtin, ",
            $lang,
            ", ",
            $crate::sql::search::text_columns!(),
            " FROM ",
            $crate::sql::search::text_joins!(),
            " WHERE p.id ",
            $ids,
            ") \
             INSERT INTO search_documents (gtin, seq, lang, name, brand, categories, labels, \
                 description, ingredients, deleted) \
             SELECT t.gtin, $2, t.lang, coalesce(t.name, ''), coalesce(t.brand, ''), \
                 coalesce(t.categories, ''), coalesce(t.labels, ''), coalesce(t.description, ''), \
                 coalesce(t.ingredients, ''), false \
             FROM t WHERE true \
             ON CONFLICT (gtin) DO UPDATE SET seq = excluded.seq, lang = excluded.lang, \
                 name = excluded.name, brand = excluded.brand, categories = excluded.categories, \
                 labels = excluded.labels, description = excluded.description, \
                 ingredients = excluded.ingredients, deleted = false"
        )
    };
}
pub(crate) use index_documents;

/// Whether anything is queued (a read first, so an idle indexer takes no lock).
pub(crate) const SEARCH_QUEUED: &str = "SELECT product_id FROM search_dirty LIMIT 1";
/// The next batch's write sequence: after every one before it, whichever process wrote them
/// (the backend orders the batches' writes).
pub(crate) const NEXT_SEARCH_SEQ: &str = "SELECT coalesce(max(seq), 0) + 1 FROM search_documents";
pub(crate) const SEARCH_BACKLOG: &str = "SELECT count(*) FROM search_dirty";
pub(crate) const SEARCH_DOCUMENTS: &str = "SELECT gtin, seq, lang, name, brand, categories, \
            labels, description, ingredients, deleted \
     FROM search_documents WHERE (seq, gtin) > ($1, $2) ORDER BY seq, gtin LIMIT $3";
pub(crate) const SEARCH_DOCUMENT_COUNT: &str =
    "SELECT count(*) FROM search_documents WHERE NOT deleted";

/// The metadata filter as the JSON object both backends' statements read (`None`: no filter).
pub(crate) fn metadata_json(filters: &SearchFilters) -> Option<String> {
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

/// Generates a backend's `#[async_trait] impl SearchIndexDb for $store` from one body.
///
/// Input: only what differs between the backends:
/// - `store`: the store type, a struct with a `pool` field;
/// - `read`: how a read is run, as for [`product_reads_impl!`](crate::sql::read::product_reads_impl)
///   (used by `search_documents`, `search_document_count` and `matching_products`);
/// - `begin`: an `async fn(&Pool) -> Result<Transaction<'static, DB>, sqlx::Error>` that opens
///   the indexer's write transaction (SQLite: `BEGIN IMMEDIATE`, whose write lock orders the
///   batches; PostgreSQL: `BEGIN`);
/// - `order_writes`: an `async fn(&mut Connection) -> Result<(), sqlx::Error>` run in that
///   transaction after the batch is claimed and before its sequence is read, so batches commit
///   in sequence order (PostgreSQL: an advisory lock; SQLite: nothing, the write lock does it);
/// - `id_list`: `fn(&[i64]) -> T`, the one parameter a list of product ids is bound as;
/// - `matching_sql`: `fn(&SearchFilters) -> Cow<'static, str>`, the statement of
///   `matching_products`, bound as `$1` limit, `$2` brand key, `$3` category id, `$4` country,
///   `$5` metadata ([`metadata_json`]) and `$6` label id.
///
/// The invoking module must have a module `sql` holding every statement the body names: this
/// module's (re-exported) and the backend's own `CLAIM_SEARCH_BATCH` (deletes up to `$1`
/// queued rows, lowest product id first, returning their `product_id`) and `INDEX_DOCUMENTS`
/// (see the module documentation).
///
/// Output: a private module `search_index` of the invoking module (it sees the invoking
/// module's items through `use super::*`) holding the `impl SearchIndexDb for $store`.
/// `index_search` claims a batch, orders it, then writes its documents, in one transaction.
macro_rules! search_index_impl {
    (
        store: $store:ty,
        read: $read:path,
        begin: $begin:path,
        order_writes: $order_writes:path,
        id_list: $id_list:path,
        matching_sql: $matching_sql:path $(,)?
    ) => {
        mod search_index {
            use super::*;

            use gs1::Gtin14;
            use sqlx::{AssertSqlSafe, Row as _};

            use $crate::search::SearchFilters;
            use $crate::sql::search::metadata_json;
            use $crate::store::{
                SearchCursor, SearchDocument, SearchDocumentPage, SearchIndexDb, StoreError,
                stored_gtin,
            };

            #[async_trait::async_trait]
            impl SearchIndexDb for $store {
                async fn index_search(&self, max_products: usize) -> Result<usize, StoreError> {
                    let queued: Option<i64> =
                        sqlx::query_scalar(sql::SEARCH_QUEUED).fetch_optional(&self.pool).await?;
                    if queued.is_none() {
                        return Ok(0);
                    }
                    let mut tx = $begin(&self.pool).await?;
                    // The queued rows are taken before the products are read: a write
                    // committed after this statement queues its product again, so it is
                    // never lost.
                    let ids: Vec<i64> = sqlx::query_scalar(sql::CLAIM_SEARCH_BATCH)
                        .bind(i64::try_from(max_products).unwrap_or(i64::MAX))
                        .fetch_all(&mut *tx)
                        .await?;
                    if ids.is_empty() {
                        return Ok(0);
                    }
                    $order_writes(&mut *tx).await?;
                    let seq: i64 =
                        sqlx::query_scalar(sql::NEXT_SEARCH_SEQ).fetch_one(&mut *tx).await?;
                    sqlx::query(sql::INDEX_DOCUMENTS)
                        .bind($id_list(&ids))
                        .bind(seq)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(ids.len())
                }

                async fn search_documents(
                    &self,
                    after: &SearchCursor,
                    limit: usize,
                ) -> Result<SearchDocumentPage, StoreError> {
                    let rows = $read("search documents", || {
                        sqlx::query(sql::SEARCH_DOCUMENTS)
                            .bind(after.0)
                            .bind(after.1.as_str())
                            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                            .fetch_all(&self.pool)
                    })
                    .await?;
                    let mut docs = Vec::with_capacity(rows.len());
                    let mut last = None;
                    for r in &rows {
                        let gtin: String = r.try_get("gtin")?;
                        let seq: i64 = r.try_get("seq")?;
                        docs.push(SearchDocument {
                            gtin: stored_gtin(&gtin)?,
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

                async fn search_document_count(&self) -> Result<u64, StoreError> {
                    let n: i64 = $read("search documents", || {
                        sqlx::query_scalar(sql::SEARCH_DOCUMENT_COUNT).fetch_one(&self.pool)
                    })
                    .await?;
                    Ok(u64::try_from(n).unwrap_or(0))
                }

                async fn search_backlog(&self) -> Result<u64, StoreError> {
                    let n: i64 =
                        sqlx::query_scalar(sql::SEARCH_BACKLOG).fetch_one(&self.pool).await?;
                    Ok(u64::try_from(n).unwrap_or(0))
                }

                async fn matching_products(
                    &self,
                    filters: &SearchFilters,
                    limit: usize,
                ) -> Result<Vec<Gtin14>, StoreError> {
                    let statement = $matching_sql(filters);
                    let rows: Vec<String> = $read("filter", || {
                        sqlx::query_scalar(AssertSqlSafe(statement.clone()))
                            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                            .bind(filters.brand.as_deref())
                            .bind(filters.category_id.as_deref())
                            .bind(filters.country_of_origin.as_deref())
                            .bind(metadata_json(filters))
                            .bind(filters.label.as_deref())
                            .fetch_all(&self.pool)
                    })
                    .await?;
                    rows.iter().map(|g| stored_gtin(g)).collect()
                }
            }
        }
    };
}
pub(crate) use search_index_impl;

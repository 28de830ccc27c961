//! Product embeddings ([`EmbeddingsDb`]), written once for both backends: the statements of the
//! `embed_dirty` queue and the `product_embeddings` table that read the same on both, and the
//! macro [`embeddings_impl!`] that generates each backend's implementation from one body.
//!
//! The dialect is [`crate::sql::read`]'s. Saving a batch is each backend's own (SQLite writes
//! row by row in its write transaction; PostgreSQL writes the batch with `unnest` under an
//! advisory lock, with pgvector's copy of each vector when it ranks them), and so are
//! PostgreSQL's pgvector methods (`postgres/vector.rs`).
//!
//! [`EmbeddingsDb`]: crate::store::EmbeddingsDb

/// Queues for embedding by `$1` every product without an embedding by that model.
pub(crate) const REQUEUE_EMBEDDINGS: &str = "INSERT INTO embed_dirty (product_id) \
     SELECT p.id FROM products p \
     WHERE NOT EXISTS (SELECT 1 FROM product_embeddings e \
                       WHERE e.product_id = p.id AND e.model = $1) \
     ON CONFLICT DO NOTHING";
/// Up to `$2` queued products, oldest first: GTIN, the six columns of
/// [`text_columns!`](crate::sql::search::text_columns), the hash of the text of the stored
/// embedding by `$1`, and the queue entry's version.
pub(crate) const EMBED_JOBS: &str = concat!(
    "SELECT p.gtin, ",
    crate::sql::search::text_columns!(),
    ", (SELECT e.text_hash FROM product_embeddings e \
        WHERE e.product_id = p.id AND e.model = $1) AS stored, d.version \
     FROM ",
    crate::sql::search::text_joins!(),
    " JOIN embed_dirty d ON d.product_id = p.id \
     ORDER BY d.product_id LIMIT $2"
);
/// The next batch's write sequence for model `$1`.
pub(crate) const NEXT_EMBEDDING_SEQ: &str =
    "SELECT coalesce(max(seq), 0) + 1 FROM product_embeddings WHERE model = $1";
pub(crate) const EMBEDDINGS_PAGE: &str = "SELECT e.product_id, p.gtin, e.vector, e.seq \
     FROM product_embeddings e JOIN products p ON p.id = e.product_id \
     WHERE e.model = $1 AND (e.seq, e.product_id) > ($2, $3) \
     ORDER BY e.seq, e.product_id LIMIT $4";
pub(crate) const EMBED_BACKLOG: &str = "SELECT count(*) FROM embed_dirty";
pub(crate) const EMBEDDING_COUNT: &str = "SELECT count(*) FROM product_embeddings WHERE model = $1";

/// Generates a backend's `#[async_trait] impl EmbeddingsDb for $store` from one body.
///
/// Input: only what differs between the backends:
/// - `store`: the store type, a struct with a `pool` field;
/// - `save`: `async fn(&$store, model: &str, &[EmbeddingWrite]) -> Result<(), StoreError>`,
///   the backend's [`EmbeddingsDb::save_embeddings`](crate::store::EmbeddingsDb::save_embeddings)
///   (one transaction; the batch takes the write sequence [`NEXT_EMBEDDING_SEQ`]);
/// - optionally `more: { … }`: further methods of the trait, pasted into the `impl` (PostgreSQL's
///   pgvector methods; without them the trait's defaults rank vectors in memory).
///
/// Output: a private module `embeddings_db` of the invoking module (it sees the invoking
/// module's items through `use super::*`, which the `more` methods use too) holding the
/// `impl EmbeddingsDb for $store`. Every other statement is a constant of this module; the
/// reads run once (a lost connection fails them, as it fails the writes they go with).
macro_rules! embeddings_impl {
    (
        store: $store:ty,
        save: $save:path
        $(, more: { $($more:tt)* })? $(,)?
    ) => {
        mod embeddings_db {
            use super::*;

            use sqlx::Row as _;

            use $crate::sql::embeddings as sql;
            use $crate::store::{
                EmbedJob, EmbeddingCursor, EmbeddingPage, EmbeddingWrite, EmbeddingsDb,
                StoreError, embedding_text, stored_gtin, vector_from,
            };

            #[async_trait::async_trait]
            impl EmbeddingsDb for $store {
                async fn requeue_embeddings(&self, model: &str) -> Result<u64, StoreError> {
                    let done = sqlx::query(sql::REQUEUE_EMBEDDINGS)
                        .bind(model)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                }

                async fn embed_jobs(
                    &self,
                    model: &str,
                    max: usize,
                ) -> Result<Vec<EmbedJob>, StoreError> {
                    let rows = sqlx::query(sql::EMBED_JOBS)
                        .bind(model)
                        .bind(i64::try_from(max).unwrap_or(i64::MAX))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|r| {
                            let field = |i: usize| -> Result<String, StoreError> {
                                Ok(r.try_get::<Option<String>, _>(i)?
                                    .unwrap_or_default()
                                    .trim()
                                    .to_owned())
                            };
                            let fields =
                                [field(1)?, field(2)?, field(3)?, field(4)?, field(5)?, field(6)?];
                            Ok(EmbedJob {
                                gtin: stored_gtin(&r.try_get::<String, _>(0)?)?,
                                text: embedding_text(&fields),
                                stored_hash: r.try_get("stored")?,
                                queued: r.try_get("version")?,
                            })
                        })
                        .collect()
                }

                async fn save_embeddings(
                    &self,
                    model: &str,
                    batch: &[EmbeddingWrite],
                ) -> Result<(), StoreError> {
                    $save(self, model, batch).await
                }

                async fn embeddings_page(
                    &self,
                    model: &str,
                    after: EmbeddingCursor,
                    limit: usize,
                ) -> Result<EmbeddingPage, StoreError> {
                    let rows = sqlx::query(sql::EMBEDDINGS_PAGE)
                        .bind(model)
                        .bind(after.0)
                        .bind(after.1)
                        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                        .fetch_all(&self.pool)
                        .await?;
                    let next = rows
                        .last()
                        .map(|r| {
                            Ok::<_, StoreError>((r.try_get::<i64, _>(3)?, r.try_get::<i64, _>(0)?))
                        })
                        .transpose()?;
                    let items = rows
                        .iter()
                        .map(|r| {
                            Ok((
                                stored_gtin(&r.try_get::<String, _>(1)?)?,
                                vector_from(&r.try_get::<Vec<u8>, _>(2)?)?,
                            ))
                        })
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    Ok((items, next))
                }

                async fn embed_backlog(&self) -> Result<u64, StoreError> {
                    let n: i64 =
                        sqlx::query_scalar(sql::EMBED_BACKLOG).fetch_one(&self.pool).await?;
                    Ok(u64::try_from(n).unwrap_or(0))
                }

                async fn embedding_count(&self, model: &str) -> Result<u64, StoreError> {
                    let n: i64 = sqlx::query_scalar(sql::EMBEDDING_COUNT)
                        .bind(model)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(u64::try_from(n).unwrap_or(0))
                }

                $($($more)*)?
            }
        }
    };
}
pub(crate) use embeddings_impl;

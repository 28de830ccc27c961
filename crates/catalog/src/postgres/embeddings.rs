//! Product embeddings on PostgreSQL: [`embeddings_impl!`] over the statements of
//! [`crate::sql::embeddings`] (the `embed_dirty` queue the background embedder drains, the
//! `product_embeddings` table it fills, and paged reads in write order), with PostgreSQL's own
//! way of saving a batch (one `unnest` statement under an advisory lock, writing pgvector's
//! copy of each vector too when it ranks them) and the pgvector methods of
//! [`vector`](super::vector). Without pgvector each process ranks the vectors in memory, as on
//! SQLite.
//!
//! [`embeddings_impl!`]: crate::sql::embeddings::embeddings_impl

use std::sync::atomic::Ordering;

use sqlx::AssertSqlSafe;

use super::{PgStore, begin_write, reading, vector};
use crate::sql::embeddings::NEXT_EMBEDDING_SEQ;
use crate::store::{EmbeddingWrite, StoreError, vector_bytes};

/// Key of the transaction-scoped advisory lock that orders embedding writes ("prodlink embed").
const SAVE_LOCK: i64 = 0x7072_6f64_656d_6264;

/// Dequeues the products `$1` whose queue entry is still at version `$2` (no write re-queued
/// them since).
const DEQUEUE: &str = "DELETE FROM embed_dirty d \
     USING unnest($1::text[], $2::bigint[]) AS w(gtin, version), products p \
     WHERE p.gtin = w.gtin AND d.product_id = p.id AND d.version = w.version";

/// Stores a batch of embeddings and dequeues its products, in one transaction.
async fn save(store: &PgStore, model: &str, batch: &[EmbeddingWrite]) -> Result<(), StoreError> {
    let indexed_dims = store.vector_index_dims();
    let mut tx = begin_write(&store.pool).await?;
    // Batches are written one at a time, so the commit order is the sequence order and a
    // process reading "everything after sequence N" never misses a batch committed late.
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SAVE_LOCK).execute(&mut *tx).await?;
    let seq: i64 = sqlx::query_scalar(NEXT_EMBEDDING_SEQ).bind(model).fetch_one(&mut *tx).await?;
    let mut gtins = Vec::with_capacity(batch.len());
    let mut hashes = Vec::with_capacity(batch.len());
    let mut raw = Vec::with_capacity(batch.len());
    // pgvector's copy of each vector (NULL for a length the index does not take).
    let mut texts: Vec<Option<String>> = Vec::with_capacity(batch.len());
    for w in batch {
        if let Some(v) = &w.vector {
            gtins.push(w.gtin.as_str());
            hashes.push(w.text_hash.clone());
            raw.push(vector_bytes(v));
            texts.push((indexed_dims == Some(v.len())).then(|| vector::vector_text(v)));
        }
    }
    if !gtins.is_empty() {
        let (column, value, update) = match indexed_dims {
            Some(d) => (
                ", embedding",
                format!(", w.embedding::vector({d})"),
                ", embedding = excluded.embedding",
            ),
            None => ("", String::new(), ""),
        };
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO product_embeddings (product_id, model, text_hash, vector, seq{column}) \
             SELECT p.id, $2, w.text_hash, w.vector, $3{value} \
             FROM unnest($1::text[], $4::bytea[], $5::bytea[], $6::text[]) \
               AS w(gtin, text_hash, vector, embedding) \
             JOIN products p ON p.gtin = w.gtin \
             ON CONFLICT (product_id) DO UPDATE SET model = excluded.model, \
               text_hash = excluded.text_hash, vector = excluded.vector, seq = excluded.seq{update}"
        )))
        .bind(&gtins)
        .bind(model)
        .bind(seq)
        .bind(&hashes)
        .bind(&raw)
        .bind(&texts)
        .execute(&mut *tx)
        .await?;
    }
    let all: Vec<&str> = batch.iter().map(|w| w.gtin.as_str()).collect();
    let versions: Vec<i64> = batch.iter().map(|w| w.queued).collect();
    sqlx::query(DEQUEUE).bind(&all).bind(&versions).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

crate::sql::embeddings::embeddings_impl! {
    store: PgStore,
    save: save,
    more: {
        fn has_vector_index(&self, dims: usize) -> bool {
            self.vector_index_dims() == Some(dims)
        }

        async fn prepare_vector_index(&self, dims: usize) -> Result<bool, StoreError> {
            if !self.vector_index {
                return Ok(false);
            }
            let ready = vector::ensure(&self.pool, dims).await?;
            self.vector_dims.store(ready.unwrap_or(0), Ordering::Release);
            Ok(ready.is_some())
        }

        async fn nearest(
            &self,
            model: &str,
            query: &[f32],
            filters: &crate::search::SearchFilters,
            within: Option<&[gs1::Gtin14]>,
            k: usize,
        ) -> Result<Option<Vec<crate::search::LexicalHit>>, StoreError> {
            if !self.has_vector_index(query.len()) {
                return Ok(None);
            }
            let hits = reading("nearest", || {
                vector::nearest(&self.pool, model, query, filters, within, k)
            })
            .await?;
            Ok(Some(hits))
        }

        async fn similarities(
            &self,
            model: &str,
            query: &[f32],
            gtins: &[gs1::Gtin14],
        ) -> Result<Option<Vec<(gs1::Gtin14, f64)>>, StoreError> {
            if !self.has_vector_index(query.len()) {
                return Ok(None);
            }
            let found =
                reading("similarities", || vector::similarities(&self.pool, model, query, gtins))
                    .await?;
            Ok(Some(found))
        }
    },
}

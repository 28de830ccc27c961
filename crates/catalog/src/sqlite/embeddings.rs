//! Product embeddings on SQLite: [`embeddings_impl!`] over the statements of
//! [`crate::sql::embeddings`] (the `embed_dirty` queue the background embedder drains, the
//! `product_embeddings` table it fills, and paged reads that load the vectors at start), with
//! SQLite's own way of saving a batch: row by row in one `BEGIN IMMEDIATE` transaction.
//!
//! [`embeddings_impl!`]: crate::sql::embeddings::embeddings_impl

use super::{SqliteStore, begin_write};
use crate::sql::embeddings::NEXT_EMBEDDING_SEQ;
use crate::store::{EmbeddingWrite, StoreError, vector_bytes};

/// Stores (or replaces) the embedding `$4` of product `$1` by model `$2`, of text hash `$3`, at
/// write sequence `$5`.
const SAVE_EMBEDDING: &str = "INSERT OR REPLACE INTO product_embeddings \
       (product_id, model, text_hash, vector, seq) \
     SELECT id, $2, $3, $4, $5 FROM products WHERE gtin = $1";
/// Dequeues product `$1` unless a write re-queued it since (its version is no longer `$2`).
const DEQUEUE: &str = "DELETE FROM embed_dirty \
     WHERE product_id = (SELECT id FROM products WHERE gtin = $1) AND version = $2";

/// Stores a batch of embeddings and dequeues its products, in one write transaction (whose
/// write lock orders the batches' sequences).
async fn save(
    store: &SqliteStore,
    model: &str,
    batch: &[EmbeddingWrite],
) -> Result<(), StoreError> {
    let mut tx = begin_write(&store.pool).await?;
    let seq: i64 = sqlx::query_scalar(NEXT_EMBEDDING_SEQ).bind(model).fetch_one(&mut *tx).await?;
    for w in batch {
        if let Some(v) = &w.vector {
            sqlx::query(SAVE_EMBEDDING)
                .bind(w.gtin.as_str())
                .bind(model)
                .bind(&w.text_hash)
                .bind(vector_bytes(v))
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(DEQUEUE).bind(w.gtin.as_str()).bind(w.queued).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

crate::sql::embeddings::embeddings_impl! {
    store: SqliteStore,
    save: save,
}

#[cfg(test)]
mod tests {
    use crate::store::{embedding_text, vector_bytes, vector_from};

    #[test]
    fn vectors_round_trip_and_text_skips_blanks() {
        let v = vec![0.25f32, -1.5, 3.0e-7];
        assert_eq!(vector_from(&vector_bytes(&v)).unwrap(), v);
        assert!(vector_from(&[0, 1, 2]).is_err());
        let t = embedding_text(&[
            "Spaghetti".into(),
            String::new(),
            "Pastas".into(),
            String::new(),
            "Italian".into(),
            "durum wheat".into(),
        ]);
        assert_eq!(t, "Spaghetti. Pastas. Italian", "no ingredients");
    }
}

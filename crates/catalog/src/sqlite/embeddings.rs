//! Product embeddings on SQLite: the `embed_dirty` queue the background embedder drains, the
//! `product_embeddings` table it fills, and paged reads that load the vectors at start.

use sqlx::{AssertSqlSafe, Row, SqlitePool};

use super::read::parse_gtin;
use super::search::{TEXT_COLUMNS, TEXT_JOINS};
use super::*;
use crate::store::{
    EmbedJob, EmbeddingCursor, EmbeddingPage, EmbeddingWrite, StoreError, embedding_text,
    vector_bytes, vector_from,
};

pub(super) async fn requeue(pool: &SqlitePool, model: &str) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "INSERT OR IGNORE INTO embed_dirty (product_id) SELECT p.id FROM products p \
         WHERE NOT EXISTS (SELECT 1 FROM product_embeddings e \
                           WHERE e.product_id = p.id AND e.model = ?)",
    )
    .bind(model)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn jobs(
    pool: &SqlitePool,
    model: &str,
    max: usize,
) -> Result<Vec<EmbedJob>, StoreError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT p.gtin, {TEXT_COLUMNS}, \
                (SELECT e.text_hash FROM product_embeddings e \
                 WHERE e.product_id = p.id AND e.model = ?1) AS stored, d.version \
         FROM {TEXT_JOINS} JOIN embed_dirty d ON d.product_id = p.id \
         ORDER BY d.product_id LIMIT ?2"
    )))
    .bind(model)
    .bind(i64::try_from(max).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let field = |i: usize| -> Result<String, StoreError> {
                Ok(r.try_get::<Option<String>, _>(i)?.unwrap_or_default().trim().to_owned())
            };
            let fields = [field(1)?, field(2)?, field(3)?, field(4)?, field(5)?, field(6)?];
            Ok(EmbedJob {
                gtin: parse_gtin(&r.try_get::<String, _>(0)?)?,
                text: embedding_text(&fields),
                stored_hash: r.try_get("stored")?,
                queued: r.try_get("version")?,
            })
        })
        .collect()
}

pub(super) async fn save(
    pool: &SqlitePool,
    model: &str,
    batch: &[EmbeddingWrite],
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    // The batch's write sequence: after every one before it, whichever process wrote them.
    let seq: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(seq), 0) + 1 FROM product_embeddings WHERE model = ?",
    )
    .bind(model)
    .fetch_one(&mut *tx)
    .await?;
    for w in batch {
        if let Some(v) = &w.vector {
            sqlx::query(
                "INSERT OR REPLACE INTO product_embeddings \
                   (product_id, model, text_hash, vector, seq) \
                 SELECT id, ?2, ?3, ?4, ?5 FROM products WHERE gtin = ?1",
            )
            .bind(w.gtin.as_str())
            .bind(model)
            .bind(&w.text_hash)
            .bind(vector_bytes(v))
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "DELETE FROM embed_dirty \
             WHERE product_id = (SELECT id FROM products WHERE gtin = ?) AND version = ?",
        )
        .bind(w.gtin.as_str())
        .bind(w.queued)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn page(
    pool: &SqlitePool,
    model: &str,
    after: EmbeddingCursor,
    limit: usize,
) -> Result<EmbeddingPage, StoreError> {
    let rows = sqlx::query(
        "SELECT e.product_id, p.gtin, e.vector, e.seq FROM product_embeddings e \
         JOIN products p ON p.id = e.product_id \
         WHERE e.model = ?1 AND (e.seq > ?2 OR (e.seq = ?2 AND e.product_id > ?3)) \
         ORDER BY e.seq, e.product_id LIMIT ?4",
    )
    .bind(model)
    .bind(after.0)
    .bind(after.1)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    let next = rows
        .last()
        .map(|r| Ok::<_, StoreError>((r.try_get::<i64, _>(3)?, r.try_get::<i64, _>(0)?)))
        .transpose()?;
    let items = rows
        .iter()
        .map(|r| {
            Ok((
                parse_gtin(&r.try_get::<String, _>(1)?)?,
                vector_from(&r.try_get::<Vec<u8>, _>(2)?)?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((items, next))
}

pub(super) async fn backlog(pool: &SqlitePool) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM embed_dirty").fetch_one(pool).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[async_trait::async_trait]
impl crate::store::EmbeddingsDb for SqliteStore {
    async fn requeue_embeddings(&self, model: &str) -> Result<u64, StoreError> {
        requeue(&self.pool, model).await
    }

    async fn embed_jobs(
        &self,
        model: &str,
        max: usize,
    ) -> Result<Vec<crate::store::EmbedJob>, StoreError> {
        jobs(&self.pool, model, max).await
    }

    async fn save_embeddings(
        &self,
        model: &str,
        batch: &[crate::store::EmbeddingWrite],
    ) -> Result<(), StoreError> {
        save(&self.pool, model, batch).await
    }

    async fn embeddings_page(
        &self,
        model: &str,
        after: crate::store::EmbeddingCursor,
        limit: usize,
    ) -> Result<crate::store::EmbeddingPage, StoreError> {
        page(&self.pool, model, after, limit).await
    }

    async fn embed_backlog(&self) -> Result<u64, StoreError> {
        backlog(&self.pool).await
    }

    async fn embedding_count(&self, model: &str) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM product_embeddings WHERE model = ?")
            .bind(model)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! Product embeddings on PostgreSQL: the `embed_dirty` queue the background embedder drains, the
//! `product_embeddings` table it fills, and paged reads in write order (each process ranks the
//! vectors in memory, as on SQLite).

use sqlx::{AssertSqlSafe, PgPool, Row};

use super::search::{TEXT_COLUMNS, TEXT_JOINS, parse_gtin};
use super::*;
use crate::store::{
    EmbedJob, EmbeddingCursor, EmbeddingPage, EmbeddingWrite, StoreError, embedding_text,
    vector_bytes, vector_from,
};

/// Key of the transaction-scoped advisory lock that orders embedding writes ("prodlink embed").
const SAVE_LOCK: i64 = 0x7072_6f64_656d_6264;

pub(super) async fn requeue(pool: &PgPool, model: &str) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "INSERT INTO embed_dirty (product_id) SELECT p.id FROM products p \
         WHERE NOT EXISTS (SELECT 1 FROM product_embeddings e \
                           WHERE e.product_id = p.id AND e.model = $1) \
         ON CONFLICT DO NOTHING",
    )
    .bind(model)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn jobs(
    pool: &PgPool,
    model: &str,
    max: usize,
) -> Result<Vec<EmbedJob>, StoreError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT p.gtin, {TEXT_COLUMNS}, \
                (SELECT e.text_hash FROM product_embeddings e \
                 WHERE e.product_id = p.id AND e.model = $1) AS stored, d.version \
         FROM {TEXT_JOINS} JOIN embed_dirty d ON d.product_id = p.id \
         ORDER BY d.product_id LIMIT $2"
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
    pool: &PgPool,
    model: &str,
    batch: &[EmbeddingWrite],
    indexed_dims: Option<usize>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    // Batches are written one at a time, so the commit order is the sequence order and a
    // process reading "everything after sequence N" never misses a batch committed late.
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SAVE_LOCK).execute(&mut *tx).await?;
    let seq: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(seq), 0) + 1 FROM product_embeddings WHERE model = $1",
    )
    .bind(model)
    .fetch_one(&mut *tx)
    .await?;
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
            texts.push((indexed_dims == Some(v.len())).then(|| super::vector::vector_text(v)));
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
    sqlx::query(
        "DELETE FROM embed_dirty d USING unnest($1::text[], $2::bigint[]) AS w(gtin, version), \
           products p \
         WHERE p.gtin = w.gtin AND d.product_id = p.id AND d.version = w.version",
    )
    .bind(&all)
    .bind(&versions)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn page(
    pool: &PgPool,
    model: &str,
    after: EmbeddingCursor,
    limit: usize,
) -> Result<EmbeddingPage, StoreError> {
    let rows = sqlx::query(
        "SELECT e.product_id, p.gtin, e.vector, e.seq FROM product_embeddings e \
         JOIN products p ON p.id = e.product_id \
         WHERE e.model = $1 AND (e.seq, e.product_id) > ($2, $3) \
         ORDER BY e.seq, e.product_id LIMIT $4",
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

pub(super) async fn backlog(pool: &PgPool) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM embed_dirty").fetch_one(pool).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn count(pool: &PgPool, model: &str) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM product_embeddings WHERE model = $1")
        .bind(model)
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[async_trait::async_trait]
impl crate::store::EmbeddingsDb for PgStore {
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
        save(&self.pool, model, batch, self.vector_index_dims()).await
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
        let hits =
            reading("nearest", || vector::nearest(&self.pool, model, query, filters, within, k))
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

    async fn embedding_count(&self, model: &str) -> Result<u64, StoreError> {
        count(&self.pool, model).await
    }
}

//! The semantic leg inside PostgreSQL when the server has pgvector: the `embedding vector(N)`
//! column (N: the served model's vector length) and its HNSW (cosine) index on
//! `product_embeddings`, set up when a process first loads its model (and later, should the
//! extension be installed after the first start, or the model change length), the backfill of
//! vectors stored before the column existed, and the filtered nearest-neighbour query. Without
//! pgvector none of this exists and each process ranks the stored vectors in memory, as on
//! SQLite.

use gs1::Gtin14;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};

use super::search::filters_sql;
use crate::search::{LexicalHit, SearchFilters};
use crate::sql::search::metadata_json;
use crate::store::{StoreError, stored_gtin as parse_gtin};

/// Candidates the HNSW graph walk keeps (`hnsw.ef_search`): at least the largest candidate
/// pool a search asks for (300), so a walk can return all of them.
pub(super) const EF_SEARCH: &str = "300";

/// The longest vector pgvector's HNSW index accepts (`vector` type, 2,000 dimensions); a
/// longer model's vectors are ranked in memory.
const MAX_INDEXED_DIMS: usize = 2_000;

/// Key of the transaction-scoped advisory lock under which processes set up the column and
/// index ("prodlink vector").
const SETUP_LOCK: i64 = 0x7072_6f64_7665_6374;

/// Rows converted per statement by [`backfill`].
const BACKFILL_PAGE: i64 = 1_000;

/// The text form pgvector parses (`[x,y,…]`); `f32`'s `Display` round-trips exactly.
pub(super) fn vector_text(v: &[f32]) -> String {
    let mut out = String::with_capacity(v.len() * 12 + 2);
    out.push('[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&x.to_string());
    }
    out.push(']');
    out
}

/// The indexed vector length when the column exists, `None` otherwise.
pub(crate) async fn detect(pool: &PgPool) -> Result<Option<usize>, StoreError> {
    let typmod: Option<i32> = sqlx::query_scalar(
        "SELECT a.atttypmod FROM pg_attribute a \
         JOIN pg_type t ON t.oid = a.atttypid AND t.typname = 'vector' \
         WHERE a.attrelid = to_regclass('product_embeddings') \
           AND a.attname = 'embedding' AND NOT a.attisdropped",
    )
    .fetch_optional(pool)
    .await?;
    Ok(typmod.and_then(|m| usize::try_from(m).ok()).filter(|d| *d > 0))
}

/// Creates the extension (when the server has it and the user may), the `vector(dims)` column
/// and the HNSW index, then converts vectors stored before the column existed. A column of
/// another length (a model change) is replaced: its vectors belong to the old model, whose
/// stored bytes stay. Returns `dims`, or `None` when pgvector is not available (the reason is
/// logged).
pub(super) async fn ensure(pool: &PgPool, dims: usize) -> Result<Option<usize>, StoreError> {
    if dims == 0 || dims > MAX_INDEXED_DIMS {
        return Ok(None);
    }
    if detect(pool).await? == Some(dims) {
        backfill(pool, dims).await?;
        return Ok(Some(dims));
    }
    let available: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')",
    )
    .fetch_one(pool)
    .await?;
    if !available {
        tracing::info!(
            "the PostgreSQL server has no pgvector extension; semantic search ranks stored \
             vectors in each process's memory"
        );
        return Ok(None);
    }
    let installed: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')")
            .fetch_one(pool)
            .await?;
    if !installed
        && let Err(e) = sqlx::query("CREATE EXTENSION IF NOT EXISTS vector").execute(pool).await
    {
        tracing::warn!(
            error = %e,
            "could not create the pgvector extension (run `CREATE EXTENSION vector` as a \
             superuser, then restart); semantic search ranks vectors in memory meanwhile"
        );
        return Ok(None);
    }
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SETUP_LOCK).execute(&mut *tx).await?;
    // Another process may have set the column up while this one waited for the lock.
    let current: Option<i32> = sqlx::query_scalar(
        "SELECT a.atttypmod FROM pg_attribute a \
         WHERE a.attrelid = 'product_embeddings'::regclass \
           AND a.attname = 'embedding' AND NOT a.attisdropped",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let current = current.and_then(|m| usize::try_from(m).ok());
    if current.is_some_and(|c| c != dims) {
        tracing::info!(
            from = current,
            to = dims,
            "the model's vector length changed; rebuilding the pgvector column and index"
        );
        sqlx::query("DROP INDEX IF EXISTS product_embeddings_hnsw").execute(&mut *tx).await?;
        sqlx::query("ALTER TABLE product_embeddings DROP COLUMN embedding")
            .execute(&mut *tx)
            .await?;
    }
    if current != Some(dims) {
        sqlx::query(AssertSqlSafe(format!(
            "ALTER TABLE product_embeddings ADD COLUMN embedding vector({dims})"
        )))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "CREATE INDEX IF NOT EXISTS product_embeddings_hnsw ON product_embeddings \
         USING hnsw (embedding vector_cosine_ops)",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    backfill(pool, dims).await?;
    tracing::info!(dims, "semantic search ranks in PostgreSQL (pgvector HNSW)");
    Ok(Some(dims))
}

/// Fills `embedding` from the stored little-endian bytes wherever it is missing and the vector
/// has the indexed length (rows written before the column existed, or copied by
/// `prodlink migrate`).
pub(super) async fn backfill(pool: &PgPool, dims: usize) -> Result<u64, StoreError> {
    let mut conn = pool.acquire().await?;
    backfill_on(&mut conn, dims).await
}

/// [`backfill`] on one connection (inside the caller's transaction, if any).
pub(crate) async fn backfill_on(conn: &mut PgConnection, dims: usize) -> Result<u64, StoreError> {
    let bytes = i32::try_from(dims * 4).unwrap_or(i32::MAX);
    let mut done = 0u64;
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(
            "SELECT product_id, vector FROM product_embeddings \
             WHERE embedding IS NULL AND length(vector) = $1 AND product_id > $2 \
             ORDER BY product_id LIMIT $3",
        )
        .bind(bytes)
        .bind(after)
        .bind(BACKFILL_PAGE)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(done);
        };
        after = last.try_get(0)?;
        let mut ids = Vec::with_capacity(rows.len());
        let mut texts = Vec::with_capacity(rows.len());
        for r in &rows {
            ids.push(r.try_get::<i64, _>(0)?);
            texts.push(vector_text(&crate::store::vector_from(&r.try_get::<Vec<u8>, _>(1)?)?));
        }
        let n = sqlx::query(AssertSqlSafe(format!(
            "UPDATE product_embeddings e SET embedding = w.v::vector({dims}) \
             FROM unnest($1::bigint[], $2::text[]) AS w(id, v) WHERE e.product_id = w.id"
        )))
        .bind(&ids)
        .bind(&texts)
        .execute(&mut *conn)
        .await?;
        done += n.rows_affected();
    }
}

/// The `k` nearest products by cosine distance among those passing `filters`, best first.
/// The HNSW walk continues past filtered-out rows (`hnsw.iterative_scan`, set per connection),
/// so a narrow filter still yields up to `k` hits.
pub(super) async fn nearest(
    pool: &PgPool,
    model: &str,
    query: &[f32],
    filters: &SearchFilters,
    within: Option<&[Gtin14]>,
    k: usize,
) -> Result<Vec<LexicalHit>, StoreError> {
    // Among a given set of products (those with an offer nearby), the distances are computed
    // exactly for each of them rather than by walking the graph.
    let within_sql = if within.is_some() { " AND p.gtin = ANY($9::text[])" } else { "" };
    let dims = query.len();
    let sql = format!(
        "SELECT gtin, distance FROM ( \
           SELECT p.gtin, e.embedding <=> $1::vector({dims}) AS distance \
           FROM product_embeddings e JOIN products p ON p.id = e.product_id \
           WHERE e.model = $6 AND e.embedding IS NOT NULL AND {}{within_sql} \
           ORDER BY e.embedding <=> $1::vector({dims}) LIMIT $7) s \
         ORDER BY distance, gtin",
        filters_sql(filters, 8)
    );
    let within: Vec<&str> = within.unwrap_or_default().iter().map(Gtin14::as_str).collect();
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(vector_text(query))
        .bind(filters.brand.as_deref())
        .bind(filters.category_id.as_deref())
        .bind(filters.country_of_origin.as_deref())
        .bind(metadata_json(filters))
        .bind(model)
        .bind(i64::try_from(k).unwrap_or(i64::MAX))
        .bind(filters.label.as_deref())
        .bind(&within)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let distance: f64 = r.try_get(1)?;
            Ok(LexicalHit { gtin: parse_gtin(&r.try_get::<String, _>(0)?)?, score: 1.0 - distance })
        })
        .collect()
}

/// The cosine similarity of `query` to each of `gtins` that has a stored vector by `model`.
pub(super) async fn similarities(
    pool: &PgPool,
    model: &str,
    query: &[f32],
    gtins: &[Gtin14],
) -> Result<Vec<(Gtin14, f64)>, StoreError> {
    if gtins.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<&str> = gtins.iter().map(Gtin14::as_str).collect();
    let dims = query.len();
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT p.gtin, e.embedding <=> $1::vector({dims}) AS distance \
         FROM product_embeddings e JOIN products p ON p.id = e.product_id \
         WHERE e.model = $2 AND e.embedding IS NOT NULL AND p.gtin = ANY($3::text[])"
    )))
    .bind(vector_text(query))
    .bind(model)
    .bind(&list)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let distance: f64 = r.try_get(1)?;
            Ok((parse_gtin(&r.try_get::<String, _>(0)?)?, 1.0 - distance))
        })
        .collect()
}

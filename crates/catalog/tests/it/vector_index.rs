//! pgvector on PostgreSQL: the HNSW index answers nearest-neighbour queries in exact order on a
//! small catalog, a narrow filter still fills the result (the walk goes on past rejected rows),
//! the query plan uses the index, vectors stored before the index existed are indexed when a
//! model is next loaded, and a model of another length gets a column of its length. Skipped
//! without `PRODLINK_TEST_PG`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use catalog::CatalogStore;
use catalog::model::Patch;
use catalog::postgres::{PgOptions, PgStore};
use catalog::search::SearchFilters;
use catalog::store::EmbeddingWrite;
use catalog::store::roles::*;
use testkit::*;

const DIMS: usize = 384;

/// Options of a store that ranks in pgvector (`--db-vector-index`).
fn indexed() -> PgOptions {
    PgOptions { max_connections: 4, vector_index: true, ..PgOptions::default() }
}
const MODEL: &str = "test:vectors";

/// Unit vectors whose similarity to the query (axis 0) falls strictly as `i` grows: a share
/// of axis 0 that shrinks with `i`, the rest on one of the other axes.
fn vector(i: usize) -> Vec<f32> {
    let mut v = vec![0f32; DIMS];
    v[0] = 1.0 / (1.0 + i as f32 * 0.01);
    v[1 + i % (DIMS - 1)] = 1.0;
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn axis0() -> Vec<f32> {
    let mut v = vec![0f32; DIMS];
    v[0] = 1.0;
    v
}

/// The `n`-th product's GTIN-13 (valid check digit).
fn nth_gtin(n: usize) -> String {
    let body = format!("200000{n:06}");
    format!("{body}{}", gs1::check_digit(&body).unwrap())
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
}

async fn catalog_with_vectors(db: &TestDb, n: usize, rare: &[usize]) {
    let writes: Vec<_> = (0..n)
        .map(|i| {
            let mut p = product(&nth_gtin(i), &format!("Product {i}"));
            p.brand = Patch::Set(if rare.contains(&i) { "Rare" } else { "Common" }.into());
            p
        })
        .collect();
    db.store.upsert_products(&writes).await.unwrap();
    let batch: Vec<_> = (0..n)
        .map(|i| EmbeddingWrite {
            gtin: gtin(&nth_gtin(i)),
            text_hash: vec![1],
            vector: Some(vector(i)),
            queued: 0,
        })
        .collect();
    for chunk in batch.chunks(256) {
        db.store.save_embeddings(MODEL, chunk).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hnsw_ranks_in_exact_order_and_filters_do_not_starve_the_walk() {
    let Some(db) = TestDb::postgres_with("vector_index::hnsw_ranks", indexed()).await else {
        return;
    };
    // The column is set up for the length of the model being loaded, not by the migration.
    assert!(!db.store.has_vector_index(DIMS));
    assert!(db.store.prepare_vector_index(DIMS).await.unwrap());
    assert!(db.store.has_vector_index(DIMS));
    assert!(!db.store.has_vector_index(DIMS + 1), "another length is ranked in memory");
    // The three "Rare" products are among the farthest from the query.
    let rare = [1000, 1100, 1190];
    catalog_with_vectors(&db, 1200, &rare).await;
    let query = axis0();

    let hits = db.store.nearest(MODEL, &query, &SearchFilters::default(), None, 20).await.unwrap();
    let hits = hits.expect("PostgreSQL ranks");
    let mut exact: Vec<(String, f64)> =
        (0..1200).map(|i| (nth_gtin(i), cosine(&query, &vector(i)))).collect();
    exact.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let got: Vec<&str> = hits.iter().map(|h| h.gtin.as_str()).collect();
    let want: Vec<String> = exact[..20].iter().map(|(g, _)| format!("0{g}")).collect();
    assert_eq!(got, want.iter().map(String::as_str).collect::<Vec<_>>());
    for (h, (_, s)) in hits.iter().zip(&exact) {
        assert!((h.score - s).abs() < 1e-5, "cosine similarity {} vs {s}", h.score);
    }

    // Only three products pass the filter, all far from the query: every one comes back.
    let filters = SearchFilters { brand: Some("rare".into()), ..SearchFilters::default() };
    let hits = db.store.nearest(MODEL, &query, &filters, None, 20).await.unwrap().unwrap();
    let mut got: Vec<String> = hits.iter().map(|h| h.gtin.as_str().to_owned()).collect();
    got.sort();
    let want: Vec<String> = rare.iter().map(|i| format!("0{}", nth_gtin(*i))).collect();
    assert_eq!(got, want);
    // Another model's vectors are not candidates.
    let other = db.store.nearest("test:other", &query, &SearchFilters::default(), None, 5).await;
    assert!(other.unwrap().unwrap().is_empty());

    // Among given products only (those with an offer nearby), nearest first.
    let within: Vec<gs1::Gtin14> = [900, 40, 1150].iter().map(|i| gtin(&nth_gtin(*i))).collect();
    let none = SearchFilters::default();
    let hits = db.store.nearest(MODEL, &query, &none, Some(&within), 20).await.unwrap().unwrap();
    let got: Vec<String> = hits.iter().map(|h| h.gtin.as_str().to_owned()).collect();
    let want: Vec<String> = [40, 900, 1150].iter().map(|i| format!("0{}", nth_gtin(*i))).collect();
    assert_eq!(got, want);
    // The similarity of given products (the lexical leg's candidates), unknown ones left out.
    let unknown = gtin("4006381333931");
    let sims = db.store.similarities(MODEL, &query, &[within[1], unknown]).await.unwrap().unwrap();
    assert_eq!(sims.len(), 1);
    assert_eq!(sims[0].0, within[1]);
    assert!((sims[0].1 - cosine(&query, &vector(40))).abs() < 1e-5);

    // The query can walk the HNSW index rather than sort every row. Sequential scans are
    // switched off on the connection so the test checks that the index applies, not the
    // planner's cost estimate for a small, freshly filled table (which picked a sort on one
    // CI run).
    let text = format!("{query:?}");
    let Db::Postgres(pg) = &db.db else { panic!("PostgreSQL only") };
    let mut conn = pg.pool().acquire().await.unwrap();
    sqlx::query("SET enable_seqscan = off").execute(&mut *conn).await.unwrap();
    let explain = format!(
        "EXPLAIN SELECT product_id FROM product_embeddings \
         ORDER BY embedding <=> '{}'::vector(384) LIMIT 20",
        text.replace(' ', "")
    );
    let plan: Vec<String> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(explain)).fetch_all(&mut *conn).await.unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("product_embeddings_hnsw"), "{plan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectors_stored_before_the_index_existed_are_indexed_at_the_next_model_load() {
    let Some(db) = TestDb::postgres_with("vector_index::backfill", indexed()).await else { return };
    // A database set up before pgvector was installed (or before any model was loaded): no
    // vector column.
    let options = PgOptions { max_connections: 2, ..indexed() };
    let before = PgStore::open(&db.url, &options).await.unwrap();
    assert!(!before.has_vector_index(DIMS));
    let store: &dyn CatalogStore = &before;
    store.upsert_products(&[product("9506000134352", "Spaghetti")]).await.unwrap();
    store.upsert_products(&[product("96385074", "Detergent")]).await.unwrap();
    let batch = [
        EmbeddingWrite {
            gtin: gtin("9506000134352"),
            text_hash: vec![1],
            vector: Some(vector(5)),
            queued: 0,
        },
        EmbeddingWrite {
            gtin: gtin("96385074"),
            text_hash: vec![2],
            vector: Some(vector(9)),
            queued: 0,
        },
    ];
    store.save_embeddings(MODEL, &batch).await.unwrap();
    assert!(
        store
            .nearest(MODEL, &vector(5), &SearchFilters::default(), None, 5)
            .await
            .unwrap()
            .is_none()
    );

    before.migrate().await.unwrap();
    assert!(!before.has_vector_index(DIMS), "migrations alone do not know the model's length");
    assert!(store.prepare_vector_index(DIMS).await.unwrap());
    assert!(before.has_vector_index(DIMS));
    let hits = store.nearest(MODEL, &vector(5), &SearchFilters::default(), None, 5).await.unwrap();
    let got: Vec<String> = hits.unwrap().iter().map(|h| h.gtin.as_str().to_owned()).collect();
    assert_eq!(got, ["09506000134352", "00000096385074"]);
    assert_eq!(
        db.int("SELECT count(*) FROM product_embeddings WHERE embedding IS NULL", &[]).await,
        0
    );
    before.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectors_copied_from_sqlite_are_searchable_by_the_index_at_once() {
    let Some(pg) = TestDb::postgres_with("vector_index::copy", indexed()).await else { return };
    let lite = TestDb::sqlite().await;
    catalog_with_vectors(&lite, 50, &[]).await;
    let Db::Postgres(target) = &pg.db else { unreachable!() };
    // The target was prepared for this model's length (a server ran on it before).
    assert!(pg.store.prepare_vector_index(DIMS).await.unwrap());
    catalog::copy::sqlite_to_postgres(lite.sqlite_store().pool(), target.pool(), |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        pg.int("SELECT count(*) FROM product_embeddings WHERE embedding IS NULL", &[]).await,
        0
    );
    let hits = pg.store.nearest(MODEL, &axis0(), &SearchFilters::default(), None, 3).await.unwrap();
    let got: Vec<String> = hits.unwrap().iter().map(|h| h.gtin.as_str().to_owned()).collect();
    let want: Vec<String> = (0..3).map(|i| format!("0{}", nth_gtin(i))).collect();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_of_another_length_gets_a_column_of_its_length() {
    let Some(db) = TestDb::postgres_with("vector_index::relength", indexed()).await else { return };
    assert!(db.store.prepare_vector_index(DIMS).await.unwrap());
    catalog_with_vectors(&db, 30, &[]).await;
    // A second process (or a restart) with the same model keeps the column and its vectors.
    assert!(db.store.prepare_vector_index(DIMS).await.unwrap());
    assert_eq!(
        db.int("SELECT count(*) FROM product_embeddings WHERE embedding IS NULL", &[]).await,
        0
    );

    // A model of 8 dimensions: the column is rebuilt at that length; the old model's vectors
    // keep their stored bytes but are no longer indexed (they are the wrong length).
    assert!(db.store.prepare_vector_index(8).await.unwrap());
    assert!(db.store.has_vector_index(8));
    assert!(!db.store.has_vector_index(DIMS));
    assert_eq!(
        db.int("SELECT count(*) FROM product_embeddings WHERE embedding IS NULL", &[]).await,
        30
    );
    assert!(
        db.store
            .nearest(MODEL, &axis0(), &SearchFilters::default(), None, 3)
            .await
            .unwrap()
            .is_none(),
        "a 384-length query is ranked in memory now"
    );
    let short = |axis: usize| {
        let mut v = vec![0f32; 8];
        v[axis] = 1.0;
        v
    };
    // (A product has one vector, by the model that embedded it last: these three move over.)
    let batch: Vec<_> = (0..3)
        .map(|i| EmbeddingWrite {
            gtin: gtin(&nth_gtin(27 + i)),
            text_hash: vec![2],
            vector: Some(short(i)),
            queued: 0,
        })
        .collect();
    db.store.save_embeddings("test:short", &batch).await.unwrap();
    let hits = db.store.nearest("test:short", &short(2), &SearchFilters::default(), None, 1).await;
    let got: Vec<String> = hits.unwrap().unwrap().iter().map(|h| h.gtin.as_str().into()).collect();
    assert_eq!(got, [format!("0{}", nth_gtin(29))]);

    // Back to the first model: its stored vectors are indexed again.
    assert!(db.store.prepare_vector_index(DIMS).await.unwrap());
    let hits = db.store.nearest(MODEL, &axis0(), &SearchFilters::default(), None, 1).await;
    let got: Vec<String> = hits.unwrap().unwrap().iter().map(|h| h.gtin.as_str().into()).collect();
    assert_eq!(got, [format!("0{}", nth_gtin(0))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_option_vectors_are_ranked_in_memory_even_where_the_column_exists() {
    let Some(db) = TestDb::postgres_with("vector_index::off", indexed()).await else { return };
    assert!(db.store.prepare_vector_index(DIMS).await.unwrap());
    catalog_with_vectors(&db, 10, &[]).await;
    // Another process on the same database, without --db-vector-index.
    let options = PgOptions { max_connections: 2, ..PgOptions::default() };
    let plain = PgStore::open_and_migrate(&db.url, &options).await.unwrap();
    let store: &dyn CatalogStore = &plain;
    assert!(!store.prepare_vector_index(DIMS).await.unwrap());
    assert!(!store.has_vector_index(DIMS));
    assert!(
        store.nearest(MODEL, &axis0(), &SearchFilters::default(), None, 3).await.unwrap().is_none()
    );
    // It still reads every stored vector (to rank them itself).
    let (page, _) = store.embeddings_page(MODEL, Default::default(), 100).await.unwrap();
    assert_eq!(page.len(), 10);
    plain.close().await;
}

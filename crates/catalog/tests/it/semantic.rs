//! The semantic leg of `search_products` with the real model (potion-base-8M, the static
//! embedding prodlink serves) on both backends: it finds products that share no word with the
//! query, embeddings survive a restart, unchanged text is never embedded again, changed text
//! is, and filters apply before ranking.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use catalog::Catalog;
use catalog::model::Patch;
use catalog::search::SearchRequest;
use catalog::semantic::Semantic;
use search::Embedder;
use testkit::*;

fn embedder() -> Arc<dyn Embedder> {
    let dir = model_dir("potion-base-8M", "model.json");
    search::load_embedder(&dir).unwrap()
}

fn names(out: &catalog::search::SearchOutput) -> Vec<&str> {
    out.items.iter().map(|i| i.name.as_str()).collect()
}

on_both_backends!(open = TestDb::new;semantic_leg_finds_meaning_survives_restarts_and_skips_unchanged_text);

async fn semantic_leg_finds_meaning_survives_restarts_and_skips_unchanged_text(db: TestDb) {
    let mut cola = product("4012345000009", "Cola soft drink");
    cola.brand = Patch::Set("Fizz".into());
    db.store
        .upsert_products(&[
            product("9506000134352", "Gluten-free spaghetti"),
            cola,
            product("95012346", "Dark chocolate bar"),
            product("96385074", "Laundry detergent"),
        ])
        .await
        .unwrap();
    let embedder = embedder();
    assert!(!db.store.has_vector_index(embedder.dim()));
    let sem = Arc::new(Semantic::with_embedder(Arc::clone(&embedder), "static:test", 2));
    assert!(!sem.ready());
    assert_eq!(sem.load(db.store.as_ref()).await.unwrap(), 0);
    // Both backends rank in memory unless PostgreSQL is told to use pgvector
    // (tests/vector_index.rs).
    assert!(!db.store.has_vector_index(embedder.dim()));
    assert!(!sem.ranked_by_store(db.store.as_ref()));
    assert_eq!(sem.status(db.store.as_ref()).await.unwrap().ranked_in, "memory");
    assert_eq!(db.store.embed_backlog().await.unwrap(), 4);
    assert_eq!(sem.index_backlog(db.store.as_ref()).await.unwrap(), 4);
    assert_eq!(db.store.embed_backlog().await.unwrap(), 0);
    let catalog = Catalog::new(Arc::clone(&db.store), "http://localhost")
        .with_semantic(Arc::clone(&sem), 0.5);
    catalog.index_search_backlog().await.unwrap();

    // No product shares a word with these queries: only the semantic leg can answer.
    let req = |q: &str| SearchRequest { query: q.into(), limit: Some(1), ..Default::default() };
    let out = catalog.search_products(&req("noodles")).await.unwrap();
    assert_eq!(names(&out), ["Gluten-free spaghetti"]);
    let out = catalog.search_products(&req("fizzy beverage")).await.unwrap();
    assert_eq!(names(&out), ["Cola soft drink"], "brand and name both count");
    let out = catalog.search_products(&req("sweets")).await.unwrap();
    assert_eq!(names(&out), ["Dark chocolate bar"]);
    // Lexical only finds nothing for the same query.
    let lexical = Catalog::new(Arc::clone(&db.store), "http://localhost");
    assert!(lexical.search_products(&req("noodles")).await.unwrap().items.is_empty());

    // Filters narrow the semantic candidates before ranking; a product unrelated to the query
    // (below the semantic leg's relevance floor) is not a result just because it passes them.
    let mut filtered = req("sparkling refreshment");
    filtered.filters = Some(serde_json::from_str(r#"{"brand":"Fizz"}"#).unwrap());
    let out = catalog.search_products(&filtered).await.unwrap();
    assert_eq!(names(&out), ["Cola soft drink"]);
    let mut unrelated = req("noodles");
    unrelated.filters = filtered.filters.clone();
    assert!(catalog.search_products(&unrelated).await.unwrap().items.is_empty());

    // A restart loads the stored vectors and embeds nothing.
    let again = Arc::new(Semantic::with_embedder(Arc::clone(&embedder), "static:test", 2));
    assert_eq!(again.load(db.store.as_ref()).await.unwrap(), 4);
    assert_eq!(again.index_backlog(db.store.as_ref()).await.unwrap(), 0);
    assert_eq!(again.status(db.store.as_ref()).await.unwrap().indexed, 4);

    // A write that leaves the text alone is dequeued without embedding; a text change is
    // embedded again.
    let mut image_only = product("9506000134352", "Gluten-free spaghetti");
    image_only.image_url = Patch::Set("https://example.com/s.jpg".into());
    db.store.upsert_products(&[image_only]).await.unwrap();
    assert_eq!(db.store.embed_backlog().await.unwrap(), 1);
    assert_eq!(again.index_backlog(db.store.as_ref()).await.unwrap(), 1);
    assert_eq!(again.status(db.store.as_ref()).await.unwrap().embedded_since_start, 0);
    db.store.upsert_products(&[product("96385074", "Rice noodles")]).await.unwrap();
    assert_eq!(again.index_backlog(db.store.as_ref()).await.unwrap(), 1);
    assert_eq!(again.status(db.store.as_ref()).await.unwrap().embedded_since_start, 1);
    let catalog = Catalog::new(Arc::clone(&db.store), "http://localhost").with_semantic(again, 1.0);
    let out = catalog.search_products(&req("noodles")).await.unwrap();
    assert_eq!(names(&out), ["Rice noodles"]);

    // A different model id re-embeds everything.
    let other = Arc::new(Semantic::with_embedder(embedder, "static:other", 2));
    other.load(db.store.as_ref()).await.unwrap();
    assert_eq!(db.store.embed_backlog().await.unwrap(), 4);
}

//! `search_products` on a real SQLite file: BM25 ranking over the indexed text, filters before
//! ranking, the proximity boost, and field-specific validation errors.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use catalog::model::{CategoryRef, IngredientWrite, MetadataPatch, Patch};
use catalog::search::SearchRequest;
use catalog::{Catalog, ErrorCode};
use common::*;

on_both_backends!(
    ranks_by_relevance_with_stemming_and_reports_fields,
    filters_apply_before_ranking,
    proximity_boosts_and_reports_distance,
    invalid_requests_name_every_bad_field,
);
use serde_json::json;

async fn setup(db: TestDb) -> (TestDb, Catalog) {
    let mut pasta = product("4012345000009", "Gluten-free spaghetti");
    pasta.brand = Patch::Set("Barilla".into());
    pasta.category = Patch::Set(vec![
        CategoryRef { id: "en:groceries".into(), name: "Groceries".into() },
        CategoryRef { id: "en:pastas".into(), name: "Pastas".into() },
    ]);
    pasta.ingredients =
        Some(vec![IngredientWrite { name: "corn flour".into(), percentage_of_weight: None }]);
    let mut pasta2 = product("9506000134352", "Whole wheat penne pasta");
    pasta2.brand = Patch::Set("Acme".into());
    pasta2.category =
        Patch::Set(vec![CategoryRef { id: "en:pastas".into(), name: "Pastas".into() }]);
    pasta2.metadata =
        MetadataPatch::new(BTreeMap::from([("nova_group".into(), "1".into())])).unwrap();
    let mut sauce = product("95012346", "Tomato sauce for pasta");
    sauce.description = Patch::Set("Rich sauce".into());
    let mut choc = product("96385074", "Dark chocolate");
    choc.ingredients =
        Some(vec![IngredientWrite { name: "cocoa mass".into(), percentage_of_weight: Some(70.0) }]);
    db.store.upsert_products(&[pasta, pasta2, sauce, choc]).await.unwrap();
    db.store
        .upsert_stores(&[
            store_write("Acme", "near", 40.71, -74.00),
            store_write("Acme", "far", 40.71, -73.60),
        ])
        .await
        .unwrap();
    db.store
        .upsert_offers(&[
            offer("95012346", "Acme", "near", 199),
            offer("9506000134352", "Acme", "far", 249),
        ])
        .await
        .unwrap();
    let c = Catalog::new(Arc::clone(&db.store), "http://localhost:8080");
    assert_eq!(db.store.search_backlog().await.unwrap(), 4);
    assert_eq!(c.index_search_backlog().await.unwrap(), 4);
    assert_eq!(db.store.search_backlog().await.unwrap(), 0);
    (db, c)
}

fn req(query: &str) -> SearchRequest {
    SearchRequest { query: query.into(), ..SearchRequest::default() }
}

fn gtins(out: &catalog::search::SearchOutput) -> Vec<&str> {
    out.items.iter().map(|i| i.gtin.as_str()).collect()
}

async fn ranks_by_relevance_with_stemming_and_reports_fields(db: TestDb) {
    let (_db, c) = setup(db).await;
    let out = c.search_products(&req("pastas")).await.unwrap();
    assert_eq!(out.query, "pastas");
    assert_eq!(out.total, out.items.len());
    // all three pasta-related products, the two with "pasta" in the name or category first
    assert_eq!(out.items.len(), 3);
    assert!(!gtins(&out).contains(&"00000096385074"));
    assert!(out.items.windows(2).all(|w| w[0].score >= w[1].score));
    assert!((out.items[0].score - 1.0).abs() < 1e-9);
    let v = serde_json::to_value(&out.items[0]).unwrap();
    for key in [
        "gtin",
        "name",
        "brand",
        "category",
        "net_content",
        "country_of_origin",
        "price_min",
        "price_max",
        "score",
        "distance_km",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    // ingredients are indexed too
    let cocoa = c.search_products(&req("cocoa")).await.unwrap();
    assert_eq!(gtins(&cocoa), ["00000096385074"]);
    // prices come from active offers
    let sauce = c.search_products(&req("tomato sauce")).await.unwrap();
    assert_eq!(sauce.items[0].price_min, Some(1.99));
    assert_eq!(sauce.items[0].distance_km, None);
    // words that match nothing, or no words at all
    assert!(c.search_products(&req("zzzqqq")).await.unwrap().items.is_empty());
    assert!(c.search_products(&req("!!!")).await.unwrap().items.is_empty());
}

async fn filters_apply_before_ranking(db: TestDb) {
    let (_db, c) = setup(db).await;
    let mut r = req("pasta");
    r.limit = Some(1);
    r.filters = Some(serde_json::from_value(json!({"brand": "acme"})).unwrap());
    let out = c.search_products(&r).await.unwrap();
    assert_eq!(gtins(&out), ["09506000134352"]);

    let mut r = req("pasta");
    r.filters = Some(serde_json::from_value(json!({"category_id": "en:groceries"})).unwrap());
    // products in a subcategory (en:pastas under en:groceries) match their parent's filter;
    // the sauce has no category and is filtered out
    let mut found = gtins(&c.search_products(&r).await.unwrap())
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    found.sort();
    assert_eq!(found, ["04012345000009", "09506000134352"]);
    let mut r = req("pasta");
    r.filters = Some(serde_json::from_value(json!({"category_id": "en:snacks"})).unwrap());
    assert!(c.search_products(&r).await.unwrap().items.is_empty());

    let mut r = req("pasta");
    r.filters = Some(serde_json::from_value(json!({"nova_group": 1})).unwrap());
    assert_eq!(gtins(&c.search_products(&r).await.unwrap()), ["09506000134352"]);

    let mut r = req("pasta");
    r.filters = Some(serde_json::from_value(json!({"brand": "nobody"})).unwrap());
    assert!(c.search_products(&r).await.unwrap().items.is_empty());
}

async fn proximity_boosts_and_reports_distance(db: TestDb) {
    let (_db, c) = setup(db).await;
    let plain = c.search_products(&req("pasta")).await.unwrap();
    let mut r = req("pasta");
    r.geo_lat = Some(40.71);
    r.geo_lng = Some(-74.00);
    let near = c.search_products(&r).await.unwrap();
    let sauce = near.items.iter().find(|i| i.gtin == "00000095012346").unwrap();
    assert_eq!(sauce.distance_km, Some(0.0));
    let penne = near.items.iter().find(|i| i.gtin == "09506000134352").unwrap();
    assert!((penne.distance_km.unwrap() - 33.7).abs() < 0.5, "{penne:?}");
    let before = plain.items.iter().find(|i| i.gtin == "00000095012346").unwrap().score;
    assert!((sauce.score - before * 1.5).abs() < 1e-3, "{} vs {}", sauce.score, before);
    let spaghetti = near.items.iter().find(|i| i.gtin == "04012345000009").unwrap();
    assert_eq!(spaghetti.distance_km, None);
}

async fn invalid_requests_name_every_bad_field(db: TestDb) {
    let (_db, c) = setup(db).await;
    let mut r = req("   ");
    r.limit = Some(101);
    r.geo_lat = Some(10.0);
    let e = c.search_products(&r).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ValidationError);
    let fields: Vec<&str> = e.field_errors().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["query", "limit", "geo_lng"]);
    let mut r = req("x");
    r.limit = Some(0);
    assert!(
        c.search_products(&r).await.unwrap_err().to_string().contains("between 1 and 100, got 0")
    );
    let mut r = req("x");
    r.geo_lng = Some(200.0);
    r.geo_lat = Some(0.0);
    assert_eq!(c.search_products(&r).await.unwrap_err().field_errors()[0].field, "geo_lng");
}

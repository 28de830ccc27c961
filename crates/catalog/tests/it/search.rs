//! `search_products` on both backends: ranking over the indexed text (the whole category path
//! and the labels included), filters before ranking (a category at any level of the path, a
//! label), deletions reaching the in-memory index, the coverage each result reports while the
//! index is incomplete, the geo candidates and boost, and field-specific validation errors.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::sync::Arc;

use catalog::model::{CategoryRef, IngredientWrite, LabelRef, MetadataPatch, Patch};
use catalog::search::SearchRequest;
use catalog::{Catalog, ErrorCode};
use testkit::*;

on_both_backends!(open = TestDb::new;
    ranks_by_relevance_with_stemming_and_reports_fields,
    filters_apply_before_ranking,
    proximity_boosts_and_reports_distance,
    invalid_requests_name_every_bad_field,
    the_whole_category_path_and_the_labels_are_kept_searched_and_filtered,
    deleted_and_changed_products_reach_the_index_and_coverage_is_reported,
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
    assert!(out.items.iter().all(|i| i.score > 0.0 && i.score <= 1.0 + 1e-9), "{out:?}");
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

fn cat(id: &str, name: &str) -> CategoryRef {
    CategoryRef { id: id.into(), name: name.into() }
}

fn label(id: &str, name: &str) -> LabelRef {
    LabelRef { id: id.into(), name: name.into() }
}

async fn the_whole_category_path_and_the_labels_are_kept_searched_and_filtered(db: TestDb) {
    // OFF's path, general to specific; the product's category is the last one.
    let mut penne = product("4012345000009", "Penne rigate");
    penne.category = Patch::Set(vec![
        cat("en:plant-based-foods-and-beverages", "Plant-based foods and beverages"),
        cat("en:cereals-and-potatoes", "Cereals and potatoes"),
        cat("en:pastas", "Pastas"),
        cat("en:dry-pastas", "Dry pastas"),
    ]);
    penne.labels =
        Patch::Set(vec![label("en:no-gluten", "No gluten"), label("en:organic", "Organic")]);
    let mut seitan = product("9506000134352", "Seitan strips");
    seitan.category = Patch::Set(vec![cat("en:meat-alternatives", "Meat alternatives")]);
    seitan.ingredients =
        Some(vec![IngredientWrite { name: "wheat gluten".into(), percentage_of_weight: None }]);
    db.store.upsert_products(&[penne, seitan]).await.unwrap();
    let c = Catalog::new(Arc::clone(&db.store), "http://localhost:8080");
    c.index_search_backlog().await.unwrap();

    // The labels and every level of the path are searched: "gluten-free" is the label, not
    // the ingredient; "cereals" is the path's second level.
    let out = c.search_products(&req("gluten-free pasta")).await.unwrap();
    assert_eq!(gtins(&out)[0], "04012345000009", "{out:?}");
    assert_eq!(out.items[0].category.as_deref(), Some("Dry pastas"), "the most specific");
    assert_eq!(gtins(&c.search_products(&req("cereals")).await.unwrap()), ["04012345000009"]);
    assert_eq!(gtins(&c.search_products(&req("bio")).await.unwrap()), ["04012345000009"]);

    // A category filter matches any level of the path; a label filter its id.
    for (key, value, want) in [
        ("category_id", "en:plant-based-foods-and-beverages", vec!["04012345000009"]),
        ("category_id", "en:pastas", vec!["04012345000009"]),
        ("category_id", "en:meat-alternatives", vec!["09506000134352"]),
        ("label", "en:organic", vec!["04012345000009"]),
        ("label", "en:vegan", vec![]),
    ] {
        let mut r = req("gluten");
        r.filters = Some(serde_json::from_value(json!({ key: value })).unwrap());
        assert_eq!(gtins(&c.search_products(&r).await.unwrap()), want, "{key}={value}");
    }

    // get_product_detail shows the path and the labels.
    let detail = c.get_product_detail("4012345000009").await.unwrap();
    let ids: Vec<&str> = detail.categories.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "en:plant-based-foods-and-beverages",
            "en:cereals-and-potatoes",
            "en:pastas",
            "en:dry-pastas"
        ]
    );
    assert_eq!(detail.labels, [label("en:no-gluten", "No gluten"), label("en:organic", "Organic")]);

    // A new path replaces the old one (and the product leaves the old levels' filters);
    // clearing the labels removes them.
    let mut moved = product("4012345000009", "Penne rigate");
    moved.category = Patch::Set(vec![cat("en:meat-alternatives", "Meat alternatives")]);
    moved.labels = Patch::Clear;
    db.store.upsert_products(&[moved]).await.unwrap();
    c.index_search_backlog().await.unwrap();
    let mut r = req("penne");
    r.filters = Some(serde_json::from_value(json!({"category_id": "en:pastas"})).unwrap());
    assert!(c.search_products(&r).await.unwrap().items.is_empty());
    let detail = c.get_product_detail("4012345000009").await.unwrap();
    assert_eq!(detail.categories, [cat("en:meat-alternatives", "Meat alternatives")]);
    assert!(detail.labels.is_empty());
    assert!(c.search_products(&req("cereals")).await.unwrap().items.is_empty());
}

async fn deleted_and_changed_products_reach_the_index_and_coverage_is_reported(db: TestDb) {
    let (db, c) = setup(db).await;
    let out = c.search_products(&req("chocolate")).await.unwrap();
    assert_eq!(gtins(&out), ["00000096385074"]);
    let full = &out.index_coverage;
    assert!(full.complete && full.lexical == 1.0 && full.semantic.is_none(), "{full:?}");
    assert_eq!(full.note(), None);

    // A product written but not yet indexed: the index covers less than the catalog (the
    // product count is read again at most every few seconds; a new catalog reads it now).
    db.store.upsert_products(&[product("4006381333931", "Milk chocolate")]).await.unwrap();
    let fresh = Catalog::new(Arc::clone(&db.store), "http://localhost:8080");
    let out = fresh.search_products(&req("chocolate")).await.unwrap();
    assert!(!out.index_coverage.complete, "{:?}", out.index_coverage);
    assert!((out.index_coverage.lexical - 0.8).abs() < 1e-9, "{:?}", out.index_coverage);
    assert!(out.index_coverage.note().unwrap().contains("lexical 80 %"));
    assert_eq!(gtins(&out), ["00000096385074"], "not yet searchable");

    // Once indexed it is found; deleted, it is gone from the index, in this process and in
    // one that loads the index afresh.
    fresh.index_search_backlog().await.unwrap();
    let out = fresh.search_products(&req("chocolate")).await.unwrap();
    assert_eq!(out.items.len(), 2);
    assert!(out.index_coverage.complete);
    assert!(db.store.delete_product(gs1::Gtin14::parse("96385074").unwrap(), None).await.unwrap());
    fresh.index_search_backlog().await.unwrap();
    assert_eq!(gtins(&fresh.search_products(&req("chocolate")).await.unwrap()), ["04006381333931"]);
    let again = Catalog::new(Arc::clone(&db.store), "http://localhost:8080");
    assert_eq!(gtins(&again.search_products(&req("chocolate")).await.unwrap()), ["04006381333931"]);
    assert_eq!(again.lexical().len(), 4);
    drop(c);
}

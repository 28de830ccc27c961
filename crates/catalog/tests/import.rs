//! Importers on the real demo data (`data/demo`) and on small hand-made files: every row is
//! accounted for, every rejected row has a reason in the rejects file, and re-imports update
//! instead of duplicating.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use catalog::import::{self, ImportKind, ImportReport, NoProgress, ReportFiles, Source};
use catalog::{Catalog, CatalogStore};
use common::*;

async fn import_path(
    store: &Arc<dyn CatalogStore>,
    kind: ImportKind,
    path: &std::path::Path,
    reports: &std::path::Path,
) -> ImportReport {
    let name = path.file_name().unwrap();
    import::import_file(
        Arc::clone(store),
        kind,
        path,
        ReportFiles::Beside(reports.join(name)),
        &NoProgress,
    )
    .await
    .unwrap()
}

fn rejects_lines(report: &ImportReport) -> Vec<Vec<String>> {
    let Some(p) = &report.rejects_file else { return Vec::new() };
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("line\tkey\treason\trecord"));
    lines.map(|l| l.splitn(4, '\t').map(str::to_owned).collect()).collect()
}

#[tokio::test]
async fn off_sample_imports_every_row_with_reasons_and_reimports_as_unchanged() {
    let db = TestDb::new().await;
    let file = demo_data("off-sample-1000.tsv.gz");
    let r = import_path(&db.store, ImportKind::Off, &file, db.dir.path()).await;
    assert_eq!(r.rows, 1000);
    assert!(r.balanced(), "{r:?}");
    assert!(r.accepted > 900, "{r:?}");
    let rejects = rejects_lines(&r);
    assert_eq!(rejects.len() as u64, r.rejected);
    for row in &rejects {
        assert_eq!(row.len(), 4, "{row:?}");
        assert!(!row[2].is_empty(), "a reject without a reason: {row:?}");
        assert!(row[0].parse::<u64>().unwrap() >= 2, "line numbers count the header: {row:?}");
    }
    // The sample has bad check digits and nameless rows: both reasons appear.
    assert!(rejects.iter().any(|r| r[2].contains("check digit")));

    let counts = db.store.counts().await.unwrap();
    assert_eq!(counts.products, r.accepted);
    assert!(counts.brands > 100 && counts.categories > 100, "{counts:?}");

    // Rich fields made it through: a product with brand, category, nutrition and metadata.
    let c = Catalog::new(Arc::clone(&db.store), "http://localhost:8080");
    let with_all: String = sqlx::query_scalar(
        "SELECT p.gtin FROM products p JOIN nutrition n ON n.product_id = p.id \
         WHERE p.brand_id IS NOT NULL AND p.category_id IS NOT NULL AND p.metadata <> '{}' LIMIT 1",
    )
    .fetch_one(db.sqlite.pool())
    .await
    .unwrap();
    let d = c.get_product_detail(&with_all).await.unwrap();
    let p = d.product.unwrap();
    assert!(p.brand.is_some() && p.category.is_some());
    assert_eq!(d.nutrition.unwrap().label_format.as_str(), "per_100g");
    let l = c.lookup_product(&with_all).await.unwrap();
    assert_eq!(l.data_source.as_deref(), Some("off"));
    assert!(
        l.metadata.get("countries_sold").is_some() || l.metadata.get("nutriscore_grade").is_some()
    );

    let again = import_path(&db.store, ImportKind::Off, &file, db.dir.path()).await;
    assert!(again.balanced());
    assert_eq!(again.accepted, 0);
    assert_eq!(again.unchanged + again.updated, r.accepted + r.updated + r.unchanged);
    assert_eq!(again.rejected, r.rejected);
    assert_eq!(db.store.counts().await.unwrap().products, counts.products);
}

#[tokio::test]
async fn a_file_without_a_column_keeps_that_field() {
    let db = TestDb::new().await;
    let rich = db.path("rich.tsv");
    std::fs::write(
        &rich,
        "code\tproduct_name\tbrands\tquantity\n4012345000009\tDark chocolate\tLindt\t100 g\n",
    )
    .unwrap();
    let poor = db.path("poor.tsv");
    std::fs::write(&poor, "code\tproduct_name\tfat_100g\n4012345000009\tDark chocolate 70%\t42\n")
        .unwrap();
    import_path(&db.store, ImportKind::Off, &rich, db.dir.path()).await;
    let r = import_path(&db.store, ImportKind::Off, &poor, db.dir.path()).await;
    assert_eq!((r.accepted, r.updated), (0, 1));
    let p = db.store.product(gtin("4012345000009")).await.unwrap().unwrap();
    assert_eq!(p.name, "Dark chocolate 70%");
    assert_eq!(p.brand.as_deref(), Some("Lindt"));
    assert_eq!(p.net_content.as_deref(), Some("100 g"));
    let n = db.store.product_children(gtin("4012345000009")).await.unwrap().nutrition.unwrap();
    assert_eq!(n.nutrients[0].amount, 42.0);
}

#[tokio::test]
async fn off_jsonl_and_bad_lines() {
    let db = TestDb::new().await;
    let f = db.path("products.jsonl");
    std::fs::write(
        &f,
        concat!(
            r#"{"code":"4012345000009","product_name":"Choco","brands":"Lindt","categories_tags":["en:snacks"],"nutriments":{"fat_100g":30,"sugars_100g":"abc"}}"#, "\n",
            "\n",
            r#"{"code":"4012345000008","product_name":"Bad digit"}"#, "\n",
            "not json\n",
            r#"["an array"]"#, "\n",
        ),
    )
    .unwrap();
    let r = import_path(&db.store, ImportKind::Off, &f, db.dir.path()).await;
    assert_eq!((r.rows, r.accepted, r.rejected), (4, 1, 3), "{r:?}");
    assert_eq!(r.warnings, 1);
    let warnings = std::fs::read_to_string(r.warnings_file.as_ref().unwrap()).unwrap();
    assert!(warnings.contains("sugars_100g") && warnings.contains("not a number"), "{warnings}");
    let reasons: Vec<String> = rejects_lines(&r).into_iter().map(|r| r[2].clone()).collect();
    assert!(reasons[0].contains("check digit"));
    assert!(reasons[1].contains("not valid JSON"));
    assert!(reasons[2].contains("not an object"));
}

#[tokio::test]
async fn walmart_stores_skip_distribution_centers_and_offers_need_existing_rows() {
    let db = TestDb::new().await;
    let r = import_path(
        &db.store,
        ImportKind::Stores,
        &demo_data("walmart-stores.csv.gz"),
        db.dir.path(),
    )
    .await;
    assert_eq!(r.rows, 3251);
    assert_eq!(r.accepted, 3173);
    assert_eq!(r.rejected, 78);
    assert!(rejects_lines(&r).iter().all(|l| l[2].contains("distribution center")));
    let again = import_path(
        &db.store,
        ImportKind::Stores,
        &demo_data("walmart-stores.csv.gz"),
        db.dir.path(),
    )
    .await;
    assert_eq!((again.accepted, again.unchanged), (0, 3173));
    assert_eq!(db.store.counts().await.unwrap().stores, 3173);

    db.store.upsert_products(&[product("4012345000009", "Bar")]).await.unwrap();
    let store_ref: String = sqlx::query_scalar("SELECT ref FROM stores ORDER BY ref LIMIT 1")
        .fetch_one(db.sqlite.pool())
        .await
        .unwrap();
    let offers = db.path("offers.csv");
    std::fs::write(
        &offers,
        format!(
            "gtin,retailer,store_ref,price,currency,inventory_status,active,metadata.source\n\
             4012345000009,Walmart,{store_ref},3.49,USD,in_stock,true,feed\n\
             4012345000009,Walmart,no-such-store,3.49,USD,in_stock,true,feed\n\
             4012345000009,Walmart,{store_ref},3.499,USD,in_stock,true,feed\n\
             4012345000009,Walmart,{store_ref},3.49,EURO,in_stock,true,feed\n\
             4012345000009,Walmart,{store_ref},3.49,USD,available,true,feed\n\
             9506000134352,Walmart,{store_ref},3.49,USD,in_stock,true,feed\n"
        ),
    )
    .unwrap();
    let r = import_path(&db.store, ImportKind::Offers, &offers, db.dir.path()).await;
    assert_eq!((r.rows, r.accepted, r.rejected), (6, 1, 5), "{r:?}");
    let reasons: Vec<String> = rejects_lines(&r).into_iter().map(|r| r[2].clone()).collect();
    assert!(reasons[0].contains("no store \"no-such-store\""), "{reasons:?}");
    assert!(reasons[1].contains("at most 2"), "{reasons:?}");
    assert!(reasons[2].contains("ISO 4217"), "{reasons:?}");
    assert!(reasons[3].contains("in_stock, low_stock, out_of_stock, unknown"), "{reasons:?}");
    assert!(reasons[4].contains("import the product first"), "{reasons:?}");
}

#[tokio::test]
async fn catalog_jsonl_mixes_products_stores_and_offers() {
    let db = TestDb::new().await;
    let f = db.path("catalog.jsonl");
    std::fs::write(
        &f,
        concat!(
            r#"{"gtin":"09506000134352","name":"Demo cereal","brand":"Acme","category":["Breakfast","Cereals"],"ingredients":["oats",{"name":"sugar","percentage_of_weight":4}],"nutrition":{"label_format":"us_fda","serving_size":"30 g","nutrients":[{"name":"sugars","amount":4,"unit":"g","daily_value_pct":8}]},"images":[{"url":"https://img.example/c.jpg","is_primary":true}],"metadata":{"sku":"A-1"}}"#, "\n",
            r#"{"type":"store","retailer":"Acme","store_ref":"1","name":"Acme One","country":"US","lat":40.7,"lng":-74.0}"#, "\n",
            r#"{"type":"offer","gtin":"09506000134352","retailer":"Acme","store_ref":"1","price":"2.50","currency":"USD","metadata":{"feed":"x"}}"#, "\n",
            r#"{"type":"coupon","gtin":"09506000134352"}"#, "\n",
            r#"{"gtin":"09506000134352","description":null,"metadata":{"sku":""}}"#, "\n",
        ),
    )
    .unwrap();
    let r = import_path(&db.store, ImportKind::Catalog, &f, db.dir.path()).await;
    assert_eq!((r.rows, r.accepted, r.updated, r.rejected), (5, 3, 1, 1), "{r:?}");
    assert!(rejects_lines(&r)[0][2].contains("not product, store or offer"));
    let c = Catalog::new(Arc::clone(&db.store), "http://localhost:8080");
    let d = c.get_product_detail("9506000134352").await.unwrap();
    assert_eq!(d.product.as_ref().unwrap().category.as_deref(), Some("Cereals"));
    assert_eq!(d.ingredients.len(), 2);
    assert_eq!(d.nutrition.as_ref().unwrap().nutrients[0].daily_value_pct, Some(8.0));
    assert!(c.lookup_product("9506000134352").await.unwrap().metadata.is_empty());
    let a = c.check_availability("9506000134352", 40.7, -74.0, None).await.unwrap();
    assert_eq!(a.locations[0].price, 2.5);
}

#[tokio::test]
async fn a_missing_file_or_a_foreign_format_is_a_clear_error() {
    let db = TestDb::new().await;
    let e = import::import_file(
        Arc::clone(&db.store),
        ImportKind::Off,
        &db.path("nope.tsv"),
        ReportFiles::InMemory(5),
        &NoProgress,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("nope.tsv"), "{e}");
    let f = db.path("x.tsv");
    std::fs::write(&f, "barcode\tname\n1\t2\n").unwrap();
    let e = import::import_file(
        Arc::clone(&db.store),
        ImportKind::Off,
        &f,
        ReportFiles::InMemory(5),
        &NoProgress,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("no \"code\" column"), "{e}");
    let e = import::import_file(
        Arc::clone(&db.store),
        ImportKind::Offers,
        &f,
        ReportFiles::InMemory(5),
        &NoProgress,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("lacks the column"), "{e}");
}

#[tokio::test]
async fn demo_catalog_loads_with_generated_offers() {
    let db = TestDb::new().await;
    let sources = catalog::demo::DemoSources {
        off: vec![Source::open(&demo_data("off-sample-1000.tsv.gz")).unwrap()],
        stores: Source::open(&demo_data("walmart-stores.csv.gz")).unwrap(),
    };
    let r = catalog::demo::load(Arc::clone(&db.store), sources, &NoProgress).await.unwrap();
    assert_eq!(r.offers_rejected, 0);
    assert!(r.offers > 50_000, "{r:?}");
    let demo: i64 =
        sqlx::query_scalar("SELECT count(*) FROM offers WHERE metadata ->> 'demo' = 'true'")
            .fetch_one(db.sqlite.pool())
            .await
            .unwrap();
    assert_eq!(demo as u64, r.offers);
    // A shopper in Rogers, AR (next to Walmart's home stores) finds some assortment product.
    let gtin: String = sqlx::query_scalar("SELECT p.gtin FROM offers o JOIN products p ON p.id = o.product_id GROUP BY p.gtin ORDER BY count(*) DESC LIMIT 1")
        .fetch_one(db.sqlite.pool())
        .await
        .unwrap();
    let c = Catalog::new(Arc::clone(&db.store), "http://localhost:8080");
    let a = c.check_availability(&gtin, 36.33, -94.12, Some(50.0)).await.unwrap();
    assert!(a.total > 0, "{a:?}");
    assert!(a.locations.iter().all(|l| l.retailer == "Walmart" && l.currency == "USD"));
}

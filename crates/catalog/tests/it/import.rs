//! Importers on the real demo data (`data/demo`) and on small hand-made files: every row is
//! accounted for, every rejected row has a reason in the rejects file, and re-imports update
//! instead of duplicating.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use catalog::import::{self, ImportKind, ImportReport, NoProgress, ReportFiles, Source};
use catalog::{Catalog, CatalogStore};
use testkit::*;

on_both_backends!(open = TestDb::new;
    off_sample_imports_every_row_with_reasons_and_reimports_as_unchanged,
    a_file_without_a_column_keeps_that_field,
    off_jsonl_and_bad_lines,
    walmart_stores_skip_distribution_centers_and_offers_need_existing_rows,
    catalog_jsonl_mixes_products_stores_and_offers,
    a_missing_file_or_a_foreign_format_is_a_clear_error,
    demo_catalog_loads_with_generated_offers,
    csv_quotes_follow_rfc_4180_and_every_row_is_read,
    off_reimport_clears_metadata_it_no_longer_supports,
    a_short_tsv_row_is_rejected_not_blanked,
    absent_store_and_offer_columns_keep_stored_values,
    a_repeated_key_applies_in_order_within_one_batch,
    old_report_files_do_not_outlive_a_clean_run,
    an_interrupted_demo_load_is_finished_and_user_data_is_left_alone,
    rules_import_checks_every_field_and_reimports_as_unchanged,
);

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

async fn off_sample_imports_every_row_with_reasons_and_reimports_as_unchanged(db: TestDb) {
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
    let with_all = db
        .text(
            "SELECT p.gtin FROM products p JOIN nutrition n ON n.product_id = p.id \
             WHERE p.brand_id IS NOT NULL AND p.category_id IS NOT NULL AND p.metadata <> '{}' \
             ORDER BY p.id LIMIT 1",
            &[],
        )
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

async fn a_file_without_a_column_keeps_that_field(db: TestDb) {
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

async fn off_jsonl_and_bad_lines(db: TestDb) {
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

async fn walmart_stores_skip_distribution_centers_and_offers_need_existing_rows(db: TestDb) {
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
    let store_ref = db.text("SELECT ref FROM stores ORDER BY ref LIMIT 1", &[]).await.unwrap();
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

async fn catalog_jsonl_mixes_products_stores_and_offers(db: TestDb) {
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

async fn a_missing_file_or_a_foreign_format_is_a_clear_error(db: TestDb) {
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

async fn demo_catalog_loads_with_generated_offers(db: TestDb) {
    let sources = catalog::demo::DemoSources {
        off: vec![Source::open(&demo_data("off-sample-1000.tsv.gz")).unwrap()],
        stores: Source::open(&demo_data("walmart-stores.csv.gz")).unwrap(),
        rules: None,
    };
    let r = catalog::demo::load(Arc::clone(&db.store), sources, &NoProgress).await.unwrap();
    assert_eq!(r.offers_rejected, 0);
    // 3 % of the 974 products in the assortment, each in 2.5 % of the 3,173 stores: ≈ 2,300.
    assert!((1_200..4_000).contains(&r.offers), "{r:?}");
    let demo =
        db.int("SELECT count(*) FROM offers WHERE metadata LIKE '%\"demo\":\"true\"%'", &[]).await;
    assert_eq!(demo as u64, r.offers);
    if matches!(db.db, Db::Postgres(_)) {
        // The load refreshed the planner's statistics: the first searches after it do not run
        // on plans made for empty tables.
        let analyzed = db
            .int(
                "SELECT count(*) FROM pg_stat_user_tables \
                 WHERE relname IN ('products', 'offers') AND last_analyze IS NOT NULL",
                &[],
            )
            .await;
        assert_eq!(analyzed, 2);
    }
    // A shopper in Rogers, AR (next to Walmart's home stores) finds an assortment product
    // carried by a store around them.
    let gtin = db
        .text(
            "SELECT p.gtin FROM offers o JOIN products p ON p.id = o.product_id \
             JOIN stores s ON s.id = o.store_id \
             WHERE s.lat BETWEEN 36.0 AND 36.6 AND s.lng BETWEEN -94.5 AND -93.8 \
             GROUP BY p.gtin ORDER BY count(*) DESC, p.gtin LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let c = Catalog::new(Arc::clone(&db.store), "http://localhost:8080");
    let a = c.check_availability(&gtin, 36.33, -94.12, Some(50.0)).await.unwrap();
    assert!(a.total > 0, "{a:?}");
    assert!(a.locations.iter().all(|l| l.retailer == "Walmart" && l.currency == "USD"));
}

async fn csv_quotes_follow_rfc_4180_and_every_row_is_read(db: TestDb) {
    let f = db.path("stores.csv");
    std::fs::write(
        &f,
        "retailer,store_ref,name,address,country,lat,lng\n\
         Acme,1,Acme 5\" Store,1 Main St,US,40.1,-74.1\n\
         Acme,2,Acme Two,\"2 Main St, Suite \"\"B\"\"\nsecond line\",US,40.2,-74.2\n\
         Acme,3,Acme 3\" Shop,3 Main St,US,40.3,-74.3\n\
         Acme,4,Acme Four,4 Main St,US,40.4\n\
         Acme,5,Acme Five,5 Main St,US,40.5,-74.5\n",
    )
    .unwrap();
    let r = import_path(&db.store, ImportKind::Stores, &f, db.dir.path()).await;
    assert_eq!((r.rows, r.accepted, r.rejected), (5, 4, 1), "{r:?}");
    let rejects = rejects_lines(&r);
    assert_eq!(rejects[0][0], "6", "{rejects:?}"); // row 2 spans lines 3-4, so row 4 is line 6
    assert!(rejects[0][2].contains("6 fields; the header has 7"), "{rejects:?}");
    let addr = db.text("SELECT address FROM stores WHERE ref = '2'", &[]).await.unwrap();
    assert_eq!(addr, "2 Main St, Suite \"B\" second line");
    let name = db.text("SELECT name FROM stores WHERE ref = '3'", &[]).await.unwrap();
    assert_eq!(name, "Acme 3\" Shop");
}

async fn off_reimport_clears_metadata_it_no_longer_supports(db: TestDb) {
    let header = "code\tproduct_name\tbrands\torigins_tags\tlabels_en\tnutriscore_grade\n";
    let f = db.path("a.tsv");
    std::fs::write(
        &f,
        format!("{header}4012345000009\tX\tLindt, Sprungli\ten:france,en:italy\tOrganic\ta\n"),
    )
    .unwrap();
    import_path(&db.store, ImportKind::Off, &f, db.dir.path()).await;
    let before = db.store.product(gtin("4012345000009")).await.unwrap().unwrap().metadata;
    for key in ["off_brands", "origins", "labels", "nutriscore_grade"] {
        assert!(before.get(key).is_some(), "{key} missing: {before:?}");
    }
    std::fs::write(&f, format!("{header}4012345000009\tX\tLindt\ten:france\t\t\n")).unwrap();
    let r = import_path(&db.store, ImportKind::Off, &f, db.dir.path()).await;
    assert_eq!(r.updated, 1);
    let p = db.store.product(gtin("4012345000009")).await.unwrap().unwrap();
    assert!(p.metadata.is_empty(), "{:?}", p.metadata);
    assert_eq!(p.country_of_origin.as_deref(), Some("FR"));
}

async fn a_short_tsv_row_is_rejected_not_blanked(db: TestDb) {
    let f = db.path("short.tsv");
    std::fs::write(
        &f,
        "code\tproduct_name\tbrands\tquantity\n4012345000009\tChoco\tLindt\t100 g\n",
    )
    .unwrap();
    import_path(&db.store, ImportKind::Off, &f, db.dir.path()).await;
    std::fs::write(&f, "code\tproduct_name\tbrands\tquantity\n4012345000009\tChoco\n").unwrap();
    let r = import_path(&db.store, ImportKind::Off, &f, db.dir.path()).await;
    assert_eq!(r.rejected, 1);
    assert!(rejects_lines(&r)[0][2].contains("2 tab-separated fields; the header has 4"));
    let p = db.store.product(gtin("4012345000009")).await.unwrap().unwrap();
    assert_eq!((p.brand.as_deref(), p.net_content.as_deref()), (Some("Lindt"), Some("100 g")));
}

async fn absent_store_and_offer_columns_keep_stored_values(db: TestDb) {
    db.store.upsert_products(&[product("4012345000009", "Bar")]).await.unwrap();
    let stores = db.path("s.csv");
    std::fs::write(&stores, "retailer,store_ref,name,address,postal_code,country,lat,lng\nAcme,1,One,1 Main St,10001,US,40.1,-74.1\n").unwrap();
    import_path(&db.store, ImportKind::Stores, &stores, db.dir.path()).await;
    std::fs::write(
        &stores,
        "retailer,store_ref,name,country,lat,lng\nAcme,1,One renamed,US,40.1,-74.1\n",
    )
    .unwrap();
    let r = import_path(&db.store, ImportKind::Stores, &stores, db.dir.path()).await;
    assert_eq!(r.updated, 1);
    let rows = db.text_rows("SELECT name, address, postal_code FROM stores").await;
    let text = |s: &str| Some(s.to_owned());
    assert_eq!(rows, [[text("One renamed"), text("1 Main St"), text("10001")]]);

    let offers = db.path("o.csv");
    std::fs::write(&offers, "gtin,retailer,store_ref,price,currency,inventory_status,active\n4012345000009,Acme,1,2.00,USD,low_stock,false\n").unwrap();
    import_path(&db.store, ImportKind::Offers, &offers, db.dir.path()).await;
    std::fs::write(
        &offers,
        "gtin,retailer,store_ref,price,currency\n4012345000009,Acme,1,2.50,USD\n",
    )
    .unwrap();
    let r = import_path(&db.store, ImportKind::Offers, &offers, db.dir.path()).await;
    assert_eq!(r.updated, 1);
    let rows = db
        .text_rows(
            "SELECT CAST(price_minor AS TEXT), inventory_status, \
             CASE WHEN active THEN 'yes' ELSE 'no' END FROM offers",
        )
        .await;
    assert_eq!(rows, [[text("250"), text("low_stock"), text("no")]]);
}

async fn a_repeated_key_applies_in_order_within_one_batch(db: TestDb) {
    let f = db.path("dup.csv");
    std::fs::write(
        &f,
        "retailer,store_ref,name,country,lat,lng\nAcme,1,First,US,1,1\nAcme,1,Second,US,1,1\n",
    )
    .unwrap();
    let r = import_path(&db.store, ImportKind::Stores, &f, db.dir.path()).await;
    assert_eq!((r.accepted, r.updated, r.rejected), (1, 1, 0), "{r:?}");
    let name = db.text("SELECT name FROM stores", &[]).await.unwrap();
    assert_eq!(name, "Second");
}

async fn old_report_files_do_not_outlive_a_clean_run(db: TestDb) {
    let f = db.path("r.tsv");
    std::fs::write(&f, "code\tproduct_name\n123\tBad\n").unwrap();
    let r = import_path(&db.store, ImportKind::Off, &f, db.dir.path()).await;
    let rejects = r.rejects_file.unwrap();
    assert!(rejects.exists());
    std::fs::write(&f, "code\tproduct_name\n4012345000009\tGood\n").unwrap();
    let r = import_path(&db.store, ImportKind::Off, &f, db.dir.path()).await;
    assert_eq!(r.rejected, 0);
    assert!(!rejects.exists(), "stale rejects file left behind");
}

async fn an_interrupted_demo_load_is_finished_and_user_data_is_left_alone(db: TestDb) {
    use catalog::demo::{DEMO_STATE_KEY, DemoDecision, DemoSources, load_if_needed};
    let sources = || DemoSources {
        off: vec![Source::open(&demo_data("off-sample-1000.tsv.gz")).unwrap()],
        stores: Source::open(&demo_data("walmart-stores.csv.gz")).unwrap(),
        rules: None,
    };
    // A load that stopped after the products: the marker says "loading".
    import_path(&db.store, ImportKind::Off, &demo_data("off-sample-1000.tsv.gz"), db.dir.path())
        .await;
    db.store.set_meta(DEMO_STATE_KEY, "loading").await.unwrap();
    let d = load_if_needed(Arc::clone(&db.store), sources, &NoProgress).await.unwrap();
    assert!(matches!(d, DemoDecision::Loaded(_)));
    let c = db.store.counts().await.unwrap();
    assert!(c.stores == 3173 && c.offers > 0, "{c:?}");
    assert!(matches!(
        load_if_needed(Arc::clone(&db.store), sources, &NoProgress).await.unwrap(),
        DemoDecision::AlreadyLoaded
    ));

    // A catalog with its own data and no marker is not touched.
    let other = db.another().await;
    other.store.upsert_products(&[product("4012345000009", "Mine")]).await.unwrap();
    let d = load_if_needed(Arc::clone(&other.store), sources, &NoProgress).await.unwrap();
    assert!(matches!(d, DemoDecision::CatalogNotEmpty));
    assert_eq!(other.store.counts().await.unwrap().products, 1);
}

async fn rules_import_checks_every_field_and_reimports_as_unchanged(db: TestDb) {
    use catalog::resolve::{ResolveKey, RuleScope};
    use catalog::rules::RequestContext;
    let mut p = product("09506000134352", "Demo cereal");
    p.brand = catalog::model::Patch::Set("Acme".into());
    db.store.upsert_products(&[p]).await.unwrap();
    let f = db.path("rules.jsonl");
    let good = [
        r#"{"scope":"PRODUCT","gtin":"9506000134352","custom_url":"https://acme.example/cereal"}"#,
        r#"{"scope":"BATCH","gtin":"09506000134352","batch":"LOT-9","link_type":"gs1:recallStatus","custom_url":"https://acme.example/recall","starts_at":"2026-01-01T00:00:00Z","ends_at":"2027-01-01T00:00:00Z"}"#,
        r#"{"scope":"BRAND","brand":"ACME","order_index":2,"custom_url":"https://acme.example/winter","annual_start":"12-01","annual_end":"01-15","days_of_week":["mon","fri"],"time_start":"09:00","time_end":"17:00","time_zone":"America/New_York","countries":["us","CA"],"languages":["en","fr-ca"],"on_custom_url_dead":"SKIP_RULE","title":"Winter offers"}"#,
        r#"{"scope":"GLOBAL","destination_type":"HOSTED_PAGE"}"#,
    ];
    let bad = [
        (r#"{"scope":"PRODUCT","gtin":"9506000134353","custom_url":"https://x.example"}"#, "gtin"),
        (r#"{"scope":"PLANET","custom_url":"https://x.example"}"#, "scope"),
        (
            r#"{"scope":"BATCH","gtin":"09506000134352","custom_url":"https://x.example"}"#,
            "batch: required",
        ),
        (
            r#"{"scope":"PRODUCT","gtin":"09506000134352","batch":"L1","custom_url":"https://x.example"}"#,
            "batch: not allowed",
        ),
        (
            r#"{"scope":"PRODUCT","gtin":"09506000134352","link_type":"gs1:nosuchlt","custom_url":"https://x.example"}"#,
            "link_type",
        ),
        (
            r#"{"scope":"PRODUCT","gtin":"09506000134352","destination_type":"CUSTOM_URL"}"#,
            "custom_url: required",
        ),
        (
            r#"{"scope":"PRODUCT","gtin":"09506000134352","custom_url":"ftp://x.example"}"#,
            "custom_url",
        ),
        (
            r#"{"scope":"PRODUCT","gtin":"09506000134352","order_index":1,"annual_start":"13-01","annual_end":"01-15"}"#,
            "annual_start",
        ),
        (
            r#"{"scope":"PRODUCT","gtin":"09506000134352","order_index":1,"time_start":"09:00","time_end":"17:00"}"#,
            "time_zone: required",
        ),
        (
            r#"{"scope":"PRODUCT","gtin":"09506000134352","order_index":1,"time_zone":"Mars/Olympus"}"#,
            "time_zone",
        ),
        (
            r#"{"scope":"PRODUCT","gtin":"09506000134352","order_index":1,"days_of_week":["someday"]}"#,
            "days_of_week",
        ),
        (
            r#"{"scope":"PRODUCT","gtin":"09506000134352","order_index":1,"countries":["XX"]}"#,
            "countries",
        ),
        (
            r#"{"scope":"PRODUCT","gtin":"09506000134352","order_index":1,"starts_at":"2027-01-01T00:00:00Z","ends_at":"2026-01-01T00:00:00Z"}"#,
            "ends_at",
        ),
        (
            r#"{"scope":"BRAND","brand":"Nobody","custom_url":"https://x.example"}"#,
            "no brand named",
        ),
        (
            r#"{"scope":"PRODUCT","gtin":"09506000134352","order_index":1,"title":"two\nlines"}"#,
            "title",
        ),
        (
            r#"{"scope":"ORGANIZATION","organization":"Nobody Inc","custom_url":"https://x.example"}"#,
            "no organization",
        ),
    ];
    let text: String =
        good.iter().copied().chain(bad.iter().map(|(l, _)| *l)).map(|l| format!("{l}\n")).collect();
    std::fs::write(&f, &text).unwrap();
    let r = import_path(&db.store, ImportKind::Rules, &f, db.dir.path()).await;
    assert_eq!(
        (r.rows, r.accepted, r.rejected),
        (good.len() as u64 + bad.len() as u64, good.len() as u64, bad.len() as u64),
        "{r:?}"
    );
    let rejects = rejects_lines(&r);
    assert_eq!(rejects.len(), bad.len());
    for (row, (_, needle)) in rejects.iter().zip(bad.iter()) {
        assert!(row[2].contains(needle), "expected {needle:?} in {:?}", row[2]);
    }
    let stored = db.store.rules_for(gtin("09506000134352"), None, None).await.unwrap();
    assert!(
        stored.iter().any(|r| r.title.as_deref() == Some("Winter offers")
            && r.languages.as_deref() == Some(r#"["en","fr-ca"]"#)),
        "{stored:?}"
    );
    // Re-import: nothing changes; then one rule changes.
    let again = import_path(&db.store, ImportKind::Rules, &f, db.dir.path()).await;
    assert_eq!(
        (again.accepted, again.updated, again.unchanged),
        (0, 0, good.len() as u64),
        "{again:?}"
    );
    std::fs::write(&f, good[0].replace("cereal\"", "cereal-2\"") + "\n").unwrap();
    let changed = import_path(&db.store, ImportKind::Rules, &f, db.dir.path()).await;
    assert_eq!(changed.updated, 1, "{changed:?}");

    // The imported rules drive resolution.
    let c = Catalog::new(Arc::clone(&db.store), "https://prodlink.example");
    let ctx = RequestContext::at("2026-06-01T12:00:00Z".parse().unwrap());
    let r =
        c.resolve_rules(&ResolveKey::gtin(gtin("09506000134352")), &ctx).await.unwrap().unwrap();
    assert_eq!(
        (r.matched_rule_scope, r.destination_url.as_str()),
        (Some(RuleScope::Product), "https://acme.example/cereal-2")
    );
    let recall = ResolveKey {
        batch: Some("LOT-9".into()),
        link_type: Some(gs1::LinkType::parse("gs1:recallStatus").unwrap()),
        ..ResolveKey::gtin(gtin("09506000134352"))
    };
    assert_eq!(
        c.resolve_rules(&recall, &ctx).await.unwrap().unwrap().destination_url,
        "https://acme.example/recall"
    );
    // Stored in canonical form: brand rule weekdays as bits, countries upper-case.
    let rows = db
        .text_rows("SELECT CAST(days_of_week AS TEXT), countries FROM resolver_rules WHERE scope = 'BRAND'")
        .await;
    assert_eq!(rows, [[Some((1 | 16).to_string()), Some(r#"["US","CA"]"#.to_owned())]]);
}

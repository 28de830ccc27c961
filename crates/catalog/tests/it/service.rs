//! The service functions of docs/spec.md §3 against a real SQLite file: output shapes, unknown versus
//! invalid GTINs, 8/12/13-digit lookups, comparison columns and nearby availability.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::sync::Arc;

use catalog::model::{IngredientWrite, InventoryStatus, MetadataPatch, Patch};
use catalog::{Catalog, ErrorCode};
use testkit::*;

on_both_backends!(open = TestDb::new;
    lookup_finds_the_same_product_from_any_gtin_length,
    unknown_is_not_an_error_but_invalid_is,
    validate_gtin_reports_instead_of_failing,
    detail_has_the_hosted_page_and_children,
    compare_keeps_order_and_marks_unknown_and_invalid_columns,
    availability_is_nearest_first_within_the_radius_and_active_only,
    resolve_defaults_to_the_hosted_page,
    qr_urls_are_digital_links_on_the_site,
    rules_walk_from_serial_to_global,
);
use serde_json::json;

async fn catalog(db: TestDb) -> (TestDb, Catalog) {
    let mut a = product("0614141123452", "Sample Cereal");
    a.brand = Patch::Set("Acme Foods".into());
    a.description = Patch::Set("Whole-grain breakfast cereal.".into());
    a.net_content = Patch::Set("340 g".into());
    a.country_of_origin = Patch::Set(catalog::iso::CountryCode::parse("US").unwrap());
    a.metadata =
        MetadataPatch::new(BTreeMap::from([("internal_sku".into(), "ACM-1234".into())])).unwrap();
    a.ingredients =
        Some(vec![IngredientWrite { name: "oats".into(), percentage_of_weight: Some(80.0) }]);
    let b = product("95012346", "Tiny mints");
    db.store.upsert_products(&[a, b]).await.unwrap();
    // Stores around Springfield, IL (39.7817, -89.6501) and one far away.
    db.store
        .upsert_stores(&[
            store_write("Acme", "near", 39.79, -89.65),
            store_write("Acme", "mid", 39.90, -89.65),
            store_write("Bmart", "mid2", 39.90, -89.66),
            store_write("Acme", "far", 41.88, -87.63),
            store_write("Acme", "closed", 39.78, -89.65),
        ])
        .await
        .unwrap();
    let mut closed = offer("0614141123452", "Acme", "closed", 100);
    closed.active = Some(false);
    let mut low = offer("0614141123452", "Bmart", "mid2", 399);
    low.inventory_status = Some(InventoryStatus::LowStock);
    db.store
        .upsert_offers(&[
            offer("0614141123452", "Acme", "near", 349),
            offer("0614141123452", "Acme", "mid", 329),
            low,
            offer("0614141123452", "Acme", "far", 299),
            closed,
        ])
        .await
        .unwrap();
    let c = Catalog::new(Arc::clone(&db.store), "https://prodlink.example/");
    (db, c)
}

async fn lookup_finds_the_same_product_from_any_gtin_length(db: TestDb) {
    let (_db, c) = catalog(db).await;
    let by14 = c.lookup_product("00614141123452").await.unwrap();
    assert!(by14.found);
    assert_eq!(
        serde_json::to_value(&by14).unwrap(),
        json!({"found": true, "gtin": "00614141123452", "name": "Sample Cereal", "brand": "Acme Foods",
               "description": "Whole-grain breakfast cereal.", "data_source": "manual",
               "metadata": {"internal_sku": "ACM-1234"}})
    );
    for form in ["614141123452", "0614141123452", " 6141 4112-3452 "] {
        assert_eq!(c.lookup_product(form).await.unwrap(), by14, "{form}");
    }
    // GTIN-8 stored, looked up as 8 and as 14 digits.
    let eight = c.lookup_product("95012346").await.unwrap();
    assert!(eight.found);
    assert_eq!(c.lookup_product("00000095012346").await.unwrap(), eight);
}

async fn unknown_is_not_an_error_but_invalid_is(db: TestDb) {
    let (_db, c) = catalog(db).await;
    let unknown = c.lookup_product("9506000134352").await.unwrap();
    assert_eq!(
        serde_json::to_value(&unknown).unwrap(),
        json!({"found": false, "gtin": "09506000134352", "name": null, "brand": null,
               "description": null, "data_source": null, "metadata": {}})
    );
    let e = c.lookup_product("09506000134353").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ValidationError);
    assert_eq!(e.field_errors()[0].field, "gtin");
    assert!(e.field_errors()[0].message.contains("expected 2"), "{e}");
    let e = c.get_product_detail("12345").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ValidationError);
    let detail = c.get_product_detail("9506000134352").await.unwrap();
    assert!(!detail.found && detail.product.is_none() && detail.images.is_empty());
}

async fn validate_gtin_reports_instead_of_failing(db: TestDb) {
    let (_db, c) = catalog(db).await;
    let v = serde_json::to_value(c.validate_gtin("614141123452")).unwrap();
    assert_eq!(
        v,
        json!({"valid": true, "error": null, "normalized": "00614141123452", "length": 12, "warning": null})
    );
    let bad = c.validate_gtin("614141123453");
    assert!(!bad.valid && bad.normalized.is_none());
    assert_eq!(bad.length, 12);
    assert!(bad.error.unwrap().contains("expected 2"));
    let rcn = c.validate_gtin("2112345678900");
    assert!(rcn.valid && rcn.warning.is_some());
}

async fn detail_has_the_hosted_page_and_children(db: TestDb) {
    let (_db, c) = catalog(db).await;
    let d = c.get_product_detail("614141123452").await.unwrap();
    assert!(d.found);
    assert_eq!(d.hosted_page_url, "https://prodlink.example/01/00614141123452");
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["product"]["brand"], "Acme Foods");
    assert_eq!(v["product"]["net_content"], "340 g");
    assert_eq!(v["product"]["country_of_origin"], "US");
    assert_eq!(
        v["ingredients"],
        json!([{"name": "oats", "percentage_of_weight": 80.0, "priority": 0}])
    );
    assert_eq!(v["nutrition"], serde_json::Value::Null);
}

async fn compare_keeps_order_and_marks_unknown_and_invalid_columns(db: TestDb) {
    let (_db, c) = catalog(db).await;
    let gtins = vec![
        "95012346".to_owned(),
        "00614141999999".to_owned(),
        "614141123452".to_owned(),
        "9506000134352".to_owned(),
    ];
    let out = c.compare_products(&gtins).await.unwrap();
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["items"][0]["gtin"], "00000095012346");
    assert_eq!(v["items"][1]["found"], false);
    assert_eq!(v["items"][1]["gtin"], "00614141999999");
    assert!(v["items"][1]["error"].as_str().unwrap().contains("check digit"));
    assert_eq!(v["items"][2]["found"], true);
    assert_eq!(v["items"][3]["found"], false);
    assert!(v["items"][3].get("error").is_none());
    let row = |name: &str| {
        v["attributes"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap()["values"]
            .clone()
    };
    assert_eq!(row("brand"), json!([null, null, "Acme Foods", null]));
    // price range over active offers only (the inactive $1.00 offer is ignored)
    assert_eq!(row("price_min"), json!([null, null, 2.99, null]));
    assert_eq!(row("price_max"), json!([null, null, 3.99, null]));
    let names: Vec<&str> =
        v["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["brand", "category", "net_content", "country_of_origin", "price_min", "price_max"]
    );

    for n in [1usize, 6] {
        let e = c.compare_products(&vec!["95012346".to_owned(); n]).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::ValidationError);
        assert_eq!(e.field_errors()[0].field, "gtins");
        assert!(e.to_string().contains(&format!("got {n} GTINs")), "{e}");
    }
}

async fn availability_is_nearest_first_within_the_radius_and_active_only(db: TestDb) {
    let (_db, c) = catalog(db).await;
    let out = c.check_availability("614141123452", 39.7817, -89.6501, None).await.unwrap();
    assert_eq!(out.radius_km, 25.0);
    assert_eq!(out.gtin, "00614141123452");
    let names: Vec<&str> = out.locations.iter().map(|l| l.store_name.as_str()).collect();
    assert_eq!(names, ["Acme near", "Acme mid", "Bmart mid2"]);
    assert_eq!(out.total, 3);
    assert!(out.locations.windows(2).all(|w| w[0].distance_km <= w[1].distance_km));
    assert_eq!(out.locations[0].price, 3.49);
    assert_eq!(out.locations[0].currency, "USD");
    assert_eq!(out.locations[2].inventory_status, "low_stock");
    // 13.4 km north: the mid stores are about 13 km away
    assert!((out.locations[1].distance_km - 13.1).abs() < 0.5, "{}", out.locations[1].distance_km);

    let wide = c.check_availability("614141123452", 39.7817, -89.6501, Some(300.0)).await.unwrap();
    assert_eq!(wide.total, 4);
    assert_eq!(wide.locations.last().unwrap().store_name, "Acme far");
    let none = c.check_availability("95012346", 39.7817, -89.6501, None).await.unwrap();
    assert_eq!((none.total, none.locations.len()), (0, 0));
    let unknown = c.check_availability("9506000134352", 39.7817, -89.6501, None).await.unwrap();
    assert_eq!(unknown.total, 0);

    for (lat, lng, r, field) in [
        (91.0, 0.0, None, "lat"),
        (0.0, 181.0, None, "lng"),
        (0.0, 0.0, Some(0.0), "radius_km"),
        (0.0, 0.0, Some(501.0), "radius_km"),
    ] {
        let e = c.check_availability("614141123452", lat, lng, r).await.unwrap_err();
        assert_eq!(e.field_errors()[0].field, field);
    }
}

async fn resolve_defaults_to_the_hosted_page(db: TestDb) {
    let (_db, c) = catalog(db).await;
    let r = c.resolve_gtin("614141123452", Some("gs1:pip")).await.unwrap();
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"destination_url": "https://prodlink.example/01/00614141123452",
               "destination_type": "HOSTED_PAGE", "fallback_applied": true,
               "product_found": true, "matched_rule_scope": null})
    );
    let unknown = c.resolve_gtin("9506000134352", None).await.unwrap();
    assert!(!unknown.product_found && unknown.fallback_applied);
    assert_eq!(
        c.resolve_gtin("9506000134352", Some("https://ref.gs1.org/voc/recallStatus"))
            .await
            .unwrap()
            .destination_type,
        catalog::resolve::DestinationType::HostedPage
    );
    let e = c.resolve_gtin("9506000134352", Some("gs1:nosuchlt")).await.unwrap_err();
    assert_eq!(e.field_errors()[0].field, "link_type");
    let e = c.resolve_gtin("9506000134353", None).await.unwrap_err();
    assert_eq!(e.field_errors()[0].field, "gtin");
}

async fn qr_urls_are_digital_links_on_the_site(db: TestDb) {
    let (_db, c) = catalog(db).await;
    let q = c.generate_qr_url("614141123452", Some("LOT-A1"), Some("SN-0001/x")).unwrap();
    assert_eq!(
        serde_json::to_value(&q).unwrap(),
        json!({"qr_url": "https://prodlink.example/01/00614141123452/10/LOT-A1/21/SN-0001%2Fx",
               "gtin14": "00614141123452", "host": "prodlink.example"})
    );
    let plain = c.generate_qr_url("95012346", None, None).unwrap();
    assert_eq!(plain.qr_url, "https://prodlink.example/01/00000095012346");
    let e = c.generate_qr_url("95012346", Some(&"L".repeat(21)), None).unwrap_err();
    assert_eq!(e.field_errors()[0].field, "batch");
    let e = c.generate_qr_url("95012346", None, Some("a~b")).unwrap_err();
    assert_eq!(e.field_errors()[0].field, "serial");
    let e = c.generate_qr_url("95012347", None, None).unwrap_err();
    assert_eq!(e.field_errors()[0].field, "gtin");
}

/// Inserts a rule row (the database's checks apply).
async fn add_rule(
    db: &TestDb,
    scope: &str,
    target: &str,
    order: i64,
    extra: &[(&str, &str)],
) -> i64 {
    let (gtin, qualifier, brand, org, key) = match scope {
        "SERIAL" | "BATCH" => {
            let (g, q) = target.split_once('/').unwrap();
            let ai = if scope == "SERIAL" { "21" } else { "10" };
            (Some(g), Some(q), None, None, format!("{g}/{ai}/{q}"))
        }
        "PRODUCT" => (Some(target), None, None, None, target.to_owned()),
        "BRAND" => {
            (None, None, Some(target.parse::<i64>().unwrap()), None, format!("brand:{target}"))
        }
        "ORGANIZATION" => (
            None,
            None,
            None,
            Some(target.parse::<i64>().unwrap()),
            format!("organization:{target}"),
        ),
        _ => (None, None, None, None, String::new()),
    };
    let url = format!("https://brand.example/{}/{}", scope.to_lowercase(), order);
    // Test-only SQL: every value is a literal of this file (no quotes inside).
    let text = |v: Option<&str>| v.map_or("NULL".to_owned(), |v| format!("'{v}'"));
    let int = |v: Option<i64>| v.map_or("NULL".to_owned(), |v| v.to_string());
    let id = db
        .int(format!(
            "INSERT INTO resolver_rules (scope, scope_gtin, scope_qualifier, brand_id, organization_id, scope_key, order_index, \
             destination_type, custom_url, created_at, updated_at) \
             VALUES ('{scope}', {}, {}, {}, {}, '{key}', {order}, 'CUSTOM_URL', '{url}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') RETURNING id",
            text(gtin),
            text(qualifier),
            int(brand),
            int(org),
        ), &[])
        .await;
    for (column, value) in extra {
        db.try_execute(
            format!("UPDATE resolver_rules SET {column} = '{value}' WHERE id = {id}"),
            &[],
        )
        .await
        .unwrap();
    }
    id
}

async fn rules_walk_from_serial_to_global(db: TestDb) {
    use catalog::resolve::{DestinationType, ResolveKey, RuleScope};
    use catalog::rules::RequestContext;
    let (db, c) = catalog(db).await;
    let g = "00614141123452";
    db.try_execute("INSERT INTO organizations (name, created_at, updated_at) VALUES ('Acme Holdings', 'x', 'x')", &[])
        .await
        .unwrap();
    db.try_execute("UPDATE brands SET organization_id = 1 WHERE name = 'Acme Foods'", &[])
        .await
        .unwrap();
    let brand = db.int(format!("SELECT brand_id FROM products WHERE gtin = '{g}'"), &[]).await;
    add_rule(&db, "GLOBAL", "", 0, &[]).await;
    add_rule(&db, "ORGANIZATION", "1", 0, &[]).await;
    add_rule(&db, "BRAND", &brand.to_string(), 0, &[]).await;
    add_rule(&db, "PRODUCT", g, 3, &[]).await;
    add_rule(&db, "PRODUCT", g, 1, &[("enabled", "0")]).await;
    add_rule(&db, "BATCH", &format!("{g}/LOT-9"), 0, &[]).await;
    add_rule(&db, "SERIAL", &format!("{g}/SN-1"), 0, &[]).await;
    // A recall link for one batch, only in 2026.
    add_rule(
        &db,
        "BATCH",
        &format!("{g}/LOT-9"),
        1,
        &[
            ("link_type", "gs1:recallStatus"),
            ("starts_at", "2026-01-01T00:00:00Z"),
            ("ends_at", "2027-01-01T00:00:00Z"),
        ],
    )
    .await;

    let ctx = RequestContext::at("2026-06-01T12:00:00Z".parse().unwrap());
    let key = |batch: Option<&str>, serial: Option<&str>| ResolveKey {
        batch: batch.map(str::to_owned),
        serial: serial.map(str::to_owned),
        ..ResolveKey::gtin(gtin(g))
    };
    let url = |k: ResolveKey| {
        let c = c.clone();
        let ctx = ctx.clone();
        async move { c.resolve_rules(&k, &ctx).await.unwrap().unwrap() }
    };
    let r = url(key(Some("LOT-9"), Some("SN-1"))).await;
    assert_eq!(
        (r.matched_rule_scope, r.destination_url.as_str()),
        (Some(RuleScope::Serial), "https://brand.example/serial/0")
    );
    assert!(!r.fallback_applied && r.product_found);
    assert_eq!(r.destination_type, DestinationType::CustomUrl);
    assert_eq!(
        url(key(Some("LOT-9"), Some("SN-2"))).await.matched_rule_scope,
        Some(RuleScope::Batch)
    );
    assert_eq!(
        url(key(Some("LOT-8"), None)).await.destination_url,
        "https://brand.example/product/3",
        "disabled rules do not count"
    );
    db.try_execute("DELETE FROM resolver_rules WHERE scope = 'PRODUCT'", &[]).await.unwrap();
    assert_eq!(url(key(None, None)).await.matched_rule_scope, Some(RuleScope::Brand));
    db.try_execute("DELETE FROM resolver_rules WHERE scope = 'BRAND'", &[]).await.unwrap();
    assert_eq!(url(key(None, None)).await.matched_rule_scope, Some(RuleScope::Organization));
    // Another product: only the global rule applies.
    let other = c.resolve_rules(&ResolveKey::gtin(gtin("95012346")), &ctx).await.unwrap().unwrap();
    assert_eq!(other.matched_rule_scope, Some(RuleScope::Global));

    // Link types: the recall link exists for LOT-9 in 2026 only; the HTTP resolver gets None
    // (404) otherwise, and the tool falls back to the default.
    let recall = |batch: &str| ResolveKey {
        link_type: Some(gs1::LinkType::parse("gs1:recallStatus").unwrap()),
        ..key(Some(batch), None)
    };
    assert_eq!(
        c.resolve_rules(&recall("LOT-9"), &ctx).await.unwrap().unwrap().destination_url,
        "https://brand.example/batch/1"
    );
    let later = RequestContext::at("2027-02-01T00:00:00Z".parse().unwrap());
    assert_eq!(c.resolve_rules(&recall("LOT-9"), &later).await.unwrap(), None);
    assert_eq!(c.resolve_rules(&recall("LOT-8"), &ctx).await.unwrap(), None);
    let tool = c.resolve_gtin(g, Some("gs1:pip")).await.unwrap();
    assert_eq!(
        tool.matched_rule_scope,
        Some(RuleScope::Organization),
        "tool: default link when no rule of the type"
    );

    // Dead URLs: fall back to the hosted page (of the requested level) or skip the rule.
    db.try_execute("UPDATE resolver_rules SET url_status = 'dead' WHERE scope = 'SERIAL'", &[])
        .await
        .unwrap();
    let r = url(key(Some("LOT-9"), Some("SN-1"))).await;
    assert_eq!(r.destination_type, DestinationType::HostedPage);
    assert_eq!(r.destination_url, "https://prodlink.example/01/00614141123452/10/LOT-9/21/SN-1");
    db.try_execute(
        "UPDATE resolver_rules SET on_custom_url_dead = 'SKIP_RULE' WHERE scope = 'SERIAL'",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        url(key(Some("LOT-9"), Some("SN-1"))).await.matched_rule_scope,
        Some(RuleScope::Batch)
    );

    // No rules at all: the built-in default.
    db.try_execute("DELETE FROM resolver_rules", &[]).await.unwrap();
    let r = url(key(None, None)).await;
    assert!(r.fallback_applied && r.matched_rule_scope.is_none());
}

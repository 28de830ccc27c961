//! Resolver-rule management (catalog::rules_admin) on both backends: create, read, update,
//! delete and reorder through the service, each change leaving exactly one `audit_events` row
//! with the rule before and after; ownership (another organization's products, brands, itself,
//! GLOBAL rules, another organization's rule ids); `order_index` conflicts; stale versions;
//! and the resolver seeing every change at once, through the cache too.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use catalog::cache::{CacheSettings, CachedStore};
use catalog::model::Patch;
use catalog::rules_admin::{Actor, ManagedRule, RuleAdminError};
use catalog::{Catalog, CatalogStore, ErrorCode, ServiceError};
use serde_json::{Map, Value, json};
use testkit::*;

on_both_backends!(open = TestDb::new;
    rules_are_created_read_updated_and_deleted_with_one_audit_row_each,
    organizations_act_only_on_their_own_targets_and_rules,
    order_indexes_conflict_and_scopes_reorder_atomically,
    stale_versions_are_refused,
    resolution_follows_rule_changes_at_once,
);

const OURS: &str = "09506000134352";
const THEIRS: &str = "00614141123452";
const SITE: &str = "http://localhost:8080";

/// Two organizations, each with a brand and a product, and a user; returns
/// (our organization, their organization, our brand, their brand, the actor).
async fn setup(db: &TestDb) -> (i64, i64, i64, i64, Actor) {
    let mut a = product(OURS, "Our cereal");
    a.brand = Patch::Set("Our Brand".into());
    let mut b = product(THEIRS, "Their cereal");
    b.brand = Patch::Set("Their Brand".into());
    db.store.upsert_products(&[a, b]).await.unwrap();
    for name in ["Us", "Them"] {
        db.try_execute(format!(
            "INSERT INTO organizations (name, created_at, updated_at) VALUES ('{name}', 't', 't')"
        ), &[])
        .await
        .unwrap();
    }
    let us = db.int("SELECT id FROM organizations WHERE name = 'Us'", &[]).await;
    let them = db.int("SELECT id FROM organizations WHERE name = 'Them'", &[]).await;
    db.try_execute(
        format!("UPDATE brands SET organization_id = {us} WHERE name = 'Our Brand'"),
        &[],
    )
    .await
    .unwrap();
    db.try_execute(
        format!("UPDATE brands SET organization_id = {them} WHERE name = 'Their Brand'"),
        &[],
    )
    .await
    .unwrap();
    let ours = db.int("SELECT id FROM brands WHERE name = 'Our Brand'", &[]).await;
    let theirs = db.int("SELECT id FROM brands WHERE name = 'Their Brand'", &[]).await;
    db.try_execute(
        format!(
            "INSERT INTO users (email, password_hash, organization_id, created_at, updated_at) \
         VALUES ('owner@example.com', '$argon2id$x', {us}, 't', 't')"
        ),
        &[],
    )
    .await
    .unwrap();
    let user = db.int("SELECT id FROM users WHERE email = 'owner@example.com'", &[]).await;
    let actor = Actor {
        user_id: Some(user),
        client_id: Some("prodlink-cli".into()),
        request_id: Some("req-1".into()),
    };
    (us, them, ours, theirs, actor)
}

fn body(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn service(e: RuleAdminError) -> ServiceError {
    match e {
        RuleAdminError::Service(e) => e,
        RuleAdminError::PreconditionFailed(d) => panic!("unexpected 412: {d}"),
    }
}

/// The audit rows, oldest first: (action, outcome, user, client, request, target, arguments,
/// before, after).
async fn audit(db: &TestDb) -> Vec<Vec<Option<String>>> {
    db.text_rows(
        "SELECT action, outcome, CAST(user_id AS TEXT), client_id, request_id, target, arguments, \
         before_state, after_state FROM audit_events ORDER BY id",
    )
    .await
}

fn parsed(s: &Option<String>) -> Value {
    s.as_deref().map(|s| serde_json::from_str(s).unwrap()).unwrap_or(Value::Null)
}

async fn rules_are_created_read_updated_and_deleted_with_one_audit_row_each(db: TestDb) {
    let (us, _, _, _, actor) = setup(&db).await;
    let c = Catalog::new(db.store.clone(), SITE);
    let created = c
        .create_rule(
            us,
            &body(json!({
                "scope": "PRODUCT", "gtin": "9506000134352", "custom_url": "https://brand.example/a",
                "countries": ["us"], "days_of_week": ["sat", "sun"], "annual_start": "12-01",
                "annual_end": "01-15", "time_start": "09:00", "time_end": "17:00",
                "time_zone": "Europe/Paris", "languages": ["fr-CA"], "title": "Winter",
                "metadata": {"campaign": "winter"}
            })),
            &actor,
        )
        .await
        .unwrap();
    assert_eq!(created.gtin.as_deref(), Some(OURS));
    assert_eq!(created.order_index, 0, "the first rule of the scope");
    assert_eq!(created.countries, Some(vec!["US".to_owned()]));
    assert_eq!(created.languages, Some(vec!["fr-ca".to_owned()]));
    assert_eq!(created.url_status, "unknown");
    assert_eq!(c.managed_rule(us, created.id).await.unwrap(), created);
    let page = c.list_rules(us, 1, 20).await.unwrap();
    assert_eq!(page.items, std::slice::from_ref(&created));
    assert_eq!((page.pagination.total, page.pagination.total_pages), (1, 1));

    let rows = audit(&db).await;
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r[0].as_deref(), Some("rule.create"));
    assert_eq!(r[1].as_deref(), Some("ok"));
    assert_eq!(r[2], actor.user_id.map(|u| u.to_string()));
    assert_eq!(r[3].as_deref(), Some("prodlink-cli"));
    assert_eq!(r[4].as_deref(), Some("req-1"));
    assert_eq!(r[5], Some(format!("rule:{}", created.id)));
    assert_eq!(parsed(&r[6])["organization_id"], us);
    assert_eq!(r[7], None, "nothing before a creation");
    assert_eq!(parsed(&r[8]), serde_json::to_value(&created).unwrap());

    let updated = c
        .update_rule(us, created.id, None, &body(json!({"enabled": false, "title": null})), &actor)
        .await
        .unwrap();
    assert!(!updated.enabled);
    assert_eq!(updated.title, None);
    assert_eq!(updated.custom_url, created.custom_url, "what the patch does not name stays");
    assert_eq!(updated.metadata, created.metadata);
    let rows = audit(&db).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0].as_deref(), Some("rule.update"));
    let (before, after) = (parsed(&rows[1][7]), parsed(&rows[1][8]));
    assert_eq!(before, serde_json::to_value(&created).unwrap());
    assert_eq!(after, serde_json::to_value(&updated).unwrap());
    assert_eq!((before["enabled"].clone(), after["enabled"].clone()), (json!(true), json!(false)));

    // Changing the URL restarts its health check.
    db.try_execute(
        format!("UPDATE resolver_rules SET url_status = 'dead' WHERE id = {}", created.id),
        &[],
    )
    .await
    .unwrap();
    let moved = c
        .update_rule(
            us,
            created.id,
            None,
            &body(json!({"custom_url": "https://brand.example/b"})),
            &actor,
        )
        .await
        .unwrap();
    assert_eq!(moved.url_status, "unknown");

    c.delete_rule(us, created.id, None, &actor).await.unwrap();
    let rows = audit(&db).await;
    assert_eq!(rows.len(), 4, "one row per change");
    assert_eq!(rows[3][0].as_deref(), Some("rule.delete"));
    assert_eq!(parsed(&rows[3][7]), serde_json::to_value(&moved).unwrap());
    assert_eq!(rows[3][8], None, "nothing after a deletion");
    let e = c.managed_rule(us, created.id).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(c.list_rules(us, 1, 20).await.unwrap().pagination.total, 0);
}

async fn organizations_act_only_on_their_own_targets_and_rules(db: TestDb) {
    let (us, them, ours, theirs, actor) = setup(&db).await;
    let c = Catalog::new(db.store.clone(), SITE);
    let forbidden = [
        json!({"scope": "PRODUCT", "gtin": THEIRS}),
        json!({"scope": "BATCH", "gtin": THEIRS, "batch": "L1"}),
        json!({"scope": "PRODUCT", "gtin": "04012345000009"}), // not in the catalog
        json!({"scope": "BRAND", "brand_id": theirs}),
        json!({"scope": "BRAND", "brand_id": 999_999}),
        json!({"scope": "ORGANIZATION", "organization_id": them}),
        json!({"scope": "GLOBAL"}),
    ];
    for b in forbidden {
        let e = service(c.create_rule(us, &body(b.clone()), &actor).await.unwrap_err());
        assert_eq!(e.code(), ErrorCode::Forbidden, "{b}: {e}");
    }
    // Theirs, made by them.
    let their_rule = c
        .create_rule(them, &body(json!({"scope": "PRODUCT", "gtin": THEIRS})), &actor)
        .await
        .unwrap();
    // Ours at every owned level.
    let mut mine = Vec::new();
    for b in [
        json!({"scope": "SERIAL", "gtin": OURS, "serial": "S-1"}),
        json!({"scope": "BATCH", "gtin": OURS, "batch": "L-1"}),
        json!({"scope": "PRODUCT", "gtin": OURS}),
        json!({"scope": "BRAND", "brand_id": ours}),
        json!({"scope": "ORGANIZATION", "organization_id": us}),
    ] {
        mine.push(c.create_rule(us, &body(b), &actor).await.unwrap());
    }
    let listed = c.list_rules(us, 1, 100).await.unwrap();
    assert_eq!(listed.items, mine, "ours only, by id");
    let theirs_listed = c.list_rules(them, 1, 100).await.unwrap();
    assert_eq!(theirs_listed.items, std::slice::from_ref(&their_rule));
    // Pages.
    let p2 = c.list_rules(us, 2, 2).await.unwrap();
    assert_eq!(p2.items, mine[2..4]);
    assert_eq!((p2.pagination.total, p2.pagination.total_pages), (5, 3));
    assert!(c.list_rules(us, 9, 2).await.unwrap().items.is_empty());
    assert_eq!(c.list_rules(us, 1, 101).await.unwrap_err().field_errors()[0].field, "page_size");

    // Their rule does not exist for us, whatever we do with it.
    let id = their_rule.id;
    assert_eq!(c.managed_rule(us, id).await.unwrap_err().code(), ErrorCode::NotFound);
    let e = c.update_rule(us, id, None, &body(json!({"enabled": false})), &actor).await;
    assert_eq!(service(e.unwrap_err()).code(), ErrorCode::NotFound);
    let e = c.delete_rule(us, id, None, &actor).await;
    assert_eq!(service(e.unwrap_err()).code(), ErrorCode::NotFound);
    // Our rule cannot be moved to their product.
    let e = c.update_rule(us, mine[2].id, None, &body(json!({"gtin": THEIRS})), &actor).await;
    assert_eq!(service(e.unwrap_err()).code(), ErrorCode::Forbidden);
    // Nor can they reorder our scope.
    let e = c
        .reorder_rules(
            them,
            &body(json!({"scope": "PRODUCT", "gtin": OURS, "rule_ids": [mine[2].id]})),
            &actor,
        )
        .await;
    assert_eq!(service(e.unwrap_err()).code(), ErrorCode::Forbidden);
    // Refusals leave no trace; the six creations each left one.
    let rows = audit(&db).await;
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r[0].as_deref() == Some("rule.create")));
    assert_eq!(db.int("SELECT count(*) FROM resolver_rules", &[]).await, 6);
    // A brand leaving the organization takes its rules with it.
    db.try_execute(format!("UPDATE brands SET organization_id = {them} WHERE id = {ours}"), &[])
        .await
        .unwrap();
    assert_eq!(c.list_rules(us, 1, 100).await.unwrap().items, [mine[4].clone()]);
}

async fn order_indexes_conflict_and_scopes_reorder_atomically(db: TestDb) {
    let (us, _, ours, _, actor) = setup(&db).await;
    let c = Catalog::new(db.store.clone(), SITE);
    let brand = json!({"scope": "BRAND", "brand_id": ours});
    let mut made: Vec<ManagedRule> = Vec::new();
    for url in ["a", "b", "c"] {
        let mut b = body(brand.clone());
        b.insert("custom_url".into(), format!("https://brand.example/{url}").into());
        made.push(c.create_rule(us, &b, &actor).await.unwrap());
    }
    let indexes: Vec<i64> = made.iter().map(|r| r.order_index).collect();
    assert_eq!(indexes, [0, 1, 2], "each new rule goes last");
    // A taken position is a conflict, on creation and on update.
    let mut taken = body(brand.clone());
    taken.insert("order_index".into(), 1.into());
    let e = service(c.create_rule(us, &taken, &actor).await.unwrap_err());
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    let e = c.update_rule(us, made[0].id, None, &body(json!({"order_index": 2})), &actor).await;
    assert_eq!(service(e.unwrap_err()).code(), ErrorCode::Conflict);
    // Another scope's position 1 is free.
    let mut product = body(json!({"scope": "PRODUCT", "gtin": OURS}));
    product.insert("order_index".into(), 1.into());
    let other = c.create_rule(us, &product, &actor).await.unwrap();
    let audit_before = audit(&db).await.len();

    let ids = [made[2].id, made[0].id, made[1].id];
    let scope = json!({"scope": "BRAND", "brand_id": ours, "rule_ids": ids});
    let out = c.reorder_rules(us, &body(scope), &actor).await.unwrap();
    let got: Vec<(i64, i64)> = out.items.iter().map(|r| (r.id, r.order_index)).collect();
    assert_eq!(got, [(ids[0], 0), (ids[1], 1), (ids[2], 2)]);
    let stored = c.list_rules(us, 1, 20).await.unwrap();
    let url_of = |i: usize| stored.items.iter().find(|r| r.id == ids[i]).unwrap().order_index;
    assert_eq!((url_of(0), url_of(1), url_of(2)), (0, 1, 2));
    assert_eq!(c.managed_rule(us, other.id).await.unwrap().order_index, 1, "other scopes stay");
    let rows = audit(&db).await;
    assert_eq!(rows.len(), audit_before + 1, "one row for the whole reorder");
    let r = rows.last().unwrap();
    assert_eq!(r[0].as_deref(), Some("rule.reorder"));
    assert_eq!(r[5], Some(format!("rules:BRAND:brand:{ours}")));
    let order = |v: Value| -> Vec<(i64, i64)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| (x["id"].as_i64().unwrap(), x["order_index"].as_i64().unwrap()))
            .collect()
    };
    assert_eq!(order(parsed(&r[7])), [(made[0].id, 0), (made[1].id, 1), (made[2].id, 2)]);
    assert_eq!(order(parsed(&r[8])), got);
    assert_eq!(parsed(&r[6])["rule_ids"], json!(ids));

    // The list must be exactly the scope's rules.
    for bad in [json!([ids[0], ids[1]]), json!([ids[0], ids[1], ids[2], other.id])] {
        let b = json!({"scope": "BRAND", "brand_id": ours, "rule_ids": bad});
        let e = service(c.reorder_rules(us, &body(b), &actor).await.unwrap_err());
        assert_eq!(e.field_errors()[0].field, "rule_ids", "{e}");
    }
    assert_eq!(audit(&db).await.len(), audit_before + 1, "refused reorders leave no row");
}

async fn stale_versions_are_refused(db: TestDb) {
    let (us, _, _, _, actor) = setup(&db).await;
    let c = Catalog::new(db.store.clone(), SITE);
    let r =
        c.create_rule(us, &body(json!({"scope": "PRODUCT", "gtin": OURS})), &actor).await.unwrap();
    let old = r.etag();
    let patch = body(json!({"title": "First"}));
    let r2 = c.update_rule(us, r.id, Some(&old), &patch, &actor).await.unwrap();
    assert_ne!(r2.etag(), old);
    let e = c.update_rule(us, r.id, Some(&old), &body(json!({"title": "Second"})), &actor).await;
    assert!(matches!(e, Err(RuleAdminError::PreconditionFailed(_))), "{e:?}");
    let e = c.delete_rule(us, r.id, Some(&old), &actor).await;
    assert!(matches!(e, Err(RuleAdminError::PreconditionFailed(_))), "{e:?}");
    // The store refuses a change based on a version that is no longer stored.
    let draft =
        catalog::rules_admin::validate(&body(json!({"scope": "PRODUCT", "gtin": OURS}))).unwrap();
    let refused = db.store.update_rule(us, &r, &draft, &actor).await.unwrap();
    assert_eq!(refused, Err(catalog::rules_admin::RuleRefusal::Stale));
    let refused = db.store.delete_rule(us, &r, &actor).await.unwrap();
    assert_eq!(refused, Err(catalog::rules_admin::RuleRefusal::Stale));
    c.delete_rule(us, r.id, Some(&format!("\"x\", {}", r2.etag())), &actor).await.unwrap();
    assert_eq!(audit(&db).await.len(), 3, "create, update, delete");
}

async fn resolution_follows_rule_changes_at_once(db: TestDb) {
    let (us, _, ours, _, actor) = setup(&db).await;
    // A cache that would hide changes for an hour unless they clear it.
    let settings = CacheSettings { capacity: 100, ttl: Duration::from_secs(3600) };
    let store: Arc<dyn CatalogStore> = Arc::new(CachedStore::new(db.store.clone(), settings));
    let c = Catalog::new(store, SITE);
    let before = c.resolve_gtin(OURS, None).await.unwrap();
    assert!(before.fallback_applied);
    let brand = c
        .create_rule(
            us,
            &body(json!({"scope": "BRAND", "brand_id": ours, "custom_url": "https://brand.example/all"})),
            &actor,
        )
        .await
        .unwrap();
    let out = c.resolve_gtin(OURS, None).await.unwrap();
    assert_eq!(out.destination_url, "https://brand.example/all");
    assert!(!out.fallback_applied);
    let product = c
        .create_rule(
            us,
            &body(json!({"scope": "PRODUCT", "gtin": OURS, "custom_url": "https://brand.example/one"})),
            &actor,
        )
        .await
        .unwrap();
    assert_eq!(
        c.resolve_gtin(OURS, None).await.unwrap().destination_url,
        "https://brand.example/one"
    );
    c.update_rule(us, product.id, None, &body(json!({"enabled": false})), &actor).await.unwrap();
    assert_eq!(
        c.resolve_gtin(OURS, None).await.unwrap().destination_url,
        "https://brand.example/all"
    );
    c.delete_rule(us, brand.id, None, &actor).await.unwrap();
    let after = c.resolve_gtin(OURS, None).await.unwrap();
    assert!(after.fallback_applied, "{after:?}");
    assert_eq!(after, before);
}

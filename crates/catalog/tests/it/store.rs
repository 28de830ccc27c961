//! Storage tests on both backends (a real SQLite file, a real PostgreSQL database): the schema
//! refuses bad states, batch upserts report one
//! outcome per row, merges keep what a write does not mention, and a refused row does not take
//! its batch down with it.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;

use catalog::model::{
    CategoryRef, ImageWrite, IngredientWrite, LabelFormat, MetadataPatch, NutrientWrite,
    NutritionWrite, Patch, WriteOutcome,
};
use testkit::*;

on_both_backends!(open = TestDb::new;
    schema_refuses_bad_states,
    upserts_insert_update_and_recognize_unchanged_rows,
    children_are_replaced_not_appended,
    every_row_gets_an_outcome_and_bad_rows_do_not_sink_the_batch,
    stores_and_offers_upsert_by_their_keys,
    rules_accounts_and_audit_refuse_bad_states,
    custom_url_checks_are_claimed_by_one_process_per_interval,
    a_text_change_while_its_product_is_embedded_is_not_lost,
    versioned_writes_apply_only_to_the_version_they_name,
);

#[tokio::test]
async fn database_is_a_wal_file_with_foreign_keys_on() {
    let db = TestDb::sqlite().await;
    let pool = db.sqlite_store().pool();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(pool).await.unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(pool).await.unwrap();
    assert_eq!(fk, 1);
    assert!(db.path("catalog.db").exists());
    // Migrating twice is a no-op.
    db.sqlite_store().migrate().await.unwrap();
}

/// Each statement must be refused by the schema itself, whatever the application does.
async fn schema_refuses_bad_states(db: TestDb) {
    let ok = db.try_execute(
        "INSERT INTO products (gtin, name, data_source, created_at, updated_at) VALUES ('09506000134352', 'x', 'off', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')", &[]
    )
    .await;
    assert!(ok.is_ok(), "{ok:?}");

    let refused = [
        // bad check digit, short, letters, all zeros
        "INSERT INTO products (gtin, name, data_source, created_at, updated_at) VALUES ('09506000134353', 'x', 'off', 't', 't')",
        "INSERT INTO products (gtin, name, data_source, created_at, updated_at) VALUES ('9506000134352', 'x', 'off', 't', 't')",
        "INSERT INTO products (gtin, name, data_source, created_at, updated_at) VALUES ('0950600013435a', 'x', 'off', 't', 't')",
        "INSERT INTO products (gtin, name, data_source, created_at, updated_at) VALUES ('00000000000000', 'x', 'off', 't', 't')",
        // unknown data source, empty name, unknown country
        "INSERT INTO products (gtin, name, data_source, created_at, updated_at) VALUES ('04012345000009', 'x', 'scraped', 't', 't')",
        "INSERT INTO products (gtin, name, data_source, created_at, updated_at) VALUES ('04012345000009', '  ', 'off', 't', 't')",
        "INSERT INTO products (gtin, name, data_source, country_of_origin, created_at, updated_at) VALUES ('04012345000009', 'x', 'off', 'XX', 't', 't')",
        // metadata: not an object, a non-string value, a 41-character key, 51 keys
        "INSERT INTO products (gtin, name, data_source, metadata, created_at, updated_at) VALUES ('04012345000009', 'x', 'off', '[]', 't', 't')",
        "INSERT INTO products (gtin, name, data_source, metadata, created_at, updated_at) VALUES ('04012345000009', 'x', 'off', '{\"a\":1}', 't', 't')",
        "INSERT INTO products (gtin, name, data_source, metadata, created_at, updated_at) VALUES ('04012345000009', 'x', 'off', '{\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\":\"v\"}', 't', 't')",
        // a second primary image is impossible; coordinates out of range
        "INSERT INTO stores (retailer_id, ref, name, country, lat, lng, created_at, updated_at) VALUES (1, 'r', 'n', 'US', 91, 0, 't', 't')",
    ];
    for sql in refused {
        let r = db.try_execute(sql, &[]).await;
        assert!(r.is_err(), "the schema accepted: {sql}");
    }
    let many: BTreeMap<String, String> =
        (0..51).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    let r = db
        .try_execute(format!(
            "INSERT INTO products (gtin, name, data_source, metadata, created_at, updated_at) VALUES ('04012345000009', 'x', 'off', '{}', 't', 't')",
            serde_json::to_string(&many).unwrap()
        ), &[])
        .await;
    // SQLite's trigger and PostgreSQL's named check constraint both say what was violated.
    let e = r.unwrap_err().to_string();
    assert!(e.contains("metadata limits") || e.contains("products_metadata_limits"), "{e}");

    // offers: unknown currency, unknown status, negative price
    db.try_execute(
        "INSERT INTO retailers (name, created_at, updated_at) VALUES ('R', 't', 't')",
        &[],
    )
    .await
    .unwrap();
    db.try_execute("INSERT INTO stores (retailer_id, ref, name, country, lat, lng, created_at, updated_at) VALUES (1, 's', 'S', 'US', 1, 1, 't', 't')", &[]).await.unwrap();
    for sql in [
        "INSERT INTO offers (product_id, store_id, price_minor, currency, created_at, updated_at) VALUES (1, 1, 100, 'XYZ', 't', 't')",
        "INSERT INTO offers (product_id, store_id, price_minor, currency, inventory_status, created_at, updated_at) VALUES (1, 1, 100, 'USD', 'available', 't', 't')",
        "INSERT INTO offers (product_id, store_id, price_minor, currency, created_at, updated_at) VALUES (1, 1, -1, 'USD', 't', 't')",
        "INSERT INTO offers (product_id, store_id, price_minor, currency, created_at, updated_at) VALUES (99, 1, 100, 'USD', 't', 't')",
    ] {
        let r = db.try_execute(sql, &[]).await;
        assert!(r.is_err(), "the schema accepted: {sql}");
    }
    db.try_execute("INSERT INTO product_images (product_id, url, is_primary, created_at) VALUES (1, 'https://a.example/1.jpg', true, 't')", &[]).await.unwrap();
    let second = db.try_execute("INSERT INTO product_images (product_id, url, is_primary, created_at) VALUES (1, 'https://a.example/2.jpg', true, 't')", &[]).await;
    assert!(second.is_err());
}

async fn upserts_insert_update_and_recognize_unchanged_rows(db: TestDb) {
    let mut a = product("4012345000009", "Dark chocolate");
    a.brand = Patch::Set("Lindt".into());
    a.category = Patch::Set(vec![
        CategoryRef { id: "en:snacks".into(), name: "Snacks".into() },
        CategoryRef { id: "en:chocolates".into(), name: "Chocolates".into() },
    ]);
    a.metadata = MetadataPatch::new(BTreeMap::from([
        ("sku".into(), "A-1".into()),
        ("tmp".into(), "x".into()),
    ]))
    .unwrap();
    let b = product("95012346", "Sample 8");
    let out = db.store.upsert_products(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(out, vec![WriteOutcome::Inserted, WriteOutcome::Inserted]);

    // The same writes again change nothing.
    let out = db.store.upsert_products(&[a.clone(), b]).await.unwrap();
    assert_eq!(out, vec![WriteOutcome::Unchanged, WriteOutcome::Unchanged]);

    // A partial update keeps what it does not mention and merges metadata.
    let mut upd =
        catalog::model::ProductWrite::new(gtin("04012345000009"), catalog::model::DataSource::Api);
    upd.description = Patch::Set("70% cocoa".into());
    upd.metadata = MetadataPatch::new(BTreeMap::from([
        ("tmp".into(), String::new()),
        ("new".into(), "y".into()),
    ]))
    .unwrap();
    assert_eq!(db.store.upsert_products(&[upd]).await.unwrap(), vec![WriteOutcome::Updated]);
    let p = db.store.product(gtin("04012345000009")).await.unwrap().unwrap();
    assert_eq!(p.name, "Dark chocolate");
    assert_eq!(p.brand.as_deref(), Some("Lindt"));
    assert_eq!(p.category.as_deref(), Some("Chocolates"));
    assert_eq!(p.description.as_deref(), Some("70% cocoa"));
    assert_eq!(p.metadata.to_json(), r#"{"new":"y","sku":"A-1"}"#);
    assert_eq!(p.data_source.as_str(), "api");

    // Brands match case-insensitively: no second "LINDT" brand.
    let mut c = product("9506000134352", "Milk chocolate");
    c.brand = Patch::Set("  LINDT ".into());
    db.store.upsert_products(&[c]).await.unwrap();
    let counts = db.store.counts().await.unwrap();
    assert_eq!((counts.products, counts.brands, counts.categories), (3, 1, 2));
    let parent = db.text("SELECT parent_id FROM categories WHERE id = 'en:chocolates'", &[]).await;
    assert_eq!(parent.as_deref(), Some("en:snacks"));
}

async fn children_are_replaced_not_appended(db: TestDb) {
    let mut w = product("4012345000009", "Bar");
    w.images = Some(vec![
        ImageWrite {
            url: "https://img.example/back.jpg".into(),
            title: Some("Back".into()),
            description: None,
            priority: 2,
            is_primary: false,
        },
        ImageWrite {
            url: "https://img.example/front.jpg".into(),
            title: Some("Front".into()),
            description: None,
            priority: 1,
            is_primary: true,
        },
    ]);
    w.ingredients = Some(vec![
        IngredientWrite { name: "sugar".into(), percentage_of_weight: Some(40.0) },
        IngredientWrite { name: "cocoa".into(), percentage_of_weight: None },
    ]);
    w.nutrition = Patch::Set(NutritionWrite {
        serving_size: Some("25 g".into()),
        servings_per_container: Some(4.0),
        label_format: LabelFormat::Per100g,
        nutrients: vec![
            NutrientWrite {
                name: "fat".into(),
                amount: 30.0,
                unit: "g".into(),
                daily_value_pct: None,
            },
            NutrientWrite {
                name: "energy-kcal".into(),
                amount: 530.0,
                unit: "kcal".into(),
                daily_value_pct: Some(26.5),
            },
        ],
    });
    db.store.upsert_products(&[w.clone()]).await.unwrap();
    let c = db.store.product_children(gtin("4012345000009")).await.unwrap();
    assert_eq!(
        c.images.iter().map(|i| i.title.as_deref().unwrap()).collect::<Vec<_>>(),
        ["Front", "Back"]
    );
    assert_eq!(
        c.ingredients.iter().map(|i| (i.name.as_str(), i.priority)).collect::<Vec<_>>(),
        [("sugar", 0), ("cocoa", 1)]
    );
    let n = c.nutrition.unwrap();
    assert_eq!(
        n.nutrients.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
        ["fat", "energy-kcal"]
    );
    assert_eq!(n.servings_per_container, Some(4.0));

    w.ingredients = Some(vec![IngredientWrite { name: "salt".into(), percentage_of_weight: None }]);
    w.images = None; // keep
    w.nutrition = Patch::Clear;
    assert_eq!(db.store.upsert_products(&[w]).await.unwrap(), vec![WriteOutcome::Updated]);
    let c = db.store.product_children(gtin("4012345000009")).await.unwrap();
    assert_eq!(c.ingredients.len(), 1);
    assert_eq!(c.ingredients[0].name, "salt");
    assert_eq!(c.images.len(), 2);
    assert!(c.nutrition.is_none());
    let orphans = db.int("SELECT count(*) FROM nutrients", &[]).await;
    assert_eq!(orphans, 0);
}

async fn every_row_gets_an_outcome_and_bad_rows_do_not_sink_the_batch(db: TestDb) {
    // A constraint the application does not check: only the database refuses this name.
    if db.is_postgres() {
        db.try_execute(
            "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.name = 'refuse me' THEN RAISE EXCEPTION 'refused by the test trigger' \
             USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$",
            &[],
        )
        .await
        .unwrap();
        db.try_execute(
            "CREATE TRIGGER test_refuse BEFORE INSERT OR UPDATE ON products \
             FOR EACH ROW EXECUTE FUNCTION test_refuse()",
            &[],
        )
        .await
        .unwrap();
    } else {
        db.try_execute(
            "CREATE TRIGGER test_refuse BEFORE INSERT ON products WHEN NEW.name = 'refuse me' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END",
            &[],
        )
        .await
        .unwrap();
    }
    let mut nameless =
        catalog::model::ProductWrite::new(gtin("96385074"), catalog::model::DataSource::Off);
    nameless.description = Patch::Set("no name".into());
    let mut bad_pct = product("40123455", "Bad share");
    bad_pct.ingredients =
        Some(vec![IngredientWrite { name: "x".into(), percentage_of_weight: Some(120.0) }]);
    let batch = vec![
        product("4012345000009", "First"),
        product("9506000134352", "refuse me"),
        nameless,
        bad_pct,
        product("95012346", "Last"),
        product("4012345000009", "First, renamed"), // same GTIN again in one batch
    ];
    let out = db.store.upsert_products(&batch).await.unwrap();
    assert_eq!(out.len(), batch.len());
    assert_eq!(out[0], WriteOutcome::Inserted);
    assert!(
        matches!(&out[1], WriteOutcome::Rejected(r) if r.contains("refused by the test trigger")),
        "{:?}",
        out[1]
    );
    assert!(
        matches!(&out[2], WriteOutcome::Rejected(r) if r.contains("needs a name")),
        "{:?}",
        out[2]
    );
    assert!(
        matches!(&out[3], WriteOutcome::Rejected(r) if r.contains("percentage_of_weight")),
        "{:?}",
        out[3]
    );
    assert_eq!(out[4], WriteOutcome::Inserted);
    assert_eq!(out[5], WriteOutcome::Updated);
    let p = db.store.product(gtin("4012345000009")).await.unwrap().unwrap();
    assert_eq!(p.name, "First, renamed");
    assert_eq!(db.store.counts().await.unwrap().products, 2);
}

async fn stores_and_offers_upsert_by_their_keys(db: TestDb) {
    db.store.upsert_products(&[product("4012345000009", "Bar")]).await.unwrap();
    let s = vec![store_write("Acme", "s1", 40.0, -74.0), store_write("Acme", "s2", 40.1, -74.0)];
    assert_eq!(
        db.store.upsert_stores(&s).await.unwrap(),
        vec![WriteOutcome::Inserted, WriteOutcome::Inserted]
    );
    assert_eq!(
        db.store.upsert_stores(&s).await.unwrap(),
        vec![WriteOutcome::Unchanged, WriteOutcome::Unchanged]
    );
    let mut moved = s[1].clone();
    moved.lat = 40.2;
    assert_eq!(db.store.upsert_stores(&[moved]).await.unwrap(), vec![WriteOutcome::Updated]);

    let o = vec![
        offer("4012345000009", "Acme", "s1", 349),
        offer("4012345000009", "Acme", "nope", 349),
        offer("9506000134352", "Acme", "s1", 349),
        offer("4012345000009", "Nobody", "s1", 349),
    ];
    let out = db.store.upsert_offers(&o).await.unwrap();
    assert_eq!(out[0], WriteOutcome::Inserted);
    assert!(
        matches!(&out[1], WriteOutcome::Rejected(r) if r.contains("has no store \"nope\"")),
        "{:?}",
        out[1]
    );
    assert!(
        matches!(&out[2], WriteOutcome::Rejected(r) if r.contains("no product 09506000134352")),
        "{:?}",
        out[2]
    );
    assert!(
        matches!(&out[3], WriteOutcome::Rejected(r) if r.contains("unknown retailer")),
        "{:?}",
        out[3]
    );
    let mut cheaper = o[0].clone();
    cheaper.price_minor = 299;
    assert_eq!(
        db.store.upsert_offers(&[cheaper.clone()]).await.unwrap(),
        vec![WriteOutcome::Updated]
    );
    assert_eq!(db.store.upsert_offers(&[cheaper]).await.unwrap(), vec![WriteOutcome::Unchanged]);
    let rows = db.text_rows("SELECT CAST(price_minor AS TEXT), currency FROM offers").await;
    assert_eq!(rows, [[Some("299".to_owned()), Some("USD".to_owned())]]);
}

/// The rule, account and audit tables refuse inconsistent rows too.
async fn rules_accounts_and_audit_refuse_bad_states(db: TestDb) {
    let ok = [
        "INSERT INTO resolver_rules (scope, scope_key, order_index, destination_type, created_at, updated_at) VALUES ('GLOBAL', '', 0, 'HOSTED_PAGE', 't', 't')",
        "INSERT INTO resolver_rules (scope, scope_gtin, scope_key, order_index, destination_type, custom_url, link_type, created_at, updated_at) VALUES ('PRODUCT', '09506000134352', '09506000134352', 0, 'CUSTOM_URL', 'https://brand.example/recall', 'gs1:recallStatus', 't', 't')",
        "INSERT INTO resolver_rules (scope, scope_gtin, scope_qualifier, scope_key, order_index, destination_type, annual_start, annual_end, created_at, updated_at) VALUES ('BATCH', '09506000134352', 'LOT1', '09506000134352/10/LOT1', 0, 'HOSTED_PAGE', '12-01', '01-15', 't', 't')",
        "INSERT INTO users (email, password_hash, created_at, updated_at) VALUES ('ann@example.com', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', 't', 't')",
        "INSERT INTO audit_events (occurred_at, action, outcome, user_id) VALUES ('t', 'generate_qr_url', 'ok', 1)",
    ];
    for sql in ok {
        db.try_execute(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let refused = [
        // same order_index twice in one scope instance
        "INSERT INTO resolver_rules (scope, scope_key, order_index, destination_type, created_at, updated_at) VALUES ('GLOBAL', '', 0, 'HOSTED_PAGE', 't', 't')",
        // a custom URL rule without a URL; a hosted-page rule with one
        "INSERT INTO resolver_rules (scope, scope_key, order_index, destination_type, created_at, updated_at) VALUES ('GLOBAL', '', 1, 'CUSTOM_URL', 't', 't')",
        "INSERT INTO resolver_rules (scope, scope_key, order_index, destination_type, custom_url, created_at, updated_at) VALUES ('GLOBAL', '', 2, 'HOSTED_PAGE', 'https://x.example', 't', 't')",
        // a PRODUCT rule without a GTIN, with a bad check digit, or with a wrong scope key
        "INSERT INTO resolver_rules (scope, scope_key, order_index, destination_type, created_at, updated_at) VALUES ('PRODUCT', '', 0, 'HOSTED_PAGE', 't', 't')",
        "INSERT INTO resolver_rules (scope, scope_gtin, scope_key, order_index, destination_type, created_at, updated_at) VALUES ('PRODUCT', '09506000134353', '09506000134353', 0, 'HOSTED_PAGE', 't', 't')",
        "INSERT INTO resolver_rules (scope, scope_gtin, scope_key, order_index, destination_type, created_at, updated_at) VALUES ('PRODUCT', '09506000134352', 'other', 1, 'HOSTED_PAGE', 't', 't')",
        // half a time window; a time window without a time zone; an empty country list
        "INSERT INTO resolver_rules (scope, scope_key, order_index, destination_type, annual_start, created_at, updated_at) VALUES ('GLOBAL', '', 3, 'HOSTED_PAGE', '12-01', 't', 't')",
        "INSERT INTO resolver_rules (scope, scope_key, order_index, destination_type, time_start, time_end, created_at, updated_at) VALUES ('GLOBAL', '', 4, 'HOSTED_PAGE', '08:00', '17:00', 't', 't')",
        "INSERT INTO resolver_rules (scope, scope_key, order_index, destination_type, countries, created_at, updated_at) VALUES ('GLOBAL', '', 5, 'HOSTED_PAGE', '[]', 't', 't')",
        // a plain-text password; an upper-case email; a public client with a secret
        "INSERT INTO users (email, password_hash, created_at, updated_at) VALUES ('bob@example.com', 'hunter2', 't', 't')",
        "INSERT INTO users (email, password_hash, created_at, updated_at) VALUES ('Bob@example.com', '$argon2id$x', 't', 't')",
        "INSERT INTO oauth_clients (client_id, kind, redirect_uris, token_endpoint_auth_method, secret_hash, created_at, updated_at) VALUES ('c', 'dcr', '[]', 'none', 'abc', 't', 't')",
        "INSERT INTO oauth_clients (client_id, kind, redirect_uris, token_endpoint_auth_method, created_at, updated_at) VALUES ('not-a-url', 'cimd', '[]', 'none', 't', 't')",
        // the audit log is append-only, and audited users cannot be deleted
        "UPDATE audit_events SET outcome = 'error'",
        "DELETE FROM audit_events",
        "DELETE FROM users",
    ];
    for sql in refused {
        let r = db.try_execute(sql, &[]).await;
        assert!(r.is_err(), "the schema accepted: {sql}");
    }
}

/// The PostgreSQL schema has every table and column of the SQLite one, and `prodlink migrate
/// --from --to` copies every column of every table that holds data.
#[tokio::test]
async fn postgres_schema_matches_sqlite_and_the_copy_covers_it() {
    let lite = TestDb::sqlite().await;
    let Some(pg) = TestDb::postgres("store::schema_parity").await else { return };
    let copied: BTreeMap<&str, Vec<&str>> = catalog::copy::copied_tables().into_iter().collect();
    let tables = lite
        .text_rows(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '_sqlx%' AND name NOT LIKE 'products_fts%' ORDER BY name",
        )
        .await;
    assert!(tables.len() > 20, "{tables:?}");
    for t in tables {
        let t = t[0].clone().unwrap();
        let mut want: Vec<String> = lite
            .text_rows(format!("SELECT name FROM pragma_table_info('{t}')"))
            .await
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        let have: Vec<String> = pg
            .text_rows(format!(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{t}'"
            ))
            .await
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        for c in &want {
            assert!(have.contains(c), "PostgreSQL lacks {t}.{c}");
        }
        // Reference data is loaded by the migrations; the search queue and documents are
        // rebuilt by the copy.
        if ["countries", "currencies", "search_dirty", "search_documents"].contains(&t.as_str()) {
            continue;
        }
        let mut got: Vec<String> = copied
            .get(t.as_str())
            .unwrap_or_else(|| panic!("the copy leaves out table {t}"))
            .iter()
            .map(|c| (*c).to_owned())
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "the copy's columns of {t}");
    }
}

async fn custom_url_checks_are_claimed_by_one_process_per_interval(db: TestDb) {
    for (i, g) in ["09506000134352", "04012345000009", "00000095012346"].iter().enumerate() {
        db.try_execute(format!(
            "INSERT INTO resolver_rules (scope, scope_gtin, scope_key, order_index, \
               destination_type, custom_url, created_at, updated_at) \
             VALUES ('PRODUCT', '{g}', '{g}', 0, 'CUSTOM_URL', 'https://brand.example/{i}', 'x', 'x')"
        ), &[])
        .await
        .unwrap();
    }
    // Two processes' rounds at the same moment share the due URLs: none is checked twice.
    let (before, now) = ("2026-11-29T09:00:00Z", "2026-11-29T10:00:00Z");
    let (a, b) = tokio::join!(
        db.store.custom_urls_due(before, 2, now),
        db.store.custom_urls_due(before, 2, now)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut all: Vec<&str> = a.iter().chain(&b).map(|(_, u)| u.as_str()).collect();
    all.sort_unstable();
    assert_eq!(
        all,
        ["https://brand.example/0", "https://brand.example/1", "https://brand.example/2"]
    );
    // Claimed URLs are not due again until the interval has passed.
    assert!(db.store.custom_urls_due(before, 10, now).await.unwrap().is_empty());
    let later = db.store.custom_urls_due("2026-11-29T11:00:00Z", 10, "2026-11-29T12:00:00Z");
    assert_eq!(later.await.unwrap().len(), 3);
}

async fn a_text_change_while_its_product_is_embedded_is_not_lost(db: TestDb) {
    db.store.upsert_products(&[product("9506000134352", "Spaghetti")]).await.unwrap();
    let jobs = db.store.embed_jobs("m", 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].text.contains("Spaghetti"));
    // The text changes while the embedder works on the old one (another process, an import).
    db.store.upsert_products(&[product("9506000134352", "Rice noodles")]).await.unwrap();
    let old = catalog::store::EmbeddingWrite {
        gtin: jobs[0].gtin,
        text_hash: vec![1],
        vector: Some(vec![1.0, 0.0]),
        queued: jobs[0].queued,
    };
    db.store.save_embeddings("m", &[old]).await.unwrap();
    // The old text's vector is stored, but the product stays queued for its new text.
    assert_eq!(db.store.embed_backlog().await.unwrap(), 1);
    let again = db.store.embed_jobs("m", 10).await.unwrap();
    assert!(again[0].text.contains("Rice noodles"), "{:?}", again[0].text);
    assert_ne!(again[0].queued, jobs[0].queued);
    let new = catalog::store::EmbeddingWrite {
        gtin: again[0].gtin,
        text_hash: vec![2],
        vector: Some(vec![0.0, 1.0]),
        queued: again[0].queued,
    };
    db.store.save_embeddings("m", &[new]).await.unwrap();
    assert_eq!(db.store.embed_backlog().await.unwrap(), 0);
}

/// `if_updated_at` makes a write (and a delete) conditional on the stored version, checked in
/// the write's own transaction; a merge that changes no value is `Unchanged` and keeps the
/// version, even though it is not the same write as the last one applied.
async fn versioned_writes_apply_only_to_the_version_they_name(db: TestDb) {
    const G: &str = "00614141123452";
    let version = || db.text(format!("SELECT updated_at FROM products WHERE gtin = '{G}'"), &[]);
    let mut w = product(G, "Tea");
    w.description = Patch::Set("Green".into());
    assert_eq!(db.store.upsert_products(&[w]).await.unwrap(), [WriteOutcome::Inserted]);
    let v1 = version().await.unwrap();

    // Repeating a stored value through a different write changes nothing.
    let mut same = catalog::model::ProductWrite::new(gtin(G), catalog::model::DataSource::Api);
    same.description = Patch::Set("Green".into());
    assert_eq!(db.store.upsert_products(&[same]).await.unwrap(), [WriteOutcome::Unchanged]);
    assert_eq!(version().await.unwrap(), v1);

    // A stale version is refused and nothing changes; the current one applies.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let mut stale = catalog::model::ProductWrite::new(gtin(G), catalog::model::DataSource::Api);
    stale.description = Patch::Set("Black".into());
    stale.if_updated_at = Some("2000-01-01T00:00:00.000Z".into());
    assert_eq!(db.store.upsert_products(&[stale]).await.unwrap(), [WriteOutcome::Stale]);
    assert_eq!(
        db.text(format!("SELECT description FROM products WHERE gtin = '{G}'"), &[])
            .await
            .as_deref(),
        Some("Green")
    );
    let mut current = catalog::model::ProductWrite::new(gtin(G), catalog::model::DataSource::Api);
    current.description = Patch::Set("Black".into());
    current.if_updated_at = Some(v1.clone());
    assert_eq!(db.store.upsert_products(&[current]).await.unwrap(), [WriteOutcome::Updated]);
    let v2 = version().await.unwrap();
    assert_ne!(v2, v1);

    // A version for a product that does not exist is stale too.
    let mut ghost = product("04006381333931", "Ghost");
    ghost.if_updated_at = Some(v2.clone());
    assert_eq!(db.store.upsert_products(&[ghost]).await.unwrap(), [WriteOutcome::Stale]);

    // Deletes: the old version deletes nothing, the current one deletes.
    assert!(!db.store.delete_product(gtin(G), Some(&v1)).await.unwrap());
    assert!(db.store.delete_product(gtin(G), Some(&v2)).await.unwrap());
    assert_eq!(db.int(format!("SELECT count(*) FROM products WHERE gtin = '{G}'"), &[]).await, 0);
}

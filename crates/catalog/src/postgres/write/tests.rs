//! Tests of the PostgreSQL write path, against a real server: set `PRODLINK_TEST_PG` to an admin URL (e.g.
//! `postgres://prodlink@127.0.0.1:54329/postgres`, see `scripts/pg.sh`); each test creates
//! a database of its own. Without it the tests are skipped.

use std::time::Duration;

use gs1::Gtin14;
use sqlx::Connection as _;

use super::*;
use crate::geo::{BoundingBox, Point};
use crate::iso::{CountryCode, CurrencyCode};
use crate::model::{
    CategoryRef, DataSource, ImageWrite, IngredientWrite, InventoryStatus, LabelFormat,
    MetadataPatch, NutrientWrite, NutritionWrite, OfferWrite, Patch, PriceRange, RuleTarget,
    StoreWrite,
};
use crate::postgres::{PgOptions, PgStore, read};

/// A migrated database for one test, dropped by [`TestDb::finish`].
struct TestDb {
    admin: String,
    name: String,
    url: String,
    store: PgStore,
}

impl TestDb {
    /// `None` (and a line saying so) when `PRODLINK_TEST_PG` is unset.
    async fn new(test: &str) -> Option<Self> {
        let Ok(admin) = std::env::var("PRODLINK_TEST_PG") else {
            eprintln!("skipped {test}: PRODLINK_TEST_PG (a PostgreSQL admin URL) is not set");
            return None;
        };
        let name = format!("catalog_write_{test}_{}", std::process::id());
        let url = PgStore::create_database(&admin, &name).await.unwrap();
        let store = PgStore::open_and_migrate(&url, &PgOptions::default()).await.unwrap();
        Some(Self { admin, name, url, store })
    }

    fn pool(&self) -> &PgPool {
        self.store.pool()
    }

    async fn finish(self) {
        self.store.close().await;
        let mut conn = sqlx::PgConnection::connect(&self.admin).await.unwrap();
        // `name` is made of the test name and the process id only.
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await.unwrap();
    }

    async fn queued(&self, table: &str) -> Vec<String> {
        let sql = format!(
            "SELECT p.gtin FROM {table} d JOIN products p ON p.id = d.product_id ORDER BY p.gtin"
        );
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await.unwrap()
    }

    async fn clear_queues(&self) {
        sqlx::query("DELETE FROM search_dirty").execute(self.pool()).await.unwrap();
        sqlx::query("DELETE FROM embed_dirty").execute(self.pool()).await.unwrap();
    }
}

fn gtin(s: &str) -> Gtin14 {
    Gtin14::parse(s).unwrap()
}

fn product(g: &str, name: &str) -> ProductWrite {
    let mut w = ProductWrite::new(gtin(g), DataSource::Manual);
    w.name = Patch::Set(name.to_owned());
    w
}

fn metadata(pairs: &[(&str, &str)]) -> MetadataPatch {
    MetadataPatch::new(pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()).unwrap()
}

fn store_write(retailer: &str, store_ref: &str, lat: f64, lng: f64) -> StoreWrite {
    StoreWrite {
        retailer: retailer.into(),
        store_ref: store_ref.into(),
        name: format!("{retailer} {store_ref}"),
        address: Patch::Set(format!("{store_ref} Main St")),
        city: Patch::Set("Springfield".into()),
        region: Patch::Set("IL".into()),
        postal_code: Patch::Set("62701".into()),
        country: CountryCode::parse("US").unwrap(),
        lat,
        lng,
        metadata: MetadataPatch::default(),
    }
}

fn offer(g: &str, retailer: &str, store_ref: &str, cents: i64) -> OfferWrite {
    OfferWrite {
        gtin: gtin(g),
        retailer: retailer.into(),
        store_ref: store_ref.into(),
        price_minor: cents,
        currency: CurrencyCode::parse("USD").unwrap(),
        inventory_status: Some(InventoryStatus::InStock),
        active: Some(true),
        metadata: MetadataPatch::default(),
    }
}

/// The store's futures must be `Send` (the trait is `async_trait`).
fn futures_are_send(
    pool: &PgPool,
    p: &[ProductWrite],
    s: &[StoreWrite],
    o: &[OfferWrite],
    r: &[RuleWrite],
) {
    fn send<T: Send>(_: T) {}
    send(upsert_products(pool, p));
    send(upsert_stores(pool, s));
    send(upsert_offers(pool, o));
    send(upsert_rules(pool, r));
    send(read::product_children(pool, gtin("95012346")));
    send(read::rules_for(pool, gtin("95012346"), None, None));
}

#[tokio::test]
async fn products_insert_update_and_recognize_unchanged_rows() {
    let _ = futures_are_send;
    let Some(db) = TestDb::new("products").await else { return };
    let pool = db.pool();
    let mut a = product("4012345000009", "Dark chocolate");
    a.brand = Patch::Set("Lindt".into());
    a.category = Patch::Set(vec![
        CategoryRef { id: "en:snacks".into(), name: "Snacks".into() },
        CategoryRef { id: "en:chocolates".into(), name: "Chocolates".into() },
    ]);
    a.description = Patch::Set("  Bitter  ".into());
    a.net_content = Patch::Set("100 g".into());
    a.country_of_origin = Patch::Set(CountryCode::parse("CH").unwrap());
    a.image_url = Patch::Set("https://img.example/front.jpg".into());
    a.metadata = metadata(&[("sku", "A-1"), ("tmp", "x")]);
    a.images = Some(vec![
        ImageWrite {
            url: "https://img.example/back.jpg".into(),
            title: Some("Back".into()),
            description: Some("The back".into()),
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
        ImageWrite {
            url: "https://img.example/side.jpg".into(),
            title: Some("Side".into()),
            description: Some("tab\there, back\\slash \\N, \"quoted\"\r\nnext line\\.".into()),
            priority: 2,
            is_primary: false,
        },
    ]);
    a.ingredients = Some(vec![
        IngredientWrite { name: " sugar ".into(), percentage_of_weight: Some(0.1 + 0.2) },
        IngredientWrite { name: "cocoa".into(), percentage_of_weight: None },
    ]);
    a.nutrition = Patch::Set(NutritionWrite {
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
                amount: 530.0 + 1.0 / 3.0,
                unit: "kcal".into(),
                daily_value_pct: Some(26.5),
            },
        ],
    });
    let b = product("95012346", "Sample 8");
    let out = upsert_products(pool, &[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(out, vec![WriteOutcome::Inserted, WriteOutcome::Inserted]);

    let p = read::product(pool, gtin("4012345000009")).await.unwrap().unwrap();
    assert_eq!(p.name, "Dark chocolate");
    assert_eq!(p.brand.as_deref(), Some("Lindt"));
    assert_eq!(p.category_id.as_deref(), Some("en:chocolates"));
    assert_eq!(p.category.as_deref(), Some("Chocolates"));
    assert_eq!(p.description.as_deref(), Some("Bitter"));
    assert_eq!(p.net_content.as_deref(), Some("100 g"));
    assert_eq!(p.country_of_origin.as_deref(), Some("CH"));
    assert_eq!(p.image_url.as_deref(), Some("https://img.example/front.jpg"));
    assert_eq!(p.data_source, DataSource::Manual);
    assert_eq!(p.metadata.to_json(), r#"{"sku":"A-1","tmp":"x"}"#);
    assert_eq!(p.created_at, p.updated_at);
    let c = read::product_children(pool, gtin("4012345000009")).await.unwrap();
    let images: Vec<_> = c
        .images
        .iter()
        .map(|i| (i.title.as_deref().unwrap(), i.priority, i.is_primary, i.description.clone()))
        .collect();
    assert_eq!(
        images,
        [
            ("Front", 1, true, None),
            ("Back", 2, false, Some("The back".to_owned())),
            (
                "Side",
                2,
                false,
                Some("tab\there, back\\slash \\N, \"quoted\"\r\nnext line\\.".to_owned())
            ),
        ]
    );
    let ingredients: Vec<_> = c
        .ingredients
        .iter()
        .map(|i| (i.name.as_str(), i.percentage_of_weight, i.priority))
        .collect();
    assert_eq!(ingredients, [("sugar", Some(0.1 + 0.2), 0), ("cocoa", None, 1)]);
    let n = c.nutrition.unwrap();
    assert_eq!(n.serving_size.as_deref(), Some("25 g"));
    assert_eq!(n.servings_per_container, Some(4.0));
    assert_eq!(n.label_format, LabelFormat::Per100g);
    let nutrients: Vec<_> = n
        .nutrients
        .iter()
        .map(|n| (n.name.as_str(), n.amount, n.unit.as_str(), n.daily_value_pct))
        .collect();
    assert_eq!(
        nutrients,
        [("fat", 30.0, "g", None), ("energy-kcal", 530.0 + 1.0 / 3.0, "kcal", Some(26.5))]
    );
    let both = read::products(pool, &[gtin("95012346"), gtin("4012345000009"), gtin("40123455")])
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    assert_eq!(db.queued("search_dirty").await, ["00000095012346", "04012345000009"]);
    assert_eq!(db.queued("embed_dirty").await, ["00000095012346", "04012345000009"]);

    // The same writes again change nothing and queue nothing.
    db.clear_queues().await;
    let out = upsert_products(pool, &[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(out, vec![WriteOutcome::Unchanged, WriteOutcome::Unchanged]);
    assert!(db.queued("search_dirty").await.is_empty());
    assert!(db.queued("embed_dirty").await.is_empty());
    assert_eq!(read::product(pool, gtin("4012345000009")).await.unwrap().unwrap(), p);

    // A partial update keeps what it does not mention, merges metadata, replaces the
    // children it names, and queues the product again.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut upd = ProductWrite::new(gtin("04012345000009"), DataSource::Api);
    upd.description = Patch::Set("70% cocoa".into());
    upd.metadata = metadata(&[("tmp", ""), ("new", "y")]);
    upd.ingredients =
        Some(vec![IngredientWrite { name: "salt".into(), percentage_of_weight: None }]);
    upd.nutrition = Patch::Clear;
    upd.net_content = Patch::Clear;
    assert_eq!(upsert_products(pool, &[upd]).await.unwrap(), vec![WriteOutcome::Updated]);
    let q = read::product(pool, gtin("4012345000009")).await.unwrap().unwrap();
    assert_eq!(q.name, "Dark chocolate");
    assert_eq!(q.brand.as_deref(), Some("Lindt"));
    assert_eq!(q.category.as_deref(), Some("Chocolates"));
    assert_eq!(q.description.as_deref(), Some("70% cocoa"));
    assert_eq!(q.net_content, None);
    assert_eq!(q.country_of_origin.as_deref(), Some("CH"));
    assert_eq!(q.metadata.to_json(), r#"{"new":"y","sku":"A-1"}"#);
    assert_eq!(q.data_source, DataSource::Api);
    assert_eq!(q.created_at, p.created_at);
    assert!(q.updated_at > p.updated_at, "{} > {}", q.updated_at, p.updated_at);
    let c = read::product_children(pool, gtin("4012345000009")).await.unwrap();
    assert_eq!(c.images.len(), 3);
    assert_eq!(c.ingredients.len(), 1);
    assert_eq!(c.ingredients[0].name, "salt");
    assert!(c.nutrition.is_none());
    let orphans: i64 =
        sqlx::query_scalar("SELECT count(*) FROM nutrients").fetch_one(pool).await.unwrap();
    assert_eq!(orphans, 0);
    assert_eq!(db.queued("search_dirty").await, ["04012345000009"]);
    assert_eq!(db.queued("embed_dirty").await, ["04012345000009"]);

    // Brands match case-insensitively: no second "LINDT" brand.
    let mut c = product("9506000134352", "Milk chocolate");
    c.brand = Patch::Set("  LINDT ".into());
    c.category = Patch::Set(vec![CategoryRef { id: "en:snacks".into(), name: "x".into() }]);
    assert_eq!(upsert_products(pool, &[c]).await.unwrap(), vec![WriteOutcome::Inserted]);
    let counts = read::counts(pool).await.unwrap();
    assert_eq!((counts.products, counts.brands, counts.categories), (3, 1, 2));
    let parent: Option<String> =
        sqlx::query_scalar("SELECT parent_id FROM categories WHERE id = 'en:chocolates'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(parent.as_deref(), Some("en:snacks"));
    let c = read::product(pool, gtin("9506000134352")).await.unwrap().unwrap();
    assert_eq!((c.brand.as_deref(), c.category.as_deref()), (Some("Lindt"), Some("Snacks")));
    assert_eq!(
        read::product_gtins(pool).await.unwrap(),
        [gtin("95012346"), gtin("4012345000009"), gtin("9506000134352")]
    );
    db.finish().await;
}

#[tokio::test]
async fn bad_rows_are_rejected_and_the_rest_of_the_batch_lands() {
    let Some(db) = TestDb::new("rejects").await else { return };
    let pool = db.pool();
    // A constraint the application does not check: only the database refuses this name.
    sqlx::query(
        "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.name = 'refuse me' THEN \
             RAISE EXCEPTION 'refused by the test trigger' USING ERRCODE = 'check_violation'; \
         END IF; RETURN NEW; END $$",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER test_refuse BEFORE INSERT OR UPDATE ON products \
         FOR EACH ROW EXECUTE FUNCTION test_refuse()",
    )
    .execute(pool)
    .await
    .unwrap();
    let mut nameless = ProductWrite::new(gtin("96385074"), DataSource::Off);
    nameless.description = Patch::Set("no name".into());
    let mut bad_pct = product("40123455", "Bad share");
    bad_pct.ingredients =
        Some(vec![IngredientWrite { name: "x".into(), percentage_of_weight: Some(120.0) }]);
    let mut nul_metadata = product("4006381333931", "NUL in metadata");
    nul_metadata.metadata = metadata(&[("note", "a\u{0}b")]);
    let mut nul_ingredient = product("0012345678905", "NUL in an ingredient");
    nul_ingredient.ingredients =
        Some(vec![IngredientWrite { name: "salt\u{0}".into(), percentage_of_weight: None }]);
    let mut last = product("95012346", "Last");
    last.brand = Patch::Set("Acme".into());
    last.images = Some(vec![ImageWrite {
        url: "https://img.example/last.jpg".into(),
        title: None,
        description: None,
        priority: 0,
        is_primary: true,
    }]);
    let batch = vec![
        product("4012345000009", "First"),
        product("9506000134352", "refuse me"),
        nameless,
        bad_pct,
        product("5901234123457", "NUL\u{0} in the name"),
        nul_metadata,
        nul_ingredient,
        last,
        product("4012345000009", "First, renamed"), // same GTIN again in one batch
    ];
    let out = upsert_products(pool, &batch).await.unwrap();
    assert_eq!(out.len(), batch.len());
    assert_eq!(out[0], WriteOutcome::Inserted);
    let rejected = |o: &WriteOutcome, needle: &str| {
        assert!(matches!(o, WriteOutcome::Rejected(r) if r.contains(needle)), "{o:?}");
    };
    rejected(&out[1], "refused by the test trigger");
    rejected(&out[2], "name: a new product needs a name");
    rejected(&out[3], "percentage_of_weight");
    rejected(&out[4], "NUL");
    rejected(&out[5], "the database refused the record");
    rejected(&out[6], "NUL");
    assert_eq!(out[7], WriteOutcome::Inserted);
    assert_eq!(out[8], WriteOutcome::Updated);
    for o in &out {
        eprintln!("{o:?}");
    }
    let p = read::product(pool, gtin("4012345000009")).await.unwrap().unwrap();
    assert_eq!(p.name, "First, renamed");
    let last = read::product(pool, gtin("95012346")).await.unwrap().unwrap();
    assert_eq!(last.brand.as_deref(), Some("Acme"));
    assert_eq!(read::product_children(pool, gtin("95012346")).await.unwrap().images.len(), 1);
    assert_eq!(read::counts(pool).await.unwrap().products, 2);
    assert_eq!(db.queued("search_dirty").await, ["00000095012346", "04012345000009"]);
    assert_eq!(db.queued("embed_dirty").await, ["00000095012346", "04012345000009"]);

    // A refused update leaves the stored product as it was.
    let mut refuse = product("4012345000009", "refuse me");
    refuse.description = Patch::Set("never stored".into());
    let out = upsert_products(pool, &[refuse]).await.unwrap();
    rejected(&out[0], "refused by the test trigger");
    let q = read::product(pool, gtin("4012345000009")).await.unwrap().unwrap();
    assert_eq!(q, p);
    db.finish().await;
}

#[tokio::test]
async fn a_product_created_by_a_concurrent_writer_is_merged_not_overwritten() {
    let Some(db) = TestDb::new("race").await else { return };
    let pool = db.pool().clone();
    // Another writer creates the product and has not committed yet.
    let mut other = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO products (gtin, name, description, data_source, created_at, updated_at) \
         VALUES ('04012345000009', 'From the other writer', 'kept', 'import', 't', 't')",
    )
    .execute(&mut *other)
    .await
    .unwrap();
    let write = tokio::spawn({
        let pool = pool.clone();
        async move { upsert_products(&pool, &[product("4012345000009", "Ours")]).await }
    });
    // Wait until our insert waits for the other transaction, then let it commit.
    let mut waited = 0;
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        waited += 1;
        assert!(waited < 500, "the write never waited for the other transaction");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    other.commit().await.unwrap();
    let out = write.await.unwrap().unwrap();
    assert_eq!(out, vec![WriteOutcome::Updated]);
    let p = read::product(&pool, gtin("4012345000009")).await.unwrap().unwrap();
    assert_eq!(p.name, "Ours");
    assert_eq!(p.description.as_deref(), Some("kept"));
    assert_eq!(p.created_at, "t");
    assert_eq!(read::counts(&pool).await.unwrap().products, 1);
    db.finish().await;
}

#[tokio::test]
async fn stores_and_offers_upsert_by_their_keys_and_read_back() {
    let Some(db) = TestDb::new("stores_offers").await else { return };
    let pool = db.pool();
    upsert_products(pool, &[product("4012345000009", "Bar"), product("95012346", "Gum")])
        .await
        .unwrap();
    let s = vec![
        store_write("Acme", "s2", 40.1, -74.0),
        store_write("Acme", "s1", 40.0, -74.0),
        StoreWrite { name: "Acme s3".into(), ..store_write(" Acme ", "s3", 40.01, -74.01) },
    ];
    assert_eq!(upsert_stores(pool, &s).await.unwrap(), vec![WriteOutcome::Inserted; 3]);
    assert_eq!(upsert_stores(pool, &s).await.unwrap(), vec![WriteOutcome::Unchanged; 3]);
    let mut moved = s[0].clone();
    moved.lat = 40.2;
    moved.address = Patch::Keep;
    moved.metadata = metadata(&[("hours", "24/7")]);
    let mut bad = store_write("Acme", "s9", 95.0, 0.0);
    bad.name = "Out of range".into();
    let out = upsert_stores(pool, &[moved, bad]).await.unwrap();
    assert_eq!(out[0], WriteOutcome::Updated);
    assert!(matches!(&out[1], WriteOutcome::Rejected(r) if r.starts_with("lat:")), "{out:?}");
    let (address, lat, meta): (Option<String>, f64, String) =
        sqlx::query_as("SELECT address, lat, metadata FROM stores WHERE ref = 's2'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(
        (address.as_deref(), lat, meta.as_str()),
        (Some("s2 Main St"), 40.2, r#"{"hours":"24/7"}"#)
    );
    let listed: Vec<_> = read::stores(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.retailer, s.store_ref, s.lat, s.lng))
        .collect();
    assert_eq!(
        listed,
        [
            ("Acme".to_owned(), "s1".to_owned(), 40.0, -74.0),
            ("Acme".to_owned(), "s2".to_owned(), 40.2, -74.0),
            ("Acme".to_owned(), "s3".to_owned(), 40.01, -74.01),
        ]
    );

    let o = vec![
        offer("4012345000009", "Acme", "s1", 349),
        offer("4012345000009", "Acme", "nope", 349),
        offer("9506000134352", "Acme", "s1", 349),
        offer("4012345000009", "Nobody", "s1", 349),
        offer("4012345000009", "Acme", "s2", 499),
        offer("95012346", "Acme", "s1", -1),
    ];
    let out = upsert_offers(pool, &o).await.unwrap();
    assert_eq!(out[0], WriteOutcome::Inserted);
    let rejected = |o: &WriteOutcome, needle: &str| {
        assert!(matches!(o, WriteOutcome::Rejected(r) if r.contains(needle)), "{o:?}");
    };
    rejected(&out[1], "has no store \"nope\"");
    rejected(&out[2], "no product 09506000134352");
    rejected(&out[3], "unknown retailer");
    assert_eq!(out[4], WriteOutcome::Inserted);
    rejected(&out[5], "price: must not be negative");
    let mut cheaper = o[0].clone();
    cheaper.price_minor = 299;
    assert_eq!(upsert_offers(pool, &[cheaper.clone()]).await.unwrap(), [WriteOutcome::Updated]);
    assert_eq!(upsert_offers(pool, &[cheaper.clone()]).await.unwrap(), [WriteOutcome::Unchanged]);
    // Left-out fields keep their stored values.
    let mut partial = cheaper.clone();
    partial.inventory_status = None;
    partial.active = None;
    assert_eq!(upsert_offers(pool, &[partial]).await.unwrap(), [WriteOutcome::Unchanged]);
    // Another currency with fewer offers does not win the price range; inactive offers
    // do not count.
    let mut euro = offer("4012345000009", "Acme", "s3", 100);
    euro.currency = CurrencyCode::parse("EUR").unwrap();
    euro.inventory_status = Some(InventoryStatus::LowStock);
    let mut off = offer("95012346", "Acme", "s2", 50);
    off.active = Some(false);
    assert_eq!(
        upsert_offers(pool, &[euro, off]).await.unwrap(),
        [WriteOutcome::Inserted, WriteOutcome::Inserted]
    );
    let ranges =
        read::price_ranges(pool, &[gtin("4012345000009"), gtin("95012346")]).await.unwrap();
    assert_eq!(ranges.len(), 1);
    assert_eq!(ranges[&gtin("4012345000009")], PriceRange { min: 2.99, max: 4.99 });

    let area = BoundingBox::around(Point { lat: 40.0, lng: -74.0 }, 5.0);
    let mut near = read::offers_in_box(pool, gtin("4012345000009"), &area).await.unwrap();
    near.sort_by(|a, b| a.store_name.cmp(&b.store_name));
    assert_eq!(near.len(), 2, "{near:?}");
    let s1 = &near[0];
    assert_eq!(
        (s1.retailer.as_str(), s1.store_name.as_str(), s1.address.as_deref()),
        ("Acme", "Acme s1", Some("s1 Main St"))
    );
    assert_eq!(
        (s1.city.as_deref(), s1.region.as_deref(), s1.postal_code.as_deref()),
        (Some("Springfield"), Some("IL"), Some("62701"))
    );
    assert_eq!((s1.lat, s1.lng, s1.price, s1.currency.as_str()), (40.0, -74.0, 2.99, "USD"));
    assert_eq!(s1.inventory_status, InventoryStatus::InStock);
    assert_eq!((near[1].price, near[1].currency.as_str()), (1.0, "EUR"));
    assert_eq!(near[1].inventory_status, InventoryStatus::LowStock);
    assert!(read::offers_in_box(pool, gtin("95012346"), &area).await.unwrap().is_empty());

    let counts = read::counts(pool).await.unwrap();
    assert_eq!((counts.products, counts.retailers, counts.stores, counts.offers), (2, 1, 3, 4));
    db.finish().await;
}

#[tokio::test]
async fn rules_upsert_and_read_back() {
    let Some(db) = TestDb::new("rules").await else { return };
    let pool = db.pool();
    let g = gtin("4012345000009");
    let mut p = product("4012345000009", "Bar");
    p.brand = Patch::Set("Acme Foods".into());
    upsert_products(pool, &[p]).await.unwrap();
    let rule = |target: RuleTarget, order_index: u32, url: Option<&str>| RuleWrite {
        target,
        order_index,
        enabled: true,
        link_type: None,
        custom_url: url.map(str::to_owned),
        on_custom_url_dead: "FALLBACK_TO_HOSTED".into(),
        starts_at: None,
        ends_at: None,
        annual: None,
        days_of_week: None,
        daily: None,
        time_zone: None,
        countries: None,
        languages: None,
        title: None,
        metadata: MetadataPatch::default(),
    };
    let mut brand = rule(RuleTarget::Brand("  acme FOODS".into()), 1, None);
    brand.link_type = Some("gs1:pip".into());
    brand.starts_at = Some("2026-01-01T00:00:00Z".into());
    brand.ends_at = Some("2027-01-01T00:00:00Z".into());
    brand.annual = Some(("12-01".into(), "01-31".into()));
    brand.days_of_week = Some(31);
    brand.daily = Some(("08:00".into(), "18:00".into()));
    brand.time_zone = Some("Europe/Zurich".into());
    brand.countries = Some(vec!["CH".into(), "DE".into()]);
    brand.languages = Some(vec!["de".into()]);
    brand.title = Some("Produktinfo".into());
    brand.on_custom_url_dead = "SKIP_RULE".into();
    brand.metadata = metadata(&[("owner", "marketing")]);
    let mut disabled = rule(RuleTarget::Product(g), 5, None);
    disabled.enabled = false;
    let mut bad = rule(RuleTarget::Product(g), 6, None);
    bad.daily = Some(("8am".into(), "6pm".into()));
    bad.time_zone = Some("UTC".into());
    let batch = vec![
        rule(RuleTarget::Product(g), 0, Some("https://a.example/")),
        rule(RuleTarget::Global, 0, None),
        brand.clone(),
        rule(RuleTarget::Brand("Nobody".into()), 0, None),
        rule(RuleTarget::Organization("Nobody Inc".into()), 0, None),
        rule(RuleTarget::Serial(g, "S1".into()), 0, None),
        rule(RuleTarget::Batch(g, "L1".into()), 0, None),
        disabled,
        bad,
    ];
    let out = upsert_rules(pool, &batch).await.unwrap();
    let rejected = |o: &WriteOutcome, needle: &str| {
        assert!(matches!(o, WriteOutcome::Rejected(r) if r.contains(needle)), "{o:?}");
    };
    assert_eq!(out[..3], [WriteOutcome::Inserted, WriteOutcome::Inserted, WriteOutcome::Inserted]);
    rejected(&out[3], "brand: no brand named \"Nobody\"");
    rejected(&out[4], "organization: no organization named \"Nobody Inc\"");
    assert_eq!(out[5..8], [WriteOutcome::Inserted, WriteOutcome::Inserted, WriteOutcome::Inserted]);
    rejected(&out[8], "the database refused the record");

    let again = upsert_rules(pool, &batch).await.unwrap();
    assert_eq!(
        again[..3],
        [WriteOutcome::Unchanged, WriteOutcome::Unchanged, WriteOutcome::Unchanged]
    );
    assert_eq!(
        again[5..8],
        [WriteOutcome::Unchanged, WriteOutcome::Unchanged, WriteOutcome::Unchanged]
    );

    // A changed URL resets the URL health; other changes keep it.
    sqlx::query("UPDATE resolver_rules SET url_status = 'alive', url_failures = 2")
        .execute(pool)
        .await
        .unwrap();
    let mut titled = brand.clone();
    titled.title = Some("Infos".into());
    let moved = rule(RuleTarget::Product(g), 0, Some("https://b.example/"));
    assert_eq!(
        upsert_rules(pool, &[titled, moved]).await.unwrap(),
        [WriteOutcome::Updated, WriteOutcome::Updated]
    );

    let all = read::rules_for(pool, g, Some("L1"), Some("S1")).await.unwrap();
    let scopes: Vec<_> = all.iter().map(|r| r.scope.as_str()).collect();
    assert_eq!(scopes, ["PRODUCT", "GLOBAL", "BRAND", "SERIAL", "BATCH"]);
    let product_rule = &all[0];
    assert_eq!(product_rule.custom_url.as_deref(), Some("https://b.example/"));
    assert_eq!(product_rule.destination_type, "CUSTOM_URL");
    assert_eq!(product_rule.url_status, "unknown");
    let b = &all[2];
    assert_eq!((b.order_index, b.enabled), (1, true));
    assert_eq!(b.url_status, "alive");
    assert_eq!(b.link_type.as_deref(), Some("gs1:pip"));
    assert_eq!(b.destination_type, "HOSTED_PAGE");
    assert_eq!(b.custom_url, None);
    assert_eq!(b.on_custom_url_dead, "SKIP_RULE");
    assert_eq!(b.starts_at.as_deref(), Some("2026-01-01T00:00:00Z"));
    assert_eq!(b.ends_at.as_deref(), Some("2027-01-01T00:00:00Z"));
    assert_eq!(
        (b.annual_start.as_deref(), b.annual_end.as_deref()),
        (Some("12-01"), Some("01-31"))
    );
    assert_eq!(b.days_of_week, Some(31));
    assert_eq!((b.time_start.as_deref(), b.time_end.as_deref()), (Some("08:00"), Some("18:00")));
    assert_eq!(b.time_zone.as_deref(), Some("Europe/Zurich"));
    assert_eq!(b.countries.as_deref(), Some(r#"["CH","DE"]"#));
    assert_eq!(b.languages.as_deref(), Some(r#"["de"]"#));
    assert_eq!(b.title.as_deref(), Some("Infos"));
    let (key, meta): (String, String) =
        sqlx::query_as("SELECT scope_key, metadata FROM resolver_rules WHERE id = $1")
            .bind(b.id)
            .fetch_one(pool)
            .await
            .unwrap();
    assert!(key.starts_with("brand:"), "{key}");
    assert_eq!(meta, r#"{"owner":"marketing"}"#);

    let plain = read::rules_for(pool, g, None, None).await.unwrap();
    let scopes: Vec<_> = plain.iter().map(|r| r.scope.as_str()).collect();
    assert_eq!(scopes, ["PRODUCT", "GLOBAL", "BRAND"]);
    let other = read::rules_for(pool, gtin("95012346"), None, None).await.unwrap();
    assert_eq!(other.iter().map(|r| r.scope.as_str()).collect::<Vec<_>>(), ["GLOBAL"]);
    db.finish().await;
}

/// A synthetic product with the children an Open Food Facts import writes.
fn bulk_product(i: usize, variant: &str) -> ProductWrite {
    let body = format!("{:012}", 400_000_000_000usize + i);
    let digits: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 =
        digits.iter().rev().enumerate().map(|(k, d)| d * if k % 2 == 0 { 3 } else { 1 }).sum();
    let mut w =
        product(&format!("{body}{}", (10 - sum % 10) % 10), &format!("Product {i} {variant}"));
    w.brand = Patch::Set(format!("Brand {}", i % 700));
    w.category = Patch::Set(vec![
        CategoryRef { id: format!("en:group-{}", i % 20), name: format!("Group {}", i % 20) },
        CategoryRef { id: format!("en:cat-{}", i % 300), name: format!("Category {}", i % 300) },
    ]);
    w.description = Patch::Set(format!("A description of product {i}, {variant}."));
    w.net_content = Patch::Set("250 g".into());
    w.image_url = Patch::Set(format!("https://img.example/{i}/front.jpg"));
    w.images = Some(
        (0..3)
            .map(|k| ImageWrite {
                url: format!("https://img.example/{i}/{k}.jpg"),
                title: Some(format!("Image {k}")),
                description: None,
                priority: k,
                is_primary: k == 0,
            })
            .collect(),
    );
    w.ingredients = Some(
        (0..10)
            .map(|k| IngredientWrite {
                name: format!("ingredient {k}"),
                percentage_of_weight: (k < 3).then_some(10.0),
            })
            .collect(),
    );
    w.nutrition = Patch::Set(NutritionWrite {
        serving_size: Some("30 g".into()),
        servings_per_container: None,
        label_format: LabelFormat::Per100g,
        nutrients: (0..8)
            .map(|k| NutrientWrite {
                name: format!("nutrient-{k}"),
                amount: f64::from(k),
                unit: "g".into(),
                daily_value_pct: None,
            })
            .collect(),
    });
    w
}

/// Import speed against SQLite on the same synthetic catalog:
/// `PRODLINK_TEST_PG=… cargo test -p catalog --lib bulk_import_speed -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn bulk_import_speed() {
    use crate::store::roles::*;
    let Some(db) = TestDb::new("bulk").await else { return };
    let n: usize = std::env::var("PRODLINK_BENCH_PRODUCTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(85_000);
    let first: Vec<ProductWrite> = (0..n).map(|i| bulk_product(i, "first")).collect();
    let second: Vec<ProductWrite> =
        (0..n).map(|i| bulk_product(i, if i % 10 == 0 { "second" } else { "first" })).collect();
    for w in first.iter().chain(&second) {
        w.check();
    }
    let mut pool = db.pool().clone();
    if std::env::var_os("PRODLINK_BENCH_LOG").is_some() {
        // Every statement's duration in the server log, for a breakdown.
        let alter = format!("ALTER DATABASE {} SET log_min_duration_statement = 0", db.name);
        sqlx::query(sqlx::AssertSqlSafe(alter)).execute(&pool).await.unwrap();
        pool = PgStore::open(&db.url, &PgOptions::default()).await.unwrap().pool().clone();
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let sqlite =
        crate::sqlite::SqliteStore::open_and_migrate(&url, &Default::default()).await.unwrap();
    for (label, batch) in [("new", &first), ("unchanged", &first), ("10% changed", &second)] {
        let t = std::time::Instant::now();
        for chunk in batch.chunks(1000) {
            let out = upsert_products(&pool, chunk).await.unwrap();
            assert!(!out.iter().any(|o| matches!(o, WriteOutcome::Rejected(_))), "{out:?}");
        }
        let pg = t.elapsed();
        let t = std::time::Instant::now();
        for chunk in batch.chunks(1000) {
            sqlite.upsert_products(chunk).await.unwrap();
        }
        let lite = t.elapsed();
        eprintln!("{n} products, {label}: PostgreSQL {pg:.2?}, SQLite {lite:.2?}");
    }
    assert_eq!(read::counts(db.pool()).await.unwrap(), sqlite.counts().await.unwrap());
    let g = first[7].gtin;
    assert_eq!(
        read::product_children(db.pool(), g).await.unwrap(),
        sqlite.product_children(g).await.unwrap()
    );
    let (a, b) = (
        read::product(db.pool(), g).await.unwrap().unwrap(),
        sqlite.product(g).await.unwrap().unwrap(),
    );
    assert_eq!(
        (a.name, a.brand, a.category, a.description),
        (b.name, b.brand, b.category, b.description)
    );
    sqlite.close().await;
    db.finish().await;
}

//! The GS1 Digital Link resolver over real HTTP on 127.0.0.1 with a real SQLite catalog and
//! rules: syntax errors are 400, unknown items 404, redirects 307 with the query carried on and
//! a linkset `Link`, link types, linksets, the product JSON, the hosted page (with ETag/304),
//! CORS on everything, and the resolver description file — the checks of GS1's resolver test
//! suite (reference/gs1.md §3, §7).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use catalog::Catalog;
use catalog::model::{DataSource, IngredientWrite, Patch, ProductWrite};
use catalog::sqlite::{SqliteOptions, SqliteStore};
use reqwest::StatusCode;
use serde_json::Value;
use web::health::ModelStatus;
use web::{AppState, HttpSettings};

const GTIN: &str = "00614141123452";
const OTHER: &str = "09506000134352";

struct Server {
    base: String,
    db: SqliteStore,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    let db = SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await.unwrap();
    let mut cereal = product(GTIN, "Sample Cereal </script>");
    cereal.brand = Patch::Set("Acme Foods".into());
    cereal.description = Patch::Set("Whole-grain breakfast cereal.".into());
    cereal.image_url = Patch::Set("https://images.example/cereal.jpg".into());
    cereal.ingredients =
        Some(vec![IngredientWrite { name: "oats".into(), percentage_of_weight: Some(80.0) }]);
    let other = product(OTHER, "Plain Water");
    use catalog::CatalogStore as _;
    db.upsert_products(&[cereal, other]).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let auth = Arc::new(
        auth::AuthServer::on_sqlite(auth::AuthConfig::new(&base), db.pool().clone()).await.unwrap(),
    );
    let catalog = Catalog::new(Arc::new(db.clone()), &base);
    let origins = web::mcp_http::OriginPolicy::new(&base, &[], &[]);
    let http = HttpSettings { country_header: Some("x-country".into()), ..HttpSettings::default() };
    let state = AppState::new(catalog, auth, origins, http, ModelStatus::not_loaded(None, "test"));
    tokio::spawn(web::serve(listener, web::app(state), std::future::pending()));
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Server { base, db, http, _dir: dir }
}

impl Server {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    async fn get_with(&self, path: &str, name: &str, value: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).header(name, value).send().await.unwrap()
    }

    async fn rule(
        &self,
        scope: &str,
        qualifier: Option<&str>,
        link_type: Option<&str>,
        url: &str,
        extra: &str,
    ) {
        let (gtin, key) = match (scope, qualifier) {
            ("BATCH", Some(q)) => (Some(GTIN), format!("{GTIN}/10/{q}")),
            ("SERIAL", Some(q)) => (Some(GTIN), format!("{GTIN}/21/{q}")),
            ("PRODUCT", _) => (Some(GTIN), GTIN.to_owned()),
            _ => (None, String::new()),
        };
        let order: i64 =
            sqlx::query_scalar("SELECT count(*) FROM resolver_rules WHERE scope_key = ?")
                .bind(&key)
                .fetch_one(self.db.pool())
                .await
                .unwrap();
        let countries = (!extra.is_empty()).then_some(extra);
        let q = sqlx::query(
            "INSERT INTO resolver_rules (scope, scope_gtin, scope_qualifier, scope_key, order_index, link_type, \
             destination_type, custom_url, countries, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, 'CUSTOM_URL', ?, ?, 'x', 'x')",
        )
        .bind(scope)
        .bind(gtin)
        .bind(qualifier)
        .bind(&key)
        .bind(order)
        .bind(link_type)
        .bind(url)
        .bind(countries);
        q.execute(self.db.pool()).await.unwrap();
    }
}

fn product(gtin: &str, name: &str) -> ProductWrite {
    let mut w = ProductWrite::new(gs1::Gtin14::parse(gtin).unwrap(), DataSource::Manual);
    w.name = Patch::Set(name.to_owned());
    w
}

fn location(r: &reqwest::Response) -> &str {
    r.headers()["location"].to_str().unwrap()
}

fn assert_cors(r: &reqwest::Response) {
    assert_eq!(r.headers()["access-control-allow-origin"], "*", "{:?}", r.url());
    let methods = r.headers()["access-control-allow-methods"].to_str().unwrap();
    assert!(["GET", "HEAD", "OPTIONS"].iter().all(|m| methods.contains(m)), "{methods}");
}

#[tokio::test]
async fn syntax_errors_are_400_and_unknown_items_404() {
    let s = start().await;
    for bad in [
        format!("/01/{GTIN}/foo"),
        "/01/00614141123453".to_owned(),
        format!("/01/{GTIN}/21/SN1/10/LOT"),
        "/01/abc".to_owned(),
    ] {
        let r = s.get(&bad).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_cors(&r);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], 400, "{bad}: {v}");
        assert!(!v["detail"].as_str().unwrap().is_empty());
    }
    let r = s.get("/01/09506000134369").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_cors(&r);
    // An unknown lot of a known product walks up to the product (suite: not 404).
    assert_eq!(s.get(&format!("/01/{GTIN}/10/KL8G")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_hosted_page_is_served_when_no_rule_redirects() {
    let s = start().await;
    let r = s.get(&format!("/01/{GTIN}")).await;
    assert_eq!(r.status(), 200);
    assert_cors(&r);
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert_eq!(
        link,
        format!(
            "<{}/01/{GTIN}?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\"",
            s.base
        )
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"en\">"), "{}", &html[..80]);
    assert!(
        html.contains("<main id=\"main\">")
            && html.contains("<h1>Sample Cereal &lt;/script&gt;</h1>")
    );
    assert!(html.contains("alt=\"Package of Sample Cereal &lt;/script&gt;\""));
    assert!(html.contains("oats (80 %)"));
    assert!(html.contains("property=\"og:title\"") && html.contains("<link rel=\"canonical\""));
    // The JSON-LD cannot be closed early by product text.
    let ld_start = html.find("<script type=\"application/ld+json\">").unwrap();
    let ld_end = ld_start + html[ld_start..].find("</script>").unwrap();
    let ld: Value = serde_json::from_str(&html[ld_start + 35..ld_end]).unwrap();
    assert_eq!(ld["@type"], "Product");
    assert_eq!(ld["gtin"], GTIN);
    assert_eq!(ld["name"], "Sample Cereal </script>");
    assert_eq!(ld["brand"]["name"], "Acme Foods");

    let again = s.get_with(&format!("/01/{GTIN}"), "if-none-match", &etag).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let head = s.http.head(format!("{}/01/{GTIN}", s.base)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.bytes().await.unwrap().is_empty());
    // Trailing-slash parity.
    assert_eq!(s.get(&format!("/01/{GTIN}/")).await.status(), 200);
    // The product JSON for an explicit JSON request.
    let j = s.get_with(&format!("/01/{GTIN}"), "accept", "application/json").await;
    assert_eq!(j.status(), 200);
    let v: Value = j.json().await.unwrap();
    assert_eq!(v["product"]["name"], "Sample Cereal </script>");
    assert_eq!(v["ingredients"][0]["name"], "oats");
    // A product the page cannot show: the friendly 404 page for a rule-only GTIN is not
    // reachable (unknown GTINs are 404 before), so check a plain unknown one.
    let missing = s.get_with("/01/09506000134369", "accept", "text/html").await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn redirects_carry_the_query_and_point_at_the_linkset() {
    let s = start().await;
    s.rule("PRODUCT", None, None, "https://brand.example/cereal", "").await;
    s.rule("PRODUCT", None, Some("gs1:recallStatus"), "https://brand.example/recalls?src=qr", "")
        .await;
    s.rule("BATCH", Some("LOT-9"), None, "https://brand.example/lot9", "").await;

    let r = s.get(&format!("/01/{GTIN}?foo=bar")).await;
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_cors(&r);
    assert_eq!(location(&r), "https://brand.example/cereal?foo=bar");
    assert!(r.headers()["link"].to_str().unwrap().contains("rel=\"linkset\""));
    let head = s.http.head(format!("{}/01/{GTIN}", s.base)).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(location(&head), "https://brand.example/cereal");
    // Trailing slash: same answer.
    assert_eq!(location(&s.get(&format!("/01/{GTIN}/")).await), "https://brand.example/cereal");

    // Link types (CURIE, encoded CURIE and full URI); the query, linkType included, goes on.
    for lt in ["gs1:recallStatus", "gs1%3ArecallStatus", "https://ref.gs1.org/voc/recallStatus"] {
        let r = s.get(&format!("/01/{GTIN}?linkType={lt}")).await;
        assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT, "{lt}");
        assert_eq!(location(&r), format!("https://brand.example/recalls?src=qr&linkType={lt}"));
    }
    assert_eq!(s.get(&format!("/01/{GTIN}?linkType=gs1:nosuchlt")).await.status(), 404);
    assert_eq!(s.get(&format!("/01/{GTIN}?linkType=gs1:certificationInfo")).await.status(), 404);
    // gs1:pip without a rule of its own is the hosted page.
    assert_eq!(s.get(&format!("/01/{GTIN}?linkType=gs1:pip")).await.status(), 200);

    // Batch level wins for its lot; other lots walk up to the product.
    assert_eq!(
        location(&s.get(&format!("/01/{GTIN}/10/LOT-9")).await),
        "https://brand.example/lot9"
    );
    assert_eq!(
        location(&s.get(&format!("/01/{GTIN}/10/LOT-8")).await),
        "https://brand.example/cereal"
    );
    // The other product has no rules: its page.
    assert_eq!(s.get(&format!("/01/{OTHER}")).await.status(), 200);
}

#[tokio::test]
async fn linksets_list_every_level() {
    let s = start().await;
    s.rule("PRODUCT", None, Some("gs1:recallStatus"), "https://brand.example/recalls", "").await;
    s.rule("BATCH", Some("LOT-9"), None, "https://brand.example/lot9", "").await;
    for (path, header) in [
        (format!("/01/{GTIN}/10/LOT-9?linkType=linkset"), None),
        (format!("/01/{GTIN}/10/LOT-9?linkType=all"), None),
        (format!("/01/{GTIN}/10/LOT-9"), Some("application/linkset+json")),
    ] {
        let r = match header {
            Some(h) => s.get_with(&path, "accept", h).await,
            None => s.get(&path).await,
        };
        assert_eq!(r.status(), 200, "{path}");
        assert_cors(&r);
        assert_eq!(r.headers()["content-type"], "application/linkset+json");
        let ctx = r.headers()["link"].to_str().unwrap();
        assert!(
            ctx.contains("rel=\"http://www.w3.org/ns/json-ld#context\"")
                && ctx.contains("type=\"application/ld+json\"")
        );
        let v: Value = r.json().await.unwrap();
        let sets = v["linkset"].as_array().unwrap();
        assert_eq!(sets.len(), 2, "batch level and product level: {v}");
        assert_eq!(sets[0]["anchor"], format!("{}/01/{GTIN}/10/LOT-9", s.base));
        assert_eq!(sets[1]["anchor"], format!("{}/01/{GTIN}", s.base));
        for set in sets {
            assert_eq!(set["itemDescription"], "Sample Cereal </script>");
            let default = set["https://ref.gs1.org/voc/defaultLink"].as_array().unwrap();
            assert_eq!(default.len(), 1);
            let keys: Vec<&str> =
                default[0].as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, ["href", "title"], "defaultLink has a title only");
            assert!(set["https://ref.gs1.org/voc/pip"].is_array());
            assert_eq!(
                set["https://ref.gs1.org/voc/recallStatus"][0]["href"],
                "https://brand.example/recalls"
            );
            for key in set.as_object().unwrap().keys() {
                assert!(
                    matches!(key.as_str(), "anchor" | "itemDescription")
                        || key.starts_with("https://ref.gs1.org/voc/"),
                    "{key}"
                );
            }
        }
        assert_eq!(
            sets[0]["https://ref.gs1.org/voc/defaultLink"][0]["href"],
            "https://brand.example/lot9"
        );
        assert_eq!(
            sets[1]["https://ref.gs1.org/voc/defaultLink"][0]["href"],
            format!("{}/01/{GTIN}", s.base)
        );
    }
}

#[tokio::test]
async fn country_rules_follow_the_configured_header_or_the_language() {
    let s = start().await;
    s.rule("PRODUCT", None, None, "https://brand.example/ca", r#"["CA"]"#).await;
    s.rule("PRODUCT", None, None, "https://brand.example/world", "").await;
    assert_eq!(
        location(&s.get_with(&format!("/01/{GTIN}"), "x-country", "ca").await),
        "https://brand.example/ca"
    );
    assert_eq!(
        location(&s.get_with(&format!("/01/{GTIN}"), "accept-language", "fr-CA,fr;q=0.8").await),
        "https://brand.example/ca"
    );
    assert_eq!(location(&s.get(&format!("/01/{GTIN}")).await), "https://brand.example/world");
}

#[tokio::test]
async fn preflight_and_description_file() {
    let s = start().await;
    let r = s
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/01/{GTIN}", s.base))
        .header("origin", "https://scanner.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_cors(&r);
    assert!(r.headers()["access-control-expose-headers"].to_str().unwrap().contains("Link"));
    let r = s.get("/.well-known/gs1resolver").await;
    assert_eq!(r.status(), 200);
    assert_cors(&r);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["resolverRoot"], s.base);
    assert_eq!(v["supportedPrimaryKeys"], serde_json::json!(["01"]));
    assert_eq!(v["jsonLdContextLocation"], web::resolver::LINKSET_CONTEXT);
}

#[tokio::test]
async fn accept_language_picks_among_a_links_languages() {
    let s = start().await;
    // The default link and gs1:recipeInfo, each in English and French (English first).
    for (order, link_type, lang, url, title) in [
        (0, None, "en", "https://brand.example/en", "Sample Cereal"),
        (1, None, "fr", "https://brand.example/fr", "Céréales exemple"),
        (2, Some("gs1:recipeInfo"), "en", "https://brand.example/recipes", "Recipes"),
        (3, Some("gs1:recipeInfo"), "fr-ca", "https://brand.example/recettes", "Recettes"),
    ] {
        sqlx::query(
            "INSERT INTO resolver_rules (scope, scope_gtin, scope_key, order_index, link_type, \
             destination_type, custom_url, languages, title, created_at, updated_at) \
             VALUES ('PRODUCT', ?1, ?1, ?2, ?3, 'CUSTOM_URL', ?4, json_array(?5), ?6, 'x', 'x')",
        )
        .bind(GTIN)
        .bind(order)
        .bind(link_type)
        .bind(url)
        .bind(lang)
        .bind(title)
        .execute(s.db.pool())
        .await
        .unwrap();
    }
    let path = format!("/01/{GTIN}");
    for (accept_language, expected) in [
        ("fr-FR, en;q=0.5", "https://brand.example/fr"),
        ("en-GB", "https://brand.example/en"),
        ("de, fr;q=0.3, en;q=0.2", "https://brand.example/fr"),
    ] {
        let r = s.get_with(&path, "accept-language", accept_language).await;
        assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT, "{accept_language}");
        assert_eq!(location(&r), expected, "{accept_language}");
        assert!(r.headers()["vary"].to_str().unwrap().contains("Accept-Language"));
    }
    // No language served (or none sent): no rule applies, the hosted page answers.
    for r in [s.get_with(&path, "accept-language", "ja").await, s.get(&path).await] {
        assert_eq!(r.status(), StatusCode::OK);
    }
    let typed = format!("/01/{GTIN}?linkType=gs1:recipeInfo");
    let r = s.get_with(&typed, "accept-language", "fr-CA, en;q=0.1").await;
    assert!(location(&r).starts_with("https://brand.example/recettes?"), "{}", location(&r));
    let r = s.get_with(&typed, "accept-language", "fr-FR, en;q=0.1").await;
    assert!(
        location(&r).starts_with("https://brand.example/recipes?"),
        "fr-CA does not serve fr-FR"
    );
    assert_eq!(s.get(&typed).await.status(), StatusCode::NOT_FOUND, "no language: no recipe link");

    // The linkset lists every language with hreflang and the rule's title; the one
    // defaultLink is what a request without Accept-Language gets, and the language
    // variants are gs1:defaultLinkMulti.
    let v: Value = s.get(&format!("{path}?linkType=linkset")).await.json().await.unwrap();
    let set = &v["linkset"][0];
    let default = set["https://ref.gs1.org/voc/defaultLink"].as_array().unwrap();
    assert_eq!(default.len(), 1);
    assert_eq!(default[0]["href"], format!("{}{path}", s.base));
    let multi = set["https://ref.gs1.org/voc/defaultLinkMulti"].as_array().unwrap();
    let hrefs: Vec<(&str, &Value, &str)> = multi
        .iter()
        .map(|l| (l["href"].as_str().unwrap(), &l["hreflang"], l["title"].as_str().unwrap()))
        .collect();
    assert_eq!(hrefs.len(), 3, "{multi:?}");
    assert_eq!(hrefs[0].0, format!("{}{path}", s.base));
    assert!(hrefs[0].1.is_null(), "the neutral default has no hreflang");
    assert_eq!(hrefs[1], ("https://brand.example/en", &serde_json::json!(["en"]), "Sample Cereal"));
    assert_eq!(
        hrefs[2],
        ("https://brand.example/fr", &serde_json::json!(["fr"]), "Céréales exemple")
    );
    let recipes = set["https://ref.gs1.org/voc/recipeInfo"].as_array().unwrap();
    assert_eq!(recipes.len(), 2);
    assert_eq!(recipes[0]["hreflang"], serde_json::json!(["en"]));
    assert_eq!(recipes[1]["hreflang"], serde_json::json!(["fr-CA"]), "BCP 47 case");
    assert_eq!(recipes[1]["title"], "Recettes");
    assert!(recipes[1].get("type").is_none(), "a brand URL's media type is not known");
}

#[tokio::test]
async fn the_hosted_page_lists_nearby_stores_for_a_shared_location() {
    use base64::Engine as _;
    use catalog::CatalogStore as _;
    use catalog::iso::{CountryCode, CurrencyCode};
    use catalog::model::{InventoryStatus, MetadataPatch, OfferWrite, StoreWrite};
    use sha2::Digest as _;
    let s = start().await;
    let store = |store_ref: &str, name: &str, lat: f64, lng: f64| StoreWrite {
        retailer: "Corner Grocer".into(),
        store_ref: store_ref.into(),
        name: name.into(),
        address: Patch::Set(format!("{store_ref} Main St")),
        city: Patch::Set("Springfield".into()),
        region: Patch::Set("IL".into()),
        postal_code: Patch::Set("62701".into()),
        country: CountryCode::parse("US").unwrap(),
        lat,
        lng,
        metadata: MetadataPatch::default(),
    };
    s.db.upsert_stores(&[
        store("1", "Downtown & Co", 39.800, -89.650),
        store("2", "Uptown", 39.850, -89.650),
        store("3", "Far away", 45.0, -93.0),
    ])
    .await
    .unwrap();
    let offer = |store_ref: &str, cents: i64, stock| OfferWrite {
        gtin: gs1::Gtin14::parse(GTIN).unwrap(),
        retailer: "Corner Grocer".into(),
        store_ref: store_ref.into(),
        price_minor: cents,
        currency: CurrencyCode::parse("USD").unwrap(),
        inventory_status: Some(stock),
        active: Some(true),
        metadata: MetadataPatch::default(),
    };
    s.db.upsert_offers(&[
        offer("1", 399, InventoryStatus::InStock),
        offer("2", 349, InventoryStatus::LowStock),
        offer("3", 299, InventoryStatus::InStock),
    ])
    .await
    .unwrap();

    // Without a location: the button (hidden until the script shows it), the script allowed
    // by its hash in the CSP, and a note for browsers without JavaScript.
    let r = s.get(&format!("/01/{GTIN}")).await;
    assert_eq!(r.headers()["cache-control"], "public, max-age=60");
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<button type="button" id="locate" hidden>"#), "{html}");
    assert!(html.contains("<noscript>"));
    let script = html.split("<script>").nth(1).unwrap().split("</script>").next().unwrap();
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script));
    assert!(csp.contains(&format!("script-src 'sha256-{hash}'")), "{csp}");
    assert!(script.contains("navigator.geolocation"));

    // With one: the stores within the radius, nearest first, with address, price and stock;
    // the page stays out of shared caches.
    let r = s.get(&format!("/01/{GTIN}?lat=39.801&lng=-89.650")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    let html = r.text().await.unwrap();
    let downtown = html.find("Downtown &amp; Co").expect("the nearest store, escaped");
    let uptown = html.find("Uptown").expect("the second store");
    assert!(downtown < uptown, "nearest first");
    assert!(!html.contains("Far away"), "outside the radius");
    assert!(html.contains("3.99 USD") && html.contains("Low stock"), "{html}");
    assert!(html.contains("1 Main St, Springfield, IL, 62701"));
    assert!(html.contains("Update my location"));

    // Nothing near, and positions that are not positions.
    let r = s.get(&format!("/01/{GTIN}?lat=-33.9&lng=151.2")).await;
    assert!(r.text().await.unwrap().contains("No store within"));
    for bad in ["lat=91&lng=0", "lat=abc&lng=1", "lat=NaN&lng=1"] {
        let r = s.get(&format!("/01/{GTIN}?{bad}")).await;
        assert_eq!(r.status(), StatusCode::OK, "{bad}: the page still shows");
        let html = r.text().await.unwrap();
        assert!(html.contains("not a valid latitude and longitude"), "{bad}");
    }
}

//! The GS1 Digital Link resolver over real HTTP on 127.0.0.1 with a real catalog and rules, on
//! SQLite and on PostgreSQL: syntax errors are 400, unknown items 404, redirects 307 with the
//! query carried on and a linkset `Link`, link types, linksets, the product JSON, the hosted
//! page (with ETag/304), CORS on everything, and the resolver description file — the checks of
//! GS1's resolver test suite and the GS1-Conformant Resolver 1.2 requirements.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::common;

use std::sync::Arc;

use catalog::model::{DataSource, IngredientWrite, Patch, ProductWrite};
use catalog::{Catalog, CatalogStore};
use common::{Backend, TestDb, on_both_backends};
use reqwest::StatusCode;
use serde_json::Value;
use web::health::ModelStatus;
use web::{AppState, HttpSettings};

const GTIN: &str = "00614141123452";
const OTHER: &str = "09506000134352";

on_both_backends!(
    syntax_errors_are_400_and_unknown_items_404,
    the_hosted_page_is_served_when_no_rule_redirects,
    redirects_carry_the_query_and_point_at_the_linkset,
    linksets_list_every_level,
    country_rules_follow_the_configured_header_or_the_language,
    preflight_and_description_file,
    accept_language_picks_among_a_links_languages,
    the_hosted_page_lists_nearby_stores_for_a_shared_location,
    gs1_resolver_encoded_slash_stays_inside_the_value,
    gs1_resolver_one_trailing_slash_is_tolerated,
    gs1_resolver_primary_key_found_from_the_right,
    gs1_resolver_syntax_is_validated,
    gs1_resolver_data_attributes_in_the_query_only,
    gs1_resolver_short_gtins_are_padded,
    gs1_resolver_canonical_key,
    gs1_resolver_walk_up_within_one_request,
    gs1_resolver_unknown_at_every_level_is_404,
    gs1_resolver_linkset_is_served_not_redirected,
    gs1_resolver_requested_link_type_or_404,
    gs1_resolver_default_link_multi_then_default_link,
    gs1_resolver_ties_by_language_never_300,
    gs1_resolver_redirects_append_the_raw_query,
    gs1_resolver_link_to_the_linkset_always,
    gs1_resolver_compressed_links_are_not_served,
    gs1_resolver_cors_everywhere,
    gs1_resolver_head_is_get_without_a_body,
    gs1_resolver_linkset_shape,
);

struct Server {
    base: String,
    store: Arc<dyn CatalogStore>,
    http: reqwest::Client,
    db: TestDb,
}

async fn start(backend: Backend) -> Server {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = TestDb::new(backend).await;
    let store = db.store();
    let mut cereal = product(GTIN, "Sample Cereal </script>");
    cereal.brand = Patch::Set("Acme Foods".into());
    cereal.description = Patch::Set("Whole-grain breakfast cereal.".into());
    cereal.image_url = Patch::Set("https://images.example/cereal.jpg".into());
    cereal.ingredients =
        Some(vec![IngredientWrite { name: "oats".into(), percentage_of_weight: Some(80.0) }]);
    let other = product(OTHER, "Plain Water");
    store.upsert_products(&[cereal, other]).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let auth = Arc::new(db.auth(auth::AuthConfig::new(&base)).await);
    let catalog = Catalog::new(Arc::clone(&store), &base);
    let origins = web::mcp_http::OriginPolicy::new(&base, &[], &[]);
    let http = HttpSettings { country_header: Some("x-country".into()), ..HttpSettings::default() };
    let state = AppState::new(catalog, auth, origins, http, ModelStatus::not_loaded(None, "test"));
    tokio::spawn(web::serve(listener, web::app(state), std::future::pending()));
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Server { base, store, http, db }
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
        let (order,): (i64,) = self
            .db
            .row("SELECT count(*) FROM resolver_rules WHERE scope_key = $1", &[(&key).into()])
            .await;
        let countries = (!extra.is_empty()).then_some(extra);
        self.db
            .execute(
                "INSERT INTO resolver_rules (scope, scope_gtin, scope_qualifier, scope_key, order_index, link_type, \
                 destination_type, custom_url, countries, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'CUSTOM_URL', $7, $8, 'x', 'x')",
                &[
                    scope.into(),
                    gtin.into(),
                    qualifier.into(),
                    (&key).into(),
                    order.into(),
                    link_type.into(),
                    url.into(),
                    countries.into(),
                ],
            )
            .await;
    }

    /// A product rule limited to one language, at a given position.
    async fn language_rule(
        &self,
        order: i64,
        link_type: Option<&str>,
        language: &str,
        url: &str,
        title: Option<&str>,
    ) {
        // `languages` holds a JSON array, built here (json_array() is SQLite's only).
        let languages = serde_json::json!([language]).to_string();
        self.db
            .execute(
                "INSERT INTO resolver_rules (scope, scope_gtin, scope_key, order_index, link_type, \
                 destination_type, custom_url, languages, title, created_at, updated_at) \
                 VALUES ('PRODUCT', $1, $1, $2, $3, 'CUSTOM_URL', $4, $5, $6, 'x', 'x')",
                &[
                    GTIN.into(),
                    order.into(),
                    link_type.into(),
                    url.into(),
                    (&languages).into(),
                    title.into(),
                ],
            )
            .await;
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

async fn syntax_errors_are_400_and_unknown_items_404(backend: Backend) {
    let s = start(backend).await;
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

async fn the_hosted_page_is_served_when_no_rule_redirects(backend: Backend) {
    let s = start(backend).await;
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

async fn redirects_carry_the_query_and_point_at_the_linkset(backend: Backend) {
    let s = start(backend).await;
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

async fn linksets_list_every_level(backend: Backend) {
    let s = start(backend).await;
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

async fn country_rules_follow_the_configured_header_or_the_language(backend: Backend) {
    let s = start(backend).await;
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

async fn preflight_and_description_file(backend: Backend) {
    let s = start(backend).await;
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

async fn accept_language_picks_among_a_links_languages(backend: Backend) {
    let s = start(backend).await;
    // The default link and gs1:recipeInfo, each in English and French (English first).
    for (order, link_type, lang, url, title) in [
        (0, None, "en", "https://brand.example/en", "Sample Cereal"),
        (1, None, "fr", "https://brand.example/fr", "Céréales exemple"),
        (2, Some("gs1:recipeInfo"), "en", "https://brand.example/recipes", "Recipes"),
        (3, Some("gs1:recipeInfo"), "fr-ca", "https://brand.example/recettes", "Recettes"),
    ] {
        s.language_rule(order, link_type, lang, url, Some(title)).await;
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

async fn the_hosted_page_lists_nearby_stores_for_a_shared_location(backend: Backend) {
    use base64::Engine as _;
    use catalog::iso::CurrencyCode;
    use catalog::model::{InventoryStatus, MetadataPatch, OfferWrite, StoreWrite};
    use sha2::Digest as _;
    let s = start(backend).await;
    let store = |store_ref: &str, name: &str, lat: f64, lng: f64| StoreWrite {
        name: name.into(),
        ..common::store_write("Corner Grocer", store_ref, lat, lng)
    };
    s.store
        .upsert_stores(&[
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
    s.store
        .upsert_offers(&[
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

// ---------------------------------------------------------------------------------------------
// The GS1-Conformant Resolver 1.2 requirements: one `gs1_resolver_*` test per requirement, named
// after what it requires, in the standard's order, its clause cited in the doc comment (some
// also appear in the broader tests above).
// ---------------------------------------------------------------------------------------------

/// §7 paths 1: parse the raw request target; an encoded `/` (`%2F`) is part of a value, not a
/// path separator.
async fn gs1_resolver_encoded_slash_stays_inside_the_value(backend: Backend) {
    let s = start(backend).await;
    s.rule("BATCH", Some("AB/C"), None, "https://brand.example/ab-c", "").await;
    let r = s.get(&format!("/01/{GTIN}/10/AB%2FC")).await;
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(location(&r), "https://brand.example/ab-c");
    let v: Value =
        s.get(&format!("/01/{GTIN}/10/AB%2FC?linkType=linkset")).await.json().await.unwrap();
    assert_eq!(v["linkset"][0]["anchor"], format!("{}/01/{GTIN}/10/AB%2FC", s.base));
    assert_eq!(
        s.get(&format!("/01/{GTIN}/10/AB/C")).await.status(),
        400,
        "a real slash is a segment"
    );
}

/// §7 paths 2: strip one trailing `/` (same status and Location); more is an error.
async fn gs1_resolver_one_trailing_slash_is_tolerated(backend: Backend) {
    let s = start(backend).await;
    s.rule("BATCH", Some("L1"), None, "https://brand.example/l1", "").await;
    for path in [format!("/01/{GTIN}/10/L1"), format!("/01/{OTHER}")] {
        let (a, b) = (s.get(&path).await, s.get(&format!("{path}/")).await);
        assert_eq!(a.status(), b.status(), "{path}");
        assert_eq!(a.headers().get("location"), b.headers().get("location"), "{path}");
    }
    assert_eq!(s.get(&format!("/01/{GTIN}//")).await.status(), 400);
}

/// §7 paths 3: the primary key is found from the right: a qualifier value that looks like an AI
/// stays a value, and a custom path stem before the key is not this resolver's.
async fn gs1_resolver_primary_key_found_from_the_right(backend: Backend) {
    let s = start(backend).await;
    s.rule("BATCH", Some("01"), None, "https://brand.example/lot-01", "").await;
    assert_eq!(
        location(&s.get(&format!("/01/{GTIN}/10/01")).await),
        "https://brand.example/lot-01"
    );
    let r = s.get(&format!("/shop/01/{GTIN}")).await;
    assert_eq!(r.status(), 404, "this resolver serves Digital Links at the root only");
}

/// §7 paths 4: AI formats, CSET 82, check digits, qualifier order and duplicates are
/// validated: 400 (never 200 or 404) with a problem body naming the fault.
async fn gs1_resolver_syntax_is_validated(backend: Backend) {
    let s = start(backend).await;
    for (bad, needle) in [
        (format!("/01/{}", "00614141123453"), "check digit"),
        (format!("/01/{GTIN}/10/{}", "A".repeat(21)), "10"),
        (format!("/01/{GTIN}/10/A%7EB"), "10"),
        (format!("/01/{GTIN}/10/A%20B"), "10"),
        (format!("/01/{GTIN}/21/S/10/B"), "order"),
        (format!("/01/{GTIN}/10/A/10/B"), "10"),
        (format!("/01/{GTIN}/22/V/235/T"), "235"),
        ("/01/123".to_owned(), "GTIN"),
    ] {
        let r = s.get(&bad).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_cors(&r);
        let v: Value = r.json().await.unwrap();
        let detail = v["detail"].as_str().unwrap();
        assert!(detail.to_lowercase().contains(&needle.to_lowercase()), "{bad}: {detail}");
    }
    // Every valid GTIN shape resolves (walking up to the product).
    for good in ["/22/V1", "/10/B1", "/21/S1", "/22/V1/10/B1/21/S1", "/235/T1", "/10/A%21B"] {
        assert_eq!(s.get(&format!("/01/{GTIN}{good}")).await.status(), 200, "{good}");
    }
}

/// §7 paths 5: data attributes belong in the query; in the path they are a 400.
async fn gs1_resolver_data_attributes_in_the_query_only(backend: Backend) {
    let s = start(backend).await;
    assert_eq!(s.get(&format!("/01/{GTIN}/17/261231")).await.status(), 400);
    assert_eq!(s.get(&format!("/01/{GTIN}/3103/000189")).await.status(), 400);
    assert_eq!(s.get(&format!("/01/{GTIN}?17=261231&3103=000189")).await.status(), 200);
}

/// §7 paths 6: 8-, 12- and 13-digit GTINs are padded to 14 before lookup; what prodlink
/// emits uses the 14-digit form.
async fn gs1_resolver_short_gtins_are_padded(backend: Backend) {
    let s = start(backend).await;
    for short in ["614141123452", "0614141123452"] {
        let r = s.get(&format!("/01/{short}")).await;
        assert_eq!(r.status(), 200, "{short}");
        assert!(
            r.headers()["link"].to_str().unwrap().contains(&format!("/01/{GTIN}?linkType=linkset"))
        );
    }
    // GTIN-8 96385074 is valid but unknown here: 404, not 400.
    assert_eq!(s.get("/01/96385074").await.status(), 404);
}

/// §7 paths 7: the canonical key is the GTIN-14 plus the ordered qualifiers: rules registered
/// once match every spelling of the same item.
async fn gs1_resolver_canonical_key(backend: Backend) {
    let s = start(backend).await;
    s.rule("BATCH", Some("L7"), None, "https://brand.example/l7", "").await;
    for spelling in [
        format!("/01/{GTIN}/10/L7"),
        "/01/614141123452/10/L7".into(),
        format!("/01/{GTIN}/10/%4C7"),
    ] {
        assert_eq!(location(&s.get(&spelling).await), "https://brand.example/l7", "{spelling}");
    }
}

/// §7 lookup 1: the exact level first, then walk up (serial > batch > product) inside one
/// request — no redirect to the less specific URI.
async fn gs1_resolver_walk_up_within_one_request(backend: Backend) {
    let s = start(backend).await;
    s.rule("PRODUCT", None, None, "https://brand.example/product", "").await;
    s.rule("BATCH", Some("B1"), None, "https://brand.example/batch", "").await;
    s.rule("SERIAL", Some("S1"), None, "https://brand.example/serial", "").await;
    for (path, want) in [
        ("/10/B1/21/S1", "https://brand.example/serial"),
        ("/21/S1", "https://brand.example/serial"),
        ("/10/B1/21/S2", "https://brand.example/batch"),
        ("/10/B2/21/S2", "https://brand.example/product"),
        ("/10/KL8G", "https://brand.example/product"),
        ("", "https://brand.example/product"),
    ] {
        assert_eq!(location(&s.get(&format!("/01/{GTIN}{path}")).await), want, "{path}");
    }
}

/// §7 lookup 2: 404 when nothing is registered at any level.
async fn gs1_resolver_unknown_at_every_level_is_404(backend: Backend) {
    let s = start(backend).await;
    for path in ["/01/09506000134369", "/01/09506000134369/10/LOT", "/01/09506000134369/21/S"] {
        let r = s.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_cors(&r);
        assert!(
            r.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json")
        );
    }
}

/// §7 choosing 1: `linkType=linkset|all` or `Accept: application/linkset+json` answers the
/// linkset with 200 — even where the default link is a redirect.
async fn gs1_resolver_linkset_is_served_not_redirected(backend: Backend) {
    let s = start(backend).await;
    s.rule("PRODUCT", None, None, "https://brand.example/product", "").await;
    for (q, accept) in [
        ("?linkType=linkset", None),
        ("?linkType=all", None),
        ("", Some("application/linkset+json")),
    ] {
        let path = format!("/01/{GTIN}{q}");
        let r = match accept {
            Some(a) => s.get_with(&path, "accept", a).await,
            None => s.get(&path).await,
        };
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers().get("location").is_none());
        assert_eq!(r.headers()["content-type"], "application/linkset+json");
    }
}

/// §7 choosing 2: `linkType=X` redirects to X when there is one, else 404 (no fallback to the
/// default link).
async fn gs1_resolver_requested_link_type_or_404(backend: Backend) {
    let s = start(backend).await;
    s.rule("PRODUCT", None, None, "https://brand.example/product", "").await;
    s.rule("PRODUCT", None, Some("gs1:certificationInfo"), "https://brand.example/certs", "").await;
    let r = s.get(&format!("/01/{GTIN}?linkType=gs1:certificationInfo")).await;
    assert!(location(&r).starts_with("https://brand.example/certs?"));
    for missing in ["gs1:nosuchlt", "gs1:recallStatus", "https://ref.gs1.org/voc/nutritionalInfo"] {
        assert_eq!(
            s.get(&format!("/01/{GTIN}?linkType={missing}")).await.status(),
            404,
            "{missing}"
        );
    }
}

/// §7 choosing 3: without a link type, the default link — its language variant matching the
/// request (`defaultLinkMulti`) first, then the one `defaultLink`.
async fn gs1_resolver_default_link_multi_then_default_link(backend: Backend) {
    let s = start(backend).await;
    s.rule("PRODUCT", None, None, "https://brand.example/any", "").await;
    s.language_rule(5, None, "de", "https://brand.example/de", None).await;
    // The neutral rule comes first by order_index: it is the default for everyone.
    assert_eq!(
        location(&s.get_with(&format!("/01/{GTIN}"), "accept-language", "de").await),
        "https://brand.example/any"
    );
    s.db.execute("UPDATE resolver_rules SET order_index = 9 WHERE languages IS NULL", &[]).await;
    assert_eq!(
        location(&s.get_with(&format!("/01/{GTIN}"), "accept-language", "de-AT").await),
        "https://brand.example/de"
    );
    assert_eq!(location(&s.get(&format!("/01/{GTIN}")).await), "https://brand.example/any");
    let r = s
        .get_with(&format!("/01/{GTIN}?linkType=gs1:defaultLinkMulti"), "accept-language", "de")
        .await;
    assert_eq!(location(&r), "https://brand.example/de?linkType=gs1:defaultLinkMulti");
}

/// §7 choosing 4: ties are broken by `Accept-Language` (BCP 47 lookup, q-values); rules are
/// totally ordered by scope and `order_index`, so no request is ever ambiguous: never a 300.
async fn gs1_resolver_ties_by_language_never_300(backend: Backend) {
    let s = start(backend).await;
    for (order, lang, url) in [
        (0, "en", "https://brand.example/en-1"),
        (1, "en", "https://brand.example/en-2"),
        (2, "nl", "https://brand.example/nl"),
    ] {
        s.language_rule(order, None, lang, url, None).await;
    }
    for (al, want) in [
        ("nl-BE, en;q=0.8", "https://brand.example/nl"),
        ("en;q=0.9, nl;q=0.1", "https://brand.example/en-1"),
        ("en-US", "https://brand.example/en-1"),
    ] {
        let r = s.get_with(&format!("/01/{GTIN}"), "accept-language", al).await;
        assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT, "{al}");
        assert_eq!(location(&r), want, "{al}");
    }
}

/// §7 redirect 1: 307 with the raw incoming query appended (`&` when the target has a `?`),
/// `;` delimiters and singletons as sent.
async fn gs1_resolver_redirects_append_the_raw_query(backend: Backend) {
    let s = start(backend).await;
    s.rule("PRODUCT", None, None, "https://brand.example/p?src=qr", "").await;
    let r = s.get(&format!("/01/{GTIN}?foo=bar;x=1&flag&17=261231")).await;
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(location(&r), "https://brand.example/p?src=qr&foo=bar;x=1&flag&17=261231");
}

/// §7 redirect 2: every resolution answer links to the linkset.
async fn gs1_resolver_link_to_the_linkset_always(backend: Backend) {
    let s = start(backend).await;
    s.rule("BATCH", Some("B1"), None, "https://brand.example/b1", "").await;
    for (path, status) in [
        (format!("/01/{GTIN}/10/B1"), 307),
        (format!("/01/{OTHER}"), 200),
        (format!("/01/{GTIN}/10/B2?x=1"), 200),
    ] {
        for r in
            [s.get(&path).await, s.http.head(format!("{}{path}", s.base)).send().await.unwrap()]
        {
            assert_eq!(r.status().as_u16(), status, "{path}");
            let link = r.headers()["link"].to_str().unwrap();
            let canonical = path.split('?').next().unwrap();
            assert_eq!(
                link,
                format!(
                    "<{}{canonical}?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\"",
                    s.base
                ),
            );
            assert!(!link.contains("rel=\"gs1:"), "no legacy per-link-type links");
        }
    }
}

/// §7 redirect 3: compressed Digital Links. prodlink does not decompress (legacy compression is
/// optional in Resolver 1.2; EPC binary compression is not implemented): such paths are a
/// plain 404, never a 5xx or a 200.
async fn gs1_resolver_compressed_links_are_not_served(backend: Backend) {
    let s = start(backend).await;
    for path in ["/CxFKk4XBoIdXg", "/ARFKk4XB0CDKWcnpq"] {
        let r = s.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
    }
}

/// §7 redirect 4: CORS on every response — 200, 3xx, 4xx, linksets and the preflight.
async fn gs1_resolver_cors_everywhere(backend: Backend) {
    let s = start(backend).await;
    s.rule("PRODUCT", None, None, "https://brand.example/p", "").await;
    for path in [
        format!("/01/{GTIN}"),
        format!("/01/{OTHER}"),
        format!("/01/{GTIN}?linkType=linkset"),
        format!("/01/{GTIN}?linkType=gs1:nosuchlt"),
        format!("/01/{GTIN}/foo"),
        "/01/09506000134369".into(),
        "/.well-known/gs1resolver".into(),
    ] {
        let r = s.get_with(&path, "origin", "https://scanner.example").await;
        assert_cors(&r);
        assert!(
            r.headers()["access-control-expose-headers"].to_str().unwrap().contains("Location"),
            "{path}"
        );
    }
}

/// §7 redirect 5: HEAD answers like GET without a body, whatever the status.
async fn gs1_resolver_head_is_get_without_a_body(backend: Backend) {
    let s = start(backend).await;
    s.rule("PRODUCT", None, None, "https://brand.example/p", "").await;
    for path in [
        format!("/01/{GTIN}"),
        format!("/01/{OTHER}"),
        format!("/01/{GTIN}?linkType=linkset"),
        format!("/01/{GTIN}/foo"),
        "/01/09506000134369".into(),
    ] {
        let get = s.get(&path).await;
        let head = s.http.head(format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(get.status(), head.status(), "{path}");
        assert_eq!(get.headers().get("location"), head.headers().get("location"), "{path}");
        assert_eq!(get.headers().get("content-type"), head.headers().get("content-type"), "{path}");
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
}

/// §7 linkset output: full-URI keys, `itemDescription` in every object, one object per level,
/// link objects with only href/title/type/hreflang/context, a title-only `defaultLink`, the
/// linkset media type and the JSON-LD context header.
async fn gs1_resolver_linkset_shape(backend: Backend) {
    let s = start(backend).await;
    s.rule("PRODUCT", None, Some("gs1:recallStatus"), "https://brand.example/recall", "").await;
    s.rule("SERIAL", Some("S1"), None, "https://brand.example/s1", "").await;
    let r = s.get(&format!("/01/{GTIN}/10/B1/21/S1?linkType=linkset")).await;
    assert_eq!(r.headers()["content-type"], "application/linkset+json");
    assert!(
        r.headers()["link"]
            .to_str()
            .unwrap()
            .contains("https://ref.gs1.org/standards/resolver/linkset-context")
    );
    let v: Value = r.json().await.unwrap();
    let levels = v["linkset"].as_array().unwrap();
    let anchors: Vec<&str> = levels.iter().map(|l| l["anchor"].as_str().unwrap()).collect();
    let base = format!("{}/01/{GTIN}", s.base);
    assert_eq!(anchors, [format!("{base}/10/B1/21/S1"), format!("{base}/10/B1"), base.clone()]);
    for level in levels {
        assert!(level["itemDescription"].is_string());
        for (key, links) in level.as_object().unwrap() {
            if key == "anchor" || key == "itemDescription" {
                continue;
            }
            assert!(key.starts_with("https://ref.gs1.org/voc/"), "{key}");
            for link in links.as_array().unwrap() {
                for member in link.as_object().unwrap().keys() {
                    assert!(
                        ["href", "title", "type", "hreflang", "context"].contains(&member.as_str()),
                        "{member}"
                    );
                }
                if key.ends_with("/defaultLink") {
                    assert_eq!(link.as_object().unwrap().len(), 2, "title only: {link}");
                }
            }
        }
    }
    assert_eq!(
        levels[0]["https://ref.gs1.org/voc/defaultLink"][0]["href"],
        "https://brand.example/s1"
    );
    assert_eq!(levels[2]["https://ref.gs1.org/voc/defaultLink"][0]["href"], base);
    assert!(
        levels.iter().all(|l| l["https://ref.gs1.org/voc/recallStatus"][0]["href"]
            == "https://brand.example/recall")
    );
}

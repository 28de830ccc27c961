//! Store and offer management over REST, on real HTTP and both backends: store and offer feeds
//! upserted row by row (inserted, updated and unchanged counts, rejected rows with the field
//! and the reason, good rows written anyway), offers visible in availability at once,
//! retailers belonging to one organization (another's, or an imported one, refused), listing
//! with the pagination envelope, reading and deleting stores and offers, malformed and
//! oversized batches refused as a whole, and the scope and organization checks.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::common;

use common::rest::{RestServer, etag, problem};
use common::{Backend, TestDb, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    a_store_feed_is_upserted_row_by_row,
    offer_feeds_show_in_availability,
    retailers_belong_to_one_organization,
    stores_are_listed_read_and_deleted,
    bad_batches_are_refused_as_a_whole,
    scopes_and_organizations_are_required,
);

const OWNER: &str = "owner@example.com";
const RIVAL: &str = "rival@example.com";
const LONER: &str = "loner@example.com";
const GTIN: &str = "00614141123452";
const UNKNOWN_GTIN: &str = "00614141000005";
const WRITE: &str = "products:write";
const READ: &str = "products:read";

async fn start(backend: Backend) -> RestServer {
    RestServer::start(TestDb::new(backend).await, &[("Acme", OWNER), ("Rival", RIVAL)], &[LONER])
        .await
}

/// A store row of retailer "Acme Market" at Bentonville, AR.
fn store(store_ref: &str, name: &str) -> Value {
    json!({
        "retailer": "Acme Market",
        "store_ref": store_ref,
        "name": name,
        "address": "1 Main St",
        "city": "Bentonville",
        "region": "AR",
        "country": "US",
        "lat": 36.3625,
        "lng": -94.2331,
        "metadata": {"format": "supermarket"}
    })
}

fn offer(store_ref: &str, price: &str) -> Value {
    json!({
        "gtin": GTIN,
        "retailer": "Acme Market",
        "store_ref": store_ref,
        "price": price,
        "currency": "USD",
        "inventory_status": "in_stock"
    })
}

/// Posts a batch that must succeed (200) and returns the report.
async fn batch(s: &RestServer, path: &str, token: &str, body: Value) -> Value {
    let r = s.request(Method::POST, path, Some(token), Some(&body), &[]).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

fn summary(report: &Value) -> [u64; 4] {
    let s = &report["summary"];
    ["inserted", "updated", "unchanged", "rejected"].map(|k| s[k].as_u64().unwrap())
}

/// The rejected row's (field, error_code, status).
fn rejection(report: &Value, index: usize) -> (String, String, u64) {
    let r = &report["results"][index];
    assert_eq!(r["index"], index);
    assert_eq!(r["outcome"], "rejected", "{r}");
    let e = &r["error"];
    assert!(!e["message"].as_str().unwrap().is_empty());
    (
        e["field"].as_str().unwrap().to_owned(),
        e["error_code"].as_str().unwrap().to_owned(),
        e["status"].as_u64().unwrap(),
    )
}

/// Creates Acme's product GTIN (brand "Acme Foods").
async fn product(s: &RestServer, token: &str) {
    let body = json!({"gtin": GTIN, "name": "Green tea", "brand": "Acme Foods"});
    let r = s.request(Method::POST, "/api/v1/products", Some(token), Some(&body), &[]).await;
    assert_eq!(r.status(), 201);
}

async fn availability(s: &RestServer) -> Vec<Value> {
    let r = s.get(&format!("/api/v1/products/{GTIN}/availability?lat=36.36&lng=-94.23")).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["locations"].as_array().unwrap().clone()
}

async fn a_store_feed_is_upserted_row_by_row(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(OWNER, WRITE).await;
    let mut far_north = store("3", "North");
    far_north["lat"] = json!(95.0);
    let mut nowhere = store("4", "Nowhere");
    nowhere["country"] = json!("XX");
    let mut blank = store("5", "Blank");
    blank["name"] = json!("  ");
    let feed = json!({"stores": [store("1", "Acme Market One"), store("2", "Acme Market Two"), far_north, nowhere, blank]});
    let report = batch(&s, "/api/v1/stores/batch", &t, feed).await;
    assert_eq!(summary(&report), [2, 0, 0, 3], "{report}");
    assert_eq!(report["results"][0], json!({"index": 0, "outcome": "inserted"}));
    assert_eq!(rejection(&report, 2), ("lat".into(), "validation_error".into(), 422));
    assert_eq!(rejection(&report, 3), ("country".into(), "validation_error".into(), 422));
    assert_eq!(rejection(&report, 4), ("name".into(), "validation_error".into(), 422));
    // The new retailer is Acme's.
    let (org,): (String,) = s
        .db
        .row(
            "SELECT o.name FROM retailers r JOIN organizations o ON o.id = r.organization_id WHERE r.name = 'Acme Market'",
            &[],
        )
        .await;
    assert_eq!(org, "Acme");

    // The same feed again changes nothing.
    let feed = json!({"stores": [store("1", "Acme Market One"), store("2", "Acme Market Two")]});
    let report = batch(&s, "/api/v1/stores/batch", &t, feed).await;
    assert_eq!(summary(&report), [0, 0, 2, 0], "{report}");

    // A change, a clear (null) and a metadata merge; left-out fields are kept.
    let feed = json!({"stores": [
        {"retailer": " Acme Market ", "store_ref": "1", "name": "Acme Market Uptown", "country": "US",
         "lat": 36.3625, "lng": -94.2331, "city": null, "metadata": {"format": "", "parking": "yes"}},
        store("2", "Acme Market Two"),
    ]});
    let report = batch(&s, "/api/v1/stores/batch", &t, feed).await;
    assert_eq!(summary(&report), [0, 1, 1, 0], "{report}");
    let r = s
        .request(
            Method::GET,
            "/api/v1/stores/Acme%20Market/1",
            Some(&s.token(OWNER, READ).await),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["name"], "Acme Market Uptown");
    assert_eq!(v["city"], Value::Null);
    assert_eq!(v["address"], "1 Main St", "left out: kept");
    assert_eq!(v["metadata"], json!({"parking": "yes"}));
    assert_eq!(v["country"], "US");
    assert_eq!(v["offers"], 0);
}

async fn offer_feeds_show_in_availability(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(OWNER, WRITE).await;
    product(&s, &t).await;
    let report =
        batch(&s, "/api/v1/stores/batch", &t, json!({"stores": [store("1", "One")]})).await;
    assert_eq!(summary(&report), [1, 0, 0, 0]);
    assert!(availability(&s).await.is_empty());

    let mut unknown_product = offer("1", "1.00");
    unknown_product["gtin"] = json!(UNKNOWN_GTIN);
    let mut bad_gtin = offer("1", "1.00");
    bad_gtin["gtin"] = json!("614141123453");
    let mut unknown_retailer = offer("1", "1.00");
    unknown_retailer["retailer"] = json!("Nobody Mart");
    let mut euro = offer("1", "1.00");
    euro["currency"] = json!("EURO");
    let feed = json!({"offers": [
        offer("1", "3.49"),
        unknown_product,
        offer("404", "1.00"),
        offer("1", "3.499"),
        euro,
        unknown_retailer,
        bad_gtin,
    ]});
    let report = batch(&s, "/api/v1/offers/batch", &t, feed).await;
    assert_eq!(summary(&report), [1, 0, 0, 6], "{report}");
    assert_eq!(rejection(&report, 1), ("gtin".into(), "not_found".into(), 404));
    assert_eq!(rejection(&report, 2), ("store_ref".into(), "not_found".into(), 404));
    assert_eq!(rejection(&report, 3), ("price".into(), "validation_error".into(), 422));
    assert_eq!(rejection(&report, 4), ("currency".into(), "validation_error".into(), 422));
    assert_eq!(rejection(&report, 5), ("retailer".into(), "not_found".into(), 404));
    assert_eq!(rejection(&report, 6), ("gtin".into(), "validation_error".into(), 422));

    let found = availability(&s).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["retailer"], "Acme Market");
    assert_eq!(found[0]["store_name"], "One");
    assert_eq!(found[0]["price"], 3.49);
    assert_eq!(found[0]["currency"], "USD");
    assert_eq!(found[0]["inventory_status"], "in_stock");
    let (minor,): (i64,) = s.db.row("SELECT price_minor FROM offers", &[]).await;
    assert_eq!(minor, 349, "stored exactly in cents");

    // Idempotent, then a price change, then out of stock, then inactive.
    let report =
        batch(&s, "/api/v1/offers/batch", &t, json!({"offers": [offer("1", "3.49")]})).await;
    assert_eq!(summary(&report), [0, 0, 1, 0]);
    let report =
        batch(&s, "/api/v1/offers/batch", &t, json!({"offers": [offer("1", "2.99")]})).await;
    assert_eq!(summary(&report), [0, 1, 0, 0]);
    assert_eq!(availability(&s).await[0]["price"], 2.99);
    let mut out = offer("1", "2.99");
    out["inventory_status"] = json!("out_of_stock");
    batch(&s, "/api/v1/offers/batch", &t, json!({"offers": [out]})).await;
    assert_eq!(availability(&s).await[0]["inventory_status"], "out_of_stock");
    let mut off = offer("1", "2.99");
    off["active"] = json!(false);
    off.as_object_mut().unwrap().remove("inventory_status");
    let report = batch(&s, "/api/v1/offers/batch", &t, json!({"offers": [off]})).await;
    assert_eq!(summary(&report), [0, 1, 0, 0]);
    assert!(availability(&s).await.is_empty(), "inactive offers are not shown");
}

async fn retailers_belong_to_one_organization(backend: Backend) {
    let s = start(backend).await;
    let owner = s.token(OWNER, WRITE).await;
    let rival = s.token(RIVAL, WRITE).await;
    product(&s, &owner).await;
    batch(&s, "/api/v1/stores/batch", &owner, json!({"stores": [store("1", "One")]})).await;
    batch(&s, "/api/v1/offers/batch", &owner, json!({"offers": [offer("1", "3.49")]})).await;
    // An imported retailer belongs to no organization.
    s.db.execute(
        "INSERT INTO retailers (name, created_at, updated_at) VALUES ('Walmart', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
        &[],
    )
    .await;

    let mut theirs = store("1", "Hijacked");
    theirs["retailer"] = json!("Acme Market");
    let mut own = store("7", "Rival One");
    own["retailer"] = json!("Rival Mart");
    let mut imported = store("8", "Walmart Supercenter");
    imported["retailer"] = json!("Walmart");
    let report =
        batch(&s, "/api/v1/stores/batch", &rival, json!({"stores": [theirs, own, imported]})).await;
    assert_eq!(summary(&report), [1, 0, 0, 2], "{report}");
    assert_eq!(rejection(&report, 0), ("retailer".into(), "forbidden".into(), 403));
    assert_eq!(rejection(&report, 2), ("retailer".into(), "forbidden".into(), 403));
    let (name,): (String,) = s.db.row("SELECT name FROM stores WHERE ref = '1'", &[]).await;
    assert_eq!(name, "One", "the other organization's store is untouched");

    let report =
        batch(&s, "/api/v1/offers/batch", &rival, json!({"offers": [offer("1", "0.01")]})).await;
    assert_eq!(rejection(&report, 0), ("retailer".into(), "forbidden".into(), 403));
    assert_eq!(availability(&s).await[0]["price"], 3.49);

    let read = s.token(RIVAL, READ).await;
    let r = s.request(Method::GET, "/api/v1/stores/Acme%20Market/1", Some(&read), None, &[]).await;
    problem(r, 403, "forbidden").await;
    let r =
        s.request(Method::DELETE, "/api/v1/stores/Acme%20Market/1", Some(&rival), None, &[]).await;
    problem(r, 403, "forbidden").await;
    let path = format!("/api/v1/stores/Acme%20Market/1/offers/{GTIN}");
    let r = s.request(Method::DELETE, &path, Some(&rival), None, &[]).await;
    problem(r, 403, "forbidden").await;
    let r = s.request(Method::GET, "/api/v1/stores/Walmart/8", Some(&read), None, &[]).await;
    problem(r, 403, "forbidden").await;
    assert_eq!(availability(&s).await.len(), 1, "nothing was deleted");
    // Each organization lists only its own stores.
    let v: Value = s
        .request(Method::GET, "/api/v1/stores", Some(&read), None, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["pagination"]["total"], 1);
    assert_eq!(v["items"][0]["retailer"], "Rival Mart");
}

async fn stores_are_listed_read_and_deleted(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(OWNER, WRITE).await;
    let read = s.token(OWNER, READ).await;
    product(&s, &t).await;
    let feed = json!({"stores": [store("1", "One"), store("2", "Two"), store("3", "Three")]});
    batch(&s, "/api/v1/stores/batch", &t, feed).await;
    let mut rival = store("9", "Rival");
    rival["retailer"] = json!("Rival Mart");
    batch(&s, "/api/v1/stores/batch", &s.token(RIVAL, WRITE).await, json!({"stores": [rival]}))
        .await;

    let list = |q: &'static str| {
        let (s, read) = (&s, read.clone());
        async move {
            s.request(Method::GET, &format!("/api/v1/stores{q}"), Some(&read), None, &[]).await
        }
    };
    let v: Value = list("?page=1&page_size=2").await.json().await.unwrap();
    assert_eq!(v["pagination"], json!({"page": 1, "page_size": 2, "total": 3, "total_pages": 2}));
    let refs: Vec<&str> =
        v["items"].as_array().unwrap().iter().map(|i| i["store_ref"].as_str().unwrap()).collect();
    assert_eq!(refs, ["1", "2"]);
    let v: Value = list("?page=2&page_size=2").await.json().await.unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["store_ref"], "3");
    let v: Value = list("").await.json().await.unwrap();
    assert_eq!(v["pagination"], json!({"page": 1, "page_size": 20, "total": 3, "total_pages": 1}));
    let v = problem(list("?page_size=101").await, 422, "validation_error").await;
    assert_eq!(v["errors"][0]["field"], "page_size");

    // One store, with an entity tag.
    batch(&s, "/api/v1/offers/batch", &t, json!({"offers": [offer("1", "3.49")]})).await;
    let r = s.request(Method::GET, "/api/v1/stores/Acme%20Market/1", Some(&read), None, &[]).await;
    assert_eq!(r.status(), 200);
    let tag = etag(&r);
    let v: Value = r.json().await.unwrap();
    assert_eq!((v["retailer"].as_str(), v["store_ref"].as_str()), (Some("Acme Market"), Some("1")));
    assert_eq!(v["offers"], 1);
    let r = s
        .request(
            Method::GET,
            "/api/v1/stores/Acme%20Market/1",
            Some(&read),
            None,
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(r.status(), 304);
    let r =
        s.request(Method::GET, "/api/v1/stores/Acme%20Market/404", Some(&read), None, &[]).await;
    problem(r, 404, "not_found").await;
    let r = s.request(Method::GET, "/api/v1/stores/Nobody/1", Some(&read), None, &[]).await;
    problem(r, 404, "not_found").await;

    // Deleting one offer.
    let path = format!("/api/v1/stores/Acme%20Market/1/offers/{GTIN}");
    let r = s.request(Method::DELETE, &path, Some(&t), None, &[]).await;
    assert_eq!(r.status(), 204);
    assert!(availability(&s).await.is_empty());
    let r = s.request(Method::DELETE, &path, Some(&t), None, &[]).await;
    problem(r, 404, "not_found").await;
    let r = s
        .request(Method::DELETE, "/api/v1/stores/Acme%20Market/1/offers/123", Some(&t), None, &[])
        .await;
    let v = problem(r, 422, "validation_error").await;
    assert_eq!(v["errors"][0]["field"], "gtin");

    // Deleting a store deletes its offers.
    batch(&s, "/api/v1/offers/batch", &t, json!({"offers": [offer("1", "3.49")]})).await;
    assert_eq!(availability(&s).await.len(), 1);
    let r = s.request(Method::DELETE, "/api/v1/stores/Acme%20Market/1", Some(&t), None, &[]).await;
    assert_eq!(r.status(), 204);
    assert!(availability(&s).await.is_empty());
    let (offers,): (i64,) = s.db.row("SELECT count(*) FROM offers", &[]).await;
    assert_eq!(offers, 0);
    let r = s.request(Method::DELETE, "/api/v1/stores/Acme%20Market/1", Some(&t), None, &[]).await;
    problem(r, 404, "not_found").await;
    let r = s.request(Method::GET, "/api/v1/stores/Acme%20Market/1", Some(&read), None, &[]).await;
    problem(r, 404, "not_found").await;
    let v: Value = list("").await.json().await.unwrap();
    assert_eq!(v["pagination"]["total"], 2);
}

async fn bad_batches_are_refused_as_a_whole(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(OWNER, WRITE).await;
    let post = |body: Value| {
        let (s, t) = (&s, t.clone());
        async move { s.request(Method::POST, "/api/v1/stores/batch", Some(&t), Some(&body), &[]).await }
    };
    // Too many rows: the limit is named.
    let rows: Vec<Value> = (0..1001).map(|i| store(&i.to_string(), "Store")).collect();
    let v = problem(post(json!({"stores": rows})).await, 422, "validation_error").await;
    assert_eq!(v["errors"][0]["field"], "stores");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("at most 1000"), "{v}");
    // Exactly 1000 is fine.
    let rows: Vec<Value> = (0..1000).map(|i| store(&i.to_string(), "Store")).collect();
    let r = post(json!({"stores": rows})).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(summary(&v), [1000, 0, 0, 0]);
    s.db.execute("DELETE FROM stores", &[]).await;

    // A wrong shape anywhere refuses the whole batch, every wrong field named.
    let mut bad = store("2", "Two");
    bad["lat"] = json!("north");
    bad["colour"] = json!("red");
    bad.as_object_mut().unwrap().remove("name");
    let v = problem(
        post(json!({"stores": [store("1", "One"), bad, 7]})).await,
        422,
        "validation_error",
    )
    .await;
    let mut fields: Vec<&str> =
        v["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["stores[1].colour", "stores[1].lat", "stores[1].name", "stores[2]"]);
    let (stores,): (i64,) = s.db.row("SELECT count(*) FROM stores", &[]).await;
    assert_eq!(stores, 0, "nothing written");
    let v = problem(post(json!({"stores": [], "extra": 1})).await, 422, "validation_error").await;
    assert_eq!(v["errors"].as_array().unwrap().len(), 2, "{v}");
    let v = problem(post(json!({"offers": []})).await, 422, "validation_error").await;
    assert_eq!(v["errors"][1]["field"], "stores", "{v}");
    let r = s
        .request(
            Method::POST,
            "/api/v1/offers/batch",
            Some(&t),
            Some(&json!({"offers": [{"gtin": GTIN, "retailer": "A", "store_ref": "1", "currency": "USD", "price": 3.49}]})),
            &[],
        )
        .await;
    let v = problem(r, 422, "validation_error").await;
    assert_eq!(v["errors"][0]["field"], "offers[0].price");
    // Not JSON, not an object, no body: 400.
    let r = s
        .http
        .post(format!("{}/api/v1/stores/batch", s.base))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    problem(r, 400, "bad_request").await;
    problem(post(json!([store("1", "One")])).await, 400, "bad_request").await;
    let r = s.request(Method::POST, "/api/v1/offers/batch", Some(&t), None, &[]).await;
    problem(r, 400, "bad_request").await;
}

async fn scopes_and_organizations_are_required(backend: Backend) {
    let s = start(backend).await;
    let feed = json!({"stores": [store("1", "One")]});
    let read = s.token(OWNER, READ).await;
    let r = s.request(Method::POST, "/api/v1/stores/batch", Some(&read), Some(&feed), &[]).await;
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    problem(r, 403, "forbidden").await;
    let r = s.request(Method::POST, "/api/v1/stores/batch", None, Some(&feed), &[]).await;
    problem(r, 401, "unauthorized").await;
    let r = s.request(Method::GET, "/api/v1/stores", None, None, &[]).await;
    problem(r, 401, "unauthorized").await;
    let write_only = s.token(OWNER, WRITE).await;
    let r = s.request(Method::GET, "/api/v1/stores", Some(&write_only), None, &[]).await;
    problem(r, 403, "forbidden").await;
    let r =
        s.request(Method::DELETE, "/api/v1/stores/Acme%20Market/1", Some(&read), None, &[]).await;
    problem(r, 403, "forbidden").await;

    // A user of no organization.
    let loner = s.token(LONER, WRITE).await;
    let r = s.request(Method::POST, "/api/v1/stores/batch", Some(&loner), Some(&feed), &[]).await;
    let v = problem(r, 403, "forbidden").await;
    assert!(v["detail"].as_str().unwrap().contains("no organization"), "{v}");
    let r = s
        .request(Method::GET, "/api/v1/stores", Some(&s.token(LONER, READ).await), None, &[])
        .await;
    problem(r, 403, "forbidden").await;
    let (stores,): (i64,) = s.db.row("SELECT count(*) FROM stores", &[]).await;
    assert_eq!(stores, 0);
}

//! Product management over REST, on real HTTP and both backends: create, replace, merge-update
//! and delete for the caller's organization, with metadata merge, children (images,
//! ingredients, nutrition), entity tags and `If-Match`, and the permission boundaries (another
//! organization's product or brand, an unowned demo product, a missing scope, no organization).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::common;

use common::rest::{RestServer, SITE, etag, problem};
use common::{Backend, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    an_owner_creates_updates_and_deletes_a_product,
    writes_honour_entity_tags,
    owners_act_only_on_their_organization,
    bad_bodies_are_refused_with_the_field,
    api_keys_act_for_their_organization,
);

const OWNER: &str = "owner@example.com";
const LONER: &str = "loner@example.com";
const NEW: &str = "00614141123452";
const THEIRS: &str = "00614141000005";

/// A server over an empty catalog with two organizations (Acme: OWNER, brand "Acme Foods";
/// Rival: RIVAL, brand "Rival Foods" with product THEIRS), a user with no organization
/// (LONER), and a product of a brand without organization.
async fn start(backend: Backend) -> RestServer {
    RestServer::two_organizations(backend).await
}

async fn an_owner_creates_updates_and_deletes_a_product(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(OWNER, "products:write").await;
    let body = json!({
        "gtin": "614141123452",
        "name": "Green tea",
        "brand": "Acme Foods",
        "description": "Loose leaf",
        "net_content": "100 g",
        "country_of_origin": "jp",
        "category": {"id": "en:teas", "name": "Teas"},
        "metadata": {"grade": "a", "origin": "Shizuoka"},
        "images": [{"url": "https://img.example/tea.jpg", "is_primary": true}],
        "ingredients": [{"name": "green tea", "percentage_of_weight": 100.0}],
        "nutrition": {"label_format": "per_100g", "nutrients": [{"name": "energy-kcal", "amount": 1.0, "unit": "kcal"}]}
    });
    let r = s.call("POST", "/api/v1/products", &t, Some(body.clone()), &[]).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], format!("{SITE}/api/v1/products/{NEW}").as_str());
    let tag = etag(&r);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["gtin"], NEW);
    assert_eq!(created["brand"], "Acme Foods");
    assert_eq!(created["data_source"], "api");
    assert_eq!(created["metadata"], json!({"grade": "a", "origin": "Shizuoka"}));
    // GET serves the same representation and tag; the brand is now Acme's.
    let r = s.get(&format!("/api/v1/products/{NEW}")).await;
    assert_eq!(etag(&r), tag);
    assert_eq!(r.json::<Value>().await.unwrap(), created);
    let (org,): (String,) = s
        .db
        .row("SELECT o.name FROM brands b JOIN organizations o ON o.id = b.organization_id WHERE b.name_key = 'acme foods'", &[])
        .await;
    assert_eq!(org, "Acme");
    let detail: Value =
        s.get(&format!("/api/v1/products/{NEW}/detail")).await.json().await.unwrap();
    assert_eq!(detail["product"]["country_of_origin"], "JP");
    assert_eq!(detail["images"][0]["url"], "https://img.example/tea.jpg");
    assert_eq!(detail["ingredients"][0]["name"], "green tea");
    assert_eq!(detail["nutrition"]["label_format"], "per_100g");
    // Creating it again is a conflict.
    let r = s.call("POST", "/api/v1/products", &t, Some(body), &[]).await;
    problem(r, 409, "conflict").await;

    // PATCH merges: metadata keys merge ("" deletes), null clears, absent keeps.
    let r = s
        .call(
            "PATCH",
            "/api/v1/products/614141123452",
            &t,
            Some(json!({"metadata": {"grade": "", "harvest": "spring"}, "description": null})),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_ne!(etag(&r), tag);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["metadata"], json!({"origin": "Shizuoka", "harvest": "spring"}));
    assert_eq!(v["description"], Value::Null);
    assert_eq!(v["name"], "Green tea");
    let detail: Value =
        s.get(&format!("/api/v1/products/{NEW}/detail")).await.json().await.unwrap();
    assert_eq!(detail["images"].as_array().unwrap().len(), 1, "absent lists are kept");
    // PUT replaces: what is left out is cleared, metadata replaced.
    let r = s
        .call(
            "PUT",
            &format!("/api/v1/products/{NEW}"),
            &t,
            Some(json!({"name": "Tea", "brand": "Acme Foods", "metadata": {"x": "1"}})),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["metadata"], json!({"x": "1"}));
    let detail: Value =
        s.get(&format!("/api/v1/products/{NEW}/detail")).await.json().await.unwrap();
    assert_eq!(detail["images"], json!([]));
    assert_eq!(detail["ingredients"], json!([]));
    assert_eq!(detail["nutrition"], Value::Null);
    assert_eq!(detail["product"]["net_content"], Value::Null);
    // PUT of a new GTIN creates it.
    let r = s
        .call(
            "PUT",
            "/api/v1/products/4006381333931",
            &t,
            Some(json!({"name": "Pen", "brand": "Acme Foods"})),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], format!("{SITE}/api/v1/products/04006381333931").as_str());
    // PATCH of an unknown product is 404.
    let r = s
        .call("PATCH", "/api/v1/products/4000000000006", &t, Some(json!({"name": "x"})), &[])
        .await;
    problem(r, 404, "not_found").await;

    // DELETE, then it is gone.
    let r = s.call("DELETE", &format!("/api/v1/products/{NEW}"), &t, None, &[]).await;
    assert_eq!(r.status(), 204);
    problem(s.get(&format!("/api/v1/products/{NEW}")).await, 404, "not_found").await;
    let r = s.call("DELETE", &format!("/api/v1/products/{NEW}"), &t, None, &[]).await;
    problem(r, 404, "not_found").await;
    let (n,): (i64,) =
        s.db.row("SELECT count(*) FROM products WHERE gtin = $1", &[NEW.into()]).await;
    assert_eq!(n, 0);
}

async fn writes_honour_entity_tags(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(OWNER, "products:write").await;
    let r = s
        .call(
            "POST",
            "/api/v1/products",
            &t,
            Some(json!({"gtin": NEW, "name": "Tea", "brand": "Acme Foods"})),
            &[],
        )
        .await;
    let first = etag(&r);
    // Someone else changes it.
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/products/{NEW}"),
            &t,
            Some(json!({"net_content": "1 kg"})),
            &[],
        )
        .await;
    let second = etag(&r);
    assert_ne!(first, second);
    // A write based on the first read is refused; nothing changes.
    for method in ["PATCH", "PUT", "DELETE"] {
        let body =
            (method != "DELETE").then(|| json!({"name": "Lost update", "brand": "Acme Foods"}));
        let r = s
            .call(method, &format!("/api/v1/products/{NEW}"), &t, body, &[("if-match", &first)])
            .await;
        let v = problem(r, 412, "conflict").await;
        assert_eq!(v["status"], 412);
    }
    let v: Value = s.get(&format!("/api/v1/products/{NEW}")).await.json().await.unwrap();
    assert_eq!(v["name"], "Tea");
    // With the current tag (or *) it goes through.
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/products/{NEW}"),
            &t,
            Some(json!({"name": "Sencha"})),
            &[("if-match", &second)],
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/products/{NEW}"),
            &t,
            Some(json!({"name": "Gyokuro"})),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let third = etag(&r);
    // A PATCH that changes no value keeps the version and so the tag.
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/products/{NEW}"),
            &t,
            Some(json!({"name": "Gyokuro", "brand": "Acme Foods"})),
            &[("if-match", &third)],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(etag(&r), third);
    // If-Match compares strongly: the weak form of the current tag does not match.
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/products/{NEW}"),
            &t,
            Some(json!({"name": "Matcha"})),
            &[("if-match", &format!("W/{third}"))],
        )
        .await;
    problem(r, 412, "conflict").await;
    // If-None-Match compares weakly: the weak form answers 304.
    let r = s
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/products/{NEW}"),
            None,
            None,
            &[("if-none-match", &format!("W/{third}"))],
        )
        .await;
    assert_eq!(r.status(), 304);
    // If-None-Match: * makes PUT create-only.
    let r = s
        .call(
            "PUT",
            &format!("/api/v1/products/{NEW}"),
            &t,
            Some(json!({"name": "x", "brand": "Acme Foods"})),
            &[("if-none-match", "*")],
        )
        .await;
    problem(r, 412, "conflict").await;
    // If-Match on a product that does not exist fails too.
    let r = s
        .call(
            "PUT",
            "/api/v1/products/4006381333931",
            &t,
            Some(json!({"name": "x", "brand": "Acme Foods"})),
            &[("if-match", "*")],
        )
        .await;
    problem(r, 412, "conflict").await;
}

async fn owners_act_only_on_their_organization(backend: Backend) {
    let s = start(backend).await;
    let owner = s.token(OWNER, "products:write").await;
    // Another organization's product, by any method.
    for (method, body) in [
        ("PATCH", Some(json!({"name": "Mine now"}))),
        ("PUT", Some(json!({"name": "Mine now", "brand": "Acme Foods"}))),
        ("DELETE", None),
    ] {
        let r = s.call(method, &format!("/api/v1/products/{THEIRS}"), &owner, body, &[]).await;
        let v = problem(r, 403, "forbidden").await;
        assert!(v["detail"].as_str().unwrap().contains("another organization"), "{v}");
    }
    // Another organization's brand, or a brand of no organization.
    for brand in ["Rival Foods", "rival  FOODS", "Nobody"] {
        let r = s
            .call(
                "POST",
                "/api/v1/products",
                &owner,
                Some(json!({"gtin": NEW, "name": "x", "brand": brand})),
                &[],
            )
            .await;
        problem(r, 403, "forbidden").await;
    }
    // A product must keep a brand.
    let r = s
        .call("POST", "/api/v1/products", &owner, Some(json!({"gtin": NEW, "name": "x"})), &[])
        .await;
    let v = problem(r, 422, "validation_error").await;
    assert_eq!(v["errors"][0]["field"], "brand");
    // Missing scope, no token, no organization.
    let read_only = s.token(OWNER, "products:read").await;
    let r = s.call("DELETE", &format!("/api/v1/products/{THEIRS}"), &read_only, None, &[]).await;
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));
    problem(r, 403, "forbidden").await;
    let r = s.http.delete(format!("{}/api/v1/products/{THEIRS}", s.base)).send().await.unwrap();
    problem(r, 401, "unauthorized").await;
    let loner = s.token(LONER, "products:write").await;
    let r = s
        .call(
            "POST",
            "/api/v1/products",
            &loner,
            Some(json!({"gtin": NEW, "name": "x", "brand": "Lonely"})),
            &[],
        )
        .await;
    let v = problem(r, 403, "forbidden").await;
    assert!(v["detail"].as_str().unwrap().contains("no organization"), "{v}");
    // Nothing of theirs changed.
    let v: Value = s.get(&format!("/api/v1/products/{THEIRS}")).await.json().await.unwrap();
    assert_eq!(v["name"], "Their tea");
}

async fn bad_bodies_are_refused_with_the_field(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(OWNER, "products:write").await;
    let post = |body: &'static str| {
        let r = s
            .http
            .post(format!("{}/api/v1/products", s.base))
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body(body);
        async move { r.send().await.unwrap() }
    };
    problem(post("not json").await, 400, "bad_request").await;
    problem(post("[]").await, 400, "bad_request").await;
    for (body, field) in [
        (
            r#"{"gtin": "614141123452", "name": "x", "brand": "Acme Foods", "colour": "red"}"#,
            "colour",
        ),
        (r#"{"name": "x", "brand": "Acme Foods"}"#, "gtin"),
        (r#"{"gtin": "614141123453", "name": "x", "brand": "Acme Foods"}"#, "gtin"),
        (
            r#"{"gtin": "614141123452", "name": "x", "brand": "Acme Foods", "country_of_origin": "XX"}"#,
            "country_of_origin",
        ),
        (r#"{"gtin": "614141123452", "brand": "Acme Foods"}"#, "name"),
    ] {
        let v = problem(post(body).await, 422, "validation_error").await;
        assert_eq!(v["errors"][0]["field"], field, "{body}: {v}");
    }
    let (n,): (i64,) =
        s.db.row("SELECT count(*) FROM products WHERE gtin = $1", &[NEW.into()]).await;
    assert_eq!(n, 0, "no refused write left anything behind");
    let (n,): (i64,) =
        s.db.row("SELECT count(*) FROM brands WHERE name_key = 'acme foods'", &[]).await;
    assert_eq!(n, 0, "nor a brand");
}

async fn api_keys_act_for_their_organization(backend: Backend) {
    let s = start(backend).await;
    let (acme,): (i64,) = s.db.row("SELECT id FROM organizations WHERE name = 'Acme'", &[]).await;
    let (_, key) =
        s.auth.create_api_key(acme, "feed", "products:write", Some(3), None).await.unwrap();
    let r = s
        .with_key(
            "POST",
            "/api/v1/products",
            &key,
            Some(json!({"gtin": NEW, "name": "Tea", "brand": "Acme Foods"})),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["ratelimit-limit"], "3", "the key's own limit");
    // As a bearer token too.
    let r = s
        .http
        .patch(format!("{}/api/v1/products/{NEW}", s.base))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(json!({"name": "Sencha"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Only its organization's products.
    let r = s.with_key("DELETE", &format!("/api/v1/products/{THEIRS}"), &key, None).await;
    problem(r, 403, "forbidden").await;
    // Its limit: the fourth request is refused.
    let r = s.with_key("GET", &format!("/api/v1/products/{NEW}"), &key, None).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // A typo is caught by the checksum, with a clear message.
    let mut typo = key.clone().into_bytes();
    let i = typo.len() - 10;
    typo[i] = if typo[i] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let r = s.with_key("GET", &format!("/api/v1/products/{NEW}"), &typo, None).await;
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("ApiKey"));
    let v = problem(r, 401, "unauthorized").await;
    assert!(v["detail"].as_str().unwrap().contains("checksum"), "{v}");
    // A key without the write scope, then a revoked key.
    let (_, reader) =
        s.auth.create_api_key(acme, "reader", "products:read", None, None).await.unwrap();
    let r = s.with_key("DELETE", &format!("/api/v1/products/{NEW}"), &reader, None).await;
    problem(r, 403, "forbidden").await;
    let (id,): (i64,) = s.db.row("SELECT id FROM api_keys WHERE name = 'reader'", &[]).await;
    assert!(s.auth.revoke_api_key(id).await.unwrap());
    let r = s.with_key("GET", &format!("/api/v1/products/{NEW}"), &reader, None).await;
    let v = problem(r, 401, "unauthorized").await;
    assert!(v["detail"].as_str().unwrap().contains("revoked"), "{v}");
    // Both kinds of credential at once is ambiguous.
    let r = s
        .http
        .get(format!("{}/api/v1/products/{NEW}", s.base))
        .header("x-api-key", &key)
        .bearer_auth("pl_at_x")
        .send()
        .await
        .unwrap();
    problem(r, 400, "bad_request").await;
}

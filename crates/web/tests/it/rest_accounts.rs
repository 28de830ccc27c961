//! Accounts, organizations and brands over REST, on real HTTP and both backends: the caller's
//! account with its organization's API keys (never secrets), the organization (read, rename,
//! metadata merge, entity tags, delete only without brands), creating one for a user without
//! organization, brand management (create, list, read, rename, delete only without products),
//! the organization's paginated product list, and the permission boundaries (another
//! organization's brand, a brand of nobody, a missing scope, no organization, API keys, a
//! revoked key).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::common;

use common::rest::{RestServer, SITE, etag, problem};
use common::{Backend, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    the_organization_is_read_renamed_and_merged,
    brands_are_created_listed_changed_and_deleted,
    other_organizations_brands_are_forbidden,
    products_are_listed_a_page_at_a_time,
    a_user_without_organization_creates_one,
    an_organization_is_deleted_only_without_brands,
    the_account_shows_the_caller_and_its_keys,
    api_keys_and_revoked_keys,
);

const OWNER: &str = "owner@example.com";
const RIVAL: &str = "rival@example.com";
const LONER: &str = "loner@example.com";
const ALL: &str = "accounts:read products:read products:write";

struct Server(RestServer);

impl std::ops::Deref for Server {
    type Target = RestServer;
    fn deref(&self) -> &RestServer {
        &self.0
    }
}

/// Two organizations (Acme: OWNER; Rival: RIVAL, whose brand "Rival Foods" has one product),
/// a user with no organization (LONER), and a brand of nobody ("Nobody").
async fn start(backend: Backend) -> Server {
    Server(RestServer::two_organizations(backend).await)
}

impl Server {
    async fn brand_id(&self, name_key: &str) -> i64 {
        let (id,): (i64,) =
            self.db.row("SELECT id FROM brands WHERE name_key = $1", &[name_key.into()]).await;
        id
    }

    async fn product(&self, token: &str, gtin: &str, brand: &str) {
        let body = json!({"gtin": gtin, "name": format!("Product {gtin}"), "brand": brand});
        let r = self.call(Method::POST, "/api/v1/products", token, Some(body), &[]).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
}

async fn the_organization_is_read_renamed_and_merged(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(OWNER, ALL).await;
    s.product(&t, "00614141123452", "Acme Foods").await;
    let r = s.call(Method::GET, "/api/v1/organization", &t, None, &[]).await;
    assert_eq!(r.status(), 200);
    let tag = etag(&r);
    let o: Value = r.json().await.unwrap();
    assert_eq!(o["id"], s.orgs[0]);
    assert_eq!(o["name"], "Acme");
    assert_eq!(o["metadata"], json!({}));
    assert_eq!((o["brand_count"].as_u64(), o["product_count"].as_u64()), (Some(1), Some(1)));

    // Rename and merge metadata, with the ETag just read.
    let body = json!({"name": "  Acme Corp ", "metadata": {"duns": "123", "tier": "gold"}});
    let r =
        s.call(Method::PATCH, "/api/v1/organization", &t, Some(body), &[("if-match", &tag)]).await;
    assert_eq!(r.status(), 200);
    let tag2 = etag(&r);
    assert_ne!(tag, tag2);
    let o: Value = r.json().await.unwrap();
    assert_eq!(o["name"], "Acme Corp");
    assert_eq!(o["metadata"], json!({"duns": "123", "tier": "gold"}));
    let body = json!({"metadata": {"tier": "", "region": "EU"}});
    let r = s.call(Method::PATCH, "/api/v1/organization", &t, Some(body), &[]).await;
    let o: Value = r.json().await.unwrap();
    assert_eq!(o["metadata"], json!({"duns": "123", "region": "EU"}));
    assert_eq!(o["name"], "Acme Corp");

    // A stale ETag changes nothing; a taken name is a conflict; bad fields are named.
    let body = json!({"name": "Stale"});
    let r =
        s.call(Method::PATCH, "/api/v1/organization", &t, Some(body), &[("if-match", &tag2)]).await;
    problem(r, 412, "conflict").await;
    let r = s
        .call(Method::PATCH, "/api/v1/organization", &t, Some(json!({"name": "Rival"})), &[])
        .await;
    problem(r, 409, "conflict").await;
    let body = json!({"name": "", "colour": "red", "metadata": {"k": 1}});
    let r = s.call(Method::PATCH, "/api/v1/organization", &t, Some(body), &[]).await;
    let p = problem(r, 422, "validation_error").await;
    let mut fields: Vec<&str> =
        p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["colour", "metadata.k", "name"], "{p}");
    let r = s.request(Method::PATCH, "/api/v1/organization", Some(&t), None, &[]).await;
    problem(r, 400, "bad_request").await;
    let r = s.call(Method::GET, "/api/v1/organization", &t, None, &[]).await;
    let o: Value = r.json().await.unwrap();
    assert_eq!(o["name"], "Acme Corp");

    // Scopes: reading needs accounts:read, changing products:write.
    let read_only = s.token(OWNER, "products:read").await;
    let r = s.call(Method::GET, "/api/v1/organization", &read_only, None, &[]).await;
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));
    problem(r, 403, "forbidden").await;
    let accounts = s.token(OWNER, "accounts:read").await;
    let r = s
        .call(Method::PATCH, "/api/v1/organization", &accounts, Some(json!({"name": "X"})), &[])
        .await;
    problem(r, 403, "forbidden").await;
    let r = s.request(Method::GET, "/api/v1/organization", None, None, &[]).await;
    problem(r, 401, "unauthorized").await;
}

async fn brands_are_created_listed_changed_and_deleted(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(OWNER, ALL).await;
    let body = json!({"name": "Acme Foods", "metadata": {"site": "https://acme.example"}});
    let r = s.call(Method::POST, "/api/v1/brands", &t, Some(body), &[]).await;
    assert_eq!(r.status(), 201);
    let created_tag = etag(&r);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let b: Value = r.json().await.unwrap();
    let id = b["id"].as_i64().unwrap();
    assert_eq!(location, format!("{SITE}/api/v1/brands/{id}"));
    assert_eq!(b["organization_id"], s.orgs[0]);
    assert_eq!(b["product_count"], 0);
    assert_eq!(b["metadata"]["site"], "https://acme.example");

    // Names are unique regardless of case and spacing, whoever owns them.
    for name in ["  acme   FOODS ", "rival foods", "NOBODY"] {
        let r = s.call(Method::POST, "/api/v1/brands", &t, Some(json!({"name": name})), &[]).await;
        problem(r, 409, "conflict").await;
    }
    let r = s.call(Method::POST, "/api/v1/brands", &t, Some(json!({"metadata": {}})), &[]).await;
    let p = problem(r, 422, "validation_error").await;
    assert_eq!(p["errors"][0]["field"], "name");

    for name in ["Zeta", "Beta"] {
        let r = s.call(Method::POST, "/api/v1/brands", &t, Some(json!({"name": name})), &[]).await;
        assert_eq!(r.status(), 201);
    }
    let r = s.call(Method::GET, "/api/v1/brands?page_size=2", &t, None, &[]).await;
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    let names: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Acme Foods", "Beta"]);
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "page_size": 2, "total": 3, "total_pages": 2})
    );
    let r = s.call(Method::GET, "/api/v1/brands?page=2&page_size=2", &t, None, &[]).await;
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["items"][0]["name"], "Zeta");
    let r = s.call(Method::GET, "/api/v1/brands?page_size=101", &t, None, &[]).await;
    problem(r, 422, "validation_error").await;

    // Read, rename (merging metadata) with If-Match; a stale tag is refused.
    let r = s.call(Method::GET, &format!("/api/v1/brands/{id}"), &t, None, &[]).await;
    assert_eq!(r.status(), 200);
    let tag = etag(&r);
    assert_eq!(tag, created_tag);
    let body = json!({"name": "Acme Fine Foods", "metadata": {"site": "", "tier": "premium"}});
    let r = s
        .call(Method::PATCH, &format!("/api/v1/brands/{id}"), &t, Some(body), &[("if-match", &tag)])
        .await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["name"], "Acme Fine Foods");
    assert_eq!(b["metadata"], json!({"tier": "premium"}));
    let r = s
        .call(
            Method::PATCH,
            &format!("/api/v1/brands/{id}"),
            &t,
            Some(json!({"name": "Late"})),
            &[("if-match", &tag)],
        )
        .await;
    problem(r, 412, "conflict").await;
    let r = s
        .call(
            Method::PATCH,
            &format!("/api/v1/brands/{id}"),
            &t,
            Some(json!({"name": "BETA"})),
            &[],
        )
        .await;
    problem(r, 409, "conflict").await;
    // The products of a renamed brand show its new name.
    s.product(&t, "00614141123452", "Acme Fine Foods").await;
    let r = s.call(Method::GET, "/api/v1/products/00614141123452", &t, None, &[]).await;
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["brand"], "Acme Fine Foods");

    // A brand with products cannot go; without them it can.
    let r = s.call(Method::DELETE, &format!("/api/v1/brands/{id}"), &t, None, &[]).await;
    let p = problem(r, 409, "conflict").await;
    assert!(p["detail"].as_str().unwrap().contains("1 product"), "{p}");
    let r = s.call(Method::DELETE, "/api/v1/products/00614141123452", &t, None, &[]).await;
    assert_eq!(r.status(), 204);
    let r = s
        .call(
            Method::DELETE,
            &format!("/api/v1/brands/{id}"),
            &t,
            None,
            &[("if-match", "\"stale\"")],
        )
        .await;
    problem(r, 412, "conflict").await;
    let r = s.call(Method::DELETE, &format!("/api/v1/brands/{id}"), &t, None, &[]).await;
    assert_eq!(r.status(), 204);
    let r = s.call(Method::GET, &format!("/api/v1/brands/{id}"), &t, None, &[]).await;
    problem(r, 404, "not_found").await;
    let r = s.call(Method::GET, "/api/v1/brands", &t, None, &[]).await;
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["pagination"]["total"], 2);
}

async fn other_organizations_brands_are_forbidden(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(OWNER, ALL).await;
    for key in ["rival foods", "nobody"] {
        let id = s.brand_id(key).await;
        let path = format!("/api/v1/brands/{id}");
        let r = s.call(Method::GET, &path, &t, None, &[]).await;
        problem(r, 403, "forbidden").await;
        let r = s.call(Method::PATCH, &path, &t, Some(json!({"name": "Mine now"})), &[]).await;
        problem(r, 403, "forbidden").await;
        let r = s.call(Method::DELETE, &path, &t, None, &[]).await;
        problem(r, 403, "forbidden").await;
    }
    let r = s.call(Method::GET, "/api/v1/brands/999999", &t, None, &[]).await;
    problem(r, 404, "not_found").await;
    let r = s.call(Method::GET, "/api/v1/brands/abc", &t, None, &[]).await;
    problem(r, 422, "validation_error").await;
    // Nothing of Rival's shows up in Acme's lists.
    let r = s.call(Method::GET, "/api/v1/brands", &t, None, &[]).await;
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["items"], json!([]));
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "page_size": 20, "total": 0, "total_pages": 0})
    );
    // Brand reads need products:read; changes products:write.
    let accounts = s.token(OWNER, "accounts:read").await;
    let r = s.call(Method::GET, "/api/v1/brands", &accounts, None, &[]).await;
    problem(r, 403, "forbidden").await;
    let read = s.token(OWNER, "products:read").await;
    let r = s.call(Method::POST, "/api/v1/brands", &read, Some(json!({"name": "X"})), &[]).await;
    problem(r, 403, "forbidden").await;
    // A user without organization has no brands to manage.
    let loner = s.token(LONER, ALL).await;
    let r = s.call(Method::GET, "/api/v1/brands", &loner, None, &[]).await;
    problem(r, 403, "forbidden").await;
    let r = s.call(Method::POST, "/api/v1/brands", &loner, Some(json!({"name": "X"})), &[]).await;
    problem(r, 403, "forbidden").await;
}

async fn products_are_listed_a_page_at_a_time(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(OWNER, ALL).await;
    for gtin in ["00614141123452", "00012345678905", "04006381333931"] {
        s.product(&t, gtin, "Acme Foods").await;
    }
    let r = s.call(Method::GET, "/api/v1/products?page_size=2", &t, None, &[]).await;
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    let gtins: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|p| p["gtin"].as_str().unwrap()).collect();
    assert_eq!(gtins, ["00012345678905", "00614141123452"]);
    assert_eq!(page["items"][0]["brand"], "Acme Foods");
    assert_eq!(page["items"][0]["name"], "Product 00012345678905");
    assert!(page["items"][0]["updated_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "page_size": 2, "total": 3, "total_pages": 2})
    );
    let r = s.call(Method::GET, "/api/v1/products?page=2&page_size=2", &t, None, &[]).await;
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["gtin"], "04006381333931");
    let r = s.call(Method::GET, "/api/v1/products?page=9", &t, None, &[]).await;
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["pagination"]["total"], 3);
    for bad in ["page=0", "page_size=0", "page_size=101", "page=x", "sort=gtin"] {
        let r = s.call(Method::GET, &format!("/api/v1/products?{bad}"), &t, None, &[]).await;
        problem(r, 422, "validation_error").await;
    }
    // Rival sees only its own product; anonymous callers are told to authenticate.
    let rival = s.token(RIVAL, "products:read").await;
    let r = s.call(Method::GET, "/api/v1/products", &rival, None, &[]).await;
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["pagination"]["total"], 1);
    assert_eq!(page["items"][0]["brand"], "Rival Foods");
    problem(s.get("/api/v1/products").await, 401, "unauthorized").await;
    let accounts = s.token(OWNER, "accounts:read").await;
    let r = s.call(Method::GET, "/api/v1/products", &accounts, None, &[]).await;
    problem(r, 403, "forbidden").await;
}

async fn a_user_without_organization_creates_one(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(LONER, ALL).await;
    let r = s.call(Method::GET, "/api/v1/organization", &t, None, &[]).await;
    problem(r, 403, "forbidden").await;
    let r = s.call(Method::GET, "/api/v1/account", &t, None, &[]).await;
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["organization"], Value::Null);
    assert_eq!(a["api_keys"], json!([]));

    let r =
        s.call(Method::POST, "/api/v1/organizations", &t, Some(json!({"name": "Acme"})), &[]).await;
    problem(r, 409, "conflict").await;
    let r = s
        .call(Method::POST, "/api/v1/organizations", &t, Some(json!({"name": "  ", "x": 1})), &[])
        .await;
    let p = problem(r, 422, "validation_error").await;
    assert_eq!(p["errors"].as_array().unwrap().len(), 2, "{p}");
    let body = json!({"name": "Loner Co", "metadata": {"vat": "FR123"}});
    let r = s.call(Method::POST, "/api/v1/organizations", &t, Some(body), &[]).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], format!("{SITE}/api/v1/organization"));
    let o: Value = r.json().await.unwrap();
    assert_eq!(o["name"], "Loner Co");
    assert_eq!(o["metadata"], json!({"vat": "FR123"}));
    assert_eq!(o["brand_count"], 0);
    // The same token acts for the new organization at once.
    let r = s.call(Method::GET, "/api/v1/organization", &t, None, &[]).await;
    assert_eq!(r.status(), 200);
    let now: Value = r.json().await.unwrap();
    assert_eq!(now["id"], o["id"]);
    let r =
        s.call(Method::POST, "/api/v1/brands", &t, Some(json!({"name": "Loner Brand"})), &[]).await;
    assert_eq!(r.status(), 201);
    // One organization per account: a member (new or old) cannot create another.
    for token in [t.clone(), s.token(OWNER, ALL).await] {
        let r = s
            .call(
                Method::POST,
                "/api/v1/organizations",
                &token,
                Some(json!({"name": "Second"})),
                &[],
            )
            .await;
        problem(r, 409, "conflict").await;
    }
    let read = s.token(LONER, "products:read accounts:read").await;
    let r = s
        .call(Method::POST, "/api/v1/organizations", &read, Some(json!({"name": "Third"})), &[])
        .await;
    problem(r, 403, "forbidden").await;
}

async fn an_organization_is_deleted_only_without_brands(backend: Backend) {
    let s = start(backend).await;
    let t = s.token(OWNER, ALL).await;
    let (_, key) =
        s.auth.create_api_key(s.orgs[0], "feed", "products:read", None, None).await.unwrap();
    assert_eq!(s.with_key(Method::GET, "/api/v1/brands", &key, None).await.status(), 200);
    s.product(&t, "00614141123452", "Acme Foods").await;
    let r = s.call(Method::DELETE, "/api/v1/organization", &t, None, &[]).await;
    let p = problem(r, 409, "conflict").await;
    assert!(p["detail"].as_str().unwrap().contains("1 brand"), "{p}");
    let r = s.call(Method::DELETE, "/api/v1/products/00614141123452", &t, None, &[]).await;
    assert_eq!(r.status(), 204);
    let id = s.brand_id("acme foods").await;
    let r = s.call(Method::DELETE, &format!("/api/v1/brands/{id}"), &t, None, &[]).await;
    assert_eq!(r.status(), 204);
    let r =
        s.call(Method::DELETE, "/api/v1/organization", &t, None, &[("if-match", "\"old\"")]).await;
    problem(r, 412, "conflict").await;
    let r = s.call(Method::GET, "/api/v1/organization", &t, None, &[]).await;
    let tag = etag(&r);
    let r = s.call(Method::DELETE, "/api/v1/organization", &t, None, &[("if-match", &tag)]).await;
    assert_eq!(r.status(), 204);
    // The user stays, in no organization; the organization's keys are gone.
    let r = s.call(Method::GET, "/api/v1/organization", &t, None, &[]).await;
    problem(r, 403, "forbidden").await;
    let (count,): (i64,) =
        s.db.row(
            "SELECT COUNT(*) FROM users WHERE email = $1 AND organization_id IS NULL",
            &[OWNER.into()],
        )
        .await;
    assert_eq!(count, 1);
    problem(s.with_key(Method::GET, "/api/v1/brands", &key, None).await, 401, "unauthorized").await;
    let r = s.call(Method::DELETE, "/api/v1/organization", &t, None, &[]).await;
    problem(r, 403, "forbidden").await;
    // Rival is untouched.
    let rival = s.token(RIVAL, ALL).await;
    let r = s.call(Method::GET, "/api/v1/organization", &rival, None, &[]).await;
    assert_eq!(r.status(), 200);
}

async fn the_account_shows_the_caller_and_its_keys(backend: Backend) {
    let s = start(backend).await;
    let (record, key) = s
        .auth
        .create_api_key(s.orgs[0], "feed", "accounts:read products:read", Some(7), None)
        .await
        .unwrap();
    let (_, other) =
        s.auth.create_api_key(s.orgs[1], "theirs", "products:read", None, None).await.unwrap();
    let t = s.token(OWNER, "accounts:read").await;
    let r = s.call(Method::GET, "/api/v1/account", &t, None, &[]).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains(&key) && !text.contains(&other), "a key leaked: {text}");
    assert!(!text.contains("hash"), "{text}");
    let a: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(a["credential"], "user");
    assert_eq!(a["user"]["email"], OWNER);
    assert_eq!(a["api_key"], Value::Null);
    assert_eq!(a["scopes"], json!(["accounts:read"]));
    assert_eq!(a["organization"]["name"], "Acme");
    let keys = a["api_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{a}");
    assert_eq!(keys[0]["id"], record.id);
    assert_eq!(keys[0]["name"], "feed");
    assert_eq!(keys[0]["prefix"], record.prefix);
    assert!(key.starts_with(record.prefix.as_str()));
    assert_eq!(keys[0]["rate_limit_per_minute"], 7);
    let mut scopes: Vec<&str> =
        keys[0]["scopes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["accounts:read", "products:read"]);
    assert_eq!(keys[0]["revoked_at"], Value::Null);

    // With the key itself.
    let r = s.with_key(Method::GET, "/api/v1/account", &key, None).await;
    assert_eq!(r.status(), 200);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["credential"], "api_key");
    assert_eq!(a["user"], Value::Null);
    assert_eq!(a["api_key"]["id"], record.id);
    assert_eq!(a["api_key"]["prefix"], record.prefix);
    assert_eq!(a["organization"]["id"], s.orgs[0]);
    // Revoked keys are listed as such.
    let (revoked, _) =
        s.auth.create_api_key(s.orgs[0], "old", "products:read", None, None).await.unwrap();
    assert!(s.auth.revoke_api_key(revoked.id).await.unwrap());
    let r = s.call(Method::GET, "/api/v1/account", &t, None, &[]).await;
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["api_keys"][1]["name"], "old");
    assert!(a["api_keys"][1]["revoked_at"].is_string());

    // accounts:read is needed.
    let other_scope = s.token(OWNER, "products:read").await;
    let r = s.call(Method::GET, "/api/v1/account", &other_scope, None, &[]).await;
    problem(r, 403, "forbidden").await;
    let r = s.with_key(Method::GET, "/api/v1/account", &other, None).await;
    problem(r, 403, "forbidden").await;
    problem(s.get("/api/v1/account").await, 401, "unauthorized").await;
}

async fn api_keys_and_revoked_keys(backend: Backend) {
    let s = start(backend).await;
    let (record, key) = s
        .auth
        .create_api_key(s.orgs[0], "feed", "accounts:read products:read products:write", None, None)
        .await
        .unwrap();
    // A key manages its organization's brands and lists its products.
    let r = s.with_key(Method::POST, "/api/v1/brands", &key, Some(json!({"name": "Keyed"}))).await;
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["organization_id"], s.orgs[0]);
    let r = s.with_key(Method::GET, "/api/v1/products", &key, None).await;
    assert_eq!(r.status(), 200);
    let r = s
        .with_key(
            Method::PATCH,
            "/api/v1/organization",
            &key,
            Some(json!({"metadata": {"k": "v"}})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let rival_brand = s.brand_id("rival foods").await;
    let r = s.with_key(Method::GET, &format!("/api/v1/brands/{rival_brand}"), &key, None).await;
    problem(r, 403, "forbidden").await;
    // It cannot create an organization: it always acts for its own.
    let r = s
        .with_key(Method::POST, "/api/v1/organizations", &key, Some(json!({"name": "Keyed Co"})))
        .await;
    problem(r, 403, "forbidden").await;
    // A key's organization with brands cannot be deleted with it either.
    let r = s.with_key(Method::DELETE, "/api/v1/organization", &key, None).await;
    problem(r, 409, "conflict").await;
    // Revoked: refused at once.
    assert!(s.auth.revoke_api_key(record.id).await.unwrap());
    let r = s.with_key(Method::GET, "/api/v1/brands", &key, None).await;
    problem(r, 401, "unauthorized").await;
    let r = s.with_key(Method::GET, "/api/v1/account", &key, None).await;
    problem(r, 401, "unauthorized").await;
}

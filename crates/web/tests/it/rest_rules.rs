//! The resolver-rule management endpoints over real HTTP on 127.0.0.1, on both backends,
//! against the demo catalog: create/read/update/delete with entity tags and If-Match,
//! reorder, pagination, one audit row per change, every refusal as a problem document
//! (scopes, organizations, ownership, validation naming the field, stale versions,
//! conflicts), and the resolver following each change.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::common;

use common::rest::{RestServer, SITE, problem};
use common::{Backend, TestDb, demo_template, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    rules_are_created_read_updated_and_deleted_with_entity_tags_and_audit_rows,
    a_rule_changes_the_resolution_and_disabling_it_reverts_that,
    refusals_are_problem_documents_that_name_the_reason,
    scopes_reorder_and_lists_are_paginated,
);

const OWNER: &str = "owner@example.com";
const OUTSIDER: &str = "outsider@example.com";
const LONER: &str = "loner@example.com";

/// A server on the demo catalog where organization `us` owns the brand of product `ours`
/// and organization `them` the brand of product `theirs`; OWNER acts for `us`, OUTSIDER for
/// `them`, LONER for nobody.
struct Server {
    rest: RestServer,
    us: i64,
    them: i64,
    our_brand: i64,
    ours: String,
    theirs: String,
}

impl std::ops::Deref for Server {
    type Target = RestServer;
    fn deref(&self) -> &RestServer {
        &self.rest
    }
}

async fn start(backend: Backend) -> Server {
    let db = TestDb::from_template(backend, demo_template(backend)).await;
    let rest = RestServer::start(db, &[("Us", OWNER), ("Them", OUTSIDER)], &[LONER]).await;
    let (us, them) = (rest.orgs[0], rest.orgs[1]);
    let db = &rest.db;
    let (ours, our_brand): (String, i64) = db
        .row(
            "SELECT p.gtin, p.brand_id FROM products p WHERE p.brand_id IS NOT NULL ORDER BY p.gtin LIMIT 1",
            &[],
        )
        .await;
    let (theirs, their_brand): (String, i64) = db
        .row(
            "SELECT p.gtin, p.brand_id FROM products p WHERE p.brand_id IS NOT NULL AND p.brand_id <> $1 ORDER BY p.gtin LIMIT 1",
            &[our_brand.into()],
        )
        .await;
    for (brand, org) in [(our_brand, us), (their_brand, them)] {
        db.execute(
            "UPDATE brands SET organization_id = $1 WHERE id = $2",
            &[org.into(), brand.into()],
        )
        .await;
    }
    Server { rest, us, them, our_brand, ours, theirs }
}

impl Server {
    async fn owner(&self) -> String {
        self.token(OWNER, "rules:write products:read").await
    }

    /// Creates a rule as OWNER; the new rule.
    async fn create(&self, token: &str, body: Value) -> Value {
        let r = self.request(Method::POST, "/api/v1/rules", Some(token), Some(&body), &[]).await;
        assert_eq!(r.status(), 201, "{body}");
        r.json().await.unwrap()
    }

    async fn audit_rows(&self) -> Vec<(String, Option<String>, Option<String>, Option<String>)> {
        self.db
            .rows(
                "SELECT action, target, before_state, after_state FROM audit_events \
                 WHERE action LIKE 'rule.%' ORDER BY id",
                &[],
            )
            .await
    }

    async fn resolution(&self) -> Value {
        let r = self
            .request(
                Method::GET,
                &format!("/api/v1/gtins/{}/resolution", self.ours),
                None,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }
}

fn json_of(s: &Option<String>) -> Value {
    s.as_deref().map(|s| serde_json::from_str(s).unwrap()).unwrap_or(Value::Null)
}

async fn rules_are_created_read_updated_and_deleted_with_entity_tags_and_audit_rows(
    backend: Backend,
) {
    let s = start(backend).await;
    let token = s.owner().await;
    let body = json!({
        "scope": "PRODUCT", "gtin": s.ours, "custom_url": "https://brand.example/page",
        "link_type": "gs1:pip", "countries": ["US", "ca"], "days_of_week": ["mon", "tue"],
        "time_start": "08:00", "time_end": "20:00", "time_zone": "America/Chicago",
        "starts_at": "2026-01-01T00:00:00Z", "metadata": {"campaign": "spring"}
    });
    let r = s.request(Method::POST, "/api/v1/rules", Some(&token), Some(&body), &[]).await;
    assert_eq!(r.status(), 201);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        s.request(Method::POST, "/api/v1/rules", Some(&token), Some(&body), &[])
            .await
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned()),
        Some(format!("{SITE}/api/v1/rules/{}", id + 1)),
        "a second rule of the scope goes after the first"
    );
    assert_eq!(created["order_index"], 0);
    assert_eq!(created["scope"], "PRODUCT");
    assert_eq!(created["destination_type"], "CUSTOM_URL");
    assert_eq!(created["countries"], json!(["US", "CA"]));
    assert_eq!(created["enabled"], true);
    assert_eq!(created["on_custom_url_dead"], "FALLBACK_TO_HOSTED");

    // GET: the same representation and tag; If-None-Match gives 304.
    let path = format!("/api/v1/rules/{id}");
    let r = s.request(Method::GET, &path, Some(&token), None, &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], etag.as_str());
    assert_eq!(r.json::<Value>().await.unwrap(), created);
    let r = s.request(Method::GET, &path, Some(&token), None, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status(), 304);

    // PATCH with the current tag; the old tag is then stale (412 conflict).
    let r = s
        .request(
            Method::PATCH,
            &path,
            Some(&token),
            Some(&json!({"enabled": false, "countries": null})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status(), 200);
    let new_etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let updated: Value = r.json().await.unwrap();
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["countries"], Value::Null);
    assert_eq!(updated["custom_url"], created["custom_url"]);
    let r = s
        .request(
            Method::PATCH,
            &path,
            Some(&token),
            Some(&json!({"enabled": true})),
            &[("if-match", &etag)],
        )
        .await;
    problem(r, 412, "conflict").await;
    let r = s.request(Method::DELETE, &path, Some(&token), None, &[("if-match", &etag)]).await;
    problem(r, 412, "conflict").await;
    let r = s.request(Method::GET, &path, Some(&token), None, &[]).await;
    assert_eq!(r.json::<Value>().await.unwrap(), updated, "refused changes change nothing");

    // DELETE with the current tag.
    let r = s.request(Method::DELETE, &path, Some(&token), None, &[("if-match", &new_etag)]).await;
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    problem(s.request(Method::GET, &path, Some(&token), None, &[]).await, 404, "not_found").await;
    problem(s.request(Method::DELETE, &path, Some(&token), None, &[]).await, 404, "not_found")
        .await;

    // One audit row per change, with the rule before and after.
    let rows = s.audit_rows().await;
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(actions, ["rule.create", "rule.create", "rule.update", "rule.delete"]);
    let target = format!("rule:{id}");
    assert_eq!(rows[0].1.as_deref(), Some(target.as_str()));
    assert_eq!((json_of(&rows[0].2), json_of(&rows[0].3)), (Value::Null, created.clone()));
    assert_eq!((json_of(&rows[2].2), json_of(&rows[2].3)), (created, updated.clone()));
    assert_eq!((json_of(&rows[3].2), json_of(&rows[3].3)), (updated, Value::Null));
    let (user, client): (Option<i64>, Option<String>) =
        s.db.row("SELECT user_id, client_id FROM audit_events WHERE action = 'rule.delete'", &[])
            .await;
    let (owner_id,): (i64,) =
        s.db.row("SELECT id FROM users WHERE email = $1", &[OWNER.into()]).await;
    assert_eq!(user, Some(owner_id));
    assert!(client.is_some());
}

async fn a_rule_changes_the_resolution_and_disabling_it_reverts_that(backend: Backend) {
    let s = start(backend).await;
    let token = s.owner().await;
    let before = s.resolution().await;
    assert_eq!(before["fallback_applied"], true, "{before}");
    let rule = s
        .create(
            &token,
            json!({"scope": "BRAND", "brand_id": s.our_brand, "custom_url": "https://brand.example/x"}),
        )
        .await;
    let during = s.resolution().await;
    assert_eq!(during["destination_url"], "https://brand.example/x");
    assert_eq!(during["matched_rule_scope"], "BRAND");
    assert_eq!(during["fallback_applied"], false);
    let path = format!("/api/v1/rules/{}", rule["id"]);
    let r =
        s.request(Method::PATCH, &path, Some(&token), Some(&json!({"enabled": false})), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(s.resolution().await, before, "disabled: back to the default");
    let r =
        s.request(Method::PATCH, &path, Some(&token), Some(&json!({"enabled": true})), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(s.resolution().await, during);
    // The scanner sees it too.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/01/{}", s.base, s.ours))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 307);
    assert_eq!(r.headers()["location"], "https://brand.example/x");
}

async fn refusals_are_problem_documents_that_name_the_reason(backend: Backend) {
    let s = start(backend).await;
    let token = s.owner().await;
    let good = json!({"scope": "PRODUCT", "gtin": s.ours});

    // No credential: 401 with a challenge; a credential without the scope: 403
    // insufficient_scope, for writes and reads alike.
    let r = s.request(Method::POST, "/api/v1/rules", None, Some(&good), &[]).await;
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("rules:write"));
    problem(r, 401, "unauthorized").await;
    let read_only = s.token(OWNER, "products:read").await;
    let r = s.request(Method::POST, "/api/v1/rules", Some(&read_only), Some(&good), &[]).await;
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains("rules:write"),
        "{challenge}"
    );
    problem(r, 403, "forbidden").await;
    let write_only = s.token(OWNER, "rules:write").await;
    let r = s.request(Method::GET, "/api/v1/rules", Some(&write_only), None, &[]).await;
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("products:read"));
    problem(r, 403, "forbidden").await;
    // A user of no organization.
    let loner = s.token(LONER, "rules:write products:read").await;
    let r = s.request(Method::POST, "/api/v1/rules", Some(&loner), Some(&good), &[]).await;
    problem(r, 403, "forbidden").await;

    // Targets of another organization, GLOBAL rules.
    for body in [
        json!({"scope": "PRODUCT", "gtin": s.theirs}),
        json!({"scope": "SERIAL", "gtin": s.theirs, "serial": "S1"}),
        json!({"scope": "ORGANIZATION", "organization_id": s.them}),
        json!({"scope": "GLOBAL"}),
    ] {
        let r = s.request(Method::POST, "/api/v1/rules", Some(&token), Some(&body), &[]).await;
        problem(r, 403, "forbidden").await;
    }
    // Another organization's rule does not exist for us.
    let outsider = s.token(OUTSIDER, "rules:write products:read").await;
    let theirs = s.create(&outsider, json!({"scope": "PRODUCT", "gtin": s.theirs})).await;
    let path = format!("/api/v1/rules/{}", theirs["id"]);
    problem(s.request(Method::GET, &path, Some(&token), None, &[]).await, 404, "not_found").await;
    let r =
        s.request(Method::PATCH, &path, Some(&token), Some(&json!({"enabled": false})), &[]).await;
    problem(r, 404, "not_found").await;
    problem(s.request(Method::DELETE, &path, Some(&token), None, &[]).await, 404, "not_found")
        .await;
    let r = s.request(Method::GET, "/api/v1/rules", Some(&token), None, &[]).await;
    assert_eq!(r.json::<Value>().await.unwrap()["pagination"]["total"], 0);

    // Validation: every wrong field is named.
    let bad = json!({
        "scope": "PRODUCT", "gtin": "614141123453", "annual_start": "13-01", "annual_end": "01-15",
        "time_zone": "Mars/Olympus", "countries": ["XX"], "custom_url": "ftp://brand.example/x",
        "days_of_week": ["someday"], "bogus": true
    });
    let r = s.request(Method::POST, "/api/v1/rules", Some(&token), Some(&bad), &[]).await;
    let v = problem(r, 422, "validation_error").await;
    let mut fields: Vec<&str> =
        v["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["bogus", "days_of_week"], "types and names first: {v}");
    let mut bad = bad;
    bad.as_object_mut().unwrap().retain(|k, _| k != "bogus" && k != "days_of_week");
    let r = s.request(Method::POST, "/api/v1/rules", Some(&token), Some(&bad), &[]).await;
    let v = problem(r, 422, "validation_error").await;
    let mut fields: Vec<&str> =
        v["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["annual_start", "countries", "custom_url", "gtin", "time_zone"], "{v}");
    let gtin_error =
        &v["errors"].as_array().unwrap().iter().find(|e| e["field"] == "gtin").unwrap();
    assert!(gtin_error["message"].as_str().unwrap().contains("check digit"), "{gtin_error}");
    for (body, field) in [
        (
            json!({"scope": "PRODUCT", "gtin": s.ours, "destination_type": "CUSTOM_URL"}),
            "custom_url",
        ),
        (json!({"scope": "BRAND"}), "brand_id"),
        (json!({"gtin": s.ours}), "scope"),
        (
            json!({"scope": "PRODUCT", "gtin": s.ours, "time_start": "09:00", "time_end": "17:00"}),
            "time_zone",
        ),
        (json!({"scope": "PRODUCT", "gtin": s.ours, "id": 5}), "id"),
    ] {
        let r = s.request(Method::POST, "/api/v1/rules", Some(&token), Some(&body), &[]).await;
        let v = problem(r, 422, "validation_error").await;
        assert_eq!(v["errors"][0]["field"], field, "{body}: {v}");
    }
    // Malformed bodies.
    let r = s
        .http
        .post(format!("{}/api/v1/rules", s.base))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    problem(r, 400, "bad_request").await;
    let r = s.request(Method::POST, "/api/v1/rules", Some(&token), Some(&json!([1])), &[]).await;
    problem(r, 400, "bad_request").await;
    // Bad ids and pages.
    let r = s.request(Method::GET, "/api/v1/rules/abc", Some(&token), None, &[]).await;
    assert_eq!(problem(r, 422, "validation_error").await["errors"][0]["field"], "id");
    for q in ["page_size=101", "page_size=0", "page=0", "page=x", "limit=3"] {
        let r =
            s.request(Method::GET, &format!("/api/v1/rules?{q}"), Some(&token), None, &[]).await;
        problem(r, 422, "validation_error").await;
    }
    // A taken position is a conflict.
    let first = s.create(&token, good.clone()).await;
    let mut again = good.clone();
    again["order_index"] = first["order_index"].clone();
    let r = s.request(Method::POST, "/api/v1/rules", Some(&token), Some(&again), &[]).await;
    problem(r, 409, "conflict").await;
    // Refusals left no audit rows: two creations only.
    assert_eq!(s.audit_rows().await.len(), 2);
}

async fn scopes_reorder_and_lists_are_paginated(backend: Backend) {
    let s = start(backend).await;
    let token = s.owner().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let rule = s
            .create(
                &token,
                json!({"scope": "BRAND", "brand_id": s.our_brand, "custom_url": format!("https://brand.example/{i}")}),
            )
            .await;
        assert_eq!(rule["order_index"], i);
        ids.push(rule["id"].as_i64().unwrap());
    }
    let org_rule =
        s.create(&token, json!({"scope": "ORGANIZATION", "organization_id": s.us})).await;

    let page = |n: u32| format!("/api/v1/rules?page={n}&page_size=3");
    let r = s.request(Method::GET, &page(1), Some(&token), None, &[]).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["pagination"], json!({"page": 1, "page_size": 3, "total": 4, "total_pages": 2}));
    let listed: Vec<i64> =
        v["items"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(listed, ids);
    let v: Value =
        s.request(Method::GET, &page(2), Some(&token), None, &[]).await.json().await.unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["id"], org_rule["id"]);
    let v: Value = s
        .request(Method::GET, "/api/v1/rules", Some(&token), None, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["pagination"], json!({"page": 1, "page_size": 20, "total": 4, "total_pages": 1}));

    // The winner follows the order: the lowest order_index of the brand scope.
    assert_eq!(s.resolution().await["destination_url"], "https://brand.example/0");
    let order = json!([ids[2], ids[0], ids[1]]);
    let body = json!({"scope": "BRAND", "brand_id": s.our_brand, "rule_ids": order});
    let r = s.request(Method::POST, "/api/v1/rules/reorder", Some(&token), Some(&body), &[]).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let got: Vec<(i64, i64)> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["order_index"].as_i64().unwrap()))
        .collect();
    assert_eq!(got, [(ids[2], 0), (ids[0], 1), (ids[1], 2)]);
    assert_eq!(s.resolution().await["destination_url"], "https://brand.example/2");
    let rows = s.audit_rows().await;
    let last = rows.last().unwrap();
    assert_eq!(last.0, "rule.reorder");
    assert_eq!(
        json_of(&last.3),
        json!([
            {"id": ids[2], "order_index": 0}, {"id": ids[0], "order_index": 1}, {"id": ids[1], "order_index": 2}
        ])
    );
    assert_eq!(rows.len(), 5, "four creations and one reorder");

    // Incomplete lists, another organization's scope.
    let body = json!({"scope": "BRAND", "brand_id": s.our_brand, "rule_ids": [ids[0], ids[1]]});
    let r = s.request(Method::POST, "/api/v1/rules/reorder", Some(&token), Some(&body), &[]).await;
    assert_eq!(problem(r, 422, "validation_error").await["errors"][0]["field"], "rule_ids");
    let outsider = s.token(OUTSIDER, "rules:write products:read").await;
    let body = json!({"scope": "BRAND", "brand_id": s.our_brand, "rule_ids": order});
    let r =
        s.request(Method::POST, "/api/v1/rules/reorder", Some(&outsider), Some(&body), &[]).await;
    problem(r, 403, "forbidden").await;
    assert_eq!(s.audit_rows().await.len(), 5);
}

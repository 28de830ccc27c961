//! The REST API over real HTTP on 127.0.0.1, on both backends, against the demo catalog:
//! each read endpoint returns exactly what its MCP tool returns (both asked on the same
//! server), errors are problem documents with the MCP error codes, rate-limit headers and 429s,
//! entity tags, and the OpenAPI document (every route in the source is in it, every
//! documented operation is served) with its HTML rendering.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::common;

use std::path::PathBuf;
use std::sync::Arc;

use auth::AuthServer;
use common::{Backend, TestDb, demo_template, on_both_backends};
use serde_json::{Value, json};
use web::HttpSettings;

on_both_backends!(
    read_endpoints_return_what_the_tools_return,
    errors_are_problem_documents_with_the_mcp_codes,
    rate_limits_are_announced_and_enforced,
    products_carry_entity_tags,
    the_openapi_document_covers_every_route,
    the_digital_link_url_needs_a_users_qr_scope,
);

const SITE: &str = "http://localhost:8080";
const EMAIL: &str = "owner@example.com";

struct Server {
    db: TestDb,
    base: String,
    auth: Arc<AuthServer>,
    http: reqwest::Client,
}

async fn start_with(backend: Backend, http_settings: HttpSettings) -> Server {
    let db = TestDb::from_template(backend, demo_template(backend)).await;
    let auth = Arc::new(db.auth(auth::AuthConfig::new(SITE)).await);
    auth.create_user(EMAIL, "a long enough password").await.unwrap();
    let base = common::serve(&db, auth.clone(), http_settings).await;
    Server { db, base, auth, http: reqwest::Client::new() }
}

async fn start(backend: Backend) -> Server {
    start_with(backend, HttpSettings::default()).await
}

impl Server {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], "application/json", "{path}");
        r.json().await.unwrap()
    }

    /// An MCP tool's structured result, from the same server.
    async fn tool(&self, name: &str, arguments: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}});
        let v: Value = self
            .http
            .post(format!("{}/mcp/http", self.base))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(v["result"]["structuredContent"].is_object(), "{name}: {v}");
        v["result"]["structuredContent"].clone()
    }

    /// A chocolate product with offers near Rogers, AR (the demo's Walmart stores).
    async fn stocked_product(&self) -> String {
        let out = self.get_json("/api/v1/search?query=chocolate&limit=100").await;
        out["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| !i["price_min"].is_null())
            .map(|i| i["gtin"].as_str().unwrap().to_owned())
            .expect("a chocolate product with offers")
    }
}

async fn problem(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.headers().contains_key("x-request-id"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], status, "{v}");
    assert!(v["type"].as_str().unwrap().ends_with(v["error_code"].as_str().unwrap()), "{v}");
    assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
    v
}

async fn read_endpoints_return_what_the_tools_return(backend: Backend) {
    let s = start(backend).await;
    let gtin = s.stocked_product().await;
    let short = &gtin[1..]; // the GTIN-13 form
    let pairs: Vec<(String, &str, Value)> = vec![
        (format!("/api/v1/gtins/{short}/validation"), "validate_gtin", json!({"gtin": short})),
        (
            "/api/v1/gtins/614141123453/validation".into(),
            "validate_gtin",
            json!({"gtin": "614141123453"}),
        ),
        (
            format!("/api/v1/gtins/{gtin}/resolution?link_type=gs1:pip"),
            "resolve_gtin",
            json!({"gtin": gtin, "link_type": "gs1:pip"}),
        ),
        (format!("/api/v1/products/{short}"), "lookup_product", json!({"gtin": short})),
        (format!("/api/v1/products/{gtin}/detail"), "get_product_detail", json!({"gtin": gtin})),
        (
            format!("/api/v1/products/{gtin}/availability?lat=36.33&lng=-94.12&radius_km=500"),
            "check_availability",
            json!({"gtin": gtin, "lat": 36.33, "lng": -94.12, "radius_km": 500}),
        ),
        (
            "/api/v1/search?query=dark%20chocolate&geo_lat=36.33&geo_lng=-94.12&limit=5".into(),
            "search_products",
            json!({"query": "dark chocolate", "geo_lat": 36.33, "geo_lng": -94.12, "limit": 5}),
        ),
        (
            "/api/v1/search?query=pasta&country_of_origin=IT&limit=3".into(),
            "search_products",
            json!({"query": "pasta", "filters": {"country_of_origin": "IT"}, "limit": 3}),
        ),
        (
            format!("/api/v1/compare?gtins={gtin},00614141999999"),
            "compare_products",
            json!({"gtins": [gtin, "00614141999999"]}),
        ),
    ];
    for (path, tool, args) in pairs {
        let rest = s.get_json(&path).await;
        let mcp = s.tool(tool, args).await;
        assert_eq!(rest, mcp, "{path} vs {tool}");
    }
    let avail = s
        .get_json(&format!(
            "/api/v1/products/{gtin}/availability?lat=36.33&lng=-94.12&radius_km=500"
        ))
        .await;
    assert!(avail["total"].as_u64().unwrap() > 0, "the product is stocked: {avail}");

    // POST /api/v1/search takes the tool's arguments, metadata filters included.
    let args = json!({"query": "chocolate", "filters": {"nutriscore_grade": "e"}, "limit": 7});
    let r = s
        .http
        .post(format!("{}/api/v1/search", s.base))
        .header("content-type", "application/json")
        .body(args.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rest: Value = r.json().await.unwrap();
    assert_eq!(rest, s.tool("search_products", args).await);
    assert!(!rest["items"].as_array().unwrap().is_empty(), "{rest}");
}

async fn errors_are_problem_documents_with_the_mcp_codes(backend: Backend) {
    let s = start(backend).await;
    // A valid GTIN not in the catalog: 404 here (the tool says found: false).
    let v = problem(s.get("/api/v1/products/614141123452").await, 404).await;
    assert_eq!(v["error_code"], "not_found");
    assert!(v["detail"].as_str().unwrap().contains("00614141123452"), "{v}");
    let v = problem(s.get("/api/v1/products/614141123452/detail").await, 404).await;
    assert_eq!(v["error_code"], "not_found");
    // An invalid one: the tool's validation_error, with the field.
    let v = problem(s.get("/api/v1/products/614141123453").await, 422).await;
    assert_eq!(v["error_code"], "validation_error");
    assert_eq!(v["errors"][0]["field"], "gtin");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("check digit"), "{v}");
    // Every parameter problem at once, each by name.
    let v = problem(
        s.get("/api/v1/products/614141123452/availability?lat=91&lng=x&radius_km=0&colour=red")
            .await,
        422,
    )
    .await;
    let fields: Vec<&str> =
        v["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["colour", "lat", "lng", "radius_km"], "{v}");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("lat, lng, radius_km"), "{v}");
    let v = problem(s.get("/api/v1/search").await, 422).await;
    assert_eq!(v["errors"][0], json!({"field": "query", "message": "is required"}));
    let v = problem(s.get("/api/v1/compare?gtins=614141123452").await, 422).await;
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("2 to 5"), "{v}");
    // Empty and blank values are wrong values, not absent ones (the document says minLength 1
    // and a non-blank pattern), and a wrong filter is named as the parameter it came in.
    let v = problem(s.get("/api/v1/search?query=x&brand=&category_id=%20&limit=").await, 422).await;
    let fields: Vec<&str> =
        v["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["brand", "category_id", "limit"], "{v}");
    assert_eq!(v["errors"][1]["message"], "must not be blank");
    let v = problem(s.get("/api/v1/search?query=x&country_of_origin=ZZ").await, 422).await;
    assert_eq!(v["errors"][0]["field"], "country_of_origin", "{v}");
    // The POST body: not JSON, not an object, unknown argument.
    for (body, status, code) in [
        ("{", 400, "bad_request"),
        ("[1]", 400, "bad_request"),
        (r#"{"query": "x", "colour": "red"}"#, 422, "validation_error"),
        (r#"{"query": "x", "limit": 1000}"#, 422, "validation_error"),
    ] {
        let r = s.http.post(format!("{}/api/v1/search", s.base)).body(body).send().await.unwrap();
        let v = problem(r, status).await;
        assert_eq!(v["error_code"], code, "{body}: {v}");
    }
    // A bad token is refused even on a public endpoint, with a challenge.
    let r = s
        .http
        .get(format!("{}/api/v1/gtins/614141123452/validation", s.base))
        .bearer_auth("pl_at_not-a-token")
        .send()
        .await
        .unwrap();
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    let v = problem(r, 401).await;
    assert_eq!(v["error_code"], "unauthorized");
    // Unknown REST paths and wrong methods are problems too.
    let v = problem(s.get("/api/v1/nothing-here").await, 404).await;
    assert_eq!(v["error_code"], "not_found");
    let r = s.http.delete(format!("{}/api/v1/search", s.base)).send().await.unwrap();
    problem(r, 405).await;
    // Two credentials at once are a 400, documented on every operation; a method the path does
    // not serve is still a 405 with Allow, whatever the credentials.
    let two = |method: reqwest::Method, path: &str| {
        s.http
            .request(method, format!("{}{path}", s.base))
            .bearer_auth("pl_at_not-a-token")
            .header("x-api-key", "pl_key_not-a-key")
    };
    let v = problem(two(reqwest::Method::GET, "/api/v1/search?query=x").send().await.unwrap(), 400)
        .await;
    assert_eq!(v["error_code"], "bad_request");
    let doc = s.get_json("/api/v1/openapi.json").await;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            assert!(op["responses"]["400"].is_object(), "{method} {path} does not document 400");
        }
    }
    let r = two(reqwest::Method::TRACE, "/api/v1/search").send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers()["allow"].to_str().unwrap().contains("POST"), "{:?}", r.headers());
}

async fn rate_limits_are_announced_and_enforced(backend: Backend) {
    let mut http = HttpSettings::default();
    http.rate_limits.anonymous_per_minute = 3;
    let s = start_with(backend, http).await;
    for remaining in [2, 1, 0] {
        let r = s.get("/api/v1/gtins/614141123452/validation").await;
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["ratelimit-limit"], "3");
        assert_eq!(h["ratelimit-remaining"], remaining.to_string().as_str());
        let reset: u64 = h["ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!(reset <= 60, "{reset}");
    }
    let r = s.get("/api/v1/gtins/614141123452/validation").await;
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    assert_eq!(r.headers()["ratelimit-remaining"], "0");
    let v = problem(r, 429).await;
    assert_eq!(v["error_code"], "rate_limited");
    assert_eq!(v["retry_after"], retry);
    // An authenticated client has its own, larger allowance.
    let token = s.auth.mint_token(EMAIL, "products:read").await.unwrap().access_token;
    let r = s
        .http
        .get(format!("{}/api/v1/gtins/614141123452/validation", s.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["ratelimit-limit"], "1200");
    // Non-REST routes are not counted against the REST limit.
    assert_eq!(s.get("/mcp/health").await.status(), 200);
}

async fn products_carry_entity_tags(backend: Backend) {
    let s = start(backend).await;
    let gtin = s.stocked_product().await;
    for path in [format!("/api/v1/products/{gtin}"), format!("/api/v1/products/{gtin}/detail")] {
        let r = s.get(&path).await;
        assert_eq!(r.status(), 200);
        let tag = r.headers()["etag"].to_str().unwrap().to_owned();
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34, "{tag}");
        let again = s.get(&path).await.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(again, tag, "stable while unchanged");
        let r = s
            .http
            .get(format!("{}{path}", s.base))
            .header("if-none-match", format!("\"other\", {tag}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        assert_eq!(r.headers()["etag"], tag.as_str());
        let r = s
            .http
            .get(format!("{}{path}", s.base))
            .header("if-none-match", "\"other\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // A change to the product changes its tag.
    let before = s.get(&format!("/api/v1/products/{gtin}")).await.headers()["etag"].clone();
    s.db.execute(
        "UPDATE products SET description = 'changed for the test' WHERE gtin = $1",
        &[gtin.as_str().into()],
    )
    .await;
    let after = s.get(&format!("/api/v1/products/{gtin}")).await.headers()["etag"].clone();
    assert_ne!(before, after);
}

/// Every `/api/v1/…` route written in the web crate's source.
fn routes_in_source() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![dir];
    let mut found = Vec::new();
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for part in text.split("path: \"").skip(1) {
                    found.push(part.split('"').next().unwrap().to_owned());
                }
                for part in text.split(".route(\"").skip(1) {
                    found.push(part.split('"').next().unwrap().to_owned());
                }
            }
        }
    }
    found.retain(|p| p.starts_with("/api/"));
    found.sort();
    found.dedup();
    found
}

async fn the_openapi_document_covers_every_route(backend: Backend) {
    let s = start(backend).await;
    let doc = s.get_json("/api/v1/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], SITE);
    let paths = doc["paths"].as_object().unwrap();
    let source = routes_in_source();
    assert!(source.len() >= 10, "{source:?}");
    for route in &source {
        assert!(paths.contains_key(route), "{route} is served but not in openapi.json");
    }
    // Every documented operation is served: it answers with a documented status.
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let url = format!("{}{}", s.base, path.replace("{gtin}", "614141123452"));
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let r = s.http.request(method.clone(), url).body("{}").send().await.unwrap();
            let status = r.status().as_u16().to_string();
            assert!(
                op["responses"].get(&status).is_some(),
                "{method} {path} answered {status}, which is not documented"
            );
            if status == "404" {
                let v: Value = r.json().await.unwrap();
                let detail = v["detail"].as_str().unwrap();
                assert!(!detail.starts_with("no resource at"), "{method} {path} is not served");
            }
            assert!(op["summary"].as_str().is_some_and(|t| !t.is_empty()));
        }
    }
    // The HTML reference lists every operation.
    let r = s.get("/api/v1/docs").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = r.text().await.unwrap();
    for ops in paths.values() {
        for op in ops.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap();
            assert!(html.contains(&format!("id=\"{id}\"")), "{id} missing from the docs page");
        }
    }
}

async fn the_digital_link_url_needs_a_users_qr_scope(backend: Backend) {
    let s = start(backend).await;
    let url = format!("{}/api/v1/qr-url?gtin=614141123452&batch=AB-1", s.base);
    let r = s.http.get(&url).send().await.unwrap();
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("qr:generate"));
    problem(r, 401).await;
    let narrow = s.auth.mint_token(EMAIL, "products:read").await.unwrap().access_token;
    let r = s.http.get(&url).bearer_auth(narrow).send().await.unwrap();
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));
    let v = problem(r, 403).await;
    assert_eq!(v["error_code"], "forbidden");
    let token = s.auth.mint_token(EMAIL, "qr:generate").await.unwrap().access_token;
    let r = s.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"qr_url": format!("{SITE}/01/00614141123452/10/AB-1"), "gtin14": "00614141123452", "host": "localhost:8080"})
    );
    let (rows,): (i64,) = s
        .db
        .row(
            "SELECT count(*) FROM audit_events WHERE action = 'generate_qr_url' AND outcome = 'ok' AND arguments LIKE '%\"via\":\"rest\"%'",
            &[],
        )
        .await;
    assert_eq!(rows, 1, "the call is audited like the tool's");
}

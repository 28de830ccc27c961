//! MCP over Streamable HTTP, end to end on 127.0.0.1, on SQLite and on PostgreSQL: every tool
//! with real data (the Open Food Facts sample, Walmart stores and demo offers, loaded once per
//! backend into a template database that each test copies), every error class of docs/spec.md §3, the
//! step-up answer of docs/spec.md §4, and the transport rules (Host/Origin, Accept,
//! MCP-Protocol-Version, 202, 405, 413).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::common;

use std::sync::Arc;

use common::{Backend, TestDb, demo_template, on_both_backends};
use serde_json::{Value, json};
use web::HttpSettings;

on_both_backends!(
    lifecycle_negotiates_versions_and_accepts_notifications,
    every_tool_answers_with_structured_content,
    generate_qr_url_asks_for_step_up_authorization,
    tool_errors_follow_the_error_contract,
    protocol_faults_keep_their_json_rpc_codes,
    transport_rules,
    tool_calls_are_counted_per_tool,
);

struct Server {
    _db: TestDb,
    base: String,
    http: reqwest::Client,
}

async fn start_with(backend: Backend, http_settings: HttpSettings) -> Server {
    let db = TestDb::from_template(backend, demo_template(backend)).await;
    let auth = db.auth(auth::AuthConfig::new("http://localhost:8080")).await;
    let base = common::serve(&db, Arc::new(auth), http_settings).await;
    Server { _db: db, base, http: reqwest::Client::new() }
}

async fn start(backend: Backend) -> Server {
    start_with(backend, HttpSettings::default()).await
}

impl Server {
    fn post(&self, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/mcp/http", self.base))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body)
    }

    async fn rpc(&self, method: &str, params: Value) -> (u16, Value) {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let res = self.post(body.to_string()).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }

    async fn tool(&self, name: &str, args: Value) -> (u16, Value) {
        self.rpc("tools/call", json!({"name": name, "arguments": args})).await
    }

    /// A successful tool call's structuredContent (checked against its text block).
    async fn ok(&self, name: &str, args: Value) -> Value {
        let (status, v) = self.tool(name, args).await;
        assert_eq!(status, 200, "{v}");
        let result = &v["result"];
        assert!(result.get("isError").is_none_or(|e| e == false), "{v}");
        let structured = result["structuredContent"].clone();
        let text = result["content"][0]["text"].as_str().unwrap();
        assert_eq!(result["content"][0]["type"], "text");
        if name != "ping" {
            assert_eq!(serde_json::from_str::<Value>(text).unwrap(), structured);
        }
        structured
    }

    /// A failed tool call's JSON-RPC error object.
    async fn err(&self, name: &str, args: Value) -> Value {
        let (status, v) = self.tool(name, args).await;
        assert_eq!(status, 200, "{v}");
        assert!(v.get("result").is_none(), "{v}");
        v["error"].clone()
    }
}

/// A GTIN from the template catalog that has demo offers, and a store location offering it.
async fn stocked_product(s: &Server) -> (String, f64, f64) {
    let out = s.ok("search_products", json!({"query": "chocolate", "limit": 100})).await;
    let gtin = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| !i["price_min"].is_null())
        .map(|i| i["gtin"].as_str().unwrap().to_owned())
        .expect("a chocolate product with offers");
    // Walmart's Rogers, AR store area has many stores; widen until one carries it.
    for radius in [25.0, 100.0, 300.0, 500.0] {
        let a = s
            .ok(
                "check_availability",
                json!({"gtin": gtin, "lat": 36.33, "lng": -94.12, "radius_km": radius}),
            )
            .await;
        if a["total"].as_u64().unwrap() > 0 {
            return (gtin, 36.33, -94.12);
        }
    }
    panic!("no store near Rogers carries {gtin}");
}

async fn lifecycle_negotiates_versions_and_accepts_notifications(backend: Backend) {
    let s = start(backend).await;
    for (asked, got) in [
        ("2025-11-25", "2025-11-25"),
        ("2025-06-18", "2025-06-18"),
        ("2024-11-05", "2024-11-05"),
        ("2031-01-01", "2025-11-25"),
    ] {
        let (status, v) = s
            .rpc("initialize", json!({"protocolVersion": asked, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}))
            .await;
        assert_eq!(status, 200);
        assert_eq!(v["result"]["protocolVersion"], got, "{v}");
        assert_eq!(v["result"]["serverInfo"]["name"], "prodlink");
        assert!(v["result"]["capabilities"]["tools"].is_object());
    }
    let res =
        s.post(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).send().await.unwrap();
    assert_eq!(res.status(), 202);
    assert!(res.bytes().await.unwrap().is_empty());
    assert!(res_no_session_header(&s).await);
    let (_, v) = s.rpc("ping", json!({})).await;
    assert_eq!(v["result"], json!({}));
    let (_, v) = s.rpc("logging/setLevel", json!({"level": "warning"})).await;
    assert_eq!(v["result"], json!({}));
}

async fn res_no_session_header(s: &Server) -> bool {
    let res = s
        .post(json!({"jsonrpc": "2.0", "id": 9, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}).to_string())
        .send()
        .await
        .unwrap();
    res.headers().get("mcp-session-id").is_none()
}

async fn every_tool_answers_with_structured_content(backend: Backend) {
    let s = start(backend).await;
    let (_, list) = s.rpc("tools/list", json!({})).await;
    assert_eq!(list["result"]["tools"].as_array().unwrap().len(), 9);

    let (_, v) = s.tool("ping", json!({})).await;
    assert_eq!(v["result"]["content"][0]["text"], "pong");

    let v = s.ok("validate_gtin", json!({"gtin": "614141123452"})).await;
    assert_eq!(
        v,
        json!({"valid": true, "error": null, "normalized": "00614141123452", "length": 12, "warning": null})
    );
    let v = s.ok("validate_gtin", json!({"gtin": "614141123453"})).await;
    assert_eq!(v["valid"], false);
    assert!(v["error"].as_str().unwrap().contains("expected 2"));

    let (gtin, lat, lng) = stocked_product(&s).await;
    let look = s.ok("lookup_product", json!({"gtin": gtin})).await;
    assert_eq!(look["found"], true);
    assert_eq!(look["data_source"], "off");
    assert!(look["metadata"].is_object());
    // the same product by its 13-digit form
    let short = gtin.trim_start_matches('0');
    if short.len() == 13 || short.len() == 12 || short.len() == 8 {
        assert_eq!(s.ok("lookup_product", json!({"gtin": short})).await, look);
    }

    let detail = s.ok("get_product_detail", json!({"gtin": gtin})).await;
    assert_eq!(detail["found"], true);
    assert_eq!(detail["hosted_page_url"], format!("http://localhost:8080/01/{gtin}"));
    assert!(detail["images"].is_array() && detail["ingredients"].is_array());

    let r = s.ok("resolve_gtin", json!({"gtin": gtin, "link_type": "gs1:pip"})).await;
    assert_eq!(r["destination_type"], "HOSTED_PAGE");
    assert_eq!(r["fallback_applied"], true);
    assert_eq!(r["product_found"], true);
    assert_eq!(r["matched_rule_scope"], Value::Null);

    let search = s
        .ok(
            "search_products",
            json!({"query": "dark chocolate", "geo_lat": lat, "geo_lng": lng, "limit": 5}),
        )
        .await;
    assert_eq!(search["query"], "dark chocolate");
    assert!(search["total"].as_u64().unwrap() <= 5 && search["total"].as_u64().unwrap() > 0);

    let cmp = s.ok("compare_products", json!({"gtins": [gtin, "00614141999999"]})).await;
    assert_eq!(cmp["items"][0]["found"], true);
    assert_eq!(cmp["items"][1]["found"], false);
    assert!(cmp["items"][1]["error"].as_str().unwrap().contains("check digit"));

    let a = s
        .ok("check_availability", json!({"gtin": gtin, "lat": lat, "lng": lng, "radius_km": 500}))
        .await;
    let locations = a["locations"].as_array().unwrap();
    assert!(!locations.is_empty());
    assert_eq!(a["total"].as_u64().unwrap() as usize, locations.len());
    assert!(
        locations.windows(2).all(|w| w[0]["distance_km"].as_f64() <= w[1]["distance_km"].as_f64())
    );
    assert_eq!(locations[0]["retailer"], "Walmart");
}

async fn generate_qr_url_asks_for_step_up_authorization(backend: Backend) {
    let s = start(backend).await;
    let res = s
        .post(json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "generate_qr_url", "arguments": {"gtin": "614141123452", "batch": "LOT-1"}}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"qr:generate\", resource_metadata=\"http://localhost:8080/.well-known/oauth-protected-resource\""
    );
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["id"], 5);
    assert_eq!(v["error"]["code"], -32002);
    assert_eq!(v["error"]["data"]["error_code"], "forbidden");
    assert_eq!(v["error"]["data"]["status"], 403);
}

async fn tool_errors_follow_the_error_contract(backend: Backend) {
    let s = start(backend).await;
    let check = |e: &Value, code: i64, field: &str, needle: &str| {
        assert_eq!(e["code"], code, "{e}");
        let data = &e["data"];
        for key in ["type", "title", "status", "detail", "error_code", "retryable", "timestamp"] {
            assert!(data.get(key).is_some(), "{key} missing: {e}");
        }
        assert!(data["type"].as_str().unwrap().ends_with(data["error_code"].as_str().unwrap()));
        assert!(
            data["errors"].as_array().unwrap().iter().any(|f| f["field"] == field),
            "{field}: {e}"
        );
        assert!(e["message"].as_str().unwrap().contains(needle), "{needle}: {e}");
    };
    check(
        &s.err("lookup_product", json!({"gtin": "614141123453"})).await,
        -32101,
        "gtin",
        "expected 2",
    );
    check(
        &s.err("lookup_product", json!({"gtin": 614141123452_u64})).await,
        -32101,
        "gtin",
        "must be a string",
    );
    check(&s.err("lookup_product", json!({})).await, -32101, "gtin", "is required");
    check(
        &s.err("lookup_product", json!({"gtin": "614141123452", "gtn": 1})).await,
        -32101,
        "gtn",
        "unknown argument",
    );
    check(
        &s.err("compare_products", json!({"gtins": ["95012346"]})).await,
        -32101,
        "gtins",
        "got 1 GTINs",
    );
    check(
        &s.err("compare_products", json!({"gtins": vec!["95012346"; 6]})).await,
        -32101,
        "gtins",
        "got 6 GTINs",
    );
    check(
        &s.err("search_products", json!({"query": "x", "limit": 500})).await,
        -32101,
        "limit",
        "between 1 and 100",
    );
    check(
        &s.err("search_products", json!({"query": "x", "geo_lat": 40.0})).await,
        -32101,
        "geo_lng",
        "required when geo_lat",
    );
    check(
        &s.err(
            "check_availability",
            json!({"gtin": "95012346", "lat": 0, "lng": 0, "radius_km": -1}),
        )
        .await,
        -32101,
        "radius_km",
        "greater than 0",
    );
    check(
        &s.err("resolve_gtin", json!({"gtin": "95012346", "link_type": "gs1:nope"})).await,
        -32101,
        "link_type",
        "nope",
    );
    let e = s.err("lookup_product", json!({"gtin": "614141123453"})).await;
    assert_eq!(e["data"]["retryable"], false);
    assert_eq!(e["data"]["status"], 422);
}

async fn protocol_faults_keep_their_json_rpc_codes(backend: Backend) {
    let s = start(backend).await;
    let send = |body: &'static str| s.post(body).send();
    let res = send("{not json").await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], -32700);
    let res = send(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], -32600);
    let res = send(r#"{"jsonrpc":"2.0","id":2,"method":"resources/list"}"#).await.unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!((v["id"].clone(), v["error"]["code"].clone()), (json!(2), json!(-32601)));
    let (_, v) = s.rpc("tools/call", json!({"name": "delete_everything", "arguments": {}})).await;
    assert_eq!(v["error"]["code"], -32602);
    assert!(v["error"]["message"].as_str().unwrap().contains("Unknown tool"));
    let (_, v) = s.rpc("tools/call", json!({"name": "ping", "arguments": [1]})).await;
    assert_eq!(v["error"]["code"], -32602);
    let (_, v) = s.rpc("tools/list", json!({"cursor": "abc"})).await;
    assert_eq!(v["error"]["code"], -32602);
}

async fn transport_rules(backend: Backend) {
    let s =
        start_with(backend, HttpSettings { max_body_bytes: 4096, ..HttpSettings::default() }).await;
    let url = format!("{}/mcp/http", s.base);
    // Oversized body: 413 with a JSON-RPC error, never a 500.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(10_000)
    );
    let res = s.post(big).send().await.unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], -32600);
    // DNS rebinding: a foreign Host or Origin is refused; the server's own is fine.
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let res = s
        .post(ping)
        .header("host", "evil.example.com")
        .header("origin", "http://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = s.post(ping).header("origin", "http://evil.example.com").send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = s.post(ping).header("origin", &s.base).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // Unsupported protocol revision header.
    let res = s
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "1999-01-01")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // GET and DELETE: no stream, no session.
    let res = s.http.get(&url).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    assert_eq!(s.http.delete(&url).send().await.unwrap().status(), 405);
    // A client that only accepts SSE gets one event.
    let res = s
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "text/event-stream")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let text = res.text().await.unwrap();
    assert!(text.starts_with("event: message\ndata: {") && text.ends_with("}\n\n"), "{text:?}");
    // Wrong content type, unacceptable Accept.
    let res =
        s.http.post(&url).header("content-type", "text/plain").body(ping).send().await.unwrap();
    assert_eq!(res.status(), 415);
    let res = s
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "text/html")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 406);
    // /mcp answers too.
    let res = s
        .http
        .post(format!("{}/mcp", s.base))
        .header("content-type", "application/json")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn tool_calls_are_counted_per_tool(backend: Backend) {
    let s = start(backend).await;
    s.ok("validate_gtin", json!({"gtin": "95012346"})).await;
    s.err("lookup_product", json!({"gtin": "1"})).await;
    let metrics =
        s.http.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("prodlink_mcp_tool_calls_total")
            && l.contains("tool=\"validate_gtin\"")
            && l.contains("outcome=\"ok\"")),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|l| l.starts_with("prodlink_mcp_tool_calls_total")
            && l.contains("tool=\"lookup_product\"")
            && l.contains("outcome=\"validation_error\"")),
        "{metrics}"
    );
}

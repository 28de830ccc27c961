//! The published tool contract: a golden file of `tools/list` (regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p mcp`), annotations that make sense, and every tool's
//! input schema accepting what its documentation promises.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;

use catalog::Catalog;
use mcp::{CallContext, Handled, McpServer, Principal, ProtocolVersion, Transport};
use serde_json::{Value, json};
use testkit::TestDb;

/// An MCP server over a new, empty SQLite catalog (keep the database alive for the test).
async fn server() -> (TestDb, McpServer) {
    let db = TestDb::sqlite().await;
    let catalog = Catalog::new(db.store(), "https://prodlink.example");
    (db, McpServer::new(catalog, "0.0.0-test"))
}

fn ctx(version: ProtocolVersion) -> CallContext {
    CallContext {
        version,
        principal: Principal::anonymous(),
        request_id: None,
        transport: Transport::Http,
        rejection: None,
        resource_metadata: None,
    }
}

async fn call(s: &McpServer, version: ProtocolVersion, msg: Value) -> Value {
    match s.handle(msg.to_string().as_bytes(), &ctx(version)).await {
        Handled::Reply(r) => serde_json::from_slice(&r.body).unwrap(),
        Handled::Accepted => Value::Null,
    }
}

#[tokio::test]
async fn tools_list_matches_the_golden_file() {
    let (_dir, s) = server().await;
    let list = call(
        &s,
        ProtocolVersion::LATEST,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await;
    let tools = &list["result"];
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/tools-list.json");
    let pretty = serde_json::to_string_pretty(tools).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &pretty).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        golden == pretty,
        "tools/list changed; if intended, run UPDATE_GOLDEN=1 cargo test -p mcp and commit {}",
        path.display()
    );
}

#[tokio::test]
async fn nine_tools_with_complete_definitions() {
    let (_dir, s) = server().await;
    let names: Vec<&str> = s.tools().iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "ping",
            "validate_gtin",
            "resolve_gtin",
            "lookup_product",
            "search_products",
            "get_product_detail",
            "compare_products",
            "check_availability",
            "generate_qr_url"
        ]
    );
    for t in s.tools() {
        assert!(!t.title.is_empty() && t.description.len() > 40, "{}", t.name);
        assert_eq!(t.input_schema["type"], "object", "{}", t.name);
        assert_eq!(t.input_schema["additionalProperties"], false, "{}", t.name);
        assert_eq!(t.output_schema["type"], "object", "{}", t.name);
        assert!(t.output_schema.get("$schema").is_none());
        let name_ok = t.name.len() <= 64
            && t.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_./-".contains(&b));
        assert!(name_ok, "{}", t.name);
        // Required arguments exist as properties.
        for r in t.input_schema["required"].as_array().unwrap_or(&vec![]) {
            assert!(
                t.input_schema["properties"].get(r.as_str().unwrap()).is_some(),
                "{} requires unknown {r}",
                t.name
            );
        }
    }
}

/// docs/spec.md §3: no tool may be both read-only and destructive; all but generate_qr_url are
/// read-only, idempotent, closed-world; generate_qr_url is not read-only but idempotent.
#[tokio::test]
async fn annotations_are_consistent() {
    let (_dir, s) = server().await;
    for t in s.tools() {
        assert!(!(t.read_only && t.destructive), "{} is both read-only and destructive", t.name);
        assert!(!t.open_world, "{}", t.name);
        assert!(t.idempotent, "{}", t.name);
        assert!(!t.destructive, "{}", t.name);
        assert_eq!(t.read_only, t.name != "generate_qr_url", "{}", t.name);
        assert_eq!(t.scope.is_some(), t.name == "generate_qr_url", "{}", t.name);
    }
    let list = call(
        &s,
        ProtocolVersion::LATEST,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await;
    for t in list["result"]["tools"].as_array().unwrap() {
        let a = &t["annotations"];
        assert!(!(a["readOnlyHint"] == true && a["destructiveHint"] == true), "{t}");
    }
}

#[tokio::test]
async fn older_revisions_get_the_fields_they_know() {
    let (_dir, s) = server().await;
    let old = call(
        &s,
        ProtocolVersion::V2024_11_05,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await;
    let t = &old["result"]["tools"][0];
    assert!(
        t.get("outputSchema").is_none()
            && t.get("title").is_none()
            && t.get("annotations").is_none(),
        "{t}"
    );
    let mid = call(
        &s,
        ProtocolVersion::V2025_03_26,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await;
    let t = &mid["result"]["tools"][0];
    assert!(t.get("outputSchema").is_none() && t.get("annotations").is_some(), "{t}");
    let r = call(
        &s,
        ProtocolVersion::V2025_03_26,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "validate_gtin", "arguments": {"gtin": "95012346"}}}),
    )
    .await;
    assert!(r["result"].get("structuredContent").is_none(), "{r}");
    assert_eq!(r["result"]["content"][0]["type"], "text");
}

#[tokio::test]
async fn conformance_fixtures_exist_only_on_the_suites_server() {
    let (_dir, plain) = server().await;
    let db = TestDb::sqlite().await;
    let catalog = Catalog::new(db.store(), "https://prodlink.example");
    let suite = McpServer::with_conformance_fixtures(catalog, "0.0.0-test");
    let v = ProtocolVersion::LATEST;
    let names = |list: &Value| -> Vec<String> {
        list["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let plain_names = names(&call(&plain, v, list.clone()).await);
    let suite_names = names(&call(&suite, v, list).await);
    assert!(!plain_names.iter().any(|n| n.starts_with("test_")), "{plain_names:?}");
    assert!(suite_names.iter().any(|n| n == "test_simple_text"), "{suite_names:?}");
    assert!(plain_names.iter().all(|n| suite_names.contains(n)));

    let run = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                     "params": {"name": "test_simple_text", "arguments": {}}});
    let out = call(&suite, v, run.clone()).await;
    assert_eq!(out["result"]["content"][0]["type"], "text", "{out}");
    // prodlink's own server does not know the fixture: an unknown tool.
    let out = call(&plain, v, run).await;
    assert!(out["error"]["code"].is_i64(), "{out}");
}

//! The REST API's own documentation routes: `GET /api/v1/openapi.json` (the generated
//! OpenAPI 3.1 document, built once per process) and `GET /api/v1/docs`, a server-rendered,
//! script-free HTML reference made from the same document.

use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde_json::Value;

use super::{Endpoint, Success};
use crate::AppState;

/// The documentation endpoints.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::GET,
            path: "/api/v1/openapi.json",
            operation_id: "getOpenApiDocument",
            tag: "Documentation",
            summary: "This API's OpenAPI 3.1 document",
            description: "The machine-readable description of every REST operation, generated from the code that serves them.",
            scope: None,
            params: &[],
            body: None,
            success: Success::Json(super::schema::<serde_json::Map<String, Value>>),
            success_headers: &[],
            errors: &[401, 422, 429],
            route: get(openapi_json),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/docs",
            operation_id: "getApiDocs",
            tag: "Documentation",
            summary: "This API's reference as a web page",
            description: "A readable HTML rendering of the OpenAPI document: every operation with its parameters, scopes and responses.",
            scope: None,
            params: &[],
            body: None,
            success: Success::Media(&["text/html"]),
            success_headers: &[],
            errors: &[401, 422, 429],
            route: get(docs_page),
        },
    ]
}

/// The document for this server (cached after the first request).
pub fn document(state: &AppState) -> &Value {
    state.inner.openapi.get_or_init(|| {
        let meta = state.auth().metadata();
        super::openapi::document(
            state.catalog().site_url(),
            meta["authorization_endpoint"].as_str().unwrap_or_default(),
            meta["token_endpoint"].as_str().unwrap_or_default(),
        )
    })
}

async fn openapi_json(State(state): State<AppState>, input: super::input::Input) -> Response {
    if let Err(e) = input.check(&[]) {
        return super::fail(&state, e);
    }
    let body = document(&state).to_string();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn docs_page(State(state): State<AppState>, input: super::input::Input) -> Response {
    if let Err(e) = input.check(&[]) {
        return super::fail(&state, e);
    }
    let page = render(document(&state));
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ],
        page.into_string(),
    )
        .into_response()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// A compact human rendering of a schema: its `$ref` name, or type with bounds.
fn schema_text(s: &Value) -> String {
    if let Some(r) = s["$ref"].as_str() {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    let mut out = match &s["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts.iter().map(text).collect::<Vec<_>>().join(" | "),
        _ => "any".to_owned(),
    };
    if let Some(e) = s["enum"].as_array() {
        out = e.iter().map(text).collect::<Vec<_>>().join(" | ");
    }
    if s["type"] == "array" {
        out = format!("list of {}", schema_text(&s["items"]));
    }
    let bound = |k: &str| s[k].as_number().map(ToString::to_string);
    let bounds: Vec<String> = [
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("minLength", "length ≥"),
        ("maxLength", "length ≤"),
        ("minItems", "items ≥"),
        ("maxItems", "items ≤"),
    ]
    .iter()
    .filter_map(|(k, sym)| bound(k).map(|b| format!("{sym} {b}")))
    .collect();
    if !bounds.is_empty() {
        out = format!("{out} ({})", bounds.join(", "));
    }
    if let Some(d) = s.get("default") {
        out = format!("{out}, default {d}");
    }
    out
}

fn render(doc: &Value) -> Markup {
    let empty = serde_json::Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    crate::html::document(
        html! { (text(&doc["info"]["title"])) " " (text(&doc["info"]["version"])) },
        html! { style { (maud::PreEscaped(CSS)) } },
        html! {
            main {
                h1 { (text(&doc["info"]["title"])) " " small { (text(&doc["info"]["version"])) } }
                p { (text(&doc["info"]["description"])) }
                p { "Machine-readable: " a href="/api/v1/openapi.json" { "openapi.json" } " (OpenAPI 3.1)." }
                nav aria-label="Operations" {
                    ul {
                        @for (path, ops) in paths {
                            @for (method, op) in ops.as_object().unwrap_or(&empty) {
                                li { a href={ "#" (text(&op["operationId"])) } {
                                    code { (method.to_ascii_uppercase()) " " (path) } " — " (text(&op["summary"]))
                                } }
                            }
                        }
                    }
                }
                @for (path, ops) in paths {
                    @for (method, op) in ops.as_object().unwrap_or(&empty) {
                        section id=(text(&op["operationId"])) {
                            h2 { code { (method.to_ascii_uppercase()) " " (path) } }
                            p.summary { (text(&op["summary"])) }
                            p { (text(&op["description"])) }
                            @let scopes: Vec<&str> = op["security"].as_array().into_iter().flatten()
                                .filter_map(|s| s["oauth2"].as_array()).flatten().map(text).collect();
                            p.auth {
                                @if scopes.is_empty() { "Public; a credential is optional and raises the rate limit." }
                                @else { "Needs the scope " @for s in &scopes { code { (s) } " " } }
                            }
                            @if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
                                table {
                                    caption { "Parameters" }
                                    thead { tr { th scope="col" { "Name" } th scope="col" { "In" } th scope="col" { "Type" } th scope="col" { "Description" } } }
                                    tbody {
                                        @for p in params {
                                            tr {
                                                td { code { (text(&p["name"])) } @if p["required"] == true { " (required)" } }
                                                td { (text(&p["in"])) }
                                                td { (schema_text(&p["schema"])) }
                                                td { (text(&p["description"])) }
                                            }
                                        }
                                    }
                                }
                            }
                            @if let Some(body) = op["requestBody"]["content"]["application/json"]["schema"].as_object() {
                                p { "JSON body: " code { (schema_text(&Value::Object(body.clone()))) } }
                            }
                            table {
                                caption { "Responses" }
                                tbody {
                                    @for (status, r) in op["responses"].as_object().unwrap_or(&empty) {
                                        tr {
                                            td { code { (status) } }
                                            td { (text(&r["description"])) }
                                            td { @for (t, c) in r["content"].as_object().unwrap_or(&empty) {
                                                code { (t) } " " (schema_text(&c["schema"])) " "
                                            } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

const CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fff}main{max-width:60rem;margin:0 auto;padding:1rem}h1 small{font-size:.6em;color:#555}section{border-top:1px solid #ddd;padding-top:.5rem;margin-top:1.5rem}table{border-collapse:collapse;width:100%;margin:.5rem 0}caption{text-align:left;font-weight:600}td,th{border:1px solid #ddd;padding:.25rem .5rem;vertical-align:top;text-align:left}code{font:14px ui-monospace,monospace}.summary{font-weight:600}a{color:#0645ad}";

//! The OpenAPI 3.1 document of the REST API, generated from the endpoint table
//! ([`super::endpoints`]): paths and operations from the table, parameter schemas from their
//! declarations, body and response schemas from the Rust types (schemars, JSON Schema 2020-12,
//! which OpenAPI 3.1 uses as is), security from each endpoint's scope.

use std::collections::BTreeMap;

use catalog::ErrorCode;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::{Endpoint, Success};

/// The RFC 9457 problem document every error response carries (the shape
/// `catalog::error::problem` builds), for the documentation.
#[derive(JsonSchema)]
#[schemars(title = "Problem")]
#[allow(dead_code)]
pub struct Problem {
    /// A URL identifying the problem type; it ends in the error_code.
    r#type: String,
    /// Short human title.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What went wrong, specifically.
    detail: String,
    /// The stable error code, the same as in MCP tool errors.
    error_code: catalog::error::ErrorCode,
    /// Whether retrying may succeed.
    retryable: bool,
    /// When (RFC 3339).
    timestamp: String,
    /// Seconds to wait before retrying (rate limits).
    retry_after: Option<u64>,
    /// Each wrong field (validation errors).
    errors: Option<Vec<ProblemField>>,
}

/// One wrong input field.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct ProblemField {
    /// The field as the caller spelled it (`gtins[2]`, `limit`, …).
    field: String,
    /// What was wrong and what is allowed.
    message: String,
}

/// Human description of an error status.
fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Malformed request, or two credentials at once (bad_request)",
        401 => "Credential invalid, expired or revoked, or missing where required (unauthorized)",
        403 => {
            "The credential lacks the scope, or the resource is another organization's (forbidden)"
        }
        404 => "Not found (not_found)",
        409 => "State conflict (conflict)",
        412 => "If-Match does not match the current ETag (conflict)",
        422 => {
            "A field is invalid (validation_error) or the request is impossible (unprocessable_entity)"
        }
        429 => "Over the rate limit or quota (rate_limited); see Retry-After",
        _ => "Unexpected error (internal_error); retry with backoff",
    }
}

fn header_doc(name: &str) -> (String, Value) {
    let (description, schema) = match name {
        "ETag" => (
            "Entity tag of the representation, for If-None-Match and If-Match.",
            json!({"type": "string"}),
        ),
        "Location" => ("The URL of the created resource.", json!({"type": "string"})),
        "X-Digital-Link" => {
            ("The GS1 Digital Link URI the image encodes.", json!({"type": "string"}))
        }
        "RateLimit-Limit" => (
            "Requests allowed per minute for this caller.",
            json!({"type": "integer", "minimum": 0}),
        ),
        "RateLimit-Remaining" => {
            ("Requests left before the limit applies.", json!({"type": "integer", "minimum": 0}))
        }
        "RateLimit-Reset" => {
            ("Seconds until the full allowance is back.", json!({"type": "integer", "minimum": 0}))
        }
        "Retry-After" => {
            ("Seconds to wait before retrying.", json!({"type": "integer", "minimum": 0}))
        }
        "WWW-Authenticate" => (
            "The authorization challenge (RFC 6750, RFC 9728 resource_metadata).",
            json!({"type": "string"}),
        ),
        _ => ("Request id, echoed from the request or generated.", json!({"type": "string"})),
    };
    (name.to_owned(), json!({"description": description, "schema": schema}))
}

const RATE_HEADERS: [&str; 3] = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"];

fn headers<'a>(names: impl IntoIterator<Item = &'a str>) -> Value {
    Value::Object(names.into_iter().map(header_doc).collect())
}

/// Rust numeric formats that are not OpenAPI's (`uint32`, `uint8`, …) go; the bounds stay.
fn strip_rust_formats(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("format").and_then(Value::as_str).is_some_and(|f| {
                !matches!(f, "int32" | "int64" | "float" | "double" | "uri" | "date-time")
            }) {
                m.remove("format");
            }
            m.values_mut().for_each(strip_rust_formats);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_rust_formats),
        _ => {}
    }
}

fn operation(e: &Endpoint, g: &mut schemars::generate::SchemaGenerator) -> Value {
    let mut op = json!({
        "operationId": e.operation_id,
        "tags": [e.tag],
        "summary": e.summary,
        "description": e.description,
        "parameters": e.params.iter().map(|p| p.openapi()).collect::<Vec<_>>(),
    });
    if e.errors.contains(&412)
        && let Some(params) = op["parameters"].as_array_mut()
    {
        params.push(json!({
            "name": "If-Match",
            "in": "header",
            "required": false,
            "description": "Apply the change only if the resource's current ETag is one of these (or `*` for any existing version); otherwise 412.",
            "schema": {"type": "string"},
        }));
    }
    if let Some(body) = e.body {
        op["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": body(g)}},
        });
    }
    let mut ok_headers: Vec<&str> = vec!["X-Request-Id"];
    ok_headers.extend(RATE_HEADERS);
    ok_headers.extend(e.success_headers);
    let json_body = |schema: super::SchemaFn, g: &mut schemars::generate::SchemaGenerator| json!({"application/json": {"schema": schema(g)}});
    let mut responses = Map::new();
    let mut success =
        |status: &str, description: &str, headers_of: &[&str], content: Option<Value>| {
            let mut r =
                json!({"description": description, "headers": headers(headers_of.iter().copied())});
            if let Some(c) = content {
                r["content"] = c;
            }
            responses.insert(status.into(), r);
        };
    match e.success {
        Success::Json(schema) => success("200", "Success", &ok_headers, Some(json_body(schema, g))),
        Success::Media(types) => success(
            "200",
            "Success",
            &ok_headers,
            Some(Value::Object(
                types
                    .iter()
                    .map(|t| ((*t).to_owned(), json!({"schema": {"type": "string"}})))
                    .collect(),
            )),
        ),
        Success::Created(schema) => {
            let mut h = ok_headers.clone();
            h.push("Location");
            success("201", "Created", &h, Some(json_body(schema, g)));
        }
        Success::Upserted(schema) => {
            let mut h = ok_headers.clone();
            h.push("Location");
            success("201", "Created", &h, Some(json_body(schema, g)));
            success("200", "Updated (or unchanged)", &ok_headers, Some(json_body(schema, g)));
        }
        Success::NoContent => success("204", "Done", &ok_headers, None),
    }
    if e.method == axum::http::Method::GET && e.success_headers.contains(&"ETag") {
        responses.insert(
            "304".into(),
            json!({"description": "Not modified: If-None-Match matched the current ETag", "headers": headers(["ETag", "X-Request-Id"])}),
        );
    }
    let problem = g.subschema_for::<Problem>();
    let mut statuses: Vec<u16> = e.errors.to_vec();
    // Any operation answers 400 to a request carrying both an Authorization and an X-API-Key
    // header (or a non-ASCII key), and 500 when something unexpected fails.
    statuses.extend([400, 500].into_iter().filter(|s| !e.errors.contains(s)));
    for status in statuses {
        let mut names = vec!["X-Request-Id"];
        match status {
            401 | 403 => names.push("WWW-Authenticate"),
            429 => names.extend(["Retry-After"].into_iter().chain(RATE_HEADERS)),
            _ => {}
        }
        responses.insert(
            status.to_string(),
            json!({
                "description": status_text(status),
                "headers": headers(names),
                "content": {"application/problem+json": {"schema": problem.clone()}},
            }),
        );
    }
    op["responses"] = Value::Object(responses);
    op["security"] = match e.scope {
        // Generating codes is a user's permission; API keys act for organizations.
        Some(scope) if scope == auth::QR_SCOPE => json!([{"oauth2": [scope]}]),
        Some(scope) => json!([{"oauth2": [scope]}, {"apiKey": []}]),
        None => json!([{}, {"oauth2": []}, {"apiKey": []}]),
    };
    op
}

/// The document, for a site at `site_url` with the given OAuth endpoints.
pub fn document(site_url: &str, authorization_url: &str, token_url: &str) -> Value {
    let mut g = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for e in super::endpoints() {
        let op = operation(&e, &mut g);
        paths.entry(e.path).or_default().insert(e.method.as_str().to_ascii_lowercase(), op);
    }
    let scopes: Map<String, Value> = [
        (
            auth::QR_SCOPE,
            "Generate GS1 Digital Link URLs and QR codes (counts against the user's quota).",
        ),
        ("products:read", "Read your organization's products, offers and stores."),
        (
            "products:write",
            "Create, update and delete your organization's products, offers and stores.",
        ),
        ("rules:write", "Manage your organization's resolver rules."),
        ("accounts:read", "Read your account and organization."),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Value::from(v)))
    .collect();
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "prodlink REST API",
            "version": crate::VERSION,
            "description": format!(
                "Product information from one catalog: the REST twins of prodlink's MCP tools plus management endpoints. Errors are application/problem+json (RFC 9457) whose error_code is one of: {}. Every response carries X-Request-Id; rate-limited responses carry RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset, and 429s Retry-After.",
                codes.join(", ")
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": site_url.trim_end_matches('/')}],
        "paths": paths,
        "components": {
            "schemas": g.take_definitions(true),
            "securitySchemes": {
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": "An API key for servers (`prodlink apikey create`): acts for its organization with the scopes it was given, under its own rate limit. It may also be sent as `Authorization: Bearer pl_key_…`. A checksum catches mistyped keys before any lookup.",
                },
                "oauth2": {
                    "type": "oauth2",
                    "description": "OAuth 2.1 authorization code with PKCE (S256) from prodlink's own authorization server.",
                    "flows": {"authorizationCode": {
                        "authorizationUrl": authorization_url,
                        "tokenUrl": token_url,
                        "refreshUrl": token_url,
                        "scopes": scopes,
                    }},
                },
            },
        },
    });
    strip_rust_formats(&mut doc);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        document(
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/o/authorize/",
            "http://127.0.0.1:8080/o/token/",
        )
    }

    #[test]
    fn every_endpoint_is_documented_with_its_errors() {
        let d = doc();
        assert_eq!(d["openapi"], "3.1.0");
        for e in super::super::endpoints() {
            let op = &d["paths"][e.path][e.method.as_str().to_ascii_lowercase()];
            assert_eq!(op["operationId"], e.operation_id, "{} {}", e.method, e.path);
            assert!(!e.summary.is_empty() && e.description.len() > 40, "{}", e.path);
            for status in e.errors.iter().chain([&400, &500]) {
                let r = &op["responses"][status.to_string()];
                assert_eq!(
                    r["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{} {status}",
                    e.path
                );
            }
            let (status, has_body) = match e.success {
                Success::Json(_) | Success::Media(_) | Success::Upserted(_) => ("200", true),
                Success::Created(_) => ("201", true),
                Success::NoContent => ("204", false),
            };
            assert_eq!(
                op["responses"][status]["content"].is_object(),
                has_body,
                "{} {} {status}",
                e.method,
                e.path
            );
        }
    }

    #[test]
    fn every_reference_resolves_and_no_rust_format_is_left() {
        let d = doc();
        let text = d.to_string();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(d["components"]["schemas"][name].is_object(), "dangling $ref to {name}");
        }
        for f in ["uint", "uint8", "uint16", "uint32", "uint64", "int8", "int16"] {
            assert!(!text.contains(&format!("\"format\":\"{f}\"")), "format {f} left");
        }
        let ids: Vec<&str> = super::super::endpoints().iter().map(|e| e.operation_id).collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(ids.len(), unique.len(), "operationIds are unique");
    }
}

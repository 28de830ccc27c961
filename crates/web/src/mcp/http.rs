//! MCP over Streamable HTTP (MCP 2025-11-25 "Transports"), at `/mcp/http` and `/mcp`:
//!
//! - POST carries one JSON-RPC message; requests get `application/json` (or an SSE stream
//!   with one `message` event when the client accepts only `text/event-stream`);
//!   notifications and client responses get 202 with no body.
//! - GET and DELETE get 405: prodlink keeps no sessions and pushes nothing, so every POST is
//!   self-contained and any process behind a load balancer can answer it.
//! - `Host` and `Origin` are checked against allow-lists (loopback and the site URL's host by
//!   default) against DNS rebinding: 403 otherwise.
//! - `MCP-Protocol-Version` selects the revision; an unsupported one is a 400; none means
//!   2025-03-26, as the spec says.
//! - Bodies over the limit get 413, malformed JSON 400, each with a JSON-RPC error body.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp::jsonrpc::{self, ErrorObject, code};
use mcp::{CallContext, Handled, Principal, ProtocolVersion, Transport};

use crate::AppState;
use crate::middleware::request_id::REQUEST_ID;
use crate::middleware::security;

/// Host and Origin allow-lists.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// Host names (without port) that may appear in `Host`; `*` allows any.
    pub allowed_hosts: Vec<String>,
    /// Origins (`scheme://host[:port]`) allowed in `Origin`; `*` allows any. Loopback origins
    /// on any port are always allowed.
    pub allowed_origins: Vec<String>,
}

impl OriginPolicy {
    /// Loopback plus the site URL's host and origin, plus the extra entries given.
    pub fn new(site_url: &str, extra_hosts: &[String], extra_origins: &[String]) -> Self {
        let mut allowed_hosts: Vec<String> =
            ["localhost", "127.0.0.1", "[::1]", "::1"].iter().map(|s| (*s).to_owned()).collect();
        let site_host = catalog::qr::url_host(site_url);
        allowed_hosts.push(strip_port(site_host).to_ascii_lowercase());
        allowed_hosts.extend(extra_hosts.iter().map(|h| h.trim().to_ascii_lowercase()));
        let origin = site_url.split('/').take(3).collect::<Vec<_>>().join("/");
        let mut allowed_origins = vec![origin.to_ascii_lowercase()];
        allowed_origins.extend(
            extra_origins.iter().map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase()),
        );
        Self { allowed_hosts, allowed_origins }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = strip_port(host).to_ascii_lowercase();
        self.allowed_hosts.iter().any(|h| h == "*" || *h == host)
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.allowed_origins.iter().any(|o| o == "*" || *o == origin) {
            return true;
        }
        // Loopback origins on any port (local tools such as the MCP Inspector).
        let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"))
        else {
            return false;
        };
        matches!(strip_port(rest), "localhost" | "127.0.0.1" | "[::1]")
    }
}

fn strip_port(host: &str) -> &str {
    if let Some(end) = host.strip_prefix('[').and_then(|h| h.find(']')) {
        return &host[..end + 2];
    }
    host.rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

fn jsonrpc_error(status: StatusCode, code: i32, message: String) -> Response {
    let body = jsonrpc::error(None, &ErrorObject { code, message, data: None });
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
        .into_response()
}

/// What the client accepts for a request's response.
#[derive(Debug, PartialEq, Eq)]
enum Wants {
    Json,
    EventStream,
}

fn negotiate(headers: &HeaderMap) -> Option<Wants> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Wants::Json);
    };
    let types: Vec<&str> =
        accept.split(',').map(|t| t.split(';').next().unwrap_or("").trim()).collect();
    if types.iter().any(|t| matches!(*t, "application/json" | "application/*" | "*/*")) {
        Some(Wants::Json)
    } else if types.contains(&"text/event-stream") {
        Some(Wants::EventStream)
    } else {
        None
    }
}

/// Checks Host and Origin (DNS-rebinding protection, MCP "Security Warning"); the error is the
/// 403 to send.
pub fn check_origin(policy: &OriginPolicy, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !policy.host_allowed(host) {
        return Err(Box::new(jsonrpc_error(
            StatusCode::FORBIDDEN,
            code::INVALID_REQUEST,
            format!("Host {host:?} is not allowed; configure --allowed-hosts"),
        )));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !policy.origin_allowed(origin) {
            return Err(Box::new(jsonrpc_error(
                StatusCode::FORBIDDEN,
                code::INVALID_REQUEST,
                format!("Origin {origin:?} is not allowed; configure --allowed-origins"),
            )));
        }
    }
    Ok(())
}

/// `POST /mcp/http`.
pub async fn post(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if let Err(r) = check_origin(&state.inner.origins, &parts.headers) {
        return *r;
    }
    let Some(wants) = negotiate(&parts.headers) else {
        return jsonrpc_error(
            StatusCode::NOT_ACCEPTABLE,
            code::INVALID_REQUEST,
            "Accept must include application/json or text/event-stream".into(),
        );
    };
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        if !ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json") {
            return jsonrpc_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::INVALID_REQUEST,
                format!("Content-Type must be application/json, got {ct:?}"),
            );
        }
    }
    let version = match parts.headers.get("mcp-protocol-version") {
        None => ProtocolVersion::HTTP_DEFAULT,
        Some(v) => match v.to_str().ok().and_then(ProtocolVersion::parse) {
            Some(v) => v,
            None => {
                let supported: Vec<&str> =
                    ProtocolVersion::ALL.iter().map(|v| v.as_str()).collect();
                return jsonrpc_error(
                    StatusCode::BAD_REQUEST,
                    code::INVALID_REQUEST,
                    format!(
                        "unsupported MCP-Protocol-Version {v:?}; supported: {}",
                        supported.join(", ")
                    ),
                );
            }
        },
    };
    let limit = state.http().max_body_bytes;
    let bytes: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return jsonrpc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::INVALID_REQUEST,
                format!("the request body exceeds {limit} bytes"),
            );
        }
    };
    let request_id =
        parts.headers.get(&REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    // Resource server: who is calling, and may they (docs/spec.md §4). The `/mcp` alias has its own
    // path-suffixed metadata document naming `{site}/mcp` (RFC 9728 §3.3).
    let metadata_url = if parts.uri.path() == "/mcp" {
        format!("{}/mcp", state.auth().resource_metadata_url())
    } else {
        state.auth().resource_metadata_url()
    };
    let mut ctx = CallContext::new(version, Principal::anonymous(), request_id, Transport::Http);
    match security::authenticate(state.auth(), &parts.headers, &metadata_url).await {
        Ok(principal) => {
            let ip = security::client_ip(
                &parts.headers,
                &parts.extensions,
                state.http().trust_forwarded_for,
            );
            if let Err(r) = state.inner.limiters.check(&principal, ip) {
                ctx.rejection = Some(r);
            }
            ctx.principal = principal;
        }
        Err(r) => ctx.rejection = Some(r),
    }
    ctx.resource_metadata = Some(metadata_url);
    let retry_after = match &ctx.rejection {
        Some(mcp::Rejection::RateLimited { retry_after, .. }) => Some(*retry_after),
        _ => None,
    };
    match state.inner.mcp.handle(&bytes, &ctx).await {
        Handled::Accepted => StatusCode::ACCEPTED.into_response(),
        Handled::Reply(reply) => {
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
            let mut res = if wants == Wants::EventStream && status == StatusCode::OK {
                let mut sse = Vec::with_capacity(reply.body.len() + 24);
                sse.extend_from_slice(b"event: message\ndata: ");
                sse.extend_from_slice(&reply.body);
                sse.extend_from_slice(b"\n\n");
                let mut r = Response::new(Body::from(sse));
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
                r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                r
            } else {
                let mut r = Response::new(Body::from(reply.body));
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                r
            };
            *res.status_mut() = status;
            if let Some(v) = reply.www_authenticate.and_then(|c| HeaderValue::from_str(&c).ok()) {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            if let Some(secs) = retry_after {
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            res
        }
    }
}

/// `GET`/`DELETE /mcp/http`: no server-to-client stream and no sessions.
pub async fn method_not_allowed(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = check_origin(&state.inner.origins, &headers) {
        return *r;
    }
    let mut r = jsonrpc_error(
        StatusCode::METHOD_NOT_ALLOWED,
        code::INVALID_REQUEST,
        "prodlink's MCP endpoint is stateless: use POST (no SSE stream to GET, no session to DELETE)".into(),
    );
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_policy() {
        let p = OriginPolicy::new("https://products.example.com", &["proxy.internal".into()], &[]);
        assert!(p.host_allowed("localhost:8080"));
        assert!(p.host_allowed("127.0.0.1"));
        assert!(p.host_allowed("[::1]:9000"));
        assert!(p.host_allowed("products.example.com"));
        assert!(p.host_allowed("PROXY.internal:443"));
        assert!(!p.host_allowed("evil.example.com"));
        assert!(!p.host_allowed(""));
        assert!(p.origin_allowed("https://products.example.com"));
        assert!(p.origin_allowed("http://localhost:6274"));
        assert!(p.origin_allowed("http://127.0.0.1:3000"));
        assert!(!p.origin_allowed("http://evil.example.com"));
        assert!(!p.origin_allowed("https://products.example.com.evil.com"));
        assert!(!p.origin_allowed("null"));
    }

    #[test]
    fn accept_negotiation() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
            negotiate(&m)
        };
        assert_eq!(h("application/json, text/event-stream"), Some(Wants::Json));
        assert_eq!(h("text/event-stream"), Some(Wants::EventStream));
        assert_eq!(h("*/*"), Some(Wants::Json));
        assert_eq!(h("text/html"), None);
        assert_eq!(negotiate(&HeaderMap::new()), Some(Wants::Json));
    }
}

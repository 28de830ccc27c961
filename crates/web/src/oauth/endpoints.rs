//! The OAuth 2.1 authorization server's machine endpoints (docs/spec.md §4): discovery documents
//! (RFC 8414, RFC 9728, OpenID discovery), token (RFC 6749 §3.2), registration (RFC 7591),
//! revocation (RFC 7009) and introspection (RFC 7662). The browser pages (sign-in, consent,
//! account) are in [`super::pages`]. Everything here is a thin adapter over [`auth::AuthServer`].

use std::time::Duration;

use auth::OAuthError;
use auth::params::Params;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::Value;
use tower_http::cors::{Any, CorsLayer};

use crate::AppState;

/// Largest OAuth request body (forms and registration JSON).
pub const MAX_OAUTH_BODY: usize = 16 * 1024;

/// The machine-facing routes, with CORS open to any origin (browser-based MCP clients
/// discover, register and fetch tokens cross-origin; no cookies are involved).
pub fn routes() -> Router<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("mcp-protocol-version"),
        ])
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(as_metadata))
        .route("/.well-known/openid-configuration", get(as_metadata))
        .route("/.well-known/oauth-protected-resource", get(resource_metadata))
        .route("/.well-known/oauth-protected-resource/mcp/http", get(resource_metadata))
        .route("/.well-known/oauth-protected-resource/mcp", get(resource_metadata_mcp))
        .route("/o/token/", post(token))
        .route("/o/register/", post(register))
        .route("/o/revoke/", post(revoke))
        .route("/o/introspect/", post(introspect))
        .layer(cors)
}

fn json_response(status: StatusCode, body: &Value, cache: &'static str) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if cache == "no-store" {
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    r
}

fn oauth_error(e: &OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = json_response(status, &e.body(), "no-store");
    if e.basic_challenge {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"prodlink\""));
    }
    r
}

fn bad_request(description: impl Into<String>) -> Response {
    oauth_error(&OAuthError {
        error: "invalid_request",
        description: description.into(),
        status: 400,
        basic_challenge: false,
    })
}

async fn as_metadata(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, &state.auth().metadata(), "public, max-age=300")
}

async fn resource_metadata(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, &state.auth().resource_metadata(), "public, max-age=300")
}

async fn resource_metadata_mcp(State(state): State<AppState>) -> Response {
    let resource = format!("{}/mcp", state.auth().config().issuer);
    json_response(
        StatusCode::OK,
        &state.auth().resource_metadata_for(&resource),
        "public, max-age=300",
    )
}

/// Reads a bounded body.
async fn body_bytes(
    request: Request,
) -> Result<(axum::http::request::Parts, axum::body::Bytes), Response> {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_OAUTH_BODY).await {
        Ok(b) => Ok((parts, b)),
        Err(_) => Err(oauth_error(&OAuthError {
            error: "invalid_request",
            description: format!("the request body exceeds {MAX_OAUTH_BODY} bytes"),
            status: 413,
            basic_challenge: false,
        })),
    }
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A form-encoded request (the only encoding the token, revocation and introspection endpoints
/// take, RFC 6749 §3.2) and the client's HTTP Basic credentials, if any.
pub async fn form_request(
    request: Request,
) -> Result<(HeaderMap, Params, Option<(String, String)>), Response> {
    let (parts, bytes) = body_bytes(request).await?;
    if media_type(&parts.headers) != "application/x-www-form-urlencoded" {
        return Err(bad_request("the body must be application/x-www-form-urlencoded"));
    }
    let basic = basic_credentials(&parts.headers).map_err(|d| {
        oauth_error(&OAuthError {
            error: "invalid_client",
            description: d,
            status: 401,
            basic_challenge: true,
        })
    })?;
    Ok((parts.headers, Params::parse(&bytes), basic))
}

/// HTTP Basic client credentials (RFC 6749 §2.3.1: both parts form-urlencoded first).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, String> {
    let Some(v) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let v = v.to_str().map_err(|_| "the Authorization header is not ASCII".to_owned())?;
    let Some((scheme, rest)) = v.split_once(' ') else {
        return Err("malformed Authorization header".into());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(format!("client authentication uses Basic, not {scheme}"));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| "the Basic credentials are not base64".to_owned())?;
    let text =
        String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8".to_owned())?;
    let (id, secret) = text.split_once(':').ok_or("the Basic credentials have no ':'")?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((dec(id), dec(secret))))
}

async fn token(State(state): State<AppState>, request: Request) -> Response {
    let (_, params, basic) = match form_request(request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state.auth().token(&params, basic).await {
        Ok(t) => {
            json_response(StatusCode::OK, &serde_json::to_value(&t).unwrap_or_default(), "no-store")
        }
        Err(e) => oauth_error(&e),
    }
}

async fn revoke(State(state): State<AppState>, request: Request) -> Response {
    let (_, params, basic) = match form_request(request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state.auth().revoke(&params, basic).await {
        Ok(()) => {
            let mut r = StatusCode::OK.into_response();
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => oauth_error(&e),
    }
}

async fn introspect(State(state): State<AppState>, request: Request) -> Response {
    let (_, params, basic) = match form_request(request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state.auth().introspect(&params, basic).await {
        Ok(v) => json_response(StatusCode::OK, &v, "no-store"),
        Err(e) => oauth_error(&e),
    }
}

async fn register(State(state): State<AppState>, request: Request) -> Response {
    let ip = crate::middleware::security::client_ip(
        request.headers(),
        request.extensions(),
        state.http().trust_forwarded_for,
    );
    let (parts, bytes) = match body_bytes(request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if media_type(&parts.headers) != "application/json" {
        return oauth_error(&OAuthError {
            error: "invalid_client_metadata",
            description: "the registration body must be application/json".into(),
            status: 400,
            basic_challenge: false,
        });
    }
    let metadata: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return oauth_error(&OAuthError {
                error: "invalid_client_metadata",
                description: format!("the body is not JSON: {e}"),
                status: 400,
                basic_challenge: false,
            });
        }
    };
    match state.auth().register(&metadata, ip).await {
        Ok(v) => json_response(StatusCode::CREATED, &v, "no-store"),
        Err(e) => {
            let mut r = oauth_error(&e);
            if e.status == 429 {
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            }
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode("my%20client:s%3Acret");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {enc}")).unwrap_or(HeaderValue::from_static("x")),
        );
        assert_eq!(basic_credentials(&h), Ok(Some(("my client".into(), "s:cret".into()))));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert!(basic_credentials(&h).is_err());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert!(basic_credentials(&h).is_err());
        assert_eq!(basic_credentials(&HeaderMap::new()), Ok(None));
    }
}

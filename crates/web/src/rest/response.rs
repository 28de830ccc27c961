//! Shaping REST responses: JSON bodies, strong entity tags, `If-Match` / `If-None-Match`
//! preconditions (304 when unchanged, 412 when stale).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use catalog::ServiceError;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::AppState;

/// A `412 Precondition Failed` problem (error code `conflict`): the resource is no longer the
/// version the request's `If-Match` (or `If-None-Match`) names.
pub fn precondition_failed(state: &AppState, detail: &str) -> Response {
    let mut body =
        catalog::error::problem(state.catalog().site_url(), catalog::ErrorCode::Conflict, detail);
    body["status"] = 412.into();
    body["title"] = "Precondition Failed".into();
    crate::middleware::problem::problem_response(412, body)
}

/// The strong entity tag of a representation: a SHA-256 prefix of its bytes.
pub fn etag(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32])
}

/// How a precondition compares entity tags (RFC 9110 §8.8.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `If-Match`: weak tags never match.
    Strong,
    /// `If-None-Match`: a `W/` prefix is ignored.
    Weak,
}

/// Whether the precondition header `name` admits the current tag (`None` when there is no
/// current representation, which only `If-None-Match` without `*` admits). `None` when the
/// request has no such header. `*` admits any current representation.
pub fn precondition(
    headers: &HeaderMap,
    name: header::HeaderName,
    tag: Option<&str>,
    compare: Compare,
) -> Option<bool> {
    let value = headers.get(name)?.to_str().unwrap_or_default();
    let Some(tag) = tag else { return Some(false) };
    Some(match compare {
        Compare::Strong => catalog::rules_admin::if_match_admits(value, tag),
        Compare::Weak => value
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.trim_start_matches("W/") == tag.trim_start_matches("W/")),
    })
}

/// A JSON `200` with `tag` as its `ETag`, or `304` when `If-None-Match` already has it.
pub fn tagged(body: Vec<u8>, tag: &str, headers: &HeaderMap) -> Response {
    let seen = precondition(headers, header::IF_NONE_MATCH, Some(tag), Compare::Weak);
    let mut r = if seen == Some(true) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(tag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// A JSON `200` response.
pub fn json(value: &impl Serialize) -> Result<Response, ServiceError> {
    let body = serde_json::to_vec(value).map_err(|e| ServiceError::Internal(Box::new(e)))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A JSON `200` response with an `ETag`; `304` when `If-None-Match` already has it.
pub fn json_tagged(value: &impl Serialize, headers: &HeaderMap) -> Result<Response, ServiceError> {
    let body = serde_json::to_vec(value).map_err(|e| ServiceError::Internal(Box::new(e)))?;
    let tag = etag(&body);
    Ok(tagged(body, &tag, headers))
}

//! RFC 9457 problem documents for HTTP errors outside a specific surface (unknown routes,
//! panics, oversized bodies), built from the shared error-code table in `catalog::error`, so
//! no error body leaks internals.

use std::any::Any;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use catalog::ErrorCode;

use crate::AppState;

/// A problem document (`application/problem+json`) with the status of its code.
pub fn problem(site_url: &str, code: ErrorCode, detail: &str) -> Response {
    problem_response(code.http_status(), catalog::error::problem(site_url, code, detail))
}

/// Wraps a problem document in a response with the given status.
pub fn problem_response(status: u16, body: serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, Json(body)).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
    res
}

/// Fallback for routes that do not exist.
pub async fn not_found(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    problem(
        state.catalog().site_url(),
        ErrorCode::NotFound,
        &format!("no resource at {}", uri.path()),
    )
}

/// Gives error responses that have no body (405 from routing, 408 from the timeout, …) a
/// problem document, so every error a client sees has the same shape.
pub async fn fill_empty_errors(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error())
        || res.headers().contains_key(header::CONTENT_TYPE)
    {
        return res;
    }
    let code =
        if status.is_server_error() { ErrorCode::InternalError } else { ErrorCode::BadRequest };
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed on this resource",
        StatusCode::REQUEST_TIMEOUT => "the request took too long and was abandoned; retry",
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large",
        _ => status.canonical_reason().unwrap_or("error"),
    };
    let mut body = catalog::error::problem(state.catalog().site_url(), code, detail);
    body["status"] = status.as_u16().into();
    body["title"] = status.canonical_reason().unwrap_or("Error").into();
    if status == StatusCode::REQUEST_TIMEOUT {
        body["retryable"] = true.into();
    }
    let (parts, _) = res.into_parts();
    let mut out = problem_response(status.as_u16(), body);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

/// Turns a handler panic into a 500 problem; the panic message goes to the log only.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic)");
    tracing::error!(panic = msg, "handler panicked");
    // The site URL is not reachable from a panic hook; the problem type is relative.
    problem(
        "",
        ErrorCode::InternalError,
        "An unexpected error occurred; it has been logged. Retry with backoff.",
    )
}

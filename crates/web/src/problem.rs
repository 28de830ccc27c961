//! RFC 9457 problem documents for HTTP errors outside a specific surface (unknown routes,
//! panics, oversized bodies), built from the shared error-code table in `catalog::error`, so
//! no error body leaks internals.

use std::any::Any;

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use catalog::ErrorCode;
use serde_json::json;

/// The `type` URI of an error code.
pub fn type_uri(code: ErrorCode) -> String {
    format!("https://prodlink.dev/problems/{}", code.as_str())
}

/// RFC 3339 UTC now, seconds precision.
pub fn timestamp() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A problem document (`application/problem+json`).
pub fn problem(code: ErrorCode, detail: &str) -> Response {
    let status =
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "type": type_uri(code),
        "title": code.title(),
        "status": code.http_status(),
        "detail": detail,
        "error_code": code.as_str(),
        "retryable": code.retryable(),
        "timestamp": timestamp(),
    });
    let mut res = (status, Json(body)).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
    res
}

/// Fallback for routes that do not exist.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    problem(ErrorCode::NotFound, &format!("no resource at {}", uri.path()))
}

/// Turns a handler panic into a 500 problem; the panic message goes to the log only.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic)");
    tracing::error!(panic = msg, "handler panicked");
    problem(
        ErrorCode::InternalError,
        "An unexpected error occurred; it has been logged. Retry with backoff.",
    )
}

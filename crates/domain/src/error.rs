//! The one error-code table of docs/spec.md §3 and the service error every surface maps from.
//!
//! Each [`ErrorCode`] carries its stable snake_case name, JSON-RPC code, HTTP-equivalent status,
//! title and retryability, so MCP, REST and the resolver can never disagree about an error.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;

/// Stable error codes (docs/spec.md §3 "Error contract"); the REST API's problem documents
/// publish this type's schema as `error_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Credential (token or API key) missing where required, invalid, expired or revoked.
    Unauthorized,
    /// The credential lacks the scope (or there is none for a protected tool), or the resource
    /// belongs to another organization.
    Forbidden,
    /// Over a rate limit or quota.
    RateLimited,
    /// Malformed request.
    BadRequest,
    /// A field is wrong.
    ValidationError,
    /// Well-formed but semantically impossible.
    UnprocessableEntity,
    /// A resource that must exist does not.
    NotFound,
    /// State conflict (e.g. a stale If-Match).
    Conflict,
    /// Anything unexpected; nothing internal is shown.
    InternalError,
}

impl ErrorCode {
    /// Every code, in table order.
    pub const ALL: [Self; 9] = [
        Self::Unauthorized,
        Self::Forbidden,
        Self::RateLimited,
        Self::BadRequest,
        Self::ValidationError,
        Self::UnprocessableEntity,
        Self::NotFound,
        Self::Conflict,
        Self::InternalError,
    ];

    /// The snake_case `error_code` string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::BadRequest => "bad_request",
            Self::ValidationError => "validation_error",
            Self::UnprocessableEntity => "unprocessable_entity",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::InternalError => "internal_error",
        }
    }

    /// The JSON-RPC error code used by the MCP surface.
    pub const fn jsonrpc_code(self) -> i32 {
        match self {
            Self::Unauthorized => -32001,
            Self::Forbidden => -32002,
            Self::RateLimited => -32003,
            Self::BadRequest => -32100,
            Self::ValidationError => -32101,
            Self::UnprocessableEntity => -32102,
            Self::NotFound => -32200,
            Self::Conflict => -32201,
            Self::InternalError => -32300,
        }
    }

    /// The HTTP-equivalent status (RFC 9457 `status`).
    pub const fn http_status(self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::RateLimited => 429,
            Self::BadRequest => 400,
            Self::ValidationError => 422,
            Self::UnprocessableEntity => 422,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::InternalError => 500,
        }
    }

    /// Short human title (RFC 9457 `title`).
    pub const fn title(self) -> &'static str {
        match self {
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::RateLimited => "Rate limited",
            Self::BadRequest => "Bad request",
            Self::ValidationError => "Validation error",
            Self::UnprocessableEntity => "Unprocessable entity",
            Self::NotFound => "Not found",
            Self::Conflict => "Conflict",
            Self::InternalError => "Internal error",
        }
    }

    /// Whether repeating the same request later can succeed (rate limits; internal errors with
    /// backoff). An unauthorized call succeeds only after new authorization, so it is `false`.
    pub const fn retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::InternalError)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One wrong input field (RFC 9457 `errors[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field name as the caller spelled it (`gtins[2]`, `limit`, …).
    pub field: String,
    /// What was wrong and what is allowed.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The error every service function returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// One or more fields are invalid.
    #[error("{detail}")]
    Validation {
        /// Human-readable summary.
        detail: String,
        /// Each wrong field.
        errors: Vec<FieldError>,
    },
    /// Malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed but impossible.
    #[error("{0}")]
    Unprocessable(String),
    /// A resource that must exist does not.
    #[error("{0}")]
    NotFound(String),
    /// State conflict.
    #[error("{0}")]
    Conflict(String),
    /// Over a limit; retry after the given seconds.
    #[error("{detail}")]
    RateLimited {
        /// Human-readable explanation.
        detail: String,
        /// Seconds until a retry can succeed.
        retry_after: u64,
    },
    /// Authentication missing or invalid.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Anything unexpected. The source is logged, never shown to callers.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The request field an AI comes from: `batch` (AI 10), `serial` (AI 21), else `gtin`.
pub fn field_of_ai(ai: Option<&str>) -> &'static str {
    match ai {
        Some("21") => "serial",
        Some("10") => "batch",
        _ => "gtin",
    }
}

/// An image the caller asked for cannot be made: a field error (an element string's value is
/// the field of its AI: `batch`, `serial` or `gtin`), or an internal encoder failure.
impl From<barcode::BarcodeError> for ServiceError {
    fn from(e: barcode::BarcodeError) -> Self {
        match e {
            barcode::BarcodeError::Invalid { field, message } => Self::invalid(field, message),
            barcode::BarcodeError::Element { ai, message } => {
                Self::invalid(field_of_ai(Some(&ai)), message)
            }
            e @ barcode::BarcodeError::Png(_) => Self::Internal(Box::new(e)),
        }
    }
}

impl ServiceError {
    /// A validation error for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let e = FieldError::new(field, message);
        Self::Validation { detail: format!("{}: {}", e.field, e.message), errors: vec![e] }
    }

    /// A validation error for several fields.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self::Validation { detail, errors }
    }

    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation { .. } => ErrorCode::ValidationError,
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::Unprocessable(_) => ErrorCode::UnprocessableEntity,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// The message safe to show a caller: the specific detail, or a generic sentence for
    /// internal errors (whose cause goes to the log only).
    pub fn public_detail(&self) -> String {
        match self {
            Self::Internal(_) => {
                "An unexpected error occurred; it has been logged. Retry with backoff.".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// Field errors, when this is a validation error.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Validation { errors, .. } => errors,
            _ => &[],
        }
    }
}

/// RFC 3339 UTC timestamp, seconds precision, for problem documents.
pub fn timestamp() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// The RFC 9457 problem `type` of a code: `{site_url}/problems/{error_code}`.
pub fn problem_type(site_url: &str, code: ErrorCode) -> String {
    format!("{}/problems/{}", site_url.trim_end_matches('/'), code.as_str())
}

/// An RFC 9457 problem document for a code and a specific detail.
pub fn problem(site_url: &str, code: ErrorCode, detail: &str) -> serde_json::Value {
    serde_json::json!({
        "type": problem_type(site_url, code),
        "title": code.title(),
        "status": code.http_status(),
        "detail": detail,
        "error_code": code.as_str(),
        "retryable": code.retryable(),
        "timestamp": timestamp(),
    })
}

impl ServiceError {
    /// The RFC 9457 problem document for this error (`errors[]` for validation errors,
    /// `retry_after` for rate limits). Internal errors say nothing about their cause.
    pub fn problem(&self, site_url: &str) -> serde_json::Value {
        let mut p = problem(site_url, self.code(), &self.public_detail());
        if let Self::Validation { errors, .. } = self {
            p["errors"] = serde_json::to_value(errors).unwrap_or_default();
        }
        if let Self::RateLimited { retry_after, .. } = self {
            p["retry_after"] = (*retry_after).into();
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_spec_table() {
        let table: Vec<(i32, &str, bool)> =
            ErrorCode::ALL.iter().map(|c| (c.jsonrpc_code(), c.as_str(), c.retryable())).collect();
        assert_eq!(
            table,
            vec![
                (-32001, "unauthorized", false),
                (-32002, "forbidden", false),
                (-32003, "rate_limited", true),
                (-32100, "bad_request", false),
                (-32101, "validation_error", false),
                (-32102, "unprocessable_entity", false),
                (-32200, "not_found", false),
                (-32201, "conflict", false),
                (-32300, "internal_error", true),
            ]
        );
    }

    #[test]
    fn problems_follow_rfc_9457() {
        let e = ServiceError::invalid("gtins", "got 1 GTINs; compare 2 to 5");
        let p = e.problem("https://x.example/");
        assert_eq!(p["type"], "https://x.example/problems/validation_error");
        assert_eq!(p["status"], 422);
        assert_eq!(p["error_code"], "validation_error");
        assert_eq!(p["retryable"], false);
        assert_eq!(p["errors"][0]["field"], "gtins");
        assert!(p["timestamp"].as_str().unwrap().ends_with('Z'));
        let r = ServiceError::RateLimited { detail: "slow down".into(), retry_after: 7 };
        assert_eq!(r.problem("http://h")["retry_after"], 7);
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = ServiceError::Internal("disk I/O error at /var/lib/secret.db".into());
        assert!(!e.public_detail().contains("secret"));
        assert_eq!(e.code(), ErrorCode::InternalError);
    }
}

//! The REST API under `/api/v1` (docs/spec.md §7). Every route is an [`Endpoint`] in one table,
//! [`endpoints`]: the router is built from it and so is the OpenAPI 3.1 document
//! (`/api/v1/openapi.json`, [`openapi`]) with its HTML rendering (`/api/v1/docs`) — a route
//! cannot exist without its documentation, and its declared parameters are the ones it
//! accepts ([`params`]). Errors are `application/problem+json` with the MCP `error_code`s.

pub mod accounts;
pub mod caller;
pub mod docs;
pub mod images;
pub mod input;
pub mod openapi;
pub mod pagination;
pub mod params;
pub mod products;
pub mod read;
pub mod response;
pub mod retail;
pub mod rules;

use axum::Router;
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use axum::routing::MethodRouter;
use catalog::ServiceError;
use schemars::generate::SchemaGenerator;

use crate::AppState;
use caller::Refusal;
use params::ParamSpec;

/// The path prefix of every REST route.
pub const PREFIX: &str = "/api/v1";

/// Produces the JSON Schema of a type (a `$ref` into `components/schemas`).
pub type SchemaFn = fn(&mut SchemaGenerator) -> schemars::Schema;

/// The schema of `T`, as a [`SchemaFn`].
pub fn schema<T: schemars::JsonSchema>(g: &mut SchemaGenerator) -> schemars::Schema {
    g.subschema_for::<T>()
}

/// What a successful call returns.
#[derive(Clone, Copy)]
pub enum Success {
    /// `200` with a JSON body of this schema.
    Json(SchemaFn),
    /// `200` with one of these media types (images, HTML).
    Media(&'static [&'static str]),
    /// `201 Created` (with `Location`) with a JSON body of this schema.
    Created(SchemaFn),
    /// `201 Created` for a new resource or `200` for an existing one, with this JSON body.
    Upserted(SchemaFn),
    /// `204 No Content`.
    NoContent,
}

/// One REST operation: its route and everything the documentation says about it.
pub struct Endpoint {
    /// HTTP method.
    pub method: Method,
    /// Path, with `{name}` parameters (the same syntax in axum and OpenAPI).
    pub path: &'static str,
    /// OpenAPI `operationId`.
    pub operation_id: &'static str,
    /// Group in the documentation.
    pub tag: &'static str,
    /// One line.
    pub summary: &'static str,
    /// What it does, for a client developer.
    pub description: &'static str,
    /// The OAuth scope it needs; `None` for public operations (credentials optional).
    pub scope: Option<&'static str>,
    /// Path and query parameters.
    pub params: &'static [ParamSpec],
    /// JSON request body, if any.
    pub body: Option<SchemaFn>,
    /// The success response.
    pub success: Success,
    /// Extra headers on success (documented; e.g. `ETag`).
    pub success_headers: &'static [&'static str],
    /// Error statuses it can answer with (each a problem document).
    pub errors: &'static [u16],
    /// The handler.
    pub route: MethodRouter<AppState>,
}

/// Every REST endpoint, in documentation order.
pub fn endpoints() -> Vec<Endpoint> {
    let mut all = read::endpoints();
    all.extend(products::endpoints());
    all.extend(rules::endpoints());
    all.extend(retail::endpoints());
    all.extend(accounts::endpoints());
    all.extend(images::endpoints());
    all.extend(docs::endpoints());
    all
}

/// The REST router: every [`endpoints`] route behind the [`caller::layer`] (authentication,
/// rate limits and their headers).
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for e in endpoints() {
        router = router.route(e.path, e.route);
    }
    router.route_layer(axum::middleware::from_fn_with_state(state.clone(), caller::layer))
}

impl From<ServiceError> for Refusal {
    fn from(error: ServiceError) -> Self {
        Self { error, challenge: None }
    }
}

/// The problem response for a failure, with its challenge header when it has one.
pub fn fail(state: &AppState, refusal: impl Into<Refusal>) -> Response {
    let Refusal { error, challenge } = refusal.into();
    if let ServiceError::Internal(e) = &error {
        tracing::error!(error = %e, "REST request failed");
    }
    let mut r = crate::middleware::problem::problem_response(
        error.code().http_status(),
        error.problem(state.catalog().site_url()),
    );
    if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, c);
    }
    if let ServiceError::RateLimited { retry_after, .. } = &error
        && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

//! Product management over REST (docs/spec.md §7): `POST /api/v1/products` (create),
//! `PUT /api/v1/products/{gtin}` (idempotent create-or-replace), `PATCH` (merge update: absent
//! fields kept, `null` clears, metadata merged) and `DELETE`, for the caller's organization
//! (`products:write`). Each answers with the product's representation and `ETag` — the same
//! one `GET /api/v1/products/{gtin}` serves — and honours `If-Match` (412 when stale) and, on
//! `PUT`, `If-None-Match: *` (create only).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, patch, post, put};
use catalog::ServiceError;
use catalog::manage::{ProductInput, WriteMode};
use catalog::model::WriteOutcome;
use catalog::service::LookupProductOutput;

use super::caller::Refusal;
use super::input::Input;
use super::params::{Kind, ParamSpec};
use super::response::{Compare, etag, precondition, precondition_failed};
use super::{Endpoint, Success, fail, schema};
use crate::AppState;

/// The scope every management write needs.
pub const WRITE_SCOPE: &str = "products:write";

const PRODUCT: &[ParamSpec] =
    &[ParamSpec::path("gtin", Kind::Text { max: 64 }, "The product's GTIN-8, -12, -13 or -14.")];

/// The product management endpoints.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::POST,
            path: "/api/v1/products",
            operation_id: "createProduct",
            tag: "Product management",
            summary: "Create a product",
            description: "Creates a product of one of your organization's brands (a brand name nobody has yet becomes your organization's). The body names the GTIN; 409 when it exists. Answers 201 with the product, its ETag and Location.",
            scope: Some(WRITE_SCOPE),
            params: &[],
            body: Some(schema::<ProductInput>),
            success: Success::Created(schema::<LookupProductOutput>),
            success_headers: &["ETag"],
            errors: &[400, 401, 403, 409, 422, 429],
            route: post(create),
        },
        Endpoint {
            method: Method::PUT,
            path: "/api/v1/products/{gtin}",
            operation_id: "putProduct",
            tag: "Product management",
            summary: "Create or replace a product",
            description: "Idempotent upsert: creates the product (201) or replaces every field of it (200; fields left out are cleared, metadata is replaced). Send If-Match with the ETag you read to avoid overwriting someone else's change (412 if it changed), or If-None-Match: * to create only.",
            scope: Some(WRITE_SCOPE),
            params: PRODUCT,
            body: Some(schema::<ProductInput>),
            success: Success::Upserted(schema::<LookupProductOutput>),
            success_headers: &["ETag"],
            errors: &[400, 401, 403, 412, 422, 429],
            route: put(replace),
        },
        Endpoint {
            method: Method::PATCH,
            path: "/api/v1/products/{gtin}",
            operation_id: "patchProduct",
            tag: "Product management",
            summary: "Update a product",
            description: "Merge update: fields left out keep their values, null clears a field, metadata keys merge into the stored map (an empty string deletes a key), and a list (images, ingredients) replaces the stored one. Honours If-Match (412 when stale).",
            scope: Some(WRITE_SCOPE),
            params: PRODUCT,
            body: Some(schema::<ProductInput>),
            success: Success::Json(schema::<LookupProductOutput>),
            success_headers: &["ETag"],
            errors: &[400, 401, 403, 404, 412, 422, 429],
            route: patch(update),
        },
        Endpoint {
            method: Method::DELETE,
            path: "/api/v1/products/{gtin}",
            operation_id: "deleteProduct",
            tag: "Product management",
            summary: "Delete a product",
            description: "Deletes the product with its images, ingredients, nutrition and offers. Honours If-Match (412 when stale).",
            scope: Some(WRITE_SCOPE),
            params: PRODUCT,
            body: None,
            success: Success::NoContent,
            success_headers: &[],
            errors: &[401, 403, 404, 412, 422, 429],
            route: delete(remove),
        },
    ]
}

/// A product's representation at `GET /api/v1/products/{gtin}`, with its entity tag and
/// version.
pub struct Current {
    /// The body served.
    pub body: Vec<u8>,
    /// The entity tag: it covers the body and the record's update time (so changes that the
    /// body does not show, such as new images, change it too).
    pub tag: String,
    /// The record's `updated_at`, which writes name to be applied atomically only to this
    /// version.
    pub version: String,
    /// The normalized GTIN-14.
    pub gtin: String,
}

/// The product's [`Current`] representation, from one read; `None` when it is not in the
/// catalog.
pub async fn current(state: &AppState, gtin: &str) -> Result<Option<Current>, ServiceError> {
    let (out, version) = state.catalog().lookup_product_versioned(gtin).await?;
    let Some(version) = version else { return Ok(None) };
    let body = serde_json::to_vec(&out).map_err(|e| ServiceError::Internal(Box::new(e)))?;
    let mut tagged = body.clone();
    tagged.extend_from_slice(version.as_bytes());
    let tag = etag(&tagged);
    Ok(Some(Current { body, tag, version, gtin: out.gtin.unwrap_or_default() }))
}

/// The version a write is conditional on: the current one when `If-Match` admits it, none
/// without `If-Match`; `Err(())` when `If-Match` is present and does not admit it (412),
/// including when the product is not there.
fn conditional_on(headers: &HeaderMap, before: Option<&Current>) -> Result<Option<String>, ()> {
    match precondition(headers, header::IF_MATCH, before.map(|c| c.tag.as_str()), Compare::Strong) {
        Some(false) => Err(()),
        Some(true) => Ok(before.map(|c| c.version.clone())),
        None => Ok(None),
    }
}

const STALE: &str = "the product changed since you read it (If-Match does not match its ETag): read it again and redo your change";

fn representation(
    status: StatusCode,
    body: Vec<u8>,
    tag: &str,
    location: Option<String>,
) -> Response {
    let mut r = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Ok(v) = HeaderValue::from_str(tag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

fn body(bytes: &Bytes) -> Result<ProductInput, ServiceError> {
    if bytes.is_empty() {
        return Err(ServiceError::BadRequest("send the product as a JSON object".into()));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ServiceError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ServiceError::BadRequest("the body must be a JSON object".into()));
    }
    serde_json::from_value(value).map_err(|e| {
        let text = e.to_string();
        let field = text
            .split('`')
            .nth(1)
            .filter(|_| text.starts_with("unknown field"))
            .unwrap_or("body")
            .to_owned();
        ServiceError::invalid(field, text)
    })
}

/// Runs one write, then answers with the new representation.
async fn write(
    state: &AppState,
    input: &Input,
    bytes: &Bytes,
    gtin_from_path: bool,
    mode: WriteMode,
) -> Result<Response, Refusal> {
    let organization = input.organization(state, WRITE_SCOPE)?;
    let params = input.check(if gtin_from_path { PRODUCT } else { &[] })?;
    let mut product = body(bytes)?;
    let gtin = if gtin_from_path {
        if let Some(g) = &product.gtin {
            let path = params.text("gtin").unwrap_or_default();
            let same = matches!(
                (gs1::Gtin14::parse(g), gs1::Gtin14::parse(path)),
                (Ok(a), Ok(b)) if a == b
            );
            if !same {
                return Err(ServiceError::invalid(
                    "gtin",
                    "differs from the GTIN in the path; leave it out",
                )
                .into());
            }
        }
        params.text("gtin").unwrap_or_default().to_owned()
    } else {
        product.gtin.take().ok_or_else(|| ServiceError::invalid("gtin", "is required"))?
    };
    let mut version = None;
    if mode != WriteMode::Create {
        let before = current(state, &gtin).await?;
        let Ok(v) = conditional_on(&input.headers, before.as_ref()) else {
            return Ok(precondition_failed(state, STALE));
        };
        version = v;
        let tag = before.as_ref().map(|c| c.tag.as_str());
        if mode == WriteMode::Replace
            && precondition(&input.headers, header::IF_NONE_MATCH, tag, Compare::Weak) == Some(true)
        {
            return Ok(precondition_failed(state, "the product exists (If-None-Match: *)"));
        }
    }
    let outcome =
        state.catalog().write_product(organization, &gtin, product, mode, version).await?;
    if outcome == WriteOutcome::Stale {
        return Ok(precondition_failed(state, STALE));
    }
    let after = current(state, &gtin)
        .await?
        .ok_or_else(|| ServiceError::Internal("a written product is missing".into()))?;
    let (status, location) = if outcome == WriteOutcome::Inserted {
        (
            StatusCode::CREATED,
            Some(format!("{}/api/v1/products/{}", state.catalog().site_url(), after.gtin)),
        )
    } else {
        (StatusCode::OK, None)
    };
    Ok(representation(status, after.body, &after.tag, location))
}

async fn create(State(state): State<AppState>, input: Input, bytes: Bytes) -> Response {
    write(&state, &input, &bytes, false, WriteMode::Create)
        .await
        .unwrap_or_else(|r| fail(&state, r))
}

async fn replace(State(state): State<AppState>, input: Input, bytes: Bytes) -> Response {
    write(&state, &input, &bytes, true, WriteMode::Replace)
        .await
        .unwrap_or_else(|r| fail(&state, r))
}

async fn update(State(state): State<AppState>, input: Input, bytes: Bytes) -> Response {
    write(&state, &input, &bytes, true, WriteMode::Merge).await.unwrap_or_else(|r| fail(&state, r))
}

async fn remove(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let organization = input.organization(&state, WRITE_SCOPE)?;
        let params = input.check(PRODUCT)?;
        let gtin = params.text("gtin").unwrap_or_default();
        let mut version = None;
        if input.headers.contains_key(header::IF_MATCH) {
            let before = current(&state, gtin).await?;
            let Ok(v) = conditional_on(&input.headers, before.as_ref()) else {
                return Ok(precondition_failed(&state, STALE));
            };
            version = v;
        }
        if !state.catalog().delete_product(organization, gtin, version.as_deref()).await? {
            if version.is_some() {
                return Ok(precondition_failed(&state, STALE));
            }
            return Err(ServiceError::NotFound(format!(
                "no product with GTIN {gtin} is in the catalog"
            ))
            .into());
        }
        Ok::<_, Refusal>(StatusCode::NO_CONTENT.into_response())
    };
    r.await.unwrap_or_else(|e| fail(&state, e))
}

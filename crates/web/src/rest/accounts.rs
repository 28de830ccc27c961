//! Accounts, organizations and brands over REST (docs/spec.md §2, §7): who the caller is with its
//! organization and that organization's API keys (`GET /api/v1/account`, `accounts:read`; key
//! prefixes only, never secrets or hashes), the caller's organization (`GET`, `PATCH`,
//! `DELETE /api/v1/organization`), creating one (`POST /api/v1/organizations`, a signed-in
//! user without an organization only: an API key always acts for the organization it was made
//! for), the organization's brands (`/api/v1/brands`, `/api/v1/brands/{id}`) and its products
//! one page at a time (`GET /api/v1/products`). Reads need `products:read` (brands, products)
//! or `accounts:read` (account, organization); changes need `products:write`. Organization and
//! brand responses carry an `ETag` that `PATCH` and `DELETE` honour in `If-Match` (412 when
//! stale). Validation and ownership live in `catalog::orgs`; this module is HTTP only.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use catalog::ServiceError;
use catalog::orgs::{
    AccountUser, Brand, BrandPage, NamePatch, NewBrand, NewOrganization, OrgError, Organization,
    ProductPage,
};
use schemars::JsonSchema;
use serde::Serialize;

use super::caller::{Caller, Refusal};
use super::input::Input;
use super::pagination;
use super::params::{Kind, ParamSpec};
use super::response::{json, precondition_failed};
use super::{Endpoint, Success, fail, schema};
use crate::AppState;

/// The scope of account and organization reads.
pub const ACCOUNT_SCOPE: &str = "accounts:read";
/// The scope of brand and product-list reads.
pub const READ_SCOPE: &str = "products:read";
/// The scope of every change.
pub const WRITE_SCOPE: &str = "products:write";

const BRANDS: &[ParamSpec] = &pagination::params("Brands per page (1-100).");
const PRODUCTS: &[ParamSpec] = &pagination::params("Products per page (1-100).");
const ID: &[ParamSpec] =
    &[ParamSpec::path("id", Kind::Integer { min: 1, max: i64::MAX }, "The brand's id.")];

/// What kind of credential is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// An OAuth access token of a signed-in user.
    User,
    /// An API key of an organization.
    ApiKey,
    /// An OAuth access token of a client acting for no user.
    Client,
}

/// An API key as its organization sees it: never the key or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ApiKeySummary {
    /// Id (`prodlink apikey revoke ID`).
    pub id: i64,
    /// What the key is for.
    pub name: String,
    /// Its first characters (`pl_key_` and 8 more), to recognise it; not a secret.
    pub prefix: String,
    /// Its REST scopes.
    pub scopes: Vec<String>,
    /// Requests per minute; `null` means the server's default.
    pub rate_limit_per_minute: Option<u32>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last time it was accepted (recorded about once a minute at most).
    pub last_used_at: Option<String>,
    /// When it was revoked; `null` while it works.
    pub revoked_at: Option<String>,
}

/// The caller, its organization and the organization's API keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Account {
    /// What kind of credential made this request.
    pub credential: CredentialKind,
    /// The signed-in user (user tokens).
    pub user: Option<AccountUser>,
    /// The API key used (API keys).
    pub api_key: Option<ApiKeySummary>,
    /// The OAuth client (tokens).
    pub client_id: Option<String>,
    /// The scopes this credential holds.
    pub scopes: Vec<String>,
    /// The organization the credential acts for; `null` when none.
    pub organization: Option<Organization>,
    /// The organization's API keys, revoked ones included, by id (`[]` without organization).
    pub api_keys: Vec<ApiKeySummary>,
}

/// The account, organization and brand endpoints, and the organization's product list.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::GET,
            path: "/api/v1/account",
            operation_id: "getAccount",
            tag: "Accounts",
            summary: "Who you are, your organization and its API keys",
            description: "The credential making the request (a user's token: the user; an API key: the key's id, name and prefix), its scopes, the organization it acts for (null when none) and that organization's API keys with their prefixes, scopes, rate limits, last use and revocation — never a key or its hash. Needs accounts:read.",
            scope: Some(ACCOUNT_SCOPE),
            params: &[],
            body: None,
            success: Success::Json(schema::<Account>),
            success_headers: &[],
            errors: &[401, 403, 422, 429],
            route: get(account),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/organization",
            operation_id: "getOrganization",
            tag: "Accounts",
            summary: "Your organization",
            description: "The organization your credential acts for: name, metadata, how many brands and products it has, with an ETag for If-Match on PATCH and DELETE. 403 when the credential acts for no organization. Needs accounts:read.",
            scope: Some(ACCOUNT_SCOPE),
            params: &[],
            body: None,
            success: Success::Json(schema::<Organization>),
            success_headers: &["ETag"],
            errors: &[401, 403, 404, 422, 429],
            route: get(organization),
        },
        Endpoint {
            method: Method::PATCH,
            path: "/api/v1/organization",
            operation_id: "updateOrganization",
            tag: "Accounts",
            summary: "Rename your organization or change its metadata",
            description: "Fields left out are kept; metadata keys merge into the stored map (an empty string deletes a key). A name another organization has is 409. With If-Match, only if the organization still has that ETag (else 412). Needs products:write.",
            scope: Some(WRITE_SCOPE),
            params: &[],
            body: Some(schema::<NamePatch>),
            success: Success::Json(schema::<Organization>),
            success_headers: &["ETag"],
            errors: &[400, 401, 403, 404, 409, 412, 422, 429],
            route: patch(update_organization),
        },
        Endpoint {
            method: Method::DELETE,
            path: "/api/v1/organization",
            operation_id: "deleteOrganization",
            tag: "Accounts",
            summary: "Delete your organization",
            description: "Only once it owns no brands (409 otherwise: delete the brands first). Its users remain, in no organization; its API keys and organization-wide resolver rules are deleted with it. With If-Match, only if it still has that ETag (else 412). Needs products:write.",
            scope: Some(WRITE_SCOPE),
            params: &[],
            body: None,
            success: Success::NoContent,
            success_headers: &[],
            errors: &[401, 403, 404, 409, 412, 422, 429],
            route: delete(delete_organization),
        },
        Endpoint {
            method: Method::POST,
            path: "/api/v1/organizations",
            operation_id: "createOrganization",
            tag: "Accounts",
            summary: "Create an organization",
            description: "Creates an organization with you as its member; for a signed-in user's token whose account belongs to no organization (409 when it does, or when the name is taken). API keys always act for their own organization and cannot create one (403). Answers 201 with the organization and Location. Needs products:write.",
            scope: Some(WRITE_SCOPE),
            params: &[],
            body: Some(schema::<NewOrganization>),
            success: Success::Created(schema::<Organization>),
            success_headers: &["ETag"],
            errors: &[400, 401, 403, 409, 422, 429],
            route: post(create_organization),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/brands",
            operation_id: "listBrands",
            tag: "Brands",
            summary: "List your organization's brands",
            description: "Your organization's brands by name, each with its product count, one page at a time with a pagination envelope. Needs products:read.",
            scope: Some(READ_SCOPE),
            params: BRANDS,
            body: None,
            success: Success::Json(schema::<BrandPage>),
            success_headers: &[],
            errors: &[401, 403, 422, 429],
            route: get(list_brands),
        },
        Endpoint {
            method: Method::POST,
            path: "/api/v1/brands",
            operation_id: "createBrand",
            tag: "Brands",
            summary: "Create a brand",
            description: "Creates a brand of your organization. Brand names are unique regardless of case and spacing: a name that exists (yours or anyone's) is 409. Answers 201 with the brand, its ETag and Location. Needs products:write.",
            scope: Some(WRITE_SCOPE),
            params: &[],
            body: Some(schema::<NewBrand>),
            success: Success::Created(schema::<Brand>),
            success_headers: &["ETag"],
            errors: &[400, 401, 403, 409, 422, 429],
            route: post(create_brand),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/brands/{id}",
            operation_id: "getBrand",
            tag: "Brands",
            summary: "Get one of your brands",
            description: "One brand of your organization with its product count and an ETag for If-Match. Another organization's brand (or one of nobody) is 403; an unknown id is 404. Needs products:read.",
            scope: Some(READ_SCOPE),
            params: ID,
            body: None,
            success: Success::Json(schema::<Brand>),
            success_headers: &["ETag"],
            errors: &[401, 403, 404, 422, 429],
            route: get(read_brand),
        },
        Endpoint {
            method: Method::PATCH,
            path: "/api/v1/brands/{id}",
            operation_id: "updateBrand",
            tag: "Brands",
            summary: "Rename a brand or change its metadata",
            description: "Fields left out are kept; metadata keys merge into the stored map (an empty string deletes a key). A name another brand has (regardless of case and spacing) is 409. With If-Match, only if the brand still has that ETag (else 412). Needs products:write.",
            scope: Some(WRITE_SCOPE),
            params: ID,
            body: Some(schema::<NamePatch>),
            success: Success::Json(schema::<Brand>),
            success_headers: &["ETag"],
            errors: &[400, 401, 403, 404, 409, 412, 422, 429],
            route: patch(update_brand),
        },
        Endpoint {
            method: Method::DELETE,
            path: "/api/v1/brands/{id}",
            operation_id: "deleteBrand",
            tag: "Brands",
            summary: "Delete a brand",
            description: "Deletes one of your organization's brands once it has no products (409 otherwise: delete or move them first); its brand-wide resolver rules go with it. With If-Match, only if it still has that ETag (else 412). Needs products:write.",
            scope: Some(WRITE_SCOPE),
            params: ID,
            body: None,
            success: Success::NoContent,
            success_headers: &[],
            errors: &[401, 403, 404, 409, 412, 422, 429],
            route: delete(delete_brand),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/products",
            operation_id: "listProducts",
            tag: "Product management",
            summary: "List your organization's products",
            description: "The products of your organization's brands by GTIN (gtin, name, brand, updated_at), one page at a time with a pagination envelope; GET /api/v1/products/{gtin} has the whole record. Needs products:read.",
            scope: Some(READ_SCOPE),
            params: PRODUCTS,
            body: None,
            success: Success::Json(schema::<ProductPage>),
            success_headers: &[],
            errors: &[401, 403, 422, 429],
            route: get(list_products),
        },
    ]
}

/// The response for a failed change: a 412 problem (error code `conflict`) for a stale
/// `If-Match`, else the error's own.
fn failed(state: &AppState, e: OrgError) -> Response {
    match e {
        OrgError::Service(e) => fail(state, e),
        OrgError::PreconditionFailed(detail) => precondition_failed(state, &detail),
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        Self::Refused(e.into())
    }
}

impl From<OrgError> for Failure {
    fn from(e: OrgError) -> Self {
        Self::Change(e)
    }
}

/// Any failure of these endpoints.
enum Failure {
    Refused(Refusal),
    Change(OrgError),
}

fn respond(state: &AppState, r: Result<Response, Failure>) -> Response {
    match r {
        Ok(r) => r,
        Err(Failure::Refused(r)) => fail(state, r),
        Err(Failure::Change(e)) => failed(state, e),
    }
}

/// A JSON response of `status` with the entity tag and, when given, a `Location`.
fn tagged(
    value: &impl Serialize,
    etag: &str,
    status: StatusCode,
    location: Option<String>,
) -> Result<Response, ServiceError> {
    let mut r = json(value)?;
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if let Some(v) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

fn url(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.catalog().site_url().trim_end_matches('/'))
}

fn brand_id(input: &Input) -> Result<i64, ServiceError> {
    Ok(input.check(ID)?.integer("id").unwrap_or_default())
}

fn summary(k: auth::store::ApiKeyRecord) -> ApiKeySummary {
    ApiKeySummary {
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        scopes: k.scopes,
        rate_limit_per_minute: k.rate_limit_per_minute,
        created_at: k.created_at,
        last_used_at: k.last_used_at,
        revoked_at: k.revoked_at,
    }
}

/// Drops this process's cached credential checks after the caller's organization was created
/// or deleted (PostgreSQL backends also tell every other process, in the change's
/// transaction): the caller's user or key now acts for another organization, or none.
async fn forget_credentials(state: &AppState, caller: &Caller, organization: Option<i64>) {
    let done = match (caller.principal.user_id, caller.api_key) {
        (Some(user), _) => {
            state.auth().set_user_organization(user, organization).await.map_err(|e| e.to_string())
        }
        // The key went with its organization; revoking it (a no-op now) clears the caches.
        (None, Some(key)) => {
            state.auth().revoke_api_key(key.id).await.map(|_| ()).map_err(|e| e.to_string())
        }
        (None, None) => Ok(()),
    };
    if let Err(e) = done {
        tracing::warn!(error = %e, "clearing cached credentials after an organization change failed");
    }
}

async fn account(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let caller = input.authorized(&state, ACCOUNT_SCOPE)?;
        input.check(&[])?;
        let organization = match caller.organization_id {
            Some(id) => {
                state.catalog().store().organization_record(id).await.map_err(ServiceError::from)?
            }
            None => None,
        };
        let keys: Vec<ApiKeySummary> = match &organization {
            Some(o) => state
                .auth()
                .list_api_keys(Some(o.id))
                .await
                .map_err(|e| ServiceError::Internal(Box::new(e)))?
                .into_iter()
                .map(summary)
                .collect(),
            None => Vec::new(),
        };
        let api_key = caller.api_key.and_then(|k| keys.iter().find(|s| s.id == k.id).cloned());
        let user = match caller.principal.user_id {
            Some(id) => state.catalog().account_user(id).await?,
            None => None,
        };
        let credential = if caller.api_key.is_some() {
            CredentialKind::ApiKey
        } else if caller.principal.user_id.is_some() {
            CredentialKind::User
        } else {
            CredentialKind::Client
        };
        let client_id = match credential {
            CredentialKind::ApiKey => None,
            _ => caller.principal.client_id.clone(),
        };
        let mut scopes = caller.principal.scopes.clone();
        scopes.sort();
        Ok::<_, Failure>(json(&Account {
            credential,
            user,
            api_key,
            client_id,
            scopes,
            organization,
            api_keys: keys,
        })?)
    };
    respond(&state, r.await)
}

async fn organization(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let id = input.organization(&state, ACCOUNT_SCOPE)?;
        input.check(&[])?;
        let o = state.catalog().organization(id).await?;
        Ok::<_, Failure>(tagged(&o, &o.etag(), StatusCode::OK, None)?)
    };
    respond(&state, r.await)
}

async fn update_organization(State(state): State<AppState>, input: Input, body: Bytes) -> Response {
    let r = async {
        let id = input.organization(&state, WRITE_SCOPE)?;
        input.check(&[])?;
        let o = state.catalog().update_organization(id, input.if_match(), &body).await?;
        Ok::<_, Failure>(tagged(&o, &o.etag(), StatusCode::OK, None)?)
    };
    respond(&state, r.await)
}

async fn delete_organization(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let caller = input.authorized(&state, WRITE_SCOPE)?;
        let id = caller.organization()?;
        input.check(&[])?;
        state.catalog().delete_organization(id, input.if_match()).await?;
        forget_credentials(&state, caller, None).await;
        Ok::<_, Failure>(StatusCode::NO_CONTENT.into_response())
    };
    respond(&state, r.await)
}

async fn create_organization(State(state): State<AppState>, input: Input, body: Bytes) -> Response {
    let r = async {
        let caller = input.authorized(&state, WRITE_SCOPE)?;
        input.check(&[])?;
        let Some(user) = caller.principal.user_id else {
            return Err(ServiceError::Forbidden(
                "only a signed-in user's token can create an organization: an API key (or a client acting for no user) always acts for the organization it was made for".into(),
            )
            .into());
        };
        let o = state.catalog().create_organization(user, &body).await?;
        forget_credentials(&state, caller, Some(o.id)).await;
        let location = Some(url(&state, "/api/v1/organization"));
        Ok::<_, Failure>(tagged(&o, &o.etag(), StatusCode::CREATED, location)?)
    };
    respond(&state, r.await)
}

async fn list_brands(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let org = input.organization(&state, READ_SCOPE)?;
        let (page, size) = pagination::page(&input.check(BRANDS)?);
        Ok::<_, Failure>(json(&state.catalog().organization_brands(org, page, size).await?)?)
    };
    respond(&state, r.await)
}

async fn create_brand(State(state): State<AppState>, input: Input, body: Bytes) -> Response {
    let r = async {
        let org = input.organization(&state, WRITE_SCOPE)?;
        input.check(&[])?;
        let b = state.catalog().create_organization_brand(org, &body).await?;
        let location = Some(url(&state, &format!("/api/v1/brands/{}", b.id)));
        Ok::<_, Failure>(tagged(&b, &b.etag(), StatusCode::CREATED, location)?)
    };
    respond(&state, r.await)
}

async fn read_brand(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let org = input.organization(&state, READ_SCOPE)?;
        let b = state.catalog().owned_brand(org, brand_id(&input)?).await?;
        Ok::<_, Failure>(tagged(&b, &b.etag(), StatusCode::OK, None)?)
    };
    respond(&state, r.await)
}

async fn update_brand(State(state): State<AppState>, input: Input, body: Bytes) -> Response {
    let r = async {
        let org = input.organization(&state, WRITE_SCOPE)?;
        let id = brand_id(&input)?;
        let b = state.catalog().update_brand(org, id, input.if_match(), &body).await?;
        Ok::<_, Failure>(tagged(&b, &b.etag(), StatusCode::OK, None)?)
    };
    respond(&state, r.await)
}

async fn delete_brand(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let org = input.organization(&state, WRITE_SCOPE)?;
        let id = brand_id(&input)?;
        state.catalog().delete_brand(org, id, input.if_match()).await?;
        Ok::<_, Failure>(StatusCode::NO_CONTENT.into_response())
    };
    respond(&state, r.await)
}

async fn list_products(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let org = input.organization(&state, READ_SCOPE)?;
        let (page, size) = pagination::page(&input.check(PRODUCTS)?);
        Ok::<_, Failure>(json(&state.catalog().organization_products(org, page, size).await?)?)
    };
    respond(&state, r.await)
}

#[cfg(test)]
mod tests {
    #[test]
    fn organization_changes_announce_on_the_auth_servers_channel() {
        assert_eq!(catalog::orgs::REVOCATION_CHANNEL, auth::server::REVOCATION_CHANNEL);
    }
}

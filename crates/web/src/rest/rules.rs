//! The resolver-rule management endpoints (docs/spec.md §5, §7): an organization lists, creates,
//! reads, updates (partially, with `If-Match`), deletes and reorders the rules of its own
//! products, brands and organization — never GLOBAL rules. Reads need `products:read`,
//! changes `rules:write`; callers act for their credential's organization. A rule of another
//! organization answers 404, like a missing one, so rule ids do not leak; a target (product,
//! brand, organization) that is not the caller's answers 403. Validation, ownership and the
//! audit trail (one `audit_events` row per change, in the change's transaction) live in
//! `catalog::rules_admin`; this module is HTTP only.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use catalog::ServiceError;
use catalog::rules_admin::{
    self as admin, Actor, ManagedRule, NewRule, ReorderRules, ReorderedRules, RuleAdminError,
    RulePage, RulePatch,
};

use super::caller::Refusal;
use super::input::Input;
use super::params::{Kind, ParamSpec};
use super::response::{json, json_tagged, precondition_failed};
use super::{Endpoint, Success, fail, schema};
use crate::AppState;

/// The scope of rule reads.
pub const READ_SCOPE: &str = "products:read";
/// The scope of rule changes.
pub const WRITE_SCOPE: &str = "rules:write";

const LIST: &[ParamSpec] = &super::pagination::params("Rules per page (1-100).");
const ID: &[ParamSpec] =
    &[ParamSpec::path("id", Kind::Integer { min: 1, max: i64::MAX }, "The rule's id.")];

/// The rule endpoints.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::GET,
            path: "/api/v1/rules",
            operation_id: "listRules",
            tag: "Resolver rules",
            summary: "List your organization's resolver rules",
            description: "The resolver rules of your organization's products (through their brands), brands and organization, by id, one page at a time with a pagination envelope. GLOBAL rules are the operator's and are not listed. Needs products:read.",
            scope: Some(READ_SCOPE),
            params: LIST,
            body: None,
            success: Success::Json(schema::<RulePage>),
            success_headers: &[],
            errors: &[401, 403, 422, 429],
            route: get(list),
        },
        Endpoint {
            method: Method::POST,
            path: "/api/v1/rules",
            operation_id: "createRule",
            tag: "Resolver rules",
            summary: "Create a resolver rule",
            description: "Creates a rule in a scope your organization owns: SERIAL/BATCH/PRODUCT (gtin, with serial or batch) for a product of one of its brands, BRAND (brand_id) for one of its brands, ORGANIZATION (organization_id) for itself; anything else is 403. Without order_index the rule goes after the scope's last one; a taken order_index is 409. Every wrong field is listed in errors[] (422). The change is recorded in the audit log. Needs rules:write.",
            scope: Some(WRITE_SCOPE),
            params: &[],
            body: Some(schema::<NewRule>),
            success: Success::Created(schema::<ManagedRule>),
            success_headers: &["ETag"],
            errors: &[400, 401, 403, 409, 422, 429],
            route: post(create),
        },
        Endpoint {
            method: Method::POST,
            path: "/api/v1/rules/reorder",
            operation_id: "reorderRules",
            tag: "Resolver rules",
            summary: "Reorder the rules of a scope",
            description: "Gives every rule of one scope instance (scope plus gtin/batch/serial, brand_id or organization_id) a new position at once: rule_ids lists each of them exactly once, first = order_index 0. Atomic: no one sees a half-reordered scope. Recorded in the audit log. Needs rules:write.",
            scope: Some(WRITE_SCOPE),
            params: &[],
            body: Some(schema::<ReorderRules>),
            success: Success::Json(schema::<ReorderedRules>),
            success_headers: &[],
            errors: &[400, 401, 403, 409, 422, 429],
            route: post(reorder),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/rules/{id}",
            operation_id: "getRule",
            tag: "Resolver rules",
            summary: "Get one of your resolver rules",
            description: "One rule of your organization, with an ETag to send in If-Match when changing it (and in If-None-Match for a 304). Another organization's rule is 404, like a missing one. Needs products:read.",
            scope: Some(READ_SCOPE),
            params: ID,
            body: None,
            success: Success::Json(schema::<ManagedRule>),
            success_headers: &["ETag"],
            errors: &[401, 403, 404, 422, 429],
            route: get(read_one),
        },
        Endpoint {
            method: Method::PATCH,
            path: "/api/v1/rules/{id}",
            operation_id: "updateRule",
            tag: "Resolver rules",
            summary: "Update a resolver rule",
            description: "Changes any fields of a rule (JSON merge patch: null clears an optional field), enabled and the criteria included; the result is validated as a whole (422 lists every wrong field). Changing scope or its identifiers moves the rule to another scope your organization owns. With If-Match, the rule must still have that ETag (else 412). Recorded in the audit log with the rule before and after. Needs rules:write.",
            scope: Some(WRITE_SCOPE),
            params: ID,
            body: Some(schema::<RulePatch>),
            success: Success::Json(schema::<ManagedRule>),
            success_headers: &["ETag"],
            errors: &[400, 401, 403, 404, 409, 412, 422, 429],
            route: axum::routing::patch(update),
        },
        Endpoint {
            method: Method::DELETE,
            path: "/api/v1/rules/{id}",
            operation_id: "deleteRule",
            tag: "Resolver rules",
            summary: "Delete a resolver rule",
            description: "Deletes one of your organization's rules (204). With If-Match, only if it still has that ETag (else 412). Recorded in the audit log with the rule as it was. Needs rules:write.",
            scope: Some(WRITE_SCOPE),
            params: ID,
            body: None,
            success: Success::NoContent,
            success_headers: &[],
            errors: &[401, 403, 404, 412, 422, 429],
            route: axum::routing::delete(delete),
        },
    ]
}

/// The organization the caller acts for and the actor to record, once it holds `scope`.
fn authorize(state: &AppState, input: &Input, scope: &str) -> Result<(i64, Actor), Refusal> {
    let caller = input.authorized(state, scope)?;
    let organization = caller.organization()?;
    let actor = Actor {
        user_id: caller.principal.user_id,
        client_id: caller.principal.client_id.clone(),
        request_id: input.request_id().map(str::to_owned),
    };
    Ok((organization, actor))
}

/// The response for a failed rule change: a 412 problem (error code `conflict`) for a stale
/// `If-Match`, else the error's own.
fn failed(state: &AppState, e: RuleAdminError) -> Response {
    match e {
        RuleAdminError::Service(e) => fail(state, e),
        RuleAdminError::PreconditionFailed(detail) => precondition_failed(state, &detail),
    }
}

/// A rule as JSON with its `ETag`, with `status`.
fn rule_response(rule: &ManagedRule, status: StatusCode) -> Result<Response, ServiceError> {
    let mut r = json(rule)?;
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&rule.etag()) {
        r.headers_mut().insert(header::ETAG, v);
    }
    Ok(r)
}

fn rule_id(input: &Input) -> Result<i64, ServiceError> {
    Ok(input.check(ID)?.integer("id").unwrap_or_default())
}

async fn list(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let (organization, _) = authorize(&state, &input, READ_SCOPE)?;
        let (page, size) = super::pagination::page(&input.check(LIST)?);
        Ok::<_, Refusal>(json(&state.catalog().list_rules(organization, page, size).await?)?)
    };
    r.await.unwrap_or_else(|e| fail(&state, e))
}

async fn read_one(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let (organization, _) = authorize(&state, &input, READ_SCOPE)?;
        let id = rule_id(&input)?;
        let rule = state.catalog().managed_rule(organization, id).await?;
        Ok::<_, Refusal>(json_tagged(&rule, &input.headers)?)
    };
    r.await.unwrap_or_else(|e| fail(&state, e))
}

async fn create(State(state): State<AppState>, input: Input, body: Bytes) -> Response {
    let (organization, actor) = match authorize(&state, &input, WRITE_SCOPE) {
        Ok(a) => a,
        Err(e) => return fail(&state, e),
    };
    let r = async {
        input.check(&[])?;
        let body = admin::parse_body(&body)?;
        let rule = state.catalog().create_rule(organization, &body, &actor).await?;
        let mut r = rule_response(&rule, StatusCode::CREATED)?;
        let location = format!(
            "{}/api/v1/rules/{}",
            state.catalog().site_url().trim_end_matches('/'),
            rule.id
        );
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        Ok::<_, RuleAdminError>(r)
    };
    r.await.unwrap_or_else(|e| failed(&state, e))
}

async fn update(State(state): State<AppState>, input: Input, body: Bytes) -> Response {
    let (organization, actor) = match authorize(&state, &input, WRITE_SCOPE) {
        Ok(a) => a,
        Err(e) => return fail(&state, e),
    };
    let r = async {
        let id = rule_id(&input)?;
        let patch = admin::parse_body(&body)?;
        let rule =
            state.catalog().update_rule(organization, id, input.if_match(), &patch, &actor).await?;
        Ok::<_, RuleAdminError>(rule_response(&rule, StatusCode::OK)?)
    };
    r.await.unwrap_or_else(|e| failed(&state, e))
}

async fn delete(State(state): State<AppState>, input: Input) -> Response {
    let (organization, actor) = match authorize(&state, &input, WRITE_SCOPE) {
        Ok(a) => a,
        Err(e) => return fail(&state, e),
    };
    let r = async {
        let id = rule_id(&input)?;
        state.catalog().delete_rule(organization, id, input.if_match(), &actor).await?;
        Ok::<_, RuleAdminError>(StatusCode::NO_CONTENT.into_response())
    };
    r.await.unwrap_or_else(|e| failed(&state, e))
}

async fn reorder(State(state): State<AppState>, input: Input, body: Bytes) -> Response {
    let (organization, actor) = match authorize(&state, &input, WRITE_SCOPE) {
        Ok(a) => a,
        Err(e) => return fail(&state, e),
    };
    let r = async {
        input.check(&[])?;
        let body = admin::parse_body(&body)?;
        let out = state.catalog().reorder_rules(organization, &body, &actor).await?;
        Ok::<_, RuleAdminError>(json(&out)?)
    };
    r.await.unwrap_or_else(|e| failed(&state, e))
}

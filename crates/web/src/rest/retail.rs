//! Store and offer management over REST (docs/spec.md §7, issue 8): retailer feeds as bulk upserts
//! (`POST /api/v1/stores/batch`, `POST /api/v1/offers/batch`: 1 to 1000 rows, one result per
//! row, good rows written even when others are rejected), the organization's stores
//! (`GET /api/v1/stores`, paginated; `GET` and `DELETE /api/v1/stores/{retailer}/{store_ref}`)
//! and deleting one offer (`DELETE /api/v1/stores/{retailer}/{store_ref}/offers/{gtin}`).
//! Reads need `products:read`, changes `products:write`; callers act for their credential's
//! organization, on the retailers it owns. Parsing, ownership and per-row outcomes live in
//! `catalog::retail`; this module is HTTP only.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use catalog::retail::{self, BatchReport, ManagedStore, OfferBatch, StoreBatch, StorePage};

use super::caller::Refusal;
use super::input::Input;
use super::params::{Kind, ParamSpec};
use super::response::{json, json_tagged};
use super::{Endpoint, Success, fail, schema};
use crate::AppState;

/// The scope of store reads.
pub const READ_SCOPE: &str = "products:read";
/// The scope of store and offer changes.
pub const WRITE_SCOPE: &str = "products:write";

const TAG: &str = "Stores and offers";

const LIST: &[ParamSpec] = &super::pagination::params("Stores per page (1-100).");
const RETAILER: ParamSpec = ParamSpec::path(
    "retailer",
    Kind::Text { max: 200 },
    "The retailer's exact name (URL-encoded: a space is %20, a slash %2F).",
);
const STORE_REF: ParamSpec =
    ParamSpec::path("store_ref", Kind::Text { max: 200 }, "The retailer's key for the store.");
const STORE: &[ParamSpec] = &[RETAILER, STORE_REF];
const OFFER: &[ParamSpec] = &[
    RETAILER,
    STORE_REF,
    ParamSpec::path("gtin", Kind::Text { max: 64 }, "The product's GTIN-8, -12, -13 or -14."),
];

/// The store and offer endpoints.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::POST,
            path: "/api/v1/stores/batch",
            operation_id: "upsertStores",
            tag: TAG,
            summary: "Create or update stores in bulk (a retailer feed)",
            description: "Creates or updates 1 to 1000 stores, keyed by retailer and store_ref, and answers 200 with a summary (inserted, updated, unchanged, rejected) and one result per row in request order. A request that does not match the documented shape (types, required or unknown fields, row count) is refused as a whole (422, every wrong field listed as stores[i].field) and nothing is written. Otherwise rows are judged one by one: a row with a bad value (unknown country, latitude out of range, …) or for a retailer of another organization or of none (403-style, error_code forbidden) is rejected with its reason, and the other rows are written. Fields left out keep their stored values, null clears them, metadata keys merge (an empty string deletes a key). A retailer name nobody has yet becomes your organization's. Sending the same feed again reports every row unchanged. Needs products:write.",
            scope: Some(WRITE_SCOPE),
            params: &[],
            body: Some(schema::<StoreBatch>),
            success: Success::Json(schema::<BatchReport>),
            success_headers: &[],
            errors: &[400, 401, 403, 422, 429],
            route: post(upsert_stores),
        },
        Endpoint {
            method: Method::POST,
            path: "/api/v1/offers/batch",
            operation_id: "upsertOffers",
            tag: TAG,
            summary: "Create or update offers in bulk (a price and stock feed)",
            description: "Creates or updates 1 to 1000 offers, keyed by product (gtin) and store (retailer, store_ref), with the same answer as POST /api/v1/stores/batch: a summary and one result per row. Prices are decimal strings (\"3.49\") in the currency's units, stored exactly. A request that does not match the documented shape is refused as a whole (422); otherwise each row is judged alone: a bad value (price, currency, GTIN) is rejected with error_code validation_error, another organization's retailer with forbidden, an unknown product, retailer or store with not_found; the other rows are written and show in GET /api/v1/products/{gtin}/availability at once. inventory_status, active and metadata left out keep their stored values. Needs products:write.",
            scope: Some(WRITE_SCOPE),
            params: &[],
            body: Some(schema::<OfferBatch>),
            success: Success::Json(schema::<BatchReport>),
            success_headers: &[],
            errors: &[400, 401, 403, 422, 429],
            route: post(upsert_offers),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/stores",
            operation_id: "listStores",
            tag: TAG,
            summary: "List your organization's stores",
            description: "The stores of your organization's retailers, oldest first, one page at a time with a pagination envelope, each with its number of offers. Needs products:read.",
            scope: Some(READ_SCOPE),
            params: LIST,
            body: None,
            success: Success::Json(schema::<StorePage>),
            success_headers: &[],
            errors: &[401, 403, 422, 429],
            route: get(list),
        },
        Endpoint {
            method: Method::GET,
            path: "/api/v1/stores/{retailer}/{store_ref}",
            operation_id: "getStore",
            tag: TAG,
            summary: "Get one of your stores",
            description: "One store of one of your organization's retailers, with an ETag (send it in If-None-Match for a 304). A retailer of another organization (or of none) is 403; an unknown retailer or store 404. Needs products:read.",
            scope: Some(READ_SCOPE),
            params: STORE,
            body: None,
            success: Success::Json(schema::<ManagedStore>),
            success_headers: &["ETag"],
            errors: &[401, 403, 404, 422, 429],
            route: get(read_one),
        },
        Endpoint {
            method: Method::DELETE,
            path: "/api/v1/stores/{retailer}/{store_ref}",
            operation_id: "deleteStore",
            tag: TAG,
            summary: "Delete a store and its offers",
            description: "Deletes one store of one of your organization's retailers together with all its offers (204). A retailer of another organization (or of none) is 403; an unknown retailer or store 404. Needs products:write.",
            scope: Some(WRITE_SCOPE),
            params: STORE,
            body: None,
            success: Success::NoContent,
            success_headers: &[],
            errors: &[401, 403, 404, 422, 429],
            route: delete(remove_store),
        },
        Endpoint {
            method: Method::DELETE,
            path: "/api/v1/stores/{retailer}/{store_ref}/offers/{gtin}",
            operation_id: "deleteOffer",
            tag: TAG,
            summary: "Delete one offer",
            description: "Deletes the offer of a product at one of your stores (204); it no longer shows in availability. A retailer of another organization (or of none) is 403; an unknown retailer, store or offer 404. Needs products:write.",
            scope: Some(WRITE_SCOPE),
            params: OFFER,
            body: None,
            success: Success::NoContent,
            success_headers: &[],
            errors: &[401, 403, 404, 422, 429],
            route: delete(remove_offer),
        },
    ]
}

async fn upsert_stores(State(state): State<AppState>, input: Input, body: Bytes) -> Response {
    let r = async {
        let organization = input.organization(&state, WRITE_SCOPE)?;
        input.check(&[])?;
        let rows = retail::parse_store_batch(&body)?;
        let report = state.catalog().upsert_store_feed(organization, rows).await?;
        Ok::<_, Refusal>(json(&report)?)
    };
    r.await.unwrap_or_else(|e| fail(&state, e))
}

async fn upsert_offers(State(state): State<AppState>, input: Input, body: Bytes) -> Response {
    let r = async {
        let organization = input.organization(&state, WRITE_SCOPE)?;
        input.check(&[])?;
        let rows = retail::parse_offer_batch(&body)?;
        let report = state.catalog().upsert_offer_feed(organization, rows).await?;
        Ok::<_, Refusal>(json(&report)?)
    };
    r.await.unwrap_or_else(|e| fail(&state, e))
}

async fn list(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let organization = input.organization(&state, READ_SCOPE)?;
        let (page, size) = super::pagination::page(&input.check(LIST)?);
        Ok::<_, Refusal>(json(&state.catalog().list_stores(organization, page, size).await?)?)
    };
    r.await.unwrap_or_else(|e| fail(&state, e))
}

async fn read_one(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let organization = input.organization(&state, READ_SCOPE)?;
        let p = input.check(STORE)?;
        let (retailer, store_ref) =
            (p.text("retailer").unwrap_or_default(), p.text("store_ref").unwrap_or_default());
        let store = state.catalog().managed_store(organization, retailer, store_ref).await?;
        Ok::<_, Refusal>(json_tagged(&store, &input.headers)?)
    };
    r.await.unwrap_or_else(|e| fail(&state, e))
}

async fn remove_store(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let organization = input.organization(&state, WRITE_SCOPE)?;
        let p = input.check(STORE)?;
        let (retailer, store_ref) =
            (p.text("retailer").unwrap_or_default(), p.text("store_ref").unwrap_or_default());
        state.catalog().delete_store(organization, retailer, store_ref).await?;
        Ok::<_, Refusal>(StatusCode::NO_CONTENT.into_response())
    };
    r.await.unwrap_or_else(|e| fail(&state, e))
}

async fn remove_offer(State(state): State<AppState>, input: Input) -> Response {
    let r = async {
        let organization = input.organization(&state, WRITE_SCOPE)?;
        let p = input.check(OFFER)?;
        let (retailer, store_ref, gtin) = (
            p.text("retailer").unwrap_or_default(),
            p.text("store_ref").unwrap_or_default(),
            p.text("gtin").unwrap_or_default(),
        );
        state.catalog().delete_offer(organization, retailer, store_ref, gtin).await?;
        Ok::<_, Refusal>(StatusCode::NO_CONTENT.into_response())
    };
    r.await.unwrap_or_else(|e| fail(&state, e))
}

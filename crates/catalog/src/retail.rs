//! Store and offer management for an organization (the REST API, docs/spec.md §7, issue 8): bulk
//! upserts of retailer feeds (stores, offers) with one outcome per row, and listing, reading
//! and deleting the organization's stores and deleting one offer.
//!
//! An organization acts only on the retailers it owns. A retailer name nobody has yet is
//! created for the organization that first sends a store of it (as brands are in
//! [`crate::manage`]); a retailer of another organization, or of none (retailers made by
//! imports), is refused (`forbidden`) for that row. Retailer names match exactly after
//! trimming, as the store upsert matches them.
//!
//! A batch is checked as a whole against its documented shape first (JSON types, required and
//! unknown fields, 1 to [`MAX_ROWS`] rows): any mismatch fails the request with every wrong
//! field listed (`stores[3].lat`) and nothing is written. Rows of the right shape are then
//! judged one by one — a value out of range, an unknown country, currency, product or store,
//! another organization's retailer — and reported with the reason, while the other rows are
//! written through the same store path as imports (merge, unchanged detection), so sending
//! the same feed again reports every row `unchanged`. Checking a feed's shape and turning its
//! rows into writes is `retail/feed.rs`; the statements are in `sql/retail.rs`.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{FieldError, ServiceError};
use crate::model::{InventoryStatus, Metadata, OfferWrite, StoreWrite};
use crate::rules_admin::Pagination;
use crate::service::{Catalog, parse_gtin_field};

/// Most rows one batch request may carry.
pub const MAX_ROWS: usize = 1000;

mod feed;
use feed::{offer_refusal, offer_write, outcome, store_refusal, store_write};
pub use feed::{parse_offer_batch, parse_store_batch};

/// Most shape errors one failed batch lists (the rest are counted).
const MAX_LISTED_ERRORS: usize = 100;

/// `Some(value)` for a field that is present (`Some(None)` for `null`), `None` when absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// One store of a feed. Fields left out keep their stored values (nothing for a new store),
/// `null` clears them.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreInput {
    /// Retailer name, matched exactly (after trimming). A name nobody has yet becomes your
    /// organization's retailer; another organization's retailer, or an imported one, is
    /// refused for this row.
    pub retailer: String,
    /// The retailer's own key for the store (store number); with `retailer` it identifies the
    /// store. 1-200 characters.
    pub store_ref: String,
    /// Display name, 1-200 characters.
    pub name: String,
    /// Street address (at most 500 characters); `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    pub address: Option<Option<String>>,
    /// City (at most 200 characters); `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    pub city: Option<Option<String>>,
    /// State or region (at most 200 characters); `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    pub region: Option<Option<String>>,
    /// Postal code (at most 20 characters); `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    pub postal_code: Option<Option<String>>,
    /// Country, ISO 3166-1 alpha-2 (`US`).
    pub country: String,
    /// Latitude, -90 to 90 (WGS 84).
    pub lat: f64,
    /// Longitude, -180 to 180 (WGS 84).
    pub lng: f64,
    /// Flat string map merged into the stored one: an empty string deletes a key (at most 50
    /// keys of up to 40 characters, values up to 500).
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// One offer of a feed: a product's price and stock at a store. Fields left out keep their
/// stored values (a new offer: `unknown` stock, active).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferInput {
    /// The product's GTIN-8, -12, -13 or -14; the product must be in the catalog.
    pub gtin: String,
    /// Retailer name, matched exactly (after trimming); your organization must own it.
    pub retailer: String,
    /// The store's ref within the retailer; the store must exist.
    pub store_ref: String,
    /// Price as a decimal string in the currency's units (`"3.49"`), with at most as many
    /// decimals as the currency has (2 for USD, 0 for JPY). Stored exactly, in minor units.
    pub price: String,
    /// Currency, ISO 4217 (`USD`).
    pub currency: String,
    /// Stock state; left out or `null` keeps the stored one.
    #[serde(default)]
    pub inventory_status: Option<InventoryStatus>,
    /// Whether the offer is shown; left out or `null` keeps the stored value.
    #[serde(default)]
    pub active: Option<bool>,
    /// Flat string map merged into the stored one: an empty string deletes a key.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// A store feed: `POST /api/v1/stores/batch`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreBatch {
    /// 1 to 1000 stores.
    #[schemars(length(min = 1, max = 1000))]
    pub stores: Vec<StoreInput>,
}

/// An offer feed: `POST /api/v1/offers/batch`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferBatch {
    /// 1 to 1000 offers.
    #[schemars(length(min = 1, max = 1000))]
    pub offers: Vec<OfferInput>,
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    /// Created.
    Inserted,
    /// An existing record changed.
    Updated,
    /// Identical to what is stored; nothing changed.
    Unchanged,
    /// Refused; `error` says why. Nothing of the row was written.
    Rejected,
}

/// Why a row was refused, with the MCP error code and HTTP status the same error would have
/// as a request of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowErrorCode {
    /// A value is wrong (422).
    ValidationError,
    /// The retailer is another organization's, or nobody's (403).
    Forbidden,
    /// The product, retailer or store does not exist (404).
    NotFound,
    /// The database refused the row (422).
    UnprocessableEntity,
}

impl RowErrorCode {
    fn status(self) -> u16 {
        match self {
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::ValidationError | Self::UnprocessableEntity => 422,
        }
    }
}

/// A rejected row's reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RowError {
    /// The row's field at fault (`lat`, `retailer`, `gtin`, …), or `row`.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
    /// The error code, as in problem documents.
    pub error_code: RowErrorCode,
    /// The HTTP status the same error has on its own (403, 404 or 422).
    pub status: u16,
}

impl RowError {
    fn new(code: RowErrorCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            error_code: code,
            status: code.status(),
        }
    }

    fn invalid(e: FieldError) -> Self {
        Self::new(RowErrorCode::ValidationError, e.field, e.message)
    }
}

/// One row's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RowResult {
    /// The row's position in the request, from 0.
    pub index: usize,
    /// What happened to it.
    pub outcome: RowOutcome,
    /// Why it was rejected (only for `rejected` rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RowError>,
}

/// Row counts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct BatchSummary {
    /// Rows created.
    pub inserted: u64,
    /// Rows that changed an existing record.
    pub updated: u64,
    /// Rows identical to what is stored.
    pub unchanged: u64,
    /// Rows refused.
    pub rejected: u64,
}

/// The result of a batch: counts, then one result per row in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct BatchReport {
    /// Rows by outcome.
    pub summary: BatchSummary,
    /// Every row, in request order.
    pub results: Vec<RowResult>,
}

impl BatchReport {
    fn new(rows: Vec<Result<RowOutcome, RowError>>) -> Self {
        let mut summary = BatchSummary::default();
        let results = rows
            .into_iter()
            .enumerate()
            .map(|(index, r)| {
                let (outcome, error) = match r {
                    Ok(o) => (o, None),
                    Err(e) => (RowOutcome::Rejected, Some(e)),
                };
                match outcome {
                    RowOutcome::Inserted => summary.inserted += 1,
                    RowOutcome::Updated => summary.updated += 1,
                    RowOutcome::Unchanged => summary.unchanged += 1,
                    RowOutcome::Rejected => summary.rejected += 1,
                }
                RowResult { index, outcome, error }
            })
            .collect();
        Self { summary, results }
    }
}

/// A store of the organization, as `GET /api/v1/stores` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ManagedStore {
    /// Retailer name.
    pub retailer: String,
    /// The retailer's key for the store.
    pub store_ref: String,
    /// Display name.
    pub name: String,
    /// Street address.
    pub address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// Metadata.
    pub metadata: Metadata,
    /// How many offers the store has (active or not).
    pub offers: u64,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
}

/// A page of the organization's stores.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct StorePage {
    /// The stores of this page, oldest first.
    pub items: Vec<ManagedStore>,
    /// Where this page is.
    pub pagination: Pagination,
}

fn not_yours(name: &str) -> RowError {
    RowError::new(
        RowErrorCode::Forbidden,
        "retailer",
        format!(
            "the retailer {name:?} belongs to another organization (or to none, as imported retailers do): you can write stores and offers only for your organization's retailers"
        ),
    )
}

/// Who owns a retailer, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// The caller's organization.
    Caller,
    /// Another organization, or none.
    Other,
    /// No retailer of that name.
    Nobody,
}

impl Catalog {
    /// The owners of the retailers named (trimmed, exact names); with `create`, the names
    /// nobody has yet are created for `organization` first.
    async fn retailer_owners(
        &self,
        organization: i64,
        names: Vec<String>,
        create: bool,
    ) -> Result<HashMap<String, Owner>, ServiceError> {
        let mut names = names;
        names.sort_unstable();
        names.dedup();
        let mut found = self.store().retailer_organizations(&names).await?;
        if create {
            let missing: Vec<String> =
                names.iter().filter(|n| !found.contains_key(*n)).cloned().collect();
            for name in &missing {
                self.store().create_retailer(name, organization).await?;
            }
            if !missing.is_empty() {
                // Read back: another organization may have taken a name at the same time.
                found.extend(self.store().retailer_organizations(&missing).await?);
            }
        }
        Ok(names
            .into_iter()
            .map(|n| {
                let owner = match found.get(&n) {
                    None => Owner::Nobody,
                    Some(Some(o)) if *o == organization => Owner::Caller,
                    Some(_) => Owner::Other,
                };
                (n, owner)
            })
            .collect())
    }

    /// The owner of one retailer: `Ok` when it is `organization`'s; else 404 (no such
    /// retailer) or 403.
    async fn own_retailer(&self, organization: i64, name: &str) -> Result<(), ServiceError> {
        let owners = self.retailer_owners(organization, vec![name.to_owned()], false).await?;
        match owners.get(name).copied().unwrap_or(Owner::Nobody) {
            Owner::Caller => Ok(()),
            Owner::Nobody => Err(ServiceError::NotFound(format!("no retailer is named {name:?}"))),
            Owner::Other => Err(ServiceError::Forbidden(not_yours(name).message)),
        }
    }

    /// Creates or updates stores for `organization`, one result per row: rows of retailers
    /// it does not own are rejected (`forbidden`), as are rows with a bad value; the others
    /// are written (a new retailer name becomes the organization's).
    pub async fn upsert_store_feed(
        &self,
        organization: i64,
        rows: Vec<StoreInput>,
    ) -> Result<BatchReport, ServiceError> {
        let mut results: Vec<Result<RowOutcome, RowError>> = Vec::with_capacity(rows.len());
        let writes: Vec<Result<StoreWrite, RowError>> = rows.into_iter().map(store_write).collect();
        let names = writes.iter().flatten().map(|w| w.retailer.clone()).collect();
        let owners = self.retailer_owners(organization, names, true).await?;
        let mut batch = Vec::new();
        let mut slots = Vec::new();
        for w in writes {
            match w {
                Ok(w) if owners.get(&w.retailer) == Some(&Owner::Caller) => {
                    slots.push(results.len());
                    results.push(Ok(RowOutcome::Unchanged));
                    batch.push(w);
                }
                Ok(w) => results.push(Err(not_yours(&w.retailer))),
                Err(e) => results.push(Err(e)),
            }
        }
        if !batch.is_empty() {
            let outcomes = self.store().upsert_stores(&batch).await?;
            if outcomes.len() != batch.len() {
                return Err(ServiceError::Internal("the store returned too few outcomes".into()));
            }
            for (slot, o) in slots.into_iter().zip(outcomes) {
                results[slot] = outcome(o, store_refusal);
            }
        }
        Ok(BatchReport::new(results))
    }

    /// Creates or updates offers for `organization`, one result per row: the retailer must be
    /// the organization's (else `forbidden`), the store and the product must exist (else
    /// `not_found`).
    pub async fn upsert_offer_feed(
        &self,
        organization: i64,
        rows: Vec<OfferInput>,
    ) -> Result<BatchReport, ServiceError> {
        let mut results: Vec<Result<RowOutcome, RowError>> = Vec::with_capacity(rows.len());
        let writes: Vec<Result<OfferWrite, RowError>> = rows.into_iter().map(offer_write).collect();
        let names = writes.iter().flatten().map(|w| w.retailer.clone()).collect();
        let owners = self.retailer_owners(organization, names, false).await?;
        let mut batch = Vec::new();
        let mut slots = Vec::new();
        for w in writes {
            let w = match w {
                Ok(w) => w,
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
            };
            match owners.get(&w.retailer).copied().unwrap_or(Owner::Nobody) {
                Owner::Caller => {
                    slots.push(results.len());
                    results.push(Ok(RowOutcome::Unchanged));
                    batch.push(w);
                }
                Owner::Other => results.push(Err(not_yours(&w.retailer))),
                Owner::Nobody => results.push(Err(RowError::new(
                    RowErrorCode::NotFound,
                    "retailer",
                    format!(
                        "no retailer is named {:?}: send its stores to POST /api/v1/stores/batch first",
                        w.retailer
                    ),
                ))),
            }
        }
        if !batch.is_empty() {
            let outcomes = self.store().upsert_offers(&batch).await?;
            if outcomes.len() != batch.len() {
                return Err(ServiceError::Internal("the store returned too few outcomes".into()));
            }
            for ((slot, o), w) in slots.into_iter().zip(outcomes).zip(&batch) {
                results[slot] = outcome(o, |reason| offer_refusal(w, reason));
            }
        }
        Ok(BatchReport::new(results))
    }

    /// A page (`page` from 1, `page_size` 1-100) of the stores of `organization`'s
    /// retailers, oldest first.
    pub async fn list_stores(
        &self,
        organization: i64,
        page: u64,
        page_size: u64,
    ) -> Result<StorePage, ServiceError> {
        let offset = Pagination::offset(page, page_size)?;
        let (items, total) =
            self.store().organization_stores(organization, offset, page_size).await?;
        Ok(StorePage { items, pagination: Pagination::new(page, page_size, total) })
    }

    /// One store of one of `organization`'s retailers.
    pub async fn managed_store(
        &self,
        organization: i64,
        retailer: &str,
        store_ref: &str,
    ) -> Result<ManagedStore, ServiceError> {
        let retailer = retailer.trim();
        self.own_retailer(organization, retailer).await?;
        self.store()
            .managed_store(retailer, store_ref)
            .await?
            .ok_or_else(|| no_store(retailer, store_ref))
    }

    /// Deletes one store of one of `organization`'s retailers, with its offers.
    pub async fn delete_store(
        &self,
        organization: i64,
        retailer: &str,
        store_ref: &str,
    ) -> Result<(), ServiceError> {
        let retailer = retailer.trim();
        self.own_retailer(organization, retailer).await?;
        if self.store().delete_store(retailer, store_ref).await? {
            Ok(())
        } else {
            Err(no_store(retailer, store_ref))
        }
    }

    /// Deletes the offer of product `gtin` at a store of one of `organization`'s retailers.
    pub async fn delete_offer(
        &self,
        organization: i64,
        retailer: &str,
        store_ref: &str,
        gtin: &str,
    ) -> Result<(), ServiceError> {
        let gtin = parse_gtin_field("gtin", gtin)?;
        let retailer = retailer.trim();
        self.own_retailer(organization, retailer).await?;
        if self.store().delete_offer(gtin, retailer, store_ref).await? {
            return Ok(());
        }
        if self.store().managed_store(retailer, store_ref).await?.is_none() {
            return Err(no_store(retailer, store_ref));
        }
        Err(ServiceError::NotFound(format!(
            "the store {store_ref:?} of {retailer:?} has no offer of the product {gtin}"
        )))
    }
}

fn no_store(retailer: &str, store_ref: &str) -> ServiceError {
    ServiceError::NotFound(format!("the retailer {retailer:?} has no store {store_ref:?}"))
}

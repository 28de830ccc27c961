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
//! the same feed again reports every row `unchanged`.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::{FieldError, ServiceError};
use crate::iso::{CountryCode, CurrencyCode};
use crate::model::{
    InventoryStatus, Metadata, MetadataPatch, OfferWrite, Patch, StoreWrite, WriteOutcome,
};
use crate::rules_admin::Pagination;
use crate::service::{Catalog, parse_gtin_field};
use crate::store::StoreError;
use crate::write_plan::StoredRow;

/// Most rows one batch request may carry.
pub const MAX_ROWS: usize = 1000;

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

/// A [`ManagedStore`] from a row of [`sql::PAGE`] or [`sql::ONE`], on either backend.
pub(crate) fn decode_store(r: &impl StoredRow) -> Result<ManagedStore, StoreError> {
    let metadata_text = r.text("metadata")?;
    let metadata = Metadata::from_json(&metadata_text)
        .map_err(|e| StoreError::Corrupt(format!("store metadata {metadata_text:?}: {e}")))?;
    Ok(ManagedStore {
        retailer: r.text("retailer")?,
        store_ref: r.text("ref")?,
        name: r.text("name")?,
        address: r.opt_text("address")?,
        city: r.opt_text("city")?,
        region: r.opt_text("region")?,
        postal_code: r.opt_text("postal_code")?,
        country: r.text("country")?,
        lat: r.float("lat")?,
        lng: r.float("lng")?,
        metadata,
        offers: u64::try_from(r.int("offers")?).unwrap_or(0),
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    })
}

/// The statements both backends run as they are (`$N` parameters).
pub(crate) mod sql {
    macro_rules! store_select {
        () => {
            "SELECT s.ref, r.name AS retailer, s.name, s.address, s.city, s.region, \
             s.postal_code, s.country, s.lat, s.lng, s.metadata, s.created_at, s.updated_at, \
             (SELECT count(*) FROM offers o WHERE o.store_id = s.id) AS offers \
             FROM stores s JOIN retailers r ON r.id = s.retailer_id "
        };
    }
    /// A page of an organization's stores (`$1` organization, `$2` limit, `$3` offset).
    pub(crate) const PAGE: &str =
        concat!(store_select!(), "WHERE r.organization_id = $1 ORDER BY s.id LIMIT $2 OFFSET $3");
    /// How many stores an organization has (`$1`).
    pub(crate) const COUNT: &str = "SELECT count(*) FROM stores s \
         JOIN retailers r ON r.id = s.retailer_id WHERE r.organization_id = $1";
    /// One store (`$1` retailer name, `$2` ref).
    pub(crate) const ONE: &str = concat!(store_select!(), "WHERE r.name = $1 AND s.ref = $2");
    /// A retailer owned by an organization (`$1` name, `$2` organization, `$3` now); nothing
    /// when the name is taken.
    pub(crate) const CREATE_RETAILER: &str = "INSERT INTO retailers (name, organization_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO NOTHING";
    /// Deletes a store (`$1` retailer name, `$2` ref); its offers go by ON DELETE CASCADE.
    pub(crate) const DELETE_STORE: &str = "DELETE FROM stores WHERE ref = $2 AND retailer_id = (SELECT id FROM retailers WHERE name = $1)";
    /// Deletes an offer (`$1` GTIN-14, `$2` retailer name, `$3` store ref).
    pub(crate) const DELETE_OFFER: &str = "DELETE FROM offers \
         WHERE product_id = (SELECT id FROM products WHERE gtin = $1) \
           AND store_id = (SELECT s.id FROM stores s JOIN retailers r ON r.id = s.retailer_id \
                           WHERE r.name = $2 AND s.ref = $3)";
}

// ---------------------------------------------------------------------------------------------
// Parsing a batch.

/// serde's message without its position (`… at line 1 column 9`).
fn serde_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// Whether a JSON value has type `T`.
fn is<T: DeserializeOwned>(v: &Value) -> Result<(), String> {
    T::deserialize(v).map(|_| ()).map_err(|e| serde_message(&e))
}

type Check = fn(&Value) -> Result<(), String>;

/// A row field: its name, whether it is required, and its type check.
type FieldSpec = (&'static str, bool, Check);

const STORE_FIELDS: &[FieldSpec] = &[
    ("retailer", true, is::<String>),
    ("store_ref", true, is::<String>),
    ("name", true, is::<String>),
    ("address", false, is::<Option<String>>),
    ("city", false, is::<Option<String>>),
    ("region", false, is::<Option<String>>),
    ("postal_code", false, is::<Option<String>>),
    ("country", true, is::<String>),
    ("lat", true, is::<f64>),
    ("lng", true, is::<f64>),
    ("metadata", false, is::<Option<BTreeMap<String, String>>>),
];

const OFFER_FIELDS: &[FieldSpec] = &[
    ("gtin", true, is::<String>),
    ("retailer", true, is::<String>),
    ("store_ref", true, is::<String>),
    ("price", true, is::<String>),
    ("currency", true, is::<String>),
    ("inventory_status", false, is::<Option<InventoryStatus>>),
    ("active", false, is::<Option<bool>>),
    ("metadata", false, is::<Option<BTreeMap<String, String>>>),
];

/// Parses a batch body `{"<key>": [rows]}`: a malformed body is a 400; a wrong shape (any
/// field of any row) a 422 listing every wrong field.
fn parse_batch<T: DeserializeOwned>(
    body: &[u8],
    key: &'static str,
    fields: &[FieldSpec],
) -> Result<Vec<T>, ServiceError> {
    if body.is_empty() {
        return Err(ServiceError::BadRequest(format!(
            "send a JSON object with the {key} to write: {{\"{key}\": [...]}}"
        )));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ServiceError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(top) = value else {
        return Err(ServiceError::BadRequest("the body must be a JSON object".into()));
    };
    let mut errors = Vec::new();
    for k in top.keys().filter(|k| *k != key) {
        errors.push(FieldError::new(k.clone(), format!("is not a field here; allowed: {key}")));
    }
    let rows = match top.get(key) {
        None => {
            errors.push(FieldError::new(key, "is required"));
            return Err(ServiceError::invalid_fields(errors));
        }
        Some(Value::Array(rows)) => rows,
        Some(_) => {
            errors.push(FieldError::new(key, "must be a JSON array of rows"));
            return Err(ServiceError::invalid_fields(errors));
        }
    };
    if rows.is_empty() {
        errors.push(FieldError::new(key, format!("is empty: send 1 to {MAX_ROWS} rows")));
    }
    if rows.len() > MAX_ROWS {
        errors.push(FieldError::new(
            key,
            format!(
                "has {} rows; at most {MAX_ROWS} are allowed per request: split the feed into several requests",
                rows.len()
            ),
        ));
        return Err(ServiceError::invalid_fields(errors));
    }
    let mut out = Vec::with_capacity(rows.len());
    let mut more = 0usize;
    for (i, row) in rows.iter().enumerate() {
        let before = errors.len();
        let mut push = |e: FieldError| {
            if errors.len() < MAX_LISTED_ERRORS {
                errors.push(e);
            } else {
                more += 1;
            }
        };
        let Some(obj) = row.as_object() else {
            push(FieldError::new(format!("{key}[{i}]"), "must be a JSON object"));
            continue;
        };
        check_row(obj, fields, &format!("{key}[{i}]"), &mut push);
        if errors.len() == before && more == 0 {
            match T::deserialize(row) {
                Ok(t) => out.push(t),
                Err(e) => errors.push(FieldError::new(format!("{key}[{i}]"), serde_message(&e))),
            }
        }
    }
    if more > 0 {
        errors.push(FieldError::new(key, format!("and {more} more wrong fields not listed")));
    }
    if errors.is_empty() { Ok(out) } else { Err(ServiceError::invalid_fields(errors)) }
}

/// Checks one row's fields against their specs.
fn check_row(
    obj: &Map<String, Value>,
    fields: &[FieldSpec],
    at: &str,
    push: &mut impl FnMut(FieldError),
) {
    for (k, v) in obj {
        match fields.iter().find(|(name, _, _)| name == k) {
            None => {
                let names: Vec<&str> = fields.iter().map(|(n, _, _)| *n).collect();
                push(FieldError::new(
                    format!("{at}.{k}"),
                    format!("is not a field here; allowed: {}", names.join(", ")),
                ));
            }
            Some((_, _, check)) => {
                if let Err(m) = check(v) {
                    push(FieldError::new(format!("{at}.{k}"), m));
                }
            }
        }
    }
    for (name, required, _) in fields {
        if *required && !obj.contains_key(*name) {
            push(FieldError::new(format!("{at}.{name}"), "is required"));
        }
    }
}

/// Parses the body of `POST /api/v1/stores/batch`.
pub fn parse_store_batch(body: &[u8]) -> Result<Vec<StoreInput>, ServiceError> {
    parse_batch(body, "stores", STORE_FIELDS)
}

/// Parses the body of `POST /api/v1/offers/batch`.
pub fn parse_offer_batch(body: &[u8]) -> Result<Vec<OfferInput>, ServiceError> {
    parse_batch(body, "offers", OFFER_FIELDS)
}

// ---------------------------------------------------------------------------------------------
// Rows to writes.

fn patch(field: Option<Option<String>>) -> Patch<String> {
    match field {
        None => Patch::Keep,
        Some(None) => Patch::Clear,
        Some(Some(v)) => Patch::Set(v),
    }
}

fn metadata(map: Option<BTreeMap<String, String>>) -> Result<MetadataPatch, RowError> {
    MetadataPatch::new(map.unwrap_or_default())
        .map_err(|e| RowError::new(RowErrorCode::ValidationError, "metadata", e.0))
}

fn store_write(s: StoreInput) -> Result<StoreWrite, RowError> {
    let country = CountryCode::parse(&s.country)
        .map_err(|e| RowError::new(RowErrorCode::ValidationError, "country", e))?;
    let w = StoreWrite {
        retailer: s.retailer.trim().to_owned(),
        store_ref: s.store_ref.trim().to_owned(),
        name: s.name,
        address: patch(s.address),
        city: patch(s.city),
        region: patch(s.region),
        postal_code: patch(s.postal_code),
        country,
        lat: s.lat,
        lng: s.lng,
        metadata: metadata(s.metadata)?,
    };
    w.validate().map_err(RowError::invalid)?;
    Ok(w)
}

fn required_text(field: &str, value: &str) -> Result<String, RowError> {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 {
        return Err(RowError::new(RowErrorCode::ValidationError, field, "must not be empty"));
    }
    if n > 200 {
        return Err(RowError::new(
            RowErrorCode::ValidationError,
            field,
            format!("has {n} characters; at most 200 are allowed"),
        ));
    }
    Ok(v.to_owned())
}

fn offer_write(o: OfferInput) -> Result<OfferWrite, RowError> {
    let gtin = parse_gtin_field("gtin", &o.gtin).map_err(|e| match e.field_errors().first() {
        Some(f) => RowError::invalid(f.clone()),
        None => RowError::new(RowErrorCode::ValidationError, "gtin", e.public_detail()),
    })?;
    let currency = CurrencyCode::parse(&o.currency)
        .map_err(|e| RowError::new(RowErrorCode::ValidationError, "currency", e))?;
    let price_minor = currency
        .to_minor(&o.price)
        .map_err(|e| RowError::new(RowErrorCode::ValidationError, "price", e))?;
    Ok(OfferWrite {
        gtin,
        retailer: required_text("retailer", &o.retailer)?,
        store_ref: required_text("store_ref", &o.store_ref)?,
        price_minor,
        currency,
        inventory_status: o.inventory_status,
        active: o.active,
        metadata: metadata(o.metadata)?,
    })
}

/// A row outcome from the store's.
fn outcome(
    o: WriteOutcome,
    reason: impl FnOnce(String) -> RowError,
) -> Result<RowOutcome, RowError> {
    match o {
        WriteOutcome::Inserted => Ok(RowOutcome::Inserted),
        WriteOutcome::Updated => Ok(RowOutcome::Updated),
        WriteOutcome::Unchanged => Ok(RowOutcome::Unchanged),
        WriteOutcome::Rejected(r) => Err(reason(r)),
        // Only conditional product writes can be stale; stores and offers are not.
        _ => Err(RowError::new(
            RowErrorCode::UnprocessableEntity,
            "row",
            "the record changed while the row was written; send the row again",
        )),
    }
}

/// A store's reject reason (`field: message`) as a row error; the database's own words are
/// logged, not shown.
fn store_refusal(reason: String) -> RowError {
    match reason.split_once(": ") {
        Some((field, message)) if !field.contains(' ') => {
            RowError::new(RowErrorCode::ValidationError, field, message)
        }
        _ => {
            tracing::warn!(%reason, "a feed row was refused by the database");
            RowError::new(
                RowErrorCode::UnprocessableEntity,
                "row",
                "the database refused the row; check its values against the documented limits",
            )
        }
    }
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

/// An offer's reject reason from the store as a row error: an unknown product or store is
/// `not_found`.
fn offer_refusal(w: &OfferWrite, reason: String) -> RowError {
    match reason.split_once(": ").map(|(f, _)| f) {
        Some("gtin") => RowError::new(
            RowErrorCode::NotFound,
            "gtin",
            format!(
                "no product {} is in the catalog: create it first (POST /api/v1/products)",
                w.gtin
            ),
        ),
        Some("store_ref") => RowError::new(
            RowErrorCode::NotFound,
            "store_ref",
            format!(
                "the retailer {:?} has no store {:?}: send it to POST /api/v1/stores/batch first",
                w.retailer, w.store_ref
            ),
        ),
        Some("retailer") => RowError::new(
            RowErrorCode::NotFound,
            "retailer",
            format!("no retailer is named {:?}", w.retailer),
        ),
        _ => store_refusal(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: ServiceError) -> Vec<String> {
        e.field_errors().iter().map(|f| f.field.clone()).collect()
    }

    #[test]
    fn shape_errors_name_every_field() {
        let body = br#"{"stores": [
            {"retailer": "A", "store_ref": "1", "name": "One", "country": "US", "lat": 1, "lng": 2},
            {"retailer": "A", "store_ref": 2, "name": "Two", "country": "US", "lat": "x", "colour": "red"},
            7
        ], "extra": 1}"#;
        let e = parse_store_batch(body).err().unwrap_or_else(|| panic!("accepted"));
        let mut got = fields(e);
        got.sort();
        assert_eq!(
            got,
            [
                "extra",
                "stores[1].colour",
                "stores[1].lat",
                "stores[1].lng",
                "stores[1].store_ref",
                "stores[2]"
            ]
        );
        let ok = parse_store_batch(
            br#"{"stores": [{"retailer": "A", "store_ref": "1", "name": "One", "country": "US", "lat": 1, "lng": 2, "city": null}]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok[0].city, Some(None));
        assert_eq!(ok[0].address, None);
        assert!(matches!(parse_store_batch(b""), Err(ServiceError::BadRequest(_))));
        assert!(matches!(parse_store_batch(b"[]"), Err(ServiceError::BadRequest(_))));
        let e = parse_offer_batch(br#"{"offers": []}"#).err().unwrap_or_else(|| panic!("empty"));
        assert_eq!(fields(e), ["offers"]);
    }

    #[test]
    fn too_many_rows_name_the_limit() {
        let rows: Vec<Value> = (0..=MAX_ROWS).map(|_| serde_json::json!({})).collect();
        let body = serde_json::to_vec(&serde_json::json!({ "offers": rows }))
            .unwrap_or_else(|e| panic!("{e}"));
        let e = parse_offer_batch(&body).err().unwrap_or_else(|| panic!("accepted"));
        assert!(e.to_string().contains("at most 1000"), "{e}");
    }

    #[test]
    fn values_are_judged_per_row() {
        let offer = |price: &str, currency: &str| OfferInput {
            gtin: "614141123452".into(),
            retailer: " Acme ".into(),
            store_ref: "1".into(),
            price: price.into(),
            currency: currency.into(),
            inventory_status: None,
            active: None,
            metadata: None,
        };
        let w = offer_write(offer("3.49", "usd")).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((w.price_minor, w.retailer.as_str()), (349, "Acme"));
        assert_eq!(offer_write(offer("3.499", "USD")).err().map(|e| e.field), Some("price".into()));
        assert_eq!(offer_write(offer("1", "EURO")).err().map(|e| e.field), Some("currency".into()));
        let mut bad = offer("1", "USD");
        bad.gtin = "123".into();
        assert_eq!(offer_write(bad).err().map(|e| e.field), Some("gtin".into()));
    }
}

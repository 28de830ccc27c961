//! A retailer feed as sent to the REST API: its body checked against the documented shape
//! (JSON types, required and unknown fields, 1 to [`MAX_ROWS`] rows, every wrong field
//! listed), and each row turned into a store write, with the store's outcome or refusal of it
//! as the row's result.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{
    MAX_LISTED_ERRORS, MAX_ROWS, OfferInput, RowError, RowErrorCode, RowOutcome, StoreInput,
};
use crate::error::{FieldError, ServiceError};
use crate::iso::{CountryCode, CurrencyCode};
use crate::model::{InventoryStatus, MetadataPatch, OfferWrite, Patch, StoreWrite, WriteOutcome};
use crate::service::parse_gtin_field;

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

pub(super) fn store_write(s: StoreInput) -> Result<StoreWrite, RowError> {
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

pub(super) fn offer_write(o: OfferInput) -> Result<OfferWrite, RowError> {
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
pub(super) fn outcome(
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
pub(super) fn store_refusal(reason: String) -> RowError {
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

/// An offer's reject reason from the store as a row error: an unknown product or store is
/// `not_found`.
pub(super) fn offer_refusal(w: &OfferWrite, reason: String) -> RowError {
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

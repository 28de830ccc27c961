//! Offer importer: prodlink's offer CSV/JSONL with `gtin, retailer, store_ref, price, currency,
//! inventory_status, active` (plus metadata). Prices are decimal strings converted exactly to
//! the currency's minor units; the product and the store must already exist.

use super::records::{Record, read_records};
use super::source::Source;
use super::{BatchSender, ImportError, Parsed, RowRef, Write};
use crate::iso::CurrencyCode;
use crate::model::{InventoryStatus, MetadataPatch, OfferWrite};

pub(crate) fn offer(rec: &Record) -> Result<OfferWrite, String> {
    let gtin = rec.get("gtin").ok_or("gtin: missing")?;
    let gtin = gs1::Gtin14::parse(&gtin).map_err(|e| format!("gtin {gtin:?}: {e}"))?;
    let retailer = rec.get("retailer").ok_or("retailer: missing")?.trim().to_owned();
    let store_ref =
        rec.get_any(&["store_ref", "ref"]).ok_or("store_ref: missing")?.trim().to_owned();
    let currency = rec.get("currency").ok_or("currency: missing (ISO 4217, e.g. USD)")?;
    let currency = CurrencyCode::parse(&currency).map_err(|e| format!("currency: {e}"))?;
    let price = rec.get("price").ok_or("price: missing")?;
    let price_minor = currency.to_minor(&price).map_err(|e| format!("price: {e}"))?;
    // Absent or empty: keep what is stored (new offers: unknown stock, active).
    let inventory_status = match rec.get("inventory_status") {
        None => None,
        Some(s) => {
            Some(InventoryStatus::parse(s.trim()).map_err(|e| format!("inventory_status: {e}"))?)
        }
    };
    let active = match rec.get("active").as_deref().map(str::trim) {
        None => None,
        Some("true" | "1" | "yes") => Some(true),
        Some("false" | "0" | "no") => Some(false),
        Some(other) => return Err(format!("active: {other:?} is not true or false")),
    };
    Ok(OfferWrite {
        gtin,
        retailer,
        store_ref,
        price_minor,
        currency,
        inventory_status,
        active,
        metadata: MetadataPatch::new(rec.metadata()?).map_err(|e| format!("metadata: {e}"))?,
    })
}

/// Parses an offer file and pushes one [`Parsed`] per record.
pub fn parse(source: Source, out: &mut BatchSender) -> Result<(), ImportError> {
    read_records(source, &["gtin", "retailer", "price", "currency"], |line, raw, rec| {
        let parsed = match rec {
            Ok(rec) => {
                let key = rec.get("gtin").map(|g| g.into_owned()).unwrap_or_default();
                match offer(&rec) {
                    Ok(o) => Parsed::Write {
                        row: RowRef { line, key, raw },
                        write: Write::Offer(Box::new(o)),
                        warnings: Vec::new(),
                    },
                    Err(reason) => Parsed::Reject { row: RowRef { line, key, raw }, reason },
                }
            }
            Err(reason) => Parsed::Reject { row: RowRef { line, key: String::new(), raw }, reason },
        };
        out.push(parsed)
    })
}

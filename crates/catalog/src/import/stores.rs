//! Store importer. Reads the Walmart store list of `data/demo/walmart-stores.csv.gz` (columns
//! `opendate, st.address, city, state, long, lat, type`; distribution centers are not shops and
//! are rejected as such) or prodlink's own store CSV/JSONL (`retailer, store_ref, name, address,
//! city, region, postal_code, country, lat, lng`, metadata as `metadata.KEY` columns or a
//! `metadata` object). Stores are keyed by retailer and `store_ref`, so re-imports update.

use std::collections::BTreeMap;

use super::records::{Record, read_records};
use super::source::Source;
use super::{BatchSender, ImportError, Parsed, RowRef, Write};
use crate::iso::{CountryCode, slugify};
use crate::model::{MetadataPatch, Patch, StoreWrite};

fn num(rec: &Record, keys: &[&str], what: &str) -> Result<f64, String> {
    let v = rec.get_any(keys).ok_or_else(|| format!("{}: missing {what}", keys[0]))?;
    v.trim().parse::<f64>().map_err(|_| format!("{}: {v:?} is not a number", keys[0]))
}

fn text(rec: &Record, keys: &[&str]) -> Option<String> {
    rec.get_any(keys).map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// An optional column: absent keeps the stored value, empty clears it.
fn patch(rec: &Record, keys: &[&str]) -> Patch<String> {
    match keys.iter().find(|k| rec.has(k)) {
        None => Patch::Keep,
        Some(_) => text(rec, keys).map_or(Patch::Clear, Patch::Set),
    }
}

fn walmart(rec: &Record) -> Result<StoreWrite, String> {
    let kind = rec.get("type").unwrap_or_default();
    let name = match kind.as_ref() {
        "SuperCenter" => "Walmart Supercenter",
        "Wal-MartStore" => "Walmart",
        "DistributionCenter" => {
            return Err("type: DistributionCenter is a distribution center, not a shop".into());
        }
        other => return Err(format!("type: unknown store type {other:?}")),
    };
    let address = text(rec, &["st.address"]).ok_or("st.address: missing")?;
    let city = text(rec, &["city"]).ok_or("city: missing")?;
    let state = text(rec, &["state"]).ok_or("state: missing")?;
    let lng = num(rec, &["long"], "longitude")?;
    let lat = num(rec, &["lat"], "latitude")?;
    let mut meta = BTreeMap::from([("store_type".to_owned(), kind.into_owned())]);
    if let Some(opened) = rec.get("opendate") {
        meta.insert("opened".into(), opened.into_owned());
    }
    Ok(StoreWrite {
        retailer: "Walmart".into(),
        store_ref: slugify(&format!("{state} {city} {address}")),
        name: format!("{name}, {city}"),
        address: Patch::Set(address),
        city: Patch::Set(city),
        region: Patch::Set(state),
        // The list has no postal codes: leave any set by other sources alone.
        postal_code: Patch::Keep,
        country: CountryCode::parse("US").map_err(|e| format!("country: {e}"))?,
        lat,
        lng,
        metadata: MetadataPatch::new(meta).map_err(|e| format!("metadata: {e}"))?,
    })
}

pub(crate) fn generic(rec: &Record) -> Result<StoreWrite, String> {
    let retailer = text(rec, &["retailer"]).ok_or("retailer: missing")?;
    let store_ref = text(rec, &["store_ref", "ref"]).ok_or("store_ref: missing")?;
    let name = text(rec, &["name", "store_name"]).ok_or("name: missing")?;
    let country = rec.get("country").ok_or("country: missing (ISO 3166-1 alpha-2)")?;
    let country = CountryCode::parse(&country).map_err(|e| format!("country: {e}"))?;
    let s = StoreWrite {
        retailer,
        store_ref,
        name,
        address: patch(rec, &["address"]),
        city: patch(rec, &["city"]),
        region: patch(rec, &["region", "state"]),
        postal_code: patch(rec, &["postal_code", "zip"]),
        country,
        lat: num(rec, &["lat", "latitude"], "latitude")?,
        lng: num(rec, &["lng", "lon", "long", "longitude"], "longitude")?,
        metadata: MetadataPatch::new(rec.metadata()?).map_err(|e| format!("metadata: {e}"))?,
    };
    s.validate().map_err(|e| format!("{}: {}", e.field, e.message))?;
    Ok(s)
}

/// Parses a store file and pushes one [`Parsed`] per record.
pub fn parse(source: Source, out: &mut BatchSender) -> Result<(), ImportError> {
    let mut is_walmart = None;
    read_records(source, &[], |line, raw, rec| {
        let result = rec.map(|rec| {
            let w = *is_walmart.get_or_insert_with(|| {
                matches!(&rec, Record::Csv { header, .. } if header.iter().any(|h| h == "st.address"))
            });
            let key = if w {
                rec.get("st.address").map(|s| s.into_owned()).unwrap_or_default()
            } else {
                rec.get_any(&["store_ref", "ref"]).map(|s| s.into_owned()).unwrap_or_default()
            };
            let store = if w { walmart(&rec) } else { generic(&rec) };
            (key, store)
        });
        let parsed = match result {
            Ok((key, Ok(store))) => Parsed::Write {
                row: RowRef { line, key, raw },
                write: Write::Store(Box::new(store)),
                warnings: Vec::new(),
            },
            Ok((key, Err(reason))) => Parsed::Reject { row: RowRef { line, key, raw }, reason },
            Err(reason) => Parsed::Reject { row: RowRef { line, key: String::new(), raw }, reason },
        };
        out.push(parsed)
    })
}

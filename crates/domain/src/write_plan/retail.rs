//! Store and offer writes: merging each into the stored row, the retailers and products they
//! refer to, and the outcome of each write of a batch.

use std::collections::{BTreeMap, HashMap};

use super::{Decision, invalid, merge_metadata, split};
use crate::model::{InventoryStatus, OfferWrite, StoreWrite, WriteOutcome};

// ---------------------------------------------------------------------------------------------
// Stores.

/// The fields of a store that a write sets, compared to tell an unchanged write.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreFields {
    pub name: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
    pub lat: f64,
    pub lng: f64,
}

/// A stored store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredStore {
    pub id: i64,
    pub fields: StoreFields,
    /// JSON.
    pub metadata: String,
}

/// A store to write.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreRow<'a> {
    /// `None` for a new store.
    pub stored_id: Option<i64>,
    pub retailer_id: i64,
    pub write: &'a StoreWrite,
    /// The write merged into the stored fields.
    pub fields: StoreFields,
    /// The merged metadata, JSON.
    pub metadata: String,
}

/// The store refs of writes by retailer id (ordered, the order stores are locked in), for the
/// retailers found.
pub fn refs_by_retailer<'b>(
    writes: impl IntoIterator<Item = (&'b str, &'b str)>,
    retailers: &HashMap<String, i64>,
) -> BTreeMap<i64, Vec<&'b str>> {
    let mut by_retailer: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for (retailer, store_ref) in writes {
        if let Some(id) = retailers.get(retailer.trim()) {
            by_retailer.entry(*id).or_default().push(store_ref);
        }
    }
    by_retailer
}

/// Decides a store write given its retailer's id (`None` when the retailer could not be
/// created) and the stored store.
pub fn plan_store<'a>(
    s: &'a StoreWrite,
    retailer_id: Option<i64>,
    stored: Option<&StoredStore>,
) -> Decision<StoreRow<'a>> {
    if let Err(e) = s.validate() {
        return Decision::Done(invalid(&e));
    }
    let Some(retailer_id) = retailer_id else {
        return Decision::Done(WriteOutcome::Rejected(format!(
            "retailer {:?} could not be created",
            s.retailer
        )));
    };
    let metadata = match merge_metadata(stored.map(|st| st.metadata.as_str()), &s.metadata) {
        Ok(m) => m.to_json(),
        Err(reason) => return Decision::Done(WriteOutcome::Rejected(reason)),
    };
    let old = stored.map(|st| &st.fields);
    let fields = StoreFields {
        name: s.name.trim().to_owned(),
        address: s.address.apply(old.and_then(|f| f.address.clone())),
        city: s.city.apply(old.and_then(|f| f.city.clone())),
        region: s.region.apply(old.and_then(|f| f.region.clone())),
        postal_code: s.postal_code.apply(old.and_then(|f| f.postal_code.clone())),
        country: s.country.as_str().to_owned(),
        lat: s.lat,
        lng: s.lng,
    };
    if stored.is_some_and(|st| st.fields == fields && st.metadata == metadata) {
        return Decision::Done(WriteOutcome::Unchanged);
    }
    Decision::Write(StoreRow {
        stored_id: stored.map(|st| st.id),
        retailer_id,
        write: s,
        fields,
        metadata,
    })
}

/// [`plan_store`] on a batch, with the retailer ids by trimmed name and the stored stores by
/// (retailer id, ref): one outcome per write and the rows to write.
pub fn plan_stores<'a>(
    batch: &'a [StoreWrite],
    retailers: &HashMap<String, i64>,
    existing: &HashMap<(i64, String), StoredStore>,
) -> (Vec<WriteOutcome>, Vec<StoreRow<'a>>) {
    split(
        batch,
        |s| {
            let rid = retailers.get(s.retailer.trim()).copied();
            let stored = rid.and_then(|rid| existing.get(&(rid, s.store_ref.clone())));
            plan_store(s, rid, stored)
        },
        |r| r.stored_id,
    )
}

// ---------------------------------------------------------------------------------------------
// Offers.

/// A stored offer.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOffer {
    pub id: i64,
    pub price_minor: i64,
    pub currency: String,
    pub inventory_status: String,
    pub active: bool,
    /// JSON.
    pub metadata: String,
}

/// An offer to write.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferRow<'a> {
    /// `None` for a new offer.
    pub stored_id: Option<i64>,
    pub product_id: i64,
    pub store_id: i64,
    pub write: &'a OfferWrite,
    /// The inventory status after the write.
    pub status: &'static str,
    /// Whether the offer is active after the write.
    pub active: bool,
    /// The merged metadata, JSON.
    pub metadata: String,
}

/// The `(product id, store id)` an offer write is for, from the retailer ids by trimmed name,
/// the store ids by (retailer id, ref) and the product ids by GTIN; the reject reason when one
/// is unknown.
pub fn offer_target(
    o: &OfferWrite,
    retailers: &HashMap<String, i64>,
    store_ids: &HashMap<(i64, String), i64>,
    product_ids: &HashMap<String, i64>,
) -> Result<(i64, i64), String> {
    let Some(rid) = retailers.get(o.retailer.trim()).copied() else {
        return Err(format!(
            "retailer: unknown retailer {:?}; import its stores first",
            o.retailer
        ));
    };
    let Some(sid) = store_ids.get(&(rid, o.store_ref.clone())).copied() else {
        return Err(format!("store_ref: retailer {:?} has no store {:?}", o.retailer, o.store_ref));
    };
    let Some(pid) = product_ids.get(o.gtin.as_str()).copied() else {
        return Err(format!(
            "gtin: no product {} in the catalog; import the product first",
            o.gtin
        ));
    };
    Ok((pid, sid))
}

/// Decides an offer write for a product and store, given the stored offer. Fields the write
/// leaves out keep their stored values (defaults for a new offer).
pub fn plan_offer<'a>(
    o: &'a OfferWrite,
    product_id: i64,
    store_id: i64,
    stored: Option<&StoredOffer>,
) -> Decision<OfferRow<'a>> {
    if o.price_minor < 0 {
        return Decision::Done(WriteOutcome::Rejected("price: must not be negative".to_owned()));
    }
    let metadata = match merge_metadata(stored.map(|s| s.metadata.as_str()), &o.metadata) {
        Ok(m) => m.to_json(),
        Err(reason) => return Decision::Done(WriteOutcome::Rejected(reason)),
    };
    let status = match (o.inventory_status, stored) {
        (Some(s), _) => s.as_str(),
        (None, Some(s)) => {
            InventoryStatus::parse(&s.inventory_status).map_or("unknown", InventoryStatus::as_str)
        }
        (None, None) => InventoryStatus::Unknown.as_str(),
    };
    let active = o.active.or(stored.map(|s| s.active)).unwrap_or(true);
    if stored.is_some_and(|s| {
        s.price_minor == o.price_minor
            && s.currency == o.currency.as_str()
            && s.inventory_status == status
            && s.active == active
            && s.metadata == metadata
    }) {
        return Decision::Done(WriteOutcome::Unchanged);
    }
    Decision::Write(OfferRow {
        stored_id: stored.map(|s| s.id),
        product_id,
        store_id,
        write: o,
        status,
        active,
        metadata,
    })
}

/// [`offer_target`] and [`plan_offer`] on a batch, with the stored offers by (product id,
/// store id): one outcome per write and the rows to write.
pub fn plan_offers<'a>(
    batch: &'a [OfferWrite],
    retailers: &HashMap<String, i64>,
    store_ids: &HashMap<(i64, String), i64>,
    product_ids: &HashMap<String, i64>,
    existing: &HashMap<(i64, i64), StoredOffer>,
) -> (Vec<WriteOutcome>, Vec<OfferRow<'a>>) {
    split(
        batch,
        |o| match offer_target(o, retailers, store_ids, product_ids) {
            Ok((pid, sid)) => plan_offer(o, pid, sid, existing.get(&(pid, sid))),
            Err(reason) => Decision::Done(WriteOutcome::Rejected(reason)),
        },
        |r| r.stored_id,
    )
}

//! The write planner: the backend-neutral half of catalog writes. It validates each write,
//! merges it into the stored row (field patches, metadata merge per docs/spec.md §2), classifies
//! it as inserted, updated, unchanged or rejected (with the reason), and returns the rows and
//! child rows a backend then writes.
//!
//! It knows no database. The backends (`catalog::sqlite`, `catalog::postgres`) read the stored
//! rows, decode them into [`StoredProduct`], [`StoredStore`] and [`StoredOffer`] (the
//! `catalog::write_plan` module, which also runs batches in transactions and isolates the rows
//! the database refuses), hand them to the planner and execute the planned rows in their own
//! SQL. The per-row functions ([`check_product`], [`merge_product`], [`plan_store`],
//! [`plan_offer`], [`RuleRow::new`]) serve a single-record write as well as a batch: products in
//! [`product`], stores and offers in [`retail`], resolver rules in [`rules`].

pub mod product;
pub mod retail;
pub mod rules;
#[cfg(test)]
mod tests;

use gs1::Gtin14;

use crate::model::{
    Metadata, MetadataPatch, OfferWrite, Patch, ProductWrite, StoreWrite, WriteOutcome,
};

pub use product::*;
pub use retail::*;
pub use rules::*;

/// What identifies a product write within a batch.
pub fn product_key(w: &ProductWrite) -> Gtin14 {
    w.gtin
}

/// What identifies a store write within a batch: retailer and store ref.
pub fn store_key(s: &StoreWrite) -> (String, String) {
    (s.retailer.trim().to_owned(), s.store_ref.clone())
}

/// What identifies an offer write within a batch: product, retailer and store ref.
pub fn offer_key(o: &OfferWrite) -> (Gtin14, String, String) {
    (o.gtin, o.retailer.trim().to_owned(), o.store_ref.clone())
}

/// What the planner decided for one write: an outcome with nothing to write (unchanged or
/// rejected), or a row to write (inserted or updated, see [`written`]).
#[derive(Debug)]
pub enum Decision<R> {
    /// Nothing to write.
    Done(WriteOutcome),
    /// Write this row.
    Write(R),
}

/// The outcome of a row that is written: updated when it merged into a stored row.
pub fn written(stored_id: Option<i64>) -> WriteOutcome {
    if stored_id.is_some() { WriteOutcome::Updated } else { WriteOutcome::Inserted }
}

/// The decisions for a batch split into one outcome per write and the rows to write.
fn split<'a, T, R>(
    batch: &'a [T],
    mut decide: impl FnMut(&'a T) -> Decision<R>,
    stored_id: impl Fn(&R) -> Option<i64>,
) -> (Vec<WriteOutcome>, Vec<R>) {
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut rows = Vec::new();
    for w in batch {
        match decide(w) {
            Decision::Done(o) => outcomes.push(o),
            Decision::Write(row) => {
                outcomes.push(written(stored_id(&row)));
                rows.push(row);
            }
        }
    }
    (outcomes, rows)
}

/// The reject reason of a write that fails validation.
fn invalid(e: &crate::error::FieldError) -> WriteOutcome {
    WriteOutcome::Rejected(format!("{}: {}", e.field, e.message))
}

/// Merges a metadata patch into the stored map (its JSON form; `None` for a new record), per
/// docs/spec.md §2: writes merge, an empty value deletes a key, the limits hold after the merge. The
/// error is the reject reason.
pub fn merge_metadata(stored: Option<&str>, patch: &MetadataPatch) -> Result<Metadata, String> {
    let stored = match stored.map(Metadata::from_json).transpose() {
        Ok(m) => m.unwrap_or_default(),
        Err(e) => return Err(format!("stored metadata: {e}")),
    };
    stored.merged(patch).map_err(|e| format!("metadata: {e}"))
}

/// A text field after its patch: trimmed, and absent when empty.
fn patched_text(patch: &Patch<String>, stored: Option<&Option<String>>) -> Option<String> {
    patch.apply(stored.cloned().flatten()).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Distinct trimmed names, sorted (the order writers create and lock rows in).
pub fn distinct_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut list: Vec<&str> = names.into_iter().map(str::trim).collect();
    list.sort_unstable();
    list.dedup();
    list
}

/// A JSON list of strings.
pub fn json_string_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::to_string(&items.into_iter().collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
}

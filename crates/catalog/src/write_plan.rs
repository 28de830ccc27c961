//! The backend-neutral half of catalog writes: validating each write, merging it into the
//! stored row (field patches, metadata merge per docs/spec.md §2), classifying it as inserted, updated,
//! unchanged or rejected (with the reason), and the rows and child rows a backend then writes.
//!
//! The backends ([`crate::sqlite`], [`crate::postgres`]) only read the stored rows (decoded
//! here, from columns of the same names on both) and execute the planned rows in their own SQL.
//! The per-row functions ([`check_product`], [`merge_product`], [`plan_store`], [`plan_offer`],
//! [`RuleRow::new`]) serve a single-record write as well as a batch. Also here: how a batch is
//! split into runs without repeated keys, and retried row by row when the database refuses it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;

use gs1::Gtin14;
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::model::{
    ImageWrite, IngredientWrite, InventoryStatus, Metadata, MetadataPatch, NutrientWrite,
    NutritionWrite, OfferWrite, Patch, ProductWrite, RuleTarget, RuleWrite, StoreWrite,
    WriteOutcome, fold_name,
};
use crate::store::StoreError;

// ---------------------------------------------------------------------------------------------
// Batches.

/// A backend's judgement of a failed write: the reject reason when the database refused the
/// data (the row's fault), `None` when the failure is the system's.
pub(crate) type Refusal = fn(&sqlx::Error) -> Option<String>;

/// Writes a batch with `attempt` (one transaction per call), one outcome per row, in order.
///
/// The batch is split into runs in which no `key` repeats, written in order: a record listed
/// twice in one batch is written twice, in input order, as if the batches had been separate
/// (the same as when the repeats fall into different batches). When the database refuses a run
/// because of its data, each of its rows is written alone, so only the offending rows are
/// rejected and every other row keeps its outcome.
pub(crate) async fn write_in_runs<'a, T, K, A, Fut>(
    batch: &'a [T],
    key: impl Fn(&T) -> K,
    attempt: A,
    refused: Refusal,
) -> Result<Vec<WriteOutcome>, StoreError>
where
    K: Eq + Hash,
    A: Fn(&'a [T]) -> Fut,
    Fut: Future<Output = Result<Vec<WriteOutcome>, sqlx::Error>>,
{
    let attempt = &attempt;
    let mut out = Vec::with_capacity(batch.len());
    let mut start = 0;
    let mut seen = HashSet::new();
    for (i, item) in batch.iter().enumerate() {
        if !seen.insert(key(item)) {
            out.extend(isolating(&batch[start..i], attempt, refused).await?);
            start = i;
            seen.clear();
            seen.insert(key(item));
        }
    }
    if start < batch.len() {
        out.extend(isolating(&batch[start..], attempt, refused).await?);
    }
    Ok(out)
}

/// Runs `attempt` on the whole run; when the database refuses it because of the data, retries
/// each row alone.
async fn isolating<'a, T, A, Fut>(
    run: &'a [T],
    attempt: &A,
    refused: Refusal,
) -> Result<Vec<WriteOutcome>, StoreError>
where
    A: Fn(&'a [T]) -> Fut,
    Fut: Future<Output = Result<Vec<WriteOutcome>, sqlx::Error>>,
{
    let e = match attempt(run).await {
        Ok(outcomes) => return Ok(outcomes),
        Err(e) => e,
    };
    let Some(reason) = refused(&e) else { return Err(StoreError::from(e)) };
    if run.len() == 1 {
        return Ok(vec![WriteOutcome::Rejected(reason)]);
    }
    tracing::debug!(
        rows = run.len(),
        error = %e,
        "the database refused a batch; writing its rows one by one"
    );
    each_row(run, |row| attempt(std::slice::from_ref(row)), refused).await
}

/// Writes each row with its own `attempt`; a row the database refuses is `Rejected` with the
/// reason, any other failure ends the batch.
pub(crate) async fn each_row<'a, T, A, Fut>(
    batch: &'a [T],
    attempt: A,
    refused: Refusal,
) -> Result<Vec<WriteOutcome>, StoreError>
where
    A: Fn(&'a T) -> Fut,
    Fut: Future<Output = Result<Vec<WriteOutcome>, sqlx::Error>>,
{
    let mut out = Vec::with_capacity(batch.len());
    for row in batch {
        match attempt(row).await {
            Ok(mut o) => out.append(&mut o),
            Err(e) => match refused(&e) {
                Some(reason) => out.push(WriteOutcome::Rejected(reason)),
                None => return Err(StoreError::from(e)),
            },
        }
    }
    Ok(out)
}

/// What identifies a product write within a batch.
pub(crate) fn product_key(w: &ProductWrite) -> Gtin14 {
    w.gtin
}

/// What identifies a store write within a batch: retailer and store ref.
pub(crate) fn store_key(s: &StoreWrite) -> (String, String) {
    (s.retailer.trim().to_owned(), s.store_ref.clone())
}

/// What identifies an offer write within a batch: product, retailer and store ref.
pub(crate) fn offer_key(o: &OfferWrite) -> (Gtin14, String, String) {
    (o.gtin, o.retailer.trim().to_owned(), o.store_ref.clone())
}

/// What the planner decided for one write: an outcome with nothing to write (unchanged or
/// rejected), or a row to write (inserted or updated, see [`written`]).
#[derive(Debug)]
pub(crate) enum Decision<R> {
    /// Nothing to write.
    Done(WriteOutcome),
    /// Write this row.
    Write(R),
}

/// The outcome of a row that is written: updated when it merged into a stored row.
pub(crate) fn written(stored_id: Option<i64>) -> WriteOutcome {
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
pub(crate) fn merge_metadata(
    stored: Option<&str>,
    patch: &MetadataPatch,
) -> Result<Metadata, String> {
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
pub(crate) fn distinct_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut list: Vec<&str> = names.into_iter().map(str::trim).collect();
    list.sort_unstable();
    list.dedup();
    list
}

/// A JSON list of strings.
pub(crate) fn json_string_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::to_string(&items.into_iter().collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
}

// ---------------------------------------------------------------------------------------------
// Stored rows.

/// The columns of a stored row by name, whatever the backend (both name them alike).
pub(crate) trait StoredRow {
    /// An integer column.
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    /// A nullable integer column.
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    /// A floating-point column.
    fn float(&self, column: &str) -> Result<f64, sqlx::Error>;
    /// A boolean column.
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
    /// A text column.
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    /// A nullable text column.
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
}

impl<R> StoredRow for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    i64: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    f64: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    bool: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    String: Type<R::Database> + for<'r> Decode<'r, R::Database>,
{
    fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(column)
    }
    fn float(&self, column: &str) -> Result<f64, sqlx::Error> {
        self.try_get(column)
    }
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
        self.try_get(column)
    }
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }
}

// ---------------------------------------------------------------------------------------------
// Products.

/// A stored product, as far as a write merges into it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredProduct {
    pub(crate) id: i64,
    /// The digest of the last write applied.
    pub(crate) source_hash: Option<String>,
    pub(crate) name: String,
    pub(crate) brand_id: Option<i64>,
    pub(crate) category_id: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) net_content: Option<String>,
    pub(crate) country_of_origin: Option<String>,
    pub(crate) image_url: Option<String>,
    /// JSON.
    pub(crate) metadata: String,
    /// When the row last changed (the version `ProductWrite::if_updated_at` names).
    pub(crate) updated_at: String,
    /// The category path's ids, joined by [`ID_SEPARATOR`] (empty without a category).
    pub(crate) category_path: String,
    /// The labels' ids, joined by [`ID_SEPARATOR`].
    pub(crate) labels: String,
}

/// Joins the ids of a stored category path or label list in [`StoredProduct`] (no id holds it:
/// ids are trimmed text without control characters).
pub(crate) const ID_SEPARATOR: char = '\n';

/// The ids of a category path or label list as [`StoredProduct`] holds them.
fn joined_ids<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for id in ids {
        if !out.is_empty() {
            out.push(ID_SEPARATOR);
        }
        out.push_str(id);
    }
    out
}

/// The columns [`StoredProduct::from_row`] decodes, as a literal for the backends' `SELECT`s.
macro_rules! stored_product_columns {
    () => {
        "id, gtin, source_hash, name, brand_id, category_id, description, net_content, \
         country_of_origin, image_url, metadata, updated_at"
    };
}
pub(crate) use stored_product_columns;

impl StoredProduct {
    /// Decodes a row of [`stored_product_columns!`]: the GTIN and the product.
    pub(crate) fn from_row(r: &impl StoredRow) -> Result<(String, Self), sqlx::Error> {
        Ok((
            r.text("gtin")?,
            Self {
                id: r.int("id")?,
                source_hash: r.opt_text("source_hash")?,
                name: r.text("name")?,
                brand_id: r.opt_int("brand_id")?,
                category_id: r.opt_text("category_id")?,
                description: r.opt_text("description")?,
                net_content: r.opt_text("net_content")?,
                country_of_origin: r.opt_text("country_of_origin")?,
                image_url: r.opt_text("image_url")?,
                metadata: r.text("metadata")?,
                updated_at: r.text("updated_at")?,
                category_path: r.opt_text("category_path")?.unwrap_or_default(),
                labels: r.opt_text("label_ids")?.unwrap_or_default(),
            },
        ))
    }
}

/// A product to write: the write merged into the stored row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProductRow<'a> {
    pub(crate) write: &'a ProductWrite,
    /// The stored row's id; `None` for a new product (the backend gives it an id).
    pub(crate) stored_id: Option<i64>,
    pub(crate) name: String,
    pub(crate) brand_id: Option<i64>,
    pub(crate) category_id: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) net_content: Option<String>,
    pub(crate) country_of_origin: Option<String>,
    pub(crate) image_url: Option<String>,
    /// The merged metadata, JSON.
    pub(crate) metadata: String,
    /// The write's digest, stored to recognize the same write next time.
    pub(crate) source_hash: &'a str,
}

impl ProductRow<'_> {
    /// Whether writing this row would leave `stored` as it is: the merged fields equal the
    /// stored ones and the write replaces no children (a `PATCH` repeating stored values).
    fn changes_nothing_in(&self, stored: &StoredProduct) -> bool {
        let w = self.write;
        let same_path = match &w.category {
            Patch::Keep => true,
            Patch::Clear => stored.category_path.is_empty(),
            Patch::Set(path) => {
                joined_ids(path.iter().map(|c| c.id.as_str())) == stored.category_path
            }
        };
        let same_labels = match &w.labels {
            Patch::Keep => true,
            Patch::Clear => stored.labels.is_empty(),
            Patch::Set(labels) => joined_ids(labels.iter().map(|l| l.id.as_str())) == stored.labels,
        };
        same_path
            && same_labels
            && w.images.is_none()
            && w.ingredients.is_none()
            && matches!(w.nutrition, Patch::Keep)
            && self.name == stored.name
            && self.brand_id == stored.brand_id
            && self.category_id == stored.category_id
            && self.description == stored.description
            && self.net_content == stored.net_content
            && self.country_of_origin == stored.country_of_origin
            && self.image_url == stored.image_url
            && self.metadata == stored.metadata
    }
}

/// Whether a write is identical to the last one applied to a product whose stored digest is
/// `stored_hash`.
pub(crate) fn is_unchanged(w: &ProductWrite, stored_hash: Option<&str>) -> bool {
    stored_hash == Some(w.digest())
}

/// What is decided about a product write before merging it: `Unchanged` when it is identical
/// to the last write applied, `Rejected` when it is invalid or names no name for a new product,
/// `None` when it is to be merged ([`merge_product`]).
pub(crate) fn check_product(
    w: &ProductWrite,
    stored: Option<&StoredProduct>,
) -> Option<WriteOutcome> {
    if let Some(version) = &w.if_updated_at
        && stored.is_none_or(|s| &s.updated_at != version)
    {
        return Some(WriteOutcome::Stale);
    }
    if stored.is_some_and(|s| is_unchanged(w, s.source_hash.as_deref())) {
        return Some(WriteOutcome::Unchanged);
    }
    if let Err(e) = &w.check().1 {
        return Some(invalid(e));
    }
    if stored.is_none() && !matches!(w.name, Patch::Set(_)) {
        return Some(WriteOutcome::Rejected("name: a new product needs a name".to_owned()));
    }
    None
}

/// The brands and categories product writes refer to, to be created before the products.
#[derive(Debug, Default)]
pub(crate) struct References<'a> {
    /// Brands by name key ([`fold_name`]) → display name (trimmed).
    pub(crate) brands: HashMap<String, String>,
    /// Categories as `(id, name, parent id)`, each once, parents before their children.
    pub(crate) categories: Vec<(&'a str, &'a str, Option<&'a str>)>,
    seen: HashSet<&'a str>,
    /// Labels as `(id, name)`, each once.
    pub(crate) labels: Vec<(&'a str, &'a str)>,
    seen_labels: HashSet<&'a str>,
}

impl<'a> References<'a> {
    /// Adds the brand and the category path a write sets.
    pub(crate) fn add(&mut self, w: &'a ProductWrite) {
        if let Patch::Set(name) = &w.brand {
            self.brands.entry(fold_name(name)).or_insert_with(|| name.trim().to_owned());
        }
        if let Patch::Set(path) = &w.category {
            let mut parent: Option<&str> = None;
            for c in path {
                if self.seen.insert(c.id.as_str()) {
                    self.categories.push((c.id.as_str(), c.name.as_str(), parent));
                }
                parent = Some(c.id.as_str());
            }
        }
        if let Patch::Set(labels) = &w.labels {
            for l in labels {
                if self.seen_labels.insert(l.id.as_str()) {
                    self.labels.push((l.id.as_str(), l.name.as_str()));
                }
            }
        }
    }
}

/// Merges a checked write ([`check_product`]) into the stored product (`None` when new), with
/// the ids of the brands by name key; the error is the reject reason.
pub(crate) fn merge_product<'a>(
    w: &'a ProductWrite,
    stored: Option<&StoredProduct>,
    brand_ids: &HashMap<String, i64>,
) -> Result<ProductRow<'a>, String> {
    let metadata = merge_metadata(stored.map(|s| s.metadata.as_str()), &w.metadata)?;
    let name = match (&w.name, stored) {
        (Patch::Set(n), _) => n.trim().to_owned(),
        (_, Some(s)) => s.name.clone(),
        (_, None) => String::new(), // unreachable: `check_product` rejects it
    };
    Ok(ProductRow {
        write: w,
        stored_id: stored.map(|s| s.id),
        name,
        brand_id: match &w.brand {
            Patch::Keep => stored.and_then(|s| s.brand_id),
            Patch::Clear => None,
            Patch::Set(name) => brand_ids.get(&fold_name(name)).copied(),
        },
        category_id: match &w.category {
            Patch::Keep => stored.and_then(|s| s.category_id.clone()),
            Patch::Clear => None,
            Patch::Set(path) => path.last().map(|c| c.id.clone()),
        },
        description: patched_text(&w.description, stored.map(|s| &s.description)),
        net_content: patched_text(&w.net_content, stored.map(|s| &s.net_content)),
        country_of_origin: match &w.country_of_origin {
            Patch::Keep => stored.and_then(|s| s.country_of_origin.clone()),
            Patch::Clear => None,
            Patch::Set(c) => Some(c.as_str().to_owned()),
        },
        image_url: patched_text(&w.image_url, stored.map(|s| &s.image_url)),
        metadata: metadata.to_json(),
        source_hash: w.digest(),
    })
}

/// The plan of a batch of product writes, decided in steps between the backend's reads: skip
/// unchanged writes ([`ProductPlan::skip_unchanged`], optional), check the others against the
/// stored rows ([`ProductPlan::check`]), create the [`ProductPlan::references`], then
/// [`ProductPlan::merge`].
#[derive(Debug)]
pub(crate) struct ProductPlan<'a> {
    batch: &'a [ProductWrite],
    /// Per write; `None` while undecided.
    outcomes: Vec<Option<WriteOutcome>>,
}

impl<'a> ProductPlan<'a> {
    /// Every write undecided.
    pub(crate) fn new(batch: &'a [ProductWrite]) -> Self {
        Self { batch, outcomes: vec![None; batch.len()] }
    }

    /// The undecided writes.
    pub(crate) fn pending(&self) -> impl Iterator<Item = &'a ProductWrite> + '_ {
        self.batch.iter().zip(&self.outcomes).filter(|(_, o)| o.is_none()).map(|(w, _)| w)
    }

    /// Decides `Unchanged` the writes identical to the last one applied, by the stored digests
    /// (GTIN → source hash), before the stored rows are read in full.
    pub(crate) fn skip_unchanged(&mut self, stored_hashes: &HashMap<String, Option<String>>) {
        for (w, o) in self.batch.iter().zip(&mut self.outcomes) {
            if stored_hashes.get(w.gtin.as_str()).is_some_and(|h| is_unchanged(w, h.as_deref())) {
                *o = Some(WriteOutcome::Unchanged);
            }
        }
    }

    /// [`check_product`] on every undecided write, against the stored products by GTIN.
    pub(crate) fn check(&mut self, existing: &HashMap<String, StoredProduct>) {
        for (w, o) in self.batch.iter().zip(&mut self.outcomes) {
            if o.is_none() {
                *o = check_product(w, existing.get(w.gtin.as_str()));
            }
        }
    }

    /// The brands and categories the undecided writes refer to.
    pub(crate) fn references(&self) -> References<'a> {
        let mut refs = References::default();
        for w in self.pending() {
            refs.add(w);
        }
        refs
    }

    /// [`merge_product`] on every undecided write: the rows to write, in input order; each
    /// write is decided (inserted, updated or rejected).
    pub(crate) fn merge(
        &mut self,
        existing: &HashMap<String, StoredProduct>,
        brand_ids: &HashMap<String, i64>,
    ) -> Vec<ProductRow<'a>> {
        let mut rows = Vec::new();
        for (w, o) in self.batch.iter().zip(&mut self.outcomes) {
            if o.is_some() {
                continue;
            }
            let stored = existing.get(w.gtin.as_str());
            match merge_product(w, stored, brand_ids) {
                Ok(row) if stored.is_some_and(|s| row.changes_nothing_in(s)) => {
                    *o = Some(WriteOutcome::Unchanged);
                }
                Ok(row) => {
                    *o = Some(written(row.stored_id));
                    rows.push(row);
                }
                Err(reason) => *o = Some(WriteOutcome::Rejected(reason)),
            }
        }
        rows
    }

    /// One outcome per write, in input order (`Unchanged` for any left undecided).
    pub(crate) fn outcomes(self) -> Vec<WriteOutcome> {
        self.outcomes.into_iter().map(|o| o.unwrap_or(WriteOutcome::Unchanged)).collect()
    }
}

/// The child rows of written products, borrowed from the writes and keyed by product id.
#[derive(Debug, Default)]
pub(crate) struct ChildRows<'a> {
    /// Ids of stored products whose images are replaced (new products have none yet).
    pub(crate) gone_images: Vec<i64>,
    /// Ids of stored products whose ingredients are replaced.
    pub(crate) gone_ingredients: Vec<i64>,
    /// Ids of stored products whose nutrition panel is replaced or cleared.
    pub(crate) gone_nutrition: Vec<i64>,
    /// `(product id, image)`, in input order.
    pub(crate) images: Vec<(i64, &'a ImageWrite)>,
    /// `(product id, position, ingredient)`.
    pub(crate) ingredients: Vec<(i64, i64, &'a IngredientWrite)>,
    /// `(product id, panel)`.
    pub(crate) panels: Vec<(i64, &'a NutritionWrite)>,
    /// `(product id, position, nutrient)`.
    pub(crate) nutrients: Vec<(i64, i64, &'a NutrientWrite)>,
    /// Ids of stored products whose category path is replaced or cleared.
    pub(crate) gone_categories: Vec<i64>,
    /// `(product id, position, category id)`.
    pub(crate) categories: Vec<(i64, i64, &'a str)>,
    /// Ids of stored products whose labels are replaced or cleared.
    pub(crate) gone_labels: Vec<i64>,
    /// `(product id, position, label id)`.
    pub(crate) labels: Vec<(i64, i64, &'a str)>,
}

impl<'a> ChildRows<'a> {
    /// The child rows of `rows`, where `ids[i]` is the id of `rows[i]`.
    pub(crate) fn collect(rows: &[ProductRow<'a>], ids: &[i64]) -> Self {
        let replaced = |pick: fn(&ProductWrite) -> bool| -> Vec<i64> {
            rows.iter()
                .zip(ids)
                .filter(|(r, _)| r.stored_id.is_some() && pick(r.write))
                .map(|(_, id)| *id)
                .collect()
        };
        let mut c = ChildRows {
            gone_images: replaced(|w| w.images.is_some()),
            gone_ingredients: replaced(|w| w.ingredients.is_some()),
            gone_nutrition: replaced(|w| !matches!(w.nutrition, Patch::Keep)),
            gone_categories: replaced(|w| !matches!(w.category, Patch::Keep)),
            gone_labels: replaced(|w| !matches!(w.labels, Patch::Keep)),
            ..Self::default()
        };
        for (r, &id) in rows.iter().zip(ids) {
            let w = r.write;
            c.images.extend(w.images.iter().flatten().map(|img| (id, img)));
            c.ingredients.extend(
                w.ingredients.iter().flatten().enumerate().map(|(i, ing)| (id, i as i64, ing)),
            );
            if let Patch::Set(path) = &w.category {
                c.categories.extend(
                    path.iter().enumerate().map(|(i, cat)| (id, i as i64, cat.id.as_str())),
                );
            }
            if let Patch::Set(labels) = &w.labels {
                c.labels
                    .extend(labels.iter().enumerate().map(|(i, l)| (id, i as i64, l.id.as_str())));
            }
            if let Patch::Set(n) = &w.nutrition {
                c.panels.push((id, n));
                c.nutrients
                    .extend(n.nutrients.iter().enumerate().map(|(i, nu)| (id, i as i64, nu)));
            }
        }
        c
    }
}

// ---------------------------------------------------------------------------------------------
// Stores.

/// The fields of a store that a write sets, compared to tell an unchanged write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoreFields {
    pub(crate) name: String,
    pub(crate) address: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) postal_code: Option<String>,
    pub(crate) country: String,
    pub(crate) lat: f64,
    pub(crate) lng: f64,
}

/// A stored store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredStore {
    pub(crate) id: i64,
    pub(crate) fields: StoreFields,
    /// JSON.
    pub(crate) metadata: String,
}

impl StoredStore {
    /// Decodes a row of `id, ref, name, address, city, region, postal_code, country, lat, lng,
    /// metadata`: the store ref and the store.
    pub(crate) fn from_row(r: &impl StoredRow) -> Result<(String, Self), sqlx::Error> {
        Ok((
            r.text("ref")?,
            Self {
                id: r.int("id")?,
                fields: StoreFields {
                    name: r.text("name")?,
                    address: r.opt_text("address")?,
                    city: r.opt_text("city")?,
                    region: r.opt_text("region")?,
                    postal_code: r.opt_text("postal_code")?,
                    country: r.text("country")?,
                    lat: r.float("lat")?,
                    lng: r.float("lng")?,
                },
                metadata: r.text("metadata")?,
            },
        ))
    }
}

/// A store to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoreRow<'a> {
    /// `None` for a new store.
    pub(crate) stored_id: Option<i64>,
    pub(crate) retailer_id: i64,
    pub(crate) write: &'a StoreWrite,
    /// The write merged into the stored fields.
    pub(crate) fields: StoreFields,
    /// The merged metadata, JSON.
    pub(crate) metadata: String,
}

/// The store refs of writes by retailer id (ordered, the order stores are locked in), for the
/// retailers found.
pub(crate) fn refs_by_retailer<'b>(
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
pub(crate) fn plan_store<'a>(
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
pub(crate) fn plan_stores<'a>(
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
pub(crate) struct StoredOffer {
    pub(crate) id: i64,
    pub(crate) price_minor: i64,
    pub(crate) currency: String,
    pub(crate) inventory_status: String,
    pub(crate) active: bool,
    /// JSON.
    pub(crate) metadata: String,
}

impl StoredOffer {
    /// Decodes a row of `id, price_minor, currency, inventory_status, active, metadata`.
    pub(crate) fn from_row(r: &impl StoredRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: r.int("id")?,
            price_minor: r.int("price_minor")?,
            currency: r.text("currency")?,
            inventory_status: r.text("inventory_status")?,
            active: r.flag("active")?,
            metadata: r.text("metadata")?,
        })
    }
}

/// An offer to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OfferRow<'a> {
    /// `None` for a new offer.
    pub(crate) stored_id: Option<i64>,
    pub(crate) product_id: i64,
    pub(crate) store_id: i64,
    pub(crate) write: &'a OfferWrite,
    /// The inventory status after the write.
    pub(crate) status: &'static str,
    /// Whether the offer is active after the write.
    pub(crate) active: bool,
    /// The merged metadata, JSON.
    pub(crate) metadata: String,
}

/// The `(product id, store id)` an offer write is for, from the retailer ids by trimmed name,
/// the store ids by (retailer id, ref) and the product ids by GTIN; the reject reason when one
/// is unknown.
pub(crate) fn offer_target(
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
pub(crate) fn plan_offer<'a>(
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
pub(crate) fn plan_offers<'a>(
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

// ---------------------------------------------------------------------------------------------
// Resolver rules.

/// Where a rule applies, as stored: the product (with batch or serial), brand or organization,
/// and the key rules are unique by within their scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RuleScope {
    pub(crate) gtin: Option<String>,
    pub(crate) qualifier: Option<String>,
    pub(crate) brand_id: Option<i64>,
    pub(crate) organization_id: Option<i64>,
    pub(crate) key: String,
}

/// A rule's scope, or the name the backend must look up first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RuleLookup<'r> {
    /// Known from the target alone.
    Ready(RuleScope),
    /// The brand with this name key ([`fold_name`]); the rule names it `name`.
    Brand { name: &'r str, name_key: String },
    /// The organization with this (trimmed) name; the rule names it `name`.
    Organization { name: &'r str, trimmed: &'r str },
}

impl RuleScope {
    /// The scope of a target, or what to look up for it.
    pub(crate) fn of(target: &RuleTarget) -> RuleLookup<'_> {
        let product = |g: &Gtin14, qualifier: Option<&String>, key: String| {
            RuleLookup::Ready(RuleScope {
                gtin: Some(g.as_str().to_owned()),
                qualifier: qualifier.cloned(),
                key,
                ..RuleScope::default()
            })
        };
        match target {
            RuleTarget::Serial(g, s) => product(g, Some(s), format!("{}/21/{s}", g.as_str())),
            RuleTarget::Batch(g, b) => product(g, Some(b), format!("{}/10/{b}", g.as_str())),
            RuleTarget::Product(g) => product(g, None, g.as_str().to_owned()),
            RuleTarget::Brand(name) => RuleLookup::Brand { name, name_key: fold_name(name) },
            RuleTarget::Organization(name) => {
                RuleLookup::Organization { name, trimmed: name.trim() }
            }
            RuleTarget::Global => RuleLookup::Ready(RuleScope::default()),
        }
    }

    /// The scope of a brand rule, by the brand's id.
    pub(crate) fn brand(id: i64) -> Self {
        Self { brand_id: Some(id), key: format!("brand:{id}"), ..Self::default() }
    }

    /// The scope of an organization rule, by the organization's id.
    pub(crate) fn organization(id: i64) -> Self {
        Self { organization_id: Some(id), key: format!("organization:{id}"), ..Self::default() }
    }
}

impl RuleLookup<'_> {
    /// The outcome of a rule whose brand or organization is not in the catalog.
    pub(crate) fn unknown(&self) -> WriteOutcome {
        WriteOutcome::Rejected(match self {
            Self::Brand { name, .. } => format!("brand: no brand named {name:?} in the catalog"),
            Self::Organization { name, .. } => {
                format!("organization: no organization named {name:?}")
            }
            Self::Ready(_) => "the rule's target is unknown".to_owned(),
        })
    }
}

/// A resolver rule to write: the values stored besides the write's own.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RuleRow<'r> {
    pub(crate) rule: &'r RuleWrite,
    /// `SERIAL`, `BATCH`, `PRODUCT`, `BRAND`, `ORGANIZATION` or `GLOBAL`.
    pub(crate) scope_name: &'static str,
    pub(crate) scope: RuleScope,
    pub(crate) order_index: i64,
    /// `CUSTOM_URL` or `HOSTED_PAGE`.
    pub(crate) destination_type: &'static str,
    pub(crate) annual_start: Option<&'r str>,
    pub(crate) annual_end: Option<&'r str>,
    pub(crate) days_of_week: Option<i64>,
    pub(crate) time_start: Option<&'r str>,
    pub(crate) time_end: Option<&'r str>,
    /// JSON lists.
    pub(crate) countries: Option<String>,
    pub(crate) languages: Option<String>,
    /// The metadata entries, JSON.
    pub(crate) metadata: String,
}

impl<'r> RuleRow<'r> {
    /// The row of a rule in its resolved scope.
    pub(crate) fn new(rule: &'r RuleWrite, scope: RuleScope) -> Self {
        let list = |v: &Option<Vec<String>>| {
            v.as_ref().map(|l| json_string_list(l.iter().map(String::as_str)))
        };
        Self {
            rule,
            scope_name: rule.target.scope(),
            scope,
            order_index: i64::from(rule.order_index),
            destination_type: if rule.custom_url.is_some() { "CUSTOM_URL" } else { "HOSTED_PAGE" },
            annual_start: rule.annual.as_ref().map(|a| a.0.as_str()),
            annual_end: rule.annual.as_ref().map(|a| a.1.as_str()),
            days_of_week: rule.days_of_week.map(i64::from),
            time_start: rule.daily.as_ref().map(|d| d.0.as_str()),
            time_end: rule.daily.as_ref().map(|d| d.1.as_str()),
            countries: list(&rule.countries),
            languages: list(&rule.languages),
            metadata: serde_json::to_string(&rule.metadata.entries).unwrap_or_else(|_| "{}".into()),
        }
    }

    /// The outcome of the upsert, given whether the rule was stored before and how many rows
    /// the upsert changed (none when every value was the same).
    pub(crate) fn outcome(existed: bool, rows_affected: u64) -> WriteOutcome {
        match (existed, rows_affected) {
            (false, _) => WriteOutcome::Inserted,
            (true, 0) => WriteOutcome::Unchanged,
            (true, _) => WriteOutcome::Updated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso::CurrencyCode;
    use crate::model::DataSource;

    fn metadata(pairs: &[(&str, &str)]) -> MetadataPatch {
        MetadataPatch::new(pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()).unwrap()
    }

    fn product(name: Option<&str>) -> ProductWrite {
        let mut w = ProductWrite::new(Gtin14::parse("95012346").unwrap(), DataSource::Manual);
        if let Some(n) = name {
            w.name = Patch::Set(n.to_owned());
        }
        w
    }

    fn stored_product() -> StoredProduct {
        StoredProduct {
            id: 7,
            source_hash: Some("old".into()),
            name: "Stored".into(),
            brand_id: Some(3),
            category_id: Some("en:snacks".into()),
            description: Some("Kept".into()),
            net_content: None,
            country_of_origin: Some("CH".into()),
            image_url: None,
            metadata: r#"{"a":"1","b":"2"}"#.into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
            category_path: "en:snacks".into(),
            labels: String::new(),
        }
    }

    #[test]
    fn metadata_merges_deletes_and_reports_which_side_is_bad() {
        let merged =
            merge_metadata(Some(r#"{"a":"1","b":"2"}"#), &metadata(&[("a", ""), ("c", "3")]))
                .unwrap();
        assert_eq!(merged.to_json(), r#"{"b":"2","c":"3"}"#);
        assert_eq!(merge_metadata(None, &metadata(&[])).unwrap().to_json(), "{}");
        let bad = merge_metadata(Some("[1]"), &metadata(&[])).unwrap_err();
        assert!(bad.starts_with("stored metadata: "), "{bad}");
        let full: Vec<(String, String)> = (0..50).map(|i| (format!("k{i}"), "v".into())).collect();
        let stored = Metadata::try_from_map(full.into_iter().collect()).unwrap().to_json();
        let over = merge_metadata(Some(&stored), &metadata(&[("one", "more")])).unwrap_err();
        assert!(over.starts_with("metadata: metadata has 51 keys"), "{over}");
    }

    #[test]
    fn products_are_checked_then_merged_into_the_stored_row() {
        let nameless = product(None);
        assert!(matches!(
            check_product(&nameless, None),
            Some(WriteOutcome::Rejected(r)) if r == "name: a new product needs a name"
        ));
        assert_eq!(check_product(&nameless, Some(&stored_product())), None);
        let mut same = stored_product();
        same.source_hash = Some(nameless.digest().to_owned());
        assert_eq!(check_product(&nameless, Some(&same)), Some(WriteOutcome::Unchanged));

        let mut w = product(Some("  New name "));
        w.brand = Patch::Set(" ACME  Foods".into());
        w.description = Patch::Set("   ".into());
        w.country_of_origin = Patch::Clear;
        w.metadata = metadata(&[("b", ""), ("c", "3")]);
        let brands = HashMap::from([("acme foods".to_owned(), 11)]);
        let row = merge_product(&w, Some(&stored_product()), &brands).unwrap();
        assert_eq!(row.stored_id, Some(7));
        assert_eq!((row.name.as_str(), row.brand_id), ("New name", Some(11)));
        assert_eq!(row.category_id.as_deref(), Some("en:snacks"));
        assert_eq!((row.description, row.country_of_origin), (None, None));
        assert_eq!(row.metadata, r#"{"a":"1","c":"3"}"#);
        assert_eq!(row.source_hash, w.digest());

        let batch = [product(Some("A")), nameless, product(Some("C"))];
        let mut plan = ProductPlan::new(&batch);
        plan.skip_unchanged(&HashMap::new());
        plan.check(&HashMap::new());
        assert_eq!(plan.pending().count(), 2);
        let rows = plan.merge(&HashMap::new(), &HashMap::new());
        assert_eq!(rows.len(), 2);
        let children = ChildRows::collect(&rows, &[1, 2]);
        assert!(children.gone_images.is_empty() && children.images.is_empty());
        let out = plan.outcomes();
        assert_eq!(out[0], WriteOutcome::Inserted);
        assert!(matches!(out[1], WriteOutcome::Rejected(_)));
    }

    #[test]
    fn offers_keep_left_out_fields_and_recognize_unchanged_writes() {
        let o = OfferWrite {
            gtin: Gtin14::parse("95012346").unwrap(),
            retailer: " Acme ".into(),
            store_ref: "s1".into(),
            price_minor: 349,
            currency: CurrencyCode::parse("USD").unwrap(),
            inventory_status: None,
            active: None,
            metadata: MetadataPatch::default(),
        };
        let stored = StoredOffer {
            id: 5,
            price_minor: 349,
            currency: "USD".into(),
            inventory_status: "low_stock".into(),
            active: false,
            metadata: "{}".into(),
        };
        assert!(matches!(
            plan_offer(&o, 1, 2, Some(&stored)),
            Decision::Done(WriteOutcome::Unchanged)
        ));
        let Decision::Write(row) = plan_offer(&o, 1, 2, None) else { panic!("a new offer") };
        assert_eq!((row.stored_id, row.status, row.active), (None, "unknown", true));
        let retailers = HashMap::from([("Acme".to_owned(), 9)]);
        let stores = HashMap::from([((9, "s1".to_owned()), 2)]);
        assert!(
            offer_target(&o, &retailers, &stores, &HashMap::new())
                .unwrap_err()
                .starts_with("gtin: ")
        );
        let products = HashMap::from([("00000095012346".to_owned(), 1)]);
        assert_eq!(offer_target(&o, &retailers, &stores, &products), Ok((1, 2)));
    }

    #[test]
    fn rule_scopes_and_outcomes() {
        let g = Gtin14::parse("95012346").unwrap();
        let RuleLookup::Ready(s) = RuleScope::of(&RuleTarget::Serial(g, "S1".into())) else {
            panic!("a serial rule needs no lookup")
        };
        assert_eq!((s.key.as_str(), s.qualifier.as_deref()), ("00000095012346/21/S1", Some("S1")));
        let target = RuleTarget::Brand(" Acme  Foods".into());
        let brand = RuleScope::of(&target);
        assert!(matches!(&brand, RuleLookup::Brand { name_key, .. } if name_key == "acme foods"));
        assert!(
            matches!(brand.unknown(), WriteOutcome::Rejected(r) if r.starts_with("brand: no brand"))
        );
        assert_eq!(RuleScope::brand(4).key, "brand:4");
        assert_eq!(RuleRow::outcome(true, 0), WriteOutcome::Unchanged);
        assert_eq!(RuleRow::outcome(false, 0), WriteOutcome::Inserted);
    }
}

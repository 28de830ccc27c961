//! Product writes: checking a write against the stored product, merging it, deciding the
//! outcome of each write of a batch ([`ProductPlan`]), the brands and categories to create
//! first, and the child rows (images, ingredients, nutrition, categories, labels) to replace.

use std::collections::{HashMap, HashSet};

use super::{invalid, merge_metadata, patched_text, written};
use crate::model::{
    ImageWrite, IngredientWrite, NutrientWrite, NutritionWrite, Patch, ProductWrite, WriteOutcome,
    fold_name,
};

/// The columns of a product row that a write sets, stored or merged: equal fields (and no
/// children replaced) make a write that changes nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductFields {
    pub name: String,
    pub brand_id: Option<i64>,
    pub category_id: Option<String>,
    pub description: Option<String>,
    pub net_content: Option<String>,
    pub country_of_origin: Option<String>,
    pub image_url: Option<String>,
    /// The metadata, JSON.
    pub metadata: String,
}

/// A stored product, as far as a write merges into it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProduct {
    pub id: i64,
    /// The digest of the last write applied.
    pub source_hash: Option<String>,
    pub fields: ProductFields,
    /// When the row last changed (the version `ProductWrite::if_updated_at` names).
    pub updated_at: String,
    /// The category path's ids, joined by [`ID_SEPARATOR`] (empty without a category).
    pub category_path: String,
    /// The labels' ids, joined by [`ID_SEPARATOR`].
    pub labels: String,
}

/// Joins the ids of a stored category path or label list in [`StoredProduct`] (no id holds it:
/// ids are trimmed text without control characters).
pub const ID_SEPARATOR: char = '\n';

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

/// A product to write: the write merged into the stored row.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductRow<'a> {
    pub write: &'a ProductWrite,
    /// The stored row's id; `None` for a new product (the backend gives it an id).
    pub stored_id: Option<i64>,
    /// The write merged into the stored fields.
    pub fields: ProductFields,
    /// The write's digest, stored to recognize the same write next time.
    pub source_hash: &'a str,
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
            && self.fields == stored.fields
    }
}

/// Whether a write is identical to the last one applied to a product whose stored digest is
/// `stored_hash`.
pub fn is_unchanged(w: &ProductWrite, stored_hash: Option<&str>) -> bool {
    stored_hash == Some(w.digest())
}

/// What is decided about a product write before merging it: `Unchanged` when it is identical
/// to the last write applied, `Rejected` when it is invalid or names no name for a new product,
/// `None` when it is to be merged ([`merge_product`]).
pub fn check_product(w: &ProductWrite, stored: Option<&StoredProduct>) -> Option<WriteOutcome> {
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
pub struct References<'a> {
    /// Brands by name key ([`fold_name`]) → display name (trimmed).
    pub brands: HashMap<String, String>,
    /// Categories as `(id, name, parent id)`, each once, parents before their children.
    pub categories: Vec<(&'a str, &'a str, Option<&'a str>)>,
    seen: HashSet<&'a str>,
    /// Labels as `(id, name)`, each once.
    pub labels: Vec<(&'a str, &'a str)>,
    seen_labels: HashSet<&'a str>,
}

impl<'a> References<'a> {
    /// Adds the brand and the category path a write sets.
    pub fn add(&mut self, w: &'a ProductWrite) {
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
pub fn merge_product<'a>(
    w: &'a ProductWrite,
    stored: Option<&StoredProduct>,
    brand_ids: &HashMap<String, i64>,
) -> Result<ProductRow<'a>, String> {
    let metadata = merge_metadata(stored.map(|s| s.fields.metadata.as_str()), &w.metadata)?;
    let name = match (&w.name, stored) {
        (Patch::Set(n), _) => n.trim().to_owned(),
        (_, Some(s)) => s.fields.name.clone(),
        (_, None) => String::new(), // unreachable: `check_product` rejects it
    };
    Ok(ProductRow {
        write: w,
        stored_id: stored.map(|s| s.id),
        fields: ProductFields {
            name,
            brand_id: match &w.brand {
                Patch::Keep => stored.and_then(|s| s.fields.brand_id),
                Patch::Clear => None,
                Patch::Set(name) => brand_ids.get(&fold_name(name)).copied(),
            },
            category_id: match &w.category {
                Patch::Keep => stored.and_then(|s| s.fields.category_id.clone()),
                Patch::Clear => None,
                Patch::Set(path) => path.last().map(|c| c.id.clone()),
            },
            description: patched_text(&w.description, stored.map(|s| &s.fields.description)),
            net_content: patched_text(&w.net_content, stored.map(|s| &s.fields.net_content)),
            country_of_origin: match &w.country_of_origin {
                Patch::Keep => stored.and_then(|s| s.fields.country_of_origin.clone()),
                Patch::Clear => None,
                Patch::Set(c) => Some(c.as_str().to_owned()),
            },
            image_url: patched_text(&w.image_url, stored.map(|s| &s.fields.image_url)),
            metadata: metadata.to_json(),
        },
        source_hash: w.digest(),
    })
}

/// The plan of a batch of product writes, decided in steps between the backend's reads: skip
/// unchanged writes ([`ProductPlan::skip_unchanged`], optional), check the others against the
/// stored rows ([`ProductPlan::check`]), create the [`ProductPlan::references`], then
/// [`ProductPlan::merge`].
#[derive(Debug)]
pub struct ProductPlan<'a> {
    batch: &'a [ProductWrite],
    /// Per write; `None` while undecided.
    outcomes: Vec<Option<WriteOutcome>>,
}

impl<'a> ProductPlan<'a> {
    /// Every write undecided.
    pub fn new(batch: &'a [ProductWrite]) -> Self {
        Self { batch, outcomes: vec![None; batch.len()] }
    }

    /// The undecided writes.
    pub fn pending(&self) -> impl Iterator<Item = &'a ProductWrite> + '_ {
        self.batch.iter().zip(&self.outcomes).filter(|(_, o)| o.is_none()).map(|(w, _)| w)
    }

    /// Decides `Unchanged` the writes identical to the last one applied, by the stored digests
    /// (GTIN → source hash), before the stored rows are read in full.
    pub fn skip_unchanged(&mut self, stored_hashes: &HashMap<String, Option<String>>) {
        for (w, o) in self.batch.iter().zip(&mut self.outcomes) {
            if stored_hashes.get(w.gtin.as_str()).is_some_and(|h| is_unchanged(w, h.as_deref())) {
                *o = Some(WriteOutcome::Unchanged);
            }
        }
    }

    /// [`check_product`] on every undecided write, against the stored products by GTIN.
    pub fn check(&mut self, existing: &HashMap<String, StoredProduct>) {
        for (w, o) in self.batch.iter().zip(&mut self.outcomes) {
            if o.is_none() {
                *o = check_product(w, existing.get(w.gtin.as_str()));
            }
        }
    }

    /// The brands and categories the undecided writes refer to.
    pub fn references(&self) -> References<'a> {
        let mut refs = References::default();
        for w in self.pending() {
            refs.add(w);
        }
        refs
    }

    /// [`merge_product`] on every undecided write: the rows to write, in input order; each
    /// write is decided (inserted, updated or rejected).
    pub fn merge(
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
    pub fn outcomes(self) -> Vec<WriteOutcome> {
        self.outcomes.into_iter().map(|o| o.unwrap_or(WriteOutcome::Unchanged)).collect()
    }
}

/// The child rows of written products, borrowed from the writes and keyed by product id.
#[derive(Debug, Default)]
pub struct ChildRows<'a> {
    /// Ids of stored products whose images are replaced (new products have none yet).
    pub gone_images: Vec<i64>,
    /// Ids of stored products whose ingredients are replaced.
    pub gone_ingredients: Vec<i64>,
    /// Ids of stored products whose nutrition panel is replaced or cleared.
    pub gone_nutrition: Vec<i64>,
    /// `(product id, image)`, in input order.
    pub images: Vec<(i64, &'a ImageWrite)>,
    /// `(product id, position, ingredient)`.
    pub ingredients: Vec<(i64, i64, &'a IngredientWrite)>,
    /// `(product id, panel)`.
    pub panels: Vec<(i64, &'a NutritionWrite)>,
    /// `(product id, position, nutrient)`.
    pub nutrients: Vec<(i64, i64, &'a NutrientWrite)>,
    /// Ids of stored products whose category path is replaced or cleared.
    pub gone_categories: Vec<i64>,
    /// `(product id, position, category id)`.
    pub categories: Vec<(i64, i64, &'a str)>,
    /// Ids of stored products whose labels are replaced or cleared.
    pub gone_labels: Vec<i64>,
    /// `(product id, position, label id)`.
    pub labels: Vec<(i64, i64, &'a str)>,
}

impl<'a> ChildRows<'a> {
    /// The child rows of `rows`, where `ids[i]` is the id of `rows[i]`.
    pub fn collect(rows: &[ProductRow<'a>], ids: &[i64]) -> Self {
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

//! Product management on behalf of an organization (the REST API, docs/spec.md §7): create, replace,
//! merge-update and delete one product. An organization acts only on products of brands it
//! owns; a product written with a brand nobody has yet creates that brand for the
//! organization. Writes go through the same store path as imports (validation, metadata merge
//! of docs/spec.md §2, unchanged detection, search and embedding re-queueing).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::error::{FieldError, ServiceError};
use crate::iso::CountryCode;
use crate::model::{
    CategoryRef, DataSource, ImageWrite, IngredientWrite, LabelRef, MetadataPatch, NutritionWrite,
    Patch, ProductWrite, WriteOutcome,
};
use crate::service::{Catalog, parse_gtin_field};

/// How a write treats fields the body leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// A new product; fails with `conflict` when the GTIN exists. Absent fields stay empty.
    Create,
    /// Create or replace (`PUT`): absent fields are cleared, metadata is replaced.
    Replace,
    /// Update (`PATCH`): absent fields are kept, `null` clears, metadata merges.
    Merge,
}

/// `Some(value)` for a field that is present (`Some(None)` for `null`), `None` when absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A product as a brand owner writes it. With `PATCH`, leave a field out to keep it and send
/// `null` to clear it; with `PUT` and `POST`, fields left out are empty.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// The GTIN (only in `POST /api/v1/products`; elsewhere the path names the product).
    #[serde(default)]
    pub gtin: Option<String>,
    /// Product name (required for a new product).
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>", length(min = 1, max = 500))]
    pub name: Option<Option<String>>,
    /// Brand name; your organization must own it (a new brand becomes yours).
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>", length(min = 1, max = 200))]
    pub brand: Option<Option<String>>,
    /// Category, by id and display name (created when unknown).
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<CategoryRef>")]
    pub category: Option<Option<CategoryRef>>,
    /// Labels (organic, gluten-free, certifications), each by id and display name (created
    /// when unknown); `null` or `[]` removes them.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Vec<LabelRef>>")]
    pub labels: Option<Option<Vec<LabelRef>>>,
    /// Description.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    pub description: Option<Option<String>>,
    /// Net content as printed, e.g. `340 g`.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    pub net_content: Option<Option<String>>,
    /// Country of origin, ISO 3166-1 alpha-2.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>", length(min = 2, max = 2))]
    pub country_of_origin: Option<Option<String>>,
    /// Main image URL (http or https).
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    pub image_url: Option<Option<String>>,
    /// Flat string map. `PATCH` merges it into the stored map (an empty string deletes a
    /// key); `PUT` and `POST` replace the map. At most 50 keys of up to 40 characters, values
    /// up to 500.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// All images (replacing the stored ones); `null` or `[]` removes them.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Vec<ImageWrite>>")]
    pub images: Option<Option<Vec<ImageWrite>>>,
    /// All ingredients in label order (replacing the stored ones); `null` or `[]` removes them.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Vec<IngredientWrite>>")]
    pub ingredients: Option<Option<Vec<IngredientWrite>>>,
    /// The nutrition panel; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<NutritionWrite>")]
    pub nutrition: Option<Option<NutritionWrite>>,
}

/// A field's patch under a mode: absent keeps (merge) or clears (create, replace).
fn patch<T>(field: Option<Option<T>>, mode: WriteMode) -> Patch<T> {
    match field {
        None if mode == WriteMode::Merge => Patch::Keep,
        None | Some(None) => Patch::Clear,
        Some(Some(v)) => Patch::Set(v),
    }
}

/// A list field's replacement: `None` keeps the stored list (merge, absent).
fn list<T>(field: Option<Option<Vec<T>>>, mode: WriteMode) -> Option<Vec<T>> {
    match (field, mode) {
        (None, WriteMode::Merge) => None,
        (v, _) => Some(v.flatten().unwrap_or_default()),
    }
}

impl ProductInput {
    /// The store write for `gtin`, or every field error found.
    fn into_write(
        self,
        gtin: gs1::Gtin14,
        mode: WriteMode,
    ) -> Result<ProductWrite, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut w = ProductWrite::new(gtin, DataSource::Api);
        w.name = patch(self.name, mode);
        w.brand = patch(self.brand, mode);
        w.category = match patch(self.category, mode) {
            Patch::Set(c) => Patch::Set(vec![c]),
            Patch::Clear => Patch::Clear,
            Patch::Keep => Patch::Keep,
        };
        w.labels = match patch(self.labels, mode) {
            Patch::Set(l) if l.is_empty() => Patch::Clear,
            other => other,
        };
        w.description = patch(self.description, mode);
        w.net_content = patch(self.net_content, mode);
        w.country_of_origin = match patch(self.country_of_origin, mode) {
            Patch::Set(c) => match CountryCode::parse(&c) {
                Ok(code) => Patch::Set(code),
                Err(e) => {
                    errors.push(FieldError::new("country_of_origin", e));
                    Patch::Keep
                }
            },
            Patch::Clear => Patch::Clear,
            Patch::Keep => Patch::Keep,
        };
        w.image_url = patch(self.image_url, mode);
        let entries = self.metadata.unwrap_or_default();
        w.metadata = if mode == WriteMode::Merge {
            match MetadataPatch::new(entries) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(FieldError::new("metadata", e.0));
                    MetadataPatch::default()
                }
            }
        } else if let Some((k, _)) = entries.iter().find(|(_, v)| v.is_empty()) {
            errors.push(FieldError::new(
                format!("metadata.{k}"),
                "is empty: an empty value deletes a key in PATCH; leave the key out here",
            ));
            MetadataPatch::default()
        } else {
            match MetadataPatch::new(entries) {
                Ok(p) => MetadataPatch { clear: true, entries: p.entries },
                Err(e) => {
                    errors.push(FieldError::new("metadata", e.0));
                    MetadataPatch::default()
                }
            }
        };
        w.images = list(self.images, mode);
        w.ingredients = list(self.ingredients, mode);
        w.nutrition = patch(self.nutrition, mode);
        if let Err(e) = &w.check().1 {
            errors.push(e.clone());
        }
        if errors.is_empty() { Ok(w) } else { Err(errors) }
    }
}

/// Turns a store's rejection reason (`field: message`) into a validation error.
fn rejected(reason: String) -> ServiceError {
    match reason.split_once(": ") {
        Some((field, message)) if !field.contains(' ') => ServiceError::invalid(field, message),
        _ => ServiceError::Unprocessable(reason),
    }
}

fn not_yours(gtin: gs1::Gtin14) -> ServiceError {
    ServiceError::Forbidden(format!(
        "the product {gtin} belongs to another organization (or to none): you can change only products of your organization's brands"
    ))
}

impl Catalog {
    /// Creates, replaces or updates one product for `organization_id`. Returns what the store
    /// did: `Inserted`, `Updated`, `Unchanged`, or — when `if_updated_at` is given and the
    /// stored product is no longer that version, checked atomically with the write — `Stale`.
    pub async fn write_product(
        &self,
        organization_id: i64,
        gtin: &str,
        input: ProductInput,
        mode: WriteMode,
        if_updated_at: Option<String>,
    ) -> Result<WriteOutcome, ServiceError> {
        let gtin = parse_gtin_field("gtin", gtin)?;
        let owner = self.store().product_organization(gtin).await?;
        match (mode, owner) {
            (WriteMode::Create, Some(_)) => {
                return Err(ServiceError::Conflict(format!(
                    "a product with GTIN {gtin} already exists; change it with PUT or PATCH /api/v1/products/{gtin}"
                )));
            }
            (WriteMode::Merge, None) => {
                return Err(ServiceError::NotFound(format!(
                    "no product with GTIN {gtin} is in the catalog; create it with POST /api/v1/products or PUT"
                )));
            }
            (_, Some(owner)) if owner != Some(organization_id) => return Err(not_yours(gtin)),
            _ => {}
        }
        let mut w = input.into_write(gtin, mode).map_err(ServiceError::invalid_fields)?;
        w.if_updated_at = if_updated_at;
        if owner.is_none() && !matches!(w.name, Patch::Set(_)) {
            return Err(ServiceError::invalid("name", "is required for a new product"));
        }
        match &w.brand {
            Patch::Set(name) => match self.store().brand_organization(name).await? {
                None => {
                    self.store().create_brand(name, organization_id).await?;
                }
                Some(Some(o)) if o == organization_id => {}
                Some(_) => {
                    return Err(ServiceError::Forbidden(format!(
                        "the brand {:?} belongs to another organization (or to none): use one of your organization's brands or a new brand name",
                        name.trim()
                    )));
                }
            },
            Patch::Clear => {
                return Err(ServiceError::invalid(
                    "brand",
                    "is required: an organization's product belongs to one of its brands",
                ));
            }
            Patch::Keep => {}
        }
        let outcome = self
            .store()
            .upsert_products(std::slice::from_ref(&w))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::Internal("the store returned no outcome".into()))?;
        match outcome {
            WriteOutcome::Rejected(reason) => Err(rejected(reason)),
            done => Ok(done),
        }
    }

    /// Deletes one of `organization_id`'s products; with `if_updated_at`, only if it is still
    /// that version (checked in the delete statement). `false` when it was not that version.
    pub async fn delete_product(
        &self,
        organization_id: i64,
        gtin: &str,
        if_updated_at: Option<&str>,
    ) -> Result<bool, ServiceError> {
        let gtin = parse_gtin_field("gtin", gtin)?;
        match self.store().product_organization(gtin).await? {
            None => Err(ServiceError::NotFound(format!(
                "no product with GTIN {gtin} is in the catalog"
            ))),
            Some(owner) if owner != Some(organization_id) => Err(not_yours(gtin)),
            Some(_) => Ok(self.store().delete_product(gtin, if_updated_at).await?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gtin() -> gs1::Gtin14 {
        gs1::Gtin14::parse("614141123452").unwrap_or_else(|e| panic!("{e}"))
    }

    fn input(json: &str) -> ProductInput {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn absent_null_and_values_follow_the_mode() {
        let i =
            || input(r#"{"name": "Tea", "description": null, "metadata": {"a": "1", "b": ""}}"#);
        let w = i().into_write(gtin(), WriteMode::Merge).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(w.name, Patch::Set("Tea".into()));
        assert_eq!(w.description, Patch::Clear);
        assert_eq!(w.net_content, Patch::Keep);
        assert_eq!(w.images, None);
        assert!(!w.metadata.clear);
        assert_eq!(w.metadata.entries.get("b").map(String::as_str), Some(""));
        let errors = i().into_write(gtin(), WriteMode::Replace).err().unwrap_or_default();
        assert_eq!(errors[0].field, "metadata.b", "{errors:?}");
        let w = input(r#"{"name": "Tea", "metadata": {"a": "1"}}"#)
            .into_write(gtin(), WriteMode::Replace)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(w.net_content, Patch::Clear);
        assert_eq!(w.images, Some(vec![]));
        assert!(w.metadata.clear);
    }

    #[test]
    fn bad_fields_are_named() {
        let errors = input(r#"{"name": "Tea", "country_of_origin": "XX", "image_url": "ftp://x"}"#)
            .into_write(gtin(), WriteMode::Merge)
            .err()
            .unwrap_or_default();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"country_of_origin"), "{errors:?}");
        assert!(serde_json::from_str::<ProductInput>(r#"{"colour": "red"}"#).is_err());
    }
}

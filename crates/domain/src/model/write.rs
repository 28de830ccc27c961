//! What a write says: product, store, offer and rule writes with their field patches, the
//! checks each runs before anything is stored, and the outcome of each write.

use gs1::Gtin14;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::iso::{CountryCode, CurrencyCode};

use super::*;

/// A field update: keep the stored value, clear it, or set a new one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub enum Patch<T> {
    /// Leave the stored value as it is.
    #[default]
    Keep,
    /// Remove the stored value.
    Clear,
    /// Store this value.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the patch keeps the stored value.
    pub fn is_keep(&self) -> bool {
        matches!(self, Self::Keep)
    }
}

impl<T: Clone> Patch<T> {
    /// The value after applying this patch to `current`.
    pub fn apply(&self, current: Option<T>) -> Option<T> {
        match self {
            Self::Keep => current,
            Self::Clear => None,
            Self::Set(v) => Some(v.clone()),
        }
    }

    /// `Set` for `Some`, `Clear` for `None`.
    pub fn from_option(v: Option<T>) -> Self {
        v.map_or(Self::Clear, Self::Set)
    }
}

/// A category reference: OFF tag (`en:pastas`) or taxonomy id, with its display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CategoryRef {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A label a product carries (organic, gluten-free, a certification): OFF tag
/// (`en:organic`, `fr:ab-agriculture-biologique`) or another stable id, with its display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LabelRef {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A product image to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ImageWrite {
    /// Absolute http(s) URL.
    pub url: String,
    /// Short title.
    #[serde(default)]
    pub title: Option<String>,
    /// Longer description (alt text).
    #[serde(default)]
    pub description: Option<String>,
    /// Lower comes first.
    #[serde(default)]
    pub priority: u32,
    /// The product's main image (at most one).
    #[serde(default)]
    pub is_primary: bool,
}

/// An ingredient to store, in label order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IngredientWrite {
    /// Name as printed.
    pub name: String,
    /// Share of the product's weight, 0–100, when the label says.
    #[serde(default)]
    pub percentage_of_weight: Option<f64>,
}

/// A nutrient amount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NutrientWrite {
    /// Nutrient name (`fat`, `sugars`, `energy-kcal`, …).
    pub name: String,
    /// Amount per the label format's basis.
    pub amount: f64,
    /// Unit (`g`, `mg`, `kcal`, `kJ`, `% vol`, …).
    pub unit: String,
    /// Percent of daily value, when the label says.
    #[serde(default)]
    pub daily_value_pct: Option<f64>,
}

/// A nutrition panel to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NutritionWrite {
    /// Serving size as printed (`30 g`).
    #[serde(default)]
    pub serving_size: Option<String>,
    /// Servings per container.
    #[serde(default)]
    pub servings_per_container: Option<f64>,
    /// Basis of the amounts.
    pub label_format: LabelFormat,
    /// Nutrients in label order (names unique).
    pub nutrients: Vec<NutrientWrite>,
}

/// Everything a product write may change. Fields left at `Keep` (and `None` lists) keep the
/// stored values, which lets an import whose file lacks a column leave that column alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductWrite {
    /// The product.
    pub gtin: Gtin14,
    /// Required when the product is new.
    pub name: Patch<String>,
    /// Brand by name; created when unknown (matched case-insensitively).
    pub brand: Patch<String>,
    /// Category path from general to specific; the product keeps the whole path, and the last
    /// one is its category.
    pub category: Patch<Vec<CategoryRef>>,
    /// Labels, in the order given (each id once).
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub labels: Patch<Vec<LabelRef>>,
    /// Description.
    pub description: Patch<String>,
    /// Net content as printed (`340 g`).
    pub net_content: Patch<String>,
    /// Country of origin.
    pub country_of_origin: Patch<CountryCode>,
    /// Main image URL.
    pub image_url: Patch<String>,
    /// Where the record comes from.
    pub data_source: DataSource,
    /// Metadata merge patch.
    pub metadata: MetadataPatch,
    /// Replaces all images when `Some`.
    pub images: Option<Vec<ImageWrite>>,
    /// Replaces all ingredients when `Some`.
    pub ingredients: Option<Vec<IngredientWrite>>,
    /// Replaces (or clears) the nutrition panel.
    pub nutrition: Patch<NutritionWrite>,
    /// Optimistic concurrency: write only if the stored product's `updated_at` is still this
    /// (checked under the row lock in the write's transaction); otherwise the outcome is
    /// [`WriteOutcome::Stale`]. Not part of the digest.
    #[serde(skip)]
    pub if_updated_at: Option<String>,
    /// Digest and validation result, computed once (importers compute it on their parsing
    /// thread, so the database writer does not).
    #[serde(skip)]
    pub checked: CheckCache,
}

/// A computed-once `(digest, validation)` pair; ignored by equality and serialization.
#[derive(Debug, Clone, Default)]
pub struct CheckCache(std::sync::OnceLock<(String, Result<(), FieldError>)>);

impl PartialEq for CheckCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ProductWrite {
    /// A write that changes nothing but the data source.
    pub fn new(gtin: Gtin14, data_source: DataSource) -> Self {
        Self {
            gtin,
            name: Patch::Keep,
            brand: Patch::Keep,
            category: Patch::Keep,
            labels: Patch::Keep,
            description: Patch::Keep,
            net_content: Patch::Keep,
            country_of_origin: Patch::Keep,
            image_url: Patch::Keep,
            data_source,
            metadata: MetadataPatch::default(),
            images: None,
            ingredients: None,
            nutrition: Patch::Keep,
            if_updated_at: None,
            checked: CheckCache::default(),
        }
    }

    /// A stable digest of this write, used to skip writes identical to the last one applied.
    pub fn digest(&self) -> &str {
        &self.check().0
    }

    /// The digest and the validation result, computed on first use and cached. Do not change
    /// the write after calling this.
    pub fn check(&self) -> &(String, Result<(), FieldError>) {
        self.checked.0.get_or_init(|| {
            use sha2::Digest;
            let json = serde_json::to_vec(self).unwrap_or_default();
            (hex::encode(&sha2::Sha256::digest(&json)[..16]), self.validate())
        })
    }
}

/// A store to create or update, keyed by retailer name and the retailer's store ref.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreWrite {
    /// Retailer name (created when unknown).
    pub retailer: String,
    /// The retailer's key for this store.
    pub store_ref: String,
    /// Display name.
    pub name: String,
    /// Street address (`Keep` leaves a stored value alone).
    pub address: Patch<String>,
    /// City.
    pub city: Patch<String>,
    /// State or region.
    pub region: Patch<String>,
    /// Postal code.
    pub postal_code: Patch<String>,
    /// Country.
    pub country: CountryCode,
    /// Location.
    pub lat: f64,
    /// Location.
    pub lng: f64,
    /// Metadata merge patch.
    pub metadata: MetadataPatch,
}

/// What a resolver rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RuleTarget {
    /// One serialized item of a product.
    Serial(Gtin14, String),
    /// One batch/lot of a product.
    Batch(Gtin14, String),
    /// One product.
    Product(Gtin14),
    /// Every product of a brand, by name.
    Brand(String),
    /// Every product of an organization's brands, by name.
    Organization(String),
    /// Everything.
    Global,
}

impl RuleTarget {
    /// The scope name stored with the rule.
    pub fn scope(&self) -> &'static str {
        match self {
            Self::Serial(..) => "SERIAL",
            Self::Batch(..) => "BATCH",
            Self::Product(_) => "PRODUCT",
            Self::Brand(_) => "BRAND",
            Self::Organization(_) => "ORGANIZATION",
            Self::Global => "GLOBAL",
        }
    }
}

/// A resolver rule to create or update, keyed by target and `order_index` (all fields checked
/// by the importer; the database checks them again).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleWrite {
    /// What it applies to.
    pub target: RuleTarget,
    /// Position within its scope.
    pub order_index: u32,
    /// Whether it takes part.
    pub enabled: bool,
    /// Link type CURIE; `None` = the default link.
    pub link_type: Option<String>,
    /// The brand's URL (`CUSTOM_URL`), or `None` for the hosted page.
    pub custom_url: Option<String>,
    /// `SKIP_RULE` or `FALLBACK_TO_HOSTED`.
    pub on_custom_url_dead: String,
    /// RFC 3339 start.
    pub starts_at: Option<String>,
    /// RFC 3339 end (exclusive).
    pub ends_at: Option<String>,
    /// Annual window `MM-DD`…`MM-DD`.
    pub annual: Option<(String, String)>,
    /// ISO weekdays as bits (Monday = 1 … Sunday = 64).
    pub days_of_week: Option<u8>,
    /// Daily window `HH:MM`…`HH:MM`.
    pub daily: Option<(String, String)>,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// ISO 3166-1 alpha-2 codes.
    pub countries: Option<Vec<String>>,
    /// Language tags.
    pub languages: Option<Vec<String>>,
    /// The link's human-readable title.
    pub title: Option<String>,
    /// Metadata.
    pub metadata: MetadataPatch,
}

/// An offer to create or update, keyed by product and store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfferWrite {
    /// The product (must exist).
    pub gtin: Gtin14,
    /// Retailer name (must exist).
    pub retailer: String,
    /// Store ref within the retailer (must exist).
    pub store_ref: String,
    /// Price in minor units of `currency`.
    pub price_minor: i64,
    /// Currency.
    #[serde(serialize_with = "ser_currency")]
    pub currency: CurrencyCode,
    /// Stock state; `None` keeps the stored one (`unknown` for a new offer).
    pub inventory_status: Option<InventoryStatus>,
    /// Whether the offer is live; `None` keeps the stored value (`true` for a new offer).
    pub active: Option<bool>,
    /// Metadata merge patch.
    pub metadata: MetadataPatch,
}

fn ser_currency<S: serde::Serializer>(c: &CurrencyCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.as_str())
}

/// What a store did with one row of a batch write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Created.
    Inserted,
    /// Existing record changed.
    Updated,
    /// Identical to the last write applied, or to the stored values; nothing changed.
    Unchanged,
    /// Refused, with the reason.
    Rejected(String),
    /// Not applied: the stored record is no longer the version the write named
    /// ([`ProductWrite::if_updated_at`]).
    Stale,
}

/// The key brands are matched by: trimmed, inner whitespace collapsed, Unicode lower case.
pub fn fold_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The current time as stored: RFC 3339 UTC with milliseconds (`2026-11-27T21:00:18.123Z`).
pub fn now_rfc3339() -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc().format(FORMAT).unwrap_or_default()
}

fn is_http_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://".len()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    let n = value.trim().chars().count();
    if n == 0 {
        return Err(FieldError::new(field, "must not be empty (omit the field instead)"));
    }
    if n > max {
        return Err(FieldError::new(
            field,
            format!("has {n} characters; at most {max} are allowed"),
        ));
    }
    Ok(())
}

fn check_url(field: &str, url: &str) -> Result<(), FieldError> {
    if !is_http_url(url) || url.len() > 2000 {
        return Err(FieldError::new(
            field,
            format!("{url:?} is not an absolute http(s) URL of at most 2000 characters"),
        ));
    }
    Ok(())
}

/// Most levels in a category path.
pub const MAX_PATH: usize = 64;
/// Most labels on a product.
pub const MAX_LABELS: usize = 100;

impl ProductWrite {
    /// Checks every field against the limits the schema enforces, naming the first bad field.
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Patch::Set(n) = &self.name {
            check_text("name", n, 500)?;
        }
        if let Patch::Set(b) = &self.brand {
            check_text("brand", b, 200)?;
        }
        if let Patch::Set(path) = &self.category {
            if path.is_empty() {
                return Err(FieldError::new("category", "an empty category path; use Clear"));
            }
            for c in path {
                check_text("category.id", &c.id, 200)?;
                check_text("category.name", &c.name, 200)?;
            }
            if path.len() > MAX_PATH {
                return Err(FieldError::new(
                    "category",
                    format!("has {} levels; at most {MAX_PATH} are allowed", path.len()),
                ));
            }
        }
        if let Patch::Set(labels) = &self.labels {
            if labels.len() > MAX_LABELS {
                return Err(FieldError::new(
                    "labels",
                    format!("has {} labels; at most {MAX_LABELS} are allowed", labels.len()),
                ));
            }
            let mut ids = std::collections::HashSet::new();
            for (i, l) in labels.iter().enumerate() {
                check_text(&format!("labels[{i}].id"), &l.id, 200)?;
                check_text(&format!("labels[{i}].name"), &l.name, 200)?;
                if !ids.insert(l.id.trim()) {
                    return Err(FieldError::new(
                        format!("labels[{i}].id"),
                        format!("{:?} is listed twice", l.id),
                    ));
                }
            }
        }
        if let Patch::Set(d) = &self.description {
            check_text("description", d, 10_000)?;
        }
        if let Patch::Set(n) = &self.net_content {
            check_text("net_content", n, 100)?;
        }
        if let Patch::Set(u) = &self.image_url {
            check_url("image_url", u)?;
        }
        if let Some(images) = &self.images {
            if images.iter().filter(|i| i.is_primary).count() > 1 {
                return Err(FieldError::new("images", "at most one image may be primary"));
            }
            for (i, img) in images.iter().enumerate() {
                check_url(&format!("images[{i}].url"), &img.url)?;
                if let Some(t) = &img.title {
                    check_text(&format!("images[{i}].title"), t, 200)?;
                }
                if let Some(d) = &img.description {
                    check_text(&format!("images[{i}].description"), d, 1000)?;
                }
            }
        }
        if let Some(ingredients) = &self.ingredients {
            for (i, ing) in ingredients.iter().enumerate() {
                check_text(&format!("ingredients[{i}].name"), &ing.name, 500)?;
                if let Some(p) = ing.percentage_of_weight
                    && !(p.is_finite() && (0.0..=100.0).contains(&p))
                {
                    return Err(FieldError::new(
                        format!("ingredients[{i}].percentage_of_weight"),
                        format!("{p} is outside 0 to 100"),
                    ));
                }
            }
        }
        if let Patch::Set(n) = &self.nutrition {
            if let Some(s) = &n.serving_size {
                check_text("nutrition.serving_size", s, 100)?;
            }
            if let Some(s) = n.servings_per_container
                && !(s.is_finite() && s > 0.0)
            {
                return Err(FieldError::new(
                    "nutrition.servings_per_container",
                    format!("{s} must be a positive number"),
                ));
            }
            let mut names = std::collections::HashSet::new();
            for (i, nu) in n.nutrients.iter().enumerate() {
                check_text(&format!("nutrition.nutrients[{i}].name"), &nu.name, 100)?;
                if !names.insert(nu.name.as_str()) {
                    return Err(FieldError::new(
                        format!("nutrition.nutrients[{i}].name"),
                        format!("{:?} is listed twice", nu.name),
                    ));
                }
                if !(nu.amount.is_finite() && nu.amount >= 0.0) {
                    return Err(FieldError::new(
                        format!("nutrition.nutrients[{i}].amount"),
                        format!("{} must be a number of at least 0", nu.amount),
                    ));
                }
                if nu.unit.chars().count() > 20 {
                    return Err(FieldError::new(
                        format!("nutrition.nutrients[{i}].unit"),
                        "at most 20 characters",
                    ));
                }
                if let Some(dv) = nu.daily_value_pct
                    && !(dv.is_finite() && dv >= 0.0)
                {
                    return Err(FieldError::new(
                        format!("nutrition.nutrients[{i}].daily_value_pct"),
                        format!("{dv} must be a number of at least 0"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl StoreWrite {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), FieldError> {
        check_text("retailer", &self.retailer, 200)?;
        check_text("store_ref", &self.store_ref, 200)?;
        check_text("name", &self.name, 200)?;
        for (field, value, max) in [
            ("address", &self.address, 500),
            ("city", &self.city, 200),
            ("region", &self.region, 200),
            ("postal_code", &self.postal_code, 20),
        ] {
            if let Patch::Set(v) = value {
                check_text(field, v, max)?;
            }
        }
        crate::geo::Point::new(self.lat, self.lng).map_err(|(f, m)| FieldError::new(f, m))?;
        Ok(())
    }
}

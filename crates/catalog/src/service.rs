//! The catalog service functions behind the MCP tools and REST twins (docs/spec.md §3): GTIN
//! validation, product lookup and detail, comparison and nearby availability. Each takes raw
//! caller input, validates it with field-specific errors, and returns the output shape of the
//! tool table (docs/spec.md §3), so every surface serializes the same struct.

use std::collections::HashMap;
use std::sync::Arc;

use gs1::Gtin14;
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::ServiceError;
use crate::geo::{BoundingBox, Point, distance_km};
use crate::model::{
    CatalogCounts, CategoryRef, Ingredient, LabelRef, Metadata, Nutrition, PriceRange, Product,
    ProductImage,
};
use crate::store::CatalogStore;

/// Default `radius_km` of `check_availability`.
pub const DEFAULT_RADIUS_KM: f64 = 25.0;
/// Largest `radius_km` accepted (bounds the work one call can cause).
pub const MAX_RADIUS_KM: f64 = 500.0;
/// Most locations `check_availability` returns (the nearest ones).
pub const MAX_LOCATIONS: usize = 100;

/// The catalog services, shared by every surface.
#[derive(Clone)]
pub struct Catalog {
    store: Arc<dyn CatalogStore>,
    site_url: Arc<str>,
    lexical: Arc<crate::lexical::Lexical>,
    semantic: Option<Arc<crate::semantic::Semantic>>,
    semantic_ratio: f64,
    sizes: Arc<CatalogSizes>,
}

/// How often the product count behind `index_coverage` is read again.
const SIZES_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// The catalog's product count (and, on PostgreSQL, the stored vector count), read now and
/// then for `index_coverage`, and whether the search indexes have caught up once.
#[derive(Debug, Default)]
struct CatalogSizes {
    read: std::sync::Mutex<Option<(std::time::Instant, u64, Option<u64>)>>,
    search_ready: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("backend", &self.store.backend())
            .field("site_url", &self.site_url)
            .finish()
    }
}

/// `validate_gtin` output.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ValidateGtinOutput {
    /// Whether the input is a valid GTIN.
    pub valid: bool,
    /// Why not, when invalid.
    pub error: Option<String>,
    /// The GTIN-14 form, when valid.
    pub normalized: Option<String>,
    /// Digits sent (after dropping spaces and hyphens).
    pub length: usize,
    /// Set for valid restricted-circulation numbers, which are not globally unique.
    pub warning: Option<String>,
}

/// `lookup_product` output.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LookupProductOutput {
    /// Whether the GTIN is in the catalog.
    pub found: bool,
    /// GTIN-14 (also when not found).
    pub gtin: Option<String>,
    /// Product name.
    pub name: Option<String>,
    /// Brand name.
    pub brand: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Origin of the record (`manual`, `off`, `import`, `api`).
    pub data_source: Option<String>,
    /// Flat string map, `{}` when unset.
    pub metadata: Metadata,
}

/// The compact product summary of `get_product_detail` and `compare_products`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ProductSummary {
    /// GTIN-14.
    pub gtin: String,
    /// Name.
    pub name: String,
    /// Brand name.
    pub brand: Option<String>,
    /// Category name.
    pub category: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Main image URL.
    pub image_url: Option<String>,
    /// Net content as printed.
    pub net_content: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_of_origin: Option<String>,
}

impl From<&Product> for ProductSummary {
    fn from(p: &Product) -> Self {
        Self {
            gtin: p.gtin.as_str().to_owned(),
            name: p.name.clone(),
            brand: p.brand.clone(),
            category: p.category.clone(),
            description: p.description.clone(),
            image_url: p.image_url.clone(),
            net_content: p.net_content.clone(),
            country_of_origin: p.country_of_origin.clone(),
        }
    }
}

/// `get_product_detail` output.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ProductDetailOutput {
    /// Whether the GTIN is in the catalog.
    pub found: bool,
    /// Summary, or null when not found.
    pub product: Option<ProductSummary>,
    /// The whole category path, general to specific (the last is the summary's `category`).
    pub categories: Vec<CategoryRef>,
    /// Labels (organic, gluten-free, certifications).
    pub labels: Vec<LabelRef>,
    /// Images by priority.
    pub images: Vec<ProductImage>,
    /// Ingredients in label order.
    pub ingredients: Vec<Ingredient>,
    /// Nutrition panel.
    pub nutrition: Option<Nutrition>,
    /// The hosted product page, `{site_url}/01/{gtin14}`.
    pub hosted_page_url: String,
}

/// One column of `compare_products`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CompareItem {
    /// Whether the GTIN is in the catalog.
    pub found: bool,
    /// GTIN-14, or the input as given when it is not a valid GTIN.
    pub gtin: String,
    /// Summary, or null.
    pub product: Option<ProductSummary>,
    /// Why the entry could not be looked up (an invalid GTIN); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One aligned attribute row of `compare_products`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CompareAttribute {
    /// Attribute name.
    pub name: String,
    /// `values[i]` belongs to `items[i]`.
    pub values: Vec<serde_json::Value>,
}

/// `compare_products` output.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CompareOutput {
    /// Columns in request order.
    pub items: Vec<CompareItem>,
    /// brand, category, net_content, country_of_origin, price_min, price_max.
    pub attributes: Vec<CompareAttribute>,
}

/// One store of `check_availability`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Location {
    /// Retailer name.
    pub retailer: String,
    /// Store name.
    pub store_name: String,
    /// Street address.
    pub address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Great-circle distance from the search point, km (2 decimals).
    pub distance_km: f64,
    /// Price.
    pub price: f64,
    /// ISO 4217.
    pub currency: String,
    /// `in_stock`, `low_stock`, `out_of_stock` or `unknown`.
    pub inventory_status: String,
}

/// `check_availability` output.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AvailabilityOutput {
    /// GTIN-14.
    pub gtin: String,
    /// Radius searched.
    pub radius_km: f64,
    /// Nearest first.
    pub locations: Vec<Location>,
    /// Number of locations returned.
    pub total: usize,
}

/// Parses a GTIN argument, naming the field in the error.
pub fn parse_gtin_field(field: &str, value: &str) -> Result<Gtin14, ServiceError> {
    Gtin14::parse(value).map_err(|e| ServiceError::invalid(field, e.to_string()))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl Catalog {
    /// Services over a store; `site_url` is the public base URL (no trailing slash needed).
    pub fn new(store: Arc<dyn CatalogStore>, site_url: &str) -> Self {
        Self {
            store,
            site_url: site_url.trim_end_matches('/').into(),
            lexical: Arc::new(crate::lexical::Lexical::new()),
            semantic: None,
            semantic_ratio: crate::search::DEFAULT_SEMANTIC_RATIO,
            sizes: Arc::default(),
        }
    }

    /// The lexical leg.
    pub fn lexical(&self) -> &Arc<crate::lexical::Lexical> {
        &self.lexical
    }

    /// Records that the lexical index has caught up with the store once since start; returns
    /// whether this call was the first to say so.
    pub(crate) fn mark_search_ready(&self) -> bool {
        !self.sizes.search_ready.swap(true, std::sync::atomic::Ordering::AcqRel)
    }

    /// How much of the catalog the search indexes hold (the catalog's size read at most every
    /// few seconds).
    pub async fn index_coverage(&self) -> Result<crate::search::IndexCoverage, ServiceError> {
        self.coverage(false).await
    }

    /// [`Catalog::index_coverage`] with the catalog's size read now.
    pub async fn index_coverage_now(&self) -> Result<crate::search::IndexCoverage, ServiceError> {
        self.coverage(true).await
    }

    async fn coverage(&self, fresh: bool) -> Result<crate::search::IndexCoverage, ServiceError> {
        let cached = self.sizes.read.lock().ok().and_then(|r| *r).filter(|_| !fresh);
        let (products, stored_vectors) = match cached {
            Some((at, products, vectors)) if at.elapsed() < SIZES_TTL => (products, vectors),
            _ => {
                let products = self.store.product_count().await?;
                let vectors = match &self.semantic {
                    Some(s) if s.ranked_by_store(self.store.as_ref()) => {
                        Some(self.store.embedding_count(s.model()).await?)
                    }
                    _ => None,
                };
                if let Ok(mut r) = self.sizes.read.lock() {
                    *r = Some((std::time::Instant::now(), products, vectors));
                }
                (products, vectors)
            }
        };
        let share =
            |n: u64| if products == 0 { 1.0 } else { (n as f64 / products as f64).min(1.0) };
        let lexical = if self.lexical.ready() { share(self.lexical.len() as u64) } else { 0.0 };
        let semantic = match &self.semantic {
            Some(s) if s.model_failed() => None,
            Some(s) if !s.ready() => Some(0.0),
            Some(s) => Some(share(stored_vectors.unwrap_or(s.len() as u64))),
            None => None,
        };
        let round = |x: f64| (x * 1000.0).floor() / 1000.0;
        Ok(crate::search::IndexCoverage {
            lexical: round(lexical),
            semantic: semantic.map(round),
            complete: lexical >= 1.0 && semantic.is_none_or(|s| s >= 1.0),
        })
    }

    /// Adds the semantic search leg, weighted by `semantic_ratio` (0 = lexical only,
    /// 1 = semantic only; clamped to 0–1).
    pub fn with_semantic(mut self, semantic: Arc<crate::semantic::Semantic>, ratio: f64) -> Self {
        self.semantic = Some(semantic);
        self.semantic_ratio = if ratio.is_finite() { ratio.clamp(0.0, 1.0) } else { 0.0 };
        self
    }

    /// The semantic leg, when a model is loaded.
    pub fn semantic(&self) -> Option<&Arc<crate::semantic::Semantic>> {
        self.semantic.as_ref()
    }

    /// The weight of the semantic leg in the fused ranking.
    pub fn semantic_ratio(&self) -> f64 {
        self.semantic_ratio
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn CatalogStore> {
        &self.store
    }

    /// The public base URL.
    pub fn site_url(&self) -> &str {
        &self.site_url
    }

    /// The hosted page of a product: its GS1 Digital Link URI on this site.
    pub fn hosted_page_url(&self, gtin: Gtin14) -> String {
        gs1::DigitalLink::new(gtin).to_uri(&self.site_url)
    }

    /// `validate_gtin`: never an error; invalid input is reported in the output.
    pub fn validate_gtin(&self, gtin: &str) -> ValidateGtinOutput {
        let v = gs1::gtin::validate(gtin);
        ValidateGtinOutput {
            valid: v.valid,
            error: v.error.map(|e| e.to_string()),
            normalized: v.normalized.map(|g| g.as_str().to_owned()),
            length: v.length,
            warning: v.warning,
        }
    }

    /// `lookup_product`: `found: false` for unknown GTINs; invalid GTINs are errors.
    pub async fn lookup_product(&self, gtin: &str) -> Result<LookupProductOutput, ServiceError> {
        Ok(self.lookup_product_versioned(gtin).await?.0)
    }

    /// [`Catalog::lookup_product`] with the product's `updated_at` (its version; `None` when
    /// it is not in the catalog), from the same read.
    pub async fn lookup_product_versioned(
        &self,
        gtin: &str,
    ) -> Result<(LookupProductOutput, Option<String>), ServiceError> {
        let gtin = parse_gtin_field("gtin", gtin)?;
        let product = self.store.product(gtin).await?;
        let version = product.as_ref().map(|p| p.updated_at.clone());
        let out = match product {
            Some(p) => LookupProductOutput {
                found: true,
                gtin: Some(p.gtin.as_str().to_owned()),
                name: Some(p.name),
                brand: p.brand,
                description: p.description,
                data_source: Some(p.data_source.as_str().to_owned()),
                metadata: p.metadata,
            },
            None => LookupProductOutput {
                found: false,
                gtin: Some(gtin.as_str().to_owned()),
                name: None,
                brand: None,
                description: None,
                data_source: None,
                metadata: Metadata::new(),
            },
        };
        Ok((out, version))
    }

    /// `get_product_detail`.
    pub async fn get_product_detail(
        &self,
        gtin: &str,
    ) -> Result<ProductDetailOutput, ServiceError> {
        let gtin = parse_gtin_field("gtin", gtin)?;
        let hosted_page_url = self.hosted_page_url(gtin);
        let Some(product) = self.store.product(gtin).await? else {
            return Ok(ProductDetailOutput {
                found: false,
                product: None,
                categories: Vec::new(),
                labels: Vec::new(),
                images: Vec::new(),
                ingredients: Vec::new(),
                nutrition: None,
                hosted_page_url,
            });
        };
        let children = self.store.product_children(gtin).await?;
        Ok(ProductDetailOutput {
            found: true,
            product: Some(ProductSummary::from(&product)),
            categories: children.categories,
            labels: children.labels,
            images: children.images,
            ingredients: children.ingredients,
            nutrition: children.nutrition,
            hosted_page_url,
        })
    }

    /// `compare_products`: 2–5 GTINs, order kept; unknown or invalid entries become
    /// `found: false` columns.
    pub async fn compare_products(&self, gtins: &[String]) -> Result<CompareOutput, ServiceError> {
        if !(2..=5).contains(&gtins.len()) {
            return Err(ServiceError::invalid(
                "gtins",
                format!("got {} GTINs; compare 2 to 5", gtins.len()),
            ));
        }
        let parsed: Vec<Result<Gtin14, String>> =
            gtins.iter().map(|g| Gtin14::parse(g).map_err(|e| e.to_string())).collect();
        let valid: Vec<Gtin14> = parsed.iter().filter_map(|p| p.as_ref().ok().copied()).collect();
        let products: HashMap<Gtin14, Product> =
            self.store.products(&valid).await?.into_iter().map(|p| (p.gtin, p)).collect();
        let prices: HashMap<Gtin14, PriceRange> = self.store.price_ranges(&valid).await?;

        let mut items = Vec::with_capacity(gtins.len());
        let mut rows: Vec<(Option<&Product>, Option<&PriceRange>)> = Vec::new();
        for (raw, p) in gtins.iter().zip(&parsed) {
            match p {
                Ok(g) => {
                    let product = products.get(g);
                    items.push(CompareItem {
                        found: product.is_some(),
                        gtin: g.as_str().to_owned(),
                        product: product.map(ProductSummary::from),
                        error: None,
                    });
                    rows.push((product, prices.get(g)));
                }
                Err(e) => {
                    items.push(CompareItem {
                        found: false,
                        gtin: raw.clone(),
                        product: None,
                        error: Some(format!("invalid GTIN: {e}")),
                    });
                    rows.push((None, None));
                }
            }
        }
        let text = |f: fn(&Product) -> Option<&String>| -> Vec<serde_json::Value> {
            rows.iter()
                .map(|(p, _)| p.and_then(f).map_or(serde_json::Value::Null, |s| s.clone().into()))
                .collect()
        };
        let price = |f: fn(&PriceRange) -> f64| -> Vec<serde_json::Value> {
            rows.iter().map(|(_, r)| r.map_or(serde_json::Value::Null, |r| f(r).into())).collect()
        };
        let attributes = vec![
            CompareAttribute { name: "brand".into(), values: text(|p| p.brand.as_ref()) },
            CompareAttribute { name: "category".into(), values: text(|p| p.category.as_ref()) },
            CompareAttribute {
                name: "net_content".into(),
                values: text(|p| p.net_content.as_ref()),
            },
            CompareAttribute {
                name: "country_of_origin".into(),
                values: text(|p| p.country_of_origin.as_ref()),
            },
            CompareAttribute { name: "price_min".into(), values: price(|r| r.min) },
            CompareAttribute { name: "price_max".into(), values: price(|r| r.max) },
        ];
        Ok(CompareOutput { items, attributes })
    }

    /// `check_availability`: active offers within `radius_km` (great-circle), nearest first.
    pub async fn check_availability(
        &self,
        gtin: &str,
        lat: f64,
        lng: f64,
        radius_km: Option<f64>,
    ) -> Result<AvailabilityOutput, ServiceError> {
        let gtin = parse_gtin_field("gtin", gtin)?;
        let center = Point::new(lat, lng).map_err(|(f, m)| ServiceError::invalid(f, m))?;
        let radius_km = radius_km.unwrap_or(DEFAULT_RADIUS_KM);
        if !radius_km.is_finite() || radius_km <= 0.0 || radius_km > MAX_RADIUS_KM {
            return Err(ServiceError::invalid(
                "radius_km",
                format!("must be greater than 0 and at most {MAX_RADIUS_KM}, got {radius_km}"),
            ));
        }
        let area = BoundingBox::around(center, radius_km);
        let mut found: Vec<(f64, crate::model::StoreOffer)> = self
            .store
            .offers_in_box(gtin, &area)
            .await?
            .into_iter()
            .map(|o| (distance_km(center, Point { lat: o.lat, lng: o.lng }), o))
            .filter(|(d, _)| *d <= radius_km)
            .collect();
        found.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then_with(|| a.1.price.total_cmp(&b.1.price))
                .then_with(|| a.1.store_name.cmp(&b.1.store_name))
        });
        found.truncate(MAX_LOCATIONS);
        let locations: Vec<Location> = found
            .into_iter()
            .map(|(d, o)| Location {
                retailer: o.retailer,
                store_name: o.store_name,
                address: o.address,
                city: o.city,
                region: o.region,
                postal_code: o.postal_code,
                distance_km: round2(d),
                price: o.price,
                currency: o.currency,
                inventory_status: o.inventory_status.as_str().to_owned(),
            })
            .collect();
        Ok(AvailabilityOutput {
            gtin: gtin.as_str().to_owned(),
            radius_km,
            total: locations.len(),
            locations,
        })
    }

    /// Catalog row counts (health).
    pub async fn counts(&self) -> Result<CatalogCounts, ServiceError> {
        Ok(self.store.counts().await?)
    }
}

//! What a read returns: a product with its children, prices, stores, offers near a place and
//! the catalog's counts.

use gs1::Gtin14;
use serde::Serialize;

use super::*;

/// A product row with its brand and category names resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// GTIN-14.
    pub gtin: Gtin14,
    /// Name.
    pub name: String,
    /// Brand name.
    pub brand: Option<String>,
    /// Category id.
    pub category_id: Option<String>,
    /// Category display name.
    pub category: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Net content.
    pub net_content: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_of_origin: Option<String>,
    /// Main image.
    pub image_url: Option<String>,
    /// Origin of the record.
    pub data_source: DataSource,
    /// Metadata.
    pub metadata: Metadata,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// A stored image.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ProductImage {
    /// URL.
    pub url: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Lower comes first.
    pub priority: u32,
    /// Main image.
    pub is_primary: bool,
}

/// A stored ingredient.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Ingredient {
    /// Name.
    pub name: String,
    /// Share of weight, when known.
    pub percentage_of_weight: Option<f64>,
    /// Label order, from 0.
    pub priority: u32,
}

/// A stored nutrient.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Nutrient {
    /// Name.
    pub name: String,
    /// Amount.
    pub amount: f64,
    /// Unit.
    pub unit: String,
    /// % daily value.
    pub daily_value_pct: Option<f64>,
}

/// A stored nutrition panel.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Nutrition {
    /// Serving size.
    pub serving_size: Option<String>,
    /// Servings per container.
    pub servings_per_container: Option<f64>,
    /// Basis of the amounts.
    pub label_format: LabelFormat,
    /// Nutrients in label order.
    pub nutrients: Vec<Nutrient>,
}

/// Images, ingredients and nutrition of one product.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductChildren {
    /// The category path, general to specific (the last is the product's category).
    pub categories: Vec<CategoryRef>,
    /// Labels in the order given.
    pub labels: Vec<LabelRef>,
    /// Ordered by priority, then creation.
    pub images: Vec<ProductImage>,
    /// Label order.
    pub ingredients: Vec<Ingredient>,
    /// Nutrition panel.
    pub nutrition: Option<Nutrition>,
}

/// Lowest and highest active offer price of a product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceRange {
    /// Lowest.
    pub min: f64,
    /// Highest.
    pub max: f64,
}

/// An active offer with its store, as availability needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreOffer {
    /// Retailer name.
    pub retailer: String,
    /// Store name.
    pub store_name: String,
    /// Address.
    pub address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// Price.
    pub price: f64,
    /// Currency.
    pub currency: String,
    /// Stock state.
    pub inventory_status: InventoryStatus,
}

/// A store's identity and location (for generating demo offers and for listings).
#[derive(Debug, Clone, PartialEq)]
pub struct StoreSummary {
    /// Retailer name.
    pub retailer: String,
    /// Retailer's store ref.
    pub store_ref: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
}

/// Row counts for health and import summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CatalogCounts {
    /// Products.
    pub products: u64,
    /// Brands.
    pub brands: u64,
    /// Categories.
    pub categories: u64,
    /// Retailers.
    pub retailers: u64,
    /// Stores.
    pub stores: u64,
    /// Offers.
    pub offers: u64,
}

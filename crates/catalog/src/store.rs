//! The storage trait the services and importers use. One implementation per backend (SQLite in
//! [`crate::sqlite`], PostgreSQL later); nothing above this trait knows which one runs.
//!
//! Reads return domain types; writes take batches and report an outcome per row, so an importer
//! can account for every input row, and a backend can use one transaction per batch.

use std::collections::HashMap;

use async_trait::async_trait;
use gs1::Gtin14;

use crate::geo::BoundingBox;
use crate::model::{
    CatalogCounts, OfferWrite, PriceRange, Product, ProductChildren, ProductWrite, StoreOffer,
    StoreSummary, StoreWrite, WriteOutcome,
};

/// A storage failure. `Rejected` is the caller's fault (a constraint refused the data); the
/// rest are infrastructure failures whose details are logged, not shown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database refused the data (constraint violation).
    #[error("{0}")]
    Rejected(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data could not be decoded (corruption or a schema mismatch).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The database URL or options are wrong.
    #[error("{0}")]
    Config(String),
}

/// Catalog storage. Implementations must be cheap to share (`Arc<dyn CatalogStore>`).
#[async_trait]
pub trait CatalogStore: Send + Sync + 'static {
    /// A short backend name for logs and health (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    /// Closes connections cleanly (SQLite checkpoints its WAL). Later calls fail.
    async fn close(&self);

    /// One product with brand and category names.
    async fn product(&self, gtin: Gtin14) -> Result<Option<Product>, StoreError>;

    /// Several products (missing ones are simply absent; order unspecified).
    async fn products(&self, gtins: &[Gtin14]) -> Result<Vec<Product>, StoreError>;

    /// Images, ingredients and nutrition of a product.
    async fn product_children(&self, gtin: Gtin14) -> Result<ProductChildren, StoreError>;

    /// Price range over active offers, per product that has any. When a product is offered in
    /// several currencies the range covers the currency with the most active offers.
    async fn price_ranges(
        &self,
        gtins: &[Gtin14],
    ) -> Result<HashMap<Gtin14, PriceRange>, StoreError>;

    /// Active offers of a product at stores inside a bounding box (the caller computes exact
    /// distances and applies the radius).
    async fn offers_in_box(
        &self,
        gtin: Gtin14,
        area: &BoundingBox,
    ) -> Result<Vec<StoreOffer>, StoreError>;

    /// Row counts.
    async fn counts(&self) -> Result<CatalogCounts, StoreError>;

    /// Every store (for generating demo offers).
    async fn stores(&self) -> Result<Vec<StoreSummary>, StoreError>;

    /// Every product GTIN, ascending.
    async fn product_gtins(&self) -> Result<Vec<Gtin14>, StoreError>;

    /// Creates or updates products; one outcome per input, in order. A row the database
    /// refuses is `Rejected` and does not affect the other rows.
    async fn upsert_products(
        &self,
        batch: &[ProductWrite],
    ) -> Result<Vec<WriteOutcome>, StoreError>;

    /// Creates or updates stores (creating retailers on demand).
    async fn upsert_stores(&self, batch: &[StoreWrite]) -> Result<Vec<WriteOutcome>, StoreError>;

    /// Creates or updates offers; rows naming an unknown product or store are `Rejected`.
    async fn upsert_offers(&self, batch: &[OfferWrite]) -> Result<Vec<WriteOutcome>, StoreError>;
}

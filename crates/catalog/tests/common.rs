//! Shared helpers for the catalog integration tests: a fresh SQLite file per test in a temp
//! directory, and small builders for writes.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use catalog::CatalogStore;
use catalog::iso::{CountryCode, CurrencyCode};
use catalog::model::{
    DataSource, InventoryStatus, MetadataPatch, OfferWrite, Patch, ProductWrite, StoreWrite,
};
use catalog::sqlite::{SqliteOptions, SqliteStore};
use gs1::Gtin14;

/// A migrated store on a new file; keep the TempDir alive for the test's duration.
pub struct TestDb {
    pub dir: tempfile::TempDir,
    pub sqlite: SqliteStore,
    pub store: Arc<dyn CatalogStore>,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        let sqlite = SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await.unwrap();
        let store: Arc<dyn CatalogStore> = Arc::new(sqlite.clone());
        Self { dir, sqlite, store }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The repository's `data/demo` directory.
pub fn demo_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/demo").join(name)
}

pub fn gtin(s: &str) -> Gtin14 {
    Gtin14::parse(s).unwrap()
}

pub fn product(g: &str, name: &str) -> ProductWrite {
    let mut w = ProductWrite::new(gtin(g), DataSource::Manual);
    w.name = Patch::Set(name.to_owned());
    w
}

pub fn store_write(retailer: &str, store_ref: &str, lat: f64, lng: f64) -> StoreWrite {
    StoreWrite {
        retailer: retailer.into(),
        store_ref: store_ref.into(),
        name: format!("{retailer} {store_ref}"),
        address: Patch::Set(format!("{store_ref} Main St")),
        city: Patch::Set("Springfield".into()),
        region: Patch::Set("IL".into()),
        postal_code: Patch::Set("62701".into()),
        country: CountryCode::parse("US").unwrap(),
        lat,
        lng,
        metadata: MetadataPatch::default(),
    }
}

pub fn offer(g: &str, retailer: &str, store_ref: &str, cents: i64) -> OfferWrite {
    OfferWrite {
        gtin: gtin(g),
        retailer: retailer.into(),
        store_ref: store_ref.into(),
        price_minor: cents,
        currency: CurrencyCode::parse("USD").unwrap(),
        inventory_status: Some(InventoryStatus::InStock),
        active: Some(true),
        metadata: MetadataPatch::default(),
    }
}

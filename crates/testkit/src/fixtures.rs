//! Builders and paths the tests of several crates share: GTINs, product/store/offer writes, the
//! demo data files, the fetched models.

use std::path::PathBuf;

use catalog::iso::{CountryCode, CurrencyCode};
use catalog::model::{
    DataSource, InventoryStatus, MetadataPatch, OfferWrite, Patch, ProductWrite, StoreWrite,
};
use gs1::Gtin14;

/// The directory of a model fetched by `scripts/fetch-model.sh` (`models/NAME`), or
/// `PRODLINK_MODEL_DIR` when set; fails the test, saying what to run, when the directory lacks
/// `marker` (a file every copy of the model has).
pub fn model_dir(name: &str, marker: &str) -> PathBuf {
    let dir = std::env::var_os("PRODLINK_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models").join(name)
    });
    assert!(
        dir.join(marker).is_file(),
        "no model at {} — run scripts/fetch-model.sh (or set PRODLINK_MODEL_DIR)",
        dir.display()
    );
    dir
}

/// The repository's `data/demo/NAME`.
pub fn demo_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/demo").join(name)
}

/// A GTIN the test knows to be valid.
pub fn gtin(s: &str) -> Gtin14 {
    Gtin14::parse(s).unwrap()
}

/// A manual product write setting only the name.
pub fn product(g: &str, name: &str) -> ProductWrite {
    let mut w = ProductWrite::new(gtin(g), DataSource::Manual);
    w.name = Patch::Set(name.to_owned());
    w
}

/// A store of `retailer` in Springfield, IL at (`lat`, `lng`).
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

/// An active, in-stock offer in US cents.
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

//! The demo catalog loader and the deterministic demo-offer generator.
//!
//! The public data has products and stores but no prices or stock, so the demo generates offers:
//! a fixed-seed hash picks an assortment of products, which share of it each store carries, a
//! base price per product, a per-store price variation and a stock state. The same inputs and
//! seed always give the same offers; every generated offer says so in its metadata
//! (`demo: "true"`), and nothing here pretends to be real price data.

use std::collections::BTreeMap;
use std::sync::Arc;

use gs1::Gtin14;

use crate::import::{self, ImportError, ImportKind, ImportReport, Progress, ReportFiles, Source};
use crate::iso::CurrencyCode;
use crate::model::{InventoryStatus, MetadataPatch, OfferWrite, StoreSummary, WriteOutcome};
use crate::store::CatalogStore;

/// The seed of the shipped demo.
pub const DEMO_SEED: u64 = 20_261_127;
/// Share (per mille) of the catalog's products in the demo assortment: 3 % (2,517 of the demo's
/// 83,917), so that a search near a town finds matching products its stores carry.
pub const ASSORTMENT_PER_MILLE: u64 = 30;
/// Share (per mille) of the assortment each store carries (about 63 products a store, 200k
/// offers over the 3,173 stores).
pub const CARRIED_PER_MILLE: u64 = 25;

/// SplitMix64 finalizer: a fixed, well-mixed 64-bit hash step (Steele et al., 2014).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hash(seed: u64, parts: &[&str]) -> u64 {
    let mut h = mix(seed);
    for p in parts {
        for b in p.bytes() {
            h = mix(h ^ u64::from(b));
        }
        h = mix(h ^ 0xff);
    }
    h
}

/// Generates the demo offers for `products` at `stores` (deterministic for a given seed).
pub fn demo_offers(products: &[Gtin14], stores: &[StoreSummary], seed: u64) -> Vec<OfferWrite> {
    let mut assortment: Vec<Gtin14> = products
        .iter()
        .filter(|g| hash(seed, &["assortment", g.as_str()]) % 1000 < ASSORTMENT_PER_MILLE)
        .copied()
        .collect();
    assortment.sort_unstable();

    let Ok(usd) = CurrencyCode::parse("USD") else { return Vec::new() };
    let metadata = MetadataPatch {
        clear: true,
        entries: BTreeMap::from([
            ("demo".to_owned(), "true".to_owned()),
            ("generator".to_owned(), format!("prodlink demo offers, seed {seed}")),
        ]),
    };
    let mut out = Vec::new();
    for store in stores {
        for gtin in &assortment {
            let h = hash(seed, &[store.retailer.as_str(), store.store_ref.as_str(), gtin.as_str()]);
            if h % 1000 >= CARRIED_PER_MILLE {
                continue;
            }
            // Base price $0.99–$14.99 per product; ±10 % per store; ends in 9 cents.
            let base = 99 + hash(seed, &["price", gtin.as_str()]) % 1400;
            let variation = 900 + (h >> 10) % 201; // per mille
            let cents = (base * variation / 1000).max(19);
            let price_minor = (cents / 10 * 10 + 9) as i64;
            let inventory_status = match (h >> 20) % 100 {
                0..70 => InventoryStatus::InStock,
                70..85 => InventoryStatus::LowStock,
                85..95 => InventoryStatus::OutOfStock,
                _ => InventoryStatus::Unknown,
            };
            out.push(OfferWrite {
                gtin: *gtin,
                retailer: store.retailer.clone(),
                store_ref: store.store_ref.clone(),
                price_minor,
                currency: usd,
                inventory_status: Some(inventory_status),
                active: Some((h >> 30) % 100 < 96),
                metadata: metadata.clone(),
            });
        }
    }
    out
}

/// The demo catalog's parts.
pub struct DemoSources {
    /// Open Food Facts exports, imported in order (later files update earlier ones).
    pub off: Vec<Source>,
    /// The store list.
    pub stores: Source,
    /// Resolver rules (JSONL) showing each rule feature, if any.
    pub rules: Option<Source>,
}

/// What loading the demo did.
#[derive(Debug, Clone, Default)]
pub struct DemoReport {
    /// One report per OFF file, in order.
    pub off: Vec<ImportReport>,
    /// The store import.
    pub stores: ImportReport,
    /// Offers generated and written.
    pub offers: u64,
    /// Offers refused by the store (should be 0).
    pub offers_rejected: u64,
    /// The rule import, when the sources had rules.
    pub rules: Option<ImportReport>,
}

/// `prodlink_meta` key recording the demo's state: `loading`, then `loaded`.
pub const DEMO_STATE_KEY: &str = "demo_catalog";

/// What [`load_if_needed`] decided.
#[derive(Debug, Clone)]
pub enum DemoDecision {
    /// Loaded now (or finished a load an earlier process started).
    Loaded(Box<DemoReport>),
    /// Loaded earlier.
    AlreadyLoaded,
    /// The catalog holds other data; the demo is not mixed into it.
    CatalogNotEmpty,
}

/// Loads the demo into an empty catalog, or finishes a load that was interrupted (every step
/// is an idempotent upsert, so re-running it completes whatever is missing). A catalog with
/// data that did not come from the demo is left alone.
pub async fn load_if_needed(
    store: Arc<dyn CatalogStore>,
    sources: impl FnOnce() -> DemoSources,
    progress: &dyn Progress,
) -> Result<DemoDecision, ImportError> {
    match store.meta(DEMO_STATE_KEY).await?.as_deref() {
        Some("loaded") => return Ok(DemoDecision::AlreadyLoaded),
        Some(_) => {} // "loading": an earlier run stopped part-way
        None => {
            if store.counts().await?.products > 0 {
                return Ok(DemoDecision::CatalogNotEmpty);
            }
        }
    }
    store.set_meta(DEMO_STATE_KEY, "loading").await?;
    let report = load(Arc::clone(&store), sources(), progress).await?;
    store.set_meta(DEMO_STATE_KEY, "loaded").await?;
    Ok(DemoDecision::Loaded(Box::new(report)))
}

/// Loads the demo catalog: OFF products, stores, then generated offers.
pub async fn load(
    store: Arc<dyn CatalogStore>,
    sources: DemoSources,
    progress: &dyn Progress,
) -> Result<DemoReport, ImportError> {
    let mut report = DemoReport::default();
    for source in sources.off {
        let r = import::import_source(
            Arc::clone(&store),
            ImportKind::Off,
            source,
            ReportFiles::InMemory(20),
            progress,
        )
        .await?;
        report.off.push(r);
    }
    report.stores = import::import_source(
        Arc::clone(&store),
        ImportKind::Stores,
        sources.stores,
        ReportFiles::InMemory(20),
        progress,
    )
    .await?;
    let gtins = store.product_gtins().await?;
    let stores = store.stores().await?;
    let offers = demo_offers(&gtins, &stores, DEMO_SEED);
    for chunk in offers.chunks(import::BATCH_ROWS * 5) {
        for outcome in store.upsert_offers(chunk).await? {
            match outcome {
                WriteOutcome::Rejected(_) => report.offers_rejected += 1,
                _ => report.offers += 1,
            }
        }
    }
    if let Some(rules) = sources.rules {
        report.rules = Some(
            import::import_source(
                Arc::clone(&store),
                ImportKind::Rules,
                rules,
                ReportFiles::InMemory(20),
                progress,
            )
            .await?,
        );
    }
    import::refresh_statistics(store.as_ref()).await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stores(n: usize) -> Vec<StoreSummary> {
        (0..n)
            .map(|i| StoreSummary {
                retailer: "Walmart".into(),
                store_ref: format!("s{i}"),
                lat: 36.0,
                lng: -94.0,
            })
            .collect()
    }

    fn gtins(n: u64) -> Vec<Gtin14> {
        (0..n)
            .map(|i| {
                let data = format!("{:013}", 4_000_000_000_000 + i * 7);
                let cd = gs1::gtin::check_digit(&data).unwrap();
                Gtin14::parse(&format!("{data}{cd}")).unwrap()
            })
            .collect()
    }

    #[test]
    fn deterministic_and_marked_as_demo() {
        let (g, s) = (gtins(20_000), stores(40));
        let a = demo_offers(&g, &s, DEMO_SEED);
        let b = demo_offers(&g, &s, DEMO_SEED);
        assert_eq!(a, b);
        assert_ne!(a, demo_offers(&g, &s, DEMO_SEED + 1));
        // 3 % of the products in the assortment (600), 2.5 % of it per store: a product is in
        // at least one of 40 stores with probability 1 − 0.975^40 ≈ 0.64 (≈ 382 products)
        let distinct: std::collections::HashSet<_> = a.iter().map(|o| o.gtin).collect();
        assert!((330..440).contains(&distinct.len()), "{}", distinct.len());
        let per_store = a.len() as f64 / 40.0;
        assert!((11.0..19.0).contains(&per_store), "{per_store}");
        assert!(
            a.iter().all(|o| o.metadata.entries.get("demo").map(String::as_str) == Some("true"))
        );
        assert!(a.iter().all(|o| (19..=1700).contains(&o.price_minor) && o.price_minor % 10 == 9));
    }
}

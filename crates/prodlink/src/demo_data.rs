//! The demo catalog, embedded at build time from `data/demo/` (see its README for origins and
//! licenses): two Open Food Facts exports and the Walmart store list, gzip-compressed, and the
//! demo resolver rules (`rules.jsonl`, written for the demo; its URLs are example.com pages).

use catalog::demo::DemoSources;
use catalog::import::Source;

static OFF_2018_SUBSET: &[u8] = include_bytes!("../../../data/demo/off-2018-subset.tsv.gz");
static OFF_SAMPLE_1000: &[u8] = include_bytes!("../../../data/demo/off-sample-1000.tsv.gz");
static WALMART_STORES: &[u8] = include_bytes!("../../../data/demo/walmart-stores.csv.gz");
static RULES: &[u8] = include_bytes!("../../../data/demo/rules.jsonl");

/// The demo sources, in load order: the 2018 subset first, then the richer 1,000-product
/// sample (which adds brands, categories and countries where the two overlap).
pub fn sources() -> DemoSources {
    DemoSources {
        off: vec![
            Source::from_bytes("demo: off-2018-subset.tsv.gz", OFF_2018_SUBSET),
            Source::from_bytes("demo: off-sample-1000.tsv.gz", OFF_SAMPLE_1000),
        ],
        stores: Source::from_bytes("demo: walmart-stores.csv.gz", WALMART_STORES),
        rules: Some(Source::from_bytes("demo: rules.jsonl", RULES)),
    }
}

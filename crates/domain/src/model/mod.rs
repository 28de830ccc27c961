//! Domain types of the catalog (docs/spec.md §2): metadata maps, enumerations, the write shapes that
//! importers and (later) the REST API send to a store, and the read shapes stores return.

use std::fmt;

use serde::{Deserialize, Serialize};

mod metadata;
mod read;
mod write;

pub use metadata::*;
pub use read::*;
pub use write::*;

// ---------------------------------------------------------------------------------------------
// Enumerations.

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $var),+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [Self] = &[$(Self::$var),+];

            /// The stored and serialized spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$var => $s),+ }
            }

            /// Parses the stored spelling; the error lists the allowed values.
            pub fn parse(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok(Self::$var),)+
                    other => Err(format!(
                        "{other:?} is not allowed; expected one of: {}",
                        [$($s),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// Where a product record came from.
    DataSource {
        /// Entered by hand.
        Manual => "manual",
        /// Open Food Facts.
        Off => "off",
        /// A prodlink catalog import.
        Import => "import",
        /// The REST API.
        Api => "api",
    }
}

string_enum! {
    /// Stock state of an offer.
    InventoryStatus {
        /// In stock.
        InStock => "in_stock",
        /// Few left.
        LowStock => "low_stock",
        /// Out of stock.
        OutOfStock => "out_of_stock",
        /// Not known.
        Unknown => "unknown",
    }
}

string_enum! {
    /// How a nutrition label states its amounts.
    LabelFormat {
        /// Per 100 g.
        Per100g => "per_100g",
        /// Per 100 ml.
        Per100ml => "per_100ml",
        /// Per serving.
        PerServing => "per_serving",
        /// US FDA Nutrition Facts panel (per serving with % daily value).
        UsFda => "us_fda",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use gs1::Gtin14;

    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn metadata_limits_are_enforced_with_specific_messages() {
        let long_key = "k".repeat(41);
        let e = Metadata::try_from_map(map(&[(&long_key, "v")])).unwrap_err();
        assert!(e.0.contains("41 characters"), "{e}");
        let long_value = "v".repeat(501);
        let e = Metadata::try_from_map(map(&[("k", &long_value)])).unwrap_err();
        assert!(e.0.contains("501 characters"), "{e}");
        let many: BTreeMap<_, _> = (0..51).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        let e = Metadata::try_from_map(many).unwrap_err();
        assert!(e.0.contains("51 keys"), "{e}");
        assert!(Metadata::from_json(r#"{"a": 1}"#).is_err());
        assert!(Metadata::from_json(r#"{"a": {"b": "c"}}"#).is_err());
        assert_eq!(Metadata::from_json("{}").unwrap().to_json(), "{}");
    }

    #[test]
    fn merge_sets_keeps_and_deletes() {
        let base = Metadata::try_from_map(map(&[("a", "1"), ("b", "2")])).unwrap();
        let patch = MetadataPatch::new(map(&[("b", ""), ("c", "3")])).unwrap();
        let merged = base.merged(&patch).unwrap();
        assert_eq!(merged.to_json(), r#"{"a":"1","c":"3"}"#);
        let full: BTreeMap<_, _> = (0..50).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        let full = Metadata::try_from_map(full).unwrap();
        let e = full.merged(&MetadataPatch::new(map(&[("extra", "x")])).unwrap()).unwrap_err();
        assert!(e.0.contains("after merging"), "{e}");
    }

    #[test]
    fn category_paths_and_labels_are_checked_with_the_field_named() {
        let gtin = Gtin14::parse("09506000134352").unwrap();
        let cat = |i: usize| CategoryRef { id: format!("en:c{i}"), name: format!("C{i}") };
        let label = |id: &str| LabelRef { id: id.into(), name: "Organic".into() };
        let mut w = ProductWrite::new(gtin, DataSource::Manual);
        w.category = Patch::Set((0..MAX_PATH).map(cat).collect());
        w.labels = Patch::Set(vec![label("en:organic"), label("en:vegan")]);
        assert!(w.validate().is_ok());

        w.category = Patch::Set((0..=MAX_PATH).map(cat).collect());
        let e = w.validate().unwrap_err();
        assert_eq!(e.field, "category");
        assert!(e.message.contains("65 levels"), "{e:?}");
        w.category = Patch::Set(Vec::new());
        assert_eq!(w.validate().unwrap_err().field, "category");
        w.category = Patch::Keep;

        w.labels = Patch::Set(vec![label("en:organic"), label(" en:organic")]);
        let e = w.validate().unwrap_err();
        assert_eq!(e.field, "labels[1].id");
        assert!(e.message.contains("listed twice"), "{e:?}");
        w.labels = Patch::Set(vec![label("")]);
        assert_eq!(w.validate().unwrap_err().field, "labels[0].id");
        w.labels = Patch::Set((0..=MAX_LABELS).map(|i| label(&format!("en:l{i}"))).collect());
        let e = w.validate().unwrap_err();
        assert_eq!(e.field, "labels");
        assert!(e.message.contains("101 labels"), "{e:?}");
    }

    #[test]
    fn enums_list_allowed_values() {
        assert_eq!(InventoryStatus::parse("in_stock").unwrap(), InventoryStatus::InStock);
        let e = InventoryStatus::parse("available").unwrap_err();
        assert!(e.contains("in_stock, low_stock, out_of_stock, unknown"), "{e}");
    }
}

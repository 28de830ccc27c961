//! prodlink's own catalog JSONL: one JSON object per line, `"type"` = `product` (the default),
//! `store` or `offer`. Products use the field names of the API (`gtin`, `name`, `brand`,
//! `category` (a name, an `{id, name}` object, or a path of them from general to specific),
//! `labels` (names or `{id, name}` objects), `description`, `net_content`, `country_of_origin`,
//! `image_url`, `metadata`,
//! `images`, `ingredients`, `nutrition`, optional `data_source`); a key that is absent keeps the
//! stored value, `null` clears it, metadata merges (an empty string deletes a key). Stores and
//! offers use the fields of the store and offer importers.
//!
//! Example:
//! `{"gtin":"09506000134352","name":"Demo cereal","brand":"Acme","category":"Breakfast cereals",
//!   "ingredients":["oats",{"name":"sugar","percentage_of_weight":4}],"metadata":{"sku":"A-1"}}`

use serde_json::{Map, Value};

use super::records::{Record, read_records};
use super::source::Source;
use super::{BatchSender, ImportError, Parsed, RowRef, Write, offers, stores};
use crate::iso::{CountryCode, slugify};
use crate::model::{
    CategoryRef, DataSource, ImageWrite, IngredientWrite, LabelRef, MetadataPatch, NutritionWrite,
    Patch, ProductWrite,
};

fn patch_text(obj: &Map<String, Value>, key: &str) -> Result<Patch<String>, String> {
    match obj.get(key) {
        None => Ok(Patch::Keep),
        Some(Value::Null) => Ok(Patch::Clear),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Patch::Clear),
        Some(Value::String(s)) => Ok(Patch::Set(s.trim().to_owned())),
        Some(other) => Err(format!("{key}: expected a string or null, got {other}")),
    }
}

fn category(v: &Value) -> Result<Vec<CategoryRef>, String> {
    let one = |v: &Value| -> Result<CategoryRef, String> {
        match v {
            Value::String(name) => {
                Ok(CategoryRef { id: slugify(name), name: name.trim().to_owned() })
            }
            Value::Object(o) => {
                let name = o.get("name").and_then(Value::as_str).ok_or("category.name: missing")?;
                let id = o
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| slugify(name), str::to_owned);
                Ok(CategoryRef { id, name: name.trim().to_owned() })
            }
            other => Err(format!(
                "category: expected a name, an {{id, name}} object or a list of them, got {other}"
            )),
        }
    };
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

fn labels(v: &Value) -> Result<Vec<LabelRef>, String> {
    let Value::Array(items) = v else {
        return Err(format!("labels: expected a list of names or {{id, name}} objects, got {v}"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(name) => Ok(LabelRef { id: slugify(name), name: name.trim().to_owned() }),
            Value::Object(o) => {
                let name = o
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("labels[{i}].name: missing"))?;
                let id = o
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| slugify(name), str::to_owned);
                Ok(LabelRef { id, name: name.trim().to_owned() })
            }
            other => {
                Err(format!("labels[{i}]: expected a name or an {{id, name}} object, got {other}"))
            }
        })
        .collect()
}

fn product(obj: &Map<String, Value>) -> Result<ProductWrite, String> {
    let gtin = obj.get("gtin").and_then(Value::as_str).ok_or("gtin: missing")?;
    let gtin = gs1::Gtin14::parse(gtin).map_err(|e| format!("gtin {gtin:?}: {e}"))?;
    let data_source = match obj.get("data_source").and_then(Value::as_str) {
        None => DataSource::Import,
        Some(s) => DataSource::parse(s).map_err(|e| format!("data_source: {e}"))?,
    };
    let mut w = ProductWrite::new(gtin, data_source);
    w.name = patch_text(obj, "name")?;
    w.brand = patch_text(obj, "brand")?;
    w.description = patch_text(obj, "description")?;
    w.net_content = patch_text(obj, "net_content")?;
    w.image_url = patch_text(obj, "image_url")?;
    w.country_of_origin = match patch_text(obj, "country_of_origin")? {
        Patch::Set(c) => {
            Patch::Set(CountryCode::parse(&c).map_err(|e| format!("country_of_origin: {e}"))?)
        }
        Patch::Clear => Patch::Clear,
        Patch::Keep => Patch::Keep,
    };
    w.category = match obj.get("category") {
        None => Patch::Keep,
        Some(Value::Null) => Patch::Clear,
        Some(v) => Patch::Set(category(v)?),
    };
    w.labels = match obj.get("labels") {
        None => Patch::Keep,
        Some(Value::Null) => Patch::Clear,
        Some(v) => match labels(v)? {
            list if list.is_empty() => Patch::Clear,
            list => Patch::Set(list),
        },
    };
    w.metadata = match obj.get("metadata") {
        None => MetadataPatch::default(),
        Some(Value::Null) => MetadataPatch { clear: true, ..MetadataPatch::default() },
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("metadata: {e}"))?,
    };
    w.images = match obj.get("images") {
        None => None,
        Some(Value::Null) => Some(Vec::new()),
        Some(v) => Some(
            serde_json::from_value::<Vec<ImageWrite>>(v.clone())
                .map_err(|e| format!("images: {e}"))?,
        ),
    };
    w.ingredients = match obj.get("ingredients") {
        None => None,
        Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => {
                        Ok(IngredientWrite { name: s.clone(), percentage_of_weight: None })
                    }
                    other => serde_json::from_value(other.clone())
                        .map_err(|e| format!("ingredients[{i}]: {e}")),
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(other) => return Err(format!("ingredients: expected a list, got {other}")),
    };
    w.nutrition = match obj.get("nutrition") {
        None => Patch::Keep,
        Some(Value::Null) => Patch::Clear,
        Some(v) => Patch::Set(
            serde_json::from_value::<NutritionWrite>(v.clone())
                .map_err(|e| format!("nutrition: {e}"))?,
        ),
    };
    w.validate().map_err(|e| format!("{}: {}", e.field, e.message))?;
    Ok(w)
}

/// Parses a catalog JSONL file and pushes one [`Parsed`] per line.
pub fn parse(source: Source, out: &mut BatchSender) -> Result<(), ImportError> {
    read_records(source, &[], |line, raw, rec| {
        let parsed = match rec {
            Ok(Record::Json(obj)) => {
                let kind = obj.get("type").and_then(Value::as_str).unwrap_or("product").to_owned();
                let key = ["gtin", "store_ref"]
                    .iter()
                    .find_map(|k| obj.get(*k).and_then(Value::as_str))
                    .unwrap_or_default()
                    .to_owned();
                let row = RowRef { line, key, raw };
                let write = match kind.as_str() {
                    "product" => product(&obj).map(|p| Write::Product(Box::new(p))),
                    "store" => {
                        stores::generic(&Record::Json(obj)).map(|s| Write::Store(Box::new(s)))
                    }
                    "offer" => offers::offer(&Record::Json(obj)).map(|o| Write::Offer(Box::new(o))),
                    other => Err(format!("type: {other:?} is not product, store or offer")),
                };
                match write {
                    Ok(write) => Parsed::Write { row, write, warnings: Vec::new() },
                    Err(reason) => Parsed::Reject { row, reason },
                }
            }
            Ok(Record::Csv { .. }) => Parsed::Reject {
                row: RowRef { line, key: String::new(), raw },
                reason: "a catalog file is JSONL: one JSON object per line".into(),
            },
            Err(reason) => Parsed::Reject { row: RowRef { line, key: String::new(), raw }, reason },
        };
        out.push(parsed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(s: &str) -> Map<String, Value> {
        match serde_json::from_str(s).unwrap() {
            Value::Object(o) => o,
            _ => panic!(),
        }
    }

    #[test]
    fn absent_keeps_null_clears() {
        let w = product(&obj(r#"{"gtin":"4012345000009","name":"X","brand":null}"#)).unwrap();
        assert_eq!(w.name, Patch::Set("X".into()));
        assert_eq!(w.brand, Patch::Clear);
        assert_eq!(w.description, Patch::Keep);
        assert_eq!(w.data_source, DataSource::Import);
    }

    #[test]
    fn errors_name_the_field() {
        let e = product(&obj(r#"{"gtin":"4012345000008","name":"X"}"#)).unwrap_err();
        assert!(e.starts_with("gtin"), "{e}");
        let e = product(&obj(r#"{"gtin":"4012345000009","country_of_origin":"XX"}"#)).unwrap_err();
        assert!(e.starts_with("country_of_origin"), "{e}");
        let e = product(&obj(r#"{"gtin":"4012345000009","metadata":{"a":1}}"#)).unwrap_err();
        assert!(e.starts_with("metadata"), "{e}");
        let e = product(&obj(
            r#"{"gtin":"4012345000009","ingredients":[{"name":"x","percentage_of_weight":120}]}"#,
        ))
        .unwrap_err();
        assert!(e.contains("percentage_of_weight"), "{e}");
    }
}

//! Metadata (docs/spec.md §2): flat string → string, ≤ 50 keys, keys ≤ 40 chars, values ≤ 500
//! chars; merged by patches where an empty value deletes a key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A validated metadata map. Serializes as a JSON object, `{}` when empty (never null).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Metadata(BTreeMap<String, String>);

/// Why a metadata map or patch is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MetadataError(pub String);

impl Metadata {
    /// Most keys a map may hold.
    pub const MAX_KEYS: usize = 50;
    /// Longest key, in characters.
    pub const MAX_KEY_CHARS: usize = 40;
    /// Longest value, in characters.
    pub const MAX_VALUE_CHARS: usize = 500;

    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates a complete map (values must be non-empty).
    pub fn try_from_map(map: BTreeMap<String, String>) -> Result<Self, MetadataError> {
        for (k, v) in &map {
            check_key(k)?;
            if v.is_empty() {
                return Err(MetadataError(format!(
                    "metadata value for key {k:?} is empty; omit the key instead"
                )));
            }
            check_value(k, v)?;
        }
        check_count(map.len())?;
        Ok(Self(map))
    }

    /// Parses the stored JSON form.
    pub fn from_json(json: &str) -> Result<Self, MetadataError> {
        let map: BTreeMap<String, String> = serde_json::from_str(json)
            .map_err(|e| MetadataError(format!("metadata is not a flat string map: {e}")))?;
        Self::try_from_map(map)
    }

    /// The stored JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Applies a merge patch: keys with an empty value are deleted, others set; the result must
    /// still respect the limits.
    pub fn merged(&self, patch: &MetadataPatch) -> Result<Self, MetadataError> {
        let mut map = if patch.clear { BTreeMap::new() } else { self.0.clone() };
        for (k, v) in &patch.entries {
            if v.is_empty() {
                map.remove(k);
            } else {
                map.insert(k.clone(), v.clone());
            }
        }
        check_count(map.len()).map_err(|e| {
            MetadataError(format!("{e} after merging the update into the existing metadata"))
        })?;
        Ok(Self(map))
    }

    /// Looks a key up.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn check_key(k: &str) -> Result<(), MetadataError> {
    let n = k.chars().count();
    if n == 0 || n > Metadata::MAX_KEY_CHARS {
        return Err(MetadataError(format!(
            "metadata key {k:?} has {n} characters; keys must have 1 to {} characters",
            Metadata::MAX_KEY_CHARS
        )));
    }
    Ok(())
}

fn check_value(k: &str, v: &str) -> Result<(), MetadataError> {
    let n = v.chars().count();
    if n > Metadata::MAX_VALUE_CHARS {
        return Err(MetadataError(format!(
            "metadata value for key {k:?} has {n} characters; at most {} are allowed",
            Metadata::MAX_VALUE_CHARS
        )));
    }
    Ok(())
}

fn check_count(n: usize) -> Result<(), MetadataError> {
    if n > Metadata::MAX_KEYS {
        return Err(MetadataError(format!(
            "metadata has {n} keys; at most {} are allowed",
            Metadata::MAX_KEYS
        )));
    }
    Ok(())
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(d)?;
        Self::try_from_map(map).map_err(serde::de::Error::custom)
    }
}

/// A metadata update with merge semantics (docs/spec.md §2): an empty string deletes a key, other
/// values set it, keys not mentioned are kept; `clear` first empties the map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MetadataPatch {
    /// Remove every existing key before applying `entries`.
    pub clear: bool,
    /// Keys to set (non-empty value) or delete (empty value).
    pub entries: BTreeMap<String, String>,
}

impl MetadataPatch {
    /// Validates keys and value lengths of a patch.
    pub fn new(entries: BTreeMap<String, String>) -> Result<Self, MetadataError> {
        for (k, v) in &entries {
            check_key(k)?;
            check_value(k, v)?;
        }
        Ok(Self { clear: false, entries })
    }

    /// A patch that replaces the whole map.
    pub fn replace(map: Metadata) -> Self {
        Self { clear: true, entries: map.0 }
    }

    /// Whether the patch changes nothing.
    pub fn is_noop(&self) -> bool {
        !self.clear && self.entries.is_empty()
    }
}

impl<'de> Deserialize<'de> for MetadataPatch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(d)?;
        Self::new(map).map_err(serde::de::Error::custom)
    }
}

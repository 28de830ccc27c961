//! A static (lookup-table) sentence embedder loaded from a model directory: a token-embedding
//! table and its tokenizer, a sentence being the mean of its tokens' rows, normalized to unit
//! length — the inference of Model2Vec's potion models and of WordLlama. Microseconds per
//! text, so products and queries are embedded on the CPU without a transformer.
//!
//! The directory holds `tokenizer.json` (a Hugging Face tokenizer), `embeddings.safetensors`
//! (one `vocab × dim` table, f32 or f16) and `model.json`:
//! `{"kind": "static", "name": "…", "skip_ids": [1], "max_tokens": 512}` (ids left out of the
//! mean, such as `[UNK]`, and the longest input in tokens; both optional).

use std::path::Path;

use candle_core::{DType, Device};
use serde::Deserialize;
use tokenizers::Tokenizer;

use crate::{EmbedError, Embedder};

/// The table's file name in the model directory.
pub const TABLE_FILE: &str = "embeddings.safetensors";
/// The manifest's file name.
pub const MANIFEST_FILE: &str = "model.json";

/// `model.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `static`.
    pub kind: String,
    /// A short name for logs and health (`potion-base-8M`).
    pub name: String,
    /// Token ids left out of the mean.
    #[serde(default)]
    pub skip_ids: Vec<u32>,
    /// Longest input in tokens (longer texts are cut); none when absent.
    #[serde(default)]
    pub max_tokens: Option<usize>,
}

/// A static embedder.
pub struct StaticEmbedder {
    manifest: Manifest,
    tokenizer: Tokenizer,
    table: Vec<f32>,
    dim: usize,
}

impl std::fmt::Debug for StaticEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticEmbedder")
            .field("name", &self.manifest.name)
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

fn io(path: &Path, source: std::io::Error) -> EmbedError {
    EmbedError::Io { path: path.display().to_string(), source }
}

impl StaticEmbedder {
    /// Whether `dir` holds a static model (a `model.json` of kind `static`).
    pub fn is_static_dir(dir: &Path) -> bool {
        Self::manifest(dir).is_ok_and(|m| m.kind == "static")
    }

    /// Reads `model.json`.
    pub fn manifest(dir: &Path) -> Result<Manifest, EmbedError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| EmbedError::Model(format!("{MANIFEST_FILE}: {e}")))
    }

    /// Loads the model in `dir`.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let manifest = Self::manifest(dir)?;
        if manifest.kind != "static" {
            return Err(EmbedError::Model(format!(
                "{MANIFEST_FILE}: kind {:?} is not a static model",
                manifest.kind
            )));
        }
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| EmbedError::Tokenizer(format!("tokenizer.json: {e}")))?;
        tokenizer.with_padding(None);
        tokenizer.with_truncation(None).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let path = dir.join(TABLE_FILE);
        if !path.is_file() {
            return Err(io(&path, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
        let tensors = candle_core::safetensors::load(&path, &Device::Cpu)?;
        let mut tables = tensors.values().filter(|t| t.dims().len() == 2);
        let (Some(table), None) = (tables.next(), tables.next()) else {
            return Err(EmbedError::Model(format!("{TABLE_FILE} must hold exactly one 2-D table")));
        };
        let (rows, dim) = table.dims2()?;
        let vocab = tokenizer.get_vocab_size(true);
        if rows < vocab {
            return Err(EmbedError::Model(format!(
                "{TABLE_FILE} has {rows} rows but the tokenizer {vocab} tokens"
            )));
        }
        let table = table.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        Ok(Self { manifest, tokenizer, table, dim })
    }

    /// The manifest's name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The token ids of `text` as the mean reads them (cut, skipped ids removed).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let enc =
            self.tokenizer.encode(text, false).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let mut ids: Vec<u32> = enc.get_ids().to_vec();
        if let Some(max) = self.manifest.max_tokens {
            ids.truncate(max);
        }
        ids.retain(|id| !self.manifest.skip_ids.contains(id));
        Ok(ids)
    }

    fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut v = vec![0f32; self.dim];
        for id in self.token_ids(text)? {
            let start = id as usize * self.dim;
            if let Some(row) = self.table.get(start..start + self.dim) {
                for (a, b) in v.iter_mut().zip(row) {
                    *a += b;
                }
            }
        }
        // The mean's direction is the sum's: normalizing the sum is the normalized mean.
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        Ok(v)
    }
}

impl Embedder for StaticEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        texts.iter().map(|t| self.embed_one(t)).collect()
    }
}

/// The id vectors by the static model in `dir` are stored under: its name and a hash of its
/// manifest, tokenizer and table size (another model, or another version, re-embeds).
pub fn static_model_id(dir: &Path) -> Result<String, EmbedError> {
    use sha2::Digest as _;
    let manifest = StaticEmbedder::manifest(dir)?;
    let mut h = sha2::Sha256::new();
    for name in [MANIFEST_FILE, "tokenizer.json"] {
        let path = dir.join(name);
        h.update(std::fs::read(&path).map_err(|e| io(&path, e))?);
    }
    let path = dir.join(TABLE_FILE);
    h.update(std::fs::metadata(&path).map_err(|e| io(&path, e))?.len().to_le_bytes());
    let digest = h.finalize();
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("static-{}:{hex}", manifest.name))
}

//! prodlink's search engines. [`lexical`]: the in-memory inverted index of the lexical leg, with
//! the multilingual text analysis of [`text`]. The rest: sentence embeddings for the semantic
//! leg — the [`Embedder`] trait the catalog's search uses, and [`MiniLm`], the pretrained all-MiniLM-L6-v2 sentence-transformer run
//! locally on candle from a model directory (`model.safetensors`, `tokenizer.json`,
//! `config.json`). Its pipeline is the model's published one: WordPiece tokens truncated at 256,
//! BERT, mean pooling over the attention mask, L2 normalisation — pinned against
//! sentence-transformers' own output by `tests/it/reference.rs`.

use std::path::Path;

mod distilled;
mod index;
pub mod lexical;
mod static_model;
pub mod text;

pub use distilled::Distilled;
pub use index::VectorIndex;
pub use lexical::{AnalyzedDocument, Document, Field, LexicalIndex, LexicalMatch};
pub use static_model::{Manifest, StaticEmbedder, static_model_id};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationParams};

/// The longest input, in word pieces with `[CLS]` and `[SEP]` (sentence-transformers'
/// `max_seq_length` for all-MiniLM-L6-v2).
pub const MAX_TOKENS: usize = 256;

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The model files are not a usable BERT sentence-transformer.
    #[error("model: {0}")]
    Model(String),
    /// Tokenization failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}

impl From<candle_core::Error> for EmbedError {
    fn from(e: candle_core::Error) -> Self {
        Self::Model(e.to_string())
    }
}

/// Turns texts into unit-length vectors whose dot product is their cosine similarity.
pub trait Embedder: Send + Sync {
    /// The vector length.
    fn dim(&self) -> usize;
    /// One vector per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// all-MiniLM-L6-v2 (or any BERT sentence-transformer with mean pooling) on the CPU.
pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dim: usize,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm").field("dim", &self.dim).finish_non_exhaustive()
    }
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>, EmbedError> {
    let path = dir.join(name);
    std::fs::read(&path)
        .map_err(|source| EmbedError::Io { path: path.display().to_string(), source })
}

impl MiniLm {
    /// Loads the model from a directory with `config.json`, `tokenizer.json` and
    /// `model.safetensors`. The tokenizer's own padding (all-MiniLM-L6-v2's pads every input
    /// to 128) is switched off and its truncation set to [`MAX_TOKENS`].
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let config: Config = serde_json::from_slice(&read(dir, "config.json")?)
            .map_err(|e| EmbedError::Model(format!("config.json: {e}")))?;
        let mut tokenizer = Tokenizer::from_bytes(read(dir, "tokenizer.json")?)
            .map_err(|e| EmbedError::Tokenizer(format!("tokenizer.json: {e}")))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let device = Device::Cpu;
        let weights = read(dir, "model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)?;
        let model = BertModel::load(vb, &config)
            .map_err(|e| EmbedError::Model(format!("model.safetensors: {e}")))?;
        let dim = config.hidden_size;
        Ok(Self { model, tokenizer, device, dim })
    }

    /// The word-piece ids of a text, `[CLS]` and `[SEP]` included, truncated at
    /// [`MAX_TOKENS`].
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let e =
            self.tokenizer.encode(text, true).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        Ok(e.get_ids().to_vec())
    }

    /// The tokenizer (padding off, truncation at [`MAX_TOKENS`]).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The last hidden states `(n, 3, dim)` of `n` three-piece sequences without padding.
    pub fn forward_ids(&self, seqs: &[[u32; 3]]) -> Result<Tensor, EmbedError> {
        let flat: Vec<u32> = seqs.iter().flatten().copied().collect();
        let ids = Tensor::from_vec(flat, (seqs.len(), 3), &self.device)?;
        let mask = ids.ones_like()?;
        let types = ids.zeros_like()?;
        Ok(self.model.forward(&ids, &types, Some(&mask))?)
    }
}

impl Embedder for MiniLm {
    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        // Pad to the longest input of this batch only; the mask keeps padding out of the mean.
        let len = encodings.iter().map(|e| e.get_ids().len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(texts.len() * len);
        let mut mask = Vec::with_capacity(texts.len() * len);
        for e in &encodings {
            let n = e.get_ids().len();
            ids.extend_from_slice(e.get_ids());
            ids.extend(std::iter::repeat_n(0u32, len - n));
            mask.extend_from_slice(e.get_attention_mask());
            mask.extend(std::iter::repeat_n(0u32, len - n));
        }
        let shape = (texts.len(), len);
        let ids = Tensor::from_vec(ids, shape, &self.device)?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?;
        let summed = hidden.broadcast_mul(&mask.unsqueeze(2)?)?.sum(1)?;
        let counts = mask.sum_keepdim(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norm)?.to_vec2::<f32>()?)
    }
}

/// A short id of the model in `dir` for the given embedder kind: the kind, plus a hash of
/// `config.json`, `tokenizer.json` and the size of `model.safetensors`. Vectors stored under
/// another id are re-embedded.
pub fn model_id(dir: &Path, kind: &str) -> Result<String, EmbedError> {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(read(dir, "config.json")?);
    h.update(read(dir, "tokenizer.json")?);
    let path = dir.join("model.safetensors");
    let len = std::fs::metadata(&path)
        .map_err(|source| EmbedError::Io { path: path.display().to_string(), source })?
        .len();
    h.update(len.to_le_bytes());
    let digest = h.finalize();
    Ok(format!("{kind}:{}", digest[..6].iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

/// The id vectors by the model in `dir` are stored under: a static model's
/// ([`static_model_id`]), or that of the table [`Distilled`] from a sentence-transformer.
pub fn embedder_id(dir: &Path) -> Result<String, EmbedError> {
    if StaticEmbedder::is_static_dir(dir) {
        static_model_id(dir)
    } else {
        model_id(dir, Distilled::KIND)
    }
}

/// Loads the embedder for the model in `dir`: a static model as it is, a sentence-transformer
/// as the table distilled from it (distilled once and cached in the directory).
pub fn load_embedder(dir: &Path) -> Result<std::sync::Arc<dyn Embedder>, EmbedError> {
    if StaticEmbedder::is_static_dir(dir) {
        Ok(std::sync::Arc::new(StaticEmbedder::load(dir)?))
    } else {
        Ok(std::sync::Arc::new(Distilled::load_or_distill(dir)?))
    }
}

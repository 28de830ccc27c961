//! A static sentence embedder distilled from a transformer (the Model2Vec recipe): every
//! vocabulary word piece is run through the model once, alone between `[CLS]` and `[SEP]`, and
//! its output vector kept; a sentence is then the weighted mean of its word pieces' vectors.
//! It costs microseconds per text instead of milliseconds, at a relevance price measured by
//! `benches/relevance.sh`. The table is cached next to the model (`distilled-v2.safetensors`).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use tokenizers::Tokenizer;

use crate::{EmbedError, Embedder, MiniLm};

/// Longest input, in word pieces (longer texts are cut).
pub const MAX_PIECES: usize = 512;
/// File name of the cached table inside the model directory.
pub const CACHE_FILE: &str = "distilled-v2.safetensors";
/// First id of the frequency-ordered whole words in the BERT uncased vocabulary ("the"):
/// the ids below are padding, unused slots and single characters.
const FIRST_WORD_ID: u32 = 1996;

/// A static embedder: one vector per word piece, a sentence is their weighted mean.
pub struct Distilled {
    tokenizer: Tokenizer,
    /// `vocab × dim`, row-major, each row already multiplied by its token weight.
    table: Vec<f32>,
    dim: usize,
}

impl std::fmt::Debug for Distilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Distilled")
            .field("dim", &self.dim)
            .field("vocab", &(self.table.len() / self.dim.max(1)))
            .finish_non_exhaustive()
    }
}

/// The SIF smoothing constant `a` (Arora, Liang and Ma 2017): a piece of probability `p`
/// weighs `a / (a + p)`.
const SIF_A: f64 = 1e-3;

/// SIF weight of a word piece, its probability estimated from its rank in the
/// frequency-ordered BERT vocabulary by Zipf's law (`p ≈ 1 / (rank · ln V)`): frequent pieces
/// ("the", "and", "de") weigh almost nothing, rare ones close to 1. (On
/// `benches/relevance.sh` this beat the log-rank weight of Model2Vec's first release:
/// hybrid NDCG@10 0.252 against 0.227.)
fn sif_weight(id: u32, vocab: u32) -> f32 {
    let rank = f64::from(id.saturating_sub(FIRST_WORD_ID) + 1);
    let p = 1.0 / (rank * f64::from(vocab.max(2)).ln());
    (SIF_A / (SIF_A + p)) as f32
}

impl Distilled {
    /// The recipe's name and version, part of the id stored vectors are kept under: a new
    /// recipe makes every product be embedded again.
    pub const KIND: &str = "distilled-v2";

    /// Distils the table from a loaded model (about a minute on 2 cores for 30k pieces).
    pub fn distill(model: &MiniLm) -> Result<Self, EmbedError> {
        let tokenizer = model.tokenizer().clone();
        let vocab = u32::try_from(tokenizer.get_vocab_size(true))
            .map_err(|_| EmbedError::Model("vocabulary too large".into()))?;
        let id = |t: &str| {
            tokenizer
                .token_to_id(t)
                .ok_or_else(|| EmbedError::Model(format!("the vocabulary has no {t}")))
        };
        let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
        let dim = model.dim();
        let mut rows: Vec<f32> = Vec::with_capacity(vocab as usize * dim);
        let ids: Vec<u32> = (0..vocab).collect();
        for chunk in ids.chunks(512) {
            let seqs: Vec<[u32; 3]> = chunk.iter().map(|&t| [cls, t, sep]).collect();
            let out = model.forward_ids(&seqs)?;
            // The piece's own position: its meaning in the model's output space.
            let own = out.narrow(1, 1, 1)?.squeeze(1)?;
            rows.extend(own.flatten_all()?.to_vec1::<f32>()?);
        }
        // Centre the table (drop the direction every piece shares), then weight.
        let n = vocab as usize;
        let mut mean = vec![0f32; dim];
        for row in rows.chunks(dim) {
            for (m, x) in mean.iter_mut().zip(row) {
                *m += x / n as f32;
            }
        }
        for (i, row) in rows.chunks_mut(dim).enumerate() {
            let w = sif_weight(i as u32, vocab);
            for (x, m) in row.iter_mut().zip(&mean) {
                *x = (*x - m) * w;
            }
        }
        Ok(Self { tokenizer: plain(tokenizer)?, table: rows, dim })
    }

    /// Loads the cached table from the model directory, or distils it from the model there
    /// and writes the cache (the directory must then be writable; a failure to write is
    /// logged and the table used anyway).
    pub fn load_or_distill(dir: &Path) -> Result<Self, EmbedError> {
        let cache = dir.join(CACHE_FILE);
        if cache.is_file() {
            match Self::load(dir) {
                Ok(d) => return Ok(d),
                Err(e) => {
                    tracing::warn!(error = %e, "distilled table unreadable; distilling again")
                }
            }
        }
        let model = MiniLm::load(dir)?;
        let d = Self::distill(&model)?;
        if let Err(e) = d.save(&cache) {
            tracing::warn!(error = %e, path = %cache.display(), "could not cache the distilled table");
        }
        Ok(d)
    }

    /// Loads the cached table (and the tokenizer) from the model directory.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| EmbedError::Tokenizer(format!("tokenizer.json: {e}")))?;
        let tensors = candle_core::safetensors::load(dir.join(CACHE_FILE), &Device::Cpu)?;
        let table = tensors
            .get("table")
            .ok_or_else(|| EmbedError::Model(format!("{CACHE_FILE} has no table")))?;
        let (rows, dim) = table.dims2()?;
        if rows != tokenizer.get_vocab_size(true) {
            return Err(EmbedError::Model(format!(
                "{CACHE_FILE} has {rows} rows but the vocabulary {}",
                tokenizer.get_vocab_size(true)
            )));
        }
        let table = table.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        Ok(Self { tokenizer: plain(tokenizer)?, table, dim })
    }

    /// The word-piece ids of `text`, as [`Embedder::embed`] reads it.
    pub fn piece_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let enc =
            self.tokenizer.encode(text, false).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Word piece `id`'s text.
    pub fn piece(&self, id: u32) -> Option<String> {
        self.tokenizer.id_to_token(id)
    }

    /// How many word pieces the table has.
    pub fn vocab_size(&self) -> u32 {
        u32::try_from(self.table.len() / self.dim.max(1)).unwrap_or(u32::MAX)
    }

    /// The vocabulary-rank weight built into piece `id`'s row.
    pub fn rank_weight(&self, id: u32) -> f32 {
        sif_weight(id, self.vocab_size())
    }

    /// The unit-length sum of `ids`' rows, each scaled by `scale(id)` (`|_| 1.0` is
    /// [`Embedder::embed`]).
    pub fn embed_ids(&self, ids: &[u32], scale: impl Fn(u32) -> f32) -> Vec<f32> {
        let mut v = vec![0f32; self.dim];
        for &id in ids {
            let start = id as usize * self.dim;
            if let Some(row) = self.table.get(start..start + self.dim) {
                let s = scale(id);
                for (a, b) in v.iter_mut().zip(row) {
                    *a += s * b;
                }
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }

    /// Writes the table as safetensors.
    pub fn save(&self, path: &Path) -> Result<(), EmbedError> {
        let rows = self.table.len() / self.dim;
        let t = Tensor::from_slice(&self.table, (rows, self.dim), &Device::Cpu)?;
        let tensors: HashMap<String, Tensor> = HashMap::from([("table".to_owned(), t)]);
        // Written beside the target and renamed over it, so a process reading the cache (or a
        // second one distilling at the same time) never sees half a file.
        let partial = path.with_extension(format!("partial-{}", std::process::id()));
        candle_core::safetensors::save(&tensors, &partial)?;
        std::fs::rename(&partial, path).map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            EmbedError::Io { path: path.display().to_string(), source: e }
        })?;
        Ok(())
    }
}

/// The tokenizer without padding, special tokens' truncation set to [`MAX_PIECES`].
fn plain(mut tokenizer: Tokenizer) -> Result<Tokenizer, EmbedError> {
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(Some(tokenizers::TruncationParams {
            max_length: MAX_PIECES,
            ..Default::default()
        }))
        .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
    Ok(tokenizer)
}

impl Embedder for Distilled {
    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        texts.iter().map(|text| Ok(self.embed_ids(&self.piece_ids(text)?, |_| 1.0))).collect()
    }
}

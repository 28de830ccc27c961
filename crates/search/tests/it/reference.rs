//! all-MiniLM-L6-v2 on candle against sentence-transformers: every fixture sentence's
//! embedding within 1e-4 of the reference (`fixtures/reference_embeddings.json`, made once by
//! `fixtures/make_reference.py`), token ids identical, and batching (padding) changing
//! nothing. The model comes from `PRODLINK_MODEL_DIR` or `models/all-MiniLM-L6-v2` (fetched by
//! `scripts/fetch-model.sh`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use testkit::model_dir;

use search::{Embedder, MiniLm};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    dim: usize,
    sentences: Vec<Sentence>,
}

#[derive(Deserialize)]
struct Sentence {
    text: String,
    embedding: Vec<f32>,
    input_ids: Option<Vec<u32>>,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reference_embeddings.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn embeddings_match_sentence_transformers() {
    let model = MiniLm::load(&model_dir("all-MiniLM-L6-v2", "model.safetensors")).unwrap();
    let f = fixture();
    assert_eq!(model.dim(), f.dim);
    assert!(f.sentences.len() >= 10);
    let mut checked_ids = 0;
    for s in &f.sentences {
        let got = model.embed(&[&s.text]).unwrap().remove(0);
        let d = max_diff(&got, &s.embedding);
        assert!(d < 1e-4, "{:?}: max difference {d}", s.text);
        if let Some(ids) = &s.input_ids {
            assert_eq!(&model.token_ids(&s.text).unwrap(), ids, "{:?}", s.text);
            checked_ids += 1;
        }
    }
    assert!(checked_ids >= 3);
    // One batch of every sentence (padded to the longest): the same vectors.
    let texts: Vec<&str> = f.sentences.iter().map(|s| s.text.as_str()).collect();
    for (got, s) in model.embed(&texts).unwrap().iter().zip(&f.sentences) {
        let d = max_diff(got, &s.embedding);
        assert!(d < 1e-4, "{:?} in a batch: max difference {d}", s.text);
    }
}

#[test]
fn similar_meanings_are_close() {
    let model = MiniLm::load(&model_dir("all-MiniLM-L6-v2", "model.safetensors")).unwrap();
    let v = model.embed(&["pasta without gluten", "gluten-free spaghetti", "chocolate"]).unwrap();
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    for x in &v {
        assert!((dot(x, x) - 1.0).abs() < 1e-5, "unit length");
    }
    assert!(dot(&v[0], &v[1]) > 0.75);
    assert!(dot(&v[0], &v[2]) < 0.35);
    assert!(model.embed(&[]).unwrap().is_empty());
}

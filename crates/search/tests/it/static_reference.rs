//! potion-base-8M, the static embedding prodlink serves, against model2vec (the library it was
//! made for): the first dimensions of ten product texts within 1e-5, the cosines between them,
//! and the word pieces. Fixture: `fixtures/potion_reference.json` (made once by
//! `fixtures/make_static_reference.py`). The model comes from `PRODLINK_MODEL_DIR` or
//! `models/potion-base-8M` (fetched by `scripts/fetch-model.sh`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;
use testkit::model_dir;

use search::{Embedder, StaticEmbedder};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    strings: Vec<String>,
    first8: Vec<Vec<f32>>,
    pairs: Vec<Pair>,
    tokens: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct Pair {
    a: usize,
    b: usize,
    cosine: f32,
}

#[test]
fn embeddings_match_model2vec() {
    let dir = model_dir("potion-base-8M", "model.json");
    let model = StaticEmbedder::load(&dir).unwrap();
    assert_eq!(model.dim(), 256);
    assert_eq!(model.name(), "potion-base-8M");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/potion_reference.json");
    let f: Fixture = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let texts: Vec<&str> = f.strings.iter().map(String::as_str).collect();
    let vectors = model.embed(&texts).unwrap();
    for ((text, v), want) in texts.iter().zip(&vectors).zip(&f.first8) {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{text:?}: norm {norm}");
        for (got, want) in v.iter().zip(want) {
            assert!((got - want).abs() < 1e-5, "{text:?}: {got} vs {want}");
        }
    }
    for p in &f.pairs {
        let cos: f32 = vectors[p.a].iter().zip(&vectors[p.b]).map(|(x, y)| x * y).sum();
        assert!(
            (cos - p.cosine).abs() < 1e-5,
            "{:?} · {:?}: {cos} vs {}",
            texts[p.a],
            texts[p.b],
            p.cosine
        );
    }
    let tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    for (text, want) in &f.tokens {
        let ids = model.token_ids(text).unwrap();
        let got: Vec<String> = ids.iter().map(|id| tokenizer.id_to_token(*id).unwrap()).collect();
        assert_eq!(&got, want, "{text:?}");
    }
    // Batching changes nothing, an empty text is the zero vector.
    let one = model.embed(&[texts[3]]).unwrap().remove(0);
    assert_eq!(one, vectors[3]);
    assert!(model.embed(&[""]).unwrap()[0].iter().all(|x| *x == 0.0));
}

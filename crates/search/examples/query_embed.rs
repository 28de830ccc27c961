//! Time to embed one search query, as the query path does it (one text, no batching): reads
//! queries from stdin (one per line) and prints p50/p95/mean per query for the model in
//! MODEL_DIR as `prodlink serve` loads it (potion-base-8M; or the static embedding distilled
//! from a sentence-transformer) and, for a sentence-transformer unless `DISTILLED_ONLY` is
//! set, for the transformer itself.
//!   cargo run --release -p search --example query_embed -- MODEL_DIR [N] < queries.txt
//! (`benches/search.sh` feeds it the queries of its latency run.)

use std::io::{BufRead as _, Write as _};
use std::time::Instant;

use search::{Embedder, MiniLm, StaticEmbedder};

fn time_queries(model: &dyn Embedder, queries: &[String]) -> Result<Vec<f64>, search::EmbedError> {
    let mut times = Vec::with_capacity(queries.len());
    for q in queries {
        let start = Instant::now();
        model.embed(&[q.as_str()])?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: query_embed MODEL_DIR [N] < queries")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let dir = std::path::Path::new(&dir);
    let queries: Vec<String> = std::io::stdin()
        .lock()
        .lines()
        .map_while(Result::ok)
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .collect();
    if queries.is_empty() {
        return Err("no queries on stdin".into());
    }
    let served = search::embedder_id(dir)?;
    let mut models: Vec<(String, std::sync::Arc<dyn Embedder>)> =
        vec![(served, search::load_embedder(dir)?)];
    if !StaticEmbedder::is_static_dir(dir) && std::env::var_os("DISTILLED_ONLY").is_none() {
        models.push(("all-MiniLM-L6-v2".into(), std::sync::Arc::new(MiniLm::load(dir)?)));
    }
    let mut out = std::io::stdout().lock();
    for (name, model) in &models {
        model.embed(&["warm up"])?;
        let t = time_queries(model.as_ref(), &queries)?;
        writeln!(
            out,
            "query embedding, {name}: {} queries, p50 {:.3} ms, p95 {:.3} ms, mean {:.3} ms",
            t.len(),
            t[t.len() / 2],
            t[(t.len() * 95 / 100).min(t.len() - 1)],
            t.iter().sum::<f64>() / t.len() as f64
        )?;
    }
    Ok(())
}

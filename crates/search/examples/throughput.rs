//! Embedding throughput of all-MiniLM-L6-v2 on candle: reads one text per line from stdin,
//! embeds the first N (default 2,000) in batches of several sizes — texts sorted by length
//! first, so a batch pads little — and prints texts per second for each, plus the time of
//! single short queries.
//!   cargo run --release -p search --example throughput -- MODEL_DIR [N] < texts.txt
//! (`benches/embed.sh` feeds it the demo catalog's product names.)

use std::io::BufRead as _;
use std::time::Instant;

use search::{Embedder as _, MiniLm};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: throughput MODEL_DIR [N] < texts")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let model = MiniLm::load(std::path::Path::new(&dir))?;
    let mut texts: Vec<String> = std::io::stdin()
        .lock()
        .lines()
        .map_while(Result::ok)
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .take(n)
        .collect();
    texts.sort_by_key(String::len);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut out = std::io::stdout().lock();
    use std::io::Write as _;
    writeln!(out, "{} texts, {} threads", refs.len(), std::thread::available_parallelism()?)?;
    for batch in [1usize, 8, 32, 64, 128] {
        let take = if batch == 1 { refs.len().min(300) } else { refs.len() };
        let start = Instant::now();
        for chunk in refs[..take].chunks(batch) {
            model.embed(chunk)?;
        }
        let secs = start.elapsed().as_secs_f64();
        writeln!(out, "batch {batch:>3}: {:>7.1} texts/s ({take} texts)", take as f64 / secs)?;
    }
    let queries =
        ["pasta without gluten", "dark chocolate", "oat milk barista", "sparkling water lemon"];
    let mut times = Vec::new();
    for _ in 0..10 {
        for q in queries {
            let start = Instant::now();
            model.embed(&[q])?;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    writeln!(
        out,
        "short query: p50 {:.1} ms, p95 {:.1} ms",
        times[times.len() / 2],
        times[times.len() * 95 / 100]
    )?;
    Ok(())
}

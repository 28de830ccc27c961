//! Relevance of `search_products` with judgements no one on the team wrote: Open Food Facts'
//! own category labels. The 1,000-product OFF sample is imported *without* its category
//! columns (so neither leg can read the answer), every English category with at least
//! `MIN_PRODUCTS` products becomes a query (its name), and its products are the relevant set.
//! Prints NDCG@10 and Recall@50 for lexical only, semantic only and hybrid, per embedder.
//!   cargo run --release -p catalog --example relevance -- MODEL_DIR [OFF_TSV_GZ] [RATIOS]
//! `EMBEDDERS=distilled` (or `minilm`) runs one embedder; `VERBOSE=1` prints every query;
//! `DATABASES=sqlite,postgres` (with `PRODLINK_BENCH_PG`, an admin URL) runs the same queries
//! on both backends and prints them side by side.
//! (`benches/relevance.sh` runs it on the demo sample.)

#![allow(clippy::print_stdout)] // a benchmark report

use std::collections::{BTreeMap, HashSet};
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;

use catalog::import::{ImportKind, NoProgress, ReportFiles, Source, import_source};
use catalog::postgres::{PgOptions, PgStore};
use catalog::search::SearchRequest;
use catalog::semantic::Semantic;
use catalog::sqlite::{SqliteOptions, SqliteStore};
use catalog::{Catalog, CatalogStore};
use search::{Distilled, Embedder, MiniLm};

/// Smallest category used as a query.
const MIN_PRODUCTS: usize = 10;
/// Columns kept for the catalog: no category, label or other classification column.
const KEEP: [&str; 5] = ["code", "product_name", "generic_name", "brands", "ingredients_text"];

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Query {
    text: String,
    relevant: HashSet<String>,
}

fn ndcg10(ranked: &[String], relevant: &HashSet<String>) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(10)
        .enumerate()
        .filter(|(_, g)| relevant.contains(*g))
        .map(|(i, _)| 1.0 / ((i + 2) as f64).log2())
        .sum();
    let ideal: f64 = (0..relevant.len().min(10)).map(|i| 1.0 / ((i + 2) as f64).log2()).sum();
    if ideal == 0.0 { 0.0 } else { dcg / ideal }
}

fn recall50(ranked: &[String], relevant: &HashSet<String>) -> f64 {
    let hit = ranked.iter().take(50).filter(|g| relevant.contains(*g)).count();
    hit as f64 / relevant.len().max(1) as f64
}

/// Reads the OFF TSV: the reduced TSV to import, and the category → GTIN-14 judgements.
fn prepare(path: &Path) -> Result<(String, Vec<Query>), Error> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_string(&mut text)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty file")?.split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let keep: Vec<usize> = KEEP.iter().filter_map(|k| col(k)).collect();
    let cats = col("categories_en").ok_or("no categories_en column")?;
    let code = col("code").ok_or("no code column")?;
    let mut reduced =
        KEEP.iter().filter(|k| col(k).is_some()).copied().collect::<Vec<_>>().join("\t");
    reduced.push('\n');
    let mut by_category: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split('\t').collect();
        let Some(gtin) = cells.get(code).and_then(|c| gs1::Gtin14::parse(c).ok()) else {
            continue;
        };
        let row: Vec<&str> = keep.iter().map(|&i| cells.get(i).copied().unwrap_or("")).collect();
        reduced.push_str(&row.join("\t"));
        reduced.push('\n');
        for c in cells.get(cats).copied().unwrap_or("").split(',') {
            let c = c.trim();
            if !c.is_empty() && !c.contains(':') && c != "Null" {
                by_category.entry(c.to_owned()).or_default().insert(gtin.as_str().to_owned());
            }
        }
    }
    let queries = by_category
        .into_iter()
        .filter(|(_, g)| g.len() >= MIN_PRODUCTS)
        .map(|(text, relevant)| Query { text, relevant })
        .collect();
    Ok((reduced, queries))
}

async fn evaluate(catalog: &Catalog, queries: &[Query]) -> Result<(f64, f64), Error> {
    let (mut n, mut r) = (0.0, 0.0);
    for q in queries {
        let req = SearchRequest { query: q.text.clone(), limit: Some(50), ..Default::default() };
        let ranked: Vec<String> =
            catalog.search_products(&req).await?.items.into_iter().map(|i| i.gtin).collect();
        if std::env::var("VERBOSE").is_ok() {
            println!(
                "  {:<40} {:>4} {:.3}",
                q.text,
                q.relevant.len(),
                ndcg10(&ranked, &q.relevant)
            );
        }
        n += ndcg10(&ranked, &q.relevant);
        r += recall50(&ranked, &q.relevant);
    }
    let k = queries.len().max(1) as f64;
    Ok((n / k, r / k))
}

/// Opens a new empty catalog on `backend`: a SQLite file in `dir`, or a new PostgreSQL
/// database on the server of `PRODLINK_BENCH_PG` (an admin URL such as scripts/pg.sh prints).
async fn open(backend: &str, dir: &Path) -> Result<Arc<dyn CatalogStore>, Error> {
    Ok(match backend {
        "sqlite" => {
            let url = format!("sqlite://{}", dir.join("relevance.db").display());
            Arc::new(SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await?)
        }
        "postgres" => {
            let admin = std::env::var("PRODLINK_BENCH_PG")
                .map_err(|_| "DATABASES=postgres needs PRODLINK_BENCH_PG (an admin URL)")?;
            let url = PgStore::create_database(&admin, "prodlink_relevance").await?;
            Arc::new(PgStore::open_and_migrate(&url, &PgOptions::default()).await?)
        }
        other => return Err(format!("unknown backend {other:?} (sqlite, postgres)").into()),
    })
}

/// Every configuration's (label, NDCG@10, Recall@50) on one backend.
async fn run_backend(
    store: Arc<dyn CatalogStore>,
    reduced: &'static [u8],
    queries: &[Query],
    embedders: &[(&str, Arc<dyn Embedder>)],
    ratios: &[f64],
) -> Result<Vec<(String, f64, f64)>, Error> {
    let report = import_source(
        Arc::clone(&store),
        ImportKind::Off,
        Source::from_bytes("off-sample-reduced.tsv", reduced),
        ReportFiles::InMemory(10),
        &NoProgress,
    )
    .await?;
    let lexical = Catalog::new(Arc::clone(&store), "http://localhost");
    lexical.index_search_backlog().await?;
    println!("{}: catalog {}", store.backend(), report.summary());
    let mut out = Vec::new();
    let (n, r) = evaluate(&lexical, queries).await?;
    out.push(("lexical only".to_owned(), n, r));
    for (name, embedder) in embedders {
        let started = std::time::Instant::now();
        let semantic = Arc::new(Semantic::with_embedder(Arc::clone(embedder), *name, 2));
        semantic.load(store.as_ref()).await?;
        let embedded = semantic.index_backlog(store.as_ref()).await?;
        println!(
            "{}: {name}: embedded {embedded} products in {:.1} s",
            store.backend(),
            started.elapsed().as_secs_f64()
        );
        for ratio in std::iter::once(1.0).chain(ratios.iter().copied()) {
            let c = Catalog::new(Arc::clone(&store), "http://localhost")
                .with_semantic(Arc::clone(&semantic), ratio);
            let (n, r) = evaluate(&c, queries).await?;
            let label = if ratio >= 1.0 {
                format!("{name}: semantic only")
            } else {
                format!("{name}: hybrid {ratio:.2}")
            };
            out.push((label, n, r));
        }
    }
    store.close().await;
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let model_dir = args.next().ok_or("usage: relevance MODEL_DIR [OFF_TSV_GZ] [RATIOS]")?;
    let data = args.next().unwrap_or_else(|| "data/demo/off-sample-1000.tsv.gz".into());
    let ratios: Vec<f64> = args
        .next()
        .unwrap_or_else(|| "0.3,0.5,0.7".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let (reduced, queries) = prepare(Path::new(&data))?;
    let bytes: &'static [u8] = Box::leak(reduced.into_bytes().into_boxed_slice());
    println!(
        "{} queries: English OFF categories with ≥ {MIN_PRODUCTS} products; category text not indexed",
        queries.len()
    );
    let model_dir = Path::new(&model_dir);
    let which = std::env::var("EMBEDDERS").unwrap_or_else(|_| "minilm,distilled".into());
    let mut embedders: Vec<(&str, Arc<dyn Embedder>)> = Vec::new();
    if which.contains("minilm") {
        embedders.push(("all-MiniLM-L6-v2", Arc::new(MiniLm::load(model_dir)?)));
    }
    if which.contains("distilled") {
        embedders.push(("distilled (static)", Arc::new(Distilled::load_or_distill(model_dir)?)));
    }
    let backends = std::env::var("DATABASES").unwrap_or_else(|_| "sqlite".into());
    let backends: Vec<&str> = backends.split(',').map(str::trim).collect();
    let dir = tempfile::tempdir()?;
    let mut results = Vec::new();
    for backend in &backends {
        let store = open(backend, dir.path()).await?;
        results.push(run_backend(store, bytes, &queries, &embedders, &ratios).await?);
    }
    // One row per configuration, one column pair per backend.
    let mut head = format!("{:<38}", "");
    for b in &backends {
        head.push_str(&format!("  {:>9} {:>9}", format!("{b} N@10"), "R@50"));
    }
    println!("{head}");
    for (i, (label, _, _)) in results[0].iter().enumerate() {
        let mut line = format!("{label:<38}");
        for r in &results {
            line.push_str(&format!("  {:>9.3} {:>9.3}", r[i].1, r[i].2));
        }
        println!("{line}");
    }
    Ok(())
}

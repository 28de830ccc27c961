//! Relevance of `search_products` with judgements no one on the team wrote: Open Food Facts'
//! own category labels. The 1,000-product OFF sample is imported *without* its category
//! columns (so neither leg can read the answer), every English category with at least
//! `MIN_PRODUCTS` products becomes a query (its name), and its products are the relevant set.
//! Prints NDCG@10 and Recall@50 for lexical only, semantic only and hybrid, per embedder.
//!   cargo run --release -p catalog --example relevance -- MODEL_DIR [OFF_TSV_GZ] [RATIOS]
//! `EMBEDDERS=distilled` (or `minilm`) runs one embedder; `VERBOSE=1` prints every query
//! (`VERBOSE=2` also its first five results, `+` where relevant);
//! `DATABASES=sqlite,postgres` (with `PRODLINK_BENCH_PG`, an admin URL) runs the same queries
//! on both backends and prints them side by side.
//! `FUSIONS=1` compares fusion rules and semantic legs on the same candidates instead (SQLite).
//! (`benches/relevance.sh` runs it on the demo sample.)

#![allow(clippy::print_stdout)] // a benchmark report

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;

use catalog::import::{ImportKind, NoProgress, ReportFiles, Source, import_source};
use catalog::postgres::{PgOptions, PgStore};
use catalog::search::{LexicalHit, SearchFilters, SearchRequest};
use catalog::semantic::Semantic;
use catalog::sqlite::{SqliteOptions, SqliteStore};
use catalog::{Catalog, CatalogStore};
use search::{Distilled, Embedder, MiniLm};

/// Smallest category used as a query (`MIN_PRODUCTS` in the environment overrides it).
const MIN_PRODUCTS: usize = 10;

fn min_products() -> usize {
    std::env::var("MIN_PRODUCTS").ok().and_then(|v| v.parse().ok()).unwrap_or(MIN_PRODUCTS)
}
/// Columns kept for the catalog: no category, label or other classification column.
const KEEP: [&str; 5] = ["code", "product_name", "generic_name", "brands", "ingredients_text"];

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Query {
    text: String,
    relevant: HashSet<String>,
}

/// Product names (with brand) by GTIN-14, for the transformer-on-names leg of `FUSIONS=1`.
type Names = Vec<(gs1::Gtin14, String)>;

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
fn prepare(path: &Path) -> Result<(String, Vec<Query>, Names), Error> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_string(&mut text)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty file")?.split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let keep: Vec<usize> = KEEP.iter().filter_map(|k| col(k)).collect();
    let cats = col("categories_en").ok_or("no categories_en column")?;
    let code = col("code").ok_or("no code column")?;
    let (name, brand) = (col("product_name"), col("brands"));
    let mut names = Names::new();
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
        let cell = |c: Option<usize>| c.and_then(|i| cells.get(i)).copied().unwrap_or("").trim();
        names.push(match (cell(name), cell(brand)) {
            (n, "") => (gtin, n.to_owned()),
            (n, b) => (gtin, format!("{n}, {b}")),
        });
        for c in cells.get(cats).copied().unwrap_or("").split(',') {
            let c = c.trim();
            if !c.is_empty() && !c.contains(':') && c != "Null" {
                by_category.entry(c.to_owned()).or_default().insert(gtin.as_str().to_owned());
            }
        }
    }
    let queries = by_category
        .into_iter()
        .filter(|(_, g)| g.len() >= min_products())
        .map(|(text, relevant)| Query { text, relevant })
        .collect();
    Ok((reduced, queries, names))
}

async fn evaluate(catalog: &Catalog, queries: &[Query]) -> Result<(f64, f64), Error> {
    let (mut n, mut r) = (0.0, 0.0);
    for q in queries {
        let req = SearchRequest { query: q.text.clone(), limit: Some(50), ..Default::default() };
        let items = catalog.search_products(&req).await?.items;
        if std::env::var("VERBOSE").is_ok_and(|v| v == "2") {
            for i in items.iter().take(5) {
                let mark = if q.relevant.contains(&i.gtin) { '+' } else { ' ' };
                println!("      {mark} {}", i.name);
            }
        }
        let ranked: Vec<String> = items.into_iter().map(|i| i.gtin).collect();
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

/// Imports the reduced sample into `store` and builds its lexical index: a catalog with no
/// semantic leg.
async fn load(store: &Arc<dyn CatalogStore>, reduced: &'static [u8]) -> Result<Catalog, Error> {
    let report = import_source(
        Arc::clone(store),
        ImportKind::Off,
        Source::from_bytes("off-sample-reduced.tsv", reduced),
        ReportFiles::InMemory(10),
        &NoProgress,
    )
    .await?;
    let lexical = Catalog::new(Arc::clone(store), "http://localhost");
    lexical.index_search_backlog().await?;
    println!("{}: catalog {}", store.backend(), report.summary());
    Ok(lexical)
}

/// Every configuration's (label, NDCG@10, Recall@50) on one backend.
async fn run_backend(
    store: Arc<dyn CatalogStore>,
    reduced: &'static [u8],
    queries: &[Query],
    embedders: &[(&str, Arc<dyn Embedder>)],
    ratios: &[f64],
) -> Result<Vec<(String, f64, f64)>, Error> {
    let lexical = load(&store, reduced).await?;
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
    let (reduced, queries, names) = prepare(Path::new(&data))?;
    let bytes: &'static [u8] = Box::leak(reduced.into_bytes().into_boxed_slice());
    println!(
        "{} queries: English OFF categories with ≥ {} products; category text not indexed",
        queries.len(),
        min_products()
    );
    let model_dir = Path::new(&model_dir);
    if std::env::var("FUSIONS").is_ok() {
        return fusions(bytes, &queries, &names, model_dir).await;
    }
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

/// Each leg's scores min–max scaled onto `floor`–1 within its candidates (as served, floor 0.1).
fn min_max(hits: &[LexicalHit], floor: f64) -> Vec<(gs1::Gtin14, f64)> {
    let best = hits.iter().map(|h| h.score).fold(f64::MIN, f64::max);
    let worst = hits.iter().map(|h| h.score).fold(f64::MAX, f64::min);
    hits.iter()
        .map(|h| {
            let s = if best > worst { (h.score - worst) / (best - worst) } else { 1.0 };
            (h.gtin, floor + (1.0 - floor) * s)
        })
        .collect()
}

/// Distribution-based score fusion: mean ± 3 standard deviations of the leg mapped onto 0–1.
fn dbsf(hits: &[LexicalHit]) -> Vec<(gs1::Gtin14, f64)> {
    let n = hits.len().max(1) as f64;
    let mean = hits.iter().map(|h| h.score).sum::<f64>() / n;
    let sd = (hits.iter().map(|h| (h.score - mean).powi(2)).sum::<f64>() / n).sqrt().max(1e-9);
    hits.iter().map(|h| (h.gtin, (h.score - (mean - 3.0 * sd)) / (6.0 * sd))).collect()
}

/// Reciprocal-rank fusion's share of one leg.
fn rrf(hits: &[LexicalHit], k: f64) -> Vec<(gs1::Gtin14, f64)> {
    hits.iter().enumerate().map(|(i, h)| (h.gtin, 1.0 / (k + i as f64))).collect()
}

/// BM25 with a saturation `s / (s + k)` (the same scale for every query) and the raw cosine.
fn absolute(hits: &[LexicalHit], k: Option<f64>) -> Vec<(gs1::Gtin14, f64)> {
    hits.iter().map(|h| (h.gtin, k.map_or(h.score, |k| h.score / (h.score + k)))).collect()
}

/// NDCG@10 of the ranking that sums `weight × score` over the legs.
fn fused_ndcg(legs: &[(Vec<(gs1::Gtin14, f64)>, f64)], relevant: &HashSet<String>) -> f64 {
    let mut sum: HashMap<gs1::Gtin14, f64> = HashMap::new();
    for (scores, weight) in legs {
        for (g, s) in scores {
            *sum.entry(*g).or_default() += weight * s;
        }
    }
    let mut ranked: Vec<(gs1::Gtin14, f64)> = sum.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let ranked: Vec<String> = ranked.into_iter().map(|(g, _)| g.as_str().to_owned()).collect();
    ndcg10(&ranked, relevant)
}

/// One query's candidates: lexical (as served, 150), lexical (all), distilled (all),
/// all-MiniLM-L6-v2 on names (all).
struct Legs {
    lexical: Vec<LexicalHit>,
    lexical_all: Vec<LexicalHit>,
    distilled: Vec<LexicalHit>,
    names: Vec<LexicalHit>,
    /// Other legs, one per variant of [`weighted_legs`], [`name_legs`] and
    /// [`expanded_lexical`], in that order.
    weighted: Vec<Vec<LexicalHit>>,
}

/// `FUSIONS=1`: fusion rules and semantic legs compared on the same candidates (SQLite), so
/// the choice of rule is measured apart from everything else in the search path.
async fn fusions(
    reduced: &'static [u8],
    queries: &[Query],
    names: &Names,
    model_dir: &Path,
) -> Result<(), Error> {
    const POOL: usize = 150; // what `search_products` asks each leg for at limit 50
    const ALL: usize = 100_000;
    let dir = tempfile::tempdir()?;
    let store = open("sqlite", dir.path()).await?;
    load(&store, reduced).await?;
    let texts = store.embed_jobs("probe", ALL).await?;
    let table = Arc::new(Distilled::load_or_distill(model_dir)?);
    let distilled: Arc<dyn Embedder> = table.clone();
    let mut weighted = weighted_legs(&table, &texts, queries)?;
    weighted.extend(name_legs(&table, &texts, names, queries)?);
    for k in [3, 5, 10] {
        weighted.push(expanded_lexical(&table, store.as_ref(), queries, k).await?);
    }
    let semantic = Arc::new(Semantic::with_embedder(distilled, "distilled", 2));
    semantic.load(store.as_ref()).await?;
    semantic.index_backlog(store.as_ref()).await?;
    // all-MiniLM-L6-v2 over "name, brand" only: short texts like the ones it was trained on.
    let minilm = MiniLm::load(model_dir)?;
    let mut by_length: Vec<&(gs1::Gtin14, String)> = names.iter().collect();
    by_length.sort_by_key(|(_, n)| n.len());
    let mut name_vectors: Vec<(gs1::Gtin14, Vec<f32>)> = Vec::new();
    for chunk in by_length.chunks(32) {
        let texts: Vec<&str> = chunk.iter().map(|(_, n)| n.as_str()).collect();
        name_vectors.extend(chunk.iter().map(|(g, _)| *g).zip(minilm.embed(&texts)?));
    }
    let none = SearchFilters::default();
    let mut all = Vec::new();
    for q in queries {
        let qv = minilm.embed(&[q.text.as_str()])?.pop().ok_or("no query vector")?;
        let mut names: Vec<LexicalHit> = name_vectors
            .iter()
            .map(|(gtin, v)| {
                let cos: f32 = v.iter().zip(&qv).map(|(a, b)| a * b).sum();
                LexicalHit { gtin: *gtin, score: f64::from(cos) }
            })
            .collect();
        names.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.gtin.cmp(&b.gtin)));
        all.push(Legs {
            lexical: store.search_lexical(&q.text, &none, POOL).await?,
            lexical_all: store.search_lexical(&q.text, &none, ALL).await?,
            distilled: semantic.candidates(store.as_ref(), &q.text, &none, ALL).await?,
            weighted: weighted.iter().map(|(_, per_query)| per_query[all.len()].clone()).collect(),
            names,
        });
    }
    type Rule = Box<dyn Fn(&Legs) -> Vec<(Vec<(gs1::Gtin14, f64)>, f64)>>;
    let top = |h: &[LexicalHit]| h[..h.len().min(POOL)].to_vec();
    let mut rules: Vec<(String, Rule)> = vec![
        ("lexical only".into(), Box::new(|l: &Legs| vec![(min_max(&l.lexical, 0.1), 1.0)])),
        (
            "distilled only".into(),
            Box::new(move |l: &Legs| vec![(absolute(&l.distilled, None), 1.0)]),
        ),
        ("MiniLM on names only".into(), Box::new(|l: &Legs| vec![(absolute(&l.names, None), 1.0)])),
    ];
    for ratio in [0.5, 0.6] {
        for floor in [0.0, 0.1, 0.3] {
            let label = format!("min-max floor {floor} (served 0.1), ratio {ratio}");
            rules.push((
                label,
                Box::new(move |l: &Legs| {
                    vec![
                        (min_max(&l.lexical, floor), 1.0 - ratio),
                        (min_max(&top(&l.distilled), floor), ratio),
                    ]
                }),
            ));
        }
        rules.push((
            format!("distribution-based (mean ± 3 sd), ratio {ratio}"),
            Box::new(move |l: &Legs| {
                vec![(dbsf(&l.lexical), 1.0 - ratio), (dbsf(&top(&l.distilled)), ratio)]
            }),
        ));
        for k in [2.0, 10.0] {
            rules.push((
                format!("BM25/(BM25+{k}) + raw cosine, ratio {ratio}"),
                Box::new(move |l: &Legs| {
                    vec![
                        (absolute(&l.lexical_all, Some(k)), 1.0 - ratio),
                        (absolute(&l.distilled, None), ratio),
                    ]
                }),
            ));
        }
        rules.push((
            format!("min-max, MiniLM-on-names leg, ratio {ratio}"),
            Box::new(move |l: &Legs| {
                vec![(min_max(&l.lexical, 0.1), 1.0 - ratio), (min_max(&top(&l.names), 0.1), ratio)]
            }),
        ));
        rules.push((
            format!("min-max, three legs ({ratio} split between both semantic)"),
            Box::new(move |l: &Legs| {
                vec![
                    (min_max(&l.lexical, 0.1), 1.0 - ratio),
                    (min_max(&top(&l.distilled), 0.1), ratio / 2.0),
                    (min_max(&top(&l.names), 0.1), ratio / 2.0),
                ]
            }),
        ));
    }
    for (i, (label, _)) in weighted.iter().enumerate() {
        let l1 = format!("{label}: alone");
        rules.push((l1, Box::new(move |l: &Legs| vec![(absolute(&l.weighted[i], None), 1.0)])));
        rules.push((
            format!("{label}: min-max 0.5 with lexical"),
            Box::new(move |l: &Legs| {
                vec![(min_max(&l.lexical, 0.1), 0.5), (min_max(&top(&l.weighted[i]), 0.1), 0.5)]
            }),
        ));
        if label.starts_with("lexical expanded") {
            rules.push((
                format!("{label}: min-max 0.5 with distilled"),
                Box::new(move |l: &Legs| {
                    vec![
                        (min_max(&l.weighted[i], 0.1), 0.5),
                        (min_max(&top(&l.distilled), 0.1), 0.5),
                    ]
                }),
            ));
        }
    }
    for k in [10.0, 60.0] {
        rules.push((
            format!("reciprocal rank k {k}"),
            Box::new(move |l: &Legs| {
                vec![(rrf(&l.lexical, k), 1.0), (rrf(&top(&l.distilled), k), 1.0)]
            }),
        ));
    }
    println!("{:<58} {:>6}", "fusion rule (SQLite, distilled leg unless named)", "N@10");
    for (label, rule) in &rules {
        let total: f64 =
            queries.iter().zip(&all).map(|(q, legs)| fused_ndcg(&rule(legs), &q.relevant)).sum();
        println!("{label:<58} {:>6.3}", total / queries.len().max(1) as f64);
    }
    let oracle: f64 = queries
        .iter()
        .zip(&all)
        .map(|(q, legs)| {
            let lexical = fused_ndcg(&rules[0].1(legs), &q.relevant);
            lexical.max(fused_ndcg(&rules[1].1(legs), &q.relevant))
        })
        .sum();
    let label = "oracle: the better leg of each query (no fusion can pick)";
    println!("{label:<58} {:>6.3}", oracle / queries.len().max(1) as f64);
    store.close().await;
    Ok(())
}

/// A leg's label and its ranking of all products, per query.
type Leg = (String, Vec<Vec<LexicalHit>>);

/// Word-piece counts (and document frequencies) over a corpus of texts.
struct Stats {
    count: HashMap<u32, f64>,
    df: HashMap<u32, f64>,
    total: f64,
    docs: f64,
}

fn stats<'a>(table: &Distilled, texts: impl Iterator<Item = &'a str>) -> Result<Stats, Error> {
    let mut s = Stats { count: HashMap::new(), df: HashMap::new(), total: 0.0, docs: 0.0 };
    for t in texts {
        let ids = table.piece_ids(t)?;
        s.docs += 1.0;
        s.total += ids.len() as f64;
        for id in &ids {
            *s.count.entry(*id).or_default() += 1.0;
        }
        for id in ids.into_iter().collect::<HashSet<_>>() {
            *s.df.entry(id).or_default() += 1.0;
        }
    }
    Ok(s)
}

/// The distilled leg with piece weights from corpus statistics instead of (or on top of) the
/// vocabulary-rank weight: every variant's ranking of all products, per query.
fn weighted_legs(
    table: &Distilled,
    jobs: &[catalog::store::EmbedJob],
    queries: &[Query],
) -> Result<Vec<Leg>, Error> {
    let sample = stats(table, jobs.iter().map(|j| j.text.as_str()))?;
    let mut subset_text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open("data/demo/off-2018-subset.tsv.gz")?)
        .read_to_string(&mut subset_text)?;
    let mut lines = subset_text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty subset")?.split('\t').collect();
    let (n, i) = (
        header.iter().position(|h| *h == "product_name").ok_or("no product_name")?,
        header.iter().position(|h| *h == "ingredients_text").ok_or("no ingredients_text")?,
    );
    let docs: Vec<String> = lines
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let f = |k: usize| c.get(k).copied().unwrap_or("").trim();
            [f(n), f(i)].iter().filter(|x| !x.is_empty()).copied().collect::<Vec<_>>().join(". ")
        })
        .collect();
    let catalog = stats(table, docs.iter().map(String::as_str))?;
    type Scale<'a> = Box<dyn Fn(u32) -> f32 + 'a>;
    let sif = |s: &'static str, st: &Stats, a: f64, replace: bool| -> (String, Scale<'_>) {
        let label = format!("corpus SIF a={a:e} ({s}){}", if replace { "" } else { " × rank" });
        let (count, total) = (st.count.clone(), st.total);
        (
            label,
            Box::new(move |id: u32| {
                let p = count.get(&id).copied().unwrap_or(0.0) / total;
                let w = (a / (a + p)) as f32;
                if replace { w / table.rank_weight(id).max(1e-6) } else { w }
            }),
        )
    };
    let idf = |s: &'static str, st: &Stats, replace: bool| -> (String, Scale<'_>) {
        let label = format!("idf ({s}){}", if replace { "" } else { " × rank" });
        let (df, docs) = (st.df.clone(), st.docs);
        (
            label,
            Box::new(move |id: u32| {
                let w = ((docs + 1.0) / (df.get(&id).copied().unwrap_or(0.0) + 1.0)).ln() as f32;
                if replace { w / table.rank_weight(id).max(1e-6) } else { w }
            }),
        )
    };
    let variants: Vec<(String, Scale<'_>)> = vec![
        ("control: served weights".to_owned(), Box::new(|_| 1.0)),
        ("uniform weights".to_owned(), Box::new(|id| 1.0 / table.rank_weight(id).max(1e-6))),
        sif("sample", &sample, 1e-3, true),
        sif("sample", &sample, 1e-3, false),
        sif("85k", &catalog, 1e-3, true),
        sif("85k", &catalog, 1e-4, true),
        sif("85k", &catalog, 1e-3, false),
        sif("85k", &catalog, 1e-4, false),
        idf("sample", &sample, false),
        idf("85k", &catalog, true),
        idf("85k", &catalog, false),
    ];
    let mut out = Vec::new();
    for (label, scale) in &variants {
        let vectors: Vec<(gs1::Gtin14, Vec<f32>)> = jobs
            .iter()
            .map(|j| Ok((j.gtin, table.embed_ids(&table.piece_ids(&j.text)?, scale))))
            .collect::<Result<_, Error>>()?;
        let mut per_query = Vec::new();
        for q in queries {
            let qv = table.embed_ids(&table.piece_ids(&q.text)?, scale);
            let mut hits: Vec<LexicalHit> = vectors
                .iter()
                .map(|(g, v)| LexicalHit {
                    gtin: *g,
                    score: f64::from(v.iter().zip(&qv).map(|(a, b)| a * b).sum::<f32>()),
                })
                .collect();
            hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.gtin.cmp(&b.gtin)));
            per_query.push(hits);
        }
        out.push((label.clone(), per_query));
    }
    Ok(out)
}

/// Distilled legs that also read the product's "name, brand" on its own: the better of the
/// two cosines, and their mean.
fn name_legs(
    table: &Distilled,
    jobs: &[catalog::store::EmbedJob],
    names: &Names,
    queries: &[Query],
) -> Result<Vec<Leg>, Error> {
    let name_of: HashMap<gs1::Gtin14, &str> = names.iter().map(|(g, n)| (*g, n.as_str())).collect();
    let mut docs = Vec::new();
    for j in jobs {
        let full = table.embed_ids(&table.piece_ids(&j.text)?, |_| 1.0);
        let name = table
            .embed_ids(&table.piece_ids(name_of.get(&j.gtin).copied().unwrap_or(""))?, |_| 1.0);
        docs.push((j.gtin, full, name));
    }
    let dot = |a: &[f32], b: &[f32]| f64::from(a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>());
    let mut out: Vec<Leg> = vec![
        ("name vector only".into(), Vec::new()),
        ("max(name, full)".into(), Vec::new()),
        ("mean(name, full)".into(), Vec::new()),
    ];
    for q in queries {
        let qv = table.embed_ids(&table.piece_ids(&q.text)?, |_| 1.0);
        for (k, (_, per_query)) in out.iter_mut().enumerate() {
            let mut hits: Vec<LexicalHit> = docs
                .iter()
                .map(|(g, f, n)| {
                    let (cf, cn) = (dot(f, &qv), dot(n, &qv));
                    let score = match k {
                        0 => cn,
                        1 => cf.max(cn),
                        _ => (cf + cn) / 2.0,
                    };
                    LexicalHit { gtin: *g, score }
                })
                .collect();
            hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.gtin.cmp(&b.gtin)));
            per_query.push(hits);
        }
    }
    Ok(out)
}

/// The lexical leg with each query word joined by its `k` nearest whole words of the distilled
/// table (e.g. "beverages" by "drinks", "juice", …).
async fn expanded_lexical(
    table: &Distilled,
    store: &dyn CatalogStore,
    queries: &[Query],
    k: usize,
) -> Result<Leg, Error> {
    let words: Vec<(String, Vec<f32>)> = (1996..table.vocab_size())
        .filter_map(|id| table.piece(id).map(|p| (id, p)))
        .filter(|(_, p)| !p.starts_with("##") && p.chars().all(char::is_alphabetic) && p.len() > 2)
        .map(|(id, p)| (p, table.embed_ids(&[id], |_| 1.0)))
        .collect();
    let mut per_query = Vec::new();
    for q in queries {
        let mut terms: Vec<String> = Vec::new();
        for w in q.text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 3) {
            let wv = table.embed_ids(&table.piece_ids(w)?, |_| 1.0);
            let mut near: Vec<(f32, &str)> = words
                .iter()
                .map(|(p, v)| (v.iter().zip(&wv).map(|(a, b)| a * b).sum::<f32>(), p.as_str()))
                .collect();
            near.sort_by(|a, b| b.0.total_cmp(&a.0));
            terms.push(w.to_lowercase());
            terms.extend(near.iter().take(k).map(|(_, p)| p.to_string()));
        }
        if std::env::var("VERBOSE").is_ok() {
            println!("  {} -> {}", q.text, terms.join(" "));
        }
        let text = if terms.is_empty() { q.text.clone() } else { terms.join(" ") };
        per_query.push(store.search_lexical(&text, &SearchFilters::default(), 150).await?);
    }
    Ok((format!("lexical expanded by {k} nearest words"), per_query))
}

//! The relevance benchmark (docs/benchmarks.md, "Relevance on shoppers' questions"): the
//! natural-language queries of `benches/relevance/queries.jsonl` (needs, attributes, brands,
//! French and German words, misspellings), each judged by Open Food Facts' own labels
//! (`categories_tags`, `labels_tags`, `brands_tags` of the 1,000-product sample), run through
//! `search_products` with everything indexed as served — lexical only, semantic only and
//! hybrid — and, in the same run over the same text, two PostgreSQL full-text baselines:
//! `websearch_to_tsquery` (every word) and the OR of the query's lexemes, both ranked by
//! `ts_rank_cd` over the fields weighted A (name), B (brand, categories, labels), C
//! (description), D (ingredients).
//!
//! Metrics are computed on the condensed list (products without an OFF category are not
//! judged and are removed from each ranking, as in the issue that set the targets): NDCG@10,
//! Recall@50 and MRR, overall, per query class and per half of the query set (odd and even
//! ids: a check that nothing was tuned to one half).
//!
//! ```text
//! cargo run --release -p catalog --example relevance -- [--model DIR] [--catalogs demo,sample]
//!     [--backends sqlite,postgres] [--ratio R] [--queries FILE] [--verbose] [--only q001,q002]
//!     [--dump FILE] [--keep DIR]
//! `--keep DIR` keeps (and on later runs reuses) the SQLite catalogs in DIR; `--dump FILE`
//! writes every query's candidates with both legs' scores, and each configuration's NDCG@10
//! per query, next to FILE; `--verbose` prints each query's first judged results.
//! ```
//! The baselines and the `postgres` backend need `PRODLINK_BENCH_PG` (an admin URL such as
//! `scripts/pg.sh` prints; `benches/relevance.sh` starts a server).

#![allow(clippy::print_stdout)] // a benchmark report

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use catalog::demo::DemoSources;
use catalog::import::{ImportKind, NoProgress, ReportFiles, Source, import_source};
use catalog::postgres::{PgOptions, PgStore};
use catalog::search::SearchRequest;
use catalog::semantic::Semantic;
use catalog::sqlite::{SqliteOptions, SqliteStore};
use catalog::{Catalog, CatalogStore};
use gs1::Gtin14;
use serde::Deserialize;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Results asked for per query (the most `search_products` returns).
const LIMIT: usize = 100;

#[derive(Debug, Clone, Deserialize)]
struct Query {
    id: String,
    class: String,
    query: String,
    #[serde(default)]
    categories_any: Vec<String>,
    #[serde(default)]
    labels_all: Vec<String>,
    #[serde(default)]
    labels_any: Vec<String>,
    #[serde(default)]
    brands_any: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
}

/// A judged product of the sample: its OFF tags.
struct Judged {
    categories: HashSet<String>,
    labels: HashSet<String>,
    brands: HashSet<String>,
}

fn tags(cell: &str) -> HashSet<String> {
    cell.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "en:null" && *t != "Null")
        .map(str::to_owned)
        .collect()
}

impl Query {
    fn relevant(&self, p: &Judged) -> bool {
        let any = |want: &[String], have: &HashSet<String>| {
            want.is_empty() || want.iter().any(|t| have.contains(t))
        };
        any(&self.categories_any, &p.categories)
            && self.labels_all.iter().all(|l| p.labels.contains(l))
            && any(&self.labels_any, &p.labels)
            && any(&self.brands_any, &p.brands)
    }
}

/// The judged products of the sample (those with an OFF category) by GTIN-14.
fn judged(sample: &Path) -> Result<HashMap<String, Judged>, Error> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(sample)?).read_to_string(&mut text)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty sample")?.split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).ok_or(format!("no {name}"));
    let (code, cats, labels, brands) =
        (col("code")?, col("categories_tags")?, col("labels_tags")?, col("brands_tags")?);
    let mut out = HashMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split('\t').collect();
        let cell = |i: usize| cells.get(i).copied().unwrap_or("");
        let Ok(gtin) = Gtin14::parse(cell(code)) else { continue };
        let categories = tags(cell(cats));
        if categories.is_empty() {
            continue;
        }
        out.insert(
            gtin.as_str().to_owned(),
            Judged { categories, labels: tags(cell(labels)), brands: tags(cell(brands)) },
        );
    }
    Ok(out)
}

/// Condensed-list metrics of one ranking.
#[derive(Debug, Clone, Copy, Default)]
struct Metrics {
    ndcg10: f64,
    recall50: f64,
    mrr: f64,
}

fn metrics(ranked: &[String], judged: &HashMap<String, Judged>, q: &Query) -> Metrics {
    let relevant: HashSet<&str> =
        judged.iter().filter(|(_, p)| q.relevant(p)).map(|(g, _)| g.as_str()).collect();
    let condensed: Vec<bool> = ranked
        .iter()
        .filter(|g| judged.contains_key(g.as_str()))
        .map(|g| relevant.contains(g.as_str()))
        .collect();
    let gain = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 =
        condensed.iter().take(10).enumerate().filter(|(_, r)| **r).map(|(i, _)| gain(i)).sum();
    let ideal: f64 = (0..relevant.len().min(10)).map(gain).sum();
    let found50 = condensed.iter().take(50).filter(|r| **r).count();
    Metrics {
        ndcg10: if ideal > 0.0 { dcg / ideal } else { 0.0 },
        recall50: found50 as f64 / relevant.len().max(1) as f64,
        mrr: condensed.iter().position(|r| *r).map_or(0.0, |i| 1.0 / (i + 1) as f64),
    }
}

/// Per-query metrics of one configuration.
struct Run {
    label: String,
    per_query: Vec<Metrics>,
    millis: Vec<f64>,
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 }
}

impl Run {
    fn over(&self, queries: &[Query], keep: impl Fn(usize, &Query) -> bool) -> Metrics {
        let picked: Vec<&Metrics> = self
            .per_query
            .iter()
            .zip(queries)
            .enumerate()
            .filter(|(i, (_, q))| keep(*i, q))
            .map(|(_, (m, _))| m)
            .collect();
        Metrics {
            ndcg10: mean(picked.iter().map(|m| m.ndcg10)),
            recall50: mean(picked.iter().map(|m| m.recall50)),
            mrr: mean(picked.iter().map(|m| m.mrr)),
        }
    }

    fn percentile(&self, p: f64) -> f64 {
        let mut v = self.millis.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return 0.0;
        }
        v[((v.len() - 1) as f64 * p).round() as usize]
    }
}

struct Args {
    model: Option<PathBuf>,
    catalogs: Vec<String>,
    backends: Vec<String>,
    ratio: f64,
    queries: PathBuf,
    verbose: bool,
    dump: Option<PathBuf>,
    keep: Option<PathBuf>,
    only: Vec<String>,
}

fn args() -> Result<Args, Error> {
    let mut a = Args {
        model: None,
        catalogs: vec!["demo".into(), "sample".into()],
        backends: vec!["sqlite".into()],
        ratio: catalog::search::DEFAULT_SEMANTIC_RATIO,
        queries: "benches/relevance/queries.jsonl".into(),
        verbose: false,
        dump: None,
        keep: None,
        only: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    let list = |v: Option<String>| -> Result<Vec<String>, Error> {
        Ok(v.ok_or("a list is missing")?.split(',').map(|s| s.trim().to_owned()).collect())
    };
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--model" => a.model = Some(it.next().ok_or("--model DIR")?.into()),
            "--catalogs" => a.catalogs = list(it.next())?,
            "--backends" => a.backends = list(it.next())?,
            "--ratio" => a.ratio = it.next().ok_or("--ratio R")?.parse()?,
            "--queries" => a.queries = it.next().ok_or("--queries FILE")?.into(),
            "--verbose" => a.verbose = true,
            "--dump" => a.dump = Some(it.next().ok_or("--dump FILE")?.into()),
            "--keep" => a.keep = Some(it.next().ok_or("--keep DIR")?.into()),
            "--only" => a.only = list(it.next())?,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    Ok(a)
}

fn demo_sources() -> Result<DemoSources, Error> {
    let read = |name: &str| -> Result<Source, Error> {
        let path = Path::new("data/demo").join(name);
        let bytes: &'static [u8] = Box::leak(std::fs::read(&path)?.into_boxed_slice());
        Ok(Source::from_bytes(name, bytes))
    };
    Ok(DemoSources {
        off: vec![read("off-2018-subset.tsv.gz")?, read("off-sample-1000.tsv.gz")?],
        stores: read("walmart-stores.csv.gz")?,
        rules: None,
    })
}

/// A new empty catalog on `backend` (a SQLite file in `dir`, or a new PostgreSQL database).
async fn open(backend: &str, name: &str, dir: &Path) -> Result<Arc<dyn CatalogStore>, Error> {
    Ok(match backend {
        "sqlite" => {
            let url = format!("sqlite://{}", dir.join(format!("{name}.db")).display());
            Arc::new(SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await?)
        }
        "postgres" => {
            let admin = std::env::var("PRODLINK_BENCH_PG")
                .map_err(|_| "the postgres backend needs PRODLINK_BENCH_PG (an admin URL)")?;
            let url =
                PgStore::create_database(&admin, &format!("prodlink_relevance_{name}")).await?;
            Arc::new(PgStore::open_and_migrate(&url, &PgOptions::default()).await?)
        }
        other => return Err(format!("unknown backend {other:?} (sqlite, postgres)").into()),
    })
}

/// Loads a catalog and indexes it as a server does before it reports both indexes ready.
async fn load(
    store: &Arc<dyn CatalogStore>,
    which: &str,
    model: Option<&Path>,
    ratio: f64,
) -> Result<Catalog, Error> {
    let started = Instant::now();
    let reused = store.product_count().await? > 0;
    match which {
        _ if reused => {}
        "demo" => {
            catalog::demo::load(Arc::clone(store), demo_sources()?, &NoProgress).await?;
        }
        "sample" => {
            let bytes: &'static [u8] =
                Box::leak(std::fs::read("data/demo/off-sample-1000.tsv.gz")?.into_boxed_slice());
            import_source(
                Arc::clone(store),
                ImportKind::Off,
                Source::from_bytes("off-sample-1000.tsv.gz", bytes),
                ReportFiles::InMemory(10),
                &NoProgress,
            )
            .await?;
        }
        other => return Err(format!("unknown catalog {other:?} (demo, sample)").into()),
    }
    let loaded = started.elapsed().as_secs_f64();
    let mut catalog = Catalog::new(Arc::clone(store), "http://localhost");
    let started = Instant::now();
    catalog.index_search_backlog().await?;
    let lexical = started.elapsed().as_secs_f64();
    let mut embedded = String::from("no model");
    if let Some(dir) = model {
        let started = Instant::now();
        let id = search::embedder_id(dir)?;
        let embedder = search::load_embedder(dir)?;
        let semantic = Arc::new(Semantic::with_embedder(embedder, id.clone(), 2));
        semantic.load(store.as_ref()).await?;
        let n = semantic.index_backlog(store.as_ref()).await?;
        embedded = format!("{id}: {n} embedded in {:.1} s", started.elapsed().as_secs_f64());
        catalog = catalog.with_semantic(semantic, ratio);
    }
    println!(
        "  {} {which}: {} products, loaded in {loaded:.1} s, lexical index {lexical:.1} s, {embedded}",
        store.backend(),
        store.product_count().await?
    );
    Ok(catalog)
}

async fn run_prodlink(
    catalog: &Catalog,
    label: &str,
    queries: &[Query],
    judged: &HashMap<String, Judged>,
    verbose: bool,
) -> Result<Run, Error> {
    let mut run = Run { label: label.to_owned(), per_query: Vec::new(), millis: Vec::new() };
    for q in queries {
        let req = SearchRequest {
            query: q.query.clone(),
            limit: Some(LIMIT as i64),
            ..Default::default()
        };
        let started = Instant::now();
        let out = catalog.search_products(&req).await?;
        run.millis.push(started.elapsed().as_secs_f64() * 1000.0);
        if !out.index_coverage.complete {
            return Err(
                format!("{label}: the indexes are incomplete: {:?}", out.index_coverage).into()
            );
        }
        let ranked: Vec<String> = out.items.iter().map(|i| i.gtin.clone()).collect();
        let m = metrics(&ranked, judged, q);
        if verbose {
            println!("    {:<5} {:<13} {:.3}  {}", q.id, q.class, m.ndcg10, q.query);
            let first_judged = out
                .items
                .iter()
                .position(|i| judged.contains_key(&i.gtin))
                .unwrap_or(out.items.len());
            println!(
                "          ({} results; the first judged at {})",
                out.items.len(),
                first_judged + 1
            );
            for item in out
                .items
                .iter()
                .take(5)
                .chain(out.items.iter().filter(|i| judged.contains_key(&i.gtin)).take(5))
            {
                let mark = match judged.get(&item.gtin) {
                    Some(p) if q.relevant(p) => '+',
                    Some(_) => '-',
                    None => '?',
                };
                println!(
                    "          {mark} {:.3} {} [{}]",
                    item.score,
                    item.name,
                    item.category.as_deref().unwrap_or("")
                );
            }
        }
        run.per_query.push(m);
    }
    Ok(run)
}

/// Writes every query's candidates with both legs' scores and their judgement (JSON lines),
/// for studying fusion rules on the same candidates.
async fn dump(
    catalog: &Catalog,
    path: &Path,
    queries: &[Query],
    judged: &HashMap<String, Judged>,
) -> Result<(), Error> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for q in queries {
        let req = SearchRequest {
            query: q.query.clone(),
            limit: Some(LIMIT as i64),
            ..Default::default()
        };
        let c = catalog.search_candidates(&req).await?;
        let relevant = judged.values().filter(|p| q.relevant(p)).count();
        let items: Vec<serde_json::Value> = c
            .items
            .iter()
            .map(|s| {
                let g = s.gtin.as_str();
                serde_json::json!([
                    g,
                    s.lexical,
                    s.coverage,
                    s.cosine,
                    judged.contains_key(g),
                    judged.get(g).is_some_and(|p| q.relevant(p))
                ])
            })
            .collect();
        let line = serde_json::json!({"id": q.id, "class": q.class, "query": q.query,
            "relevant": relevant, "candidates": items});
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The two PostgreSQL baselines over the search documents of `store` (the text prodlink
/// indexes), in a scratch database.
async fn run_postgres(
    store: &dyn CatalogStore,
    name: &str,
    queries: &[Query],
    judged: &HashMap<String, Judged>,
) -> Result<Vec<Run>, Error> {
    let Ok(admin) = std::env::var("PRODLINK_BENCH_PG") else {
        println!("  (no PRODLINK_BENCH_PG: PostgreSQL baselines skipped)");
        return Ok(Vec::new());
    };
    let url = PgStore::create_database(&admin, &format!("prodlink_baseline_{name}")).await?;
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(&url).await?;
    sqlx::query(
        "CREATE TABLE docs (gtin text PRIMARY KEY, name text, brand text, categories text, \
         labels text, description text, ingredients text, tsv tsvector)",
    )
    .execute(&pool)
    .await?;
    let mut cursor = (0, String::new());
    loop {
        let (page, next) = store.search_documents(&cursor, 5_000).await?;
        let live: Vec<&catalog::store::SearchDocument> =
            page.iter().filter(|d| !d.deleted).collect();
        let col = |i: usize| live.iter().map(|d| d.fields[i].as_str()).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO docs (gtin, name, brand, categories, labels, description, ingredients) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[])",
        )
        .bind(live.iter().map(|d| d.gtin.as_str()).collect::<Vec<_>>())
        .bind(col(0))
        .bind(col(1))
        .bind(col(2))
        .bind(col(3))
        .bind(col(4))
        .bind(col(5))
        .execute(&pool)
        .await?;
        if let Some(c) = next {
            cursor = c;
        }
        if page.len() < 5_000 {
            break;
        }
    }
    sqlx::query(
        "UPDATE docs SET tsv = \
           setweight(to_tsvector('english', name), 'A') || \
           setweight(to_tsvector('english', brand), 'B') || \
           setweight(to_tsvector('english', categories), 'B') || \
           setweight(to_tsvector('english', labels), 'B') || \
           setweight(to_tsvector('english', description), 'C') || \
           setweight(to_tsvector('english', ingredients), 'D')",
    )
    .execute(&pool)
    .await?;
    sqlx::query("CREATE INDEX docs_tsv ON docs USING gin (tsv)").execute(&pool).await?;
    sqlx::query("ANALYZE docs").execute(&pool).await?;
    let mut runs = Vec::new();
    for (label, tsquery) in [
        (
            "PostgreSQL websearch_to_tsquery (AND) + ts_rank_cd",
            "websearch_to_tsquery('english', $1)",
        ),
        (
            "PostgreSQL OR of the query's lexemes + ts_rank_cd",
            "(SELECT coalesce(string_agg(quote_literal(l), ' | '), '')::tsquery \
              FROM unnest(tsvector_to_array(to_tsvector('english', $1))) AS l)",
        ),
    ] {
        let sql = format!(
            "SELECT gtin FROM docs, {tsquery} AS q(q) WHERE tsv @@ q \
             ORDER BY ts_rank_cd(tsv, q) DESC, gtin LIMIT {LIMIT}"
        );
        let mut run = Run { label: label.to_owned(), per_query: Vec::new(), millis: Vec::new() };
        for q in queries {
            let started = Instant::now();
            let ranked: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&q.query)
                .fetch_all(&pool)
                .await?;
            run.millis.push(started.elapsed().as_secs_f64() * 1000.0);
            run.per_query.push(metrics(&ranked, judged, q));
        }
        runs.push(run);
    }
    pool.close().await;
    Ok(runs)
}

fn report(title: &str, runs: &[Run], queries: &[Query]) {
    println!("\n### {title}\n");
    println!(
        "| configuration | NDCG@10 | Recall@50 | MRR | odd ids N@10 | even ids N@10 | p50 ms | p95 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in runs {
        let all = r.over(queries, |_, _| true);
        let odd = r.over(queries, |i, _| i % 2 == 0);
        let even = r.over(queries, |i, _| i % 2 == 1);
        println!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | {:.1} |",
            r.label,
            all.ndcg10 + 0.0,
            all.recall50 + 0.0,
            all.mrr + 0.0,
            odd.ndcg10 + 0.0,
            even.ndcg10 + 0.0,
            r.percentile(0.5),
            r.percentile(0.95)
        );
    }
    let classes: Vec<String> = {
        let mut seen: Vec<String> = Vec::new();
        for q in queries {
            if !seen.contains(&q.class) {
                seen.push(q.class.clone());
            }
        }
        seen
    };
    println!("\nNDCG@10 per query class:\n");
    let mut head = String::from("| configuration |");
    let mut rule = String::from("|---|");
    for c in &classes {
        let n = queries.iter().filter(|q| &q.class == c).count();
        head.push_str(&format!(" {c} ({n}) |"));
        rule.push_str("---|");
    }
    println!("{head}\n{rule}");
    for r in runs {
        let mut line = format!("| {} |", r.label);
        for c in &classes {
            // (+ 0.0 turns a negative zero into 0.000)
            line.push_str(&format!(" {:.3} |", r.over(queries, |_, q| &q.class == c).ndcg10 + 0.0));
        }
        println!("{line}");
    }
    // The served hybrid against the better baseline and its own legs.
    let find = |p: &str| {
        runs.iter().find(|r| r.label.starts_with(p)).map(|r| r.over(queries, |_, _| true).ndcg10)
    };
    if let Some(h) = find("prodlink hybrid") {
        let base = runs
            .iter()
            .filter(|r| r.label.starts_with("PostgreSQL"))
            .map(|r| r.over(queries, |_, _| true).ndcg10)
            .fold(f64::NAN, f64::max);
        if base.is_finite() && base > 0.0 {
            println!(
                "\nhybrid vs the better PostgreSQL baseline: {:+.1} %",
                (h / base - 1.0) * 100.0
            );
        }
        for leg in ["prodlink lexical", "prodlink semantic"] {
            if let Some(l) = find(leg) {
                println!("hybrid vs {leg}: {:+.3}", h - l);
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let a = args()?;
    let queries: Vec<Query> = std::fs::read_to_string(&a.queries)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let judged = judged(Path::new("data/demo/off-sample-1000.tsv.gz"))?;
    let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
    for q in &queries {
        *per_class.entry(q.class.as_str()).or_default() += 1;
    }
    println!(
        "{} queries ({per_class:?}); {} judged products (sample products with an OFF category)",
        queries.len(),
        judged.len()
    );
    let queries: Vec<Query> = if a.only.is_empty() {
        queries
    } else {
        queries.into_iter().filter(|q| a.only.contains(&q.id)).collect()
    };
    let temp = tempfile::tempdir()?;
    let dir = a.keep.clone().unwrap_or_else(|| temp.path().to_path_buf());
    for which in &a.catalogs {
        for backend in &a.backends {
            let store = if a.keep.is_some() && backend == "sqlite" {
                let url = format!("sqlite://{}", dir.join(format!("{which}.db")).display());
                Arc::new(SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await?)
            } else {
                open(backend, which, &dir).await?
            };
            let catalog = load(&store, which, a.model.as_deref(), a.ratio).await?;
            let mut runs = Vec::new();
            let lexical = match catalog.semantic() {
                Some(s) => catalog.clone().with_semantic(Arc::clone(s), 0.0),
                None => catalog.clone(),
            };
            runs.push(
                run_prodlink(&lexical, "prodlink lexical", &queries, &judged, a.verbose).await?,
            );
            if let Some(s) = catalog.semantic() {
                let semantic = catalog.clone().with_semantic(Arc::clone(s), 1.0);
                runs.push(
                    run_prodlink(&semantic, "prodlink semantic", &queries, &judged, false).await?,
                );
                let label = format!("prodlink hybrid {}", a.ratio);
                runs.push(run_prodlink(&catalog, &label, &queries, &judged, a.verbose).await?);
                if let Some(path) = &a.dump {
                    let path = path.with_extension(format!("{which}.{backend}.jsonl"));
                    dump(&catalog, &path, &queries, &judged).await?;
                    println!("  candidates written to {}", path.display());
                }
            }
            if backend == "sqlite" || a.backends.len() == 1 {
                runs.extend(run_postgres(store.as_ref(), which, &queries, &judged).await?);
            }
            report(&format!("{which} catalog, {backend}"), &runs, &queries);
            if let Some(path) = &a.dump {
                let path = path.with_extension(format!("{which}.{backend}.per-query.tsv"));
                let mut text = String::from("id\tclass\tquery");
                for r in &runs {
                    text.push_str(&format!("\t{}", r.label));
                }
                text.push('\n');
                for (i, q) in queries.iter().enumerate() {
                    text.push_str(&format!("{}\t{}\t{}", q.id, q.class, q.query));
                    for r in &runs {
                        text.push_str(&format!("\t{:.3}", r.per_query[i].ndcg10));
                    }
                    text.push('\n');
                }
                std::fs::write(&path, text)?;
            }
            store.close().await;
        }
    }
    Ok(())
}

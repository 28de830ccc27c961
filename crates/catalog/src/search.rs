//! `search_products` (docs/search.md): the query runs through two legs — the in-memory lexical
//! index ([`crate::lexical`]) and the sentence-embedding index ([`crate::semantic`]) — after the
//! filters have narrowed the catalog; every candidate either leg found gets both legs' scores on
//! a scale that does not depend on the query, and the ranking is their weighted sum. With a
//! location, products with an active offer within 50 km are searched on their own too (so a
//! nearby match is a candidate whatever the catalog's size), and proximity lifts the score.
//! Each result says how much of the catalog the indexes held when it was computed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use gs1::Gtin14;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{FieldError, ServiceError};
use crate::geo::{BoundingBox, Point, distance_km};
use crate::iso::CountryCode;
use crate::model::fold_name;
use crate::service::Catalog;

/// Default `limit`.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest `limit`.
pub const MAX_LIMIT: usize = 100;
/// Radius of the proximity boost.
pub const BOOST_RADIUS_KM: f64 = 50.0;
/// Largest extra weight proximity can add (a store next door multiplies the score by 1.5).
pub const MAX_PROXIMITY_BOOST: f64 = 0.5;
/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Default weight of the semantic leg in the fused ranking (see [`fuse`]).
pub const DEFAULT_SEMANTIC_RATIO: f64 = 0.1;
/// Most filter keys accepted.
pub const MAX_FILTERS: usize = 10;

/// Filters that narrow the candidates before ranking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilters {
    /// Brand name, case-folded (see [`fold_name`]).
    pub brand: Option<String>,
    /// Category id; products holding it anywhere in their category path, or one of its
    /// subcategories, match.
    pub category_id: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_of_origin: Option<String>,
    /// Label id (`en:organic`): only products carrying it.
    pub label: Option<String>,
    /// Exact matches on product metadata.
    pub metadata: Vec<(String, String)>,
}

/// One lexical candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct LexicalHit {
    /// The product.
    pub gtin: Gtin14,
    /// Relevance, higher is better (the backend's BM25, sign-adjusted).
    pub score: f64,
}

/// One result of `search_products`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SearchItem {
    /// GTIN-14.
    pub gtin: String,
    /// Product name.
    pub name: String,
    /// Brand name.
    pub brand: Option<String>,
    /// Category name.
    pub category: Option<String>,
    /// Net content as printed.
    pub net_content: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_of_origin: Option<String>,
    /// Lowest active offer price.
    pub price_min: Option<f64>,
    /// Highest active offer price.
    pub price_max: Option<f64>,
    /// Final relevance, highest first.
    pub score: f64,
    /// Distance to the nearest store with an active offer within 50 km of the given point;
    /// null without a point or without such a store.
    pub distance_km: Option<f64>,
}

/// `search_products` output.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SearchOutput {
    /// Results, best first.
    pub items: Vec<SearchItem>,
    /// Number of items returned.
    pub total: usize,
    /// The query as given.
    pub query: String,
    /// How much of the catalog the search indexes held for this search.
    pub index_coverage: IndexCoverage,
}

/// A `search_products` request as callers send it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Free text.
    pub query: String,
    /// Flat `{key: value}` filters.
    pub filters: Option<Map<String, Value>>,
    /// Latitude of the shopper.
    pub geo_lat: Option<f64>,
    /// Longitude of the shopper.
    pub geo_lng: Option<f64>,
    /// Maximum results.
    pub limit: Option<i64>,
}

fn filters_from(map: &Map<String, Value>) -> Result<SearchFilters, FieldError> {
    if map.len() > MAX_FILTERS {
        return Err(FieldError::new(
            "filters",
            format!("has {} keys; at most {MAX_FILTERS} are allowed", map.len()),
        ));
    }
    let mut f = SearchFilters::default();
    for (key, value) in map {
        let field = format!("filters.{key}");
        let text = match value {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(FieldError::new(
                    field,
                    format!("must be a string (filters are a flat key/value map), got {other}"),
                ));
            }
        };
        if text.is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        match key.as_str() {
            "brand" => f.brand = Some(fold_name(&text)),
            "category_id" => f.category_id = Some(text),
            "label" => f.label = Some(text),
            "country_of_origin" => {
                let c = CountryCode::parse(&text).map_err(|e| FieldError::new(&field, e))?;
                f.country_of_origin = Some(c.as_str().to_owned());
            }
            _ => {
                if key.is_empty() || key.chars().count() > crate::model::Metadata::MAX_KEY_CHARS {
                    return Err(FieldError::new(field, "metadata keys have 1 to 40 characters"));
                }
                f.metadata.push((key.clone(), text));
            }
        }
    }
    Ok(f)
}

/// Candidates each leg contributes, at least (more for large `limit`s: four times the limit).
pub const POOL: usize = 200;
/// Most products with an offer nearby that are searched on their own.
const MAX_NEARBY_OFFERS: usize = 100_000;
/// Most products a filter may leave to rank among.
pub const MAX_FILTERED: usize = 1_000_000;
/// Cosine similarity at which the semantic leg's relevance is 0, and at which it is 1 (the
/// model's scale: unrelated texts score about the first, near-paraphrases the second).
pub const SEMANTIC_FLOOR: f64 = 0.2;
/// See [`SEMANTIC_FLOOR`].
pub const SEMANTIC_CEILING: f64 = 0.8;

/// A candidate's relevance in the semantic leg, 0–1, from its cosine similarity.
pub fn semantic_relevance(cosine: f64) -> f64 {
    ((cosine - SEMANTIC_FLOOR) / (SEMANTIC_CEILING - SEMANTIC_FLOOR)).clamp(0.0, 1.0)
}

/// One candidate with both legs' scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// The product.
    pub gtin: Gtin14,
    /// Lexical relevance, 0–1 ([`search::LexicalMatch::relevance`]; 0 where no word matches).
    pub lexical: f64,
    /// Share of the query's words the product holds, 0–1.
    pub coverage: f64,
    /// Cosine similarity to the query in the semantic leg (`None` without one, or without a
    /// vector for the product).
    pub cosine: Option<f64>,
    /// Distance to the nearest store with an active offer within [`BOOST_RADIUS_KM`].
    pub distance_km: Option<f64>,
}

/// What `search_products` ranks: every candidate of both legs with both legs' scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    /// Candidates in the order the legs found them.
    pub items: Vec<Scored>,
    /// The weight of the semantic leg (0 when there is none).
    pub semantic_ratio: f64,
    /// How much of the catalog the indexes held.
    pub index_coverage: IndexCoverage,
    /// The results asked for.
    pub limit: usize,
}

/// What a product found by the semantic leg alone scores per unit of semantic relevance: it
/// ranks after every lexical match (whose score is at least this much higher) and among the
/// others by its similarity.
const SEMANTIC_ONLY: f64 = 1e-3;

/// The fused relevance of a candidate (0–1), lifted by up to [`MAX_PROXIMITY_BOOST`] for a
/// store nearby. The lexical leg leads: its relevance is lifted by up to `ratio` (10 % by
/// default) by the semantic leg's, `lexical × (1 + ratio × semantic) / (1 + ratio)`, and
/// products the semantic leg alone finds come after every lexical match, by similarity;
/// `ratio` 1 ranks by the semantic leg alone. (On `benches/relevance.sh` the lexical leg is the stronger one by far, and a
/// semantic leg that may outrank lexical matches — a weighted sum, reciprocal-rank fusion —
/// lost to it; docs/benchmarks.md.)
pub fn fuse(c: &Scored, semantic_ratio: f64) -> f64 {
    let r = semantic_ratio.clamp(0.0, 1.0);
    let semantic = c.cosine.map_or(0.0, semantic_relevance);
    let mut score = if r >= 1.0 {
        semantic
    } else {
        c.lexical * (1.0 + r * semantic) / (1.0 + r) + SEMANTIC_ONLY * semantic
    };
    if let Some(d) = c.distance_km {
        score *= 1.0 + MAX_PROXIMITY_BOOST * (1.0 - d / BOOST_RADIUS_KM).clamp(0.0, 1.0);
    }
    score
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// How much of the catalog the search indexes held when a search ran.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct IndexCoverage {
    /// Share of the catalog's products in the lexical index, 0–1.
    pub lexical: f64,
    /// Share of the catalog's products with a vector in the semantic index, 0–1; null when
    /// searches have no semantic leg (no model).
    pub semantic: Option<f64>,
    /// Both indexes hold every product: the results are complete.
    pub complete: bool,
}

impl IndexCoverage {
    /// The line results carry while the indexes are incomplete.
    pub fn note(&self) -> Option<String> {
        if self.complete {
            return None;
        }
        let pct = |x: f64| (x * 100.0).floor() as u32;
        let semantic =
            self.semantic.map(|s| format!(", semantic {} %", pct(s))).unwrap_or_default();
        Some(format!(
            "The search indexes are still being built (lexical {} %{semantic} of the catalog): \
             these results may miss products; search again in a minute for complete results.",
            pct(self.lexical)
        ))
    }
}

impl Catalog {
    /// `search_products`.
    pub async fn search_products(&self, req: &SearchRequest) -> Result<SearchOutput, ServiceError> {
        let candidates = self.search_candidates(req).await?;
        let mut ranked: Vec<(Scored, f64)> = candidates
            .items
            .iter()
            .map(|c| (*c, fuse(c, candidates.semantic_ratio)))
            .filter(|(_, s)| *s > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.gtin.cmp(&b.0.gtin)));
        ranked.truncate(candidates.limit);

        let store = self.store();
        let gtins: Vec<Gtin14> = ranked.iter().map(|(c, _)| c.gtin).collect();
        let products: HashMap<Gtin14, crate::model::Product> =
            store.products(&gtins).await?.into_iter().map(|p| (p.gtin, p)).collect();
        let prices = store.price_ranges(&gtins).await?;
        let items: Vec<SearchItem> = ranked
            .iter()
            .filter_map(|(c, score)| {
                let p = products.get(&c.gtin)?;
                let price = prices.get(&c.gtin);
                Some(SearchItem {
                    gtin: c.gtin.as_str().to_owned(),
                    name: p.name.clone(),
                    brand: p.brand.clone(),
                    category: p.category.clone(),
                    net_content: p.net_content.clone(),
                    country_of_origin: p.country_of_origin.clone(),
                    price_min: price.map(|r| r.min),
                    price_max: price.map(|r| r.max),
                    score: round(*score, 4),
                    distance_km: c.distance_km.map(|d| round(d, 2)),
                })
            })
            .collect();
        Ok(SearchOutput {
            total: items.len(),
            items,
            query: req.query.clone(),
            index_coverage: candidates.index_coverage,
        })
    }

    /// The candidates of `search_products` with both legs' scores, before fusion (what the
    /// relevance benchmark studies; `search_products` fuses, sorts and describes them).
    pub async fn search_candidates(&self, req: &SearchRequest) -> Result<Candidates, ServiceError> {
        let mut errors = Vec::new();
        let query = req.query.trim();
        if query.is_empty() {
            errors.push(FieldError::new("query", "must not be empty"));
        } else if query.chars().count() > MAX_QUERY_CHARS {
            errors.push(FieldError::new(
                "query",
                format!("is longer than {MAX_QUERY_CHARS} characters"),
            ));
        }
        let limit = match req.limit {
            None => DEFAULT_LIMIT,
            Some(l) if (1..=MAX_LIMIT as i64).contains(&l) => l as usize,
            Some(l) => {
                errors.push(FieldError::new(
                    "limit",
                    format!("must be between 1 and {MAX_LIMIT}, got {l}"),
                ));
                DEFAULT_LIMIT
            }
        };
        let point = match (req.geo_lat, req.geo_lng) {
            (None, None) => None,
            (Some(_), None) => {
                errors.push(FieldError::new("geo_lng", "is required when geo_lat is given"));
                None
            }
            (None, Some(_)) => {
                errors.push(FieldError::new("geo_lat", "is required when geo_lng is given"));
                None
            }
            (Some(lat), Some(lng)) => match Point::new(lat, lng) {
                Ok(p) => Some(p),
                Err((f, m)) => {
                    errors.push(FieldError::new(format!("geo_{f}"), m));
                    None
                }
            },
        };
        let filters = match req.filters.as_ref().map(filters_from).transpose() {
            Ok(f) => f.unwrap_or_default(),
            Err(e) => {
                errors.push(e);
                SearchFilters::default()
            }
        };
        if !errors.is_empty() {
            return Err(ServiceError::invalid_fields(errors));
        }

        let store = self.store();
        let lexical = self.lexical();
        lexical.load_if_idle(store.as_ref()).await?;
        let index_coverage = self.index_coverage().await?;
        let ratio = self.semantic_ratio();
        let semantic = self.semantic().filter(|s| s.ready() && ratio > 0.0);
        let semantic_ratio = if semantic.is_some() { ratio } else { 0.0 };
        let mut out = Candidates { items: Vec::new(), semantic_ratio, index_coverage, limit };
        // Filters first: the legs rank only what passes them.
        let allow: Option<Arc<HashSet<Gtin14>>> = if filters == SearchFilters::default() {
            None
        } else {
            Some(Arc::new(
                store.matching_products(&filters, MAX_FILTERED).await?.into_iter().collect(),
            ))
        };
        if allow.as_ref().is_some_and(|a| a.is_empty()) {
            return Ok(out);
        }
        // Products with an active offer within the radius, at their nearest store.
        let mut nearby: HashMap<Gtin14, f64> = HashMap::new();
        if let Some(center) = point {
            let area = BoundingBox::around(center, BOOST_RADIUS_KM);
            for (g, at) in store.offers_in_area(&area, MAX_NEARBY_OFFERS).await? {
                let d = distance_km(center, at);
                if d <= BOOST_RADIUS_KM && allow.as_ref().is_none_or(|a| a.contains(&g)) {
                    let best = nearby.entry(g).or_insert(d);
                    *best = best.min(d);
                }
            }
        }

        let pool = (limit * 4).max(POOL);
        let lexical_leg = semantic_ratio < 1.0;
        // Each leg's candidates over the (filtered) catalog, and over the nearby products.
        let mut sets: Vec<(Option<Arc<HashSet<Gtin14>>>, bool)> = vec![(allow.clone(), false)];
        if !nearby.is_empty() {
            sets.push((Some(Arc::new(nearby.keys().copied().collect())), true));
        }
        // The query as the lexical index reads it; the semantic leg embeds it with the words
        // the catalog lacks corrected ("choclate" → "chocolate").
        let parsed = Arc::new(lexical.parse(query)?);
        let semantic_query = parsed.corrected.as_deref().unwrap_or(query);
        let mut lex: HashMap<Gtin14, (f64, f64)> = HashMap::new();
        let mut sem: HashMap<Gtin14, f64> = HashMap::new();
        let mut order: Vec<Gtin14> = Vec::new();
        for (set, local) in sets {
            let lexical_hits = async {
                if !lexical_leg {
                    return Ok(None);
                }
                lexical.candidates(Arc::clone(&parsed), set.clone(), pool).await.map(Some)
            };
            let semantic_hits = async {
                match semantic {
                    Some(s) => {
                        let q = semantic_query;
                        s.candidates(store.as_ref(), q, &filters, set.clone(), local, pool).await
                    }
                    None => Ok(Vec::new()),
                }
            };
            let (l, s) = tokio::join!(lexical_hits, semantic_hits);
            for h in l?.unwrap_or_default() {
                let scores = (f64::from(h.relevance), f64::from(h.coverage));
                if lex.insert(h.key, scores).is_none() && !sem.contains_key(&h.key) {
                    order.push(h.key);
                }
            }
            for h in s? {
                if sem.insert(h.gtin, h.score).is_none() && !lex.contains_key(&h.gtin) {
                    order.push(h.gtin);
                }
            }
        }
        // Every candidate gets both legs' scores, so fusion compares like with like.
        if lexical_leg {
            let missing: Vec<Gtin14> =
                order.iter().filter(|g| !lex.contains_key(g)).copied().collect();
            for (g, m) in missing.iter().zip(lexical.score(&parsed, &missing)?) {
                let scores =
                    m.map_or((0.0, 0.0), |m| (f64::from(m.relevance), f64::from(m.coverage)));
                lex.insert(*g, scores);
            }
        }
        if let Some(s) = semantic {
            let missing: Vec<Gtin14> =
                order.iter().filter(|g| !sem.contains_key(g)).copied().collect();
            for (g, cosine) in s.similarities(store.as_ref(), semantic_query, &missing).await? {
                sem.insert(g, cosine);
            }
        }
        out.items = order
            .iter()
            .map(|g| {
                let (lexical, coverage) = lex.get(g).copied().unwrap_or((0.0, 0.0));
                Scored {
                    gtin: *g,
                    lexical,
                    coverage,
                    cosine: sem.get(g).copied(),
                    distance_km: nearby.get(g).copied(),
                }
            })
            .collect();
        Ok(out)
    }

    /// Runs the search indexer until the process ends: builds the search documents of queued
    /// products in batches and loads them (and those other processes built) into the lexical
    /// index, then checks for more every `idle` (imports from other processes queue products
    /// too).
    pub fn spawn_search_indexer(&self, idle: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let catalog = self.clone();
        self.lexical().kept_in_background();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            loop {
                let round = async {
                    let built = catalog.store().index_search(2000).await?;
                    let read = catalog.lexical().catch_up(catalog.store().as_ref()).await?;
                    Ok::<_, ServiceError>((built, read))
                };
                match round.await {
                    Ok((0, 0)) => {
                        if catalog.mark_search_ready() {
                            tracing::info!(
                                products = catalog.lexical().len(),
                                secs = started.elapsed().as_secs_f64(),
                                "lexical index ready"
                            );
                        }
                        tokio::time::sleep(idle).await
                    }
                    Ok((built, read)) => tracing::debug!(built, read, "search index updated"),
                    Err(e) => {
                        tracing::warn!(error = %e, "search indexing failed; retrying");
                        tokio::time::sleep(idle * 5).await;
                    }
                }
            }
        })
    }

    /// Waits until both search indexes hold the whole catalog, with nothing left to index or
    /// embed (the background indexers must be running), logging the progress every `report`.
    /// A semantic leg whose model failed to load is not waited for.
    pub async fn wait_for_index(&self, report: std::time::Duration) -> Result<(), ServiceError> {
        let mut last = std::time::Instant::now();
        loop {
            let coverage = self.index_coverage_now().await?;
            let pending = self.store().search_backlog().await?;
            let embedding = match self.semantic() {
                Some(s) if !s.model_failed() => self.store().embed_backlog().await?,
                _ => 0,
            };
            if coverage.complete && pending == 0 && embedding == 0 {
                return Ok(());
            }
            if last.elapsed() >= report {
                last = std::time::Instant::now();
                tracing::info!(
                    lexical = coverage.lexical,
                    semantic = coverage.semantic,
                    to_index = pending,
                    to_embed = embedding,
                    "waiting for the search indexes"
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Builds the search documents of every queued product and loads them into the lexical
    /// index; returns how many documents were built.
    pub async fn index_search_backlog(&self) -> Result<usize, ServiceError> {
        let mut total = 0;
        loop {
            let n = self.store().index_search(2000).await?;
            if n == 0 {
                break;
            }
            total += n;
        }
        self.lexical().catch_up(self.store().as_ref()).await?;
        self.mark_search_ready();
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Gtin14 {
        Gtin14::parse(s).unwrap()
    }

    #[test]
    fn fusion_weighs_calibrated_legs() {
        let cosine = SEMANTIC_FLOOR + 0.2 * (SEMANTIC_CEILING - SEMANTIC_FLOOR);
        let c = Scored {
            gtin: g("4012345000009"),
            lexical: 0.8,
            coverage: 1.0,
            cosine: Some(cosine),
            distance_km: None,
        };
        // The semantic leg lifts a lexical match by up to the ratio.
        let lifted = 0.8 * (1.0 + 0.5 * 0.2) / 1.5 + SEMANTIC_ONLY * 0.2;
        assert!((fuse(&c, 0.5) - lifted).abs() < 1e-9);
        let perfect = Scored { lexical: 1.0, cosine: Some(1.0), ..c };
        assert!((fuse(&perfect, 0.5) - 1.0 - SEMANTIC_ONLY).abs() < 1e-9, "at most 1");
        assert!((fuse(&c, 0.0) - 0.8 - SEMANTIC_ONLY * 0.2).abs() < 1e-9);
        assert!((fuse(&c, 7.0) - 0.2).abs() < 1e-9, "the ratio is clamped: semantic only");
        // A product only the semantic leg finds ranks after every lexical match.
        let only = Scored { lexical: 0.0, cosine: Some(SEMANTIC_CEILING), ..c };
        let weak = Scored { lexical: 0.01, cosine: None, ..c };
        assert!(fuse(&only, 0.5) < fuse(&weak, 0.5));
        assert!(fuse(&only, 1.0) > fuse(&weak, 1.0));
        let near = Scored { distance_km: Some(0.0), ..c };
        let far = Scored { distance_km: Some(BOOST_RADIUS_KM), ..c };
        assert!((fuse(&near, 0.0) / fuse(&far, 0.0) - (1.0 + MAX_PROXIMITY_BOOST)).abs() < 1e-9);
        assert_eq!(semantic_relevance(SEMANTIC_FLOOR - 0.1), 0.0);
        assert_eq!(semantic_relevance(1.0), 1.0);
        let mid = semantic_relevance((SEMANTIC_FLOOR + SEMANTIC_CEILING) / 2.0);
        assert!((mid - 0.5).abs() < 1e-9);
    }

    #[test]
    fn incomplete_indexes_are_announced() {
        let done = IndexCoverage { lexical: 1.0, semantic: Some(1.0), complete: true };
        assert_eq!(done.note(), None);
        let building = IndexCoverage { lexical: 0.456, semantic: Some(0.12), complete: false };
        let note = building.note().unwrap();
        assert!(note.contains("lexical 45 %") && note.contains("semantic 12 %"), "{note}");
        let lexical_only = IndexCoverage { lexical: 0.5, semantic: None, complete: false };
        assert!(!lexical_only.note().unwrap().contains("semantic"));
    }

    #[test]
    fn filters_are_flat_strings() {
        let m: Map<String, Value> =
            serde_json::from_str(r#"{"brand":" Acme ","nova_group":4,"country_of_origin":"fr"}"#)
                .unwrap();
        let f = filters_from(&m).unwrap();
        assert_eq!(f.brand.as_deref(), Some("acme"));
        assert_eq!(f.country_of_origin.as_deref(), Some("FR"));
        assert_eq!(f.metadata, vec![("nova_group".to_owned(), "4".to_owned())]);
        let bad: Map<String, Value> = serde_json::from_str(r#"{"brand":["a"]}"#).unwrap();
        assert_eq!(filters_from(&bad).unwrap_err().field, "filters.brand");
        let bad: Map<String, Value> =
            serde_json::from_str(r#"{"country_of_origin":"XX"}"#).unwrap();
        assert_eq!(filters_from(&bad).unwrap_err().field, "filters.country_of_origin");
        let m: Map<String, Value> = serde_json::from_str(r#"{"label":"en:organic"}"#).unwrap();
        assert_eq!(filters_from(&m).unwrap().label.as_deref(), Some("en:organic"));
    }
}

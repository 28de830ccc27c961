//! `search_products` (SPEC §3, §6): candidates from the lexical leg (the backend's full-text
//! index, BM25), filters applied before ranking, scores normalized to 0–1 and fused, then a
//! proximity boost for products with an active offer within 50 km, then prices and distances.
//!
//! The semantic leg (sentence embeddings) slots into [`fuse`]: it gets its own candidate list
//! and score, and a `semantic_ratio` weights the two; with no semantic candidates the ranking
//! is purely lexical.

use std::collections::HashMap;

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
/// Default weight of the semantic leg in the fused ranking.
pub const DEFAULT_SEMANTIC_RATIO: f64 = 0.5;
/// Most filter keys accepted.
pub const MAX_FILTERS: usize = 10;

/// Filters that narrow the candidates before ranking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilters {
    /// Brand name, case-folded (see [`fold_name`]).
    pub brand: Option<String>,
    /// Category id; products in its subcategories match too.
    pub category_id: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_of_origin: Option<String>,
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

/// What the last candidate of a leg still counts (the first counts 1).
const FUSION_FLOOR: f64 = 0.1;

/// Fuses lexical and semantic candidates into one ranking with scores in 0–1: each leg's
/// scores are scaled min–max onto 0.1–1 within its own candidates (BM25 and cosine are on
/// unrelated scales), then weighted by `semantic_ratio` and summed, so a product both legs
/// found outranks one only a single leg found at the same rank. (Min–max beat dividing by
/// the best score and reciprocal-rank fusion on `benches/relevance.sh`.)
pub fn fuse(
    lexical: &[LexicalHit],
    semantic: &[LexicalHit],
    semantic_ratio: f64,
) -> Vec<(Gtin14, f64)> {
    let ratio = match (lexical.is_empty(), semantic.is_empty()) {
        (_, true) => 0.0,
        (true, false) => 1.0,
        (false, false) => semantic_ratio.clamp(0.0, 1.0),
    };
    let mut scores: HashMap<Gtin14, f64> = HashMap::new();
    let mut order: Vec<Gtin14> = Vec::new();
    for (hits, weight) in [(lexical, 1.0 - ratio), (semantic, ratio)] {
        let best = hits.iter().map(|h| h.score).fold(f64::MIN, f64::max);
        let worst = hits.iter().map(|h| h.score).fold(f64::MAX, f64::min);
        if hits.is_empty() || weight <= 0.0 {
            continue;
        }
        for h in hits {
            let entry = scores.entry(h.gtin).or_insert_with(|| {
                order.push(h.gtin);
                0.0
            });
            let norm = if best > worst {
                FUSION_FLOOR + (1.0 - FUSION_FLOOR) * (h.score - worst) / (best - worst)
            } else {
                1.0
            };
            *entry += weight * norm;
        }
    }
    let mut fused: Vec<(Gtin14, f64)> = order.into_iter().map(|g| (g, scores[&g])).collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    fused
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

impl Catalog {
    /// `search_products`.
    pub async fn search_products(&self, req: &SearchRequest) -> Result<SearchOutput, ServiceError> {
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

        // Candidates: more than asked for, so the proximity boost can reorder them.
        let pool = (limit * 3).clamp(50, 300);
        let ratio = self.semantic_ratio();
        let lexical = async {
            if ratio >= 1.0 && self.semantic().is_some_and(|s| s.ready()) {
                return Ok(Vec::new());
            }
            self.store().search_lexical(query, &filters, pool).await.map_err(ServiceError::from)
        };
        let semantic = async {
            match self.semantic() {
                Some(s) if ratio > 0.0 => {
                    s.candidates(self.store().as_ref(), query, &filters, pool).await
                }
                _ => Ok(Vec::new()),
            }
        };
        let (lexical, semantic) = tokio::join!(lexical, semantic);
        let mut ranked = fuse(&lexical?, &semantic?, ratio);

        let mut distances: HashMap<Gtin14, f64> = HashMap::new();
        if let Some(center) = point {
            let gtins: Vec<Gtin14> = ranked.iter().map(|(g, _)| *g).collect();
            let area = BoundingBox::around(center, BOOST_RADIUS_KM);
            for (g, at) in self.store().offer_locations(&gtins, &area).await? {
                let d = distance_km(center, at);
                if d <= BOOST_RADIUS_KM {
                    let best = distances.entry(g).or_insert(d);
                    *best = best.min(d);
                }
            }
            for (g, score) in &mut ranked {
                if let Some(d) = distances.get(g) {
                    *score *= 1.0 + MAX_PROXIMITY_BOOST * (1.0 - d / BOOST_RADIUS_KM);
                }
            }
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        }
        ranked.truncate(limit);

        let gtins: Vec<Gtin14> = ranked.iter().map(|(g, _)| *g).collect();
        let products: HashMap<Gtin14, crate::model::Product> =
            self.store().products(&gtins).await?.into_iter().map(|p| (p.gtin, p)).collect();
        let prices = self.store().price_ranges(&gtins).await?;
        let items: Vec<SearchItem> = ranked
            .iter()
            .filter_map(|(g, score)| {
                let p = products.get(g)?;
                let price = prices.get(g);
                Some(SearchItem {
                    gtin: g.as_str().to_owned(),
                    name: p.name.clone(),
                    brand: p.brand.clone(),
                    category: p.category.clone(),
                    net_content: p.net_content.clone(),
                    country_of_origin: p.country_of_origin.clone(),
                    price_min: price.map(|r| r.min),
                    price_max: price.map(|r| r.max),
                    score: round(*score, 4),
                    distance_km: distances.get(g).map(|d| round(*d, 2)),
                })
            })
            .collect();
        Ok(SearchOutput { total: items.len(), items, query: req.query.clone() })
    }

    /// Runs the search indexer until the process ends: indexes queued products in batches,
    /// then checks for new ones every `idle` (imports from other processes queue products too).
    pub fn spawn_search_indexer(&self, idle: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let catalog = self.clone();
        tokio::spawn(async move {
            loop {
                match catalog.store().index_search(2000).await {
                    Ok(0) => tokio::time::sleep(idle).await,
                    Ok(n) => tracing::debug!(indexed = n, "search index updated"),
                    Err(e) => {
                        tracing::warn!(error = %e, "search indexing failed; retrying");
                        tokio::time::sleep(idle * 5).await;
                    }
                }
            }
        })
    }

    /// Indexes queued products for search until none is left; returns how many were indexed.
    pub async fn index_search_backlog(&self) -> Result<usize, ServiceError> {
        let mut total = 0;
        loop {
            let n = self.store().index_search(2000).await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Gtin14 {
        Gtin14::parse(s).unwrap()
    }

    #[test]
    fn fusion_normalizes_each_leg() {
        let lex = vec![
            LexicalHit { gtin: g("4012345000009"), score: 20.0 },
            LexicalHit { gtin: g("9506000134352"), score: 10.0 },
            LexicalHit { gtin: g("95012346"), score: 15.0 },
        ];
        let close = |got: &[(Gtin14, f64)], want: &[(&str, f64)]| {
            assert_eq!(got.len(), want.len(), "{got:?}");
            for ((gg, gs), (wg, ws)) in got.iter().zip(want) {
                assert_eq!(gg, &g(wg));
                assert!((gs - ws).abs() < 1e-9, "{got:?}");
            }
        };
        close(
            &fuse(&lex, &[], 0.7),
            &[("4012345000009", 1.0), ("95012346", 0.55), ("9506000134352", 0.1)],
        );
        let sem = vec![
            LexicalHit { gtin: g("9506000134352"), score: 0.9 },
            LexicalHit { gtin: g("96385074"), score: 0.3 },
        ];
        // Found by both legs: 0.5 × 0.1 + 0.5 × 1 beats the lexical leg's best alone.
        close(
            &fuse(&lex, &sem, 0.5),
            &[
                ("9506000134352", 0.55),
                ("4012345000009", 0.5),
                ("95012346", 0.275),
                ("96385074", 0.05),
            ],
        );
        assert_eq!(fuse(&[], &sem, 0.0).len(), 2, "a lone leg counts whatever its weight");
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
    }
}

//! `GET /mcp/health` (docs/spec.md §8): status, version, storage backend, catalog counts, uptime, the
//! progress of both search indexes (and the share of the catalog they cover) and whether a
//! semantic-search model is loaded. 200 when the database answers, 503 otherwise.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::{AppState, VERSION};

/// Whether a sentence-embedding model is loaded, and why not.
#[derive(Debug, Clone, Serialize)]
pub struct ModelStatus {
    /// A model is loaded and the semantic search leg is active.
    pub loaded: bool,
    /// Model directory, when one is configured.
    pub dir: Option<String>,
    /// Why no model is loaded.
    pub reason: Option<String>,
}

impl ModelStatus {
    /// No model: searches are lexical only.
    pub fn not_loaded(dir: Option<String>, reason: impl Into<String>) -> Self {
        Self { loaded: false, dir, reason: Some(reason.into()) }
    }
}

/// The health handler.
pub async fn health(State(state): State<AppState>) -> Response {
    let catalog = state.catalog();
    let uptime = state.inner.started.elapsed().as_secs();
    let lexical = catalog.lexical().status(catalog.store().as_ref()).await;
    let coverage = catalog.index_coverage().await;
    let semantic = match catalog.semantic() {
        Some(sem) => sem.status(catalog.store().as_ref()).await.map(Some),
        None => Ok(None),
    };
    let mut model = state.inner.model.clone();
    if let Ok(Some(s)) = &semantic {
        model.loaded = s.model_loaded;
        model.reason = s.model_error.clone().or_else(|| {
            (!s.model_loaded).then(|| "loading; searches are lexical until it is".to_owned())
        });
    }
    let search = lexical.and_then(|l| semantic.and_then(|s| coverage.map(|c| (l, s, c))));
    match (catalog.counts().await, search) {
        (Ok(counts), Ok((lexical, semantic, coverage))) => Json(json!({
            "status": "ok",
            "version": VERSION,
            "backend": catalog.store().backend(),
            "uptime_seconds": uptime,
            "catalog": counts,
            "search": {
                "lexical": lexical,
                "semantic": semantic,
                "index_coverage": coverage,
                "semantic_ratio": catalog.semantic().map(|_| catalog.semantic_ratio()),
            },
            "model": model,
        }))
        .into_response(),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "health: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "unavailable",
                    "version": VERSION,
                    "backend": catalog.store().backend(),
                    "uptime_seconds": uptime,
                    "detail": "the catalog database does not answer",
                })),
            )
                .into_response()
        }
    }
}

//! The semantic leg of `search_products` (docs/spec.md §6): a sentence embedder, the in-memory vector
//! index of every embedded product (loaded from the store at start, so a restart re-embeds
//! nothing), an LRU cache of query vectors, the semaphore that bounds CPU work (overload is
//! answered at once with `-32003`), and the background embedder that drains the store's queue
//! and skips products whose text did not change.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use gs1::Gtin14;
use search::{Embedder, VectorIndex};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ServiceError;
use crate::search::{LexicalHit, SearchFilters};
use crate::store::{CatalogStore, EmbedJob, EmbeddingCursor, EmbeddingWrite};

/// Products read from the queue per round.
const JOBS_PER_ROUND: usize = 256;
/// Texts per embedding call (sorted by length first, so a batch pads little).
const TEXTS_PER_CALL: usize = 32;
/// Stored vectors read per page at start.
const LOAD_PAGE: usize = 5_000;
/// Query vectors kept.
const QUERY_CACHE: usize = 10_000;
/// How long a search waits for a CPU permit before it is refused as overloaded.
const QUEUE_WAIT: Duration = Duration::from_millis(100);
/// How often the background embedder logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// The semantic search state shared by every request and the background embedder.
pub struct Semantic {
    embedder: OnceLock<Arc<dyn Embedder>>,
    failure: Mutex<Option<String>>,
    model: String,
    index: RwLock<VectorIndex<Gtin14>>,
    cache: quick_cache::sync::Cache<String, Arc<Vec<f32>>>,
    permits: Arc<Semaphore>,
    loaded: AtomicBool,
    embedded: AtomicU64,
    embed_micros: AtomicU64,
    cursor: Mutex<EmbeddingCursor>,
}

impl std::fmt::Debug for Semantic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Semantic").field("model", &self.model).finish_non_exhaustive()
    }
}

/// What `/mcp/health` reports about the semantic leg.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SemanticStatus {
    /// The embedder's id (vectors by another id are re-embedded).
    pub model: String,
    /// The model is loaded.
    pub model_loaded: bool,
    /// Why the model could not be loaded.
    pub model_error: Option<String>,
    /// Stored vectors are loaded; until then only the lexical leg answers.
    pub ready: bool,
    /// Products with a vector in the index.
    pub indexed: usize,
    /// Where vectors are ranked: `"database"` (PostgreSQL's pgvector index) or `"memory"`
    /// (this process's index).
    pub ranked_in: &'static str,
    /// Products waiting to be embedded.
    pub pending: u64,
    /// Products embedded by this process.
    pub embedded_since_start: u64,
    /// Embedding throughput of this process so far (products per second of embedding work).
    pub products_per_second: Option<f64>,
}

fn text_hash(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes())[..16].to_vec()
}

/// The cache key of a query: case and spacing do not change an uncased model's vector.
fn query_key(query: &str) -> String {
    query.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn embed_failed(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("embedding failed: {e}").into())
}

impl Semantic {
    /// A semantic leg whose model is still to be attached (see [`Semantic::spawn_indexer`]);
    /// vectors are stored under the id `model`, and at most `permits` embeddings or scans
    /// run at once.
    pub fn new(model: impl Into<String>, permits: usize) -> Self {
        Self {
            embedder: OnceLock::new(),
            failure: Mutex::new(None),
            model: model.into(),
            index: RwLock::new(VectorIndex::new(0)),
            cache: quick_cache::sync::Cache::new(QUERY_CACHE),
            permits: Arc::new(Semaphore::new(permits.max(1))),
            loaded: AtomicBool::new(false),
            embedded: AtomicU64::new(0),
            embed_micros: AtomicU64::new(0),
            cursor: Mutex::new((0, 0)),
        }
    }

    /// A semantic leg over a loaded embedder.
    pub fn with_embedder(
        embedder: Arc<dyn Embedder>,
        model: impl Into<String>,
        permits: usize,
    ) -> Self {
        let s = Self::new(model, permits);
        s.attach(embedder);
        s
    }

    /// Attaches the model (once; later calls are ignored).
    pub fn attach(&self, embedder: Arc<dyn Embedder>) {
        let dim = embedder.dim();
        if self.embedder.set(embedder).is_ok()
            && let Ok(mut index) = self.index.write()
        {
            *index = VectorIndex::new(dim);
        }
    }

    fn embedder(&self) -> Result<&Arc<dyn Embedder>, ServiceError> {
        self.embedder.get().ok_or_else(|| embed_failed("the model is not loaded"))
    }

    /// The embedder's id.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Whether the model and the stored vectors are loaded (until then searches are lexical).
    pub fn ready(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Whether the model is loaded.
    pub fn model_loaded(&self) -> bool {
        self.embedder.get().is_some()
    }

    /// Progress for health reports.
    pub async fn status(&self, store: &dyn CatalogStore) -> Result<SemanticStatus, ServiceError> {
        let pending = store.embed_backlog().await?;
        let embedded = self.embedded.load(Ordering::Relaxed);
        let micros = self.embed_micros.load(Ordering::Relaxed);
        let in_database = self.db_ranks(store);
        Ok(SemanticStatus {
            model: self.model.clone(),
            model_loaded: self.model_loaded(),
            model_error: self.failure.lock().ok().and_then(|f| f.clone()),
            ready: self.ready(),
            indexed: if in_database {
                usize::try_from(store.embedding_count(&self.model).await?).unwrap_or(usize::MAX)
            } else {
                self.index.read().map(|i| i.len()).unwrap_or(0)
            },
            ranked_in: if in_database { "database" } else { "memory" },
            pending,
            embedded_since_start: embedded,
            products_per_second: (micros > 0)
                .then(|| (embedded as f64 / (micros as f64 / 1e6) * 10.0).round() / 10.0),
        })
    }

    /// Whether the database ranks this model's vectors (pgvector), so none are held in memory.
    fn db_ranks(&self, store: &dyn CatalogStore) -> bool {
        self.embedder().is_ok_and(|e| store.has_vector_index(e.dim()))
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, ServiceError> {
        match tokio::time::timeout(QUEUE_WAIT, self.permits.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(ServiceError::RateLimited {
                detail: "search is at capacity; retry in a moment".into(),
                retry_after: 1,
            }),
        }
    }

    /// The `k` products nearest to the query among those passing the filters (`allow`: the
    /// products that do, when the caller has read them), with their cosine similarity. With
    /// `local`, only among `allow` (products with an offer nearby). Empty until the stored
    /// vectors are loaded.
    pub async fn candidates(
        self: &Arc<Self>,
        store: &dyn CatalogStore,
        query: &str,
        filters: &SearchFilters,
        allow: Option<Arc<HashSet<Gtin14>>>,
        local: bool,
        k: usize,
    ) -> Result<Vec<LexicalHit>, ServiceError> {
        if !self.ready() {
            return Ok(Vec::new());
        }
        if allow.as_ref().is_some_and(|a| a.is_empty()) {
            return Ok(Vec::new());
        }
        let vector = self.vector_for(query).await?;
        if self.db_ranks(store) {
            // The database ranks (pgvector): only the query is embedded here.
            let within: Option<Vec<Gtin14>> =
                if local { allow.map(|a| a.iter().copied().collect()) } else { None };
            let hits = store.nearest(&self.model, &vector, filters, within.as_deref(), k).await?;
            return Ok(hits.unwrap_or_default());
        }
        let permit = self.permit().await?;
        let this = Arc::clone(self);
        let hits = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let index = this.index.read().map_err(|_| embed_failed("index lock poisoned"))?;
            Ok::<_, ServiceError>(match &allow {
                None => index.search(&vector, k, |_| true),
                Some(set) => index.search(&vector, k, |g| set.contains(g)),
            })
        })
        .await
        .map_err(embed_failed)??;
        Ok(hits.into_iter().map(|(gtin, s)| LexicalHit { gtin, score: f64::from(s) }).collect())
    }

    /// The cosine similarity of the query to each of `gtins` that has a vector: the semantic
    /// score of candidates the lexical leg found.
    pub async fn similarities(
        self: &Arc<Self>,
        store: &dyn CatalogStore,
        query: &str,
        gtins: &[Gtin14],
    ) -> Result<Vec<(Gtin14, f64)>, ServiceError> {
        if !self.ready() || gtins.is_empty() {
            return Ok(Vec::new());
        }
        let vector = self.vector_for(query).await?;
        if let Some(found) = store.similarities(&self.model, &vector, gtins).await? {
            return Ok(found);
        }
        let index = self.index.read().map_err(|_| embed_failed("index lock poisoned"))?;
        Ok(index.similarities(&vector, gtins).into_iter().map(|(g, s)| (g, f64::from(s))).collect())
    }

    /// The query's vector (cached), embedded under a CPU permit on a blocking thread.
    async fn vector_for(self: &Arc<Self>, query: &str) -> Result<Arc<Vec<f32>>, ServiceError> {
        let key = query_key(query);
        if let Some(v) = self.cache.get(&key) {
            return Ok(v);
        }
        let permit = self.permit().await?;
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            this.query_vector(key, None)
        })
        .await
        .map_err(embed_failed)?
    }

    /// Whether the database ranks this model's vectors (pgvector) instead of this process.
    pub fn ranked_by_store(&self, store: &dyn CatalogStore) -> bool {
        self.db_ranks(store)
    }

    /// Whether the model could not be loaded (searches have no semantic leg).
    pub fn model_failed(&self) -> bool {
        self.failure.lock().map(|f| f.is_some()).unwrap_or(false)
    }

    /// Vectors in this process's index.
    pub fn len(&self) -> usize {
        self.index.read().map(|i| i.len()).unwrap_or(0)
    }

    /// Whether this process's index holds no vector.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The query's vector: from the cache, or embedded now (on a blocking thread).
    fn query_vector(
        &self,
        key: String,
        cached: Option<Arc<Vec<f32>>>,
    ) -> Result<Arc<Vec<f32>>, ServiceError> {
        if let Some(v) = cached {
            return Ok(v);
        }
        let v = self
            .embedder()?
            .embed(&[key.as_str()])
            .map_err(embed_failed)?
            .pop()
            .ok_or_else(|| embed_failed("no vector"))?;
        let v = Arc::new(v);
        self.cache.insert(key, Arc::clone(&v));
        Ok(v)
    }

    /// Loads the stored vectors by this model into memory, after queueing every product
    /// without one. Searches use the semantic leg from then on.
    pub async fn load(&self, store: &dyn CatalogStore) -> Result<usize, ServiceError> {
        let dims = self.embedder()?.dim();
        store.prepare_vector_index(dims).await?;
        let queued = store.requeue_embeddings(&self.model).await?;
        if queued > 0 {
            tracing::info!(queued, model = %self.model, "products queued for embedding");
        }
        let total = if self.db_ranks(store) {
            usize::try_from(store.embedding_count(&self.model).await?).unwrap_or(usize::MAX)
        } else {
            self.catch_up(store).await?
        };
        self.loaded.store(true, Ordering::Release);
        Ok(total)
    }

    /// Reads the vectors stored since the last read into the index — at start all of them;
    /// later those another process wrote (`prodlink import`, a second server on the same
    /// database). Returns how many were read.
    pub async fn catch_up(&self, store: &dyn CatalogStore) -> Result<usize, ServiceError> {
        if self.db_ranks(store) {
            // The database searches its own index: nothing to hold here.
            return Ok(0);
        }
        let mut after = self.cursor.lock().map(|c| *c).unwrap_or_default();
        let mut total = 0;
        loop {
            let (page, next) = store.embeddings_page(&self.model, after, LOAD_PAGE).await?;
            total += page.len();
            {
                let mut index = self.index.write().map_err(|_| embed_failed("lock poisoned"))?;
                for (gtin, v) in &page {
                    if !index.insert(*gtin, v) {
                        tracing::warn!(gtin = %gtin.as_str(), "stored embedding has the wrong length; re-embedding");
                    }
                }
            }
            if let Some(n) = next {
                after = n;
                if let Ok(mut c) = self.cursor.lock() {
                    *c = n;
                }
            }
            if page.len() < LOAD_PAGE {
                return Ok(total);
            }
        }
    }

    /// Embeds one round of queued products; returns how many were dequeued (0 when the queue
    /// is empty). Products whose text is unchanged are dequeued without embedding.
    pub async fn index_round(
        self: &Arc<Self>,
        store: &dyn CatalogStore,
    ) -> Result<usize, ServiceError> {
        let jobs = store.embed_jobs(&self.model, JOBS_PER_ROUND).await?;
        if jobs.is_empty() {
            return Ok(0);
        }
        let mut writes: Vec<EmbeddingWrite> = Vec::with_capacity(jobs.len());
        let mut todo: Vec<(EmbedJob, Vec<u8>)> = Vec::new();
        for job in jobs {
            let hash = text_hash(&job.text);
            if job.stored_hash.as_deref() == Some(hash.as_slice()) {
                writes.push(EmbeddingWrite {
                    gtin: job.gtin,
                    text_hash: hash,
                    vector: None,
                    queued: job.queued,
                });
            } else {
                todo.push((job, hash));
            }
        }
        todo.sort_by_key(|(j, _)| j.text.len());
        for chunk in todo.chunks(TEXTS_PER_CALL) {
            let permit = self.permits.clone().acquire_owned().await.map_err(embed_failed)?;
            let texts: Vec<String> = chunk.iter().map(|(j, _)| j.text.clone()).collect();
            let embedder = Arc::clone(self.embedder()?);
            let started = Instant::now();
            let vectors = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                embedder.embed(&refs)
            })
            .await
            .map_err(embed_failed)?
            .map_err(embed_failed)?;
            self.embed_micros.fetch_add(
                u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
            for ((job, hash), v) in chunk.iter().zip(vectors) {
                writes.push(EmbeddingWrite {
                    gtin: job.gtin,
                    text_hash: hash.clone(),
                    vector: Some(v),
                    queued: job.queued,
                });
            }
        }
        store.save_embeddings(&self.model, &writes).await?;
        let embedded = writes.iter().filter(|w| w.vector.is_some()).count() as u64;
        self.embedded.fetch_add(embedded, Ordering::Relaxed);
        // The index takes them from the store, the one way every stored vector reaches it
        // (those other processes write included).
        self.catch_up(store).await?;
        Ok(writes.len())
    }

    /// Embeds queued products until none is left; returns how many were dequeued.
    pub async fn index_backlog(
        self: &Arc<Self>,
        store: &dyn CatalogStore,
    ) -> Result<usize, ServiceError> {
        let mut total = 0;
        loop {
            match self.index_round(store).await? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    /// Loads the model with `load_model` (on a blocking thread: it can take a while), then
    /// the stored vectors, then keeps embedding queued products until the process ends,
    /// checking for new ones every `idle` (imports by other processes queue them too).
    /// Searches are lexical until the vectors are loaded, and stay lexical if the model
    /// cannot be loaded (the reason is logged and reported by [`Semantic::status`]).
    pub fn spawn_indexer<F>(
        self: &Arc<Self>,
        store: Arc<dyn CatalogStore>,
        idle: Duration,
        load_model: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: FnOnce() -> Result<Arc<dyn Embedder>, search::EmbedError> + Send + 'static,
    {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            if !this.model_loaded() {
                let started = Instant::now();
                match tokio::task::spawn_blocking(load_model).await {
                    Ok(Ok(embedder)) => {
                        this.attach(embedder);
                        tracing::info!(model = %this.model, secs = started.elapsed().as_secs_f64(), "embedding model loaded");
                    }
                    Ok(Err(e)) => return this.fail(e.to_string()),
                    Err(e) => return this.fail(e.to_string()),
                }
            }
            loop {
                match this.load(store.as_ref()).await {
                    Ok(n) => {
                        tracing::info!(vectors = n, model = %this.model, "semantic index loaded");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "loading embeddings failed; retrying");
                        tokio::time::sleep(idle * 5).await;
                    }
                }
            }
            let mut last_report = Instant::now();
            loop {
                match this.index_round(store.as_ref()).await {
                    Ok(0) => {
                        // Idle: pick up what other processes embedded, then wait.
                        if let Err(e) = this.catch_up(store.as_ref()).await {
                            tracing::warn!(error = %e, "reading new embeddings failed; retrying");
                        }
                        tokio::time::sleep(idle).await
                    }
                    Ok(n) => {
                        if last_report.elapsed() >= PROGRESS_EVERY {
                            last_report = Instant::now();
                            if let Ok(s) = this.status(store.as_ref()).await {
                                tracing::info!(
                                    indexed = s.indexed,
                                    pending = s.pending,
                                    per_second = s.products_per_second,
                                    "embedding products"
                                );
                            }
                        }
                        tracing::debug!(embedded = n, "semantic index updated");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "embedding failed; retrying");
                        tokio::time::sleep(idle * 5).await;
                    }
                }
            }
        })
    }

    fn fail(&self, reason: String) {
        tracing::error!(model = %self.model, error = %reason, "the embedding model could not be loaded; searches are lexical only");
        if let Ok(mut f) = self.failure.lock() {
            *f = Some(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keys_ignore_case_and_spacing() {
        assert_eq!(query_key("  Gluten-free   PASTA "), "gluten-free pasta");
        assert_eq!(text_hash("a").len(), 16);
        assert_ne!(text_hash("a"), text_hash("b"));
    }

    #[tokio::test]
    async fn a_search_that_cannot_get_a_cpu_permit_is_refused_at_once() {
        use crate::sqlite::{SqliteOptions, SqliteStore};
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let store =
            SqliteStore::open_and_migrate(&url, &SqliteOptions::default()).await.expect("store");
        let semantic = Arc::new(Semantic::new("m", 2));
        semantic.loaded.store(true, Ordering::Release);
        // Both permits busy (two searches or embedding batches running).
        let held = semantic.permits.clone().acquire_many_owned(2).await.expect("permits");
        let started = Instant::now();
        let refused = semantic
            .candidates(&store, "pasta", &SearchFilters::default(), None, false, 10)
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, ServiceError::RateLimited { retry_after: 1, .. }),
            "{refused:?}"
        );
        let waited = started.elapsed();
        assert!(waited >= QUEUE_WAIT && waited < QUEUE_WAIT * 10, "{waited:?}");
        drop(held);
        // With a permit free the search goes on (and fails later: no model is attached).
        let err = semantic
            .candidates(&store, "pasta", &SearchFilters::default(), None, false, 10)
            .await
            .unwrap_err();
        assert!(!matches!(err, ServiceError::RateLimited { .. }), "{err:?}");
    }
}
